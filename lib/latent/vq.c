/* vq.c - vector-quantisation codebook (see vq.h). */
#include "latent/vq.h"
#include "core/pool.h"
#include "core/alloc.h"
#include "core/finite.h"
#include "core/endian.h"
#include "core/error.h"
#include "tensor/blas.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define NORM_EPS 1e-12f

dsi_vq_config dsi_vq_defaults(int K, int D)
{
    dsi_vq_config c = {K, D, 0.25f, 0, 0.99f, 1e-5f, 0, 100, 4096, 1};
    return c;
}

dsn_status dsi_vq_init(dsi_vq *vq, const dsi_vq_config *cfg, dsi_params *ps, const char *name, int group)
{
    if (!vq || !cfg || !ps || !name) return dsi_error(DSN_E_INVALID, "vq init: NULL argument");
    memset(vq, 0, sizeof *vq);
    dsi_vq_config c = *cfg;
    if (c.K < 1 || c.D < 1) return dsi_error(DSN_E_INVALID, "vq: K = %d and D = %d must be >= 1", c.K, c.D);
    if (!(c.decay >= 0.0f && c.decay < 1.0f)) return dsi_error(DSN_E_INVALID, "vq: decay %g not in [0, 1)", c.decay);
    if (!(c.eps >= 0.0f) || !(c.beta >= 0.0f)) return dsi_error(DSN_E_INVALID, "vq: eps and beta must be >= 0");
    if (c.dead_after < 1) c.dead_after = 1;
    if (c.buffer < 1) c.buffer = 1;
    int sh[2] = {c.K, c.D};
    vq->param = dsi_params_add(ps, name, group, 2, sh);
    if (vq->param < 0) return DSN_E_INVALID;
    vq->cfg = c;
    vq->ps = ps;
    size_t K = (size_t)c.K, D = (size_t)c.D;
    vq->ema_count = dsi_calloc(K, sizeof(float));
    vq->ema_sum = dsi_calloc(K * D, sizeof(float));
    vq->acc = dsi_calloc(K, sizeof(double));
    vq->step_count = dsi_calloc(K, sizeof(int));
    vq->idle = dsi_calloc(K, sizeof(long long));
    vq->buf = dsi_calloc((size_t)c.buffer * D, sizeof(float));
    vq->pick = dsi_calloc((size_t)c.buffer, sizeof(int));
    vq->work = dsi_aligned_alloc(sizeof(float) * (DSI_VQ_CHUNK * K + K + DSI_VQ_CHUNK * D + K * D));
    vq->tmp = dsi_calloc(K * D + K, sizeof(double));
    dsi_rng_seed(&vq->rng, c.seed);
    if (!vq->ema_count || !vq->ema_sum || !vq->acc || !vq->step_count || !vq->idle || !vq->buf || !vq->pick ||
        !vq->work || !vq->tmp) {
        dsi_vq_release(vq);
        return dsi_error(DSN_E_NOMEM, "vq: out of memory for K = %d, D = %d", c.K, c.D);
    }
    return DSN_OK;
}

void dsi_vq_release(dsi_vq *vq)
{
    if (!vq) return;
    dsi_free(vq->ema_count);
    dsi_free(vq->ema_sum);
    dsi_free(vq->acc);
    dsi_free(vq->step_count);
    dsi_free(vq->idle);
    dsi_free(vq->buf);
    dsi_free(vq->pick);
    dsi_aligned_free(vq->work);
    dsi_free(vq->tmp);
    memset(vq, 0, sizeof *vq);
}

dsi_var *dsi_vq_codebook(dsi_vq *vq)
{
    if (!vq || !vq->ps || !vq->ps->finalized) return NULL;
    return dsi_params_var(vq->ps, vq->param);
}

static float l2norm(const float *v, int D)
{
    double s = 0.0;
    for (int d = 0; d < D; d++) s += (double)v[d] * v[d];
    float n = (float)sqrt(s);
    return n > NORM_EPS ? n : NORM_EPS;
}

/* out = v / max(||v||, eps); returns the divisor */
static float normalise(const float *v, float *out, int D)
{
    float n = l2norm(v, D), inv = 1.0f / n;
    for (int d = 0; d < D; d++) out[d] = v[d] * inv;
    return n;
}

static void normalise_codes(dsi_vq *vq, float *cb)
{
    for (int k = 0; k < vq->cfg.K; k++) normalise(cb + (size_t)k * vq->cfg.D, cb + (size_t)k * vq->cfg.D, vq->cfg.D);
}

static void reset_state(dsi_vq *vq)
{
    vq->ema_ready = 0;
    memset(vq->idle, 0, sizeof(long long) * (size_t)vq->cfg.K);
}

dsn_status dsi_vq_init_uniform(dsi_vq *vq)
{
    dsi_var *cb = dsi_vq_codebook(vq);
    if (!cb) return dsi_error(DSN_E_STATE, "vq: codebook not allocated (finalize the parameters first)");
    float a = 1.0f / (float)vq->cfg.K;
    dsi_rng_fill_uniform(&vq->rng, cb->x, cb->n, -a, a);
    if (vq->cfg.cosine) normalise_codes(vq, cb->x);
    reset_state(vq);
    return DSN_OK;
}

