/* ops_conv.c - 2-D and 1-D convolutions and their transposes.
 *
 * The default path is channels-last (tensor/conv_nhwc.h): the input is
 * converted to [N, H, W, C] once, the output is computed by the indirect-gemm
 * kernels in [N, OH, OW, O] and converted back (with the bias added by the
 * kernel); the backward converts gy once and serves the bias sum, the weight
 * gradient and the input gradient from it. Conv = down, transposed conv = up
 * of the shared geometry. The im2col + gemm path below is the reference
 * (dsi_conv_set_im2col) and what kernels of more than DSI_CG_MAXTAPS taps use.
 *
 * One geometry covers all four ops. A "forward" conv maps a source image
 * [C,H,W] to [O,OH,OW] with weights viewed as [O, C KH KW]:
 *   y_n = W col(x_n),  col = im2col(x_n)  [C KH KW, OH OW]   (one gemm per sample)
 * A transposed conv is its adjoint with the roles of the two images swapped
 * (weights [C, O KH KW], x [C,H,W] the small side, y [O,OH,OW] the large one):
 *   y_n = col2im(W^T x_n)
 * 1-D ops are the 2-D ones with H = KH = 1. A 1x1 kernel with stride 1 and no
 * padding skips im2col/col2im: the image already is its column matrix.
 *
 * The gemm is per sample: batching the samples into one gemm would need the
 * output in [O, N OH OW] order and a transpose back to NCHW. The column buffer
 * (one sample) is taken from the arena in the forward and reused by the
 * backward, which recomputes im2col instead of saving it for every sample. */
#include "autodiff/ops.h"
#include "tensor/blas.h"
#include "tensor/conv_nhwc.h"
#include "tensor/im2col.h"
#include "tensor/simd.h"

#include <string.h>

typedef struct conv_geom {
    int N;
    int C, H, W;      /* the small-side image of the conv: input of conv, input of convT */
    int O, OH, OW;    /* the other side: output of conv, output of convT */
    int KH, KW, sh, sw, ph, pw;
    int transposed;
    int direct;       /* 1x1 kernel, stride 1, no padding: no im2col needed */
} conv_geom;

typedef struct conv_saved {
    conv_geom g;
    float *col;       /* one sample's column matrix, NULL when direct */
    /* channels-last path (col == NULL, nhwc == 1) */
    int nhwc;
    dsi_cg cg;
    float *xh, *yh;   /* x in NHWC (saved); y's buffer, reused for gy */
    void *work;
} conv_saved;

static int g_im2col; /* relaxed atomics: set by tests between steps */

void dsi_conv_set_im2col(int on) { __atomic_store_n(&g_im2col, on ? 1 : 0, __ATOMIC_RELAXED); }

/* the channels-last geometry: conv maps big = x to small = y, a transposed conv small = x to big = y;
 * the weights are [small channels, big channels, KH, KW] either way */
static dsi_cg cg_of(const conv_geom *g)
{
    dsi_cg c;
    c.N = g->N;
    if (!g->transposed) {
        c.Cb = g->C, c.Hb = g->H, c.Wb = g->W;
        c.Cs = g->O, c.Hs = g->OH, c.Ws = g->OW;
    } else {
        c.Cs = g->C, c.Hs = g->H, c.Ws = g->W;
        c.Cb = g->O, c.Hb = g->OH, c.Wb = g->OW;
    }
    c.KH = g->KH, c.KW = g->KW, c.sh = g->sh, c.sw = g->sw, c.ph = g->ph, c.pw = g->pw;
    return c;
}

static void conv_backward_nhwc(dsi_node *nd)
{
    dsi_var *x = nd->in[0], *w = nd->in[1], *b = nd->in[2], *y = nd->out;
    const conv_saved *sv = nd->saved;
    const conv_geom *g = &sv->g;
    const size_t Px = (size_t)g->H * g->W, Py = (size_t)g->OH * g->OW;
    float *gyh = sv->yh;
    dsi_nchw_to_nhwc(y->g, g->N, g->O, Py, gyh);
    if (b && b->g) dsi_simd_colsum_add(gyh, (size_t)g->N * Py, (size_t)g->O, b->g);
    if (w->g) {
        if (!g->transposed) dsi_cg_wgrad(&sv->cg, sv->xh, gyh, w->g, sv->work);
        else dsi_cg_wgrad(&sv->cg, gyh, sv->xh, w->g, sv->work);
    }
    if (x->g) { /* dx in x's NHWC buffer (no longer needed), then added to x->g */
        if (!g->transposed) dsi_cg_up(&sv->cg, w->x, gyh, NULL, sv->xh, sv->work);
        else dsi_cg_down(&sv->cg, w->x, gyh, NULL, sv->xh, sv->work);
        dsi_nhwc_to_nchw(sv->xh, g->N, g->C, Px, x->g, 1);
    }
}

