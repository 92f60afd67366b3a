/* ops_reduce.c - sums and means: whole tensor, one axis, masked over time,
 * and weighted by constants.
 *
 * Whole-tensor sums accumulate in double: they are the last step of most
 * losses, and a float running sum over a large batch loses digits. Axis
 * sums view the input as [outer, len, inner] and add whole inner rows, so the
 * innermost loop is contiguous for every axis. An axis may be negative
 * (counted from the end, -1 = last). */
#include "autodiff/ops.h"
#include "core/pool.h"
#include "tensor/simd.h"

#include <string.h>

static double sum_d(const float *x, size_t n)
{
    /* four partial sums break the dependency chain */
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += x[i];
        s1 += x[i + 1];
        s2 += x[i + 2];
        s3 += x[i + 3];
    }
    for (; i < n; i++) s0 += x[i];
    return (s0 + s1) + (s2 + s3);
}

/* ---- s = c sum_i x_i (c = 1 for sum, 1/n for mean);  dx_i += c ds ---- */
typedef struct bcast_job {
    float c;
    const float *gy;
    float *ga;
    size_t inner, len;
} bcast_job;

static void add_const_part(void *ctx, size_t lo, size_t hi)
{
    const bcast_job *j = ctx;
    for (size_t i = lo; i < hi; i++) j->ga[i] += j->c;
}

static void scaled_sum_backward(dsi_node *n)
{
    dsi_var *a = n->in[0], *y = n->out;
    if (!a->g) return;
    bcast_job j = {y->g[0] * n->fp[0], NULL, a->g, 0, 0};
    dsi_pool_range(a->n, 8.0, 131072.0, 16, add_const_part, &j);
}

static dsi_var *scaled_sum(dsi_tape *t, dsi_var *a, int mean)
{
    if (!a) return NULL;
    dsi_var *y = dsi_tape_new(t, 0, NULL, dsi_tape_needs_grad(t, 1, &a));
    if (!y) return NULL;
    /* the mean of nothing is 0 rather than NaN */
    const float c = mean ? (a->n ? 1.0f / (float)a->n : 0.0f) : 1.0f;
    y->x[0] = (float)(sum_d(a->x, a->n) * c);
    dsi_node *n = dsi_tape_record(t, scaled_sum_backward, y, 1, &a);
    if (n) n->fp[0] = c;
    return y;
}

/* s = sum_i x_i */
dsi_var *dsi_sum(dsi_tape *t, dsi_var *a) { return scaled_sum(t, a, 0); }
/* s = (1/n) sum_i x_i */
dsi_var *dsi_mean(dsi_tape *t, dsi_var *a) { return scaled_sum(t, a, 1); }

/* ---- y[o,i] = c sum_l x[o,l,i];  dx[o,l,i] += c dy[o,i] ---- */
/* rows r = o len + l of dx in [lo, hi) */
static void axis_bwd_rows(void *ctx, size_t lo, size_t hi)
{
    const bcast_job *j = ctx;
    for (size_t r = lo; r < hi; r++) {
        const float *gy = j->gy + r / j->len * j->inner;
        float *ga = j->ga + r * j->inner;
        for (size_t i = 0; i < j->inner; i++) ga[i] += j->c * gy[i];
    }
}

static void axis_backward(dsi_node *n)
{
    dsi_var *a = n->in[0], *y = n->out;
    if (!a->g) return;
    const int axis = n->ip[0];
    const size_t outer = dsi_shape_count(axis, a->shape), len = (size_t)a->shape[axis];
    const size_t inner = dsi_shape_count(a->nd - axis - 1, a->shape + axis + 1);
    bcast_job j = {n->fp[0], y->g, a->g, inner, len};
    dsi_pool_range(outer * len, 12.0 * (double)inner, 131072.0, 1, axis_bwd_rows, &j);
}

static dsi_var *axis_reduce(dsi_tape *t, dsi_var *a, int axis, int keepdim, int mean)
{
    if (!a) return NULL;
    const char *name = mean ? "mean_axis" : "sum_axis";
    if (axis < -a->nd || axis >= a->nd) {
        char s1[64];
        return dsi_tape_fail(t, DSN_E_INVALID, "%s: axis %d out of range for shape %s", name, axis,
                             dsi_shape_str(a, s1, sizeof s1));
    }
    if (axis < 0) axis += a->nd;
    int shape[DSI_MAXDIM], nd = 0;
    for (int i = 0; i < a->nd; i++) {
        if (i == axis && !keepdim) continue;
        shape[nd++] = i == axis ? 1 : a->shape[i];
    }
    const size_t outer = dsi_shape_count(axis, a->shape), len = (size_t)a->shape[axis];
    const size_t inner = dsi_shape_count(a->nd - axis - 1, a->shape + axis + 1);
    dsi_var *y = dsi_tape_new(t, nd, shape, dsi_tape_needs_grad(t, 1, &a));
    if (!y) return NULL;
    const float c = mean ? (len ? 1.0f / (float)len : 0.0f) : 1.0f;
    if (inner == 1) { /* last axis: one sum per row */
        for (size_t o = 0; o < outer; o++) y->x[o] = (float)(sum_d(a->x + o * len, len) * c);
    } else {
        /* each y element summed from 0 in l order (the vector column sums), then scaled */
        memset(y->x, 0, sizeof(float) * outer * inner);
        for (size_t o = 0; o < outer; o++) {
            float *yo = y->x + o * inner;
            dsi_simd_colsum_add(a->x + o * len * inner, len, inner, yo);
            if (c != 1.0f)
                for (size_t i = 0; i < inner; i++) yo[i] *= c;
        }
    }
    dsi_node *n = dsi_tape_record(t, axis_backward, y, 1, &a);
    if (n) {
        n->ip[0] = axis;
        n->fp[0] = c;
    }
    return y;
}

