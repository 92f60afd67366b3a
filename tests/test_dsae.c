/* test_dsae.c - DSAE and TS-DSAE: options and parts, gradient checks through
 * the full losses (both TS-DSAE stages, every encoder/decoder variant), masks,
 * the stage switch (freeze, snapshot, unfreeze, exact resume across it),
 * swap accuracy on synthetic two-timbre tone sequences, model file round
 * trips, prior sampling and allocation-free steps, encode and decode.
 * DSN_DSAE_BENCH=1 also times a training step of the reference configuration
 * (batch 128, T 250). */
#include "autodiff/ops.h"
#include "disent.h"
#include "models/model.h"
#include "support/gradcheck.h"
#include "support/testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TINY "frames=5, n_mels=6, v_dim=3, z_dim=2, hidden=4:4, dec_hidden=5, prior_hidden=3, encoder_lstm=3, decoder_lstm=3"

static dsn_model *make(const char *family, const char *text)
{
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(o, text), DSN_OK);
    dsn_model *m = NULL;
    dsn_status st = dsn_model_create(&m, family, o);
    ck_assert_msg(st == DSN_OK, "%s %s: %s", family, text, dsn_last_error());
    dsn_options_free(o);
    return m;
}

static dsn_status try_make(const char *family, const char *text)
{
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(o, text), DSN_OK);
    dsn_model *m = (dsn_model *)1;
    dsn_status st = dsn_model_create(&m, family, o);
    if (st != DSN_OK) ck_assert_ptr_null(m);
    dsn_model_free(st == DSN_OK ? m : NULL);
    dsn_options_free(o);
    return st;
}

static int param_index(const dsn_model *m, const char *name) { return dsi_params_find(&m->params, name); }
static const float *pvals(const dsn_model *m, const char *name)
{
    int i = param_index(m, name);
    ck_assert_msg(i >= 0, "no parameter %s", name);
    return m->params.list[i].var.x;
}
static size_t pcount(const dsn_model *m, const char *name) { return m->params.list[param_index(m, name)].var.n; }

/* floats of the parameters whose group is named g */
static int group_id(const dsn_model *m, const char *g)
{
    for (int i = 0; i < m->params.n_groups; i++)
        if (!strcmp(m->params.group_names[i], g)) return i;
    return -1;
}

/* 1 if every parameter of group g equals the saved copy */
static int group_equal(const dsn_model *m, const float *saved, const char *g)
{
    int id = group_id(m, g);
    ck_assert_int_ge(id, 0);
    for (int i = 0; i < m->params.count; i++) {
        const dsi_param *p = &m->params.list[i];
        if (p->group == id && memcmp(p->var.x, saved + p->offset, p->var.n * sizeof(float))) return 0;
    }
    return 1;
}

static float *copy_params(const dsn_model *m)
{
    float *c = malloc(m->params.n * sizeof(float));
    memcpy(c, m->params.data, m->params.n * sizeof(float));
    return c;
}

/* Sequences with a known static factor: notes (4 frames each) of random
 * pitch f0 (in bins), rendered directly as log-spectrum-like frames: 12
 * harmonics h f0, each a Gaussian bump weighted by the timbre's spectral
 * envelope over absolute frequency (timbre 0 dark: exp(-f/4); timbre 1
 * bright: a bump at 0.6 F), log(0.01 + .) plus noise 0.05. label[i] = timbre
 * = (i % 2) ^ flip; the same seed gives the same melodies and noise, so
 * flip = 1 renders every melody in the other timbre (the swap's truth). */
static void tones(float *x, int32_t *label, int n, int T, int F, uint64_t seed, int flip)
{
    dsi_rng r;
    dsi_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int k = (i % 2) ^ flip;
        label[i] = k;
        float f0 = 0;
        for (int t = 0; t < T; t++) {
            if (t % 4 == 0) f0 = 1.5f + 0.5f * (float)dsi_rng_below(&r, 6);
            for (int b = 0; b < F; b++) {
                float s = 0;
                for (int h = 1; h <= 12; h++) {
                    float fh = (float)h * f0;
                    float env = k == 0 ? expf(-fh / 4.0f) : expf(-(fh - 0.6f * F) * (fh - 0.6f * F) / 18.0f);
                    float d = (float)b - fh;
                    s += env * expf(-d * d);
                }
                x[((size_t)i * T + t) * F + b] = logf(0.01f + s) + 0.05f * dsi_rng_normal(&r);
            }
        }
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- options, parts, sizes ---- */

START_TEST(options_parts_and_sizes)
{
    dsn_model *m = make("dsae", "seed=1");
    size_t dims[3];
    ck_assert_int_eq(host_obs_shape(m, dims, 3), 2);
    ck_assert_uint_eq(dims[0], 250);
    ck_assert_uint_eq(dims[1], 80);
    ck_assert_int_eq(host_info(m).num_parts, 2);
    ck_assert_str_eq(host_part(m, 0).name, "global");
    ck_assert_str_eq(host_part(m, 1).name, "local");
    ck_assert_int_eq(host_part(m, 0).scope, DSN_SCOPE_ITEM);
    ck_assert_int_eq(host_part(m, 1).scope, DSN_SCOPE_FRAME);
    ck_assert_int_eq(host_part(m, 0).dim, 16);
    ck_assert_int_eq(host_part(m, 1).dim, 16);
    ck_assert_int_eq(m->vt->grouped, 0);
    /* reference sizes: encoders 80-64-64 (+ head 64 -> 2x16) twice, prior
     * LSTM 16->32->32 + head 32 -> 2x16, decoder 32-64-64-80 */
    const size_t enc = 80 * 64 + 64 + 64 * 64 + 64 + 64 * 32 + 32;
    const size_t prior = (16 * 128 + 32 * 128 + 128) + (32 * 128 + 32 * 128 + 128) + 32 * 32 + 32;
    const size_t dec = 32 * 64 + 64 + 64 * 64 + 64 + 64 * 80 + 80;
    ck_assert_uint_eq(host_info(m).num_params, 2 * enc + prior + dec);
    ck_assert_uint_eq(pcount(m, "prior.1.wh"), 32 * 128);
    dsn_model_free(m);
    m = make("ts-dsae", "seed=1, config=paper");
    ck_assert_uint_eq(host_info(m).num_params, 3 * enc + prior + dec); /* + the snapshot */
    dsn_model_free(m);
    /* config=default has the paper's networks (obs_var and C differ); with
     * local_context 2 the z head reads the local features of 5 frames (4 x 64
     * x 32 more weights), FiLM maps v to 2 x 64 per decoder hidden layer */
    m = make("ts-dsae", "seed=1");
    ck_assert_uint_eq(host_info(m).num_params, 3 * enc + prior + dec);
    {
        size_t ns;
        int part, frame;
        ck_assert_int_eq(m->vt->stream_check(m, &ns, &part, &frame), DSN_OK); /* the default streams */
        dsn_model_free(m);
        m = make("ts-dsae", "seed=1, local_context=2, decoder_film=1");
        ck_assert_uint_eq(host_info(m).num_params, 3 * enc + prior + dec + 4 * 64 * 32 + 2 * (16 * 128 + 128));
        /* the whole-clip options cannot stream, and say which option to change */
        ck_assert_int_eq(m->vt->stream_check(m, &ns, &part, &frame), DSN_E_UNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(dsn_last_error(), "local_context"));
        dsn_model_free(m);
        m = make("ts-dsae", "seed=1, z_norm=mean");
        ck_assert_int_eq(m->vt->stream_check(m, &ns, &part, &frame), DSN_E_UNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(dsn_last_error(), "z_norm"));
        dsn_model_free(m);
        m = make("ts-dsae", "seed=1, local_input=centred");
        ck_assert_int_eq(m->vt->stream_check(m, &ns, &part, &frame), DSN_E_UNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(dsn_last_error(), "local_input"));
        dsn_model_free(m);
        m = make("ts-dsae", "seed=1, decoder_film=1"); /* FiLM streams */
        ck_assert_int_eq(m->vt->stream_check(m, &ns, &part, &frame), DSN_OK);
    }
    dsn_model_free(m);
    m = make("ts-dsae", "seed=1, config=paper");
    ck_assert(dsi_params_is_frozen(&m->params, group_id(m, "local")));
    ck_assert(dsi_params_is_frozen(&m->params, group_id(m, "prior")));
    ck_assert(dsi_params_is_frozen(&m->params, group_id(m, "snapshot")));
    ck_assert(!dsi_params_is_frozen(&m->params, group_id(m, "global")));
    ck_assert(!dsi_params_is_frozen(&m->params, group_id(m, "decoder")));
    dsn_model_free(m);
    /* every variant builds */
    m = make("ts-dsae", TINY ", global_encoder=bilstm, local_encoder=bilstm, posterior=full, decoder=bilstm, "
                        "prior_layers=3, scaling=sum, noise=mean, activation=relu");
    dsn_model_free(m);

    /* bad options name their key */
    const char *bad[][2] = {
        {"dsae", "z_dmi=3"},
        {"dsae", "local_encoder=gru"},
        {"dsae", "global_encoder=lstm"},
        {"dsae", "posterior=partial"},
        {"dsae", "frames=0"},
        {"dsae", "obs_var=0"},
        {"dsae", "prior_layers=5"},
        {"dsae", "scaling=median"},
        {"dsae", "constrained_epochs=3"}, /* a ts-dsae option */
        {"dsae", "swap_vg=1"},
        {"ts-dsae", "constrained_epochs=-1"},
        {"ts-dsae", "swap_zl=-1"},
        {"ts-dsae", "informed_prior=maybe"},
        {"ts-dsae", "hidden=64:0"},
        {"ts-dsae", "decoder=transformer"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(try_make(bad[i][0], bad[i][1]), DSN_E_OPTION);
        char key[32];
        snprintf(key, sizeof key, "%.*s", (int)strcspn(bad[i][1], "="), bad[i][1]);
        ck_assert_msg(strstr(dsn_last_error(), key) != NULL, "'%s': message '%s' does not name the key", bad[i][1],
                      dsn_last_error());
    }
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "dsn_model_create"));
}
END_TEST

/* ---- gradient checks through the whole loss ---- */

typedef struct gctx {
    dsn_model *m;
    const float *x, *mask;
    int n;
    size_t np; /* checked floats: every parameter before the snapshot */
} gctx;

static void bind_params(dsn_model *m, float *x, float *g, size_t np)
{
    dsi_params *ps = &m->params;
    for (int i = 0; i < ps->count; i++) {
        dsi_param *p = &ps->list[i];
        if (p->offset >= np) continue;
        p->var.x = x + p->offset;
        p->var.g = g ? g + p->offset : (ps->frozen[p->group] ? NULL : ps->grad + p->offset);
    }
}

