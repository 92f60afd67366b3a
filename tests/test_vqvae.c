/* test_vqvae.c - the "vq-vae" family: the categorical cross-entropy op,
 * gradients through the full loss, EMA step, state saved with the model,
 * exact resume, the prior's causality, learning and sampling, the public
 * codes API, allocation-free steps and inference, and bad options. */
#include "api/optimizer.h"
#include "core/fileio.h"
#include "autodiff/ops.h"
#include "disent.h"
#include "models/vq_vae.h"
#include "support/gradcheck.h"
#include "support/testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dsn_model *make_model(const char *text)
{
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_msg(dsn_options_parse(o, text) == DSN_OK, "%s", dsn_last_error());
    dsn_model *m = NULL;
    dsn_status st = dsn_model_create(&m, "vq-vae", o);
    ck_assert_msg(st == DSN_OK, "create: %s", dsn_last_error());
    dsn_options_free(o);
    return m;
}

static dsn_optimizer *make_opt(dsn_model *m, const char *lr)
{
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_set(o, "lr", lr), DSN_OK);
    dsn_optimizer *opt = NULL;
    ck_assert_msg(dsn_optimizer_create(&opt, m, "adam", o) == DSN_OK, "%s", dsn_last_error());
    dsn_options_free(o);
    return opt;
}

/* one named figure of dsn_model_stats (ds NULL: the training tracker); fails the test if absent */
static double stat_of(dsn_model *m, const dsn_dataset *ds, const char *name)
{
    const char *names[64];
    double vals[64];
    size_t n = 0;
    ck_assert_msg(dsn_model_stats(m, names, vals, 64, &n, ds) == DSN_OK, "%s", dsn_last_error());
    for (size_t i = 0; i < n && i < 64; i++)
        if (!strcmp(names[i], name)) return vals[i];
    ck_abort_msg("no statistic '%s'", name);
    return 0;
}

/* smooth random images in [0, 1] */
static void make_images(float *x, int n, int C, int H, int W, uint64_t seed)
{
    dsi_rng r;
    dsi_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        float a = dsi_rng_uniform(&r) * 6.0f, b = dsi_rng_uniform(&r) * 6.0f, c = dsi_rng_uniform(&r);
        for (int ch = 0; ch < C; ch++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++)
                    x[(((size_t)i * C + ch) * H + h) * W + w] =
                        0.5f + 0.4f * sinf(a * h / H + b * w / W + c + ch) + 0.05f * (dsi_rng_uniform(&r) - 0.5f);
    }
}

/* ---- softmax cross-entropy op ---- */

typedef struct xent_ctx {
    const int32_t *target;
    int axis, mean;
} xent_ctx;

static dsi_var *xent_fn(dsi_tape *t, dsi_var **in, void *ctx)
{
    xent_ctx *c = ctx;
    return dsi_softmax_xent(t, in[0], c->target, c->axis, c->mean);
}

START_TEST(xent_op)
{
    /* shapes [outer, K, inner] including 1s and odd sizes; class axis 1 and last */
    const int shapes[][3] = {{1, 1, 1}, {2, 3, 1}, {3, 5, 7}, {1, 17, 2}, {4, 2, 9}};
    dsi_rng r;
    dsi_rng_seed(&r, 3);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int last = 0; last < 2; last++) {
            int O = shapes[s][0], K = shapes[s][1], I = shapes[s][2];
            int32_t tg[64];
            for (int i = 0; i < O * I; i++) tg[i] = (int32_t)dsi_rng_below(&r, (uint64_t)K);
            gc_input in = {last ? 2 : 3, {O, K, I}, -3, 3};
            if (last) {
                in.shape[0] = O * I;
                in.shape[1] = K;
            }
            xent_ctx c = {tg, last ? 1 : 1, (int)(s & 1)};
            ck_assert_int_eq(gc_check("softmax_xent", xent_fn, &c, 1, &in, NULL), 0);
            /* value against a naive loop */
            float x[1024];
            size_t n = (size_t)O * K * I;
            for (size_t i = 0; i < n; i++) x[i] = 4.0f * dsi_rng_uniform(&r) - 2.0f;
            dsi_tape t;
            dsi_tape_init(&t);
            dsi_var *xv = dsi_tape_wrap(&t, x, in.nd, in.shape);
            dsi_var *l = dsi_softmax_xent(&t, xv, tg, 1, c.mean);
            ck_assert_ptr_nonnull(l);
            double ref = 0.0;
            int inner = last ? 1 : I, outer = last ? O * I : O;
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++) {
                    double z = 0.0;
                    for (int k = 0; k < K; k++) z += exp(x[((size_t)o * K + k) * inner + i]);
                    ref += log(z) - x[((size_t)o * K + tg[o * inner + i]) * inner + i];
                }
            if (c.mean) ref /= (double)(outer * inner);
            ck_assert_close(l->x[0], ref, 1e-4 * (1 + fabs(ref)));
            dsi_tape_release(&t);
        }
}
END_TEST

/* ---- gradients through the whole model ---- */

static double eval_loss(dsn_model *m, const dsi_input *in, int32_t *codes)
{
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_tape_set_recording(&t, 0);
    dsi_var *loss = NULL;
    dsi_terms terms = {0};
    ck_assert_int_eq(m->vt->loss(m, &t, in, &loss, &terms), DSN_OK);
    double v = loss->x[0];
    if (codes) {
        dsi_tape_reset(&t);
        ck_assert_int_eq(dsi_vqvae_encode_codes(m, &t, in->x, in->n, codes), DSN_OK);
    }
    dsi_tape_release(&t);
    return v;
}

/* The straight-through estimator and the stop-gradients make the analytic
 * gradient differ from the derivative of the loss value for the encoder and
 * the codebook, so those are checked against the functions whose true
 * derivatives the estimator defines, at fixed codes c and vectors q = e_c:
 *   encoder:  w rec(decode(q + u(theta) - u0)) + beta mean ||u(theta) - q||^2
 *             (u = encoder outputs, normalised in cosine mode)
 *   codebook: mean ||u0 - e_c(E)||^2
 * with the means over the code positions that the frame mask keeps (a
 * position summarises 4 frames and counts when any of them is valid).
 * Decoder and prior parameters are checked on the loss itself. */
typedef struct surrogate {
    dsn_model *m;
    const dsi_input *in;
    size_t R;
    int D, bern;
    float beta, w;
    float *u0, *q;
    int32_t *codes;
    dsn_session *s;
    dsn_encoding *e;
    float *vals, *y;
    float *rmask; /* [R] code positions that count */
} surrogate;

