/* test_latent.c - Gaussian latents (heads, sampling, KL, density), product of
 * Gaussians, and the VQ codebook. */
#include "latent/gauss.h"
#include "latent/vq.h"
#include "support/gradcheck.h"
#include "support/testutil.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

/* ---------- helpers ---------- */

#define mkvar dsi_var_view

static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* shapes used by most checks: sizes 1, odd, not multiples of 8/16 */
static const int shapes3[][3] = {{1, 1, 1}, {2, 3, 5}, {3, 1, 7}, {1, 4, 17}};

/* ---------- sampling ---------- */

typedef struct { uint64_t seed; int use_mean; } sample_ctx;

static dsi_var *f_sample(dsi_tape *t, dsi_var **in, void *ctx)
{
    sample_ctx *c = ctx;
    dsi_rng r;
    dsi_rng_seed(&r, c->seed); /* the same noise at every evaluation */
    return dsi_gauss_sample(t, in[0], in[1], &r, c->use_mean);
}

START_TEST(grad_gauss_sample)
{
    for (size_t s = 0; s < 4; s++)
        for (int um = 0; um < 2; um++) {
            gc_input in[2] = {{3, {shapes3[s][0], shapes3[s][1], shapes3[s][2]}},
                              {3, {shapes3[s][0], shapes3[s][1], shapes3[s][2]}, -2.0f, 2.0f}};
            sample_ctx c = {7 + s, um};
            ck_assert_int_eq(gc_check("gauss_sample", f_sample, &c, 2, in, NULL), 0);
        }
}
END_TEST

START_TEST(sample_moments_and_mean_mode)
{
    enum { N = 40000 };
    float *mu = malloc(sizeof(float) * N), *lv = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++) { mu[i] = 1.5f; lv[i] = logf(4.0f); }
    dsi_tape t;
    dsi_tape_init(&t);
    int sh[2] = {N, 1};
    dsi_rng r;
    dsi_rng_seed(&r, 3);
    dsi_var *m = dsi_tape_wrap(&t, mu, 2, sh), *l = dsi_tape_wrap(&t, lv, 2, sh);
    dsi_var *z = dsi_gauss_sample(&t, m, l, &r, 0);
    ck_assert_ptr_nonnull(z);
    double s1 = 0, s2 = 0;
    for (int i = 0; i < N; i++) { s1 += z->x[i]; s2 += (double)z->x[i] * z->x[i]; }
    double mean = s1 / N, var = s2 / N - mean * mean;
    ck_assert_close(mean, 1.5, 0.04);
    ck_assert_close(var, 4.0, 0.15);
    /* deterministic mode: exactly the mean, rng untouched */
    dsi_rng before = r;
    dsi_var *zm = dsi_gauss_sample(&t, m, l, &r, 1);
    ck_assert_int_eq(memcmp(zm->x, mu, sizeof(float) * N), 0);
    ck_assert_int_eq(memcmp(&before, &r, sizeof r), 0);
    /* same seed, same draws: the object's rng makes sampling reproducible */
    dsi_rng a, b;
    dsi_rng_seed(&a, 9);
    dsi_rng_seed(&b, 9);
    dsi_var *z1 = dsi_gauss_sample(&t, m, l, &a, 0), *z2 = dsi_gauss_sample(&t, m, l, &b, 0);
    ck_assert_int_eq(memcmp(z1->x, z2->x, sizeof(float) * N), 0);
    dsi_tape_release(&t);
    free(mu); free(lv);
}
END_TEST

/* Under a data-parallel shard the noise of a part's rows is the noise one
 * process draws for those rows of the whole batch, for item rows (and their
 * multiples: frames) and group rows, and the RNG ends where one process's
 * does. */
START_TEST(sample_shard_noise)
{
    enum { B = 7, G = 5, D = 3, T = 4 };
    float mu[B * T * D], lv[B * T * D];
    for (int i = 0; i < B * T * D; i++) mu[i] = 0.1f * (float)i, lv[i] = -0.5f;
    dsi_tape t;
    dsi_tape_init(&t);
    const int rows_of[3] = {B, G, B * T}; /* items, groups, frames */
    for (int kind = 0; kind < 3; kind++) {
        int R = rows_of[kind], sh[2] = {R, D};
        dsi_rng whole_rng, part_rng;
        dsi_rng_seed(&whole_rng, 11);
        dsi_var *whole = dsi_gauss_sample(&t, dsi_tape_wrap(&t, mu, 2, sh), dsi_tape_wrap(&t, lv, 2, sh), &whole_rng, 0);
        ck_assert_ptr_nonnull(whole);
        /* items [2, 5) and groups [1, 3) of the batch */
        size_t lo = kind == 1 ? 1 : 2, n = kind == 1 ? 2 : 3, per = kind == 2 ? T : 1;
        t.shard = (dsi_shard){2, 3, B, 1, 2, G};
        int psh[2] = {(int)(n * per), D};
        dsi_rng_seed(&part_rng, 11);
        const float *pm = mu + lo * per * D, *pl = lv + lo * per * D;
        dsi_var *part = dsi_gauss_sample(&t, dsi_tape_wrap(&t, pm, 2, psh), dsi_tape_wrap(&t, pl, 2, psh), &part_rng, 0);
        memset(&t.shard, 0, sizeof t.shard);
        ck_assert_ptr_nonnull(part);
        ck_assert_int_eq(memcmp(part->x, whole->x + lo * per * D, sizeof(float) * n * per * D), 0);
        ck_assert_int_eq(memcmp(&part_rng, &whole_rng, sizeof part_rng), 0);
    }
    /* rows that are neither the part's items nor its groups: an error */
    t.shard = (dsi_shard){2, 3, B, 1, 2, G};
    int bad[2] = {4, D};
    dsi_rng r;
    dsi_rng_seed(&r, 1);
    ck_assert_ptr_null(dsi_gauss_sample(&t, dsi_tape_wrap(&t, mu, 2, bad), dsi_tape_wrap(&t, lv, 2, bad), &r, 0));
    ck_assert_int_eq(t.status, DSN_E_INTERNAL);
    dsi_tape_release(&t);
}
END_TEST

/* ---------- KL to N(0, I) ---------- */

typedef struct { dsi_reduction red; const float *mask; } red_ctx;

static dsi_var *f_klstd(dsi_tape *t, dsi_var **in, void *ctx)
{
    red_ctx *c = ctx;
    return dsi_kl_std_normal(t, in[0], in[1], c->mask, c->red);
}

static double naive_klstd(const float *mu, const float *lv, size_t R, int D, const float *mask, dsi_reduction red)
{
    double s = 0, m = 0;
    for (size_t r = 0; r < R; r++) {
        double w = mask ? mask[r] : 1.0;
        m += w;
        for (int d = 0; d < D; d++) {
            double u = mu[r * D + d], l = lv[r * D + d];
            s += w * 0.5 * (u * u + exp(l) - 1.0 - l);
        }
    }
    if (red == DSI_RED_MEAN) return m > 0 ? s / (m * D) : 0;
    if (red == DSI_RED_MEAN_ROWS) return m > 0 ? s / m : 0;
    return s;
}

