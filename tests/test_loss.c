/* test_loss.c - likelihoods, reductions and masks, and the sequence-model KL
 * terms (DSAE per-step prior, TS-DSAE informed prior and swap regularisers). */
#include "loss/composite.h"
#include "loss/likelihood.h"
#include "support/gradcheck.h"
#include "support/testutil.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#define mkvar dsi_var_view

enum { L_BERN, L_MSE, L_GAUSS_FIXED, L_GAUSS, L_LAPLACE_FIXED, L_LAPLACE, L_COUNT };
static const char *const lname[L_COUNT] = {"bernoulli", "mse", "gauss_fixed", "gauss", "laplace_fixed", "laplace"};

typedef struct { int kind; dsi_reduction red; const float *mask; } lik_ctx;

static dsi_var *call_lik(dsi_tape *t, int kind, dsi_var *x, dsi_var *y, dsi_var *s, const float *mask, dsi_reduction red)
{
    switch (kind) {
    case L_BERN: return dsi_bernoulli_nll(t, x, y, mask, red);
    case L_MSE: return dsi_mse(t, x, y, mask, red);
    case L_GAUSS_FIXED: return dsi_gauss_nll(t, x, y, NULL, 0.7f, mask, red);
    case L_GAUSS: return dsi_gauss_nll(t, x, y, s, 0.0f, mask, red);
    case L_LAPLACE_FIXED: return dsi_laplace_nll(t, x, y, NULL, 0.7f, mask, red);
    default: return dsi_laplace_nll(t, x, y, s, 0.0f, mask, red);
    }
}

static dsi_var *f_lik(dsi_tape *t, dsi_var **in, void *ctx)
{
    lik_ctx *c = ctx;
    return call_lik(t, c->kind, in[0], in[1], in[2], c->mask, c->red);
}

/* naive double reference of one element term */
static double ref_elem(int kind, double x, double y, double s)
{
    const double l2pi = log(2 * 3.14159265358979324);
    switch (kind) {
    case L_BERN: return log(1 + exp(x)) - x * y;
    case L_MSE: return (x - y) * (x - y);
    case L_GAUSS_FIXED: return 0.5 * (l2pi + log(0.7) + (y - x) * (y - x) / 0.7);
    case L_GAUSS: return 0.5 * (l2pi + s + (y - x) * (y - x) / exp(s));
    case L_LAPLACE_FIXED: return log(2 * 0.7) + fabs(y - x) / 0.7;
    default: return log(2.0) + s + fabs(y - x) / exp(s);
    }
}

START_TEST(grad_likelihoods_reductions_masks)
{
    static const int shapes[][3] = {{1, 1, 1}, {2, 3, 5}, {3, 1, 7}, {1, 4, 17}};
    float mask[64];
    for (int i = 0; i < 64; i++) mask[i] = (i % 3) != 1;
    for (int kind = 0; kind < L_COUNT; kind++)
        for (size_t s = 0; s < 4; s++)
            for (int red = 0; red < 3; red++)
                for (int mk = 0; mk < 2; mk++)
                    for (int ps = 0; ps < 3; ps++) { /* learned parameter: full, per feature, single */
                        int learned = kind == L_GAUSS || kind == L_LAPLACE;
                        if (!learned && ps) continue;
                        int B = shapes[s][0], T = shapes[s][1], D = shapes[s][2];
                        gc_input in[3] = {{3, {B, T, D}, -2.0f, 2.0f}, {3, {B, T, D}, -2.0f, 2.0f}, {3, {B, T, D}, -1.5f, 1.5f}};
                        if (kind == L_BERN) { in[1].lo = 0.0f; in[1].hi = 1.0f; }
                        /* keep |y - mu| away from 0 for the Laplace kink */
                        if (kind >= L_LAPLACE_FIXED) { in[0].lo = 0.5f; in[0].hi = 2.0f; in[1].lo = -2.0f; in[1].hi = 0.0f; }
                        if (ps == 1) { in[2].nd = 1; in[2].shape[0] = D; }
                        if (ps == 2) { in[2].nd = 0; }
                        lik_ctx c = {kind, (dsi_reduction)red, mk ? mask : NULL};
                        /* the NLL constants (log 2pi var) make |L| ~ 100 for SUM over 68
                         * elements, where float rounding / h exceeds atol at h = 1e-3; the
                         * terms are quadratic or piecewise linear (kink kept away), so a
                         * larger step costs no truncation error */
                        gc_opts o = gc_defaults();
                        o.eps = 1e-2;
                        int bad = gc_check(lname[kind], f_lik, &c, learned ? 3 : 2, in, &o);
                        ck_assert_msg(bad == 0, "%s shape %zu red %d mask %d param %d", lname[kind], s, red, mk, ps);
                    }
}
END_TEST

