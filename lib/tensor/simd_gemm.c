/* simd_gemm.c - small-matrix gemm (AVX-512 and AVX2) for narrow layers and
 * their weight gradients (see simd.h), split over the pool. */
#include "tensor/simd.h"
#include "tensor/simd_x86.h"
#include "core/pool.h"

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

/* ---- the same two products with AVX2 + FMA ----
 * 16 registers: blocks of up to 6 rows x 16 columns (2 vectors; 12
 * accumulators, 2 B vectors, 1 broadcast); the same sums in the same order as
 * the AVX-512 kernel (k from 0, then + C, then + bias, then act), so both
 * levels give the same bits. */
#undef DSI_VW
#define DSI_VW 8
#include "tensor/simd_vec.h"

static inline __attribute__((always_inline)) T256 void gs_block8(int R, int nv, const __m256i *mk, int K,
                                                                const float *A, size_t rs, size_t ks,
                                                                const float *B, int ldb, int beta, float *C,
                                                                int ldc, const float *bias, int act)
{
    __m256 acc[6][2];
    _Pragma("GCC unroll 8")
    for (int r = 0; r < 6; r++)
        _Pragma("GCC unroll 8")
        for (int v = 0; v < 2; v++) acc[r][v] = _mm256_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m256 bv[2];
        _Pragma("GCC unroll 8")
        for (int v = 0; v < 2; v++)
            bv[v] = v < nv ? _mm256_maskload_ps(B + (size_t)k * ldb + 8 * v, mk[v]) : _mm256_setzero_ps();
        _Pragma("GCC unroll 8")
        for (int r = 0; r < 6; r++)
            if (r < R) {
                const __m256 a = _mm256_broadcast_ss(A + (size_t)r * rs + (size_t)k * ks);
                _Pragma("GCC unroll 8")
                for (int v = 0; v < 2; v++)
                    if (v < nv) acc[r][v] = _mm256_fmadd_ps(a, bv[v], acc[r][v]);
            }
    }
    _Pragma("GCC unroll 8")
    for (int r = 0; r < 6; r++)
        if (r < R)
            _Pragma("GCC unroll 8")
            for (int v = 0; v < 2; v++)
                if (v < nv) {
                    float *c = C + (size_t)r * ldc + 8 * v;
                    __m256 x = acc[r][v];
                    if (beta) x = _mm256_add_ps(x, _mm256_maskload_ps(c, mk[v]));
                    if (bias) x = _mm256_add_ps(x, _mm256_maskload_ps(bias + 8 * v, mk[v]));
                    if (act == DSI_GS_RELU) x = _mm256_max_ps(x, _mm256_setzero_ps());
                    else if (act == DSI_GS_TANH) x = vtanh(x);
                    _mm256_maskstore_ps(c, mk[v], x);
                }
}

