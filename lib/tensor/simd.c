/* simd.c - element-wise kernels with run-time ISA dispatch (see simd.h). */
#include "tensor/simd.h"
#include "tensor/fastmath.h"

#include <math.h>
#include <stdlib.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define DSI_X86_SIMD 1
#include <immintrin.h>
#endif

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


/* dsi_lstm_row_backward (lstm_kernel.c) on 16 lanes, the same operations in the same order (no FMA) */
static T512 void lstm_bwd_512(int H, float *gates, const float *tc, const float *c_prev, const float *gh,
                              const float *gh2, const float *gc, float *dc_prev, int accumulate)
{
    float *gi = gates, *gf = gates + H, *gg = gates + 2 * H, *go = gates + 3 * H;
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
    for (int j = 0; j < H; j += 16) {
        const __mmask16 mk = H - j >= 16 ? (__mmask16)0xFFFF : tail16((size_t)(H - j));
        const __m512 i = _mm512_maskz_loadu_ps(mk, gi + j), f = _mm512_maskz_loadu_ps(mk, gf + j),
                     g = _mm512_maskz_loadu_ps(mk, gg + j), o = _mm512_maskz_loadu_ps(mk, go + j),
                     t = _mm512_maskz_loadu_ps(mk, tc + j);
        const __m512 dh = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, gh + j), gh2 ? _mm512_maskz_loadu_ps(mk, gh2 + j) : zero);
        const __m512 gcv = gc ? _mm512_maskz_loadu_ps(mk, gc + j) : zero;
        const __m512 dc = _mm512_add_ps(gcv, _mm512_mul_ps(_mm512_mul_ps(dh, o), _mm512_sub_ps(one, _mm512_mul_ps(t, t))));
        const __m512 cp = c_prev ? _mm512_maskz_loadu_ps(mk, c_prev + j) : zero;
        _mm512_mask_storeu_ps(gi + j, mk, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dc, g), i), _mm512_sub_ps(one, i)));
        _mm512_mask_storeu_ps(gf + j, mk, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dc, cp), f), _mm512_sub_ps(one, f)));
        _mm512_mask_storeu_ps(gg + j, mk, _mm512_mul_ps(_mm512_mul_ps(dc, i), _mm512_sub_ps(one, _mm512_mul_ps(g, g))));
        _mm512_mask_storeu_ps(go + j, mk, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dh, t), o), _mm512_sub_ps(one, o)));
        if (dc_prev) {
            const __m512 d = _mm512_mul_ps(dc, f);
            _mm512_mask_storeu_ps(dc_prev + j, mk,
                                  accumulate ? _mm512_add_ps(_mm512_maskz_loadu_ps(mk, dc_prev + j), d) : d);
        }
    }
}


/* log1p(e) for e in [0, 1]: u = 1 + e reduced to [sqrt(1/2), sqrt(2)) as 2^k (1 + f) with f computed
 * without rounding (f = e, or (e - 1) / 2 when 1 + e > sqrt 2), then the minimax log polynomial on f */
static inline T512 __m512 log1p01_512(__m512 e)
{
    const __mmask16 big = _mm512_cmp_ps_mask(e, _mm512_set1_ps(0.41421356f), _CMP_GT_OQ);
    const __m512 f = _mm512_mask_mul_ps(e, big, _mm512_sub_ps(e, _mm512_set1_ps(1.0f)), _mm512_set1_ps(0.5f));
    const __m512 k = _mm512_maskz_mov_ps(big, _mm512_set1_ps(1.0f));
    const __m512 z = _mm512_mul_ps(f, f);
    __m512 y = _mm512_fmadd_ps(_mm512_set1_ps(7.0376836292e-2f), f, _mm512_set1_ps(-1.1514610310e-1f));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(1.1676998740e-1f));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(-1.2420140846e-1f));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(1.4249322787e-1f));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(-1.6668057665e-1f));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(2.0000714765e-1f));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(-2.4999993993e-1f));
    y = _mm512_fmadd_ps(y, f, _mm512_set1_ps(3.3333331174e-1f));
    y = _mm512_mul_ps(y, _mm512_mul_ps(f, z));
    y = _mm512_fmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), y);
    y = _mm512_fnmadd_ps(_mm512_set1_ps(0.5f), z, y);
    return _mm512_fmadd_ps(k, _mm512_set1_ps(0.693359375f), _mm512_add_ps(f, y));
}

