/* The executor's lanes and its batch runner (native/executor_batch.c). */
#ifndef HASHIFY_EXECUTOR_BATCH_H
#define HASHIFY_EXECUTOR_BATCH_H
#include "executor.h"

#include <pthread.h>

/* An open executor: its roots (opened once, shared read-only) and up to LANES lanes, each set
   up (and its thread started) when a batch first gives it a step. */
struct job;
struct batch_lanes {
  int nroots; int *rootfd; int busy; /* busy: batches in flight */
  long threads; /* lane threads started so far (execStats) */
  struct wait_stats stats; /* where the run's threads waited (execStats) */
  int used; /* lanes any batch has used (bit l) */
  pthread_mutex_t mu; pthread_cond_t work, done; /* work: a job sent, or quit; done: a lane finished a job */
  struct job *jobs; unsigned long seq; int quit; /* jobs in flight, oldest first */
  pthread_t tid[LANES]; int running[LANES]; /* 1 its thread runs, -1 none could be had, 0 not yet */
  int stop;     /* a fatal error (or an abort on drift) stopped the run: no step of a later batch starts */
  int interrupted; /* execStop (SIGINT/SIGTERM): no step starts any more, in any batch, fresh or not */
  struct reaper *reap; /* started with the first batch, stopped by execClose */
  int reap_tried;      /* the first batch tried to start it (none with HASHIFY_REAPERS=0): never again */
  struct executor lane[LANES];
};

void ex_lanes_init(struct batch_lanes *bl);
void ex_lanes_stop(struct batch_lanes *bl);
struct job *ex_submit(struct batch_lanes *bl, const unsigned char *buf, size_t size, int abort_drift, int fresh);
long ex_wait(struct batch_lanes *bl, struct job *j, struct result **res);
#endif
