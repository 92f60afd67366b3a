/* gauss.c - diagonal Gaussian latents: heads, sampling, KL, log-density. */
#include "latent/gauss.h"
#include "tensor/simd.h"

#include "core/pool.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define LOG2PI 1.8378770664093453

/* ---- sampling ---- */

/* z = mu + exp(lv/2) eps: dmu = dz, dlv = dz eps exp(lv/2) / 2 */
typedef struct sample_job {
    const float *mu, *lv, *eps, *gz;
    float *z, *gmu, *glv;
} sample_job;

static void sample_bwd_part(void *ctx, size_t lo, size_t hi)
{
    const sample_job *j = ctx;
    if (j->gmu)
        for (size_t i = lo; i < hi; i++) j->gmu[i] += j->gz[i];
    if (j->glv)
        for (size_t i = lo; i < hi; i++) {
            float l = j->lv[i];
            j->glv[i] += j->gz[i] * j->eps[i] * 0.5f * expf(0.5f * dsi_lv_clamp(l)) * dsi_lv_pass(l);
        }
}

static void sample_fwd_part(void *ctx, size_t lo, size_t hi)
{
    const sample_job *j = ctx;
    for (size_t i = lo; i < hi; i++) j->z[i] = j->mu[i] + expf(0.5f * dsi_lv_clamp(j->lv[i])) * j->eps[i];
}

/* element-wise on the pool (bytes touched per element: ~20 with the exp) */
#define SAMPLE_COST 24.0
#define SAMPLE_GRAIN 131072.0

static void sample_backward(dsi_node *n)
{
    dsi_var *mu = n->in[0], *lv = n->in[1], *z = n->out;
    const float *eps = n->saved;
    sample_job j = {mu->x, lv->x, eps, z->g, NULL, mu->g, eps ? lv->g : NULL};
    if (j.gmu || j.glv) dsi_pool_range(z->n, SAMPLE_COST, SAMPLE_GRAIN, 16, sample_bwd_part, &j);
}

/* Under a data-parallel shard (see dsi_shard): the normals one process would
 * draw before and after this part's rows. Rows are told apart by their
 * count: shard.n items (or a multiple: frames, positions) or shard.gn groups. */
static int shard_noise(dsi_tape *t, const dsi_var *mu, size_t *before, size_t *after)
{
    const dsi_shard *s = &t->shard;
    size_t rows = mu->nd ? (size_t)mu->shape[0] : 1, per, lo, total;
    if (s->n && rows % s->n == 0 && (rows == s->n || rows != s->gn)) {
        per = mu->n / s->n;
        lo = s->lo;
        total = s->total;
    } else if (s->gn && rows == s->gn) {
        per = mu->n / s->gn;
        lo = s->glo;
        total = s->gtotal;
    } else {
        dsi_tape_fail(t, DSN_E_INTERNAL, "gauss sample: %zu rows fit neither the %zu items nor the %zu groups of this part", rows,
                      s->n, s->gn);
        return 0;
    }
    *before = lo * per;
    *after = (total - lo) * per - mu->n;
    return 1;
}

