/* test_metrics.c - disentanglement metrics (lib/eval/disentangle.c and
 * dsn_factor_metrics): values worked by hand on tiny inputs, latents equal to
 * the factors (near 1), independent noise (near 0), invariance to a
 * permutation and scaling of the latents, a continuous factor with thousands
 * of values, the boosted trees' importances and ROC-AUC, determinism, and the
 * bad inputs (NaN, a constant factor, too few samples per class, too many
 * classes, unknown names, short output). */
#include "core/rng.h"
#include "eval/disentangle.h"
#include "support/testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const int ALL[DSI_DIS_COUNT] = {1, 1, 1, 1, 1, 1, 1};

static double run(const float *z, size_t n, int d, const float *f, int F, int metric)
{
    dsi_dis_opts o;
    dsi_dis_opts_default(&o);
    int want[DSI_DIS_COUNT] = {0};
    want[metric] = 1;
    double out[DSI_DIS_COUNT];
    ck_assert_int_eq(dsi_disentangle(z, n, d, f, F, &o, want, out, NULL), DSN_OK);
    return out[metric];
}

START_TEST(mutual_information_by_hand)
{
    const int32_t a[4] = {0, 0, 1, 1}, b[4] = {0, 0, 1, 1}, c[4] = {0, 1, 0, 1}, e[4] = {0, 0, 0, 1};
    ck_assert_close(dsi_mutual_info(a, 2, b, 2, 4), log(2.0), 1e-12);
    ck_assert_close(dsi_mutual_info(a, 2, c, 2, 4), 0.0, 1e-12);
    /* a vs e: p(a=0,e=0)=1/2, p(1,0)=1/4, p(1,1)=1/4; p(a)=1/2,1/2; p(e)=3/4,1/4 */
    double want = 0.5 * log(0.5 / (0.5 * 0.75)) + 0.25 * log(0.25 / (0.5 * 0.75)) + 0.25 * log(0.25 / (0.5 * 0.25));
    ck_assert_close(dsi_mutual_info(a, 2, e, 2, 4), want, 1e-12);
    /* histogram codes: 20 equal-width bins over [min, max], max in the last */
    const float x[5] = {0.0f, 0.049f, 0.051f, 0.5f, 1.0f};
    int32_t code[5];
    dsi_histogram_codes(x, 5, 1, 20, code);
    ck_assert_int_eq(code[0], 0);
    ck_assert_int_eq(code[1], 0);
    ck_assert_int_eq(code[2], 1);
    ck_assert_int_eq(code[3], 10);
    ck_assert_int_eq(code[4], 19);
}
END_TEST

START_TEST(tiny_inputs_worked_by_hand)
{
    /* factor f = [0,0,1,1]x2; latent 0 = f, latent 1 independent of f:
     * MI = (ln 2, 0), MIG = (ln 2 - 0) / ln 2 = 1; modularity: latent 0
     * scores 1 (one factor), latent 1 has no information and scores 0 -> 0.5 */
    const float z[16] = {0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 1};
    const float f[8] = {0, 0, 1, 1, 0, 0, 1, 1};
    ck_assert_close(run(z, 8, 2, f, 1, DSI_DIS_MIG), 1.0, 1e-12);
    ck_assert_close(run(z, 8, 2, f, 1, DSI_DIS_MODULARITY), 0.5, 1e-12);
    /* two factors f0, f1, one latent 2 f0 + f1 (four distinct values, four
     * bins): MI = ln 2 with each; MIG with one latent = 1 per factor;
     * modularity: delta = (2 ln^2 2 - ln^2 2) / (ln^2 2 (2 - 1)) = 1 -> 0 */
    const float f2[16] = {0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 1};
    float z1[8];
    for (int i = 0; i < 8; i++) z1[i] = 2 * f2[2 * i] + f2[2 * i + 1];
    ck_assert_close(run(z1, 8, 1, f2, 2, DSI_DIS_MIG), 1.0, 1e-12);
    ck_assert_close(run(z1, 8, 1, f2, 2, DSI_DIS_MODULARITY), 0.0, 1e-12);
    /* the same latent twice: the gap is 0 */
    float zz[16];
    for (int i = 0; i < 8; i++) zz[2 * i] = zz[2 * i + 1] = z1[i];
    ck_assert_close(run(zz, 8, 2, f2, 2, DSI_DIS_MIG), 0.0, 1e-12);
}
END_TEST

