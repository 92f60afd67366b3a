/* ops_shape.c - reshape (a view), concat, slice, transpose, row gather and
 * row scatter-add.
 *
 * Concat and slice view a tensor as [outer, len, inner] around the axis and
 * move whole contiguous blocks of len*inner floats. Transpose walks the output
 * in order; when the input's contiguous dimension is not the output's last
 * one it copies 32x32 tiles so reads and writes both stay in cache. Axes may
 * be negative (counted from the end, -1 = last). Indices given by the caller
 * are checked and copied into the step arena, so the caller's array may
 * change after the call. */
#include "autodiff/ops.h"
#include "core/pool.h"

#include <string.h>

static int norm_axis(int axis, int nd) { return axis < 0 ? axis + nd : axis; }

/* ---- reshape: a view, no node (values and gradient shared) ---- */
dsi_var *dsi_reshape(dsi_tape *t, dsi_var *a, int nd, const int *shape)
{
    if (!a) return NULL;
    if (nd < 0 || nd > DSI_MAXDIM || (nd > 0 && !shape))
        return dsi_tape_fail(t, DSN_E_INVALID, "reshape: rank %d out of range 0..%d", nd, DSI_MAXDIM);
    int s[DSI_MAXDIM], infer = -1;
    size_t known = 1;
    for (int i = 0; i < nd; i++) {
        s[i] = shape[i];
        if (s[i] == -1 && infer < 0) {
            infer = i;
            continue;
        }
        if (s[i] < 0) return dsi_tape_fail(t, DSN_E_INVALID, "reshape: bad dimension %d", s[i]);
        known *= (size_t)s[i];
    }
    if (infer >= 0) { /* one -1 takes what is left */
        if (known == 0 || a->n % known != 0) {
            char s1[64];
            return dsi_tape_fail(t, DSN_E_SHAPE, "reshape: cannot infer a dimension for %s from %zu values",
                                 dsi_shape_str(a, s1, sizeof s1), known);
        }
        s[infer] = (int)(a->n / known);
        known *= (size_t)s[infer];
    }
    if (known != a->n) {
        char s1[64];
        return dsi_tape_fail(t, DSN_E_SHAPE, "reshape: %s has %zu values, the new shape %zu",
                             dsi_shape_str(a, s1, sizeof s1), a->n, known);
    }
    dsi_var *v = dsi_tape_scratch(t, sizeof *v);
    if (!v) return NULL;
    memset(v, 0, sizeof *v);
    v->x = a->x;
    v->g = a->g;
    v->nd = nd;
    for (int i = 0; i < nd; i++) v->shape[i] = s[i];
    v->n = a->n;
    return v;
}

/* dst[o dstride + i] (+)= src[o sstride + i] for i < len, o in [lo, hi):
 * concat and slice and their backward, on the pool (blocks are disjoint) */
typedef struct blocks_job {
    float *dst;
    size_t dstride;
    const float *src;
    size_t sstride, len;
} blocks_job;

/* a short row (a frame's few features) in fixed 16-float pieces the compiler
 * inlines, rather than one library call per row; long ones through memcpy */
static inline void copy_row(float *dst, const float *src, size_t n)
{
    if (n >= 256) {
        memcpy(dst, src, sizeof(float) * n);
        return;
    }
    size_t i = 0;
    for (; i + 16 <= n; i += 16) memcpy(dst + i, src + i, sizeof(float) * 16);
    if (i < n) memcpy(dst + i, src + i, sizeof(float) * (n - i));
}

static void copy_blocks(void *ctx, size_t lo, size_t hi)
{
    const blocks_job *j = ctx;
    for (size_t o = lo; o < hi; o++) copy_row(j->dst + o * j->dstride, j->src + o * j->sstride, j->len);
}

static void add_blocks(void *ctx, size_t lo, size_t hi)
{
    const blocks_job *j = ctx;
    for (size_t o = lo; o < hi; o++) {
        const float *src = j->src + o * j->sstride;
        float *dst = j->dst + o * j->dstride;
        for (size_t i = 0; i < j->len; i++) dst[i] += src[i];
    }
}