START_TEST(likelihood_values_match_naive)
{
    dsi_rng r;
    dsi_rng_seed(&r, 9);
    enum { B = 3, T = 9, D = 11, N = B * T * D };
    float x[N], y[N], sv[N], mask[B * T];
    tu_fill(&r, x, N);
    for (int i = 0; i < N; i++) { x[i] *= 3; y[i] = dsi_rng_uniform(&r); }
    tu_fill(&r, sv, N);
    for (int i = 0; i < B * T; i++) mask[i] = (float)(dsi_rng_uniform(&r) < 0.6f);
    int sh[3] = {B, T, D};
    dsi_tape t;
    dsi_tape_init(&t);
    for (int kind = 0; kind < L_COUNT; kind++)
        for (int red = 0; red < 3; red++)
            for (int mk = 0; mk < 2; mk++) {
                const float *m = mk ? mask : NULL;
                dsi_var *o = call_lik(&t, kind, dsi_tape_wrap(&t, x, 3, sh), dsi_tape_wrap(&t, y, 3, sh),
                                      dsi_tape_wrap(&t, sv, 3, sh), m, (dsi_reduction)red);
                double sum = 0, msum = 0;
                for (int rr = 0; rr < B * T; rr++) {
                    double w = m ? m[rr] : 1.0;
                    msum += w;
                    for (int d = 0; d < D; d++) {
                        int i = rr * D + d;
                        sum += w * ref_elem(kind, x[i], y[i], sv[i]);
                    }
                }
                double ref = red == DSI_RED_SUM ? sum : red == DSI_RED_MEAN ? sum / (msum * D) : sum / msum;
                ck_assert_msg(fabs(o->x[0] - ref) <= 1e-5 * (1 + fabs(ref)), "%s red %d: %g vs %g", lname[kind], red,
                              o->x[0], ref);
            }
    dsi_tape_release(&t);
}
END_TEST

START_TEST(likelihood_safety)
{
    /* huge logits, huge/tiny learned variances: finite values and gradients */
    float x[6] = {1e4f, -1e4f, 80, -80, 0, 3}, y[6] = {0, 1, 0, 1, 0.5f, 1}, s[6] = {1e30f, -1e30f, 50, -50, 0, 1};
    float gx[6] = {0}, gs[6] = {0};
    int sh[2] = {2, 3};
    dsi_var xv = mkvar(x, gx, 2, sh), yv = mkvar(y, NULL, 2, sh), sv = mkvar(s, gs, 2, sh);
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_var *b = dsi_bernoulli_nll(&t, &xv, &yv, NULL, DSI_RED_MEAN);
    ck_assert(b && isfinite(b->x[0]));
    ck_assert_close(b->x[0], (1e4 + 1e4 + 80 + 80 + log(2.0) + log1p(exp(-3.0))) / 6, 1e-2);
    dsi_var *g = dsi_gauss_nll(&t, &yv, &yv, &sv, 0, NULL, DSI_RED_SUM);
    dsi_var *l = dsi_laplace_nll(&t, &yv, &yv, &sv, 0, NULL, DSI_RED_SUM);
    ck_assert(g && isfinite(g->x[0]) && l && isfinite(l->x[0]));
    ck_assert_int_eq(dsi_tape_backward(&t, b), DSN_OK);
    ck_assert_int_eq(dsi_tape_backward(&t, g), DSN_OK);
    ck_assert_int_eq(dsi_tape_backward(&t, l), DSN_OK);
    for (int i = 0; i < 6; i++) ck_assert(isfinite(gx[i]) && isfinite(gs[i]));
    ck_assert_float_eq(gs[0], 0.0f); /* clamped: no gradient */
    ck_assert_float_eq(gs[1], 0.0f);
    /* all rows masked: 0 and no gradient */
    float mask[2] = {0, 0};
    memset(gx, 0, sizeof gx);
    dsi_tape_reset(&t);
    for (int red = 0; red < 3; red++) {
        dsi_var *o = dsi_mse(&t, &xv, &yv, mask, (dsi_reduction)red);
        ck_assert_float_eq(o->x[0], 0.0f);
        ck_assert_int_eq(dsi_tape_backward(&t, o), DSN_OK);
    }
    for (int i = 0; i < 6; i++) ck_assert_float_eq(gx[i], 0.0f);
    /* overflow to Inf and NaN inputs are clear numeric errors */
    float big[6] = {FLT_MAX, FLT_MAX, 0, 0, 0, 0};
    dsi_var bv = mkvar(big, NULL, 2, sh);
    ck_assert_ptr_null(dsi_mse(&t, &bv, &yv, NULL, DSI_RED_SUM));
    ck_assert_int_eq(t.status, DSN_E_NUMERIC);
    dsi_tape_reset(&t);
    y[2] = NAN;
    ck_assert_ptr_null(dsi_mse(&t, &xv, &yv, NULL, DSI_RED_SUM));
    ck_assert_int_eq(t.status, DSN_E_NUMERIC);
    y[2] = 0;
    dsi_tape_reset(&t);
    /* bad arguments */
    ck_assert_ptr_null(dsi_gauss_nll(&t, &xv, &yv, NULL, 0.0f, NULL, DSI_RED_SUM));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    dsi_tape_reset(&t);
    ck_assert_ptr_null(dsi_mse(&t, &xv, &yv, NULL, (dsi_reduction)7));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    dsi_tape_reset(&t);
    int sh2[2] = {3, 2};
    dsi_var wrong = mkvar(y, NULL, 2, sh2);
    ck_assert_ptr_null(dsi_mse(&t, &xv, &wrong, NULL, DSI_RED_SUM));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    ck_assert_ptr_null(dsi_mse(&t, NULL, &yv, NULL, DSI_RED_SUM));
    dsi_tape_release(&t);
}
END_TEST

