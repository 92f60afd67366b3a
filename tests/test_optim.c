/* test_optim.c - SGD/Adam/AdamW against double-precision references, AMSGrad,
 * decoupled decay, frozen groups, clipping, schedules, exact save/restore,
 * corrupt-state rejection, and a two-moons MLP fit. */
#include "autodiff/ops.h"
#include "autodiff/params.h"
#include "core/alloc.h"
#include "core/fileio.h"
#include "optim/optim.h"
#include "support/gradcheck.h"
#include "support/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---- a tiny store: "a" [5] in group "g0", "b" [3] in group "g1" ---- */
#define NA 5
#define NB 3
#define NT (NA + NB)

typedef struct tiny {
    dsi_params ps;
    int g0, g1, a, b;
} tiny;

static void tiny_init(tiny *t)
{
    dsi_params_init(&t->ps);
    t->g0 = dsi_params_group(&t->ps, "g0");
    t->g1 = dsi_params_group(&t->ps, "g1");
    int sa[1] = {NA}, sb[1] = {NB};
    t->a = dsi_params_add(&t->ps, "a", t->g0, 1, sa);
    t->b = dsi_params_add(&t->ps, "b", t->g1, 1, sb);
    ck_assert_int_eq(dsi_params_finalize(&t->ps), DSN_OK);
    float *wa = dsi_params_var(&t->ps, t->a)->x, *wb = dsi_params_var(&t->ps, t->b)->x;
    for (int i = 0; i < NA; i++) wa[i] = 0.3f * (float)i - 0.5f;
    for (int i = 0; i < NB; i++) wb[i] = 0.2f - 0.4f * (float)i;
}

/* element k of the 8 values (a then b) */
static float *tiny_w(tiny *t, int k)
{
    return k < NA ? &dsi_params_var(&t->ps, t->a)->x[k] : &dsi_params_var(&t->ps, t->b)->x[k - NA];
}

/* A fixed gradient sequence: large at the first step, small afterwards, so
 * that v shrinks and AMSGrad's running max matters. */
static double grad_at(int step, int k)
{
    double scale = step == 0 ? 3.0 : 0.4;
    return scale * sin(1.3 * k + 0.7 * step + 0.2);
}

static void tiny_set_grad(tiny *t, int step)
{
    float *ga = t->ps.grad + t->ps.list[t->a].offset, *gb = t->ps.grad + t->ps.list[t->b].offset;
    for (int k = 0; k < NT; k++) {
        float g = (float)grad_at(step, k);
        if (k < NA) ga[k] = g;
        else gb[k - NA] = g;
    }
}

/* ---- double-precision references, written out from the papers' formulas ---- */
typedef struct ref_state {
    double w[NT], m[NT], v[NT], vmax[NT];
} ref_state;

static void ref_init(ref_state *r, tiny *t)
{
    memset(r, 0, sizeof *r);
    for (int k = 0; k < NT; k++) r->w[k] = *tiny_w(t, k);
}

/* PyTorch SGD: g += wd w; buf = mu buf + g (buf = g at t = 1); d = nesterov ? g + mu buf : buf; w -= lr d */
static void ref_sgd(ref_state *r, int step, double lr, double wd, double mu, int nesterov)
{
    for (int k = 0; k < NT; k++) {
        double g = grad_at(step, k) + wd * r->w[k];
        double d = g;
        if (mu > 0) {
            r->m[k] = step == 0 ? g : mu * r->m[k] + g;
            d = nesterov ? g + mu * r->m[k] : r->m[k];
        }
        r->w[k] -= lr * d;
    }
}

/* Kingma & Ba Alg. 1 (+ L2 in the gradient for Adam, decoupled decay for
 * AdamW, running max of v for AMSGrad). t = step + 1. */
static void ref_adam(ref_state *r, int step, double lr, double b1, double b2, double eps, double wd, int adamw,
                     int amsgrad)
{
    int t = step + 1;
    for (int k = 0; k < NT; k++) {
        double g = grad_at(step, k);
        if (!adamw) g += wd * r->w[k];
        else r->w[k] *= 1.0 - lr * wd;
        r->m[k] = b1 * r->m[k] + (1 - b1) * g;
        r->v[k] = b2 * r->v[k] + (1 - b2) * g * g;
        if (r->v[k] > r->vmax[k]) r->vmax[k] = r->v[k];
        double mhat = r->m[k] / (1 - pow(b1, t));
        double vhat = (amsgrad ? r->vmax[k] : r->v[k]) / (1 - pow(b2, t));
        r->w[k] -= lr * mhat / (sqrt(vhat) + eps);
    }
}

static void assert_matches_ref(tiny *t, const ref_state *r, double tol, const char *what, int step)
{
    for (int k = 0; k < NT; k++) {
        double w = *tiny_w(t, k);
        ck_assert_msg(fabs(w - r->w[k]) <= tol * (1 + fabs(r->w[k])), "%s step %d elem %d: %.9g vs ref %.9g", what,
                      step, k, w, r->w[k]);
    }
}

