/* test_ops.c - element-wise, reduction and shape ops: finite-difference
 * gradient checks, forward (and some backward) passes against naive loops,
 * and error paths. */
#include "autodiff/ops.h"
#include "latent/gauss.h"
#include "support/gradcheck.h"
#include "support/testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ helpers */

static gc_input gin(int nd, int d0, int d1, int d2, int d3)
{
    gc_input g;
    memset(&g, 0, sizeof g);
    g.nd = nd;
    g.shape[0] = d0;
    g.shape[1] = d1;
    g.shape[2] = d2;
    g.shape[3] = d3;
    return g;
}

/* a var in the tape with random values in [-1, 1] (+ gradient if grad) */
static dsi_var *rand_var(dsi_tape *t, dsi_rng *r, int nd, const int *shape, int grad)
{
    dsi_var *v = dsi_tape_new(t, nd, shape, grad);
    ck_assert_ptr_nonnull(v);
    tu_fill(r, v->x, v->n);
    return v;
}

/* element offset in v of the output multi-index o (nd_out dims), with numpy
 * broadcasting (v aligned on the right; size-1 dims repeat) */
static size_t bc_offset(const dsi_var *v, int nd_out, const int *o)
{
    size_t off = 0;
    for (int i = 0; i < v->nd; i++) {
        int oi = o[i + nd_out - v->nd];
        off = off * (size_t)v->shape[i] + (size_t)(v->shape[i] == 1 ? 0 : oi);
    }
    return off;
}

static int next_index(int nd, const int *shape, int *o)
{
    for (int i = nd - 1; i >= 0; i--) {
        if (++o[i] < shape[i]) return 1;
        o[i] = 0;
    }
    return 0;
}

/* ---------------------------------------------------------- binary ops */

typedef dsi_var *(*bin_fn)(dsi_tape *, dsi_var *, dsi_var *);
static const bin_fn bin_fns[4] = {dsi_add, dsi_sub, dsi_mul, dsi_div};
static const char *const bin_names[4] = {"add", "sub", "mul", "div"};

static dsi_var *f_binary(dsi_tape *t, dsi_var **in, void *ctx)
{
    return bin_fns[*(int *)ctx](t, in[0], in[1]);
}

/* shape pairs: same, row broadcast each way, column, both, scalar each way,
 * size 1, 4-D, mixed ranks */
static const struct {
    int na, a[4], nb, b[4];
} bc_pairs[] = {
    {2, {3, 5}, 2, {3, 5}},
    {2, {4, 7}, 1, {7}},
    {1, {7}, 2, {4, 7}},
    {2, {5, 1}, 2, {5, 3}},
    {2, {5, 3}, 2, {5, 1}},
    {3, {3, 1, 5}, 2, {4, 1}},
    {0, {0}, 2, {2, 3}},
    {2, {2, 3}, 0, {0}},
    {1, {1}, 1, {1}},
    {2, {1, 1}, 1, {3}},
    {4, {2, 3, 1, 5}, 3, {3, 4, 1}},
    {4, {1, 3, 4, 1}, 4, {2, 1, 4, 5}},
    {3, {2, 1, 3}, 3, {2, 4, 3}},
    {1, {9}, 3, {2, 1, 1}},
};

START_TEST(grad_binary_broadcast)
{
    for (int op = 0; op < 4; op++)
        for (size_t k = 0; k < sizeof bc_pairs / sizeof *bc_pairs; k++) {
            gc_input in[2];
            memset(in, 0, sizeof in);
            in[0].nd = bc_pairs[k].na;
            memcpy(in[0].shape, bc_pairs[k].a, sizeof in[0].shape);
            in[1].nd = bc_pairs[k].nb;
            memcpy(in[1].shape, bc_pairs[k].b, sizeof in[1].shape);
            if (op == 3) { /* keep the divisor away from 0 */
                in[1].lo = 0.5f;
                in[1].hi = 1.5f;
            }
            int opc = op;
            int bad = gc_check(bin_names[op], f_binary, &opc, 2, in, NULL);
            ck_assert_msg(bad == 0, "%s pair %zu: %d mismatches", bin_names[op], k, bad);
            /* one side constant */
            in[0].no_grad = 1;
            ck_assert_int_eq(gc_check(bin_names[op], f_binary, &opc, 2, in, NULL), 0);
            in[0].no_grad = 0;
            in[1].no_grad = 1;
            ck_assert_int_eq(gc_check(bin_names[op], f_binary, &opc, 2, in, NULL), 0);
        }
}
END_TEST

static dsi_var *f_self(dsi_tape *t, dsi_var **in, void *ctx)
{
    return bin_fns[*(int *)ctx](t, in[0], in[0]);
}

START_TEST(grad_binary_same_input_twice)
{
    gc_input in[1] = {gin(2, 3, 4, 0, 0)};
    in[0].lo = 0.5f;
    in[0].hi = 1.5f;
    for (int op = 0; op < 4; op++) ck_assert_int_eq(gc_check(bin_names[op], f_self, &op, 1, in, NULL), 0);
}
END_TEST

static float ref_bin(int op, float a, float b)
{
    switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    default: return a / b;
    }
}

/* Random broadcast shapes (ranks 0..4, odd sizes, sizes 1, sizes over 16):
 * forward and both gradients against naive loops over the output. */
START_TEST(binary_matches_naive)
{
    dsi_rng r;
    dsi_rng_seed(&r, 21);
    static const int sizes[] = {1, 2, 3, 5, 7, 8, 16, 17, 33};
    dsi_tape t;
    dsi_tape_init(&t);
    for (int trial = 0; trial < 300; trial++) {
        dsi_tape_reset(&t);
        int nd = (int)dsi_rng_below(&r, 5), shape[4];
        for (int i = 0; i < nd; i++) shape[i] = sizes[dsi_rng_below(&r, nd >= 3 ? 6 : 9)];
        int sa[4], sb[4], na = nd - (int)dsi_rng_below(&r, (uint64_t)nd + 1), nb = nd;
        if (dsi_rng_below(&r, 2)) { /* drop leading dims of b instead of a */
            nb = na;
            na = nd;
        }
        for (int i = 0; i < na; i++) sa[i] = dsi_rng_below(&r, 3) ? shape[i + nd - na] : 1;
        for (int i = 0; i < nb; i++) sb[i] = dsi_rng_below(&r, 3) ? shape[i + nd - nb] : 1;
        /* broadcast output shape */
        int out[4];
        for (int i = 0; i < nd; i++) {
            int ia = i - (nd - na), ib = i - (nd - nb);
            int da = ia >= 0 ? sa[ia] : 1, db = ib >= 0 ? sb[ib] : 1;
            out[i] = da > db ? da : db;
        }
        int op = (int)dsi_rng_below(&r, 4);
        dsi_var *a = rand_var(&t, &r, na, sa, 1), *b = rand_var(&t, &r, nb, sb, 1);
        if (op == 3)
            for (size_t i = 0; i < b->n; i++) b->x[i] = 0.5f + fabsf(b->x[i]);
        dsi_var *y = bin_fns[op](&t, a, b);
        ck_assert_ptr_nonnull(y);
        ck_assert_int_eq(y->nd, nd);
        for (int i = 0; i < nd; i++) ck_assert_int_eq(y->shape[i], out[i]);
        float *seed = malloc(sizeof(float) * (y->n + 1));
        float *ga = calloc(a->n + 1, sizeof(float)), *gb = calloc(b->n + 1, sizeof(float));
        tu_fill(&r, seed, y->n);
        int o[4] = {0, 0, 0, 0};
        size_t k = 0;
        double err = 0.0;
        do {
            size_t ia = bc_offset(a, nd, o), ib = bc_offset(b, nd, o);
            float ref = ref_bin(op, a->x[ia], b->x[ib]);
            double e = fabs(y->x[k] - ref);
            if (e > err) err = e;
            float g = seed[k];
            switch (op) {
            case 0: ga[ia] += g; gb[ib] += g; break;
            case 1: ga[ia] += g; gb[ib] -= g; break;
            case 2: ga[ia] += g * b->x[ib]; gb[ib] += g * a->x[ia]; break;
            default: ga[ia] += g / b->x[ib]; gb[ib] -= g * a->x[ia] / (b->x[ib] * b->x[ib]); break;
            }
            k++;
        } while (next_index(nd, out, o));
        ck_assert_uint_eq(k, y->n);
        ck_assert_msg(err <= 1e-6, "trial %d op %s: forward error %g", trial, bin_names[op], err);
        ck_assert_int_eq(dsi_tape_backward_seed(&t, y, seed), DSN_OK);
        ck_assert_msg(tu_max_rel_err(a->g, ga, a->n) < 1e-4, "trial %d op %s: grad a", trial, bin_names[op]);
        ck_assert_msg(tu_max_rel_err(b->g, gb, b->n) < 1e-4, "trial %d op %s: grad b", trial, bin_names[op]);
        free(seed);
        free(ga);
        free(gb);
    }
    dsi_tape_release(&t);
}
END_TEST