dsi_var *dsi_gauss_sample(dsi_tape *t, dsi_var *mu, dsi_var *logvar, dsi_rng *rng, int use_mean)
{
    if (!mu || !logvar) return NULL;
    char s1[64], s2[64];
    if (!dsi_same_shape(mu, logvar))
        return dsi_tape_fail(t, DSN_E_SHAPE, "gauss sample: mean %s and logvar %s differ",
                             dsi_shape_str(mu, s1, sizeof s1), dsi_shape_str(logvar, s2, sizeof s2));
    if (!use_mean && !rng) return dsi_tape_fail(t, DSN_E_INVALID, "gauss sample: no rng");
    dsi_var *in[2] = {mu, logvar};
    dsi_var *z = dsi_tape_new(t, mu->nd, mu->shape, dsi_tape_needs_grad(t, use_mean ? 1 : 2, in));
    if (!z) return NULL;
    float *eps = NULL;
    if (use_mean) {
        memcpy(z->x, mu->x, sizeof(float) * mu->n);
    } else {
        eps = dsi_tape_scratch(t, sizeof(float) * (mu->n ? mu->n : 1));
        if (!eps) return NULL;
        size_t before = 0, after = 0;
        if (t->shard.total && !shard_noise(t, mu, &before, &after)) return NULL;
        for (size_t i = 0; i < before; i++) (void)dsi_rng_normal(rng);
        dsi_rng_fill_normal_pooled(rng, eps, mu->n, 0.0f, 1.0f, z->x); /* z->x: its scratch until written below */
        for (size_t i = 0; i < after; i++) (void)dsi_rng_normal(rng);
        sample_job j = {mu->x, logvar->x, eps, NULL, z->x, NULL, NULL};
        dsi_pool_range(mu->n, SAMPLE_COST, SAMPLE_GRAIN, 16, sample_fwd_part, &j);
    }
    dsi_node *n = dsi_tape_record(t, sample_backward, z, 2, in);
    if (n) n->saved = eps;
    return z;
}

/* ---- KL to N(0, I) ---- */

typedef struct red_saved {
    const float *mask;
    const int *p_batch;
    double f;
    int D, rows_per_b;
} red_saved;

/* l = 0.5 (mu^2 + expm1(lv) - lv): dmu = mu, dlv = 0.5 expm1(lv) */
static void klstd_backward(dsi_node *n)
{
    dsi_var *mu = n->in[0], *lv = n->in[1];
    const red_saved *s = n->saved;
    double g0 = n->out->g[0] * s->f;
    size_t R = mu->n / (size_t)s->D;
    for (size_t r = 0; r < R; r++) {
        float g = (float)(g0 * (s->mask ? s->mask[r] : 1.0f));
        if (g == 0.0f) continue;
        size_t o = r * (size_t)s->D;
        if (mu->g)
            for (int d = 0; d < s->D; d++) mu->g[o + d] += g * mu->x[o + d];
        if (lv->g)
            for (int d = 0; d < s->D; d++) {
                float l = lv->x[o + d];
                lv->g[o + d] += g * 0.5f * (float)expm1((double)dsi_lv_clamp(l)) * dsi_lv_pass(l);
            }
    }
}

static int check_pair(dsi_tape *t, dsi_var *a, dsi_var *b, const char *what)
{
    char s1[64], s2[64];
    if (!dsi_same_shape(a, b) || a->nd < 1) {
        dsi_tape_fail(t, DSN_E_SHAPE, "%s: shapes %s and %s differ", what, dsi_shape_str(a, s1, sizeof s1),
                      dsi_shape_str(b, s2, sizeof s2));
        return 0;
    }
    return 1;
}

dsi_var *dsi_kl_std_normal(dsi_tape *t, dsi_var *mu, dsi_var *logvar, const float *mask, dsi_reduction red)
{
    if (!mu || !logvar) return NULL;
    if (!check_pair(t, mu, logvar, "kl_std_normal")) return NULL;
    int D = dsi_var_cols(mu);
    size_t R = D ? mu->n / (size_t)D : 0;
    double f;
    if (dsi_reduce_factor(t, red, mask, R, D, &f, "kl_std_normal")) return NULL;
    double sum = 0.0;
    for (size_t r = 0; r < R; r++) {
        double m = mask ? mask[r] : 1.0, acc = 0.0;
        if (m == 0.0) continue;
        const float *mr = mu->x + r * D, *lr = logvar->x + r * D;
        for (int d = 0; d < D; d++) {
            double l = dsi_lv_clamp(lr[d]), u = mr[d];
            acc += u * u + (expm1(l) - l);
        }
        sum += m * acc;
    }
    dsi_var *in[2] = {mu, logvar};
    dsi_var *out = dsi_loss_scalar(t, 2, in, 0.5 * f * sum, "kl_std_normal");
    if (!out) return NULL;
    if (out->g) {
        red_saved *s = dsi_tape_scratch(t, sizeof *s);
        if (!s) return NULL;
        *s = (red_saved){mask, NULL, f, D, 0};
        dsi_node *n = dsi_tape_record(t, klstd_backward, out, 2, in);
        if (n) n->saved = s;
    }
    return out;
}

