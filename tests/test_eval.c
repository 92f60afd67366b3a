/* test_eval.c - evaluation layer and the public evaluation / audio-for-hosts
 * API: logistic regression (gradient, optimality, separable data, scaling
 * invariance, a 60000 x 20 timing), LDA (closed form on two Gaussians,
 * shrinkage), nearest centroid, accuracy / confusion / macro-F1 on known
 * matrices, raw pitch and chroma accuracy, YIN tracks, audio read/write,
 * features identical to the audio datasets', mel -> audio, and error paths. */
#include "core/rng.h"
#include "eval/classify.h"
#include "eval/metrics.h"
#include "support/testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define PI 3.14159265358979323846

/* n points of K Gaussian classes in d dims: class k has mean sep * e_(k mod d)
 * (+ sep for k >= d on the next axis), unit noise scaled by noise. */
static void blobs(dsi_rng *r, float *x, int32_t *y, int n, int d, int K, float sep, float noise)
{
    for (int i = 0; i < n; i++) {
        int k = i % K;
        y[i] = k;
        for (int j = 0; j < d; j++) x[(size_t)i * d + j] = noise * dsi_rng_normal(r);
        x[(size_t)i * d + (k % d)] += sep;
        if (k >= d) x[(size_t)i * d + ((k + 1) % d)] += sep;
    }
}

/* K classes of n points in d dims that mix 16 latent factors (class k shifts
 * factor k by 1.5) through a fixed random matrix, times mix, plus unit noise;
 * a tenth of the features is constant 0 (like image borders). */
static void correlated(dsi_rng *r, float *x, int32_t *y, int n, int d, int K, float mix)
{
    enum { L = 16 };
    float *A = malloc(sizeof(float) * L * (size_t)d), lat[L];
    for (size_t i = 0; i < (size_t)L * d; i++) A[i] = dsi_rng_normal(r);
    for (int i = 0; i < n; i++) {
        y[i] = i % K;
        for (int l = 0; l < L; l++) lat[l] = dsi_rng_normal(r) + (l == y[i] % L ? 1.5f : 0.0f);
        for (int j = 0; j < d; j++) {
            float v = 0;
            for (int l = 0; l < L; l++) v += lat[l] * A[(size_t)l * d + j];
            x[(size_t)i * d + j] = j < d / 10 ? 0.0f : mix * v + dsi_rng_normal(r);
        }
    }
    free(A);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static dsn_options *opts_of(const char *text)
{
    dsn_options *o = NULL;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    if (text) ck_assert_int_eq(dsn_options_parse(o, text), DSN_OK);
    return o;
}

/* ---- logistic regression ------------------------------------------------------ */

START_TEST(logreg_gradient_matches_finite_differences)
{
    /* odd sizes, including d = 1 */
    int shapes[][3] = {{7, 3, 2}, {13, 1, 3}, {29, 5, 4}};
    dsi_rng r;
    dsi_rng_seed(&r, 11);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int n = shapes[s][0], d = shapes[s][1], K = shapes[s][2];
        size_t P = (size_t)(d + 1) * K;
        float *z = malloc(sizeof(float) * n * d), *sc = malloc(sizeof(float) * n * K);
        float *vf = malloc(sizeof(float) * d * K), *gf = malloc(sizeof(float) * d * K);
        int *y = malloc(sizeof(int) * n);
        double *th = malloc(sizeof(double) * P), *g = malloc(sizeof(double) * P), *g2 = malloc(sizeof(double) * P);
        tu_fill(&r, z, (size_t)n * d);
        for (int i = 0; i < n; i++) y[i] = (int)dsi_rng_below(&r, (uint64_t)K);
        for (size_t i = 0; i < P; i++) th[i] = 2.0 * dsi_rng_uniform_d(&r) - 1.0;
        const double l2 = 0.3;
        dsi_logreg_objective(z, n, d, y, K, l2, th, g, sc, vf, gf);
        for (size_t i = 0; i < P; i++) {
            /* parameters are rounded to float for the gemm: step 1e-2 keeps
             * that rounding far below the difference */
            const double h = 1e-2, t0 = th[i];
            th[i] = t0 + h;
            double fp = dsi_logreg_objective(z, n, d, y, K, l2, th, g2, sc, vf, gf);
            th[i] = t0 - h;
            double fm = dsi_logreg_objective(z, n, d, y, K, l2, th, g2, sc, vf, gf);
            th[i] = t0;
            double num = (fp - fm) / (2 * h);
            ck_assert_msg(fabs(num - g[i]) <= 2e-4 + 1e-3 * fabs(num), "shape %zu param %zu: analytic %g numeric %g",
                          s, i, g[i], num);
        }
        free(z); free(sc); free(vf); free(gf); free(y); free(th); free(g); free(g2);
    }
}
END_TEST

/* mean log loss + l2/2 ||V||^2 and its gradient in double with naive loops */
static double naive_logreg(const float *z, int n, int d, const int *y, int K, double l2, const double *th, double *g)
{
    size_t dk = (size_t)d * K;
    memset(g, 0, sizeof(double) * (dk + K));
    double f = 0, *p = malloc(sizeof(double) * K);
    for (int i = 0; i < n; i++) {
        double mx = -1e300, s = 0;
        for (int k = 0; k < K; k++) {
            p[k] = th[dk + k];
            for (int j = 0; j < d; j++) p[k] += (double)z[(size_t)i * d + j] * th[(size_t)j * K + k];
            if (p[k] > mx) mx = p[k];
        }
        for (int k = 0; k < K; k++) s += exp(p[k] - mx);
        f += log(s) + mx - p[y[i]];
        for (int k = 0; k < K; k++) {
            double e = exp(p[k] - mx) / s - (k == y[i]);
            g[dk + k] += e / n;
            for (int j = 0; j < d; j++) g[(size_t)j * K + k] += e * z[(size_t)i * d + j] / n;
        }
    }
    double reg = 0;
    for (size_t i = 0; i < dk; i++) {
        g[i] += l2 * th[i];
        reg += th[i] * th[i];
    }
    free(p);
    return f / n + 0.5 * l2 * reg;
}

START_TEST(logreg_reaches_the_optimum)
{
    /* overlapping classes: the optimum is interior; check first-order
     * optimality with an independent double-precision gradient on the
     * standardised features the classifier saw */
    int n = 997, d = 7, K = 5;
    dsi_rng r;
    dsi_rng_seed(&r, 5);
    float *x = malloc(sizeof(float) * n * d), *z = malloc(sizeof(float) * n * d);
    int32_t *y = malloc(sizeof(int32_t) * n);
    int *yi = malloc(sizeof(int) * n);
    blobs(&r, x, y, n, d, K, 1.0f, 1.0f);
    for (int i = 0; i < n * d; i++) x[i] = x[i] * 3.0f + 2.0f; /* not standardised */
    dsi_clf_opts o;
    dsi_clf_opts_default(&o, DSI_CLF_LOGREG);
    o.l2 = 1e-3;
    o.tol = 1e-6;
    dsi_clf c;
    ck_assert_int_eq(dsi_clf_init(&c, &o), DSN_OK);
    ck_assert_int_eq(dsi_clf_fit(&c, x, n, d, y), DSN_OK);
    ck_assert_int_eq(c.converged, 1);
    ck_assert_int_eq(c.K, K);
    size_t dk = (size_t)d * K;
    double *th = malloc(sizeof(double) * (dk + K)), *g = malloc(sizeof(double) * (dk + K));
    for (size_t i = 0; i < dk; i++) th[i] = c.W[i];
    for (int k = 0; k < K; k++) th[dk + k] = c.b[k];
    for (int i = 0; i < n; i++) {
        yi[i] = y[i];
        for (int j = 0; j < d; j++) z[(size_t)i * d + j] = (x[(size_t)i * d + j] - c.mean[j]) * c.scale[j];
    }
    double f = naive_logreg(z, n, d, yi, K, o.l2, th, g);
    double gmax = 0;
    for (size_t i = 0; i < dk + K; i++) gmax = fmax(gmax, fabs(g[i]));
    ck_assert_msg(gmax < 2e-5, "max |gradient| at the solution %g", gmax);
    ck_assert_double_lt(fabs(f - c.objective), 1e-5);
    /* standardised features have mean 0 and std 1 */
    for (int j = 0; j < d; j++) {
        double m = 0, v = 0;
        for (int i = 0; i < n; i++) m += z[(size_t)i * d + j];
        m /= n;
        for (int i = 0; i < n; i++) v += (z[(size_t)i * d + j] - m) * (z[(size_t)i * d + j] - m);
        ck_assert_double_lt(fabs(m), 1e-5);
        ck_assert_double_lt(fabs(sqrt(v / n) - 1), 1e-4);
    }
    dsi_clf_free(&c);
    free(x); free(z); free(y); free(yi); free(th); free(g);
}
END_TEST