START_TEST(sgd_matches_reference)
{
    struct { float mu, wd; int nesterov; } cases[] = {{0, 0, 0}, {0, 0.05f, 0}, {0.9f, 0, 0}, {0.9f, 0.01f, 1}, {0.5f, 0.1f, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        tiny t;
        tiny_init(&t);
        ref_state r;
        ref_init(&r, &t);
        dsi_optim_config cfg = dsi_optim_defaults(DSI_OPTIM_SGD);
        cfg.lr = 0.1f;
        cfg.momentum = cases[c].mu;
        cfg.weight_decay = cases[c].wd;
        cfg.nesterov = cases[c].nesterov;
        dsi_optim o;
        ck_assert_int_eq(dsi_optim_init(&o, &t.ps, &cfg), DSN_OK);
        for (int s = 0; s < 6; s++) {
            tiny_set_grad(&t, s);
            ck_assert_int_eq(dsi_optim_step(&o, NULL), DSN_OK);
            ref_sgd(&r, s, cfg.lr, cfg.weight_decay, cfg.momentum, cfg.nesterov);
            assert_matches_ref(&t, &r, 1e-6, "sgd", s);
        }
        ck_assert_int_eq(o.step, 6);
        dsi_optim_release(&o);
        dsi_params_release(&t.ps);
    }
}
END_TEST

START_TEST(adam_adamw_amsgrad_match_reference)
{
    struct { dsi_optim_kind kind; int ams; float wd; } cases[] = {
        {DSI_OPTIM_ADAM, 0, 0}, {DSI_OPTIM_ADAM, 1, 0}, {DSI_OPTIM_ADAM, 0, 0.1f},
        {DSI_OPTIM_ADAM, 1, 0.1f}, {DSI_OPTIM_ADAMW, 0, 0.1f}, {DSI_OPTIM_ADAMW, 1, 0.3f}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        tiny t;
        tiny_init(&t);
        ref_state r;
        ref_init(&r, &t);
        dsi_optim_config cfg = dsi_optim_defaults(cases[c].kind);
        cfg.lr = 0.05f;
        cfg.beta1 = 0.8f;
        cfg.beta2 = 0.9f;
        cfg.eps = 1e-6f;
        cfg.amsgrad = cases[c].ams;
        cfg.weight_decay = cases[c].wd;
        dsi_optim o;
        ck_assert_int_eq(dsi_optim_init(&o, &t.ps, &cfg), DSN_OK);
        for (int s = 0; s < 8; s++) {
            tiny_set_grad(&t, s);
            ck_assert_int_eq(dsi_optim_step(&o, NULL), DSN_OK);
            ref_adam(&r, s, cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay, cases[c].kind == DSI_OPTIM_ADAMW,
                     cfg.amsgrad);
            assert_matches_ref(&t, &r, 2e-6, cases[c].kind == DSI_OPTIM_ADAMW ? "adamw" : "adam", s);
        }
        dsi_optim_release(&o);
        dsi_params_release(&t.ps);
    }
}
END_TEST

/* By hand: Adam's first step (m = (1-b1) g, v = (1-b2) g^2, both corrected
 * back to g and g^2) moves every weight by lr g / (|g| + eps), about lr sign(g). */
START_TEST(adam_first_step_by_hand)
{
    tiny t;
    tiny_init(&t);
    float w0[NT];
    for (int k = 0; k < NT; k++) w0[k] = *tiny_w(&t, k);
    dsi_optim_config cfg = dsi_optim_defaults(DSI_OPTIM_ADAM);
    cfg.lr = 0.01f;
    dsi_optim o;
    ck_assert_int_eq(dsi_optim_init(&o, &t.ps, &cfg), DSN_OK);
    tiny_set_grad(&t, 0);
    ck_assert_int_eq(dsi_optim_step(&o, NULL), DSN_OK);
    for (int k = 0; k < NT; k++) {
        double g = (float)grad_at(0, k);
        ck_assert_close(*tiny_w(&t, k), w0[k] - 0.01 * g / (fabs(g) + 1e-8), 1e-7);
    }
    dsi_optim_release(&o);
    dsi_params_release(&t.ps);
}
END_TEST

/* Decreasing gradients: AMSGrad keeps the large early v, so its later steps
 * are smaller than Adam's; the first step is identical. */
START_TEST(amsgrad_differs_from_adam)
{
    tiny ta, tb;
    tiny_init(&ta);
    tiny_init(&tb);
    dsi_optim_config ca = dsi_optim_defaults(DSI_OPTIM_ADAM), cb = ca;
    ca.lr = cb.lr = 0.05f;
    ca.beta2 = cb.beta2 = 0.5f; /* a short memory, so v falls when the gradients shrink */
    cb.amsgrad = 1;
    int smaller = 0;
    dsi_optim oa, ob;
    ck_assert_int_eq(dsi_optim_init(&oa, &ta.ps, &ca), DSN_OK);
    ck_assert_int_eq(dsi_optim_init(&ob, &tb.ps, &cb), DSN_OK);
    for (int s = 0; s < 4; s++) {
        float before_a[NT], before_b[NT];
        for (int k = 0; k < NT; k++) before_a[k] = *tiny_w(&ta, k), before_b[k] = *tiny_w(&tb, k);
        tiny_set_grad(&ta, s);
        tiny_set_grad(&tb, s);
        ck_assert_int_eq(dsi_optim_step(&oa, NULL), DSN_OK);
        ck_assert_int_eq(dsi_optim_step(&ob, NULL), DSN_OK);
        for (int k = 0; k < NT; k++) {
            float da = fabsf(*tiny_w(&ta, k) - before_a[k]), db = fabsf(*tiny_w(&tb, k) - before_b[k]);
            size_t off = k < NA ? tb.ps.list[tb.a].offset + (size_t)k : tb.ps.list[tb.b].offset + (size_t)(k - NA);
            if (s == 0 || ob.vmax[off] == ob.v[off]) ck_assert_float_eq(da, db);
            else ck_assert_msg(db < da, "step %d elem %d: amsgrad %g, adam %g", s, k, db, da), smaller++;
        }
    }
    ck_assert_int_ge(smaller, NT);
    /* vmax holds the maximum: >= v everywhere, > v somewhere */
    int gt = 0;
    for (size_t i = 0; i < ob.n; i++) {
        ck_assert(ob.vmax[i] >= ob.v[i]);
        gt += ob.vmax[i] > ob.v[i];
    }
    ck_assert_int_gt(gt, 0);
    dsi_optim_release(&oa); dsi_optim_release(&ob);
    dsi_params_release(&ta.ps); dsi_params_release(&tb.ps);
}
END_TEST

/* AdamW's decoupled decay is not Adam with L2: the same wd gives different
 * weights; with wd = 0 the two are bit-identical. */
START_TEST(adamw_differs_from_adam_l2)
{
    for (int with_wd = 0; with_wd < 2; with_wd++) {
        tiny ta, tb;
        tiny_init(&ta);
        tiny_init(&tb);
        dsi_optim_config ca = dsi_optim_defaults(DSI_OPTIM_ADAM), cb = dsi_optim_defaults(DSI_OPTIM_ADAMW);
        ca.lr = cb.lr = 0.05f;
        ca.weight_decay = cb.weight_decay = with_wd ? 0.2f : 0.0f;
        dsi_optim oa, ob;
        ck_assert_int_eq(dsi_optim_init(&oa, &ta.ps, &ca), DSN_OK);
        ck_assert_int_eq(dsi_optim_init(&ob, &tb.ps, &cb), DSN_OK);
        for (int s = 0; s < 5; s++) {
            tiny_set_grad(&ta, s);
            tiny_set_grad(&tb, s);
            ck_assert_int_eq(dsi_optim_step(&oa, NULL), DSN_OK);
            ck_assert_int_eq(dsi_optim_step(&ob, NULL), DSN_OK);
        }
        double maxd = 0;
        for (int k = 0; k < NT; k++) maxd = fmax(maxd, fabs(*tiny_w(&ta, k) - *tiny_w(&tb, k)));
        if (with_wd) ck_assert_double_gt(maxd, 1e-3);
        else ck_assert_double_eq(maxd, 0.0);
        dsi_optim_release(&oa); dsi_optim_release(&ob);
        dsi_params_release(&ta.ps); dsi_params_release(&tb.ps);
    }
}
END_TEST

/* A frozen group keeps its weights and its state, even with garbage (NaN) in
 * its slice of the gradient buffer; after unfreezing it trains again. */
START_TEST(frozen_groups_untouched)
{
    dsi_optim_kind kinds[] = {DSI_OPTIM_SGD, DSI_OPTIM_ADAM, DSI_OPTIM_ADAMW};
    for (int kk = 0; kk < 3; kk++) {
        tiny t;
        tiny_init(&t);
        dsi_optim_config cfg = dsi_optim_defaults(kinds[kk]);
        cfg.lr = 0.05f;
        cfg.momentum = kinds[kk] == DSI_OPTIM_SGD ? 0.9f : 0.0f;
        cfg.weight_decay = 0.1f;
        cfg.amsgrad = kinds[kk] != DSI_OPTIM_SGD;
        dsi_optim o;
        ck_assert_int_eq(dsi_optim_init(&o, &t.ps, &cfg), DSN_OK);
        tiny_set_grad(&t, 0);
        ck_assert_int_eq(dsi_optim_step(&o, NULL), DSN_OK); /* give both groups some state */
        dsi_params_set_frozen(&t.ps, t.g1, 1);
        ck_assert_ptr_null(dsi_params_var(&t.ps, t.b)->g);
        size_t off = t.ps.list[t.b].offset;
        float wb[NB], mb[NB], vb[NB], xb[NB], wa[NA];
        memcpy(wb, t.ps.data + off, sizeof wb);
        memcpy(mb, o.m + off, sizeof mb);
        if (o.v) memcpy(vb, o.v + off, sizeof vb);
        if (o.vmax) memcpy(xb, o.vmax + off, sizeof xb);
        memcpy(wa, dsi_params_var(&t.ps, t.a)->x, sizeof wa);
        for (int s = 1; s < 4; s++) {
            tiny_set_grad(&t, s);
            for (int i = 0; i < NB; i++) t.ps.grad[off + i] = i == 1 ? NAN : 5.0f; /* must not be read */
            ck_assert_int_eq(dsi_optim_step(&o, NULL), DSN_OK);
        }
        ck_assert_int_eq(memcmp(wb, t.ps.data + off, sizeof wb), 0);
        ck_assert_int_eq(memcmp(mb, o.m + off, sizeof mb), 0);
        if (o.v) ck_assert_int_eq(memcmp(vb, o.v + off, sizeof vb), 0);
        if (o.vmax) ck_assert_int_eq(memcmp(xb, o.vmax + off, sizeof xb), 0);
        ck_assert_int_ne(memcmp(wa, dsi_params_var(&t.ps, t.a)->x, sizeof wa), 0);
        /* unfreeze: trains again */
        dsi_params_set_frozen(&t.ps, t.g1, 0);
        tiny_set_grad(&t, 4);
        ck_assert_int_eq(dsi_optim_step(&o, NULL), DSN_OK);
        ck_assert_int_ne(memcmp(wb, t.ps.data + off, sizeof wb), 0);
        dsi_optim_release(&o);
        dsi_params_release(&t.ps);
    }
}
END_TEST

/* NaN/Inf in an unfrozen gradient: DSN_E_NUMERIC, message, nothing changed. */
START_TEST(nonfinite_gradient_rejected)
{
    float bad[] = {NAN, INFINITY, -INFINITY};
    for (int kind = 0; kind < DSI_OPTIM_KIND_COUNT_; kind++)
        for (int b = 0; b < 3; b++) {
            tiny t;
            tiny_init(&t);
            dsi_optim_config cfg = dsi_optim_defaults((dsi_optim_kind)kind);
            cfg.momentum = kind == DSI_OPTIM_SGD ? 0.9f : 0.0f;
            cfg.amsgrad = kind != DSI_OPTIM_SGD;
            cfg.clip_norm = 1.0f;
            dsi_optim o;
            ck_assert_int_eq(dsi_optim_init(&o, &t.ps, &cfg), DSN_OK);
            tiny_set_grad(&t, 0);
            ck_assert_int_eq(dsi_optim_step(&o, NULL), DSN_OK);
            tiny_set_grad(&t, 1);
            dsi_params_var(&t.ps, t.b)->g[2] = bad[b];
            size_t bytes = t.ps.n * sizeof(float);
            float *w0 = malloc(bytes), *g0 = malloc(bytes), *m0 = malloc(bytes), *v0 = malloc(bytes);
            memcpy(w0, t.ps.data, bytes);
            memcpy(g0, t.ps.grad, bytes);
            memcpy(m0, o.m, bytes);
            if (o.v) memcpy(v0, o.v, bytes);
            dsn_clear_error();
            double norm = 0;
            ck_assert_int_eq(dsi_optim_step(&o, &norm), DSN_E_NUMERIC);
            ck_assert_ptr_nonnull(strstr(dsn_last_error(), "non-finite gradient"));
            ck_assert(!isfinite(norm));
            ck_assert_int_eq(memcmp(w0, t.ps.data, bytes), 0);
            ck_assert_int_eq(memcmp(g0, t.ps.grad, bytes), 0);
            ck_assert_int_eq(memcmp(m0, o.m, bytes), 0);
            if (o.v) ck_assert_int_eq(memcmp(v0, o.v, bytes), 0);
            ck_assert_int_eq(o.step, 1);
            free(w0); free(g0); free(m0); free(v0);
            dsi_optim_release(&o);
            dsi_params_release(&t.ps);
        }
}
END_TEST

/* Clipping inside step == dsi_params_clip_grad then an unclipped step, bit
 * for bit; the returned norm is the one before clipping; below the threshold
 * nothing is scaled. */
START_TEST(clipping_matches_params_clip_grad)
{
    dsi_optim_kind kinds[] = {DSI_OPTIM_SGD, DSI_OPTIM_ADAM, DSI_OPTIM_ADAMW};
    float clips[] = {0.5f, 100.0f};
    for (int kk = 0; kk < 3; kk++)
        for (int ci = 0; ci < 2; ci++) {
            tiny ta, tb;
            tiny_init(&ta);
            tiny_init(&tb);
            dsi_optim_config ca = dsi_optim_defaults(kinds[kk]);
            ca.lr = 0.05f;
            ca.momentum = kinds[kk] == DSI_OPTIM_SGD ? 0.9f : 0.0f;
            dsi_optim_config cb = ca;
            ca.clip_norm = clips[ci];
            dsi_optim oa, ob;
            ck_assert_int_eq(dsi_optim_init(&oa, &ta.ps, &ca), DSN_OK);
            ck_assert_int_eq(dsi_optim_init(&ob, &tb.ps, &cb), DSN_OK);
            for (int s = 0; s < 4; s++) {
                tiny_set_grad(&ta, s);
                tiny_set_grad(&tb, s);
                double expect = 0;
                for (int k = 0; k < NT; k++) expect += (double)(float)grad_at(s, k) * (float)grad_at(s, k);
                expect = sqrt(expect);
                double na = -1, nb;
                ck_assert_int_eq(dsi_optim_step(&oa, &na), DSN_OK);
                ck_assert_close(na, expect, 1e-9);
                ck_assert_close(oa.last_norm, expect, 1e-9);
                nb = dsi_params_clip_grad(&tb.ps, clips[ci]);
                ck_assert_double_eq(na, nb);
                ck_assert_int_eq(dsi_optim_step(&ob, NULL), DSN_OK);
                ck_assert_int_eq(memcmp(ta.ps.data, tb.ps.data, ta.ps.n * sizeof(float)), 0);
                if (clips[ci] < 1) ck_assert_double_gt(na, clips[ci]); /* clipping was active */
            }
            /* the gradient buffer of the clipping optimizer is left as given */
            ck_assert_float_eq(dsi_params_var(&ta.ps, ta.a)->g[1], (float)grad_at(3, 1));
            dsi_optim_release(&oa); dsi_optim_release(&ob);
            dsi_params_release(&ta.ps); dsi_params_release(&tb.ps);
        }
}
END_TEST

static float halve_odd(void *ctx, int64_t step, float base)
{
    int *calls = ctx;
    (*calls)++;
    return step % 2 ? 0.5f * base : base;
}

static float nan_lr(void *ctx, int64_t step, float base) { return step >= 1 ? NAN : base; }

START_TEST(schedules_values)
{
    dsi_schedule c = {DSI_SCHED_CONSTANT};
    ck_assert_float_eq(dsi_schedule_lr(&c, 0, 0.1f), 0.1f);
    ck_assert_float_eq(dsi_schedule_lr(&c, 123456, 0.1f), 0.1f);
    dsi_schedule st = {DSI_SCHED_STEP, .step_size = 10, .gamma = 0.5f};
    ck_assert_float_eq(dsi_schedule_lr(&st, 0, 0.8f), 0.8f);
    ck_assert_float_eq(dsi_schedule_lr(&st, 9, 0.8f), 0.8f);
    ck_assert_float_eq(dsi_schedule_lr(&st, 10, 0.8f), 0.4f);
    ck_assert_float_eq(dsi_schedule_lr(&st, 25, 0.8f), 0.2f);
    ck_assert_float_eq(dsi_schedule_lr(&st, 39, 0.8f), 0.1f);
    dsi_schedule co = {DSI_SCHED_COSINE, .warmup = 10, .total = 110, .min_ratio = 0.1f};
    ck_assert_close(dsi_schedule_lr(&co, 0, 1.0f), 0.1, 1e-7);
    ck_assert_close(dsi_schedule_lr(&co, 4, 1.0f), 0.5, 1e-7);
    ck_assert_close(dsi_schedule_lr(&co, 9, 1.0f), 1.0, 1e-7);
    ck_assert_close(dsi_schedule_lr(&co, 10, 1.0f), 1.0, 1e-7);
    ck_assert_close(dsi_schedule_lr(&co, 35, 1.0f), 0.1 + 0.9 * 0.5 * (1 + cos(M_PI * 0.25)), 1e-6);
    ck_assert_close(dsi_schedule_lr(&co, 60, 1.0f), 0.55, 1e-6);
    ck_assert_close(dsi_schedule_lr(&co, 110, 1.0f), 0.1, 1e-7);
    ck_assert_close(dsi_schedule_lr(&co, 5000, 1.0f), 0.1, 1e-7);
    /* monotone decay after warm-up */
    for (int s = 10; s < 120; s++) ck_assert(dsi_schedule_lr(&co, s + 1, 1.0f) <= dsi_schedule_lr(&co, s, 1.0f));
    /* no warm-up */
    dsi_schedule co0 = {DSI_SCHED_COSINE, .warmup = 0, .total = 100, .min_ratio = 0.0f};
    ck_assert_close(dsi_schedule_lr(&co0, 0, 2.0f), 2.0, 1e-7);
    ck_assert_close(dsi_schedule_lr(&co0, 100, 2.0f), 0.0, 1e-7);

    /* the optimizer uses the hook with the 0-based step: plain SGD moves w by lr g */
    tiny t;
    tiny_init(&t);
    dsi_optim_config cfg = dsi_optim_defaults(DSI_OPTIM_SGD);
    cfg.lr = 0.2f;
    dsi_optim o;
    ck_assert_int_eq(dsi_optim_init(&o, &t.ps, &cfg), DSN_OK);
    int calls = 0;
    dsi_optim_set_schedule(&o, halve_odd, &calls);
    for (int s = 0; s < 4; s++) {
        ck_assert_float_eq(dsi_optim_lr(&o), s % 2 ? 0.1f : 0.2f);
        tiny_set_grad(&t, s);
        float w0 = *tiny_w(&t, 2);
        ck_assert_int_eq(dsi_optim_step(&o, NULL), DSN_OK);
        ck_assert_float_eq(o.last_lr, s % 2 ? 0.1f : 0.2f);
        ck_assert_close(*tiny_w(&t, 2), w0 - o.last_lr * (float)grad_at(s, 2), 1e-7);
    }
    ck_assert_int_ge(calls, 4);
    /* built-in schedule through the adapter */
    dsi_optim_set_schedule(&o, dsi_schedule_fn, &st);
    ck_assert_float_eq(dsi_optim_lr(&o), 0.2f);
    o.step = 10;
    ck_assert_float_eq(dsi_optim_lr(&o), 0.1f);
    /* a schedule that gives NaN: DSN_E_NUMERIC, nothing moves */
    o.step = 0;
    dsi_optim_set_schedule(&o, nan_lr, NULL);
    ck_assert_int_eq(dsi_optim_step(&o, NULL), DSN_OK);
    float w1 = *tiny_w(&t, 0);
    ck_assert_int_eq(dsi_optim_step(&o, NULL), DSN_E_NUMERIC);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "schedule"));
    ck_assert_float_eq(*tiny_w(&t, 0), w1);
    ck_assert_int_eq(o.step, 1);
    dsi_optim_release(&o);
    dsi_params_release(&t.ps);
}
END_TEST