static void row_mask_of(surrogate *s)
{
    size_t P = s->R / s->in->n, T = 4 * P;
    s->rmask = malloc(sizeof(float) * s->R);
    for (size_t r = 0; r < s->R; r++) {
        size_t b = r / P, p = r % P;
        float any = s->in->mask ? 0.0f : 1.0f;
        for (size_t f = 4 * p; f < 4 * p + 4 && s->in->mask; f++) any = s->in->mask[b * T + f] != 0 ? 1.0f : any;
        s->rmask[r] = any;
    }
}

static double rec_of(const surrogate *s, const float *y)
{
    const dsn_model *m = s->m;
    size_t n = s->in->n, obs = m->obs_size, T = m->obs_nd == 2 ? (size_t)m->obs_shape[0] : 1, F = obs / T;
    double sum = 0, wsum = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < T; t++) {
            double mk = s->in->mask ? s->in->mask[i * T + t] : 1.0;
            wsum += mk * F;
            for (size_t f = 0; f < F; f++) {
                double x = s->in->x[i * obs + t * F + f], p = y[i * obs + t * F + f];
                double l = s->bern ? -(x * log(p) + (1 - x) * log(1 - p)) : (x - p) * (x - p);
                sum += mk * l;
            }
        }
    return sum / wsum;
}

static double surrogate_enc(surrogate *s)
{
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_tape_set_recording(&t, 0);
    const float *u = dsi_vqvae_latents(s->m, &t, s->in->x, s->in->n);
    double commit = 0, cnt = 0;
    for (size_t i = 0; i < s->R * s->D; i++) {
        s->vals[i] = s->q[i] + (u[i] - s->u0[i]);
        double k = s->rmask[i / (size_t)s->D];
        commit += k * (u[i] - s->q[i]) * (u[i] - s->q[i]);
        cnt += k;
    }
    dsi_tape_release(&t);
    ck_assert_int_eq(dsn_encoding_set(s->e, "codes", "value", s->vals, s->R), DSN_OK);
    ck_assert_int_eq(dsn_decode(s->s, s->y, s->in->n * s->m->obs_size, s->e), DSN_OK);
    return s->w * rec_of(s, s->y) + s->beta * commit / cnt;
}

static double surrogate_cb(surrogate *s)
{
    ck_assert_int_eq(dsi_vqvae_codes_to_values(s->m, s->codes, s->R, s->vals), DSN_OK);
    double sq = 0, cnt = 0;
    for (size_t i = 0; i < s->R * s->D; i++) {
        double k = s->rmask[i / (size_t)s->D];
        sq += k * (s->u0[i] - s->vals[i]) * (s->u0[i] - s->vals[i]);
        cnt += k;
    }
    return sq / cnt;
}

/* Central differences for every unfrozen parameter element (max_checks > 0:
 * a random sample per parameter), skipping elements whose perturbation
 * changes a code (the loss is piecewise there). */
static void check_model_grads(dsn_model *m, const dsi_input *in, int max_checks, float beta, float w, int bern)
{
    size_t R = in->n * (size_t)dsi_vqvae_positions(m);
    int D = m->parts[0].dim;
    int32_t *c0 = malloc(R * sizeof *c0), *c1 = malloc(R * sizeof *c1), *c2 = malloc(R * sizeof *c2);
    dsi_tape *t = &m->tape;
    dsi_tape_reset(t);
    dsi_tape_set_recording(t, 1);
    dsi_params_zero_grad(&m->params);
    dsi_var *loss = NULL;
    dsi_terms terms = {0};
    ck_assert_int_eq(m->vt->loss(m, t, in, &loss, &terms), DSN_OK);
    ck_assert_int_eq(dsi_tape_backward(t, loss), DSN_OK);
    float *grad = malloc(m->params.n * sizeof(float));
    memcpy(grad, m->params.grad, m->params.n * sizeof(float));
    eval_loss(m, in, c0);
    surrogate s = {m, in, R, D, bern, beta, w};
    s.u0 = malloc(R * D * sizeof(float));
    s.q = malloc(R * D * sizeof(float));
    s.vals = malloc(R * D * sizeof(float));
    s.y = malloc(in->n * m->obs_size * sizeof(float));
    s.codes = c0;
    row_mask_of(&s);
    dsi_tape tt;
    dsi_tape_init(&tt);
    dsi_tape_set_recording(&tt, 0);
    memcpy(s.u0, dsi_vqvae_latents(m, &tt, in->x, in->n), R * D * sizeof(float));
    dsi_tape_release(&tt);
    ck_assert_int_eq(dsi_vqvae_codes_to_values(m, c0, R, s.q), DSN_OK);
    ck_assert_int_eq(dsn_session_create(&s.s, m, in->n), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&s.e, m, in->n), DSN_OK);
    ck_assert_int_eq(dsn_encoding_prepare(s.e, in->n, NULL), DSN_OK);
    dsi_rng r;
    dsi_rng_seed(&r, 11);
    int bad = 0, checked = 0, skipped = 0;
    for (int p = 0; p < m->params.count; p++) {
        const dsi_param *pp = &m->params.list[p];
        if (m->params.frozen[pp->group]) continue;
        int kind = !strncmp(pp->name, "enc.", 4) ? 1 : !strcmp(pp->name, "codebook") ? 2 : 0;
        size_t n = pp->var.n;
        int todo = max_checks > 0 && (size_t)max_checks < n ? max_checks : (int)n;
        for (int j = 0; j < todo; j++) {
            size_t i = todo == (int)n ? (size_t)j : (size_t)dsi_rng_below(&r, n);
            float *wp = m->params.data + pp->offset + i, w0 = *wp;
            double h = 1e-3 * (fabs(w0) > 1 ? fabs(w0) : 1), lp, lm;
            *wp = (float)(w0 + h);
            lp = kind == 1 ? surrogate_enc(&s) : kind == 2 ? surrogate_cb(&s) : eval_loss(m, in, NULL);
            eval_loss(m, in, c1);
            *wp = (float)(w0 - h);
            lm = kind == 1 ? surrogate_enc(&s) : kind == 2 ? surrogate_cb(&s) : eval_loss(m, in, NULL);
            eval_loss(m, in, c2);
            *wp = w0;
            if (kind != 2 && (memcmp(c0, c1, R * sizeof *c0) || memcmp(c0, c2, R * sizeof *c0))) {
                skipped++;
                continue;
            }
            double num = (lp - lm) / (2 * h), an = grad[pp->offset + i];
            checked++;
            if (fabs(an - num) > 2e-3 + 1e-2 * fmax(fabs(an), fabs(num))) {
                if (bad < 5) fprintf(stderr, "grad %s[%zu]: analytic %g numeric %g\n", pp->name, i, an, num);
                bad++;
            }
        }
    }
    ck_assert_msg(bad == 0, "%d of %d gradient elements mismatch", bad, checked);
    ck_assert_msg(skipped * 10 < checked, "too many skipped (%d of %d)", skipped, checked);
    dsn_encoding_free(s.e);
    dsn_session_free(s.s);
    free(s.u0);
    free(s.q);
    free(s.vals);
    free(s.y);
    free(s.rmask);
    free(grad);
    free(c0);
    free(c1);
    free(c2);
}