/* ---- concat: y = [x_0, x_1, ...] along axis;  dx_k += the k-th block of dy ---- */
static void concat_backward(dsi_node *n)
{
    dsi_var *const *vs = n->saved;
    const int nv = n->ip[0];
    const int axis = n->ip[1];
    const size_t outer = dsi_shape_count(axis, n->out->shape);
    const size_t inner = dsi_shape_count(n->out->nd - axis - 1, n->out->shape + axis + 1);
    const size_t ychunk = (size_t)n->out->shape[axis] * inner;
    const float *gy = n->out->g;
    size_t off = 0;
    for (int k = 0; k < nv; k++) {
        const size_t chunk = (size_t)vs[k]->shape[axis] * inner;
        float *gx = vs[k]->g;
        if (gx) {
            blocks_job j = {gx, chunk, gy + off, ychunk, chunk};
            dsi_pool_range(outer, 12.0 * chunk, 131072.0, 1, add_blocks, &j);
        }
        off += chunk;
    }
}

dsi_var *dsi_concat(dsi_tape *t, dsi_var *const *vs, int n, int axis)
{
    if (!vs || n < 1) return dsi_tape_fail(t, DSN_E_INVALID, "concat: no inputs");
    for (int k = 0; k < n; k++)
        if (!vs[k]) return NULL;
    const dsi_var *v0 = vs[0];
    if (axis < -v0->nd || axis >= v0->nd)
        return dsi_tape_fail(t, DSN_E_INVALID, "concat: axis %d out of range for rank %d", axis, v0->nd);
    axis = norm_axis(axis, v0->nd);
    int shape[DSI_MAXDIM];
    memcpy(shape, v0->shape, sizeof shape);
    long total = 0;
    for (int k = 0; k < n; k++) {
        int ok = vs[k]->nd == v0->nd;
        for (int i = 0; ok && i < v0->nd; i++) ok = i == axis || vs[k]->shape[i] == v0->shape[i];
        if (!ok) {
            char s1[64], s2[64];
            return dsi_tape_fail(t, DSN_E_SHAPE, "concat: input %d has shape %s, input 0 has %s (axis %d)", k,
                                 dsi_shape_str(vs[k], s1, sizeof s1), dsi_shape_str(v0, s2, sizeof s2), axis);
        }
        total += vs[k]->shape[axis];
    }
    if (total > 0x7fffffffL) return dsi_tape_fail(t, DSN_E_SHAPE, "concat: result too large");
    shape[axis] = (int)total;
    dsi_var *y = dsi_tape_new(t, v0->nd, shape, dsi_tape_needs_grad(t, n, vs));
    if (!y) return NULL;
    const size_t outer = dsi_shape_count(axis, shape);
    const size_t inner = dsi_shape_count(v0->nd - axis - 1, shape + axis + 1);
    const size_t ychunk = (size_t)total * inner;
    size_t off = 0;
    for (int k = 0; k < n; k++) {
        const size_t chunk = (size_t)vs[k]->shape[axis] * inner;
        if (chunk) {
            blocks_job j = {y->x + off, ychunk, vs[k]->x, chunk, chunk};
            dsi_pool_range(outer, 8.0 * chunk, 131072.0, 1, copy_blocks, &j);
        }
        off += chunk;
    }
    /* the node holds up to DSI_NODE_MAXIN inputs; the full list goes in saved */
    dsi_node *nd = dsi_tape_record(t, concat_backward, y, n < DSI_NODE_MAXIN ? n : DSI_NODE_MAXIN, vs);
    if (nd) {
        dsi_var **list = dsi_tape_scratch(t, sizeof(dsi_var *) * (size_t)n);
        if (!list) return NULL;
        memcpy(list, vs, sizeof(dsi_var *) * (size_t)n);
        nd->saved = list;
        nd->ip[0] = n;
        nd->ip[1] = axis;
    }
    return y;
}

