/* lstm.h - LSTM layers: one direction, bidirectional, and stacks (internal).
 *
 * Sequences are [B, T, I] (batch, time, features). A layer holds wx [I, 4H],
 * wh [H, 4H] and b [4H] ("<prefix>.wx/.wh/.b"; gate order i, f, g, o) and
 * runs as the fused dsi_lstm op: the input projections of all steps are one
 * gemm, the recurrence one node. Default init: PyTorch's, every weight and
 * bias uniform(+-1/sqrt(H)).
 *
 * Lengths (caller memory, [B], values in [0, T], may be NULL = all T): frames
 * t >= lengths[b] give h = 0 and do not touch the state; a reverse layer
 * starts at each sequence's last valid frame. A frame mask whose valid frames
 * are a prefix gives the lengths (dsi_lstm_lengths_from_mask). */
#ifndef DSI_NN_LSTM_H
#define DSI_NN_LSTM_H

#include "nn/init.h"

typedef struct dsi_lstm_layer {
    int wx, wh, b;     /* parameter indices */
    int in, hid;
} dsi_lstm_layer;

dsn_status dsi_lstm_layer_add(dsi_lstm_layer *l, dsi_params *ps, const char *prefix, int group, int in, int hid);
void dsi_lstm_layer_init(const dsi_lstm_layer *l, dsi_params *ps, dsi_rng *rng);
/* x [B, T, in] -> h [B, T, hid]; h0, c0 [B, hid] initial state (NULL: zeros);
 * reverse runs from the last valid frame back to frame 0. */
dsi_var *dsi_lstm_layer_forward(dsi_tape *t, const dsi_lstm_layer *l, dsi_params *ps, dsi_var *x, dsi_var *h0,
                                dsi_var *c0, int reverse, const int *lengths);
/* One step: x [B, in], state h, c [B, hid] (NULL: zeros) -> *h_out, *c_out.
 * For step-by-step generation; returns the tape status. */
dsn_status dsi_lstm_layer_step(dsi_tape *t, const dsi_lstm_layer *l, dsi_params *ps, dsi_var *x, dsi_var *h,
                               dsi_var *c, dsi_var **h_out, dsi_var **c_out);

/* ---- bidirectional ---- */
typedef enum dsi_bi_merge {
    DSI_BI_CONCAT = 0, /* y_t = [fw_t; bw_t], 2H features */
    DSI_BI_MEAN = 1    /* y_t = (fw_t + bw_t) / 2, H features */
} dsi_bi_merge;

/* A forward layer "<prefix>.fw" and a reverse one "<prefix>.bw" over the same input. */
typedef struct dsi_bilstm {
    dsi_lstm_layer fw, bw;
    dsi_bi_merge merge;
} dsi_bilstm;

dsn_status dsi_bilstm_add(dsi_bilstm *b, dsi_params *ps, const char *prefix, int group, int in, int hid,
                          dsi_bi_merge merge);
/* fw first, then bw */
void dsi_bilstm_init(const dsi_bilstm *b, dsi_params *ps, dsi_rng *rng);
/* x [B, T, in] -> [B, T, dsi_bilstm_out(b)]; lengths as above, for both directions. */
dsi_var *dsi_bilstm_forward(dsi_tape *t, const dsi_bilstm *b, dsi_params *ps, dsi_var *x, const int *lengths);
static inline int dsi_bilstm_out(const dsi_bilstm *b) { return b->merge == DSI_BI_CONCAT ? 2 * b->fw.hid : b->fw.hid; }

/* ---- stacks ---- */
#define DSI_LSTM_MAX_LAYERS 8

/* n forward layers "<prefix>.0", "<prefix>.1", ...: layer 0 reads in
 * features, the others hid; the output is the last layer's h. */
typedef struct dsi_lstm_stack {
    int n_layers;
    dsi_lstm_layer layer[DSI_LSTM_MAX_LAYERS];
} dsi_lstm_stack;

/* 1 <= n_layers <= DSI_LSTM_MAX_LAYERS, else DSN_E_OPTION */
dsn_status dsi_lstm_stack_add(dsi_lstm_stack *s, dsi_params *ps, const char *prefix, int group, int in, int hid,
                              int n_layers);
void dsi_lstm_stack_init(const dsi_lstm_stack *s, dsi_params *ps, dsi_rng *rng);
/* x [B, T, in] -> [B, T, hid] from zero states */
dsi_var *dsi_lstm_stack_forward(dsi_tape *t, const dsi_lstm_stack *s, dsi_params *ps, dsi_var *x, const int *lengths);
/* One step through every layer: x [B, in]; h[l], c[l] (n_layers each) hold
 * the state (NULL entries: zeros) and are replaced by the new one; *out gets
 * the last layer's h. Returns the tape status. */
dsn_status dsi_lstm_stack_step(dsi_tape *t, const dsi_lstm_stack *s, dsi_params *ps, dsi_var *x, dsi_var **h,
                               dsi_var **c, dsi_var **out);

/* lengths[b] = 1 + the last frame t with mask[b, t] != 0 (0 for an empty row)
 * from a [B, T] mask; lengths has B entries. */
void dsi_lstm_lengths_from_mask(const float *mask, int B, int T, int *lengths);

#endif
