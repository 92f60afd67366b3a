/* pool.c - the library's thread pool (see pool.h). */
#define _GNU_SOURCE /* sysconf(_SC_NPROCESSORS_ONLN) */
#include "core/pool.h"
#include "core/error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* iterations of the spin before a worker (or the caller) sleeps: ~20-50 us,
 * enough to bridge the gap between the kernels of one training step */
#define SPIN 4000

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    atomic_uint gen;      /* bumped once per job (release), read by the workers (acquire) */
    atomic_int pending;   /* workers that have not finished the current job */
    atomic_int busy;      /* 1 while a job or a resize owns the pool */
    dsi_task_fn fn;
    void *ctx;
    int ntasks;
    int nthreads;         /* including the caller; 0 = not initialised */
    int stop;             /* workers >= stop exit (resize) */
    unsigned start_gen[DSI_POOL_MAX]; /* P.gen when worker k + 1 was created: written before its
                                        * pthread_create, read only by it (a resize never overlaps a job) */
    pthread_t th[DSI_POOL_MAX];
} P = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, NULL, NULL, 0, 0,
       DSI_POOL_MAX, {0}, {0}};

static _Thread_local int tl_serial; /* real-time thread */
static _Thread_local int tl_in_task; /* a worker, or the caller inside a job */

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void *worker(void *arg)
{
    const int id = (int)(size_t)arg;
    tl_in_task = 1;
    unsigned seen = P.start_gen[id - 1]; /* not P.gen: a job may be posted before this thread runs */
    for (;;) {
        unsigned g = seen;
        for (int i = 0; i < SPIN && (g = atomic_load_explicit(&P.gen, memory_order_acquire)) == seen; i++)
            CPU_RELAX();
        if (g == seen) {
            pthread_mutex_lock(&P.mu);
            while ((g = atomic_load_explicit(&P.gen, memory_order_acquire)) == seen && id < P.stop)
                pthread_cond_wait(&P.wake, &P.mu);
            pthread_mutex_unlock(&P.mu);
        }
        if (g == seen) return NULL; /* asked to stop */
        seen = g; /* a job (a resize never overlaps one: both own P.busy) */
        for (int t = id; t < P.ntasks; t += P.nthreads) P.fn(P.ctx, t, P.ntasks);
        if (atomic_fetch_sub_explicit(&P.pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&P.mu);
            pthread_cond_signal(&P.done);
            pthread_mutex_unlock(&P.mu);
        }
    }
}

static void acquire(void)
{
    int z = 0;
    while (!atomic_compare_exchange_weak_explicit(&P.busy, &z, 1, memory_order_acquire, memory_order_relaxed)) {
        z = 0;
        sched_yield();
    }
}
static void release(void) { atomic_store_explicit(&P.busy, 0, memory_order_release); }

/* with the pool acquired */
static dsn_status resize(int n)
{
    dsn_status st = DSN_OK;
    int have = P.nthreads > 0 ? P.nthreads : 1;
    if (n < have) {
        pthread_mutex_lock(&P.mu);
        P.stop = n; /* workers with ids 1..n-1 stay (th[k] runs id k + 1) */
        pthread_cond_broadcast(&P.wake);
        pthread_mutex_unlock(&P.mu);
        for (int k = n - 1; k < have - 1; k++) pthread_join(P.th[k], NULL);
        pthread_mutex_lock(&P.mu);
        P.stop = DSI_POOL_MAX;
        pthread_mutex_unlock(&P.mu);
        have = n;
    }
    while (have < n) {
        P.start_gen[have - 1] = atomic_load_explicit(&P.gen, memory_order_relaxed);
        /* worker ids start at 1 (task ids: the caller is 0); th[k] holds id k + 1 */
        if (pthread_create(&P.th[have - 1], NULL, worker, (void *)(size_t)have) != 0) {
            st = dsi_error(DSN_E_INTERNAL, "dsn_set_threads: cannot create thread %d of %d", have + 1, n);
            break;
        }
        have++;
    }
    P.nthreads = have;
    return st;
}