/* ---- KL between diagonal Gaussians ---- */

typedef struct klg_job {
    dsi_var *mq, *lq, *mp, *lp;
    const red_saved *s;
    float *gmq, *glq, *gmp, *glp;
    double g0;
    int D, rpb;
    const int *p_batch;
    const float *mask;
    double *rows; /* forward: each row's masked sum */
} klg_job;

static void klg_backward_rows(void *ctx, size_t lo, size_t hi)
{
    const klg_job *j = ctx;
    const red_saved *s = j->s;
    const int D = j->D;
    dsi_var *mq = j->mq, *lq = j->lq, *mp = j->mp, *lp = j->lp;
    float *gmq = j->gmq, *glq = j->glq, *gmp = j->gmp, *glp = j->glp;
    for (size_t r = lo; r < hi; r++) {
        double g = j->g0 * (s->mask ? s->mask[r] : 1.0f);
        if (g == 0.0) continue;
        size_t oq = r * (size_t)D, op = oq;
        if (s->p_batch) {
            size_t b = r / (size_t)s->rows_per_b, rr = r % (size_t)s->rows_per_b;
            op = ((size_t)s->p_batch[b] * (size_t)s->rows_per_b + rr) * (size_t)D;
        }
        if (dsi_simd_klg_row_grad(mq->x + oq, lq->x + oq, mp->x + op, lp->x + op, D, (float)g, gmq ? gmq + oq : NULL,
                                  glq ? glq + oq : NULL, gmp ? gmp + op : NULL, glp ? glp + op : NULL))
            continue;
        for (int d = 0; d < D; d++) {
            float lqr = lq->x[oq + d], lpr = lp->x[op + d];
            double a = dsi_lv_clamp(lqr), b = dsi_lv_clamp(lpr);
            double dm = (double)mq->x[oq + d] - mp->x[op + d], ip = exp(-b), e = expm1(a - b);
            double gm = g * dm * ip;
            if (gmq) gmq[oq + d] += (float)gm;
            if (gmp) gmp[op + d] -= (float)gm;
            if (glq) glq[oq + d] += (float)(g * 0.5 * e) * dsi_lv_pass(lqr);
            if (glp) glp[op + d] -= (float)(g * 0.5 * (e + dm * dm * ip)) * dsi_lv_pass(lpr);
        }
    }
}

/* l = 0.5 (expm1(d) - d + dm^2 e^-lp), d = lq - lp, dm = mq - mp:
 * dmq = dm e^-lp = -dmp; dlq = 0.5 expm1(d); dlp = -0.5 (expm1(d) + dm^2 e^-lp) */
static void klg_backward(dsi_node *n)
{
    dsi_var *mq = n->in[0], *lq = n->in[1], *mp = n->in[2], *lp = n->in[3];
    const red_saved *s = n->saved;
    int fixed = n->ip[0], D = s->D;
    klg_job j = {mq, lq, mp, lp, s, fixed == DSI_KL_FIX_Q ? NULL : mq->g, fixed == DSI_KL_FIX_Q ? NULL : lq->g,
                 fixed == DSI_KL_FIX_P ? NULL : mp->g, fixed == DSI_KL_FIX_P ? NULL : lp->g,
                 n->out->g[0] * s->f, D, s->rows_per_b, s->p_batch, s->mask, NULL};
    size_t R = mq->n / (size_t)D;
    /* rows in parallel unless partners may share a p row that gets a gradient */
    if (s->p_batch && (j.gmp || j.glp)) klg_backward_rows(&j, 0, R);
    else dsi_pool_range(R, 40.0 * D, 65536.0, 1, klg_backward_rows, &j);
}

