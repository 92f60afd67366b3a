/* bench_kernels.c - GFLOP/s of the raw gemm next to the library's ops that
 * use it (linear, conv2d, LSTM layer), forward and forward+backward, so any
 * overhead over BLAS is visible.
 *
 *   make BUILD=build bench && build/bench/bench_kernels [threads] [runs]
 *
 * threads: BLAS threads (default 1, for numbers that do not depend on what
 * else runs on the machine); runs: timed runs per row (default 15, >= 10),
 * after 3 warm-up runs; an op and its raw-gemm counterpart are timed
 * alternately so both see the same machine load. Each row prints the median
 * time and GFLOP/s. FLOPs
 * count 2 M N K per gemm; forward+backward counts the three gemms (forward,
 * weight gradient, input gradient). "raw" rows call dsi_gemm directly with the
 * same shapes. Forward rows run the op with the tape not recording
 * (inference); forward+backward rows record and backpropagate a seed of ones. */
#include "autodiff/ops.h"
#include "core/rng.h"
#include "tensor/blas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef void (*bench_fn)(void *ctx);

static int g_runs = 15;

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* Median seconds of g_runs runs of f and of g after 3 warm-ups each. The two
 * are timed alternately (f, g, f, g, ...) so that both see the same machine
 * load; the machine is shared, and load that comes and goes would otherwise
 * show up as a difference between them. */
static void median_pair(bench_fn f, void *fc, bench_fn g, void *gc, double *tf, double *tg)
{
    double a[64], b[64];
    int runs = g_runs > 64 ? 64 : g_runs;
    for (int i = 0; i < 3; i++) {
        f(fc);
        g(gc);
    }
    for (int i = 0; i < runs; i++) {
        double t0 = now();
        f(fc);
        double t1 = now();
        g(gc);
        double t2 = now();
        a[i] = t1 - t0;
        b[i] = t2 - t1;
    }
    *tf = median(a, runs);
    *tg = median(b, runs);
}

static void row(const char *what, const char *shape, double flops, double sec)
{
    printf("| %-34s | %-30s | %9.3f | %8.1f |\n", what, shape, sec * 1e3, flops / sec * 1e-9);
    fflush(stdout);
}

static float *rnd(dsi_rng *r, size_t n)
{
    float *p = malloc(sizeof(float) * n);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    dsi_rng_fill_uniform(r, p, n, -0.5f, 0.5f);
    return p;
}

/* ---- raw gemm ---- */
typedef struct gemm_ctx {
    int ta, tb, M, N, K;
    float *A, *B, *C;
} gemm_ctx;

static void run_gemm(void *p)
{
    gemm_ctx *g = p;
    dsi_gemm(g->ta, g->tb, g->M, g->N, g->K, 1.0f, g->A, g->ta ? g->M : g->K, g->B, g->tb ? g->K : g->N, 0.0f, g->C,
             g->N);
}

/* the three gemms of a forward+backward of C = A B: C = A B, dB = A^T dC, dA = dC B^T */
typedef struct gemm3_ctx {
    int M, N, K;
    float *A, *B, *C, *dA, *dB;
} gemm3_ctx;

static void run_gemm3(void *p)
{
    gemm3_ctx *g = p;
    dsi_gemm(0, 0, g->M, g->N, g->K, 1.0f, g->A, g->K, g->B, g->N, 0.0f, g->C, g->N);
    dsi_gemm(1, 0, g->K, g->N, g->M, 1.0f, g->A, g->K, g->C, g->N, 1.0f, g->dB, g->N);
    dsi_gemm(0, 1, g->M, g->K, g->N, 1.0f, g->C, g->N, g->B, g->N, 1.0f, g->dA, g->K);
}

/* ---- ops on a tape ---- */
typedef struct op_ctx {
    dsi_tape tape;
    int kind;             /* 0 linear, 1 conv2d, 2 lstm */
    int backward;
    dsi_var x, w, b, wh;  /* x has no gradient; weights do */
    float *seed;
} op_ctx;

