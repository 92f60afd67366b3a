/* test_nn.c - the layers of lib/nn: finite-difference gradient checks of
 * every layer with respect to its input and every parameter, forward values
 * against direct computations, parameter names and shapes, deterministic
 * initialisation, bad sizes and shapes, and no allocation after the first
 * step. */
#include "autodiff/logvar.h"
#include "nn/conv.h"
#include "nn/embedding.h"
#include "nn/film.h"
#include "nn/heads.h"
#include "nn/linear.h"
#include "nn/lstm.h"
#include "nn/mlp.h"
#include "nn/pixelcnn.h"
#include "nn/residual.h"
#include "support/gradcheck.h"
#include "support/testutil.h"

#include <stdlib.h>
#include <string.h>

/* ---- a gradient check of a layer: inputs are x and the flat parameter buffer ---- */

typedef dsi_var *(*layer_fn)(dsi_tape *t, dsi_params *ps, dsi_var *x, void *ctx);

typedef struct layer_check {
    dsi_params *ps;
    layer_fn f;
    void *ctx;
} layer_check;

/* Point every parameter var into in[1] (the checker's copy of the flat
 * buffer), so perturbing in[1] perturbs the layer and its gradient lands there. */
static dsi_var *gc_layer(dsi_tape *t, dsi_var **in, void *c)
{
    layer_check *lc = c;
    for (int i = 0; i < lc->ps->count; i++) {
        dsi_param *p = &lc->ps->list[i];
        p->var.x = in[1]->x + p->offset;
        p->var.g = in[1]->g ? in[1]->g + p->offset : NULL;
    }
    return lc->f(t, lc->ps, in[0], lc->ctx);
}

/* x of shape xs (nd dims) uniform in [-1, 1], or the given values xv;
 * parameters at their initial values (ps finalised and initialised).
 * Returns the number of mismatches. */
static int check_layer_at(const char *name, dsi_params *ps, layer_fn f, void *ctx, int nd, const int *xs,
                          const float *xv)
{
    layer_check lc = {ps, f, ctx};
    gc_input in[2];
    memset(in, 0, sizeof in);
    in[0].nd = nd;
    memcpy(in[0].shape, xs, sizeof(int) * (size_t)nd);
    in[0].values = xv;
    in[1].nd = 1;
    in[1].shape[0] = (int)ps->n;
    float *keep = malloc(sizeof(float) * ps->n);
    memcpy(keep, ps->data, sizeof(float) * ps->n);
    in[1].values = keep;
    int bad = gc_check(name, gc_layer, &lc, 2, in, NULL);
    /* point the vars back at the parameter store */
    for (int i = 0; i < ps->count; i++) {
        dsi_param *p = &ps->list[i];
        p->var.x = ps->data + p->offset;
        p->var.g = ps->grad + p->offset;
    }
    free(keep);
    return bad;
}

static int check_layer(const char *name, dsi_params *ps, layer_fn f, void *ctx, int nd, const int *xs)
{
    return check_layer_at(name, ps, f, ctx, nd, xs, NULL);
}

static void setup(dsi_params *ps, int *g)
{
    dsi_params_init(ps);
    *g = dsi_params_group(ps, "g");
    ck_assert_int_ge(*g, 0);
}

static void finish(dsi_params *ps, dsi_rng *r, uint64_t seed)
{
    ck_assert_int_eq(dsi_params_finalize(ps), DSN_OK);
    dsi_rng_seed(r, seed);
}

static const float *pv(dsi_params *ps, const char *name)
{
    int i = dsi_params_find(ps, name);
    ck_assert_msg(i >= 0, "no parameter %s", name);
    return ps->list[i].var.x;
}

static int pshape(dsi_params *ps, const char *name, int d)
{
    int i = dsi_params_find(ps, name);
    ck_assert_msg(i >= 0, "no parameter %s", name);
    return ps->list[i].var.shape[d];
}

/* ---- linear and MLP ---- */

static dsi_var *f_linear(dsi_tape *t, dsi_params *ps, dsi_var *x, void *ctx)
{
    return dsi_linear_layer_forward(t, ctx, ps, x);
}

START_TEST(grad_linear_every_activation_and_init)
{
    const dsi_act acts[] = {DSI_ACT_NONE, DSI_ACT_RELU, DSI_ACT_LEAKY, DSI_ACT_TANH, DSI_ACT_SIGMOID};
    for (int a = 0; a < 5; a++)
        for (int init = DSI_INIT_DEFAULT; init <= DSI_INIT_FANIN; init++) {
            dsi_params ps;
            int g;
            dsi_rng r;
            setup(&ps, &g);
            dsi_linear_layer l;
            ck_assert_int_eq(dsi_linear_layer_add(&l, &ps, "fc", g, 4, 3, acts[a], (dsi_init)init), DSN_OK);
            finish(&ps, &r, 3);
            dsi_linear_layer_init(&l, &ps, &r);
            int xs[3] = {2, 3, 4}; /* leading dims are flattened */
            ck_assert_int_eq(check_layer("linear", &ps, f_linear, &l, 3, xs), 0);
            dsi_params_release(&ps);
        }
}
END_TEST

START_TEST(linear_values_names_and_init)
{
    dsi_params ps;
    int g;
    dsi_rng r;
    setup(&ps, &g);
    dsi_linear_layer a, b;
    ck_assert_int_eq(dsi_linear_layer_add(&a, &ps, "enc.fc", g, 5, 3, DSI_ACT_TANH, DSI_INIT_DEFAULT), DSN_OK);
    ck_assert_int_eq(dsi_linear_layer_add(&b, &ps, "dec.fc", g, 5, 3, DSI_ACT_NONE, DSI_INIT_FANIN), DSN_OK);
    ck_assert_int_eq(pshape(&ps, "enc.fc.w", 0), 5);
    ck_assert_int_eq(pshape(&ps, "enc.fc.w", 1), 3);
    ck_assert_int_eq(pshape(&ps, "enc.fc.b", 0), 3);
    finish(&ps, &r, 9);
    dsi_linear_layer_init(&a, &ps, &r);
    dsi_linear_layer_init(&b, &ps, &r);
    /* Glorot bound with the tanh gain, zero bias; fan-in bound for weights and bias */
    float ga = 5.0f / 3.0f * sqrtf(6.0f / 8.0f), fa = 1.0f / sqrtf(5.0f);
    const float *wa = pv(&ps, "enc.fc.w"), *ba = pv(&ps, "enc.fc.b"), *wb = pv(&ps, "dec.fc.w"), *bb = pv(&ps, "dec.fc.b");
    int bias_nonzero = 0;
    for (int i = 0; i < 15; i++) {
        ck_assert(fabsf(wa[i]) <= ga);
        ck_assert(fabsf(wb[i]) <= fa);
    }
    for (int j = 0; j < 3; j++) {
        ck_assert_float_eq(ba[j], 0.0f);
        ck_assert(fabsf(bb[j]) <= fa);
        bias_nonzero |= bb[j] != 0.0f;
    }
    ck_assert(bias_nonzero);
    /* values: y = tanh(x W + b) */
    float x[2 * 5];
    tu_fill(&r, x, 10);
    int sh[2] = {2, 5};
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_var *y = dsi_linear_layer_forward(&t, &a, &ps, dsi_tape_wrap(&t, x, 2, sh));
    ck_assert_ptr_nonnull(y);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            double s = ba[j];
            for (int k = 0; k < 5; k++) s += x[i * 5 + k] * wa[k * 3 + j];
            ck_assert_close(y->x[i * 3 + j], tanh(s), 1e-5);
        }
    /* wrong input width fails the tape, no crash */
    int bad[2] = {2, 4};
    ck_assert_ptr_null(dsi_linear_layer_forward(&t, &a, &ps, dsi_tape_wrap(&t, x, 2, bad)));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    dsi_tape_release(&t);
    dsi_params_release(&ps);
}
END_TEST

