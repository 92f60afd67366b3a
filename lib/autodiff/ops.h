/* ops.h - differentiable operations (internal).
 *
 * Every op: takes the tape first, returns a new var (NULL on failure or when an
 * input is NULL), computes the forward result at once, and records a backward
 * node when the result needs a gradient. Gradients accumulate (+=) into inputs.
 * Each definition carries a one-line formula comment. Every op has a
 * finite-difference gradient test in tests/.
 *
 * Layout conventions: row-major; batches first. Images NCHW, sequences
 * [B, T, D] (batch, time, features), 1-D convolutions [N, C, L]. Linear
 * weights are [in, out] so y = x W + b needs no transpose. */
#ifndef DSI_AUTODIFF_OPS_H
#define DSI_AUTODIFF_OPS_H

#include "autodiff/tape.h"
#include "tensor/act.h"

/* activations: dsi_act (tensor/act.h) */

/* ---- linear algebra (ops_linalg.c) ---- */
/* C = op(A) op(B); A, B 2-D; ta/tb transpose A/B. */
dsi_var *dsi_matmul(dsi_tape *t, dsi_var *a, dsi_var *b, int ta, int tb);
/* y = act(x W + b): x [.., in] (any leading dims), W [in, out], b [out] or NULL.
 * Fused: one gemm, bias and activation in one pass, one node. */
dsi_var *dsi_linear(dsi_tape *t, dsi_var *x, dsi_var *w, dsi_var *b, dsi_act act);

/* ---- element-wise (ops_elementwise.c) ---- */
/* Binary ops broadcast numpy-style (shapes aligned on the right; a dimension
 * of 1 stretches). The result has the broadcast shape. */
dsi_var *dsi_add(dsi_tape *t, dsi_var *a, dsi_var *b); /* a + b */
dsi_var *dsi_sub(dsi_tape *t, dsi_var *a, dsi_var *b); /* a - b */
dsi_var *dsi_mul(dsi_tape *t, dsi_var *a, dsi_var *b); /* a * b */
dsi_var *dsi_div(dsi_tape *t, dsi_var *a, dsi_var *b); /* a / b */
/* f(x) = s * x + c */
dsi_var *dsi_affine_scalar(dsi_tape *t, dsi_var *a, float s, float c);
/* Gradient reversal (Ganin & Lempitsky 2015): y = x forward, dx += -lambda dy
 * backward. Not the derivative of its forward pass: a loss L(y) trains what
 * reads y to lower L and what produced x to raise lambda L (lambda 0: a stop
 * gradient). y is a copy (its own gradient), so x's other readers are unaffected. */
dsi_var *dsi_grad_reverse(dsi_tape *t, dsi_var *a, float lambda);
/* y = f(x) for one of the activations above; alpha is used by LEAKY only */
dsi_var *dsi_unary(dsi_tape *t, dsi_var *a, dsi_act act, float alpha);
dsi_var *dsi_relu(dsi_tape *t, dsi_var *a);
dsi_var *dsi_leaky_relu(dsi_tape *t, dsi_var *a, float alpha);
dsi_var *dsi_tanh(dsi_tape *t, dsi_var *a);
dsi_var *dsi_sigmoid(dsi_tape *t, dsi_var *a);
dsi_var *dsi_softplus(dsi_tape *t, dsi_var *a);
dsi_var *dsi_exp(dsi_tape *t, dsi_var *a);
dsi_var *dsi_log(dsi_tape *t, dsi_var *a);
/* f(x) = min(max(x, lo), hi); gradient passes only where lo < x < hi */
dsi_var *dsi_clamp(dsi_tape *t, dsi_var *a, float lo, float hi);

/* ---- reductions (ops_reduce.c) ---- */
/* s = sum_i x_i (scalar, nd 0) */
dsi_var *dsi_sum(dsi_tape *t, dsi_var *a);
/* s = mean_i x_i (scalar) */
dsi_var *dsi_mean(dsi_tape *t, dsi_var *a);
/* sum over one axis; keepdim keeps it as size 1 */
dsi_var *dsi_sum_axis(dsi_tape *t, dsi_var *a, int axis, int keepdim);
dsi_var *dsi_mean_axis(dsi_tape *t, dsi_var *a, int axis, int keepdim);
/* y[b,d] = sum_t m[b,t] x[b,t,d] / max(sum_t m[b,t], 1); x [B,T,D], mask [B,T]
 * of 0/1 (caller memory, not differentiated). A fully masked row gives 0. */
dsi_var *dsi_masked_mean_time(dsi_tape *t, dsi_var *x, const float *mask);
/* s = sum_i w_i x_i with constant weights w (caller memory, same count as x) */
dsi_var *dsi_weighted_sum(dsi_tape *t, dsi_var *a, const float *w);

