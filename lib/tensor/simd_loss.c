/* simd_loss.c - loss kernels: the Bernoulli NLL with logits and its
 * gradient, the KL between diagonal Gaussians (see simd.h). */
#include "tensor/simd.h"
#include "tensor/simd_x86.h"

#include <math.h>

#ifdef DSI_X86_SIMD
#define DSI_VW 16
#include "tensor/simd_vec.h"
#include "tensor/simd_loss_w.h"

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
    const __m512 el = _mm512_sub_ps(vexp_512(d), _mm512_set1_ps(1.0f));
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
        const __m512 ip = vexp_512(_mm512_sub_ps(_mm512_setzero_ps(), b));
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

#undef DSI_VW
#define DSI_VW 8
#include "tensor/simd_vec.h"
#include "tensor/simd_loss_w.h"

/* ---- the KL with AVX2 + FMA: the same formulas; the forward in double on 4
 * lanes (its sum agrees with the AVX-512 one to rounding), the gradient in
 * float on 8 lanes with the AVX-512 path's operations (the same bits) ---- */
static inline T256 void expm1_h256(__m256 d, __m256 *em1, __m256 *h)
{
    __m256 q = _mm256_set1_ps(1.0f / 362880.0f);
    q = _mm256_fmadd_ps(q, d, _mm256_set1_ps(1.0f / 40320.0f));
    q = _mm256_fmadd_ps(q, d, _mm256_set1_ps(1.0f / 5040.0f));
    q = _mm256_fmadd_ps(q, d, _mm256_set1_ps(1.0f / 720.0f));
    q = _mm256_fmadd_ps(q, d, _mm256_set1_ps(1.0f / 120.0f));
    q = _mm256_fmadd_ps(q, d, _mm256_set1_ps(1.0f / 24.0f));
    q = _mm256_fmadd_ps(q, d, _mm256_set1_ps(1.0f / 6.0f));
    q = _mm256_fmadd_ps(q, d, _mm256_set1_ps(0.5f));
    const __m256 hs = _mm256_mul_ps(_mm256_mul_ps(d, d), q);
    const __m256 el = _mm256_sub_ps(vexp_256(d), _mm256_set1_ps(1.0f));
    const __m256 small = _mm256_cmp_ps(vabs(d), _mm256_set1_ps(0.5f), _CMP_LT_OQ);
    *em1 = _mm256_blendv_ps(el, _mm256_add_ps(d, hs), small);
    *h = _mm256_blendv_ps(_mm256_sub_ps(el, d), hs, small);
}

static inline T256 __m256d exp256d(__m256d x)
{
    x = _mm256_min_pd(_mm256_max_pd(x, _mm256_set1_pd(-708.0)), _mm256_set1_pd(709.0));
    const __m256d n = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(1.4426950408889634)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256d r = _mm256_fnmadd_pd(n, _mm256_set1_pd(6.93147180369123816490e-01), x);
    r = _mm256_fnmadd_pd(n, _mm256_set1_pd(1.90821492927058770002e-10), r);
    static const double c[14] = {1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0,
                                 1.0 / 362880.0,     1.0 / 40320.0,     1.0 / 5040.0,     1.0 / 720.0,
                                 1.0 / 120.0,        1.0 / 24.0,        1.0 / 6.0,        0.5,
                                 1.0,                1.0};
    __m256d p = _mm256_set1_pd(c[0]);
    for (int i = 1; i < 14; i++) p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(c[i]));
    /* 2^n for n in [-1022, 1023]: the exponent field */
    const __m256i e = _mm256_slli_epi64(
        _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(n)), _mm256_set1_epi64x(1023)), 52);
    return _mm256_mul_pd(p, _mm256_castsi256_pd(e));
}

static inline T256 __m256d hfun256d(__m256d d)
{
    __m256d q = _mm256_set1_pd(1.0 / 355687428096000.0); /* 1/17! */
    static const double f[15] = {1.0 / 20922789888000.0, 1.0 / 1307674368000.0, 1.0 / 87178291200.0,
                                 1.0 / 6227020800.0,     1.0 / 479001600.0,     1.0 / 39916800.0,
                                 1.0 / 3628800.0,        1.0 / 362880.0,        1.0 / 40320.0,
                                 1.0 / 5040.0,           1.0 / 720.0,           1.0 / 120.0,
                                 1.0 / 24.0,             1.0 / 6.0,             0.5};
    for (int i = 0; i < 15; i++) q = _mm256_fmadd_pd(q, d, _mm256_set1_pd(f[i]));
    const __m256d hs = _mm256_mul_pd(_mm256_mul_pd(d, d), q);
    const __m256d hl = _mm256_sub_pd(_mm256_sub_pd(exp256d(d), _mm256_set1_pd(1.0)), d);
    const __m256d ad = _mm256_andnot_pd(_mm256_set1_pd(-0.0), d);
    return _mm256_blendv_pd(hl, hs, _mm256_cmp_pd(ad, _mm256_set1_pd(0.5), _CMP_LT_OQ));
}