static dsi_var *f_mlp(dsi_tape *t, dsi_params *ps, dsi_var *x, void *ctx) { return dsi_mlp_forward(t, ctx, ps, x); }

START_TEST(grad_mlp)
{
    dsi_params ps;
    int g;
    dsi_rng r;
    setup(&ps, &g);
    dsi_mlp m;
    int sizes[4] = {3, 5, 4, 2};
    ck_assert_int_eq(dsi_mlp_add(&m, &ps, "mlp", g, sizes, 4, DSI_ACT_TANH, DSI_ACT_SIGMOID), DSN_OK);
    ck_assert_int_eq(dsi_mlp_out(&m), 2);
    ck_assert_int_eq(pshape(&ps, "mlp.2.w", 0), 4);
    ck_assert_int_eq(pshape(&ps, "mlp.2.b", 0), 2);
    finish(&ps, &r, 4);
    dsi_mlp_init(&m, &ps, &r);
    int xs[2] = {3, 3};
    ck_assert_int_eq(check_layer("mlp", &ps, f_mlp, &m, 2, xs), 0);
    /* the MLP is its linear layers in a row */
    float x[9];
    tu_fill(&r, x, 9);
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_var *a = dsi_mlp_forward(&t, &m, &ps, dsi_tape_wrap(&t, x, 2, xs)), *b = dsi_tape_wrap(&t, x, 2, xs);
    for (int l = 0; l < 3; l++) b = dsi_linear_layer_forward(&t, &m.layer[l], &ps, b);
    ck_assert_int_eq(memcmp(a->x, b->x, sizeof(float) * a->n), 0);
    dsi_tape_release(&t);
    dsi_params_release(&ps);
}
END_TEST

START_TEST(init_is_deterministic)
{
    float *first = NULL;
    size_t n = 0;
    for (int rep = 0; rep < 2; rep++) {
        dsi_params ps;
        int g;
        dsi_rng r;
        setup(&ps, &g);
        dsi_mlp m;
        dsi_bilstm b;
        dsi_gauss_head h;
        int sizes[3] = {4, 6, 3};
        ck_assert_int_eq(dsi_mlp_add(&m, &ps, "m", g, sizes, 3, DSI_ACT_RELU, DSI_ACT_NONE), DSN_OK);
        ck_assert_int_eq(dsi_bilstm_add(&b, &ps, "b", g, 3, 4, DSI_BI_CONCAT), DSN_OK);
        ck_assert_int_eq(dsi_gauss_head_add(&h, &ps, "h", g, 8, 2), DSN_OK);
        finish(&ps, &r, 77);
        dsi_mlp_init(&m, &ps, &r);
        dsi_bilstm_init(&b, &ps, &r);
        dsi_gauss_head_init(&h, &ps, &r, 0.0f);
        if (!rep) {
            n = ps.n;
            first = malloc(sizeof(float) * n);
            memcpy(first, ps.data, sizeof(float) * n);
        } else {
            ck_assert_uint_eq(ps.n, n);
            ck_assert_int_eq(memcmp(first, ps.data, sizeof(float) * n), 0);
        }
        dsi_params_release(&ps);
    }
    free(first);
}
END_TEST

START_TEST(bad_sizes_and_names)
{
    dsi_params ps;
    int g;
    setup(&ps, &g);
    dsi_linear_layer l;
    dsi_lstm_layer ll;
    dsi_bilstm bl;
    dsi_lstm_stack st;
    dsi_mlp m;
    dsi_gauss_head h;
    dsi_bern_head bh;
    ck_assert_int_eq(dsi_linear_layer_add(&l, &ps, "a", g, 0, 3, DSI_ACT_NONE, DSI_INIT_DEFAULT), DSN_E_INVALID);
    ck_assert_int_eq(dsi_linear_layer_add(&l, &ps, "a", g, 3, 3, DSI_ACT_COUNT_, DSI_INIT_DEFAULT), DSN_E_INVALID);
    ck_assert_int_eq(dsi_linear_layer_add(&l, &ps, "a", g, 3, 3, DSI_ACT_NONE, (dsi_init)7), DSN_E_INVALID);
    ck_assert_int_eq(dsi_linear_layer_add(NULL, &ps, "a", g, 3, 3, DSI_ACT_NONE, DSI_INIT_DEFAULT), DSN_E_INVALID);
    char longname[80];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    ck_assert_int_eq(dsi_linear_layer_add(&l, &ps, longname, g, 3, 3, DSI_ACT_NONE, DSI_INIT_DEFAULT), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "longer than"));
    ck_assert_int_eq(dsi_lstm_layer_add(&ll, &ps, "l", g, 3, 0), DSN_E_INVALID);
    ck_assert_int_eq(dsi_bilstm_add(&bl, &ps, "b", g, 3, 2, (dsi_bi_merge)5), DSN_E_INVALID);
    ck_assert_int_eq(dsi_lstm_stack_add(&st, &ps, "s", g, 3, 2, 0), DSN_E_OPTION);
    ck_assert_int_eq(dsi_lstm_stack_add(&st, &ps, "s", g, 3, 2, DSI_LSTM_MAX_LAYERS + 1), DSN_E_OPTION);
    int sizes[2] = {3, 0};
    ck_assert_int_eq(dsi_mlp_add(&m, &ps, "m", g, sizes, 2, DSI_ACT_NONE, DSI_ACT_NONE), DSN_E_OPTION);
    ck_assert_int_eq(dsi_mlp_add(&m, &ps, "m", g, sizes, 1, DSI_ACT_NONE, DSI_ACT_NONE), DSN_E_OPTION);
    ck_assert_int_eq(dsi_gauss_head_add(&h, &ps, "h", g, 3, 0), DSN_E_INVALID);
    ck_assert_int_eq(dsi_bern_head_add(&bh, &ps, "bh", g, 0, 2), DSN_E_INVALID);
    /* a name used twice */
    ck_assert_int_eq(dsi_linear_layer_add(&l, &ps, "dup", g, 3, 3, DSI_ACT_NONE, DSI_INIT_DEFAULT), DSN_OK);
    ck_assert_int_ne(dsi_linear_layer_add(&l, &ps, "dup", g, 3, 3, DSI_ACT_NONE, DSI_INIT_DEFAULT), DSN_OK);
    dsi_params_release(&ps);
}
END_TEST

