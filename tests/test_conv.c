/* test_conv.c - im2col/col2im, conv2d, conv_transpose2d, conv1d, conv_transpose1d:
 * forward against direct loops, gradients by finite differences, transposed
 * conv as the adjoint of conv, error paths, no allocation after step one. */
#include "autodiff/ops.h"
#include "core/pool.h"
#include "tensor/simd.h"
#include "support/gradcheck.h"
#include "support/testutil.h"
#include "tensor/im2col.h"

#include <stdlib.h>
#include <string.h>

/* ---- naive references (double accumulation) ---- */

/* y[n,o,oh,ow] = b[o] + sum w[o,c,kh,kw] x[n,c,oh sh - ph + kh, ow sw - pw + kw] */
static void ref_conv(const float *x, const float *w, const float *b, int N, int C, int H, int W, int O, int KH,
                     int KW, int sh, int sw, int ph, int pw, int OH, int OW, float *y)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    double s = b ? b[o] : 0.0;
                    for (int c = 0; c < C; c++)
                        for (int kh = 0; kh < KH; kh++)
                            for (int kw = 0; kw < KW; kw++) {
                                int ih = oh * sh - ph + kh, iw = ow * sw - pw + kw;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                s += (double)w[((o * C + c) * KH + kh) * KW + kw] *
                                     x[((n * C + c) * H + ih) * W + iw];
                            }
                    y[((n * O + o) * OH + oh) * OW + ow] = (float)s;
                }
}

/* y[n,o,h sh - ph + kh, w sw - pw + kw] += w[c,o,kh,kw] x[n,c,h,w]; plus b[o] */
static void ref_convT(const float *x, const float *w, const float *b, int N, int C, int H, int W, int O, int KH,
                      int KW, int sh, int sw, int ph, int pw, int OH, int OW, float *y)
{
    double *acc = calloc((size_t)N * O * OH * OW, sizeof(double));
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int ww = 0; ww < W; ww++)
                    for (int o = 0; o < O; o++)
                        for (int kh = 0; kh < KH; kh++)
                            for (int kw = 0; kw < KW; kw++) {
                                int oh = h * sh - ph + kh, ow = ww * sw - pw + kw;
                                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                                acc[((n * O + o) * OH + oh) * OW + ow] +=
                                    (double)w[((c * O + o) * KH + kh) * KW + kw] * x[((n * C + c) * H + h) * W + ww];
                            }
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            for (int p = 0; p < OH * OW; p++) {
                size_t i = ((size_t)n * O + o) * OH * OW + p;
                y[i] = (float)(acc[i] + (b ? b[o] : 0.0));
            }
    free(acc);
}

/* configurations: C, H, W, O, K, stride, pad (1-D uses W as L) */
typedef struct cfg {
    int C, H, W, O, K, s, p;
} cfg;

static const cfg CFGS[] = {
    {2, 5, 5, 3, 3, 1, 1},  /* same padding */
    {1, 7, 6, 2, 3, 2, 0},  /* stride 2, odd/even sizes */
    {3, 4, 5, 2, 1, 1, 0},  /* 1x1 (direct path) */
    {2, 6, 6, 3, 4, 2, 1},  /* VQ-VAE style 4x4 stride 2 */
    {1, 1, 1, 1, 1, 1, 0},  /* all ones */
    {2, 3, 3, 1, 2, 2, 1},  /* even kernel, stride 2, pad */
    {3, 5, 7, 2, 3, 2, 2},  /* pad larger than half the kernel */
    {2, 4, 4, 2, 1, 2, 0},  /* 1x1 stride 2 */
    {1, 3, 2, 2, 3, 3, 2},  /* stride 3 */
};
#define NCFG ((int)(sizeof CFGS / sizeof *CFGS))

static int out_conv(int n, int k, int s, int p) { return (n + 2 * p - k) / s + 1; }
static int out_convT(int n, int k, int s, int p) { return (n - 1) * s - 2 * p + k; }

typedef struct gctx {
    int kind; /* 0 conv2d, 1 convT2d, 2 conv1d, 3 convT1d */
    int s, p;
    int bias;
} gctx;

