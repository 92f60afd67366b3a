/* likelihood.c - Bernoulli, squared-error, Gaussian and Laplace losses. */
#include "loss/likelihood.h"
#include "autodiff/logvar.h"
#include "tensor/simd.h"
#include "core/pool.h"

#include <math.h>
#include <string.h>

#define LOG2PI 1.8378770664093453
#define LOG2 0.6931471805599453

enum { K_BERN, K_MSE, K_GAUSS, K_LAPLACE };

static const char *const kname[] = {"bernoulli_nll", "mse", "gauss_nll", "laplace_nll"};

static inline double clamp_s(int kind, float s)
{
    if (kind == K_GAUSS) return dsi_lv_clamp(s);
    return s < DSI_LOGSCALE_MIN ? DSI_LOGSCALE_MIN : s > DSI_LOGSCALE_MAX ? DSI_LOGSCALE_MAX : s;
}
static inline float pass_s(int kind, float s)
{
    if (kind == K_GAUSS) return dsi_lv_pass(s);
    return s >= DSI_LOGSCALE_MIN && s <= DSI_LOGSCALE_MAX ? 1.0f : 0.0f;
}

/* element loss and its derivatives w.r.t. x (prediction), y (target), s (log-variance/scale) */
static inline double elem(int kind, double x, double y, double s, double *dx, double *ds)
{
    switch (kind) {
    case K_BERN: {
        double e = exp(-fabs(x));
        *dx = (x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e)) - y;
        *ds = 0.0;
        return (x > 0 ? x : 0.0) - x * y + log1p(e);
    }
    case K_MSE: {
        double r = x - y;
        *dx = 2.0 * r;
        *ds = 0.0;
        return r * r;
    }
    case K_GAUSS: {
        double r = y - x, ip = exp(-s), q = r * r * ip;
        *dx = -r * ip;
        *ds = 0.5 * (1.0 - q);
        return 0.5 * (LOG2PI + s + q);
    }
    default: {
        double r = y - x, ip = exp(-s), a = fabs(r) * ip;
        *dx = r > 0 ? -ip : r < 0 ? ip : 0.0;
        *ds = 1.0 - a;
        return LOG2 + s + a;
    }
    }
}

/* dy: for Bernoulli dl/dy = -x; for the others dl/dy = -dl/dx */
static inline double dy_of(int kind, double x, double dx) { return kind == K_BERN ? -x : -dx; }

typedef struct lik_saved {
    const float *mask;
    double f, s_fixed;
    int D, kind;
} lik_saved;

/* rows [lo, hi) of the backward */
static void lik_backward_rows(dsi_node *n, size_t lo, size_t hi)
{
    dsi_var *x = n->in[0], *y = n->in[1], *sv = n->in[2];
    const lik_saved *s = n->saved;
    int D = s->D, kind = s->kind;
    double g0 = n->out->g[0] * s->f;
    for (size_t r = lo; r < hi; r++) {
        double g = g0 * (s->mask ? s->mask[r] : 1.0f);
        if (g == 0.0) continue;
        /* Bernoulli without a target gradient: the vector kernel (simd.c) */
        if (kind == K_BERN && !y->g && x->g &&
            dsi_simd_bern_grad(x->x + r * (size_t)D, y->x + r * (size_t)D, (float)g, x->g + r * (size_t)D, (size_t)D))
            continue;
        for (int d = 0; d < D; d++) {
            size_t i = r * (size_t)D + d, si = 0;
            double sval = s->s_fixed;
            if (sv) {
                si = sv->n == x->n ? i : sv->n == (size_t)D ? (size_t)d : 0;
                sval = clamp_s(kind, sv->x[si]);
            }
            double dx, ds;
            elem(kind, x->x[i], y->x[i], sval, &dx, &ds);
            if (x->g) x->g[i] += (float)(g * dx);
            if (y->g) y->g[i] += (float)(g * dy_of(kind, x->x[i], dx));
            if (sv && sv->g) sv->g[si] += (float)(g * ds) * pass_s(kind, sv->x[si]);
        }
    }
}

/* the pool: rows are independent (split by rows, bit-identical to one
 * thread) unless a shared scale parameter gathers a gradient from all rows */