/* ---- LSTM ---- */

typedef struct lstm_ctx {
    dsi_lstm_layer *l;
    dsi_bilstm *b;
    dsi_lstm_stack *s;
    const int *len;
    int reverse;
} lstm_ctx;

static dsi_var *f_lstm(dsi_tape *t, dsi_params *ps, dsi_var *x, void *c)
{
    lstm_ctx *k = c;
    if (k->b) return dsi_bilstm_forward(t, k->b, ps, x, k->len);
    if (k->s) return dsi_lstm_stack_forward(t, k->s, ps, x, k->len);
    return dsi_lstm_layer_forward(t, k->l, ps, x, NULL, NULL, k->reverse, k->len);
}

START_TEST(grad_lstm_layers)
{
    const int len[3] = {4, 2, 0};
    for (int kind = 0; kind < 5; kind++)
        for (int use_len = 0; use_len < 2; use_len++) {
            dsi_params ps;
            int g;
            dsi_rng r;
            setup(&ps, &g);
            dsi_lstm_layer l;
            dsi_bilstm b;
            dsi_lstm_stack s;
            lstm_ctx k = {NULL, NULL, NULL, use_len ? len : NULL, 0};
            if (kind < 2) {
                ck_assert_int_eq(dsi_lstm_layer_add(&l, &ps, "l", g, 3, 2), DSN_OK);
                k.l = &l;
                k.reverse = kind;
            } else if (kind < 4) {
                ck_assert_int_eq(dsi_bilstm_add(&b, &ps, "b", g, 3, 2, kind == 2 ? DSI_BI_CONCAT : DSI_BI_MEAN), DSN_OK);
                k.b = &b;
            } else {
                ck_assert_int_eq(dsi_lstm_stack_add(&s, &ps, "s", g, 3, 2, 2), DSN_OK);
                k.s = &s;
            }
            finish(&ps, &r, 5 + (uint64_t)kind);
            if (k.l) dsi_lstm_layer_init(&l, &ps, &r);
            if (k.b) dsi_bilstm_init(&b, &ps, &r);
            if (k.s) dsi_lstm_stack_init(&s, &ps, &r);
            int xs[3] = {3, 4, 3};
            ck_assert_msg(check_layer("lstm", &ps, f_lstm, &k, 3, xs) == 0, "kind %d lengths %d", kind, use_len);
            dsi_params_release(&ps);
        }
}
END_TEST

START_TEST(bilstm_is_two_directions)
{
    dsi_params ps;
    int g;
    dsi_rng r;
    setup(&ps, &g);
    dsi_bilstm cat, mean;
    ck_assert_int_eq(dsi_bilstm_add(&cat, &ps, "cat", g, 3, 2, DSI_BI_CONCAT), DSN_OK);
    ck_assert_int_eq(dsi_bilstm_add(&mean, &ps, "mean", g, 3, 2, DSI_BI_MEAN), DSN_OK);
    ck_assert_int_eq(dsi_bilstm_out(&cat), 4);
    ck_assert_int_eq(dsi_bilstm_out(&mean), 2);
    ck_assert_int_ge(dsi_params_find(&ps, "cat.fw.wx"), 0);
    ck_assert_int_ge(dsi_params_find(&ps, "cat.bw.b"), 0);
    finish(&ps, &r, 8);
    dsi_bilstm_init(&cat, &ps, &r);
    dsi_bilstm_init(&mean, &ps, &r);
    float x[2 * 5 * 3];
    tu_fill(&r, x, 30);
    int xs[3] = {2, 5, 3}, len[2] = {5, 3};
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_var *xv = dsi_tape_wrap(&t, x, 3, xs);
    dsi_var *yc = dsi_bilstm_forward(&t, &cat, &ps, xv, len), *ym = dsi_bilstm_forward(&t, &mean, &ps, xv, len);
    dsi_var *f = dsi_lstm_layer_forward(&t, &cat.fw, &ps, xv, NULL, NULL, 0, len);
    dsi_var *b = dsi_lstm_layer_forward(&t, &cat.bw, &ps, xv, NULL, NULL, 1, len);
    dsi_var *fm = dsi_lstm_layer_forward(&t, &mean.fw, &ps, xv, NULL, NULL, 0, len);
    dsi_var *bm = dsi_lstm_layer_forward(&t, &mean.bw, &ps, xv, NULL, NULL, 1, len);
    ck_assert_ptr_nonnull(yc);
    ck_assert_ptr_nonnull(ym);
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < 2; j++) {
            ck_assert_float_eq(yc->x[i * 4 + j], f->x[i * 2 + j]);
            ck_assert_float_eq(yc->x[i * 4 + 2 + j], b->x[i * 2 + j]);
            ck_assert_close(ym->x[i * 2 + j], 0.5 * (fm->x[i * 2 + j] + bm->x[i * 2 + j]), 1e-7);
        }
    /* frames past a sequence's length are zero in both directions */
    for (int k = 3; k < 5; k++)
        for (int j = 0; j < 4; j++) ck_assert_float_eq(yc->x[(5 + k) * 4 + j], 0.0f);
    dsi_tape_release(&t);
    dsi_params_release(&ps);
}
END_TEST

START_TEST(stack_steps_equal_forward)
{
    dsi_params ps;
    int g;
    dsi_rng r;
    setup(&ps, &g);
    dsi_lstm_stack s;
    ck_assert_int_eq(dsi_lstm_stack_add(&s, &ps, "p", g, 3, 4, 3), DSN_OK);
    ck_assert_int_eq(pshape(&ps, "p.0.wx", 0), 3);
    ck_assert_int_eq(pshape(&ps, "p.2.wx", 0), 4);
    finish(&ps, &r, 11);
    dsi_lstm_stack_init(&s, &ps, &r);
    enum { B = 2, T = 6, I = 3, H = 4 };
    float x[B * T * I];
    tu_fill(&r, x, B * T * I);
    int xs[3] = {B, T, I};
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_var *y = dsi_lstm_stack_forward(&t, &s, &ps, dsi_tape_wrap(&t, x, 3, xs), NULL);
    ck_assert_ptr_nonnull(y);
    dsi_var *h[DSI_LSTM_MAX_LAYERS] = {0}, *c[DSI_LSTM_MAX_LAYERS] = {0};
    for (int k = 0; k < T; k++) {
        dsi_var *xt = dsi_tape_new2(&t, B, I, 0), *out;
        for (int b = 0; b < B; b++) memcpy(xt->x + b * I, x + (b * T + k) * I, sizeof(float) * I);
        ck_assert_int_eq(dsi_lstm_stack_step(&t, &s, &ps, xt, h, c, &out), DSN_OK);
        for (int b = 0; b < B; b++)
            for (int j = 0; j < H; j++) ck_assert_close(out->x[b * H + j], y->x[(b * T + k) * H + j], 1e-5);
    }
    /* a wrong input width fails the step */
    dsi_var *out, *bad = dsi_tape_new2(&t, B, I + 1, 0);
    ck_assert_int_eq(dsi_lstm_stack_step(&t, &s, &ps, bad, h, c, &out), DSN_E_SHAPE);
    ck_assert_ptr_null(out);
    dsi_tape_release(&t);
    dsi_params_release(&ps);
}
END_TEST