START_TEST(logreg_matches_a_numpy_newton_solution)
{
    /* Reference values from this script (numpy, Newton's method in double
     * to max|g| ~ 1e-17 on the same standardised float32 features):
     *   import numpy as np
     *   n, d, K, l2 = 60, 3, 3, 0.01
     *   i = np.arange(n); lab = (i * 7 + i // 5) % 3
     *   x = np.zeros((n, d), np.float32)
     *   for j in range(d):
     *       x[:, j] = (np.sin(0.37 * (i + 1) * (j + 1)) + (lab == j) * 1.0).astype(np.float32)
     *   m = x.astype(np.float64).mean(0); sd = x.astype(np.float64).std(0)
     *   z = ((x - m.astype(np.float32)) * (1.0 / sd).astype(np.float32)).astype(np.float64)
     *   # f = mean(-log softmax(z V + c)[y]) + l2/2 |V|^2; Newton steps
     *   # th -= pinv(H) g with H = sum_a kron([z_a,1][z_a,1]^T, diag(p_a) - p_a p_a^T)/n
     *   #      + l2 I on the V block, 50 iterations from 0
     * giving f = 0.5771960845, V (row-major [d][K]) and c - mean(c) below. */
    const int n = 60, d = 3, K = 3;
    const double f_ref = 0.5771960845;
    const double V_ref[9] = {1.042338, -0.550826, -0.491512, -0.547193, 1.023455, -0.476263, -0.574390, -0.613661, 1.188051};
    const double c_ref[3] = {0.371823, 0.403007, -0.774831};
    float x[180];
    int32_t y[60];
    for (int i = 0; i < n; i++) {
        y[i] = (i * 7 + i / 5) % 3;
        for (int j = 0; j < d; j++) x[i * d + j] = (float)(sin(0.37 * (i + 1) * (j + 1)) + (y[i] == j ? 1.0 : 0.0));
    }
    dsi_clf_opts o;
    dsi_clf_opts_default(&o, DSI_CLF_LOGREG);
    o.l2 = 0.01;
    o.tol = 1e-7;
    dsi_clf c;
    ck_assert_int_eq(dsi_clf_init(&c, &o), DSN_OK);
    ck_assert_int_eq(dsi_clf_fit(&c, x, n, d, y), DSN_OK);
    ck_assert_int_eq(c.K, K);
    ck_assert_msg(fabs(c.objective - f_ref) < 1e-6, "objective %.10f, numpy %.10f", c.objective, f_ref);
    for (int i = 0; i < 9; i++) ck_assert_double_eq_tol(c.W[i], V_ref[i], 2e-4);
    double cm = (c.b[0] + c.b[1] + c.b[2]) / 3.0;
    for (int k = 0; k < 3; k++) ck_assert_double_eq_tol(c.b[k] - cm, c_ref[k], 2e-4);
    dsi_clf_free(&c);
}
END_TEST

START_TEST(separable_data_is_classified_perfectly)
{
    /* arbitrary label values, 3 classes far apart; every kind gets 1.0 */
    int n = 300, d = 4, K = 3;
    const int32_t vals[3] = {-7, 42, 1000};
    dsi_rng r;
    dsi_rng_seed(&r, 2);
    float *x = malloc(sizeof(float) * n * d), *xt = malloc(sizeof(float) * n * d);
    int32_t *y = malloc(sizeof(int32_t) * n), *yt = malloc(sizeof(int32_t) * n), *p = malloc(sizeof(int32_t) * n);
    blobs(&r, x, y, n, d, K, 8.0f, 0.5f);
    blobs(&r, xt, yt, n, d, K, 8.0f, 0.5f);
    for (int i = 0; i < n; i++) {
        y[i] = vals[y[i]];
        yt[i] = vals[yt[i]];
    }
    const char *kinds[] = {"logreg", "lda", "centroid"};
    for (int k = 0; k < 3; k++) {
        dsn_classifier *c = NULL;
        ck_assert_int_eq(dsn_classifier_create(&c, kinds[k], NULL), DSN_OK);
        ck_assert_int_eq(dsn_classifier_fit(c, x, (size_t)n, (size_t)d, y), DSN_OK);
        int32_t cls[4] = {0};
        ck_assert_uint_eq(dsn_classifier_classes(c, cls, 4), 3);
        ck_assert_int_eq(cls[0], -7);
        ck_assert_int_eq(cls[2], 1000);
        ck_assert_int_eq(dsn_classifier_predict(c, p, xt, (size_t)n, (size_t)d), DSN_OK);
        double acc = 0, f1 = 0;
        ck_assert_int_eq(dsn_accuracy(&acc, yt, p, (size_t)n), DSN_OK);
        ck_assert_int_eq(dsn_macro_f1(&f1, yt, p, (size_t)n), DSN_OK);
        ck_assert_msg(acc == 1.0 && f1 == 1.0, "%s: accuracy %g, macro-F1 %g", kinds[k], acc, f1);
        int it = -1, conv = -1;
        double v = -1;
        ck_assert_int_eq(dsn_classifier_report(c, &it, &conv, &v), DSN_OK);
        ck_assert_int_eq(conv, 1);
        if (k == 0) ck_assert_int_gt(it, 0);
        dsn_classifier_free(c);
    }
    free(x); free(xt); free(y); free(yt); free(p);
}
END_TEST

START_TEST(standardised_classifiers_ignore_feature_scaling)
{
    int n = 400, d = 5, K = 4;
    dsi_rng r;
    dsi_rng_seed(&r, 9);
    float *x = malloc(sizeof(float) * n * d), *xs = malloc(sizeof(float) * n * d);
    float *s1 = malloc(sizeof(float) * n * K), *s2 = malloc(sizeof(float) * n * K);
    int32_t *y = malloc(sizeof(int32_t) * n), *p1 = malloc(sizeof(int32_t) * n), *p2 = malloc(sizeof(int32_t) * n);
    blobs(&r, x, y, n, d, K, 1.5f, 1.0f);
    const float scale[5] = {1000.0f, 1e-3f, 1.0f, 37.0f, 0.5f}, shift[5] = {500.0f, -3.0f, 0.0f, 1e4f, 2.0f};
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) xs[(size_t)i * d + j] = x[(size_t)i * d + j] * scale[j] + shift[j];
    const char *kinds[] = {"logreg", "lda"};
    for (int k = 0; k < 2; k++) {
        dsn_classifier *a = NULL, *b = NULL;
        ck_assert_int_eq(dsn_classifier_create(&a, kinds[k], NULL), DSN_OK);
        ck_assert_int_eq(dsn_classifier_create(&b, kinds[k], NULL), DSN_OK);
        ck_assert_int_eq(dsn_classifier_fit(a, x, (size_t)n, (size_t)d, y), DSN_OK);
        ck_assert_int_eq(dsn_classifier_fit(b, xs, (size_t)n, (size_t)d, y), DSN_OK);
        ck_assert_int_eq(dsn_classifier_scores(a, s1, (size_t)n * K, x, (size_t)n, (size_t)d), DSN_OK);
        ck_assert_int_eq(dsn_classifier_scores(b, s2, (size_t)n * K, xs, (size_t)n, (size_t)d), DSN_OK);
        ck_assert_int_eq(dsn_classifier_predict(a, p1, x, (size_t)n, (size_t)d), DSN_OK);
        ck_assert_int_eq(dsn_classifier_predict(b, p2, xs, (size_t)n, (size_t)d), DSN_OK);
        double err = 0;
        for (int i = 0; i < n * K; i++) err = fmax(err, fabs(s1[i] - s2[i]) / (1 + fabs(s1[i])));
        ck_assert_msg(err < 2e-3, "%s: scores differ by %g after rescaling", kinds[k], err);
        int diff = 0;
        for (int i = 0; i < n; i++) diff += p1[i] != p2[i];
        ck_assert_int_le(diff, 1); /* a near tie may flip */
        dsn_classifier_free(a);
        dsn_classifier_free(b);
    }
    free(x); free(xs); free(s1); free(s2); free(y); free(p1); free(p2);
}
END_TEST

