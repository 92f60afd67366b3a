/* simd_adam.c - the Adam/AdamW update of a flat parameter buffer (see simd.h). */
#include "tensor/simd.h"
#include "tensor/simd_x86.h"

#include <math.h>

/* not inlined: compiled for the baseline ISA (no FMA contraction) wherever it is called from */
__attribute__((noinline)) static float adam_one(float *w, const float *grad, float *m, float *v, size_t i, float s, float b1, float c1,
                             float b2, float c2, float l2, float decay, float ss, float ib, float eps)
{
    float wi = w[i];
    float g = grad[i] * s + l2 * wi;
    float mi = b1 * m[i] + c1 * g;
    float vi = b2 * v[i] + c2 * (g * g);
    m[i] = mi;
    v[i] = vi;
    return wi * decay - ss * mi / (sqrtf(vi) * ib + eps);
}

#ifdef DSI_X86_SIMD

static T512 void adam_512(float *w, const float *grad, float *m, float *v, size_t n, float s, float b1, float c1,
                          float b2, float c2, float l2, float decay, float ss, float ib, float eps)
{
    const __m512 S = _mm512_set1_ps(s), B1 = _mm512_set1_ps(b1), C1 = _mm512_set1_ps(c1), B2 = _mm512_set1_ps(b2),
                 C2 = _mm512_set1_ps(c2), L2 = _mm512_set1_ps(l2), DEC = _mm512_set1_ps(decay),
                 SS = _mm512_set1_ps(ss), IB = _mm512_set1_ps(ib), EPS = _mm512_set1_ps(eps);
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m512 wi = _mm512_loadu_ps(w + k);
        __m512 g = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(grad + k), S), _mm512_mul_ps(L2, wi));
        __m512 mi = _mm512_add_ps(_mm512_mul_ps(B1, _mm512_loadu_ps(m + k)), _mm512_mul_ps(C1, g));
        __m512 vi = _mm512_add_ps(_mm512_mul_ps(B2, _mm512_loadu_ps(v + k)), _mm512_mul_ps(C2, _mm512_mul_ps(g, g)));
        _mm512_storeu_ps(m + k, mi);
        _mm512_storeu_ps(v + k, vi);
        __m512 den = _mm512_add_ps(_mm512_mul_ps(_mm512_sqrt_ps(vi), IB), EPS);
        _mm512_storeu_ps(w + k, _mm512_sub_ps(_mm512_mul_ps(wi, DEC), _mm512_div_ps(_mm512_mul_ps(SS, mi), den)));
    }
    for (; k < n; k++) w[k] = adam_one(w, grad, m, v, k, s, b1, c1, b2, c2, l2, decay, ss, ib, eps);
}

static T256 void adam_256(float *w, const float *grad, float *m, float *v, size_t n, float s, float b1, float c1,
                          float b2, float c2, float l2, float decay, float ss, float ib, float eps)
{
    const __m256 S = _mm256_set1_ps(s), B1 = _mm256_set1_ps(b1), C1 = _mm256_set1_ps(c1), B2 = _mm256_set1_ps(b2),
                 C2 = _mm256_set1_ps(c2), L2 = _mm256_set1_ps(l2), DEC = _mm256_set1_ps(decay),
                 SS = _mm256_set1_ps(ss), IB = _mm256_set1_ps(ib), EPS = _mm256_set1_ps(eps);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 wi = _mm256_loadu_ps(w + k);
        __m256 g = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(grad + k), S), _mm256_mul_ps(L2, wi));
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(B1, _mm256_loadu_ps(m + k)), _mm256_mul_ps(C1, g));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(B2, _mm256_loadu_ps(v + k)), _mm256_mul_ps(C2, _mm256_mul_ps(g, g)));
        _mm256_storeu_ps(m + k, mi);
        _mm256_storeu_ps(v + k, vi);
        __m256 den = _mm256_add_ps(_mm256_mul_ps(_mm256_sqrt_ps(vi), IB), EPS);
        _mm256_storeu_ps(w + k, _mm256_sub_ps(_mm256_mul_ps(wi, DEC), _mm256_div_ps(_mm256_mul_ps(SS, mi), den)));
    }
    for (; k < n; k++) w[k] = adam_one(w, grad, m, v, k, s, b1, c1, b2, c2, l2, decay, ss, ib, eps);
}
#endif /* DSI_X86_SIMD */

void dsi_simd_adam(float *w, const float *grad, float *m, float *v, size_t n, float s, float b1, float c1, float b2,
                   float c2, float l2, float decay, float ss, float ib, float eps)
{
    DISPATCH(adam_512, adam_256, w, grad, m, v, n, s, b1, c1, b2, c2, l2, decay, ss, ib, eps);
    for (size_t k = 0; k < n; k++) w[k] = adam_one(w, grad, m, v, k, s, b1, c1, b2, c2, l2, decay, ss, ib, eps);
}