START_TEST(lstm_forward_errors)
{
    dsi_params ps;
    int g;
    dsi_rng r;
    setup(&ps, &g);
    dsi_lstm_layer l;
    dsi_bilstm b;
    dsi_lstm_stack st;
    ck_assert_int_eq(dsi_lstm_layer_add(&l, &ps, "l", g, 3, 2), DSN_OK);
    ck_assert_int_eq(dsi_bilstm_add(&b, &ps, "b", g, 3, 2, DSI_BI_CONCAT), DSN_OK);
    ck_assert_int_eq(dsi_lstm_stack_add(&st, &ps, "s", g, 3, 2, 2), DSN_OK);
    finish(&ps, &r, 70);
    dsi_lstm_layer_init(&l, &ps, &r);
    dsi_bilstm_init(&b, &ps, &r);
    dsi_lstm_stack_init(&st, &ps, &r);
    dsi_tape t;
    dsi_tape_init(&t);
    int good[3] = {2, 4, 3}, wide[3] = {2, 4, 5}, too_long[2] = {5, 1};
    dsi_var *x = dsi_tape_zeros(&t, 3, good, 0), *xw = dsi_tape_zeros(&t, 3, wide, 0);
    ck_assert_ptr_null(dsi_lstm_layer_forward(&t, &l, &ps, xw, NULL, NULL, 0, NULL));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    dsi_tape_reset(&t);
    x = dsi_tape_zeros(&t, 3, good, 0);
    ck_assert_ptr_null(dsi_bilstm_forward(&t, &b, &ps, x, too_long));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    dsi_tape_reset(&t);
    ck_assert_ptr_null(dsi_lstm_stack_forward(&t, &st, &ps, NULL, NULL));
    ck_assert_ptr_null(dsi_bilstm_forward(&t, &b, &ps, NULL, NULL));
    dsi_var *h, *c;
    ck_assert_int_ne(dsi_lstm_layer_step(&t, &l, &ps, NULL, NULL, NULL, &h, &c), DSN_OK);
    ck_assert_ptr_null(h);
    dsi_tape_release(&t);
    dsi_params_release(&ps);
}
END_TEST

START_TEST(lengths_from_mask)
{
    const float mask[3 * 4] = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0};
    int len[3];
    dsi_lstm_lengths_from_mask(mask, 3, 4, len);
    ck_assert_int_eq(len[0], 4);
    ck_assert_int_eq(len[1], 2);
    ck_assert_int_eq(len[2], 0);
}
END_TEST

/* ---- heads ---- */

typedef struct head_ctx {
    dsi_gauss_head *g;
    dsi_bern_head *b;
    int probs;
} head_ctx;

static dsi_var *f_head(dsi_tape *t, dsi_params *ps, dsi_var *x, void *c)
{
    head_ctx *k = c;
    if (k->b) return dsi_bern_head_forward(t, k->b, ps, x, k->probs);
    dsi_var *mu, *lv;
    if (dsi_gauss_head_forward(t, k->g, ps, x, &mu, &lv) != DSN_OK) return NULL;
    dsi_var *both[2] = {mu, lv};
    return dsi_concat(t, both, 2, 1);
}

START_TEST(grad_heads)
{
    for (int kind = 0; kind < 3; kind++) {
        dsi_params ps;
        int g;
        dsi_rng r;
        setup(&ps, &g);
        dsi_gauss_head gh;
        dsi_bern_head bh;
        head_ctx k = {NULL, NULL, kind == 2};
        if (kind == 0) {
            ck_assert_int_eq(dsi_gauss_head_add(&gh, &ps, "q", g, 4, 3), DSN_OK);
            k.g = &gh;
        } else {
            ck_assert_int_eq(dsi_bern_head_add(&bh, &ps, "px", g, 4, 3), DSN_OK);
            k.b = &bh;
        }
        finish(&ps, &r, 21);
        if (k.g) dsi_gauss_head_init(&gh, &ps, &r, -0.5f);
        else dsi_bern_head_init(&bh, &ps, &r);
        int xs[2] = {5, 4};
        ck_assert_msg(check_layer("head", &ps, f_head, &k, 2, xs) == 0, "head kind %d", kind);
        dsi_params_release(&ps);
    }
}
END_TEST

START_TEST(gauss_head_one_gemm_and_clamp)
{
    dsi_params ps;
    int g;
    dsi_rng r;
    setup(&ps, &g);
    dsi_gauss_head h;
    ck_assert_int_eq(dsi_gauss_head_add(&h, &ps, "enc.style", g, 5, 3), DSN_OK);
    ck_assert_int_eq(pshape(&ps, "enc.style.w", 1), 6);
    finish(&ps, &r, 1);
    dsi_gauss_head_init(&h, &ps, &r, -1.0f);
    const float *bias = pv(&ps, "enc.style.b");
    for (int j = 0; j < 3; j++) {
        ck_assert_float_eq(bias[j], 0.0f);
        ck_assert_float_eq(bias[3 + j], -1.0f);
    }
    float x[4 * 5];
    tu_fill(&r, x, 20);
    int sh[2] = {4, 5};
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_var *mu, *lv;
    ck_assert_int_eq(dsi_gauss_head_forward(&t, &h, &ps, dsi_tape_wrap(&t, x, 2, sh), &mu, &lv), DSN_OK);
    ck_assert_int_eq(mu->shape[1], 3);
    const float *W = pv(&ps, "enc.style.w");
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) {
            double m = 0, l = -1.0;
            for (int k = 0; k < 5; k++) {
                m += x[i * 5 + k] * W[k * 6 + j];
                l += x[i * 5 + k] * W[k * 6 + 3 + j];
            }
            ck_assert_close(mu->x[i * 3 + j], m, 1e-5);
            ck_assert_close(lv->x[i * 3 + j], l, 1e-5);
        }
    /* the raw output is the unsplit, unclamped linear map */
    dsi_var *raw = dsi_gauss_head_raw(&t, &h, &ps, dsi_tape_wrap(&t, x, 2, sh));
    ck_assert_int_eq(raw->shape[1], 6);
    ck_assert_float_eq(raw->x[3], lv->x[0]);
    /* a huge input clamps the log-variance */
    float big[5] = {1e6f, 1e6f, 1e6f, 1e6f, 1e6f};
    int s1[2] = {1, 5};
    ck_assert_int_eq(dsi_gauss_head_forward(&t, &h, &ps, dsi_tape_wrap(&t, big, 2, s1), &mu, &lv), DSN_OK);
    for (int j = 0; j < 3; j++) ck_assert(lv->x[j] >= DSI_LOGVAR_MIN && lv->x[j] <= DSI_LOGVAR_MAX);
    /* a wrong width fails */
    int s2[2] = {1, 4};
    ck_assert_int_ne(dsi_gauss_head_forward(&t, &h, &ps, dsi_tape_wrap(&t, big, 2, s2), &mu, &lv), DSN_OK);
    ck_assert_ptr_null(mu);
    ck_assert_ptr_null(lv);
    dsi_tape_release(&t);
    dsi_params_release(&ps);
}
END_TEST