/* ---- assignment ---- */

/* row[k] = max(row[k] + en2[k] + zn, 0) for the first K - K % 8 codes, with a
 * lane-wise running minimum in mn[8]; returns how many codes were done.
 * GNU vector extensions (SSE/AVX/NEON as the target allows); a plain loop
 * elsewhere. Same float operations in the same order as the scalar tail. */
#if defined(__GNUC__)
/* 16-byte vectors: native on every x86-64 (SSE2) and on NEON */
typedef float dsi_v4f __attribute__((vector_size(16)));
typedef int dsi_v4i __attribute__((vector_size(16)));
static inline dsi_v4f clamp_min4(float *p, const float *e, dsi_v4f znv, dsi_v4f m)
{
    dsi_v4f v, ev, zero = {0};
    memcpy(&v, p, sizeof v);
    memcpy(&ev, e, sizeof ev);
    v = v + ev + znv;
    v = (dsi_v4f)((dsi_v4i)v & (v > zero));
    memcpy(p, &v, sizeof v);
    dsi_v4i lt = v < m;
    return (dsi_v4f)(((dsi_v4i)v & lt) | ((dsi_v4i)m & ~lt));
}
static int clamp_min8(float *row, const float *en2, float zn, int K, float *mn)
{
    dsi_v4f m0, m1, znv = {zn, zn, zn, zn};
    memcpy(&m0, mn, sizeof m0);
    memcpy(&m1, mn + 4, sizeof m1);
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        m0 = clamp_min4(row + k, en2 + k, znv, m0);
        m1 = clamp_min4(row + k + 4, en2 + k + 4, znv, m1);
    }
    memcpy(mn, &m0, sizeof m0);
    memcpy(mn + 4, &m1, sizeof m1);
    return k;
}
#else
static int clamp_min8(float *row, const float *en2, float zn, int K, float *mn)
{
    int k = 0;
    for (; k + 8 <= K; k += 8)
        for (int j = 0; j < 8; j++) {
            float v = row[k + j] + en2[k + j] + zn;
            v = v > 0.0f ? v : 0.0f;
            row[k + j] = v;
            mn[j] = v < mn[j] ? v : mn[j];
        }
    return k;
}
#endif

/* index of the first row[k] == x (K - 1 when none: cannot happen for the minimum) */
static int find_first(const float *row, int K, float x)
{
    int k = 0;
#if defined(__GNUC__)
    dsi_v4f xv = {x, x, x, x};
    for (; k + 4 <= K; k += 4) {
        dsi_v4f v;
        memcpy(&v, row + k, sizeof v);
        dsi_v4i eq = v == xv;
        uint64_t w[2];
        memcpy(w, &eq, sizeof w);
        if (w[0] | w[1]) break;
    }
#endif
    while (k < K - 1 && row[k] != x) k++;
    return k;
}

/* the rows [lo, hi) of one chunk: distances from work (-2 z E^T), clamped, their minimum and its first code */
typedef struct assign_job {
    const float *zc, *en2;
    float *work;
    int K, D;
    int *idx;
    float *dmin;
} assign_job;

static void assign_part(void *ctx, size_t lo, size_t hi)
{
    const assign_job *j = ctx;
    const int K = j->K, D = j->D;
    const float *en2 = j->en2;
    for (size_t i = lo; i < hi; i++) {
        const float *zi = j->zc + i * D;
        float zn = 0.0f;
        for (int d = 0; d < D; d++) zn += zi[d] * zi[d];
        float *row = j->work + i * K;
        /* pass 1: clamped distances and their minimum */
        float mn[8] = {FLT_MAX, FLT_MAX, FLT_MAX, FLT_MAX, FLT_MAX, FLT_MAX, FLT_MAX, FLT_MAX};
        int k = clamp_min8(row, en2, zn, K, mn);
        for (; k < K; k++) {
            float v = row[k] + en2[k] + zn;
            v = v > 0.0f ? v : 0.0f;
            row[k] = v;
            mn[0] = v < mn[0] ? v : mn[0];
        }
        float best = mn[0];
        for (int q = 1; q < 8; q++) best = mn[q] < best ? mn[q] : best;
        /* pass 2: the first code reaching it (ties go to the lowest index) */
        j->idx[i] = find_first(row, K, best);
        if (j->dmin) j->dmin[i] = best;
    }
}

void dsi_vq_assign_rows(const float *z, int n, const float *E, const float *en2, int K, int D, float *work,
                        int *idx, float *dmin)
{
    for (int r0 = 0; r0 < n; r0 += DSI_VQ_CHUNK) {
        int m = n - r0 < DSI_VQ_CHUNK ? n - r0 : DSI_VQ_CHUNK;
        const float *zc = z + (size_t)r0 * D;
        /* work = -2 Z E^T */
        dsi_gemm(0, 1, m, K, D, -2.0f, zc, D, E, D, 0.0f, work, K);
        /* rows are independent: on the pool (bytes touched per row ~ 12 K) */
        assign_job j = {zc, en2, work, K, D, idx + r0, dmin ? dmin + r0 : NULL};
        dsi_pool_range((size_t)m, 12.0 * K, 131072.0, 1, assign_part, &j);
    }
}