static dsi_var *f_conv(dsi_tape *t, dsi_var **in, void *ctx)
{
    gctx *c = ctx;
    dsi_var *b = c->bias ? in[2] : NULL;
    switch (c->kind) {
    case 0: return dsi_conv2d(t, in[0], in[1], b, c->s, c->p);
    case 1: return dsi_conv_transpose2d(t, in[0], in[1], b, c->s, c->p);
    case 2: return dsi_conv1d(t, in[0], in[1], b, c->s, c->p);
    default: return dsi_conv_transpose1d(t, in[0], in[1], b, c->s, c->p);
    }
}

static void run_gradchecks(int kind)
{
    const int N = 2;
    for (int i = 0; i < NCFG; i++) {
        const cfg *k = &CFGS[i];
        for (int bias = 0; bias < 2; bias++) {
            gctx c = {kind, k->s, k->p, bias};
            gc_input in[3] = {{0}};
            int transposed = kind & 1, twod = kind < 2;
            if (twod) {
                if (!transposed && out_conv(k->H, k->K, k->s, k->p) < 1) continue;
                if (transposed && out_convT(k->H, k->K, k->s, k->p) < 1) continue;
            }
            if (!transposed && out_conv(k->W, k->K, k->s, k->p) < 1) continue;
            if (transposed && out_convT(k->W, k->K, k->s, k->p) < 1) continue;
            if (twod) {
                in[0] = (gc_input){4, {N, k->C, k->H, k->W}};
                in[1] = transposed ? (gc_input){4, {k->C, k->O, k->K, k->K}} : (gc_input){4, {k->O, k->C, k->K, k->K}};
            } else {
                in[0] = (gc_input){3, {N, k->C, k->W}};
                in[1] = transposed ? (gc_input){3, {k->C, k->O, k->K}} : (gc_input){3, {k->O, k->C, k->K}};
            }
            in[2] = (gc_input){1, {k->O}};
            static const char *names[] = {"conv2d", "conv_transpose2d", "conv1d", "conv_transpose1d"};
            int bad = gc_check(names[kind], f_conv, &c, bias ? 3 : 2, in, NULL);
            ck_assert_msg(bad == 0, "%s config %d bias %d: %d mismatches", names[kind], i, bias, bad);
        }
    }
}

START_TEST(grad_conv2d) { run_gradchecks(0); }
END_TEST
START_TEST(grad_conv_transpose2d) { run_gradchecks(1); }
END_TEST
START_TEST(grad_conv1d) { run_gradchecks(2); }
END_TEST
START_TEST(grad_conv_transpose1d) { run_gradchecks(3); }
END_TEST

/* forward of all four ops against the direct loops on random shapes, including
 * size 1, odd sizes and sizes that are not multiples of 8 or 16 */
