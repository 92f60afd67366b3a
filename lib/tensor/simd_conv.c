/* simd_conv.c - the channels-last convolution micro-kernels (see
 * conv_kernel.h): simd_conv_body.h compiled for AVX-512 and for AVX2+FMA,
 * and the portable loops in the same summation order. */
#include "tensor/conv_kernel.h"
#include "tensor/simd_x86.h"

int dsi_conv_nv_cap;
size_t dsi_conv_l2_rows = 1u << 20;
size_t dsi_conv_tn_block = DSI_IG_L1;

#define R1_4(X, NV) X(1, NV) X(2, NV) X(3, NV) X(4, NV)
#define R1_6(X, NV) R1_4(X, NV) X(5, NV) X(6, NV)
#define R1_8(X, NV) R1_6(X, NV) X(7, NV) X(8, NV)
#define R1_12(X, NV) R1_8(X, NV) X(9, NV) X(10, NV) X(11, NV) X(12, NV)

#ifdef DSI_X86_SIMD

/* ---- AVX-512: blocks of 12 x 1, 12 x 2, 8 x 3, 6 x 4 vectors (at most 24 accumulators) ---- */
#define SFX(n) n##_512
#define TGT T512
#define VT __m512
#define MT __mmask16
#define VL 16
#define V0() _mm512_setzero_ps()
#define VLD(p) _mm512_loadu_ps(p)
#define VLDM(p, m) _mm512_maskz_loadu_ps(m, p)
#define VSTM(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define VB(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VADD(a, b) _mm512_add_ps(a, b)
#define MTAIL(l) tail16((size_t)(l))
#define MFULL ((__mmask16)0xFFFF)
#define NVX 4
#define MRMAX 12
#define MRX(nv) ((nv) <= 2 ? 12 : (nv) == 3 ? 8 : 6)
#define IG_CASES(X) R1_12(X, 1) R1_12(X, 2) R1_8(X, 3) R1_6(X, 4)
#include "tensor/simd_conv_body.h"
#undef SFX
#undef TGT
#undef VT
#undef MT
#undef VL
#undef V0
#undef VLD
#undef VLDM
#undef VSTM
#undef VB
#undef VFMA
#undef VADD
#undef MTAIL
#undef MFULL
#undef NVX
#undef MRMAX
#undef MRX
#undef IG_CASES

/* ---- AVX2 + FMA: 16 registers, blocks of 8 x 1, 6 x 2, 4 x 3 vectors (at most 12 accumulators) ---- */
#define SFX(n) n##_256
#define TGT T256
#define VT __m256
#define MT __m256i
#define VL 8
#define V0() _mm256_setzero_ps()
#define VLD(p) _mm256_loadu_ps(p)
#define VLDM(p, m) _mm256_maskload_ps(p, m)
#define VSTM(p, m, v) _mm256_maskstore_ps(p, m, v)
#define VB(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VADD(a, b) _mm256_add_ps(a, b)
#define MTAIL(l) tail8((size_t)(l))
#define MFULL _mm256_set1_epi32(-1)
#define NVX 3
#define MRMAX 8
#define MRX(nv) ((nv) == 1 ? 8 : (nv) == 2 ? 6 : 4)
#define IG_CASES(X) R1_8(X, 1) R1_6(X, 2) R1_4(X, 3)
#include "tensor/simd_conv_body.h"

#endif /* DSI_X86_SIMD */

/* ---- portable: one element at a time, the same order (no fused multiply-add) ---- */

static void ig_rows_c(const dsi_ig *g, int m0, int m1)
{
    for (int m = m0; m < m1; m++) {
        float *y = g->y[m];
        for (int n = 0; n < g->N; n++) {
            float s = 0.0f;
            for (int t = 0; t < g->T; t++) {
                const float *a = g->a[(size_t)m * g->T + t];
                const float *b = g->b + (size_t)t * g->K * g->ldb + n;
                for (int k = 0; k < g->K; k++) s += a[k] * b[(size_t)k * g->ldb];
            }
            if (g->bias) s += g->bias[n];
            y[n] = s;
        }
    }
}