START_TEST(grad_kl_std_normal_each_reduction)
{
    float mask[64];
    for (int i = 0; i < 64; i++) mask[i] = (i % 3) != 1;
    for (size_t s = 0; s < 4; s++)
        for (int red = 0; red < 3; red++)
            for (int mk = 0; mk < 2; mk++) {
                gc_input in[2] = {{3, {shapes3[s][0], shapes3[s][1], shapes3[s][2]}},
                                  {3, {shapes3[s][0], shapes3[s][1], shapes3[s][2]}, -3.0f, 3.0f}};
                red_ctx c = {(dsi_reduction)red, mk ? mask : NULL};
                ck_assert_int_eq(gc_check("kl_std", f_klstd, &c, 2, in, NULL), 0);
            }
}
END_TEST

START_TEST(kl_std_normal_matches_naive)
{
    dsi_rng r;
    dsi_rng_seed(&r, 5);
    int B = 3, T = 11, D = 13;
    size_t n = (size_t)B * T * D;
    float *mu = malloc(n * 4), *lv = malloc(n * 4), mask[33];
    tu_fill(&r, mu, n);
    tu_fill(&r, lv, n);
    for (int i = 0; i < B * T; i++) mask[i] = dsi_rng_uniform(&r) < 0.7f;
    int sh[3] = {B, T, D};
    dsi_tape t;
    dsi_tape_init(&t);
    for (int red = 0; red < 3; red++)
        for (int mk = 0; mk < 2; mk++) {
            dsi_var *k = dsi_kl_std_normal(&t, dsi_tape_wrap(&t, mu, 3, sh), dsi_tape_wrap(&t, lv, 3, sh),
                                           mk ? mask : NULL, (dsi_reduction)red);
            double ref = naive_klstd(mu, lv, (size_t)B * T, D, mk ? mask : NULL, (dsi_reduction)red);
            ck_assert_close(k->x[0], ref, 1e-5 * (1 + fabs(ref)));
            ck_assert_int_eq(k->nd, 0);
        }
    dsi_tape_release(&t);
    free(mu); free(lv);
}
END_TEST

/* ---------- KL between Gaussians ---------- */

typedef struct { dsi_reduction red; const float *mask; int fixed; const int *pb; } klg_ctx;

static dsi_var *f_klg(dsi_tape *t, dsi_var **in, void *ctx)
{
    klg_ctx *c = ctx;
    return dsi_kl_gauss_idx(t, in[0], in[1], in[2], in[3], c->pb, c->mask, c->red, (dsi_kl_fixed)c->fixed);
}

START_TEST(grad_kl_gauss_sides_masks_partners)
{
    float mask[64];
    for (int i = 0; i < 64; i++) mask[i] = (i % 4) != 2;
    int perm[4] = {2, 0, 3, 1}, perm1[1] = {0}, perm3[3] = {1, 2, 0}, perm2[2] = {1, 0};
    const int *perms[4] = {perm1, perm2, perm3, perm1};
    for (size_t s = 0; s < 4; s++)
        for (int red = 0; red < 3; red++)
            for (int fixed = 0; fixed < 3; fixed++)
                for (int v = 0; v < 2; v++) {
                    int B = shapes3[s][0], T = shapes3[s][1], D = shapes3[s][2];
                    gc_input in[4] = {{3, {B, T, D}}, {3, {B, T, D}, -2.0f, 2.0f}, {3, {B, T, D}}, {3, {B, T, D}, -2.0f, 2.0f}};
                    /* a fixed side is a constant for the checker */
                    if (fixed == DSI_KL_FIX_P) in[2].no_grad = in[3].no_grad = 1;
                    if (fixed == DSI_KL_FIX_Q) in[0].no_grad = in[1].no_grad = 1;
                    klg_ctx c = {(dsi_reduction)red, v ? mask : NULL, fixed, v ? perms[s] : NULL};
                    ck_assert_int_eq(gc_check("kl_gauss", f_klg, &c, 4, in, NULL), 0);
                }
    (void)perm;
}
END_TEST

START_TEST(kl_gauss_fixed_side_gets_no_gradient)
{
    float mq[3] = {0.3f, -1, 2}, lq[3] = {0.1f, 1, -1}, mp[3] = {1, 0, -2}, lp[3] = {0, 2, 0.5f};
    float g[4][3];
    int sh[2] = {1, 3};
    for (int fixed = 1; fixed <= 2; fixed++) {
        memset(g, 0, sizeof g);
        dsi_var a = mkvar(mq, g[0], 2, sh), b = mkvar(lq, g[1], 2, sh), c = mkvar(mp, g[2], 2, sh), d = mkvar(lp, g[3], 2, sh);
        dsi_tape t;
        dsi_tape_init(&t);
        dsi_var *k = dsi_kl_gauss(&t, &a, &b, &c, &d, NULL, DSI_RED_SUM, (dsi_kl_fixed)fixed);
        ck_assert_int_eq(dsi_tape_backward(&t, k), DSN_OK);
        float zero[3] = {0};
        int fixed_lo = fixed == DSI_KL_FIX_P ? 2 : 0, live_lo = fixed == DSI_KL_FIX_P ? 0 : 2;
        ck_assert_int_eq(memcmp(g[fixed_lo], zero, sizeof zero), 0);
        ck_assert_int_eq(memcmp(g[fixed_lo + 1], zero, sizeof zero), 0);
        ck_assert_int_ne(memcmp(g[live_lo], zero, sizeof zero), 0);
        dsi_tape_release(&t);
    }
    /* with only the fixed side trainable nothing is recorded */
    float gg[3];
    dsi_var a = mkvar(mq, NULL, 2, sh), b = mkvar(lq, NULL, 2, sh), c = mkvar(mp, gg, 2, sh), d = mkvar(lp, gg, 2, sh);
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_var *k = dsi_kl_gauss(&t, &a, &b, &c, &d, NULL, DSI_RED_SUM, DSI_KL_FIX_P);
    ck_assert_ptr_null(k->g);
    ck_assert_uint_eq(t.n_nodes, 0);
    dsi_tape_release(&t);
}
END_TEST

static double kl1(dsi_tape *t, float mq, float lq, float mp, float lp)
{
    int sh[1] = {1};
    float a[4] = {mq, lq, mp, lp};
    dsi_var *k = dsi_kl_gauss(t, dsi_tape_const(t, a, 1, sh), dsi_tape_const(t, a + 1, 1, sh),
                              dsi_tape_const(t, a + 2, 1, sh), dsi_tape_const(t, a + 3, 1, sh), NULL, DSI_RED_SUM,
                              DSI_KL_FIX_NONE);
    return k ? k->x[0] : NAN;
}

