/* bench_lstm.c - one LSTM layer (the W2 shape by default) forward + backward:
 *   build/bench/bench_lstm [reps] [threads] [B T I H]
 * Prints the median CPU ms of the forward and of the backward pass (all
 * threads) and the GFLOP/s of the whole layer (matrix products only: input and
 * recurrent projections, 3x forward for the training pass). A/B the recurrent
 * products: DSI_SIMD=0 runs OpenBLAS per time step (and the portable gates). */
#include "disent.h"
#include "autodiff/ops.h"
#include "tensor/simd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5, threads = argc > 2 ? atoi(argv[2]) : 1;
    int B = 128, T = 128, I = 80, H = 256;
    if (argc > 6) B = atoi(argv[3]), T = atoi(argv[4]), I = atoi(argv[5]), H = atoi(argv[6]);
    if (reps < 1) reps = 1;
    if (dsn_set_threads(threads) != DSN_OK) return 1;
    const size_t nx = (size_t)B * T * I, nwx = (size_t)I * 4 * H, nwh = (size_t)H * 4 * H;
    float *x = malloc(sizeof(float) * nx), *wx = malloc(sizeof(float) * nwx), *wh = malloc(sizeof(float) * nwh);
    float *b = calloc((size_t)4 * H, sizeof(float)), *seed = malloc(sizeof(float) * (size_t)B * T * H);
    float *gx = calloc(nx, sizeof(float)), *gwx = calloc(nwx, sizeof(float)), *gwh = calloc(nwh, sizeof(float));
    float *gb = calloc((size_t)4 * H, sizeof(float));
    unsigned s = 1;
    for (size_t i = 0; i < nx; i++) x[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / 16777216.0f - 0.5f;
    for (size_t i = 0; i < nwx; i++) wx[i] = 0.1f * ((float)((s = s * 1103515245u + 12345u) >> 8) / 16777216.0f - 0.5f);
    for (size_t i = 0; i < nwh; i++) wh[i] = 0.1f * ((float)((s = s * 1103515245u + 12345u) >> 8) / 16777216.0f - 0.5f);
    for (size_t i = 0; i < (size_t)B * T * H; i++) seed[i] = 1e-3f;
    dsi_var vx = {x, gx, 3, {B, T, I}, nx}, vwx = {wx, gwx, 2, {I, 4 * H}, nwx};
    dsi_var vwh = {wh, gwh, 2, {H, 4 * H}, nwh}, vb = {b, gb, 1, {4 * H}, (size_t)4 * H};
    dsi_tape t;
    dsi_tape_init(&t);
    double *fw = malloc(sizeof(double) * reps), *bw = malloc(sizeof(double) * reps);
    for (int i = -1; i < reps; i++) {
        dsi_tape_reset(&t);
        double c0 = cpu_ms();
        dsi_var *y = dsi_lstm(&t, &vx, &vwx, &vwh, &vb, NULL, NULL, 0, NULL);
        double c1 = cpu_ms();
        if (!y || dsi_tape_backward_seed(&t, y, seed) != DSN_OK) {
            fprintf(stderr, "lstm failed: %s\n", dsn_last_error());
            return 1;
        }
        double c2 = cpu_ms();
        if (i >= 0) fw[i] = c1 - c0, bw[i] = c2 - c1;
    }
    qsort(fw, (size_t)reps, sizeof *fw, cmpd);
    qsort(bw, (size_t)reps, sizeof *bw, cmpd);
    const double f = fw[reps / 2], g = bw[reps / 2];
    const double fl = 2.0 * B * T * 4.0 * H * (I + H); /* forward flops */
    const double rec = 2.0 * B * (T - 1) * 4.0 * H * H; /* recurrent products of one pass */
    printf("lstm B %d T %d I %d H %d, %d thread(s), SIMD level %d: forward %.2f ms, backward %.2f ms CPU; "
           "%.1f GFLOP/s (CPU) over the pass; recurrent products %.3f GFLOP per pass\n",
           B, T, I, H, threads, dsi_simd_level(), f, g, 3.0 * fl / ((f + g) * 1e-3) * 1e-9, rec * 1e-9);
    dsi_tape_release(&t);
    return 0;
}
