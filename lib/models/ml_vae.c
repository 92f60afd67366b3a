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
 * the cheaper carrier of what members share, before style can learn it.
 *
 * Images (option image = HxW or CxHxW; encoder auto picks conv for them):
 * the encoder is L = |channels| convolutions 4x4 stride 2 pad 1 with ReLU
 * (channels 16:32: 28x28 -> 14x14 -> 7x7), flattened, then the MLP `hidden`
 * (256); the decoder mirrors it: MLP to C_L x H/2^L x W/2^L, ReLU, then L
 * transposed convolutions 4x4 stride 2 (ReLU between, none after the last).
 * enc_res_blocks / dec_res_blocks (0): residual blocks of lib/nn (3x3 then
 * 1x1, at the level's channels, ReLU after them) after each encoder
 * convolution / before each transposed convolution of the decoder.
 * An object that moves, scales or rotates in the frame is followed by the
 * convolutions where a fully connected encoder fails (docs/mlvae.md).
 *
 * Keeping the group's factor out of style (group_penalty lambda):
 *   + lambda / G * B,  B = sum_G n_G ||m_G - m||^2,
 * the between-group scatter of the style means (m_G the mean of group G's
 * style means, m of the batch's). Its gradient 2 (m_G - m) moves a group's
 * styles together and leaves their spread within the group alone, so it
 * removes what style shares within a group (the class) and not the style.
 * Batches whose groups have fewer than two members skip it.
 *
 * Keeping the class in content (content_contrast mu, the prototype term):
 *   + mu / G * sum_i -log softmax_g(-||c_i - p_g||^2)[G(i)],
 * c_i member i's content mean, p_g the mean of group g's: each member's
 * content must be nearer its own group's prototype than the other groups'
 * (prototypical networks, Snell et al. 2017, with the batch's groups as the
 * classes). It trains the content encoder directly where the reconstruction
 * alone leaves content unused (docs/mlvae.md). Skipped like the penalty.
 *
 * Decorrelating the style axes (style_decorrelation nu, default 0):
 *   + nu / G * N * sum_{d != e} C_de^2,
 * C the covariance of the batch's N style means (DIP-VAE-I's off-diagonal
 * term, Kumar et al. 2018): pushes the style factors onto separate axes.
 *
 * Defaults: the paper's MLP model (no penalty, no prototypes, style_beta =
 * beta, no warm-up); with image (the conv encoder) the measured image
 * defaults: hidden 256, relu, group_penalty 10, content_contrast (see
 * IMAGE_CONTENT_CONTRAST), style_beta 3 beta, warmup_style_beta 10 beta over
 * warmup_epochs 3. Every default is read after the architecture is known,
 * so a model file records the values used. */
#include "latent/gauss.h"
#include "loss/likelihood.h"
#include "models/model.h"
#include "nn/conv.h"
#include "nn/heads.h"
#include "nn/mlp.h"
#include "nn/residual.h"
#include "core/alloc.h"
#include "core/error.h"

#include <stdio.h>

#include <math.h>
#include <string.h>

enum { LIK_BERNOULLI = 0, LIK_GAUSSIAN = 1 };
enum { ENC_AUTO = 0, ENC_MLP = 1, ENC_CONV = 2 };
#define MAX_CONV 4
#define MAX_RES 4 /* residual blocks per resolution */
/* the image (conv) defaults, measured in docs/mlvae.md; the style KL weights are multiples of beta */
#define IMAGE_CONTENT_CONTRAST 10.0f
#define IMAGE_STYLE_BETA 3.0f
#define IMAGE_WARMUP_STYLE_BETA 10.0f
#define IMAGE_WARMUP_EPOCHS 3

