/* test_mlvae.c - ML-VAE learns on a small real data set, in seconds: the
 * 8x8 handwritten digits (1797 images, 10 classes, the UCI set shipped by
 * Debian's python3-sklearn, installed by scripts/setup-deps.sh).
 *
 * Trained on 1400 images grouped by class, evaluated on the other 397:
 *  - the training loss falls;
 *  - content predicts the digit far better than style (nearest centroid);
 *  - a swap keeps the content: decode(content of a, style of b), with b of
 *    another digit, is labelled as a's digit by a pixel-space nearest-centroid
 *    classifier far more often than as b's.
 * And the convolutional encoder/decoder with the group penalty: the whole
 * loss's gradient against central differences (the reparameterisation noise
 * replayed from the same RNG state; also through residual blocks in the
 * encoder and decoder), shapes, options and errors, that the
 * penalty is the between-group scatter of the style means and the prototype
 * term the cross-entropy of each member's content against its group's mean,
 * and that the image defaults train without allocation and deterministically. */
#include "disent.h"
#include "models/model.h"
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


/* ---- conv ML-VAE and the group penalty ---- */

static dsn_model *make(const char *text)
{
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(o, text), DSN_OK);
    dsn_model *m = NULL;
    dsn_status st = dsn_model_create(&m, "ml-vae", o);
    dsn_options_free(o);
    ck_assert_msg(st == DSN_OK, "%s", dsn_last_error());
    return m;
}

/* the loss with the RNG at state `rng` (the noise is replayed), no recording */
static double loss_at(dsn_model *m, const dsi_input *in, const unsigned char *rng, dsi_terms *terms)
{
    dsi_rng_load(&m->rng, rng);
    dsi_tape *t = &m->tape;
    dsi_tape_reset(t);
    dsi_tape_set_recording(t, 0);
    dsi_var *loss = NULL;
    dsi_terms tm = {0};
    ck_assert_int_eq(m->vt->loss(m, t, in, &loss, terms ? terms : &tm), DSN_OK);
    return loss->x[0];
}

/* The whole loss's gradient (backward pass) against central differences of
 * the loss, up to 12 elements of every parameter, the noise replayed from
 * the RNG state rs. Returns the elements checked. */
static int check_loss_gradient(dsn_model *m, const dsi_input *in, const unsigned char *rs, dsi_rng *r)
{
    dsi_tape *t = &m->tape;
    dsi_rng_load(&m->rng, rs);
    dsi_tape_reset(t);
    dsi_tape_set_recording(t, 1);
    dsi_params_zero_grad(&m->params);
    dsi_var *loss = NULL;
    dsi_terms terms = {0};
    ck_assert_int_eq(m->vt->loss(m, t, in, &loss, &terms), DSN_OK);
    ck_assert_int_eq(dsi_tape_backward(t, loss), DSN_OK);
    int has_gs = 0, has_cp = 0;
    for (int i = 0; i < terms.n; i++) {
        has_gs |= !strcmp(terms.names[i], "group_style") && terms.values[i] > 0;
        has_cp |= !strcmp(terms.names[i], "content_proto") && terms.values[i] > 0;
    }
    ck_assert_msg(has_gs && has_cp, "no group_style or content_proto term");
    float *grad = malloc(m->params.n * sizeof(float));
    memcpy(grad, m->params.grad, m->params.n * sizeof(float));
    int bad = 0, checked = 0;
    for (int p = 0; p < m->params.count; p++) {
        const dsi_param *pp = &m->params.list[p];
        size_t n = pp->var.n;
        int todo = n < 12 ? (int)n : 12;
        for (int j = 0; j < todo; j++) {
            size_t i = todo == (int)n ? (size_t)j : (size_t)dsi_rng_below(r, n);
            float *wp = m->params.data + pp->offset + i, w0 = *wp;
            double h = 1e-3 * (fabs(w0) > 1 ? fabs(w0) : 1);
            *wp = (float)(w0 + h);
            double lp = loss_at(m, in, rs, NULL);
            *wp = (float)(w0 - h);
            double lm = loss_at(m, in, rs, NULL);
            *wp = w0;
            double num = (lp - lm) / (2 * h), an = grad[pp->offset + i];
            checked++;
            if (fabs(an - num) > 5e-3 + 1e-2 * fmax(fabs(an), fabs(num))) {
                if (bad < 5) fprintf(stderr, "grad %s[%zu]: analytic %g numeric %g\n", pp->name, i, an, num);
                bad++;
            }
        }
    }
    free(grad);
    ck_assert_msg(bad == 0, "%d of %d gradient elements mismatch", bad, checked);
    return checked;
}