/* l = max(x, 0) - x y + log1p(e^-|x|) */
static inline T512 __m512 bern512(__m512 x, __m512 y)
{
    const __m512 ax = _mm512_abs_ps(x);
    const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), ax));
    return _mm512_add_ps(_mm512_fnmadd_ps(x, y, _mm512_max_ps(x, _mm512_setzero_ps())), log1p01_512(e));
}

/* lanes 0-7 and 8-15 accumulated in double, reduced lane by lane in order (as bern_nll_256) */
static T512 double bern_nll_512(const float *x, const float *y, size_t n)
{
    __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
    for (size_t k = 0; k < n; k += 16) {
        const __mmask16 mk = n - k >= 16 ? (__mmask16)0xFFFF : tail16(n - k);
        const __m512 l = _mm512_maskz_mov_ps(mk, bern512(_mm512_maskz_loadu_ps(mk, x + k), _mm512_maskz_loadu_ps(mk, y + k)));
        a0 = _mm512_add_pd(a0, _mm512_cvtps_pd(_mm512_castps512_ps256(l)));
        a1 = _mm512_add_pd(a1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(l), 1))));
    }
    double t[16], s = 0.0;
    _mm512_storeu_pd(t, a0);
    _mm512_storeu_pd(t + 8, a1);
    for (int i = 0; i < 16; i++) s += t[i];
    return s;
}

/* gx += g (sigm(x) - y) */
static T512 void bern_grad_512(const float *x, const float *y, float g, float *gx, size_t n)
{
    const __m512 G = _mm512_set1_ps(g), one = _mm512_set1_ps(1.0f);
    for (size_t k = 0; k < n; k += 16) {
        const __mmask16 mk = n - k >= 16 ? (__mmask16)0xFFFF : tail16(n - k);
        const __m512 xv = _mm512_maskz_loadu_ps(mk, x + k), yv = _mm512_maskz_loadu_ps(mk, y + k);
        const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(xv)));
        const __mmask16 pos = _mm512_cmp_ps_mask(xv, _mm512_setzero_ps(), _CMP_GE_OQ);
        const __m512 sg = _mm512_div_ps(_mm512_mask_mov_ps(e, pos, one), _mm512_add_ps(one, e));
        _mm512_mask_storeu_ps(gx + k, mk, _mm512_fmadd_ps(G, _mm512_sub_ps(sg, yv), _mm512_maskz_loadu_ps(mk, gx + k)));
    }
}


/* ---- small-matrix gemm (AVX-512): C[M,N] = act(A[M,K] B[K,N] (+ C) (+ bias)) ----
 * Column blocks of up to 64 (4 vectors, 6 rows at a time) or, for a last
 * block of 65..80 columns, 80 (5 vectors, 4 rows at a time): at most 24
 * accumulators; per k one broadcast of A[r,k] per row and one load per
 * vector of the B row, which stays in L1 (K N small). No packing. Each C
 * element is act(((sum_k A B in k order, from 0) + C) + bias): its value
 * depends neither on its position nor on M, N. */
static inline __attribute__((always_inline)) T512 void gs_block(int R, int nv, const __mmask16 *mk, int K,
                                                                const float *A, int lda, const float *B, int ldb,
                                                                int beta, float *C, int ldc, const float *bias,
                                                                int act)
{
    __m512 acc[6][5];
    _Pragma("GCC unroll 8")
    for (int r = 0; r < 6; r++)
        _Pragma("GCC unroll 8")
        for (int v = 0; v < 5; v++) acc[r][v] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m512 bv[5];
        _Pragma("GCC unroll 8")
        for (int v = 0; v < 5; v++)
            bv[v] = v < nv ? _mm512_maskz_loadu_ps(mk[v], B + (size_t)k * ldb + 16 * v) : _mm512_setzero_ps();
        _Pragma("GCC unroll 8")
        for (int r = 0; r < 6; r++)
            if (r < R) {
                const __m512 a = _mm512_set1_ps(A[(size_t)r * lda + k]);
                _Pragma("GCC unroll 8")
                for (int v = 0; v < 5; v++)
                    if (v < nv) acc[r][v] = _mm512_fmadd_ps(a, bv[v], acc[r][v]);
            }
    }
    _Pragma("GCC unroll 8")
    for (int r = 0; r < 6; r++)
        if (r < R)
            _Pragma("GCC unroll 8")
            for (int v = 0; v < 5; v++)
                if (v < nv) {
                    float *c = C + (size_t)r * ldc + 16 * v;
                    __m512 x = acc[r][v];
                    if (beta) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mk[v], c));
                    if (bias) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mk[v], bias + 16 * v));
                    if (act == DSI_GS_RELU) x = _mm512_max_ps(x, _mm512_setzero_ps());
                    else if (act == DSI_GS_TANH) x = tanh512(x);
                    _mm512_mask_storeu_ps(c, mk[v], x);
                }
}