START_TEST(logreg_60000x20_fits_quickly)
{
    /* the size of the MNIST latent evaluations: 60000 x 20, 10 classes */
    int n = 60000, d = 20, K = 10;
    dsi_rng r;
    dsi_rng_seed(&r, 1);
    float *x = malloc(sizeof(float) * n * d);
    int32_t *y = malloc(sizeof(int32_t) * n), *p = malloc(sizeof(int32_t) * n);
    blobs(&r, x, y, n, d, K, 2.0f, 1.0f);
    dsn_classifier *c = NULL;
    ck_assert_int_eq(dsn_classifier_create(&c, "logreg", NULL), DSN_OK);
    double t0 = now_s();
    ck_assert_int_eq(dsn_classifier_fit(c, x, (size_t)n, (size_t)d, y), DSN_OK);
    double t1 = now_s();
    ck_assert_int_eq(dsn_classifier_predict(c, p, x, (size_t)n, (size_t)d), DSN_OK);
    double t2 = now_s();
    int it = 0, conv = 0;
    double f = 0, acc = 0;
    ck_assert_int_eq(dsn_classifier_report(c, &it, &conv, &f), DSN_OK);
    ck_assert_int_eq(dsn_accuracy(&acc, y, p, (size_t)n), DSN_OK);
    ck_assert_int_eq(conv, 1);
    ck_assert_double_gt(acc, 0.6);
    printf("logreg 60000x20, 10 classes: fit %.3f s (%d L-BFGS iterations, loss %.6f), predict %.3f s, "
           "train accuracy %.4f\n",
           t1 - t0, it, f, t2 - t1, acc);
    /* correlated features (rank-16 mixture plus noise): a harder conditioning */
    correlated(&r, x, y, n, d, K, 3.0f);
    t0 = now_s();
    ck_assert_int_eq(dsn_classifier_fit(c, x, (size_t)n, (size_t)d, y), DSN_OK);
    t1 = now_s();
    ck_assert_int_eq(dsn_classifier_report(c, &it, &conv, &f), DSN_OK);
    ck_assert_int_eq(conv, 1);
    printf("logreg 60000x20 correlated features, 10 classes: fit %.3f s (%d L-BFGS iterations)\n", t1 - t0, it);
    dsn_classifier *l = NULL;
    ck_assert_int_eq(dsn_classifier_create(&l, "lda", NULL), DSN_OK);
    t0 = now_s();
    ck_assert_int_eq(dsn_classifier_fit(l, x, (size_t)n, (size_t)d, y), DSN_OK);
    t1 = now_s();
    printf("lda 60000x20, 10 classes: fit %.3f s\n", t1 - t0);
    ck_assert_double_lt(t1 - t0 + 0.0 * t2, 30.0);
    dsn_classifier_free(c);
    dsn_classifier_free(l);
    free(x); free(y); free(p);
    /* optional: a pixel-sized problem (DSN_EVAL_BENCH=1; tens of seconds) */
    const char *bench = getenv("DSN_EVAL_BENCH");
    if (bench && bench[0] == '1') {
        n = 60000;
        d = 784;
        x = malloc(sizeof(float) * (size_t)n * d);
        y = malloc(sizeof(int32_t) * n);
        correlated(&r, x, y, n, d, K, 1.0f);
        ck_assert_int_eq(dsn_classifier_create(&c, "logreg", NULL), DSN_OK);
        t0 = now_s();
        ck_assert_int_eq(dsn_classifier_fit(c, x, (size_t)n, (size_t)d, y), DSN_OK);
        t1 = now_s();
        ck_assert_int_eq(dsn_classifier_report(c, &it, &conv, &f), DSN_OK);
        printf("logreg 60000x784 (pixel-sized), 10 classes: fit %.1f s (%d L-BFGS iterations)\n", t1 - t0, it);
        ck_assert_int_eq(dsn_classifier_create(&l, "lda", NULL), DSN_OK);
        t0 = now_s();
        ck_assert_int_eq(dsn_classifier_fit(l, x, (size_t)n, (size_t)d, y), DSN_OK);
        t1 = now_s();
        printf("lda 60000x784 (pixel-sized), 10 classes: fit %.1f s\n", t1 - t0);
        dsn_classifier_free(c);
        dsn_classifier_free(l);
        free(x);
        free(y);
    }
}
END_TEST

/* ---- LDA ----------------------------------------------------------------------- */

START_TEST(lda_matches_the_closed_form_on_two_gaussians)
{
    /* two classes with a shared, correlated covariance and unequal counts:
     * score_1 - score_0 = x . w + c with w = S^-1 (m1 - m0),
     * c = -(m1' S^-1 m1 - m0' S^-1 m0) / 2 + ln(n1 / n0), S the pooled
     * covariance (divisor n - 2), all computed here in double */
    int n0 = 150, n1 = 250, n = n0 + n1, d = 3;
    dsi_rng r;
    dsi_rng_seed(&r, 21);
    const double A[3][3] = {{1.0, 0, 0}, {0.8, 0.6, 0}, {-0.3, 0.5, 0.4}};
    float *x = malloc(sizeof(float) * n * d);
    int32_t *y = malloc(sizeof(int32_t) * n);
    for (int i = 0; i < n; i++) {
        y[i] = i < n0 ? 0 : 1;
        double e[3] = {dsi_rng_normal(&r), dsi_rng_normal(&r), dsi_rng_normal(&r)};
        for (int j = 0; j < d; j++) {
            double v = y[i] ? (j == 0 ? 1.0 : -0.5) : 2.0;
            for (int k = 0; k < d; k++) v += A[j][k] * e[k];
            x[(size_t)i * d + j] = (float)v;
        }
    }
    double m[2][3] = {{0}}, S[9] = {0};
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) m[y[i]][j] += x[(size_t)i * d + j] / (y[i] ? n1 : n0);
    for (int i = 0; i < n; i++)
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
                S[a * 3 + b] += (x[(size_t)i * d + a] - m[y[i]][a]) * (x[(size_t)i * d + b] - m[y[i]][b]) / (n - 2);
    double L[9], w[3], q0[3], q1[3];
    memcpy(L, S, sizeof L);
    ck_assert_int_eq(dsi_chol_factor(L, 3), 0);
    for (int j = 0; j < d; j++) {
        q0[j] = m[0][j];
        q1[j] = m[1][j];
    }
    dsi_chol_solve(L, 3, q0);
    dsi_chol_solve(L, 3, q1);
    /* the solve really inverts S */
    for (int a = 0; a < d; a++) {
        double v = 0;
        for (int b = 0; b < d; b++) v += S[a * 3 + b] * q0[b];
        ck_assert_double_lt(fabs(v - m[0][a]), 1e-9);
    }
    double cst = 0;
    for (int j = 0; j < d; j++) {
        w[j] = q1[j] - q0[j];
        cst += -0.5 * (m[1][j] * q1[j] - m[0][j] * q0[j]);
    }
    cst += log((double)n1 / n0);
    for (int st = 0; st < 2; st++) {
        dsn_options *o = opts_of(st ? "standardize = 0" : NULL);
        dsn_classifier *c = NULL;
        ck_assert_int_eq(dsn_classifier_create(&c, "lda", o), DSN_OK);
        ck_assert_int_eq(dsn_classifier_fit(c, x, (size_t)n, (size_t)d, y), DSN_OK);
        float pts[4][3] = {{0, 0, 0}, {1, -1, 2}, {3.5f, 0.25f, -1}, {-2, 4, 0.5f}}, sc[8];
        ck_assert_int_eq(dsn_classifier_scores(c, sc, 8, &pts[0][0], 4, 3), DSN_OK);
        for (int p = 0; p < 4; p++) {
            double want = cst;
            for (int j = 0; j < d; j++) want += w[j] * pts[p][j];
            double got = (double)sc[2 * p + 1] - sc[2 * p];
            ck_assert_msg(fabs(got - want) <= 1e-3 * (1 + fabs(want)), "standardize %d point %d: %g vs %g", !st, p,
                          got, want);
        }
        dsn_classifier_free(c);
        dsn_options_free(o);
    }
    free(x);
    free(y);
}
END_TEST