void dsi_ig_rows(const dsi_ig *g, int m0, int m1)
{
    if (m1 > g->M) m1 = g->M;
    if (m0 >= m1) return;
    DISPATCH(ig_rows_512, ig_rows_256, g, m0, m1);
    ig_rows_c(g, m0, m1);
}

int dsi_ig_row_align(int N)
{
#ifdef DSI_X86_SIMD
    int l = dsi_simd_level();
    if (l == 2) return ig_align_512(N);
    if (l == 1) return ig_align_256(N);
#endif
    (void)N;
    return 8;
}

/* portable tiles: 8 rows of c each */
int dsi_igtn_tiles(const dsi_igtn *g)
{
#ifdef DSI_X86_SIMD
    int l = dsi_simd_level();
    if (l == 2) return tn_tiles_512(g);
    if (l == 1) return tn_tiles_256(g);
#endif
    return (g->MI + 7) / 8;
}

static void tn_run_c(const dsi_igtn *g, int t0, int t1)
{
    int i1 = t1 * 8 < g->MI ? t1 * 8 : g->MI;
    for (int i = t0 * 8; i < i1; i++)
        for (int j = 0; j < g->NJ; j++) {
            float s = 0.0f;
            for (int q = 0; q < g->P; q++) s += g->a[q][i] * g->b[q][j];
            g->c[(size_t)i * g->ldc + j] = s;
        }
}

void dsi_igtn_run(const dsi_igtn *g, int t0, int t1)
{
    if (t0 >= t1) return;
    DISPATCH(tn_run_512, tn_run_256, g, t0, t1);
    tn_run_c(g, t0, t1);
}

/* ---- block transpose for the layout conversions ---- */

#ifdef DSI_X86_SIMD
/* 8 x 8 blocks through registers (AVX2; the AVX-512 machines run it too), edges scalar */
static T256 void transpose_256(const float *s, size_t lds, float *d, size_t ldd, int R, int Cc, int acc)
{
    int i = 0;
    for (; i + 8 <= R; i += 8) {
        int j = 0;
        for (; j + 8 <= Cc; j += 8) {
            __m256 r[8], t[8], u[8];
            for (int k = 0; k < 8; k++) r[k] = _mm256_loadu_ps(s + (size_t)(i + k) * lds + j);
            for (int k = 0; k < 8; k += 2) {
                t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
                t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
            }
            for (int k = 0; k < 8; k += 4) {
                u[k] = _mm256_shuffle_ps(t[k], t[k + 2], 0x44);
                u[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], 0xEE);
                u[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0x44);
                u[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0xEE);
            }
            for (int k = 0; k < 4; k++) {
                __m256 lo = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
                __m256 hi = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
                float *d0 = d + (size_t)(j + k) * ldd + i, *d1 = d + (size_t)(j + k + 4) * ldd + i;
                if (acc) {
                    lo = _mm256_add_ps(_mm256_loadu_ps(d0), lo);
                    hi = _mm256_add_ps(_mm256_loadu_ps(d1), hi);
                }
                _mm256_storeu_ps(d0, lo);
                _mm256_storeu_ps(d1, hi);
            }
        }
        for (; j < Cc; j++)
            for (int k = 0; k < 8; k++) {
                float v = s[(size_t)(i + k) * lds + j];
                float *o = d + (size_t)j * ldd + i + k;
                *o = acc ? *o + v : v;
            }
    }
    for (; i < R; i++)
        for (int j = 0; j < Cc; j++) {
            float v = s[(size_t)i * lds + j];
            float *o = d + (size_t)j * ldd + i;
            *o = acc ? *o + v : v;
        }
}
#endif

void dsi_conv_transpose_block(const float *s, size_t lds, float *d, size_t ldd, int R, int Cc, int acc)
{
#ifdef DSI_X86_SIMD
    if (dsi_simd_level() >= 1) {
        transpose_256(s, lds, d, ldd, R, Cc, acc);
        return;
    }
#endif
    for (int i0 = 0; i0 < R; i0 += 16)
        for (int j0 = 0; j0 < Cc; j0 += 16)
            for (int j = j0; j < Cc && j < j0 + 16; j++)
                for (int i = i0; i < R && i < i0 + 16; i++) {
                    float v = s[(size_t)i * lds + j];
                    float *o = d + (size_t)j * ldd + i;
                    *o = acc ? *o + v : v;
                }
}