static dsi_var *model_loss(dsi_tape *t, dsi_var **in, void *ctx)
{
    gctx *c = ctx;
    bind_params(c->m, in[0]->x, in[0]->g, c->np);
    dsi_rng_seed(&c->m->rng, 77); /* the same noise and partners at every evaluation */
    dsi_input inp = {c->x, (size_t)c->n, NULL, 0, c->mask};
    dsi_var *l = NULL;
    dsi_terms terms = {0};
    if (c->m->vt->loss(c->m, t, &inp, &l, &terms) != DSN_OK) return NULL;
    return l;
}

static size_t checked_floats(const dsn_model *m)
{
    int s = group_id(m, "snapshot");
    for (int i = 0; i < m->params.count; i++)
        if (m->params.list[i].group == s) return m->params.list[i].offset;
    return m->params.n;
}

static void grad_check_model(dsn_model *m, const float *x, const float *mask, int n, const char *what)
{
    gctx c = {m, x, mask, n, checked_floats(m)};
    gc_input in[1] = {{1, {(int)c.np}, .values = m->params.data}};
    gc_opts o = gc_defaults();
    int bad = gc_check(what, model_loss, &c, 1, in, &o);
    bind_params(m, m->params.data, NULL, c.np);
    ck_assert_msg(bad == 0, "%s: %d gradient mismatches", what, bad);
}

START_TEST(grad_full_losses)
{
    enum { B = 3, T = 5, F = 6 };
    float x[B * T * F], mask[B * T];
    dsi_rng r;
    dsi_rng_seed(&r, 4);
    tu_fill(&r, x, B * T * F);
    const int len[B] = {5, 3, 4};
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) mask[b * T + t] = t < len[b] ? 1.0f : 0.0f;
    const char *variants[] = {
        "",
        ", scaling=sum, obs_var=0.7, beta_v=0.5, beta_z=2",
        ", posterior=full, global_encoder=bilstm, local_encoder=bilstm, decoder=bilstm",
        ", posterior=full, local_encoder=lstm, prior_layers=1, scaling=sum, obs_var=0.5",
        ", decoder_film=1, z_norm=mean, local_context=2, local_input=centred",
        ", static_z=3, beta_z=2",
        ", local_encoder=lstm, decoder=lstm",
        ", iid_z=0.7, posterior=full",
        ", iid_z=2, static_z=1, local_eq=1.5",
        ", global_input=envelope, envelope_k=3, local_input=flat, posterior=full, register_v=4",
        ", global_input=envelope, envelope_k=2, global_encoder=bilstm, global_features=none",
    };
    /* options of ts-dsae only, added to its variant of the same index */
    const char *ts_only[sizeof variants / sizeof *variants] = {[7] = ", swap_critic=1.5",
                                                               [8] = ", swap_critic=3, informed_prior=0",
                                                               [9] = ", swap_critic=2"};
    for (size_t k = 0; k < sizeof variants / sizeof *variants; k++) {
        char text[400], what[64];
        snprintf(text, sizeof text, TINY ", seed=%d%s", (int)k + 2, variants[k]);
        dsn_model *m = make("dsae", text);
        snprintf(what, sizeof what, "dsae variant %zu", k);
        grad_check_model(m, x, mask, B, what);
        grad_check_model(m, x, NULL, B, what);
        dsn_model_free(m);
        /* TS-DSAE stage 1 (local groups frozen: only the others get gradients,
         * but the check binds every parameter so the whole graph is checked),
         * then the full stage with informed prior and swap terms */
        snprintf(text, sizeof text, TINY ", seed=%d, constrained_epochs=1, swap_zg=0.5, swap_vl=2%s%s", (int)k + 2,
                 variants[k], ts_only[k] ? ts_only[k] : "");
        m = make("ts-dsae", text);
        snprintf(what, sizeof what, "ts-dsae stage 1 variant %zu", k);
        grad_check_model(m, x, mask, B, what);
        ck_assert_int_eq(m->vt->epoch_end(m, 1), DSN_OK);
        /* make the live encoder differ from its snapshot so the informed KL is not at its minimum */
        dsi_rng_seed(&r, 9);
        for (int i = 0; i < m->params.count; i++) {
            dsi_param *p = &m->params.list[i];
            if (p->group == group_id(m, "global"))
                for (size_t j = 0; j < p->var.n; j++) p->var.x[j] += 0.2f * dsi_rng_normal(&r);
        }
        snprintf(what, sizeof what, "ts-dsae stage 2 variant %zu", k);
        grad_check_model(m, x, mask, B, what);
        grad_check_model(m, x, NULL, B, what);
        dsn_model_free(m);
    }
}
END_TEST

/* ---- masks ---- */

/* global_features=none (issue #9 W2: the global bi-LSTM reads the mel frames
 * directly): parameter count, the rejected combination. */
START_TEST(global_features_none_params_and_errors)
{
    dsn_model *a = make("dsae", TINY ", global_encoder=bilstm");
    dsn_model *b = make("dsae", TINY ", global_encoder=bilstm, global_features=none");
    /* without the global MLP 6->4->4: the LSTMs take 6 inputs instead of 4 */
    const size_t mlp = 6 * 4 + 4 + 4 * 4 + 4, lstm_extra = 2 * (6 - 4) * 4 * 3;
    ck_assert_uint_eq(host_info(b).num_params, host_info(a).num_params - mlp + lstm_extra);
    dsn_model_free(a);
    dsn_model_free(b);
    ck_assert_int_eq(try_make("dsae", TINY ", global_features=none"), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "global_features"));
}
END_TEST

START_TEST(global_features_none_grad_whole_loss)
{
    enum { B = 3, T = 5, F = 6 };
    float x[B * T * F], mask[B * T];
    dsi_rng r;
    dsi_rng_seed(&r, 4);
    tu_fill(&r, x, B * T * F);
    const int len[B] = {5, 3, 4};
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) mask[b * T + t] = t < len[b] ? 1.0f : 0.0f;
    dsn_model *m = make("dsae", TINY ", seed=3, global_encoder=bilstm, global_features=none");
    grad_check_model(m, x, mask, B, "dsae, global_features=none");
    grad_check_model(m, x, NULL, B, "dsae, global_features=none, no mask");
    dsn_model_free(m);
    m = make("ts-dsae", TINY ", seed=4, constrained_epochs=1, global_encoder=bilstm, global_features=none");
    ck_assert_int_eq(m->vt->epoch_end(m, 1), DSN_OK); /* full stage: snapshot, informed prior, swaps */
    dsi_rng_seed(&r, 9);
    for (int i = 0; i < m->params.count; i++) {
        dsi_param *p = &m->params.list[i];
        if (p->group == group_id(m, "global"))
            for (size_t j = 0; j < p->var.n; j++) p->var.x[j] += 0.2f * dsi_rng_normal(&r);
    }
    grad_check_model(m, x, mask, B, "ts-dsae full stage, global_features=none");
    dsn_model_free(m);
}
END_TEST

START_TEST(global_features_none_train_steps_no_allocation)
{
    enum { B = 4, T = 5, F = 6 };
    float x[B * T * F];
    dsi_rng r;
    dsi_rng_seed(&r, 8);
    tu_fill(&r, x, B * T * F);
    dsn_model *m = make("dsae", TINY ", global_encoder=bilstm, global_features=none");
    dsn_options *o;
    dsn_optimizer *opt;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_optimizer_create(&opt, m, "adam", o), DSN_OK);
    dsn_options_free(o);
    float l0 = 0, l = 0;
    ck_assert_int_eq(dsn_train_step(m, opt, &l0, x, B, NULL), DSN_OK);
    uint64_t a0 = dsn_allocation_count();
    for (int i = 0; i < 30; i++) ck_assert_int_eq(dsn_train_step(m, opt, &l, x, B, NULL), DSN_OK);
    ck_assert_uint_eq(dsn_allocation_count(), a0);
    ck_assert(isfinite(l) && l < l0);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
}
END_TEST

static float loss_of(dsn_model *m, const float *x, const float *mask, int n, uint64_t seed, dsi_terms *terms)
{
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_tape_set_recording(&t, 0);
    dsi_rng_seed(&m->rng, seed);
    dsi_input in = {x, (size_t)n, NULL, 0, mask};
    dsi_var *l = NULL;
    dsi_terms tt = {0};
    dsn_status st = m->vt->loss(m, &t, &in, &l, terms ? terms : &tt);
    ck_assert_msg(st == DSN_OK, "loss: %s", dsn_last_error());
    float v = l->x[0];
    dsi_tape_release(&t);
    return v;
}

static float term_value(const dsi_terms *tt, const char *name)
{
    for (int j = 0; j < tt->n; j++)
        if (!strcmp(tt->names[j], name)) return tt->values[j];
    return NAN;
}

/* iid_z and swap_critic add exactly weight x their logged value to the loss
 * (same seed: same weights, noise and partners), only in the stage where the
 * local encoder learns; iid_z > 0, the critic's KLs >= 0; local_eq reaches
 * z's posterior and not v's */
START_TEST(iid_z_and_swap_critic_add_their_terms)
{
    enum { B = 4, T = 6, F = 6 };
    float x[B * T * F], mask[B * T];
    dsi_rng r;
    dsi_rng_seed(&r, 21);
    tu_fill(&r, x, B * T * F);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) mask[b * T + t] = t < T - b ? 1.0f : 0.0f;
    for (int stage = 0; stage < 2; stage++) {
        const char *c = stage ? "constrained_epochs=0" : "constrained_epochs=2";
        char a[300], b[300];
        snprintf(a, sizeof a, TINY ", seed=6, %s", c);
        snprintf(b, sizeof b, TINY ", seed=6, %s, iid_z=2, swap_critic=3", c);
        dsn_model *m0 = make("ts-dsae", a), *m1 = make("ts-dsae", b);
        dsi_terms t0 = {0}, t1 = {0};
        float l0 = loss_of(m0, x, mask, B, 5, &t0), l1 = loss_of(m1, x, mask, B, 5, &t1);
        if (!stage) {
            ck_assert_float_eq(l0, l1);
            ck_assert(isnan(term_value(&t1, "iid_z")) && isnan(term_value(&t1, "swap_critic")));
        } else {
            float iid = term_value(&t1, "iid_z"), crit = term_value(&t1, "swap_critic");
            ck_assert(isnan(term_value(&t0, "iid_z")) && isnan(term_value(&t0, "swap_critic")));
            ck_assert_float_gt(iid, 0.0f);
            ck_assert_float_ge(crit, 0.0f);
            ck_assert_msg(fabsf(l1 - l0 - 2.0f * iid - 3.0f * crit) <= 1e-4f * fabsf(l1), "%g vs %g + 2 %g + 3 %g",
                          (double)l1, (double)l0, (double)iid, (double)crit);
            /* the swap terms both models share are the same */
            ck_assert_float_eq(term_value(&t0, "swap_vg"), term_value(&t1, "swap_vg"));
            /* local_eq changes the local encoder's input only: the same v posterior, another z */
            snprintf(b, sizeof b, TINY ", seed=6, %s, local_eq=2", c);
            dsn_model *m2 = make("ts-dsae", b);
            dsi_terms t2 = {0};
            loss_of(m2, x, mask, B, 5, &t2);
            ck_assert_float_eq(term_value(&t0, "kl_v"), term_value(&t2, "kl_v"));
            ck_assert_float_ne(term_value(&t0, "kl_z"), term_value(&t2, "kl_z"));
            dsn_model_free(m2);
        }
        dsn_model_free(m0);
        dsn_model_free(m1);
    }
}
END_TEST

