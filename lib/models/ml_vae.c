/* ml_vae.c - Multi-Level VAE (Bouchacourt & Tomioka 2017).
 *
 * Encoder: MLP x -> h, then two Gaussian heads on h: style q(S_i|x_i) and a
 * per-member content Gaussian. Content of a group is the normalised product
 * of its members' Gaussians (evidence accumulation, gradients reach every
 * member). Decoder: MLP on [C_G(i); S_i] -> likelihood parameters.
 * Objective per batch (groups of the batch, G of them):
 *   L = (1/G) [ sum_i -log p(x_i | C_G(i), S_i) + beta_s sum_i KL(q(S_i)||N(0,I))
 *               + beta sum_G KL(q(C_G)||N(0,I)) ]
 * with one content sample per group broadcast to its members.
 * Options: input_dim (784), hidden (500; ':'-separated list), activation
 * (tanh | relu | leaky | sigmoid), style_dim (10), content_dim (10),
 * likelihood (bernoulli | gaussian), obs_var (gaussian variance, 1),
 * accumulation (product | mean), beta (1: weight of both KL terms),
 * style_beta (default beta: weight of the style KL alone) and a style warm-up:
 * for the first warmup_epochs (0) epochs the style KL weight falls linearly
 * from warmup_style_beta (default style_beta) to style_beta. A heavy early
 * style penalty makes the group's content, whose KL is paid once per group,
 * the cheaper carrier of what members share, before style can learn it. */
#include "latent/gauss.h"
#include "loss/likelihood.h"
#include "models/model.h"
#include "nn/heads.h"
#include "nn/mlp.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

enum { LIK_BERNOULLI = 0, LIK_GAUSSIAN = 1 };

typedef struct ml_vae {
    int input_dim, style_dim, content_dim;
    int hidden[DSI_MLP_MAX_LAYERS], n_hidden;
    int act, likelihood, accumulation;
    float obs_var, beta, style_beta, warmup_style_beta;
    int warmup_epochs;
    dsi_mlp enc, dec;
    dsi_gauss_head style, content;
} ml_vae;

static const dsi_act acts[] = {DSI_ACT_TANH, DSI_ACT_RELU, DSI_ACT_LEAKY, DSI_ACT_SIGMOID};

static dsn_status create(dsn_model *m, dsi_optr *r)
{
    ml_vae *v = dsi_calloc(1, sizeof *v);
    if (!v) return dsi_error(DSN_E_NOMEM, "out of memory");
    m->state = v;
    v->input_dim = 784;
    v->style_dim = 10;
    v->content_dim = 10;
    v->hidden[0] = 500;
    v->n_hidden = 1;
    v->obs_var = 1.0f;
    v->beta = 1.0f;
    static const char *const act_names[] = {"tanh", "relu", "leaky", "sigmoid", NULL};
    static const char *const lik_names[] = {"bernoulli", "gaussian", NULL};
    static const char *const acc_names[] = {"product", "mean", NULL};
    dsi_opt_int(r, "input_dim", &v->input_dim, 1, 1 << 24);
    dsi_opt_ints(r, "hidden", v->hidden, DSI_MLP_MAX_LAYERS - 1, &v->n_hidden, 1, 1 << 16);
    dsi_opt_enum(r, "activation", &v->act, act_names);
    dsi_opt_int(r, "style_dim", &v->style_dim, 1, 4096);
    dsi_opt_int(r, "content_dim", &v->content_dim, 1, 4096);
    dsi_opt_enum(r, "likelihood", &v->likelihood, lik_names);
    dsi_opt_float(r, "obs_var", &v->obs_var, 1e-6, 1e6);
    dsi_opt_enum(r, "accumulation", &v->accumulation, acc_names);
    dsi_opt_float(r, "beta", &v->beta, 0, 1e6);
    v->style_beta = v->beta;
    dsi_opt_float(r, "style_beta", &v->style_beta, 0, 1e6);
    v->warmup_style_beta = v->style_beta;
    dsi_opt_float(r, "warmup_style_beta", &v->warmup_style_beta, 0, 1e6);
    dsi_opt_int(r, "warmup_epochs", &v->warmup_epochs, 0, 1 << 24);
    if (r->status != DSN_OK) return r->status;

    m->obs_nd = 1;
    m->obs_shape[0] = v->input_dim;
    m->obs_size = (size_t)v->input_dim;
    m->n_parts = 2;
    m->parts[0] = (dsi_part_desc){"content", DSI_SCOPE_GROUP, DSI_PART_GAUSSIAN, v->content_dim, 1};
    m->parts[1] = (dsi_part_desc){"style", DSI_SCOPE_ITEM, DSI_PART_GAUSSIAN, v->style_dim, 1};

    int g = dsi_params_group(&m->params, "all");
    int sizes[DSI_MLP_MAX_LAYERS + 1];
    sizes[0] = v->input_dim;
    for (int i = 0; i < v->n_hidden; i++) sizes[i + 1] = v->hidden[i];
    dsi_act a = acts[v->act];
    dsn_status st = dsi_mlp_add(&v->enc, &m->params, "enc", g, sizes, v->n_hidden + 1, a, a);
    int hlast = v->hidden[v->n_hidden - 1];
    if (st == DSN_OK) st = dsi_gauss_head_add(&v->style, &m->params, "style", g, hlast, v->style_dim);
    if (st == DSN_OK) st = dsi_gauss_head_add(&v->content, &m->params, "content", g, hlast, v->content_dim);
    sizes[0] = v->content_dim + v->style_dim;
    for (int i = 0; i < v->n_hidden; i++) sizes[i + 1] = v->hidden[v->n_hidden - 1 - i];
    sizes[v->n_hidden + 1] = v->input_dim;
    if (st == DSN_OK) st = dsi_mlp_add(&v->dec, &m->params, "dec", g, sizes, v->n_hidden + 2, a, DSI_ACT_NONE);
    return st;
}