/* ---- slice: y = x[.., start:start+len, ..];  dx[.., start+l, ..] += dy[.., l, ..] ---- */
static void slice_backward(dsi_node *n)
{
    dsi_var *a = n->in[0], *y = n->out;
    if (!a->g) return;
    const int axis = n->ip[0], start = n->ip[1];
    const size_t outer = dsi_shape_count(axis, a->shape), dim = (size_t)a->shape[axis];
    const size_t inner = dsi_shape_count(a->nd - axis - 1, a->shape + axis + 1);
    const size_t chunk = (size_t)y->shape[axis] * inner;
    blocks_job j = {a->g + (size_t)start * inner, dim * inner, y->g, chunk, chunk};
    dsi_pool_range(outer, 12.0 * chunk, 131072.0, 1, add_blocks, &j);
}

dsi_var *dsi_slice(dsi_tape *t, dsi_var *a, int axis, int start, int len)
{
    if (!a) return NULL;
    if (axis < -a->nd || axis >= a->nd)
        return dsi_tape_fail(t, DSN_E_INVALID, "slice: axis %d out of range for rank %d", axis, a->nd);
    axis = norm_axis(axis, a->nd);
    if (start < 0 || len < 0 || start > a->shape[axis] - len) {
        char s1[64];
        return dsi_tape_fail(t, DSN_E_INVALID, "slice: [%d, %d+%d) is outside axis %d of %s", start, start, len,
                             axis, dsi_shape_str(a, s1, sizeof s1));
    }
    int shape[DSI_MAXDIM];
    memcpy(shape, a->shape, sizeof shape);
    shape[axis] = len;
    dsi_var *y = dsi_tape_new(t, a->nd, shape, dsi_tape_needs_grad(t, 1, &a));
    if (!y) return NULL;
    const size_t outer = dsi_shape_count(axis, a->shape), dim = (size_t)a->shape[axis];
    const size_t inner = dsi_shape_count(a->nd - axis - 1, a->shape + axis + 1);
    const size_t chunk = (size_t)len * inner;
    if (chunk) {
        blocks_job j = {y->x, chunk, a->x + (size_t)start * inner, dim * inner, chunk};
        dsi_pool_range(outer, 8.0 * chunk, 131072.0, 1, copy_blocks, &j);
    }
    dsi_node *n = dsi_tape_record(t, slice_backward, y, 1, &a);
    if (n) {
        n->ip[0] = axis;
        n->ip[1] = start;
    }
    return y;
}

/* ---- transpose: y[i0..i3] = x[i_perm^-1];  dx[...] += dy[...] ---- */

/* The permutation padded to 4 output dims (leading dims of size 1): lengths,
 * output strides (contiguous), input strides of each output dim. */
typedef struct tr_plan {
    size_t len[4], os[4], is[4];
} tr_plan;

static void tr_make_plan(const dsi_var *a, const int *perm, tr_plan *p)
{
    const int nd = a->nd, pad = 4 - nd;
    size_t xs[DSI_MAXDIM], c = 1;
    for (int j = nd - 1; j >= 0; j--) {
        xs[j] = c;
        c *= (size_t)a->shape[j];
    }
    for (int i = 0; i < 4; i++) {
        p->len[i] = i < pad ? 1 : (size_t)a->shape[perm[i - pad]];
        p->is[i] = i < pad ? 0 : xs[perm[i - pad]];
    }
    c = 1;
    for (int i = 3; i >= 0; i--) {
        p->os[i] = c;
        c *= p->len[i];
    }
}

#define TR_TILE 32