static void run_op(void *p)
{
    op_ctx *c = p;
    dsi_tape *t = &c->tape;
    dsi_tape_reset(t);
    dsi_tape_set_recording(t, c->backward);
    dsi_var *y;
    if (c->kind == 0) y = dsi_linear(t, &c->x, &c->w, &c->b, DSI_ACT_NONE);
    else if (c->kind == 1) y = dsi_conv2d(t, &c->x, &c->w, &c->b, 1, 1);
    else y = dsi_lstm(t, &c->x, &c->w, &c->wh, &c->b, NULL, NULL, 0, NULL);
    if (!y) {
        fprintf(stderr, "op failed: %s\n", dsn_last_error());
        exit(1);
    }
    if (c->backward && dsi_tape_backward_seed(t, y, c->seed) != DSN_OK) {
        fprintf(stderr, "backward failed: %s\n", dsn_last_error());
        exit(1);
    }
}

#define mk dsi_var_view

static void bench_linear(dsi_rng *r, int M, int K, int N)
{
    char shape[64];
    snprintf(shape, sizeof shape, "%dx%dx%d", M, K, N);
    double f1 = 2.0 * M * N * K;
    gemm_ctx g = {0, 0, M, N, K, rnd(r, (size_t)M * K), rnd(r, (size_t)K * N), rnd(r, (size_t)M * N)};
    op_ctx c;
    memset(&c, 0, sizeof c);
    dsi_tape_init(&c.tape);
    int sx[2] = {M, K}, sw[2] = {K, N}, sb[1] = {N};
    float *wg = calloc((size_t)K * N, sizeof(float)), *bg = calloc((size_t)N, sizeof(float));
    c.x = mk(g.A, NULL, 2, sx);
    c.w = mk(g.B, wg, 2, sw);
    c.b = mk(rnd(r, (size_t)N), bg, 1, sb);
    c.kind = 0;
    double ta, tb;
    median_pair(run_gemm, &g, run_op, &c, &ta, &tb);
    row("raw gemm (dsi_gemm)", shape, f1, ta);
    row("dsi_linear forward", shape, f1, tb);
    gemm3_ctx g3 = {M, N, K, g.A, g.B, g.C, calloc((size_t)M * K, 4), calloc((size_t)K * N, 4)};
    /* the input needs a gradient too, so that all three gemms run */
    float *xg = calloc((size_t)M * K, sizeof(float));
    c.x.g = xg;
    c.backward = 1;
    c.seed = rnd(r, (size_t)M * N);
    median_pair(run_gemm3, &g3, run_op, &c, &ta, &tb);
    row("raw 3 gemms (fwd, dW, dX)", shape, 3 * f1, ta);
    row("dsi_linear forward+backward", shape, 3 * f1, tb);
    dsi_tape_release(&c.tape);
    free(g.A); free(g.B); free(g.C); free(g3.dA); free(g3.dB); free(wg); free(bg); free(xg); free(c.b.x); free(c.seed);
}

