/* blas.c - thin wrappers over cblas (OpenBLAS or BLIS). */
#include "tensor/blas.h"
#include "tensor/simd.h"

#ifdef DSN_USE_BLIS
#include <blis.h>
#include <cblas.h>
#else
#include <cblas.h>
#endif

void dsi_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { /* cblas leaves C untouched when K == 0; we want beta*C */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(long)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(long)i * ldc + j];
        return;
    }
    if (!ta && alpha == 1.0f && dsi_gemm_small_fits(M, N, K, tb)) {
        if (!tb) {
            if (dsi_gemm_small(M, N, K, A, lda, B, ldb, beta, C, ldc, NULL, DSI_GS_NONE)) return;
        } else {
            /* B is [N,K]: its transpose (at most DSI_GS_TMAX floats) in a per-thread buffer */
            static _Thread_local float bt[DSI_GS_TMAX];
            for (int k = 0; k < K; k++)
                for (int j = 0; j < N; j++) bt[(size_t)k * N + j] = B[(size_t)j * ldb + k];
            if (dsi_gemm_small(M, N, K, A, lda, bt, N, beta, C, ldc, NULL, DSI_GS_NONE)) return;
        }
    }
    if (ta && !tb && alpha == 1.0f && dsi_gemm_small_tn_fits(M, N, K) &&
        dsi_gemm_small_tn(M, N, K, A, lda, B, ldb, beta, C, ldc))
        return;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K,
                alpha, A, lda, B, ldb, beta, C, ldc);
}

void dsi_gemv(int ta, int M, int N, float alpha, const float *A, int lda, const float *x,
              float beta, float *y)
{
    if (M <= 0 || N <= 0) return;
    cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, M, N, alpha, A, lda, x, 1, beta, y, 1);
}

void dsi_axpy(int n, float alpha, const float *x, float *y)
{
    if (n > 0) cblas_saxpy(n, alpha, x, 1, y, 1);
}

#ifdef DSN_USE_BLIS
void dsi_blas_set_threads(int n)
{
    if (n > 0) bli_thread_set_num_threads(n);
}
int dsi_blas_get_threads(void) { return (int)bli_thread_get_num_threads(); }
const char *dsi_blas_name(void) { return "blis"; }
#else
/* OpenBLAS extensions (declared in its cblas.h) */
void dsi_blas_set_threads(int n)
{
    if (n > 0) openblas_set_num_threads(n);
}
int dsi_blas_get_threads(void) { return openblas_get_num_threads(); }
const char *dsi_blas_name(void) { return openblas_get_config(); }
#endif
