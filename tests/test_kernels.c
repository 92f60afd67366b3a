/* test_kernels.c - the vector kernels added for speed (issue #9), each against
 * a naive double-precision reference loop on random sizes including 1, odd
 * sizes and sizes that are not multiples of 8/16: the Bernoulli likelihood
 * (simd.c) and the small-matrix gemm behind dsi_gemm (blas.c). */
#include "support/testutil.h"
#include "tensor/blas.h"
#include "tensor/simd.h"
#include "disent.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const size_t sizes[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 100, 784, 1001};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* l = max(x,0) - x y + log1p(e^-|x|), in double */
static double ref_bern(double x, double y) { return (x > 0 ? x : 0.0) - x * y + log1p(exp(-fabs(x))); }
static double ref_sigm(double x) { return 1.0 / (1.0 + exp(-x)); }

START_TEST(bern_nll_matches_naive)
{
    dsi_rng r;
    dsi_rng_seed(&r, 11);
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = sizes[si];
        float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n), *g = malloc(sizeof(float) * n);
        for (int scale = 0; scale < 3; scale++) {
            const float sc = scale == 0 ? 1.0f : scale == 1 ? 8.0f : 60.0f;
            double ref = 0.0, mag = 0.0;
            for (size_t i = 0; i < n; i++) {
                x[i] = sc * (2.0f * dsi_rng_uniform(&r) - 1.0f);
                y[i] = i % 3 == 0 ? (float)(i % 2) : dsi_rng_uniform(&r);
                g[i] = 0.25f;
                ref += ref_bern(x[i], y[i]);
                mag += 1.0 + fabs(x[i]);
            }
            double s = 0.0;
            if (!dsi_simd_bern_nll(x, y, n, &s)) {
                free(x), free(y), free(g);
                TU_SKIP("no vector path for the Bernoulli NLL on this CPU");
            }
            ck_assert_msg(fabs(s - ref) <= 4e-7 * mag, "n %zu scale %g: %.9g vs %.9g", n, sc, s, ref);
            ck_assert_int_eq(dsi_simd_bern_grad(x, y, 0.5f, g, n), 1);
            for (size_t i = 0; i < n; i++) {
                double want = 0.25 + 0.5 * (ref_sigm(x[i]) - y[i]);
                ck_assert_msg(fabs(g[i] - want) <= 2e-7, "n %zu i %zu: %.9g vs %.9g", n, i, g[i], want);
            }
            /* an element's loss does not depend on its neighbours or on n */
            double s1 = 0.0, s2 = 0.0;
            dsi_simd_bern_nll(x + n - 1, y + n - 1, 1, &s1);
            float x2[17], y2[17];
            for (int k = 0; k < 17; k++) x2[k] = x[n - 1], y2[k] = y[n - 1];
            dsi_simd_bern_nll(x2, y2, 17, &s2);
            ck_assert_msg(fabs(s2 - 17.0 * s1) <= 1e-12 * fabs(s2) + 1e-30, "lane dependence: %.17g vs 17 x %.17g",
                          s2, s1);
        }
        free(x), free(y), free(g);
    }
}
END_TEST

START_TEST(bern_extremes)
{
    float x[5] = {0.0f, 1e-8f, -1e-8f, 200.0f, -200.0f}, y[5] = {0.5f, 1.0f, 0.0f, 1.0f, 0.0f};
    for (int i = 0; i < 5; i++) {
        double s = 0.0;
        if (!dsi_simd_bern_nll(x + i, y + i, 1, &s)) TU_SKIP("no vector path for the Bernoulli NLL on this CPU");
        double ref = ref_bern(x[i], y[i]);
        ck_assert_msg(fabs(s - ref) <= 2e-7 * (1.0 + fabs(ref)), "x %g: %.9g vs %.9g", x[i], s, ref);
        float g = 0.0f;
        dsi_simd_bern_grad(x + i, y + i, 1.0f, &g, 1);
        ck_assert(isfinite(g));
        ck_assert_msg(fabs(g - (ref_sigm(x[i]) - y[i])) <= 2e-7, "x %g: grad %.9g", x[i], g);
    }
}
END_TEST

