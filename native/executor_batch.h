/* The executor's lanes and its batch runner (native/executor_batch.c). */
#ifndef HASHIFY_EXECUTOR_BATCH_H
#define HASHIFY_EXECUTOR_BATCH_H
#include "executor.h"

/* An open executor: its roots (opened once, shared read-only) and up to LANES lanes, each set
   up when a batch first gives it a step. */
struct batch_lanes {
  int nroots; int *rootfd; int busy;
  long threads; /* lane threads started so far (execThreads: tests) */
  int stop;     /* a fatal error (or an abort on drift) stopped the run: no step of a later batch starts */
  struct reaper *reap; /* started with the first batch, stopped by execClose */
  struct executor lane[LANES];
};

long ex_run_batch(struct batch_lanes *bl, const unsigned char *buf, size_t size, int abort_drift, int fresh, struct result **res);
#endif
