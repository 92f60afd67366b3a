/* fma_peak.c - measured single-precision FMA peak of this machine (issue #9):
 * the denominator of the "fraction of peak" column of bench/run.py.
 *
 *   build/bench/fma_peak [threads]     (default: 1 and 2 threads)
 *
 * Each thread runs 16 independent chains of vector FMAs (enough to cover the
 * FMA latency on every x86 core of the last decade) for ~0.2 s, repeated 5
 * times, best run kept. The widest supported vectors are used (AVX-512,
 * else AVX2+FMA, else SSE multiply + add), chosen at run time; 2 flops per
 * lane per FMA; DSI_SIMD=1 or 0 in the environment (the library's dispatch
 * forced down) takes the AVX2 or plain loop instead. Prints "PEAK <threads>
 * <GFLOP/s>" lines. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define X86 1
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static volatile float g_sink;
static int g_kind; /* 2 avx512, 1 avx2, 0 scalar/sse */

#define CHAINS 16

#ifdef X86
__attribute__((target("avx512f"))) static double run512(long iters)
{
    __m512 acc[CHAINS], a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int k = 0; k < CHAINS; k++) acc[k] = _mm512_set1_ps((float)k);
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < CHAINS; k++) acc[k] = _mm512_fmadd_ps(acc[k], a, b);
    __m512 s = acc[0];
    for (int k = 1; k < CHAINS; k++) s = _mm512_add_ps(s, acc[k]);
    g_sink = _mm512_reduce_add_ps(s);
    return 2.0 * 16 * CHAINS * (double)iters;
}

__attribute__((target("avx2,fma"))) static double run256(long iters)
{
    __m256 acc[CHAINS], a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int k = 0; k < CHAINS; k++) acc[k] = _mm256_set1_ps((float)k);
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < CHAINS; k++) acc[k] = _mm256_fmadd_ps(acc[k], a, b);
    float out[8];
    __m256 s = acc[0];
    for (int k = 1; k < CHAINS; k++) s = _mm256_add_ps(s, acc[k]);
    _mm256_storeu_ps(out, s);
    g_sink = out[0] + out[7];
    return 2.0 * 8 * CHAINS * (double)iters;
}
#endif

static double run_plain(long iters)
{
    float acc[CHAINS][4];
    for (int k = 0; k < CHAINS; k++)
        for (int l = 0; l < 4; l++) acc[k][l] = (float)k;
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < CHAINS; k++)
            for (int l = 0; l < 4; l++) acc[k][l] = acc[k][l] * 0.999999f + 1e-7f;
    g_sink = acc[3][1];
    return 2.0 * 4 * CHAINS * (double)iters;
}

static double run(long iters)
{
#ifdef X86
    if (g_kind == 2) return run512(iters);
    if (g_kind == 1) return run256(iters);
#endif
    return run_plain(iters);
}

typedef struct job {
    long iters;
    double flops, sec;
    pthread_barrier_t *bar;
} job;

static void *worker(void *p)
{
    job *j = p;
    pthread_barrier_wait(j->bar);
    double t0 = now();
    j->flops = run(j->iters);
    j->sec = now() - t0;
    return NULL;
}

static double peak(int threads, long iters)
{
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        pthread_t th[64];
        job jobs[64];
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, (unsigned)threads);
        for (int i = 0; i < threads; i++) {
            jobs[i] = (job){iters, 0, 0, &bar};
            pthread_create(&th[i], NULL, worker, &jobs[i]);
        }
        double flops = 0, sec = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(th[i], NULL);
            flops += jobs[i].flops;
            if (jobs[i].sec > sec) sec = jobs[i].sec;
        }
        pthread_barrier_destroy(&bar);
        if (flops / sec > best) best = flops / sec;
    }
    return best * 1e-9;
}

int main(int argc, char **argv)
{
    int only = argc > 1 ? atoi(argv[1]) : 0;
    if (only > 64) only = 64;
#ifdef X86
    __builtin_cpu_init();
    g_kind = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
    /* DSI_SIMD=1 (0): the peak of the AVX2 (plain) path the library was forced to */
    const char *force = getenv("DSI_SIMD");
    if (force && *force >= '0' && *force < '0' + g_kind) g_kind = *force - '0';
#endif
    /* calibrate to ~0.2 s on one thread */
    long iters = 1 << 16;
    for (;;) {
        double t0 = now();
        run(iters);
        double dt = now() - t0;
        if (dt > 0.05 || iters > (1L << 34)) {
            iters = (long)((double)iters * 0.2 / (dt > 1e-6 ? dt : 1e-6));
            break;
        }
        iters *= 2;
    }
    const char *kind = g_kind == 2 ? "AVX-512 FMA" : g_kind == 1 ? "AVX2 FMA" : "plain mul+add";
    for (int t = 1; t <= 2; t++) {
        if (only && t != only) continue;
        double g = peak(t, iters);
        printf("fma peak, %s, %d thread(s): %.1f GFLOP/s\n", kind, t, g);
        printf("PEAK %d %.3f\n", t, g);
    }
    return 0;
}