START_TEST(config_checked)
{
    tiny t;
    tiny_init(&t);
    dsi_optim o;
    dsi_optim_config c = dsi_optim_defaults(DSI_OPTIM_ADAM);
    c.beta1 = 1.0f;
    ck_assert_int_eq(dsi_optim_init(&o, &t.ps, &c), DSN_E_OPTION);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "betas"));
    c = dsi_optim_defaults(DSI_OPTIM_ADAM);
    c.eps = 0;
    ck_assert_int_eq(dsi_optim_init(&o, &t.ps, &c), DSN_E_OPTION);
    c = dsi_optim_defaults(DSI_OPTIM_SGD);
    c.nesterov = 1;
    ck_assert_int_eq(dsi_optim_init(&o, &t.ps, &c), DSN_E_OPTION);
    c.nesterov = 0;
    c.lr = -1;
    ck_assert_int_eq(dsi_optim_init(&o, &t.ps, &c), DSN_E_OPTION);
    c.lr = NAN;
    ck_assert_int_eq(dsi_optim_init(&o, &t.ps, &c), DSN_E_OPTION);
    c = dsi_optim_defaults(DSI_OPTIM_SGD);
    c.kind = (dsi_optim_kind)7;
    ck_assert_int_eq(dsi_optim_init(&o, &t.ps, &c), DSN_E_OPTION);
    dsi_optim_release(&o); /* safe after a failed init */
    dsi_params unfinished;
    dsi_params_init(&unfinished);
    c = dsi_optim_defaults(DSI_OPTIM_SGD);
    ck_assert_int_eq(dsi_optim_init(&o, &unfinished, &c), DSN_E_STATE);
    ck_assert_int_eq(dsi_optim_init(&o, NULL, &c), DSN_E_INVALID);
    ck_assert_int_eq(dsi_optim_step(NULL, NULL), DSN_E_INVALID);
    /* SGD without momentum keeps no state at all */
    ck_assert_int_eq(dsi_optim_init(&o, &t.ps, &c), DSN_OK);
    ck_assert_ptr_null(o.m);
    ck_assert_ptr_null(o.v);
    dsi_optim_release(&o);
    dsi_params_release(&t.ps);
}
END_TEST

