/* test_mlvae.c - ML-VAE learns on a small real data set, in seconds: the
 * 8x8 handwritten digits (1797 images, 10 classes, the UCI set shipped by
 * Debian's python3-sklearn, installed by scripts/setup-deps.sh).
 *
 * Trained on 1400 images grouped by class, evaluated on the other 397:
 *  - the training loss falls;
 *  - content predicts the digit far better than style (nearest centroid);
 *  - a swap keeps the content: decode(content of a, style of b), with b of
 *    another digit, is labelled as a's digit by a pixel-space nearest-centroid
 *    classifier far more often than as b's. */
#include "disent.h"
#include "support/testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIGITS_CSV "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
enum { N_MAX = 1797, D = 64, N_TRAIN = 1400, K = 10 };

static float X[N_MAX * D];
static int32_t Y[N_MAX];

static int load_digits(void)
{
    FILE *f = popen("gzip -dc " DIGITS_CSV " 2>/dev/null", "r");
    if (!f) return 0;
    int n = 0;
    while (n < N_MAX) {
        int v, ok = 1;
        for (int d = 0; d < D && ok; d++) {
            ok = fscanf(f, "%d,", &v) == 1;
            X[n * D + d] = (float)v / 16.0f;
        }
        if (!ok || fscanf(f, "%d", &v) != 1) break;
        Y[n++] = v;
    }
    pclose(f);
    return n;
}

/* nearest class centroid: centroids of (x, y)[0..n) with dim d */
static void centroids(const float *x, const int32_t *y, int n, int d, float *cen)
{
    int cnt[K] = {0};
    memset(cen, 0, sizeof(float) * K * (size_t)d);
    for (int i = 0; i < n; i++) {
        cnt[y[i]]++;
        for (int j = 0; j < d; j++) cen[y[i] * d + j] += x[i * d + j];
    }
    for (int c = 0; c < K; c++)
        for (int j = 0; j < d; j++) cen[c * d + j] /= cnt[c] ? (float)cnt[c] : 1.0f;
}

static int nearest(const float *cen, const float *x, int d)
{
    int best = 0;
    double bd = INFINITY;
    for (int c = 0; c < K; c++) {
        double s = 0;
        for (int j = 0; j < d; j++) s += (x[j] - cen[c * d + j]) * (x[j] - cen[c * d + j]);
        if (s < bd) {
            bd = s;
            best = c;
        }
    }
    return best;
}

static float first_loss, last_loss;
static int progress(void *user, int epoch, int64_t step, int epoch_end, int n, const char *const *names,
                    const float *values)
{
    (void)user;
    (void)step;
    if (epoch_end && n > 0 && !strcmp(names[0], "train_loss")) {
        if (epoch == 1) first_loss = values[0];
        last_loss = values[0];
    }
    return 0;
}

