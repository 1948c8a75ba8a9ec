#!/usr/bin/env node
/**
 * The installed command's entry (package.json `bin`), CommonJS on purpose: it sizes libuv's
 * thread pool, on which the scan and the hashing run (src/workers/workerPool.ts), before
 * anything starts the pool, then loads the command line (src/cli.ts). Set from an ES module it
 * would come too late: Node's ES module loader reads modules with asynchronous fs calls, which
 * start the pool with its default of 4 threads before the first line of any module runs.
 * One thread a core, at least 4; a UV_THREADPOOL_SIZE the user set is kept.
 */
import { availableParallelism } from 'node:os';

process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism()));
void import('./cli.js');