/* ---- the 2-16-16-1 tanh MLP and binary cross-entropy with logits ---- */

/* L = mean_i softplus(z_i) - y_i z_i   (BCE of sigmoid(z) against y);
 * dL/dz_i = (sigmoid(z_i) - y_i) / N */
static void bce_backward(dsi_node *nd)
{
    dsi_var *z = nd->in[0];
    const float *y = nd->saved;
    if (!z->g) return;
    float g = nd->out->g[0] / (float)z->n;
    for (size_t i = 0; i < z->n; i++) {
        float s = 1.0f / (1.0f + expf(-z->x[i]));
        z->g[i] += g * (s - y[i]);
    }
}

static dsi_var *bce_logits(dsi_tape *t, dsi_var *z, const float *y)
{
    if (!z) return NULL;
    dsi_var *out = dsi_tape_new(t, 0, NULL, dsi_tape_needs_grad(t, 1, &z));
    if (!out) return NULL;
    double s = 0;
    for (size_t i = 0; i < z->n; i++) {
        double zi = z->x[i];
        double sp = zi > 0 ? zi + log1p(exp(-zi)) : log1p(exp(zi));
        s += sp - y[i] * zi;
    }
    out->x[0] = (float)(s / (double)z->n);
    dsi_node *nd = dsi_tape_record(t, bce_backward, out, 1, &z);
    if (nd) nd->saved = (void *)y; /* caller memory, outlives the step */
    return out;
}