/* accumulating activation gradients: exactly the scalar loops */
START_TEST(act_grad_acc_matches_naive)
{
    dsi_rng r;
    dsi_rng_seed(&r, 3);
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = sizes[si];
        float *x = malloc(sizeof(float) * n), *gy = malloc(sizeof(float) * n), *g1 = malloc(sizeof(float) * n),
              *g2 = malloc(sizeof(float) * n);
        tu_fill(&r, x, n);
        tu_fill(&r, gy, n);
        tu_fill(&r, g1, n);
        if (n > 2) x[1] = 0.0f;
        memcpy(g2, g1, sizeof(float) * n);
        dsi_simd_relu_grad_acc(x, gy, g1, n);
        for (size_t i = 0; i < n; i++) g2[i] += x[i] > 0 ? gy[i] : 0.0f;
        ck_assert_int_eq(memcmp(g1, g2, sizeof(float) * n), 0);
        dsi_simd_tanh_grad_acc(x, gy, g1, n);
        for (size_t i = 0; i < n; i++) g2[i] += gy[i] * (1.0f - x[i] * x[i]);
        for (size_t i = 0; i < n; i++) ck_assert_msg(fabsf(g1[i] - g2[i]) <= 1e-6f, "n %zu i %zu", n, i);
        free(x), free(gy), free(g1), free(g2);
    }
}
END_TEST

/* KL row: sum_d expm1(a-b) - (a-b) + dm^2 e^-b and its gradient, against libm in double */
START_TEST(klg_row_matches_naive)
{
    static const int ds[] = {1, 5, 8, 15, 16, 17, 33, 100};
    dsi_rng r;
    dsi_rng_seed(&r, 21);
    for (size_t di = 0; di < sizeof ds / sizeof *ds; di++)
        for (int scale = 0; scale < 3; scale++) {
            const int D = ds[di];
            const float sc = scale == 0 ? 1e-3f : scale == 1 ? 1.0f : 40.0f; /* tiny d, O(1), clamped */
            float mq[100], lq[100], mp[100], lp[100], g[4][100];
            double ref = 0.0, ref_g[4][100];
            for (int d = 0; d < D; d++) {
                mq[d] = 2.0f * dsi_rng_uniform(&r) - 1.0f;
                mp[d] = 2.0f * dsi_rng_uniform(&r) - 1.0f;
                lp[d] = sc * (2.0f * dsi_rng_uniform(&r) - 1.0f);
                lq[d] = lp[d] + sc * (2.0f * dsi_rng_uniform(&r) - 1.0f);
                double a = lq[d] < -30 ? -30 : lq[d] > 20 ? 20 : lq[d], b = lp[d] < -30 ? -30 : lp[d] > 20 ? 20 : lp[d];
                double dl = a - b, dm = (double)mq[d] - mp[d], ip = exp(-b), e = expm1(dl);
                ref += e - dl + dm * dm * ip;
                ref_g[0][d] = 0.1 + 0.5 * dm * ip;
                ref_g[1][d] = 0.1 + (lq[d] >= -30 && lq[d] <= 20 ? 0.25 * e : 0.0);
                ref_g[2][d] = 0.1 - 0.5 * dm * ip;
                ref_g[3][d] = 0.1 - (lp[d] >= -30 && lp[d] <= 20 ? 0.25 * (e + dm * dm * ip) : 0.0);
                for (int k = 0; k < 4; k++) g[k][d] = 0.1f;
            }
            double s = 0.0;
            if (!dsi_simd_klg_row(mq, lq, mp, lp, D, &s)) TU_SKIP("no vector path for the Gaussian KL on this CPU");
            ck_assert_msg(fabs(s - ref) <= 1e-13 * (1.0 + fabs(ref)), "D %d scale %g: %.17g vs %.17g", D, sc, s, ref);
            ck_assert_int_eq(dsi_simd_klg_row_grad(mq, lq, mp, lp, D, 0.5f, g[0], g[1], g[2], g[3]), 1);
            for (int k = 0; k < 4; k++)
                for (int d = 0; d < D; d++)
                    ck_assert_msg(fabs(g[k][d] - ref_g[k][d]) <= 4e-6 * (1.0 + fabs(ref_g[k][d])),
                                  "D %d scale %g grad %d[%d]: %.9g vs %.9g", D, sc, k, d, g[k][d], ref_g[k][d]);
        }
}
END_TEST