static dsi_var *f_lsum(dsi_tape *t, dsi_var **in, void *ctx)
{
    const float w[3] = {0.5f, -2.0f, 3.0f};
    return dsi_loss_sum(t, 3, in, ctx ? w : NULL);
}

START_TEST(grad_loss_sum)
{
    gc_input in[3] = {{0}, {0}, {0}};
    ck_assert_int_eq(gc_check("loss_sum", f_lsum, NULL, 3, in, NULL), 0);
    ck_assert_int_eq(gc_check("loss_sum_w", f_lsum, (void *)1, 3, in, NULL), 0);
}
END_TEST

/* ---------- sequence KL terms ---------- */

static double naive_kl(double mq, double lq, double mp, double lp)
{
    return 0.5 * (lp - lq + (exp(lq) + (mq - mp) * (mq - mp)) / exp(lp) - 1.0);
}

typedef struct { const float *mask; dsi_reduction red; } seq_ctx;

static dsi_var *f_klseq(dsi_tape *t, dsi_var **in, void *ctx)
{
    seq_ctx *c = ctx;
    dsi_gauss_post q = {in[0], in[1]}, p = {in[2], in[3]};
    return dsi_kl_seq(t, q, p, c->mask, c->red);
}

START_TEST(kl_seq_masked_value_and_grad)
{
    enum { B = 3, T = 5, D = 4, N = B * T * D };
    /* lengths 5, 2, 0 (an all-padding sequence) */
    float mask[B * T] = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    for (int red = 0; red < 3; red++) {
        gc_input in[4] = {{3, {B, T, D}}, {3, {B, T, D}, -2, 2}, {3, {B, T, D}}, {3, {B, T, D}, -2, 2}};
        seq_ctx c = {mask, (dsi_reduction)red};
        ck_assert_int_eq(gc_check("kl_seq", f_klseq, &c, 4, in, NULL), 0);
    }
    dsi_rng r;
    dsi_rng_seed(&r, 4);
    float a[4][N];
    for (int k = 0; k < 4; k++) tu_fill(&r, a[k], N);
    /* garbage in the padded frames must not matter */
    for (int i = 7 * D; i < N; i++) a[0][i] = 1e6f;
    int sh[3] = {B, T, D};
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_gauss_post q = {dsi_tape_wrap(&t, a[0], 3, sh), dsi_tape_wrap(&t, a[1], 3, sh)};
    dsi_gauss_post p = {dsi_tape_wrap(&t, a[2], 3, sh), dsi_tape_wrap(&t, a[3], 3, sh)};
    double sum = 0;
    for (int rr = 0; rr < B * T; rr++)
        if (mask[rr])
            for (int d = 0; d < D; d++) {
                int i = rr * D + d;
                sum += naive_kl(a[0][i], a[1][i], a[2][i], a[3][i]);
            }
    ck_assert_close(dsi_kl_seq(&t, q, p, mask, DSI_RED_SUM)->x[0], sum, 1e-5 * sum);
    ck_assert_close(dsi_kl_seq(&t, q, p, mask, DSI_RED_MEAN)->x[0], sum / (7 * D), 1e-5 * sum);
    ck_assert_close(dsi_kl_seq(&t, q, p, mask, DSI_RED_MEAN_ROWS)->x[0], sum / 7, 1e-5 * sum);
    /* everything masked: 0, finite */
    float none[B * T] = {0};
    ck_assert_float_eq(dsi_kl_seq(&t, q, p, none, DSI_RED_MEAN)->x[0], 0.0f);
    /* not a sequence */
    int sh2[2] = {B * T, D};
    dsi_gauss_post q2 = {dsi_tape_wrap(&t, a[0], 2, sh2), dsi_tape_wrap(&t, a[1], 2, sh2)};
    ck_assert_ptr_null(dsi_kl_seq(&t, q2, q2, NULL, DSI_RED_SUM));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    dsi_tape_release(&t);
}
END_TEST