static dsi_var *f_bce(dsi_tape *t, dsi_var **in, void *ctx) { return bce_logits(t, in[0], ctx); }

START_TEST(grad_bce_logits_op)
{
    int sizes[] = {1, 7, 33};
    for (int k = 0; k < 3; k++) {
        float y[33];
        for (int i = 0; i < sizes[k]; i++) y[i] = (float)(i % 2);
        gc_input in[1] = {{2, {sizes[k], 1}, -3.0f, 3.0f}};
        ck_assert_int_eq(gc_check("bce_logits", f_bce, y, 1, in, NULL), 0);
    }
}
END_TEST

typedef struct mlp {
    dsi_params ps;
    int w1, b1, w2, b2, w3, b3;
    int g_hidden, g_out;
} mlp;

static void mlp_init(mlp *m, uint64_t seed)
{
    dsi_params_init(&m->ps);
    m->g_hidden = dsi_params_group(&m->ps, "hidden");
    m->g_out = dsi_params_group(&m->ps, "out");
    int s1[2] = {2, 16}, s2[2] = {16, 16}, s3[2] = {16, 1}, sb[1] = {16}, so[1] = {1};
    m->w1 = dsi_params_add(&m->ps, "w1", m->g_hidden, 2, s1);
    m->b1 = dsi_params_add(&m->ps, "b1", m->g_hidden, 1, sb);
    m->w2 = dsi_params_add(&m->ps, "w2", m->g_hidden, 2, s2);
    m->b2 = dsi_params_add(&m->ps, "b2", m->g_hidden, 1, sb);
    m->w3 = dsi_params_add(&m->ps, "w3", m->g_out, 2, s3);
    m->b3 = dsi_params_add(&m->ps, "b3", m->g_out, 1, so);
    ck_assert_int_eq(dsi_params_finalize(&m->ps), DSN_OK);
    dsi_rng r;
    dsi_rng_seed(&r, seed);
    dsi_params_init_glorot(&m->ps, m->w1, 2, 16, 1.0f, &r);
    dsi_params_init_glorot(&m->ps, m->w2, 16, 16, 1.0f, &r);
    dsi_params_init_glorot(&m->ps, m->w3, 16, 1, 1.0f, &r);
}

