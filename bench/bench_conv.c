/* bench_conv.c - the channels-last conv kernels on the W3 (VQ-VAE) layer
 * shapes, batch 32: forward (down for a conv, up for a transposed conv),
 * input gradient and weight gradient of each layer, and the NCHW <-> NHWC
 * conversions at the op boundary; then the whole op (forward + backward)
 * through the tape against the im2col + gemm reference path.
 *
 *   build/bench/bench_conv [reps] [threads] [max vectors per block] [ig row-group bytes] [tn block bytes]
 *
 * Each figure: median of `reps` runs (default 15) after 2 warm-ups; CPU time
 * of the process (steadier than wall time on a shared machine). DSI_SIMD=1
 * forces the AVX2 kernels. */
#include "autodiff/ops.h"
#include "core/pool.h"
#include "tensor/conv_kernel.h"
#include "tensor/conv_nhwc.h"
#include "tensor/simd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct layer {
    const char *name;
    int transposed, C, H, W, O, K, s, p; /* op view: x [C,H,W] -> y [O,OH,OW] */
} layer;

static const layer L[] = {
    {"enc.conv1 4x4 s2 3->128", 0, 3, 32, 32, 128, 4, 2, 1},
    {"enc.conv2 4x4 s2 128->128", 0, 128, 16, 16, 128, 4, 2, 1},
    {"res.a 3x3 128->32", 0, 128, 8, 8, 32, 3, 1, 1},
    {"res.b 1x1 32->128", 0, 32, 8, 8, 128, 1, 1, 0},
    {"enc.proj 1x1 128->64", 0, 128, 8, 8, 64, 1, 1, 0},
    {"dec.conv1 3x3 64->128", 0, 64, 8, 8, 128, 3, 1, 1},
    {"dec.up1 T4x4 s2 128->128", 1, 128, 8, 8, 128, 4, 2, 1},
    {"dec.up2 T4x4 s2 128->3", 1, 128, 16, 16, 3, 4, 2, 1},
};

static int reps = 15;

#define TIME(out, stmt)                                                                                       \
    do {                                                                                                      \
        double t_[64];                                                                                        \
        for (int r_ = 0; r_ < reps + 2; r_++) {                                                               \
            double a_ = cpu_now();                                                                            \
            stmt;                                                                                             \
            if (r_ >= 2) t_[r_ - 2] = cpu_now() - a_;                                                         \
        }                                                                                                     \
        qsort(t_, (size_t)reps, sizeof(double), cmpd);                                                        \
        out = 1e3 * t_[reps / 2];                                                                             \
    } while (0)

static float *rnd(size_t n, unsigned s)
{
    float *p = aligned_alloc(64, (n * 4 + 63) / 64 * 64);
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((s >> 8) & 0xFFFF) / 32768.0f - 1.0f;
    }
    return p;
}

static void op_step(dsi_tape *t, const layer *y, const int *sx, const int *sw, const int *sb, const float *xs,
                    const float *w, const float *seed)
{
    dsi_tape_reset(t);
    dsi_var *xv = dsi_tape_new(t, 4, sx, 1), *wv = dsi_tape_new(t, 4, sw, 1), *bv = dsi_tape_new(t, 1, sb, 1);
    memcpy(xv->x, xs, xv->n * 4);
    memcpy(wv->x, w, wv->n * 4);
    memset(bv->x, 0, bv->n * 4);
    dsi_var *o = y->transposed ? dsi_conv_transpose2d(t, xv, wv, bv, y->s, y->p) : dsi_conv2d(t, xv, wv, bv, y->s, y->p);
    dsi_tape_backward_seed(t, o, seed);
}

