/* simd_conv.c - the channels-last convolution micro-kernels (see
 * conv_kernel.h): simd_conv_body.h compiled for AVX-512 and for AVX2+FMA,
 * and the portable loops in the same summation order. */
#include "tensor/conv_kernel.h"
#include "tensor/simd_x86.h"

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
            y[n] = g->beta ? y[n] + s : s;
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
            float *c = g->c + (size_t)i * g->ldc + j;
            for (int q0 = 0, first = 1; first || q0 < g->P; q0 += DSI_IGTN_CHUNK, first = 0) {
                const int q1 = g->P - q0 < DSI_IGTN_CHUNK ? g->P : q0 + DSI_IGTN_CHUNK;
                float s = 0.0f;
                for (int q = q0; q < q1; q++) s += g->a[q][i] * g->b[q][j];
                *c = first ? s : *c + s;
                if (g->P == 0) break;
            }
        }
}

void dsi_igtn_run(const dsi_igtn *g, int t0, int t1)
{
    if (t0 >= t1) return;
    DISPATCH(tn_run_512, tn_run_256, g, t0, t1);
    tn_run_c(g, t0, t1);
}
