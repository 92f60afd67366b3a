/* mlp.c - stacked fused linear layers. */
#include "nn/mlp.h"
#include "core/error.h"

#include <math.h>
#include <stdio.h>

dsn_status dsi_mlp_add(dsi_mlp *m, dsi_params *ps, const char *prefix, int group, const int *sizes, int n_sizes,
                       dsi_act act, dsi_act out_act)
{
    if (n_sizes < 2 || n_sizes > DSI_MLP_MAX_LAYERS + 1)
        return dsi_error(DSN_E_OPTION, "%s: %d layer sizes (want 2..%d)", prefix, n_sizes, DSI_MLP_MAX_LAYERS + 1);
    m->n_layers = n_sizes - 1;
    m->act = act;
    m->out_act = out_act;
    for (int i = 0; i < n_sizes; i++) {
        if (sizes[i] < 1) return dsi_error(DSN_E_OPTION, "%s: layer size %d", prefix, sizes[i]);
        m->sizes[i] = sizes[i];
    }
    for (int l = 0; l < m->n_layers; l++) {
        char name[DSI_PARAM_NAME];
        int sw[2] = {sizes[l], sizes[l + 1]}, sb[1] = {sizes[l + 1]};
        snprintf(name, sizeof name, "%s.%d.w", prefix, l);
        m->w[l] = dsi_params_add(ps, name, group, 2, sw);
        snprintf(name, sizeof name, "%s.%d.b", prefix, l);
        m->b[l] = dsi_params_add(ps, name, group, 1, sb);
        if (m->w[l] < 0 || m->b[l] < 0) return DSN_E_INTERNAL;
    }
    return DSN_OK;
}

static float gain(dsi_act a)
{
    switch (a) {
    case DSI_ACT_RELU:
    case DSI_ACT_LEAKY: return sqrtf(2.0f);
    case DSI_ACT_TANH: return 5.0f / 3.0f;
    default: return 1.0f;
    }
}

void dsi_mlp_init(const dsi_mlp *m, dsi_params *ps, dsi_rng *rng)
{
    for (int l = 0; l < m->n_layers; l++) {
        dsi_act a = l + 1 < m->n_layers ? m->act : m->out_act;
        dsi_params_init_glorot(ps, m->w[l], m->sizes[l], m->sizes[l + 1], gain(a), rng);
        dsi_params_init_const(ps, m->b[l], 0.0f);
    }
}

dsi_var *dsi_mlp_forward(dsi_tape *t, const dsi_mlp *m, dsi_params *ps, dsi_var *x)
{
    for (int l = 0; l < m->n_layers && x; l++)
        x = dsi_linear(t, x, dsi_params_var(ps, m->w[l]), dsi_params_var(ps, m->b[l]),
                       l + 1 < m->n_layers ? m->act : m->out_act);
    return x;
}
