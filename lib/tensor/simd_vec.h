/* simd_vec.h - one vocabulary for the AVX-512 and the AVX2 kernels (private to
 * lib/tensor), so that each kernel is written once and compiled per width.
 *
 * Usually reached through simd_widths.h, which compiles a template at both
 * widths. Include it with DSI_VW set to 16 (AVX-512F, __m512) or 8 (AVX2 + FMA,
 * __m256), after tensor/simd_x86.h and only where DSI_X86_SIMD is defined;
 * then the kernel template, which names its functions VN(name) (name_512 or
 * name_256) and marks them VT (the target attribute). Include it again with
 * the other width for the second copy: this header has no include guard on
 * purpose and redefines its macros on every inclusion (its functions are
 * defined once per width and file):
 *
 *     #define DSI_VW 16
 *     #include "tensor/simd_vec.h"
 *     #include "tensor/simd_xxx_w.h"     kernels at 16 lanes: f_512
 *     #undef DSI_VW
 *     #define DSI_VW 8
 *     #include "tensor/simd_vec.h"
 *     #include "tensor/simd_xxx_w.h"     the same at 8 lanes: f_256
 *
 * Each macro is one instruction (or a fixed sequence) of that width, so a
 * template compiles to what a hand-written kernel of that width would be; the
 * two widths differ only where the instruction sets do (masks are __mmask16
 * or a vector of lanes; rounding and the power-of-two scale of exp; the
 * horizontal sum of doubles), and those are spelled out below once per width.
 *
 *   vecf / vecd / vmask    VW floats / VW/2 doubles / a lane mask
 *   vload vstore           unaligned; vloadm(mk, p) zeroes masked-off lanes,
 *   vloadm vstorem         vstorem(p, mk, x) leaves them (never touched)
 *   vtail(n)               mask of the first min(n, VW) lanes (n >= 0)
 *   vset1 vzero vadd vsub vmul vdiv vfmadd(a,b,c)=a*b+c vfnmadd=c-a*b
 *   vmax vmin vsqrt vabs
 *   vcmp(a, b, pred)       lane mask of (a pred b), pred one of _CMP_*_OQ
 *   vsel(mk, x)            mk ? x : 0         vblend(mk, a, b)  mk ? b : a
 *   vd_zero vd_add vd_fmadd vd_cvt(p)  VW/2 floats at p as doubles
 *   vd_lo(x) vd_hi(x)      the low / high half of a float vector as doubles
 *   vd_store vd_hsum(x)    (the sum's order is fixed per width)
 *   vmask_and(a, b)        both masks
 *   vd_set1 vd_sub vd_mul vd_min vd_max vd_fnmadd vd_abs, vd_round (to
 *   nearest), vd_scale2(p, n) = p 2^n, vd_cmp -> vdmask, vd_blend, vd_sel
 *   vech / vhmask          VW/2 floats (the lanes of one vecd) and their mask:
 *   vh_set1 vh_min vh_max  vh_tail(n), vh_loadm(mk, p) (zeroing), vd_from_h(x)
 *                          as doubles, vd_hmask(mk) the same lanes as a vdmask
 *   vexp vtanh vsigm       VN(vexp)(x) etc.: the vector e^x, tanh, sigmoid
 */
#ifndef DSI_X86_SIMD
#error "simd_vec.h: include tensor/simd_x86.h first, and only under DSI_X86_SIMD"
#endif

#undef VN
#undef VN_
#undef VN__
#undef VT
#undef vecf
#undef vecd
#undef vmask
#undef vload
#undef vstore
#undef vloadm
#undef vstorem
#undef vtail
#undef vset1
#undef vzero
#undef vadd
#undef vsub
#undef vmul
#undef vdiv
#undef vfmadd
#undef vfnmadd
#undef vmax
#undef vmin
#undef vsqrt
#undef vabs
#undef vcmp
#undef vsel
#undef vblend
#undef vround
#undef vscale2
#undef vd_zero
#undef vd_add
#undef vd_fmadd
#undef vd_cvt
#undef vd_lo
#undef vd_hi
#undef vd_store
#undef vd_hsum
#undef vmask_and
#undef vd_set1
#undef vd_sub
#undef vd_mul
#undef vd_min
#undef vd_max
#undef vd_fnmadd
#undef vd_round
#undef vd_scale2
#undef vd_abs
#undef vd_cmp
#undef vd_blend
#undef vd_sel
#undef vdmask
#undef vech
#undef vhmask
#undef vh_set1
#undef vh_min
#undef vh_max
#undef vh_tail
#undef vh_loadm
#undef vd_from_h
#undef vd_hmask
#undef vexp
#undef vtanh
#undef vsigm