START_TEST(conv_group_penalty_gradient_matches_finite_differences)
{
    /* 4x4 images keep |loss| small: float rounding in the differences is ~6e-8 |L| / h */
    const char *net = "image=4x4, channels=2:3, hidden=6, activation=tanh, style_dim=2, content_dim=3, "
                      "likelihood=gaussian, group_penalty=0.7, content_contrast=0.9, style_beta=2, seed=5";
    dsn_model *m = make(net);
    ck_assert_int_eq(m->obs_nd, 3);
    enum { N = 6 };
    float x[N * 16];
    dsi_rng r;
    dsi_rng_seed(&r, 9);
    tu_fill(&r, x, N * 16);
    const int32_t group[N] = {0, 0, 1, 1, 1, 2};
    const int32_t pairs[N] = {0, 0, 1, 1, 2, 2};
    dsi_input in = {x, N, pairs, 3, NULL, 0};
    unsigned char rs[DSI_RNG_STATE_BYTES];
    {   /* the same loss through residual blocks in the encoder and the decoder */
        char text[512];
        snprintf(text, sizeof text, "%s, enc_res_blocks=1, dec_res_blocks=2, seed=6", net);
        dsn_model *mr = make(text);
        ck_assert_int_gt(host_info(mr).num_params, host_info(m).num_params);
        dsi_rng_save(&mr->rng, rs);
        ck_assert_int_gt(check_loss_gradient(mr, &in, rs, &r), 150);
        dsn_model_free(mr);
    }
    { /* the same loss with the style decorrelation term: gradient, and its value by hand */
        char text[512];
        snprintf(text, sizeof text, "%s, style_decorrelation=1000, seed=7", net);
        dsn_model *md = make(text);
        dsi_rng_save(&md->rng, rs);
        ck_assert_int_gt(check_loss_gradient(md, &in, rs, &r), 100);
        dsn_session *sd;
        dsn_encoding *ed;
        ck_assert_int_eq(dsn_session_create(&sd, md, N), DSN_OK);
        ck_assert_int_eq(dsn_encoding_create(&ed, md, N), DSN_OK);
        ck_assert_int_eq(dsn_encode(sd, ed, x, N, &(dsn_batch_args){sizeof(dsn_batch_args), group, NULL, NULL}),
                         DSN_OK);
        float ms[N * 2];
        ck_assert_int_eq(dsn_encoding_get(ed, ms, N * 2, NULL, NULL, "style", "mean"), DSN_OK);
        double m0 = 0, m1 = 0, c01 = 0;
        for (int i = 0; i < N; i++) {
            m0 += ms[i * 2] / N;
            m1 += ms[i * 2 + 1] / N;
        }
        for (int i = 0; i < N; i++) c01 += (ms[i * 2] - m0) * (ms[i * 2 + 1] - m1) / N;
        dsi_terms td = {0};
        loss_at(md, &in, rs, &td);
        double want = -1;
        for (int i = 0; i < td.n; i++)
            if (!strcmp(td.names[i], "style_decorr")) want = td.values[i];
        /* N * (C_01^2 + C_10^2) / G, G = 3 groups */
        double hand = N * 2 * c01 * c01 / 3;
        ck_assert_msg(hand > 0 && fabs(want - hand) < 1e-4 * (1 + hand), "style_decorr %g, by hand %g", want, hand);
        dsn_encoding_free(ed);
        dsn_session_free(sd);
        dsn_model_free(md);
    }
    dsi_rng_save(&m->rng, rs);
    ck_assert_int_gt(check_loss_gradient(m, &in, rs, &r), 100);
    /* the penalty is lambda/G * sum_G n_G ||m_G - m||^2 of the style means */
    dsn_session *ses;
    dsn_encoding *e;
    ck_assert_int_eq(dsn_session_create(&ses, m, N), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&e, m, N), DSN_OK);
    ck_assert_int_eq(dsn_encode(ses, e, x, N, &(dsn_batch_args){sizeof(dsn_batch_args), group, NULL, NULL}), DSN_OK);
    float mu[N * 2];
    ck_assert_int_eq(dsn_encoding_get(e, mu, N * 2, NULL, NULL, "style", "mean"), DSN_OK);
    dsi_input in2 = {x, N, group, 3, NULL, 0};
    dsi_terms t2 = {0};
    loss_at(m, &in2, rs, &t2);
    double mall[2] = {0, 0}, mg[3][2] = {{0}}, cnt[3] = {0}, B = 0;
    for (int i = 0; i < N; i++) {
        cnt[group[i]]++;
        for (int d = 0; d < 2; d++) {
            mall[d] += mu[i * 2 + d] / N;
            mg[group[i]][d] += mu[i * 2 + d];
        }
    }
    for (int g = 0; g < 3; g++)
        for (int d = 0; d < 2; d++) B += cnt[g] * pow(mg[g][d] / cnt[g] - mall[d], 2);
    /* group 2 has one member: the batch skips the penalty */
    float v = -1;
    for (int i = 0; i < t2.n; i++)
        if (!strcmp(t2.names[i], "group_style")) v = t2.values[i];
    ck_assert_float_eq(v, 0.0f);
    const int32_t g2[N] = {0, 0, 1, 1, 1, 1};
    for (int g = 0; g < 3; g++) cnt[g] = 0;
    memset(mg, 0, sizeof mg);
    for (int i = 0; i < N; i++) {
        cnt[g2[i]]++;
        for (int d = 0; d < 2; d++) mg[g2[i]][d] += mu[i * 2 + d];
    }
    B = 0;
    for (int g = 0; g < 2; g++)
        for (int d = 0; d < 2; d++) B += cnt[g] * pow(mg[g][d] / cnt[g] - mall[d], 2);
    dsi_input in3 = {x, N, g2, 2, NULL, 0};
    loss_at(m, &in3, rs, &t2);
    for (int i = 0; i < t2.n; i++)
        if (!strcmp(t2.names[i], "group_style")) v = t2.values[i];
    ck_assert_msg(fabs(v - B / 2) < 1e-4 * (1 + B), "group_style %g, by hand %g", v, B / 2);
    /* the prototype term: sum_i -log softmax_g(-||c_i - p_g||^2)[G(i)] / G over the members' content means */
    float cm[N * 3];
    ck_assert_int_eq(dsn_encode(ses, e, x, N, NULL), DSN_OK); /* each its own group: the members' means */
    ck_assert_int_eq(dsn_encoding_get(e, cm, N * 3, NULL, NULL, "content", "mean"), DSN_OK);
    double proto[2][3] = {{0}}, ce = 0;
    for (int i = 0; i < N; i++)
        for (int d = 0; d < 3; d++) proto[g2[i]][d] += cm[i * 3 + d] / cnt[g2[i]];
    for (int i = 0; i < N; i++) {
        double lg[2], mx = -INFINITY, z = 0;
        for (int g = 0; g < 2; g++) {
            lg[g] = 0;
            for (int d = 0; d < 3; d++) lg[g] -= pow(cm[i * 3 + d] - proto[g][d], 2);
            mx = fmax(mx, lg[g]);
        }
        for (int g = 0; g < 2; g++) z += exp(lg[g] - mx);
        ce += -(lg[g2[i]] - mx - log(z));
    }
    for (int i = 0; i < t2.n; i++)
        if (!strcmp(t2.names[i], "content_proto")) v = t2.values[i];
    ck_assert_msg(fabs(v - ce / 2) < 1e-4 * (1 + ce), "content_proto %g, by hand %g", v, ce / 2);
    dsn_encoding_free(e);
    dsn_session_free(ses);
    dsn_model_free(m);
}
END_TEST