/* ---- shape (ops_shape.c) ---- */
/* A view with a new shape (same count); shares values and gradient, no copy. */
dsi_var *dsi_reshape(dsi_tape *t, dsi_var *a, int nd, const int *shape);
/* Concatenate n vars along axis; all other dimensions must agree. */
dsi_var *dsi_concat(dsi_tape *t, dsi_var *const *vs, int n, int axis);
/* y = x[..., start:start+len, ...] along axis */
dsi_var *dsi_slice(dsi_tape *t, dsi_var *a, int axis, int start, int len);
/* y = x permuted: y.shape[i] = x.shape[perm[i]] */
dsi_var *dsi_transpose(dsi_tape *t, dsi_var *a, const int *perm);
/* y[i,:] = x[idx[i],:]; x [N, D] (leading dims flattened), idx [m] in [0,N) */
dsi_var *dsi_gather_rows(dsi_tape *t, dsi_var *a, const int *idx, int m);
/* y[idx[i],:] += x[i,:]; x [m, D], y [n_out, D] starts at 0 */
dsi_var *dsi_scatter_add_rows(dsi_tape *t, dsi_var *a, const int *idx, int n_out);

/* ---- convolution (ops_conv.c) ----
 * Channels-last indirect-gemm kernels (tensor/conv_nhwc.h); the NCHW tensors
 * are converted at the op's boundary. dsi_conv_set_im2col(1) switches every
 * conv op of the process to the im2col + gemm reference path (tests and
 * benchmarks only; not thread-safe against running ops); kernels of more
 * than DSI_CG_MAXTAPS taps always take it. */
void dsi_conv_set_im2col(int on);
/* x [N,C,H,W], w [O,C,KH,KW], b [O] or NULL -> [N,O,OH,OW],
 * OH = (H + 2 pad - KH) / stride + 1 */
dsi_var *dsi_conv2d(dsi_tape *t, dsi_var *x, dsi_var *w, dsi_var *b, int stride, int pad);
/* transposed: x [N,C,H,W], w [C,O,KH,KW] -> [N,O,OH,OW],
 * OH = (H - 1) stride - 2 pad + KH */
dsi_var *dsi_conv_transpose2d(dsi_tape *t, dsi_var *x, dsi_var *w, dsi_var *b, int stride, int pad);
/* x [N,C,L], w [O,C,K] -> [N,O,OL]; OL = (L + 2 pad - K) / stride + 1 */
dsi_var *dsi_conv1d(dsi_tape *t, dsi_var *x, dsi_var *w, dsi_var *b, int stride, int pad);
/* x [N,C,L], w [C,O,K] -> [N,O,OL]; OL = (L - 1) stride - 2 pad + K */
dsi_var *dsi_conv_transpose1d(dsi_tape *t, dsi_var *x, dsi_var *w, dsi_var *b, int stride, int pad);

/* ---- recurrent (ops_lstm.c) ---- */
/* One fused LSTM cell. x [B,I], h, c [B,H] (h, c may be NULL for zeros),
 * wx [I,4H], wh [H,4H], b [4H]; gate order i, f, g, o:
 *   i = sig(.), f = sig(.), g = tanh(.), o = sig(.)
 *   c' = f c + i g;  h' = o tanh(c') */
int dsi_lstm_cell(dsi_tape *t, dsi_var *x, dsi_var *h, dsi_var *c, dsi_var *wx, dsi_var *wh,
                  dsi_var *b, dsi_var **h_out, dsi_var **c_out);
/* An LSTM layer over time: x [B,T,I] -> h [B,T,H], zero initial state unless
 * h0/c0 [B,H] are given. The input projections of all steps are one gemm.
 * reverse: run from the last valid frame back to frame 0. lengths (caller
 * memory, may be NULL = all T): frames t >= lengths[b] give h = 0 and do not
 * touch the state. A bi-LSTM is two layers, one with reverse = 1. */
dsi_var *dsi_lstm(dsi_tape *t, dsi_var *x, dsi_var *wx, dsi_var *wh, dsi_var *b, dsi_var *h0,
                  dsi_var *c0, int reverse, const int *lengths);


/* ---- categorical (ops_xent.c) ---- */
/* L = scale * sum_{o,i} -log softmax(x[o,:,i])[target[o,i]]: x [..., K, ...]
 * with the K classes on class_axis (outer = dims before it, inner = dims
 * after it), target [outer * inner] int32 in [0, K) (caller or arena memory,
 * valid until backward); scale = 1/(outer*inner) if mean else 1. A scalar.
 * dL/dx = scale (softmax(x) - onehot(target)). */
#include <stdint.h>
dsi_var *dsi_softmax_xent(dsi_tape *t, dsi_var *x, const int32_t *target, int class_axis, int mean);

#endif