/* C = act(op(A) op(B) + beta C + bias) in double */
static void ref_gemm(int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float beta,
                     const float *C0, int ldc, const float *bias, int act, double *out)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < K; k++) s += (double)A[(size_t)i * lda + k] * (tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
            s += beta * C0[(size_t)i * ldc + j] + (bias ? bias[j] : 0.0);
            if (act == DSI_GS_RELU) s = s > 0 ? s : 0.0;
            if (act == DSI_GS_TANH) s = tanh(s);
            out[(size_t)i * N + j] = s;
        }
}

START_TEST(gemm_small_matches_naive)
{
    static const int ms[] = {1, 2, 5, 6, 7, 13, 192, 250}, ns[] = {1, 3, 16, 17, 33, 63, 64, 65, 79, 80, 81, 128},
                     ks[] = {1, 7, 16, 64, 80};
    dsi_rng r;
    dsi_rng_seed(&r, 5);
    int tested = 0;
    for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
        for (size_t b = 0; b < sizeof ns / sizeof *ns; b++)
            for (size_t c = 0; c < sizeof ks / sizeof *ks; c++) {
                const int M = ms[a], N = ns[b], K = ks[c], lda = K + 3, ldb = N + 2, ldc = N + 1;
                const int act = (int)((a + b + c) % 3), beta_on = (int)((a + c) % 2), has_bias = (int)(b % 2);
                float *A = malloc(sizeof(float) * (size_t)M * lda), *B = malloc(sizeof(float) * (size_t)K * ldb),
                      *Bt = malloc(sizeof(float) * (size_t)N * (K + 1)), *C = malloc(sizeof(float) * (size_t)M * ldc),
                      *C0 = malloc(sizeof(float) * (size_t)M * ldc), *bias = malloc(sizeof(float) * (size_t)N);
                double *ref = malloc(sizeof(double) * (size_t)M * N);
                tu_fill(&r, A, (size_t)M * lda);
                tu_fill(&r, B, (size_t)K * ldb);
                tu_fill(&r, C0, (size_t)M * ldc);
                tu_fill(&r, bias, (size_t)N);
                for (int k = 0; k < K; k++)
                    for (int j = 0; j < N; j++) Bt[(size_t)j * (K + 1) + k] = B[(size_t)k * ldb + j];
                const float beta = beta_on ? 1.0f : 0.0f;
                ref_gemm(0, M, N, K, A, lda, B, ldb, beta, C0, ldc, has_bias ? bias : NULL, act, ref);
                const double tol = 2e-6 * (K + 2);
                /* the kernel itself, with bias and activation */
                memcpy(C, C0, sizeof(float) * (size_t)M * ldc);
                if (dsi_gemm_small(M, N, K, A, lda, B, ldb, beta, C, ldc, has_bias ? bias : NULL, act)) {
                    tested++;
                    for (int i = 0; i < M; i++)
                        for (int j = 0; j < N; j++)
                            ck_assert_msg(fabs(C[(size_t)i * ldc + j] - ref[(size_t)i * N + j]) <= tol,
                                          "M %d N %d K %d act %d (%d,%d): %.8g vs %.8g", M, N, K, act, i, j,
                                          C[(size_t)i * ldc + j], ref[(size_t)i * N + j]);
                    /* padding columns of C untouched */
                    for (int i = 0; i < M; i++) ck_assert(C[(size_t)i * ldc + N] == C0[(size_t)i * ldc + N]);
                }
                /* dsi_gemm (which may route to the kernel), plain and with B transposed */
                for (int tb = 0; tb < 2; tb++) {
                    ref_gemm(0, M, N, K, A, lda, B, ldb, beta, C0, ldc, NULL, DSI_GS_NONE, ref);
                    memcpy(C, C0, sizeof(float) * (size_t)M * ldc);
                    dsi_gemm(0, tb, M, N, K, 1.0f, A, lda, tb ? Bt : B, tb ? K + 1 : ldb, beta, C, ldc);
                    for (int i = 0; i < M; i++)
                        for (int j = 0; j < N; j++)
                            ck_assert_msg(fabs(C[(size_t)i * ldc + j] - ref[(size_t)i * N + j]) <= tol,
                                          "gemm tb %d M %d N %d K %d: %.8g vs %.8g", tb, M, N, K,
                                          C[(size_t)i * ldc + j], ref[(size_t)i * N + j]);
                }
                free(A), free(B), free(Bt), free(C), free(C0), free(bias), free(ref);
            }
    if (dsi_simd_level() == 2) ck_assert_int_gt(tested, 0);
}
END_TEST