START_TEST(bern_head_probs_are_sigmoid_of_logits)
{
    dsi_params ps;
    int g;
    dsi_rng r;
    setup(&ps, &g);
    dsi_bern_head h;
    ck_assert_int_eq(dsi_bern_head_add(&h, &ps, "dec.out", g, 3, 4), DSN_OK);
    finish(&ps, &r, 2);
    dsi_bern_head_init(&h, &ps, &r);
    float x[2 * 3];
    tu_fill(&r, x, 6);
    int sh[2] = {2, 3};
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_var *lg = dsi_bern_head_forward(&t, &h, &ps, dsi_tape_wrap(&t, x, 2, sh), 0);
    dsi_var *p = dsi_bern_head_forward(&t, &h, &ps, dsi_tape_wrap(&t, x, 2, sh), 1);
    for (int i = 0; i < 8; i++) ck_assert_close(p->x[i], 1.0 / (1.0 + exp(-(double)lg->x[i])), 1e-6);
    dsi_tape_release(&t);
    dsi_params_release(&ps);
}
END_TEST

/* ---- convolutions and residual blocks ---- */

typedef struct conv_ctx {
    dsi_conv *c;
    dsi_resblock *r;
    const float *mask;
} conv_ctx;

static dsi_var *f_conv(dsi_tape *t, dsi_params *ps, dsi_var *x, void *c)
{
    conv_ctx *k = c;
    if (k->r) return dsi_resblock_forward(t, k->r, ps, x);
    return k->mask ? dsi_conv_forward_masked(t, k->c, ps, x, k->mask) : dsi_conv_forward(t, k->c, ps, x);
}

START_TEST(grad_conv_every_kind)
{
    /* dims x transposed x (kernel, stride, pad) */
    const int geo[3][3] = {{3, 1, 1}, {4, 2, 1}, {1, 1, 0}};
    for (int dims = 1; dims <= 2; dims++)
        for (int tr = 0; tr < 2; tr++)
            for (int gi = 0; gi < 3; gi++)
                for (int init = DSI_INIT_DEFAULT; init <= DSI_INIT_FANIN; init++) {
                    dsi_params ps;
                    int g;
                    dsi_rng r;
                    setup(&ps, &g);
                    dsi_conv c;
                    dsi_conv_spec sp = {.dims = dims, .in = 2, .out = 3, .kernel = geo[gi][0], .stride = geo[gi][1],
                                        .pad = geo[gi][2], .transposed = tr, .init = (dsi_init)init};
                    ck_assert_int_eq(dsi_conv_add(&c, &ps, "cv", g, sp), DSN_OK);
                    finish(&ps, &r, 30 + (uint64_t)gi);
                    dsi_conv_init(&c, &ps, &r);
                    int xs[4] = {2, 2, 4, 4};
                    if (dims == 1) xs[2] = 5;
                    conv_ctx k = {&c, NULL, NULL};
                    ck_assert_msg(check_layer("conv", &ps, f_conv, &k, 2 + dims, xs) == 0, "dims %d tr %d geo %d init %d",
                                  dims, tr, gi, init);
                    /* the output length helper agrees with the op */
                    dsi_tape t;
                    dsi_tape_init(&t);
                    dsi_var *x = dsi_tape_zeros(&t, 2 + dims, xs, 0), *y = dsi_conv_forward(&t, &c, &ps, x);
                    ck_assert_ptr_nonnull(y);
                    ck_assert_int_eq(y->shape[1], 3);
                    ck_assert_int_eq(y->shape[2], dsi_conv_out_len(&c, xs[2]));
                    if (dims == 2) ck_assert_int_eq(y->shape[3], dsi_conv_out_len(&c, xs[3]));
                    dsi_tape_release(&t);
                    dsi_params_release(&ps);
                }
}
END_TEST

