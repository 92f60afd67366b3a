/* ops_elementwise.c - broadcasting binary ops, scalar affine, gradient
 * reversal, unary activations and clamp.
 *
 * Broadcasting follows numpy: shapes are aligned on the right and a dimension
 * of 1 stretches. Before any loop the broadcast is reduced to a "plan": output
 * dimensions of size 1 are dropped and neighbouring dimensions in which a and
 * b are broadcast the same way are merged. Same-shape operands become one flat
 * loop, [rows, cols] op [cols] two loops with a contiguous inner one, and a
 * scalar operand one loop with a stride-0 operand. The inner loop is
 * specialised on the (0 or 1) strides of a and b so it vectorises. The
 * backward pass walks the same plan and accumulates into a stride-0 operand,
 * which sums the gradient over the broadcast dimensions. */
#include "autodiff/ops.h"
#include "core/pool.h"
#include "tensor/act.h"

#include <string.h>

typedef enum { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV } bin_op;

static const char *const bin_name[] = {"add", "sub", "mul", "div"};

/* A broadcast reduced to at most DSI_MAXDIM loops; the last one is innermost.
 * Strides are in elements; the inner strides of a and b are 0 or 1. */
typedef struct bc_plan {
    int nd;
    size_t len[DSI_MAXDIM];
    size_t sa[DSI_MAXDIM], sb[DSI_MAXDIM], so[DSI_MAXDIM];
} bc_plan;

/* Output shape of a broadcast of a and b; 0 when they do not broadcast. */
static int bc_shape(const dsi_var *a, const dsi_var *b, int *nd, int *shape)
{
    int n = a->nd > b->nd ? a->nd : b->nd;
    for (int i = 0; i < n; i++) {
        int ia = i - (n - a->nd), ib = i - (n - b->nd);
        int da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da != db && da != 1 && db != 1) return 0;
        shape[i] = da == 1 ? db : da;
    }
    *nd = n;
    return 1;
}

static void bc_make_plan(const dsi_var *a, const dsi_var *b, int nd, const int *shape, bc_plan *p)
{
    /* per output dim: sizes in a and b (1 where broadcast), then strides */
    int da[DSI_MAXDIM], db[DSI_MAXDIM];
    size_t stra[DSI_MAXDIM], strb[DSI_MAXDIM], stro[DSI_MAXDIM];
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->nd), ib = i - (nd - b->nd);
        da[i] = ia >= 0 ? a->shape[ia] : 1;
        db[i] = ib >= 0 ? b->shape[ib] : 1;
    }
    size_t ca = 1, cb = 1, co = 1;
    for (int i = nd - 1; i >= 0; i--) {
        stra[i] = da[i] == 1 ? 0 : ca;
        strb[i] = db[i] == 1 ? 0 : cb;
        stro[i] = co;
        ca *= (size_t)da[i];
        cb *= (size_t)db[i];
        co *= (size_t)shape[i];
    }
    /* drop size-1 output dims; merge a dim into the previous kept one when
     * both operands are broadcast (or not) the same way in both */
    p->nd = 0;
    for (int i = 0; i < nd; i++) {
        if (shape[i] == 1) continue;
        int k = p->nd - 1;
        if (k >= 0 && (p->sa[k] == 0) == (stra[i] == 0) && (p->sb[k] == 0) == (strb[i] == 0)) {
            /* contiguous merge: the inner dim keeps its strides */
            p->len[k] *= (size_t)shape[i];
            p->sa[k] = stra[i];
            p->sb[k] = strb[i];
            p->so[k] = stro[i];
            continue;
        }
        p->len[p->nd] = (size_t)shape[i];
        p->sa[p->nd] = stra[i];
        p->sb[p->nd] = strb[i];
        p->so[p->nd] = stro[i];
        p->nd++;
    }
    if (p->nd == 0) { /* everything is one element */
        p->nd = 1;
        p->len[0] = 1;
        p->sa[0] = p->sb[0] = p->so[0] = 0;
    }
}

/* Runs the body (the variadic part) over the inner loop of length N with
 * element indices ia, ib, k (a, b, out), specialised on the 0/1 inner strides SA, SB. */
