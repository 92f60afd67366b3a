/* bench_w.h - shared code of the reference-workload benchmarks (issue #9):
 * bench_w1.c (ML-VAE MLP), bench_w2.c (DSAE with LSTMs), bench_w3.c (VQ-VAE
 * conv), bench_w4.c (TS-DSAE full stage), bench_wlat.c (swap latency).
 *
 * Every training benchmark takes [steps] [threads]: at least 20 timed steps
 * (default 20) after 3 warm-up steps, and the thread count (default: 1): the
 * library's pool (dsn_set_threads; OpenBLAS single-threaded on partitioned
 * work), or with DSN_BENCH_BLAS_THREADS=1 in the environment OpenBLAS's own
 * threads with a one-thread pool (the comparison of docs/performance.md).
 * BENCH_SHAPE="B,T,H" sets W2's and W4's batch, frames and hidden size, and
 * BENCH_FEW_STEPS=1 allows fewer steps (1 warm-up), for the scaling table.
 * It prints a human-readable line and a machine-readable one for
 * bench/run.py:
 *   RESULT <name> <median ms> <min ms> <max ms> <GFLOP per step> <allocations in the timed loop>
 *
 * FLOP convention (the same in bench/torch/workloads.py): only matrix
 * products are counted (linear layers, convolutions, LSTM input and recurrent
 * projections, VQ distances), 2 flops per multiply-add; a training step counts
 * 3x the forward flops of every layer that has trainable weights (forward,
 * input gradient, weight gradient) and 1x those of frozen layers (TS-DSAE's
 * snapshot encoder). Element-wise work (activations, gates, KL terms, Adam)
 * is not counted. */
#ifndef BENCH_W_H
#define BENCH_W_H

#include "disent.h"
#include "tensor/blas.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BW_CHECK(call)                                                                                        \
    do {                                                                                                      \
        dsn_status st_ = (call);                                                                              \
        if (st_ != DSN_OK) {                                                                                  \
            fprintf(stderr, "%s: %s\n", #call, dsn_last_error());                                           \
            exit(1);                                                                                          \
        }                                                                                                     \
    } while (0)

static inline double bw_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of the whole process (all threads): on a shared machine it leaves
 * out the time the process waited for a core, so A/B comparisons of one-
 * thread runs are steadier than wall time */
static inline double bw_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bw_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* sorts t[0..n) */
static inline double bw_median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, bw_cmp);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

typedef struct bw_args {
    int steps, threads, blas_threads, warmup;
} bw_args;

/* B, T, H from the environment variable BENCH_SHAPE="B,T,H" (the scaling
 * table of bench/run.py), else the defaults given */
static inline void bw_shape(int *B, int *T, int *H)
{
    const char *e = getenv("BENCH_SHAPE");
    int b, t, h;
    if (e && sscanf(e, "%d,%d,%d", &b, &t, &h) == 3 && b > 0 && t > 1 && h > 0) *B = b, *T = t, *H = h;
}

static inline bw_args bw_parse(int argc, char **argv)
{
    bw_args a = {20, 1, 0, 3};
    if (argc > 1) a.steps = atoi(argv[1]);
    if (argc > 2) a.threads = atoi(argv[2]);
    /* BENCH_FEW_STEPS=1: as few as 1 timed step after 1 warm-up (the scaling table's large shapes) */
    const char *few = getenv("BENCH_FEW_STEPS");
    if (few && atoi(few) > 0) {
        a.warmup = 1;
        if (a.steps < 1) a.steps = 1;
    } else if (a.steps < 20) {
        a.steps = 20;
    }
    if (a.threads < 1) a.threads = 1;
    const char *e = getenv("DSN_BENCH_BLAS_THREADS");
    a.blas_threads = e && atoi(e) > 0;
    if (a.blas_threads) {
        BW_CHECK(dsn_set_threads(1));
        dsi_blas_set_threads(a.threads);
    } else {
        BW_CHECK(dsn_set_threads(a.threads));
    }
    return a;
}

/* fixed-seed uniform [lo, hi) data (xorshift; independent of the library) */
static inline float *bw_random(size_t n, float lo, float hi, uint64_t seed)
{
    float *p = malloc(sizeof(float) * n);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        p[i] = lo + (hi - lo) * (float)((s >> 40) * (1.0 / 16777216.0));
    }
    return p;
}

static inline dsn_model *bw_model(const char *family, const char *opts)
{
    dsn_options *o;
    dsn_model *m;
    BW_CHECK(dsn_options_create(&o));
    BW_CHECK(dsn_options_parse(o, opts));
    BW_CHECK(dsn_model_create(&m, family, o));
    dsn_options_free(o);
    return m;
}

static inline dsn_optimizer *bw_adam(dsn_model *m, const char *lr)
{
    dsn_options *o;
    dsn_optimizer *opt;
    BW_CHECK(dsn_options_create(&o));
    BW_CHECK(dsn_options_set(o, "lr", lr));
    BW_CHECK(dsn_optimizer_create(&opt, m, "adam", o));
    dsn_options_free(o);
    return opt;
}

/* 3 warm-up steps, then a.steps timed ones; prints both result lines. */
static inline void bw_train(const char *name, const char *what, bw_args a, dsn_model *m, dsn_optimizer *opt,
                            const float *x, size_t n, const int32_t *groups, const float *mask, double gflop)
{
    float loss = 0;
    for (int i = 0; i < a.warmup; i++) BW_CHECK(dsn_train_step(m, opt, &loss, x, n, &(dsn_batch_args){sizeof(dsn_batch_args), groups, mask, NULL}));
    double *ms = malloc(sizeof(double) * (size_t)a.steps), *cpu = malloc(sizeof(double) * (size_t)a.steps);
    uint64_t a0 = dsn_allocation_count();
    for (int i = 0; i < a.steps; i++) {
        double t0 = bw_now(), c0 = bw_cpu();
        BW_CHECK(dsn_train_step(m, opt, &loss, x, n, &(dsn_batch_args){sizeof(dsn_batch_args), groups, mask, NULL}));
        ms[i] = 1e3 * (bw_now() - t0);
        cpu[i] = 1e3 * (bw_cpu() - c0);
    }
    double cpu_med = bw_median(cpu, a.steps);
    uint64_t allocs = dsn_allocation_count() - a0;
    double med = bw_median(ms, a.steps);
    printf("%s %s: %d steps, %d thread(s) (%s), %s\n", name, what, a.steps, a.threads,
           a.blas_threads ? "OpenBLAS's own" : "library pool", dsi_blas_name());
    printf("  median %.2f ms  min %.2f ms  max %.2f ms per step; %.3f GFLOP/step, %.1f GFLOP/s at the median; "
           "loss %.4g; allocations in the timed loop: %llu; CPU time (all threads) median %.2f ms\n",
           med, ms[0], ms[a.steps - 1], gflop, gflop / (med * 1e-3), (double)loss, (unsigned long long)allocs, cpu_med);
    printf("RESULT %s %.4f %.4f %.4f %.6f %llu %.4f\n", name, med, ms[0], ms[a.steps - 1], gflop,
           (unsigned long long)allocs, cpu_med);
    fflush(stdout);
    free(ms);
    free(cpu);
}

#endif