/* rows [i, M) of one column block: full blocks of `rows`, then the rest one row-count at a time */
static T512 void gs_tail(int R, int nv, const __mmask16 *mk, int K, const float *A, int lda, const float *B, int ldb,
                         int beta, float *C, int ldc, const float *bias, int act)
{
    switch (R) {
    case 5: gs_block(5, nv, mk, K, A, lda, B, ldb, beta, C, ldc, bias, act); break;
    case 4: gs_block(4, nv, mk, K, A, lda, B, ldb, beta, C, ldc, bias, act); break;
    case 3: gs_block(3, nv, mk, K, A, lda, B, ldb, beta, C, ldc, bias, act); break;
    case 2: gs_block(2, nv, mk, K, A, lda, B, ldb, beta, C, ldc, bias, act); break;
    case 1: gs_block(1, nv, mk, K, A, lda, B, ldb, beta, C, ldc, bias, act); break;
    default: break;
    }
}

static T512 void gemm_small_512(int M, int N, int K, const float *A, int lda, const float *B, int ldb, int beta,
                                float *C, int ldc, const float *bias, int act)
{
    for (int j = 0; j < N;) {
        const int left = N - j;
        const int nv = left > 64 && left <= 80 ? 5 : left >= 64 ? 4 : (left + 15) / 16;
        const int w = left < 16 * nv ? left : 16 * nv;
        __mmask16 mk[5];
        for (int v = 0; v < 5; v++) {
            const int l = w - 16 * v;
            mk[v] = l >= 16 ? (__mmask16)0xFFFF : l > 0 ? tail16((size_t)l) : 0;
        }
        const float *Bj = B + j, *bj = bias ? bias + j : NULL;
        int i = 0;
#define GS_AT(R_, NV_) gs_block(R_, NV_, mk, K, A + (size_t)i * lda, lda, Bj, ldb, beta, C + (size_t)i * ldc + j, ldc, bj, act)
        if (nv == 5) {
            for (; i + 4 <= M; i += 4) GS_AT(4, 5);
        } else if (nv == 4) {
            for (; i + 6 <= M; i += 6) GS_AT(6, 4);
        } else {
            for (; i + 6 <= M; i += 6) GS_AT(6, nv);
        }
#undef GS_AT
        if (i < M)
            gs_tail(M - i, nv, mk, K, A + (size_t)i * lda, lda, Bj, ldb, beta, C + (size_t)i * ldc + j, ldc, bj, act);
        j += w;
    }
}

/* ---- C[K,N] = A[M,K]^T B[M,N] (+ C) for the weight gradients of narrow layers (AVX-512) ----
 * The long inner dimension M is cut into chunks of GT_CHUNK rows that stay in
 * L2; for each chunk every 6-row x 64/80-column block of C is summed from 0
 * over the chunk's rows in order (broadcast A[m, k..k+5], load B[m, j..]) and
 * added to C. An element is ((C + s_0) + s_1) + ... over the chunks: fixed
 * for a given M, independent of its position. */
