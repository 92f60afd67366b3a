/* bench_vq.c - VQ assignment throughput next to the gemm it rests on.
 *
 *   build-x/bench/bench_vq [threads] [reps]
 *
 * K = 512 codes, D = 64, a batch of 32 x 8 x 8 = 2048 encoder vectors (the
 * VQ-VAE CIFAR-10 setting). Reports, per batch, the best of `reps` timings:
 *   gemm       the distance gemm alone, -2 Z E^T as one [2048 x 512 x 64] call
 *   gemm/chunk the same in 256-row chunks (what the assignment does)
 *   assign     dsi_vq_assign: chunked gemm + norms + clamp + argmin
 *   quantize   dsi_vq_quantize on a tape in inference mode (+ z_q, loss)
 *   train      dsi_vq_quantize recording + backward + EMA-free stats */
#include "autodiff/tape.h"
#include "latent/vq.h"
#include "tensor/blas.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

enum { K = 512, D = 64, N = 32 * 8 * 8 };

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1, reps = argc > 2 ? atoi(argv[2]) : 30;
    if (threads > 0) dsi_blas_set_threads(threads);
    dsi_params ps;
    dsi_params_init(&ps);
    dsi_vq vq;
    dsi_vq_config cfg = dsi_vq_defaults(K, D);
    if (dsi_vq_init(&vq, &cfg, &ps, "codebook", dsi_params_group(&ps, "vq")) != DSN_OK ||
        dsi_params_finalize(&ps) != DSN_OK || dsi_vq_init_uniform(&vq) != DSN_OK) {
        fprintf(stderr, "setup failed: %s\n", dsn_last_error());
        return 1;
    }
    dsi_rng r;
    dsi_rng_seed(&r, 1);
    float *z = malloc(sizeof(float) * N * D), *dist = malloc(sizeof(float) * N * K), *g = calloc(N * D, sizeof(float));
    int *idx = malloc(sizeof(int) * N);
    dsi_rng_fill_normal(&r, z, (size_t)N * D, 0.0f, 1.0f);
    dsi_var *cb = dsi_vq_codebook(&vq);
    dsi_rng_fill_normal(&r, cb->x, cb->n, 0.0f, 1.0f);
    dsi_tape t;
    dsi_tape_init(&t);
    int sh[4] = {32, D, 8, 8};
    double best[5] = {1e9, 1e9, 1e9, 1e9, 1e9};
    for (int rep = 0; rep < reps; rep++) {
        double t0 = now();
        dsi_gemm(0, 1, N, K, D, -2.0f, z, D, cb->x, D, 0.0f, dist, K);
        double t1 = now();
        for (int r0 = 0; r0 < N; r0 += DSI_VQ_CHUNK)
            dsi_gemm(0, 1, DSI_VQ_CHUNK, K, D, -2.0f, z + (size_t)r0 * D, D, cb->x, D, 0.0f, dist, K);
        double t2 = now();
        dsi_vq_assign(&vq, z, N, idx, NULL);
        double t3 = now();
        dsi_tape_reset(&t);
        dsi_tape_set_recording(&t, 0);
        dsi_vq_result res;
        dsi_vq_quantize(&t, &vq, dsi_tape_wrap(&t, z, 4, sh), DSI_VQ_NCHW, DSI_RED_MEAN, 0, NULL, &res);
        double t4 = now();
        dsi_tape_reset(&t);
        dsi_tape_set_recording(&t, 1);
        dsi_var ze = {z, g, 4, {32, D, 8, 8}, (size_t)N * D};
        dsi_params_zero_grad(&ps);
        dsi_vq_quantize(&t, &vq, &ze, DSI_VQ_NCHW, DSI_RED_MEAN, 1, NULL, &res);
        dsi_tape_backward(&t, res.loss);
        double t5 = now();
        double d[5] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4};
        for (int k = 0; k < 5; k++)
            if (d[k] < best[k]) best[k] = d[k];
    }
    const char *names[5] = {"gemm", "gemm/chunk", "assign", "quantize", "train"};
    double flops = 2.0 * N * K * D;
    printf("VQ K=%d D=%d batch 32x8x8 = %d vectors; BLAS %s, %d thread(s); best of %d\n", K, D, N, dsi_blas_name(),
           dsi_blas_get_threads(), reps);
    for (int k = 0; k < 5; k++)
        printf("  %-11s %8.3f ms  %7.2f Mvectors/s  %6.1f GFLOP/s of the gemm\n", names[k], best[k] * 1e3,
               N / best[k] * 1e-6, flops / best[k] * 1e-9);
    printf("  assign / gemm time: %.2f\n", best[2] / best[0]);
    dsi_tape_release(&t);
    dsi_vq_release(&vq);
    dsi_params_release(&ps);
    free(z); free(dist); free(g); free(idx);
    return 0;
}
