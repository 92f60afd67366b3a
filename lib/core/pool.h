/* pool.h - the library's one thread pool (internal).
 *
 * Every parallel kernel of the library (gemm partitions, element-wise
 * kernels, LSTM steps, Adam, losses, the audio front end) runs through
 * dsi_pool_run; OpenBLAS is kept single-threaded (dsi_pool_set_threads sets
 * it to 1), so there is one set of threads and nothing spins against it.
 *
 * - Threads: dsi_pool_threads() - 1 workers (pthreads), created once by
 *   dsi_pool_set_threads (dsn_set_threads) or at first use from DSN_THREADS
 *   (default 1: no workers). The caller of dsi_pool_run is task 0's thread.
 * - No allocation per job: a job is a function and a context pointer (the
 *   caller's stack), handed over through static state.
 * - Deterministic partitioning: task t of n always covers the same part of
 *   the work (dsi_pool_split), whichever thread runs it, so a result depends
 *   on the number of tasks only; kernels choose that number from the work
 *   size and the thread count (dsi_pool_tasks), never from timing.
 * - A job started while the pool is busy (another application thread, or a
 *   task calling dsi_pool_run), or on a thread marked serial
 *   (dsi_pool_set_serial: the real-time streaming thread), runs its tasks
 *   one after the other on the calling thread, with the same partition. On a
 *   serial thread dsi_pool_tasks returns 1 and dsi_pool_run takes no lock.
 * - Waiting: workers spin briefly on an atomic generation counter, then
 *   sleep on a condition variable (the machine may be shared). */
#ifndef DSI_CORE_POOL_H
#define DSI_CORE_POOL_H

#include "core/status.h"

#include <stddef.h>

#define DSI_POOL_MAX 64

/* One task: the part `task` of `ntasks` of the job described by ctx. */
typedef void (*dsi_task_fn)(void *ctx, int task, int ntasks);

/* Threads of the pool, >= 1 (the calling thread included). */
int dsi_pool_threads(void);

/* Resize the pool to n threads (1..DSI_POOL_MAX; 0 = the online CPUs, capped).
 * Joins or creates workers; must not run concurrently with a job. Sets the
 * BLAS to one thread. DSN_E_INVALID for n out of range, DSN_E_INTERNAL when a
 * thread cannot be created (the pool keeps the workers it has). */
dsn_status dsi_pool_set_threads(int n);

/* Run fn(ctx, t, ntasks) for t in [0, ntasks) and return when all are done.
 * ntasks <= 1 calls fn(ctx, 0, 1) directly. */
void dsi_pool_run(int ntasks, dsi_task_fn fn, void *ctx);

/* Number of tasks for a job of `work` units when one task should have at
 * least `grain` units: min(threads, work / grain), at least 1; 1 on a serial
 * thread and inside a task. */
int dsi_pool_tasks(double work, double grain);

/* A parallel loop over [0, n): fn(ctx, lo, hi) on parts of multiples of
 * align (> 0), as many as dsi_pool_tasks(n cost, grain) gives (cost: work
 * units per item, e.g. bytes touched; grain as in dsi_pool_tasks). For loops
 * whose items are independent (each written by one part): the result is the
 * same for any thread count. */
typedef void (*dsi_range_fn)(void *ctx, size_t lo, size_t hi);
void dsi_pool_range(size_t n, double cost, double grain, size_t align, dsi_range_fn fn, void *ctx);

/* Zero n floats on the pool (large buffers: the gradients of a step). */
void dsi_pool_zero(float *p, size_t n);

/* Mark the calling thread serial (on != 0) or not: its jobs never use the
 * workers and never lock (real-time threads). */
void dsi_pool_set_serial(int on);

/* [*lo, *hi) = part t of n of [0, len), boundaries multiples of align (> 0)
 * except the last: equal parts up to the alignment. */
static inline void dsi_pool_split(size_t len, int t, int n, size_t align, size_t *lo, size_t *hi)
{
    size_t blocks = (len + align - 1) / align;
    size_t b0 = blocks * (size_t)t / (size_t)n, b1 = blocks * (size_t)(t + 1) / (size_t)n;
    *lo = b0 * align < len ? b0 * align : len;
    *hi = b1 * align < len ? b1 * align : len;
}

#endif