static void code_norms(const float *E, int K, int D, float *en2)
{
    for (int k = 0; k < K; k++) {
        const float *e = E + (size_t)k * D;
        float s = 0.0f;
        for (int d = 0; d < D; d++) s += e[d] * e[d];
        en2[k] = s;
    }
}

dsn_status dsi_vq_assign(dsi_vq *vq, const float *z, int n, int *idx, float *dmin)
{
    dsi_var *cb = dsi_vq_codebook(vq);
    if (!cb) return dsi_error(DSN_E_STATE, "vq: codebook not allocated");
    if (!z || !idx || n < 0) return dsi_error(DSN_E_INVALID, "vq assign: bad arguments");
    int K = vq->cfg.K, D = vq->cfg.D;
    float *dist = vq->work, *en2 = dist + (size_t)DSI_VQ_CHUNK * K, *zr = en2 + K, *E = zr + (size_t)DSI_VQ_CHUNK * D;
    const float *codes = cb->x;
    if (vq->cfg.cosine) {
        for (int k = 0; k < K; k++) normalise(cb->x + (size_t)k * D, E + (size_t)k * D, D);
        codes = E;
    }
    code_norms(codes, K, D, en2);
    if (!vq->cfg.cosine) {
        dsi_vq_assign_rows(z, n, codes, en2, K, D, dist, idx, dmin);
        return DSN_OK;
    }
    for (int r0 = 0; r0 < n; r0 += DSI_VQ_CHUNK) {
        int m = n - r0 < DSI_VQ_CHUNK ? n - r0 : DSI_VQ_CHUNK;
        for (int i = 0; i < m; i++) normalise(z + (size_t)(r0 + i) * D, zr + (size_t)i * D, D);
        dsi_vq_assign_rows(zr, m, codes, en2, K, D, dist, idx + r0, dmin ? dmin + r0 : NULL);
    }
    return DSN_OK;
}

/* ---- statistics ---- */

double dsi_vq_perplexity(const double *counts, int K)
{
    double tot = 0.0, h = 0.0;
    for (int k = 0; k < K; k++) tot += counts[k];
    if (tot <= 0.0) return 1.0;
    for (int k = 0; k < K; k++)
        if (counts[k] > 0.0) {
            double p = counts[k] / tot;
            h -= p * log(p);
        }
    return exp(h);
}

void dsi_vq_track(dsi_vq *vq, const float *rows, const int *idx, int n)
{
    int K = vq->cfg.K, D = vq->cfg.D;
    memset(vq->step_count, 0, sizeof(int) * (size_t)K);
    for (int i = 0; i < n; i++) vq->step_count[idx[i]]++;
    double h = 0.0;
    int used = 0;
    for (int k = 0; k < K; k++) {
        int c = vq->step_count[k];
        vq->acc[k] += c;
        if (c) {
            double p = (double)c / n;
            h -= p * log(p);
            used++;
            vq->idle[k] = 0;
        } else {
            vq->idle[k]++;
        }
    }
    vq->st.perplexity = n ? exp(h) : 1.0;
    vq->st.used = used;
    vq->st.used_frac = (double)used / K;
    vq->st.steps++;
    vq->st.vectors += n;
    /* restart buffer: all rows when they fit, else a random subset */
    int cap = vq->cfg.buffer;
    for (int j = 0; j < (n < cap ? n : cap); j++) {
        int i = n <= cap ? j : (int)dsi_rng_below(&vq->rng, (uint64_t)n);
        memcpy(vq->buf + (size_t)vq->buf_pos * D, rows + (size_t)i * D, sizeof(float) * (size_t)D);
        vq->buf_pos = (vq->buf_pos + 1) % cap;
        if (vq->buf_n < cap) vq->buf_n++;
    }
}

void dsi_vq_stats_get(const dsi_vq *vq, dsi_vq_stats *s)
{
    *s = vq->st;
    int K = vq->cfg.K, used = 0, dead = 0;
    for (int k = 0; k < K; k++) {
        used += vq->acc[k] > 0.0;
        dead += vq->idle[k] >= vq->cfg.dead_after;
    }
    s->acc_perplexity = dsi_vq_perplexity(vq->acc, K);
    s->acc_used = used;
    s->acc_used_frac = (double)used / K;
    s->dead = dead;
}

void dsi_vq_stats_reset(dsi_vq *vq) { memset(vq->acc, 0, sizeof(double) * (size_t)vq->cfg.K); }

/* ---- quantisation op ---- */

typedef struct vq_saved {
    const float *rows;  /* [n, D] vectors as quantised */
    const float *E;     /* [K, D] codes as used */
    const float *zn;    /* [n] input norms (cosine) */
    const float *en;    /* [K] code norms (cosine) */
    const int *idx;
    const float *mask;  /* [n] 1 = the row counts, 0 = padding (NULL: all count) */
    float *tmp;         /* [D] (cosine) */
    float *gE;          /* [K, D] gradient w.r.t. normalised codes (cosine) */
    double f;
    float beta, cbw;
    int n, D, K, layout, HW, cosine;
} vq_saved;