START_TEST(roc_auc_and_boosted_trees)
{
    const float s[4] = {0.1f, 0.4f, 0.35f, 0.8f};
    const uint8_t pos[4] = {0, 0, 1, 1};
    ck_assert_close(dsi_roc_auc(s, pos, 4), 0.75, 1e-12); /* sklearn's roc_auc_score example */
    const float tie[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    ck_assert_close(dsi_roc_auc(tie, pos, 4), 0.5, 1e-12);
    const uint8_t none[4] = {0, 0, 0, 0};
    ck_assert(dsi_roc_auc(s, none, 4) < 0);
    /* y = [x0 > 0] + [x0 > 1] from 5 features: importance on feature 0 */
    dsi_rng r;
    dsi_rng_seed(&r, 3);
    enum { N = 1500, D = 5 };
    float *x = malloc(sizeof(float) * N * D);
    int32_t *y = malloc(sizeof(int32_t) * N);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++) x[i * D + j] = dsi_rng_normal(&r);
        y[i] = (x[i * D] > 0) + (x[i * D] > 1);
    }
    dsi_dis_opts o;
    dsi_dis_opts_default(&o);
    o.trees = 30;
    double imp[D], acc = 0;
    ck_assert_int_eq(dsi_gbt_importance(x, y, 1000, D, 3, x + 1000 * D, y + 1000, 500, &o, imp, &acc), DSN_OK);
    ck_assert_msg(imp[0] > 0.9, "importance of the informative feature %g", imp[0]);
    double sum = 0;
    for (int j = 0; j < D; j++) sum += imp[j];
    ck_assert_close(sum, 1.0, 1e-9);
    ck_assert_msg(acc > 0.97, "test accuracy %g", acc);
    free(x);
    free(y);
}
END_TEST

/* n samples of F independent factors with K classes each; latents = factors
 * (optionally scaled, shifted and permuted), plus extra noise latents */
static void factors_and_codes(dsi_rng *r, int n, int F, int K, float *f, float *z, int d, const int *perm,
                              const float *scale)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < F; j++) f[i * F + j] = (float)dsi_rng_below(r, (uint64_t)K);
        for (int k = 0; k < d; k++) {
            int src = perm ? perm[k] : k;
            z[i * d + k] = src < F ? (scale ? scale[k] : 1.0f) * f[i * F + src] + (scale ? 3.0f : 0.0f)
                                   : dsi_rng_normal(r);
        }
    }
}

START_TEST(latents_equal_to_the_factors_score_near_one)
{
    dsi_rng r;
    dsi_rng_seed(&r, 11);
    enum { N = 2000, F = 3, K = 5, D = 3 };
    float *f = malloc(sizeof(float) * N * F), *z = malloc(sizeof(float) * N * D);
    factors_and_codes(&r, N, F, K, f, z, D, NULL, NULL);
    dsi_dis_opts o;
    dsi_dis_opts_default(&o);
    o.trees = 30;
    double out[DSI_DIS_COUNT];
    dsi_dis_detail dt;
    ck_assert_int_eq(dsi_disentangle(z, N, D, f, F, &o, ALL, out, &dt), DSN_OK);
    ck_assert_msg(out[DSI_DIS_MIG] > 0.98, "MIG %g", out[DSI_DIS_MIG]);
    ck_assert_msg(out[DSI_DIS_DCI_D] > 0.95, "DCI disentanglement %g", out[DSI_DIS_DCI_D]);
    ck_assert_msg(out[DSI_DIS_DCI_C] > 0.95, "DCI completeness %g", out[DSI_DIS_DCI_C]);
    ck_assert_msg(out[DSI_DIS_DCI_I] > 0.99, "DCI informativeness %g", out[DSI_DIS_DCI_I]);
    ck_assert_msg(out[DSI_DIS_SAP] > 0.5, "SAP %g", out[DSI_DIS_SAP]);
    ck_assert_msg(out[DSI_DIS_MODULARITY] > 0.99, "modularity %g", out[DSI_DIS_MODULARITY]);
    ck_assert_msg(out[DSI_DIS_EXPLICITNESS] > 0.97, "explicitness %g", out[DSI_DIS_EXPLICITNESS]);
    for (int j = 0; j < F; j++) {
        ck_assert_int_eq(dt.continuous[j], DSI_FACTOR_DISCRETE);
        ck_assert_int_eq(dt.classes[j], K);
        ck_assert_close(dt.mi[j * F + j], dt.entropy[j], 1e-9); /* the latent is the factor */
    }
    dsi_dis_detail_free(&dt);
    free(f);
    free(z);
}
END_TEST

