/* blas.c - thin wrappers over cblas (OpenBLAS or BLIS). */
#include "tensor/blas.h"
#include "tensor/simd.h"
#include "core/pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifdef DSN_USE_BLIS
#include <blis.h>
#include <cblas.h>
#else
#include <cblas.h>
#endif

/* Real-time mode (per thread): OpenBLAS takes a mutex for its buffers in
 * every sgemm / sgemv call, which an audio thread must not do; in this mode
 * the calls that would reach cblas run the plain loops below instead. */
static _Thread_local int rt_mode;

void dsi_blas_set_realtime(int on)
{
    rt_mode = on ? 1 : 0;
    dsi_pool_set_serial(on);
}

/* The library's threads are its pool's (core/pool.h): the BLAS runs on one
 * thread, on the part of a product each task hands it. */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_single(void);
#define BLAS_INIT() pthread_once(&blas_once, blas_single)

dsn_status dsn_set_threads(int n)
{
    BLAS_INIT();
    return dsi_pool_set_threads(n);
}

int dsn_get_threads(void) { return dsi_pool_threads(); }

/* C = alpha op(A) op(B) + beta C, row-major, in a fixed order */
static void gemm_plain(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                       int ldb, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        float *c = C + (long)i * ldc;
        for (int j = 0; j < N; j++) c[j] = beta == 0.0f ? 0.0f : beta * c[j];
        if (tb) {
            for (int j = 0; j < N; j++) {
                const float *b = B + (long)j * ldb;
                float s = 0.0f;
                for (int k = 0; k < K; k++) s += (ta ? A[(long)k * lda + i] : A[(long)i * lda + k]) * b[k];
                c[j] += alpha * s;
            }
        } else {
            for (int k = 0; k < K; k++) {
                const float a = alpha * (ta ? A[(long)k * lda + i] : A[(long)i * lda + k]);
                const float *b = B + (long)k * ldb;
                for (int j = 0; j < N; j++) c[j] += a * b[j];
            }
        }
    }
}

/* ---- partitioned over the pool: C split by rows (M >= N) or by columns, each
 * part one single-threaded BLAS call; the part boundaries are multiples of 16
 * and depend only on the shape and the task count. A task count of 1 is the
 * plain call. ---- */
#define GEMM_GRAIN 1.5e6 /* flops per task at least (~15 us of one core) */

typedef struct gemm_job {
    int ta, tb, M, N, K;
    float alpha;
    const float *A;
    int lda;
    const float *B;
    int ldb;
    float beta;
    float *C;
    int ldc;
} gemm_job;

static void gemm_blas(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                      int ldb, float beta, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
                lda, B, ldb, beta, C, ldc);
}

static void gemm_task(void *ctx, int t, int n)
{
    const gemm_job *j = ctx;
    size_t lo, hi;
    if (j->M >= j->N) {
        dsi_pool_split((size_t)j->M, t, n, 16, &lo, &hi);
        if (hi > lo)
            gemm_blas(j->ta, j->tb, (int)(hi - lo), j->N, j->K, j->alpha, j->ta ? j->A + lo : j->A + lo * j->lda,
                      j->lda, j->B, j->ldb, j->beta, j->C + lo * j->ldc, j->ldc);
    } else {
        dsi_pool_split((size_t)j->N, t, n, 16, &lo, &hi);
        if (hi > lo)
            gemm_blas(j->ta, j->tb, j->M, (int)(hi - lo), j->K, j->alpha, j->A, j->lda,
                      j->tb ? j->B + lo * j->ldb : j->B + lo, j->ldb, j->beta, j->C + lo, j->ldc);
    }
}

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
    if (rt_mode) {
        gemm_plain(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    BLAS_INIT();
    const int nt = dsi_pool_tasks(2.0 * M * N * K, GEMM_GRAIN);
    if (nt <= 1) {
        gemm_blas(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    gemm_job j = {ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
    dsi_pool_run(nt, gemm_task, &j);
}

void dsi_gemv(int ta, int M, int N, float alpha, const float *A, int lda, const float *x,
              float beta, float *y)
{
    if (M <= 0 || N <= 0) return;
    if (rt_mode) { /* y = alpha op(A) x + beta y as a [1, len] gemm */
        if (ta) gemm_plain(0, 0, 1, N, M, alpha, x, M, A, lda, beta, y, N);
        else gemm_plain(0, 1, 1, M, N, alpha, x, N, A, lda, beta, y, M);
        return;
    }
    BLAS_INIT();
    cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, M, N, alpha, A, lda, x, 1, beta, y, 1);
}

void dsi_axpy(int n, float alpha, const float *x, float *y)
{
    if (n <= 0) return;
    if (rt_mode) {
        for (int i = 0; i < n; i++) y[i] += alpha * x[i];
        return;
    }
    BLAS_INIT();
    cblas_saxpy(n, alpha, x, 1, y, 1);
}

#ifdef DSN_USE_BLIS
static void blas_single(void) { bli_thread_set_num_threads(1); }
void dsi_blas_set_threads(int n)
{
    BLAS_INIT();
    if (n > 0) bli_thread_set_num_threads(n);
}
int dsi_blas_get_threads(void) { return (int)bli_thread_get_num_threads(); }
const char *dsi_blas_name(void) { return "blis"; }
const char *dsn_blas_coretype_hint(void) { return NULL; }
#else
/* OpenBLAS extensions (declared in its cblas.h) */
static void blas_single(void) { openblas_set_num_threads(1); }
void dsi_blas_set_threads(int n)
{
    BLAS_INIT();
    if (n > 0) openblas_set_num_threads(n);
}
int dsi_blas_get_threads(void) { return openblas_get_num_threads(); }
const char *dsi_blas_name(void) { return openblas_get_config(); }

/* OpenBLAS's DYNAMIC_ARCH core names that use AVX2 or wider (0.3.x); any
 * other core on a CPU with AVX2 + FMA is a fallback worth replacing */
const char *dsn_blas_coretype_hint(void)
{
    if (getenv("OPENBLAS_CORETYPE")) return NULL;
    static const char *const wide[] = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", "skylake"};
    const char *core = openblas_get_corename();
    if (!core) return NULL;
    for (size_t i = 0; i < sizeof wide / sizeof *wide; i++)
        if (!strcasecmp(core, wide[i])) return NULL;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}
#endif