/* element (r, d) of z in its layout */
static inline size_t zoff(const vq_saved *s, size_t r, int d)
{
    if (s->layout == DSI_VQ_ROWS) return r * (size_t)s->D + (size_t)d;
    size_t b = r / (size_t)s->HW, p = r % (size_t)s->HW;
    return (b * (size_t)s->D + (size_t)d) * (size_t)s->HW + p;
}

/* g_v += (g_u - u (u . g_u)) / nu, the gradient through u = v / nu */
static void unnormalise_grad(const float *u, float nu, const float *gu, float *gv, int D)
{
    double dot = 0.0;
    for (int d = 0; d < D; d++) dot += (double)u[d] * gu[d];
    float inv = 1.0f / nu, dt = (float)dot;
    for (int d = 0; d < D; d++) gv[d] = (gu[d] - u[d] * dt) * inv;
}

/* add g_row (gradient w.r.t. the quantised row r) into z->g */
static void add_row_grad(const vq_saved *s, float *zg, size_t r, float *grow)
{
    if (s->cosine) {
        unnormalise_grad(s->rows + r * (size_t)s->D, s->zn[r], grow, s->tmp, s->D);
        grow = s->tmp;
    }
    if (s->layout == DSI_VQ_ROWS) {
        float *g = zg + r * (size_t)s->D;
        for (int d = 0; d < s->D; d++) g[d] += grow[d];
    } else {
        for (int d = 0; d < s->D; d++) zg[zoff(s, r, d)] += grow[d];
    }
}

/* z_q = z_e + sg(e_k - z_e): dz_e = dz_q (through the normalisation in cosine mode) */
static void vq_st_backward(dsi_node *nd)
{
    dsi_var *z = nd->in[0], *zq = nd->out;
    const vq_saved *s = nd->saved;
    if (!z->g) return;
    if (!s->cosine) {
        for (size_t i = 0; i < z->n; i++) z->g[i] += zq->g[i];
        return;
    }
    float *grow = s->tmp + s->D;
    for (int r = 0; r < s->n; r++) {
        for (int d = 0; d < s->D; d++) grow[d] = zq->g[zoff(s, (size_t)r, d)];
        add_row_grad(s, z->g, (size_t)r, grow);
    }
}

/* L = f (cbw + beta) sum_i ||r_i - e_k||^2 with sg on the other side of each term:
 * dr_i = 2 f beta (r_i - e_k); de_k += 2 f cbw (e_k - r_i) */
static void vq_loss_backward(dsi_node *nd)
{
    dsi_var *z = nd->in[0], *cb = nd->in[1];
    const vq_saved *s = nd->saved;
    int D = s->D;
    double g = nd->out->g[0] * s->f;
    float az = (float)(2.0 * g * s->beta), ae = (float)(2.0 * g * s->cbw);
    float *gcb = cb->g && s->cbw != 0.0f ? cb->g : NULL;
    float *ge = s->cosine ? s->gE : gcb, *grow = s->tmp + 2 * D;
    if (s->cosine && gcb) memset(s->gE, 0, sizeof(float) * (size_t)s->K * D);
    for (int r = 0; r < s->n; r++) {
        if (s->mask && s->mask[r] == 0.0f) continue;
        const float *x = s->rows + (size_t)r * D, *e = s->E + (size_t)s->idx[r] * D;
        if (z->g && az != 0.0f) {
            for (int d = 0; d < D; d++) grow[d] = az * (x[d] - e[d]);
            add_row_grad(s, z->g, (size_t)r, grow);
        }
        if (gcb) {
            float *gk = ge + (size_t)s->idx[r] * D;
            for (int d = 0; d < D; d++) gk[d] += ae * (e[d] - x[d]);
        }
    }
    if (s->cosine && gcb)
        for (int k = 0; k < s->K; k++) {
            unnormalise_grad(s->E + (size_t)k * D, s->en[k], s->gE + (size_t)k * D, s->tmp, D);
            for (int d = 0; d < D; d++) gcb[(size_t)k * D + d] += s->tmp[d];
        }
}

