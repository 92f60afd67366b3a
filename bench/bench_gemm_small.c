/* bench_gemm_small.c - the packing-free small-matrix gemm (simd.c) against the
 * BLAS on the narrow shapes of the issue #9 workloads, one thread:
 *   build/bench/bench_gemm_small [reps]
 * Prints, per shape, the median CPU microseconds of each (cblas_sgemm called
 * directly, not through dsi_gemm) and their ratio, for C = A B and for the
 * weight-gradient form C[K,N] = A[M,K]^T B[M,N]
 * (used to choose when dsi_gemm switches to the small kernel). */
#include "tensor/blas.h"
#include "tensor/simd.h" /* before cblas.h: its complex.h defines I, a parameter name in simd.h */
#include <cblas.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return 1e6 * (double)ts.tv_sec + 1e-3 * (double)ts.tv_nsec;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 21;
    if (reps < 3) reps = 3;
    static const int shapes[][3] = {{32000, 64, 80}, {32000, 64, 64}, {32000, 80, 64}, {32000, 32, 64},
                                    {250, 64, 80},   {250, 64, 64},   {250, 80, 64},   {128, 128, 32},
                                    {128, 1024, 256}, {256, 500, 20}, {4096, 128, 128}, {4096, 128, 256},
                                    {4096, 256, 256}, {4096, 64, 512}, {64, 64, 64}, {16, 64, 64}};
    dsi_blas_set_threads(1);
    printf("%8s %5s %5s %12s %12s %7s %9s\n", "M", "N", "K", "blas us", "small us", "ratio", "GFLOP/s");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = malloc(sizeof(float) * (size_t)M * K), *B = malloc(sizeof(float) * (size_t)K * N),
              *C = malloc(sizeof(float) * (size_t)M * N);
        for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)(i % 17) * 0.1f - 0.8f;
        for (size_t i = 0; i < (size_t)K * N; i++) B[i] = (float)(i % 13) * 0.1f - 0.6f;
        double tb[64], ts[64];
        int iters = (int)(2e7 / ((double)M * N * K)) + 1;
        for (int r = 0; r < reps && r < 64; r++) {
            double t0 = cpu_us();
            for (int i = 0; i < iters; i++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
            double t1 = cpu_us();
            for (int i = 0; i < iters; i++)
                if (!dsi_gemm_small(M, N, K, A, K, B, N, 0.0f, C, N, NULL, DSI_GS_NONE)) return 1;
            double t2 = cpu_us();
            tb[r] = (t1 - t0) / iters;
            ts[r] = (t2 - t1) / iters;
        }
        int n = reps < 64 ? reps : 64;
        qsort(tb, (size_t)n, sizeof(double), cmpd);
        qsort(ts, (size_t)n, sizeof(double), cmpd);
        double b = tb[n / 2], sm = ts[n / 2];
        printf("%8d %5d %5d %12.1f %12.1f %7.2f %9.1f\n", M, N, K, b, sm, b / sm, 2e-3 * M * N * K / sm);
        free(A), free(B), free(C);
    }
    /* weight gradients: C[K,N] += X[M,K]^T G[M,N] */
    static const int tshapes[][3] = {{32000, 64, 80}, {32000, 64, 64}, {32000, 80, 64}, {32000, 32, 64},
                                     {32000, 128, 32}, {4096, 64, 64}, {1024, 64, 64}, {256, 64, 64},
                                     {256, 20, 500}, {16384, 128, 128}};
    printf("\nA^T B: %8s %5s %5s %12s %12s %7s %9s\n", "M", "N", "K", "blas us", "small us", "ratio", "GFLOP/s");
    for (size_t s = 0; s < sizeof tshapes / sizeof tshapes[0]; s++) {
        const int M = tshapes[s][0], N = tshapes[s][1], K = tshapes[s][2];
        float *A = malloc(sizeof(float) * (size_t)M * K), *B = malloc(sizeof(float) * (size_t)M * N),
              *C = calloc((size_t)K * N, sizeof(float));
        for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)(i % 17) * 0.1f - 0.8f;
        for (size_t i = 0; i < (size_t)M * N; i++) B[i] = (float)(i % 13) * 0.1f - 0.6f;
        double tb[64], ts[64];
        int iters = (int)(2e7 / ((double)M * N * K)) + 1;
        for (int r = 0; r < reps && r < 64; r++) {
            double t0 = cpu_us();
            for (int i = 0; i < iters; i++)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M, 1.0f, A, K, B, N, 1.0f, C, N);
            double t1 = cpu_us();
            for (int i = 0; i < iters; i++)
                if (!dsi_gemm_small_tn(K, N, M, A, K, B, N, 1.0f, C, N)) return 1;
            double t2 = cpu_us();
            tb[r] = (t1 - t0) / iters;
            ts[r] = (t2 - t1) / iters;
        }
        int n = reps < 64 ? reps : 64;
        qsort(tb, (size_t)n, sizeof(double), cmpd);
        qsort(ts, (size_t)n, sizeof(double), cmpd);
        double b = tb[n / 2], sm = ts[n / 2];
        printf("       %8d %5d %5d %12.1f %12.1f %7.2f %9.1f\n", M, N, K, b, sm, b / sm, 2e-3 * M * N * K / sm);
        free(A), free(B), free(C);
    }
    return 0;
}