START_TEST(forward_matches_direct_loops)
{
    dsi_rng r;
    dsi_rng_seed(&r, 17);
    dsi_tape t;
    dsi_tape_init(&t);
    for (int trial = 0; trial < 60; trial++) {
        int kind = trial % 4, twod = kind < 2, transposed = kind & 1;
        int N = 1 + (int)dsi_rng_below(&r, 3), C = 1 + (int)dsi_rng_below(&r, 19), O = 1 + (int)dsi_rng_below(&r, 18);
        int K = 1 + (int)dsi_rng_below(&r, 5), s = 1 + (int)dsi_rng_below(&r, 3), p = (int)dsi_rng_below(&r, 3);
        int H = twod ? 1 + (int)dsi_rng_below(&r, 13) : 1, W = 1 + (int)dsi_rng_below(&r, 21);
        int KH = twod ? K : 1, sh = twod ? s : 1, ph = twod ? p : 0;
        int OH = transposed ? out_convT(H, KH, sh, ph) : out_conv(H, KH, sh, ph);
        int OW = transposed ? out_convT(W, K, s, p) : out_conv(W, K, s, p);
        if (!transposed && (H + 2 * ph < KH || W + 2 * p < K)) continue;
        if (OH < 1 || OW < 1) continue;
        size_t nx = (size_t)N * C * H * W, nw = (size_t)O * C * KH * K, ny = (size_t)N * O * OH * OW;
        float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)O * 4), *ref = malloc(ny * 4);
        tu_fill(&r, x, nx);
        tu_fill(&r, w, nw);
        tu_fill(&r, b, (size_t)O);
        if (transposed) ref_convT(x, w, b, N, C, H, W, O, KH, K, sh, s, ph, p, OH, OW, ref);
        else ref_conv(x, w, b, N, C, H, W, O, KH, K, sh, s, ph, p, OH, OW, ref);
        dsi_tape_reset(&t);
        int sx4[4] = {N, C, H, W}, sx3[3] = {N, C, W};
        int sw4[4] = {transposed ? C : O, transposed ? O : C, KH, K};
        int sw3[3] = {transposed ? C : O, transposed ? O : C, K};
        int sb[1] = {O};
        dsi_var *xv = twod ? dsi_tape_wrap(&t, x, 4, sx4) : dsi_tape_wrap(&t, x, 3, sx3);
        dsi_var *wv = twod ? dsi_tape_wrap(&t, w, 4, sw4) : dsi_tape_wrap(&t, w, 3, sw3);
        dsi_var *bv = dsi_tape_wrap(&t, b, 1, sb);
        gctx c = {kind, s, p, 1};
        dsi_var *in[3] = {xv, wv, bv};
        dsi_var *y = f_conv(&t, in, &c);
        ck_assert_msg(y != NULL, "kind %d: %s", kind, dsn_last_error());
        ck_assert_uint_eq(y->n, ny);
        ck_assert_int_eq(y->shape[1], O);
        ck_assert_int_eq(y->shape[y->nd - 1], OW);
        double e = tu_max_rel_err(y->x, ref, ny);
        ck_assert_msg(e < 1e-5, "kind %d N%d C%d H%d W%d O%d K%d s%d p%d: err %g", kind, N, C, H, W, O, K, s, p, e);
        free(x); free(w); free(b); free(ref);
    }
    dsi_tape_release(&t);
}
END_TEST

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* <conv(x), y> == <x, convT(y)> with the same weight array (no bias), when the
 * sizes are consistent ((H + 2p - K) divisible by the stride) */
START_TEST(transpose_is_adjoint)
{
    dsi_rng r;
    dsi_rng_seed(&r, 5);
    dsi_tape t;
    dsi_tape_init(&t);
    /* C, H, W, O, K, s, p with (H + 2p - K) % s == 0 and (W + 2p - K) % s == 0 */
    const cfg cs[] = {{3, 5, 7, 4, 3, 1, 1}, {2, 8, 6, 3, 4, 2, 1}, {1, 9, 5, 2, 3, 2, 0},
                      {5, 4, 4, 6, 1, 1, 0}, {2, 7, 10, 3, 1, 3, 0}, {17, 9, 9, 9, 3, 3, 0}};
    for (size_t i = 0; i < sizeof cs / sizeof *cs; i++)
        for (int twod = 0; twod < 2; twod++) {
            const cfg *k = &cs[i];
            int N = 2, H = twod ? k->H : 1, KH = twod ? k->K : 1, sh = twod ? k->s : 1, ph = twod ? k->p : 0;
            int OH = out_conv(H, KH, sh, ph), OW = out_conv(k->W, k->K, k->s, k->p);
            size_t nx = (size_t)N * k->C * H * k->W, ny = (size_t)N * k->O * OH * OW, nw = (size_t)k->O * k->C * KH * k->K;
            float *x = malloc(nx * 4), *y = malloc(ny * 4), *w = malloc(nw * 4);
            tu_fill(&r, x, nx);
            tu_fill(&r, y, ny);
            tu_fill(&r, w, nw);
            dsi_tape_reset(&t);
            dsi_var *cx, *ty;
            if (twod) {
                int sx[4] = {N, k->C, H, k->W}, sy[4] = {N, k->O, OH, OW}, sw[4] = {k->O, k->C, KH, k->K};
                dsi_var *wv = dsi_tape_wrap(&t, w, 4, sw);
                cx = dsi_conv2d(&t, dsi_tape_wrap(&t, x, 4, sx), wv, NULL, k->s, k->p);
                ty = dsi_conv_transpose2d(&t, dsi_tape_wrap(&t, y, 4, sy), wv, NULL, k->s, k->p);
            } else {
                int sx[3] = {N, k->C, k->W}, sy[3] = {N, k->O, OW}, sw[3] = {k->O, k->C, k->K};
                dsi_var *wv = dsi_tape_wrap(&t, w, 3, sw);
                cx = dsi_conv1d(&t, dsi_tape_wrap(&t, x, 3, sx), wv, NULL, k->s, k->p);
                ty = dsi_conv_transpose1d(&t, dsi_tape_wrap(&t, y, 3, sy), wv, NULL, k->s, k->p);
            }
            ck_assert_ptr_nonnull(cx);
            ck_assert_ptr_nonnull(ty);
            ck_assert_uint_eq(cx->n, ny);
            ck_assert_uint_eq(ty->n, nx);
            double a = dot(cx->x, y, ny), b = dot(x, ty->x, nx);
            ck_assert_msg(fabs(a - b) <= 1e-4 * (1 + fabs(a)), "cfg %zu twod %d: %g vs %g", i, twod, a, b);
            free(x); free(y); free(w);
        }
    dsi_tape_release(&t);
}
END_TEST