dsn_status dsi_vq_quantize(dsi_tape *t, dsi_vq *vq, dsi_var *z, int layout, dsi_reduction red, int track,
                           const float *row_mask, dsi_vq_result *res)
{
    memset(res, 0, sizeof *res);
    if (!z) return t->status != DSN_OK ? t->status : DSN_E_INVALID;
    dsi_var *cb = dsi_vq_codebook(vq);
    if (!cb) {
        dsi_tape_fail(t, DSN_E_STATE, "vq: codebook not allocated (finalize the parameters first)");
        return t->status;
    }
    int K = vq->cfg.K, D = vq->cfg.D, HW = 1, n;
    char sb[64];
    if (layout == DSI_VQ_ROWS) {
        if (z->nd < 1 || dsi_var_cols(z) != D) {
            dsi_tape_fail(t, DSN_E_SHAPE, "vq: input %s does not end in D = %d", dsi_shape_str(z, sb, sizeof sb), D);
            return t->status;
        }
        n = dsi_var_rows(z);
    } else if (layout == DSI_VQ_NCHW) {
        if (z->nd != 4 || z->shape[1] != D) {
            dsi_tape_fail(t, DSN_E_SHAPE, "vq: input %s is not [N, D = %d, H, W]", dsi_shape_str(z, sb, sizeof sb), D);
            return t->status;
        }
        HW = z->shape[2] * z->shape[3];
        n = z->shape[0] * HW;
    } else {
        dsi_tape_fail(t, DSN_E_INVALID, "vq: unknown layout %d", layout);
        return t->status;
    }
    size_t valid = (size_t)n;
    if (row_mask) {
        valid = 0;
        for (int r = 0; r < n; r++) valid += row_mask[r] != 0.0f;
    }
    double f = 0.0;
    if (valid && dsi_reduce_factor(t, red, NULL, valid, D, &f, "vq")) return t->status;
    vq_saved *s = dsi_tape_scratch(t, sizeof *s);
    int *idx = dsi_tape_scratch(t, sizeof(int) * ((size_t)n + 1));
    if (!s || !idx) return t->status;
    memset(s, 0, sizeof *s);
    s->n = n; s->D = D; s->K = K; s->layout = layout; s->HW = HW; s->cosine = vq->cfg.cosine;
    s->f = f; s->beta = vq->cfg.beta; s->cbw = vq->cfg.ema ? 0.0f : 1.0f; s->idx = idx; s->mask = row_mask;
    /* the vectors as rows, normalised in cosine mode */
    float *rows = z->x;
    if (layout != DSI_VQ_ROWS || s->cosine) {
        rows = dsi_tape_scratch(t, sizeof(float) * ((size_t)n * D + 1));
        if (!rows) return t->status;
        if (layout == DSI_VQ_ROWS) {
            memcpy(rows, z->x, sizeof(float) * (size_t)n * D);
        } else {
            for (int b = 0; b < z->shape[0]; b++)
                for (int d = 0; d < D; d++) {
                    const float *src = z->x + ((size_t)b * D + d) * HW;
                    float *dst = rows + (size_t)b * HW * D + d;
                    for (int p = 0; p < HW; p++) dst[(size_t)p * D] = src[p];
                }
        }
    }
    const float *E = cb->x;
    if (s->cosine) {
        float *zn = dsi_tape_scratch(t, sizeof(float) * ((size_t)n + 1));
        float *En = dsi_tape_scratch(t, sizeof(float) * (size_t)K * D);
        float *en = dsi_tape_scratch(t, sizeof(float) * (size_t)K);
        float *gE = dsi_tape_scratch(t, sizeof(float) * (size_t)K * D);
        if (!zn || !En || !en || !gE) return t->status;
        for (int r = 0; r < n; r++) zn[r] = normalise(rows + (size_t)r * D, rows + (size_t)r * D, D);
        for (int k = 0; k < K; k++) en[k] = normalise(cb->x + (size_t)k * D, En + (size_t)k * D, D);
        s->zn = zn; s->en = en; s->gE = gE;
        E = En;
    }
    s->tmp = dsi_tape_scratch(t, sizeof(float) * 3 * (size_t)D);
    if (!s->tmp) return t->status;
    s->rows = rows;
    s->E = E;
    float *en2 = vq->work + (size_t)DSI_VQ_CHUNK * K;
    code_norms(E, K, D, en2);
    dsi_vq_assign_rows(rows, n, E, en2, K, D, vq->work, idx, NULL);
    /* z_q and the squared error */
    dsi_var *zq = dsi_tape_new(t, z->nd, z->shape, dsi_tape_needs_grad(t, 1, &z));
    if (!zq) return t->status;
    double sq = 0.0;
    for (int r = 0; r < n; r++) {
        const float *x = rows + (size_t)r * D, *e = E + (size_t)idx[r] * D;
        double acc = 0.0;
        for (int d = 0; d < D; d++) {
            float df = x[d] - e[d];
            acc += df * df;
        }
        if (!row_mask || row_mask[r] != 0.0f) sq += acc;
        if (layout == DSI_VQ_ROWS) memcpy(zq->x + (size_t)r * D, e, sizeof(float) * (size_t)D);
        else
            for (int d = 0; d < D; d++) zq->x[zoff(s, (size_t)r, d)] = e[d];
    }
    dsi_node *nd = dsi_tape_record(t, vq_st_backward, zq, 1, &z);
    if (nd) nd->saved = s;
    dsi_var *in[2] = {z, cb};
    dsi_var *loss = dsi_loss_scalar(t, 2, in, f * (s->cbw + s->beta) * sq, "vq loss");
    if (!loss) return t->status;
    nd = dsi_tape_record(t, vq_loss_backward, loss, 2, in);
    if (nd) nd->saved = s;
    if (row_mask && valid < (size_t)n) { /* the valid rows only, for statistics and EMA */
        float *vr = dsi_tape_scratch(t, sizeof(float) * (valid * D + 1));
        int *vi = dsi_tape_scratch(t, sizeof(int) * (valid + 1));
        if (!vr || !vi) return t->status;
        size_t q = 0;
        for (int r = 0; r < n; r++)
            if (row_mask[r] != 0.0f) {
                memcpy(vr + q * D, rows + (size_t)r * D, sizeof(float) * (size_t)D);
                vi[q++] = idx[r];
            }
        rows = vr;
        idx = vi;
    }
    if (track && valid) dsi_vq_track(vq, rows, idx, (int)valid);
    res->z_q = zq;
    res->loss = loss;
    res->idx = idx;
    res->rows = rows;
    res->n = (int)valid;
    res->sq_err = sq;
    return DSN_OK;
}