#if DSI_VW == 16
#define VN__(n, w) n##_##w
#define VN_(n, w) VN__(n, w)
#define VN(n) VN_(n, 512)
#define VT T512
#define vecf __m512
#define vecd __m512d
#define vmask __mmask16
#define vload(p) _mm512_loadu_ps(p)
#define vstore(p, x) _mm512_storeu_ps(p, x)
#define vloadm(mk, p) _mm512_maskz_loadu_ps(mk, p)
#define vstorem(p, mk, x) _mm512_mask_storeu_ps(p, mk, x)
#define vtail(n) ((size_t)(n) >= 16 ? (__mmask16)0xFFFF : tail16((size_t)(n)))
#define vset1(c) _mm512_set1_ps(c)
#define vzero() _mm512_setzero_ps()
#define vadd(a, b) _mm512_add_ps(a, b)
#define vsub(a, b) _mm512_sub_ps(a, b)
#define vmul(a, b) _mm512_mul_ps(a, b)
#define vdiv(a, b) _mm512_div_ps(a, b)
#define vfmadd(a, b, c) _mm512_fmadd_ps(a, b, c)
#define vfnmadd(a, b, c) _mm512_fnmadd_ps(a, b, c)
#define vmax(a, b) _mm512_max_ps(a, b)
#define vmin(a, b) _mm512_min_ps(a, b)
#define vsqrt(a) _mm512_sqrt_ps(a)
#define vabs(a) _mm512_abs_ps(a)
#define vcmp(a, b, pred) _mm512_cmp_ps_mask(a, b, pred)
#define vsel(mk, x) _mm512_maskz_mov_ps(mk, x)
#define vblend(mk, a, b) _mm512_mask_blend_ps(mk, a, b)
#define vround(x) _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define vscale2(p, n) _mm512_scalef_ps(p, n)
#define vd_zero() _mm512_setzero_pd()
#define vd_add(a, b) _mm512_add_pd(a, b)
#define vd_fmadd(a, b, c) _mm512_fmadd_pd(a, b, c)
#define vd_cvt(p) _mm512_cvtps_pd(_mm256_loadu_ps(p))
#define vd_lo(x) _mm512_cvtps_pd(_mm512_castps512_ps256(x))
#define vd_hi(x) _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)))
#define vd_store(p, x) _mm512_storeu_pd(p, x)
#define vd_hsum(x) _mm512_reduce_add_pd(x)
#define vmask_and(a, b) ((__mmask16)((a) & (b)))
#define vdmask __mmask8
#define vd_set1(c) _mm512_set1_pd(c)
#define vd_sub(a, b) _mm512_sub_pd(a, b)
#define vd_mul(a, b) _mm512_mul_pd(a, b)
#define vd_min(a, b) _mm512_min_pd(a, b)
#define vd_max(a, b) _mm512_max_pd(a, b)
#define vd_fnmadd(a, b, c) _mm512_fnmadd_pd(a, b, c)
#define vd_round(x) _mm512_roundscale_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define vd_scale2(p, n) _mm512_scalef_pd(p, n)
#define vd_abs(a) _mm512_abs_pd(a)
#define vd_cmp(a, b, pred) _mm512_cmp_pd_mask(a, b, pred)
#define vd_blend(mk, a, b) _mm512_mask_blend_pd(mk, a, b)
#define vd_sel(mk, x) _mm512_maskz_mov_pd(mk, x)
#define vech __m256
#define vhmask __mmask8
#define vh_set1(c) _mm256_set1_ps(c)
#define vh_min(a, b) _mm256_min_ps(a, b)
#define vh_max(a, b) _mm256_max_ps(a, b)
#define vh_tail(n) ((size_t)(n) >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (n)) - 1u))
#define vh_loadm(mk, p) _mm512_castps512_ps256(_mm512_maskz_loadu_ps((__mmask16)(mk), p))
#define vd_from_h(x) _mm512_cvtps_pd(x)
#define vd_hmask(mk) (mk)
#elif DSI_VW == 8
#define VN__(n, w) n##_##w
#define VN_(n, w) VN__(n, w)
#define VN(n) VN_(n, 256)
#define VT T256
#define vecf __m256
#define vecd __m256d
#define vmask __m256i
#define vload(p) _mm256_loadu_ps(p)
#define vstore(p, x) _mm256_storeu_ps(p, x)
#define vloadm(mk, p) _mm256_maskload_ps(p, mk)
#define vstorem(p, mk, x) _mm256_maskstore_ps(p, mk, x)
#define vtail(n) tail8((size_t)(n) >= 8 ? 8 : (size_t)(n))
#define vset1(c) _mm256_set1_ps(c)
#define vzero() _mm256_setzero_ps()
#define vadd(a, b) _mm256_add_ps(a, b)
#define vsub(a, b) _mm256_sub_ps(a, b)
#define vmul(a, b) _mm256_mul_ps(a, b)
#define vdiv(a, b) _mm256_div_ps(a, b)
#define vfmadd(a, b, c) _mm256_fmadd_ps(a, b, c)
#define vfnmadd(a, b, c) _mm256_fnmadd_ps(a, b, c)
#define vmax(a, b) _mm256_max_ps(a, b)
#define vmin(a, b) _mm256_min_ps(a, b)
#define vsqrt(a) _mm256_sqrt_ps(a)
#define vabs(a) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a)
#define vcmp(a, b, pred) _mm256_castps_si256(_mm256_cmp_ps(a, b, pred))
#define vsel(mk, x) _mm256_and_ps(_mm256_castsi256_ps(mk), x)
#define vblend(mk, a, b) _mm256_blendv_ps(a, b, _mm256_castsi256_ps(mk))
#define vround(x) _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define vscale2(p, n)                                                                                            \
    _mm256_mul_ps(p, _mm256_castsi256_ps(                                                                      \
                         _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23)))