static dsi_var *mlp_logits(mlp *m, dsi_tape *t, const float *x, int n)
{
    int sx[2] = {n, 2};
    dsi_var *h = dsi_linear(t, dsi_tape_wrap(t, x, 2, sx), dsi_params_var(&m->ps, m->w1),
                            dsi_params_var(&m->ps, m->b1), DSI_ACT_TANH);
    h = dsi_linear(t, h, dsi_params_var(&m->ps, m->w2), dsi_params_var(&m->ps, m->b2), DSI_ACT_TANH);
    return dsi_linear(t, h, dsi_params_var(&m->ps, m->w3), dsi_params_var(&m->ps, m->b3), DSI_ACT_NONE);
}

/* forward + backward on the full batch; returns the loss */
static float mlp_grad(mlp *m, dsi_tape *t, const float *x, const float *y, int n)
{
    dsi_tape_reset(t);
    dsi_params_zero_grad(&m->ps);
    dsi_var *loss = bce_logits(t, mlp_logits(m, t, x, n), y);
    ck_assert_ptr_nonnull(loss);
    ck_assert_int_eq(dsi_tape_backward(t, loss), DSN_OK);
    return loss->x[0];
}

/* Two interleaved half circles (as scikit-learn's make_moons): n/2 points at
 * (cos a, sin a), n/2 at (1 - cos a, 1/2 - sin a), a evenly spaced in [0, pi],
 * plus N(0, noise^2) on each coordinate. */
static void two_moons(int n, float noise, uint64_t seed, float *x, float *y)
{
    dsi_rng r;
    dsi_rng_seed(&r, seed);
    int h = n / 2;
    for (int i = 0; i < n; i++) {
        int outer = i < h;
        int j = outer ? i : i - h, cnt = outer ? h : n - h;
        double a = M_PI * (double)j / (double)(cnt > 1 ? cnt - 1 : 1);
        x[2 * i] = (float)(outer ? cos(a) : 1.0 - cos(a)) + noise * dsi_rng_normal(&r);
        x[2 * i + 1] = (float)(outer ? sin(a) : 0.5 - sin(a)) + noise * dsi_rng_normal(&r);
        y[i] = outer ? 0.0f : 1.0f;
    }
}

/* Training for 2k steps == k steps, save, restore into a fresh optimizer (and
 * fresh params holding the same weights), k more steps: bit-identical. */
static void resume_case(const dsi_optim_config *cfg, const dsi_schedule *sched, int k, int via_file)
{
    enum { N = 64 };
    float x[2 * N], y[N];
    two_moons(N, 0.1f, 5, x, y);
    dsi_tape t;
    dsi_tape_init(&t);
    mlp a, b, c;
    mlp_init(&a, 9);
    mlp_init(&b, 9);
    dsi_optim oa, ob, oc;
    ck_assert_int_eq(dsi_optim_init(&oa, &a.ps, cfg), DSN_OK);
    ck_assert_int_eq(dsi_optim_init(&ob, &b.ps, cfg), DSN_OK);
    if (sched) {
        dsi_optim_set_schedule(&oa, dsi_schedule_fn, (void *)sched);
        dsi_optim_set_schedule(&ob, dsi_schedule_fn, (void *)sched);
    }
    for (int s = 0; s < 2 * k; s++) {
        mlp_grad(&a, &t, x, y, N);
        ck_assert_int_eq(dsi_optim_step(&oa, NULL), DSN_OK);
    }
    for (int s = 0; s < k; s++) {
        mlp_grad(&b, &t, x, y, N);
        ck_assert_int_eq(dsi_optim_step(&ob, NULL), DSN_OK);
    }
    dsi_writer w;
    dsi_writer_init(&w);
    ck_assert_int_eq(dsi_optim_save(&ob, &w), DSN_OK);
    unsigned char *data = w.buf;
    size_t len = w.len;
    char path[512];
    if (via_file) {
        snprintf(path, sizeof path, "%s/optim.state", tu_tmpdir());
        ck_assert_int_eq(dsi_write_atomic(path, w.buf, w.len), DSN_OK);
        ck_assert_int_eq(dsi_read_file(path, 1 << 20, &data, &len), DSN_OK);
    }
    /* fresh everything; the new optimizer starts with another lr, replaced by the saved one */
    mlp_init(&c, 12345);
    memcpy(c.ps.data, b.ps.data, b.ps.n * sizeof(float));
    dsi_optim_config other = *cfg;
    other.lr *= 3.0f;
    ck_assert_int_eq(dsi_optim_init(&oc, &c.ps, &other), DSN_OK);
    if (sched) dsi_optim_set_schedule(&oc, dsi_schedule_fn, (void *)sched);
    dsi_reader r;
    dsi_reader_init(&r, data, len, "optim.state");
    ck_assert_int_eq(dsi_optim_load(&oc, &r), DSN_OK);
    ck_assert_uint_eq(dsi_reader_left(&r), 0);
    ck_assert_int_eq(oc.step, k);
    ck_assert_float_eq(oc.cfg.lr, cfg->lr);
    for (int s = 0; s < k; s++) {
        mlp_grad(&c, &t, x, y, N);
        ck_assert_int_eq(dsi_optim_step(&oc, NULL), DSN_OK);
    }
    ck_assert_int_eq(memcmp(a.ps.data, c.ps.data, a.ps.n * sizeof(float)), 0);
    if (oa.m) ck_assert_int_eq(memcmp(oa.m, oc.m, oa.n * sizeof(float)), 0);
    if (oa.v) ck_assert_int_eq(memcmp(oa.v, oc.v, oa.n * sizeof(float)), 0);
    if (oa.vmax) ck_assert_int_eq(memcmp(oa.vmax, oc.vmax, oa.n * sizeof(float)), 0);
    /* and the weights did move */
    ck_assert_int_ne(memcmp(a.ps.data, b.ps.data, a.ps.n * sizeof(float)), 0);
    if (via_file) dsi_free(data);
    dsi_writer_free(&w);
    dsi_optim_release(&oa); dsi_optim_release(&ob); dsi_optim_release(&oc);
    dsi_params_release(&a.ps); dsi_params_release(&b.ps); dsi_params_release(&c.ps);
    dsi_tape_release(&t);
}