/* ---- EMA, restarts, k-means++ ---- */

static void ema_prepare(dsi_vq *vq, const float *cb)
{
    if (vq->ema_ready) return;
    for (int k = 0; k < vq->cfg.K; k++) vq->ema_count[k] = 1.0f;
    memcpy(vq->ema_sum, cb, sizeof(float) * (size_t)vq->cfg.K * vq->cfg.D);
    vq->ema_ready = 1;
}

dsn_status dsi_vq_ema_update(dsi_vq *vq, const float *rows, const int *idx, int n)
{
    dsi_var *cb = dsi_vq_codebook(vq);
    if (!cb) return dsi_error(DSN_E_STATE, "vq: codebook not allocated");
    if (n < 0 || (n > 0 && (!rows || !idx))) return dsi_error(DSN_E_INVALID, "vq ema: bad arguments");
    int K = vq->cfg.K, D = vq->cfg.D;
    ema_prepare(vq, cb->x);
    double *sum = vq->tmp, *cnt = vq->tmp + (size_t)K * D;
    memset(vq->tmp, 0, sizeof(double) * ((size_t)K * D + K));
    for (int i = 0; i < n; i++) {
        int k = idx[i];
        if (k < 0 || k >= K) return dsi_error(DSN_E_INVALID, "vq ema: code %d outside [0,%d)", k, K);
        cnt[k] += 1.0;
        const float *x = rows + (size_t)i * D;
        double *s = sum + (size_t)k * D;
        for (int d = 0; d < D; d++) s[d] += x[d];
    }
    if (vq->dist) { /* the global batch's counts and sums */
        dsn_status st = vq->dist->sum_d(vq->dist->ctx, vq->tmp, (size_t)K * D + K);
        if (st != DSN_OK) return st;
    }
    double g = vq->cfg.decay, tot = 0.0;
    for (int k = 0; k < K; k++) {
        vq->ema_count[k] = (float)(g * vq->ema_count[k] + (1.0 - g) * cnt[k]);
        tot += vq->ema_count[k];
        float *m = vq->ema_sum + (size_t)k * D;
        for (int d = 0; d < D; d++) m[d] = (float)(g * m[d] + (1.0 - g) * sum[(size_t)k * D + d]);
    }
    if (!(tot > 0.0)) return DSN_OK; /* nothing seen yet: keep the codebook */
    double eps = vq->cfg.eps;
    for (int k = 0; k < K; k++) {
        double nk = (vq->ema_count[k] + eps) / (tot + K * eps) * tot;
        float inv = nk > 0.0 ? (float)(1.0 / nk) : 0.0f;
        float *e = cb->x + (size_t)k * D;
        const float *m = vq->ema_sum + (size_t)k * D;
        for (int d = 0; d < D; d++) e[d] = m[d] * inv;
        if (vq->cfg.cosine) normalise(e, e, D);
    }
    return DSN_OK;
}

dsn_status dsi_vq_sync_usage(dsi_vq *vq, int ema_done)
{
    if (!vq->dist) return DSN_OK;
    int K = vq->cfg.K;
    double *cnt = vq->tmp + (size_t)K * vq->cfg.D;
    if (!ema_done) {
        for (int k = 0; k < K; k++) cnt[k] = vq->step_count[k];
        dsn_status st = vq->dist->sum_d(vq->dist->ctx, cnt, (size_t)K);
        if (st != DSN_OK) return st;
    }
    for (int k = 0; k < K; k++) {
        vq->acc[k] += cnt[k] - vq->step_count[k];
        if (cnt[k] > 0.0) vq->idle[k] = 0;
    }
    return DSN_OK;
}

dsn_status dsi_vq_sync(dsi_vq *vq)
{
    const dsi_dist *d = vq->dist;
    dsi_var *cb = dsi_vq_codebook(vq);
    if (!d || !cb) return DSN_OK;
    size_t K = (size_t)vq->cfg.K, D = (size_t)vq->cfg.D;
    dsn_status st = d->bcast(d->ctx, cb->x, K * D * sizeof(float), 0);
    if (st == DSN_OK && vq->ema_count) st = d->bcast(d->ctx, vq->ema_count, K * sizeof(float), 0);
    if (st == DSN_OK && vq->ema_sum) st = d->bcast(d->ctx, vq->ema_sum, K * D * sizeof(float), 0);
    if (st == DSN_OK) st = d->bcast(d->ctx, &vq->ema_ready, sizeof vq->ema_ready, 0);
    if (st == DSN_OK && vq->idle) st = d->bcast(d->ctx, vq->idle, K * sizeof *vq->idle, 0);
    if (st == DSN_OK) st = d->bcast(d->ctx, &vq->rng, sizeof vq->rng, 0);
    return st;
}