/* C[K,N] = beta C + A[M,K]^T B[M,N], the kernel and through dsi_gemm(1, 0, ..) */
START_TEST(gemm_small_tn_matches_naive)
{
    static const int ms[] = {1, 5, 255, 256, 257, 700}, ns[] = {1, 15, 16, 17, 64, 65, 80, 81, 128},
                     ks[] = {1, 6, 7, 13, 64, 80};
    dsi_rng r;
    dsi_rng_seed(&r, 6);
    for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
        for (size_t b = 0; b < sizeof ns / sizeof *ns; b++)
            for (size_t c = 0; c < sizeof ks / sizeof *ks; c++) {
                const int M = ms[a], N = ns[b], K = ks[c], lda = K + 1, ldb = N + 3, ldc = N + 2;
                float *A = malloc(sizeof(float) * (size_t)M * lda), *B = malloc(sizeof(float) * (size_t)M * ldb),
                      *C = malloc(sizeof(float) * (size_t)K * ldc), *C0 = malloc(sizeof(float) * (size_t)K * ldc);
                tu_fill(&r, A, (size_t)M * lda);
                tu_fill(&r, B, (size_t)M * ldb);
                tu_fill(&r, C0, (size_t)K * ldc);
                for (int use_gemm = 0; use_gemm < 2; use_gemm++)
                    for (int beta_on = 0; beta_on < 2; beta_on++) {
                        const float beta = beta_on ? 1.0f : 0.0f;
                        memcpy(C, C0, sizeof(float) * (size_t)K * ldc);
                        if (use_gemm)
                            dsi_gemm(1, 0, K, N, M, 1.0f, A, lda, B, ldb, beta, C, ldc);
                        else if (!dsi_gemm_small_tn(K, N, M, A, lda, B, ldb, beta, C, ldc))
                            continue;
                        for (int i = 0; i < K; i++) {
                            for (int j = 0; j < N; j++) {
                                double s = beta * C0[(size_t)i * ldc + j];
                                for (int m = 0; m < M; m++) s += (double)A[(size_t)m * lda + i] * B[(size_t)m * ldb + j];
                                ck_assert_msg(fabs(C[(size_t)i * ldc + j] - s) <= 2e-6 * (M + 2),
                                              "gemm %d M %d N %d K %d (%d,%d): %.8g vs %.8g", use_gemm, M, N, K, i, j,
                                              C[(size_t)i * ldc + j], s);
                            }
                            ck_assert(C[(size_t)i * ldc + N] == C0[(size_t)i * ldc + N]);
                        }
                    }
                free(A), free(B), free(C), free(C0);
            }
}
END_TEST

/* b[j] += sum_r g[r, j]: every width 1..136 (whole blocks of 4 vectors plus
 * 0..4 more, masked), on every SIMD level and 1 or 2 threads (1000 rows of
 * 66 or more columns are split over two): the same bits as the sum in row
 * order */
