/* lstm_kernel.c - fused LSTM gate kernels (see lstm_kernel.h). */
#include "tensor/lstm_kernel.h"

#include <math.h>
#include <string.h>

static inline float sigm(float x)
{
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* tanh from one expf: glibc's tanhf is ~5x slower than expf and dominated the
 * layer's time. Absolute error < 1e-7 (no overflow: the argument is <= 0). */
static inline float tanh_fast(float x)
{
    const float e = expf(-2.0f * fabsf(x));
    return copysignf((1.0f - e) / (1.0f + e), x);
}

void dsi_lstm_row_forward(int H, float *z, const float *rec, const float *c_prev, float *c, float *c2, float *tc,
                          float *h, float *h2)
{
    float *zi = z, *zf = z + H, *zg = z + 2 * H, *zo = z + 3 * H;
    if (rec)
        for (int j = 0; j < 4 * H; j++) z[j] += rec[j];
    for (int j = 0; j < H; j++) {
        const float i = sigm(zi[j]), f = sigm(zf[j]), g = tanh_fast(zg[j]), o = sigm(zo[j]);
        const float cp = c_prev ? c_prev[j] : 0.0f;
        const float cn = f * cp + i * g;
        const float t = tanh_fast(cn);
        zi[j] = i;
        zf[j] = f;
        zg[j] = g;
        zo[j] = o;
        c[j] = cn;
        if (c2) c2[j] = cn;
        if (tc) tc[j] = t;
        h[j] = o * t;
        if (h2) h2[j] = o * t;
    }
}

/* dh = gh (+ gh2); do = dh tc; dc = gc + dh o (1 - tc^2);
 * dz_i = dc g i(1-i); dz_f = dc c_prev f(1-f); dz_g = dc i (1-g^2); dz_o = do o(1-o); dc_prev = dc f */
void dsi_lstm_row_backward(int H, float *gates, const float *tc, const float *c_prev, const float *gh,
                           const float *gh2, const float *gc, float *dc_prev, int accumulate, float *dz2)
{
    float *gi = gates, *gf = gates + H, *gg = gates + 2 * H, *go = gates + 3 * H;
    for (int j = 0; j < H; j++) {
        const float i = gi[j], f = gf[j], g = gg[j], o = go[j], t = tc[j];
        const float dh = gh[j] + (gh2 ? gh2[j] : 0.0f);
        const float dc = (gc ? gc[j] : 0.0f) + dh * o * (1.0f - t * t);
        const float cp = c_prev ? c_prev[j] : 0.0f;
        gi[j] = dc * g * i * (1.0f - i);
        gf[j] = dc * cp * f * (1.0f - f);
        gg[j] = dc * i * (1.0f - g * g);
        go[j] = dh * t * o * (1.0f - o);
        if (dc_prev) {
            if (accumulate) dc_prev[j] += dc * f;
            else dc_prev[j] = dc * f;
        }
    }
    if (dz2) memcpy(dz2, gates, sizeof(float) * 4 * (size_t)H);
}
