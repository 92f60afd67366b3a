/* test_nn.c - the layers of lib/nn: finite-difference gradient checks of
 * every layer with respect to its input and every parameter, forward values
 * against direct computations, parameter names and shapes, deterministic
 * initialisation, bad sizes and shapes, and no allocation after the first
 * step. */
#include "autodiff/logvar.h"
#include "nn/heads.h"
#include "nn/linear.h"
#include "nn/lstm.h"
#include "nn/mlp.h"
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

/* x of shape xs (nd dims) uniform in [-1, 1]; parameters at their initial
 * values (ps finalised and initialised). Returns the number of mismatches. */
static int check_layer(const char *name, dsi_params *ps, layer_fn f, void *ctx, int nd, const int *xs)
{
    layer_check lc = {ps, f, ctx};
    gc_input in[2];
    memset(in, 0, sizeof in);
    in[0].nd = nd;
    memcpy(in[0].shape, xs, sizeof(int) * (size_t)nd);
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
    finish(&ps, &r, 6);
    dsi_mlp_init(&m, &ps, &r);
    dsi_bilstm_init(&b, &ps, &r);
    dsi_lstm_stack_init(&s, &ps, &r);
    dsi_gauss_head_init(&h, &ps, &r, 0.0f);
    dsi_bern_head_init(&bh, &ps, &r);
    float x[2 * 4 * 3];
    tu_fill(&r, x, 24);
    int xs[3] = {2, 4, 3}, len[2] = {4, 2};
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
        dsi_var *all = dsi_sum(&t, dsi_concat(&t, parts, 3, 2));
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
    suite_add_tcase(s, tl);
    TCase *th = tcase_create("heads");
    tcase_add_test(th, grad_heads);
    tcase_add_test(th, gauss_head_one_gemm_and_clamp);
    tcase_add_test(th, bern_head_probs_are_sigmoid_of_logits);
    tcase_add_test(th, no_allocation_after_first_step);
    suite_add_tcase(s, th);
    return tu_run(s) ? 1 : 0;
}