START_TEST(binary_errors)
{
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_rng r;
    dsi_rng_seed(&r, 2);
    int s1[2] = {3, 4}, s2[1] = {5};
    dsi_var *a = rand_var(&t, &r, 2, s1, 0), *b = rand_var(&t, &r, 1, s2, 0);
    ck_assert_ptr_null(dsi_add(&t, NULL, a));
    ck_assert_ptr_null(dsi_mul(&t, a, NULL));
    ck_assert_int_eq(t.status, DSN_OK); /* NULL input alone does not fail */
    ck_assert_ptr_null(dsi_add(&t, a, b));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "broadcast"));
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "[3,4]"));
    /* an empty dimension broadcasts to an empty result; backward is a no-op */
    dsi_tape_reset(&t);
    int se[3] = {2, 0, 3}, sr[1] = {3};
    dsi_var *e = rand_var(&t, &r, 3, se, 1), *row = rand_var(&t, &r, 1, sr, 1);
    dsi_var *ye = dsi_mul(&t, row, e);
    ck_assert_ptr_nonnull(ye);
    ck_assert_uint_eq(ye->n, 0);
    ck_assert_int_eq(ye->shape[1], 0);
    dsi_var *se_sum = dsi_sum(&t, ye);
    ck_assert_int_eq(dsi_tape_backward(&t, se_sum), DSN_OK);
    for (int i = 0; i < 3; i++) ck_assert_float_eq(row->g[i], 0.0f);
    /* the first failure wins */
    dsi_tape_reset(&t);
    ck_assert_ptr_null(dsi_div(&t, b, a));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "div"));
    dsi_tape_release(&t);
}
END_TEST

/* ---------------------------------------------------------- unary ops */

typedef struct {
    dsi_act act;
    float alpha;
    int wrapper;
} un_ctx;

static dsi_var *f_unary(dsi_tape *t, dsi_var **in, void *ctx)
{
    const un_ctx *c = ctx;
    if (!c->wrapper) return dsi_unary(t, in[0], c->act, c->alpha);
    switch (c->act) {
    case DSI_ACT_RELU: return dsi_relu(t, in[0]);
    case DSI_ACT_LEAKY: return dsi_leaky_relu(t, in[0], c->alpha);
    case DSI_ACT_TANH: return dsi_tanh(t, in[0]);
    case DSI_ACT_SIGMOID: return dsi_sigmoid(t, in[0]);
    case DSI_ACT_SOFTPLUS: return dsi_softplus(t, in[0]);
    case DSI_ACT_EXP: return dsi_exp(t, in[0]);
    case DSI_ACT_LOG: return dsi_log(t, in[0]);
    default: return dsi_unary(t, in[0], c->act, c->alpha);
    }
}

static double ref_act(dsi_act act, float alpha, double x)
{
    switch (act) {
    case DSI_ACT_NONE: return x;
    case DSI_ACT_RELU: return x > 0 ? x : 0;
    case DSI_ACT_LEAKY: return x > 0 ? x : alpha * x;
    case DSI_ACT_TANH: return tanh(x);
    case DSI_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case DSI_ACT_SOFTPLUS: return log1p(exp(x));
    case DSI_ACT_EXP: return exp(x);
    case DSI_ACT_LOG: return log(x);
    case DSI_ACT_SQUARE: return x * x;
    case DSI_ACT_NEG: return -x;
    default: return NAN;
    }
}

START_TEST(grad_unary_each_activation)
{
    for (int act = 0; act < DSI_ACT_COUNT_; act++)
        for (int wrapper = 0; wrapper < 2; wrapper++) {
            un_ctx c = {(dsi_act)act, act == DSI_ACT_LEAKY ? 0.2f : 0.0f, wrapper};
            gc_input in[1] = {gin(3, 2, 3, 7, 0)};
            in[0].lo = -2.0f;
            in[0].hi = 2.0f;
            if (act == DSI_ACT_RELU || act == DSI_ACT_LEAKY) in[0].min_abs = 0.05f; /* the kink */
            if (act == DSI_ACT_LOG) {
                in[0].lo = 0.2f;
                in[0].hi = 3.0f;
            }
            int bad = gc_check("unary", f_unary, &c, 1, in, NULL);
            ck_assert_msg(bad == 0, "act %d wrapper %d: %d mismatches", act, wrapper, bad);
        }
}
END_TEST

START_TEST(unary_matches_naive)
{
    dsi_rng r;
    dsi_rng_seed(&r, 5);
    dsi_tape t;
    dsi_tape_init(&t);
    static const int lens[] = {1, 3, 8, 17, 100};
    for (int act = 0; act < DSI_ACT_COUNT_; act++)
        for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
            dsi_tape_reset(&t);
            int s[1] = {lens[l]};
            dsi_var *x = rand_var(&t, &r, 1, s, 0);
            for (size_t i = 0; i < x->n; i++) x->x[i] *= 8.0f; /* both tails of softplus/sigmoid */
            if (act == DSI_ACT_LOG)
                for (size_t i = 0; i < x->n; i++) x->x[i] = fabsf(x->x[i]) + 1e-3f;
            un_ctx c = {(dsi_act)act, 0.1f, 1};
            dsi_var *in[1] = {x};
            dsi_var *y = f_unary(&t, in, &c);
            ck_assert_ptr_nonnull(y);
            for (size_t i = 0; i < x->n; i++) {
                double ref = ref_act((dsi_act)act, 0.1f, x->x[i]);
                ck_assert_msg(fabs(y->x[i] - ref) <= 1e-5 * (1.0 + fabs(ref)), "act %d x %g: %g vs %g", act,
                              (double)x->x[i], (double)y->x[i], ref);
            }
        }
    /* unknown activation */
    int s[1] = {3};
    dsi_tape_reset(&t);
    dsi_var *x = rand_var(&t, &r, 1, s, 0);
    ck_assert_ptr_null(dsi_unary(&t, x, DSI_ACT_COUNT_, 0.0f));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "activation"));
    ck_assert_ptr_null(dsi_relu(&t, NULL));
    dsi_tape_release(&t);
}
END_TEST

static dsi_var *f_affine(dsi_tape *t, dsi_var **in, void *ctx)
{
    const float *sc = ctx;
    return dsi_affine_scalar(t, in[0], sc[0], sc[1]);
}

START_TEST(grad_affine_scalar)
{
    float sc[2] = {-1.7f, 0.3f};
    gc_input in[1] = {gin(2, 5, 3, 0, 0)};
    ck_assert_int_eq(gc_check("affine", f_affine, sc, 1, in, NULL), 0);
    in[0] = gin(0, 0, 0, 0, 0);
    ck_assert_int_eq(gc_check("affine scalar", f_affine, sc, 1, in, NULL), 0);
    /* forward */
    dsi_tape t;
    dsi_tape_init(&t);
    float v[5] = {1, -2, 0.5f, 3, 0};
    int s[1] = {5};
    dsi_var *y = dsi_affine_scalar(&t, dsi_tape_wrap(&t, v, 1, s), 2.0f, -1.0f);
    ck_assert_ptr_nonnull(y);
    for (int i = 0; i < 5; i++) ck_assert_float_eq(y->x[i], 2.0f * v[i] - 1.0f);
    ck_assert_ptr_null(dsi_affine_scalar(&t, NULL, 1, 0));
    dsi_tape_release(&t);
}
END_TEST