/* col2im is the adjoint of im2col: <im2col(x), c> == <x, col2im(c)> */
START_TEST(col2im_is_adjoint_of_im2col)
{
    dsi_rng r;
    dsi_rng_seed(&r, 9);
    for (int trial = 0; trial < 40; trial++) {
        int C = 1 + (int)dsi_rng_below(&r, 4), H = 1 + (int)dsi_rng_below(&r, 9), W = 1 + (int)dsi_rng_below(&r, 9);
        int KH = 1 + (int)dsi_rng_below(&r, 4), KW = 1 + (int)dsi_rng_below(&r, 4);
        int sh = 1 + (int)dsi_rng_below(&r, 3), sw = 1 + (int)dsi_rng_below(&r, 3);
        int ph = (int)dsi_rng_below(&r, 4), pw = (int)dsi_rng_below(&r, 4);
        /* any output grid, even one reaching past the padded image */
        int OH = 1 + (int)dsi_rng_below(&r, 8), OW = 1 + (int)dsi_rng_below(&r, 8);
        size_t nx = (size_t)C * H * W, nc = (size_t)C * KH * KW * OH * OW;
        float *x = malloc(nx * 4), *c = malloc(nc * 4), *col = malloc(nc * 4), *im = calloc(nx, 4);
        tu_fill(&r, x, nx);
        tu_fill(&r, c, nc);
        dsi_im2col(x, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, col);
        /* check im2col entries directly */
        for (int ch = 0; ch < C; ch++)
            for (int kh = 0; kh < KH; kh++)
                for (int kw = 0; kw < KW; kw++)
                    for (int oh = 0; oh < OH; oh++)
                        for (int ow = 0; ow < OW; ow++) {
                            int ih = oh * sh - ph + kh, iw = ow * sw - pw + kw;
                            float want = ih < 0 || ih >= H || iw < 0 || iw >= W ? 0.0f : x[(ch * H + ih) * W + iw];
                            float got = col[(((size_t)(ch * KH + kh) * KW + kw) * OH + oh) * OW + ow];
                            ck_assert_float_eq(got, want);
                        }
        dsi_col2im(c, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, im);
        double a = dot(col, c, nc), b = dot(x, im, nx);
        ck_assert_msg(fabs(a - b) <= 1e-5 * (1 + fabs(a)), "%g vs %g", a, b);
        free(x); free(c); free(col); free(im);
    }
}
END_TEST

