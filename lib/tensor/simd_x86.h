/* simd_x86.h - what the kernel files of lib/tensor/simd*.c share (private to
 * lib/tensor): x86 detection, the target attributes T512 / T256, the tail
 * masks of both widths, and DISPATCH, which
 * calls the AVX-512 or the AVX2 version of a kernel by dsi_simd_level() and
 * returns, or falls through to the portable code after it. The vector
 * vocabulary of the kernels (written once, compiled per width) and the
 * vector exp / tanh / sigmoid are in simd_vec.h. */
#ifndef DSI_TENSOR_SIMD_X86_H
#define DSI_TENSOR_SIMD_X86_H

#include "tensor/simd.h"

#include <stddef.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define DSI_X86_SIMD 1
#include <immintrin.h>
#endif

#ifdef DSI_X86_SIMD
#define T512 __attribute__((target("avx512f")))
#define T256 __attribute__((target("avx2,fma")))

/* masks of the first `left` lanes (left <= 16, <= 8); simd_vec.h's vtail clamps */
static inline T512 __mmask16 tail16(size_t left) { return (__mmask16)((1u << left) - 1u); }
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