START_TEST(kl_closed_form_cases)
{
    dsi_tape t;
    dsi_tape_init(&t);
    /* KL(N(m1,s1^2)||N(m2,s2^2)) = log(s2/s1) + (s1^2 + (m1-m2)^2) / (2 s2^2) - 1/2 */
    ck_assert_float_eq(kl1(&t, 0, 0, 0, 0), 0.0f);
    ck_assert_close(kl1(&t, 1, 0, 0, 0), 0.5, 1e-7);
    ck_assert_close(kl1(&t, 1, logf(4), -1, 0), log(0.5) + (4.0 + 4.0) / 2.0 - 0.5, 1e-6);
    ck_assert_close(kl1(&t, 0, 2, 0, 0), 0.5 * (exp(2.0) - 1.0 - 2.0), 1e-5);
    ck_assert_close(kl1(&t, 0.5f, -1, 2, 1), 1.0 + (exp(-1.0) + 2.25) / (2 * exp(1.0)) - 0.5, 1e-6);
    /* tiny difference keeps precision (expm1 form) */
    ck_assert_close(kl1(&t, 0, 1e-4f, 0, 0), 0.5 * (expm1(1e-4) - 1e-4), 1e-14);
    /* identical random Gaussians: exactly 0, std-normal KL of N(0,1) too */
    dsi_rng r;
    dsi_rng_seed(&r, 2);
    float mu[77], lv[77];
    tu_fill(&r, mu, 77);
    tu_fill(&r, lv, 77);
    int sh[2] = {7, 11};
    dsi_var *m = dsi_tape_wrap(&t, mu, 2, sh), *l = dsi_tape_wrap(&t, lv, 2, sh);
    ck_assert_float_eq(dsi_kl_gauss(&t, m, l, m, l, NULL, DSI_RED_SUM, DSI_KL_FIX_NONE)->x[0], 0.0f);
    float z[77] = {0};
    dsi_var *zv = dsi_tape_wrap(&t, z, 2, sh);
    ck_assert_float_eq(dsi_kl_std_normal(&t, zv, zv, NULL, DSI_RED_SUM)->x[0], 0.0f);
    /* KL to N(0,I) equals KL against explicit zeros */
    double a = dsi_kl_std_normal(&t, m, l, NULL, DSI_RED_SUM)->x[0];
    double b = dsi_kl_gauss(&t, m, l, zv, zv, NULL, DSI_RED_SUM, DSI_KL_FIX_NONE)->x[0];
    ck_assert_close(a, b, 1e-5 * fabs(a));
    dsi_tape_release(&t);
}
END_TEST

/* ---------- log-density, split, clamp ---------- */

static dsi_var *f_logdens(dsi_tape *t, dsi_var **in, void *ctx) { return dsi_gauss_log_density(t, in[0], in[1], in[2]); }

START_TEST(grad_log_density_and_value)
{
    for (size_t s = 0; s < 4; s++) {
        gc_input in[3] = {{3, {shapes3[s][0], shapes3[s][1], shapes3[s][2]}},
                          {3, {shapes3[s][0], shapes3[s][1], shapes3[s][2]}},
                          {3, {shapes3[s][0], shapes3[s][1], shapes3[s][2]}, -2.0f, 2.0f}};
        ck_assert_int_eq(gc_check("log_density", f_logdens, NULL, 3, in, NULL), 0);
    }
    float x[2] = {1, -2}, mu[2] = {0, 1}, lv[2] = {0, logf(2)};
    int sh[1] = {2};
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_var *o = dsi_gauss_log_density(&t, dsi_tape_wrap(&t, x, 1, sh), dsi_tape_wrap(&t, mu, 1, sh), dsi_tape_wrap(&t, lv, 1, sh));
    double ref = -0.5 * (log(2.0 * 3.14159265358979324) + 1.0) - 0.5 * (log(4.0 * 3.14159265358979324) + 9.0 / 2.0);
    ck_assert_int_eq(o->n, 1);
    ck_assert_close(o->x[0], ref, 1e-5);
    dsi_tape_release(&t);
}
END_TEST

static dsi_var *f_split(dsi_tape *t, dsi_var **in, void *ctx)
{
    dsi_var *mu, *lv;
    if (dsi_split_mean_logvar(t, in[0], &mu, &lv) != DSN_OK) return NULL;
    /* combine both outputs so both gradients are checked */
    return dsi_kl_std_normal(t, mu, lv, NULL, DSI_RED_SUM);
}

static dsi_var *f_lvclamp(dsi_tape *t, dsi_var **in, void *ctx) { return dsi_logvar_clamp(t, in[0]); }

START_TEST(grad_split_and_clamp)
{
    gc_input a[1] = {{3, {2, 3, 10}, -2.0f, 2.0f}};
    ck_assert_int_eq(gc_check("gauss_split", f_split, NULL, 1, a, NULL), 0);
    gc_input b[1] = {{1, {5}, -2.0f, 2.0f}};
    ck_assert_int_eq(gc_check("split_odd", f_split, NULL, 1, b, NULL), 1); /* odd width fails the op */
    /* clamp: values and zero gradient outside [-30, 20] */
    float vals[6] = {-100, -30.5f, -5, 0.5f, 19, 50};
    gc_input c[1] = {{1, {6}, .values = vals}};
    ck_assert_int_eq(gc_check("logvar_clamp", f_lvclamp, NULL, 1, c, NULL), 0);
    float g[6] = {0}, seed[6] = {1, 1, 1, 1, 1, 1};
    int sh[1] = {6};
    dsi_var v = mkvar(vals, g, 1, sh);
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_var *y = dsi_logvar_clamp(&t, &v);
    ck_assert_float_eq(y->x[0], DSI_LOGVAR_MIN);
    ck_assert_float_eq(y->x[5], DSI_LOGVAR_MAX);
    ck_assert_float_eq(y->x[3], 0.5f);
    dsi_tape_backward_seed(&t, y, seed);
    ck_assert_float_eq(g[0], 0.0f);
    ck_assert_float_eq(g[1], 0.0f);
    ck_assert_float_eq(g[2], 1.0f);
    ck_assert_float_eq(g[5], 0.0f);
    dsi_tape_release(&t);
}
END_TEST


/* ---------- product of Gaussians ---------- */

typedef struct { const int *idx; int G, mode, which; } pog_ctx;

static dsi_var *f_pog(dsi_tape *t, dsi_var **in, void *ctx)
{
    pog_ctx *c = ctx;
    dsi_var *m, *l;
    if (dsi_pog(t, in[0], in[1], c->idx, c->G, (dsi_pog_mode)c->mode, &m, &l) != DSN_OK) return NULL;
    if (c->which == 0) return m;
    if (c->which == 1) return l;
    return dsi_kl_std_normal(t, m, l, NULL, DSI_RED_SUM); /* both outputs at once */
}

START_TEST(grad_pog_any_group_sizes)
{
    /* groups of sizes 1, 3, 2, 1 and an empty one, in mixed order */
    int idx[7] = {1, 0, 2, 1, 3, 2, 1};
    int idx1[1] = {0};
    for (int mode = 0; mode < 2; mode++)
        for (int which = 0; which < 3; which++) {
            int Ds[3] = {1, 4, 17};
            for (int k = 0; k < 3; k++) {
                gc_input in[2] = {{2, {7, Ds[k]}}, {2, {7, Ds[k]}, -2.0f, 2.0f}};
                pog_ctx c = {idx, 5, mode, which};
                ck_assert_int_eq(gc_check("pog", f_pog, &c, 2, in, NULL), 0);
            }
            gc_input in1[2] = {{2, {1, 3}}, {2, {1, 3}, -2.0f, 2.0f}};
            pog_ctx c1 = {idx1, 1, mode, which};
            ck_assert_int_eq(gc_check("pog_one", f_pog, &c1, 2, in1, NULL), 0);
        }
}
END_TEST