START_TEST(error_paths)
{
    dsi_tape t;
    dsi_tape_init(&t);
    static float buf[4096];
    /* vars on the stack: they stay valid across tape resets */
#define V(name, ...)                                                    \
    dsi_var name = {buf, NULL, (int)(sizeof(int[]){__VA_ARGS__} / sizeof(int)), {__VA_ARGS__}, 0}; \
    name.n = dsi_shape_count(name.nd, name.shape)
    V(x, 2, 3, 5, 5);
    V(w, 4, 3, 3, 3);
    V(wbad, 4, 2, 3, 3);
    V(wbig, 4, 3, 8, 8);
    V(b4, 4);
    V(b5, 5);
    V(x1, 2, 3, 5);
    V(w1, 4, 3, 7);
    V(xt, 1, 4, 1, 1);
    V(wt, 4, 2, 2, 2);
#undef V

    /* NULL input: NULL, no new failure */
    ck_assert_ptr_null(dsi_conv2d(&t, NULL, &w, NULL, 1, 0));
    ck_assert_ptr_null(dsi_conv_transpose1d(&t, &x1, NULL, NULL, 1, 0));
    ck_assert_int_eq(t.status, DSN_OK);

    /* channel mismatch */
    ck_assert_ptr_null(dsi_conv2d(&t, &x, &wbad, NULL, 1, 1));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "channels"));

    /* kernel larger than the padded input: output size <= 0 */
    dsi_tape_reset(&t);
    ck_assert_ptr_null(dsi_conv2d(&t, &x, &wbig, NULL, 1, 1));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "output of size"));
    dsi_tape_reset(&t);
    ck_assert_ptr_null(dsi_conv1d(&t, &x1, &w1, NULL, 1, 0));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);

    /* transposed with too much padding: (H - 1) s - 2p + K <= 0 */
    dsi_tape_reset(&t);
    ck_assert_ptr_null(dsi_conv_transpose2d(&t, &xt, &wt, NULL, 2, 1));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "output of size"));

    /* bad stride and padding */
    dsi_tape_reset(&t);
    ck_assert_ptr_null(dsi_conv2d(&t, &x, &w, NULL, 0, 1));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "stride"));
    dsi_tape_reset(&t);
    ck_assert_ptr_null(dsi_conv1d(&t, &x1, &w1, NULL, 1, -1));
    ck_assert_int_eq(t.status, DSN_E_INVALID);

    /* wrong rank */
    dsi_tape_reset(&t);
    ck_assert_ptr_null(dsi_conv2d(&t, &x1, &w, NULL, 1, 0));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    dsi_tape_reset(&t);
    ck_assert_ptr_null(dsi_conv1d(&t, &x, &w, NULL, 1, 0));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);

    /* bias of the wrong size */
    dsi_tape_reset(&t);
    ck_assert_ptr_null(dsi_conv2d(&t, &x, &w, &b5, 1, 1));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "bias"));

    /* and the good call works after a reset */
    dsi_tape_reset(&t);
    dsi_var *y = dsi_conv2d(&t, &x, &w, &b4, 1, 1);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(y->shape[2], 5);
    ck_assert_int_eq(t.status, DSN_OK);
    dsi_tape_release(&t);
}
END_TEST

/* conv forward + backward repeated: no heap allocation after the first step */
START_TEST(no_allocation_after_first_step)
{
    dsi_rng r;
    dsi_rng_seed(&r, 2);
    const int N = 3, C = 4, H = 9, W = 7, O = 5;
    float x[3 * 4 * 9 * 7], w[5 * 4 * 3 * 3], wt[4 * 5 * 4 * 4], b[5];
    float gw[5 * 4 * 3 * 3] = {0}, gwt[4 * 5 * 4 * 4] = {0}, gb[5] = {0}, gx[3 * 4 * 9 * 7] = {0};
    tu_fill(&r, x, sizeof x / 4);
    tu_fill(&r, w, sizeof w / 4);
    tu_fill(&r, wt, sizeof wt / 4);
    tu_fill(&r, b, 5);
    dsi_var wv = {w, gw, 4, {O, C, 3, 3}, sizeof w / 4}, wtv = {wt, gwt, 4, {O, C, 4, 4}, sizeof wt / 4};
    dsi_var bv = {b, gb, 1, {O}, 5}, xv = {x, gx, 4, {N, C, H, W}, sizeof x / 4};
    dsi_tape t;
    dsi_tape_init(&t);
    uint64_t extra = 0;
    for (int step = 0; step < 3; step++) {
        uint64_t before = dsn_allocation_count();
        dsi_tape_reset(&t);
        dsi_var *y = dsi_conv2d(&t, &xv, &wv, &bv, 2, 1);
        dsi_var *z = dsi_conv_transpose2d(&t, y, &wtv, NULL, 2, 1);
        ck_assert_ptr_nonnull(z);
        float *seed = dsi_tape_scratch(&t, z->n * sizeof(float));
        for (size_t i = 0; i < z->n; i++) seed[i] = 1.0f;
        ck_assert_int_eq(dsi_tape_backward_seed(&t, z, seed), DSN_OK);
        if (step > 0) extra += dsn_allocation_count() - before;
    }
    ck_assert_uint_eq(extra, 0);
    dsi_tape_release(&t);
}
END_TEST

