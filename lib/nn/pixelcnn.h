/* pixelcnn.h - a stack of gated PixelCNN layers (van den Oord et al. 2016,
 * "Conditional Image Generation with PixelCNN Decoders"), unconditional
 * (internal).
 *
 * Input and output [N, C, H, W]. Each layer l has a vertical stack (k x k
 * convolution C -> 2C whose taps are masked to the rows above the centre in
 * layer 0 and to the rows up to and including the centre afterwards, so a
 * vertical feature at row i only ever sees input rows < i) and a horizontal
 * stack (k x k convolution C -> 2C masked to the centre row: taps left of the
 * centre in layer 0, up to and including it afterwards) that also receives
 * the vertical stack's pre-activation through a 1x1 convolution 2C -> 2C.
 * Gates: tanh(a) * sigmoid(b) over the two halves of 2C channels; the
 * horizontal stack has a 1x1 output convolution C -> C and, from layer 1 on, a
 * residual connection. Masks multiply the weights (nn/conv.h), so masked taps
 * get no gradient, and the receptive field of output (i, j) is every input
 * position before (i, j) in raster order (no blind spot), never (i, j) itself.
 *
 * Parameters "<prefix>.l<l>.v", ".h", ".vh", ".o" (conv layers .w/.b); init
 * fan-in uniform with the fan of the open taps (C (k/2 + 1) k vertical,
 * C (k/2 + 1) horizontal). */
#ifndef DSI_NN_PIXELCNN_H
#define DSI_NN_PIXELCNN_H

#include "nn/conv.h"

#define DSI_PIXELCNN_MAX_LAYERS 32
#define DSI_PIXELCNN_MAX_KERNEL 15

typedef struct dsi_pixelcnn {
    int C, layers, kernel;
    dsi_conv v[DSI_PIXELCNN_MAX_LAYERS], h[DSI_PIXELCNN_MAX_LAYERS];
    dsi_conv vh[DSI_PIXELCNN_MAX_LAYERS], o[DSI_PIXELCNN_MAX_LAYERS];
    /* [k, k] each: vertical layer 0, vertical later, horizontal layer 0, horizontal later */
    float masks[4][DSI_PIXELCNN_MAX_KERNEL * DSI_PIXELCNN_MAX_KERNEL];
} dsi_pixelcnn;

/* 1 <= layers <= 32, kernel odd in [1, 15], else DSN_E_OPTION. The masks
 * live in the struct: the forward pass reads them from it, so it must not
 * move between a forward pass and its backward pass. */
dsn_status dsi_pixelcnn_add(dsi_pixelcnn *p, dsi_params *ps, const char *prefix, int group, int C, int layers,
                            int kernel);
void dsi_pixelcnn_init(const dsi_pixelcnn *p, dsi_params *ps, dsi_rng *rng);
/* x [N, C, H, W] -> the last horizontal stack [N, C, H, W] */
dsi_var *dsi_pixelcnn_forward(dsi_tape *t, const dsi_pixelcnn *p, dsi_params *ps, dsi_var *x);

#endif