START_TEST(save_restore_bit_exact_resume)
{
    dsi_schedule cosine = {DSI_SCHED_COSINE, .warmup = 5, .total = 40, .min_ratio = 0.05f};
    dsi_schedule stepd = {DSI_SCHED_STEP, .step_size = 7, .gamma = 0.7f};
    dsi_optim_config sgd = dsi_optim_defaults(DSI_OPTIM_SGD);
    sgd.lr = 0.05f; sgd.momentum = 0.9f; sgd.nesterov = 1; sgd.weight_decay = 1e-3f; sgd.clip_norm = 0.5f;
    resume_case(&sgd, &stepd, 20, 0);
    dsi_optim_config adam = dsi_optim_defaults(DSI_OPTIM_ADAM);
    adam.lr = 0.01f; adam.amsgrad = 1; adam.weight_decay = 1e-4f;
    resume_case(&adam, &cosine, 20, 1);
    dsi_optim_config adamw = dsi_optim_defaults(DSI_OPTIM_ADAMW);
    adamw.lr = 0.01f; adamw.weight_decay = 0.05f; adamw.clip_norm = 1.0f;
    resume_case(&adamw, NULL, 17, 0);
    dsi_optim_config plain = dsi_optim_defaults(DSI_OPTIM_SGD); /* no state buffers at all */
    resume_case(&plain, &cosine, 10, 0);
}
END_TEST

static void snapshot(const dsi_optim *o, float *buf, dsi_optim *copy)
{
    memcpy(copy, o, sizeof *o);
    memcpy(buf, o->m, o->n * sizeof(float));
    memcpy(buf + o->n, o->v, o->n * sizeof(float));
    memcpy(buf + 2 * o->n, o->vmax, o->n * sizeof(float));
}

static int unchanged(const dsi_optim *o, const float *buf, const dsi_optim *copy)
{
    return memcmp(o, copy, sizeof *o) == 0 && memcmp(buf, o->m, o->n * sizeof(float)) == 0 &&
           memcmp(buf + o->n, o->v, o->n * sizeof(float)) == 0 &&
           memcmp(buf + 2 * o->n, o->vmax, o->n * sizeof(float)) == 0;
}

START_TEST(corrupt_state_rejected)
{
    tiny t;
    tiny_init(&t);
    dsi_optim_config cfg = dsi_optim_defaults(DSI_OPTIM_ADAM);
    cfg.amsgrad = 1;
    dsi_optim o, dst;
    ck_assert_int_eq(dsi_optim_init(&o, &t.ps, &cfg), DSN_OK);
    for (int s = 0; s < 3; s++) {
        tiny_set_grad(&t, s);
        ck_assert_int_eq(dsi_optim_step(&o, NULL), DSN_OK);
    }
    dsi_writer w;
    dsi_writer_init(&w);
    ck_assert_int_eq(dsi_optim_save(&o, &w), DSN_OK);
    ck_assert_uint_eq(w.len, 68 + 3 * t.ps.n * 4 + 4);
    ck_assert_int_eq(memcmp(w.buf, "DSOP", 4), 0);

    /* the target: same params, some other state we can check is left alone */
    tiny t2;
    tiny_init(&t2);
    ck_assert_int_eq(dsi_optim_init(&dst, &t2.ps, &cfg), DSN_OK);
    tiny_set_grad(&t2, 5);
    ck_assert_int_eq(dsi_optim_step(&dst, NULL), DSN_OK);
    float *buf = malloc(3 * dst.n * sizeof(float));
    dsi_optim copy;
    snapshot(&dst, buf, &copy);
    dsi_reader r;

    /* every truncation */
    for (size_t len = 0; len < w.len; len++) {
        dsi_reader_init(&r, w.buf, len, "cut");
        ck_assert_int_eq(dsi_optim_load(&dst, &r), DSN_E_FORMAT);
        ck_assert_ptr_nonnull(strstr(dsn_last_error(), "'cut'"));
        ck_assert(unchanged(&dst, buf, &copy));
    }
    /* every single-byte corruption */
    unsigned char *bad = malloc(w.len);
    for (size_t i = 0; i < w.len; i++) {
        memcpy(bad, w.buf, w.len);
        bad[i] ^= (unsigned char)(1u << (i % 8));
        dsi_reader_init(&r, bad, w.len, "flip");
        ck_assert_msg(dsi_optim_load(&dst, &r) == DSN_E_FORMAT, "byte %zu", i);
        ck_assert(unchanged(&dst, buf, &copy));
    }
    memcpy(bad, w.buf, w.len);
    bad[100] ^= 1;
    dsi_reader_init(&r, bad, w.len, "flip");
    ck_assert_int_eq(dsi_optim_load(&dst, &r), DSN_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "CRC"));
    free(bad);

    /* params of another size */
    dsi_params other;
    dsi_params_init(&other);
    int sz[1] = {40};
    dsi_params_add(&other, "x", dsi_params_group(&other, "g"), 1, sz);
    ck_assert_int_eq(dsi_params_finalize(&other), DSN_OK);
    dsi_optim oo;
    ck_assert_int_eq(dsi_optim_init(&oo, &other, &cfg), DSN_OK);
    dsi_reader_init(&r, w.buf, w.len, "state");
    ck_assert_int_eq(dsi_optim_load(&oo, &r), DSN_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "parameters"));
    dsi_optim_release(&oo);
    dsi_params_release(&other);

    /* another kind, another layout (no AMSGrad) */
    dsi_optim_config sgd = dsi_optim_defaults(DSI_OPTIM_SGD);
    ck_assert_int_eq(dsi_optim_init(&oo, &t2.ps, &sgd), DSN_OK);
    dsi_reader_init(&r, w.buf, w.len, "state");
    ck_assert_int_eq(dsi_optim_load(&oo, &r), DSN_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "for Adam"));
    dsi_optim_release(&oo);
    dsi_optim_config plain = dsi_optim_defaults(DSI_OPTIM_ADAM);
    ck_assert_int_eq(dsi_optim_init(&oo, &t2.ps, &plain), DSN_OK);
    dsi_reader_init(&r, w.buf, w.len, "state");
    ck_assert_int_eq(dsi_optim_load(&oo, &r), DSN_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "layout"));
    dsi_optim_release(&oo);

    /* and the intact file loads */
    dsi_reader_init(&r, w.buf, w.len, "state");
    ck_assert_int_eq(dsi_optim_load(&dst, &r), DSN_OK);
    ck_assert_int_eq(dst.step, 3);
    ck_assert_int_eq(memcmp(dst.vmax, o.vmax, o.n * sizeof(float)), 0);
    free(buf);
    dsi_writer_free(&w);
    dsi_optim_release(&o); dsi_optim_release(&dst);
    dsi_params_release(&t.ps); dsi_params_release(&t2.ps);
}
END_TEST