/* adv_z: the loss and the adversary term (logged raw, added with weight 1) at fixed noise and
 * partners (rng seed 77), recording off */
static float adv_loss(dsn_model *m, const float *x, const float *mask, int n, float *adv)
{
    dsi_terms tt = {0};
    float l = loss_of(m, x, mask, n, 77, &tt);
    *adv = term_value(&tt, "adv_z");
    return l;
}

/* The gradient through the frame adversary, against central differences (gc_defaults' eps and
 * tolerances) of the whole loss L and of the adversary term A, for every parameter before the
 * snapshot plus the adversary's: the adversary's own parameters get dL (they lower A); the local
 * encoder's (z reaches A only through the reversal) dL - (1 + lambda) dA, i.e. the rest of the
 * loss minus lambda dA; the global encoder's dL - dA (v enters A as a constant; posterior
 * factorised, so v does not reach z); every other parameter dL (A does not depend on it). */
static void adv_grad_check(dsn_model *m, const float *x, const float *mask, int n, float lambda, const char *what)
{
    dsi_params *ps = &m->params;
    const int g_adv = group_id(m, "adversary"), g_loc = group_id(m, "local"), g_glob = group_id(m, "global"),
              g_snap = group_id(m, "snapshot");
    ck_assert_int_ge(g_adv, 0);
    /* analytic */
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_params_zero_grad(ps);
    dsi_rng_seed(&m->rng, 77);
    dsi_input inp = {x, (size_t)n, NULL, 0, mask};
    dsi_var *l = NULL;
    dsi_terms terms = {0};
    ck_assert_int_eq(m->vt->loss(m, &t, &inp, &l, &terms), DSN_OK);
    ck_assert_int_eq(dsi_tape_backward(&t, l), DSN_OK);
    float *grad = malloc(ps->n * sizeof(float));
    memcpy(grad, ps->grad, ps->n * sizeof(float));
    dsi_tape_release(&t);
    const gc_opts o = gc_defaults();
    int bad = 0, reversed = 0, adv_nonzero = 0;
    double adv_max = 0;
    for (int k = 0; k < ps->count; k++) {
        const dsi_param *p = &ps->list[k];
        if (p->group == g_snap) continue;
        for (size_t j = 0; j < p->var.n; j++) {
            float *v = p->var.x + j, v0 = *v;
            const double h = o.eps * fmax(1.0, fabs(v0));
            float ap, am;
            *v = (float)(v0 + h);
            double lp = adv_loss(m, x, mask, n, &ap);
            *v = (float)(v0 - h);
            double lm = adv_loss(m, x, mask, n, &am);
            *v = v0;
            double dl = (lp - lm) / (2 * h), da = ((double)ap - am) / (2 * h);
            double want = p->group == g_loc ? dl - (1.0 + lambda) * da : p->group == g_glob ? dl - da : dl;
            double got = grad[p->offset + j];
            /* an element where an op that did not reverse (identity backward) would fail the check */
            if (p->group == g_loc && fabs((1.0 + lambda) * da) > 2 * (o.atol + o.rtol * fmax(fabs(dl), fabs(want))))
                reversed++;
            if (p->group == g_adv && fabs(dl) > 2 * o.atol) adv_nonzero++; /* a zero gradient would fail here */
            if (p->group == g_adv) adv_max = fmax(adv_max, fabs(dl));
            if (p->group != g_loc && p->group != g_glob && p->group != g_adv)
                ck_assert_msg(fabs(da) <= o.atol, "%s: %s[%zu] changes the adversary term (%g)", what, p->name, j, da);
            if (fabs(got - want) > o.atol + o.rtol * fmax(fabs(got), fabs(want))) {
                if (bad++ < 5)
                    fprintf(stderr, "%s: %s[%zu] analytic %g, expected %g (dL %g, dA %g)\n", what, p->name, j, got,
                            want, dl, da);
            }
        }
    }
    free(grad);
    ck_assert_msg(bad == 0, "%s: %d gradient mismatches", what, bad);
    /* the check could fail: the reversal moves the local encoder's gradient and the adversary learns */
    ck_assert_msg(reversed > 0 && adv_nonzero > 0, "%s: reversed %d, adversary %d (max %g)", what, reversed, adv_nonzero, adv_max);
}

START_TEST(adv_z_gradient_is_reversed)
{
    enum { B = 4, T = 5, F = 6 };
    float x[B * T * F], mask[B * T];
    dsi_rng r;
    dsi_rng_seed(&r, 12);
    tu_fill(&r, x, B * T * F);
    const int len[B] = {5, 3, 4, 5};
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) mask[b * T + t] = t < len[b] ? 1.0f : 0.0f;
    static const struct {
        const char *family, *opts;
        float lambda;
    } cases[] = {
        {"dsae", ", adv_z=1", 1.0f},
        {"dsae", ", adv_z=2.5, adv_frames=3, adv_hidden=4:3, iid_z=1", 2.5f},
        {"ts-dsae", ", constrained_epochs=0, adv_z=0.7, adv_frames=7, swap_critic=1", 0.7f},
        {"ts-dsae", ", constrained_epochs=0, adv_z=4, local_encoder=lstm, decoder=lstm, static_z=1", 4.0f},
        {"ts-dsae", ", constrained_epochs=0, adv_z=1.5, global_input=envelope, envelope_k=3, local_input=flat", 1.5f},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char text[400], what[64];
        snprintf(text, sizeof text, TINY ", seed=%d%s", (int)k + 3, cases[k].opts);
        dsn_model *m = make(cases[k].family, text);
        /* v means away from 0 (the head starts at 0: every clip's key alike; in ts-dsae also the
         * live encoder away from its snapshot) */
        dsi_rng_seed(&r, 9);
        for (int i = 0; i < m->params.count; i++) {
            dsi_param *p = &m->params.list[i];
            if (p->group == group_id(m, "global"))
                for (size_t j = 0; j < p->var.n; j++) p->var.x[j] += 0.5f * dsi_rng_normal(&r);
            if (p->group == group_id(m, "adversary")) /* sharper scores than at the initialisation */
                for (size_t j = 0; j < p->var.n; j++) p->var.x[j] *= 3.0f;
        }
        snprintf(what, sizeof what, "%s case %zu mask", cases[k].family, k);
        adv_grad_check(m, x, mask, B, cases[k].lambda, what);
        snprintf(what, sizeof what, "%s case %zu", cases[k].family, k);
        adv_grad_check(m, x, NULL, B, cases[k].lambda, what);
        dsn_model_free(m);
    }
}
END_TEST

/* adv_z: its own group (absent without the key: the same parameters as before), frozen with the
 * local groups in ts-dsae's first stage and absent from that stage's loss, then added with weight 1
 * (the other terms unchanged: the adversary is initialised and draws its frames last) */
START_TEST(adv_z_group_stage_and_term)
{
    enum { B = 4, T = 6, F = 6 };
    float x[B * T * F], mask[B * T];
    dsi_rng r;
    dsi_rng_seed(&r, 23);
    tu_fill(&r, x, B * T * F);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) mask[b * T + t] = t < T - b ? 1.0f : 0.0f;
    dsn_model *m0 = make("ts-dsae", TINY ", seed=6, constrained_epochs=2");
    dsn_model *m1 = make("ts-dsae", TINY ", seed=6, constrained_epochs=2, adv_z=1.5, adv_frames=5, adv_hidden=7");
    ck_assert_int_lt(group_id(m0, "adversary"), 0);
    const int g = group_id(m1, "adversary");
    ck_assert_int_ge(g, 0);
    /* z_dim 2 -> 7 -> v_dim 3, the only parameters m1 has beyond m0's */
    size_t in_group = 0;
    for (int i = 0; i < m1->params.count; i++)
        if (m1->params.list[i].group == g) in_group += m1->params.list[i].var.n;
    ck_assert_uint_eq(in_group, (2 * 7 + 7) + (7 * 3 + 3));
    ck_assert_int_eq(m1->params.count, m0->params.count + 4);
    ck_assert_uint_eq(pcount(m1, "adv.0.w"), 2 * 7);
    ck_assert_int_eq(memcmp(m0->params.data, m1->params.data, m0->params.n * sizeof(float)), 0);
    ck_assert(dsi_params_is_frozen(&m1->params, g));
    dsi_terms t0 = {0}, t1 = {0};
    ck_assert_float_eq(loss_of(m0, x, mask, B, 5, &t0), loss_of(m1, x, mask, B, 5, &t1));
    ck_assert(isnan(term_value(&t1, "adv_z")));
    ck_assert_int_eq(m0->vt->epoch_end(m0, 2), DSN_OK);
    ck_assert_int_eq(m1->vt->epoch_end(m1, 2), DSN_OK);
    ck_assert(!dsi_params_is_frozen(&m1->params, g));
    for (int pass = 0; pass < 2; pass++) {
        const float *mk = pass ? NULL : mask;
        dsi_terms a = {0}, b = {0};
        float l0 = loss_of(m0, x, mk, B, 5, &a), l1 = loss_of(m1, x, mk, B, 5, &b);
        float adv = term_value(&b, "adv_z");
        ck_assert(isnan(term_value(&a, "adv_z")));
        ck_assert_float_gt(adv, 0.0f);
        ck_assert_msg(fabsf(l1 - l0 - adv) <= 1e-5f * fabsf(l1), "%g vs %g + %g", (double)l1, (double)l0, (double)adv);
        static const char *const same[] = {"rec", "kl_v", "kl_z", "swap_vg", "swap_zl"};
        for (size_t j = 0; j < sizeof same / sizeof *same; j++)
            ck_assert_float_eq(term_value(&a, same[j]), term_value(&b, same[j]));
    }
    /* dsae: the term from the first step; one clip has no other clip to tell apart: no term */
    dsn_model *d = make("dsae", TINY ", seed=6, adv_z=1");
    dsi_terms td = {0}, t2 = {0};
    loss_of(d, x, mask, B, 5, &td);
    ck_assert_float_gt(term_value(&td, "adv_z"), 0.0f);
    loss_of(d, x, mask, 1, 5, &t2);
    ck_assert(isnan(term_value(&t2, "adv_z")));
    dsn_model_free(d);
    dsn_model_free(m0);
    dsn_model_free(m1);
}
END_TEST

