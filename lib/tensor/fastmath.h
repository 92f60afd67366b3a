/* fastmath.h - branch-free exp, sigmoid and tanh that vectorise (internal).
 *
 * The libm calls (expf, tanhf) do not vectorise and dominate activation-heavy
 * layers (LSTM gates, tanh MLPs); these are accurate to ~2e-7 (relative for
 * exp, absolute for sigmoid/tanh), far below float32 training noise. */
#ifndef DSI_TENSOR_FASTMATH_H
#define DSI_TENSOR_FASTMATH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tensor/simd.h"

/* The reduction and polynomial of the exp below on a clamped x, written once
 * for the scalar and the 4-float version (the same operations in the same
 * order, so a vector lane and the scalar tail give the same bits): n =
 * round(x / ln 2), r = x - n ln 2, p = e^r. x, n, r, p: float or dsi_v4f. */
#define DSI_FEXP_POLY(x, n, r, p)                                  \
    do {                                                           \
        n = ((x) * 1.44269504088896341f + 12582912.0f) - 12582912.0f; \
        r = (x) - n * 0.693359375f + n * 2.12194440e-4f;           \
        p = r * 1.9875691500e-4f + 1.3981999507e-3f;               \
        p = p * r + 8.3334519073e-3f;                              \
        p = p * r + 4.1665795894e-2f;                              \
        p = p * r + 1.6666665459e-1f;                              \
        p = p * r + 5.0000001201e-1f;                              \
        p = p * r * r + r + 1.0f;                                  \
    } while (0)

/* exp(x) for x in [-87, 88] (clamped), branch-free so that the block loops
 * below compile to SIMD code at -O2: n = round(x / ln 2) by the 1.5 2^23
 * trick, r = x - n ln 2 in two parts (Cody-Waite), a degree-6 polynomial for
 * e^r on [-ln2/2, ln2/2] (Cephes' expf coefficients), times 2^n built in the
 * exponent bits. Relative error ~2e-7. */
static inline float dsi_fexp(float x)
{
    x = x > 88.0f ? 88.0f : x;
    x = x < -87.0f ? -87.0f : x;
    float n, r, p;
    DSI_FEXP_POLY(x, n, r, p);
    const int32_t e = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &e, sizeof s);
    return p * s;
}

static inline float dsi_fsigm(float x) { return 1.0f / (1.0f + dsi_fexp(-x)); }
/* tanh x = 2 sigm(2x) - 1; absolute error ~2e-7 */
static inline float dsi_ftanh(float x) { return 2.0f / (1.0f + dsi_fexp(-2.0f * x)) - 1.0f; }

/* The same on 4 floats at once (16-byte vectors: SSE2/NEON, no ABI change) with GCC/Clang vector extensions (plain C
 * elsewhere): -O2 does not vectorise the scalar loops, and the gate
 * nonlinearities, not the gemms, dominate an LSTM layer's time. */
#if defined(__GNUC__) || defined(__clang__)
typedef float dsi_v4f __attribute__((vector_size(16)));
typedef int32_t dsi_v4i __attribute__((vector_size(16)));

static inline dsi_v4f dsi_v4_exp(dsi_v4f x)
{
    const dsi_v4f hi = {88, 88, 88, 88}, lo = {-87, -87, -87, -87};
    dsi_v4i m = (dsi_v4i)(x > hi);
    x = (dsi_v4f)(((dsi_v4i)x & ~m) | ((dsi_v4i)hi & m));
    m = (dsi_v4i)(x < lo);
    x = (dsi_v4f)(((dsi_v4i)x & ~m) | ((dsi_v4i)lo & m));
    dsi_v4f n, r, p;
    DSI_FEXP_POLY(x, n, r, p);
    const dsi_v4i e = (__builtin_convertvector(n, dsi_v4i) + 127) << 23;
    return p * (dsi_v4f)e;
}
static inline dsi_v4f dsi_v4_load(const float *p)
{
    dsi_v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void dsi_v4_store(float *p, dsi_v4f v) { memcpy(p, &v, sizeof v); }
#define DSI_FAST_V4 1
#endif

/* x[k] = sigm(x[k]), y[k] = tanh(x[k]): the run-time dispatched kernels of
 * simd.h (AVX-512 / AVX2 / portable); the v4 code above stays for callers
 * that want an inline kernel. */
static inline void dsi_sigm_vec(float *x, size_t n) { dsi_simd_sigm(x, x, n); }

/* in place allowed */
static inline void dsi_tanh_vec(const float *x, float *y, size_t n) { dsi_simd_tanh(x, y, n); }

#endif