static T256 double klg_row_256(const float *mq, const float *lq, const float *mp, const float *lp, int D)
{
    const __m128 lo = _mm_set1_ps(KL_LVMIN), hi = _mm_set1_ps(KL_LVMAX);
    __m256d acc = _mm256_setzero_pd();
    for (int k = 0; k < D; k += 4) {
        const int left = D - k >= 4 ? 4 : D - k;
        const __m128i mk = _mm_cmpgt_epi32(_mm_set1_epi32(left), _mm_setr_epi32(0, 1, 2, 3));
        const __m256d a = _mm256_cvtps_pd(_mm_min_ps(_mm_max_ps(_mm_maskload_ps(lq + k, mk), lo), hi));
        const __m256d b = _mm256_cvtps_pd(_mm_min_ps(_mm_max_ps(_mm_maskload_ps(lp + k, mk), lo), hi));
        const __m256d dm = _mm256_sub_pd(_mm256_cvtps_pd(_mm_maskload_ps(mq + k, mk)),
                                         _mm256_cvtps_pd(_mm_maskload_ps(mp + k, mk)));
        const __m256d ip = exp256d(_mm256_sub_pd(_mm256_setzero_pd(), b));
        const __m256d l = _mm256_add_pd(hfun256d(_mm256_sub_pd(a, b)), _mm256_mul_pd(_mm256_mul_pd(dm, dm), ip));
        acc = _mm256_add_pd(acc, _mm256_and_pd(_mm256_castsi256_pd(_mm256_cvtepi32_epi64(mk)), l));
    }
    double t[4];
    _mm256_storeu_pd(t, acc);
    return ((t[0] + t[1]) + t[2]) + t[3];
}

static T256 void klg_row_grad_256(const float *mq, const float *lq, const float *mp, const float *lp, int D, float g,
                                  float *gmq, float *glq, float *gmp, float *glp)
{
    const __m256 lo = _mm256_set1_ps(KL_LVMIN), hi = _mm256_set1_ps(KL_LVMAX), G = _mm256_set1_ps(g),
                 hG = _mm256_set1_ps(0.5f * g);
    for (int k = 0; k < D; k += 8) {
        const __m256i mk = tail8(D - k >= 8 ? 8 : (size_t)(D - k));
        const __m256 lqv = _mm256_maskload_ps(lq + k, mk), lpv = _mm256_maskload_ps(lp + k, mk);
        const __m256 a = _mm256_min_ps(_mm256_max_ps(lqv, lo), hi), b = _mm256_min_ps(_mm256_max_ps(lpv, lo), hi);
        const __m256 dm = _mm256_sub_ps(_mm256_maskload_ps(mq + k, mk), _mm256_maskload_ps(mp + k, mk));
        __m256 em1, h;
        expm1_h256(_mm256_sub_ps(a, b), &em1, &h);
        const __m256 ip = vexp_256(_mm256_sub_ps(_mm256_setzero_ps(), b));
        const __m256 gm = _mm256_mul_ps(G, _mm256_mul_ps(dm, ip));
        if (gmq) _mm256_maskstore_ps(gmq + k, mk, _mm256_add_ps(_mm256_maskload_ps(gmq + k, mk), gm));
        if (gmp) _mm256_maskstore_ps(gmp + k, mk, _mm256_sub_ps(_mm256_maskload_ps(gmp + k, mk), gm));
        if (glq) {
            const __m256i in = _mm256_and_si256(
                mk, _mm256_castps_si256(_mm256_and_ps(_mm256_cmp_ps(lqv, lo, _CMP_GE_OQ), _mm256_cmp_ps(lqv, hi, _CMP_LE_OQ))));
            _mm256_maskstore_ps(glq + k, in, _mm256_add_ps(_mm256_maskload_ps(glq + k, in), _mm256_mul_ps(hG, em1)));
        }
        if (glp) {
            const __m256i in = _mm256_and_si256(
                mk, _mm256_castps_si256(_mm256_and_ps(_mm256_cmp_ps(lpv, lo, _CMP_GE_OQ), _mm256_cmp_ps(lpv, hi, _CMP_LE_OQ))));
            const __m256 t = _mm256_mul_ps(hG, _mm256_fmadd_ps(_mm256_mul_ps(dm, dm), ip, em1));
            _mm256_maskstore_ps(glp + k, in, _mm256_sub_ps(_mm256_maskload_ps(glp + k, in), t));
        }
    }
}
#undef DSI_VW
#endif /* DSI_X86_SIMD */

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

int dsi_simd_klg_row(const float *mq, const float *lq, const float *mp, const float *lp, int D, double *sum)
{
#ifdef DSI_X86_SIMD
    const int l = dsi_simd_level();
    if (l == 2) {
        *sum = klg_row_512(mq, lq, mp, lp, D);
        return 1;
    }
    if (l == 1) {
        *sum = klg_row_256(mq, lq, mp, lp, D);
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
    const int l = dsi_simd_level();
    if (l == 2) {
        klg_row_grad_512(mq, lq, mp, lp, D, g, gmq, glq, gmp, glp);
        return 1;
    }
    if (l == 1) {
        klg_row_grad_256(mq, lq, mp, lp, D, g, gmq, glq, gmp, glp);
        return 1;
    }
#endif
    (void)mq; (void)lq; (void)mp; (void)lp; (void)D; (void)g; (void)gmq; (void)glq; (void)gmp; (void)glp;
    return 0;
}
