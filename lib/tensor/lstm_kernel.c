/* lstm_kernel.c - fused LSTM gate kernels (see lstm_kernel.h). */
#include "tensor/lstm_kernel.h"

#include <stdint.h>
#include <string.h>

/* exp(x) for x in [-87, 88] (clamped), branch-free so that the block loops
 * below compile to SIMD code at -O2: n = round(x / ln 2) by the 1.5 2^23
 * trick, r = x - n ln 2 in two parts (Cody-Waite), a degree-6 polynomial for
 * e^r on [-ln2/2, ln2/2] (Cephes' expf coefficients), times 2^n built in the
 * exponent bits. Relative error ~2e-7. */
static inline float exp_c(float x)
{
    x = x > 88.0f ? 88.0f : x;
    x = x < -87.0f ? -87.0f : x;
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const int32_t e = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &e, sizeof s);
    return p * s;
}

static inline float sigm_c(float x) { return 1.0f / (1.0f + exp_c(-x)); }
/* tanh x = 2 sigm(2x) - 1; absolute error ~2e-7 */
static inline float tanh_c(float x) { return 2.0f / (1.0f + exp_c(-2.0f * x)) - 1.0f; }

/* The same on 4 floats at once (16-byte vectors: SSE2/NEON, no ABI change) with GCC/Clang vector extensions (plain C
 * elsewhere): -O2 does not vectorise the scalar loops, and the gate
 * nonlinearities, not the gemms, dominate an LSTM layer's time. */
#if defined(__GNUC__) || defined(__clang__)
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4f v4_exp(v4f x)
{
    const v4f hi = {88, 88, 88, 88}, lo = {-87, -87, -87, -87};
    v4i m = (v4i)(x > hi);
    x = (v4f)(((v4i)x & ~m) | ((v4i)hi & m));
    m = (v4i)(x < lo);
    x = (v4f)(((v4i)x & ~m) | ((v4i)lo & m));
    const v4f n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    const v4f r = x - n * 0.693359375f + n * 2.12194440e-4f;
    v4f p = r * 1.9875691500e-4f + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const v4i e = (__builtin_convertvector(n, v4i) + 127) << 23;
    return p * (v4f)e;
}
static inline v4f v4_load(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void v4_store(float *p, v4f v) { memcpy(p, &v, sizeof v); }
#define DSI_LSTM_V4 1
#endif

/* x[k] = sigm(x[k]) */
static void sigm_vec(float *x, int n)
{
    int k = 0;
#ifdef DSI_LSTM_V4
    for (; k + 4 <= n; k += 4) v4_store(x + k, 1.0f / (1.0f + v4_exp(-v4_load(x + k))));
#endif
    for (; k < n; k++) x[k] = sigm_c(x[k]);
}
/* y[k] = tanh(x[k]) (in place allowed) */
static void tanh_vec(const float *x, float *y, int n)
{
    int k = 0;
#ifdef DSI_LSTM_V4
    for (; k + 4 <= n; k += 4) v4_store(y + k, 2.0f / (1.0f + v4_exp(-2.0f * v4_load(x + k))) - 1.0f);
#endif
    for (; k < n; k++) y[k] = tanh_c(x[k]);
}

void dsi_lstm_row_forward(int H, float *z, const float *rec, const float *c_prev, float *c, float *c2, float *tc,
                          float *h, float *h2)
{
    float *zi = z, *zf = z + H, *zg = z + 2 * H, *zo = z + 3 * H;
    if (rec)
        for (int j = 0; j < 4 * H; j++) z[j] += rec[j];
    sigm_vec(zi, 2 * H); /* i and f */
    tanh_vec(zg, zg, H);
    sigm_vec(zo, H);
    if (c_prev)
        for (int j = 0; j < H; j++) c[j] = zf[j] * c_prev[j] + zi[j] * zg[j];
    else
        for (int j = 0; j < H; j++) c[j] = zi[j] * zg[j];
    float *t = tc ? tc : h; /* tanh(c) goes to h when not saved, then h = o tanh(c) in place */
    tanh_vec(c, t, H);
    for (int j = 0; j < H; j++) h[j] = zo[j] * t[j];
    if (c2) memcpy(c2, c, sizeof(float) * (size_t)H);
    if (h2) memcpy(h2, h, sizeof(float) * (size_t)H);
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