/* inference: no node, no gradient, same values */
START_TEST(inference_mode)
{
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_tape_set_recording(&t, 0);
    float x[2 * 3 * 4] = {0}, w[2 * 3 * 3], gw[18] = {0};
    for (int i = 0; i < 24; i++) x[i] = (float)i / 10;
    for (int i = 0; i < 18; i++) w[i] = 0.1f * (float)(i % 5) - 0.2f;
    dsi_var wv = {w, gw, 3, {2, 3, 3}, 18};
    int sx[3] = {2, 3, 4};
    dsi_var *y = dsi_conv1d(&t, dsi_tape_wrap(&t, x, 3, sx), &wv, NULL, 1, 1);
    ck_assert_ptr_nonnull(y);
    ck_assert_ptr_null(y->g);
    ck_assert_uint_eq(t.n_nodes, 0);
    float ref[2 * 2 * 4];
    ref_conv(x, w, NULL, 2, 3, 1, 4, 2, 1, 3, 1, 1, 0, 1, 1, 4, ref);
    ck_assert_double_lt(tu_max_rel_err(y->x, ref, 16), 1e-6);
    dsi_tape_release(&t);
}
END_TEST

/* ---- the channels-last kernels against the im2col + gemm reference ----
 * Forward, input, weight and bias gradients of all four ops, on the shapes of
 * the VQ-VAE (W3) layers at batch 2 and on random shapes: stride 1-3, padding
 * 0-2, kernels 1-5, odd sizes, batch 1, channel counts around the vector
 * widths (1, 3, 7, 8, 15, 16, 17, 33, 48, 70). */
typedef struct conv_out {
    float *y, *gx, *gw, *gb;
} conv_out;

static float *fill_new(dsi_tape *t, dsi_rng *r, int nd, const int *shape, dsi_var **v)
{
    *v = dsi_tape_new(t, nd, shape, 1);
    ck_assert_ptr_nonnull(*v);
    tu_fill(r, (*v)->x, (*v)->n);
    return (*v)->x;
}

/* run op `kind` forward and backward from a random seed gradient; copies out */
static void conv_run(int kind, int N, int C, int H, int W, int O, int K, int s, int p, int im2col, uint64_t seed,
                     conv_out *o, size_t *ny)
{
    int twod = kind < 2, transposed = kind & 1;
    int KH = twod ? K : 1;
    dsi_rng r;
    dsi_rng_seed(&r, seed);
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_conv_set_im2col(im2col);
    int sx[4] = {N, C, H, W}, sw[4] = {transposed ? C : O, transposed ? O : C, KH, K}, sb[1] = {O};
    if (!twod) {
        sx[2] = W;
        sw[2] = K;
    }
    dsi_var *xv, *wv, *bv;
    fill_new(&t, &r, twod ? 4 : 3, sx, &xv);
    fill_new(&t, &r, twod ? 4 : 3, sw, &wv);
    fill_new(&t, &r, 1, sb, &bv);
    gctx c = {kind, s, p, 1};
    dsi_var *in[3] = {xv, wv, bv};
    dsi_var *y = f_conv(&t, in, &c);
    ck_assert_msg(y != NULL, "%s", dsn_last_error());
    float *seedg = malloc(y->n * 4);
    tu_fill(&r, seedg, y->n);
    ck_assert_int_eq(dsi_tape_backward_seed(&t, y, seedg), DSN_OK);
    *ny = y->n;
    o->y = malloc(y->n * 4);
    o->gx = malloc(xv->n * 4);
    o->gw = malloc(wv->n * 4);
    o->gb = malloc(bv->n * 4);
    memcpy(o->y, y->x, y->n * 4);
    memcpy(o->gx, xv->g, xv->n * 4);
    memcpy(o->gw, wv->g, wv->n * 4);
    memcpy(o->gb, bv->g, bv->n * 4);
    free(seedg);
    dsi_conv_set_im2col(0);
    dsi_tape_release(&t);
}

/* max |a - b| / (max |b| + 1e-3) */
static double scaled_err(const float *a, const float *b, size_t n)
{
    double m = 0, e = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(b[i]) > m) m = fabs(b[i]);
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= e)) e = d;
    }
    return e / (m + 1e-3);
}