#define LIK_GRAIN 32768.0 /* elements per task at least */

static void lik_backward_task(void *ctx, int t, int nt)
{
    dsi_node *n = ctx;
    const lik_saved *s = n->saved;
    size_t lo, hi;
    dsi_pool_split(n->in[0]->n / (size_t)s->D, t, nt, 1, &lo, &hi);
    lik_backward_rows(n, lo, hi);
}

static void lik_backward(dsi_node *n)
{
    dsi_var *x = n->in[0], *sv = n->in[2];
    const lik_saved *s = n->saved;
    const size_t R = x->n / (size_t)s->D;
    const int shared = sv && sv->g && sv->n != x->n;
    const int nt = shared ? 1 : dsi_pool_tasks((double)x->n, LIK_GRAIN);
    if (nt <= 1) lik_backward_rows(n, 0, R);
    else dsi_pool_run(nt, lik_backward_task, n);
}

/* the forward's per-row sums, acc[r] (rows with mask 0 skipped), summed by the caller in row order */
typedef struct lik_fwd {
    int kind, D;
    const dsi_var *x, *y, *sv;
    double s_fixed;
    const float *mask;
    double *acc; /* acc[r - base] */
    size_t R, base;
} lik_fwd;

static void lik_forward_rows(const lik_fwd *j, size_t lo, size_t hi)
{
    const int kind = j->kind, D = j->D;
    const dsi_var *x = j->x, *y = j->y, *sv = j->sv;
    for (size_t r = lo; r < hi; r++) {
        double m = j->mask ? j->mask[r] : 1.0, acc = 0.0;
        j->acc[r - j->base] = 0.0;
        if (m == 0.0) continue;
        if (kind == K_BERN && dsi_simd_bern_nll(x->x + r * (size_t)D, y->x + r * (size_t)D, (size_t)D, &acc)) {
            j->acc[r - j->base] = acc;
            continue;
        }
        for (int d = 0; d < D; d++) {
            size_t i = r * (size_t)D + d;
            double sval = j->s_fixed, dx, ds;
            if (sv) sval = clamp_s(kind, sv->x[sv->n == x->n ? i : sv->n == (size_t)D ? (size_t)d : 0]);
            acc += elem(kind, x->x[i], y->x[i], sval, &dx, &ds);
        }
        j->acc[r - j->base] = acc;
    }
}

static void lik_forward_task(void *ctx, int t, int nt)
{
    const lik_fwd *j = ctx;
    size_t lo, hi;
    dsi_pool_split(j->R, t, nt, 1, &lo, &hi);
    lik_forward_rows(j, lo, hi);
}

static dsi_var *lik(dsi_tape *t, int kind, dsi_var *x, dsi_var *y, dsi_var *sv, double s_fixed, const float *mask,
                    dsi_reduction red)
{
    const char *what = kname[kind];
    char s1[64], s2[64];
    if (!dsi_same_shape(x, y) || x->nd < 1)
        return dsi_tape_fail(t, DSN_E_SHAPE, "%s: prediction %s and target %s differ", what,
                             dsi_shape_str(x, s1, sizeof s1), dsi_shape_str(y, s2, sizeof s2));
    int D = dsi_var_cols(x);
    if (sv && !(sv->n == x->n || sv->n == (size_t)D || sv->n == 1))
        return dsi_tape_fail(t, DSN_E_SHAPE, "%s: scale parameter %s fits neither %s, [%d] nor [1]", what,
                             dsi_shape_str(sv, s1, sizeof s1), dsi_shape_str(x, s2, sizeof s2), D);
    if (!sv && kind >= K_GAUSS && !isfinite(s_fixed))
        return dsi_tape_fail(t, DSN_E_INVALID, "%s: the fixed variance/scale must be > 0 and finite", what);
    size_t R = D ? x->n / (size_t)D : 0;
    double f;
    if (dsi_reduce_factor(t, red, mask, R, D, &f, what)) return NULL;
    /* each row's sum, then the rows in order: the same for any thread count */
    double sum = 0.0;
    const int nt = dsi_pool_tasks((double)x->n, LIK_GRAIN);
    if (nt > 1) {
        double *acc = dsi_tape_scratch(t, sizeof(double) * R);
        if (!acc) return NULL;
        lik_fwd j = {kind, D, x, y, sv, s_fixed, mask, acc, R, 0};
        dsi_pool_run(nt, lik_forward_task, &j);
        for (size_t r = 0; r < R; r++)
            if (!mask || mask[r] != 0.0f) sum += (mask ? mask[r] : 1.0) * acc[r];
    } else {
        for (size_t r = 0; r < R; r++) {
            double acc = 0.0;
            lik_fwd j = {kind, D, x, y, sv, s_fixed, mask, &acc, R, r};
            lik_forward_rows(&j, r, r + 1);
            if (!mask || mask[r] != 0.0f) sum += (mask ? mask[r] : 1.0) * acc;
        }
    }
    dsi_var *in[3] = {x, y, sv};
    dsi_var *out = dsi_loss_scalar(t, 3, in, f * sum, what);
    if (!out || !out->g) return out;
    lik_saved *s = dsi_tape_scratch(t, sizeof *s);
    if (!s) return NULL;
    *s = (lik_saved){mask, f, s_fixed, D, kind};
    dsi_node *n = dsi_tape_record(t, lik_backward, out, 3, in);
    if (n) n->saved = s;
    return out;
}