START_TEST(kl_informed_prior_is_frozen)
{
    float mq[6] = {0.1f, 0.2f, -0.3f, 1, 2, 0}, lq[6] = {0, 0.5f, -0.5f, 1, 0, 0};
    float m1[6] = {0, 0, 0, 1, 1, 1}, l1[6] = {0.2f, 0, 0, 0, -1, 1};
    float g[4][6];
    memset(g, 0, sizeof g);
    int sh[2] = {2, 3};
    dsi_var a = mkvar(mq, g[0], 2, sh), b = mkvar(lq, g[1], 2, sh), c = mkvar(m1, g[2], 2, sh), d = mkvar(l1, g[3], 2, sh);
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_gauss_post q = {&a, &b}, q1 = {&c, &d};
    dsi_var *k = dsi_kl_informed(&t, q, q1, NULL, DSI_RED_MEAN);
    double ref = 0;
    for (int i = 0; i < 6; i++) ref += naive_kl(mq[i], lq[i], m1[i], l1[i]);
    ck_assert_close(k->x[0], ref / 6, 1e-6);
    ck_assert_int_eq(dsi_tape_backward(&t, k), DSN_OK);
    for (int i = 0; i < 6; i++) {
        ck_assert_float_eq(g[2][i], 0.0f);
        ck_assert_float_eq(g[3][i], 0.0f);
    }
    ck_assert_float_ne(g[0][0], 0.0f);
    dsi_tape_release(&t);
}
END_TEST

typedef struct { const int *partner; const float *mask; int fixed; } swap_ctx;

static dsi_var *f_swap(dsi_tape *t, dsi_var **in, void *ctx)
{
    swap_ctx *c = ctx;
    /* in: v (mu, lv) [B,Dv]; z [B,T,Dz]; v_g; z_g; v_l; z_l */
    dsi_gauss_post p[6];
    for (int k = 0; k < 6; k++) {
        /* gc_check takes at most 8 inputs and this needs 12, so each posterior's
         * mean and log-variance share one input (kl_gauss_idx itself is checked
         * with separate inputs in test_latent) */
        p[k].mu = in[k];
        p[k].lv = in[k];
    }
    return dsi_swap_regulariser(t, p[0], p[1], p[2], p[3], p[4], p[5], c->partner, c->mask, DSI_RED_SUM,
                                (dsi_kl_fixed)c->fixed);
}