typedef struct ml_vae {
    int input_dim, style_dim, content_dim;
    int hidden[DSI_MLP_MAX_LAYERS], n_hidden;
    int act, likelihood, accumulation;
    float obs_var, beta, style_beta, warmup_style_beta;
    int warmup_epochs;
    int arch, C, H, W, channels[MAX_CONV], n_conv; /* conv: image [C, H, W] */
    float group_penalty, content_contrast, style_decorr;
    int enc_res, dec_res; /* conv: residual blocks after each encoder conv / before each decoder transposed conv */
    dsi_mlp enc, dec;  /* mlp: dec holds the hidden layers, the output layer is out_bern or out_mean */
    dsi_conv ec[MAX_CONV], dc[MAX_CONV]; /* 4x4 stride 2 pad 1 (lib/nn), PyTorch's init */
    dsi_resblock er[MAX_CONV][MAX_RES], dr[MAX_CONV][MAX_RES]; /* 3x3, at the level's channels */
    dsi_gauss_head style, content;
    dsi_bern_head out_bern;    /* mlp, bernoulli: logits */
    dsi_linear_layer out_mean; /* mlp, gaussian: means */
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
    static const char *const arch_names[] = {"auto", "mlp", "conv", NULL};
    /* the architecture first: the defaults below depend on it (and are read,
     * and so recorded in the model's resolved options, with the values used) */
    int image[3] = {0, 0, 0}, n_image = 0;
    dsi_opt_enum(r, "encoder", &v->arch, arch_names);
    dsi_opt_ints(r, "image", image, 3, &n_image, 1, 1 << 14);
    if (r->status != DSN_OK) return r->status;
    if (v->arch == ENC_AUTO) v->arch = n_image ? ENC_CONV : ENC_MLP;
    const int conv = v->arch == ENC_CONV;
    if (conv && n_image < 2)
        return dsi_error(DSN_E_OPTION, "ml-vae: encoder=conv needs image = HxW or CxHxW (e.g. image=28x28)");
    if (!conv && n_image) return dsi_error(DSN_E_OPTION, "ml-vae: image is set but encoder=mlp; drop one of them");
    if (conv) { /* the measured image defaults (docs/mlvae.md) */
        v->C = n_image == 3 ? image[0] : 1;
        v->H = image[n_image - 2];
        v->W = image[n_image - 1];
        v->input_dim = v->C * v->H * v->W;
        v->hidden[0] = 256;
        v->act = 1; /* relu */
        v->group_penalty = 10.0f;
        v->content_contrast = IMAGE_CONTENT_CONTRAST;
    }
    dsi_opt_int(r, "input_dim", &v->input_dim, 1, 1 << 24);
    dsi_opt_ints(r, "hidden", v->hidden, DSI_MLP_MAX_LAYERS - 1, &v->n_hidden, 1, 1 << 16);
    dsi_opt_enum(r, "activation", &v->act, act_names);
    dsi_opt_int(r, "style_dim", &v->style_dim, 1, 4096);
    dsi_opt_int(r, "content_dim", &v->content_dim, 1, 4096);
    dsi_opt_enum(r, "likelihood", &v->likelihood, lik_names);
    dsi_opt_float(r, "obs_var", &v->obs_var, 1e-6, 1e6);
    dsi_opt_enum(r, "accumulation", &v->accumulation, acc_names);
    dsi_opt_float(r, "beta", &v->beta, 0, 1e6);
    v->style_beta = conv ? IMAGE_STYLE_BETA * v->beta : v->beta;
    dsi_opt_float(r, "style_beta", &v->style_beta, 0, 1e6);
    v->warmup_style_beta = conv ? IMAGE_WARMUP_STYLE_BETA * v->beta : v->style_beta;
    if (v->warmup_style_beta < v->style_beta) v->warmup_style_beta = v->style_beta;
    dsi_opt_float(r, "warmup_style_beta", &v->warmup_style_beta, 0, 1e6);
    v->warmup_epochs = conv ? IMAGE_WARMUP_EPOCHS : 0;
    dsi_opt_int(r, "warmup_epochs", &v->warmup_epochs, 0, 1 << 24);
    v->channels[0] = 16;
    v->channels[1] = 32;
    v->n_conv = 2;
    dsi_opt_ints(r, "channels", v->channels, MAX_CONV, &v->n_conv, 1, 4096);
    dsi_opt_float(r, "group_penalty", &v->group_penalty, 0, 1e6);
    dsi_opt_float(r, "content_contrast", &v->content_contrast, 0, 1e6);
    dsi_opt_float(r, "style_decorrelation", &v->style_decorr, 0, 1e6);
    dsi_opt_int(r, "enc_res_blocks", &v->enc_res, 0, MAX_RES);
    dsi_opt_int(r, "dec_res_blocks", &v->dec_res, 0, MAX_RES);
    if (r->status != DSN_OK) return r->status;
    if (!conv && (v->enc_res || v->dec_res))
        return dsi_error(DSN_E_OPTION, "ml-vae: enc_res_blocks / dec_res_blocks need the conv encoder (image=HxW)");
    if (conv) {
        int f = 1 << v->n_conv;
        if (v->H % f || v->W % f)
            return dsi_error(DSN_E_OPTION, "ml-vae: image %dx%d is not divisible by %d (2^%d stride-2 convolutions)",
                             v->H, v->W, f, v->n_conv);
        if (v->input_dim != v->C * v->H * v->W)
            return dsi_error(DSN_E_OPTION, "ml-vae: input_dim %d does not match image %dx%dx%d", v->input_dim, v->C,
                             v->H, v->W);
    }

    m->obs_nd = 1;
    m->obs_shape[0] = v->input_dim;
    m->obs_size = (size_t)v->input_dim;
    m->n_parts = 2;
    m->parts[0] = (dsi_part_desc){"content", DSI_SCOPE_GROUP, DSI_PART_GAUSSIAN, v->content_dim, 1};
    m->parts[1] = (dsi_part_desc){"style", DSI_SCOPE_ITEM, DSI_PART_GAUSSIAN, v->style_dim, 1};

    if (v->arch == ENC_CONV) {
        m->obs_nd = 3;
        m->obs_shape[0] = v->C;
        m->obs_shape[1] = v->H;
        m->obs_shape[2] = v->W;
    }
    int g = dsi_params_group(&m->params, "all");
    int sizes[DSI_MLP_MAX_LAYERS + 1];
    /* conv: the MLPs start (encoder) and end (decoder) at the flattened last feature map */
    int flat = v->input_dim, ok = 1;
    if (v->arch == ENC_CONV) {
        char nm[32];
        int in = v->C;
        for (int l = 0; l < v->n_conv && ok; l++) {
            snprintf(nm, sizeof nm, "enc.conv%d", l);
            dsi_conv_spec sp = {.dims = 2, .in = in, .out = v->channels[l], .kernel = 4, .stride = 2, .pad = 1};
            ok = dsi_conv_add(&v->ec[l], &m->params, nm, g, sp) == DSN_OK;
            in = v->channels[l];
            for (int b = 0; b < v->enc_res && ok; b++) {
                snprintf(nm, sizeof nm, "enc.res%d.%d", l, b);
                ok = dsi_resblock_add(&v->er[l][b], &m->params, nm, g, 2, in, in, 3) == DSN_OK;
            }
        }
        flat = in * (v->H >> v->n_conv) * (v->W >> v->n_conv);
        for (int l = v->n_conv - 1; l >= 0 && ok; l--) {
            snprintf(nm, sizeof nm, "dec.convt%d", l);
            dsi_conv_spec sp = {.dims = 2, .in = v->channels[l], .out = l ? v->channels[l - 1] : v->C, .kernel = 4,
                                .stride = 2, .pad = 1, .transposed = 1};
            ok = dsi_conv_add(&v->dc[l], &m->params, nm, g, sp) == DSN_OK;
            for (int b = 0; b < v->dec_res && ok; b++) {
                snprintf(nm, sizeof nm, "dec.res%d.%d", l, b);
                ok = dsi_resblock_add(&v->dr[l][b], &m->params, nm, g, 2, v->channels[l], v->channels[l], 3) == DSN_OK;
            }
        }
        if (!ok) return dsi_error(DSN_E_NOMEM, "ml-vae: cannot add the convolution parameters");
    }
    sizes[0] = flat;
    for (int i = 0; i < v->n_hidden; i++) sizes[i + 1] = v->hidden[i];
    dsi_act a = acts[v->act];
    dsn_status st = dsi_mlp_add(&v->enc, &m->params, "enc", g, sizes, v->n_hidden + 1, a, a);
    int hlast = v->hidden[v->n_hidden - 1];
    if (st == DSN_OK) st = dsi_gauss_head_add(&v->style, &m->params, "style", g, hlast, v->style_dim);
    if (st == DSN_OK) st = dsi_gauss_head_add(&v->content, &m->params, "content", g, hlast, v->content_dim);
    sizes[0] = v->content_dim + v->style_dim;
    for (int i = 0; i < v->n_hidden; i++) sizes[i + 1] = v->hidden[v->n_hidden - 1 - i];
    sizes[v->n_hidden + 1] = flat;
    if (v->arch == ENC_CONV) {
        if (st == DSN_OK) st = dsi_mlp_add(&v->dec, &m->params, "dec", g, sizes, v->n_hidden + 2, a, DSI_ACT_RELU);
        return st;
    }
    /* the output layer "dec.<n_hidden>" gives the likelihood's parameters */
    char out[16];
    snprintf(out, sizeof out, "dec.%d", v->n_hidden);
    if (st == DSN_OK) st = dsi_mlp_add(&v->dec, &m->params, "dec", g, sizes, v->n_hidden + 1, a, a);
    if (st == DSN_OK && v->likelihood == LIK_BERNOULLI)
        st = dsi_bern_head_add(&v->out_bern, &m->params, out, g, sizes[v->n_hidden], flat);
    else if (st == DSN_OK)
        st = dsi_linear_layer_add(&v->out_mean, &m->params, out, g, sizes[v->n_hidden], flat, DSI_ACT_NONE,
                                  DSI_INIT_GLOROT);
    return st;
}