/* config=speech is config=default with swap_critic=10 (the same loss, terms and
 * parameter count for the same seed in both stages), a key still overrides it
 * (swap_critic=0 gives the default's loss), and dsae refuses it naming the key */
START_TEST(config_speech_is_default_plus_critic)
{
    enum { B = 4, T = 6, F = 6 };
    float x[B * T * F];
    dsi_rng r;
    dsi_rng_seed(&r, 23);
    tu_fill(&r, x, B * T * F);
    for (int stage = 0; stage < 2; stage++) {
        const char *c = stage ? "constrained_epochs=0" : "constrained_epochs=2";
        char a[300], b[300], d[300];
        snprintf(a, sizeof a, TINY ", seed=7, %s, swap_critic=10", c);
        snprintf(b, sizeof b, TINY ", seed=7, config=speech, %s", c);
        snprintf(d, sizeof d, TINY ", seed=7, config=speech, %s, swap_critic=0", c);
        dsn_model *m0 = make("ts-dsae", a), *m1 = make("ts-dsae", b), *m2 = make("ts-dsae", d);
        snprintf(d, sizeof d, TINY ", seed=7, %s", c);
        dsn_model *m3 = make("ts-dsae", d);
        ck_assert_uint_eq(host_info(m1).num_params, host_info(m0).num_params);
        dsi_terms t0 = {0}, t1 = {0};
        float l0 = loss_of(m0, x, NULL, B, 5, &t0), l1 = loss_of(m1, x, NULL, B, 5, &t1);
        float l2 = loss_of(m2, x, NULL, B, 5, NULL), l3 = loss_of(m3, x, NULL, B, 5, NULL);
        ck_assert_float_eq(l0, l1);
        ck_assert_float_eq(l2, l3);
        if (stage) {
            float crit = term_value(&t1, "swap_critic");
            ck_assert_float_eq(crit, term_value(&t0, "swap_critic"));
            ck_assert_float_gt(crit, 0.0f);
            ck_assert_msg(fabsf(l1 - l3 - 10.0f * crit) <= 1e-4f * fabsf(l1), "%g vs %g + 10 %g", (double)l1,
                          (double)l3, (double)crit);
        } else {
            ck_assert(isnan(term_value(&t1, "swap_critic")));
            ck_assert_float_eq(l1, l3);
        }
        dsn_model_free(m0);
        dsn_model_free(m1);
        dsn_model_free(m2);
        dsn_model_free(m3);
    }
    ck_assert_int_eq(try_make("dsae", "config=speech"), DSN_E_OPTION);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "config"));
}
END_TEST

/* ---- global_input=envelope, local_input=flat ---- */

enum { EB = 3, ET = 5, EF = 8, EK = 3 };
#define ENV_OPTS "frames=5, n_mels=8, v_dim=3, z_dim=2, hidden=6:6, dec_hidden=5, prior_hidden=3, seed=5"

/* the orthonormal DCT-II basis vector k along F bands (computed here, not by the library) */
static double dct_basis(int k, int f, int F) { return (k ? sqrt(2.0 / F) : sqrt(1.0 / F)) * cos(3.14159265358979323846 * k * (f + 0.5) / F); }

/* y = each frame of x [n,T,F] projected onto the first K DCT-II basis vectors */
static void project_low(float *y, const float *x, int frames, int F, int K)
{
    for (int r = 0; r < frames; r++) {
        const float *a = x + (size_t)r * F;
        for (int f = 0; f < F; f++) y[(size_t)r * F + f] = 0.0f;
        for (int k = 0; k < K; k++) {
            double c = 0;
            for (int f = 0; f < F; f++) c += a[f] * dct_basis(k, f, F);
            for (int f = 0; f < F; f++) y[(size_t)r * F + f] += (float)(c * dct_basis(k, f, F));
        }
    }
}

/* posterior means of v [EB,3] and z [EB,ET,2] */
static void env_encode(dsn_model *m, const float *x, float *v, float *z)
{
    dsn_session *s;
    dsn_encoding *e;
    ck_assert_int_eq(dsn_session_create(&s, m, EB), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&e, m, EB), DSN_OK);
    ck_assert_int_eq(dsn_encode(s, e, x, EB, NULL), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(e, v, EB * 3, NULL, NULL, "global", "mean"), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(e, z, EB * ET * 2, NULL, NULL, "local", "mean"), DSN_OK);
    dsn_encoding_free(e);
    dsn_session_free(s);
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

/* global_input=envelope: the global encoder (same weights as the raw model for the same seed)
 * reads each frame's projection onto the first envelope_k DCT coefficients, so adding anything
 * in the discarded coefficients (harmonic positions) leaves v unchanged, and z sees it;
 * local_input=flat: the local encoder reads x_t - mean_t(envelope of x_t), so adding one smooth
 * envelope to every frame leaves z unchanged, and v sees it. Streaming refuses flat only. */
START_TEST(envelope_inputs_are_what_the_encoders_see)
{
    float x[EB * ET * EF], xe[EB * ET * EF], x2[EB * ET * EF];
    dsi_rng r;
    dsi_rng_seed(&r, 31);
    tu_fill(&r, x, EB * ET * EF);
    dsn_model *raw = make("ts-dsae", ENV_OPTS);
    dsn_model *gen = make("ts-dsae", ENV_OPTS ", global_input=envelope, envelope_k=3");
    dsn_model *flat = make("ts-dsae", ENV_OPTS ", local_input=flat, envelope_k=3");
    ck_assert_uint_eq(host_info(gen).num_params, host_info(raw).num_params); /* a data transform: no weights */
    ck_assert_uint_eq(host_info(flat).num_params, host_info(raw).num_params);
    float v0[EB * 3], z0[EB * ET * 2], v1[EB * 3], z1[EB * ET * 2], v2[EB * 3], z2[EB * ET * 2];

    /* v of the envelope model = v of the raw model on the projected frames */
    project_low(xe, x, EB * ET, EF, EK);
    env_encode(gen, x, v1, z1);
    env_encode(raw, xe, v0, z0);
    ck_assert_msg(max_abs_diff(v0, v1, EB * 3) < 1e-5, "v %g", max_abs_diff(v0, v1, EB * 3));
    env_encode(raw, x, v0, z0);
    ck_assert_msg(max_abs_diff(z0, z1, EB * ET * 2) < 1e-6, "the local encoder still reads x"); /* same z */
    ck_assert(max_abs_diff(v0, v1, EB * 3) > 1e-3); /* and v differs from the raw model's */
    /* a time-varying component in the discarded coefficients K..F-1 */
    for (int i = 0; i < EB * ET; i++)
        for (int f = 0; f < EF; f++)
            x2[i * EF + f] = x[i * EF + f] + (float)((1.0 + 0.3 * i) * dct_basis(EK, f, EF) + 0.7 * dct_basis(EF - 1, f, EF));
    env_encode(gen, x2, v2, z2);
    ck_assert_msg(max_abs_diff(v1, v2, EB * 3) < 1e-5, "v moved by %g", max_abs_diff(v1, v2, EB * 3));
    ck_assert(max_abs_diff(z1, z2, EB * ET * 2) > 1e-3);

    /* local_input=flat: z = the raw model's z on x_t - mean_t(envelope) */
    for (int b = 0; b < EB; b++) {
        float me[EF] = {0};
        for (int t = 0; t < ET; t++)
            for (int f = 0; f < EF; f++) me[f] += xe[(b * ET + t) * EF + f] / ET;
        for (int t = 0; t < ET; t++)
            for (int f = 0; f < EF; f++) x2[(b * ET + t) * EF + f] = x[(b * ET + t) * EF + f] - me[f];
    }
    env_encode(raw, x2, v0, z0);
    env_encode(flat, x, v1, z1);
    ck_assert_msg(max_abs_diff(z0, z1, EB * ET * 2) < 1e-5, "z %g", max_abs_diff(z0, z1, EB * ET * 2));
    env_encode(raw, x, v0, z0);
    ck_assert(max_abs_diff(v0, v1, EB * 3) < 1e-6); /* the global encoder still reads x */
    /* one smooth envelope (coefficients < K) per clip on every frame: z unchanged, v moves */
    for (int b = 0; b < EB; b++)
        for (int t = 0; t < ET; t++)
            for (int f = 0; f < EF; f++)
                x2[(b * ET + t) * EF + f] = x[(b * ET + t) * EF + f] +
                                            (float)((1.5 + b) * dct_basis(0, f, EF) - 2.0 * dct_basis(EK - 1, f, EF));
    env_encode(flat, x2, v2, z2);
    ck_assert_msg(max_abs_diff(z1, z2, EB * ET * 2) < 1e-5, "z moved by %g", max_abs_diff(z1, z2, EB * ET * 2));
    ck_assert(max_abs_diff(v1, v2, EB * 3) > 1e-3);

    /* streaming: the envelope is per frame (streams), the flat input needs the whole clip */
    size_t ns;
    int part, frame;
    ck_assert_int_eq(gen->vt->stream_check(gen, &ns, &part, &frame), DSN_OK);
    ck_assert_int_eq(flat->vt->stream_check(flat, &ns, &part, &frame), DSN_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "local_input"));
    dsn_model_free(raw);
    dsn_model_free(gen);
    dsn_model_free(flat);
    /* bad values name the key; absent keys are the old model (checked by test_golden's files) */
    ck_assert_int_eq(try_make("ts-dsae", ENV_OPTS ", global_input=envelope, envelope_k=9"), DSN_E_OPTION);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "envelope_k"));
    ck_assert_int_eq(try_make("dsae", ENV_OPTS ", envelope_k=0"), DSN_E_OPTION);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "envelope_k"));
    ck_assert_int_eq(try_make("dsae", ENV_OPTS ", global_input=cepstrum"), DSN_E_OPTION);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "global_input"));
}
END_TEST

/* register_v: the proxy of a clip is the mean, over its unmasked frames within 6 of its loudest,
 * of the lowest band within 2 of the frame's maximum, over F; the term is the mean squared batch
 * correlation of v's posterior means with [p, p^2] (computed here from dsn_encode's means), and
 * the loss grows by exactly W x the term in both stages */