static void bench_conv(dsi_rng *r, int N, int C, int H, int W, int O, int k)
{
    char shape[64], gshape[64];
    snprintf(shape, sizeof shape, "N%d C%d %dx%d O%d k%d p%d", N, C, H, W, O, k, k / 2);
    const int P = H * W, CKK = C * k * k; /* stride 1, same padding */
    snprintf(gshape, sizeof gshape, "%dx%dx%d", O, CKK, N * P);
    double f1 = 2.0 * O * (double)N * P * CKK;
    /* the same FLOPs as one gemm: [O, CKK] x [CKK, N P] */
    gemm_ctx g = {0, 0, O, N * P, CKK, rnd(r, (size_t)O * CKK), rnd(r, (size_t)CKK * N * P), rnd(r, (size_t)O * N * P)};
    op_ctx c;
    memset(&c, 0, sizeof c);
    dsi_tape_init(&c.tape);
    int sx[4] = {N, C, H, W}, sw[4] = {O, C, k, k}, sb[1] = {O};
    float *x = rnd(r, (size_t)N * C * H * W), *xg = calloc((size_t)N * C * H * W, sizeof(float));
    float *wg = calloc((size_t)O * CKK, sizeof(float)), *bg = calloc((size_t)O, sizeof(float));
    c.x = mk(x, NULL, 4, sx);
    c.w = mk(g.A, wg, 4, sw);
    c.b = mk(rnd(r, (size_t)O), bg, 1, sb);
    c.kind = 1;
    double ta, tb;
    median_pair(run_gemm, &g, run_op, &c, &ta, &tb);
    row("raw gemm, same FLOP shape", gshape, f1, ta);
    row("dsi_conv2d forward", shape, f1, tb);
    gemm3_ctx g3 = {O, N * P, CKK, g.A, g.B, g.C, calloc((size_t)O * CKK, 4), calloc((size_t)CKK * N * P, 4)};
    c.x.g = xg;
    c.backward = 1;
    c.seed = rnd(r, (size_t)N * O * P);
    median_pair(run_gemm3, &g3, run_op, &c, &ta, &tb);
    row("raw 3 gemms, same FLOP shapes", gshape, 3 * f1, ta);
    row("dsi_conv2d forward+backward", shape, 3 * f1, tb);
    dsi_tape_release(&c.tape);
    free(g.A); free(g.B); free(g.C); free(g3.dA); free(g3.dB); free(x); free(xg); free(wg); free(bg); free(c.b.x);
    free(c.seed);
}

static void bench_lstm(dsi_rng *r, int B, int T, int I, int H)
{
    char shape[64];
    snprintf(shape, sizeof shape, "B%d T%d I%d H%d", B, T, I, H);
    const int G4 = 4 * H;
    double f1 = 2.0 * B * T * (double)G4 * (I + H);
    op_ctx c;
    memset(&c, 0, sizeof c);
    dsi_tape_init(&c.tape);
    int sx[3] = {B, T, I}, sw[2] = {I, G4}, sh[2] = {H, G4}, sb[1] = {G4};
    float *x = rnd(r, (size_t)B * T * I), *xg = calloc((size_t)B * T * I, sizeof(float));
    float *w = rnd(r, (size_t)I * G4), *wh = rnd(r, (size_t)H * G4), *b = rnd(r, (size_t)G4);
    float *wg = calloc((size_t)I * G4, 4), *whg = calloc((size_t)H * G4, 4), *bg = calloc((size_t)G4, 4);
    c.x = mk(x, NULL, 3, sx);
    c.w = mk(w, wg, 2, sw);
    c.wh = mk(wh, whg, 2, sh);
    c.b = mk(b, bg, 1, sb);
    c.kind = 2;
    op_ctx c2 = c; /* forward+backward on its own tape */
    dsi_tape_init(&c2.tape);
    c2.x.g = xg;
    c2.backward = 1;
    c2.seed = rnd(r, (size_t)B * T * H);
    double ta, tb;
    median_pair(run_op, &c, run_op, &c2, &ta, &tb);
    row("dsi_lstm forward", shape, f1, ta);
    row("dsi_lstm forward+backward", shape, 3 * f1, tb);
    dsi_tape_release(&c.tape);
    dsi_tape_release(&c2.tape);
    free(x); free(xg); free(w); free(wh); free(b); free(wg); free(whg); free(bg); free(c2.seed);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (argc > 2) g_runs = atoi(argv[2]);
    if (g_runs < 10) g_runs = 10;
    dsi_blas_set_threads(threads);
    dsi_rng r;
    dsi_rng_seed(&r, 1);
    printf("BLAS: %s, %d thread(s); median of %d runs after 3 warm-ups\n\n", dsi_blas_name(),
           dsi_blas_get_threads(), g_runs);
    printf("| %-34s | %-30s | %9s | %8s |\n", "kernel", "shape (M x K x N)", "ms", "GFLOP/s");
    printf("|%s|%s|%s|%s|\n", "------------------------------------", "--------------------------------",
           "-----------", "----------");
    bench_linear(&r, 256, 784, 500);
    bench_linear(&r, 128, 256, 1024);
    bench_conv(&r, 32, 128, 16, 16, 128, 3);
    bench_lstm(&r, 128, 250, 64, 32);
    return 0;
}