dsi_var *dsi_bernoulli_nll(dsi_tape *t, dsi_var *logits, dsi_var *target, const float *mask, dsi_reduction red)
{
    if (!logits || !target) return NULL;
    return lik(t, K_BERN, logits, target, NULL, 0.0, mask, red);
}

dsi_var *dsi_mse(dsi_tape *t, dsi_var *pred, dsi_var *target, const float *mask, dsi_reduction red)
{
    if (!pred || !target) return NULL;
    return lik(t, K_MSE, pred, target, NULL, 0.0, mask, red);
}

dsi_var *dsi_gauss_nll(dsi_tape *t, dsi_var *mu, dsi_var *target, dsi_var *logvar, float var, const float *mask,
                       dsi_reduction red)
{
    if (!mu || !target) return NULL;
    double s = logvar ? 0.0 : (var > 0.0f ? log((double)var) : NAN);
    return lik(t, K_GAUSS, mu, target, logvar, s, mask, red);
}

dsi_var *dsi_laplace_nll(dsi_tape *t, dsi_var *mu, dsi_var *target, dsi_var *logscale, float scale,
                         const float *mask, dsi_reduction red)
{
    if (!mu || !target) return NULL;
    double s = logscale ? 0.0 : (scale > 0.0f ? log((double)scale) : NAN);
    return lik(t, K_LAPLACE, mu, target, logscale, s, mask, red);
}

/* s = sum_i w_i a_i: da_i = w_i ds */
static void lsum_backward(dsi_node *n)
{
    const float *w = n->saved;
    for (int i = 0; i < n->nin; i++)
        if (n->in[i]->g) n->in[i]->g[0] += n->out->g[0] * (w ? w[i] : 1.0f);
}

dsi_var *dsi_loss_sum(dsi_tape *t, int n, dsi_var *const *a, const float *w)
{
    if (n < 1 || n > DSI_NODE_MAXIN) return dsi_tape_fail(t, DSN_E_INVALID, "loss_sum: %d terms (1..%d)", n, DSI_NODE_MAXIN);
    double s = 0.0;
    for (int i = 0; i < n; i++) {
        if (!a[i]) return NULL;
        if (a[i]->n != 1) return dsi_tape_fail(t, DSN_E_SHAPE, "loss_sum: term %d is not a scalar", i);
        s += (double)(w ? w[i] : 1.0f) * a[i]->x[0];
    }
    dsi_var *out = dsi_loss_scalar(t, n, a, s, "loss_sum");
    if (!out || !out->g) return out;
    float *ws = NULL;
    if (w) {
        ws = dsi_tape_scratch(t, sizeof(float) * (size_t)n);
        if (!ws) return NULL;
        memcpy(ws, w, sizeof(float) * (size_t)n);
    }
    dsi_node *nd = dsi_tape_record(t, lsum_backward, out, n, a);
    if (nd) nd->saved = ws;
    return out;
}