#define BC_INNER(N, SA, SB, ...)                                                      \
    do {                                                                               \
        if ((SA) && (SB)) {                                                            \
            for (size_t k = 0; k < (N); k++) {                                         \
                const size_t ia = k, ib = k; (void)ia; (void)ib; __VA_ARGS__           \
            }                                                                          \
        } else if (SA) {                                                               \
            for (size_t k = 0; k < (N); k++) {                                         \
                const size_t ia = k, ib = 0; (void)ia; (void)ib; __VA_ARGS__           \
            }                                                                          \
        } else if (SB) {                                                               \
            for (size_t k = 0; k < (N); k++) {                                         \
                const size_t ia = 0, ib = k; (void)ia; (void)ib; __VA_ARGS__           \
            }                                                                          \
        } else {                                                                       \
            for (size_t k = 0; k < (N); k++) {                                         \
                const size_t ia = 0, ib = 0; (void)ia; (void)ib; __VA_ARGS__           \
            }                                                                          \
        }                                                                              \
    } while (0)

/* Runs the body (the variadic part) for each combination of the outer loops
 * of plan P, with element offsets oa, ob, oo into a, b and out. */
#define BC_OUTER(P, ...)                                                               \
    do {                                                                               \
        const int nd_ = (P)->nd;                                                       \
        size_t idx_[DSI_MAXDIM] = {0, 0, 0, 0};                                        \
        size_t oa = 0, ob = 0, oo = 0;                                                 \
        for (;;) {                                                                     \
            (void)oa; (void)ob; (void)oo;                                              \
            __VA_ARGS__                                                                \
            int d_ = nd_ - 2;                                                          \
            for (; d_ >= 0; d_--) {                                                    \
                idx_[d_]++;                                                            \
                oa += (P)->sa[d_]; ob += (P)->sb[d_]; oo += (P)->so[d_];               \
                if (idx_[d_] < (P)->len[d_]) break;                                    \
                oa -= (P)->sa[d_] * idx_[d_]; ob -= (P)->sb[d_] * idx_[d_];            \
                oo -= (P)->so[d_] * idx_[d_];                                          \
                idx_[d_] = 0;                                                          \
            }                                                                          \
            if (d_ < 0) break;                                                         \
        }                                                                              \
    } while (0)

static void bin_forward(bin_op op, const bc_plan *p, const float *A, const float *B, float *O)
{
    const size_t n = p->len[p->nd - 1];
    const int sa = p->sa[p->nd - 1] != 0, sb = p->sb[p->nd - 1] != 0;
    switch (op) {
    case BIN_ADD:
        BC_OUTER(p, { const float *a = A + oa, *b = B + ob; float *o = O + oo;
                      BC_INNER(n, sa, sb, o[k] = a[ia] + b[ib];); });
        break;
    case BIN_SUB:
        BC_OUTER(p, { const float *a = A + oa, *b = B + ob; float *o = O + oo;
                      BC_INNER(n, sa, sb, o[k] = a[ia] - b[ib];); });
        break;
    case BIN_MUL:
        BC_OUTER(p, { const float *a = A + oa, *b = B + ob; float *o = O + oo;
                      BC_INNER(n, sa, sb, o[k] = a[ia] * b[ib];); });
        break;
    case BIN_DIV:
        BC_OUTER(p, { const float *a = A + oa, *b = B + ob; float *o = O + oo;
                      BC_INNER(n, sa, sb, o[k] = a[ia] / b[ib];); });
        break;
    }
}

/* add: ga += gy, gb += gy;  sub: ga += gy, gb -= gy;
 * mul: ga += gy b, gb += gy a;  div: ga += gy / b, gb -= gy y / b
 * over plan p from the given bases; GA or GB NULL: that gradient skipped */