START_TEST(independent_noise_scores_near_zero)
{
    dsi_rng r;
    dsi_rng_seed(&r, 12);
    enum { N = 3000, F = 3, K = 4, D = 6 };
    float *f = malloc(sizeof(float) * N * F), *z = malloc(sizeof(float) * N * D);
    int perm[D] = {9, 9, 9, 9, 9, 9}; /* every latent is noise */
    factors_and_codes(&r, N, F, K, f, z, D, perm, NULL);
    dsi_dis_opts o;
    dsi_dis_opts_default(&o);
    o.trees = 30;
    double out[DSI_DIS_COUNT];
    ck_assert_int_eq(dsi_disentangle(z, N, D, f, F, &o, ALL, out, NULL), DSN_OK);
    ck_assert_msg(out[DSI_DIS_MIG] < 0.02, "MIG %g", out[DSI_DIS_MIG]);
    ck_assert_msg(out[DSI_DIS_DCI_D] < 0.15, "DCI disentanglement %g", out[DSI_DIS_DCI_D]);
    ck_assert_msg(out[DSI_DIS_DCI_I] < 1.0 / K + 0.06, "DCI informativeness %g", out[DSI_DIS_DCI_I]);
    ck_assert_msg(out[DSI_DIS_SAP] < 0.05, "SAP %g", out[DSI_DIS_SAP]);
    ck_assert_msg(fabs(out[DSI_DIS_EXPLICITNESS] - 0.5) < 0.05, "explicitness %g", out[DSI_DIS_EXPLICITNESS]);
    free(f);
    free(z);
}
END_TEST