START_TEST(pog_matches_naive_and_closed_forms)
{
    dsi_rng r;
    dsi_rng_seed(&r, 4);
    enum { N = 37, D = 9, G = 6 };
    float mu[N * D], lv[N * D];
    int idx[N];
    tu_fill(&r, mu, N * D);
    for (int i = 0; i < N * D; i++) lv[i] = 3.0f * (2.0f * dsi_rng_uniform(&r) - 1.0f);
    for (int i = 0; i < N; i++) idx[i] = (int)dsi_rng_below(&r, G - 1); /* group G-1 empty */
    int sh[2] = {N, D};
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_var *m, *l;
    ck_assert_int_eq(dsi_pog(&t, dsi_tape_wrap(&t, mu, 2, sh), dsi_tape_wrap(&t, lv, 2, sh), idx, G, DSI_POG_PRODUCT, &m, &l), DSN_OK);
    for (int g = 0; g < G; g++)
        for (int d = 0; d < D; d++) {
            double P = 0, Pm = 0;
            for (int i = 0; i < N; i++)
                if (idx[i] == g) {
                    P += exp(-lv[i * D + d]);
                    Pm += exp(-lv[i * D + d]) * mu[i * D + d];
                }
            double em = P > 0 ? Pm / P : 0, el = P > 0 ? -log(P) : 0;
            ck_assert_close(m->x[g * D + d], em, 1e-5 * (1 + fabs(em)));
            ck_assert_close(l->x[g * D + d], el, 1e-5 * (1 + fabs(el)));
        }
    /* n identical Gaussians: same mean, variance / n; a group of one is itself */
    float mu2[5 * 2] = {0.5f, -1, 0.5f, -1, 0.5f, -1, 0.5f, -1, 2, 3}, lv2[5 * 2] = {0.3f, -2, 0.3f, -2, 0.3f, -2, 0.3f, -2, 1, -1};
    int idx2[5] = {0, 0, 0, 0, 1}, sh2[2] = {5, 2};
    ck_assert_int_eq(dsi_pog(&t, dsi_tape_wrap(&t, mu2, 2, sh2), dsi_tape_wrap(&t, lv2, 2, sh2), idx2, 2, DSI_POG_PRODUCT, &m, &l), DSN_OK);
    ck_assert_close(m->x[0], 0.5, 1e-6);
    ck_assert_close(m->x[1], -1.0, 1e-6);
    ck_assert_close(exp(l->x[0]), exp(0.3) / 4, 1e-6);
    ck_assert_close(exp(l->x[1]), exp(-2.0) / 4, 1e-7);
    ck_assert_float_eq(m->x[2], 2.0f);
    ck_assert_float_eq(m->x[3], 3.0f);
    ck_assert_close(l->x[2], 1.0, 1e-6);
    ck_assert_close(l->x[3], -1.0, 1e-6);
    /* unweighted mean mode */
    ck_assert_int_eq(dsi_pog(&t, dsi_tape_wrap(&t, mu, 2, sh), dsi_tape_wrap(&t, lv, 2, sh), idx, G, DSI_POG_MEAN, &m, &l), DSN_OK);
    for (int g = 0; g < G; g++) {
        double sm = 0, sl = 0;
        int c = 0;
        for (int i = 0; i < N; i++)
            if (idx[i] == g) { sm += mu[i * D]; sl += lv[i * D]; c++; }
        ck_assert_close(m->x[g * D], c ? sm / c : 0, 1e-5);
        ck_assert_close(l->x[g * D], c ? sl / c : 0, 1e-5);
    }
    /* a bad group index is an error, not a crash */
    idx[3] = G;
    ck_assert_int_eq(dsi_pog(&t, dsi_tape_wrap(&t, mu, 2, sh), dsi_tape_wrap(&t, lv, 2, sh), idx, G, DSI_POG_PRODUCT, &m, &l), DSN_E_INVALID);
    ck_assert_ptr_null(m);
    dsi_tape_release(&t);
}
END_TEST

START_TEST(pog_gradient_reaches_every_member)
{
    enum { N = 6, D = 3 };
    float mu[N * D], lv[N * D], gm[N * D] = {0}, gl[N * D] = {0};
    dsi_rng r;
    dsi_rng_seed(&r, 8);
    tu_fill(&r, mu, N * D);
    tu_fill(&r, lv, N * D);
    int idx[N] = {0, 0, 0, 1, 1, 2}, sh[2] = {N, D};
    dsi_var a = mkvar(mu, gm, 2, sh), b = mkvar(lv, gl, 2, sh);
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_var *m, *l;
    dsi_pog(&t, &a, &b, idx, 3, DSI_POG_PRODUCT, &m, &l);
    dsi_rng er;
    dsi_rng_seed(&er, 1);
    dsi_var *z = dsi_gauss_sample(&t, m, l, &er, 0);
    dsi_var *k = dsi_kl_gauss(&t, z, l, m, m, NULL, DSI_RED_SUM, DSI_KL_FIX_NONE); /* any scalar using both */
    ck_assert_int_eq(dsi_tape_backward(&t, k), DSN_OK);
    for (int i = 0; i < N * D; i++) {
        ck_assert_float_ne(gm[i], 0.0f);
        ck_assert_float_ne(gl[i], 0.0f);
    }
    dsi_tape_release(&t);
}
END_TEST

/* ---------- numerical safety ---------- */

START_TEST(extreme_logvars_stay_finite)
{
    float lv[8] = {1e30f, -1e30f, 80, -80, 20, -30, FLT_MAX, -FLT_MAX};
    float mu[8] = {0, 1, -3, 1e3f, 0.5f, -0.5f, 2, 7};
    float gm[8] = {0}, gl[8] = {0}, gm2[8] = {0}, gl2[8] = {0};
    int sh[2] = {2, 4};
    dsi_var m = mkvar(mu, gm, 2, sh), l = mkvar(lv, gl, 2, sh), m2 = mkvar(mu, gm2, 2, sh), l2 = mkvar(lv, gl2, 2, sh);
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_rng r;
    dsi_rng_seed(&r, 1);
    dsi_var *z = dsi_gauss_sample(&t, &m, &l, &r, 0);
    ck_assert(all_finite(z->x, 8));
    dsi_var *terms[4];
    terms[0] = dsi_kl_std_normal(&t, &m, &l, NULL, DSI_RED_MEAN);
    terms[1] = dsi_kl_gauss(&t, &m, &l, &m2, &l2, NULL, DSI_RED_SUM, DSI_KL_FIX_NONE);
    dsi_var *ld = dsi_gauss_log_density(&t, z, &m2, &l2);
    dsi_var *pm, *pl;
    int idx[2] = {0, 0};
    ck_assert_int_eq(dsi_pog(&t, &m, &l, idx, 1, DSI_POG_PRODUCT, &pm, &pl), DSN_OK);
    ck_assert(all_finite(pm->x, 4) && all_finite(pl->x, 4));
    terms[2] = dsi_kl_std_normal(&t, pm, pl, NULL, DSI_RED_SUM);
    for (int i = 0; i < 3; i++) ck_assert(terms[i] && isfinite(terms[i]->x[0]));
    ck_assert(all_finite(ld->x, 2));
    ck_assert_int_eq(dsi_tape_backward(&t, terms[0]), DSN_OK);
    ck_assert_int_eq(dsi_tape_backward(&t, terms[1]), DSN_OK);
    ck_assert_int_eq(dsi_tape_backward(&t, terms[2]), DSN_OK);
    ck_assert(all_finite(gm, 8) && all_finite(gl, 8) && all_finite(gm2, 8) && all_finite(gl2, 8));
    /* zero gradient outside the clamp range, consistently */
    ck_assert_float_eq(gl[0], 0.0f);
    ck_assert_float_eq(gl[1], 0.0f);
    ck_assert_float_eq(gl[6], 0.0f);
    dsi_tape_release(&t);
}
END_TEST