#define GT_CHUNK 256
static inline __attribute__((always_inline)) T512 void gt_block(int R, int nv, const __mmask16 *mk, int Mc,
                                                                const float *A, int lda, const float *B, int ldb,
                                                                int beta, float *C, int ldc)
{
    __m512 acc[6][5];
    _Pragma("GCC unroll 8")
    for (int r = 0; r < 6; r++)
        _Pragma("GCC unroll 8")
        for (int v = 0; v < 5; v++) acc[r][v] = _mm512_setzero_ps();
    for (int m = 0; m < Mc; m++) {
        __m512 bv[5];
        _Pragma("GCC unroll 8")
        for (int v = 0; v < 5; v++)
            bv[v] = v < nv ? _mm512_maskz_loadu_ps(mk[v], B + (size_t)m * ldb + 16 * v) : _mm512_setzero_ps();
        _Pragma("GCC unroll 8")
        for (int r = 0; r < 6; r++)
            if (r < R) {
                const __m512 a = _mm512_set1_ps(A[(size_t)m * lda + r]);
                _Pragma("GCC unroll 8")
                for (int v = 0; v < 5; v++)
                    if (v < nv) acc[r][v] = _mm512_fmadd_ps(a, bv[v], acc[r][v]);
            }
    }
    _Pragma("GCC unroll 8")
    for (int r = 0; r < 6; r++)
        if (r < R)
            _Pragma("GCC unroll 8")
            for (int v = 0; v < 5; v++)
                if (v < nv) {
                    float *c = C + (size_t)r * ldc + 16 * v;
                    __m512 x = acc[r][v];
                    if (beta) x = _mm512_add_ps(_mm512_maskz_loadu_ps(mk[v], c), x);
                    _mm512_mask_storeu_ps(c, mk[v], x);
                }
}

static T512 void gt_tail(int R, int nv, const __mmask16 *mk, int Mc, const float *A, int lda, const float *B, int ldb,
                         int beta, float *C, int ldc)
{
    switch (R) {
    case 5: gt_block(5, nv, mk, Mc, A, lda, B, ldb, beta, C, ldc); break;
    case 4: gt_block(4, nv, mk, Mc, A, lda, B, ldb, beta, C, ldc); break;
    case 3: gt_block(3, nv, mk, Mc, A, lda, B, ldb, beta, C, ldc); break;
    case 2: gt_block(2, nv, mk, Mc, A, lda, B, ldb, beta, C, ldc); break;
    case 1: gt_block(1, nv, mk, Mc, A, lda, B, ldb, beta, C, ldc); break;
    default: break;
    }
}

static T512 void gemm_small_tn_512(int K, int N, int M, const float *A, int lda, const float *B, int ldb, int beta,
                                   float *C, int ldc)
{
    for (int m0 = 0; m0 < M; m0 += GT_CHUNK) {
        const int Mc = M - m0 < GT_CHUNK ? M - m0 : GT_CHUNK, bt = beta || m0 > 0;
        const float *Am = A + (size_t)m0 * lda, *Bm = B + (size_t)m0 * ldb;
        for (int j = 0; j < N;) {
            const int left = N - j;
            const int nv = left > 64 && left <= 80 ? 5 : left >= 64 ? 4 : (left + 15) / 16;
            const int w = left < 16 * nv ? left : 16 * nv;
            __mmask16 mk[5];
            for (int v = 0; v < 5; v++) {
                const int l = w - 16 * v;
                mk[v] = l >= 16 ? (__mmask16)0xFFFF : l > 0 ? tail16((size_t)l) : 0;
            }
            int i = 0;
            if (nv == 5) {
                for (; i + 4 <= K; i += 4) gt_block(4, 5, mk, Mc, Am + i, lda, Bm + j, ldb, bt, C + (size_t)i * ldc + j, ldc);
            } else if (nv == 4) {
                for (; i + 6 <= K; i += 6) gt_block(6, 4, mk, Mc, Am + i, lda, Bm + j, ldb, bt, C + (size_t)i * ldc + j, ldc);
            } else {
                for (; i + 6 <= K; i += 6) gt_block(6, nv, mk, Mc, Am + i, lda, Bm + j, ldb, bt, C + (size_t)i * ldc + j, ldc);
            }
            if (i < K) gt_tail(K - i, nv, mk, Mc, Am + i, lda, Bm + j, ldb, bt, C + (size_t)i * ldc + j, ldc);
            j += w;
        }
    }
}