/* col = im2col of an image on the "output" side of the forward conv geometry
 * (conv: x [C,H,W] -> [C KH KW, OH OW]; convT: gy [O,OH,OW] -> [O KH KW, H W]) */
static void unfold(const conv_geom *g, const float *im, float *col)
{
    if (!g->transposed)
        dsi_im2col(im, g->C, g->H, g->W, g->KH, g->KW, g->sh, g->sw, g->ph, g->pw, g->OH, g->OW, col);
    else
        dsi_im2col(im, g->O, g->OH, g->OW, g->KH, g->KW, g->sh, g->sw, g->ph, g->pw, g->H, g->W, col);
}

/* im += col2im(col), the adjoint of unfold */
static void fold(const conv_geom *g, const float *col, float *im)
{
    if (!g->transposed)
        dsi_col2im(col, g->C, g->H, g->W, g->KH, g->KW, g->sh, g->sw, g->ph, g->pw, g->OH, g->OW, im);
    else
        dsi_col2im(col, g->O, g->OH, g->OW, g->KH, g->KW, g->sh, g->sw, g->ph, g->pw, g->H, g->W, im);
}

/* gb[o] += sum over positions of gy[n, o, :] */
static void bias_backward(const float *gy, float *gb, int N, int O, size_t P)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            const float *r = gy + ((size_t)n * O + o) * P;
            float s = 0.0f;
            for (size_t p = 0; p < P; p++) s += r[p];
            gb[o] += s;
        }
}

/* conv:  y_n = W im2col(x_n) + b;  dW += gy_n im2col(x_n)^T, dx_n += col2im(W^T gy_n), db += sum gy
 * convT: y_n = col2im(W^T x_n) + b; dW += x_n im2col(gy_n)^T, dx_n += W im2col(gy_n),   db += sum gy */
static void conv_backward(dsi_node *nd)
{
    dsi_var *x = nd->in[0], *w = nd->in[1], *b = nd->in[2], *y = nd->out;
    const conv_saved *sv = nd->saved;
    const conv_geom *g = &sv->g;
    const int KK = g->KH * g->KW;
    const size_t Px = (size_t)g->H * g->W, Py = (size_t)g->OH * g->OW;
    if (b && b->g) bias_backward(y->g, b->g, g->N, g->O, Py);
    for (int n = 0; n < g->N; n++) {
        const float *xn = x->x + (size_t)n * g->C * Px;
        const float *gyn = y->g + (size_t)n * g->O * Py;
        float *gxn = x->g ? x->g + (size_t)n * g->C * Px : NULL;
        if (!g->transposed) {
            const int CKK = g->C * KK;
            const float *col = xn;
            if (w->g) {
                if (!g->direct) {
                    unfold(g, xn, sv->col);
                    col = sv->col;
                }
                dsi_gemm(0, 1, g->O, CKK, (int)Py, 1.0f, gyn, (int)Py, col, (int)Py, 1.0f, w->g, CKK);
            }
            if (gxn) {
                if (g->direct) {
                    dsi_gemm(1, 0, CKK, (int)Py, g->O, 1.0f, w->x, CKK, gyn, (int)Py, 1.0f, gxn, (int)Py);
                } else {
                    dsi_gemm(1, 0, CKK, (int)Py, g->O, 1.0f, w->x, CKK, gyn, (int)Py, 0.0f, sv->col, (int)Py);
                    fold(g, sv->col, gxn);
                }
            }
        } else {
            const int OKK = g->O * KK;
            const float *col = gyn;
            if (!g->direct && (w->g || gxn)) {
                unfold(g, gyn, sv->col);
                col = sv->col;
            }
            if (gxn) dsi_gemm(0, 0, g->C, (int)Px, OKK, 1.0f, w->x, OKK, col, (int)Px, 1.0f, gxn, (int)Px);
            if (w->g) dsi_gemm(0, 1, g->C, OKK, (int)Px, 1.0f, xn, (int)Px, col, (int)Px, 1.0f, w->g, OKK);
        }
    }
}