/* sum_i r_i tanh(a_i) b_i in double: the two paths of the gradient-reversal check */
static double grl_probe(const float *a, const float *b, const float *r, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)r[i] * tanh((double)a[i]) * (double)b[i];
    return s;
}

/* gradient reversal: the forward pass is a copy of x (bit for bit, its own var), the backward
 * pass adds exactly -lambda x upstream to x's gradient (accumulating), nothing is recorded for a
 * constant input or with recording off; through a composition L = sum r tanh(GRL(x)) x the
 * gradient is the finite difference of the path that skips the op minus lambda times the
 * finite difference of the path through it */
START_TEST(grad_reverse_is_minus_lambda_upstream)
{
    enum { N = 7 };
    static const float lambdas[] = {1.0f, 0.5f, 0.0f, -2.0f, 3.25f};
    dsi_rng r;
    dsi_rng_seed(&r, 31);
    int s[2] = {1, N};
    for (size_t k = 0; k < sizeof lambdas / sizeof *lambdas; k++) {
        const float lam = lambdas[k];
        dsi_tape t;
        dsi_tape_init(&t);
        dsi_var *x = rand_var(&t, &r, 2, s, 1);
        float g0[N], up[N];
        tu_fill(&r, g0, N);
        tu_fill(&r, up, N);
        memcpy(x->g, g0, sizeof g0);
        dsi_var *y = dsi_grad_reverse(&t, x, lam);
        ck_assert_ptr_nonnull(y);
        ck_assert_ptr_ne(y->x, x->x);
        ck_assert_ptr_nonnull(y->g);
        ck_assert_int_eq(y->nd, 2);
        ck_assert_int_eq(y->shape[1], N);
        ck_assert_int_eq(memcmp(y->x, x->x, sizeof(float) * N), 0);
        ck_assert_uint_eq(t.n_nodes, 1);
        ck_assert_int_eq(dsi_tape_backward_seed(&t, y, up), DSN_OK);
        for (int i = 0; i < N; i++) {
            float want = g0[i] + -lam * up[i];
            ck_assert_msg(x->g[i] == want, "lambda %g [%d]: %g vs %g", (double)lam, i, (double)x->g[i], (double)want);
        }

        /* the composition against finite differences of its two paths */
        dsi_tape_reset(&t);
        float xv[N], rv[N];
        tu_fill(&r, xv, N);
        tu_fill(&r, rv, N);
        dsi_var *xx = dsi_tape_new(&t, 2, s, 1);
        memcpy(xx->x, xv, sizeof xv);
        dsi_var *l = dsi_weighted_sum(&t, dsi_mul(&t, dsi_tanh(&t, dsi_grad_reverse(&t, xx, lam)), xx), rv);
        ck_assert_ptr_nonnull(l);
        ck_assert_double_eq_tol(l->x[0], grl_probe(xv, xv, rv, N), 1e-5);
        ck_assert_int_eq(dsi_tape_backward(&t, l), DSN_OK);
        for (int i = 0; i < N; i++) {
            const double h = 1e-3;
            float p[N], q[N];
            memcpy(p, xv, sizeof p);
            memcpy(q, xv, sizeof q);
            p[i] += (float)h;
            q[i] -= (float)h;
            double through = (grl_probe(p, xv, rv, N) - grl_probe(q, xv, rv, N)) / (2 * h);
            double skip = (grl_probe(xv, p, rv, N) - grl_probe(xv, q, rv, N)) / (2 * h);
            double want = skip - (double)lam * through;
            ck_assert_msg(fabs(xx->g[i] - want) <= 2e-3 + 1e-2 * fabs(want), "lambda %g [%d]: %g vs %g", (double)lam, i,
                          (double)xx->g[i], want);
        }

        /* a constant input: a copy without gradient and no node; recording off: no node */
        dsi_tape_reset(&t);
        dsi_var *c = rand_var(&t, &r, 2, s, 0);
        dsi_var *yc = dsi_grad_reverse(&t, c, lam);
        ck_assert_ptr_nonnull(yc);
        ck_assert_ptr_null(yc->g);
        ck_assert_int_eq(memcmp(yc->x, c->x, sizeof(float) * N), 0);
        dsi_tape_set_recording(&t, 0);
        dsi_var *xr = rand_var(&t, &r, 2, s, 1);
        ck_assert_ptr_nonnull(dsi_grad_reverse(&t, xr, lam));
        ck_assert_uint_eq(t.n_nodes, 0);
        ck_assert_ptr_null(dsi_grad_reverse(&t, NULL, lam));
        dsi_tape_release(&t);
    }
}
END_TEST

static dsi_var *f_clamp(dsi_tape *t, dsi_var **in, void *ctx)
{
    const float *lh = ctx;
    return dsi_clamp(t, in[0], lh[0], lh[1]);
}

START_TEST(grad_clamp)
{
    /* values on both sides of both bounds, none within 0.05 of a bound */
    float v[12] = {-1.0f, -0.7f, -0.45f, -0.2f, 0.0f, 0.1f, 0.3f, 0.55f, 0.9f, 1.3f, -0.6f, 0.42f};
    float lh[2] = {-0.5f, 0.5f};
    gc_input in[1] = {gin(2, 3, 4, 0, 0)};
    in[0].values = v;
    ck_assert_int_eq(gc_check("clamp", f_clamp, lh, 1, in, NULL), 0);
    dsi_tape t;
    dsi_tape_init(&t);
    int s[1] = {12};
    float gy[12], *gx = calloc(12, sizeof(float));
    dsi_var x = {v, gx, 1, {12}, 12};
    dsi_var *y = dsi_clamp(&t, &x, lh[0], lh[1]);
    ck_assert_ptr_nonnull(y);
    for (int i = 0; i < 12; i++) {
        float ref = v[i] < -0.5f ? -0.5f : v[i] > 0.5f ? 0.5f : v[i];
        ck_assert_float_eq(y->x[i], ref);
        gy[i] = 1.0f + (float)i;
    }
    ck_assert_int_eq(dsi_tape_backward_seed(&t, y, gy), DSN_OK);
    for (int i = 0; i < 12; i++) ck_assert_float_eq(gx[i], (v[i] > -0.5f && v[i] < 0.5f) ? gy[i] : 0.0f);
    ck_assert_ptr_null(dsi_clamp(&t, dsi_tape_wrap(&t, v, 1, s), 1.0f, -1.0f));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "clamp"));
    free(gx);
    dsi_tape_release(&t);
}
END_TEST

/* ---------------------------------------------------------- reductions */

static dsi_var *f_sum(dsi_tape *t, dsi_var **in, void *ctx)
{
    return *(int *)ctx ? dsi_mean(t, in[0]) : dsi_sum(t, in[0]);
}

START_TEST(grad_sum_mean)
{
    int shapes[][4] = {{1, 1, 1, 1}, {3, 5, 1, 1}, {2, 3, 1, 7}};
    int nds[] = {1, 2, 4};
    for (int mean = 0; mean < 2; mean++)
        for (int k = 0; k < 3; k++) {
            gc_input in[1] = {gin(nds[k], shapes[k][0], shapes[k][1], shapes[k][2], shapes[k][3])};
            ck_assert_int_eq(gc_check(mean ? "mean" : "sum", f_sum, &mean, 1, in, NULL), 0);
        }
    dsi_rng r;
    dsi_rng_seed(&r, 8);
    dsi_tape t;
    dsi_tape_init(&t);
    int s[1] = {1001};
    dsi_var *x = rand_var(&t, &r, 1, s, 0);
    double ref = 0;
    for (size_t i = 0; i < x->n; i++) ref += x->x[i];
    dsi_var *sm = dsi_sum(&t, x), *mn = dsi_mean(&t, x);
    ck_assert_int_eq(sm->nd, 0);
    ck_assert_uint_eq(sm->n, 1);
    ck_assert_double_le(fabs(sm->x[0] - ref), 1e-4);
    ck_assert_double_le(fabs(mn->x[0] - ref / 1001.0), 1e-6);
    /* empty: sum 0, mean 0 (not NaN) */
    int z[1] = {0};
    dsi_var *e = dsi_tape_new(&t, 1, z, 0);
    ck_assert_float_eq(dsi_sum(&t, e)->x[0], 0.0f);
    ck_assert_float_eq(dsi_mean(&t, e)->x[0], 0.0f);
    ck_assert_ptr_null(dsi_sum(&t, NULL));
    dsi_tape_release(&t);
}
END_TEST