/* dsi_optim_step never allocates (state is allocated by init). */
START_TEST(step_does_not_allocate)
{
    mlp m;
    mlp_init(&m, 3);
    enum { N = 32 };
    float x[2 * N], y[N];
    two_moons(N, 0.1f, 1, x, y);
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_optim_config cfg = dsi_optim_defaults(DSI_OPTIM_ADAMW);
    cfg.amsgrad = 1;
    cfg.clip_norm = 0.1f;
    dsi_optim o;
    ck_assert_int_eq(dsi_optim_init(&o, &m.ps, &cfg), DSN_OK);
    dsi_schedule co = {DSI_SCHED_COSINE, .warmup = 2, .total = 10};
    dsi_optim_set_schedule(&o, dsi_schedule_fn, &co);
    uint64_t extra = 0;
    for (int s = 0; s < 5; s++) {
        mlp_grad(&m, &t, x, y, N);
        uint64_t before = dsn_allocation_count();
        ck_assert_int_eq(dsi_optim_step(&o, NULL), DSN_OK);
        extra += dsn_allocation_count() - before;
    }
    ck_assert_uint_eq(extra, 0);
    dsi_optim_release(&o);
    dsi_params_release(&m.ps);
    dsi_tape_release(&t);
}
END_TEST

/* End to end: the MLP fits two moons (400 points, noise 0.1) with Adam. */
START_TEST(two_moons_adam_fit)
{
    enum { N = 400, STEPS = 500 };
    float *x = malloc(sizeof(float) * 2 * N), *y = malloc(sizeof(float) * N);
    two_moons(N, 0.1f, 2024, x, y);
    mlp m;
    mlp_init(&m, 7);
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_optim_config cfg = dsi_optim_defaults(DSI_OPTIM_ADAM);
    cfg.lr = 0.01f;
    dsi_optim o;
    ck_assert_int_eq(dsi_optim_init(&o, &m.ps, &cfg), DSN_OK);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    float loss = 0, first = 0;
    for (int s = 0; s < STEPS; s++) {
        loss = mlp_grad(&m, &t, x, y, N);
        if (s == 0) first = loss;
        if (s == 50 || s == 100 || s == 200 || s == 300) printf("two moons: step %d BCE %.4f\n", s, (double)loss);
        ck_assert_int_eq(dsi_optim_step(&o, NULL), DSN_OK);
    }
    /* final loss and accuracy on the weights after the last step */
    dsi_tape_reset(&t);
    dsi_tape_set_recording(&t, 0);
    dsi_var *z = mlp_logits(&m, &t, x, N);
    dsi_var *l = bce_logits(&t, z, y);
    ck_assert_ptr_nonnull(l);
    int correct = 0;
    for (int i = 0; i < N; i++) correct += (z->x[i] > 0) == (y[i] > 0.5f);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    double acc = (double)correct / N;
    /* a fresh draw of 400 points from the same distribution */
    float *xt = malloc(sizeof(float) * 2 * N), *yt = malloc(sizeof(float) * N);
    two_moons(N, 0.1f, 77, xt, yt);
    dsi_tape_reset(&t);
    dsi_var *zt = mlp_logits(&m, &t, xt, N);
    ck_assert_ptr_nonnull(zt);
    int correct_t = 0;
    for (int i = 0; i < N; i++) correct_t += (zt->x[i] > 0) == (yt[i] > 0.5f);
    double acc_t = (double)correct_t / N;
    printf("two moons: %d Adam steps (lr %.3g), BCE %.4f -> %.4f, train accuracy %.4f, held-out accuracy %.4f, "
           "%.3f s\n", STEPS, (double)cfg.lr, (double)first, (double)l->x[0], acc, acc_t, secs);
    ck_assert_float_lt(l->x[0], 0.05f);
    ck_assert_double_ge(acc, 0.98);
    ck_assert_double_ge(acc_t, 0.97);
    free(x); free(y); free(xt); free(yt);
    dsi_optim_release(&o);
    dsi_params_release(&m.ps);
    dsi_tape_release(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("optim");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sgd_matches_reference);
    tcase_add_test(tc, adam_adamw_amsgrad_match_reference);
    tcase_add_test(tc, adam_first_step_by_hand);
    tcase_add_test(tc, amsgrad_differs_from_adam);
    tcase_add_test(tc, adamw_differs_from_adam_l2);
    tcase_add_test(tc, frozen_groups_untouched);
    tcase_add_test(tc, nonfinite_gradient_rejected);
    tcase_add_test(tc, clipping_matches_params_clip_grad);
    tcase_add_test(tc, schedules_values);
    tcase_add_test(tc, config_checked);
    tcase_add_test(tc, grad_bce_logits_op);
    tcase_add_test(tc, save_restore_bit_exact_resume);
    tcase_add_test(tc, corrupt_state_rejected);
    tcase_add_test(tc, step_does_not_allocate);
    tcase_add_test(tc, two_moons_adam_fit);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
