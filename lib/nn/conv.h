/* conv.h - convolution layers, 1-D and 2-D, plain and transposed (internal).
 *
 * Layouts: 2-D x [N, C, H, W], 1-D x [N, C, L]. Square kernels k (k x k in
 * 2-D). Weights "<prefix>.w": conv [out, in, k(, k)], transposed
 * [in, out, k(, k)] (PyTorch's layouts); bias "<prefix>.b" [out]. The forward
 * pass is one of the im2col + gemm ops of autodiff/ops_conv.c:
 *   conv        OH = (H + 2 pad - k) / stride + 1
 *   transposed  OH = (H - 1) stride - 2 pad + k
 * Default init: FANIN (PyTorch's), weights and bias uniform(+-1/sqrt(fan))
 * with fan = in k^d (conv) or out k^d (transposed) unless spec.fan_in is set
 * (e.g. to the open taps of a masked kernel); GLOROT: gain 1, zero bias. */
#ifndef DSI_NN_CONV_H
#define DSI_NN_CONV_H

#include "nn/init.h"

typedef struct dsi_conv_spec {
    int dims;        /* 1 or 2 */
    int in, out;     /* channels */
    int kernel;      /* >= 1 */
    int stride;      /* >= 1; 0 means 1 */
    int pad;         /* >= 0 */
    int transposed;  /* 0 or 1 */
    int fan_in;      /* 0: the layer's own fan-in (above) */
    dsi_init init;
} dsi_conv_spec;

typedef struct dsi_conv {
    int w, b;        /* parameter indices */
    dsi_conv_spec s; /* as given, stride >= 1, fan_in and init resolved */
} dsi_conv;

/* Declare the parameters. DSN_E_INVALID for a bad spec. */
dsn_status dsi_conv_add(dsi_conv *c, dsi_params *ps, const char *prefix, int group, dsi_conv_spec spec);
void dsi_conv_init(const dsi_conv *c, dsi_params *ps, dsi_rng *rng);
/* x [N, in, H(, W)] -> [N, out, OH(, OW)]; NULL (tape failed) on a bad shape. */
dsi_var *dsi_conv_forward(dsi_tape *t, const dsi_conv *c, dsi_params *ps, dsi_var *x);
/* The same with the weights multiplied by a constant mask first: mask [k]
 * (1-D) or [k, k] (2-D), broadcast over the channels, caller memory valid
 * until the backward pass. Masked taps get no gradient. */
dsi_var *dsi_conv_forward_masked(dsi_tape *t, const dsi_conv *c, dsi_params *ps, dsi_var *x, const float *mask);
/* Output length along one spatial axis for an input length n. */
int dsi_conv_out_len(const dsi_conv *c, int n);

#endif
