/*
 * The executor's reapers: threads that close the descriptors of replaced inodes whose last
 * name is gone. That last close is where the kernel frees the inode: its blocks, and on a
 * filesystem mounted with `discard` without a journal, a discard the closing thread waits
 * for (ext4_free_blocks). Done on a lane, that wait stops the lane; handed to a reaper, the
 * lane goes on to its next step while the reapers free inodes side by side.
 *
 * Nothing depends on when a handed-over descriptor is closed: the inode is no longer named
 * anywhere (nothing can open it), it is the checked old file only, and a crash (SIGKILL) closes
 * it as the kernel closes every descriptor. At most REAP_RING wait: a lane that finds the ring
 * full waits for room, so descriptors stay bounded. ex_reap_stop closes whatever waits.
 * REAPERS_DEFAULT threads (HASHIFY_REAPERS=N, 0 to 16, for measurements: 0 closes on the lane).
 * Eight, not four: on the guests (bench/apply/run.sh's copies, 5 runs alternating, HASHIFY_TIMING)
 * the lanes waited 2.26 s in all for room with four and 0.54 s with eight, apply's median wall
 * time 4.53 -> 4.34 s, its CPU time the same; the wait is the device's, not the CPU's.
 */
#include "executor.h"
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define REAP_RING 256

struct reaper {
  pthread_mutex_t mu; pthread_cond_t more, room;
  int ring[REAP_RING]; int head, count;
  int quit, nthreads; pthread_t tid[REAPERS];
  long waits; int64_t wait_ns; /* lanes that found the ring full, and how long they waited */
};

static void *reap_loop(void *arg) {
  struct reaper *rp = arg;
  pthread_mutex_lock(&rp->mu);
  for (;;) {
    while (!rp->count && !rp->quit) pthread_cond_wait(&rp->more, &rp->mu);
    if (!rp->count) break;
    int fd = rp->ring[rp->head];
    rp->head = (rp->head + 1) % REAP_RING; rp->count--;
    pthread_cond_signal(&rp->room);
    pthread_mutex_unlock(&rp->mu);
    close(fd);
    pthread_mutex_lock(&rp->mu);
  }
  pthread_mutex_unlock(&rp->mu);
  return NULL;
}

struct reaper *ex_reap_start(int threads) {
  struct reaper *rp = calloc(1, sizeof *rp);
  if (!rp) return NULL;
  pthread_mutex_init(&rp->mu, NULL); pthread_cond_init(&rp->more, NULL); pthread_cond_init(&rp->room, NULL);
  for (int i = 0; i < threads && i < REAPERS; i++) if (pthread_create(&rp->tid[rp->nthreads], NULL, reap_loop, rp) == 0) rp->nthreads++;
  if (!rp->nthreads) { ex_reap_stop(rp, NULL); return NULL; }
  return rp;
}

/* fd is closed: by a reaper, or here when there is none. */
void ex_reap(struct reaper *rp, int fd) {
  if (!rp) { close(fd); return; }
  pthread_mutex_lock(&rp->mu);
  if (rp->count == REAP_RING) {
    int64_t since = ex_now_ns();
    while (rp->count == REAP_RING) pthread_cond_wait(&rp->room, &rp->mu);
    rp->waits++; rp->wait_ns += ex_now_ns() - since;
  }
  rp->ring[(rp->head + rp->count++) % REAP_RING] = fd;
  pthread_cond_signal(&rp->more);
  pthread_mutex_unlock(&rp->mu);
}

/* Every waiting descriptor closed, the threads ended, rp freed (its waits added to st). */
void ex_reap_stop(struct reaper *rp, struct wait_stats *st) {
  if (!rp) return;
  int64_t since = ex_now_ns();
  pthread_mutex_lock(&rp->mu);
  rp->quit = 1;
  pthread_cond_broadcast(&rp->more);
  pthread_mutex_unlock(&rp->mu);
  for (int i = 0; i < rp->nthreads; i++) pthread_join(rp->tid[i], NULL);
  if (st) { st->reap_waits += rp->waits; st->reap_wait_ns += rp->wait_ns; st->reap_drain_ns += ex_now_ns() - since; }
  pthread_mutex_destroy(&rp->mu); pthread_cond_destroy(&rp->more); pthread_cond_destroy(&rp->room);
  free(rp);
}