static void init_params(dsn_model *m)
{
    ml_vae *v = m->state;
    dsi_mlp_init(&v->enc, &m->params, &m->rng);
    dsi_gauss_head_init(&v->style, &m->params, &m->rng, 0.0f);
    dsi_gauss_head_init(&v->content, &m->params, &m->rng, 0.0f);
    dsi_mlp_init(&v->dec, &m->params, &m->rng);
}

static void destroy(dsn_model *m) { dsi_free(m->state); }

/* Shared encoder pass: style and per-member content Gaussians. */
static dsn_status encode_members(const dsn_model *m, dsi_tape *t, const dsi_input *in, dsi_var **mu_s,
                                 dsi_var **lv_s, dsi_var **mu_c, dsi_var **lv_c)
{
    ml_vae *v = m->state;
    dsi_params *ps = (dsi_params *)&m->params;
    int sx[2] = {(int)in->n, v->input_dim};
    dsi_var *x = dsi_tape_wrap(t, in->x, 2, sx);
    dsi_var *h = dsi_mlp_forward(t, &v->enc, ps, x);
    dsn_status st = dsi_gauss_head_forward(t, &v->style, ps, h, mu_s, lv_s);
    if (st == DSN_OK) st = dsi_gauss_head_forward(t, &v->content, ps, h, mu_c, lv_c);
    return st != DSN_OK ? st : t->status;
}

/* Decoder: likelihood parameters (logits or means) from per-item content and style. */
static dsi_var *decode_vars(const dsn_model *m, dsi_tape *t, dsi_var *c_items, dsi_var *s)
{
    ml_vae *v = m->state;
    dsi_var *cs[2] = {c_items, s};
    dsi_var *z = dsi_concat(t, cs, 2, 1);
    return dsi_mlp_forward(t, &v->dec, (dsi_params *)&m->params, z);
}

