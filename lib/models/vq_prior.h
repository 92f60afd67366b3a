/* vq_prior.h - autoregressive priors over VQ code indices (internal).
 *
 * 2-D grids (images): a gated PixelCNN (van den Oord et al. 2016, "Conditional
 * Image Generation with PixelCNN Decoders") without conditioning. Codes are
 * embedded (table [K, C]); each of `layers` gated layers has a vertical stack
 * (k x k convolution whose taps are masked to the rows above the centre in
 * layer 0, and to the rows up to and including the centre afterwards, so a
 * vertical feature at row i only ever sees code rows < i) and a horizontal
 * stack (k x k convolution masked to the centre row, taps left of the centre
 * in layer 0 and up to the centre afterwards) that also receives the vertical
 * stack through a 1x1 convolution. Gates: tanh(a) * sigmoid(b) over the two
 * halves of 2C channels; the horizontal stack has a 1x1 output convolution and
 * a residual connection from layer 1 on. Masks multiply the weights (a
 * constant [k, k] broadcast), so the masked taps get no gradient and the
 * receptive field is all earlier positions in raster order (no blind spot).
 * Head: ReLU, 1x1 C -> hid, ReLU, 1x1 hid -> K logits.
 *
 * 1-D sequences (audio): an LSTM over the codes shifted by one step (input at
 * t is the embedding of code t-1; a learned start embedding at t = 0), C units,
 * then Linear C -> hid, ReLU, Linear hid -> K. Causal by construction.
 *
 * Loss: the mean categorical NLL per code (nats). Sampling walks the positions
 * in order with temperature and top-k. */
#ifndef DSI_MODELS_VQ_PRIOR_H
#define DSI_MODELS_VQ_PRIOR_H

#include "autodiff/ops.h"
#include "autodiff/params.h"
#include "core/rng.h"

#include <stdint.h>

#define DSI_VQP_MAX_LAYERS 32

typedef struct dsi_vq_prior {
    int seq;                /* 0: gated PixelCNN over [gh, gw]; 1: LSTM over gw steps */
    int K, C, layers, kernel, hid, gh, gw;
    int emb;                /* [K + 1, C]; row K is the start token (1-D) */
    int vw[DSI_VQP_MAX_LAYERS], vb[DSI_VQP_MAX_LAYERS];   /* vertical   [2C, C, k, k] */
    int hw[DSI_VQP_MAX_LAYERS], hb[DSI_VQP_MAX_LAYERS];   /* horizontal [2C, C, k, k] */
    int vhw[DSI_VQP_MAX_LAYERS], vhb[DSI_VQP_MAX_LAYERS]; /* vertical -> horizontal [2C, 2C, 1, 1] */
    int ow[DSI_VQP_MAX_LAYERS], ob[DSI_VQP_MAX_LAYERS];   /* horizontal output [C, C, 1, 1] */
    int lwx, lwh, lb;       /* LSTM [C, 4C], [C, 4C], [4C] */
    int h1w, h1b, h2w, h2b; /* head */
    float *masks;           /* 4 x [k, k]: vertical A, vertical B, horizontal A, horizontal B */
} dsi_vq_prior;

/* Declare the parameters (before dsi_params_finalize). */
dsn_status dsi_vq_prior_add(dsi_vq_prior *p, dsi_params *ps, int group, int seq, int K, int C, int layers,
                            int kernel, int hid, int gh, int gw);
void dsi_vq_prior_init(dsi_vq_prior *p, dsi_params *ps, dsi_rng *rng);
void dsi_vq_prior_release(dsi_vq_prior *p);
/* Logits for codes [N, P] (P = gh * gw): 2-D [N, K, gh, gw] (class axis 1),
 * 1-D [N, gw, K] (class axis 2). codes must stay valid until backward. */
dsi_var *dsi_vq_prior_logits(dsi_tape *t, const dsi_vq_prior *p, dsi_params *ps, const int32_t *codes, int N);
int dsi_vq_prior_class_axis(const dsi_vq_prior *p);
/* Mean NLL per code in nats (a scalar on the tape). */
dsi_var *dsi_vq_prior_nll(dsi_tape *t, const dsi_vq_prior *p, dsi_params *ps, const int32_t *codes, int N);
/* Draw codes [N, P] position by position (resets t between positions of the
 * 2-D model). temperature <= 0: the most likely code; top_k > 0: only the
 * top_k most likely codes (ties at the threshold are kept). */
dsn_status dsi_vq_prior_sample(dsi_tape *t, const dsi_vq_prior *p, dsi_params *ps, int32_t *codes, int N,
                               float temperature, int top_k, dsi_rng *rng);
/* One categorical draw from K logits at stride `stride` (scratch: 2K floats). */
int dsi_vq_sample_logits(const float *logits, size_t stride, int K, float temperature, int top_k, float *scratch,
                         dsi_rng *rng);

#endif
