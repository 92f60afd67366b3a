/* simd.c - the run-time ISA dispatch level, and the activation kernels:
 * tanh, sigmoid, ReLU and their gradients (see simd.h). */
#include "tensor/simd.h"
#include "tensor/simd_x86.h"
#include "tensor/fastmath.h"

#include <stdlib.h>

/* ---- dispatch ---- */

static int g_level = -1; /* read and written with relaxed atomics: every thread computes the same value */

int dsi_simd_level(void)
{
    int l = __atomic_load_n(&g_level, __ATOMIC_RELAXED);
    if (l >= 0) return l;
    l = 0;
#ifdef DSI_X86_SIMD
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) l = 1;
    if (l == 1 && __builtin_cpu_supports("avx512f")) l = 2;
#endif
    const char *cap = getenv("DSI_SIMD");
    if (cap && cap[0] >= '0' && cap[0] <= '2' && cap[0] - '0' < l) l = cap[0] - '0';
    __atomic_store_n(&g_level, l, __ATOMIC_RELAXED);
    return l;
}

/* ---- portable ---- */

static void tanh_c(const float *x, float *y, size_t n)
{
    for (size_t k = 0; k < n; k++) y[k] = dsi_ftanh(x[k]);
}
static void sigm_c(const float *x, float *y, size_t n)
{
    for (size_t k = 0; k < n; k++) y[k] = dsi_fsigm(x[k]);
}

#ifdef DSI_X86_SIMD

#define UNARY512(name, expr)                                                                                      \
    static T512 void name(const float *x, float *y, size_t n)                                                    \
    {                                                                                                             \
        size_t k = 0;                                                                                             \
        for (; k + 16 <= n; k += 16) {                                                                            \
            __m512 v = _mm512_loadu_ps(x + k);                                                                    \
            _mm512_storeu_ps(y + k, expr);                                                                        \
        }                                                                                                         \
        if (k < n) {                                                                                              \
            __mmask16 mk = tail16(n - k);                                                                         \
            __m512 v = _mm512_maskz_loadu_ps(mk, x + k);                                                          \
            _mm512_mask_storeu_ps(y + k, mk, expr);                                                               \
        }                                                                                                         \
    }
UNARY512(tanh_512, tanh512(v))
UNARY512(sigm_512, sigm512(v))
UNARY512(relu_512, _mm512_max_ps(v, _mm512_setzero_ps()))

#define BINARY512(name, expr)                                                                                     \
    static T512 void name(const float *y, const float *gy, float *gz, size_t n)                                  \
    {                                                                                                             \
        size_t k = 0;                                                                                             \
        for (; k + 16 <= n; k += 16) {                                                                            \
            __m512 v = _mm512_loadu_ps(y + k), g = _mm512_loadu_ps(gy + k);                                      \
            _mm512_storeu_ps(gz + k, expr);                                                                       \
        }                                                                                                         \
        if (k < n) {                                                                                              \
            __mmask16 mk = tail16(n - k);                                                                         \
            __m512 v = _mm512_maskz_loadu_ps(mk, y + k), g = _mm512_maskz_loadu_ps(mk, gy + k);                   \
            _mm512_mask_storeu_ps(gz + k, mk, expr);                                                              \
        }                                                                                                         \
    }
BINARY512(relu_grad_512, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), g))
BINARY512(tanh_grad_512, _mm512_mul_ps(g, _mm512_sub_ps(_mm512_set1_ps(1.0f), _mm512_mul_ps(v, v))))
BINARY512(sigm_grad_512, _mm512_mul_ps(_mm512_mul_ps(g, v), _mm512_sub_ps(_mm512_set1_ps(1.0f), v)))

/* gx += (x > 0 ? gy : 0) and gx += gy (1 - y^2), accumulating (the unary op's backward) */
#define ACC512(name, expr)                                                                                        \
    static T512 void name(const float *v_, const float *gy, float *gx, size_t n)                                 \
    {                                                                                                             \
        for (size_t k = 0; k < n; k += 16) {                                                                      \
            const __mmask16 mk = n - k >= 16 ? (__mmask16)0xFFFF : tail16(n - k);                                 \
            const __m512 v = _mm512_maskz_loadu_ps(mk, v_ + k), g = _mm512_maskz_loadu_ps(mk, gy + k);           \
            _mm512_mask_storeu_ps(gx + k, mk, _mm512_add_ps(_mm512_maskz_loadu_ps(mk, gx + k), expr));           \
        }                                                                                                         \
    }
ACC512(relu_gacc_512, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), g))
ACC512(tanh_gacc_512, _mm512_mul_ps(g, _mm512_sub_ps(_mm512_set1_ps(1.0f), _mm512_mul_ps(v, v))))