static void bin_grads(bin_op op, const bc_plan *p, const float *GY, const float *Y, const float *A, const float *B,
                      float *GA, float *GB)
{
    const size_t n = p->len[p->nd - 1];
    const int sa = p->sa[p->nd - 1] != 0, sb = p->sb[p->nd - 1] != 0;
    /* Each loop writes only one gradient, so a reduction into a stride-0
     * operand is a plain sum and the other operand's loop stays contiguous. */
    if (GA) {
        switch (op) {
        case BIN_ADD:
        case BIN_SUB:
            BC_OUTER(p, { const float *gy = GY + oo; float *ga = GA + oa;
                          BC_INNER(n, sa, sb, ga[ia] += gy[k];); });
            break;
        case BIN_MUL:
            BC_OUTER(p, { const float *gy = GY + oo, *b = B + ob; float *ga = GA + oa;
                          BC_INNER(n, sa, sb, ga[ia] += gy[k] * b[ib];); });
            break;
        case BIN_DIV:
            BC_OUTER(p, { const float *gy = GY + oo, *b = B + ob; float *ga = GA + oa;
                          BC_INNER(n, sa, sb, ga[ia] += gy[k] / b[ib];); });
            break;
        }
    }
    if (GB) {
        switch (op) {
        case BIN_ADD:
            BC_OUTER(p, { const float *gy = GY + oo; float *gb = GB + ob;
                          BC_INNER(n, sa, sb, gb[ib] += gy[k];); });
            break;
        case BIN_SUB:
            BC_OUTER(p, { const float *gy = GY + oo; float *gb = GB + ob;
                          BC_INNER(n, sa, sb, gb[ib] -= gy[k];); });
            break;
        case BIN_MUL:
            BC_OUTER(p, { const float *gy = GY + oo, *a = A + oa; float *gb = GB + ob;
                          BC_INNER(n, sa, sb, gb[ib] += gy[k] * a[ia];); });
            break;
        case BIN_DIV:
            BC_OUTER(p, { const float *gy = GY + oo, *yy = Y + oo, *b = B + ob; float *gb = GB + ob;
                          BC_INNER(n, sa, sb, gb[ib] -= gy[k] * yy[k] / b[ib];); });
            break;
        }
    }
}

/* ---- the pool: the plan's outermost loop split into parts. The outputs of
 * different outer indices are disjoint, and so are an operand's gradient
 * elements when that operand is not broadcast along the outer dimension
 * (stride != 0): each element gets the same terms in the same order as on
 * one thread. A gradient reduced over the outer dimension stays serial. ---- */
typedef struct bin_job {
    bin_op op;
    const bc_plan *p;
    const float *A, *B, *Y, *GY;
    float *O, *GA, *GB;
} bin_job;

/* the sub-plan of outer indices [lo, hi) */
static bc_plan sub_plan(const bc_plan *p, size_t lo, size_t hi)
{
    bc_plan q = *p;
    q.len[0] = hi - lo;
    return q;
}

static void bin_grads_part(void *ctx, size_t lo, size_t hi)
{
    const bin_job *j = ctx;
    const bc_plan *p = j->p, q = sub_plan(p, lo, hi);
    bin_grads(j->op, &q, j->GY + lo * p->so[0], j->Y ? j->Y + lo * p->so[0] : NULL, j->A + lo * p->sa[0],
              j->B + lo * p->sb[0], j->GA ? j->GA + lo * p->sa[0] : NULL, j->GB ? j->GB + lo * p->sb[0] : NULL);
}

/* bytes touched per element, at least 256 KiB per part */
#define BIN_COST 12.0
#define BIN_GRAIN 131072.0

static void bin_pooled(dsi_range_fn fn, bin_job *j, size_t n_out)
{
    const size_t outer = j->p->len[0];
    /* a flat loop in parts of 16 elements (whole vectors) */
    dsi_pool_range(outer, BIN_COST * (double)(n_out / (outer ? outer : 1)), BIN_GRAIN, j->p->nd == 1 ? 16 : 1, fn, j);
}

static void bin_backward(dsi_node *nd)
{
    const dsi_var *av = nd->in[0], *bv = nd->in[1], *y = nd->out;
    const bc_plan *p = nd->saved;
    const bin_op op = (bin_op)nd->ip[0];
    if (y->n == 0) return; /* an empty dim: the plan's outer loops would not be skipped */
    float *GA = av->g, *GB = bv->g;
    /* an operand broadcast along the outer dimension: its gradient is a sum over it, one thread */
    const int split_a = GA && p->sa[0] != 0, split_b = GB && p->sb[0] != 0;
    bin_job j = {op, p, av->x, bv->x, y->x, y->g, NULL, split_a ? GA : NULL, split_b ? GB : NULL};
    if (split_a || split_b) bin_pooled(bin_grads_part, &j, y->n);
    if ((GA && !split_a) || (GB && !split_b))
        bin_grads(op, p, y->g, y->x, av->x, bv->x, GA && !split_a ? GA : NULL, GB && !split_b ? GB : NULL);
}