static dsn_status loss(dsn_model *m, dsi_tape *t, const dsi_input *in, dsi_var **out, dsi_terms *terms)
{
    ml_vae *v = m->state;
    dsi_var *mu_s, *lv_s, *mu_c, *lv_c, *mu_g, *lv_g;
    dsn_status st = encode_members(m, t, in, &mu_s, &lv_s, &mu_c, &lv_c);
    if (st != DSN_OK) return st;
    int G = (int)in->n_groups;
    st = dsi_pog(t, mu_c, lv_c, in->group, G, v->accumulation ? DSI_POG_MEAN : DSI_POG_PRODUCT, &mu_g, &lv_g);
    if (st != DSN_OK) return st;
    dsi_var *c_g = dsi_gauss_sample(t, mu_g, lv_g, &m->rng, 0);
    dsi_var *c_i = dsi_gather_rows(t, c_g, in->group, (int)in->n);
    dsi_var *s_i = dsi_gauss_sample(t, mu_s, lv_s, &m->rng, 0);
    dsi_var *y = decode_vars(m, t, c_i, s_i);
    int sx[2] = {(int)in->n, v->input_dim};
    dsi_var *x = dsi_tape_wrap(t, in->x, 2, sx);
    dsi_var *rec = v->likelihood == LIK_BERNOULLI ? dsi_bernoulli_nll(t, y, x, NULL, DSI_RED_SUM)
                                                  : dsi_gauss_nll(t, y, x, NULL, v->obs_var, NULL, DSI_RED_SUM);
    dsi_var *kl_s = dsi_kl_std_normal(t, mu_s, lv_s, NULL, DSI_RED_SUM);
    dsi_var *kl_c = dsi_kl_std_normal(t, mu_g, lv_g, NULL, DSI_RED_SUM);
    /* total = (rec + beta kl_s + beta kl_c) / G, one node */
    dsi_var *parts[3] = {rec, kl_s, kl_c};
    float sb = v->style_beta;
    if (m->epoch < v->warmup_epochs) {
        float f = (float)m->epoch / (float)v->warmup_epochs;
        sb = v->warmup_style_beta + f * (v->style_beta - v->warmup_style_beta);
    }
    const float w[3] = {1.0f / (float)G, sb / (float)G, v->beta / (float)G};
    dsi_var *total = dsi_loss_sum(t, 3, parts, w);
    if (t->status != DSN_OK || !total) return t->status != DSN_OK ? t->status : DSN_E_INTERNAL;
    dsi_terms_add(terms, "loss", total->x[0]);
    dsi_terms_add(terms, "rec", rec->x[0] / (float)G);
    dsi_terms_add(terms, "kl_style", kl_s->x[0] / (float)G);
    dsi_terms_add(terms, "kl_content", kl_c->x[0] / (float)G);
    *out = total;
    return DSN_OK;
}

static void copy_var(float *dst, const dsi_var *v) { memcpy(dst, v->x, v->n * sizeof(float)); }

static dsn_status encode(const dsn_model *m, dsi_tape *t, const dsi_input *in, dsi_latents *enc)
{
    ml_vae *v = m->state;
    dsi_var *mu_s, *lv_s, *mu_c, *lv_c, *mu_g, *lv_g;
    dsn_status st = encode_members(m, t, in, &mu_s, &lv_s, &mu_c, &lv_c);
    if (st == DSN_OK)
        st = dsi_pog(t, mu_c, lv_c, in->group, (int)in->n_groups, v->accumulation ? DSI_POG_MEAN : DSI_POG_PRODUCT,
                     &mu_g, &lv_g);
    if (st != DSN_OK) return st;
    dsi_part_data *c = &enc->parts[0], *s = &enc->parts[1];
    copy_var(c->mean, mu_g);
    copy_var(c->logvar, lv_g);
    copy_var(c->value, mu_g);
    copy_var(s->mean, mu_s);
    copy_var(s->logvar, lv_s);
    copy_var(s->value, mu_s);
    return DSN_OK;
}

static dsn_status decode(const dsn_model *m, dsi_tape *t, const dsi_latents *enc, float *out)
{
    ml_vae *v = m->state;
    int n = (int)enc->n_items;
    int sc[2] = {(int)enc->n_groups, v->content_dim}, ss[2] = {n, v->style_dim};
    dsi_var *c_g = dsi_tape_wrap(t, enc->parts[0].value, 2, sc);
    dsi_var *c_i = dsi_gather_rows(t, c_g, enc->group_of, n);
    dsi_var *s = dsi_tape_wrap(t, enc->parts[1].value, 2, ss);
    dsi_var *y = decode_vars(m, t, c_i, s);
    if (v->likelihood == LIK_BERNOULLI) y = dsi_sigmoid(t, y);
    if (!y) return t->status != DSN_OK ? t->status : DSN_E_INTERNAL;
    copy_var(out, y);
    return DSN_OK;
}

static dsn_status sample(const dsn_model *m, dsi_tape *t, dsi_latents *enc, int part, dsi_rng *rng)
{
    (void)t;
    dsi_part_data *pd = &enc->parts[part];
    size_t n = pd->rows * (size_t)m->parts[part].dim;
    dsi_rng_fill_normal(rng, pd->value, n, 0.0f, 1.0f);
    memset(pd->mean, 0, n * sizeof(float));
    memset(pd->logvar, 0, n * sizeof(float));
    return DSN_OK;
}

const dsi_model_vt dsi_ml_vae_vt = {
    .name = "ml-vae",
    .create = create,
    .init_params = init_params,
    .destroy = destroy,
    .loss = loss,
    .encode = encode,
    .decode = decode,
    .sample = sample,
    .grouped = 1,
};