START_TEST(all_masked_and_nan_inputs)
{
    float mu[6] = {1, 2, 3, 4, 5, 6}, lv[6] = {0}, g[6] = {0}, mask[3] = {0, 0, 0};
    int sh[3] = {1, 3, 2};
    dsi_var m = mkvar(mu, g, 3, sh), l = mkvar(lv, NULL, 3, sh);
    dsi_tape t;
    dsi_tape_init(&t);
    for (int red = 0; red < 3; red++) {
        dsi_var *k = dsi_kl_std_normal(&t, &m, &l, mask, (dsi_reduction)red);
        ck_assert_float_eq(k->x[0], 0.0f);
        ck_assert_int_eq(dsi_tape_backward(&t, k), DSN_OK);
        dsi_var *k2 = dsi_kl_gauss(&t, &m, &l, &l, &l, mask, (dsi_reduction)red, DSI_KL_FIX_NONE);
        ck_assert_float_eq(k2->x[0], 0.0f);
    }
    for (int i = 0; i < 6; i++) ck_assert_float_eq(g[i], 0.0f);
    /* a NaN input: a clear numeric error, no NaN handed on */
    mu[2] = NAN;
    ck_assert_ptr_null(dsi_kl_std_normal(&t, &m, &l, NULL, DSI_RED_SUM));
    ck_assert_int_eq(t.status, DSN_E_NUMERIC);
    dsi_tape_reset(&t);
    /* shape mismatch */
    int sh2[2] = {3, 2};
    dsi_var bad = mkvar(lv, NULL, 2, sh2);
    ck_assert_ptr_null(dsi_kl_std_normal(&t, &m, &bad, NULL, DSI_RED_SUM));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    dsi_tape_release(&t);
}
END_TEST

/* ---------- VQ ---------- */

typedef struct vq_fixture {
    dsi_params ps;
    dsi_vq vq;
} vq_fixture;

static void vq_make(vq_fixture *f, dsi_vq_config cfg)
{
    dsi_params_init(&f->ps);
    ck_assert_int_eq(dsi_vq_init(&f->vq, &cfg, &f->ps, "vq.codebook", dsi_params_group(&f->ps, "vq")), DSN_OK);
    ck_assert_int_eq(dsi_params_finalize(&f->ps), DSN_OK);
    ck_assert_int_eq(dsi_vq_init_uniform(&f->vq), DSN_OK);
}

static void vq_free(vq_fixture *f)
{
    dsi_vq_release(&f->vq);
    dsi_params_release(&f->ps);
}

START_TEST(vq_assign_equals_brute_force)
{
    int cases[][3] = {{1, 1, 1}, {7, 5, 3}, {300, 512, 64}, {513, 33, 17}, {257, 1, 4}, {64, 16, 8}};
    dsi_rng r;
    dsi_rng_seed(&r, 12);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int n = cases[c][0], K = cases[c][1], D = cases[c][2];
        vq_fixture f;
        vq_make(&f, dsi_vq_defaults(K, D));
        dsi_var *cb = dsi_vq_codebook(&f.vq);
        tu_fill(&r, cb->x, cb->n);
        float *z = malloc(sizeof(float) * n * D), *dmin = malloc(sizeof(float) * n);
        int *idx = malloc(sizeof(int) * n);
        tu_fill(&r, z, (size_t)n * D);
        ck_assert_int_eq(dsi_vq_assign(&f.vq, z, n, idx, dmin), DSN_OK);
        int mism = 0;
        for (int i = 0; i < n; i++) {
            double best = INFINITY, bd_got = 0;
            int bk = -1;
            for (int k = 0; k < K; k++) {
                double s = 0;
                for (int d = 0; d < D; d++) {
                    double df = (double)z[i * D + d] - cb->x[k * D + d];
                    s += df * df;
                }
                if (s < best) { best = s; bk = k; }
                if (k == idx[i]) bd_got = s;
            }
            if (bk != idx[i]) {
                mism++;
                /* only a float near-tie may differ */
                ck_assert_double_le(bd_got - best, 1e-5 * (1 + best));
            }
            ck_assert_close(dmin[i], bd_got, 1e-4 * (1 + bd_got));
            ck_assert_float_ge(dmin[i], 0.0f);
        }
        ck_assert_int_le(mism, n / 100);
        /* the tape op gives the same assignment */
        dsi_tape t;
        dsi_tape_init(&t);
        int sh[3] = {1, n, D};
        dsi_vq_result res;
        ck_assert_int_eq(dsi_vq_quantize(&t, &f.vq, dsi_tape_wrap(&t, z, 3, sh), DSI_VQ_ROWS, DSI_RED_MEAN, 0, NULL, &res), DSN_OK);
        ck_assert_int_eq(memcmp(res.idx, idx, sizeof(int) * n), 0);
        for (int i = 0; i < n; i++)
            ck_assert_int_eq(memcmp(res.z_q->x + (size_t)i * D, cb->x + (size_t)idx[i] * D, sizeof(float) * D), 0);
        dsi_tape_release(&t);
        free(z); free(dmin); free(idx);
        vq_free(&f);
    }
}
END_TEST

START_TEST(vq_identical_vectors_zero_distance)
{
    vq_fixture f;
    vq_make(&f, dsi_vq_defaults(9, 5));
    dsi_var *cb = dsi_vq_codebook(&f.vq);
    for (size_t i = 0; i < cb->n; i++) cb->x[i] = 1000.0f + (float)i * 0.37f; /* large norms: cancellation */
    int idx[9];
    float dmin[9];
    ck_assert_int_eq(dsi_vq_assign(&f.vq, cb->x, 9, idx, dmin), DSN_OK);
    for (int k = 0; k < 9; k++) {
        ck_assert(isfinite(dmin[k]));
        ck_assert_float_ge(dmin[k], 0.0f);
        ck_assert_int_eq(idx[k], k);
    }
    /* a codebook of identical codes: ties go to the lowest index, distance 0 */
    for (size_t i = 0; i < cb->n; i++) cb->x[i] = 0.25f;
    ck_assert_int_eq(dsi_vq_assign(&f.vq, cb->x, 9, idx, dmin), DSN_OK);
    for (int k = 0; k < 9; k++) {
        ck_assert_int_eq(idx[k], 0);
        ck_assert_float_eq(dmin[k], 0.0f);
    }
    vq_free(&f);
}
END_TEST

START_TEST(vq_straight_through_equals_decoder_gradient)
{
    for (int layout = 0; layout < 2; layout++) {
        vq_fixture f;
        vq_make(&f, dsi_vq_defaults(16, 3));
        int shr[2] = {30, 3}, shc[4] = {2, 3, 5, 3};
        int *sh = layout ? shc : shr, nd = layout ? 4 : 2;
        float z[90], g[90] = {0}, seed[90];
        dsi_rng r;
        dsi_rng_seed(&r, 3);
        tu_fill(&r, z, 90);
        tu_fill(&r, seed, 90);
        dsi_var ze = mkvar(z, g, nd, sh);
        dsi_tape t;
        dsi_tape_init(&t);
        dsi_vq_result res;
        ck_assert_int_eq(dsi_vq_quantize(&t, &f.vq, &ze, layout, DSI_RED_MEAN, 0, NULL, &res), DSN_OK);
        ck_assert_int_eq(res.n, 30);
        /* decoder gradient at z_q = seed; z_e receives exactly the same */
        ck_assert_int_eq(dsi_tape_backward_seed(&t, res.z_q, seed), DSN_OK);
        ck_assert_int_eq(memcmp(g, seed, sizeof g), 0);
        /* NCHW: z_q holds e_k at the right places */
        dsi_var *cb = dsi_vq_codebook(&f.vq);
        for (int i = 0; i < 30; i++)
            for (int d = 0; d < 3; d++) {
                size_t o = layout ? ((size_t)(i / 15) * 3 + d) * 15 + i % 15 : (size_t)i * 3 + d;
                ck_assert_float_eq(res.z_q->x[o], cb->x[res.idx[i] * 3 + d]);
                ck_assert_float_eq(res.rows[i * 3 + d], z[o]);
            }
        dsi_tape_release(&t);
        vq_free(&f);
    }
}
END_TEST