START_TEST(grad_image)
{
    /* loss-mode codebook: encoder, decoder and codebook all get gradients */
    dsn_model *m = make_model("channels=2, height=8, width=4, hidden=4, res_blocks=1, res_channels=3, code_dim=3,"
                              "num_codes=5, beta=0.5, data_var=0.5, codebook_update=loss, restart_dead=0, seed=3");
    float x[2 * 2 * 8 * 4];
    make_images(x, 2, 2, 8, 4, 5);
    /* codes spread over the codebook: start it from the encoder outputs */
    dsi_input in = {x, 2, NULL, 2, NULL};
    check_model_grads(m, &in, 0, 0.5f, 2.0f, 0);
    dsn_model_free(m);
}
END_TEST

START_TEST(grad_sequence_bernoulli_cosine)
{
    dsn_model *m = make_model("layout=sequence, frames=8, features=3, hidden=5, res_blocks=2, res_channels=2,"
                              "code_dim=4, num_codes=6, cosine=1, likelihood=bernoulli, codebook_update=loss, seed=4");
    float x[3 * 8 * 3];
    make_images(x, 3, 1, 8, 3, 6);
    float mask[3 * 8];
    for (int i = 0; i < 24; i++) mask[i] = (i % 8) < 4 || i < 8; /* items 1, 2: code position 1 is padding */
    dsi_input in = {x, 3, NULL, 3, mask};
    check_model_grads(m, &in, 40, 0.25f, 1.0f, 1);
    dsn_model_free(m);
}
END_TEST

START_TEST(grad_prior)
{
    const char *cfgs[] = {"height=8, width=12, hidden=4, res_blocks=0, code_dim=2, num_codes=7, prior_channels=3,"
                          "prior_layers=3, prior_kernel=3, prior_hidden=5, seed=5",
                          "layout=sequence, frames=16, features=2, hidden=4, res_blocks=0, code_dim=2, num_codes=7,"
                          "prior_channels=3, prior_hidden=5, seed=6"};
    for (int c = 0; c < 2; c++) {
        dsn_model *m = make_model(cfgs[c]);
        ck_assert_int_eq(dsn_model_set_stage(m, "prior"), DSN_OK);
        ck_assert_str_eq(host_info(m).stage, "prior");
        float x[3 * 8 * 12];
        make_images(x, 3, 1, c ? 16 : 8, c ? 2 : 12, 7);
        dsi_input in = {x, 3, NULL, 3, NULL};
        check_model_grads(m, &in, 30, 0.25f, 1.0f, 0);
        dsn_model_free(m);
    }
}
END_TEST

/* ---- encode / decode agree with the training forward ---- */

START_TEST(encode_decode_match_forward)
{
    dsn_model *m = make_model("channels=1, height=8, width=8, hidden=8, res_blocks=1, res_channels=4, code_dim=4,"
                              "num_codes=16, codebook_update=loss, restart_dead=0, seed=2");
    enum { N = 3, OBS = 64 };
    float x[N * OBS], y[N * OBS];
    make_images(x, N, 1, 8, 8, 9);
    dsi_input in = {x, N, NULL, N, NULL};
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_tape_set_recording(&t, 0);
    dsi_var *loss;
    dsi_terms terms = {0};
    ck_assert_int_eq(m->vt->loss(m, &t, &in, &loss, &terms), DSN_OK);
    ck_assert_str_eq(terms.names[1], "rec");
    float rec = terms.values[1];
    dsi_tape_release(&t);
    dsn_session *s;
    dsn_encoding *e;
    ck_assert_int_eq(dsn_session_create(&s, m, N), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&e, m, N), DSN_OK);
    ck_assert_int_eq(dsn_encode(s, e, x, N, NULL), DSN_OK);
    ck_assert_int_eq(dsn_decode(s, y, N * OBS, e), DSN_OK);
    double se = 0;
    for (int i = 0; i < N * OBS; i++) se += (double)(x[i] - y[i]) * (x[i] - y[i]);
    ck_assert_close(se / (N * OBS), rec, 1e-5 * (1 + rec));
    /* codes round trip through the public codes API */
    size_t rows;
    ck_assert_int_eq(dsn_encoding_get_codes(e, NULL, 0, &rows, "codes"), DSN_OK);
    ck_assert_uint_eq(rows, N * 4);
    int32_t codes[N * 4];
    ck_assert_int_eq(dsn_encoding_get_codes(e, codes, rows, NULL, "codes"), DSN_OK);
    float vals[N * 4 * 4], vals2[N * 4 * 4];
    ck_assert_int_eq(dsn_encoding_get(e, vals, sizeof vals / sizeof *vals, NULL, NULL, "codes", "value"), DSN_OK);
    dsn_encoding *e2;
    ck_assert_int_eq(dsn_encoding_create(&e2, m, N), DSN_OK);
    ck_assert_int_eq(dsn_encoding_prepare(e2, N, NULL), DSN_OK);
    ck_assert_int_eq(dsn_encoding_set_codes(e2, "codes", codes, rows), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(e2, vals2, sizeof vals2 / sizeof *vals2, NULL, NULL, "codes", "value"), DSN_OK);
    ck_assert_mem_eq(vals, vals2, sizeof vals);
    float y2[N * OBS];
    ck_assert_int_eq(dsn_decode(s, y2, N * OBS, e2), DSN_OK);
    ck_assert_mem_eq(y, y2, sizeof y);
    /* bad codes and sizes are refused */
    codes[1] = 16;
    ck_assert_int_eq(dsn_encoding_set_codes(e2, "codes", codes, rows), DSN_E_INVALID);
    ck_assert_int_eq(dsn_encoding_set_codes(e2, "codes", codes, rows - 1), DSN_E_SHAPE);
    ck_assert_int_eq(dsn_encoding_get_codes(e2, codes, 2, NULL, "codes"), DSN_E_SHAPE);
    ck_assert_int_eq(dsn_encoding_get_codes(e2, codes, rows, NULL, "nope"), DSN_E_INVALID);
    dsn_encoding_free(e);
    dsn_encoding_free(e2);
    dsn_session_free(s);
    dsn_model_free(m);
}
END_TEST

/* ---- EMA: one training step against the formulas ---- */

