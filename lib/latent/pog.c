/* pog.c - product of Gaussians per group (ML-VAE evidence accumulation).
 *
 * PRODUCT: with precisions P_i = exp(-lv_i) and weights w_i = P_i / sum_G P,
 *   lv_G = -log sum_G P_i,  mu_G = sum_G w_i mu_i,
 *   dmu_i = w_i dmu_G,  dlv_i = w_i dlv_G - w_i (mu_i - mu_G) dmu_G.
 * The weights are a softmax of -lv over the group, computed with the group's
 * maximum subtracted, so any clamped log-variance is safe.
 * MEAN: mu_G = mean mu_i, lv_G = mean lv_i; w_i = 1 / |G|. */
#include "latent/gauss.h"

#include <math.h>
#include <string.h>

typedef struct pog_saved {
    dsi_var *lv_out;
    float *w;           /* [N, D] member weights */
    const int *idx;
} pog_saved;

static void pog_backward(dsi_node *n)
{
    dsi_var *mu = n->in[0], *lv = n->in[1], *mo = n->out;
    const pog_saved *s = n->saved;
    int D = n->ip[0], N = n->ip[1], product = n->ip[2] == DSI_POG_PRODUCT;
    const float *glo = s->lv_out->g;
    for (int i = 0; i < N; i++) {
        size_t oi = (size_t)i * D, og = (size_t)s->idx[i] * D;
        const float *w = s->w + oi, *gm = mo->g + og, *gl = glo + og, *mg = mo->x + og;
        if (mu->g)
            for (int d = 0; d < D; d++) mu->g[oi + d] += w[d] * gm[d];
        if (lv->g)
            for (int d = 0; d < D; d++) {
                float g = w[d] * gl[d];
                if (product) g -= w[d] * (mu->x[oi + d] - mg[d]) * gm[d];
                lv->g[oi + d] += g * dsi_lv_pass(lv->x[oi + d]);
            }
    }
}

dsn_status dsi_pog(dsi_tape *t, dsi_var *mu, dsi_var *logvar, const int *group_idx, int n_groups,
                   dsi_pog_mode mode, dsi_var **mu_out, dsi_var **lv_out)
{
    *mu_out = *lv_out = NULL;
    if (!mu || !logvar) return t->status != DSN_OK ? t->status : DSN_E_INVALID;
    char s1[64], s2[64];
    if (!dsi_same_shape(mu, logvar) || mu->nd < 1) {
        dsi_tape_fail(t, DSN_E_SHAPE, "pog: mean %s and logvar %s differ", dsi_shape_str(mu, s1, sizeof s1),
                      dsi_shape_str(logvar, s2, sizeof s2));
        return t->status;
    }
    if (mode != DSI_POG_PRODUCT && mode != DSI_POG_MEAN) {
        dsi_tape_fail(t, DSN_E_INVALID, "pog: unknown mode %d", (int)mode);
        return t->status;
    }
    int D = dsi_var_cols(mu), N = dsi_var_rows(mu), G = n_groups;
    if (G < 1 || !group_idx) {
        dsi_tape_fail(t, DSN_E_INVALID, "pog: need n_groups >= 1 and a group index (got %d)", G);
        return t->status;
    }
    for (int i = 0; i < N; i++)
        if (group_idx[i] < 0 || group_idx[i] >= G) {
            dsi_tape_fail(t, DSN_E_INVALID, "pog: row %d has group %d, outside [0,%d)", i, group_idx[i], G);
            return t->status;
        }
    dsi_var *in[2] = {mu, logvar};
    int ng = dsi_tape_needs_grad(t, 2, in);
    int sh[2] = {G, D};
    dsi_var *mo = dsi_tape_new(t, 2, sh, ng), *lo = dsi_tape_new(t, 2, sh, ng);
    /* scratch: w [N,D], per-group max / sums [G,D] x 2 (the sums reuse mo/lo) */
    float *w = dsi_tape_scratch(t, sizeof(float) * ((size_t)N * D + 1));
    float *cnt = dsi_tape_scratch(t, sizeof(float) * (size_t)G);
    if (!mo || !lo || !w || !cnt) return t->status;
    size_t GD = (size_t)G * D;
    memset(cnt, 0, sizeof(float) * (size_t)G);
    for (int i = 0; i < N; i++) cnt[group_idx[i]] += 1.0f;
    if (mode == DSI_POG_MEAN) {
        memset(mo->x, 0, sizeof(float) * GD);
        memset(lo->x, 0, sizeof(float) * GD);
        for (int i = 0; i < N; i++) {
            size_t oi = (size_t)i * D, og = (size_t)group_idx[i] * D;
            float inv = 1.0f / cnt[group_idx[i]];
            for (int d = 0; d < D; d++) {
                mo->x[og + d] += inv * mu->x[oi + d];
                lo->x[og + d] += inv * dsi_lv_clamp(logvar->x[oi + d]);
                w[oi + d] = inv;
            }
        }
    } else {
        /* lo holds the running max of -lv, mo the weighted sums, w first holds P' */
        float *S = dsi_tape_scratch(t, sizeof(float) * GD);
        if (!S) return t->status;
        for (size_t k = 0; k < GD; k++) lo->x[k] = -INFINITY;
        memset(mo->x, 0, sizeof(float) * GD);
        memset(S, 0, sizeof(float) * GD);
        for (int i = 0; i < N; i++) {
            float *mx = lo->x + (size_t)group_idx[i] * D;
            const float *l = logvar->x + (size_t)i * D;
            for (int d = 0; d < D; d++) {
                float v = -dsi_lv_clamp(l[d]);
                if (v > mx[d]) mx[d] = v;
            }
        }
        for (int i = 0; i < N; i++) {
            size_t oi = (size_t)i * D, og = (size_t)group_idx[i] * D;
            for (int d = 0; d < D; d++) {
                float p = expf(-dsi_lv_clamp(logvar->x[oi + d]) - lo->x[og + d]);
                w[oi + d] = p;
                S[og + d] += p;
                mo->x[og + d] += p * mu->x[oi + d];
            }
        }
        for (int i = 0; i < N; i++) {
            size_t oi = (size_t)i * D, og = (size_t)group_idx[i] * D;
            for (int d = 0; d < D; d++) w[oi + d] /= S[og + d];
        }
        for (int g = 0; g < G; g++) {
            size_t og = (size_t)g * D;
            for (int d = 0; d < D; d++) {
                if (cnt[g] == 0.0f) { /* empty group: the prior N(0, 1) */
                    mo->x[og + d] = 0.0f;
                    lo->x[og + d] = 0.0f;
                    continue;
                }
                mo->x[og + d] /= S[og + d];
                lo->x[og + d] = -(lo->x[og + d] + logf(S[og + d]));
            }
        }
    }
    dsi_node *n = dsi_tape_record(t, pog_backward, mo, 2, in);
    if (n) {
        pog_saved *s = dsi_tape_scratch(t, sizeof *s);
        if (!s) return t->status;
        *s = (pog_saved){lo, w, group_idx};
        n->saved = s;
        n->ip[0] = D;
        n->ip[1] = N;
        n->ip[2] = mode;
    }
    *mu_out = mo;
    *lv_out = lo;
    return DSN_OK;
}