START_TEST(conv_shapes_names_and_init)
{
    dsi_params ps;
    int g;
    dsi_rng r;
    setup(&ps, &g);
    dsi_conv a, b, m;
    ck_assert_int_eq(dsi_conv_add(&a, &ps, "enc.c", g, (dsi_conv_spec){.dims = 2, .in = 3, .out = 5, .kernel = 4}), DSN_OK);
    ck_assert_int_eq(
        dsi_conv_add(&b, &ps, "dec.t", g, (dsi_conv_spec){.dims = 1, .in = 3, .out = 5, .kernel = 4, .transposed = 1}),
        DSN_OK);
    ck_assert_int_eq(dsi_conv_add(&m, &ps, "pc", g, (dsi_conv_spec){.dims = 2, .in = 2, .out = 2, .kernel = 3, .fan_in = 8}),
                     DSN_OK);
    /* PyTorch layouts: conv [out, in, k, k], transposed [in, out, k] */
    ck_assert_int_eq(pshape(&ps, "enc.c.w", 0), 5);
    ck_assert_int_eq(pshape(&ps, "enc.c.w", 1), 3);
    ck_assert_int_eq(pshape(&ps, "enc.c.w", 3), 4);
    ck_assert_int_eq(pshape(&ps, "dec.t.w", 0), 3);
    ck_assert_int_eq(pshape(&ps, "dec.t.w", 1), 5);
    ck_assert_int_eq(ps.list[dsi_params_find(&ps, "dec.t.w")].var.nd, 3);
    ck_assert_int_eq(pshape(&ps, "dec.t.b", 0), 5);
    ck_assert_int_eq(a.s.stride, 1); /* 0 means 1 */
    ck_assert_int_eq(a.s.fan_in, 3 * 16);
    ck_assert_int_eq(b.s.fan_in, 5 * 4);
    ck_assert_int_eq(m.s.fan_in, 8);
    finish(&ps, &r, 12);
    dsi_conv_init(&a, &ps, &r);
    dsi_conv_init(&b, &ps, &r);
    dsi_conv_init(&m, &ps, &r);
    const float *w = pv(&ps, "dec.t.w"), *bb = pv(&ps, "dec.t.b"), *wm = pv(&ps, "pc.w");
    float lim = 1.0f / sqrtf(20.0f), limm = 1.0f / sqrtf(8.0f), mx = 0.0f;
    for (int i = 0; i < 3 * 5 * 4; i++) {
        ck_assert(fabsf(w[i]) <= lim);
        mx = fmaxf(mx, fabsf(w[i]));
    }
    ck_assert(mx > 0.5f * lim);
    for (int i = 0; i < 5; i++) ck_assert(fabsf(bb[i]) <= lim && bb[i] != 0.0f);
    for (int i = 0; i < 2 * 2 * 9; i++) ck_assert(fabsf(wm[i]) <= limm);
    /* bad specs */
    dsi_conv c;
    const dsi_conv_spec bad[] = {{.dims = 3, .in = 1, .out = 1, .kernel = 1},
                                 {.dims = 2, .in = 0, .out = 1, .kernel = 1},
                                 {.dims = 2, .in = 1, .out = 1, .kernel = 0},
                                 {.dims = 2, .in = 1, .out = 1, .kernel = 1, .stride = -1},
                                 {.dims = 2, .in = 1, .out = 1, .kernel = 1, .pad = -1},
                                 {.dims = 2, .in = 1, .out = 1, .kernel = 1, .transposed = 2},
                                 {.dims = 2, .in = 1, .out = 1, .kernel = 1, .init = (dsi_init)9}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq(dsi_conv_add(&c, &ps, "bad", g, bad[i]), DSN_E_INVALID);
    /* a wrong channel count fails the tape */
    dsi_tape t;
    dsi_tape_init(&t);
    int xs[4] = {1, 4, 6, 6};
    ck_assert_ptr_null(dsi_conv_forward(&t, &a, &ps, dsi_tape_zeros(&t, 4, xs, 0)));
    ck_assert_int_ne(t.status, DSN_OK);
    dsi_tape_reset(&t);
    ck_assert_ptr_null(dsi_conv_forward_masked(&t, &a, &ps, dsi_tape_zeros(&t, 4, xs, 0), NULL));
    dsi_tape_release(&t);
    dsi_params_release(&ps);
}
END_TEST

START_TEST(masked_conv_taps_get_no_gradient)
{
    for (int dims = 1; dims <= 2; dims++) {
        dsi_params ps;
        int g;
        dsi_rng r;
        setup(&ps, &g);
        dsi_conv c;
        ck_assert_int_eq(dsi_conv_add(&c, &ps, "pc", g, (dsi_conv_spec){.dims = dims, .in = 2, .out = 3, .kernel = 3, .pad = 1}),
                         DSN_OK);
        finish(&ps, &r, 40);
        dsi_conv_init(&c, &ps, &r);
        /* causal masks: rows above the centre (2-D), taps left of it (1-D) */
        const float m2[9] = {1, 1, 1, 0, 0, 0, 0, 0, 0}, m1[3] = {1, 0, 0};
        const float *mask = dims == 2 ? m2 : m1;
        int xs[4] = {2, 2, 4, 4};
        conv_ctx k = {&c, NULL, mask};
        ck_assert_int_eq(check_layer("masked conv", &ps, f_conv, &k, 2 + dims, xs), 0);
        dsi_tape t;
        dsi_tape_init(&t);
        float x[2 * 2 * 16];
        tu_fill(&r, x, 2 * 2 * 16);
        dsi_params_zero_grad(&ps);
        dsi_var *xv = dsi_tape_wrap(&t, x, 2 + dims, xs);
        dsi_var *y = dsi_conv_forward_masked(&t, &c, &ps, xv, mask);
        ck_assert_int_eq(dsi_tape_backward(&t, dsi_sum(&t, dsi_mul(&t, y, y))), DSN_OK);
        const float *gw = ps.grad + ps.list[c.w].offset;
        int area = dims == 2 ? 9 : 3, open = 0;
        for (int i = 0; i < 3 * 2 * area; i++) {
            if (mask[i % area] == 0.0f) ck_assert_float_eq(gw[i], 0.0f);
            else open += gw[i] != 0.0f;
        }
        ck_assert_int_gt(open, 0);
        /* the masked layer equals the plain op with masked weights */
        float *wm = malloc(sizeof(float) * 3 * 2 * area);
        const float *w = dsi_params_var(&ps, c.w)->x;
        for (int i = 0; i < 3 * 2 * area; i++) wm[i] = w[i] * mask[i % area];
        int ws[4] = {3, 2, 3, 3};
        dsi_var *wv = dsi_tape_wrap(&t, wm, 2 + dims, ws), *bv = dsi_params_var(&ps, c.b);
        dsi_var *ref = dims == 2 ? dsi_conv2d(&t, xv, wv, bv, 1, 1) : dsi_conv1d(&t, xv, wv, bv, 1, 1);
        ck_assert_int_eq(memcmp(ref->x, y->x, sizeof(float) * y->n), 0);
        free(wm);
        dsi_tape_release(&t);
        dsi_params_release(&ps);
    }
}
END_TEST

START_TEST(grad_resblock_and_values)
{
    for (int dims = 1; dims <= 2; dims++) {
        dsi_params ps;
        int g;
        dsi_rng r;
        setup(&ps, &g);
        dsi_resblock rb;
        ck_assert_int_eq(dsi_resblock_add(&rb, &ps, "enc.res0", g, dims, 3, 2, 3), DSN_OK);
        ck_assert_int_eq(pshape(&ps, "enc.res0.a.w", 0), 2);
        ck_assert_int_eq(pshape(&ps, "enc.res0.a.w", 2), 3);
        ck_assert_int_eq(pshape(&ps, "enc.res0.b.w", 0), 3);
        ck_assert_int_eq(pshape(&ps, "enc.res0.b.w", 2), 1);
        finish(&ps, &r, 50);
        dsi_resblock_init(&rb, &ps, &r);
        int xs[4] = {1, 3, 4, 3};
        size_t n = dims == 2 ? 3 * 4 * 3 : 3 * 4;
        float *x = malloc(sizeof(float) * n);
        dsi_tape t;
        dsi_tape_init(&t);
        /* an input whose ReLU inputs (x and conv_a's output) all keep 0.01
         * from the kink: the finite differences (steps of 1e-3) then never
         * cross it */
        int found = 0;
        for (int tries = 0; tries < 2000 && !found; tries++) {
            tu_fill(&r, x, n);
            dsi_tape_reset(&t);
            dsi_var *xv = dsi_tape_wrap(&t, x, 2 + dims, xs);
            dsi_var *pre = dsi_conv_forward(&t, &rb.a, &ps, dsi_relu(&t, xv));
            float lo = 1.0f;
            for (size_t i = 0; i < n; i++) lo = fminf(lo, fabsf(x[i]));
            for (size_t i = 0; i < pre->n; i++) lo = fminf(lo, fabsf(pre->x[i]));
            found = lo > 0.01f;
        }
        ck_assert(found);
        conv_ctx k = {NULL, &rb, NULL};
        ck_assert_int_eq(check_layer_at("resblock", &ps, f_conv, &k, 2 + dims, xs, x), 0);
        /* y = x + b(relu(a(relu x))) */
        dsi_tape_reset(&t);
        dsi_var *xv = dsi_tape_wrap(&t, x, 2 + dims, xs);
        dsi_var *y = dsi_resblock_forward(&t, &rb, &ps, xv);
        dsi_var *ref = dsi_add(&t, xv, dsi_conv_forward(&t, &rb.b, &ps, dsi_relu(&t, dsi_conv_forward(&t, &rb.a, &ps, dsi_relu(&t, xv)))));
        ck_assert_ptr_nonnull(y);
        ck_assert(dsi_same_shape(y, xv));
        ck_assert_int_eq(memcmp(ref->x, y->x, sizeof(float) * n), 0);
        free(x);
        dsi_tape_release(&t);
        ck_assert_int_eq(dsi_resblock_add(&rb, &ps, "even", g, dims, 3, 2, 2), DSN_E_INVALID);
        dsi_params_release(&ps);
    }
}
END_TEST

/* ---- embedding and gated PixelCNN ---- */

static const int emb_idx[5] = {2, 0, 2, 3, 1};

static dsi_var *f_emb(dsi_tape *t, dsi_params *ps, dsi_var *x, void *c)
{
    /* x (a constant here) scales the rows, so the check has an input */
    return dsi_mul(t, dsi_embedding_forward(t, c, ps, emb_idx, 5), x);
}

START_TEST(grad_embedding_and_values)
{
    dsi_params ps;
    int g;
    dsi_rng r;
    setup(&ps, &g);
    dsi_embedding e;
    ck_assert_int_eq(dsi_embedding_add(&e, &ps, "prior.emb", g, 4, 3), DSN_OK);
    ck_assert_int_eq(pshape(&ps, "prior.emb", 0), 4);
    ck_assert_int_eq(dsi_embedding_add(&e, &ps, "bad", g, 0, 3), DSN_E_INVALID);
    finish(&ps, &r, 60);
    dsi_embedding_init(&e, &ps, &r);
    int xs[2] = {5, 3};
    ck_assert_int_eq(check_layer("embedding", &ps, f_emb, &e, 2, xs), 0);
    const float *tab = pv(&ps, "prior.emb");
    for (int i = 0; i < 12; i++) ck_assert(fabsf(tab[i]) <= 1.0f);
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_var *y = dsi_embedding_forward(&t, &e, &ps, emb_idx, 5);
    for (int i = 0; i < 5; i++) ck_assert_int_eq(memcmp(y->x + 3 * i, tab + 3 * emb_idx[i], sizeof(float) * 3), 0);
    const int out_of_range[2] = {1, 4};
    ck_assert_ptr_null(dsi_embedding_forward(&t, &e, &ps, out_of_range, 2));
    ck_assert_int_ne(t.status, DSN_OK);
    dsi_tape_release(&t);
    dsi_params_release(&ps);
}
END_TEST

static dsi_var *f_pcnn(dsi_tape *t, dsi_params *ps, dsi_var *x, void *c) { return dsi_pixelcnn_forward(t, c, ps, x); }

START_TEST(grad_pixelcnn)
{
    for (int layers = 1; layers <= 3; layers += 2) {
        dsi_params ps;
        int g;
        dsi_rng r;
        setup(&ps, &g);
        dsi_pixelcnn p;
        ck_assert_int_eq(dsi_pixelcnn_add(&p, &ps, "prior", g, 2, layers, 3), DSN_OK);
        ck_assert_int_eq(pshape(&ps, "prior.l0.v.w", 0), 4);
        ck_assert_int_eq(pshape(&ps, "prior.l0.vh.w", 1), 4);
        ck_assert_int_eq(pshape(&ps, "prior.l0.o.w", 0), 2);
        finish(&ps, &r, 61);
        dsi_pixelcnn_init(&p, &ps, &r);
        int xs[4] = {2, 2, 3, 4};
        ck_assert_msg(check_layer("pixelcnn", &ps, f_pcnn, &p, 4, xs) == 0, "%d layers", layers);
        dsi_params_release(&ps);
    }
    dsi_params ps;
    int g;
    setup(&ps, &g);
    dsi_pixelcnn p;
    ck_assert_int_eq(dsi_pixelcnn_add(&p, &ps, "a", g, 2, 2, 4), DSN_E_OPTION);
    ck_assert_int_eq(dsi_pixelcnn_add(&p, &ps, "a", g, 2, 0, 3), DSN_E_OPTION);
    ck_assert_int_eq(dsi_pixelcnn_add(&p, &ps, "a", g, 2, 2, DSI_PIXELCNN_MAX_KERNEL + 2), DSN_E_OPTION);
    dsi_params_release(&ps);
}
END_TEST

/* d out[:, :, i, j] / d x: zero at and after (i, j) in raster order, nonzero
 * before it (every earlier position of a 3 x 3 image with 2 layers: no blind spot) */
START_TEST(pixelcnn_is_causal_without_blind_spot)
{
    enum { C = 2, H = 3, W = 3 };
    dsi_params ps;
    int g;
    dsi_rng r;
    setup(&ps, &g);
    dsi_pixelcnn p;
    ck_assert_int_eq(dsi_pixelcnn_add(&p, &ps, "pc", g, C, 2, 3), DSN_OK);
    finish(&ps, &r, 62);
    dsi_pixelcnn_init(&p, &ps, &r);
    float x[C * H * W], gx[C * H * W];
    tu_fill(&r, x, C * H * W);
    int xs[4] = {1, C, H, W};
    for (int pos = 0; pos < H * W; pos++) {
        dsi_tape t;
        dsi_tape_init(&t);
        memset(gx, 0, sizeof gx);
        dsi_var xv = dsi_var_view(x, gx, 4, xs);
        dsi_var *y = dsi_pixelcnn_forward(&t, &p, &ps, &xv);
        ck_assert_ptr_nonnull(y);
        float seed[C * H * W] = {0};
        for (int c = 0; c < C; c++) seed[c * H * W + pos] = 1.0f;
        ck_assert_int_eq(dsi_tape_backward_seed(&t, y, seed), DSN_OK);
        for (int q = 0; q < H * W; q++) {
            double s = 0;
            for (int c = 0; c < C; c++) s += fabs(gx[c * H * W + q]);
            if (q >= pos) ck_assert_msg(s == 0.0, "output %d depends on input %d", pos, q);
            else ck_assert_msg(s > 0.0, "output %d does not see input %d", pos, q);
        }
        dsi_tape_release(&t);
    }
    dsi_params_release(&ps);
}
END_TEST

/* ---- FiLM ---- */

static const float film_c[3 * 2] = {0.5f, -1.0f, 0.25f, 0.8f, -0.3f, 0.1f};

static dsi_var *f_film(dsi_tape *t, dsi_params *ps, dsi_var *x, void *c)
{
    int sc[2] = {3, 2};
    return dsi_film_forward(t, c, ps, x, dsi_tape_wrap(t, film_c, 2, sc));
}

START_TEST(grad_film_and_values)
{
    dsi_params ps;
    int g;
    dsi_rng r;
    setup(&ps, &g);
    dsi_film f;
    ck_assert_int_eq(dsi_film_add(&f, &ps, "dec.film.0", g, 2, 4, 0.1f), DSN_OK);
    ck_assert_int_eq(pshape(&ps, "dec.film.0.w", 1), 8);
    ck_assert_int_eq(dsi_film_add(&f, &ps, "bad", g, 2, 4, 0.0f), DSN_E_INVALID);
    finish(&ps, &r, 80);
    dsi_film_init(&f, &ps, &r);
    /* a large gain in the check so gamma and beta are far from zero */
    float *w = dsi_params_var(&ps, f.w)->x;
    for (int i = 0; i < 16; i++) w[i] *= 10.0f;
    int x2[2] = {3, 4}, x3[3] = {3, 5, 4};
    ck_assert_int_eq(check_layer("film 2-d", &ps, f_film, &f, 2, x2), 0);
    ck_assert_int_eq(check_layer("film 3-d", &ps, f_film, &f, 3, x3), 0);
    /* y = h (1 + gamma) + beta, the same gamma/beta for every frame of an item */
    float h[3 * 5 * 4];
    tu_fill(&r, h, 60);
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_var *y = f_film(&t, &ps, dsi_tape_wrap(&t, h, 3, x3), &f);
    const float *b = dsi_params_var(&ps, f.b)->x;
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 5; k++)
            for (int j = 0; j < 4; j++) {
                double gm = b[j], bt = b[4 + j];
                for (int q = 0; q < 2; q++) {
                    gm += film_c[i * 2 + q] * w[q * 8 + j];
                    bt += film_c[i * 2 + q] * w[q * 8 + 4 + j];
                }
                size_t o = ((size_t)i * 5 + k) * 4 + j;
                ck_assert_close(y->x[o], h[o] * (1.0 + gm) + bt, 1e-5);
            }
    int bad[2] = {2, 4};
    ck_assert_ptr_null(dsi_film_forward(&t, &f, &ps, dsi_tape_zeros(&t, 2, bad, 0), dsi_tape_zeros(&t, 2, x2, 0)));
    ck_assert_int_eq(t.status, DSN_E_SHAPE);
    dsi_tape_release(&t);
    dsi_params_release(&ps);
}
END_TEST