START_TEST(ema_step)
{
    const int K = 6, D = 3, N = 4, P = 4;
    dsn_model *m = make_model("channels=1, height=8, width=8, hidden=4, res_blocks=1, res_channels=2, code_dim=3,"
                              "num_codes=6, codebook_update=ema, decay=0.9, ema_eps=0.01, seed=8");
    dsn_optimizer *opt = make_opt(m, "0.001");
    float x[4 * 64];
    make_images(x, N, 1, 8, 8, 10);
    dsi_vq_prior_class_axis(dsi_vqvae_prior(m)); /* linked */
    const dsi_var *cb = dsi_params_var(&m->params, dsi_params_find(&m->params, "codebook"));
    float E0[6 * 3];
    memcpy(E0, cb->x, sizeof E0);
    /* the codes and encoder outputs the step will see */
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_tape_set_recording(&t, 0);
    const float *z = dsi_vqvae_latents(m, &t, x, N);
    float zr[4 * 4 * 3];
    memcpy(zr, z, sizeof zr);
    int32_t idx[16];
    dsi_tape_reset(&t);
    ck_assert_int_eq(dsi_vqvae_encode_codes(m, &t, x, N, idx), DSN_OK);
    dsi_tape_release(&t);
    ck_assert_int_eq(dsn_train_step(m, opt, NULL, x, N, NULL), DSN_OK);
    double cnt[6] = {0}, sum[6][3] = {{0}};
    for (int i = 0; i < N * P; i++) {
        cnt[idx[i]] += 1;
        for (int d = 0; d < D; d++) sum[idx[i]][d] += zr[i * D + d];
    }
    const float *ec = dsi_vqvae_vq(m)->ema_count, *es = dsi_vqvae_vq(m)->ema_sum;
    double Nk[6], tot = 0;
    for (int k = 0; k < K; k++) {
        Nk[k] = 0.9 * 1.0 + 0.1 * cnt[k]; /* the state starts at N = 1, m = e */
        tot += Nk[k];
        ck_assert_close(ec[k], Nk[k], 1e-5);
        for (int d = 0; d < D; d++) ck_assert_close(es[k * D + d], 0.9 * E0[k * D + d] + 0.1 * sum[k][d], 1e-5);
    }
    for (int k = 0; k < K; k++) {
        double nk = (Nk[k] + 0.01) / (tot + K * 0.01) * tot;
        for (int d = 0; d < D; d++)
            ck_assert_close(cb->x[k * D + d], (0.9 * E0[k * D + d] + 0.1 * sum[k][d]) / nk, 1e-5);
    }
    ck_assert_int_eq((int)stat_of(m, NULL, "codebook.size"), K);
    ck_assert_int_eq((int)stat_of(m, NULL, "codebook.steps"), 1);
    int used = 0;
    for (int k = 0; k < K; k++) used += cnt[k] > 0;
    ck_assert_int_eq((int)stat_of(m, NULL, "codebook.used"), used);
    ck_assert_close(stat_of(m, NULL, "codebook.used_fraction"), (double)used / K, 1e-12);
    /* the terms reach the progress callback's source */
    const char *names[16];
    float vals[16];
    int nt = dsn_train_terms(m, names, vals, 16);
    int found = 0;
    for (int i = 0; i < nt; i++) found += !strcmp(names[i], "perplexity") || !strcmp(names[i], "used_frac") || !strcmp(names[i], "dead");
    ck_assert_int_eq(found, 3);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
}
END_TEST

/* ---- save / load and resume ---- */

#define RCFG "channels=1, height=8, width=8, hidden=6, res_blocks=1, res_channels=3, code_dim=4, num_codes=24," \
             "codebook_update=ema, kmeans_init=1, kmeans_iters=2, restart_dead=1, dead_after=2, restart_every=3," \
             "restart_buffer=50, prior_channels=4, prior_layers=2, prior_hidden=8, seed=21"

static void steps(dsn_model *m, dsn_optimizer *opt, const float *data, int from, int to)
{
    for (int s = from; s < to; s++)
        ck_assert_msg(dsn_train_step(m, opt, NULL, data + (size_t)(s % 5) * 8 * 64, 8, NULL) == DSN_OK, "%s",
                      dsn_last_error());
}

START_TEST(save_load_resume)
{
    float data[5 * 8 * 64];
    make_images(data, 40, 1, 8, 8, 12);
    char path[512], path2[512];
    snprintf(path, sizeof path, "%s/vq_ckpt.dsn", tu_tmpdir());
    snprintf(path2, sizeof path2, "%s/vq_plain.dsn", tu_tmpdir());
    dsn_model *a = make_model(RCFG), *c = make_model(RCFG);
    dsn_optimizer *oa = make_opt(a, "0.003"), *oc = make_opt(c, "0.003");
    steps(a, oa, data, 0, 10);
    ck_assert_double_gt(stat_of(a, NULL, "codebook.restarts"), 0);
    ck_assert_int_eq(dsn_model_save(a, oa, path), DSN_OK);
    ck_assert_int_eq(dsn_model_save(a, NULL, path2), DSN_OK);
    /* plain round trip: identical weights, EMA state, codes */
    dsn_model *b;
    ck_assert_int_eq(dsn_model_load(&b, path2), DSN_OK);
    ck_assert_int_eq(b->params.n, a->params.n);
    ck_assert_mem_eq(b->params.data, a->params.data, a->params.n * sizeof(float));
    dsn_session *sa, *sb;
    dsn_encoding *ea, *eb;
    ck_assert_int_eq(dsn_session_create(&sa, a, 8), DSN_OK);
    ck_assert_int_eq(dsn_session_create(&sb, b, 8), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&ea, a, 8), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&eb, b, 8), DSN_OK);
    ck_assert_int_eq(dsn_encode(sa, ea, data, 8, NULL), DSN_OK);
    ck_assert_int_eq(dsn_encode(sb, eb, data, 8, NULL), DSN_OK);
    int32_t ca[8 * 4], cbb[8 * 4];
    ck_assert_int_eq(dsn_encoding_get_codes(ea, ca, 32, NULL, "codes"), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get_codes(eb, cbb, 32, NULL, "codes"), DSN_OK);
    ck_assert_mem_eq(ca, cbb, sizeof ca);
    dsn_encoding_free(ea);
    dsn_encoding_free(eb);
    dsn_session_free(sa);
    dsn_session_free(sb);
    dsn_model_free(b);
    /* resume: 10 + save + load + 10 == 20 straight, bit for bit (EMA,
     * restarts, k-means done once, then the prior stage) */
    dsn_optimizer_free(oa);
    dsn_model_free(a);
    ck_assert_int_eq(dsn_model_load(&a, path), DSN_OK);
    ck_assert_int_eq(dsn_optimizer_load(&oa, a, path), DSN_OK);
    steps(a, oa, data, 10, 20);
    steps(c, oc, data, 0, 20);
    ck_assert_mem_eq(a->params.data, c->params.data, a->params.n * sizeof(float));
    /* prior stage, saved mid-way and resumed */
    ck_assert_int_eq(dsn_model_set_stage(a, "prior"), DSN_OK);
    ck_assert_int_eq(dsn_model_set_stage(c, "prior"), DSN_OK);
    dsn_optimizer_free(oa);
    dsn_optimizer_free(oc);
    oa = make_opt(a, "0.003");
    oc = make_opt(c, "0.003");
    steps(a, oa, data, 0, 4);
    ck_assert_int_eq(dsn_model_save(a, oa, path), DSN_OK);
    dsn_optimizer_free(oa);
    dsn_model_free(a);
    ck_assert_int_eq(dsn_model_load(&a, path), DSN_OK);
    ck_assert_str_eq(host_info(a).stage, "prior");
    ck_assert_int_eq(dsn_optimizer_load(&oa, a, path), DSN_OK);
    steps(a, oa, data, 4, 8);
    steps(c, oc, data, 0, 8);
    ck_assert_mem_eq(a->params.data, c->params.data, a->params.n * sizeof(float));
    dsn_optimizer_free(oa);
    dsn_optimizer_free(oc);
    dsn_model_free(a);
    dsn_model_free(c);
}
END_TEST