START_TEST(colsum_matches_ordered_sum)
{
    enum { ROWS = 1000, MAXN = 136 };
    static const int rows_of[] = {1, 37, 1000};
    static float g[ROWS * MAXN], b[MAXN + 1], ref[MAXN + 1];
    dsi_rng r;
    dsi_rng_seed(&r, 12);
    tu_fill(&r, g, sizeof g / sizeof *g);
    for (int level = dsi_simd_level(); level >= 0; level--) {
        dsi_simd_force(level);
        for (int th = 1; th <= 2; th++) {
            ck_assert_int_eq(dsn_set_threads(th), DSN_OK);
            for (int n = 1; n <= MAXN; n++)
                for (size_t q = 0; q < sizeof rows_of / sizeof *rows_of; q++) {
                    const int rows = rows_of[q];
                    for (int j = 0; j <= n; j++) b[j] = ref[j] = 0.25f * (float)j;
                    for (int k = 0; k < rows; k++)
                        for (int j = 0; j < n; j++) ref[j] += g[(size_t)k * n + j];
                    dsi_simd_colsum_add(g, (size_t)rows, (size_t)n, b);
                    for (int j = 0; j <= n; j++)
                        ck_assert_msg(b[j] == ref[j], "level %d, %d threads, n %d, rows %d, column %d: %.9g vs %.9g",
                                      level, th, n, rows, j, b[j], ref[j]);
                }
        }
    }
    dsi_simd_force(-1);
    ck_assert_int_eq(dsn_set_threads(1), DSN_OK);
}
END_TEST

/* an element's value does not depend on where it sits or on M, N */
START_TEST(gemm_small_position_independent)
{
    enum { K = 37 };
    float A[7 * K], B[K * 81], C1[7 * 81], C2[1 * 1], bias[81];
    dsi_rng r;
    dsi_rng_seed(&r, 9);
    tu_fill(&r, A, sizeof A / sizeof *A);
    tu_fill(&r, B, sizeof B / sizeof *B);
    tu_fill(&r, bias, 81);
    if (!dsi_gemm_small(7, 81, K, A, K, B, 81, 0.0f, C1, 81, bias, DSI_GS_TANH)) TU_SKIP("no AVX-512 on this CPU");
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < 81; j++) {
            dsi_gemm_small(1, 1, K, A + i * K, K, B + j, 81, 0.0f, C2, 1, bias + j, DSI_GS_TANH);
            ck_assert_msg(C1[i * 81 + j] == C2[0], "(%d,%d) differs alone", i, j);
        }
}
END_TEST


/* Every kernel the pool splits: the same bits for 1, 2 and 3 threads (the
 * partition never changes an element's arithmetic), and the OpenBLAS gemm
 * split by rows or columns within rounding of the one-call result. */
enum { PK_ROWS = 700, PK_COLS = 72, PK_N = PK_ROWS * PK_COLS };
typedef struct pk_out {
    float act[8][PK_N];
    float colsum[PK_COLS];
    double sumsq;
    float adam_w[PK_N], adam_m[PK_N], adam_v[PK_N];
    float gs[PK_ROWS * 64], gt[64 * 64], gb[300 * 260], gbt[260 * 300];
} pk_out;

static void pk_run(pk_out *o, const float *x, const float *y)
{
    dsi_simd_tanh(x, o->act[0], PK_N);
    dsi_simd_sigm(x, o->act[1], PK_N);
    dsi_simd_relu(x, o->act[2], PK_N);
    dsi_simd_relu_grad(x, y, o->act[3], PK_N);
    dsi_simd_tanh_grad(x, y, o->act[4], PK_N);
    dsi_simd_sigm_grad(x, y, o->act[5], PK_N);
    memcpy(o->act[6], y, sizeof(float) * PK_N);
    dsi_simd_relu_grad_acc(x, y, o->act[6], PK_N);
    memcpy(o->act[7], y, sizeof(float) * PK_N);
    dsi_simd_tanh_grad_acc(x, y, o->act[7], PK_N);
    for (int j = 0; j < PK_COLS; j++) o->colsum[j] = (float)j;
    dsi_simd_colsum_add(x, PK_ROWS, PK_COLS, o->colsum);
    o->sumsq = dsi_simd_sumsq(x, PK_N);
    for (int i = 0; i < PK_N; i++) o->adam_w[i] = x[i], o->adam_m[i] = 0.1f * y[i], o->adam_v[i] = y[i] * y[i];
    dsi_simd_adam(o->adam_w, y, o->adam_m, o->adam_v, PK_N, 0.9f, 0.9f, 0.1f, 0.999f, 0.001f, 1e-4f, 1.0f, 1e-3f,
                  1.2f, 1e-8f);
    if (!dsi_gemm_small(PK_ROWS, 64, 40, x, 40, y, 64, 0.0f, o->gs, 64, y + 100, DSI_GS_TANH))
        memset(o->gs, 0, sizeof o->gs);
    if (!dsi_gemm_small_tn(64, 64, 600, x, 64, y, 64, 0.0f, o->gt, 64)) memset(o->gt, 0, sizeof o->gt);
    dsi_gemm(0, 0, 300, 260, 130, 1.0f, x, 130, y, 260, 0.0f, o->gb, 260);  /* rows split */
    dsi_gemm(1, 1, 260, 300, 110, 1.0f, x, 260, y, 110, 0.0f, o->gbt, 300); /* columns split, both transposed */
}

