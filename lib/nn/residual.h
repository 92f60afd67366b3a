/* residual.h - a residual block of two convolutions (internal).
 *
 *   y = x + conv_b(ReLU(conv_a(ReLU(x))))
 * conv_a: k x k (k odd, padding k/2), ch -> res_ch ("<prefix>.a");
 * conv_b: 1 x 1, res_ch -> ch ("<prefix>.b"); both 1-D or 2-D, default
 * (fan-in) init. The VQ-VAE block of van den Oord et al. (2017) with k = 3.
 * x [N, ch, H(, W)] -> same shape. */
#ifndef DSI_NN_RESIDUAL_H
#define DSI_NN_RESIDUAL_H

#include "nn/conv.h"

typedef struct dsi_resblock {
    dsi_conv a, b;
} dsi_resblock;

/* DSN_E_INVALID for an even kernel or bad sizes */
dsn_status dsi_resblock_add(dsi_resblock *r, dsi_params *ps, const char *prefix, int group, int dims, int ch, int res_ch,
                            int kernel);
/* a, then b */
void dsi_resblock_init(const dsi_resblock *r, dsi_params *ps, dsi_rng *rng);
dsi_var *dsi_resblock_forward(dsi_tape *t, const dsi_resblock *r, dsi_params *ps, dsi_var *x);

#endif