/* ---- one validation loss through a run ---- */
typedef struct epoch_figs {
    int n;
    float valid_loss[8], valid_objective[8];
} epoch_figs;

static int on_epoch(void *user, int epoch, int64_t step, int epoch_end, int n, const char *const *names,
                    const float *values)
{
    epoch_figs *f = user;
    (void)epoch, (void)step;
    if (!epoch_end || f->n >= 8) return 0;
    ck_assert_int_eq(n, 5);
    ck_assert_str_eq(names[1], "valid_loss");
    ck_assert_str_eq(names[3], "valid_objective");
    f->valid_loss[f->n] = values[1];
    f->valid_objective[f->n] = values[3];
    f->n++;
    return 0;
}

/* valid_loss is the autoencoder's loss in both stages: the prior stage, which
 * freezes the autoencoder, leaves it exactly as the last autoencoder epoch
 * left it, while valid_objective becomes the prior's NLL and falls */
START_TEST(valid_loss_is_the_same_across_stages)
{
    enum { N = 96 };
    static float x[N * 64];
    make_images(x, N, 1, 8, 8, 5);
    size_t shape[3] = {1, 8, 8};
    dsn_dataset *all, *tr, *va;
    ck_assert_int_eq(dsn_dataset_from_memory(&all, x, N, shape, 3, NULL, NULL), DSN_OK);
    ck_assert_int_eq(dsn_dataset_split(all, &tr, &va, 0.25, 1, 0), DSN_OK);
    dsn_model *m = make_model(RCFG);
    dsn_optimizer *opt = make_opt(m, "0.003");
    dsn_options *fo;
    ck_assert_int_eq(dsn_options_create(&fo), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(fo, "epochs=2, batch_size=16, steps_per_epoch=6"), DSN_OK);
    epoch_figs f = {0};
    ck_assert_msg(dsn_fit(m, opt, tr, va, fo, on_epoch, &f) == DSN_OK, "%s", dsn_last_error());
    ck_assert_int_eq(f.n, 2);
    ck_assert_float_eq(f.valid_loss[1], f.valid_objective[1]); /* the autoencoder stage: the same loss */
    ck_assert_int_eq(dsn_model_set_stage(m, "prior"), DSN_OK);
    dsn_optimizer *po = make_opt(m, "0.01");
    ck_assert_int_eq(dsn_options_set(fo, "epochs", "5"), DSN_OK);
    ck_assert_msg(dsn_fit(m, po, tr, va, fo, on_epoch, &f) == DSN_OK, "%s", dsn_last_error());
    ck_assert_int_eq(f.n, 5);
    for (int e = 2; e < 5; e++) {
        ck_assert_float_eq(f.valid_loss[e], f.valid_loss[1]);
        ck_assert(fabsf(f.valid_objective[e] - f.valid_loss[e]) > 1e-3f);
    }
    ck_assert_float_lt(f.valid_objective[4], f.valid_objective[2]);
    dsn_options_free(fo);
    dsn_optimizer_free(opt);
    dsn_optimizer_free(po);
    dsn_model_free(m);
    dsn_dataset_free(tr);
    dsn_dataset_free(va);
    dsn_dataset_free(all);
}
END_TEST