static void init_params(dsn_model *m)
{
    ml_vae *v = m->state;
    dsi_mlp_init(&v->enc, &m->params, &m->rng);
    dsi_gauss_head_init(&v->style, &m->params, &m->rng, 0.0f);
    dsi_gauss_head_init(&v->content, &m->params, &m->rng, 0.0f);
    dsi_mlp_init(&v->dec, &m->params, &m->rng);
    if (v->arch != ENC_CONV && v->likelihood == LIK_BERNOULLI) dsi_bern_head_init(&v->out_bern, &m->params, &m->rng);
    else if (v->arch != ENC_CONV) dsi_linear_layer_init(&v->out_mean, &m->params, &m->rng);
    if (v->arch == ENC_CONV)
        for (int l = 0; l < v->n_conv; l++) {
            dsi_conv_init(&v->ec[l], &m->params, &m->rng);
            dsi_conv_init(&v->dc[l], &m->params, &m->rng);
        }
    if (v->arch == ENC_CONV) /* after the rest: without blocks the initial weights are as before */
        for (int l = 0; l < v->n_conv; l++) {
            for (int b = 0; b < v->enc_res; b++) dsi_resblock_init(&v->er[l][b], &m->params, &m->rng);
            for (int b = 0; b < v->dec_res; b++) dsi_resblock_init(&v->dr[l][b], &m->params, &m->rng);
        }
}

