/* vq_prior.h - autoregressive priors over VQ code indices (internal).
 *
 * 2-D grids (images): codes are embedded (table [K, C], nn/embedding.h), run
 * through a stack of gated PixelCNN layers (nn/pixelcnn.h: causal in raster
 * order, no blind spot), then the head ReLU, 1x1 conv C -> hid, ReLU, 1x1
 * conv hid -> K logits.
 *
 * 1-D sequences (audio): an LSTM over the codes shifted by one step (input at
 * t is the embedding of code t-1; a learned start embedding at t = 0), C units,
 * then Linear C -> hid, ReLU, Linear hid -> K. Causal by construction.
 *
 * Loss: the mean categorical NLL per code (nats). Sampling walks the positions
 * in order with temperature and top-k. */
#ifndef DSI_MODELS_VQ_PRIOR_H
#define DSI_MODELS_VQ_PRIOR_H

#include "nn/conv.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/lstm.h"
#include "nn/pixelcnn.h"

#include <stdint.h>

#define DSI_VQP_MAX_LAYERS DSI_PIXELCNN_MAX_LAYERS

typedef struct dsi_vq_prior {
    int seq;                /* 0: gated PixelCNN over [gh, gw]; 1: LSTM over gw steps */
    int K, C, hid, gh, gw;
    dsi_embedding emb;      /* [K + 1, C]; row K is the start token (1-D) */
    dsi_pixelcnn pcnn;      /* 2-D */
    dsi_conv c1, c2;        /* 2-D head: 1x1 C -> hid, hid -> K */
    dsi_lstm_layer lstm;    /* 1-D: C -> C */
    dsi_linear_layer l1, l2; /* 1-D head: C -> hid (ReLU), hid -> K */
} dsi_vq_prior;

/* Declare the parameters (before dsi_params_finalize). */
dsn_status dsi_vq_prior_add(dsi_vq_prior *p, dsi_params *ps, int group, int seq, int K, int C, int layers,
                            int kernel, int hid, int gh, int gw);
void dsi_vq_prior_init(const dsi_vq_prior *p, dsi_params *ps, dsi_rng *rng);
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
