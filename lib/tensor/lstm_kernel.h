/* lstm_kernel.h - the fused LSTM gate nonlinearity and state update for one
 * batch row (internal), shared by the LSTM cell and the LSTM layer.
 *
 * A row's gate vector has 4H entries in the order i, f, g, o:
 *   i = sig(z_i), f = sig(z_f), g = tanh(z_g), o = sig(z_o)
 *   c = f c_prev + i g,  h = o tanh(c) */
#ifndef DSI_TENSOR_LSTM_KERNEL_H
#define DSI_TENSOR_LSTM_KERNEL_H

/* Forward, one pass over the row.
 * z [4H]   in: pre-activations (input projection + bias, plus the recurrent
 *          term unless rec is given); out: the activated gates i, f, g, o.
 * rec      [4H] added to z first, or NULL.
 * c_prev   [H] previous cell state, or NULL for zeros.
 * c        [H] out: new cell state (may alias c_prev); c2 a second copy or NULL.
 * tc       [H] out: tanh(c), or NULL.
 * h        [H] out: new hidden state; h2 a second copy or NULL. */
void dsi_lstm_row_forward(int H, float *z, const float *rec, const float *c_prev, float *c, float *c2, float *tc,
                          float *h, float *h2);

/* Backward of one row.
 * gates [4H] in: activated gates of the forward; out: dz, the gradient at the
 *            pre-activations (overwrites the gates).
 * tc     [H] tanh(c) of the forward.
 * c_prev [H] previous cell state or NULL (zeros).
 * gh     [H] gradient at h; gh2 [H] a second term or NULL.
 * gc     [H] gradient at c from later uses, or NULL.
 * dc_prev [H] gradient at c_prev: written (accumulate = 0) or added
 *            (accumulate = 1); may alias gc; NULL to skip.
 * dz2    [4H] a second copy of dz, or NULL. */
void dsi_lstm_row_backward(int H, float *gates, const float *tc, const float *c_prev, const float *gh,
                           const float *gh2, const float *gc, float *dc_prev, int accumulate, float *dz2);

#endif
