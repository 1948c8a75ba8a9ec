/*
 * The floor for apply: what replacing each duplicate by a hard link costs with no store, no
 * checks and no journal. Reads "REF<TAB>COPY" lines (paths without tabs or newlines) on stdin
 * and does link(REF, DIR(COPY)/.floor-tmp); rename(.floor-tmp, COPY) for each pair, on one
 * thread, or on T threads with the pairs split by COPY's directory (each directory on one
 * thread, as an executor that keeps directory order would).
 *
 *   floor [THREADS] < pairs.tsv        prints the seconds taken
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct pair { char *ref, *copy; unsigned dirhash; };
struct work { struct pair *pairs; size_t n; int part, parts; long failed; };

static unsigned hash_dir(const char *p) {
  const char *slash = strrchr(p, '/');
  unsigned h = 2166136261u;
  for (const char *c = p; c < slash; c++) h = (h ^ (unsigned char)*c) * 16777619u;
  return h;
}

static void *run(void *arg) {
  struct work *w = arg;
  char tmp[8192];
  for (size_t i = 0; i < w->n; i++) {
    struct pair *p = &w->pairs[i];
    if ((int)(p->dirhash % (unsigned)w->parts) != w->part) continue;
    const char *slash = strrchr(p->copy, '/');
    snprintf(tmp, sizeof tmp, "%.*s/.floor-tmp-%d", (int)(slash - p->copy), p->copy, w->part);
    if (link(p->ref, tmp) != 0 || rename(tmp, p->copy) != 0) { w->failed++; unlink(tmp); }
  }
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 64) threads = 1;
  size_t cap = 1024, n = 0;
  struct pair *pairs = malloc(cap * sizeof *pairs);
  char *line = NULL; size_t len = 0; ssize_t got;
  while ((got = getline(&line, &len, stdin)) > 0) {
    if (line[got - 1] == '\n') line[got - 1] = 0;
    char *tab = strchr(line, '\t');
    if (!tab) continue;
    *tab = 0;
    if (n == cap) pairs = realloc(pairs, (cap *= 2) * sizeof *pairs);
    pairs[n].ref = strdup(line); pairs[n].copy = strdup(tab + 1); pairs[n].dirhash = hash_dir(pairs[n].copy);
    n++;
  }
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  pthread_t tid[64]; struct work w[64];
  for (int t = 0; t < threads; t++) { w[t] = (struct work){ pairs, n, t, threads, 0 }; pthread_create(&tid[t], NULL, run, &w[t]); }
  long failed = 0;
  for (int t = 0; t < threads; t++) { pthread_join(tid[t], NULL); failed += w[t].failed; }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.3f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
  if (failed) fprintf(stderr, "floor: %ld of %zu pairs failed\n", failed, n);
  return failed ? 1 : 0;
}