/* Encoder: conv, ReLU, then the level's residual blocks (ReLU after them).
 * Decoder: the level's residual blocks (ReLU after them), then the
 * transposed conv, ReLU between levels, none after the last. */
static dsi_var *conv_stack(dsi_tape *t, const dsn_model *m, dsi_var *x, int transposed)
{
    const ml_vae *v = m->state;
    dsi_params *ps = (dsi_params *)&m->params;
    const int nres = transposed ? v->dec_res : v->enc_res;
    for (int q = 0; q < v->n_conv; q++) {
        int l = transposed ? v->n_conv - 1 - q : q;
        const dsi_resblock *blocks = transposed ? v->dr[l] : v->er[l];
        if (transposed && nres) {
            for (int b = 0; b < nres; b++) x = dsi_resblock_forward(t, &blocks[b], ps, x);
            x = dsi_relu(t, x);
        }
        x = dsi_conv_forward(t, transposed ? &v->dc[l] : &v->ec[l], ps, x);
        if (!transposed || q + 1 < v->n_conv) x = dsi_relu(t, x);
        if (!transposed && nres) {
            for (int b = 0; b < nres; b++) x = dsi_resblock_forward(t, &blocks[b], ps, x);
            x = dsi_relu(t, x);
        }
    }
    return x;
}