static void bin_forward_part(void *ctx, size_t lo, size_t hi)
{
    const bin_job *j = ctx;
    const bc_plan *p = j->p, q = sub_plan(p, lo, hi);
    bin_forward(j->op, &q, j->A + lo * p->sa[0], j->B + lo * p->sb[0], j->O + lo * p->so[0]);
}

static dsi_var *binary(dsi_tape *t, dsi_var *a, dsi_var *b, bin_op op)
{
    if (!a || !b) return NULL;
    int nd, shape[DSI_MAXDIM];
    if (!bc_shape(a, b, &nd, shape)) {
        char s1[64], s2[64];
        return dsi_tape_fail(t, DSN_E_SHAPE, "%s: shapes %s and %s do not broadcast", bin_name[op],
                             dsi_shape_str(a, s1, sizeof s1), dsi_shape_str(b, s2, sizeof s2));
    }
    dsi_var *in[2] = {a, b};
    dsi_var *y = dsi_tape_new(t, nd, shape, dsi_tape_needs_grad(t, 2, in));
    if (!y) return NULL;
    bc_plan local, *p = &local;
    if (y->g) {
        p = dsi_tape_scratch(t, sizeof *p);
        if (!p) return NULL;
    }
    bc_make_plan(a, b, nd, shape, p);
    if (y->n) {
        bin_job j = {op, p, a->x, b->x, NULL, NULL, y->x, NULL, NULL};
        bin_pooled(bin_forward_part, &j, y->n);
    }
    dsi_node *n = dsi_tape_record(t, bin_backward, y, 2, in);
    if (n) {
        n->ip[0] = op;
        n->saved = p;
    }
    return y;
}

/* y = a + b (broadcast) */
dsi_var *dsi_add(dsi_tape *t, dsi_var *a, dsi_var *b) { return binary(t, a, b, BIN_ADD); }
/* y = a - b (broadcast) */
dsi_var *dsi_sub(dsi_tape *t, dsi_var *a, dsi_var *b) { return binary(t, a, b, BIN_SUB); }
/* y = a * b (broadcast) */
dsi_var *dsi_mul(dsi_tape *t, dsi_var *a, dsi_var *b) { return binary(t, a, b, BIN_MUL); }
/* y = a / b (broadcast) */
dsi_var *dsi_div(dsi_tape *t, dsi_var *a, dsi_var *b) { return binary(t, a, b, BIN_DIV); }

/* ---- y = s x + c;  dx += s dy ---- */
typedef struct aff_job {
    float s, c;
    const float *x;
    float *y;
} aff_job;

static void affine_bwd_part(void *ctx, size_t lo, size_t hi)
{
    const aff_job *j = ctx; /* x = gy, y = ga */
    for (size_t i = lo; i < hi; i++) j->y[i] += j->s * j->x[i];
}

static void affine_fwd_part(void *ctx, size_t lo, size_t hi)
{
    const aff_job *j = ctx;
    for (size_t i = lo; i < hi; i++) j->y[i] = j->s * j->x[i] + j->c;
}

static void affine_backward(dsi_node *n)
{
    dsi_var *a = n->in[0], *y = n->out;
    if (!a->g) return;
    aff_job j = {n->fp[0], 0.0f, y->g, a->g};
    dsi_pool_range(y->n, BIN_COST, BIN_GRAIN, 16, affine_bwd_part, &j);
}

dsi_var *dsi_affine_scalar(dsi_tape *t, dsi_var *a, float s, float c)
{
    if (!a) return NULL;
    dsi_var *y = dsi_tape_new(t, a->nd, a->shape, dsi_tape_needs_grad(t, 1, &a));
    if (!y) return NULL;
    aff_job j = {s, c, a->x, y->x};
    dsi_pool_range(a->n, 8.0, BIN_GRAIN, 16, affine_fwd_part, &j);
    dsi_node *n = dsi_tape_record(t, affine_backward, y, 1, &a);
    if (n) n->fp[0] = s;
    return y;
}