START_TEST(lda_shrinkage)
{
    /* full shrinkage turns LDA into nearest centroid on standardised features
     * (equal class sizes: equal priors) */
    int n = 240, d = 6, K = 4;
    dsi_rng r;
    dsi_rng_seed(&r, 8);
    float *x = malloc(sizeof(float) * n * d), *s1 = malloc(sizeof(float) * n * K), *s2 = malloc(sizeof(float) * n * K);
    int32_t *y = malloc(sizeof(int32_t) * n), *p1 = malloc(sizeof(int32_t) * n), *p2 = malloc(sizeof(int32_t) * n);
    blobs(&r, x, y, n, d, K, 1.0f, 1.0f);
    dsn_options *o1 = opts_of("shrinkage = 1"), *o2 = opts_of("standardize = 1");
    dsn_classifier *a = NULL, *b = NULL;
    ck_assert_int_eq(dsn_classifier_create(&a, "lda", o1), DSN_OK);
    ck_assert_int_eq(dsn_classifier_create(&b, "centroid", o2), DSN_OK);
    ck_assert_int_eq(dsn_classifier_fit(a, x, (size_t)n, (size_t)d, y), DSN_OK);
    ck_assert_int_eq(dsn_classifier_fit(b, x, (size_t)n, (size_t)d, y), DSN_OK);
    ck_assert_int_eq(dsn_classifier_predict(a, p1, x, (size_t)n, (size_t)d), DSN_OK);
    ck_assert_int_eq(dsn_classifier_predict(b, p2, x, (size_t)n, (size_t)d), DSN_OK);
    for (int i = 0; i < n; i++) ck_assert_int_eq(p1[i], p2[i]);
    double v = -1;
    ck_assert_int_eq(dsn_classifier_report(a, NULL, NULL, &v), DSN_OK);
    ck_assert_double_eq(v, 1.0);
    dsn_classifier_free(a);
    /* Ledoit-Wolf: more features than samples still fits, with 0 < a <= 1 */
    dsn_options *o3 = opts_of("shrinkage = auto");
    ck_assert_int_eq(dsn_classifier_create(&a, "lda", o3), DSN_OK);
    int nn = 12, dd = 30;
    float *xw = malloc(sizeof(float) * nn * dd);
    int32_t yw[12];
    blobs(&r, xw, yw, nn, dd, 2, 3.0f, 1.0f);
    ck_assert_int_eq(dsn_classifier_fit(a, xw, (size_t)nn, (size_t)dd, yw), DSN_OK);
    ck_assert_int_eq(dsn_classifier_report(a, NULL, NULL, &v), DSN_OK);
    ck_assert_msg(v > 0 && v <= 1, "Ledoit-Wolf shrinkage %g", v);
    int32_t pw[12];
    ck_assert_int_eq(dsn_classifier_predict(a, pw, xw, (size_t)nn, (size_t)dd), DSN_OK);
    double acc = 0;
    ck_assert_int_eq(dsn_accuracy(&acc, yw, pw, 12), DSN_OK);
    ck_assert_double_eq(acc, 1.0);
    /* a singular covariance without shrinkage (a constant feature, d > n) is
     * handled by the ridge fallback */
    dsn_classifier *z = NULL;
    ck_assert_int_eq(dsn_classifier_create(&z, "lda", NULL), DSN_OK);
    for (int i = 0; i < nn; i++) xw[(size_t)i * dd + 3] = 5.0f;
    ck_assert_int_eq(dsn_classifier_fit(z, xw, (size_t)nn, (size_t)dd, yw), DSN_OK);
    dsn_classifier_free(z);
    dsn_classifier_free(a);
    dsn_classifier_free(b);
    dsn_options_free(o1);
    dsn_options_free(o2);
    dsn_options_free(o3);
    free(x); free(s1); free(s2); free(y); free(p1); free(p2); free(xw);
}
END_TEST

START_TEST(centroid_is_the_nearest_mean)
{
    /* odd sizes; compare with a brute-force nearest-mean search */
    int n = 37, d = 5, K = 3, nt = 101;
    dsi_rng r;
    dsi_rng_seed(&r, 4);
    float *x = malloc(sizeof(float) * n * d), *xt = malloc(sizeof(float) * nt * d);
    int32_t *y = malloc(sizeof(int32_t) * n), *p = malloc(sizeof(int32_t) * nt);
    tu_fill(&r, x, (size_t)n * d);
    tu_fill(&r, xt, (size_t)nt * d);
    for (int i = 0; i < n; i++) y[i] = 10 * (int32_t)(i % K);
    double mu[3][5] = {{0}};
    int cnt[3] = {0};
    for (int i = 0; i < n; i++) {
        cnt[i % K]++;
        for (int j = 0; j < d; j++) mu[i % K][j] += x[(size_t)i * d + j];
    }
    for (int k = 0; k < K; k++)
        for (int j = 0; j < d; j++) mu[k][j] /= cnt[k];
    dsn_classifier *c = NULL;
    ck_assert_int_eq(dsn_classifier_create(&c, "centroid", NULL), DSN_OK);
    ck_assert_int_eq(dsn_classifier_fit(c, x, (size_t)n, (size_t)d, y), DSN_OK);
    ck_assert_int_eq(dsn_classifier_predict(c, p, xt, (size_t)nt, (size_t)d), DSN_OK);
    for (int i = 0; i < nt; i++) {
        int best = 0;
        double bd = 1e300, second = 1e300;
        for (int k = 0; k < K; k++) {
            double dist = 0;
            for (int j = 0; j < d; j++) dist += pow(xt[(size_t)i * d + j] - mu[k][j], 2);
            if (dist < bd) {
                second = bd;
                bd = dist;
                best = k;
            } else if (dist < second) {
                second = dist;
            }
        }
        if (second - bd > 1e-5) ck_assert_int_eq(p[i], 10 * best);
    }
    dsn_classifier_free(c);
    free(x); free(xt); free(y); free(p);
}
END_TEST

START_TEST(predict_matches_scores_in_blocks)
{
    /* more rows than one prediction block, and size 1 */
    int n = 2500, d = 3, K = 7;
    dsi_rng r;
    dsi_rng_seed(&r, 13);
    float *x = malloc(sizeof(float) * n * d), *s = malloc(sizeof(float) * n * K);
    int32_t *y = malloc(sizeof(int32_t) * n), *p = malloc(sizeof(int32_t) * n);
    blobs(&r, x, y, n, d, K, 2.0f, 1.0f);
    dsn_classifier *c = NULL;
    ck_assert_int_eq(dsn_classifier_create(&c, "logreg", NULL), DSN_OK);
    ck_assert_int_eq(dsn_classifier_fit(c, x, (size_t)n, (size_t)d, y), DSN_OK);
    ck_assert_int_eq(dsn_classifier_scores(c, s, (size_t)n * K, x, (size_t)n, (size_t)d), DSN_OK);
    ck_assert_int_eq(dsn_classifier_predict(c, p, x, (size_t)n, (size_t)d), DSN_OK);
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int k = 1; k < K; k++)
            if (s[(size_t)i * K + k] > s[(size_t)i * K + best]) best = k;
        ck_assert_int_eq(p[i], best);
    }
    int32_t one = -1;
    ck_assert_int_eq(dsn_classifier_predict(c, &one, x + 3 * (size_t)d, 1, (size_t)d), DSN_OK);
    ck_assert_int_eq(one, p[3]);
    ck_assert_int_eq(dsn_classifier_predict(c, &one, x, 0, (size_t)d), DSN_OK);
    /* deterministic: a second fit gives identical scores */
    float *s2 = malloc(sizeof(float) * n * K);
    ck_assert_int_eq(dsn_classifier_fit(c, x, (size_t)n, (size_t)d, y), DSN_OK);
    ck_assert_int_eq(dsn_classifier_scores(c, s2, (size_t)n * K, x, (size_t)n, (size_t)d), DSN_OK);
    ck_assert_int_eq(memcmp(s, s2, sizeof(float) * n * K), 0);
    dsn_classifier_free(c);
    free(x); free(s); free(s2); free(y); free(p);
}
END_TEST