START_TEST(permuted_and_scaled_latents_score_the_same)
{
    dsi_rng r, r2;
    dsi_rng_seed(&r, 13);
    dsi_rng_seed(&r2, 13);
    enum { N = 2000, F = 3, K = 5, D = 5 };
    float *f = malloc(sizeof(float) * N * F), *z = malloc(sizeof(float) * N * D);
    float *f2 = malloc(sizeof(float) * N * F), *z2 = malloc(sizeof(float) * N * D);
    /* latents: the factors plus noise, each latent mixed in a little */
    const int id[D] = {0, 1, 2, 3, 4}, perm[D] = {2, 0, 4, 1, 3};
    const float one[D] = {1, 1, 1, 1, 1}, scale[D] = {-2.5f, 0.01f, 7.0f, 1.0f, -1.0f};
    factors_and_codes(&r, N, F, K, f, z, D, id, one);
    factors_and_codes(&r2, N, F, K, f2, z2, D, id, one);
    ck_assert_mem_eq(f, f2, sizeof(float) * N * F);
    for (int i = 0; i < N; i++) {
        z[i * D + 0] += 0.4f * z[i * D + 3]; /* not perfectly disentangled */
        float row[D];
        for (int k = 0; k < D; k++) row[k] = z[i * D + perm[k]] * scale[k] + 1.0f;
        memcpy(z2 + i * D, row, sizeof row);
    }
    dsi_dis_opts o;
    dsi_dis_opts_default(&o);
    o.trees = 20;
    double a[DSI_DIS_COUNT], b[DSI_DIS_COUNT];
    ck_assert_int_eq(dsi_disentangle(z, N, D, f, F, &o, ALL, a, NULL), DSN_OK);
    ck_assert_int_eq(dsi_disentangle(z2, N, D, f, F, &o, ALL, b, NULL), DSN_OK);
    /* histogram MI is invariant to affine maps (a negative scale mirrors the bins) */
    ck_assert_close(a[DSI_DIS_MIG], b[DSI_DIS_MIG], 1e-9);
    ck_assert_close(a[DSI_DIS_MODULARITY], b[DSI_DIS_MODULARITY], 1e-9);
    /* trees split on quantiles: the same partitions (up to ties between features) */
    ck_assert_close(a[DSI_DIS_DCI_D], b[DSI_DIS_DCI_D], 0.02);
    ck_assert_close(a[DSI_DIS_DCI_C], b[DSI_DIS_DCI_C], 0.02);
    ck_assert_close(a[DSI_DIS_DCI_I], b[DSI_DIS_DCI_I], 0.02);
    ck_assert_close(a[DSI_DIS_SAP], b[DSI_DIS_SAP], 0.02);
    ck_assert_close(a[DSI_DIS_EXPLICITNESS], b[DSI_DIS_EXPLICITNESS], 0.01);
    ck_assert(a[DSI_DIS_MIG] < 0.99); /* the mixed latent lowered it */
    free(f); free(z); free(f2); free(z2);
}
END_TEST

START_TEST(a_continuous_factor_is_binned)
{
    dsi_rng r;
    dsi_rng_seed(&r, 14);
    enum { N = 4000, D = 2 };
    float *f = malloc(sizeof(float) * N), *z = malloc(sizeof(float) * N * D);
    for (int i = 0; i < N; i++) {
        f[i] = dsi_rng_uniform(&r); /* thousands of distinct values */
        z[i * D] = 3.0f * f[i] - 1.0f;
        z[i * D + 1] = dsi_rng_normal(&r);
    }
    dsi_dis_opts o;
    dsi_dis_opts_default(&o);
    o.trees = 20;
    double out[DSI_DIS_COUNT];
    dsi_dis_detail dt;
    ck_assert_int_eq(dsi_disentangle(z, N, D, f, 1, &o, ALL, out, &dt), DSN_OK);
    ck_assert_int_eq(dt.continuous[0], DSI_FACTOR_CONTINUOUS);
    ck_assert_int_eq(dt.classes[0], 20);
    ck_assert_msg(out[DSI_DIS_MIG] > 0.95, "MIG %g", out[DSI_DIS_MIG]);
    ck_assert_msg(out[DSI_DIS_SAP] > 0.95, "SAP (squared correlation) %g", out[DSI_DIS_SAP]);
    ck_assert_msg(out[DSI_DIS_DCI_D] > 0.9, "DCI %g", out[DSI_DIS_DCI_D]);
    dsi_dis_detail_free(&dt);
    /* forced discrete: too many classes, a clear error */
    int8_t kind = DSI_FACTOR_DISCRETE;
    o.kind = &kind;
    ck_assert_int_eq(dsi_disentangle(z, N, D, f, 1, &o, ALL, out, NULL), DSN_E_INVALID);
    for (int i = 0; i < N; i++) f[i] = (float)(i % 1500);
    ck_assert_int_eq(dsi_disentangle(z, N, D, f, 1, &o, ALL, out, NULL), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "continuous"));
    free(f);
    free(z);
}
END_TEST

static dsn_options *opts_of(const char *text)
{
    dsn_options *o = NULL;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(o, text), DSN_OK);
    return o;
}