/* ---- y = x;  dx += -lambda dy (gradient reversal: the affine node with s = -lambda) ---- */
dsi_var *dsi_grad_reverse(dsi_tape *t, dsi_var *a, float lambda)
{
    if (!a) return NULL;
    dsi_var *y = dsi_tape_new(t, a->nd, a->shape, dsi_tape_needs_grad(t, 1, &a));
    if (!y) return NULL;
    memcpy(y->x, a->x, a->n * sizeof(float));
    dsi_node *n = dsi_tape_record(t, affine_backward, y, 1, &a);
    if (n) n->fp[0] = -lambda;
    return y;
}

/* ---- y = f(x);  dx += dy f'(x) (from x and y, see tensor/act.h) ---- */
static void unary_backward(dsi_node *n)
{
    dsi_var *a = n->in[0], *y = n->out;
    if (a->g) dsi_act_backward((dsi_act)n->ip[0], n->fp[0], a->x, y->x, y->g, a->g, y->n);
}

dsi_var *dsi_unary(dsi_tape *t, dsi_var *a, dsi_act act, float alpha)
{
    if (!a) return NULL;
    if ((int)act < 0 || act >= DSI_ACT_COUNT_)
        return dsi_tape_fail(t, DSN_E_INVALID, "unary: unknown activation %d", (int)act);
    dsi_var *y = dsi_tape_new(t, a->nd, a->shape, dsi_tape_needs_grad(t, 1, &a));
    if (!y) return NULL;
    dsi_act_forward(act, alpha, a->x, y->x, a->n);
    dsi_node *n = dsi_tape_record(t, unary_backward, y, 1, &a);
    if (n) {
        n->ip[0] = act;
        n->fp[0] = alpha;
    }
    return y;
}

/* y = max(x, 0) */
dsi_var *dsi_relu(dsi_tape *t, dsi_var *a) { return dsi_unary(t, a, DSI_ACT_RELU, 0.0f); }
/* y = x > 0 ? x : alpha x */
dsi_var *dsi_leaky_relu(dsi_tape *t, dsi_var *a, float alpha) { return dsi_unary(t, a, DSI_ACT_LEAKY, alpha); }
/* y = tanh(x) */
dsi_var *dsi_tanh(dsi_tape *t, dsi_var *a) { return dsi_unary(t, a, DSI_ACT_TANH, 0.0f); }
/* y = 1 / (1 + exp(-x)) */
dsi_var *dsi_sigmoid(dsi_tape *t, dsi_var *a) { return dsi_unary(t, a, DSI_ACT_SIGMOID, 0.0f); }
/* y = log(1 + exp(x)) */
dsi_var *dsi_softplus(dsi_tape *t, dsi_var *a) { return dsi_unary(t, a, DSI_ACT_SOFTPLUS, 0.0f); }
/* y = exp(x) */
dsi_var *dsi_exp(dsi_tape *t, dsi_var *a) { return dsi_unary(t, a, DSI_ACT_EXP, 0.0f); }
/* y = log(x) */
dsi_var *dsi_log(dsi_tape *t, dsi_var *a) { return dsi_unary(t, a, DSI_ACT_LOG, 0.0f); }

/* ---- y = min(max(x, lo), hi);  dx += dy where lo < x < hi ---- */
static void clamp_backward(dsi_node *n)
{
    dsi_var *a = n->in[0], *y = n->out;
    const float lo = n->fp[0], hi = n->fp[1];
    const float *x = a->x, *gy = y->g;
    float *ga = a->g;
    if (ga)
        for (size_t i = 0; i < y->n; i++) ga[i] += (x[i] > lo && x[i] < hi) ? gy[i] : 0.0f;
}

dsi_var *dsi_clamp(dsi_tape *t, dsi_var *a, float lo, float hi)
{
    if (!a) return NULL;
    if (!(lo <= hi)) return dsi_tape_fail(t, DSN_E_INVALID, "clamp: lo %g is above hi %g", (double)lo, (double)hi);
    dsi_var *y = dsi_tape_new(t, a->nd, a->shape, dsi_tape_needs_grad(t, 1, &a));
    if (!y) return NULL;
    const float *x = a->x;
    float *o = y->x;
    for (size_t i = 0; i < a->n; i++) {
        float v = x[i] < lo ? lo : x[i];
        o[i] = v > hi ? hi : v;
    }
    dsi_node *n = dsi_tape_record(t, clamp_backward, y, 1, &a);
    if (n) {
        n->fp[0] = lo;
        n->fp[1] = hi;
    }
    return y;
}
