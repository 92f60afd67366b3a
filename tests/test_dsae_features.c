/* test_dsae_features.c - the DSAE option global_features=none (issue #9 W2:
 * the global bi-LSTM reads the mel frames directly): parameter count, the
 * rejected combination, finite-difference gradients of the whole loss (DSAE
 * and the TS-DSAE full stage), and training steps without allocation after
 * the first. */
#include "disent.h"
#include "models/model.h"
#include "support/gradcheck.h"
#include "support/testutil.h"

#include <stdio.h>
#include <string.h>

#define TINY "frames=5, n_mels=6, v_dim=3, z_dim=2, hidden=4:4, dec_hidden=5, prior_hidden=3, encoder_lstm=3"

static dsn_status try_make(const char *family, const char *text, dsn_model **m)
{
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(o, text), DSN_OK);
    *m = NULL;
    dsn_status st = dsn_model_create(m, family, o);
    dsn_options_free(o);
    return st;
}

static dsn_model *make(const char *family, const char *text)
{
    dsn_model *m;
    dsn_status st = try_make(family, text, &m);
    ck_assert_msg(st == DSN_OK, "%s %s: %s", family, text, dsn_last_error());
    return m;
}

START_TEST(params_and_errors)
{
    dsn_model *a = make("dsae", TINY ", global_encoder=bilstm");
    dsn_model *b = make("dsae", TINY ", global_encoder=bilstm, global_features=none");
    /* without the global MLP 6->4->4: the LSTMs take 6 inputs instead of 4 */
    const size_t mlp = 6 * 4 + 4 + 4 * 4 + 4, lstm_extra = 2 * (6 - 4) * 4 * 3;
    ck_assert_uint_eq(dsn_model_num_params(b), dsn_model_num_params(a) - mlp + lstm_extra);
    dsn_model_free(a);
    dsn_model_free(b);
    dsn_model *m;
    ck_assert_int_eq(try_make("dsae", TINY ", global_features=none", &m), DSN_E_INVALID);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "global_features"));
}
END_TEST

typedef struct gctx {
    dsn_model *m;
    const float *x, *mask;
    int n;
    size_t np;
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
    dsi_rng_seed(&c->m->rng, 77);
    dsi_input inp = {c->x, (size_t)c->n, NULL, 0, c->mask};
    dsi_var *l = NULL;
    dsi_terms terms = {0};
    if (c->m->vt->loss(c->m, t, &inp, &l, &terms) != DSN_OK) return NULL;
    return l;
}

/* every parameter before the snapshot group (or all) */
static size_t checked_floats(const dsn_model *m)
{
    for (int i = 0; i < m->params.count; i++)
        if (!strcmp(m->params.group_names[m->params.list[i].group], "snapshot")) return m->params.list[i].offset;
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

START_TEST(grad_whole_loss)
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
        if (!strcmp(m->params.group_names[p->group], "global"))
            for (size_t j = 0; j < p->var.n; j++) p->var.x[j] += 0.2f * dsi_rng_normal(&r);
    }
    grad_check_model(m, x, mask, B, "ts-dsae full stage, global_features=none");
    dsn_model_free(m);
}
END_TEST

START_TEST(train_steps_no_allocation)
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
    ck_assert_int_eq(dsn_train_step(m, opt, x, B, NULL, NULL, &l0), DSN_OK);
    uint64_t a0 = dsn_allocation_count();
    for (int i = 0; i < 30; i++) ck_assert_int_eq(dsn_train_step(m, opt, x, B, NULL, NULL, &l), DSN_OK);
    ck_assert_uint_eq(dsn_allocation_count(), a0);
    ck_assert(isfinite(l) && l < l0);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dsae_features");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, params_and_errors);
    tcase_add_test(tc, grad_whole_loss);
    tcase_add_test(tc, train_steps_no_allocation);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