/* ---- KL between diagonal Gaussians, one row of D (AVX-512) ----
 * a = clamp(lq), b = clamp(lp) to [-30, 20], d = a - b, dm = mq - mp, ip = e^-b:
 *   l = h(d) + dm^2 ip, h(d) = expm1(d) - d
 * h and expm1 without cancellation: for |d| < 1/2 the Taylor series
 * expm1(d) = d + d^2 q(d) to degree 9 (h = d^2 q), else e^d - 1. */
#define KL_LVMIN (-30.0f)
#define KL_LVMAX 20.0f
static inline T512 void expm1_h512(__m512 d, __m512 *em1, __m512 *h)
{
    __m512 q = _mm512_set1_ps(1.0f / 362880.0f);
    q = _mm512_fmadd_ps(q, d, _mm512_set1_ps(1.0f / 40320.0f));
    q = _mm512_fmadd_ps(q, d, _mm512_set1_ps(1.0f / 5040.0f));
    q = _mm512_fmadd_ps(q, d, _mm512_set1_ps(1.0f / 720.0f));
    q = _mm512_fmadd_ps(q, d, _mm512_set1_ps(1.0f / 120.0f));
    q = _mm512_fmadd_ps(q, d, _mm512_set1_ps(1.0f / 24.0f));
    q = _mm512_fmadd_ps(q, d, _mm512_set1_ps(1.0f / 6.0f));
    q = _mm512_fmadd_ps(q, d, _mm512_set1_ps(0.5f));
    const __m512 hs = _mm512_mul_ps(_mm512_mul_ps(d, d), q);
    const __m512 el = _mm512_sub_ps(exp512(d), _mm512_set1_ps(1.0f));
    const __mmask16 small = _mm512_cmp_ps_mask(_mm512_abs_ps(d), _mm512_set1_ps(0.5f), _CMP_LT_OQ);
    *em1 = _mm512_mask_blend_ps(small, el, _mm512_add_ps(d, hs));
    *h = _mm512_mask_blend_ps(small, _mm512_sub_ps(el, d), hs);
}

/* e^x in double (|rel. error| ~2e-16): 2^n e^r, |r| <= ln2 / 2, Taylor series to degree 13 */
static inline T512 __m512d exp512d(__m512d x)
{
    x = _mm512_min_pd(_mm512_max_pd(x, _mm512_set1_pd(-708.0)), _mm512_set1_pd(709.0));
    const __m512d n = _mm512_roundscale_pd(_mm512_mul_pd(x, _mm512_set1_pd(1.4426950408889634)),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(6.93147180369123816490e-01), x);
    r = _mm512_fnmadd_pd(n, _mm512_set1_pd(1.90821492927058770002e-10), r);
    static const double c[14] = {1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0,
                                 1.0 / 362880.0,     1.0 / 40320.0,     1.0 / 5040.0,     1.0 / 720.0,
                                 1.0 / 120.0,        1.0 / 24.0,        1.0 / 6.0,        0.5,
                                 1.0,                1.0};
    __m512d p = _mm512_set1_pd(c[0]);
    for (int i = 1; i < 14; i++) p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(c[i]));
    return _mm512_scalef_pd(p, n);
}

/* expm1(d) - d in double without cancellation: d^2 sum_{k>=2} d^(k-2)/k! (to degree 17) for |d| < 1/2 */
static inline T512 __m512d hfun512d(__m512d d)
{
    __m512d q = _mm512_set1_pd(1.0 / 355687428096000.0); /* 1/17! */
    static const double f[15] = {1.0 / 20922789888000.0, 1.0 / 1307674368000.0, 1.0 / 87178291200.0,
                                 1.0 / 6227020800.0,     1.0 / 479001600.0,     1.0 / 39916800.0,
                                 1.0 / 3628800.0,        1.0 / 362880.0,        1.0 / 40320.0,
                                 1.0 / 5040.0,           1.0 / 720.0,           1.0 / 120.0,
                                 1.0 / 24.0,             1.0 / 6.0,             0.5};
    for (int i = 0; i < 15; i++) q = _mm512_fmadd_pd(q, d, _mm512_set1_pd(f[i]));
    const __m512d hs = _mm512_mul_pd(_mm512_mul_pd(d, d), q);
    const __m512d hl = _mm512_sub_pd(_mm512_sub_pd(exp512d(d), _mm512_set1_pd(1.0)), d);
    const __mmask8 small = _mm512_cmp_pd_mask(_mm512_abs_pd(d), _mm512_set1_pd(0.5), _CMP_LT_OQ);
    return _mm512_mask_blend_pd(small, hl, hs);
}