typedef struct {
    int axis, keepdim, mean;
} ax_ctx;

static dsi_var *f_axis(dsi_tape *t, dsi_var **in, void *ctx)
{
    const ax_ctx *c = ctx;
    return c->mean ? dsi_mean_axis(t, in[0], c->axis, c->keepdim) : dsi_sum_axis(t, in[0], c->axis, c->keepdim);
}

START_TEST(grad_sum_mean_axis)
{
    gc_input ins[3] = {gin(4, 2, 3, 1, 5), gin(2, 4, 7, 0, 0), gin(1, 6, 0, 0, 0)};
    for (int k = 0; k < 3; k++)
        for (int axis = -ins[k].nd; axis < ins[k].nd; axis++)
            for (int keep = 0; keep < 2; keep++)
                for (int mean = 0; mean < 2; mean++) {
                    ax_ctx c = {axis, keep, mean};
                    int bad = gc_check("axis", f_axis, &c, 1, &ins[k], NULL);
                    ck_assert_msg(bad == 0, "input %d axis %d keep %d mean %d", k, axis, keep, mean);
                }
}
END_TEST

START_TEST(axis_matches_naive)
{
    dsi_rng r;
    dsi_rng_seed(&r, 9);
    dsi_tape t;
    dsi_tape_init(&t);
    static const int sizes[] = {1, 2, 3, 5, 9, 17, 33};
    for (int trial = 0; trial < 80; trial++) {
        dsi_tape_reset(&t);
        int nd = 1 + (int)dsi_rng_below(&r, 4), s[4];
        for (int i = 0; i < nd; i++) s[i] = sizes[dsi_rng_below(&r, 7)];
        int axis = (int)dsi_rng_below(&r, (uint64_t)nd), keep = (int)dsi_rng_below(&r, 2),
            mean = (int)dsi_rng_below(&r, 2);
        dsi_var *x = rand_var(&t, &r, nd, s, 0);
        ax_ctx c = {axis, keep, mean};
        dsi_var *in[1] = {x};
        dsi_var *y = f_axis(&t, in, &c);
        ck_assert_ptr_nonnull(y);
        ck_assert_int_eq(y->nd, keep ? nd : nd - 1);
        double *ref = calloc(y->n + 1, sizeof(double));
        int o[4] = {0, 0, 0, 0};
        size_t k = 0;
        do {
            size_t dst = 0;
            for (int i = 0; i < nd; i++)
                if (i != axis) dst = dst * (size_t)s[i] + (size_t)o[i];
            ref[dst] += x->x[k++] / (mean ? s[axis] : 1);
        } while (next_index(nd, s, o));
        for (size_t i = 0; i < y->n; i++) ck_assert_double_le(fabs(y->x[i] - ref[i]), 1e-5);
        free(ref);
    }
    /* bad axis */
    int s[2] = {2, 3};
    dsi_var *x = rand_var(&t, &r, 2, s, 0);
    ck_assert_ptr_null(dsi_sum_axis(&t, x, 2, 0));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "axis 2"));
    dsi_tape_reset(&t);
    x = rand_var(&t, &r, 2, s, 0);
    ck_assert_ptr_null(dsi_mean_axis(&t, x, -3, 1));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "mean_axis"));
    dsi_tape_release(&t);
}
END_TEST

/* mask: row 0 partly masked, row 1 fully masked, row 2 all on, row 3 one frame */
static const float test_mask[4 * 5] = {1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0};

static dsi_var *f_masked(dsi_tape *t, dsi_var **in, void *ctx)
{
    return dsi_masked_mean_time(t, in[0], ctx);
}

START_TEST(grad_masked_mean_time)
{
    gc_input in[1] = {gin(3, 4, 5, 3, 0)};
    ck_assert_int_eq(gc_check("masked_mean_time", f_masked, (void *)test_mask, 1, in, NULL), 0);
    /* D = 1, T = 1 */
    float m1[2] = {1, 0};
    in[0] = gin(3, 2, 1, 1, 0);
    ck_assert_int_eq(gc_check("masked_mean_time 1", f_masked, m1, 1, in, NULL), 0);
}
END_TEST

START_TEST(masked_mean_time_matches_naive)
{
    dsi_rng r;
    dsi_rng_seed(&r, 12);
    dsi_tape t;
    dsi_tape_init(&t);
    int s[3] = {4, 5, 19};
    dsi_var *x = rand_var(&t, &r, 3, s, 1);
    float mask[20];
    memcpy(mask, test_mask, sizeof mask);
    dsi_var *y = dsi_masked_mean_time(&t, x, mask);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(y->nd, 2);
    ck_assert_int_eq(y->shape[0], 4);
    ck_assert_int_eq(y->shape[1], 19);
    for (int b = 0; b < 4; b++) {
        double cnt = 0;
        for (int q = 0; q < 5; q++) cnt += mask[b * 5 + q];
        for (int d = 0; d < 19; d++) {
            double acc = 0;
            for (int q = 0; q < 5; q++) acc += mask[b * 5 + q] * x->x[(b * 5 + q) * 19 + d];
            double ref = cnt > 0 ? acc / cnt : 0.0;
            ck_assert_double_le(fabs(y->x[b * 19 + d] - ref), 1e-6);
        }
    }
    for (int d = 0; d < 19; d++) ck_assert_float_eq(y->x[19 + d], 0.0f); /* fully masked row: 0 */
    /* the caller may change its mask after the call: backward uses the copy */
    float seed[4 * 19];
    for (int i = 0; i < 4 * 19; i++) seed[i] = 1.0f;
    memset(mask, 0, sizeof mask);
    ck_assert_int_eq(dsi_tape_backward_seed(&t, y, seed), DSN_OK);
    for (int b = 0; b < 4; b++) {
        double cnt = 0;
        for (int q = 0; q < 5; q++) cnt += test_mask[b * 5 + q];
        for (int q = 0; q < 5; q++)
            for (int d = 0; d < 19; d++) {
                float g = x->g[(b * 5 + q) * 19 + d];
                ck_assert(isfinite(g));
                ck_assert_double_le(fabs(g - (test_mask[b * 5 + q] ? 1.0 / cnt : 0.0)), 1e-6);
            }
    }
    /* errors */
    ck_assert_ptr_null(dsi_masked_mean_time(&t, x, NULL));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    dsi_tape_reset(&t);
    int s2[2] = {4, 5};
    ck_assert_ptr_null(dsi_masked_mean_time(&t, rand_var(&t, &r, 2, s2, 0), test_mask));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "[B,T,D]"));
    dsi_tape_release(&t);
}
END_TEST

static dsi_var *f_wsum(dsi_tape *t, dsi_var **in, void *ctx)
{
    return dsi_weighted_sum(t, in[0], ctx);
}

