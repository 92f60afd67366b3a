/* ops_logvar.c - the mean / log-variance split and the log-variance clamp
 * (rule in logvar.h). */
#include "autodiff/logvar.h"
#include "core/pool.h"

#include <string.h>

/* mu = y[.., :D]; lv = clamp(y[.., D:]) */
typedef struct split_job {
    int D;
    dsi_var *y, *mu, *lv;
} split_job;

static void split_backward_rows(void *ctx, size_t lo, size_t hi)
{
    const split_job *j = ctx;
    const int D = j->D;
    for (size_t r = lo; r < hi; r++) {
        float *gy = j->y->g + r * 2 * D;
        const float *yx = j->y->x + r * 2 * D;
        const float *gm = j->mu->g + r * D, *gl = j->lv->g ? j->lv->g + r * D : NULL;
        for (int d = 0; d < D; d++) gy[d] += gm[d];
        if (gl)
            for (int d = 0; d < D; d++) gy[D + d] += gl[d] * dsi_lv_pass(yx[D + d]);
    }
}

static void split_forward_rows(void *ctx, size_t lo, size_t hi)
{
    const split_job *j = ctx;
    const int D = j->D;
    enum { CB = 16 };
    for (size_t r = lo; r < hi; r++) {
        const float *yr = j->y->x + r * 2 * D;
        float *mr = j->mu->x + r * D, *lr = j->lv->x + r * D;
        const float *ly = yr + D;
        int d = 0;
        /* blocks of a fixed count (copies inlined, the clamp vectorised: the same dsi_lv_clamp per value) */
        for (; d + CB <= D; d += CB) {
            memcpy(mr + d, yr + d, sizeof(float) * CB);
            float b[CB];
            for (int k = 0; k < CB; k++) b[k] = dsi_lv_clamp(ly[d + k]);
            memcpy(lr + d, b, sizeof b);
        }
        if (d < D) memcpy(mr + d, yr + d, sizeof(float) * (size_t)(D - d));
        for (; d < D; d++) lr[d] = dsi_lv_clamp(ly[d]);
    }
}

static void split_backward(dsi_node *n)
{
    dsi_var *y = n->in[0], *mu = n->out, *lv = n->saved;
    if (!y->g) return;
    int D = n->ip[0], R = n->ip[1];
    split_job j = {D, y, mu, lv};
    dsi_pool_range((size_t)R, 20.0 * D, 131072.0, 1, split_backward_rows, &j);
}

dsn_status dsi_split_mean_logvar(dsi_tape *t, dsi_var *y, dsi_var **mu, dsi_var **logvar)
{
    *mu = *logvar = NULL;
    if (!y) return t->status != DSN_OK ? t->status : DSN_E_INVALID;
    int C = dsi_var_cols(y);
    if (y->nd < 1 || C % 2) {
        dsi_tape_fail(t, DSN_E_SHAPE, "mean/logvar split: last dimension %d is not even", C);
        return t->status;
    }
    int D = C / 2, R = dsi_var_rows(y);
    int shape[DSI_MAXDIM];
    memcpy(shape, y->shape, sizeof shape);
    shape[y->nd - 1] = D;
    int ng = dsi_tape_needs_grad(t, 1, &y);
    dsi_var *m = dsi_tape_new(t, y->nd, shape, ng), *l = dsi_tape_new(t, y->nd, shape, ng);
    if (!m || !l) return t->status;
    split_job j = {D, y, m, l};
    dsi_pool_range((size_t)R, 16.0 * D, 131072.0, 1, split_forward_rows, &j);
    /* one node for both outputs: the logvar gradient is read from l->g */
    dsi_node *n = dsi_tape_record(t, split_backward, m, 1, &y);
    if (n) {
        n->ip[0] = D;
        n->ip[1] = R;
        n->saved = l;
    }
    *mu = m;
    *logvar = l;
    return DSN_OK;
}

/* y = clamp(x, MIN, MAX) */
static void lvclamp_backward(dsi_node *n)
{
    dsi_var *x = n->in[0], *y = n->out;
    if (!x->g) return;
    for (size_t i = 0; i < x->n; i++) x->g[i] += y->g[i] * dsi_lv_pass(x->x[i]);
}

dsi_var *dsi_logvar_clamp(dsi_tape *t, dsi_var *lv)
{
    if (!lv) return NULL;
    dsi_var *y = dsi_tape_new(t, lv->nd, lv->shape, dsi_tape_needs_grad(t, 1, &lv));
    if (!y) return NULL;
    for (size_t i = 0; i < lv->n; i++) y->x[i] = dsi_lv_clamp(lv->x[i]);
    dsi_tape_record(t, lvclamp_backward, y, 1, &lv);
    return y;
}