/* the forward in double (it is the loss value: same as the scalar libm loop to ~1e-15), 8 lanes */
static T512 double klg_row_512(const float *mq, const float *lq, const float *mp, const float *lp, int D)
{
    const __m256 lo = _mm256_set1_ps(KL_LVMIN), hi = _mm256_set1_ps(KL_LVMAX);
    __m512d acc = _mm512_setzero_pd();
    for (int k = 0; k < D; k += 8) {
        const __mmask8 mk = D - k >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (D - k)) - 1u);
        const __m512d a = _mm512_cvtps_pd(_mm256_min_ps(_mm256_max_ps(_mm512_castps512_ps256(_mm512_maskz_loadu_ps((__mmask16)mk, lq + k)), lo), hi));
        const __m512d b = _mm512_cvtps_pd(_mm256_min_ps(_mm256_max_ps(_mm512_castps512_ps256(_mm512_maskz_loadu_ps((__mmask16)mk, lp + k)), lo), hi));
        const __m512d dm = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_maskz_loadu_ps((__mmask16)mk, mq + k))),
                                         _mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_maskz_loadu_ps((__mmask16)mk, mp + k))));
        const __m512d ip = exp512d(_mm512_sub_pd(_mm512_setzero_pd(), b));
        const __m512d l = _mm512_add_pd(hfun512d(_mm512_sub_pd(a, b)), _mm512_mul_pd(_mm512_mul_pd(dm, dm), ip));
        acc = _mm512_add_pd(acc, _mm512_maskz_mov_pd(mk, l));
    }
    double t[8], s = 0.0;
    _mm512_storeu_pd(t, acc);
    for (int i = 0; i < 8; i++) s += t[i];
    return s;
}

/* gmq += g dm ip, gmp -= g dm ip, glq += g/2 expm1(d) [lq in range], glp -= g/2 (expm1(d) + dm^2 ip) [lp in range] */
static T512 void klg_row_grad_512(const float *mq, const float *lq, const float *mp, const float *lp, int D, float g,
                                  float *gmq, float *glq, float *gmp, float *glp)
{
    const __m512 lo = _mm512_set1_ps(KL_LVMIN), hi = _mm512_set1_ps(KL_LVMAX), G = _mm512_set1_ps(g),
                 hG = _mm512_set1_ps(0.5f * g);
    for (int k = 0; k < D; k += 16) {
        const __mmask16 mk = D - k >= 16 ? (__mmask16)0xFFFF : tail16((size_t)(D - k));
        const __m512 lqv = _mm512_maskz_loadu_ps(mk, lq + k), lpv = _mm512_maskz_loadu_ps(mk, lp + k);
        const __m512 a = _mm512_min_ps(_mm512_max_ps(lqv, lo), hi), b = _mm512_min_ps(_mm512_max_ps(lpv, lo), hi);
        const __m512 dm = _mm512_sub_ps(_mm512_maskz_loadu_ps(mk, mq + k), _mm512_maskz_loadu_ps(mk, mp + k));
        __m512 em1, h;
        expm1_h512(_mm512_sub_ps(a, b), &em1, &h);
        const __m512 ip = exp512(_mm512_sub_ps(_mm512_setzero_ps(), b));
        const __m512 gm = _mm512_mul_ps(G, _mm512_mul_ps(dm, ip));
        if (gmq) _mm512_mask_storeu_ps(gmq + k, mk, _mm512_add_ps(_mm512_maskz_loadu_ps(mk, gmq + k), gm));
        if (gmp) _mm512_mask_storeu_ps(gmp + k, mk, _mm512_sub_ps(_mm512_maskz_loadu_ps(mk, gmp + k), gm));
        if (glq) {
            const __mmask16 in = mk & _mm512_cmp_ps_mask(lqv, lo, _CMP_GE_OQ) & _mm512_cmp_ps_mask(lqv, hi, _CMP_LE_OQ);
            _mm512_mask_storeu_ps(glq + k, in, _mm512_add_ps(_mm512_maskz_loadu_ps(in, glq + k), _mm512_mul_ps(hG, em1)));
        }
        if (glp) {
            const __mmask16 in = mk & _mm512_cmp_ps_mask(lpv, lo, _CMP_GE_OQ) & _mm512_cmp_ps_mask(lpv, hi, _CMP_LE_OQ);
            const __m512 t = _mm512_mul_ps(hG, _mm512_fmadd_ps(_mm512_mul_ps(dm, dm), ip, em1));
            _mm512_mask_storeu_ps(glp + k, in, _mm512_sub_ps(_mm512_maskz_loadu_ps(in, glp + k), t));
        }
    }
}


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