/* BWD = 0: y[io] = x[ii];  BWD = 1: gx[ii] += gy[io] */
static void tr_run(const tr_plan *p, const float *src, float *dst, int bwd)
{
    if (p->is[3] == 1 || p->len[3] == 1) {
        /* the last output dim is contiguous in the input too (or trivial):
         * plain inner loops */
        const size_t n3 = p->len[3], i3s = p->is[3];
        for (size_t i0 = 0; i0 < p->len[0]; i0++)
            for (size_t i1 = 0; i1 < p->len[1]; i1++)
                for (size_t i2 = 0; i2 < p->len[2]; i2++) {
                    const size_t bo = i0 * p->os[0] + i1 * p->os[1] + i2 * p->os[2];
                    const size_t bi = i0 * p->is[0] + i1 * p->is[1] + i2 * p->is[2];
                    if (!bwd) {
                        if (i3s == 1) memcpy(dst + bo, src + bi, sizeof(float) * n3);
                        else for (size_t k = 0; k < n3; k++) dst[bo + k] = src[bi + k * i3s];
                    } else {
                        for (size_t k = 0; k < n3; k++) dst[bi + k * i3s] += src[bo + k];
                    }
                }
        return;
    }
    /* tile the last output dim with the output dim q whose input stride is
     * smallest (the input's contiguous one) */
    int q = 0;
    for (int i = 1; i < 3; i++)
        if (p->len[i] > 1 && (p->len[q] == 1 || p->is[i] < p->is[q])) q = i;
    int r[2], nr = 0;
    for (int i = 0; i < 3; i++)
        if (i != q) r[nr++] = i;
    const size_t nq = p->len[q], n3 = p->len[3];
    const size_t qs_o = p->os[q], qs_i = p->is[q], s3 = p->is[3];
    for (size_t j0 = 0; j0 < p->len[r[0]]; j0++)
        for (size_t j1 = 0; j1 < p->len[r[1]]; j1++) {
            const size_t bo = j0 * p->os[r[0]] + j1 * p->os[r[1]];
            const size_t bi = j0 * p->is[r[0]] + j1 * p->is[r[1]];
            for (size_t qb = 0; qb < nq; qb += TR_TILE) {
                const size_t qe = qb + TR_TILE < nq ? qb + TR_TILE : nq;
                for (size_t kb = 0; kb < n3; kb += TR_TILE) {
                    const size_t ke = kb + TR_TILE < n3 ? kb + TR_TILE : n3;
                    if (!bwd) {
                        for (size_t iq = qb; iq < qe; iq++)
                            for (size_t k = kb; k < ke; k++)
                                dst[bo + iq * qs_o + k] = src[bi + iq * qs_i + k * s3];
                    } else { /* read-modify-write runs along the input's contiguous dim */
                        for (size_t k = kb; k < ke; k++)
                            for (size_t iq = qb; iq < qe; iq++)
                                dst[bi + iq * qs_i + k * s3] += src[bo + iq * qs_o + k];
                    }
                }
            }
        }
}

static void transpose_backward(dsi_node *n)
{
    dsi_var *a = n->in[0], *y = n->out;
    if (a->g) tr_run(n->saved, y->g, a->g, 1);
}

dsi_var *dsi_transpose(dsi_tape *t, dsi_var *a, const int *perm)
{
    if (!a) return NULL;
    if (a->nd > 0 && !perm) return dsi_tape_fail(t, DSN_E_INVALID, "transpose: perm is NULL");
    int seen[DSI_MAXDIM] = {0, 0, 0, 0}, shape[DSI_MAXDIM];
    for (int i = 0; i < a->nd; i++) {
        if (perm[i] < 0 || perm[i] >= a->nd || seen[perm[i]]++)
            return dsi_tape_fail(t, DSN_E_INVALID, "transpose: perm is not a permutation of 0..%d", a->nd - 1);
        shape[i] = a->shape[perm[i]];
    }
    dsi_var *y = dsi_tape_new(t, a->nd, shape, dsi_tape_needs_grad(t, 1, &a));
    if (!y) return NULL;
    tr_plan local, *p = &local;
    if (y->g) {
        p = dsi_tape_scratch(t, sizeof *p);
        if (!p) return NULL;
    }
    tr_make_plan(a, perm, p);
    if (y->n) tr_run(p, a->x, y->x, 0);
    dsi_node *n = dsi_tape_record(t, transpose_backward, y, 1, &a);
    if (n) n->saved = p;
    return y;
}

/* ---- rows: x viewed as [N, D] (D = last dim; a 1-D x is [N] with D = 1) ---- */
static void rows_of(const dsi_var *a, size_t *N, size_t *D)
{
    if (a->nd <= 1) {
        *N = a->nd ? (size_t)a->shape[0] : 1;
        *D = 1;
    } else {
        *D = (size_t)a->shape[a->nd - 1];
        *N = *D ? a->n / *D : dsi_shape_count(a->nd - 1, a->shape);
    }
}