static void destroy(dsn_model *m) { dsi_free(m->state); }

/* Shared encoder pass: style and per-member content Gaussians. */
static dsn_status encode_members(const dsn_model *m, dsi_tape *t, const dsi_input *in, dsi_var **mu_s,
                                 dsi_var **lv_s, dsi_var **mu_c, dsi_var **lv_c)
{
    ml_vae *v = m->state;
    dsi_params *ps = (dsi_params *)&m->params;
    dsi_var *x;
    if (v->arch == ENC_CONV) {
        int sx[4] = {(int)in->n, v->C, v->H, v->W};
        dsi_var *f = conv_stack(t, m, dsi_tape_wrap(t, in->x, 4, sx), 0);
        int sf[2] = {(int)in->n, f ? (int)(f->n / in->n) : 1};
        x = f ? dsi_reshape(t, f, 2, sf) : NULL;
    } else {
        int sx[2] = {(int)in->n, v->input_dim};
        x = dsi_tape_wrap(t, in->x, 2, sx);
    }
    dsi_var *h = dsi_mlp_forward(t, &v->enc, ps, x);
    dsn_status st = dsi_gauss_head_forward(t, &v->style, ps, h, mu_s, lv_s);
    if (st == DSN_OK) st = dsi_gauss_head_forward(t, &v->content, ps, h, mu_c, lv_c);
    return st != DSN_OK ? st : t->status;
}

/* Decoder: likelihood parameters (logits or means) from per-item content and
 * style; probs: Bernoulli probabilities instead of logits. */
static dsi_var *decode_vars(const dsn_model *m, dsi_tape *t, dsi_var *c_items, dsi_var *s, int probs)
{
    ml_vae *v = m->state;
    dsi_params *ps = (dsi_params *)&m->params;
    dsi_var *cs[2] = {c_items, s};
    dsi_var *z = dsi_concat(t, cs, 2, 1);
    dsi_var *y = dsi_mlp_forward(t, &v->dec, ps, z);
    const int bern = v->likelihood == LIK_BERNOULLI;
    if (v->arch != ENC_CONV)
        return bern ? dsi_bern_head_forward(t, &v->out_bern, ps, y, probs) : dsi_linear_layer_forward(t, &v->out_mean, ps, y);
    if (!y) return NULL;
    int n = y->shape[0], sm[4] = {n, v->channels[v->n_conv - 1], v->H >> v->n_conv, v->W >> v->n_conv};
    dsi_var *img = conv_stack(t, m, dsi_reshape(t, y, 4, sm), 1);
    int so[2] = {n, v->input_dim};
    img = img ? dsi_reshape(t, img, 2, so) : NULL;
    return bern && probs ? dsi_sigmoid(t, img) : img;
}

/* lambda / G * sum_G n_G ||m_G - m||^2 over the style means (NULL when a
 * group has fewer than two members) = lambda / G (sum_G ||S_G||^2 / n_G - ||S||^2 / N) */