static dsi_var *conv_forward(dsi_tape *t, const char *name, dsi_var *x, dsi_var *w, dsi_var *b, conv_geom g,
                             int nd)
{
    char s1[64], s2[64];
    if (g.sh < 1 || g.sw < 1 || g.ph < 0 || g.pw < 0)
        return dsi_tape_fail(t, DSN_E_INVALID, "%s: stride must be >= 1 and padding >= 0 (got stride %d, pad %d)",
                             name, g.sw, g.pw);
    if (g.N < 1 || g.C < 1 || g.H < 1 || g.W < 1 || g.O < 1 || g.KH < 1 || g.KW < 1)
        return dsi_tape_fail(t, DSN_E_SHAPE, "%s: empty input %s or weight %s", name,
                             dsi_shape_str(x, s1, sizeof s1), dsi_shape_str(w, s2, sizeof s2));
    long oh, ow;
    if (!g.transposed) {
        oh = ((long)g.H + 2L * g.ph - g.KH) / g.sh + 1;
        ow = ((long)g.W + 2L * g.pw - g.KW) / g.sw + 1;
        if ((long)g.H + 2L * g.ph < g.KH || (long)g.W + 2L * g.pw < g.KW) oh = ow = 0;
    } else {
        oh = ((long)g.H - 1) * g.sh - 2L * g.ph + g.KH;
        ow = ((long)g.W - 1) * g.sw - 2L * g.pw + g.KW;
    }
    if (oh < 1 || ow < 1 || oh > 1L << 30 || ow > 1L << 30)
        return dsi_tape_fail(t, DSN_E_SHAPE,
                             "%s: input %s with kernel %s, stride %d, pad %d gives an output of size %ldx%ld",
                             name, dsi_shape_str(x, s1, sizeof s1), dsi_shape_str(w, s2, sizeof s2), g.sw, g.pw, oh,
                             ow);
    g.OH = (int)oh;
    g.OW = (int)ow;
    if (b && b->n != (size_t)g.O)
        return dsi_tape_fail(t, DSN_E_SHAPE, "%s: bias has %zu values, want %d", name, b->n, g.O);
    g.direct = g.KH == 1 && g.KW == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;

    dsi_var *in[3] = {x, w, b};
    int shape[4];
    shape[0] = g.N;
    shape[1] = g.O;
    if (nd == 4) {
        shape[2] = g.OH;
        shape[3] = g.OW;
    } else {
        shape[2] = g.OW;
    }
    dsi_var *y = dsi_tape_new(t, nd, shape, dsi_tape_needs_grad(t, 3, in));
    if (!y) return NULL;
    const int KK = g.KH * g.KW;
    const size_t Px = (size_t)g.H * g.W, Py = (size_t)g.OH * g.OW;
    if (KK <= DSI_CG_MAXTAPS && !__atomic_load_n(&g_im2col, __ATOMIC_RELAXED)) {
        conv_saved *sv = dsi_tape_scratch(t, sizeof *sv);
        if (!sv) return NULL;
        memset(sv, 0, sizeof *sv);
        sv->g = g;
        sv->nhwc = 1;
        sv->cg = cg_of(&g);
        sv->xh = dsi_tape_scratch(t, sizeof(float) * x->n);
        sv->yh = dsi_tape_scratch(t, sizeof(float) * y->n);
        sv->work = dsi_tape_scratch(t, dsi_cg_work_bytes(&sv->cg));
        if (!sv->xh || !sv->yh || !sv->work) return NULL;
        dsi_nchw_to_nhwc(x->x, g.N, g.C, Px, sv->xh);
        const float *bias = b ? b->x : NULL;
        if (!g.transposed) dsi_cg_down(&sv->cg, w->x, sv->xh, bias, sv->yh, sv->work);
        else dsi_cg_up(&sv->cg, w->x, sv->xh, bias, sv->yh, sv->work);
        dsi_nhwc_to_nchw(sv->yh, g.N, g.O, Py, y->x, 0);
        if (y->g) {
            dsi_node *node = dsi_tape_record(t, conv_backward_nhwc, y, 3, in);
            if (!node) return NULL;
            node->saved = sv;
        }
        return y;
    }
    const size_t col_n = (size_t)(g.transposed ? g.O : g.C) * KK * (g.transposed ? Px : Py);
    float *col = NULL;
    if (!g.direct) {
        col = dsi_tape_scratch(t, sizeof(float) * col_n);
        if (!col) return NULL;
    }
    /* bias first, so the gemm (conv) or col2im (convT) accumulates onto it */
    for (int n = 0; n < g.N; n++)
        for (int o = 0; o < g.O; o++) {
            float *r = y->x + ((size_t)n * g.O + o) * Py;
            if (b) {
                const float bv = b->x[o];
                for (size_t p = 0; p < Py; p++) r[p] = bv;
            } else {
                memset(r, 0, sizeof(float) * Py);
            }
        }
    for (int n = 0; n < g.N; n++) {
        const float *xn = x->x + (size_t)n * g.C * Px;
        float *yn = y->x + (size_t)n * g.O * Py;
        if (!g.transposed) {
            const int CKK = g.C * KK;
            const float *cm = xn;
            if (!g.direct) {
                dsi_im2col(xn, g.C, g.H, g.W, g.KH, g.KW, g.sh, g.sw, g.ph, g.pw, g.OH, g.OW, col);
                cm = col;
            }
            dsi_gemm(0, 0, g.O, (int)Py, CKK, 1.0f, w->x, CKK, cm, (int)Py, 1.0f, yn, (int)Py);
        } else {
            const int OKK = g.O * KK;
            if (g.direct) {
                dsi_gemm(1, 0, g.O, (int)Px, g.C, 1.0f, w->x, OKK, xn, (int)Px, 1.0f, yn, (int)Px);
            } else {
                dsi_gemm(1, 0, OKK, (int)Px, g.C, 1.0f, w->x, OKK, xn, (int)Px, 0.0f, col, (int)Px);
                dsi_col2im(col, g.O, g.OH, g.OW, g.KH, g.KW, g.sh, g.sw, g.ph, g.pw, g.H, g.W, yn);
            }
        }
    }
    if (y->g) {
        conv_saved *sv = dsi_tape_scratch(t, sizeof *sv);
        if (!sv) return NULL;
        sv->g = g;
        sv->col = col;
        dsi_node *node = dsi_tape_record(t, conv_backward, y, 3, in);
        if (!node) return NULL;
        node->saved = sv;
    }
    return y;
}