START_TEST(register_v_is_the_correlation_with_the_proxy)
{
    enum { B = 6, T = 5, F = 8 };
    float x[B * T * F], mask[B * T];
    dsi_rng r;
    dsi_rng_seed(&r, 41);
    double p[B];
    for (int b = 0; b < B; b++) {
        double sum = 0;
        int cnt = 0;
        for (int t = 0; t < T; t++) {
            mask[b * T + t] = t < T - (b % 2) ? 1.0f : 0.0f;
            const int lo = (b + t) % 5;                     /* the lowest strong band of this frame */
            const float level = t == 1 ? -7.0f : 0.0f;      /* frame 1 is too quiet to count */
            for (int f = 0; f < F; f++)
                x[(b * T + t) * F + f] = level + (f < lo ? -10.0f + 0.5f * dsi_rng_normal(&r)
                                                         : f == lo + 1 ? 1.0f : -0.5f - 0.4f * dsi_rng_uniform(&r));
            /* a masked frame is loud and counts for nothing */
            if (!mask[b * T + t]) for (int f = 0; f < F; f++) x[(b * T + t) * F + f] = 20.0f;
            /* the frame max is 1 at lo + 1, band lo (-0.5 .. -0.9) is within 2 of it, bands below are not */
            if (mask[b * T + t] && t != 1) sum += lo, cnt++;
        }
        p[b] = sum / cnt / F;
    }
    for (int stage = 0; stage < 2; stage++) {
        const char *c = stage ? "constrained_epochs=0" : "constrained_epochs=2";
        char a[300], bb[300];
        snprintf(a, sizeof a, "frames=5, n_mels=8, v_dim=3, z_dim=2, hidden=6:6, dec_hidden=5, prior_hidden=3, seed=9, %s", c);
        snprintf(bb, sizeof bb, "%s, register_v=7", a);
        dsn_model *m0 = make("ts-dsae", a), *m1 = make("ts-dsae", bb);
        dsi_terms t0 = {0}, t1 = {0};
        float l0 = loss_of(m0, x, mask, B, 5, &t0), l1 = loss_of(m1, x, mask, B, 5, &t1);
        float reg = term_value(&t1, "register_v");
        ck_assert(isnan(term_value(&t0, "register_v")));
        ck_assert_msg(fabsf(l1 - l0 - 7.0f * reg) <= 1e-4f * fabsf(l1), "%g vs %g + 7 %g", (double)l1, (double)l0, (double)reg);
        /* the expected term from the v means and p */
        float v[B * 3];
        dsn_session *se;
        dsn_encoding *e;
        ck_assert_int_eq(dsn_session_create(&se, m1, B), DSN_OK);
        ck_assert_int_eq(dsn_encoding_create(&e, m1, B), DSN_OK);
        ck_assert_int_eq(dsn_encode(se, e, x, B, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, NULL}), DSN_OK);
        ck_assert_int_eq(dsn_encoding_get(e, v, B * 3, NULL, NULL, "global", "mean"), DSN_OK);
        dsn_encoding_free(e);
        dsn_session_free(se);
        double cols[5][B], want = 0;
        for (int b = 0; b < B; b++) {
            for (int d = 0; d < 3; d++) cols[d][b] = v[b * 3 + d];
            cols[3][b] = p[b];
            cols[4][b] = p[b] * p[b];
        }
        for (int j = 0; j < 5; j++) { /* standardised like the library: (a - mean) / sqrt(var + 1e-4) */
            double mu = 0, var = 0;
            for (int b = 0; b < B; b++) mu += cols[j][b] / B;
            for (int b = 0; b < B; b++) var += (cols[j][b] - mu) * (cols[j][b] - mu) / B;
            for (int b = 0; b < B; b++) cols[j][b] = (cols[j][b] - mu) / sqrt(var + 1e-4);
        }
        for (int d = 0; d < 3; d++)
            for (int q = 3; q < 5; q++) {
                double rr = 0;
                for (int b = 0; b < B; b++) rr += cols[d][b] * cols[q][b] / B;
                want += rr * rr / 6.0;
            }
        ck_assert_msg(fabs(reg - want) <= 2e-4 + 1e-3 * want, "register_v %g, expected %g", (double)reg, want);
        ck_assert_float_gt(reg, 1e-3f);
        dsn_model_free(m0);
        dsn_model_free(m1);
    }
}
END_TEST

START_TEST(padded_batch_equals_unpadded_sequences)
{
    enum { B = 3, T = 7, F = 6 };
    float x[B * T * F], mask[B * T];
    const int len[B] = {7, 3, 5};
    const char *variants[] = {"", ", posterior=full, global_encoder=bilstm, local_encoder=bilstm, decoder=bilstm",
                              ", local_encoder=lstm", ", decoder_film=1, z_norm=mean, local_context=2, local_input=centred",
                              ", decoder=lstm", ", global_input=envelope, envelope_k=4, local_input=flat"};
    for (size_t k = 0; k < sizeof variants / sizeof *variants; k++) {
        dsi_rng r;
        dsi_rng_seed(&r, 11 + k);
        tu_fill(&r, x, B * T * F);
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) mask[b * T + t] = t < len[b] ? 1.0f : 0.0f;
        /* summed ELBO without noise: the batch loss is the mean of the
         * sequences' losses, each computed by a model of exactly its length
         * (same seed, so the same weights: no parameter depends on T) */
        char text[400];
        snprintf(text, sizeof text, "frames=%d, n_mels=6, v_dim=3, z_dim=2, hidden=4:4, dec_hidden=5, prior_hidden=3, "
                                    "encoder_lstm=3, decoder_lstm=3, scaling=sum, noise=mean%s", T, variants[k]);
        dsn_model *m = make("dsae", text);
        float batch = loss_of(m, x, mask, B, 1, NULL);
        double sum = 0;
        for (int b = 0; b < B; b++) {
            snprintf(text, sizeof text, "frames=%d, n_mels=6, v_dim=3, z_dim=2, hidden=4:4, dec_hidden=5, "
                                        "prior_hidden=3, encoder_lstm=3, decoder_lstm=3, scaling=sum, noise=mean%s",
                     len[b], variants[k]);
            dsn_model *mb = make("dsae", text);
            ck_assert_int_eq(memcmp(mb->params.data, m->params.data, m->params.n * sizeof(float)), 0);
            sum += loss_of(mb, x + (size_t)b * T * F, NULL, 1, 1, NULL);
            dsn_model_free(mb);
        }
        ck_assert_msg(fabs(batch - sum / B) <= 1e-5 * (1 + fabs(sum / B)), "variant %zu: batch %.8g, mean of sequences %.8g",
                      k, batch, sum / B);
        dsn_model_free(m);

        /* full TS-DSAE stage (constrained_epochs 0), noisy, mean scaling: the
         * padded frames' contents change nothing, swap terms included */
        snprintf(text, sizeof text, "frames=%d, n_mels=6, v_dim=3, z_dim=2, hidden=4:4, dec_hidden=5, prior_hidden=3, "
                                    "encoder_lstm=3, decoder_lstm=3, constrained_epochs=0%s", T, variants[k]);
        m = make("ts-dsae", text);
        dsi_terms t1 = {0}, t2 = {0};
        float l1 = loss_of(m, x, mask, B, 5, &t1);
        for (int b = 0; b < B; b++)
            for (int t = len[b]; t < T; t++)
                for (int f = 0; f < F; f++) x[((size_t)b * T + t) * F + f] = 50.0f * dsi_rng_normal(&r);
        float l2 = loss_of(m, x, mask, B, 5, &t2);
        ck_assert_int_eq(t1.n, 8); /* loss, rec, kl_v, kl_z and the four swap terms */
        ck_assert_str_eq(t1.names[7], "swap_zl");
        for (int j = 0; j < t1.n; j++) {
            ck_assert_msg(fabsf(t1.values[j] - t2.values[j]) <= 1e-6f * (1 + fabsf(t1.values[j])),
                          "variant %zu term %s: %g vs %g", k, t1.names[j], t1.values[j], t2.values[j]);
            if (j >= 4) ck_assert_float_gt(t1.values[j], 0.0f);
        }
        ck_assert_float_eq(l1, l2);
        dsn_model_free(m);
    }
}
END_TEST

/* ---- the stage switch ---- */

static void fit_to(dsn_model *m, dsn_optimizer *opt, dsn_dataset *ds, int epochs)
{
    char text[200];
    snprintf(text, sizeof text, "epochs=%d, steps_per_epoch=3, batch_size=8, seed=3", epochs);
    dsn_options *fo;
    ck_assert_int_eq(dsn_options_create(&fo), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(fo, text), DSN_OK);
    dsn_status st = dsn_fit(m, opt, ds, NULL, fo, NULL, NULL);
    ck_assert_msg(st == DSN_OK, "fit: %s", dsn_last_error());
    dsn_options_free(fo);
}

static dsn_optimizer *adam(dsn_model *m, const char *lr)
{
    dsn_options *oo;
    ck_assert_int_eq(dsn_options_create(&oo), DSN_OK);
    ck_assert_int_eq(dsn_options_set(oo, "lr", lr), DSN_OK);
    dsn_optimizer *opt;
    ck_assert_int_eq(dsn_optimizer_create(&opt, m, "adam", oo), DSN_OK);
    dsn_options_free(oo);
    return opt;
}

typedef struct valid_figs {
    int n;
    float loss[8], objective[8];
} valid_figs;

static int on_valid(void *user, int epoch, int64_t step, int epoch_end, int n, const char *const *names,
                    const float *values)
{
    valid_figs *f = user;
    (void)epoch, (void)step;
    if (!epoch_end || f->n >= 8) return 0;
    ck_assert_int_eq(n, 5);
    ck_assert_str_eq(names[1], "valid_loss");
    ck_assert_str_eq(names[3], "valid_objective");
    f->loss[f->n] = values[1];
    f->objective[f->n++] = values[3];
    return 0;
}

/* valid_loss is the constrained stage's objective in both stages (no swap
 * terms, the standard prior): the same as valid_objective before the switch,
 * not after it, where valid_objective holds the swap terms too */