static void klg_forward_rows(void *ctx, size_t lo, size_t hi)
{
    const klg_job *j = ctx;
    const int D = j->D, rpb = j->rpb;
    dsi_var *mu_q = j->mq, *lv_q = j->lq, *mu_p = j->mp, *lv_p = j->lp;
    for (size_t r = lo; r < hi; r++) {
        double m = j->mask ? j->mask[r] : 1.0, acc = 0.0;
        j->rows[r] = 0.0;
        if (m == 0.0) continue;
        size_t oq = r * (size_t)D, op = oq;
        if (j->p_batch) op = ((size_t)j->p_batch[r / (size_t)rpb] * (size_t)rpb + r % (size_t)rpb) * (size_t)D;
        if (!dsi_simd_klg_row(mu_q->x + oq, lv_q->x + oq, mu_p->x + op, lv_p->x + op, D, &acc))
            for (int d = 0; d < D; d++) {
                double a = dsi_lv_clamp(lv_q->x[oq + d]), b = dsi_lv_clamp(lv_p->x[op + d]);
                double dm = (double)mu_q->x[oq + d] - mu_p->x[op + d], dl = a - b;
                acc += expm1(dl) - dl + dm * dm * exp(-b);
            }
        j->rows[r] = m * acc;
    }
}

dsi_var *dsi_kl_gauss_idx(dsi_tape *t, dsi_var *mu_q, dsi_var *lv_q, dsi_var *mu_p, dsi_var *lv_p,
                          const int *p_batch, const float *mask, dsi_reduction red, dsi_kl_fixed fixed)
{
    if (!mu_q || !lv_q || !mu_p || !lv_p) return NULL;
    if (!check_pair(t, mu_q, lv_q, "kl_gauss") || !check_pair(t, mu_q, mu_p, "kl_gauss") ||
        !check_pair(t, mu_q, lv_p, "kl_gauss"))
        return NULL;
    if (fixed < DSI_KL_FIX_NONE || fixed > DSI_KL_FIX_Q)
        return dsi_tape_fail(t, DSN_E_INVALID, "kl_gauss: unknown fixed side %d", (int)fixed);
    int D = dsi_var_cols(mu_q);
    size_t R = D ? mu_q->n / (size_t)D : 0;
    int B = mu_q->shape[0], rpb = B ? (int)(R / (size_t)B) : 0;
    if (p_batch && (mu_q->nd < 2 || B < 1))
        return dsi_tape_fail(t, DSN_E_SHAPE, "kl_gauss: a partner index needs a [B, ..., D] input");
    if (p_batch)
        for (int b = 0; b < B; b++)
            if (p_batch[b] < 0 || p_batch[b] >= B)
                return dsi_tape_fail(t, DSN_E_INVALID, "kl_gauss: partner %d of batch %d out of [0,%d)", p_batch[b],
                                     b, B);
    double f;
    if (dsi_reduce_factor(t, red, mask, R, D, &f, "kl_gauss")) return NULL;
    /* each row's masked sum on the pool, then added in row order (the same for any thread count) */
    double sum = 0.0, *rows = dsi_tape_scratch(t, sizeof(double) * (R ? R : 1));
    if (!rows) return NULL;
    klg_job j = {mu_q, lv_q, mu_p, lv_p, NULL, NULL, NULL, NULL, NULL, 0.0, D, rpb, p_batch, mask, rows};
    dsi_pool_range(R, 40.0 * D, 65536.0, 1, klg_forward_rows, &j);
    for (size_t r = 0; r < R; r++) sum += rows[r];
    /* the fixed side does not make the result need a gradient */
    dsi_var *live[4] = {fixed == DSI_KL_FIX_Q ? NULL : mu_q, fixed == DSI_KL_FIX_Q ? NULL : lv_q,
                        fixed == DSI_KL_FIX_P ? NULL : mu_p, fixed == DSI_KL_FIX_P ? NULL : lv_p};
    dsi_var *out = dsi_loss_scalar(t, 4, live, 0.5 * f * sum, "kl_gauss");
    if (!out) return NULL;
    if (out->g) {
        red_saved *s = dsi_tape_scratch(t, sizeof *s);
        if (!s) return NULL;
        *s = (red_saved){mask, p_batch, f, D, rpb};
        dsi_var *in[4] = {mu_q, lv_q, mu_p, lv_p};
        dsi_node *n = dsi_tape_record(t, klg_backward, out, 4, in);
        if (n) {
            n->ip[0] = fixed;
            n->saved = s;
        }
    }
    return out;
}

