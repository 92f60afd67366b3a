/* simd_x86.h - what the kernel files of lib/tensor/simd*.c share (private to
 * lib/tensor): x86 detection, the target attributes T512 / T256, the vector
 * exp / tanh / sigmoid and tail masks of both widths, and DISPATCH, which
 * calls the AVX-512 or the AVX2 version of a kernel by dsi_simd_level() and
 * returns, or falls through to the portable code after it. */
#ifndef DSI_TENSOR_SIMD_X86_H
#define DSI_TENSOR_SIMD_X86_H

#include "tensor/simd.h"

#include <stddef.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define DSI_X86_SIMD 1
#include <immintrin.h>
#endif

#ifdef DSI_X86_SIMD
/* ---- AVX-512 ---- */
#define T512 __attribute__((target("avx512f")))

static inline T512 __m512 exp512(__m512 x)
{
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_fmadd_ps(r, _mm512_set1_ps(1.9875691500e-4f), _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r);
    p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}
static inline T512 __m512 tanh512(__m512 x)
{
    const __m512 e = exp512(_mm512_mul_ps(x, _mm512_set1_ps(-2.0f)));
    return _mm512_sub_ps(_mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e)),
                         _mm512_set1_ps(1.0f));
}
static inline T512 __m512 sigm512(__m512 x)
{
    const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), x));
    return _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}
static inline T512 __mmask16 tail16(size_t left) { return (__mmask16)((1u << left) - 1u); }

/* ---- AVX2 + FMA: the same operations, 8 lanes; tails through a masked load/store ---- */
#define T256 __attribute__((target("avx2,fma")))

static inline T256 __m256 exp256(__m256 x)
{
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
    __m256 p = _mm256_fmadd_ps(r, _mm256_set1_ps(1.9875691500e-4f), _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
static inline T256 __m256 tanh256(__m256 x)
{
    const __m256 e = exp256(_mm256_mul_ps(x, _mm256_set1_ps(-2.0f)));
    return _mm256_sub_ps(_mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e)),
                         _mm256_set1_ps(1.0f));
}
static inline T256 __m256 sigm256(__m256 x)
{
    const __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}
static inline T256 __m256i tail8(size_t left)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)left), idx);
}
#endif /* DSI_X86_SIMD */

#ifdef DSI_X86_SIMD
#define DISPATCH(f512, f256, ...)                                                                                 \
    do {                                                                                                          \
        int l_ = dsi_simd_level();                                                                                \
        if (l_ == 2) { f512(__VA_ARGS__); return; }                                                               \
        if (l_ == 1) { f256(__VA_ARGS__); return; }                                                               \
    } while (0)
#else
#define DISPATCH(f512, f256, ...) do { } while (0)
#endif

#endif