typedef struct { vq_fixture *f; int layout; dsi_reduction red; } vqg_ctx;

static dsi_var *f_vq_loss(dsi_tape *t, dsi_var **in, void *ctx)
{
    vqg_ctx *c = ctx;
    /* point the codebook parameter at the checker's input (test-only) */
    dsi_var *cb = &c->f->ps.list[c->f->vq.param].var;
    cb->x = in[1]->x;
    cb->g = in[1]->g;
    dsi_vq_result res;
    if (dsi_vq_quantize(t, &c->f->vq, in[0], c->layout, c->red, 0, NULL, &res) != DSN_OK) return NULL;
    return res.loss;
}

START_TEST(grad_vq_losses)
{
    /* codes well apart and inputs near them, so a finite-difference step
     * never changes an assignment */
    enum { K = 5, D = 3, N = 12 };
    float codes[K * D], z[N * D];
    dsi_rng r;
    dsi_rng_seed(&r, 21);
    for (int k = 0; k < K; k++)
        for (int d = 0; d < D; d++) codes[k * D + d] = (float)((k * 7 + d * 3) % 11) - 5.0f;
    for (int i = 0; i < N; i++)
        for (int d = 0; d < D; d++) z[i * D + d] = codes[(i % K) * D + d] + 0.3f * (2 * dsi_rng_uniform(&r) - 1);
    /* The loss value is (cbw + beta) ||z - e||^2 but each side only gets its
     * own term's gradient (stop-gradients), so each term is checked alone:
     * beta = 0 isolates the codebook loss (z_e gets none), EMA mode the
     * commitment loss (the codebook gets none). Plain and cosine codes. */
    for (int mode = 0; mode < 4; mode++)
        for (int red = 0; red < 3; red++)
            for (int layout = 0; layout < 2; layout++) {
                dsi_vq_config cfg = dsi_vq_defaults(K, D);
                int ema = mode & 1;
                cfg.ema = ema;
                cfg.beta = ema ? 0.25f : 0.0f;
                cfg.cosine = mode >= 2;
                vq_fixture f;
                vq_make(&f, cfg);
                gc_input in[2] = {{2, {N, D}, .values = z}, {2, {K, D}, .values = codes}};
                in[ema ? 1 : 0].no_grad = 1;
                if (layout) {
                    in[0].nd = 4;
                    in[0].shape[0] = 2; in[0].shape[1] = D; in[0].shape[2] = 3; in[0].shape[3] = 2;
                }
                vqg_ctx c = {&f, layout, (dsi_reduction)red};
                ck_assert_int_eq(gc_check("vq_loss", f_vq_loss, &c, 2, in, NULL), 0);
                vq_free(&f);
            }
}
END_TEST

START_TEST(vq_cosine_unit_codes)
{
    dsi_vq_config cfg = dsi_vq_defaults(8, 4);
    cfg.cosine = 1;
    vq_fixture f;
    vq_make(&f, cfg);
    float z[40], g[40] = {0}, seed[40];
    dsi_rng r;
    dsi_rng_seed(&r, 5);
    tu_fill(&r, z, 40);
    tu_fill(&r, seed, 40);
    z[0] = z[1] = z[2] = z[3] = 0.0f; /* a zero vector must not give NaN */
    int sh[2] = {10, 4};
    dsi_var ze = mkvar(z, g, 2, sh);
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_vq_result res;
    ck_assert_int_eq(dsi_vq_quantize(&t, &f.vq, &ze, DSI_VQ_ROWS, DSI_RED_MEAN, 1, NULL, &res), DSN_OK);
    for (int i = 0; i < 10; i++) {
        double s = 0;
        for (int d = 0; d < 4; d++) s += res.z_q->x[i * 4 + d] * res.z_q->x[i * 4 + d];
        ck_assert_close(s, 1.0, 1e-5);
    }
    ck_assert(isfinite(res.loss->x[0]));
    ck_assert_int_eq(dsi_tape_backward_seed(&t, res.z_q, seed), DSN_OK);
    ck_assert(all_finite(g, 40));
    /* the straight-through gradient is the decoder gradient projected off z */
    for (int i = 1; i < 10; i++) {
        double dot = 0;
        for (int d = 0; d < 4; d++) dot += g[i * 4 + d] * z[i * 4 + d];
        ck_assert_close(dot, 0.0, 1e-5);
    }
    /* EMA in cosine mode keeps unit codes */
    ck_assert_int_eq(dsi_vq_ema_update(&f.vq, res.rows, res.idx, res.n), DSN_OK);
    dsi_var *cb = dsi_vq_codebook(&f.vq);
    for (int k = 0; k < 8; k++) {
        double s = 0;
        for (int d = 0; d < 4; d++) s += cb->x[k * 4 + d] * cb->x[k * 4 + d];
        ck_assert_close(s, 1.0, 1e-5);
    }
    dsi_tape_release(&t);
    vq_free(&f);
}
END_TEST

START_TEST(vq_row_mask_leaves_padding_out)
{
    /* the same 6 vectors with 2 of them masked give the loss, gradient, EMA
     * rows and statistics of the 4 valid vectors alone */
    dsi_vq_config cfg = dsi_vq_defaults(5, 3);
    cfg.beta = 0.5f;
    vq_fixture f, f2;
    vq_make(&f, cfg);
    vq_make(&f2, cfg);
    dsi_rng r;
    dsi_rng_seed(&r, 44);
    tu_fill(&r, dsi_vq_codebook(&f.vq)->x, 15);
    memcpy(dsi_vq_codebook(&f2.vq)->x, dsi_vq_codebook(&f.vq)->x, sizeof(float) * 15);
    float z[18], g[18] = {0}, z4[12], g4[12] = {0};
    tu_fill(&r, z, 18);
    const float mask[6] = {1, 0, 1, 1, 0, 1};
    for (int i = 0, q = 0; i < 6; i++)
        if (mask[i]) memcpy(z4 + 3 * q++, z + 3 * i, sizeof(float) * 3);
    int sh[2] = {6, 3}, sh4[2] = {4, 3};
    dsi_var ze = mkvar(z, g, 2, sh), ze4 = mkvar(z4, g4, 2, sh4);
    dsi_tape t, t4;
    dsi_tape_init(&t);
    dsi_tape_init(&t4);
    dsi_vq_result res, res4;
    ck_assert_int_eq(dsi_vq_quantize(&t, &f.vq, &ze, DSI_VQ_ROWS, DSI_RED_MEAN, 1, mask, &res), DSN_OK);
    ck_assert_int_eq(dsi_vq_quantize(&t4, &f2.vq, &ze4, DSI_VQ_ROWS, DSI_RED_MEAN, 1, NULL, &res4), DSN_OK);
    ck_assert_float_eq_tol(res.loss->x[0], res4.loss->x[0], 1e-6f);
    ck_assert_int_eq(res.n, 4);
    ck_assert_mem_eq(res.idx, res4.idx, sizeof(int) * 4);
    ck_assert_mem_eq(res.rows, res4.rows, sizeof(float) * 12);
    ck_assert_int_eq(dsi_tape_backward(&t, res.loss), DSN_OK);
    ck_assert_int_eq(dsi_tape_backward(&t4, res4.loss), DSN_OK);
    for (int i = 0, q = 0; i < 6; i++)
        for (int d = 0; d < 3; d++) {
            if (mask[i]) ck_assert_float_eq_tol(g[3 * i + d], g4[3 * q + d], 1e-6f);
            else ck_assert_float_eq(g[3 * i + d], 0.0f);
            q += mask[i] && d == 2;
        }
    dsi_vq_stats a, b;
    dsi_vq_stats_get(&f.vq, &a);
    dsi_vq_stats_get(&f2.vq, &b);
    ck_assert_float_eq_tol(a.perplexity, b.perplexity, 1e-9);
    ck_assert_float_eq_tol(a.used_frac, b.used_frac, 1e-9);
    /* every row masked: no loss, nothing tracked */
    const float none[6] = {0};
    dsi_tape_reset(&t);
    ck_assert_int_eq(dsi_vq_quantize(&t, &f.vq, &ze, DSI_VQ_ROWS, DSI_RED_MEAN, 1, none, &res), DSN_OK);
    ck_assert_float_eq(res.loss->x[0], 0.0f);
    ck_assert_int_eq(res.n, 0);
    dsi_tape_release(&t);
    dsi_tape_release(&t4);
    vq_free(&f);
    vq_free(&f2);
}
END_TEST

