/* mlp.c - stacked linear layers. */
#include "nn/mlp.h"
#include "core/error.h"

#include <stdio.h>

dsn_status dsi_mlp_add(dsi_mlp *m, dsi_params *ps, const char *prefix, int group, const int *sizes, int n_sizes,
                       dsi_act act, dsi_act out_act)
{
    if (n_sizes < 2 || n_sizes > DSI_MLP_MAX_LAYERS + 1)
        return dsi_error(DSN_E_OPTION, "%s: %d layer sizes (want 2..%d)", prefix, n_sizes, DSI_MLP_MAX_LAYERS + 1);
    for (int i = 0; i < n_sizes; i++)
        if (sizes[i] < 1) return dsi_error(DSN_E_OPTION, "%s: layer size %d", prefix, sizes[i]);
    m->n_layers = n_sizes - 1;
    for (int l = 0; l < m->n_layers; l++) {
        char name[DSI_PARAM_NAME];
        snprintf(name, sizeof name, "%s.%d", prefix, l);
        dsn_status st = dsi_linear_layer_add(&m->layer[l], ps, name, group, sizes[l], sizes[l + 1],
                                             l + 1 < m->n_layers ? act : out_act, DSI_INIT_GLOROT);
        if (st != DSN_OK) return st;
    }
    return DSN_OK;
}

void dsi_mlp_init(const dsi_mlp *m, dsi_params *ps, dsi_rng *rng)
{
    for (int l = 0; l < m->n_layers; l++) dsi_linear_layer_init(&m->layer[l], ps, rng);
}

dsi_var *dsi_mlp_forward(dsi_tape *t, const dsi_mlp *m, dsi_params *ps, dsi_var *x)
{
    for (int l = 0; l < m->n_layers && x; l++) x = dsi_linear_layer_forward(t, &m->layer[l], ps, x);
    return x;
}