START_TEST(grad_weighted_sum)
{
    float w[3 * 7];
    dsi_rng r;
    dsi_rng_seed(&r, 4);
    tu_fill(&r, w, 21);
    gc_input in[1] = {gin(2, 3, 7, 0, 0)};
    ck_assert_int_eq(gc_check("weighted_sum", f_wsum, w, 1, in, NULL), 0);
    dsi_tape t;
    dsi_tape_init(&t);
    int s[2] = {3, 7};
    dsi_var *x = rand_var(&t, &r, 2, s, 0);
    double ref = 0;
    for (int i = 0; i < 21; i++) ref += (double)w[i] * x->x[i];
    dsi_var *y = dsi_weighted_sum(&t, x, w);
    ck_assert_double_le(fabs(y->x[0] - ref), 1e-5);
    ck_assert_ptr_null(dsi_weighted_sum(&t, x, NULL));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    dsi_tape_release(&t);
}
END_TEST

/* ---------------------------------------------------------- shape ops */

static dsi_var *f_reshape(dsi_tape *t, dsi_var **in, void *ctx)
{
    (void)ctx;
    int s[3] = {-1, 2, 3};
    dsi_var *v = dsi_reshape(t, in[0], 3, s); /* [4,3] -> [2,2,3] */
    return dsi_mul(t, v, in[1]);              /* broadcast against [2,1,3] */
}

START_TEST(reshape_is_a_view)
{
    gc_input in[2] = {gin(2, 4, 3, 0, 0), gin(3, 2, 1, 3, 0)};
    ck_assert_int_eq(gc_check("reshape", f_reshape, NULL, 2, in, NULL), 0);
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_rng r;
    dsi_rng_seed(&r, 1);
    int s[2] = {6, 4};
    dsi_var *x = rand_var(&t, &r, 2, s, 1);
    size_t nodes = t.n_nodes;
    int ns[3] = {2, 3, 4};
    dsi_var *v = dsi_reshape(&t, x, 3, ns);
    ck_assert_ptr_nonnull(v);
    ck_assert_ptr_eq(v->x, x->x);
    ck_assert_ptr_eq(v->g, x->g);
    ck_assert_uint_eq(t.n_nodes, nodes);
    ck_assert_int_eq(v->nd, 3);
    ck_assert_uint_eq(v->n, 24);
    int sc[1] = {-1};
    v = dsi_reshape(&t, x, 1, sc);
    ck_assert_int_eq(v->shape[0], 24);
    /* scalar <-> [1,1] */
    int one[2] = {1, 1};
    dsi_var *sc0 = dsi_sum(&t, x);
    ck_assert_int_eq(dsi_reshape(&t, sc0, 2, one)->n, 1);
    /* count mismatch, bad inference, bad rank */
    int bad[2] = {5, 5};
    ck_assert_ptr_null(dsi_reshape(&t, x, 2, bad));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "reshape"));
    dsi_tape_reset(&t);
    x = rand_var(&t, &r, 2, s, 1);
    int bad2[2] = {-1, 5};
    ck_assert_ptr_null(dsi_reshape(&t, x, 2, bad2));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    dsi_tape_reset(&t);
    x = rand_var(&t, &r, 2, s, 1);
    int big[5] = {1, 1, 1, 6, 4};
    ck_assert_ptr_null(dsi_reshape(&t, x, 5, big));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    dsi_tape_release(&t);
}
END_TEST

typedef struct {
    int n, axis;
} cat_ctx;

static dsi_var *f_concat(dsi_tape *t, dsi_var **in, void *ctx)
{
    const cat_ctx *c = ctx;
    return dsi_concat(t, in, c->n, c->axis);
}

START_TEST(grad_concat_each_axis)
{
    for (int axis = 0; axis < 3; axis++) {
        gc_input in[3] = {gin(3, 2, 3, 4, 0), gin(3, 2, 3, 4, 0), gin(3, 2, 3, 4, 0)};
        in[0].shape[axis] = 1;
        in[1].shape[axis] = 3;
        in[2].shape[axis] = 2;
        in[1].no_grad = axis == 1; /* a constant input in the middle */
        cat_ctx c = {3, axis};
        ck_assert_int_eq(gc_check("concat", f_concat, &c, 3, in, NULL), 0);
        c.axis = axis - 3; /* negative axis */
        ck_assert_int_eq(gc_check("concat neg", f_concat, &c, 3, in, NULL), 0);
    }
    /* more inputs than a node holds */
    gc_input many[8];
    for (int k = 0; k < 8; k++) many[k] = gin(2, 2, 1 + k % 3, 0, 0);
    cat_ctx c = {8, 1};
    ck_assert_int_eq(gc_check("concat 8", f_concat, &c, 8, many, NULL), 0);
    c.n = 1;
    ck_assert_int_eq(gc_check("concat 1", f_concat, &c, 1, many, NULL), 0);
}
END_TEST

START_TEST(concat_matches_naive)
{
    dsi_rng r;
    dsi_rng_seed(&r, 13);
    dsi_tape t;
    dsi_tape_init(&t);
    for (int axis = 0; axis < 4; axis++) {
        dsi_tape_reset(&t);
        int base[4] = {3, 5, 2, 7};
        dsi_var *vs[3];
        int off[4] = {0};
        for (int k = 0; k < 3; k++) {
            int s[4];
            memcpy(s, base, sizeof s);
            s[axis] = 1 + 4 * k; /* 1, 5, 9 */
            vs[k] = rand_var(&t, &r, 4, s, 0);
            off[k + 1] = off[k] + s[axis];
        }
        dsi_var *y = dsi_concat(&t, vs, 3, axis);
        ck_assert_ptr_nonnull(y);
        ck_assert_int_eq(y->shape[axis], 15);
        int o[4] = {0, 0, 0, 0};
        size_t k = 0;
        do {
            int src = o[axis] < off[1] ? 0 : o[axis] < off[2] ? 1 : 2;
            int oi[4];
            memcpy(oi, o, sizeof oi);
            oi[axis] -= off[src];
            size_t idx = 0;
            for (int i = 0; i < 4; i++) idx = idx * (size_t)vs[src]->shape[i] + (size_t)oi[i];
            ck_assert_float_eq(y->x[k], vs[src]->x[idx]);
            k++;
        } while (next_index(4, y->shape, o));
    }
    /* mismatch, bad axis, rank mismatch, no inputs */
    dsi_tape_reset(&t);
    int s1[2] = {2, 3}, s2[2] = {3, 3}, s3[1] = {3};
    dsi_var *a = rand_var(&t, &r, 2, s1, 0), *b = rand_var(&t, &r, 2, s2, 0), *c = rand_var(&t, &r, 1, s3, 0);
    dsi_var *ab[2] = {a, b}, *ac[2] = {a, c};
    ck_assert_ptr_nonnull(dsi_concat(&t, ab, 2, 0));
    ck_assert_ptr_null(dsi_concat(&t, ab, 2, 1));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "concat"));
    dsi_tape_reset(&t);
    a = rand_var(&t, &r, 2, s1, 0);
    c = rand_var(&t, &r, 1, s3, 0);
    ac[0] = a;
    ac[1] = c;
    ck_assert_ptr_null(dsi_concat(&t, ac, 2, 0));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    dsi_tape_reset(&t);
    a = rand_var(&t, &r, 2, s1, 0);
    ab[0] = ab[1] = a;
    ck_assert_ptr_null(dsi_concat(&t, ab, 2, 2));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "axis"));
    dsi_tape_reset(&t);
    ck_assert_ptr_null(dsi_concat(&t, ab, 0, 0));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    dsi_tape_release(&t);
}
END_TEST

typedef struct {
    int axis, start, len;
} slice_ctx;

static dsi_var *f_slice(dsi_tape *t, dsi_var **in, void *ctx)
{
    const slice_ctx *c = ctx;
    return dsi_slice(t, in[0], c->axis, c->start, c->len);
}

START_TEST(grad_slice_each_axis)
{
    gc_input in[1] = {gin(3, 3, 5, 4, 0)};
    for (int axis = 0; axis < 3; axis++) {
        int d = in[0].shape[axis];
        slice_ctx cs[3] = {{axis, 0, 1}, {axis, 1, d - 2}, {axis, 0, d}};
        for (int k = 0; k < 3; k++) ck_assert_int_eq(gc_check("slice", f_slice, &cs[k], 1, in, NULL), 0);
    }
}
END_TEST