static inline __attribute__((always_inline)) T256 void gs_panel8(int M, int N, int K, const float *A, size_t rs,
                                                                size_t ks, const float *B, int ldb, int beta,
                                                                float *C, int ldc, const float *bias, int act)
{
    for (int j = 0; j < N; j += 16) {
        const int left = N - j, nv = left >= 16 ? 2 : (left + 7) / 8;
        __m256i mk[2];
        for (int v = 0; v < 2; v++) {
            const int l = left - 8 * v;
            mk[v] = tail8(l >= 8 ? 8 : l > 0 ? (size_t)l : 0);
        }
        const float *Bj = B + j, *bj = bias ? bias + j : NULL;
        int i = 0;
#define GS_AT(R_, NV_)                                                                                          \
    gs_block8(R_, NV_, mk, K, A + (size_t)i * rs, rs, ks, Bj, ldb, beta, C + (size_t)i * ldc + j, ldc, bj, act)
        if (nv == 2) {
            for (; i + 6 <= M; i += 6) GS_AT(6, 2);
        } else {
            for (; i + 6 <= M; i += 6) GS_AT(6, 1);
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
    }
}

static T256 void gemm_small_256(int M, int N, int K, const float *A, int lda, const float *B, int ldb, int beta,
                                float *C, int ldc, const float *bias, int act)
{
    gs_panel8(M, N, K, A, (size_t)lda, 1, B, ldb, beta, C, ldc, bias, act);
}

static T256 void gemm_small_tn_256(int K, int N, int M, const float *A, int lda, const float *B, int ldb, int beta,
                                   float *C, int ldc)
{
    for (int m0 = 0; m0 < M; m0 += GT_CHUNK) {
        const int Mc = M - m0 < GT_CHUNK ? M - m0 : GT_CHUNK, bt = beta || m0 > 0;
        gs_panel8(K, N, Mc, A + (size_t)m0 * lda, 1, (size_t)lda, B + (size_t)m0 * ldb, ldb, bt, C, ldc, NULL,
                  DSI_GS_NONE);
    }
}
#endif /* DSI_X86_SIMD */

/* ---- the pool: dsi_gemm_small splits the rows of C, dsi_gemm_small_tn the
 * rows of its C (K); every element is computed as on one thread (the
 * kernels' results do not depend on an element's position), so these are
 * bit-identical for any task count. ---- */
#define GS_GRAIN 1.0e6 /* flops per task at least */

typedef struct gs_job {
    int M, N, K;
    const float *A;
    int lda;
    const float *B;
    int ldb;
    int beta;
    float *C;
    int ldc;
    const float *bias;
    int act;
    void (*f)(int, int, int, const float *, int, const float *, int, int, float *, int, const float *, int);
    void (*ft)(int, int, int, const float *, int, const float *, int, int, float *, int);
} gs_job;

static void gs_task(void *ctx, int t, int n)
{
    const gs_job *j = ctx;
    size_t lo, hi;
    dsi_pool_split((size_t)j->M, t, n, 12, &lo, &hi);
    if (hi > lo)
        j->f((int)(hi - lo), j->N, j->K, j->A + lo * j->lda, j->lda, j->B, j->ldb, j->beta, j->C + lo * j->ldc,
             j->ldc, j->bias, j->act);
}

static void gt_task(void *ctx, int t, int n)
{
    const gs_job *j = ctx; /* M here is the output's row count (the kernel's K) */
    size_t lo, hi;
    dsi_pool_split((size_t)j->M, t, n, 12, &lo, &hi);
    if (hi > lo)
        j->ft((int)(hi - lo), j->N, j->K, j->A + lo, j->lda, j->B, j->ldb, j->beta, j->C + lo * j->ldc, j->ldc);
}

int dsi_gemm_small(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float beta, float *C,
                   int ldc, const float *bias, int act)
{
#ifdef DSI_X86_SIMD
    const int l = dsi_simd_level();
    if (l >= 1 && M > 0 && N > 0 && K > 0 && (beta == 0.0f || beta == 1.0f)) {
        gs_job j = {M, N, K, A, lda, B, ldb, beta != 0.0f, C, ldc, bias, act,
                    l == 2 ? gemm_small_512 : gemm_small_256, NULL};
        dsi_pool_run(dsi_pool_tasks(2.0 * M * N * K, GS_GRAIN), gs_task, &j);
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
    const int l = dsi_simd_level();
    if (l >= 1 && M > 0 && N > 0 && K > 0 && (beta == 0.0f || beta == 1.0f)) {
        gs_job j = {K, N, M, A, lda, B, ldb, beta != 0.0f, C, ldc, NULL, 0, NULL,
                    l == 2 ? gemm_small_tn_512 : gemm_small_tn_256};
        dsi_pool_run(dsi_pool_tasks(2.0 * M * N * K, GS_GRAIN), gt_task, &j);
        return 1;
    }
#endif
    (void)K; (void)N; (void)M; (void)A; (void)lda; (void)B; (void)ldb; (void)beta; (void)C; (void)ldc;
    return 0;
}
