/* init.h - how layers initialise their weights, and their parameter names (internal).
 *
 * Every layer of lib/nn declares its parameters into a dsi_params group under
 * "<prefix>.<name>" (dsi_layer_param), and draws its initial values from the
 * caller's RNG in a fixed order, so the same seed gives the same model. */
#ifndef DSI_NN_INIT_H
#define DSI_NN_INIT_H

#include "autodiff/ops.h"
#include "autodiff/params.h"
#include "core/rng.h"

typedef enum dsi_init {
    DSI_INIT_DEFAULT = 0, /* the layer's usual scheme (said in its header) */
    DSI_INIT_GLOROT,      /* weights uniform(+-gain sqrt(6 / (fan_in + fan_out))), gain of the activation; bias 0 */
    DSI_INIT_FANIN        /* weights and bias uniform(+-1 / sqrt(fan_in)) (PyTorch's default for linear, conv, LSTM) */
} dsi_init;

/* Glorot gain of an activation: sqrt(2) for ReLU and leaky ReLU, 5/3 for
 * tanh, 1 otherwise. */
float dsi_act_gain(dsi_act a);

/* Declare "<prefix>.<name>" with the given shape in group; returns its index,
 * or -1 with a message (name too long, or dsi_params_add failed). */
int dsi_layer_param(dsi_params *ps, const char *prefix, const char *name, int group, int nd, const int *shape);

#endif