dsi_var *dsi_kl_gauss(dsi_tape *t, dsi_var *mu_q, dsi_var *lv_q, dsi_var *mu_p, dsi_var *lv_p,
                      const float *mask, dsi_reduction red, dsi_kl_fixed fixed)
{
    return dsi_kl_gauss_idx(t, mu_q, lv_q, mu_p, lv_p, NULL, mask, red, fixed);
}

/* ---- log-density ---- */

/* out[r] = -0.5 sum_d (log 2pi + lv + (x-mu)^2 e^-lv):
 * dx = -(x-mu) e^-lv = -dmu; dlv = -0.5 (1 - (x-mu)^2 e^-lv) */
static void logdens_backward(dsi_node *n)
{
    dsi_var *x = n->in[0], *mu = n->in[1], *lv = n->in[2], *o = n->out;
    int D = n->ip[0];
    size_t R = o->n;
    for (size_t r = 0; r < R; r++) {
        double g = o->g[r];
        if (g == 0.0) continue;
        for (int d = 0; d < D; d++) {
            size_t i = r * (size_t)D + d;
            double l = dsi_lv_clamp(lv->x[i]), ip = exp(-l), dm = (double)x->x[i] - mu->x[i];
            if (x->g) x->g[i] -= (float)(g * dm * ip);
            if (mu->g) mu->g[i] += (float)(g * dm * ip);
            if (lv->g) lv->g[i] -= (float)(g * 0.5 * (1.0 - dm * dm * ip)) * dsi_lv_pass(lv->x[i]);
        }
    }
}

dsi_var *dsi_gauss_log_density(dsi_tape *t, dsi_var *x, dsi_var *mu, dsi_var *logvar)
{
    if (!x || !mu || !logvar) return NULL;
    if (!check_pair(t, x, mu, "gauss_log_density") || !check_pair(t, x, logvar, "gauss_log_density")) return NULL;
    int D = dsi_var_cols(x);
    dsi_var *in[3] = {x, mu, logvar};
    int nd = x->nd - 1, shape[DSI_MAXDIM] = {0};
    memcpy(shape, x->shape, sizeof(int) * (size_t)nd);
    if (nd == 0) { nd = 1; shape[0] = 1; }
    dsi_var *o = dsi_tape_new(t, nd, shape, dsi_tape_needs_grad(t, 3, in));
    if (!o) return NULL;
    for (size_t r = 0; r < o->n; r++) {
        double acc = 0.0;
        for (int d = 0; d < D; d++) {
            size_t i = r * (size_t)D + d;
            double l = dsi_lv_clamp(logvar->x[i]), dm = (double)x->x[i] - mu->x[i];
            acc += LOG2PI + l + dm * dm * exp(-l);
        }
        o->x[r] = (float)(-0.5 * acc);
    }
    dsi_node *n = dsi_tape_record(t, logdens_backward, o, 3, in);
    if (n) n->ip[0] = D;
    return o;
}