START_TEST(valid_loss_is_one_definition_over_the_stages)
{
    enum { N = 32, T = 5, F = 6 };
    float x[N * T * F];
    int32_t lab[N];
    tones(x, lab, N, T, F, 3, 0);
    size_t shape[2] = {T, F};
    dsn_dataset *ds, *tr, *va;
    ck_assert_int_eq(dsn_dataset_from_memory(&ds, x, N, shape, 2, lab, NULL), DSN_OK);
    ck_assert_int_eq(dsn_dataset_split(ds, &tr, &va, 0.25, 1, 0), DSN_OK);
    dsn_model *m = make("ts-dsae", TINY ", seed=5, constrained_epochs=2, swap_vg=1, swap_zl=1");
    dsn_optimizer *opt = adam(m, "0.003");
    dsn_options *fo;
    ck_assert_int_eq(dsn_options_create(&fo), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(fo, "epochs=4, steps_per_epoch=3, batch_size=8, seed=3"), DSN_OK);
    valid_figs f = {0};
    ck_assert_msg(dsn_fit(m, opt, tr, va, fo, on_valid, &f) == DSN_OK, "%s", dsn_last_error());
    ck_assert_int_eq(f.n, 4);
    /* epoch 1 is constrained; the switch happens at the end of epoch 2 */
    ck_assert_float_eq(f.loss[0], f.objective[0]);
    for (int e = 1; e < 4; e++) {
        ck_assert(isfinite(f.loss[e]) && isfinite(f.objective[e]));
        ck_assert_msg(fabsf(f.loss[e] - f.objective[e]) > 1e-4f * fabsf(f.objective[e]), "epoch %d: %g vs %g", e + 1,
                      (double)f.loss[e], (double)f.objective[e]);
    }
    dsn_options_free(fo);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
    dsn_dataset_free(tr);
    dsn_dataset_free(va);
    dsn_dataset_free(ds);
}
END_TEST

START_TEST(stage_switch_freezes_snapshots_and_resumes)
{
    enum { N = 24, T = 5, F = 6 };
    float x[N * T * F], mask[N * T];
    int32_t lab[N];
    tones(x, lab, N, T, F, 3, 0);
    for (int i = 0; i < N; i++)
        for (int t = 0; t < T; t++) mask[i * T + t] = t < 3 + i % 3 ? 1.0f : 0.0f;
    size_t shape[2] = {T, F};
    dsn_dataset *ds;
    ck_assert_int_eq(dsn_dataset_from_memory(&ds, x, N, shape, 2, lab, mask), DSN_OK);
    const char *text = TINY ", seed=8, constrained_epochs=2, local_encoder=bilstm, posterior=full";
    dsn_model *m = make("ts-dsae", text);
    dsn_optimizer *opt = adam(m, "0.01");
    float *init = copy_params(m);

    /* the stage through the generic calls */
    ck_assert_str_eq(host_info(m).stage, "constrained");
    ck_assert_int_eq(dsn_model_set_stage(m, "bogus"), DSN_E_INVALID);
    ck_assert_int_eq(dsn_model_set_stage(m, "constrained"), DSN_OK); /* already there */
    /* stage 1: two epochs; local encoder and prior untouched, the rest learns */
    fit_to(m, opt, ds, 1);
    ck_assert_int_eq(m->epoch, 1);
    ck_assert(dsi_params_is_frozen(&m->params, group_id(m, "local")));
    fit_to(m, opt, ds, 2);
    ck_assert_int_eq(m->epoch, 2);
    ck_assert(group_equal(m, init, "local"));
    ck_assert(group_equal(m, init, "prior"));
    ck_assert(!group_equal(m, init, "global"));
    ck_assert(!group_equal(m, init, "decoder"));
    const char *names[16];
    float vals[16];
    ck_assert_int_eq(dsn_train_terms(m, names, vals, 16), 4); /* loss rec kl_v kl_z: no swap terms yet */
    /* the switch ran at the end of epoch 2: snapshot = the stage-1 global encoder, local groups unfrozen */
    ck_assert(!dsi_params_is_frozen(&m->params, group_id(m, "local")));
    ck_assert(!dsi_params_is_frozen(&m->params, group_id(m, "prior")));
    ck_assert(dsi_params_is_frozen(&m->params, group_id(m, "snapshot")));
    ck_assert_int_eq(memcmp(pvals(m, "snap.feat.0.w"), pvals(m, "genc.feat.0.w"), pcount(m, "genc.feat.0.w") * 4), 0);
    ck_assert_int_eq(memcmp(pvals(m, "snap.v.b"), pvals(m, "genc.v.b"), pcount(m, "genc.v.b") * 4), 0);
    float *stage1 = copy_params(m);
    ck_assert_str_eq(host_info(m).stage, "full");
    ck_assert_int_eq(dsn_model_set_stage(m, "constrained"), DSN_E_STATE); /* no way back */
    {   /* an explicit switch does what the schedule does */
        dsn_model *e = make("ts-dsae", text);
        int obj = e->objective;
        ck_assert_int_eq(dsn_model_set_stage(e, "full"), DSN_OK);
        ck_assert_str_eq(host_info(e).stage, "full");
        ck_assert_int_eq(e->objective, obj + 1);
        ck_assert(!dsi_params_is_frozen(&e->params, group_id(e, "local")));
        ck_assert_int_eq(memcmp(pvals(e, "snap.v.w"), pvals(e, "genc.v.w"), pcount(e, "genc.v.w") * 4), 0);
        dsn_model_free(e);
        dsn_model *d = make("dsae", TINY);
        ck_assert_ptr_null(host_info(d).stage);
        ck_assert_int_eq(dsn_model_set_stage(d, "full"), DSN_E_UNSUPPORTED);
        dsn_model_free(d);
    }

    /* stage 2: everything but the snapshot learns; swap terms reported */
    fit_to(m, opt, ds, 3);
    ck_assert(!group_equal(m, init, "local"));
    ck_assert(!group_equal(m, init, "prior"));
    ck_assert(!group_equal(m, stage1, "global"));
    ck_assert(group_equal(m, stage1, "snapshot"));
    ck_assert_int_eq(dsn_train_terms(m, names, vals, 16), 8);
    ck_assert_str_eq(names[4], "swap_vg");

    /* exact resume across the switch: checkpoints taken in stage 1 (epoch 1)
     * and in stage 2 (epoch 2, right after the switch) continue to the same
     * weights as a run without the save and load */
    char path[512];
    snprintf(path, sizeof path, "%s/ts.dsn", tu_tmpdir());
    for (int stop = 1; stop <= 2; stop++) {
        dsn_model *ref = make("ts-dsae", text);
        dsn_optimizer *oref = adam(ref, "0.01");
        fit_to(ref, oref, ds, stop);
        fit_to(ref, oref, ds, 3);
        dsn_model *a = make("ts-dsae", text);
        dsn_optimizer *oa = adam(a, "0.01");
        fit_to(a, oa, ds, stop);
        ck_assert_int_eq(dsn_model_save(a, oa, path), DSN_OK);
        dsn_optimizer_free(oa);
        dsn_model_free(a);
        ck_assert_int_eq(dsn_model_load(&a, path), DSN_OK);
        ck_assert_int_eq(dsn_optimizer_load(&oa, a, path), DSN_OK);
        ck_assert_int_eq(a->epoch, stop);
        ck_assert_int_eq(dsi_params_is_frozen(&a->params, group_id(a, "local")), stop < 2);
        if (stop == 2) /* the snapshot was taken at the switch, right before the save */
            ck_assert_int_eq(memcmp(pvals(a, "snap.v.w"), pvals(a, "genc.v.w"), pcount(a, "genc.v.w") * 4), 0);
        fit_to(a, oa, ds, 3);
        ck_assert_int_eq(memcmp(a->params.data, ref->params.data, ref->params.n * sizeof(float)), 0);
        dsn_optimizer_free(oa);
        dsn_model_free(a);
        dsn_optimizer_free(oref);
        dsn_model_free(ref);
    }

    /* the two-stage model without regularisers (weights 0): no swap terms;
     * right after the switch the informed prior equals q(v|x), so KL_v = 0 */
    {
        dsn_model *z = make("ts-dsae", TINY ", seed=8, constrained_epochs=0, swap_vg=0, swap_zg=0, swap_vl=0, swap_zl=0");
        dsi_terms tt = {0};
        dsi_tape tp;
        dsi_tape_init(&tp);
        dsi_input in = {x, N, NULL, 0, mask};
        dsi_var *l = NULL;
        ck_assert_int_eq(z->vt->loss(z, &tp, &in, &l, &tt), DSN_OK);
        ck_assert_int_eq(tt.n, 4);
        ck_assert_str_eq(tt.names[2], "kl_v");
        ck_assert_float_eq(tt.values[2], 0.0f);
        dsi_tape_release(&tp);
        dsn_model_free(z);
    }

    /* vanilla DSAE: nothing frozen, no snapshot group, the hook does nothing */
    dsn_model *d = make("dsae", TINY ", seed=8");
    ck_assert_int_eq(group_id(d, "snapshot"), -1);
    dsn_optimizer *od = adam(d, "0.01");
    float *dinit = copy_params(d);
    fit_to(d, od, ds, 1);
    ck_assert(!group_equal(d, dinit, "local"));
    ck_assert(!group_equal(d, dinit, "prior"));
    free(dinit);
    dsn_optimizer_free(od);
    dsn_model_free(d);

    free(init);
    free(stage1);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
    dsn_dataset_free(ds);
}
END_TEST

/* ---- swap accuracy on two timbres ---- */

static int nearest(const float *v, const float *c, int dv)
{
    double d0 = 0, d1 = 0;
    for (int k = 0; k < dv; k++) {
        d0 += (v[k] - c[k]) * (v[k] - c[k]);
        d1 += (v[k] - c[dv + k]) * (v[k] - c[dv + k]);
    }
    return d1 < d0;
}

/* Decode the given v/z values into y, re-encode y, and return the fraction
 * of items whose v mean is nearest the centroid of want[i]. */
static double reencode_accuracy(dsn_session *s, dsn_encoding *e, const float *v, const float *z, const int32_t *want,
                                int n, const float *cent, int dv, float *y, size_t ylen, float *vbuf)
{
    ck_assert_int_eq(dsn_encoding_prepare(e, (size_t)n, NULL), DSN_OK);
    ck_assert_int_eq(dsn_encoding_set(e, "global", "value", v, (size_t)n), DSN_OK);
    size_t zrows;
    ck_assert_int_eq(dsn_encoding_get(e, NULL, 0, &zrows, NULL, "local", "value"), DSN_OK);
    ck_assert_int_eq(dsn_encoding_set(e, "local", "value", z, zrows), DSN_OK);
    ck_assert_int_eq(dsn_decode(s, y, ylen, e), DSN_OK);
    ck_assert_int_eq(dsn_encode(s, e, y, (size_t)n, NULL), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(e, vbuf, (size_t)n * dv, NULL, NULL, "global", "mean"), DSN_OK);
    int ok = 0;
    for (int i = 0; i < n; i++) ok += nearest(vbuf + (size_t)i * dv, cent, dv) == want[i];
    return (double)ok / n;
}

static double mse(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return s / (double)n;
}

typedef struct swap_eval {
    double acc[3];        /* pre-swap, global swap, local swap */
    double err_pre;       /* mse(dec(z_i, v_i), x_i) */
    double err_g_truth;   /* mse(dec(z_i, v_j), melody i in j's timbre) */
    double err_g_src;     /* mse(dec(z_i, v_j), x_i) */
    double err_l_src;     /* mse(dec(z_j, v_i), x_i) */
} swap_eval;