START_TEST(vq_ema_decay_zero_gives_batch_means)
{
    for (int e = 0; e < 2; e++) {
        dsi_vq_config cfg = dsi_vq_defaults(6, 4);
        cfg.ema = 1;
        cfg.decay = 0.0f;
        cfg.eps = e ? 1e-5f : 0.0f;
        vq_fixture f;
        vq_make(&f, cfg);
        dsi_var *cb = dsi_vq_codebook(&f.vq);
        dsi_rng r;
        dsi_rng_seed(&r, 31);
        tu_fill(&r, cb->x, cb->n);
        enum { N = 200 };
        float z[N * 4];
        tu_fill(&r, z, N * 4);
        dsi_tape t;
        dsi_tape_init(&t);
        int sh[2] = {N, 4};
        dsi_vq_result res;
        ck_assert_int_eq(dsi_vq_quantize(&t, &f.vq, dsi_tape_wrap(&t, z, 2, sh), DSI_VQ_ROWS, DSI_RED_MEAN, 1, NULL, &res), DSN_OK);
        double mean[6][4] = {{0}}, cnt[6] = {0};
        for (int i = 0; i < N; i++) {
            cnt[res.idx[i]]++;
            for (int d = 0; d < 4; d++) mean[res.idx[i]][d] += z[i * 4 + d];
        }
        ck_assert_int_eq(dsi_vq_ema_update(&f.vq, res.rows, res.idx, res.n), DSN_OK);
        int used = 0;
        for (int k = 0; k < 6; k++) {
            if (cnt[k] == 0) continue;
            used++;
            for (int d = 0; d < 4; d++) ck_assert_close(cb->x[k * 4 + d], mean[k][d] / cnt[k], e ? 1e-5 : 1e-6);
        }
        ck_assert_int_ge(used, 3);
        dsi_tape_release(&t);
        vq_free(&f);
    }
    /* with decay g the count moves by (1-g) toward the batch count */
    dsi_vq_config cfg = dsi_vq_defaults(2, 1);
    cfg.ema = 1;
    vq_fixture f;
    vq_make(&f, cfg);
    float z[3] = {1, 1, 1};
    int idx[3] = {0, 0, 0};
    ck_assert_int_eq(dsi_vq_ema_update(&f.vq, z, idx, 3), DSN_OK);
    ck_assert_close(f.vq.ema_count[0], 0.99 + 0.01 * 3, 1e-6);
    ck_assert_close(f.vq.ema_count[1], 0.99, 1e-6);
    vq_free(&f);
}
END_TEST

START_TEST(vq_dead_codes_restart_and_stats)
{
    dsi_vq_config cfg = dsi_vq_defaults(8, 2);
    cfg.dead_after = 2;
    vq_fixture f;
    vq_make(&f, cfg);
    dsi_var *cb = dsi_vq_codebook(&f.vq);
    /* four codes near the data, four far away */
    for (int k = 0; k < 8; k++) {
        cb->x[k * 2] = k < 4 ? (float)k : 1000.0f + k;
        cb->x[k * 2 + 1] = k < 4 ? 0.0f : -1000.0f;
    }
    enum { N = 64 };
    float z[N * 2];
    dsi_rng r;
    dsi_rng_seed(&r, 2);
    for (int i = 0; i < N; i++) { z[i * 2] = 3.0f * dsi_rng_uniform(&r); z[i * 2 + 1] = 0.2f * (dsi_rng_uniform(&r) - 0.5f); }
    int sh[2] = {N, 2};
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_vq_result res;
    dsi_vq_stats st;
    for (int s = 0; s < 2; s++) {
        dsi_tape_reset(&t);
        ck_assert_int_eq(dsi_vq_quantize(&t, &f.vq, dsi_tape_wrap(&t, z, 2, sh), DSI_VQ_ROWS, DSI_RED_MEAN, 1, NULL, &res), DSN_OK);
    }
    dsi_vq_stats_get(&f.vq, &st);
    ck_assert_int_eq(st.dead, 4);
    ck_assert_int_eq(st.used, 4);
    ck_assert_close(st.used_frac, 0.5, 1e-12);
    ck_assert_close(st.acc_used_frac, 0.5, 1e-12);
    ck_assert_int_eq(st.steps, 2);
    ck_assert_int_eq(dsi_vq_restart_dead(&f.vq), 4);
    for (int k = 4; k < 8; k++) ck_assert_float_lt(fabsf(cb->x[k * 2 + 1]), 1.0f); /* now from the data */
    dsi_tape_reset(&t);
    ck_assert_int_eq(dsi_vq_quantize(&t, &f.vq, dsi_tape_wrap(&t, z, 2, sh), DSI_VQ_ROWS, DSI_RED_MEAN, 1, NULL, &res), DSN_OK);
    dsi_vq_stats_get(&f.vq, &st);
    ck_assert_int_eq(st.used, 8);
    ck_assert_int_eq(st.dead, 0);
    ck_assert_int_eq(st.restarts, 4);
    ck_assert_int_eq(dsi_vq_restart_dead(&f.vq), 0);
    dsi_tape_release(&t);
    vq_free(&f);
}
END_TEST

