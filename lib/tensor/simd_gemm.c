/* simd_gemm.c - small-matrix gemm (AVX-512 and AVX2) for narrow layers and
 * their weight gradients (see simd.h), split over the pool. */
#include "tensor/simd.h"
#include "tensor/simd_x86.h"
#include "core/pool.h"

#ifdef DSI_X86_SIMD
#define GT_CHUNK 256 /* rows of the inner dimension per chunk of the transposed product */
#define DSI_SIMD_TEMPLATE "tensor/simd_gemm_w.h"
#include "tensor/simd_widths.h"
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
    /* parts of 4 rows: 64 rows split 32 / 32, 80 rows 40 / 40 (12 gave 36 / 28 and 48 / 32) */
    dsi_pool_split((size_t)j->M, t, n, 4, &lo, &hi);
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