static dsi_var *group_scatter(dsi_tape *t, const ml_vae *v, const dsi_input *in, dsi_var *mu_s)
{
    int G = (int)in->n_groups, N = (int)in->n, D = v->style_dim;
    if (!in->group || G < 2) return NULL;
    float *w = dsi_tape_scratch(t, sizeof(float) * (size_t)G * (size_t)(D + 1));
    if (!w) return NULL;
    float *cnt = w + (size_t)G * D;
    for (int g = 0; g < G; g++) cnt[g] = 0;
    for (int i = 0; i < N; i++) cnt[in->group[i]] += 1;
    for (int g = 0; g < G; g++) {
        if (cnt[g] < 2) return NULL;
        for (int d = 0; d < D; d++) w[(size_t)g * D + d] = 1.0f / cnt[g];
    }
    dsi_var *sg = dsi_scatter_add_rows(t, mu_s, in->group, G);
    dsi_var *between = dsi_weighted_sum(t, dsi_mul(t, sg, sg), w);
    dsi_var *tot = dsi_sum_axis(t, mu_s, 0, 0);
    dsi_var *all = dsi_sum(t, dsi_mul(t, tot, tot));
    dsi_var *parts[2] = {between, all};
    const float c[2] = {1.0f, -1.0f / (float)N};
    return dsi_loss_sum(t, 2, parts, c);
}

/* sum_i -log softmax_g(-||c_i - p_g||^2)[G(i)] over the members' content
 * means c_i, p_g the mean of group g's (NULL when a group has fewer than two
 * members). The squared norm of c_i is the same for every g and drops out of
 * the softmax: logits 2 c_i . p_g - ||p_g||^2. */
static dsi_var *content_prototypes(dsi_tape *t, const dsi_input *in, dsi_var *mu_c)
{
    int G = (int)in->n_groups, N = (int)in->n;
    if (!in->group || G < 2) return NULL;
    float *inv = dsi_tape_scratch(t, sizeof(float) * (size_t)G);
    if (!inv) return NULL;
    for (int g = 0; g < G; g++) inv[g] = 0;
    for (int i = 0; i < N; i++) inv[in->group[i]] += 1;
    for (int g = 0; g < G; g++) {
        if (inv[g] < 2) return NULL;
        inv[g] = 1.0f / inv[g];
    }
    int sg[2] = {G, 1};
    dsi_var *p = dsi_mul(t, dsi_scatter_add_rows(t, mu_c, in->group, G), dsi_tape_wrap(t, inv, 2, sg));
    dsi_var *cross = dsi_matmul(t, mu_c, p, 0, 1);                   /* [N, G] */
    dsi_var *sq = dsi_sum_axis(t, dsi_mul(t, p, p), 1, 0);          /* [G] */
    dsi_var *logits = dsi_sub(t, dsi_affine_scalar(t, cross, 2.0f, 0.0f), sq);
    return dsi_softmax_xent(t, logits, (const int32_t *)in->group, 1, 0);
}

/* N * sum_{d != e} C_de^2, C = (1/N) sum_i (s_i - m)(s_i - m)^T the batch
 * covariance of the style means (DIP-VAE-I's off-diagonal term, Kumar et al.
 * 2018; NULL for fewer than two items or one style dimension). */