/* ---- no allocation after the first step ---- */

START_TEST(no_allocation_after_first_step)
{
    dsi_params ps;
    int g;
    dsi_rng r;
    setup(&ps, &g);
    dsi_mlp m;
    dsi_bilstm b;
    dsi_lstm_stack s;
    dsi_gauss_head h;
    dsi_bern_head bh;
    int sizes[3] = {3, 5, 4};
    ck_assert_int_eq(dsi_mlp_add(&m, &ps, "m", g, sizes, 3, DSI_ACT_TANH, DSI_ACT_TANH), DSN_OK);
    ck_assert_int_eq(dsi_bilstm_add(&b, &ps, "b", g, 4, 3, DSI_BI_CONCAT), DSN_OK);
    ck_assert_int_eq(dsi_lstm_stack_add(&s, &ps, "s", g, 6, 3, 2), DSN_OK);
    ck_assert_int_eq(dsi_gauss_head_add(&h, &ps, "h", g, 3, 2), DSN_OK);
    ck_assert_int_eq(dsi_bern_head_add(&bh, &ps, "bh", g, 3, 2), DSN_OK);
    dsi_conv down, up;
    dsi_resblock rb;
    ck_assert_int_eq(dsi_conv_add(&down, &ps, "down", g,
                                  (dsi_conv_spec){.dims = 2, .in = 1, .out = 3, .kernel = 4, .stride = 2, .pad = 1}),
                     DSN_OK);
    ck_assert_int_eq(dsi_resblock_add(&rb, &ps, "rb", g, 2, 3, 2, 3), DSN_OK);
    ck_assert_int_eq(dsi_conv_add(&up, &ps, "up", g,
                                  (dsi_conv_spec){.dims = 2, .in = 3, .out = 1, .kernel = 4, .stride = 2, .pad = 1,
                                                  .transposed = 1}),
                     DSN_OK);
    finish(&ps, &r, 6);
    dsi_conv_init(&down, &ps, &r);
    dsi_resblock_init(&rb, &ps, &r);
    dsi_conv_init(&up, &ps, &r);
    dsi_mlp_init(&m, &ps, &r);
    dsi_bilstm_init(&b, &ps, &r);
    dsi_lstm_stack_init(&s, &ps, &r);
    dsi_gauss_head_init(&h, &ps, &r, 0.0f);
    dsi_bern_head_init(&bh, &ps, &r);
    float x[2 * 4 * 3], img[2 * 8 * 8];
    tu_fill(&r, x, 24);
    tu_fill(&r, img, 128);
    int xs[3] = {2, 4, 3}, len[2] = {4, 2}, is[4] = {2, 1, 8, 8};
    dsi_tape t;
    dsi_tape_init(&t);
    uint64_t extra = 0;
    for (int step = 0; step < 3; step++) {
        uint64_t before = dsn_allocation_count();
        dsi_tape_reset(&t);
        dsi_params_zero_grad(&ps);
        dsi_var *y = dsi_mlp_forward(&t, &m, &ps, dsi_tape_wrap(&t, x, 3, xs));
        y = dsi_lstm_stack_forward(&t, &s, &ps, dsi_bilstm_forward(&t, &b, &ps, y, len), len);
        dsi_var *mu, *lv;
        ck_assert_int_eq(dsi_gauss_head_forward(&t, &h, &ps, y, &mu, &lv), DSN_OK);
        dsi_var *parts[3] = {mu, lv, dsi_bern_head_forward(&t, &bh, &ps, y, 1)};
        dsi_var *im = dsi_conv_forward(&t, &down, &ps, dsi_tape_wrap(&t, img, 4, is));
        im = dsi_conv_forward(&t, &up, &ps, dsi_resblock_forward(&t, &rb, &ps, im));
        dsi_var *all = dsi_add(&t, dsi_sum(&t, dsi_concat(&t, parts, 3, 2)), dsi_sum(&t, dsi_mul(&t, im, im)));
        ck_assert_int_eq(dsi_tape_backward(&t, all), DSN_OK);
        if (step > 0) extra += dsn_allocation_count() - before;
    }
    ck_assert_uint_eq(extra, 0);
    ck_assert(dsi_params_grad_norm(&ps) > 0);
    dsi_tape_release(&t);
    dsi_params_release(&ps);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("dense");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, grad_linear_every_activation_and_init);
    tcase_add_test(tc, linear_values_names_and_init);
    tcase_add_test(tc, grad_mlp);
    tcase_add_test(tc, init_is_deterministic);
    tcase_add_test(tc, bad_sizes_and_names);
    suite_add_tcase(s, tc);
    TCase *tl = tcase_create("lstm");
    tcase_set_timeout(tl, 120);
    tcase_add_test(tl, grad_lstm_layers);
    tcase_add_test(tl, bilstm_is_two_directions);
    tcase_add_test(tl, stack_steps_equal_forward);
    tcase_add_test(tl, lengths_from_mask);
    tcase_add_test(tl, lstm_forward_errors);
    suite_add_tcase(s, tl);
    TCase *th = tcase_create("heads");
    tcase_add_test(th, grad_heads);
    tcase_add_test(th, gauss_head_one_gemm_and_clamp);
    tcase_add_test(th, bern_head_probs_are_sigmoid_of_logits);
    tcase_add_test(th, grad_film_and_values);
    tcase_add_test(th, no_allocation_after_first_step);
    suite_add_tcase(s, th);
    TCase *tv = tcase_create("conv");
    tcase_set_timeout(tv, 120);
    tcase_add_test(tv, grad_conv_every_kind);
    tcase_add_test(tv, conv_shapes_names_and_init);
    tcase_add_test(tv, masked_conv_taps_get_no_gradient);
    tcase_add_test(tv, grad_resblock_and_values);
    tcase_add_test(tv, grad_embedding_and_values);
    tcase_add_test(tv, grad_pixelcnn);
    tcase_add_test(tv, pixelcnn_is_causal_without_blind_spot);
    suite_add_tcase(s, tv);
    return tu_run(s) ? 1 : 0;
}