/* y = sum over `axis` of x */
dsi_var *dsi_sum_axis(dsi_tape *t, dsi_var *a, int axis, int keepdim) { return axis_reduce(t, a, axis, keepdim, 0); }
/* y = mean over `axis` of x (0 when the axis is empty) */
dsi_var *dsi_mean_axis(dsi_tape *t, dsi_var *a, int axis, int keepdim) { return axis_reduce(t, a, axis, keepdim, 1); }

/* ---- y[b,d] = sum_t w[b,t] x[b,t,d], w[b,t] = m[b,t] / max(sum_t m[b,t], 1);
 *      dx[b,t,d] += w[b,t] dy[b,d] ---- */
typedef struct mm_job {
    int T, D;
    const float *w, *mask, *x, *gy;
    float *y, *gx;
} mm_job;

static void mm_backward_rows(void *ctx, size_t lo, size_t hi)
{
    const mm_job *j = ctx;
    const int T = j->T, D = j->D;
    for (size_t b = lo; b < hi; b++) {
        const float *gy = j->gy + b * D;
        for (int s = 0; s < T; s++) {
            const float wt = j->w[b * T + s];
            if (wt == 0.0f) continue;
            float *gx = j->gx + (b * T + s) * D;
            for (int d = 0; d < D; d++) gx[d] += wt * gy[d];
        }
    }
}

static void masked_mean_backward(dsi_node *n)
{
    dsi_var *x = n->in[0], *y = n->out;
    if (!x->g) return;
    const int B = x->shape[0], T = x->shape[1], D = x->shape[2];
    mm_job j = {T, D, n->saved, NULL, NULL, y->g, NULL, x->g};
    dsi_pool_range((size_t)B, 8.0 * T * D, 131072.0, 1, mm_backward_rows, &j);
}

/* per sequence: the frame weights and the weighted sum */
static void mm_forward_rows(void *ctx, size_t lo, size_t hi)
{
    const mm_job *j = ctx;
    const int T = j->T, D = j->D;
    float *w = (float *)j->w;
    for (size_t b = lo; b < hi; b++) {
        const float *m = j->mask + b * T;
        double cnt = 0.0;
        for (int s = 0; s < T; s++) cnt += m[s];
        const float inv = (float)(1.0 / (cnt > 1.0 ? cnt : 1.0));
        float *wb = w + b * T;
        for (int s = 0; s < T; s++) wb[s] = m[s] * inv;
        float *yb = j->y + b * D;
        memset(yb, 0, sizeof(float) * D);
        for (int s = 0; s < T; s++) {
            const float wt = wb[s];
            if (wt == 0.0f) continue;
            const float *xs = j->x + (b * T + s) * D;
            for (int d = 0; d < D; d++) yb[d] += wt * xs[d];
        }
    }
}

dsi_var *dsi_masked_mean_time(dsi_tape *t, dsi_var *x, const float *mask)
{
    if (!x) return NULL;
    if (!mask) return dsi_tape_fail(t, DSN_E_INVALID, "masked_mean_time: mask is NULL");
    if (x->nd != 3) {
        char s1[64];
        return dsi_tape_fail(t, DSN_E_SHAPE, "masked_mean_time: input %s is not [B,T,D]",
                             dsi_shape_str(x, s1, sizeof s1));
    }
    const int B = x->shape[0], T = x->shape[1], D = x->shape[2];
    dsi_var *y = dsi_tape_new2(t, B, D, dsi_tape_needs_grad(t, 1, &x));
    if (!y) return NULL;
    /* per-frame weights; kept for backward, so the caller's mask may change
     * after this call */
    float *w = dsi_tape_scratch(t, sizeof(float) * ((size_t)B * T + 1));
    if (!w) return NULL;
    mm_job j = {T, D, w, mask, x->x, NULL, y->x, NULL};
    dsi_pool_range((size_t)B, 4.0 * T * D, 131072.0, 1, mm_forward_rows, &j);
    dsi_node *n = dsi_tape_record(t, masked_mean_backward, y, 1, &x);
    if (n) n->saved = w;
    return y;
}

/* ---- s = sum_i w_i x_i;  dx_i += w_i ds ---- */
static void weighted_sum_backward(dsi_node *n)
{
    dsi_var *a = n->in[0], *y = n->out;
    if (!a->g) return;
    const float g = y->g[0];
    const float *w = n->saved;
    float *ga = a->g;
    for (size_t i = 0; i < a->n; i++) ga[i] += g * w[i];
}

dsi_var *dsi_weighted_sum(dsi_tape *t, dsi_var *a, const float *w)
{
    if (!a) return NULL;
    if (!w) return dsi_tape_fail(t, DSN_E_INVALID, "weighted_sum: weights are NULL");
    dsi_var *y = dsi_tape_new(t, 0, NULL, dsi_tape_needs_grad(t, 1, &a));
    if (!y) return NULL;
    const float *x = a->x;
    double s0 = 0.0, s1 = 0.0;
    size_t i = 0;
    for (; i + 2 <= a->n; i += 2) {
        s0 += (double)w[i] * x[i];
        s1 += (double)w[i + 1] * x[i + 1];
    }
    for (; i < a->n; i++) s0 += (double)w[i] * x[i];
    y->x[0] = (float)(s0 + s1);
    dsi_node *n = dsi_tape_record(t, weighted_sum_backward, y, 1, &a);
    if (n) {
        /* keep a copy: the caller's weights may change before backward */
        float *wc = dsi_tape_scratch(t, sizeof(float) * (a->n + 1));
        if (!wc) return NULL;
        memcpy(wc, w, sizeof(float) * a->n);
        n->saved = wc;
    }
    return y;
}