START_TEST(classifier_errors)
{
    dsn_classifier *c = NULL;
    float x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    int32_t y[4] = {0, 1, 0, 1}, one[4] = {3, 3, 3, 3}, p[4];
    ck_assert_int_eq(dsn_classifier_create(NULL, "lda", NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_classifier_create(&c, NULL, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_classifier_create(&c, "svm", NULL), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "svm"));
    ck_assert_ptr_null(c);
    /* a key of another kind, an unknown key, bad values */
    const char *bad[][2] = {{"logreg", "shrinkage = 0.5"}, {"lda", "l2 = 1"},     {"centroid", "max_iter = 3"},
                            {"logreg", "l2 = -1"},         {"logreg", "tol = 0"}, {"lda", "shrinkage = 2"},
                            {"lda", "shrinkage = fast"},   {"logreg", "colour = red"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        dsn_options *o = opts_of(bad[i][1]);
        ck_assert_int_eq(dsn_classifier_create(&c, bad[i][0], o), DSN_E_OPTION);
        ck_assert_ptr_null(c);
        dsn_options_free(o);
    }
    ck_assert_int_eq(dsn_classifier_create(&c, "logreg", NULL), DSN_OK);
    /* before a fit */
    ck_assert_int_eq(dsn_classifier_predict(c, p, x, 4, 2), DSN_E_STATE);
    ck_assert_int_eq(dsn_classifier_report(c, NULL, NULL, NULL), DSN_E_STATE);
    ck_assert_uint_eq(dsn_classifier_classes(c, NULL, 0), 0);
    /* bad fits */
    ck_assert_int_eq(dsn_classifier_fit(NULL, x, 4, 2, y), DSN_E_INVALID);
    ck_assert_int_eq(dsn_classifier_fit(c, NULL, 4, 2, y), DSN_E_INVALID);
    ck_assert_int_eq(dsn_classifier_fit(c, x, 4, 2, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_classifier_fit(c, x, 0, 2, y), DSN_E_SHAPE);
    ck_assert_int_eq(dsn_classifier_fit(c, x, 4, 0, y), DSN_E_SHAPE);
    ck_assert_int_eq(dsn_classifier_fit(c, x, (size_t)1 << 40, 2, y), DSN_E_SHAPE);
    ck_assert_int_eq(dsn_classifier_fit(c, x, 4, 2, one), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "dsn_classifier_fit"));
    x[5] = NAN;
    ck_assert_int_eq(dsn_classifier_fit(c, x, 4, 2, y), DSN_E_NUMERIC);
    x[5] = INFINITY;
    ck_assert_int_eq(dsn_classifier_fit(c, x, 4, 2, y), DSN_E_NUMERIC);
    x[5] = 5;
    ck_assert_int_eq(dsn_classifier_fit(c, x, 4, 2, y), DSN_OK);
    /* bad predictions */
    ck_assert_int_eq(dsn_classifier_predict(c, p, x, 2, 4), DSN_E_SHAPE);
    ck_assert_int_eq(dsn_classifier_predict(c, NULL, x, 4, 2), DSN_E_INVALID);
    ck_assert_int_eq(dsn_classifier_predict(c, p, NULL, 4, 2), DSN_E_INVALID);
    ck_assert_int_eq(dsn_classifier_predict(NULL, p, x, 4, 2), DSN_E_INVALID);
    float s[8];
    ck_assert_int_eq(dsn_classifier_scores(c, s, 7, x, 4, 2), DSN_E_SHAPE);
    ck_assert_int_eq(dsn_classifier_scores(c, s, 8, x, 4, 2), DSN_OK);
    x[0] = NAN;
    ck_assert_int_eq(dsn_classifier_predict(c, p, x, 4, 2), DSN_E_NUMERIC);
    /* a failed refit leaves it unfitted */
    ck_assert_int_eq(dsn_classifier_fit(c, x, 4, 2, y), DSN_E_NUMERIC);
    ck_assert_int_eq(dsn_classifier_predict(c, p, x + 2, 3, 2), DSN_E_STATE);
    dsn_classifier_free(c);
    dsn_classifier_free(NULL);
}
END_TEST

/* ---- metrics ------------------------------------------------------------------- */

START_TEST(metrics_on_a_known_confusion_matrix)
{
    /* truth 0 0 0 1 1 2, pred 0 0 1 1 2 2:
     *   class 0: TP 2 FP 0 FN 1 -> F1 4/5
     *   class 1: TP 1 FP 1 FN 1 -> F1 2/4
     *   class 2: TP 1 FP 1 FN 0 -> F1 2/3
     * macro-F1 = (0.8 + 0.5 + 2/3) / 3, accuracy 4/6 (sklearn agrees:
     * f1_score([0,0,0,1,1,2],[0,0,1,1,2,2],average="macro") = 0.6555...) */
    const int32_t t[6] = {0, 0, 0, 1, 1, 2}, p[6] = {0, 0, 1, 1, 2, 2};
    double acc = 0, f1 = 0;
    ck_assert_int_eq(dsn_accuracy(&acc, t, p, 6), DSN_OK);
    ck_assert_double_eq_tol(acc, 4.0 / 6.0, 1e-15);
    ck_assert_int_eq(dsn_macro_f1(&f1, t, p, 6), DSN_OK);
    const double want = (0.8 + 0.5 + 2.0 / 3.0) / 3.0;
    ck_assert_double_eq_tol(f1, want, 1e-15);
    uint64_t cm[9];
    ck_assert_int_eq(dsn_confusion_matrix(cm, 9, t, p, 6, 3), DSN_OK);
    const uint64_t wcm[9] = {2, 1, 0, 0, 1, 1, 0, 0, 1};
    for (int i = 0; i < 9; i++) ck_assert_uint_eq(cm[i], wcm[i]);
    double per[3];
    ck_assert_double_eq_tol(dsi_f1_from_confusion(cm, 3, per), want, 1e-15);
    ck_assert_double_eq_tol(per[0], 0.8, 1e-15);
    /* relabelled with arbitrary values: same scores */
    const int32_t map[3] = {-5, 100, 7};
    int32_t t2[6], p2[6];
    for (int i = 0; i < 6; i++) {
        t2[i] = map[t[i]];
        p2[i] = map[p[i]];
    }
    ck_assert_int_eq(dsn_macro_f1(&f1, t2, p2, 6), DSN_OK);
    ck_assert_double_eq_tol(f1, want, 1e-15);
    /* a predicted label absent from the truth counts as a class with F1 0:
     * truth 0 0 1 1, pred 0 0 1 9 -> F1 {1, 2/3, 0} -> 5/9 */
    const int32_t t3[4] = {0, 0, 1, 1}, p3[4] = {0, 0, 1, 9};
    ck_assert_int_eq(dsn_macro_f1(&f1, t3, p3, 4), DSN_OK);
    ck_assert_double_eq_tol(f1, 5.0 / 9.0, 1e-15);
    /* a classifier that always answers one class of two balanced ones */
    const int32_t t4[4] = {0, 0, 1, 1}, p4[4] = {0, 0, 0, 0};
    ck_assert_int_eq(dsn_macro_f1(&f1, t4, p4, 4), DSN_OK);
    ck_assert_double_eq_tol(f1, (2.0 / 3.0 + 0.0) / 2.0, 1e-15);
    /* empty input */
    ck_assert_int_eq(dsn_accuracy(&acc, NULL, NULL, 0), DSN_OK);
    ck_assert_double_eq(acc, 0.0);
    ck_assert_int_eq(dsn_macro_f1(&f1, NULL, NULL, 0), DSN_OK);
    /* errors */
    ck_assert_int_eq(dsn_accuracy(NULL, t, p, 6), DSN_E_INVALID);
    ck_assert_int_eq(dsn_accuracy(&acc, NULL, p, 6), DSN_E_INVALID);
    ck_assert_int_eq(dsn_macro_f1(&f1, t, NULL, 6), DSN_E_INVALID);
    ck_assert_int_eq(dsn_confusion_matrix(cm, 8, t, p, 6, 3), DSN_E_SHAPE);
    ck_assert_int_eq(dsn_confusion_matrix(cm, 9, t, p, 6, 0), DSN_E_INVALID);
    ck_assert_int_eq(dsn_confusion_matrix(cm, 9, t2, p2, 6, 3), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "dsn_confusion_matrix"));
    ck_assert_int_eq(dsn_confusion_matrix(NULL, 9, t, p, 6, 3), DSN_E_INVALID);
}
END_TEST

/* ---- pitch --------------------------------------------------------------------- */

START_TEST(raw_pitch_accuracy_on_synthetic_tracks)
{
    /* 10 frames: reference MIDI 60 on 0-7, rest on 8-9 */
    float ref[10], hz[10], est[10];
    for (int t = 0; t < 10; t++) {
        ref[t] = t < 8 ? 60.0f : 0.0f;
        hz[t] = t < 8 ? (float)(440.0 * pow(2.0, (60 - 69) / 12.0)) : 0.0f;
    }
    const double f = hz[0];
    est[0] = (float)f;                              /* exact: hit */
    est[1] = (float)(f * pow(2.0, 49.0 / 1200));    /* +49 cents: hit */
    est[2] = (float)(f * pow(2.0, -49.0 / 1200));   /* -49 cents: hit */
    est[3] = (float)(f * pow(2.0, 51.0 / 1200));    /* +51 cents: miss */
    est[4] = (float)(2 * f);                        /* octave up: chroma hit */
    est[5] = (float)(0.5 * f * pow(2.0, 30.0 / 1200)); /* octave down + 30 c: chroma hit */
    est[6] = 0.0f;                                  /* unvoiced estimate: miss */
    est[7] = (float)(f * pow(2.0, 700.0 / 1200));   /* a fifth: miss */
    est[8] = 300.0f;                                /* reference rest: ignored */
    est[9] = 0.0f;
    double a = -1, c = -1;
    size_t nv = 0;
    ck_assert_int_eq(dsn_raw_pitch_accuracy(&a, &c, &nv, est, ref, 10, DSN_PITCH_MIDI, 50.0), DSN_OK);
    ck_assert_uint_eq(nv, 8);
    ck_assert_double_eq_tol(a, 3.0 / 8.0, 1e-12);
    ck_assert_double_eq_tol(c, 5.0 / 8.0, 1e-12);
    double a2 = -1, c2 = -1;
    ck_assert_int_eq(dsn_raw_pitch_accuracy(&a2, &c2, NULL, est, hz, 10, DSN_PITCH_HZ, 50.0), DSN_OK);
    ck_assert_double_eq(a, a2);
    ck_assert_double_eq(c, c2);
    /* a wider tolerance takes the 51-cent frame too */
    ck_assert_int_eq(dsn_raw_pitch_accuracy(&a, NULL, NULL, est, ref, 10, DSN_PITCH_MIDI, 60.0), DSN_OK);
    ck_assert_double_eq_tol(a, 4.0 / 8.0, 1e-12);
    /* long MIDI tracks (more than one conversion block) agree with Hz */
    enum { L = 1000 };
    float *rm = malloc(sizeof(float) * L), *rh = malloc(sizeof(float) * L), *e = malloc(sizeof(float) * L);
    dsi_rng r;
    dsi_rng_seed(&r, 3);
    for (int t = 0; t < L; t++) {
        rm[t] = (t % 7 == 0) ? 0.0f : (float)(48 + (t % 24));
        rh[t] = rm[t] > 0 ? (float)(440.0 * pow(2.0, (rm[t] - 69) / 12.0)) : 0.0f;
        e[t] = rh[t] * (float)pow(2.0, (dsi_rng_uniform(&r) * 200 - 100) / 1200.0);
    }
    ck_assert_int_eq(dsn_raw_pitch_accuracy(&a, &c, &nv, e, rm, L, DSN_PITCH_MIDI, 50.0), DSN_OK);
    ck_assert_int_eq(dsn_raw_pitch_accuracy(&a2, &c2, NULL, e, rh, L, DSN_PITCH_HZ, 50.0), DSN_OK);
    ck_assert_double_eq_tol(a, a2, 1e-12);
    ck_assert(a > 0.4 && a < 0.6);
    free(rm); free(rh); free(e);
    /* no voiced frame: 0 and n_voiced 0 */
    float zero[3] = {0, 0, 0};
    ck_assert_int_eq(dsn_raw_pitch_accuracy(&a, &c, &nv, est, zero, 3, DSN_PITCH_HZ, 50.0), DSN_OK);
    ck_assert_uint_eq(nv, 0);
    ck_assert_double_eq(a, 0.0);
    /* errors */
    ck_assert_int_eq(dsn_raw_pitch_accuracy(NULL, NULL, NULL, est, ref, 10, DSN_PITCH_MIDI, 50), DSN_E_INVALID);
    ck_assert_int_eq(dsn_raw_pitch_accuracy(&a, NULL, NULL, NULL, ref, 10, DSN_PITCH_MIDI, 50), DSN_E_INVALID);
    ck_assert_int_eq(dsn_raw_pitch_accuracy(&a, NULL, NULL, est, ref, 10, (dsn_pitch_unit)7, 50), DSN_E_INVALID);
    ck_assert_int_eq(dsn_raw_pitch_accuracy(&a, NULL, NULL, est, ref, 10, DSN_PITCH_MIDI, 0), DSN_E_INVALID);
    ck_assert_int_eq(dsn_raw_pitch_accuracy(&a, NULL, NULL, est, ref, 10, DSN_PITCH_MIDI, NAN), DSN_E_INVALID);
    est[2] = NAN;
    ck_assert_int_eq(dsn_raw_pitch_accuracy(&a, NULL, NULL, est, ref, 10, DSN_PITCH_MIDI, 50), DSN_E_NUMERIC);
}
END_TEST

/* a melody of n_notes notes of `len` samples (exponential-decay-free
 * harmonic tone), MIDI notes into notes[] */
static float *melody(int sr, int n_notes, int len, const int *notes)
{
    float *x = malloc(sizeof(float) * (size_t)n_notes * len);
    for (int k = 0; k < n_notes; k++) {
        double f = 440.0 * pow(2.0, (notes[k] - 69) / 12.0);
        for (int i = 0; i < len; i++) {
            double t = (double)i / sr, v = 0;
            for (int h = 1; h <= 4; h++) v += sin(2 * PI * f * h * t) / h;
            x[(size_t)k * len + i] = (float)(0.3 * v);
        }
    }
    return x;
}

/* reference note track on YIN frames (frame t centred on sample t*hop) */
static void note_track(float *ref, int T, int hop, int len, int n_notes, const int *notes)
{
    for (int t = 0; t < T; t++) {
        long s = (long)t * hop;
        int k = (int)(s / len);
        ref[t] = k < n_notes ? (float)notes[k] : 0.0f;
    }
}

START_TEST(pitch_track_of_a_melody)
{
    const int sr = 16000, len = 4000, nn = 6, notes[6] = {60, 64, 67, 72, 71, 62};
    float *x = melody(sr, nn, len, notes);
    size_t n = (size_t)nn * len, T = 0;
    ck_assert_int_eq(dsn_pitch_track(NULL, 0, &T, x, n, sr, NULL), DSN_OK);
    ck_assert_uint_eq(T, 1 + n / 256);
    float *f0 = malloc(sizeof(float) * T), *ref = malloc(sizeof(float) * T);
    ck_assert_int_eq(dsn_pitch_track(f0, T - 1, &T, x, n, sr, NULL), DSN_E_SHAPE);
    ck_assert_int_eq(dsn_pitch_track(f0, T, &T, x, n, sr, NULL), DSN_OK);
    note_track(ref, (int)T, 256, len, nn, notes);
    double a = 0, c = 0;
    ck_assert_int_eq(dsn_raw_pitch_accuracy(&a, &c, NULL, f0, ref, T, DSN_PITCH_MIDI, 50.0), DSN_OK);
    /* only frames straddling note changes may miss */
    ck_assert_msg(a >= 0.9, "raw pitch accuracy %g", a);
    /* options: a hop of 160 gives 1 + n / 160 frames */
    dsn_options *o = opts_of("hop = 160, window = 800, fmin = 100, fmax = 1500");
    size_t T2 = 0;
    ck_assert_int_eq(dsn_pitch_track(NULL, 0, &T2, x, n, sr, o), DSN_OK);
    ck_assert_uint_eq(T2, 1 + n / 160);
    dsn_options_free(o);
    /* errors */
    o = opts_of("hop_size = 3");
    ck_assert_int_eq(dsn_pitch_track(NULL, 0, &T2, x, n, sr, o), DSN_E_OPTION);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "hop_size"));
    dsn_options_free(o);
    o = opts_of("fmax = 9000");
    ck_assert_int_eq(dsn_pitch_track(NULL, 0, &T2, x, n, sr, o), DSN_E_OPTION);
    dsn_options_free(o);
    ck_assert_int_eq(dsn_pitch_track(f0, T, NULL, x, n, sr, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_pitch_track(f0, T, &T, NULL, n, sr, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_pitch_track(f0, T, &T, x, n, 0, NULL), DSN_E_INVALID);
    x[100] = NAN;
    ck_assert_int_eq(dsn_pitch_track(f0, T, &T, x, n, sr, NULL), DSN_E_NUMERIC);
    free(x); free(f0); free(ref);
}
END_TEST

/* ---- audio for hosts ------------------------------------------------------------- */

START_TEST(audio_write_read_round_trip)
{
    const int sr = 22050;
    size_t n = 5000;
    float *x = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) x[i] = (float)(0.5 * sin(2 * PI * 440.0 * (double)i / sr));
    dsn_options *o = opts_of("format = wav_float");
    const char *p = tu_tmp_path("rt.wav");
    ck_assert_int_eq(dsn_audio_write(p, x, n, sr, o), DSN_OK);
    float *y = NULL;
    size_t ny = 0;
    int rate = 0;
    ck_assert_int_eq(dsn_audio_read(&y, &ny, &rate, p, 0), DSN_OK);
    ck_assert_int_eq(rate, sr);
    ck_assert_uint_eq(ny, n);
    ck_assert_int_eq(memcmp(x, y, sizeof(float) * n), 0);
    dsn_audio_free(y);
    /* 16-bit default, resampled on reading */
    ck_assert_int_eq(dsn_audio_write(tu_tmp_path("rt16.wav"), x, n, sr, NULL), DSN_OK);
    ck_assert_int_eq(dsn_audio_read(&y, &ny, NULL, tu_tmp_path("rt16.wav"), 16000), DSN_OK);
    ck_assert_uint_eq(ny, (size_t)floor(n * 16000.0 / sr + 0.5));
    dsn_audio_free(y);
    dsn_audio_free(NULL);
    /* errors */
    y = NULL;
    ck_assert_int_eq(dsn_audio_read(&y, &ny, NULL, tu_tmp_path("missing.wav"), 0), DSN_E_IO);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "dsn_audio_read"));
    ck_assert_ptr_null(y);
    FILE *f = fopen(tu_tmp_path("junk.wav"), "wb");
    fputs("RIFF junk that is not audio at all", f);
    fclose(f);
    ck_assert_int_eq(dsn_audio_read(&y, &ny, NULL, tu_tmp_path("junk.wav"), 0), DSN_E_FORMAT);
    ck_assert_int_eq(dsn_audio_read(NULL, &ny, NULL, p, 0), DSN_E_INVALID);
    ck_assert_int_eq(dsn_audio_read(&y, NULL, NULL, p, 0), DSN_E_INVALID);
    ck_assert_int_eq(dsn_audio_read(&y, &ny, NULL, NULL, 0), DSN_E_INVALID);
    ck_assert_int_eq(dsn_audio_read(&y, &ny, NULL, p, -5), DSN_E_INVALID);
    dsn_options *bad = opts_of("format = mp3");
    ck_assert_int_eq(dsn_audio_write(p, x, n, sr, bad), DSN_E_OPTION);
    dsn_options_free(bad);
    bad = opts_of("bits = 16");
    ck_assert_int_eq(dsn_audio_write(p, x, n, sr, bad), DSN_E_OPTION);
    dsn_options_free(bad);
    ck_assert_int_eq(dsn_audio_write(p, x, n, 0, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_audio_write(NULL, x, n, sr, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_audio_write(p, NULL, n, sr, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_audio_write(tu_tmp_path("no/such/dir.wav"), x, n, sr, NULL), DSN_E_IO);
    x[7] = NAN;
    ck_assert_int_eq(dsn_audio_write(tu_tmp_path("nan.wav"), x, n, sr, NULL), DSN_E_NUMERIC);
    struct stat sb;
    ck_assert_int_ne(stat(tu_tmp_path("nan.wav"), &sb), 0);
    dsn_options_free(o);
    free(x);
}
END_TEST

START_TEST(features_equal_the_dataset_features)
{
    /* a clip written at 22.05 kHz: the dataset reads and resamples it; the host
     * reads it at its own rate and lets dsn_audio_features resample. Both must
     * give the same frames, for the default and for non-default settings. */
    const int sr = 22050;
    const int notes[3] = {57, 64, 69};
    float *x = melody(sr, 3, 9000, notes);
    size_t n = 27000;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/featdir", tu_tmpdir());
    mkdir(dir, 0700);
    char path[600];
    snprintf(path, sizeof path, "%s/clip.wav", dir);
    dsn_options *wf = opts_of("format = wav_float");
    ck_assert_int_eq(dsn_audio_write(path, x, n, sr, wf), DSN_OK);
    dsn_options_free(wf);
    const char *settings[] = {"frames = 0", "frames = 0, n_mels = 40, n_fft = 1024, hop_length = 160, fmin = 30, "
                                            "fmax = 7000, sample_rate = 16000, threads = 1"};
    for (int s = 0; s < 2; s++) {
        dsn_options *o = opts_of(settings[s]);
        dsn_dataset *ds = NULL;
        ck_assert_int_eq(dsn_dataset_from_audio(&ds, dir, o), DSN_OK);
        ck_assert_uint_eq(host_ds(ds).size, 1);
        size_t dims[3] = {0};
        ck_assert_int_eq(host_ds_shape(ds, dims, 3), 2);
        float *want = malloc(sizeof(float) * dims[0] * dims[1]);
        ck_assert_int_eq(dsn_dataset_get(ds, want, dims[0] * dims[1], NULL, 0), DSN_OK);
        float *y = NULL;
        size_t ny = 0, T = 0, M = 0;
        int rate = 0;
        ck_assert_int_eq(dsn_audio_read(&y, &ny, &rate, path, 0), DSN_OK);
        ck_assert_int_eq(rate, sr);
        ck_assert_int_eq(dsn_audio_features(NULL, 0, &T, &M, y, ny, rate, o), DSN_OK);
        ck_assert_uint_eq(T, dims[0]);
        ck_assert_uint_eq(M, dims[1]);
        float *got = malloc(sizeof(float) * T * M);
        ck_assert_int_eq(dsn_audio_features(got, T * M - 1, &T, &M, y, ny, rate, o), DSN_E_SHAPE);
        ck_assert_int_eq(dsn_audio_features(got, T * M, &T, &M, y, ny, rate, o), DSN_OK);
        /* the same frames up to float rounding: the mel projection is a gemm that the
         * library's pool may split differently on the two paths, and some BLAS kernels
         * (OpenBLAS Haswell) round a split product differently in the last bit */
        double worst = 0;
        for (size_t i = 0; i < T * M; i++) {
            double d = fabs((double)got[i] - want[i]) / (1.0 + fabs((double)want[i]));
            if (d > worst) worst = d;
        }
        ck_assert_msg(worst <= 1e-5, "setting %d: features differ by %g (relative)", s, worst);
        dsn_audio_free(y);
        free(want);
        free(got);
        dsn_dataset_free(ds);
        dsn_options_free(o);
    }
    /* already at the model rate: no resampling, frames = 1 + n / hop */
    float *y16 = melody(16000, 1, 4000, notes);
    size_t T = 0;
    ck_assert_int_eq(dsn_audio_features(NULL, 0, &T, NULL, y16, 4000, 16000, NULL), DSN_OK);
    ck_assert_uint_eq(T, 1 + 4000 / 256);
    /* errors */
    dsn_options *bad = opts_of("n_mel = 40");
    ck_assert_int_eq(dsn_audio_features(NULL, 0, &T, NULL, y16, 4000, 16000, bad), DSN_E_OPTION);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "n_mel"));
    dsn_options_free(bad);
    bad = opts_of("n_fft = 1001");
    ck_assert_int_eq(dsn_audio_features(NULL, 0, &T, NULL, y16, 4000, 16000, bad), DSN_E_OPTION);
    dsn_options_free(bad);
    ck_assert_int_eq(dsn_audio_features(NULL, 0, NULL, NULL, y16, 4000, 16000, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_audio_features(NULL, 0, &T, NULL, NULL, 4000, 16000, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_audio_features(NULL, 0, &T, NULL, y16, 0, 16000, NULL), DSN_E_SHAPE);
    ck_assert_int_eq(dsn_audio_features(NULL, 0, &T, NULL, y16, 4000, 0, NULL), DSN_E_INVALID);
    float *out = malloc(sizeof(float) * T * 80);
    y16[10] = NAN;
    ck_assert_int_eq(dsn_audio_features(out, T * 80, &T, NULL, y16, 4000, 16000, NULL), DSN_E_NUMERIC);
    free(out);
    free(y16);
    free(x);
}
END_TEST

START_TEST(mel_to_audio_keeps_the_pitch)
{
    /* melody -> log-mel -> NNLS + fast Griffin-Lim -> YIN: the notes survive,
     * and the features of the result are close to the input features */
    const int sr = 16000, len = 4096, nn = 4, notes[4] = {60, 67, 64, 72};
    float *x = melody(sr, nn, len, notes);
    size_t n = (size_t)nn * len, T = 0, M = 0;
    ck_assert_int_eq(dsn_audio_features(NULL, 0, &T, &M, x, n, sr, NULL), DSN_OK);
    float *mel = malloc(sizeof(float) * T * M);
    ck_assert_int_eq(dsn_audio_features(mel, T * M, &T, &M, x, n, sr, NULL), DSN_OK);
    size_t ns = 0;
    ck_assert_int_eq(dsn_mel_to_audio(NULL, 0, &ns, mel, T, M, NULL), DSN_OK);
    ck_assert_uint_eq(ns, (T - 1) * 256);
    ck_assert_uint_eq(ns, n); /* n is a multiple of the hop */
    float *y = malloc(sizeof(float) * ns);
    double t0 = now_s();
    ck_assert_int_eq(dsn_mel_to_audio(y, ns, &ns, mel, T, M, NULL), DSN_OK);
    double t1 = now_s();
    printf("mel_to_audio of %.2f s of audio (%zu frames): %.3f s\n", (double)n / sr, T, t1 - t0);
    size_t TF = 0;
    ck_assert_int_eq(dsn_pitch_track(NULL, 0, &TF, y, ns, sr, NULL), DSN_OK);
    float *f0 = malloc(sizeof(float) * TF), *ref = malloc(sizeof(float) * TF);
    ck_assert_int_eq(dsn_pitch_track(f0, TF, &TF, y, ns, sr, NULL), DSN_OK);
    note_track(ref, (int)TF, 256, len, nn, notes);
    double a = 0;
    ck_assert_int_eq(dsn_raw_pitch_accuracy(&a, NULL, NULL, f0, ref, TF, DSN_PITCH_MIDI, 50.0), DSN_OK);
    ck_assert_msg(a >= 0.85, "raw pitch accuracy after resynthesis %g", a);
    printf("raw pitch accuracy of the resynthesis: %.3f\n", a);
    float *mel2 = malloc(sizeof(float) * T * M);
    size_t T2 = 0;
    ck_assert_int_eq(dsn_audio_features(mel2, T * M, &T2, NULL, y, ns, sr, NULL), DSN_OK);
    ck_assert_uint_eq(T2, T);
    /* mean absolute log-mel difference over bins with energy */
    double err = 0;
    size_t cnt = 0;
    for (size_t i = 0; i < T * M; i++)
        if (mel[i] > -6) {
            err += fabs(mel[i] - mel2[i]);
            cnt++;
        }
    err /= (double)(cnt ? cnt : 1);
    printf("mean |log-mel difference| after resynthesis: %.3f\n", err);
    ck_assert_double_lt(err, 1.0);
    /* the inverter: the same samples as dsn_mel_to_audio, and no allocation
     * in run (counted by dsn_allocation_count) for any length up to its max */
    dsn_mel_inverter *inv = NULL;
    ck_assert_int_eq(dsn_mel_inverter_create(&inv, T + 10, M, NULL), DSN_OK);
    float *yi = malloc(sizeof(float) * ns);
    size_t nsi = 0;
    ck_assert_int_eq(dsn_mel_inverter_run(inv, NULL, 0, &nsi, mel, T), DSN_OK);
    ck_assert_uint_eq(nsi, ns);
    uint64_t a0 = dsn_allocation_count();
    ck_assert_int_eq(dsn_mel_inverter_run(inv, yi, ns, &nsi, mel, T), DSN_OK);
    ck_assert_int_eq(dsn_mel_inverter_run(inv, yi, ns, &nsi, mel, T / 2), DSN_OK); /* shorter: same buffers */
    ck_assert_uint_eq(nsi, (T / 2 - 1) * 256);
    ck_assert_int_eq(dsn_mel_inverter_run(inv, yi, ns, &nsi, mel, T), DSN_OK);
    ck_assert_uint_eq(dsn_allocation_count(), a0);
    ck_assert_uint_eq(nsi, ns);
    ck_assert_int_eq(memcmp(yi, y, sizeof(float) * ns), 0);
    ck_assert_int_eq(dsn_mel_inverter_run(inv, yi, ns, &nsi, mel, T + 11), DSN_E_SHAPE); /* over its max */
    ck_assert_int_eq(dsn_mel_inverter_run(inv, yi, ns - 1, &nsi, mel, T), DSN_E_SHAPE);
    dsn_mel_inverter_free(inv);
    free(yi);
    /* options: classic Griffin-Lim, pinv, seed; deterministic for a seed */
    dsn_options *o = opts_of("gl_iter = 4, gl_momentum = 0, mel_inversion = pinv, seed = 3");
    float *y2 = malloc(sizeof(float) * ns), *y3 = malloc(sizeof(float) * ns);
    ck_assert_int_eq(dsn_mel_to_audio(y2, ns, &ns, mel, T, M, o), DSN_OK);
    ck_assert_int_eq(dsn_mel_to_audio(y3, ns, &ns, mel, T, M, o), DSN_OK);
    ck_assert_int_eq(memcmp(y2, y3, sizeof(float) * ns), 0);
    dsn_options_free(o);
    /* errors */
    ck_assert_int_eq(dsn_mel_to_audio(y, ns - 1, &ns, mel, T, M, NULL), DSN_E_SHAPE);
    o = opts_of("n_mels = 64");
    ck_assert_int_eq(dsn_mel_to_audio(y, ns, &ns, mel, T, M, o), DSN_E_SHAPE);
    dsn_options_free(o);
    o = opts_of("griffin_lim = 3");
    ck_assert_int_eq(dsn_mel_to_audio(y, ns, &ns, mel, T, M, o), DSN_E_OPTION);
    dsn_options_free(o);
    o = opts_of("mel_inversion = magic");
    ck_assert_int_eq(dsn_mel_to_audio(y, ns, &ns, mel, T, M, o), DSN_E_OPTION);
    dsn_options_free(o);
    ck_assert_int_eq(dsn_mel_to_audio(y, ns, NULL, mel, T, M, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_mel_to_audio(y, ns, &ns, NULL, T, M, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsn_mel_to_audio(y, ns, &ns, mel, 0, M, NULL), DSN_E_SHAPE);
    ck_assert_int_eq(dsn_mel_to_audio(y, ns, &ns, mel, T, 0, NULL), DSN_E_SHAPE);
    mel[5] = NAN;
    ck_assert_int_eq(dsn_mel_to_audio(y, ns, &ns, mel, T, M, NULL), DSN_E_NUMERIC);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "dsn_mel_to_audio"));
    /* one frame: no samples */
    ck_assert_int_eq(dsn_mel_to_audio(NULL, 0, &ns, mel2, 1, M, NULL), DSN_OK);
    ck_assert_uint_eq(ns, 0);
    free(x); free(mel); free(mel2); free(y); free(y2); free(y3); free(f0); free(ref);
    /* optional: timings of the host calls on a 4-s clip (DSN_EVAL_BENCH=1) */
    const char *bench = getenv("DSN_EVAL_BENCH");
    if (bench && bench[0] == '1') {
        const int n16 = 16, notes16[16] = {60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 60, 55};
        float *c4 = melody(sr, n16, 4000, notes16);
        n = 64000;
        float *m4 = malloc(sizeof(float) * 251 * 80), *a4 = malloc(sizeof(float) * n), *p4 = malloc(sizeof(float) * 251);
        double u0 = now_s();
        for (int k = 0; k < 5; k++) ck_assert_int_eq(dsn_audio_features(m4, 251 * 80, &T, &M, c4, n, sr, NULL), DSN_OK);
        double u1 = now_s();
        for (int k = 0; k < 5; k++) ck_assert_int_eq(dsn_pitch_track(p4, 251, &TF, c4, n, sr, NULL), DSN_OK);
        double u2 = now_s();
        for (int k = 0; k < 3; k++) ck_assert_int_eq(dsn_mel_to_audio(a4, n, &ns, m4, T, M, NULL), DSN_OK);
        double u3 = now_s();
        printf("4-s clip (%zu frames): dsn_audio_features %.1f ms, dsn_pitch_track %.1f ms, dsn_mel_to_audio %.1f ms\n",
               T, (u1 - u0) / 5 * 1e3, (u2 - u1) / 5 * 1e3, (u3 - u2) / 3 * 1e3);
        free(c4); free(m4); free(a4); free(p4);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("eval");
    TCase *tc = tcase_create("eval");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, logreg_gradient_matches_finite_differences);
    tcase_add_test(tc, logreg_reaches_the_optimum);
    tcase_add_test(tc, logreg_matches_a_numpy_newton_solution);
    tcase_add_test(tc, separable_data_is_classified_perfectly);
    tcase_add_test(tc, standardised_classifiers_ignore_feature_scaling);
    tcase_add_test(tc, logreg_60000x20_fits_quickly);
    tcase_add_test(tc, lda_matches_the_closed_form_on_two_gaussians);
    tcase_add_test(tc, lda_shrinkage);
    tcase_add_test(tc, centroid_is_the_nearest_mean);
    tcase_add_test(tc, predict_matches_scores_in_blocks);
    tcase_add_test(tc, classifier_errors);
    tcase_add_test(tc, metrics_on_a_known_confusion_matrix);
    tcase_add_test(tc, raw_pitch_accuracy_on_synthetic_tracks);
    tcase_add_test(tc, pitch_track_of_a_melody);
    tcase_add_test(tc, audio_write_read_round_trip);
    tcase_add_test(tc, features_equal_the_dataset_features);
    tcase_add_test(tc, mel_to_audio_keeps_the_pitch);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