START_TEST(slice_matches_naive)
{
    dsi_rng r;
    dsi_rng_seed(&r, 14);
    dsi_tape t;
    dsi_tape_init(&t);
    int s[4] = {3, 7, 2, 9};
    for (int axis = -4; axis < 4; axis++) {
        dsi_tape_reset(&t);
        dsi_var *x = rand_var(&t, &r, 4, s, 0);
        int ax = axis < 0 ? axis + 4 : axis;
        int start = s[ax] > 2 ? 1 : 0, len = s[ax] - start - (s[ax] > 3);
        dsi_var *y = dsi_slice(&t, x, axis, start, len);
        ck_assert_ptr_nonnull(y);
        int o[4] = {0, 0, 0, 0};
        size_t k = 0;
        do {
            int oi[4];
            memcpy(oi, o, sizeof oi);
            oi[ax] += start;
            size_t idx = 0;
            for (int i = 0; i < 4; i++) idx = idx * (size_t)s[i] + (size_t)oi[i];
            ck_assert_float_eq(y->x[k], x->x[idx]);
            k++;
        } while (next_index(4, y->shape, o));
        ck_assert_uint_eq(k, y->n);
    }
    dsi_tape_reset(&t);
    dsi_var *x = rand_var(&t, &r, 4, s, 0);
    ck_assert_ptr_null(dsi_slice(&t, x, 1, 5, 3));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "slice"));
    dsi_tape_reset(&t);
    x = rand_var(&t, &r, 4, s, 0);
    ck_assert_ptr_null(dsi_slice(&t, x, 4, 0, 1));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    dsi_tape_reset(&t);
    x = rand_var(&t, &r, 4, s, 0);
    ck_assert_ptr_null(dsi_slice(&t, x, 0, -1, 1));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    dsi_tape_release(&t);
}
END_TEST

static dsi_var *f_transpose(dsi_tape *t, dsi_var **in, void *ctx)
{
    return dsi_transpose(t, in[0], ctx);
}

/* all permutations of 0..n-1 into out (n! rows of n) */
static int perms(int n, int (*out)[4])
{
    int cnt = 0, p[4] = {0, 1, 2, 3};
    int total = 1;
    for (int i = 2; i <= n; i++) total *= i;
    for (int k = 0; k < total; k++) {
        /* k-th permutation by the factorial number system */
        int avail[4] = {0, 1, 2, 3}, na = n, rem = k, f = total;
        for (int i = 0; i < n; i++) {
            f /= (n - i);
            int j = rem / f;
            rem %= f;
            p[i] = avail[j];
            for (int m = j; m < na - 1; m++) avail[m] = avail[m + 1];
            na--;
        }
        memcpy(out[cnt++], p, sizeof p);
    }
    return cnt;
}

START_TEST(grad_transpose_perms)
{
    int ps[24][4];
    gc_input in2 = gin(2, 3, 5, 0, 0), in3 = gin(3, 2, 3, 4, 0), in4 = gin(4, 2, 1, 3, 4);
    int n = perms(2, ps);
    for (int k = 0; k < n; k++) ck_assert_int_eq(gc_check("transpose2", f_transpose, ps[k], 1, &in2, NULL), 0);
    n = perms(3, ps);
    for (int k = 0; k < n; k++) ck_assert_int_eq(gc_check("transpose3", f_transpose, ps[k], 1, &in3, NULL), 0);
    n = perms(4, ps);
    for (int k = 0; k < n; k += 5) ck_assert_int_eq(gc_check("transpose4", f_transpose, ps[k], 1, &in4, NULL), 0);
}
END_TEST

/* Forward and backward of every permutation against naive index loops, on
 * shapes large enough for the tiled path (dims over 32, odd). */
START_TEST(transpose_matches_naive)
{
    dsi_rng r;
    dsi_rng_seed(&r, 15);
    dsi_tape t;
    dsi_tape_init(&t);
    static const int shapes[][4] = {{37, 45, 0, 0}, {1, 40, 0, 0}, {3, 35, 33, 0}, {2, 3, 5, 7}, {2, 33, 1, 34}};
    static const int nds[] = {2, 2, 3, 4, 4};
    int ps[24][4];
    for (int sh = 0; sh < 5; sh++) {
        int nd = nds[sh], n = perms(nd, ps);
        for (int k = 0; k < n; k++) {
            dsi_tape_reset(&t);
            dsi_var *x = rand_var(&t, &r, nd, shapes[sh], 1);
            for (size_t i = 0; i < x->n; i++) x->g[i] = 1.0f; /* backward must accumulate */
            dsi_var *y = dsi_transpose(&t, x, ps[k]);
            ck_assert_ptr_nonnull(y);
            float *seed = malloc(sizeof(float) * y->n);
            tu_fill(&r, seed, y->n);
            ck_assert_int_eq(dsi_tape_backward_seed(&t, y, seed), DSN_OK);
            int o[4] = {0, 0, 0, 0};
            size_t q = 0;
            do {
                int xi[4];
                for (int i = 0; i < nd; i++) xi[ps[k][i]] = o[i];
                size_t idx = 0;
                for (int i = 0; i < nd; i++) idx = idx * (size_t)x->shape[i] + (size_t)xi[i];
                ck_assert_float_eq(y->x[q], x->x[idx]);
                ck_assert_float_eq(x->g[idx], 1.0f + seed[q]); /* a permutation: each gradient once */
                q++;
            } while (next_index(nd, y->shape, o));
            free(seed);
        }
    }
    int s[3] = {2, 3, 4};
    dsi_tape_reset(&t);
    dsi_var *x = rand_var(&t, &r, 3, s, 0);
    int bad[3] = {0, 0, 1}, bad2[3] = {0, 1, 3};
    ck_assert_ptr_null(dsi_transpose(&t, x, bad));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "permutation"));
    dsi_tape_reset(&t);
    x = rand_var(&t, &r, 3, s, 0);
    ck_assert_ptr_null(dsi_transpose(&t, x, bad2));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    dsi_tape_release(&t);
}
END_TEST

typedef struct {
    const int *idx;
    int m;
} idx_ctx;

static dsi_var *f_gather(dsi_tape *t, dsi_var **in, void *ctx)
{
    const idx_ctx *c = ctx;
    return dsi_gather_rows(t, in[0], c->idx, c->m);
}

static dsi_var *f_scatter(dsi_tape *t, dsi_var **in, void *ctx)
{
    const idx_ctx *c = ctx;
    return dsi_scatter_add_rows(t, in[0], c->idx, c->m);
}

START_TEST(grad_gather_scatter_repeated)
{
    static const int idx[7] = {2, 0, 2, 4, 2, 0, 1};
    idx_ctx g = {idx, 7};
    gc_input x2 = gin(2, 5, 3, 0, 0), x3 = gin(3, 5, 1, 4, 0), x1 = gin(1, 5, 0, 0, 0);
    ck_assert_int_eq(gc_check("gather", f_gather, &g, 1, &x2, NULL), 0);
    ck_assert_int_eq(gc_check("gather 3-D", f_gather, &g, 1, &x3, NULL), 0);
    ck_assert_int_eq(gc_check("gather 1-D", f_gather, &g, 1, &x1, NULL), 0);
    idx_ctx s = {idx, 6}; /* 7 rows into 6; row 3 and 5 stay empty */
    gc_input y2 = gin(2, 7, 3, 0, 0), y1 = gin(1, 7, 0, 0, 0);
    ck_assert_int_eq(gc_check("scatter", f_scatter, &s, 1, &y2, NULL), 0);
    ck_assert_int_eq(gc_check("scatter 1-D", f_scatter, &s, 1, &y1, NULL), 0);
}
END_TEST