int dsi_vq_restart_dead(dsi_vq *vq)
{
    dsi_var *cb = dsi_vq_codebook(vq);
    if (!cb || vq->buf_n == 0) return 0;
    int K = vq->cfg.K, D = vq->cfg.D, left = vq->buf_n, done = 0;
    for (int i = 0; i < vq->buf_n; i++) vq->pick[i] = i;
    for (int k = 0; k < K; k++) {
        if (vq->idle[k] < vq->cfg.dead_after) continue;
        if (left == 0) { /* more dead codes than stored vectors: reuse them */
            left = vq->buf_n;
        }
        int j = (int)dsi_rng_below(&vq->rng, (uint64_t)left), b = vq->pick[j];
        vq->pick[j] = vq->pick[left - 1];
        vq->pick[left - 1] = b;
        left--;
        float *e = cb->x + (size_t)k * D;
        memcpy(e, vq->buf + (size_t)b * D, sizeof(float) * (size_t)D);
        vq->idle[k] = 0;
        if (vq->ema_ready) {
            vq->ema_count[k] = 1.0f;
            memcpy(vq->ema_sum + (size_t)k * D, e, sizeof(float) * (size_t)D);
        }
        done++;
    }
    vq->st.restarts += done;
    return done;
}

dsn_status dsi_vq_init_kmeans(dsi_vq *vq, const float *z, int n, int iters)
{
    dsi_var *cb = dsi_vq_codebook(vq);
    if (!cb) return dsi_error(DSN_E_STATE, "vq: codebook not allocated");
    if (!z || n < 1) return dsi_error(DSN_E_INVALID, "vq k-means: need at least one vector (got %d)", n);
    int K = vq->cfg.K, D = vq->cfg.D;
    float *x = dsi_malloc(sizeof(float) * (size_t)n * D);
    double *d2 = dsi_malloc(sizeof(double) * (size_t)n);
    int *idx = dsi_malloc(sizeof(int) * (size_t)n);
    if (!x || !d2 || !idx) {
        dsi_free(x); dsi_free(d2); dsi_free(idx);
        return dsi_error(DSN_E_NOMEM, "vq k-means: out of memory for %d vectors", n);
    }
    for (int i = 0; i < n; i++) {
        if (vq->cfg.cosine) normalise(z + (size_t)i * D, x + (size_t)i * D, D);
        else memcpy(x + (size_t)i * D, z + (size_t)i * D, sizeof(float) * (size_t)D);
    }
    float *E = cb->x;
    /* k-means++: each new centre drawn with probability proportional to the
     * squared distance to the nearest centre so far (uniform if all are 0) */
    int first = (int)dsi_rng_below(&vq->rng, (uint64_t)n);
    memcpy(E, x + (size_t)first * D, sizeof(float) * (size_t)D);
    for (int i = 0; i < n; i++) d2[i] = INFINITY;
    for (int k = 1; k <= K; k++) {
        const float *c = E + (size_t)(k - 1) * D;
        double tot = 0.0;
        for (int i = 0; i < n; i++) {
            const float *xi = x + (size_t)i * D;
            double s = 0.0;
            for (int d = 0; d < D; d++) {
                double df = (double)xi[d] - c[d];
                s += df * df;
            }
            if (s < d2[i]) d2[i] = s;
            tot += d2[i];
        }
        if (k == K) break;
        int pick = n - 1;
        if (tot > 0.0) {
            double u = dsi_rng_uniform_d(&vq->rng) * tot, acc = 0.0;
            for (int i = 0; i < n; i++) {
                acc += d2[i];
                if (acc > u) { pick = i; break; }
            }
        } else {
            pick = (int)dsi_rng_below(&vq->rng, (uint64_t)n);
        }
        memcpy(E + (size_t)k * D, x + (size_t)pick * D, sizeof(float) * (size_t)D);
    }
    /* Lloyd iterations; an empty cluster keeps its centre */
    float *en2 = vq->work + (size_t)DSI_VQ_CHUNK * K;
    double *sum = vq->tmp, *cnt = vq->tmp + (size_t)K * D;
    for (int it = 0; it < iters; it++) {
        code_norms(E, K, D, en2);
        dsi_vq_assign_rows(x, n, E, en2, K, D, vq->work, idx, NULL);
        memset(vq->tmp, 0, sizeof(double) * ((size_t)K * D + K));
        for (int i = 0; i < n; i++) {
            cnt[idx[i]] += 1.0;
            for (int d = 0; d < D; d++) sum[(size_t)idx[i] * D + d] += x[(size_t)i * D + d];
        }
        for (int k = 0; k < K; k++)
            if (cnt[k] > 0.0) {
                for (int d = 0; d < D; d++) E[(size_t)k * D + d] = (float)(sum[(size_t)k * D + d] / cnt[k]);
                if (vq->cfg.cosine) normalise(E + (size_t)k * D, E + (size_t)k * D, D);
            }
    }
    dsi_free(x);
    dsi_free(d2);
    dsi_free(idx);
    reset_state(vq);
    return DSN_OK;
}

/* ---- training state (model file section, not parameters) ---- */

#define VQ_STATE_VERSION 1u