static inline T256 __m256 log1p01_256(__m256 e)
{
    const __m256 big = _mm256_cmp_ps(e, _mm256_set1_ps(0.41421356f), _CMP_GT_OQ);
    const __m256 f = _mm256_blendv_ps(e, _mm256_mul_ps(_mm256_sub_ps(e, _mm256_set1_ps(1.0f)), _mm256_set1_ps(0.5f)), big);
    const __m256 k = _mm256_and_ps(big, _mm256_set1_ps(1.0f));
    const __m256 z = _mm256_mul_ps(f, f);
    __m256 y = _mm256_fmadd_ps(_mm256_set1_ps(7.0376836292e-2f), f, _mm256_set1_ps(-1.1514610310e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(1.1676998740e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-1.2420140846e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(1.4249322787e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-1.6668057665e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(2.0000714765e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-2.4999993993e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(3.3333331174e-1f));
    y = _mm256_mul_ps(y, _mm256_mul_ps(f, z));
    y = _mm256_fmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), y);
    y = _mm256_fnmadd_ps(_mm256_set1_ps(0.5f), z, y);
    return _mm256_fmadd_ps(k, _mm256_set1_ps(0.693359375f), _mm256_add_ps(f, y));
}

static inline T256 __m256 bern256(__m256 x, __m256 y)
{
    const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    const __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), ax));
    return _mm256_add_ps(_mm256_fnmadd_ps(x, y, _mm256_max_ps(x, _mm256_setzero_ps())), log1p01_256(e));
}

static T256 double bern_nll_256(const float *x, const float *y, size_t n)
{
    __m256d a[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    for (size_t k = 0; k < n; k += 16)
        for (int h = 0; h < 2; h++) {
            const size_t o = k + 8 * (size_t)h;
            const __m256i mk = tail8(n > o ? n - o : 0);
            const __m256 l = _mm256_and_ps(_mm256_castsi256_ps(mk), bern256(_mm256_maskload_ps(x + (n > o ? o : 0), mk),
                                                                              _mm256_maskload_ps(y + (n > o ? o : 0), mk)));
            a[2 * h] = _mm256_add_pd(a[2 * h], _mm256_cvtps_pd(_mm256_castps256_ps128(l)));
            a[2 * h + 1] = _mm256_add_pd(a[2 * h + 1], _mm256_cvtps_pd(_mm256_extractf128_ps(l, 1)));
        }
    double t[16], s = 0.0;
    for (int i = 0; i < 4; i++) _mm256_storeu_pd(t + 4 * i, a[i]);
    for (int i = 0; i < 16; i++) s += t[i];
    return s;
}

static T256 void bern_grad_256(const float *x, const float *y, float g, float *gx, size_t n)
{
    const __m256 G = _mm256_set1_ps(g), one = _mm256_set1_ps(1.0f);
    for (size_t k = 0; k < n; k += 8) {
        const __m256i mk = tail8(n - k);
        const __m256 xv = _mm256_maskload_ps(x + k, mk), yv = _mm256_maskload_ps(y + k, mk);
        const __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_andnot_ps(_mm256_set1_ps(-0.0f), xv)));
        const __m256 pos = _mm256_cmp_ps(xv, _mm256_setzero_ps(), _CMP_GE_OQ);
        const __m256 sg = _mm256_div_ps(_mm256_blendv_ps(e, one, pos), _mm256_add_ps(one, e));
        _mm256_maskstore_ps(gx + k, mk, _mm256_fmadd_ps(G, _mm256_sub_ps(sg, yv), _mm256_maskload_ps(gx + k, mk)));
    }
}

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