/* Check idx[0..m) against [0, N) and copy it into the arena; NULL on failure. */
static int *copy_indices(dsi_tape *t, const char *op, const int *idx, int m, size_t N)
{
    if (m < 0) return dsi_tape_fail(t, DSN_E_INVALID, "%s: negative index count %d", op, m);
    if (m > 0 && !idx) return dsi_tape_fail(t, DSN_E_INVALID, "%s: indices are NULL", op);
    for (int i = 0; i < m; i++)
        if (idx[i] < 0 || (size_t)idx[i] >= N)
            return dsi_tape_fail(t, DSN_E_INVALID, "%s: index %d at position %d is outside [0, %zu)", op, idx[i], i,
                                 N);
    int *c = dsi_tape_scratch(t, sizeof(int) * ((size_t)m + 1));
    if (c && m) memcpy(c, idx, sizeof(int) * (size_t)m);
    return c;
}

/* dst[row_d(i),:] += src[row_s(i),:] for i < m, where row_d(i) = di ? di[i] : i
 * (likewise row_s): the scatter-add of gather's backward and of scatter's
 * forward, the gather-add of scatter's backward */
static void add_rows(float *dst, const int *di, const float *src, const int *si, int m, size_t D)
{
    for (int i = 0; i < m; i++) {
        const float *s = src + (size_t)(si ? si[i] : i) * D;
        float *d = dst + (size_t)(di ? di[i] : i) * D;
        for (size_t k = 0; k < D; k++) d[k] += s[k];
    }
}

/* records y = op(a) of gather / scatter with its m checked indices ic of rows of D */
static dsi_var *record_rows(dsi_tape *t, dsi_backward_fn back, dsi_var *y, dsi_var *a, int *ic, int m, size_t D)
{
    dsi_node *n = dsi_tape_record(t, back, y, 1, &a);
    if (n) {
        n->ip[0] = m;
        n->ip[1] = (int)D;
        n->saved = ic;
    }
    return y;
}

/* y[i,:] = x[idx[i],:];  dx[idx[i],:] += dy[i,:] */
static void gather_backward(dsi_node *n)
{
    dsi_var *a = n->in[0], *y = n->out;
    if (a->g) add_rows(a->g, n->saved, y->g, NULL, n->ip[0], (size_t)n->ip[1]);
}

dsi_var *dsi_gather_rows(dsi_tape *t, dsi_var *a, const int *idx, int m)
{
    if (!a) return NULL;
    size_t N, D;
    rows_of(a, &N, &D);
    int *ic = copy_indices(t, "gather_rows", idx, m, N);
    if (!ic) return NULL;
    int shape[2] = {m, (int)D};
    dsi_var *y = dsi_tape_new(t, a->nd <= 1 ? 1 : 2, shape, dsi_tape_needs_grad(t, 1, &a));
    if (!y) return NULL;
    for (int i = 0; i < m; i++) copy_row(y->x + (size_t)i * D, a->x + (size_t)ic[i] * D, D);
    return record_rows(t, gather_backward, y, a, ic, m, D);
}

/* y[idx[i],:] += x[i,:];  dx[i,:] += dy[idx[i],:] */
static void scatter_backward(dsi_node *n)
{
    dsi_var *a = n->in[0], *y = n->out;
    if (a->g) add_rows(a->g, NULL, y->g, n->saved, n->ip[0], (size_t)n->ip[1]);
}

dsi_var *dsi_scatter_add_rows(dsi_tape *t, dsi_var *a, const int *idx, int n_out)
{
    if (!a) return NULL;
    if (n_out < 0) return dsi_tape_fail(t, DSN_E_INVALID, "scatter_add_rows: negative output rows %d", n_out);
    size_t M, D;
    rows_of(a, &M, &D);
    if (M > 0x7fffffff) return dsi_tape_fail(t, DSN_E_SHAPE, "scatter_add_rows: too many rows");
    const int m = (int)M;
    int *ic = copy_indices(t, "scatter_add_rows", idx, m, (size_t)n_out);
    if (!ic) return NULL;
    int shape[2] = {n_out, (int)D};
    dsi_var *y = dsi_tape_zeros(t, a->nd <= 1 ? 1 : 2, shape, dsi_tape_needs_grad(t, 1, &a));
    if (!y) return NULL;
    add_rows(y->x, ic, a->x, NULL, m, D);
    return record_rows(t, scatter_backward, y, a, ic, m, D);
}