START_TEST(learns_real_digits_and_swaps_keep_content)
{
    int n = load_digits();
    ck_assert_msg(n == N_MAX, "could not read %s (%d images); scripts/setup-deps.sh installs python3-sklearn",
                  DIGITS_CSV, n);
    int n_test = n - N_TRAIN;
    size_t shape[1] = {D};
    dsn_dataset *train;
    ck_assert_int_eq(dsn_dataset_from_memory(&train, X, N_TRAIN, shape, 1, Y, NULL), DSN_OK);
    dsn_options *mo, *fo;
    ck_assert_int_eq(dsn_options_create(&mo), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(mo, "input_dim=64, hidden=128, style_dim=4, content_dim=6, seed=7, "
                                           "warmup_style_beta=10, warmup_epochs=10"),
                     DSN_OK);
    dsn_model *m;
    ck_assert_int_eq(dsn_model_create(&m, "ml-vae", mo), DSN_OK);
    dsn_optimizer *opt;
    ck_assert_int_eq(dsn_optimizer_create(&opt, m, "adam", NULL), DSN_OK);
    ck_assert_int_eq(dsn_options_create(&fo), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(fo, "epochs=20, steps_per_epoch=40, batch_groups=10, group_size=10"), DSN_OK);
    ck_assert_int_eq(dsn_fit(m, opt, train, NULL, fo, progress, NULL), DSN_OK);
    ck_assert_msg(last_loss < 0.8f * first_loss, "loss %g -> %g", first_loss, last_loss);

    /* content and style means of all images */
    static float c[N_MAX * 6], s[N_MAX * 4];
    dsn_session *ses;
    dsn_encoding *ea, *eb;
    ck_assert_int_eq(dsn_session_create(&ses, m, N_MAX), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&ea, m, N_MAX), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&eb, m, N_MAX), DSN_OK);
    ck_assert_int_eq(dsn_encode(ses, ea, X, (size_t)n, NULL), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(ea, c, sizeof c / sizeof *c, NULL, NULL, "content", "mean"), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(ea, s, sizeof s / sizeof *s, NULL, NULL, "style", "mean"), DSN_OK);
    float cen_c[K * 6], cen_s[K * 4], cen_x[K * D];
    centroids(c, Y, N_TRAIN, 6, cen_c);
    centroids(s, Y, N_TRAIN, 4, cen_s);
    centroids(X, Y, N_TRAIN, D, cen_x);
    int ok_c = 0, ok_s = 0, ok_x = 0;
    for (int i = N_TRAIN; i < n; i++) {
        ok_c += nearest(cen_c, c + i * 6, 6) == Y[i];
        ok_s += nearest(cen_s, s + i * 4, 4) == Y[i];
        ok_x += nearest(cen_x, X + i * D, D) == Y[i];
    }
    double acc_c = (double)ok_c / n_test, acc_s = (double)ok_s / n_test, acc_x = (double)ok_x / n_test;

    /* swaps on the test images: partner b = the next test image of another digit */
    static float xb[N_MAX * D], out[N_MAX * D];
    static int32_t yb[N_MAX];
    for (int i = 0; i < n_test; i++) {
        int j = (i + 1) % n_test;
        while (Y[N_TRAIN + j] == Y[N_TRAIN + i]) j = (j + 1) % n_test;
        memcpy(xb + i * D, X + (N_TRAIN + j) * D, sizeof(float) * D);
        yb[i] = Y[N_TRAIN + j];
    }
    ck_assert_int_eq(dsn_encode(ses, ea, X + N_TRAIN * D, (size_t)n_test, NULL), DSN_OK);
    ck_assert_int_eq(dsn_encode(ses, eb, xb, (size_t)n_test, NULL), DSN_OK);
    ck_assert_int_eq(dsn_swap(ea, eb, "style"), DSN_OK); /* ea: content of a, style of b */
    ck_assert_int_eq(dsn_decode(ses, out, sizeof out / sizeof *out, ea), DSN_OK);
    int keep_a = 0, take_b = 0;
    for (int i = 0; i < n_test; i++) {
        int p = nearest(cen_x, out + i * D, D);
        keep_a += p == Y[N_TRAIN + i];
        take_b += p == yb[i];
    }
    double swap_a = (double)keep_a / n_test, swap_b = (double)take_b / n_test;
    printf("digits 8x8: loss %.1f -> %.1f; nearest centroid on test: content %.3f, style %.3f, pixels %.3f; "
           "swap labelled as content source %.3f, as style source %.3f\n",
           first_loss, last_loss, acc_c, acc_s, acc_x, swap_a, swap_b);
    ck_assert_msg(acc_c > 0.75, "content accuracy %.3f", acc_c);
    ck_assert_msg(acc_c > acc_s + 0.2, "content %.3f vs style %.3f", acc_c, acc_s);
    ck_assert_msg(swap_a > 0.6 && swap_a > 3 * swap_b, "swap keeps content %.3f, takes style's class %.3f", swap_a,
                  swap_b);
    dsn_encoding_free(ea);
    dsn_encoding_free(eb);
    dsn_session_free(ses);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
    dsn_options_free(mo);
    dsn_options_free(fo);
    dsn_dataset_free(train);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("mlvae");
    TCase *tc = tcase_create("mlvae");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, learns_real_digits_and_swaps_keep_content);
    suite_add_tcase(su, tc);
    return tu_run(su) ? 1 : 0;
}