/* The swap protocol with a nearest-centroid classifier on v means; partner of
 * item i is item i + 1 (the other timbre). xf: the melodies in the other
 * timbre (the global swap's truth). */
static void swap_scores(dsn_model *m, const float *x, const float *xf, const int32_t *lab, int n, int T, swap_eval *ev)
{
    const int dv = host_part(m, 0).dim, dz = host_part(m, 1).dim;
    const size_t obs = host_info(m).obs_size, ny = (size_t)n * obs;
    dsn_session *s;
    dsn_encoding *e;
    ck_assert_int_eq(dsn_session_create(&s, m, (size_t)n), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&e, m, (size_t)n), DSN_OK);
    ck_assert_int_eq(dsn_encode(s, e, x, (size_t)n, NULL), DSN_OK);
    float *v = malloc(sizeof(float) * n * dv), *z = malloc(sizeof(float) * n * T * dz);
    float *vs = malloc(sizeof(float) * n * dv), *zs = malloc(sizeof(float) * n * T * dz);
    float *y = malloc(sizeof(float) * ny), *vb = malloc(sizeof(float) * n * dv);
    int32_t *want = malloc(sizeof(int32_t) * n);
    ck_assert_int_eq(dsn_encoding_get(e, v, (size_t)n * dv, NULL, NULL, "global", "mean"), DSN_OK);
    ck_assert_int_eq(dsn_encoding_get(e, z, (size_t)n * T * dz, NULL, NULL, "local", "mean"), DSN_OK);
    float cent[2 * 16] = {0};
    int cnt[2] = {0, 0};
    for (int i = 0; i < n; i++) {
        cnt[lab[i]]++;
        for (int k = 0; k < dv; k++) cent[lab[i] * dv + k] += v[(size_t)i * dv + k];
    }
    for (int c = 0; c < 2; c++)
        for (int k = 0; k < dv; k++) cent[c * dv + k] /= (float)cnt[c];
    ev->acc[0] = reencode_accuracy(s, e, v, z, lab, n, cent, dv, y, ny, vb);
    ev->err_pre = mse(y, x, ny);
    for (int i = 0; i < n; i++) {
        int j = (i + 1) % n;
        memcpy(vs + (size_t)i * dv, v + (size_t)j * dv, sizeof(float) * dv);
        memcpy(zs + (size_t)i * T * dz, z + (size_t)j * T * dz, sizeof(float) * T * dz);
        want[i] = lab[j];
    }
    ev->acc[1] = reencode_accuracy(s, e, vs, z, want, n, cent, dv, y, ny, vb);
    ev->err_g_truth = mse(y, xf, ny);
    ev->err_g_src = mse(y, x, ny);
    ev->acc[2] = reencode_accuracy(s, e, v, zs, lab, n, cent, dv, y, ny, vb);
    ev->err_l_src = mse(y, x, ny);
    free(v);
    free(z);
    free(vs);
    free(zs);
    free(y);
    free(vb);
    free(want);
    dsn_encoding_free(e);
    dsn_session_free(s);
}

START_TEST(two_timbres_swap_accuracy)
{
    enum { N = 256, NV = 64, T = 16, F = 20 };
    float *x = malloc(sizeof(float) * N * T * F), *xv = malloc(sizeof(float) * NV * T * F);
    float *xf = malloc(sizeof(float) * NV * T * F);
    int32_t lab[N], labv[NV], labf[NV];
    tones(x, lab, N, T, F, 21, 0);
    tones(xv, labv, NV, T, F, 22, 0);
    tones(xf, labf, NV, T, F, 22, 1);
    size_t shape[2] = {T, F};
    dsn_dataset *ds;
    ck_assert_int_eq(dsn_dataset_from_memory(&ds, x, N, shape, 2, lab, NULL), DSN_OK);
    /* obs_var 0.05: with mean scaling and only 20 bins per frame the default
     * 0.5 makes z_t not worth its KL here, and the melody is dropped */
    dsn_model *m = make("ts-dsae", "frames=16, n_mels=20, v_dim=4, z_dim=4, hidden=32:32, dec_hidden=32:32, "
                                   "prior_hidden=16, constrained_epochs=15, obs_var=0.05, seed=2");
    dsn_optimizer *opt = adam(m, "0.003");
    dsn_options *fo;
    ck_assert_int_eq(dsn_options_create(&fo), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(fo, "epochs=40, batch_size=32, seed=1"), DSN_OK);
    double t0 = now_s();
    ck_assert_int_eq(dsn_fit(m, opt, ds, NULL, fo, NULL, NULL), DSN_OK);
    double secs = now_s() - t0;
    swap_eval ev;
    swap_scores(m, xv, xf, labv, NV, T, &ev);
    fprintf(stderr,
            "two timbres: ts-dsae, 40 epochs of 8 steps in %.2f s; accuracy pre %.3f, global swap %.3f, local swap "
            "%.3f (chance 0.5); mse: pre %.3f, global swap vs truth %.3f vs source %.3f, local swap vs source %.3f\n",
            secs, ev.acc[0], ev.acc[1], ev.acc[2], ev.err_pre, ev.err_g_truth, ev.err_g_src, ev.err_l_src);
    ck_assert_msg(ev.acc[0] >= 0.9 && ev.acc[1] >= 0.9 && ev.acc[2] >= 0.9, "swap accuracy %.3f %.3f %.3f (chance 0.5)",
                  ev.acc[0], ev.acc[1], ev.acc[2]);
    /* dec(z_i, v_j) is melody i in timbre j (close to the rendered truth, far from the source) */
    ck_assert_msg(ev.err_g_truth < 0.15 * ev.err_g_src, "global swap: mse %.3f to truth, %.3f to source",
                  ev.err_g_truth, ev.err_g_src);
    /* z carries the melody: another sequence's z_t reconstructs x_i much worse */
    ck_assert_msg(ev.err_pre < 0.5 * ev.err_l_src, "pre-swap mse %.3f, local swap %.3f", ev.err_pre, ev.err_l_src);
    dsn_optimizer_free(opt);
    dsn_model_free(m);

    /* the baseline, vanilla DSAE, same settings: v predicts the timbre but
     * the timbre also lives in z_t, so swapping v changes nothing (the
     * paper's collapse) */
    m = make("dsae", "frames=16, n_mels=20, v_dim=4, z_dim=4, hidden=32:32, dec_hidden=32:32, prior_hidden=16, "
                     "obs_var=0.05, seed=2");
    opt = adam(m, "0.003");
    ck_assert_int_eq(dsn_fit(m, opt, ds, NULL, fo, NULL, NULL), DSN_OK);
    swap_eval ed;
    swap_scores(m, xv, xf, labv, NV, T, &ed);
    fprintf(stderr,
            "two timbres: dsae accuracy pre %.3f, global swap %.3f, local swap %.3f; mse: global swap vs truth %.3f vs "
            "source %.3f\n",
            ed.acc[0], ed.acc[1], ed.acc[2], ed.err_g_truth, ed.err_g_src);
    ck_assert_msg(ed.acc[1] < ev.acc[1] - 0.3, "vanilla DSAE global swap %.3f, TS-DSAE %.3f", ed.acc[1], ev.acc[1]);
    dsn_options_free(fo);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
    dsn_dataset_free(ds);
    free(x);
    free(xv);
    free(xf);
}
END_TEST

/* ---- model file, sampling, allocation ---- */