#define vd_zero() _mm256_setzero_pd()
#define vd_add(a, b) _mm256_add_pd(a, b)
#define vd_fmadd(a, b, c) _mm256_fmadd_pd(a, b, c)
#define vd_cvt(p) _mm256_cvtps_pd(_mm_loadu_ps(p))
#define vd_lo(x) _mm256_cvtps_pd(_mm256_castps256_ps128(x))
#define vd_hi(x) _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1))
#define vd_store(p, x) _mm256_storeu_pd(p, x)
#define vd_hsum(x) vd_hsum_256(x)
#define vmask_and(a, b) _mm256_and_si256(a, b)
#define vdmask __m256d
#define vd_set1(c) _mm256_set1_pd(c)
#define vd_sub(a, b) _mm256_sub_pd(a, b)
#define vd_mul(a, b) _mm256_mul_pd(a, b)
#define vd_min(a, b) _mm256_min_pd(a, b)
#define vd_max(a, b) _mm256_max_pd(a, b)
#define vd_fnmadd(a, b, c) _mm256_fnmadd_pd(a, b, c)
#define vd_round(x) _mm256_round_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define vd_scale2(p, n) /* 2^n for n in [-1022, 1023]: the exponent field */                                 \
    _mm256_mul_pd(p, _mm256_castsi256_pd(_mm256_slli_epi64(                                                    \
                         _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(n)), _mm256_set1_epi64x(1023)), 52)))
#define vd_abs(a) _mm256_andnot_pd(_mm256_set1_pd(-0.0), a)
#define vd_cmp(a, b, pred) _mm256_cmp_pd(a, b, pred)
#define vd_blend(mk, a, b) _mm256_blendv_pd(a, b, mk)
#define vd_sel(mk, x) _mm256_and_pd(mk, x)
#define vech __m128
#define vhmask __m128i
#define vh_set1(c) _mm_set1_ps(c)
#define vh_min(a, b) _mm_min_ps(a, b)
#define vh_max(a, b) _mm_max_ps(a, b)
#define vh_tail(n) _mm_cmpgt_epi32(_mm_set1_epi32((size_t)(n) >= 4 ? 4 : (int)(n)), _mm_setr_epi32(0, 1, 2, 3))
#define vh_loadm(mk, p) _mm_maskload_ps(p, mk)
#define vd_from_h(x) _mm256_cvtps_pd(x)
#define vd_hmask(mk) _mm256_castsi256_pd(_mm256_cvtepi32_epi64(mk))
#else
#error "simd_vec.h: set DSI_VW to 16 or 8"
#endif

#define vexp(x) VN(vexp)(x)
#define vtanh(x) VN(vtanh)(x)
#define vsigm(x) VN(vsigm)(x)

/* the functions: once per width in a file, however often it includes this */
#if (DSI_VW == 16 && !defined(DSI_SIMD_VEC_512)) || (DSI_VW == 8 && !defined(DSI_SIMD_VEC_256))
#if DSI_VW == 16
#define DSI_SIMD_VEC_512
#else
#define DSI_SIMD_VEC_256
static inline T256 double vd_hsum_256(__m256d x)
{
    double t[4];
    _mm256_storeu_pd(t, x);
    return (t[0] + t[1]) + (t[2] + t[3]);
}
#endif

/* e^x for x in [-87, 88] (clamped): 2^n p(r), r = x - n ln 2 in two parts, degree-6 polynomial */
static inline VT vecf VN(vexp)(vecf x)
{
    x = vmin(vmax(x, vset1(-87.0f)), vset1(88.0f));
    const vecf n = vround(vmul(x, vset1(1.44269504088896341f)));
    vecf r = vfnmadd(n, vset1(0.693359375f), x);
    r = vfmadd(n, vset1(2.12194440e-4f), r);
    vecf p = vfmadd(r, vset1(1.9875691500e-4f), vset1(1.3981999507e-3f));
    p = vfmadd(p, r, vset1(8.3334519073e-3f));
    p = vfmadd(p, r, vset1(4.1665795894e-2f));
    p = vfmadd(p, r, vset1(1.6666665459e-1f));
    p = vfmadd(p, r, vset1(5.0000001201e-1f));
    p = vfmadd(vmul(p, r), r, r);
    p = vadd(p, vset1(1.0f));
    return vscale2(p, n);
}
static inline VT vecf VN(vtanh)(vecf x)
{
    const vecf e = vexp(vmul(x, vset1(-2.0f)));
    return vsub(vdiv(vset1(2.0f), vadd(vset1(1.0f), e)), vset1(1.0f));
}
static inline VT vecf VN(vsigm)(vecf x)
{
    const vecf e = vexp(vsub(vzero(), x));
    return vdiv(vset1(1.0f), vadd(vset1(1.0f), e));
}
#endif