static void conv_compare(int kind, int N, int C, int H, int W, int O, int K, int s, int p)
{
    int twod = kind < 2, transposed = kind & 1;
    if (!twod) H = 1;
    int KH = twod ? K : 1, sh = twod ? s : 1, ph = twod ? p : 0;
    int OH = transposed ? out_convT(H, KH, sh, ph) : out_conv(H, KH, sh, ph);
    int OW = transposed ? out_convT(W, K, s, p) : out_conv(W, K, s, p);
    if (!transposed && (H + 2 * ph < KH || W + 2 * p < K)) return;
    if (OH < 1 || OW < 1) return;
    conv_out a, b;
    size_t ny, ny2;
    uint64_t seed = (uint64_t)(kind * 7919 + N * 131 + C * 31 + O * 17 + K * 5 + s * 3 + p + H * 1009 + W * 37);
    conv_run(kind, N, C, H, W, O, K, s, p, 0, seed, &a, &ny);
    conv_run(kind, N, C, H, W, O, K, s, p, 1, seed, &b, &ny2);
    ck_assert_uint_eq(ny, ny2);
    size_t nx = (size_t)N * C * H * W, nw = (size_t)C * O * KH * K;
    double ey = scaled_err(a.y, b.y, ny), ex = scaled_err(a.gx, b.gx, nx);
    double ew = scaled_err(a.gw, b.gw, nw), eb = scaled_err(a.gb, b.gb, (size_t)O);
    ck_assert_msg(ey < 2e-6 && ex < 2e-6 && ew < 2e-6 && eb < 2e-6,
                  "kind %d N%d C%d H%d W%d O%d K%d s%d p%d: err y %g gx %g gw %g gb %g", kind, N, C, H, W, O, K, s,
                  p, ey, ex, ew, eb);
    free(a.y); free(a.gx); free(a.gw); free(a.gb);
    free(b.y); free(b.gx); free(b.gw); free(b.gb);
}

START_TEST(nhwc_matches_im2col_w3_shapes)
{
    /* kind, N, C, H, W, O, K, s, p: the VQ-VAE layers (32x32x3, hidden 128, res 32, D 64) */
    const int sh[][9] = {{0, 2, 3, 32, 32, 128, 4, 2, 1},  {0, 2, 128, 16, 16, 128, 4, 2, 1},
                         {0, 2, 128, 8, 8, 32, 3, 1, 1},   {0, 2, 32, 8, 8, 128, 1, 1, 0},
                         {0, 2, 128, 8, 8, 64, 1, 1, 0},   {0, 2, 64, 8, 8, 128, 3, 1, 1},
                         {1, 2, 128, 8, 8, 128, 4, 2, 1},  {1, 2, 128, 16, 16, 3, 4, 2, 1},
                         {2, 2, 80, 1, 64, 128, 4, 2, 1},  {3, 2, 128, 1, 16, 80, 4, 2, 1}};
    for (size_t i = 0; i < sizeof sh / sizeof *sh; i++)
        conv_compare(sh[i][0], sh[i][1], sh[i][2], sh[i][3], sh[i][4], sh[i][5], sh[i][6], sh[i][7], sh[i][8]);
}
END_TEST

START_TEST(nhwc_matches_im2col_random_shapes)
{
    static const int chans[] = {1, 3, 7, 8, 15, 16, 17, 33, 48, 70};
    dsi_rng r;
    dsi_rng_seed(&r, 99);
    for (int trial = 0; trial < 120; trial++) {
        int kind = trial % 4;
        int N = 1 + (int)dsi_rng_below(&r, 3);
        int C = chans[dsi_rng_below(&r, 10)], O = chans[dsi_rng_below(&r, 10)];
        int K = 1 + (int)dsi_rng_below(&r, 5), s = 1 + (int)dsi_rng_below(&r, 3), p = (int)dsi_rng_below(&r, 3);
        int H = 1 + (int)dsi_rng_below(&r, 11), W = 1 + (int)dsi_rng_below(&r, 17);
        conv_compare(kind, N, C, H, W, O, K, s, p);
    }
}
END_TEST

/* the same result, bit for bit, with 1 and 2 pool threads (the partition
 * changes, the order of every element's sum does not) */