/* ---- training state: its own model-file section, validated on load ---- */

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len);
    ck_assert_int_eq(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

/* Write a copy of the file at src to dst with the u32 at byte `off` of the
 * MSTA section's payload replaced by v (and the CRC fixed, so only the state
 * check can catch it). */
static void craft_state(const char *src, const char *dst, size_t off, uint32_t v)
{
    size_t len;
    unsigned char *b = read_all(src, &len);
    size_t at = 0;
    for (size_t i = 16; i + 4 <= len; i++)
        if (!memcmp(b + i, "MSTA", 4)) at = i + 4 + 8;
    ck_assert_msg(at > 0, "no MSTA section in the file");
    for (int k = 0; k < 4; k++) b[at + off + k] = (unsigned char)(v >> (8 * k));
    uint32_t crc = dsi_crc32(0, b, len - 4);
    for (int k = 0; k < 4; k++) b[len - 4 + k] = (unsigned char)(crc >> (8 * k));
    FILE *f = fopen(dst, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(b, 1, len, f), len);
    fclose(f);
    free(b);
}

START_TEST(state_section)
{
    dsn_model *m = make_model(RCFG);
    /* the state is not a parameter: no "vqstate" group, num_params counts weights only */
    for (int i = 0; i < m->params.count; i++)
        ck_assert_msg(strncmp(m->params.list[i].name, "vqstate", 7) != 0, "%s", m->params.list[i].name);
    dsn_optimizer *opt = make_opt(m, "0.003");
    float data[5 * 8 * 64];
    make_images(data, 40, 1, 8, 8, 12);
    steps(m, opt, data, 0, 4);
    char path[512], bad[512];
    snprintf(path, sizeof path, "%s/vq_state.dsn", tu_tmpdir());
    snprintf(bad, sizeof bad, "%s/vq_state_bad.dsn", tu_tmpdir());
    ck_assert_int_eq(dsn_model_save(m, NULL, path), DSN_OK);
    dsn_model *b = NULL;
    ck_assert_int_eq(dsn_model_load(&b, path), DSN_OK);
    ck_assert_int_eq((int)stat_of(b, NULL, "codebook.size"), 24);
    dsn_model_free(b);
    /* payload: vq-vae u32 version, u32 initialised, u64 steps; codebook u32
     * version, K, D, buffer, ema_ready, buf_n, buf_pos, ... */
    const struct { size_t off; uint32_t v; const char *what; } cases[] = {
        {16 + 24, 1000, "buf_pos"},   /* position outside the 50-vector ring */
        {16 + 20, 51, "buf_n"},       /* more vectors than the ring holds */
        {16 + 16, 2, "ema_ready"},
        {4, 7, "initialised"},
        {0, 9, "version"},
        {16 + 4, 25, "K"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        craft_state(path, bad, cases[i].off, cases[i].v);
        b = NULL;
        dsn_status st = dsn_model_load(&b, bad);
        ck_assert_msg(st == DSN_E_FORMAT, "%s = %u: status %d (%s)", cases[i].what, cases[i].v, st, dsn_last_error());
        ck_assert_ptr_null(b);
    }
    dsn_optimizer_free(opt);
    dsn_model_free(m);
}
END_TEST

/* A step the optimizer refuses (here: its learning rate is not finite) leaves
 * the codebook, its EMA state and counters as they were. */
START_TEST(refused_step)
{
    dsn_model *m = make_model("channels=1, height=8, width=8, hidden=4, res_blocks=1, res_channels=2, code_dim=3,"
                              "num_codes=6, codebook_update=ema, decay=0.9, restart_dead=1, dead_after=1,"
                              "restart_every=1, seed=8");
    dsn_optimizer *opt = make_opt(m, "0.001");
    float x[4 * 64];
    make_images(x, 4, 1, 8, 8, 10);
    ck_assert_int_eq(dsn_train_step(m, opt, NULL, x, 4, NULL), DSN_OK);
    const dsi_var *cb = dsi_params_var(&m->params, dsi_params_find(&m->params, "codebook"));
    float E0[18], C0[6];
    memcpy(E0, cb->x, sizeof E0);
    memcpy(C0, dsi_vqvae_vq(m)->ema_count, sizeof C0);
    double steps0 = stat_of(m, NULL, "codebook.steps");
    float lr = opt->optim.cfg.lr;
    opt->optim.cfg.lr = NAN; /* the loss and gradients are fine; the optimizer refuses the update */
    dsn_status st = dsn_train_step(m, opt, NULL, x, 4, NULL);
    ck_assert_msg(st == DSN_E_NUMERIC, "status %d: %s", st, dsn_last_error());
    ck_assert_mem_eq(cb->x, E0, sizeof E0);
    ck_assert_mem_eq(dsi_vqvae_vq(m)->ema_count, C0, sizeof C0);
    ck_assert_double_eq(stat_of(m, NULL, "codebook.steps"), steps0);
    opt->optim.cfg.lr = lr; /* and the next accepted step moves them again */
    ck_assert_int_eq(dsn_train_step(m, opt, NULL, x, 4, NULL), DSN_OK);
    ck_assert_double_eq(stat_of(m, NULL, "codebook.steps"), steps0 + 1);
    ck_assert_int_ne(memcmp(dsi_vqvae_vq(m)->ema_count, C0, sizeof C0), 0);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
}
END_TEST

/* ---- prior ---- */

/* logits at positions <= p never change when the code at p changes */
START_TEST(prior_causal)
{
    const char *cfgs[] = {"height=20, width=16, hidden=2, res_blocks=0, code_dim=2, num_codes=9, prior_channels=4,"
                          "prior_layers=4, prior_kernel=5, prior_hidden=6",
                          "layout=sequence, frames=24, features=2, hidden=2, res_blocks=0, code_dim=2, num_codes=9,"
                          "prior_channels=4, prior_hidden=6"};
    for (int c = 0; c < 2; c++) {
        dsn_model *m = make_model(cfgs[c]);
        const dsi_vq_prior *pr = dsi_vqvae_prior(m);
        int P = pr->gh * pr->gw, K = pr->K, N = 2;
        int32_t codes[2 * 20];
        dsi_rng r;
        dsi_rng_seed(&r, 4);
        for (int i = 0; i < N * P; i++) codes[i] = (int32_t)dsi_rng_below(&r, (uint64_t)K);
        dsi_tape t;
        dsi_tape_init(&t);
        dsi_tape_set_recording(&t, 0);
        float base[2 * 9 * 20], pert[2 * 9 * 20];
        dsi_var *l = dsi_vq_prior_logits(&t, pr, &m->params, codes, N);
        ck_assert_ptr_nonnull(l);
        memcpy(base, l->x, l->n * sizeof(float));
        int axis = dsi_vq_prior_class_axis(pr);
        int later_changed = 0;
        for (int p = 0; p < P; p++) {
            int32_t old = codes[P + p]; /* item 1 */
            codes[P + p] = (old + 1 + (int32_t)dsi_rng_below(&r, (uint64_t)K - 1)) % K;
            dsi_tape_reset(&t);
            l = dsi_vq_prior_logits(&t, pr, &m->params, codes, N);
            memcpy(pert, l->x, l->n * sizeof(float));
            for (int q = 0; q < P; q++)
                for (int k = 0; k < K; k++) {
                    size_t off1 = axis == 1 ? ((size_t)1 * K + k) * P + q : ((size_t)1 * P + q) * K + k;
                    size_t off0 = axis == 1 ? (size_t)k * P + q : (size_t)q * K + k;
                    ck_assert_msg(base[off0] == pert[off0], "item 0 changed");
                    if (q <= p) ck_assert_msg(base[off1] == pert[off1], "layout %d: logit at %d sees position %d", c, q, p);
                    else later_changed += base[off1] != pert[off1];
                }
            codes[P + p] = old;
        }
        ck_assert_int_gt(later_changed, 0);
        dsi_tape_release(&t);
        dsn_model_free(m);
    }
}
END_TEST

/* code[p] = (code[p-1] + 1) mod K after a uniform first code: 1/P * log2 K bits per code */
static void chain_codes(int32_t *codes, int N, int P, int K, dsi_rng *r)
{
    for (int n = 0; n < N; n++) {
        codes[n * P] = (int32_t)dsi_rng_below(r, (uint64_t)K);
        for (int p = 1; p < P; p++) codes[n * P + p] = (codes[n * P + p - 1] + 1) % K;
    }
}

START_TEST(prior_learns)
{
    const char *cfgs[] = {"height=16, width=16, hidden=2, res_blocks=0, code_dim=2, num_codes=16, prior_channels=16,"
                          "prior_layers=4, prior_hidden=32, seed=3",
                          "layout=sequence, frames=64, features=2, hidden=2, res_blocks=0, code_dim=2, num_codes=16,"
                          "prior_channels=24, prior_hidden=32, seed=3"};
    for (int c = 0; c < 2; c++) {
        dsn_model *m = make_model(cfgs[c]);
        ck_assert_int_eq(dsn_model_set_stage(m, "prior"), DSN_OK);
        dsn_optimizer *opt = make_opt(m, "0.01");
        const dsi_vq_prior *pr = dsi_vqvae_prior(m);
        int P = pr->gh * pr->gw, K = 16, N = 16;
        int32_t codes[16 * 16];
        dsi_rng r;
        dsi_rng_seed(&r, 9);
        dsi_tape *t = &m->tape;
        float first = 0, last = 0;
        for (int s = 0; s < 150; s++) {
            chain_codes(codes, N, P, K, &r);
            dsi_tape_reset(t);
            dsi_tape_set_recording(t, 1);
            dsi_params_zero_grad(&m->params);
            dsi_var *l = dsi_vq_prior_nll(t, pr, &m->params, codes, N);
            ck_assert_ptr_nonnull(l);
            ck_assert_int_eq(dsi_tape_backward(t, l), DSN_OK);
            ck_assert_int_eq(dsi_optim_step(&opt->optim, NULL), DSN_OK);
            if (s == 0) first = l->x[0];
            last = l->x[0];
        }
        /* held-out bits per code */
        chain_codes(codes, N, P, K, &r);
        dsi_tape_reset(t);
        dsi_tape_set_recording(t, 0);
        double nats;
        ck_assert_int_eq(dsi_vqvae_prior_nll(m, t, codes, N, &nats), DSN_OK);
        double bits = nats / log(2.0);
        fprintf(stderr, "prior %s: %.3f -> %.3f nats; held-out %.3f bits/code (log2 K = 4, ideal %.3f)\n",
                c ? "lstm" : "pixelcnn", first, last, bits, 4.0 / P);
        ck_assert_msg(bits < 1.0, "bits per code %.3f", bits);
        /* sampling: deterministic per seed; greedy continues the chain */
        dsn_session *ss;
        dsn_encoding *e;
        ck_assert_int_eq(dsn_session_create(&ss, m, 4), DSN_OK);
        ck_assert_int_eq(dsn_encoding_create(&e, m, 4), DSN_OK);
        ck_assert_int_eq(dsn_encoding_prepare(e, 4, NULL), DSN_OK);
        int32_t s1[4 * 16], s2[4 * 16], s3[4 * 16];
        ck_assert_int_eq(dsn_sample(ss, e, "codes", 5), DSN_OK);
        ck_assert_int_eq(dsn_encoding_get_codes(e, s1, 64, NULL, "codes"), DSN_OK);
        ck_assert_int_eq(dsn_sample(ss, e, "codes", 5), DSN_OK);
        ck_assert_int_eq(dsn_encoding_get_codes(e, s2, 64, NULL, "codes"), DSN_OK);
        ck_assert_mem_eq(s1, s2, sizeof s1);
        ck_assert_int_eq(dsn_sample(ss, e, "codes", 6), DSN_OK);
        ck_assert_int_eq(dsn_encoding_get_codes(e, s3, 64, NULL, "codes"), DSN_OK);
        ck_assert_msg(memcmp(s1, s3, sizeof s1) != 0, "seeds 5 and 6 drew the same codes");
        int follow = 0;
        for (int n = 0; n < 4; n++)
            for (int p = 1; p < P; p++) follow += s1[n * P + p] == (s1[n * P + p - 1] + 1) % K;
        ck_assert_msg(follow > 3 * 4 * (P - 1) / 4, "samples follow the chain at %d of %d positions", follow, 4 * (P - 1));
        /* top_k = 1 is greedy */
        ck_assert_int_eq(dsn_model_set_option(m, "temperature", "1"), DSN_OK);
        ck_assert_int_eq(dsn_model_set_option(m, "top_k", "1"), DSN_OK);
        ck_assert_int_eq(dsn_sample(ss, e, "codes", 7), DSN_OK);
        ck_assert_int_eq(dsn_encoding_get_codes(e, s1, 64, NULL, "codes"), DSN_OK);
        ck_assert_int_eq(dsn_model_set_option(m, "temperature", "0"), DSN_OK);
        ck_assert_int_eq(dsn_model_set_option(m, "top_k", "0"), DSN_OK);
        ck_assert_int_eq(dsn_sample(ss, e, "codes", 8), DSN_OK);
        ck_assert_int_eq(dsn_encoding_get_codes(e, s2, 64, NULL, "codes"), DSN_OK);
        ck_assert_mem_eq(s1, s2, sizeof s1);
        ck_assert_int_eq(dsn_model_set_option(m, "temperature", "-1"), DSN_E_OPTION);
        ck_assert_int_eq(dsn_model_set_option(m, "top_k", "x"), DSN_E_OPTION);
        ck_assert_int_eq(dsn_model_set_option(m, "num_codes", "3"), DSN_E_OPTION);
        ck_assert_str_eq(dsn_options_get(dsn_model_options(m), "temperature"), "0");
        /* the vectors are the codebook rows of the sampled codes */
        float vals[4 * 16 * 2], ref[4 * 16 * 2];
        ck_assert_int_eq(dsn_encoding_get(e, vals, 128, NULL, NULL, "codes", "value"), DSN_OK);
        ck_assert_int_eq(dsi_vqvae_codes_to_values(m, s2, 64, ref), DSN_OK);
        ck_assert_mem_eq(vals, ref, sizeof vals);
        dsn_encoding_free(e);
        dsn_session_free(ss);
        dsn_optimizer_free(opt);
        dsn_model_free(m);
    }
}
END_TEST

/* ---- allocation ---- */

START_TEST(no_allocation)
{
    dsn_model *m = make_model("channels=1, height=8, width=8, hidden=6, res_blocks=1, res_channels=3, code_dim=4,"
                              "num_codes=16, codebook_update=ema, kmeans_init=1, restart_dead=1, dead_after=1,"
                              "restart_every=1, prior_channels=4, prior_layers=2, prior_hidden=8");
    dsn_optimizer *opt = make_opt(m, "0.001");
    float x[8 * 64], y[8 * 64];
    make_images(x, 8, 1, 8, 8, 13);
    steps(m, opt, x, 0, 1);
    uint64_t a0 = dsn_allocation_count();
    for (int s = 0; s < 3; s++) ck_assert_int_eq(dsn_train_step(m, opt, NULL, x, 8, NULL), DSN_OK);
    ck_assert_uint_eq(dsn_allocation_count(), a0);
    ck_assert_int_eq(dsn_model_set_stage(m, "prior"), DSN_OK);
    ck_assert_int_eq(dsn_train_step(m, opt, NULL, x, 8, NULL), DSN_OK);
    a0 = dsn_allocation_count();
    for (int s = 0; s < 3; s++) ck_assert_int_eq(dsn_train_step(m, opt, NULL, x, 8, NULL), DSN_OK);
    ck_assert_uint_eq(dsn_allocation_count(), a0);
    dsn_session *s;
    dsn_encoding *e;
    ck_assert_int_eq(dsn_session_create(&s, m, 8), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&e, m, 8), DSN_OK);
    int32_t codes[32];
    for (int round = 0; round < 2; round++) {
        a0 = dsn_allocation_count();
        ck_assert_int_eq(dsn_encode(s, e, x, 8, NULL), DSN_OK);
        ck_assert_int_eq(dsn_decode(s, y, 8 * 64, e), DSN_OK);
        ck_assert_int_eq(dsn_encoding_get_codes(e, codes, 32, NULL, "codes"), DSN_OK);
        ck_assert_int_eq(dsn_encoding_set_codes(e, "codes", codes, 32), DSN_OK);
        ck_assert_int_eq(dsn_sample(s, e, "codes", 1), DSN_OK);
        ck_assert_int_eq(dsn_decode(s, y, 8 * 64, e), DSN_OK);
        if (round == 1) ck_assert_uint_eq(dsn_allocation_count(), a0);
    }
    dsn_encoding_free(e);
    dsn_session_free(s);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
}
END_TEST

/* ---- options ---- */

static void expect_option_error(const char *text, const char *key)
{
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(o, text), DSN_OK);
    dsn_model *m = NULL;
    ck_assert_int_eq(dsn_model_create(&m, "vq-vae", o), DSN_E_OPTION);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(dsn_last_error(), key) != NULL, "'%s': message '%s' does not name '%s'", text,
                  dsn_last_error(), key);
    dsn_options_free(o);
}