/* common shape checks; fills N, C, H, W, O, KH, KW (2-D: nd 4, 1-D: nd 3) */
static int conv_shapes(dsi_tape *t, const char *name, dsi_var *x, dsi_var *w, int nd, int transposed,
                       conv_geom *g)
{
    char s1[64], s2[64];
    if (x->nd != nd || w->nd != nd) {
        dsi_tape_fail(t, DSN_E_SHAPE, "%s: want %d-D input and weight, got %s and %s", name, nd,
                      dsi_shape_str(x, s1, sizeof s1), dsi_shape_str(w, s2, sizeof s2));
        return 0;
    }
    /* conv: w [O,C,..], convT: w [C,O,..]; either way w[in-channel axis] must equal x's C */
    const int wc = transposed ? w->shape[0] : w->shape[1];
    if (x->shape[1] != wc) {
        dsi_tape_fail(t, DSN_E_SHAPE, "%s: input %s has %d channels but weight %s expects %d", name,
                      dsi_shape_str(x, s1, sizeof s1), x->shape[1], dsi_shape_str(w, s2, sizeof s2), wc);
        return 0;
    }
    memset(g, 0, sizeof *g);
    g->transposed = transposed;
    g->N = x->shape[0];
    g->C = x->shape[1];
    g->O = transposed ? w->shape[1] : w->shape[0];
    if (nd == 4) {
        g->H = x->shape[2];
        g->W = x->shape[3];
        g->KH = w->shape[2];
        g->KW = w->shape[3];
    } else {
        g->H = 1;
        g->W = x->shape[2];
        g->KH = 1;
        g->KW = w->shape[2];
    }
    return 1;
}

static dsi_var *conv_any(dsi_tape *t, const char *name, dsi_var *x, dsi_var *w, dsi_var *b, int stride, int pad,
                         int nd, int transposed)
{
    if (!x || !w) return NULL;
    conv_geom g;
    if (!conv_shapes(t, name, x, w, nd, transposed, &g)) return NULL;
    g.sw = stride;
    g.pw = pad;
    if (nd == 4) {
        g.sh = stride;
        g.ph = pad;
    } else {
        g.sh = 1;
        g.ph = 0;
    }
    return conv_forward(t, name, x, w, b, g, nd);
}

/* y[n,o] = b[o] + sum_{c,kh,kw} w[o,c,kh,kw] x[n,c, oh s - p + kh, ow s - p + kw] */
dsi_var *dsi_conv2d(dsi_tape *t, dsi_var *x, dsi_var *w, dsi_var *b, int stride, int pad)
{
    return conv_any(t, "conv2d", x, w, b, stride, pad, 4, 0);
}

/* y = conv2d^T(x) + b: y[n,o, h s - p + kh, w s - p + kw] += w[c,o,kh,kw] x[n,c,h,w] */
dsi_var *dsi_conv_transpose2d(dsi_tape *t, dsi_var *x, dsi_var *w, dsi_var *b, int stride, int pad)
{
    return conv_any(t, "conv_transpose2d", x, w, b, stride, pad, 4, 1);
}

/* y[n,o,l] = b[o] + sum_{c,k} w[o,c,k] x[n,c, l s - p + k] */
dsi_var *dsi_conv1d(dsi_tape *t, dsi_var *x, dsi_var *w, dsi_var *b, int stride, int pad)
{
    return conv_any(t, "conv1d", x, w, b, stride, pad, 3, 0);
}

/* y[n,o, l s - p + k] += w[c,o,k] x[n,c,l], plus b[o] */
dsi_var *dsi_conv_transpose1d(dsi_tape *t, dsi_var *x, dsi_var *w, dsi_var *b, int stride, int pad)
{
    return conv_any(t, "conv_transpose1d", x, w, b, stride, pad, 3, 1);
}