void dsi_vq_state_save(const dsi_vq *vq, dsi_writer *w)
{
    int K = vq->cfg.K, D = vq->cfg.D, cap = vq->cfg.buffer;
    unsigned char rs[DSI_RNG_STATE_BYTES];
    dsi_write_u32(w, VQ_STATE_VERSION);
    dsi_write_u32(w, (uint32_t)K);
    dsi_write_u32(w, (uint32_t)D);
    dsi_write_u32(w, (uint32_t)cap);
    dsi_write_u32(w, (uint32_t)vq->ema_ready);
    dsi_write_u32(w, (uint32_t)vq->buf_n);
    dsi_write_u32(w, (uint32_t)vq->buf_pos);
    dsi_rng_save(&vq->rng, rs);
    dsi_write_bytes(w, rs, sizeof rs);
    for (int k = 0; k < K; k++) dsi_write_u64(w, (uint64_t)vq->idle[k]);
    dsi_write_f32s(w, vq->ema_count, (size_t)K);
    dsi_write_f32s(w, vq->ema_sum, (size_t)K * D);
    dsi_write_f32s(w, vq->buf, (size_t)vq->buf_n * D);
}

dsn_status dsi_vq_state_load(dsi_vq *vq, dsi_reader *r)
{
    int K = vq->cfg.K, D = vq->cfg.D, cap = vq->cfg.buffer;
    uint32_t ver, k, d, c, ready, bn, bp;
    if (dsi_read_u32(r, &ver) || dsi_read_u32(r, &k) || dsi_read_u32(r, &d) || dsi_read_u32(r, &c) ||
        dsi_read_u32(r, &ready) || dsi_read_u32(r, &bn) || dsi_read_u32(r, &bp))
        return dsi_error(DSN_E_FORMAT, "codebook state truncated");
    if (ver != VQ_STATE_VERSION) return dsi_error(DSN_E_FORMAT, "codebook state version %u (this library reads 1)", ver);
    if (k != (uint32_t)K || d != (uint32_t)D || c != (uint32_t)cap)
        return dsi_error(DSN_E_FORMAT, "codebook state for K = %u, D = %u, buffer %u; the model has %d, %d, %d", k, d,
                         c, K, D, cap);
    if (ready > 1) return dsi_error(DSN_E_FORMAT, "codebook state: ema_ready = %u (0 or 1)", ready);
    if (bn > (uint32_t)cap) return dsi_error(DSN_E_FORMAT, "codebook state: buf_n = %u > buffer %d", bn, cap);
    if (bp >= (uint32_t)cap || (bn < (uint32_t)cap && bp != bn))
        return dsi_error(DSN_E_FORMAT, "codebook state: buf_pos = %u does not fit buf_n = %u, buffer %d", bp, bn, cap);
    const unsigned char *rs = dsi_read_view(r, DSI_RNG_STATE_BYTES);
    if (!rs) return dsi_error(DSN_E_FORMAT, "codebook state truncated");
    dsi_rng rng;
    dsi_rng_load(&rng, rs);
    if ((rng.s[0] | rng.s[1] | rng.s[2] | rng.s[3]) == 0 || !isfinite(rng.spare) ||
        dsi_get_u32(rs + 36) > 1)
        return dsi_error(DSN_E_FORMAT, "codebook state: invalid RNG state");
    /* read into scratch first: the state is replaced only when all of it is valid */
    size_t nk = (size_t)K, nkd = (size_t)K * D, nb = (size_t)bn * D;
    if (dsi_reader_left(r) < nk * 8 + (nk + nkd + nb) * 4) return dsi_error(DSN_E_FORMAT, "codebook state truncated");
    long long *idle = dsi_malloc(nk * sizeof *idle);
    float *f = dsi_malloc((nk + nkd + nb + 1) * sizeof(float));
    dsn_status st = idle && f ? DSN_OK : dsi_error(DSN_E_NOMEM, "codebook state: out of memory");
    for (size_t i = 0; st == DSN_OK && i < nk; i++) {
        uint64_t v;
        if (dsi_read_u64(r, &v) || v > ((uint64_t)1 << 62))
            st = dsi_error(DSN_E_FORMAT, "codebook state: idle counter %zu out of range", i);
        else idle[i] = (long long)v;
    }
    if (st == DSN_OK && dsi_read_f32s(r, f, nk + nkd + nb)) st = dsi_error(DSN_E_FORMAT, "codebook state truncated");
    if (st == DSN_OK && !dsi_all_finite(f, nk + nkd + nb)) st = dsi_error(DSN_E_FORMAT, "codebook state: non-finite value");
    for (size_t i = 0; st == DSN_OK && i < nk; i++)
        if (f[i] < 0.0f) st = dsi_error(DSN_E_FORMAT, "codebook state: negative EMA count %zu", i);
    if (st == DSN_OK) {
        vq->ema_ready = (int)ready;
        vq->buf_n = (int)bn;
        vq->buf_pos = (int)bp;
        vq->rng = rng;
        memcpy(vq->idle, idle, nk * sizeof *idle);
        memcpy(vq->ema_count, f, nk * sizeof(float));
        memcpy(vq->ema_sum, f + nk, nkd * sizeof(float));
        memcpy(vq->buf, f + nk + nkd, nb * sizeof(float));
    }
    dsi_free(idle);
    dsi_free(f);
    return st;
}