START_TEST(pooled_kernels_same_for_any_thread_count)
{
    static pk_out o1, o2;
    float *x = malloc(sizeof(float) * PK_N), *y = malloc(sizeof(float) * PK_N);
    dsi_rng r;
    dsi_rng_seed(&r, 21);
    for (int i = 0; i < PK_N; i++) x[i] = 3.0f * (2.0f * dsi_rng_uniform(&r) - 1.0f), y[i] = dsi_rng_uniform(&r);
    ck_assert_int_eq(dsn_set_threads(1), DSN_OK);
    pk_run(&o1, x, y);
    for (int nt = 2; nt <= 3; nt++) {
        ck_assert_int_eq(dsn_set_threads(nt), DSN_OK);
        memset(&o2, 0, sizeof o2);
        pk_run(&o2, x, y);
        for (int k = 0; k < 8; k++) ck_assert_msg(!memcmp(o1.act[k], o2.act[k], sizeof o1.act[k]), "act %d, %d threads", k, nt);
        ck_assert(!memcmp(o1.colsum, o2.colsum, sizeof o1.colsum));
        ck_assert(o1.sumsq == o2.sumsq);
        ck_assert(!memcmp(o1.adam_w, o2.adam_w, sizeof o1.adam_w));
        ck_assert(!memcmp(o1.adam_m, o2.adam_m, sizeof o1.adam_m));
        ck_assert(!memcmp(o1.adam_v, o2.adam_v, sizeof o1.adam_v));
        ck_assert(!memcmp(o1.gs, o2.gs, sizeof o1.gs));
        ck_assert(!memcmp(o1.gt, o2.gt, sizeof o1.gt));
        double worst = 0;
        for (size_t i = 0; i < sizeof o1.gb / sizeof *o1.gb; i++) {
            double d = fabs((double)o1.gb[i] - o2.gb[i]) / (1.0 + fabs((double)o1.gb[i]));
            if (d > worst) worst = d;
        }
        for (size_t i = 0; i < sizeof o1.gbt / sizeof *o1.gbt; i++) {
            double d = fabs((double)o1.gbt[i] - o2.gbt[i]) / (1.0 + fabs((double)o1.gbt[i]));
            if (d > worst) worst = d;
        }
        ck_assert_msg(worst < 1e-5, "split gemm differs by %g", worst);
        /* the same thread count twice: the same bits */
        static pk_out o3;
        pk_run(&o3, x, y);
        ck_assert(!memcmp(&o2, &o3, sizeof o2));
    }
    /* sumsq in double against a plain loop */
    double ref = 0;
    for (int i = 0; i < PK_N; i++) ref += (double)x[i] * x[i];
    ck_assert(fabs(o1.sumsq - ref) <= 1e-12 * ref);
    ck_assert_int_eq(dsn_set_threads(1), DSN_OK);
    free(x), free(y);
}
END_TEST

/* The AVX-512 and AVX2 paths give the same bits for every kernel the header
 * says is bit-identical across levels (pk_run's set: activations and their
 * gradients, column sums, Adam, the small gemms); the sum of squares within
 * rounding (its lanes are added in a width-specific order). */