START_TEST(save_load_sample_and_no_allocation)
{
    enum { N = 6, T = 9, F = 7 };
    float x[N * T * F], mask[N * T];
    int32_t lab[N];
    tones(x, lab, N, T, F, 5, 0);
    for (int i = 0; i < N; i++)
        for (int t = 0; t < T; t++) mask[i * T + t] = t < T - i % 4 ? 1.0f : 0.0f;
    const char *configs[][2] = {
        {"dsae", ""},
        {"ts-dsae", ", constrained_epochs=0, swap_stop_grad=1, informed_prior=0"},
        {"ts-dsae", ", constrained_epochs=0, posterior=full, global_encoder=bilstm, local_encoder=bilstm, decoder=bilstm"},
        {"ts-dsae", ", constrained_epochs=5, local_encoder=lstm"},
        {"ts-dsae", ", constrained_epochs=0, decoder_film=1, z_norm=mean, local_context=2, local_input=centred"},
        {"ts-dsae", ", constrained_epochs=0, static_z=2"},
        {"ts-dsae", ", constrained_epochs=0, iid_z=1, swap_critic=2, local_eq=1"},
        {"ts-dsae", ", constrained_epochs=0, local_encoder=lstm, decoder=lstm"},
        {"ts-dsae", ", constrained_epochs=0, global_input=envelope, envelope_k=3, local_input=flat, swap_critic=2"},
        {"ts-dsae", ", constrained_epochs=3, register_v=5"},
        {"ts-dsae", ", constrained_epochs=0, adv_z=1, adv_frames=4"},
        {"ts-dsae", ", constrained_epochs=0, adv_z=1, global_input=envelope, envelope_k=3, local_input=flat"},
        {"dsae", ", adv_z=0.5, adv_hidden=5:3"},
    };
    char path[512];
    snprintf(path, sizeof path, "%s/dsae.dsn", tu_tmpdir());
    for (size_t k = 0; k < sizeof configs / sizeof *configs; k++) {
        char text[400];
        snprintf(text, sizeof text, "frames=9, n_mels=7, v_dim=3, z_dim=2, hidden=8:8, dec_hidden=8, prior_hidden=4, "
                                    "encoder_lstm=4, decoder_lstm=4, seed=4%s", configs[k][1]);
        dsn_model *m = make(configs[k][0], text);
        dsn_optimizer *opt = adam(m, "0.01");
        /* training steps allocate nothing after the first */
        uint64_t a0 = 0;
        for (int s = 0; s < 6; s++) {
            if (s == 1) a0 = dsn_allocation_count();
            float l;
            dsn_status st = dsn_train_step(m, opt, &l, x, N, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, NULL});
            ck_assert_msg(st == DSN_OK, "%s", dsn_last_error());
            ck_assert(isfinite(l));
        }
        ck_assert_uint_eq(dsn_allocation_count() - a0, 0);

        /* encode / decode / sample after warm-up allocate nothing */
        dsn_session *s;
        dsn_encoding *e, *f;
        ck_assert_int_eq(dsn_session_create(&s, m, N), DSN_OK);
        ck_assert_int_eq(dsn_encoding_create(&e, m, N), DSN_OK);
        ck_assert_int_eq(dsn_encoding_create(&f, m, N), DSN_OK);
        float y[N * T * F], y2[N * T * F];
        ck_assert_int_eq(dsn_encode(s, e, x, N, NULL), DSN_OK);
        ck_assert_int_eq(dsn_decode(s, y, N * T * F, e), DSN_OK);
        ck_assert_int_eq(dsn_sample(s, e, "local", 3), DSN_OK);
        ck_assert_int_eq(dsn_sample(s, e, "global", 3), DSN_OK);
        uint64_t a1 = dsn_allocation_count();
        ck_assert_int_eq(dsn_encode(s, e, x, N, NULL), DSN_OK);
        ck_assert_int_eq(dsn_encode(s, f, x + T * F, 1, NULL), DSN_OK);
        ck_assert_int_eq(dsn_encode(s, f, x, N, NULL), DSN_OK);
        ck_assert_int_eq(dsn_swap(e, f, "global"), DSN_OK);
        ck_assert_int_eq(dsn_decode(s, y, N * T * F, e), DSN_OK);
        ck_assert_int_eq(dsn_sample(s, e, "local", 4), DSN_OK);
        ck_assert_int_eq(dsn_decode(s, y, N * T * F, e), DSN_OK);
        ck_assert_uint_eq(dsn_allocation_count(), a1);

        /* sampling the local part: reproducible for a seed, z_1 from N(0, I) (mean 0), then the LSTM prior */
        float z1[N * T * 2], z2[N * T * 2], mu[N * T * 2];
        ck_assert_int_eq(dsn_sample(s, e, "local", 42), DSN_OK);
        ck_assert_int_eq(dsn_encoding_get(e, z1, sizeof z1 / 4, NULL, NULL, "local", "value"), DSN_OK);
        ck_assert_int_eq(dsn_encoding_get(e, mu, sizeof mu / 4, NULL, NULL, "local", "mean"), DSN_OK);
        ck_assert_int_eq(dsn_sample(s, e, "local", 42), DSN_OK);
        ck_assert_int_eq(dsn_encoding_get(e, z2, sizeof z2 / 4, NULL, NULL, "local", "value"), DSN_OK);
        ck_assert_int_eq(memcmp(z1, z2, sizeof z1), 0);
        ck_assert_float_eq(mu[0], 0.0f);
        ck_assert_float_ne(mu[T * 2 - 1], 0.0f);
        for (size_t i = 0; i < sizeof z1 / 4; i++) ck_assert(isfinite(z1[i]));
        /* the step-by-step sampler and the teacher-forced layer agree: the
         * prior means of the samples are the LSTM prior run over them */
        {
            dsi_tape tp;
            dsi_tape_init(&tp);
            dsi_tape_set_recording(&tp, 0);
            int sh[3] = {N, T, 2};
            dsi_var *h = dsi_slice(&tp, dsi_tape_wrap(&tp, z1, 3, sh), 1, 0, T - 1);
            for (int l = 0; l < 4; l++) {
                char nm[32];
                snprintf(nm, sizeof nm, "prior.%d.wx", l);
                if (param_index(m, nm) < 0) break;
                dsi_params *ps = &m->params;
                snprintf(nm, sizeof nm, "prior.%d.wh", l);
                dsi_var *wh = dsi_params_var(ps, param_index(m, nm));
                snprintf(nm, sizeof nm, "prior.%d.b", l);
                dsi_var *bb = dsi_params_var(ps, param_index(m, nm));
                snprintf(nm, sizeof nm, "prior.%d.wx", l);
                h = dsi_lstm(&tp, h, dsi_params_var(ps, param_index(m, nm)), wh, bb, NULL, NULL, 0, NULL);
            }
            dsi_var *py = dsi_linear(&tp, h, dsi_params_var(&m->params, param_index(m, "prior.z.w")),
                                    dsi_params_var(&m->params, param_index(m, "prior.z.b")), DSI_ACT_NONE);
            ck_assert_ptr_nonnull(py);
            for (int i = 0; i < N; i++)
                for (int t = 1; t < T; t++)
                    for (int d = 0; d < 2; d++)
                        ck_assert_float_eq_tol(mu[(i * T + t) * 2 + d], py->x[(i * (T - 1) + t - 1) * 4 + d], 1e-5f);
            dsi_tape_release(&tp);
        }

        /* model file round trip: identical encodings and decodings */
        ck_assert_int_eq(dsn_model_save(m, NULL, path), DSN_OK);
        dsn_model *m2;
        ck_assert_int_eq(dsn_model_load(&m2, path), DSN_OK);
        ck_assert_str_eq(host_info(m2).family, configs[k][0]);
        ck_assert_int_eq(memcmp(m2->params.data, m->params.data, m->params.n * sizeof(float)), 0);
        dsn_session *s2;
        dsn_encoding *e2;
        ck_assert_int_eq(dsn_session_create(&s2, m2, N), DSN_OK);
        ck_assert_int_eq(dsn_encoding_create(&e2, m2, N), DSN_OK);
        ck_assert_int_eq(dsn_encode(s, e, x, N, NULL), DSN_OK);
        ck_assert_int_eq(dsn_encode(s2, e2, x, N, NULL), DSN_OK);
        float va[N * 3], vb[N * 3], za[N * T * 2], zb[N * T * 2];
        ck_assert_int_eq(dsn_encoding_get(e, va, N * 3, NULL, NULL, "global", "mean"), DSN_OK);
        ck_assert_int_eq(dsn_encoding_get(e2, vb, N * 3, NULL, NULL, "global", "mean"), DSN_OK);
        ck_assert_int_eq(dsn_encoding_get(e, za, N * T * 2, NULL, NULL, "local", "logvar"), DSN_OK);
        ck_assert_int_eq(dsn_encoding_get(e2, zb, N * T * 2, NULL, NULL, "local", "logvar"), DSN_OK);
        ck_assert_int_eq(memcmp(va, vb, sizeof va), 0);
        ck_assert_int_eq(memcmp(za, zb, sizeof za), 0);
        ck_assert_int_eq(dsn_decode(s, y, N * T * F, e), DSN_OK);
        ck_assert_int_eq(dsn_decode(s2, y2, N * T * F, e2), DSN_OK);
        ck_assert_int_eq(memcmp(y, y2, sizeof y), 0);
        dsn_encoding_free(e2);
        dsn_session_free(s2);
        dsn_model_free(m2);

        dsn_encoding_free(e);
        dsn_encoding_free(f);
        dsn_session_free(s);
        dsn_optimizer_free(opt);
        dsn_model_free(m);
    }
}
END_TEST

/* ---- optional timing of the reference configuration ---- */

START_TEST(bench_reference_step)
{
    const char *on = getenv("DSN_DSAE_BENCH");
    if (!on || !*on || !strcmp(on, "0")) TU_SKIP("timing only with DSN_DSAE_BENCH=1");
    enum { B = 128, T = 250, F = 80 };
    float *x = malloc(sizeof(float) * B * T * F), *mask = malloc(sizeof(float) * B * T);
    int32_t *lab = malloc(sizeof(int32_t) * B);
    tones(x, lab, B, T, F, 1, 0);
    for (int i = 0; i < B * T; i++) mask[i] = 1.0f;
    const char *family[2] = {"dsae", "ts-dsae"};
    const char *opts[2] = {"seed=1", "seed=1, constrained_epochs=1"};
    for (int k = 0; k < 3; k++) {
        dsn_model *m = make(family[k ? 1 : 0], opts[k ? 1 : 0]);
        if (k == 2) ck_assert_int_eq(m->vt->epoch_end(m, 1), DSN_OK); /* full stage */
        dsn_optimizer *opt = adam(m, "0.001");
        float l;
        ck_assert_int_eq(dsn_train_step(m, opt, &l, x, B, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, NULL}), DSN_OK);
        int reps = 5;
        double t0 = now_s();
        for (int r = 0; r < reps; r++) ck_assert_int_eq(dsn_train_step(m, opt, &l, x, B, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, NULL}), DSN_OK);
        double dt = (now_s() - t0) / reps;
        fprintf(stderr, "bench: %s%s batch %d T %d: %.1f ms per training step\n", family[k ? 1 : 0],
                k == 1 ? " (stage 1)" : k == 2 ? " (full stage)" : "", B, T, 1e3 * dt);
        /* encode + swap + decode of one clip, one thread */
        dsn_session *s;
        dsn_encoding *e, *f;
        ck_assert_int_eq(dsn_session_create(&s, m, 1), DSN_OK);
        ck_assert_int_eq(dsn_encoding_create(&e, m, 1), DSN_OK);
        ck_assert_int_eq(dsn_encoding_create(&f, m, 1), DSN_OK);
        float *y = malloc(sizeof(float) * T * F);
        ck_assert_int_eq(dsn_encode(s, f, x + T * F, 1, NULL), DSN_OK);
        ck_assert_int_eq(dsn_encode(s, e, x, 1, NULL), DSN_OK);
        ck_assert_int_eq(dsn_decode(s, y, T * F, e), DSN_OK);
        t0 = now_s();
        for (int r = 0; r < 20; r++) {
            ck_assert_int_eq(dsn_encode(s, e, x, 1, NULL), DSN_OK);
            ck_assert_int_eq(dsn_swap(e, f, "global"), DSN_OK);
            ck_assert_int_eq(dsn_decode(s, y, T * F, e), DSN_OK);
        }
        fprintf(stderr, "bench: %s encode + swap + decode of one %d-frame clip: %.2f ms\n", family[k ? 1 : 0], T,
                1e3 * (now_s() - t0) / 20);
        free(y);
        dsn_encoding_free(e);
        dsn_encoding_free(f);
        dsn_session_free(s);
        dsn_optimizer_free(opt);
        dsn_model_free(m);
    }
    free(x);
    free(mask);
    free(lab);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dsae");
    TCase *tc = tcase_create("dsae");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, options_parts_and_sizes);
    tcase_add_test(tc, grad_full_losses);
    tcase_add_test(tc, global_features_none_params_and_errors);
    tcase_add_test(tc, global_features_none_grad_whole_loss);
    tcase_add_test(tc, global_features_none_train_steps_no_allocation);
    tcase_add_test(tc, iid_z_and_swap_critic_add_their_terms);
    tcase_add_test(tc, adv_z_gradient_is_reversed);
    tcase_add_test(tc, adv_z_group_stage_and_term);
    tcase_add_test(tc, config_speech_is_default_plus_critic);
    tcase_add_test(tc, envelope_inputs_are_what_the_encoders_see);
    tcase_add_test(tc, register_v_is_the_correlation_with_the_proxy);
    tcase_add_test(tc, padded_batch_equals_unpadded_sequences);
    tcase_add_test(tc, stage_switch_freezes_snapshots_and_resumes);
    tcase_add_test(tc, valid_loss_is_one_definition_over_the_stages);
    tcase_add_test(tc, two_timbres_swap_accuracy);
    tcase_add_test(tc, save_load_sample_and_no_allocation);
    tcase_add_test(tc, bench_reference_step);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
