/* act.c - activation kernels. */
#include "tensor/act.h"
#include "tensor/fastmath.h"

#include <math.h>

static inline float softplus(float x)
{
    /* log(1 + e^x) = max(x, 0) + log1p(e^-|x|) never overflows */
    return (x > 0 ? x : 0.0f) + log1pf(expf(-fabsf(x)));
}

static inline float sigmoid(float x)
{
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

void dsi_act_forward(dsi_act act, float alpha, const float *x, float *y, size_t n)
{
    switch (act) {
    case DSI_ACT_NONE:
        if (y != x) for (size_t i = 0; i < n; i++) y[i] = x[i];
        break;
    case DSI_ACT_RELU:
        dsi_simd_relu(x, y, n);
        break;
    case DSI_ACT_LEAKY:
        for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : alpha * x[i];
        break;
    case DSI_ACT_TANH:
        dsi_tanh_vec(x, y, n);
        break;
    case DSI_ACT_SIGMOID:
        dsi_simd_sigm(x, y, n);
        break;
    case DSI_ACT_SOFTPLUS:
        for (size_t i = 0; i < n; i++) y[i] = softplus(x[i]);
        break;
    case DSI_ACT_EXP:
        for (size_t i = 0; i < n; i++) y[i] = expf(x[i]);
        break;
    case DSI_ACT_LOG:
        for (size_t i = 0; i < n; i++) y[i] = logf(x[i]);
        break;
    case DSI_ACT_SQUARE:
        for (size_t i = 0; i < n; i++) y[i] = x[i] * x[i];
        break;
    case DSI_ACT_NEG:
        for (size_t i = 0; i < n; i++) y[i] = -x[i];
        break;
    default:
        break;
    }
}

int dsi_act_grad_from_y(dsi_act act)
{
    return act == DSI_ACT_NONE || act == DSI_ACT_RELU || act == DSI_ACT_LEAKY || act == DSI_ACT_TANH ||
           act == DSI_ACT_SIGMOID || act == DSI_ACT_EXP || act == DSI_ACT_NEG;
}

int dsi_act_backward_from_y(dsi_act act, float alpha, const float *y, const float *gy, float *gz, size_t n)
{
    switch (act) {
    case DSI_ACT_NONE:
        for (size_t i = 0; i < n; i++) gz[i] = gy[i];
        return 1;
    case DSI_ACT_RELU: /* y > 0 iff x > 0 */
        dsi_simd_relu_grad(y, gy, gz, n);
        return 1;
    case DSI_ACT_LEAKY: /* alpha > 0 keeps the sign of x in y */
        for (size_t i = 0; i < n; i++) gz[i] = y[i] > 0 ? gy[i] : alpha * gy[i];
        return 1;
    case DSI_ACT_TANH:
        dsi_simd_tanh_grad(y, gy, gz, n);
        return 1;
    case DSI_ACT_SIGMOID:
        dsi_simd_sigm_grad(y, gy, gz, n);
        return 1;
    case DSI_ACT_EXP:
        for (size_t i = 0; i < n; i++) gz[i] = gy[i] * y[i];
        return 1;
    case DSI_ACT_NEG:
        for (size_t i = 0; i < n; i++) gz[i] = -gy[i];
        return 1;
    default:
        return 0;
    }
}

void dsi_act_backward(dsi_act act, float alpha, const float *x, const float *y, const float *gy,
                      float *gx, size_t n)
{
    switch (act) {
    case DSI_ACT_NONE:
        for (size_t i = 0; i < n; i++) gx[i] += gy[i];
        break;
    case DSI_ACT_RELU:
        dsi_simd_relu_grad_acc(x, gy, gx, n);
        break;
    case DSI_ACT_LEAKY:
        for (size_t i = 0; i < n; i++) gx[i] += x[i] > 0 ? gy[i] : alpha * gy[i];
        break;
    case DSI_ACT_TANH:
        dsi_simd_tanh_grad_acc(y, gy, gx, n);
        break;
    case DSI_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) gx[i] += gy[i] * y[i] * (1.0f - y[i]);
        break;
    case DSI_ACT_SOFTPLUS: /* f' = sigmoid(x) */
        for (size_t i = 0; i < n; i++) gx[i] += gy[i] * sigmoid(x[i]);
        break;
    case DSI_ACT_EXP:
        for (size_t i = 0; i < n; i++) gx[i] += gy[i] * y[i];
        break;
    case DSI_ACT_LOG:
        for (size_t i = 0; i < n; i++) gx[i] += gy[i] / x[i];
        break;
    case DSI_ACT_SQUARE:
        for (size_t i = 0; i < n; i++) gx[i] += 2.0f * x[i] * gy[i];
        break;
    case DSI_ACT_NEG:
        for (size_t i = 0; i < n; i++) gx[i] -= gy[i];
        break;
    default:
        break;
    }
}