/* Training steps of the conv model with its defaults (group penalty,
 * prototypes, style warm-up): no allocation after the first, and the same
 * seed gives the same losses and weights bit for bit. */
START_TEST(conv_steps_allocation_free_and_deterministic)
{
    enum { N = 24, P = 64 };
    float x[N * P];
    int32_t lab[N];
    dsi_rng r;
    dsi_rng_seed(&r, 3);
    for (int i = 0; i < N * P; i++) x[i] = (float)dsi_rng_uniform(&r);
    for (int i = 0; i < N; i++) lab[i] = i % 3;
    float losses[2][6];
    dsn_model *ms[2];
    /* the defaults, then with the style decorrelation term and a residual decoder */
    for (int k = 0; k < 4; k++) {
        ms[k % 2] = make(k < 2 ? "image=8x8, channels=4:4, hidden=16, seed=11"
                               : "image=8x8, channels=4:4, hidden=16, seed=11, style_decorrelation=2, dec_res_blocks=1");
        dsn_optimizer *opt;
        ck_assert_int_eq(dsn_optimizer_create(&opt, ms[k % 2], "adam", NULL), DSN_OK);
        uint64_t a0 = 0;
        for (int s = 0; s < 6; s++) {
            if (s == 1) a0 = dsn_allocation_count();
            ck_assert_int_eq(dsn_train_step(ms[k % 2], opt, &losses[k % 2][s], x, N,
                                            &(dsn_batch_args){sizeof(dsn_batch_args), lab, NULL, NULL}),
                             DSN_OK);
        }
        ck_assert_uint_eq(dsn_allocation_count(), a0);
        const char *names[8];
        float vals[8];
        int nt = dsn_train_terms(ms[k % 2], names, vals, 8), found = 0;
        for (int i = 0; i < nt; i++)
            found += !strcmp(names[i], "group_style") || !strcmp(names[i], "content_proto") ||
                     !strcmp(names[i], "style_decorr");
        ck_assert_int_eq(found, k < 2 ? 2 : 3); /* the first two on by default for images */
        dsn_optimizer_free(opt);
        if (k % 2 == 0) continue;
        for (int s = 0; s < 6; s++)
            ck_assert_msg(losses[0][s] == losses[1][s], "step %d: %g vs %g", s, losses[0][s], losses[1][s]);
        ck_assert_int_eq(memcmp(ms[0]->params.data, ms[1]->params.data, ms[0]->params.n * sizeof(float)), 0);
        ck_assert(losses[0][5] < losses[0][0]);
        dsn_model_free(ms[0]);
        dsn_model_free(ms[1]);
    }
}
END_TEST