int main(int argc, char **argv)
{
    if (argc > 1) reps = atoi(argv[1]);
    if (reps < 3) reps = 3;
    if (reps > 60) reps = 60;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    dsi_pool_set_threads(threads < 1 ? 1 : threads);
    if (argc > 3) dsi_conv_nv_cap = atoi(argv[3]);
    if (argc > 4) dsi_conv_l2_rows = (size_t)atol(argv[4]);
    if (argc > 5) dsi_conv_tn_block = (size_t)atol(argv[5]);
    const int N = 32;
    printf("conv kernels, W3 layers, batch %d, SIMD level %d, %d thread(s); CPU ms (median of %d)\n", N,
           dsi_simd_level(), threads, reps);
    printf("%-28s %8s %8s %8s %8s | %8s %8s | %9s %9s\n", "layer", "fwd", "dx", "dW", "conv", "GFLOP/s", "", "op nhwc",
           "op im2col");
    double tot[6] = {0};
    for (size_t l = 0; l < sizeof L / sizeof *L; l++) {
        const layer *y = &L[l];
        int OH = y->transposed ? (y->H - 1) * y->s - 2 * y->p + y->K : (y->H + 2 * y->p - y->K) / y->s + 1;
        int OW = y->transposed ? (y->W - 1) * y->s - 2 * y->p + y->K : (y->W + 2 * y->p - y->K) / y->s + 1;
        dsi_cg g;
        g.N = N;
        g.KH = g.KW = y->K;
        g.sh = g.sw = y->s;
        g.ph = g.pw = y->p;
        if (!y->transposed) {
            g.Cb = y->C, g.Hb = y->H, g.Wb = y->W, g.Cs = y->O, g.Hs = OH, g.Ws = OW;
        } else {
            g.Cs = y->C, g.Hs = y->H, g.Ws = y->W, g.Cb = y->O, g.Hb = OH, g.Wb = OW;
        }
        size_t nb = (size_t)N * g.Cb * g.Hb * g.Wb, ns = (size_t)N * g.Cs * g.Hs * g.Ws;
        size_t nw = (size_t)g.Cs * g.Cb * g.KH * g.KW;
        float *big = rnd(nb, 1), *small = rnd(ns, 2), *w = rnd(nw, 3), *gw = rnd(nw, 4), *bias = rnd(4096, 5);
        float *nchw = rnd(nb > ns ? nb : ns, 6);
        void *work = aligned_alloc(64, (dsi_cg_work_bytes(&g) + 63) / 64 * 64);
        double tf, tdx, tdw, tcv;
        if (!y->transposed) {
            TIME(tf, dsi_cg_down(&g, w, big, bias, small, work));
            TIME(tdx, dsi_cg_up(&g, w, small, NULL, big, work));
        } else {
            TIME(tf, dsi_cg_up(&g, w, small, bias, big, work));
            TIME(tdx, dsi_cg_down(&g, w, big, NULL, small, work));
        }
        TIME(tdw, dsi_cg_wgrad(&g, big, small, gw, work));
        /* the op's conversions: x in, y out (forward); gy in, dx out (accumulating) */
        float *xh = y->transposed ? small : big, *yh = y->transposed ? big : small;
        TIME(tcv, (dsi_nchw_to_nhwc(nchw, N, y->C, (size_t)y->H * y->W, xh),
                   dsi_nhwc_to_nchw(yh, N, y->O, (size_t)OH * OW, nchw, 0),
                   dsi_nchw_to_nhwc(nchw, N, y->O, (size_t)OH * OW, yh),
                   dsi_nhwc_to_nchw(xh, N, y->C, (size_t)y->H * y->W, nchw, 1)));
        double flop = 2.0 * (double)N * g.Hs * g.Ws * g.Cs * g.Cb * g.KH * g.KW;
        /* the whole op through the tape, both paths */
        double top[2];
        for (int im = 0; im < 2; im++) {
            dsi_tape t;
            dsi_tape_init(&t);
            dsi_conv_set_im2col(im);
            int sx[4] = {N, y->C, y->H, y->W}, sw[4] = {y->transposed ? y->C : y->O, y->transposed ? y->O : y->C, y->K, y->K};
            int sb[1] = {y->O};
            float *xs = rnd((size_t)N * y->C * y->H * y->W, 7);
            TIME(top[im], op_step(&t, y, sx, sw, sb, xs, w, nchw));
            dsi_conv_set_im2col(0);
            dsi_tape_release(&t);
            free(xs);
        }
        printf("%-28s %8.3f %8.3f %8.3f %8.3f | %8.1f %8s | %9.3f %9.3f\n", y->name, tf, tdx, tdw, tcv,
               3 * flop / (1e6 * (tf + tdx + tdw)), "", top[0], top[1]);
        printf("  per product GFLOP/s: fwd %.1f dx %.1f dW %.1f\n", flop / (1e6 * tf), flop / (1e6 * tdx),
               flop / (1e6 * tdw));
        tot[0] += tf, tot[1] += tdx, tot[2] += tdw, tot[3] += tcv, tot[4] += top[0], tot[5] += top[1];
        free(big); free(small); free(w); free(gw); free(bias); free(nchw); free(work);
    }
    printf("%-28s %8.3f %8.3f %8.3f %8.3f | %8s %8s | %9.3f %9.3f\n", "total (one of each layer)", tot[0], tot[1],
           tot[2], tot[3], "", "", tot[4], tot[5]);
    return 0;
}