START_TEST(public_call_names_order_and_errors)
{
    dsi_rng r;
    dsi_rng_seed(&r, 15);
    enum { N = 600, F = 2, K = 3, D = 3 };
    float *f = malloc(sizeof(float) * N * F), *z = malloc(sizeof(float) * N * D);
    factors_and_codes(&r, N, F, K, f, z, D, NULL, NULL);
    dsn_options *o = opts_of("trees=10, seed=4");
    double s[10], s2[10];
    ck_assert_int_eq(dsn_factor_metrics(s, 10, "all", z, N, D, f, F, o), DSN_OK);
    ck_assert_int_eq(dsn_factor_metrics(s2, 10, "all", z, N, D, f, F, o), DSN_OK);
    ck_assert_mem_eq(s, s2, sizeof(double) * 7); /* deterministic */
    double t[5];
    ck_assert_int_eq(dsn_factor_metrics(t, 5, "sap, mig,dci", z, N, D, f, F, o), DSN_OK);
    ck_assert_close(t[0], s[4], 1e-12);
    ck_assert_close(t[1], s[0], 1e-12);
    ck_assert_close(t[2], s[1], 1e-12);
    ck_assert_close(t[3], s[2], 1e-12);
    ck_assert_close(t[4], s[3], 1e-12);
    ck_assert_int_eq(dsn_factor_metrics(t, 4, "sap, mig,dci", z, N, D, f, F, o), DSN_E_SHAPE);
    ck_assert_int_eq(dsn_factor_metrics(t, 4, "mig,bogus", z, N, D, f, F, o), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "bogus"));
    ck_assert_int_eq(dsn_factor_metrics(t, 4, "", z, N, D, f, F, o), DSN_E_INVALID);
    ck_assert_int_eq(dsn_factor_metrics(NULL, 4, "mig", z, N, D, f, F, o), DSN_E_INVALID);
    ck_assert_int_eq(dsn_factor_metrics(t, 4, "mig", z, N, 0, f, F, o), DSN_E_SHAPE);
    dsn_options_free(o);
    o = opts_of("tres=10");
    ck_assert_int_eq(dsn_factor_metrics(t, 4, "mig", z, N, D, f, F, o), DSN_E_OPTION);
    dsn_options_free(o);
    o = opts_of("continuous=0:7");
    ck_assert_int_eq(dsn_factor_metrics(t, 4, "mig", z, N, D, f, F, o), DSN_E_OPTION);
    dsn_options_free(o);
    o = opts_of("continuous=1");
    ck_assert_int_eq(dsn_factor_metrics(t, 4, "mig", z, N, D, f, F, o), DSN_OK); /* 3 bins of 20 used */
    dsn_options_free(o);
    /* NaN latents */
    z[5] = NAN;
    t[0] = -7;
    ck_assert_int_eq(dsn_factor_metrics(t, 4, "mig", z, N, D, f, F, NULL), DSN_E_NUMERIC);
    ck_assert(t[0] == -7); /* untouched */
    z[5] = 0;
    /* a constant factor */
    for (int i = 0; i < N; i++) f[i * F + 1] = 2;
    ck_assert_int_eq(dsn_factor_metrics(t, 4, "mig", z, N, D, f, F, NULL), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "constant"));
    /* fewer samples than classes x 2 */
    for (int i = 0; i < N; i++) f[i * F + 1] = (float)(i % 400);
    o = opts_of("continuous=none"); /* auto would bin it */
    ck_assert_int_eq(dsn_factor_metrics(t, 4, "mig", z, N, D, f, F, o), DSN_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "two samples per class"));
    dsn_options_free(o);
    ck_assert_int_eq(dsn_factor_metrics(t, 4, "mig", z, N, D, f, F, NULL), DSN_OK);
    free(f);
    free(z);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, mutual_information_by_hand);
    tcase_add_test(tc, tiny_inputs_worked_by_hand);
    tcase_add_test(tc, roc_auc_and_boosted_trees);
    tcase_add_test(tc, latents_equal_to_the_factors_score_near_one);
    tcase_add_test(tc, independent_noise_scores_near_zero);
    tcase_add_test(tc, permuted_and_scaled_latents_score_the_same);
    tcase_add_test(tc, a_continuous_factor_is_binned);
    tcase_add_test(tc, public_call_names_order_and_errors);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