START_TEST(nhwc_threads_bit_identical)
{
    const int sh[][9] = {{0, 3, 128, 16, 16, 128, 4, 2, 1}, {1, 3, 128, 8, 8, 128, 4, 2, 1},
                         {0, 2, 128, 8, 8, 32, 3, 1, 1},   {1, 2, 64, 16, 16, 3, 4, 2, 1},
                         {2, 2, 40, 1, 130, 70, 5, 2, 2}};
    for (size_t i = 0; i < sizeof sh / sizeof *sh; i++) {
        const int *c = sh[i];
        conv_out o[2];
        size_t ny;
        for (int k = 0; k < 2; k++) {
            ck_assert_int_eq(dsi_pool_set_threads(k + 1), DSN_OK);
            conv_run(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], 0, 42 + i, &o[k], &ny);
        }
        dsi_pool_set_threads(1);
        int twod = c[0] < 2, KH = twod ? c[6] : 1, H = twod ? c[3] : 1;
        size_t nx = (size_t)c[1] * c[2] * H * c[4], nw = (size_t)c[2] * c[5] * KH * c[6];
        ck_assert_msg(!memcmp(o[0].y, o[1].y, ny * 4), "shape %zu: y differs", i);
        ck_assert_msg(!memcmp(o[0].gx, o[1].gx, nx * 4), "shape %zu: gx differs", i);
        ck_assert_msg(!memcmp(o[0].gw, o[1].gw, nw * 4), "shape %zu: gw differs", i);
        ck_assert_msg(!memcmp(o[0].gb, o[1].gb, (size_t)c[5] * 4), "shape %zu: gb differs", i);
        for (int k = 0; k < 2; k++) {
            free(o[k].y); free(o[k].gx); free(o[k].gw); free(o[k].gb);
        }
    }
}
END_TEST

/* the AVX-512 and AVX2 kernels give the same bits (same per-element order,
 * fused multiply-adds on both); skipped where the CPU lacks AVX-512 */
START_TEST(nhwc_avx512_avx2_bit_identical)
{
    if (dsi_simd_force(2) < 2) {
        dsi_simd_force(-1);
        tu_skip(__func__, "no AVX-512 on this CPU");
        return;
    }
    const int sh[][9] = {{0, 2, 128, 16, 16, 128, 4, 2, 1}, {1, 2, 128, 8, 8, 128, 4, 2, 1},
                         {0, 2, 3, 32, 32, 128, 4, 2, 1},   {1, 2, 128, 16, 16, 3, 4, 2, 1},
                         {0, 3, 33, 7, 9, 70, 3, 1, 1},     {3, 2, 17, 1, 23, 48, 5, 3, 2}};
    for (size_t i = 0; i < sizeof sh / sizeof *sh; i++) {
        const int *c = sh[i];
        conv_out o[2];
        size_t ny;
        for (int k = 0; k < 2; k++) {
            dsi_simd_force(2 - k);
            conv_run(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], 0, 7 + i, &o[k], &ny);
        }
        dsi_simd_force(-1);
        int twod = c[0] < 2, KH = twod ? c[6] : 1, H = twod ? c[3] : 1;
        size_t nx = (size_t)c[1] * c[2] * H * c[4], nw = (size_t)c[2] * c[5] * KH * c[6];
        ck_assert_msg(!memcmp(o[0].y, o[1].y, ny * 4), "shape %zu: y differs", i);
        ck_assert_msg(!memcmp(o[0].gx, o[1].gx, nx * 4), "shape %zu: gx differs", i);
        ck_assert_msg(!memcmp(o[0].gw, o[1].gw, nw * 4), "shape %zu: gw differs", i);
        for (int k = 0; k < 2; k++) {
            free(o[k].y); free(o[k].gx); free(o[k].gw); free(o[k].gb);
        }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("conv");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, grad_conv2d);
    tcase_add_test(tc, grad_conv_transpose2d);
    tcase_add_test(tc, grad_conv1d);
    tcase_add_test(tc, grad_conv_transpose1d);
    tcase_add_test(tc, forward_matches_direct_loops);
    tcase_add_test(tc, transpose_is_adjoint);
    tcase_add_test(tc, col2im_is_adjoint_of_im2col);
    tcase_add_test(tc, error_paths);
    tcase_add_test(tc, no_allocation_after_first_step);
    tcase_add_test(tc, inference_mode);
    tcase_add_test(tc, nhwc_matches_im2col_w3_shapes);
    tcase_add_test(tc, nhwc_matches_im2col_random_shapes);
    tcase_add_test(tc, nhwc_threads_bit_identical);
    tcase_add_test(tc, nhwc_avx512_avx2_bit_identical);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