START_TEST(swap_regulariser_value_and_grad)
{
    enum { B = 3, T = 4, Dv = 2, Dz = 3 };
    int partner[B] = {2, 0, 1};
    float mask[B * T] = {1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0};
    /* gradient check: mu and logvar share storage in f_swap, which still
     * checks every path (each element feeds both) */
    for (int fixed = 0; fixed < 2; fixed++) {
        gc_input in[6] = {{2, {B, Dv}}, {3, {B, T, Dz}}, {2, {B, Dv}}, {3, {B, T, Dz}}, {2, {B, Dv}}, {3, {B, T, Dz}}};
        if (fixed) in[0].no_grad = in[1].no_grad = 1;
        swap_ctx c = {partner, mask, fixed ? DSI_KL_FIX_P : DSI_KL_FIX_NONE};
        ck_assert_int_eq(gc_check("swap", f_swap, &c, 6, in, NULL), 0);
    }
    /* value against the four terms written out */
    dsi_rng r;
    dsi_rng_seed(&r, 6);
    float v[2][B * Dv], vg[2][B * Dv], vl[2][B * Dv], z[2][B * T * Dz], zg[2][B * T * Dz], zl[2][B * T * Dz];
    float *all[12] = {v[0], v[1], vg[0], vg[1], vl[0], vl[1], z[0], z[1], zg[0], zg[1], zl[0], zl[1]};
    for (int k = 0; k < 12; k++) tu_fill(&r, all[k], k < 6 ? B * Dv : B * T * Dz);
    int sv[2] = {B, Dv}, sz[3] = {B, T, Dz};
    dsi_tape t;
    dsi_tape_init(&t);
#define POST(a, nd, s) ((dsi_gauss_post){dsi_tape_wrap(&t, a[0], nd, s), dsi_tape_wrap(&t, a[1], nd, s)})
    dsi_var *o = dsi_swap_regulariser(&t, POST(v, 2, sv), POST(z, 3, sz), POST(vg, 2, sv), POST(zg, 3, sz),
                                      POST(vl, 2, sv), POST(zl, 3, sz), partner, mask, DSI_RED_SUM, DSI_KL_FIX_NONE);
#undef POST
    ck_assert_ptr_nonnull(o);
    double ref = 0;
    for (int i = 0; i < B; i++) {
        int j = partner[i];
        for (int d = 0; d < Dv; d++) {
            ref += naive_kl(vg[0][i * Dv + d], vg[1][i * Dv + d], v[0][j * Dv + d], v[1][j * Dv + d]);
            ref += naive_kl(vl[0][i * Dv + d], vl[1][i * Dv + d], v[0][i * Dv + d], v[1][i * Dv + d]);
        }
        for (int tt = 0; tt < T; tt++)
            for (int d = 0; d < Dz; d++) {
                int qi = (i * T + tt) * Dz + d, pj = (j * T + tt) * Dz + d;
                if (mask[i * T + tt]) ref += naive_kl(zg[0][qi], zg[1][qi], z[0][qi], z[1][qi]);
                if (mask[j * T + tt]) ref += naive_kl(zl[0][qi], zl[1][qi], z[0][pj], z[1][pj]);
            }
    }
    ck_assert_close(o->x[0], ref, 1e-5 * ref);
    /* a bad partner is an error */
    int badp[B] = {0, 3, 1};
    dsi_gauss_post zz = {dsi_tape_wrap(&t, z[0], 3, sz), dsi_tape_wrap(&t, z[1], 3, sz)};
    dsi_gauss_post vv = {dsi_tape_wrap(&t, v[0], 2, sv), dsi_tape_wrap(&t, v[1], 2, sv)};
    ck_assert_ptr_null(dsi_swap_regulariser(&t, vv, zz, vv, zz, vv, zz, badp, mask, DSI_RED_SUM, 0));
    ck_assert_int_eq(t.status, DSN_E_INVALID);
    dsi_tape_release(&t);
}
END_TEST

START_TEST(mask_permute)
{
    float m[6] = {1, 1, 0, 1, 0, 0}, out[6];
    int p[2] = {1, 0};
    dsi_mask_permute(m, 2, 3, p, out);
    float want[6] = {1, 0, 0, 1, 1, 0};
    ck_assert_int_eq(memcmp(out, want, sizeof want), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("loss");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, grad_likelihoods_reductions_masks);
    tcase_add_test(tc, likelihood_values_match_naive);
    tcase_add_test(tc, likelihood_safety);
    tcase_add_test(tc, grad_loss_sum);
    tcase_add_test(tc, kl_seq_masked_value_and_grad);
    tcase_add_test(tc, kl_informed_prior_is_frozen);
    tcase_add_test(tc, swap_regulariser_value_and_grad);
    tcase_add_test(tc, mask_permute);
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}
