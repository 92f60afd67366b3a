/* mlp.h - a multi-layer perceptron of fused linear layers (internal).
 * Layer l: y = act_l(x W_l + b_l), W_l [sizes[l], sizes[l+1]]; hidden layers
 * use `act`, the last one `out_act`. Parameters "<prefix>.<l>.w/.b". */
#ifndef DSI_NN_MLP_H
#define DSI_NN_MLP_H

#include "autodiff/ops.h"
#include "autodiff/params.h"
#include "core/rng.h"

#define DSI_MLP_MAX_LAYERS 8

typedef struct dsi_mlp {
    int n_layers;
    int sizes[DSI_MLP_MAX_LAYERS + 1];
    int w[DSI_MLP_MAX_LAYERS], b[DSI_MLP_MAX_LAYERS];
    dsi_act act, out_act;
} dsi_mlp;

/* sizes[0..n_sizes-1]: input, hidden..., output (n_sizes >= 2). */
dsn_status dsi_mlp_add(dsi_mlp *m, dsi_params *ps, const char *prefix, int group, const int *sizes, int n_sizes,
                       dsi_act act, dsi_act out_act);
/* Glorot-uniform weights (gain for the activation), zero biases. */
void dsi_mlp_init(const dsi_mlp *m, dsi_params *ps, dsi_rng *rng);
/* x [.., sizes[0]] -> [.., sizes[last]] */
dsi_var *dsi_mlp_forward(dsi_tape *t, const dsi_mlp *m, dsi_params *ps, dsi_var *x);

#endif