START_TEST(conv_options_shapes_and_errors)
{
    dsn_model *m = make("image=28x28");
    size_t dims[3];
    ck_assert_int_eq(host_obs_shape(m, dims, 3), 3);
    ck_assert_uint_eq(dims[0], 1);
    ck_assert_uint_eq(dims[1], 28);
    ck_assert_uint_eq(dims[2], 28);
    ck_assert_uint_eq(host_info(m).obs_size, 784);
    /* conv 1->16, 16->32 (4x4), fc 1568->256 + heads; decoder mirror */
    size_t want = (16 * 16 + 16) + (32 * 16 * 16 + 32) + (1568 * 256 + 256) + 2 * (256 * 20 + 20) +
                  (20 * 256 + 256) + (256 * 1568 + 1568) + (32 * 16 * 16 + 16) + (16 * 16 + 1);
    ck_assert_uint_eq(host_info(m).num_params, want);
    /* encode / decode round trip keeps the shape; no allocation in encode/decode */
    dsn_session *s;
    dsn_encoding *e;
    float x[4 * 784], y[4 * 784];
    for (int i = 0; i < 4 * 784; i++) x[i] = (float)((i * 37) % 100) / 100.0f;
    /* then with residual blocks (3x3 c->c, 1x1 c->c, biases) at 14x14 (16) and 7x7 (32), encoder and decoder */
    for (int k = 0; k < 2; k++) {
        if (k) {
#define RES(c) ((c) * (c) * 9 + (c) + (c) * (c) + (c))
            dsn_model_free(m);
            m = make("image=28x28, enc_res_blocks=1, dec_res_blocks=1");
            ck_assert_uint_eq(host_info(m).num_params, want + 2 * (RES(16) + RES(32)));
#undef RES
        }
        ck_assert_int_eq(dsn_session_create(&s, m, 4), DSN_OK);
        ck_assert_int_eq(dsn_encoding_create(&e, m, 4), DSN_OK);
        /* the session's arena grows during the first call of each kind (dsn_session), then no allocation */
        ck_assert_int_eq(dsn_encode(s, e, x, 4, NULL), DSN_OK);
        ck_assert_int_eq(dsn_decode(s, y, 4 * 784, e), DSN_OK);
        uint64_t a0 = dsn_allocation_count();
        ck_assert_int_eq(dsn_encode(s, e, x, 4, NULL), DSN_OK);
        ck_assert_int_eq(dsn_decode(s, y, 4 * 784, e), DSN_OK);
        ck_assert_uint_eq(dsn_allocation_count(), a0);
        for (int i = 0; i < 4 * 784; i++) ck_assert(y[i] >= 0 && y[i] <= 1);
        dsn_encoding_free(e);
        dsn_session_free(s);
    }
    dsn_model_free(m);
    m = make("input_dim=784"); /* no image: the MLP as before */
    ck_assert_int_eq(host_obs_shape(m, dims, 3), 1);
    dsn_model_free(m);
    const char *bad[] = {"encoder=conv", "image=30x30", "image=28x28, input_dim=100", "image=28x28, encoder=mlp",
                         "image=28x28, channels=8:8:8", "group_penalty=-1", "content_contrast=-1",
                         "image=28x28, dec_res_blocks=5", "input_dim=784, dec_res_blocks=1",
                         "image=28x28, style_decorrelation=-1", NULL};
    for (int i = 0; bad[i]; i++) {
        dsn_options *o;
        ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
        ck_assert_int_eq(dsn_options_parse(o, bad[i]), DSN_OK);
        dsn_model *mm = NULL;
        ck_assert_msg(dsn_model_create(&mm, "ml-vae", o) == DSN_E_OPTION, "%s accepted", bad[i]);
        dsn_options_free(o);
    }
}
END_TEST