static void init_once(void)
{
    int n = 1;
    const char *e = getenv("DSN_THREADS");
    if (e && *e) {
        char *end;
        long v = strtol(e, &end, 10);
        if (*end == 0 && v >= 0 && v <= DSI_POOL_MAX) n = (int)v;
        if (n == 0) {
            long c = sysconf(_SC_NPROCESSORS_ONLN);
            n = c < 1 ? 1 : c > DSI_POOL_MAX ? DSI_POOL_MAX : (int)c;
        }
    }
    acquire();
    if (P.nthreads == 0) resize(n);
    if (P.nthreads == 0) P.nthreads = 1;
    release();
}

int dsi_pool_threads(void)
{
    pthread_once(&once, init_once);
    return P.nthreads;
}

dsn_status dsi_pool_set_threads(int n)
{
    if (n < 0 || n > DSI_POOL_MAX)
        return dsi_error(DSN_E_INVALID, "dsn_set_threads: %d threads (want 0 for the CPUs, or 1..%d)", n,
                         DSI_POOL_MAX);
    if (n == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c < 1 ? 1 : c > DSI_POOL_MAX ? DSI_POOL_MAX : (int)c;
    }
    pthread_once(&once, init_once);
    acquire();
    dsn_status st = resize(n);
    release();
    return st;
}

void dsi_pool_set_serial(int on) { tl_serial = on ? 1 : 0; }

int dsi_pool_tasks(double work, double grain)
{
    if (tl_serial || tl_in_task) return 1;
    const int nt = dsi_pool_threads();
    if (nt <= 1 || !(work >= 2 * grain)) return 1;
    const double k = work / grain;
    return k >= nt ? nt : (int)k;
}

void dsi_pool_run(int ntasks, dsi_task_fn fn, void *ctx)
{
    int z = 0;
    if (ntasks <= 1 || tl_serial || tl_in_task || dsi_pool_threads() <= 1 ||
        !atomic_compare_exchange_strong_explicit(&P.busy, &z, 1, memory_order_acquire, memory_order_relaxed)) {
        const int was = tl_in_task, n = ntasks < 1 ? 1 : ntasks;
        tl_in_task = 1;
        for (int t = 0; t < n; t++) fn(ctx, t, n); /* same partition, this thread */
        tl_in_task = was;
        return;
    }
    P.fn = fn;
    P.ctx = ctx;
    P.ntasks = ntasks;
    atomic_store_explicit(&P.pending, P.nthreads - 1, memory_order_relaxed);
    pthread_mutex_lock(&P.mu);
    atomic_fetch_add_explicit(&P.gen, 1, memory_order_release);
    pthread_cond_broadcast(&P.wake);
    pthread_mutex_unlock(&P.mu);
    tl_in_task = 1;
    for (int t = 0; t < ntasks; t += P.nthreads) fn(ctx, t, ntasks);
    tl_in_task = 0;
    for (int i = 0; i < SPIN && atomic_load_explicit(&P.pending, memory_order_acquire) > 0; i++) CPU_RELAX();
    if (atomic_load_explicit(&P.pending, memory_order_acquire) > 0) {
        pthread_mutex_lock(&P.mu);
        while (atomic_load_explicit(&P.pending, memory_order_acquire) > 0) pthread_cond_wait(&P.done, &P.mu);
        pthread_mutex_unlock(&P.mu);
    }
    release();
}

typedef struct range_job {
    size_t n, align;
    dsi_range_fn fn;
    void *ctx;
} range_job;

static void range_task(void *ctx, int t, int n)
{
    const range_job *j = ctx;
    size_t lo, hi;
    dsi_pool_split(j->n, t, n, j->align, &lo, &hi);
    if (hi > lo) j->fn(j->ctx, lo, hi);
}

void dsi_pool_range(size_t n, double cost, double grain, size_t align, dsi_range_fn fn, void *ctx)
{
    if (n == 0) return;
    const int nt = dsi_pool_tasks((double)n * cost, grain);
    if (nt <= 1) {
        fn(ctx, 0, n);
        return;
    }
    range_job j = {n, align ? align : 1, fn, ctx};
    dsi_pool_run(nt, range_task, &j);
}

static void zero_part(void *ctx, size_t lo, size_t hi) { memset((float *)ctx + lo, 0, sizeof(float) * (hi - lo)); }

void dsi_pool_zero(float *p, size_t n)
{
    /* 128 KiB per part at least: below that one core's memset is about as fast as a hand-over */
    dsi_pool_range(n, 4.0, 131072.0, 16, zero_part, p);
}
