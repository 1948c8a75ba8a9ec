/*
 * A hostile guest for the race tests, run as a separate process while hashify works:
 *   racer exchange A B STOP        renameat2(A, B, RENAME_EXCHANGE) in a loop until STOP exists
 *                                  (an even number of times: A and B end where they began)
 *   racer symlink DIR HOST STOP    swaps directory DIR for a symlink to HOST and back, in a loop
 *   racer renameover DIR N WAITFOR when a name containing WAITFOR appears in DIR, renames
 *                                  DIR/fI.new over DIR/fI for I = 0..N-1, once each
 *   racer mmapwrite FILE STOP      writes through a MAP_SHARED mapping of FILE in a loop
 *   racer holdopen FILE READY STOP opens FILE for writing, creates READY, waits for STOP
 *   racer inotify DIR MAP STOP     MAP lines "TEMPNAME<TAB>FILE": the moment TEMPNAME appears in
 *                                  DIR (inotify), renames FILE.new over FILE (a package manager's
 *                                  update landing inside apply's replace window)
 *   racer mmapdirty FILE READY GO STOP  maps FILE shared and dirties it, creates READY, then
 *                                  after GO exists writes through the mapping (a dirty, writable
 *                                  page: no mtime or ctime change) until STOP
 *   racer -C DIR MODE ARGS…        first changes into DIR one name at a time (DIR may be longer
 *                                  than PATH_MAX, which chdir refuses whole), then runs MODE
 *                                  with ARGS relative to it (test/reliability/longPathRaces)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <poll.h>
#include <sys/inotify.h>

static int stopped(const char *stop) { return access(stop, F_OK) == 0; }

static int appeared(const char *dir, const char *part) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *e; int found = 0;
  while ((e = readdir(d))) if (strstr(e->d_name, part)) { found = 1; break; }
  closedir(d);
  return found;
}

/* chdir into DIR one name at a time: each step is short, however long DIR is. */
static int chdir_steps(char *dir) {
  if (*dir == '/' && chdir("/") < 0) return -1;
  for (char *name = strtok(dir, "/"); name; name = strtok(NULL, "/")) if (chdir(name) < 0) return -1;
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 3 && !strcmp(argv[1], "-C")) {
    if (chdir_steps(argv[2]) < 0) { perror("racer: -C"); return 1; }
    argc -= 2;
    argv += 2;
  }
  if (argc < 3) return 2;
  const char *mode = argv[1];
  if (!strcmp(mode, "exchange") && argc == 5) {
    long n = 0;
    while (!stopped(argv[4])) if (renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3], RENAME_EXCHANGE) == 0) n++;
    /* An odd count left A and B exchanged: one more puts them back as they were. */
    if (n % 2 && renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3], RENAME_EXCHANGE) == 0) n++;
    printf("%ld\n", n);
    return 0;
  }
  if (!strcmp(mode, "symlink") && argc == 5) {
    char real[4096]; snprintf(real, sizeof real, "%s.real", argv[2]);
    char link[4096]; snprintf(link, sizeof link, "%s.link", argv[2]);
    long n = 0;
    while (!stopped(argv[4])) {
      unlink(link);
      if (symlink(argv[3], link) < 0) continue;
      if (renameat2(AT_FDCWD, link, AT_FDCWD, argv[2], RENAME_EXCHANGE) == 0) {
        /* DIR is the symlink now, the real directory is at LINK: swap back. */
        renameat2(AT_FDCWD, link, AT_FDCWD, argv[2], RENAME_EXCHANGE);
        n++;
      }
    }
    unlink(link);
    (void)real;
    printf("%ld\n", n);
    return 0;
  }
  if (!strcmp(mode, "renameover") && argc == 5) {
    int n = atoi(argv[3]);
    while (!appeared(argv[2], argv[4])) usleep(200);
    for (int i = 0; i < n; i++) {
      char from[4096], to[4096];
      snprintf(from, sizeof from, "%s/f%d.new", argv[2], i);
      snprintf(to, sizeof to, "%s/f%d", argv[2], i);
      rename(from, to);
    }
    return 0;
  }
  if (!strcmp(mode, "mmapwrite") && argc == 4) {
    int fd = open(argv[2], O_RDWR);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) return 1;
    char *p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return 1;
    for (long i = 0; !stopped(argv[3]); i++) p[i % st.st_size] = 'A' + (i % 26);
    return 0;
  }
  if (!strcmp(mode, "holdopen") && argc == 5) {
    int fd = open(argv[2], O_WRONLY);
    if (fd < 0) return 1;
    close(open(argv[3], O_CREAT | O_WRONLY, 0644));
    while (!stopped(argv[4])) usleep(1000);
    if (write(fd, "written while held\n", 19) != 19) return 1;
    close(fd);
    return 0;
  }
  if (!strcmp(mode, "inotify") && argc == 5) {
    static char tmps[20000][128], files[20000][4096];
    int n = 0;
    FILE *m = fopen(argv[3], "r");
    if (!m) return 1;
    while (n < 20000 && fscanf(m, "%127[^\t]\t%4095[^\n]\n", tmps[n], files[n]) == 2) n++;
    fclose(m);
    int in = inotify_init1(IN_NONBLOCK);
    if (in < 0 || inotify_add_watch(in, argv[2], IN_CREATE | IN_MOVED_TO) < 0) return 1;
    int renamed = 0;
    char buf[65536] __attribute__((aligned(8)));
    while (!stopped(argv[4]) && renamed < n) {
      struct pollfd p = { in, POLLIN, 0 };
      if (poll(&p, 1, 50) <= 0) continue;
      ssize_t len = read(in, buf, sizeof buf);
      for (ssize_t at = 0; at < len;) {
        struct inotify_event *ev = (struct inotify_event *)(buf + at);
        for (int i = 0; ev->len && i < n; i++) {
          if (files[i][0] && !strcmp(ev->name, tmps[i])) {
            char from[4200]; snprintf(from, sizeof from, "%s.new", files[i]);
            if (rename(from, files[i]) == 0) renamed++;
            files[i][0] = 0;
          }
        }
        at += sizeof *ev + ev->len;
      }
    }
    printf("%d\n", renamed);
    return 0;
  }
  if (!strcmp(mode, "mmapdirty") && argc == 6) {
    int fd = open(argv[2], O_RDWR);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) return 1;
    char *p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return 1;
    for (long i = 0; i < st.st_size; i += 4096) p[i] = p[i];
    close(open(argv[3], O_CREAT | O_WRONLY, 0644));
    while (!stopped(argv[4])) usleep(1000);
    for (long i = 0; !stopped(argv[5]); i++) p[i % st.st_size] = 'A' + (i % 26);
    return 0;
  }
  return 2;
}
