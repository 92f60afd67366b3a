/* lstm_kernel.c - fused LSTM gate kernels (see lstm_kernel.h). */
#include "tensor/lstm_kernel.h"

#include <stdint.h>
#include <string.h>

#include "tensor/fastmath.h"

void dsi_lstm_row_forward(int H, float *z, const float *rec, const float *c_prev, float *c, float *c2, float *tc,
                          float *h, float *h2)
{
    float *zi = z, *zf = z + H, *zg = z + 2 * H, *zo = z + 3 * H;
    if (rec)
        for (int j = 0; j < 4 * H; j++) z[j] += rec[j];
    dsi_sigm_vec(zi, 2 * H); /* i and f */
    dsi_tanh_vec(zg, zg, H);
    dsi_sigm_vec(zo, H);
    if (c_prev)
        for (int j = 0; j < H; j++) c[j] = zf[j] * c_prev[j] + zi[j] * zg[j];
    else
        for (int j = 0; j < H; j++) c[j] = zi[j] * zg[j];
    float *t = tc ? tc : h; /* tanh(c) goes to h when not saved, then h = o tanh(c) in place */
    dsi_tanh_vec(c, t, H);
    for (int j = 0; j < H; j++) h[j] = zo[j] * t[j];
    if (c2) memcpy(c2, c, sizeof(float) * (size_t)H);
    if (h2) memcpy(h2, h, sizeof(float) * (size_t)H);
}
/* dh = gh (+ gh2); do = dh tc; dc = gc + dh o (1 - tc^2);
 * dz_i = dc g i(1-i); dz_f = dc c_prev f(1-f); dz_g = dc i (1-g^2); dz_o = do o(1-o); dc_prev = dc f */
void dsi_lstm_row_backward(int H, float *gates, const float *tc, const float *c_prev, const float *gh,
                           const float *gh2, const float *gc, float *dc_prev, int accumulate, float *dz2)
{
    if (dsi_simd_lstm_row_backward(H, gates, tc, c_prev, gh, gh2, gc, dc_prev, accumulate)) {
        if (dz2) memcpy(dz2, gates, sizeof(float) * 4 * (size_t)H);
        return;
    }
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