START_TEST(gather_scatter_match_naive)
{
    dsi_rng r;
    dsi_rng_seed(&r, 16);
    dsi_tape t;
    dsi_tape_init(&t);
    enum { N = 23, D = 17, M = 41 };
    int idx[M];
    for (int i = 0; i < M; i++) idx[i] = (int)dsi_rng_below(&r, N);
    int s[2] = {N, D};
    dsi_var *x = rand_var(&t, &r, 2, s, 0);
    dsi_var *y = dsi_gather_rows(&t, x, idx, M);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(y->shape[0], M);
    ck_assert_int_eq(y->shape[1], D);
    for (int i = 0; i < M; i++)
        for (int d = 0; d < D; d++) ck_assert_float_eq(y->x[i * D + d], x->x[idx[i] * D + d]);
    dsi_var *z = dsi_scatter_add_rows(&t, y, idx, N);
    ck_assert_ptr_nonnull(z);
    float ref[N * D];
    memset(ref, 0, sizeof ref);
    for (int i = 0; i < M; i++)
        for (int d = 0; d < D; d++) ref[idx[i] * D + d] += y->x[i * D + d];
    ck_assert_double_le(tu_max_rel_err(z->x, ref, N * D), 1e-6);
    /* empty gather */
    dsi_var *e = dsi_gather_rows(&t, x, NULL, 0);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->n, 0);
    /* out-of-range and negative indices fail the tape */
    int bad[3] = {0, N, 1};
    ck_assert_ptr_null(dsi_gather_rows(&t, x, bad, 3));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "gather_rows"));
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "index 23"));
    dsi_tape_reset(&t);
    x = rand_var(&t, &r, 2, s, 0);
    int neg[2] = {1, -1};
    ck_assert_ptr_null(dsi_gather_rows(&t, x, neg, 2));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    dsi_tape_reset(&t);
    x = rand_var(&t, &r, 2, s, 0);
    int sidx[N];
    for (int i = 0; i < N; i++) sidx[i] = i % 4;
    sidx[7] = 4;
    ck_assert_ptr_null(dsi_scatter_add_rows(&t, x, sidx, 4));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "scatter_add_rows"));
    dsi_tape_reset(&t);
    x = rand_var(&t, &r, 2, s, 0);
    ck_assert_ptr_null(dsi_scatter_add_rows(&t, x, NULL, 4));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    dsi_tape_release(&t);
}
END_TEST

/* ------------------------------------------------ gradients accumulate */

/* y = f(x) + f(x): a backward that overwrites instead of adding (+=) the
 * input gradient gives half the true gradient. */
typedef struct {
    gc_fn f;
    void *ctx;
} twice_ctx;

static dsi_var *f_twice(dsi_tape *t, dsi_var **in, void *ctx)
{
    const twice_ctx *c = ctx;
    return dsi_add(t, c->f(t, in, c->ctx), c->f(t, in, c->ctx));
}