/* A model with the newer options saves and loads: the options recorded,
 * the same weights and the same encoding. */
START_TEST(conv_new_options_save_and_load)
{
    dsn_model *m = make("image=8x8, channels=4:4, hidden=16, style_decorrelation=2, dec_res_blocks=1, seed=3");
    char path[512];
    snprintf(path, sizeof path, "%s/mlvae_opts.dsn", tu_tmpdir());
    ck_assert_int_eq(dsn_model_save(m, NULL, path), DSN_OK);
    dsn_model *l = NULL;
    ck_assert_int_eq(dsn_model_load(&l, path), DSN_OK);
    ck_assert_str_eq(dsn_options_get(dsn_model_options(l), "style_decorrelation"), "2");
    ck_assert_str_eq(dsn_options_get(dsn_model_options(l), "dec_res_blocks"), "1");
    ck_assert_uint_eq(l->params.n, m->params.n);
    ck_assert_int_eq(memcmp(l->params.data, m->params.data, m->params.n * sizeof(float)), 0);
    float x[2 * 64], e1[2 * 3 * 10], e2[2 * 3 * 10];
    for (int i = 0; i < 2 * 64; i++) x[i] = (float)((i * 29) % 64) / 64.0f;
    dsn_model *both[2] = {m, l};
    float *outs[2] = {e1, e2};
    for (int k = 0; k < 2; k++) {
        dsn_session *s;
        dsn_encoding *e;
        ck_assert_int_eq(dsn_session_create(&s, both[k], 2), DSN_OK);
        ck_assert_int_eq(dsn_encoding_create(&e, both[k], 2), DSN_OK);
        ck_assert_int_eq(dsn_encode(s, e, x, 2, NULL), DSN_OK);
        ck_assert_int_eq(dsn_encoding_get(e, outs[k], 2 * 10, NULL, NULL, "style", "mean"), DSN_OK);
        dsn_encoding_free(e);
        dsn_session_free(s);
    }
    ck_assert_int_eq(memcmp(e1, e2, 2 * 10 * sizeof(float)), 0);
    dsn_model_free(l);
    dsn_model_free(m);
    remove(path);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("mlvae");
    TCase *tc = tcase_create("mlvae");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, learns_real_digits_and_swaps_keep_content);
    tcase_add_test(tc, conv_group_penalty_gradient_matches_finite_differences);
    tcase_add_test(tc, conv_steps_allocation_free_and_deterministic);
    tcase_add_test(tc, conv_options_shapes_and_errors);
    tcase_add_test(tc, conv_new_options_save_and_load);
    suite_add_tcase(su, tc);
    return tu_run(su) ? 1 : 0;
}
