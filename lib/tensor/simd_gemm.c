/* simd_gemm.c - small-matrix gemm (AVX-512) for narrow layers and their
 * weight gradients (see simd.h). */
#include "tensor/simd.h"
#include "tensor/simd_x86.h"

#ifdef DSI_X86_SIMD
#define DSI_VW 16
#include "tensor/simd_vec.h"

/* ---- small-matrix gemm (AVX-512) ----
 * Two products share one register-blocked kernel: C[M,N] = act(A[M,K] B[K,N]
 * (+ C) (+ bias)) for narrow layers, and C[K,N] = A[M,K]^T B[M,N] (+ C) for
 * their weight gradients. The kernel reads the left operand through strides,
 * element (r, k) at A[r rs + k ks]: (lda, 1) for A, (1, lda) for A^T; both
 * callers pass constants, and the kernel is inlined, so each product
 * compiles to its own loops. Column blocks of up to 64 (4 vectors, 6 rows at
 * a time) or, for a last block of 65..80 columns, 80 (5 vectors, 4 rows at a
 * time): at most 24 accumulators; per k one broadcast of the left operand per
 * row and one load per vector of the B row, which stays in L1 (K N small). No
 * packing. Each C element is act(((sum_k A B in k order, from 0) + C) +
 * bias): its value depends neither on its position nor on M, N. */
static inline __attribute__((always_inline)) T512 void gs_block(int R, int nv, const __mmask16 *mk, int K,
                                                                const float *A, size_t rs, size_t ks,
                                                                const float *B, int ldb, int beta, float *C,
                                                                int ldc, const float *bias, int act)
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
                const __m512 a = _mm512_set1_ps(A[(size_t)r * rs + (size_t)k * ks]);
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
                    else if (act == DSI_GS_TANH) x = vtanh(x);
                    _mm512_mask_storeu_ps(c, mk[v], x);
                }
}

/* C[M, N] from rows of the left operand (M rows, K deep): column blocks, full
 * blocks of rows, then the last 1-5 rows */
static inline __attribute__((always_inline)) T512 void gs_panel(int M, int N, int K, const float *A, size_t rs,
                                                                size_t ks, const float *B, int ldb, int beta,
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
#define GS_AT(R_, NV_)                                                                                          \
    gs_block(R_, NV_, mk, K, A + (size_t)i * rs, rs, ks, Bj, ldb, beta, C + (size_t)i * ldc + j, ldc, bj, act)
        if (nv == 5) {
            for (; i + 4 <= M; i += 4) GS_AT(4, 5);
        } else if (nv == 4) {
            for (; i + 6 <= M; i += 6) GS_AT(6, 4);
        } else {
            for (; i + 6 <= M; i += 6) GS_AT(6, nv);
        }
        switch (M - i) {
        case 5: GS_AT(5, nv); break;
        case 4: GS_AT(4, nv); break;
        case 3: GS_AT(3, nv); break;
        case 2: GS_AT(2, nv); break;
        case 1: GS_AT(1, nv); break;
        default: break;
        }
#undef GS_AT
        j += w;
    }
}

static T512 void gemm_small_512(int M, int N, int K, const float *A, int lda, const float *B, int ldb, int beta,
                                float *C, int ldc, const float *bias, int act)
{
    gs_panel(M, N, K, A, (size_t)lda, 1, B, ldb, beta, C, ldc, bias, act);
}

/* C[K,N] = A[M,K]^T B[M,N] (+ C): the long inner dimension M is cut into
 * chunks of GT_CHUNK rows that stay in L2; each chunk's product is summed
 * from 0 in order and added to C. An element is ((C + s_0) + s_1) + ... over
 * the chunks: fixed for a given M, independent of its position. */
#define GT_CHUNK 256
static T512 void gemm_small_tn_512(int K, int N, int M, const float *A, int lda, const float *B, int ldb, int beta,
                                   float *C, int ldc)
{
    for (int m0 = 0; m0 < M; m0 += GT_CHUNK) {
        const int Mc = M - m0 < GT_CHUNK ? M - m0 : GT_CHUNK, bt = beta || m0 > 0;
        gs_panel(K, N, Mc, A + (size_t)m0 * lda, 1, (size_t)lda, B + (size_t)m0 * ldb, ldb, bt, C, ldc, NULL,
                 DSI_GS_NONE);
    }
}
#endif /* DSI_X86_SIMD */

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