START_TEST(grad_ops_accumulate)
{
    static const int idx[5] = {1, 0, 1, 3, 2};
    idx_ctx gi = {idx, 5}, si = {idx, 4};
    slice_ctx sl = {1, 1, 2};
    cat_ctx cc = {2, 1};
    ax_ctx ax = {1, 0, 1};
    int perm[3] = {2, 0, 1}, opc = 2;
    un_ctx un = {DSI_ACT_TANH, 0.0f, 0};
    float sc[2] = {2.0f, 1.0f}, lh[2] = {-5.0f, 5.0f}, w[60];
    for (int i = 0; i < 60; i++) w[i] = 0.1f * (float)(i % 7) - 0.3f;
    static const float mask[15] = {1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0}; /* [5,3] */
    const struct {
        const char *name;
        gc_fn f;
        void *ctx;
        int nin;
    } cases[] = {
        {"slice", f_slice, &sl, 1},           {"concat", f_concat, &cc, 2},
        {"transpose", f_transpose, perm, 1},  {"gather", f_gather, &gi, 1},
        {"scatter", f_scatter, &si, 1},       {"mean_axis", f_axis, &ax, 1},
        {"masked", f_masked, (void *)mask, 1}, {"wsum", f_wsum, w, 1},
        {"unary", f_unary, &un, 1},           {"affine", f_affine, sc, 1},
        {"clamp", f_clamp, lh, 1},            {"mul", f_binary, &opc, 2},
        {"sum", f_sum, &opc, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        twice_ctx c = {cases[k].f, cases[k].ctx};
        gc_input in[2] = {gin(3, 5, 3, 4, 0), gin(3, 5, 3, 4, 0)};
        if (cases[k].f == f_binary) in[1] = gin(1, 4, 0, 0, 0);
        if (cases[k].f == f_scatter) in[0] = gin(2, 5, 4, 0, 0); /* 5 rows for 5 indices */
        int bad = gc_check(cases[k].name, f_twice, &c, cases[k].nin, in, NULL);
        ck_assert_msg(bad == 0, "%s twice: %d mismatches", cases[k].name, bad);
    }
}
END_TEST

/* --------------------------------------------------------- tape behaviour */

/* A small graph using every op: no node and no gradient when not recording;
 * no heap allocation after the first step when recording. */
static dsi_var *every_op(dsi_tape *t, dsi_var *x, dsi_var *w, const float *mask, const int *idx)
{
    int s3[3] = {2, 3, 4}, perm[3] = {0, 2, 1};
    dsi_var *h = dsi_tanh(t, dsi_add(t, dsi_mul(t, x, w), dsi_affine_scalar(t, w, 0.5f, 0.1f)));
    h = dsi_div(t, dsi_sub(t, h, dsi_sigmoid(t, h)), dsi_exp(t, dsi_relu(t, w)));
    h = dsi_clamp(t, dsi_leaky_relu(t, h, 0.1f), -0.9f, 0.9f);
    dsi_var *v = dsi_reshape(t, h, 3, s3);
    dsi_var *m = dsi_masked_mean_time(t, v, mask);                           /* [2,4] */
    dsi_var *tr = dsi_transpose(t, v, perm);                                 /* [2,4,3] */
    dsi_var *parts[2] = {dsi_slice(t, tr, 2, 0, 1), dsi_reshape(t, m, 3, (int[]){2, 4, 1})};
    dsi_var *c = dsi_concat(t, parts, 2, 2);                                 /* [2,4,2] */
    dsi_var *g = dsi_gather_rows(t, c, idx, 3);                              /* rows of [8,2] */
    dsi_var *sc = dsi_scatter_add_rows(t, g, idx, 8);
    dsi_var *a = dsi_mean_axis(t, dsi_sum_axis(t, sc, 1, 1), 0, 0);
    dsi_var *l = dsi_add(t, dsi_mean(t, dsi_softplus(t, a)), dsi_sum(t, dsi_log(t, dsi_exp(t, a))));
    return dsi_add(t, l, dsi_weighted_sum(t, h, mask));
}

START_TEST(recording_and_allocation)
{
    dsi_rng r;
    dsi_rng_seed(&r, 17);
    float xv[24], wv[4], wg[4];
    tu_fill(&r, xv, 24);
    tu_fill(&r, wv, 4);
    static const float mask[24] = {1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    static const int idx[3] = {1, 5, 1};
    dsi_var w = {wv, wg, 1, {4}, 4};
    dsi_tape t;
    dsi_tape_init(&t);
    int sx[2] = {6, 4};
    dsi_tape_set_recording(&t, 0);
    dsi_var *l = every_op(&t, dsi_tape_wrap(&t, xv, 2, sx), &w, mask, idx);
    ck_assert_ptr_nonnull(l);
    ck_assert_ptr_null(l->g);
    ck_assert_uint_eq(t.n_nodes, 0);
    ck_assert(isfinite(l->x[0]));
    float inference = l->x[0];
    dsi_tape_set_recording(&t, 1);
    uint64_t extra = 0;
    for (int step = 0; step < 3; step++) {
        memset(wg, 0, sizeof wg);
        uint64_t before = dsn_allocation_count();
        dsi_tape_reset(&t);
        l = every_op(&t, dsi_tape_wrap(&t, xv, 2, sx), &w, mask, idx);
        ck_assert_ptr_nonnull(l);
        ck_assert_float_eq(l->x[0], inference);
        ck_assert_int_eq(dsi_tape_backward(&t, l), DSN_OK);
        if (step > 0) extra += dsn_allocation_count() - before;
    }
    ck_assert_uint_eq(extra, 0);
    int nz = 0;
    for (int i = 0; i < 4; i++) {
        ck_assert(isfinite(wg[i]));
        nz += wg[i] != 0.0f;
    }
    ck_assert_int_gt(nz, 0);
    dsi_tape_release(&t);
}
END_TEST


/* The row-parallel ops (masked time mean, concat / slice / mean-logvar split
 * and their backward, the Gaussian KL, the gradient zeroing, the binary ops
 * with and without a broadcast operand, the scalar affine, axis means and
 * sums and their backward, the Gaussian sample: its normals and its
 * gradient) give the same bits on 1 and 2 threads, on shapes big enough to
 * be split. */
enum { PO_B = 64, PO_T = 64, PO_D = 64, PO_R = 4096, PO_C = 64 };
typedef struct po_out {
    float mm[PO_B * PO_D], kl, gx[PO_B * PO_T * PO_D], gx2[PO_R * PO_C], gm2[PO_R * 56], gl2[PO_R * 56];
    float z[PO_R * 56], loss;
} po_out;

static void po_run(int threads, const float *x, const float *mask, const float *x2, const float *m2, const float *l2,
                   po_out *o)
{
    ck_assert_int_eq(dsn_set_threads(threads), DSN_OK);
    dsi_tape t;
    dsi_tape_init(&t);
    int s3[3] = {PO_B, PO_T, PO_D}, s2[2] = {PO_R, PO_C}, sh[2] = {PO_R, 56};
    dsi_var *vx = dsi_tape_new(&t, 3, s3, 1), *vx2 = dsi_tape_new(&t, 2, s2, 1);
    dsi_var *vm2 = dsi_tape_new(&t, 2, sh, 1), *vl2 = dsi_tape_new(&t, 2, sh, 1);
    memcpy(vx->x, x, sizeof(float) * PO_B * PO_T * PO_D);
    memcpy(vx2->x, x2, sizeof(float) * PO_R * PO_C);
    memcpy(vm2->x, m2, sizeof(float) * PO_R * 56);
    memcpy(vl2->x, l2, sizeof(float) * PO_R * 56);
    dsi_var *mm = dsi_masked_mean_time(&t, vx, mask);
    dsi_var *sl = dsi_slice(&t, vx2, 1, 8, 48);
    dsi_var *parts[2] = {sl, vx2};
    dsi_var *cat = dsi_concat(&t, parts, 2, 1), *mu = NULL, *lv = NULL;
    ck_assert_int_eq(dsi_split_mean_logvar(&t, cat, &mu, &lv), DSN_OK);
    dsi_var *kl = dsi_kl_gauss(&t, mu, lv, vm2, vl2, NULL, DSI_RED_SUM, DSI_KL_FIX_NONE);
    dsi_var *loss = dsi_add(&t, kl, dsi_sum(&t, dsi_mul(&t, mm, mm)));
    dsi_rng nr;
    dsi_rng_seed(&nr, 5);
    dsi_var *af = dsi_affine_scalar(&t, vx2, 0.5f, 0.1f);
    dsi_var *bc = dsi_mul(&t, af, dsi_mean_axis(&t, vx2, 0, 0)); /* [R, C] x [C] */
    dsi_var *pr = dsi_sub(&t, dsi_mul(&t, vx2, af), bc);
    dsi_var *z = dsi_gauss_sample(&t, mu, lv, &nr, 0);
    loss = dsi_add(&t, loss, dsi_add(&t, dsi_mean(&t, pr), dsi_sum(&t, dsi_mul(&t, z, z))));
    ck_assert_msg(loss != NULL, "%s", dsn_last_error());
    ck_assert_int_eq(dsi_tape_backward(&t, loss), DSN_OK);
    memcpy(o->mm, mm->x, sizeof o->mm);
    o->kl = kl->x[0];
    memcpy(o->gx, vx->g, sizeof o->gx);
    memcpy(o->gx2, vx2->g, sizeof o->gx2);
    memcpy(o->gm2, vm2->g, sizeof o->gm2);
    memcpy(o->gl2, vl2->g, sizeof o->gl2);
    memcpy(o->z, z->x, sizeof o->z);
    o->loss = loss->x[0];
    dsi_tape_release(&t);
}

START_TEST(pooled_ops_same_for_any_thread_count)
{
    dsi_rng r;
    dsi_rng_seed(&r, 77);
    float *x = malloc(sizeof(float) * PO_B * PO_T * PO_D), *mask = malloc(sizeof(float) * PO_B * PO_T);
    float *x2 = malloc(sizeof(float) * PO_R * PO_C), *m2 = malloc(sizeof(float) * PO_R * 56);
    float *l2 = malloc(sizeof(float) * PO_R * 56);
    tu_fill(&r, x, (size_t)PO_B * PO_T * PO_D);
    tu_fill(&r, x2, (size_t)PO_R * PO_C);
    tu_fill(&r, m2, (size_t)PO_R * 56);
    tu_fill(&r, l2, (size_t)PO_R * 56);
    for (int i = 0; i < PO_B * PO_T; i++) mask[i] = dsi_rng_uniform(&r) < 0.7 ? 1.0f : 0.0f;
    static po_out o1, o2;
    po_run(1, x, mask, x2, m2, l2, &o1);
    po_run(2, x, mask, x2, m2, l2, &o2);
    ck_assert(!memcmp(o1.mm, o2.mm, sizeof o1.mm));
    ck_assert(o1.kl == o2.kl);
    ck_assert(!memcmp(o1.gx, o2.gx, sizeof o1.gx));
    ck_assert(!memcmp(o1.gx2, o2.gx2, sizeof o1.gx2));
    ck_assert(!memcmp(o1.gm2, o2.gm2, sizeof o1.gm2));
    ck_assert(!memcmp(o1.gl2, o2.gl2, sizeof o1.gl2));
    ck_assert(!memcmp(o1.z, o2.z, sizeof o1.z));
    ck_assert(o1.loss == o2.loss);
    /* and the gradients are not trivially zero */
    double s = 0;
    for (int i = 0; i < PO_R * PO_C; i++) s += fabs(o1.gx2[i]);
    ck_assert(s > 0);
    ck_assert_int_eq(dsn_set_threads(1), DSN_OK);
    free(x); free(mask); free(x2); free(m2); free(l2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("ops");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, grad_binary_broadcast);
    tcase_add_test(tc, grad_binary_same_input_twice);
    tcase_add_test(tc, binary_matches_naive);
    tcase_add_test(tc, binary_errors);
    tcase_add_test(tc, grad_unary_each_activation);
    tcase_add_test(tc, unary_matches_naive);
    tcase_add_test(tc, grad_affine_scalar);
    tcase_add_test(tc, grad_reverse_is_minus_lambda_upstream);
    tcase_add_test(tc, grad_clamp);
    tcase_add_test(tc, grad_sum_mean);
    tcase_add_test(tc, grad_sum_mean_axis);
    tcase_add_test(tc, axis_matches_naive);
    tcase_add_test(tc, grad_masked_mean_time);
    tcase_add_test(tc, masked_mean_time_matches_naive);
    tcase_add_test(tc, grad_weighted_sum);
    tcase_add_test(tc, reshape_is_a_view);
    tcase_add_test(tc, grad_concat_each_axis);
    tcase_add_test(tc, concat_matches_naive);
    tcase_add_test(tc, grad_slice_each_axis);
    tcase_add_test(tc, slice_matches_naive);
    tcase_add_test(tc, grad_transpose_perms);
    tcase_add_test(tc, transpose_matches_naive);
    tcase_add_test(tc, grad_gather_scatter_repeated);
    tcase_add_test(tc, gather_scatter_match_naive);
    tcase_add_test(tc, grad_ops_accumulate);
    tcase_add_test(tc, recording_and_allocation);
    tcase_add_test(tc, pooled_ops_same_for_any_thread_count);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
