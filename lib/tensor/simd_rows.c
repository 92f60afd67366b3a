/* simd_rows.c - row kernels: broadcast of a row, column sums, the sum of
 * squares (see simd.h). */
#include "tensor/simd.h"
#include "tensor/simd_x86.h"

#include <string.h>

#ifdef DSI_X86_SIMD

static T512 double sumsq_512(const float *x, size_t n)
{
    __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m512d lo = _mm512_cvtps_pd(_mm256_loadu_ps(x + k)), hi = _mm512_cvtps_pd(_mm256_loadu_ps(x + k + 8));
        a0 = _mm512_fmadd_pd(lo, lo, a0);
        a1 = _mm512_fmadd_pd(hi, hi, a1);
    }
    double s = _mm512_reduce_add_pd(_mm512_add_pd(a0, a1));
    for (; k < n; k++) s += (double)x[k] * x[k];
    return s;
}

/* b[j] += sum_r g[r, j]: blocks of 64 columns kept in registers over all rows */
static T512 void colsum_512(const float *g, size_t rows, size_t n, float *b)
{
    size_t j = 0;
    for (; j + 64 <= n; j += 64) {
        __m512 a0 = _mm512_loadu_ps(b + j), a1 = _mm512_loadu_ps(b + j + 16), a2 = _mm512_loadu_ps(b + j + 32),
               a3 = _mm512_loadu_ps(b + j + 48);
        for (size_t r = 0; r < rows; r++) {
            const float *row = g + r * n + j;
            a0 = _mm512_add_ps(a0, _mm512_loadu_ps(row));
            a1 = _mm512_add_ps(a1, _mm512_loadu_ps(row + 16));
            a2 = _mm512_add_ps(a2, _mm512_loadu_ps(row + 32));
            a3 = _mm512_add_ps(a3, _mm512_loadu_ps(row + 48));
        }
        _mm512_storeu_ps(b + j, a0);
        _mm512_storeu_ps(b + j + 16, a1);
        _mm512_storeu_ps(b + j + 32, a2);
        _mm512_storeu_ps(b + j + 48, a3);
    }
    for (; j < n; j += 16) {
        __mmask16 mk = n - j >= 16 ? (__mmask16)0xFFFF : tail16(n - j);
        __m512 a = _mm512_maskz_loadu_ps(mk, b + j);
        for (size_t r = 0; r < rows; r++) a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(mk, g + r * n + j));
        _mm512_mask_storeu_ps(b + j, mk, a);
    }
}

static T256 double sumsq_256(const float *x, size_t n)
{
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256d lo = _mm256_cvtps_pd(_mm_loadu_ps(x + k)), hi = _mm256_cvtps_pd(_mm_loadu_ps(x + k + 4));
        a0 = _mm256_fmadd_pd(lo, lo, a0);
        a1 = _mm256_fmadd_pd(hi, hi, a1);
    }
    double t[4];
    _mm256_storeu_pd(t, _mm256_add_pd(a0, a1));
    double s = (t[0] + t[1]) + (t[2] + t[3]);
    for (; k < n; k++) s += (double)x[k] * x[k];
    return s;
}

static T256 void colsum_256(const float *g, size_t rows, size_t n, float *b)
{
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        __m256 a0 = _mm256_loadu_ps(b + j), a1 = _mm256_loadu_ps(b + j + 8), a2 = _mm256_loadu_ps(b + j + 16),
               a3 = _mm256_loadu_ps(b + j + 24);
        for (size_t r = 0; r < rows; r++) {
            const float *row = g + r * n + j;
            a0 = _mm256_add_ps(a0, _mm256_loadu_ps(row));
            a1 = _mm256_add_ps(a1, _mm256_loadu_ps(row + 8));
            a2 = _mm256_add_ps(a2, _mm256_loadu_ps(row + 16));
            a3 = _mm256_add_ps(a3, _mm256_loadu_ps(row + 24));
        }
        _mm256_storeu_ps(b + j, a0);
        _mm256_storeu_ps(b + j + 8, a1);
        _mm256_storeu_ps(b + j + 16, a2);
        _mm256_storeu_ps(b + j + 24, a3);
    }
    for (; j < n; j += 8) {
        __m256i mk = tail8(n - j);
        __m256 a = _mm256_maskload_ps(b + j, mk);
        for (size_t r = 0; r < rows; r++) a = _mm256_add_ps(a, _mm256_maskload_ps(g + r * n + j, mk));
        _mm256_maskstore_ps(b + j, mk, a);
    }
}
#endif /* DSI_X86_SIMD */

void dsi_simd_bcast_rows(float *y, const float *b, size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++) memcpy(y + r * n, b, sizeof(float) * n);
}

void dsi_simd_colsum_add(const float *g, size_t rows, size_t n, float *b)
{
    DISPATCH(colsum_512, colsum_256, g, rows, n, b);
    for (size_t r = 0; r < rows; r++) {
        const float *row = g + r * n;
        for (size_t j = 0; j < n; j++) b[j] += row[j];
    }
}

double dsi_simd_sumsq(const float *x, size_t n)
{
#ifdef DSI_X86_SIMD
    int l = dsi_simd_level();
    if (l == 2) return sumsq_512(x, n);
    if (l == 1) return sumsq_256(x, n);
#endif
    double s = 0.0;
    for (size_t k = 0; k < n; k++) s += (double)x[k] * x[k];
    return s;
}