START_TEST(avx2_and_avx512_same_bits)
{
    if (dsi_simd_force(2) < 2) {
        dsi_simd_force(-1);
        TU_SKIP("no AVX-512 on this CPU: nothing to compare the AVX2 path with");
    }
    static pk_out o1, o2;
    float *x = malloc(sizeof(float) * PK_N), *y = malloc(sizeof(float) * PK_N);
    dsi_rng r;
    dsi_rng_seed(&r, 22);
    for (int i = 0; i < PK_N; i++) x[i] = 3.0f * (2.0f * dsi_rng_uniform(&r) - 1.0f), y[i] = dsi_rng_uniform(&r);
    pk_run(&o1, x, y);
    ck_assert_int_eq(dsi_simd_force(1), 1);
    pk_run(&o2, x, y);
    dsi_simd_force(-1);
    for (int k = 0; k < 8; k++) ck_assert_msg(!memcmp(o1.act[k], o2.act[k], sizeof o1.act[k]), "act %d", k);
    ck_assert(!memcmp(o1.colsum, o2.colsum, sizeof o1.colsum));
    ck_assert(fabs(o1.sumsq - o2.sumsq) <= 1e-12 * o1.sumsq);
    ck_assert(!memcmp(o1.adam_w, o2.adam_w, sizeof o1.adam_w));
    ck_assert(!memcmp(o1.gs, o2.gs, sizeof o1.gs));
    ck_assert(!memcmp(o1.gt, o2.gt, sizeof o1.gt));
    free(x), free(y);
}
END_TEST

/* tanh and sigmoid against libm
 * over the whole float range a layer can produce, including the ends where
 * the input is clamped (x < -40 for tanh, x < -80 for the sigmoid), at
 * every SIMD level the CPU has: absolute error <= 3e-7 (tanh), and for the
 * sigmoid <= 3e-7 absolute and 1e-5 relative down to 1e-30; tanh odd to
 * within 2 ulps of 1 */
START_TEST(tanh_sigm_accurate_everywhere)
{
    enum { N = 40000 };
    float *x = malloc(sizeof(float) * N), *t = malloc(sizeof(float) * N), *s = malloc(sizeof(float) * N);
    for (int i = 0; i < N - 8; i++) x[i] = -100.0f + 200.0f * (float)i / (float)(N - 9);
    const float ends[8] = {-1e30f, -87.5f, -80.5f, -40.5f, -1e-6f, 1e-6f, 40.5f, 1e30f};
    for (int i = 0; i < 8; i++) x[N - 8 + i] = ends[i];
    for (int level = 2; level >= 0; level--) {
        if (dsi_simd_force(level) != level) continue;
        dsi_simd_tanh(x, t, N);
        dsi_simd_sigm(x, s, N);
        for (int i = 0; i < N; i++) {
            const double wt = tanh((double)x[i]), ws = ref_sigm((double)x[i]);
            ck_assert_msg(fabs(t[i] - wt) <= 3e-7, "level %d: tanh(%g) = %.9g, want %.9g", level, x[i], t[i], wt);
            ck_assert_msg(fabs(s[i] - ws) <= 3e-7 && (ws < 1e-30 || fabs(s[i] - ws) <= 1e-5 * ws),
                          "level %d: sigm(%g) = %.9g, want %.9g", level, x[i], s[i], ws);
            ck_assert_msg(t[i] >= -1.0f && t[i] <= 1.0f && s[i] >= 0.0f && s[i] <= 1.0f, "level %d: range at %g",
                          level, x[i]);
        }
    }
    dsi_simd_force(-1);
    free(x), free(t), free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, bern_nll_matches_naive);
    tcase_add_test(tc, bern_extremes);
    tcase_add_test(tc, act_grad_acc_matches_naive);
    tcase_add_test(tc, klg_row_matches_naive);
    tcase_add_test(tc, gemm_small_matches_naive);
    tcase_add_test(tc, gemm_small_position_independent);
    tcase_add_test(tc, gemm_small_tn_matches_naive);
    tcase_add_test(tc, colsum_matches_ordered_sum);
    tcase_add_test(tc, pooled_kernels_same_for_any_thread_count);
    tcase_add_test(tc, avx2_and_avx512_same_bits);
    tcase_add_test(tc, tanh_sigm_accurate_everywhere);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
