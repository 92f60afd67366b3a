/* act.h - activation kernels on float arrays (internal), shared by the unary
 * op and the fused ops (linear, conv, LSTM). */
#ifndef DSI_TENSOR_ACT_H
#define DSI_TENSOR_ACT_H

#include <stddef.h>

#include "autodiff/ops.h"

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
