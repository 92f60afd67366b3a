/* heads.c - Gaussian (mean, log-variance) and Bernoulli (logits) output layers. */
#include "nn/heads.h"
#include "autodiff/logvar.h"
#include "core/error.h"

dsn_status dsi_gauss_head_add(dsi_gauss_head *h, dsi_params *ps, const char *prefix, int group, int in, int dim)
{
    if (!h || !ps || !prefix) return dsi_error(DSN_E_INVALID, "gauss head: NULL argument");
    if (in < 1 || dim < 1) return dsi_error(DSN_E_INVALID, "gauss head %s: sizes %d -> %d", prefix, in, dim);
    h->in = in;
    h->dim = dim;
    return dsi_linear_layer_add(&h->lin, ps, prefix, group, in, 2 * dim, DSI_ACT_NONE, DSI_INIT_GLOROT);
}

void dsi_gauss_head_init(const dsi_gauss_head *h, dsi_params *ps, dsi_rng *rng, float lv_bias)
{
    dsi_linear_layer_init(&h->lin, ps, rng);
    dsi_var *b = dsi_params_var(ps, h->lin.b);
    for (int j = 0; j < h->dim; j++) b->x[h->dim + j] = lv_bias;
}

dsi_var *dsi_gauss_head_raw(dsi_tape *t, const dsi_gauss_head *h, dsi_params *ps, dsi_var *x)
{
    return dsi_linear_layer_forward(t, &h->lin, ps, x);
}

dsn_status dsi_gauss_head_forward(dsi_tape *t, const dsi_gauss_head *h, dsi_params *ps, dsi_var *x,
                                  dsi_var **mu, dsi_var **logvar)
{
    *mu = *logvar = NULL;
    dsi_var *y = dsi_gauss_head_raw(t, h, ps, x);
    if (!y) return t->status != DSN_OK ? t->status : DSN_E_INVALID;
    return dsi_split_mean_logvar(t, y, mu, logvar);
}

dsn_status dsi_bern_head_add(dsi_bern_head *h, dsi_params *ps, const char *prefix, int group, int in, int dim)
{
    if (!h || !ps || !prefix) return dsi_error(DSN_E_INVALID, "bernoulli head: NULL argument");
    return dsi_linear_layer_add(&h->lin, ps, prefix, group, in, dim, DSI_ACT_NONE, DSI_INIT_GLOROT);
}

void dsi_bern_head_init(const dsi_bern_head *h, dsi_params *ps, dsi_rng *rng)
{
    dsi_linear_layer_init(&h->lin, ps, rng);
}

dsi_var *dsi_bern_head_forward(dsi_tape *t, const dsi_bern_head *h, dsi_params *ps, dsi_var *x, int probs)
{
    dsi_var *y = dsi_linear_layer_forward(t, &h->lin, ps, x);
    return probs ? dsi_sigmoid(t, y) : y;
}