static dsi_var *style_offdiag(dsi_tape *t, const ml_vae *v, const dsi_input *in, dsi_var *mu_s)
{
    int N = (int)in->n, D = v->style_dim;
    if (N < 2 || D < 2) return NULL;
    float *w = dsi_tape_scratch(t, sizeof(float) * (size_t)D * (size_t)D);
    if (!w) return NULL;
    for (int d = 0; d < D; d++)
        for (int e = 0; e < D; e++) w[(size_t)d * D + e] = d == e ? 0.0f : (float)N;
    dsi_var *ctr = dsi_sub(t, mu_s, dsi_mean_axis(t, mu_s, 0, 1));
    dsi_var *cov = dsi_affine_scalar(t, dsi_matmul(t, ctr, ctr, 1, 0), 1.0f / (float)N, 0.0f);
    return dsi_weighted_sum(t, dsi_mul(t, cov, cov), w);
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
    dsi_var *y = decode_vars(m, t, c_i, s_i, 0);
    int sx[2] = {(int)in->n, v->input_dim};
    dsi_var *x = dsi_tape_wrap(t, in->x, 2, sx);
    dsi_var *rec = v->likelihood == LIK_BERNOULLI ? dsi_bernoulli_nll(t, y, x, NULL, DSI_RED_SUM)
                                                  : dsi_gauss_nll(t, y, x, NULL, v->obs_var, NULL, DSI_RED_SUM);
    dsi_var *kl_s = dsi_kl_std_normal(t, mu_s, lv_s, NULL, DSI_RED_SUM);
    dsi_var *kl_c = dsi_kl_std_normal(t, mu_g, lv_g, NULL, DSI_RED_SUM);
    /* total = (rec + style_beta kl_s + beta kl_c + the optional terms) / G, one node */
    float sb = v->style_beta;
    if (m->epoch < v->warmup_epochs && !m->run_loss) { /* (the run-long loss: the final weight) */
        float f = (float)m->epoch / (float)v->warmup_epochs;
        sb = v->warmup_style_beta + f * (v->style_beta - v->warmup_style_beta);
    }
    dsi_var *gs = v->group_penalty > 0 ? group_scatter(t, v, in, mu_s) : NULL;
    dsi_var *cp = v->content_contrast > 0 ? content_prototypes(t, in, mu_c) : NULL;
    dsi_var *dc = v->style_decorr > 0 ? style_offdiag(t, v, in, mu_s) : NULL;
    dsi_var *parts6[6] = {rec, kl_s, kl_c, NULL, NULL, NULL};
    float w[6] = {1.0f / (float)G, sb / (float)G, v->beta / (float)G, 0, 0, 0};
    int np = 3;
    if (gs) {
        parts6[np] = gs;
        w[np++] = v->group_penalty / (float)G;
    }
    if (cp) {
        parts6[np] = cp;
        w[np++] = v->content_contrast / (float)G;
    }
    if (dc) {
        parts6[np] = dc;
        w[np++] = v->style_decorr / (float)G;
    }
    dsi_var *total = dsi_loss_sum(t, np, parts6, w);
    if (t->status != DSN_OK || !total) return dsi_tape_failure(t);
    dsi_terms_add(terms, "loss", total->x[0]);
    dsi_terms_add(terms, "rec", rec->x[0] / (float)G);
    dsi_terms_add(terms, "kl_style", kl_s->x[0] / (float)G);
    dsi_terms_add(terms, "kl_content", kl_c->x[0] / (float)G);
    if (v->group_penalty > 0) dsi_terms_add(terms, "group_style", gs ? gs->x[0] / (float)G : 0.0f);
    if (v->content_contrast > 0) dsi_terms_add(terms, "content_proto", cp ? cp->x[0] / (float)G : 0.0f);
    if (v->style_decorr > 0) dsi_terms_add(terms, "style_decorr", dc ? dc->x[0] / (float)G : 0.0f);
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
    dsi_var *y = decode_vars(m, t, c_i, s, 1);
    if (!y) return dsi_tape_failure(t);
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

/* during the style warm-up the objective's style KL weight is not the final one */
static int run_loss_differs(const dsn_model *m)
{
    const ml_vae *v = m->state;
    return m->epoch < v->warmup_epochs && v->warmup_style_beta != v->style_beta;
}

const dsi_model_vt dsi_ml_vae_vt = {
    .name = "ml-vae",
    DSI_MODEL_HOOKS(create),
    .grouped = 1,
    .run_loss_differs = run_loss_differs,
};
