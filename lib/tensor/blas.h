/* blas.h - the one door to cblas (internal). Row-major everywhere.
 * Which BLAS (OpenBLAS default, BLIS with BLAS=blis / -Dblas=blis) is a build
 * choice hidden here; nothing else includes cblas.h. */
#ifndef DSI_TENSOR_BLAS_H
#define DSI_TENSOR_BLAS_H

/* C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, row-major.
 * ta/tb non-zero: A (or B) is stored transposed. */
void dsi_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);

/* y = alpha * op(A) x + beta * y, A row-major [M,N] */
void dsi_gemv(int ta, int M, int N, float alpha, const float *A, int lda, const float *x,
              float beta, float *y);

/* y += alpha * x */
void dsi_axpy(int n, float alpha, const float *x, float *y);

/* Real-time mode for the calling thread (on != 0): gemm, gemv and axpy
 * never enter the BLAS library (OpenBLAS locks a mutex per call) but run
 * plain loops; for the small products of a streaming model step. */
void dsi_blas_set_realtime(int on);

/* Threads used by the BLAS itself (<= 0: leave it). The library keeps it at 1
 * and threads through its pool (core/pool.h, dsn_set_threads); this is for
 * benchmarks that compare with the BLAS's own threads. */
void dsi_blas_set_threads(int n);
int dsi_blas_get_threads(void);
/* "openblas 0.3.21 (pthreads)" or "blis" */
const char *dsi_blas_name(void);

#endif
