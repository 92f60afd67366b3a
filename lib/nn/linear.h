/* linear.h - a fully connected layer y = act(x W + b) (internal).
 *
 * W [in, out] ("<prefix>.w"), b [out] ("<prefix>.b"); the forward pass is the
 * fused dsi_linear op (one gemm, bias and activation in one pass, one node),
 * over any leading dimensions of x. Default init: Glorot with the gain of
 * `act`, zero bias. */
#ifndef DSI_NN_LINEAR_H
#define DSI_NN_LINEAR_H

#include "nn/init.h"

typedef struct dsi_linear_layer {
    int w, b;          /* parameter indices */
    int in, out;
    dsi_act act;
    dsi_init init;
} dsi_linear_layer;

/* Declare the parameters (before dsi_params_finalize). DSN_E_INVALID for
 * sizes < 1, an unknown init or a failed declaration. */
dsn_status dsi_linear_layer_add(dsi_linear_layer *l, dsi_params *ps, const char *prefix, int group, int in, int out,
                                dsi_act act, dsi_init init);
/* Draw the initial values (after dsi_params_finalize). */
void dsi_linear_layer_init(const dsi_linear_layer *l, dsi_params *ps, dsi_rng *rng);
/* x [.., in] -> [.., out]; NULL (tape failed) on a shape mismatch or NULL x. */
dsi_var *dsi_linear_layer_forward(dsi_tape *t, const dsi_linear_layer *l, dsi_params *ps, dsi_var *x);

#endif