START_TEST(vq_perplexity_uniform_is_k)
{
    enum { K = 16, D = 3 };
    vq_fixture f;
    vq_make(&f, dsi_vq_defaults(K, D));
    dsi_var *cb = dsi_vq_codebook(&f.vq);
    float z[3 * K * D];
    for (int i = 0; i < 3 * K; i++) memcpy(z + i * D, cb->x + (i % K) * D, sizeof(float) * D);
    int sh[2] = {3 * K, D};
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_vq_result res;
    ck_assert_int_eq(dsi_vq_quantize(&t, &f.vq, dsi_tape_wrap(&t, z, 2, sh), DSI_VQ_ROWS, DSI_RED_SUM, 1, NULL, &res), DSN_OK);
    dsi_vq_stats st;
    dsi_vq_stats_get(&f.vq, &st);
    ck_assert_close(st.perplexity, K, 1e-9);
    ck_assert_close(st.acc_perplexity, K, 1e-9);
    ck_assert_close(st.used_frac, 1.0, 0);
    ck_assert_close(res.loss->x[0], 0.0, 1e-9);
    /* one code only: perplexity 1 */
    double h[4] = {0, 5, 0, 0};
    ck_assert_close(dsi_vq_perplexity(h, 4), 1.0, 0);
    double u[4] = {2, 2, 2, 2};
    ck_assert_close(dsi_vq_perplexity(u, 4), 4.0, 1e-12);
    dsi_vq_stats_reset(&f.vq);
    dsi_vq_stats_get(&f.vq, &st);
    ck_assert_int_eq(st.acc_used, 0);
    dsi_tape_release(&t);
    vq_free(&f);
}
END_TEST

START_TEST(vq_kmeans_pp_finds_clusters)
{
    enum { K = 8, D = 5, PER = 40, N = K * PER };
    vq_fixture f;
    vq_make(&f, dsi_vq_defaults(K, D));
    float centres[K * D], z[N * D];
    dsi_rng r;
    dsi_rng_seed(&r, 17);
    for (int i = 0; i < K * D; i++) centres[i] = 20.0f * (2 * dsi_rng_uniform(&r) - 1);
    for (int i = 0; i < N; i++)
        for (int d = 0; d < D; d++) z[i * D + d] = centres[(i % K) * D + d] + 0.1f * (2 * dsi_rng_uniform(&r) - 1);
    ck_assert_int_eq(dsi_vq_init_kmeans(&f.vq, z, N, 5), DSN_OK);
    /* every true centre has a code within the noise */
    dsi_var *cb = dsi_vq_codebook(&f.vq);
    for (int c = 0; c < K; c++) {
        double best = INFINITY;
        for (int k = 0; k < K; k++) {
            double s = 0;
            for (int d = 0; d < D; d++) s += pow(centres[c * D + d] - cb->x[k * D + d], 2);
            if (s < best) best = s;
        }
        ck_assert_double_lt(best, 0.05);
    }
    /* fewer vectors than codes still works */
    ck_assert_int_eq(dsi_vq_init_kmeans(&f.vq, z, 3, 2), DSN_OK);
    ck_assert(all_finite(cb->x, cb->n));
    ck_assert_int_eq(dsi_vq_init_kmeans(&f.vq, z, 0, 2), DSN_E_INVALID);
    vq_free(&f);
}
END_TEST

START_TEST(vq_training_step_does_not_allocate)
{
    vq_fixture f;
    vq_make(&f, dsi_vq_defaults(32, 8));
    float z[4 * 8 * 3 * 3], g[4 * 8 * 3 * 3];
    dsi_rng r;
    dsi_rng_seed(&r, 1);
    tu_fill(&r, z, sizeof z / sizeof *z);
    int sh[4] = {4, 8, 3, 3};
    dsi_var ze = mkvar(z, g, 4, sh);
    dsi_tape t;
    dsi_tape_init(&t);
    uint64_t extra = 0;
    for (int step = 0; step < 4; step++) {
        uint64_t before = dsn_allocation_count();
        dsi_tape_reset(&t);
        dsi_params_zero_grad(&f.ps);
        memset(g, 0, sizeof g);
        dsi_vq_result res;
        ck_assert_int_eq(dsi_vq_quantize(&t, &f.vq, &ze, DSI_VQ_NCHW, DSI_RED_MEAN, 1, NULL, &res), DSN_OK);
        ck_assert_int_eq(dsi_tape_backward(&t, res.loss), DSN_OK);
        ck_assert_int_eq(dsi_vq_ema_update(&f.vq, res.rows, res.idx, res.n), DSN_OK);
        dsi_vq_restart_dead(&f.vq);
        if (step > 0) extra += dsn_allocation_count() - before;
    }
    ck_assert_uint_eq(extra, 0);
    ck_assert(dsi_params_grad_norm(&f.ps) > 0); /* the codebook loss reached the codebook */
    dsi_tape_release(&t);
    vq_free(&f);
}
END_TEST

START_TEST(vq_errors)
{
    vq_fixture f;
    vq_make(&f, dsi_vq_defaults(4, 3));
    float z[8] = {0};
    int sh[2] = {2, 4};
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_vq_result res;
    ck_assert_int_eq(dsi_vq_quantize(&t, &f.vq, dsi_tape_wrap(&t, z, 2, sh), DSI_VQ_ROWS, DSI_RED_MEAN, 0, NULL, &res), DSN_E_SHAPE);
    ck_assert_ptr_null(res.z_q);
    dsi_tape_reset(&t);
    ck_assert_int_ne(dsi_vq_quantize(&t, &f.vq, NULL, DSI_VQ_ROWS, DSI_RED_MEAN, 0, NULL, &res), DSN_OK);
    dsi_tape_release(&t);
    dsi_vq_config bad = dsi_vq_defaults(0, 3);
    dsi_vq v2;
    dsi_params ps;
    dsi_params_init(&ps);
    ck_assert_int_eq(dsi_vq_init(&v2, &bad, &ps, "c", 0), DSN_E_INVALID);
    dsi_params_release(&ps);
    vq_free(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("latent");
    TCase *tc = tcase_create("gauss");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, grad_gauss_sample);
    tcase_add_test(tc, sample_moments_and_mean_mode);
    tcase_add_test(tc, sample_shard_noise);
    tcase_add_test(tc, grad_kl_std_normal_each_reduction);
    tcase_add_test(tc, kl_std_normal_matches_naive);
    tcase_add_test(tc, grad_kl_gauss_sides_masks_partners);
    tcase_add_test(tc, kl_gauss_fixed_side_gets_no_gradient);
    tcase_add_test(tc, kl_closed_form_cases);
    tcase_add_test(tc, grad_log_density_and_value);
    tcase_add_test(tc, grad_split_and_clamp);
    tcase_add_test(tc, grad_pog_any_group_sizes);
    tcase_add_test(tc, pog_matches_naive_and_closed_forms);
    tcase_add_test(tc, pog_gradient_reaches_every_member);
    tcase_add_test(tc, extreme_logvars_stay_finite);
    tcase_add_test(tc, all_masked_and_nan_inputs);
    suite_add_tcase(s, tc);
    TCase *tv = tcase_create("vq");
    tcase_set_timeout(tv, 120);
    tcase_add_test(tv, vq_assign_equals_brute_force);
    tcase_add_test(tv, vq_identical_vectors_zero_distance);
    tcase_add_test(tv, vq_straight_through_equals_decoder_gradient);
    tcase_add_test(tv, grad_vq_losses);
    tcase_add_test(tv, vq_cosine_unit_codes);
    tcase_add_test(tv, vq_ema_decay_zero_gives_batch_means);
    tcase_add_test(tv, vq_dead_codes_restart_and_stats);
    tcase_add_test(tv, vq_perplexity_uniform_is_k);
    tcase_add_test(tv, vq_kmeans_pp_finds_clusters);
    tcase_add_test(tv, vq_training_step_does_not_allocate);
    tcase_add_test(tv, vq_errors);
    tcase_add_test(tv, vq_row_mask_leaves_padding_out);
    suite_add_tcase(s, tv);
    return tu_run(s) ? 1 : 0;
}
