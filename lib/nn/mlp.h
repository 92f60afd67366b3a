/* mlp.h - a multi-layer perceptron of linear layers (internal).
 * Layer l: y = act_l(x W_l + b_l), W_l [sizes[l], sizes[l+1]]; hidden layers
 * use `act`, the last one `out_act`. Parameters "<prefix>.<l>.w/.b"; Glorot
 * init with each layer's activation gain, zero biases (nn/linear.h). */
#ifndef DSI_NN_MLP_H
#define DSI_NN_MLP_H

#include "nn/linear.h"

#define DSI_MLP_MAX_LAYERS 8

typedef struct dsi_mlp {
    int n_layers;
    dsi_linear_layer layer[DSI_MLP_MAX_LAYERS];
} dsi_mlp;

/* sizes[0..n_sizes-1]: input, hidden..., output (2 <= n_sizes <= 9; else DSN_E_OPTION). */
dsn_status dsi_mlp_add(dsi_mlp *m, dsi_params *ps, const char *prefix, int group, const int *sizes, int n_sizes,
                       dsi_act act, dsi_act out_act);
void dsi_mlp_init(const dsi_mlp *m, dsi_params *ps, dsi_rng *rng);
/* x [.., sizes[0]] -> [.., sizes[last]] */
dsi_var *dsi_mlp_forward(dsi_tape *t, const dsi_mlp *m, dsi_params *ps, dsi_var *x);
/* Output size (sizes[last]). */
static inline int dsi_mlp_out(const dsi_mlp *m) { return m->layer[m->n_layers - 1].out; }

#endif