START_TEST(bad_options)
{
    expect_option_error("num_codez=5", "num_codez");
    expect_option_error("num_codes=1", "num_codes");
    expect_option_error("height=30", "height");
    expect_option_error("width=10", "width");
    expect_option_error("codebook_update=kmeans", "codebook_update");
    expect_option_error("likelihood=poisson", "likelihood");
    expect_option_error("frames=64", "frames"); /* an image model has no frames */
    expect_option_error("layout=sequence, height=8", "height");
    expect_option_error("layout=sequence, frames=30", "frames");
    expect_option_error("prior_kernel=4", "prior_kernel");
    expect_option_error("stage=decoder", "stage");
    expect_option_error("beta=-1", "beta");
    /* family-specific calls on another family */
    dsn_model *m = NULL;
    ck_assert_int_eq(dsn_model_create(&m, "ml-vae", NULL), DSN_OK);
    size_t ns = 99;
    const char *sn[4];
    double sv[4];
    ck_assert_int_eq(dsn_model_stats(m, sn, sv, 4, &ns, NULL), DSN_OK);
    ck_assert_int_eq(ns, 1); /* no family figures: only the trainer's skipped steps */
    ck_assert_str_eq(sn[0], "training.skipped_steps");
    ck_assert_int_eq(dsn_model_set_stage(m, "prior"), DSN_E_UNSUPPORTED);
    ck_assert_int_eq(dsn_model_set_option(m, "temperature", "1"), DSN_E_OPTION);
    ck_assert_ptr_null(host_info(m).stage);
    dsn_model_free(m);
    m = make_model("height=8, width=8, hidden=2, res_blocks=0, code_dim=2, num_codes=4");
    ck_assert_int_eq(dsn_model_set_stage(m, "encoder"), DSN_E_INVALID);
    ck_assert_str_eq(host_info(m).stage, "autoencoder");
    dsn_model_free(m);
}
END_TEST

