/* act.h - activation kernels on float arrays (internal), shared by the unary
 * op and the fused ops (linear, conv, LSTM). */
#ifndef DSI_TENSOR_ACT_H
#define DSI_TENSOR_ACT_H

#include <stddef.h>

/* The activations (shared by the unary op and the fused ops of lib/autodiff). */
typedef enum dsi_act {
    DSI_ACT_NONE = 0,  /* f(x) = x */
    DSI_ACT_RELU,      /* f(x) = max(x, 0) */
    DSI_ACT_LEAKY,     /* f(x) = x > 0 ? x : alpha x  (alpha = 0.01 in fused ops) */
    DSI_ACT_TANH,      /* f(x) = tanh(x) */
    DSI_ACT_SIGMOID,   /* f(x) = 1 / (1 + exp(-x)) */
    DSI_ACT_SOFTPLUS,  /* f(x) = log(1 + exp(x)), computed stably */
    DSI_ACT_EXP,       /* f(x) = exp(x) */
    DSI_ACT_LOG,       /* f(x) = log(x) (x must be > 0) */
    DSI_ACT_SQUARE,    /* f(x) = x^2 */
    DSI_ACT_NEG,       /* f(x) = -x */
    DSI_ACT_COUNT_
} dsi_act;

/* y[i] = f(x[i]); in place allowed (y == x) */
void dsi_act_forward(dsi_act act, float alpha, const float *x, float *y, size_t n);
/* gx[i] += gy[i] * f'(x[i]) given x (input) and y (output) of the forward */
void dsi_act_backward(dsi_act act, float alpha, const float *x, const float *y, const float *gy,
                      float *gx, size_t n);
/* Same, but for activations whose derivative can be written from y alone
 * (none, relu, leaky, tanh, sigmoid, exp, neg): gz[i] = gy[i] * f'(y[i]), overwriting gz.
 * Returns 0 when act is not expressible from y (then the caller must keep x). */
int dsi_act_backward_from_y(dsi_act act, float alpha, const float *y, const float *gy, float *gz, size_t n);
/* 1 if the derivative can be computed from the output alone */
int dsi_act_grad_from_y(dsi_act act);

#endif