#define UNARY256(name, expr)                                                                                      \
    static T256 void name(const float *x, float *y, size_t n)                                                    \
    {                                                                                                             \
        size_t k = 0;                                                                                             \
        for (; k + 8 <= n; k += 8) {                                                                              \
            __m256 v = _mm256_loadu_ps(x + k);                                                                    \
            _mm256_storeu_ps(y + k, expr);                                                                        \
        }                                                                                                         \
        if (k < n) {                                                                                              \
            __m256i mk = tail8(n - k);                                                                            \
            __m256 v = _mm256_maskload_ps(x + k, mk);                                                             \
            _mm256_maskstore_ps(y + k, mk, expr);                                                                 \
        }                                                                                                         \
    }
UNARY256(tanh_256, tanh256(v))
UNARY256(sigm_256, sigm256(v))
UNARY256(relu_256, _mm256_max_ps(v, _mm256_setzero_ps()))

#define BINARY256(name, expr)                                                                                     \
    static T256 void name(const float *y, const float *gy, float *gz, size_t n)                                  \
    {                                                                                                             \
        size_t k = 0;                                                                                             \
        for (; k + 8 <= n; k += 8) {                                                                              \
            __m256 v = _mm256_loadu_ps(y + k), g = _mm256_loadu_ps(gy + k);                                       \
            _mm256_storeu_ps(gz + k, expr);                                                                       \
        }                                                                                                         \
        if (k < n) {                                                                                              \
            __m256i mk = tail8(n - k);                                                                            \
            __m256 v = _mm256_maskload_ps(y + k, mk), g = _mm256_maskload_ps(gy + k, mk);                        \
            _mm256_maskstore_ps(gz + k, mk, expr);                                                                \
        }                                                                                                         \
    }
BINARY256(relu_grad_256, _mm256_and_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ), g))
BINARY256(tanh_grad_256, _mm256_mul_ps(g, _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_mul_ps(v, v))))
BINARY256(sigm_grad_256, _mm256_mul_ps(_mm256_mul_ps(g, v), _mm256_sub_ps(_mm256_set1_ps(1.0f), v)))

#define ACC256(name, expr)                                                                                        \
    static T256 void name(const float *v_, const float *gy, float *gx, size_t n)                                 \
    {                                                                                                             \
        for (size_t k = 0; k < n; k += 8) {                                                                       \
            const __m256i mk = tail8(n - k);                                                                      \
            const __m256 v = _mm256_maskload_ps(v_ + k, mk), g = _mm256_maskload_ps(gy + k, mk);                 \
            _mm256_maskstore_ps(gx + k, mk, _mm256_add_ps(_mm256_maskload_ps(gx + k, mk), expr));                \
        }                                                                                                         \
    }
ACC256(relu_gacc_256, _mm256_and_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ), g))
ACC256(tanh_gacc_256, _mm256_mul_ps(g, _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_mul_ps(v, v))))
#endif /* DSI_X86_SIMD */

void dsi_simd_tanh(const float *x, float *y, size_t n)
{
    DISPATCH(tanh_512, tanh_256, x, y, n);
    tanh_c(x, y, n);
}

void dsi_simd_sigm(const float *x, float *y, size_t n)
{
    DISPATCH(sigm_512, sigm_256, x, y, n);
    sigm_c(x, y, n);
}

void dsi_simd_relu(const float *x, float *y, size_t n)
{
    DISPATCH(relu_512, relu_256, x, y, n);
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0f;
}

void dsi_simd_relu_grad(const float *y, const float *gy, float *gz, size_t n)
{
    DISPATCH(relu_grad_512, relu_grad_256, y, gy, gz, n);
    for (size_t i = 0; i < n; i++) gz[i] = y[i] > 0 ? gy[i] : 0.0f;
}

void dsi_simd_tanh_grad(const float *y, const float *gy, float *gz, size_t n)
{
    DISPATCH(tanh_grad_512, tanh_grad_256, y, gy, gz, n);
    for (size_t i = 0; i < n; i++) gz[i] = gy[i] * (1.0f - y[i] * y[i]);
}

void dsi_simd_sigm_grad(const float *y, const float *gy, float *gz, size_t n)
{
    DISPATCH(sigm_grad_512, sigm_grad_256, y, gy, gz, n);
    for (size_t i = 0; i < n; i++) gz[i] = gy[i] * y[i] * (1.0f - y[i]);
}

void dsi_simd_relu_grad_acc(const float *x, const float *gy, float *gx, size_t n)
{
    DISPATCH(relu_gacc_512, relu_gacc_256, x, gy, gx, n);
    for (size_t i = 0; i < n; i++) gx[i] += x[i] > 0 ? gy[i] : 0.0f;
}

void dsi_simd_tanh_grad_acc(const float *y, const float *gy, float *gx, size_t n)
{
    DISPATCH(tanh_gacc_512, tanh_gacc_256, y, gy, gx, n);
    for (size_t i = 0; i < n; i++) gx[i] += gy[i] * (1.0f - y[i] * y[i]);
}