/* ---- a short run on real digits ---- */

START_TEST(mnist_short)
{
    dsn_dataset *all = NULL;
    if (dsn_dataset_from_mnist(&all, DSN_SOURCE_DIR "/data/mnist", 1) != DSN_OK) {
        TU_SKIP("no MNIST in data/mnist (run scripts/fetch-mnist.sh)");
    }
    dsn_dataset *sub, *rest;
    ck_assert_int_eq(dsn_dataset_split(all, &sub, &rest, 0.9, 1, 0), DSN_OK);
    dsn_dataset_free(rest);
    dsn_dataset_free(all);
    dsn_model *m = make_model("channels=1, height=28, width=28, hidden=16, res_blocks=1, res_channels=8,"
                              "code_dim=8, num_codes=64, restart_dead=1, dead_after=20, restart_every=10, seed=2");
    dsn_optimizer *opt = make_opt(m, "0.002");
    dsn_options *fo;
    ck_assert_int_eq(dsn_options_create(&fo), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(fo, "epochs=1, batch_size=32, steps_per_epoch=150"), DSN_OK);
    double used0 = 0, used1 = 0, perp1 = 0;
    double mse0 = 0, mse1 = 0;
    size_t n = host_ds(sub).size;
    float *x = malloc(n * 784 * sizeof(float)), *y = malloc(64 * 784 * sizeof(float));
    for (size_t i = 0; i < n; i++) ck_assert_int_eq(dsn_dataset_get(sub, x + i * 784, 784, NULL, i), DSN_OK);
    dsn_session *s;
    dsn_encoding *e;
    ck_assert_int_eq(dsn_session_create(&s, m, 64), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&e, m, 64), DSN_OK);
    for (int pass = 0; pass < 2; pass++) {
        if (pass) ck_assert_msg(dsn_fit(m, opt, sub, NULL, fo, NULL, NULL) == DSN_OK, "%s", dsn_last_error());
        double se = 0;
        ck_assert_int_eq(dsn_encode(s, e, x, 64, NULL), DSN_OK);
        ck_assert_int_eq(dsn_decode(s, y, 64 * 784, e), DSN_OK);
        for (int i = 0; i < 64 * 784; i++) se += (double)(x[i] - y[i]) * (x[i] - y[i]);
        *(pass ? &mse1 : &mse0) = se / (64 * 784);
        *(pass ? &used1 : &used0) = stat_of(m, sub, "codebook.used_fraction");
        if (pass) perp1 = stat_of(m, sub, "codebook.perplexity");
    }
    fprintf(stderr, "mnist_short: mse %.4f -> %.4f, used %.2f -> %.2f of 64 codes, perplexity %.1f, restarts %.0f\n",
            mse0, mse1, used0, used1, perp1, stat_of(m, NULL, "codebook.restarts"));
    ck_assert_double_lt(mse1, 0.5 * mse0);
    ck_assert_double_gt(used1, 0.5);
    free(x);
    free(y);
    dsn_encoding_free(e);
    dsn_session_free(s);
    dsn_options_free(fo);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
    dsn_dataset_free(sub);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vqvae");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, xent_op);
    tcase_add_test(tc, grad_image);
    tcase_add_test(tc, grad_sequence_bernoulli_cosine);
    tcase_add_test(tc, grad_prior);
    tcase_add_test(tc, encode_decode_match_forward);
    tcase_add_test(tc, ema_step);
    tcase_add_test(tc, save_load_resume);
    tcase_add_test(tc, valid_loss_is_the_same_across_stages);
    tcase_add_test(tc, state_section);
    tcase_add_test(tc, refused_step);
    tcase_add_test(tc, prior_causal);
    tcase_add_test(tc, prior_learns);
    tcase_add_test(tc, no_allocation);
    tcase_add_test(tc, bad_options);
    tcase_add_test(tc, mnist_short);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