/* ---- public entry points ---- */

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

void dsi_simd_adam(float *w, const float *grad, float *m, float *v, size_t n, float s, float b1, float c1, float b2,
                   float c2, float l2, float decay, float ss, float ib, float eps)
{
    DISPATCH(adam_512, adam_256, w, grad, m, v, n, s, b1, c1, b2, c2, l2, decay, ss, ib, eps);
    for (size_t k = 0; k < n; k++) w[k] = adam_one(w, grad, m, v, k, s, b1, c1, b2, c2, l2, decay, ss, ib, eps);
}

int dsi_simd_lstm_row_backward(int H, float *gates, const float *tc, const float *c_prev, const float *gh,
                               const float *gh2, const float *gc, float *dc_prev, int accumulate)
{
#ifdef DSI_X86_SIMD
    if (dsi_simd_level() == 2) {
        lstm_bwd_512(H, gates, tc, c_prev, gh, gh2, gc, dc_prev, accumulate);
        return 1;
    }
#endif
    return 0;
}

int dsi_simd_bern_nll(const float *x, const float *y, size_t n, double *sum)
{
#ifdef DSI_X86_SIMD
    int l = dsi_simd_level();
    if (l == 2) { *sum = bern_nll_512(x, y, n); return 1; }
    if (l == 1) { *sum = bern_nll_256(x, y, n); return 1; }
#endif
    (void)x; (void)y; (void)n; (void)sum;
    return 0;
}

int dsi_simd_bern_grad(const float *x, const float *y, float g, float *gx, size_t n)
{
#ifdef DSI_X86_SIMD
    int l = dsi_simd_level();
    if (l == 2) { bern_grad_512(x, y, g, gx, n); return 1; }
    if (l == 1) { bern_grad_256(x, y, g, gx, n); return 1; }
#endif
    (void)x; (void)y; (void)g; (void)gx; (void)n;
    return 0;
}

int dsi_gemm_small(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float beta, float *C,
                   int ldc, const float *bias, int act)
{
#ifdef DSI_X86_SIMD
    if (dsi_simd_level() == 2 && M > 0 && N > 0 && K > 0 && (beta == 0.0f || beta == 1.0f)) {
        gemm_small_512(M, N, K, A, lda, B, ldb, beta != 0.0f, C, ldc, bias, act);
        return 1;
    }
#endif
    (void)M; (void)N; (void)K; (void)A; (void)lda; (void)B; (void)ldb; (void)beta; (void)C; (void)ldc; (void)bias;
    (void)act;
    return 0;
}

int dsi_gemm_small_tn(int K, int N, int M, const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc)
{
#ifdef DSI_X86_SIMD
    if (dsi_simd_level() == 2 && M > 0 && N > 0 && K > 0 && (beta == 0.0f || beta == 1.0f)) {
        gemm_small_tn_512(K, N, M, A, lda, B, ldb, beta != 0.0f, C, ldc);
        return 1;
    }
#endif
    (void)K; (void)N; (void)M; (void)A; (void)lda; (void)B; (void)ldb; (void)beta; (void)C; (void)ldc;
    return 0;
}

int dsi_simd_klg_row(const float *mq, const float *lq, const float *mp, const float *lp, int D, double *sum)
{
#ifdef DSI_X86_SIMD
    if (dsi_simd_level() == 2) {
        *sum = klg_row_512(mq, lq, mp, lp, D);
        return 1;
    }
#endif
    (void)mq; (void)lq; (void)mp; (void)lp; (void)D; (void)sum;
    return 0;
}

int dsi_simd_klg_row_grad(const float *mq, const float *lq, const float *mp, const float *lp, int D, float g,
                          float *gmq, float *glq, float *gmp, float *glp)
{
#ifdef DSI_X86_SIMD
    if (dsi_simd_level() == 2) {
        klg_row_grad_512(mq, lq, mp, lp, D, g, gmq, glq, gmp, glp);
        return 1;
    }
#endif
    (void)mq; (void)lq; (void)mp; (void)lp; (void)D; (void)g; (void)gmq; (void)glq; (void)gmp; (void)glp;
    return 0;
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

