/* vq_vae.c - VQ-VAE (van den Oord, Vinyals & Kavukcuoglu 2017) with an
 * autoregressive prior over its codes. Guide: docs/vqvae.md.
 *
 * Images [C, H, W] (H, W multiples of 4), or sequences [T, F] (T a multiple
 * of 4) with the same layers as 1-D convolutions over time:
 *   encoder: conv 4x4 s2 C->h, ReLU, conv 4x4 s2 h->h, R residual blocks
 *            (x + conv1x1(ReLU(conv3x3(ReLU x))), 3x3 h->r, 1x1 r->h), ReLU,
 *            conv 1x1 h->D                                   -> z_e [N, D, H/4, W/4]
 *   VQ:      nearest of K codes, straight-through (latent/vq.h)
 *   decoder: conv 3x3 D->h, R residual blocks, ReLU, transposed 4x4 s2 h->h,
 *            ReLU, transposed 4x4 s2 h->C
 * Autoencoder objective per batch (means over elements, as the reference):
 *   L = rec + ||sg[z_e] - e||^2 (not with EMA) + beta ||z_e - sg[e]||^2
 *   rec = mean (x - y)^2 / data_var (gaussian) | mean BCE(logits y, x) (bernoulli)
 * The usage tracking, EMA codebook update and dead-code restarts run in the
 * after_step hook, i.e. only once the optimizer has accepted the step (a
 * refused step leaves the codebook and its counters as they were), from the
 * encoder outputs and codes the step's forward pass kept on the tape.
 * Their state (EMA counts and sums, idle counters, restart ring and
 * position, RNG, step counter) is the model's training state (state_save /
 * state_load: the model file's MSTA section, not parameters), so a resumed
 * run is bit-identical.
 * Prior stage (dsn_model_set_stage "prior"): the autoencoder and codebook are
 * frozen and the loss is the prior's NLL (nats per code) of the batch's codes
 * (models/vq_prior.h). */
#include "models/vq_vae.h"
#include "core/options.h"
#include "core/alloc.h"
#include "core/error.h"
#include "loss/likelihood.h"
#include "models/vq_prior.h"
#include "nn/residual.h"
#include "tensor/blas.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RES 8

enum { LIK_GAUSSIAN = 0, LIK_BERNOULLI = 1 };

typedef struct vqvae {
    int seq, C, H, W;           /* image [C, H, W]; sequence: C = features, H = 1, W = frames */
    int hidden, n_res, res_ch, D, K;
    int ema, kmeans, kmeans_iters, restarts, dead_after, restart_every, restart_buffer, cosine, lik;
    float beta, decay, ema_eps, data_var, temperature;
    int top_k, stage;
    int pch, players, pkernel, phid;
    int gh, gw, P;
    dsi_conv e1, e2, ep, d1, dt1, dt2;
    dsi_resblock er[MAX_RES], dr[MAX_RES];
    int g_ae, g_cb, g_prior;
    long long steps;
    int initialised;
    dsi_vq vq;
    dsi_vq_prior prior;
    dsn_model *self;
    /* the last training step's quantised rows and codes (tape memory), for after_step */
    const float *step_rows;
    const int *step_idx;
    int step_n;
} vqvae;

#define PV(i) dsi_params_var(&m->params, (i))

/* ---- networks ---- */

static dsi_var *cv(dsi_tape *t, const dsn_model *m, const dsi_conv *c, dsi_var *x)
{
    return dsi_conv_forward(t, c, (dsi_params *)&m->params, x);
}

/* R residual blocks, then ReLU */
static dsi_var *res_stack(dsi_tape *t, const dsn_model *m, const dsi_resblock *blocks, dsi_var *x)
{
    const vqvae *v = m->state;
    for (int r = 0; r < v->n_res; r++) x = dsi_resblock_forward(t, &blocks[r], (dsi_params *)&m->params, x);
    return dsi_relu(t, x);
}

/* z_e [N, D, gh, gw] (sequences: [N, D, 1, T/4]) from n observations */
static dsi_var *encoder(dsi_tape *t, const dsn_model *m, const float *xr, int n)
{
    const vqvae *v = m->state;
    dsi_var *x;
    if (v->seq) {
        int sh[3] = {n, v->W, v->C}, perm[3] = {0, 2, 1};
        x = dsi_transpose(t, dsi_tape_wrap(t, xr, 3, sh), perm);
    } else {
        int sh[4] = {n, v->C, v->H, v->W};
        x = dsi_tape_wrap(t, xr, 4, sh);
    }
    dsi_var *h = dsi_relu(t, cv(t, m, &v->e1, x));
    h = cv(t, m, &v->e2, h);
    h = res_stack(t, m, v->er, h);
    h = cv(t, m, &v->ep, h);
    if (v->seq) {
        int sh[4] = {n, v->D, 1, v->gw};
        h = dsi_reshape(t, h, 4, sh);
    }
    return h;
}

/* likelihood parameters (logits or means) in the observation layout, from z [N, D, gh, gw] */
static dsi_var *decoder(dsi_tape *t, const dsn_model *m, dsi_var *z, int n)
{
    const vqvae *v = m->state;
    if (v->seq) {
        int sh[3] = {n, v->D, v->gw};
        z = dsi_reshape(t, z, 3, sh);
    }
    dsi_var *h = cv(t, m, &v->d1, z);
    h = res_stack(t, m, v->dr, h);
    h = dsi_relu(t, cv(t, m, &v->dt1, h));
    h = cv(t, m, &v->dt2, h);
    if (v->seq) {
        int perm[3] = {0, 2, 1};
        h = dsi_transpose(t, h, perm);
    }
    return h;
}

/* ---- create ---- */

static void apply_stage(dsn_model *m)
{
    vqvae *v = m->state;
    int prior = v->stage == DSI_VQ_STAGE_PRIOR;
    dsi_params_set_frozen(&m->params, v->g_ae, prior);
    dsi_params_set_frozen(&m->params, v->g_cb, prior || v->ema);
    dsi_params_set_frozen(&m->params, v->g_prior, !prior);
}

static dsn_status create(dsn_model *m, dsi_optr *r)
{
    vqvae *v = dsi_calloc(1, sizeof *v);
    if (!v) return dsi_error(DSN_E_NOMEM, "out of memory");
    m->state = v;
    v->self = m;
    v->C = 1; v->H = 28; v->W = 28;
    v->hidden = 128; v->n_res = 2; v->res_ch = 32; v->D = 64; v->K = 512;
    v->beta = 0.25f; v->decay = 0.99f; v->ema_eps = 1e-5f; v->data_var = 1.0f;
    v->kmeans_iters = 10; v->dead_after = 100; v->restart_every = 100; v->restart_buffer = 4096;
    v->ema = 1;      /* codebook_update=ema with dead-code restarts: the loss update collapses on short runs */
    v->restarts = 1;
    v->temperature = 1.0f;
    v->pch = 64; v->players = 8; v->pkernel = 3; v->phid = 256;
    static const char *const layouts[] = {"image", "sequence", NULL};
    static const char *const updates[] = {"loss", "ema", NULL};
    static const char *const liks[] = {"gaussian", "bernoulli", NULL};
    static const char *const stages[] = {"autoencoder", "prior", NULL};
    dsi_opt_enum(r, "layout", &v->seq, layouts);
    if (r->status != DSN_OK) return r->status;
    if (!v->seq) {
        dsi_opt_int(r, "channels", &v->C, 1, 1 << 16);
        dsi_opt_int(r, "height", &v->H, 4, 1 << 16);
        dsi_opt_int(r, "width", &v->W, 4, 1 << 16);
    } else {
        v->C = 80;
        v->H = 4; /* no height: set to pass the check below, then 1 */
        v->W = 128;
        dsi_opt_int(r, "features", &v->C, 1, 1 << 16);
        dsi_opt_int(r, "frames", &v->W, 4, 1 << 20);
    }
    dsi_opt_int(r, "hidden", &v->hidden, 1, 1 << 14);
    dsi_opt_int(r, "res_blocks", &v->n_res, 0, MAX_RES);
    dsi_opt_int(r, "res_channels", &v->res_ch, 1, 1 << 14);
    dsi_opt_int(r, "code_dim", &v->D, 1, 1 << 14);
    dsi_opt_int(r, "num_codes", &v->K, 2, 1 << 16);
    dsi_opt_float(r, "beta", &v->beta, 0, 1e6);
    dsi_opt_enum(r, "codebook_update", &v->ema, updates);
    dsi_opt_float(r, "decay", &v->decay, 0, 0.999999);
    dsi_opt_float(r, "ema_eps", &v->ema_eps, 0, 1);
    dsi_opt_bool(r, "kmeans_init", &v->kmeans);
    dsi_opt_int(r, "kmeans_iters", &v->kmeans_iters, 0, 1000);
    dsi_opt_bool(r, "restart_dead", &v->restarts);
    dsi_opt_int(r, "dead_after", &v->dead_after, 1, 1 << 30);
    dsi_opt_int(r, "restart_every", &v->restart_every, 1, 1 << 30);
    dsi_opt_int(r, "restart_buffer", &v->restart_buffer, 1, 1 << 20);
    dsi_opt_bool(r, "cosine", &v->cosine);
    dsi_opt_enum(r, "likelihood", &v->lik, liks);
    dsi_opt_float(r, "data_var", &v->data_var, 1e-12, 1e12);
    dsi_opt_int(r, "prior_channels", &v->pch, 1, 4096);
    if (!v->seq) {
        dsi_opt_int(r, "prior_layers", &v->players, 1, DSI_VQP_MAX_LAYERS);
        dsi_opt_int(r, "prior_kernel", &v->pkernel, 1, 15);
    }
    dsi_opt_int(r, "prior_hidden", &v->phid, 1, 1 << 14);
    dsi_opt_float(r, "temperature", &v->temperature, 0, 1e6);
    dsi_opt_int(r, "top_k", &v->top_k, 0, 1 << 16);
    dsi_opt_enum(r, "stage", &v->stage, stages);
    if (r->status != DSN_OK) return r->status;
    if (v->H % 4 || v->W % 4)
        return dsi_error(DSN_E_OPTION, "option '%s' = %d must be a multiple of 4 (two stride-2 layers)",
                         v->seq ? "frames" : v->H % 4 ? "height" : "width", v->H % 4 ? v->H : v->W);
    if (!v->seq && v->pkernel % 2 == 0)
        return dsi_error(DSN_E_OPTION, "option 'prior_kernel' = %d must be odd", v->pkernel);
    if (v->seq) v->H = 1;
    v->gh = v->seq ? 1 : v->H / 4;
    v->gw = v->W / 4;
    v->P = v->gh * v->gw;

    if (v->seq) {
        m->obs_nd = 2;
        m->obs_shape[0] = v->W;
        m->obs_shape[1] = v->C;
    } else {
        m->obs_nd = 3;
        m->obs_shape[0] = v->C;
        m->obs_shape[1] = v->H;
        m->obs_shape[2] = v->W;
    }
    m->obs_size = (size_t)v->C * v->H * v->W;
    m->n_parts = 1;
    m->parts[0] = (dsi_part_desc){"codes", DSI_SCOPE_POSITION, DSI_PART_CODES, v->D, v->P};

    dsi_params *ps = &m->params;
    v->g_ae = dsi_params_group(ps, "autoencoder");
    v->g_cb = dsi_params_group(ps, "codebook");
    v->g_prior = dsi_params_group(ps, "prior");
    if (v->g_ae < 0 || v->g_cb < 0 || v->g_prior < 0) return DSN_E_INTERNAL;
    const int h = v->hidden, g = v->g_ae, dims = v->seq ? 1 : 2;
    char nm[32];
    /* kernel 4 stride 2 pad 1 halves (conv) or doubles (transposed) each axis */
    const dsi_conv_spec down = {.dims = dims, .in = h, .out = h, .kernel = 4, .stride = 2, .pad = 1};
    dsi_conv_spec s1 = down, up2 = down;
    s1.in = v->C;
    up2.out = v->C;
    up2.transposed = 1;
    dsn_status st = dsi_conv_add(&v->e1, ps, "enc.conv1", g, s1);
    if (st == DSN_OK) st = dsi_conv_add(&v->e2, ps, "enc.conv2", g, down);
    for (int i = 0; st == DSN_OK && i < v->n_res; i++) {
        snprintf(nm, sizeof nm, "enc.res%d", i);
        st = dsi_resblock_add(&v->er[i], ps, nm, g, dims, h, v->res_ch, 3);
    }
    if (st == DSN_OK)
        st = dsi_conv_add(&v->ep, ps, "enc.proj", g, (dsi_conv_spec){.dims = dims, .in = h, .out = v->D, .kernel = 1});
    if (st == DSN_OK)
        st = dsi_conv_add(&v->d1, ps, "dec.conv1", g,
                          (dsi_conv_spec){.dims = dims, .in = v->D, .out = h, .kernel = 3, .pad = 1});
    for (int i = 0; st == DSN_OK && i < v->n_res; i++) {
        snprintf(nm, sizeof nm, "dec.res%d", i);
        st = dsi_resblock_add(&v->dr[i], ps, nm, g, dims, h, v->res_ch, 3);
    }
    dsi_conv_spec up1 = down;
    up1.transposed = 1;
    if (st == DSN_OK) st = dsi_conv_add(&v->dt1, ps, "dec.up1", g, up1);
    if (st == DSN_OK) st = dsi_conv_add(&v->dt2, ps, "dec.up2", g, up2);
    if (st != DSN_OK) return st;

    dsi_vq_config c = dsi_vq_defaults(v->K, v->D);
    c.beta = v->beta;
    c.ema = v->ema;
    c.decay = v->decay;
    c.eps = v->ema_eps;
    c.cosine = v->cosine;
    c.dead_after = v->dead_after;
    c.buffer = v->restarts ? v->restart_buffer : 1;
    c.seed = m->seed ^ 0x76715eedULL;
    st = dsi_vq_init(&v->vq, &c, ps, "codebook", v->g_cb);
    if (st != DSN_OK) return st;
    st = dsi_vq_prior_add(&v->prior, ps, v->g_prior, v->seq, v->K, v->pch, v->players, v->pkernel, v->phid, v->gh,
                          v->gw);
    if (st != DSN_OK) return st;
    apply_stage(m);
    return DSN_OK;
}

static void init_params(dsn_model *m)
{
    vqvae *v = m->state;
    dsi_params *ps = &m->params;
    dsi_conv_init(&v->e1, ps, &m->rng);
    dsi_conv_init(&v->e2, ps, &m->rng);
    for (int i = 0; i < v->n_res; i++) dsi_resblock_init(&v->er[i], ps, &m->rng);
    dsi_conv_init(&v->ep, ps, &m->rng);
    dsi_conv_init(&v->d1, ps, &m->rng);
    for (int i = 0; i < v->n_res; i++) dsi_resblock_init(&v->dr[i], ps, &m->rng);
    dsi_conv_init(&v->dt1, ps, &m->rng);
    dsi_conv_init(&v->dt2, ps, &m->rng);
    dsi_vq_prior_init(&v->prior, &m->params, &m->rng);
    dsi_vq_init_uniform(&v->vq);
}

static void destroy(dsn_model *m)
{
    vqvae *v = m->state;
    if (!v) return;
    dsi_vq_release(&v->vq);
    dsi_free(v);
}

/* ---- helpers on codes ---- */

/* z [N, D, gh, gw] -> rows [N * P, D] (normalised in cosine mode) in the arena */
static float *z_rows(dsi_tape *t, const vqvae *v, const dsi_var *z, int n)
{
    int P = v->P, D = v->D;
    float *rows = dsi_tape_scratch(t, sizeof(float) * ((size_t)n * P * D + 1));
    if (!rows) return NULL;
    for (int b = 0; b < n; b++)
        for (int d = 0; d < D; d++) {
            const float *src = z->x + ((size_t)b * D + d) * P;
            float *dst = rows + (size_t)b * P * D + d;
            for (int p = 0; p < P; p++) dst[(size_t)p * D] = src[p];
        }
    if (v->cosine)
        for (size_t r = 0; r < (size_t)n * P; r++) {
            float *x = rows + r * D;
            double s = 0.0;
            for (int d = 0; d < D; d++) s += (double)x[d] * x[d];
            float nrm = (float)sqrt(s), inv = 1.0f / (nrm > 1e-12f ? nrm : 1e-12f);
            for (int d = 0; d < D; d++) x[d] *= inv;
        }
    return rows;
}

/* codebook as used by the assignment (a normalised copy in cosine mode) */
static const float *codes_used(dsi_tape *t, const dsn_model *m)
{
    const vqvae *v = m->state;
    const float *E = dsi_params_var((dsi_params *)&m->params, v->vq.param)->x;
    if (!v->cosine) return E;
    float *En = dsi_tape_scratch(t, sizeof(float) * (size_t)v->K * v->D);
    if (!En) return NULL;
    for (int k = 0; k < v->K; k++) {
        const float *e = E + (size_t)k * v->D;
        double s = 0.0;
        for (int d = 0; d < v->D; d++) s += (double)e[d] * e[d];
        float nrm = (float)sqrt(s), inv = 1.0f / (nrm > 1e-12f ? nrm : 1e-12f);
        for (int d = 0; d < v->D; d++) En[(size_t)k * v->D + d] = e[d] * inv;
    }
    return En;
}

/* nearest codes of rows [R, D] against E (arena scratch, no heap) */
static dsn_status assign(dsi_tape *t, const vqvae *v, const float *rows, size_t R, const float *E, int32_t *codes)
{
    int K = v->K, D = v->D;
    float *en2 = dsi_tape_scratch(t, sizeof(float) * (size_t)K);
    float *work = dsi_tape_scratch(t, sizeof(float) * (size_t)DSI_VQ_CHUNK * K);
    int *idx = dsi_tape_scratch(t, sizeof(int) * (R + 1));
    if (!en2 || !work || !idx) return t->status;
    for (int k = 0; k < K; k++) {
        float s = 0.0f;
        for (int d = 0; d < D; d++) s += E[(size_t)k * D + d] * E[(size_t)k * D + d];
        en2[k] = s;
    }
    dsi_vq_assign_rows(rows, (int)R, E, en2, K, D, work, idx, NULL);
    for (size_t i = 0; i < R; i++) codes[i] = idx[i];
    return DSN_OK;
}

const float *dsi_vqvae_latents(const dsn_model *m, dsi_tape *t, const float *x, size_t n)
{
    dsi_var *z = encoder(t, m, x, (int)n);
    return z ? z_rows(t, m->state, z, (int)n) : NULL;
}

const dsi_vq_prior *dsi_vqvae_prior(const dsn_model *m) { return &((const vqvae *)m->state)->prior; }

dsn_status dsi_vqvae_encode_codes(const dsn_model *m, dsi_tape *t, const float *x, size_t n, int32_t *codes)
{
    const vqvae *v = m->state;
    dsi_var *z = encoder(t, m, x, (int)n);
    if (!z) return t->status != DSN_OK ? t->status : DSN_E_INTERNAL;
    float *rows = z_rows(t, v, z, (int)n);
    const float *E = codes_used(t, m);
    if (!rows || !E) return t->status;
    return assign(t, v, rows, n * (size_t)v->P, E, codes);
}

/* ---- training ---- */

static dsn_status loss_prior(dsn_model *m, dsi_tape *t, const dsi_input *in, dsi_var **out, dsi_terms *terms)
{
    vqvae *v = m->state;
    int32_t *codes = dsi_tape_scratch(t, sizeof(int32_t) * (in->n * (size_t)v->P + 1));
    if (!codes) return t->status;
    dsn_status st = dsi_vqvae_encode_codes(m, t, in->x, in->n, codes);
    if (st != DSN_OK) return st;
    dsi_var *nll = dsi_vq_prior_nll(t, &v->prior, &m->params, codes, (int)in->n);
    if (!nll) return dsi_tape_failure(t);
    dsi_terms_add(terms, "loss", nll->x[0]);
    dsi_terms_add(terms, "bits_per_code", nll->x[0] / 0.69314718f);
    *out = nll;
    return DSN_OK;
}

static dsn_status loss(dsn_model *m, dsi_tape *t, const dsi_input *in, dsi_var **out, dsi_terms *terms)
{
    vqvae *v = m->state;
    /* the run-long validation loss is the autoencoder's, in both stages */
    if (v->stage == DSI_VQ_STAGE_PRIOR && !m->run_loss) return loss_prior(m, t, in, out, terms);
    int n = (int)in->n, train = t->recording;
    v->step_rows = NULL;
    v->step_idx = NULL;
    v->step_n = 0;
    dsi_var *z = encoder(t, m, in->x, n);
    if (!z) return dsi_tape_failure(t);
    if (train && v->kmeans && !v->initialised) {
        float *rows = z_rows(t, v, z, n);
        if (!rows) return t->status;
        dsn_status st = dsi_vq_init_kmeans(&v->vq, rows, n * v->P, v->kmeans_iters);
        v->vq.dist = m->dist;
        if (st == DSN_OK) st = dsi_vq_sync(&v->vq); /* seeded from process 0's part of the batch */
        if (st != DSN_OK) return st;
        v->initialised = 1;
    }
    /* sequences: a code position summarises 4 frames and counts when any of them is valid */
    float *row_mask = NULL;
    if (v->seq && in->mask) {
        int P = v->P, T = v->W;
        row_mask = dsi_tape_scratch(t, sizeof(float) * ((size_t)n * P + 1));
        if (!row_mask) return t->status;
        for (int b = 0; b < n; b++)
            for (int p = 0; p < P; p++) {
                float any = 0.0f;
                for (int f = 4 * p; f < 4 * p + 4 && f < T; f++) any = in->mask[(size_t)b * T + f] != 0.0f ? 1.0f : any;
                row_mask[(size_t)b * P + p] = any;
            }
    }
    dsi_vq_result q;
    /* tracking happens in after_step, once the optimizer accepted the step */
    dsn_status st = dsi_vq_quantize(t, &v->vq, z, DSI_VQ_NCHW, DSI_RED_MEAN, 0, row_mask, &q);
    if (st != DSN_OK) return st;
    if (train) {
        v->step_rows = q.rows;
        v->step_idx = q.idx;
        v->step_n = q.n;
    }
    dsi_var *y = decoder(t, m, q.z_q, n);
    if (!y) return dsi_tape_failure(t);
    dsi_var *x = dsi_tape_wrap(t, in->x, y->nd, y->shape);
    const float *mask = v->seq ? in->mask : NULL;
    dsi_var *rec = v->lik == LIK_BERNOULLI ? dsi_bernoulli_nll(t, y, x, mask, DSI_RED_MEAN)
                                           : dsi_mse(t, y, x, mask, DSI_RED_MEAN);
    dsi_var *parts[2] = {rec, q.loss};
    const float w[2] = {v->lik == LIK_BERNOULLI ? 1.0f : 1.0f / v->data_var, 1.0f};
    dsi_var *total = dsi_loss_sum(t, 2, parts, w);
    if (!total) return dsi_tape_failure(t);
    dsi_terms_add(terms, "loss", total->x[0]);
    dsi_terms_add(terms, "rec", rec->x[0] * w[0]);
    dsi_terms_add(terms, "vq", q.loss->x[0]);
    if (train) { /* the codes of this batch (the tracker itself moves in after_step) */
        double h = 0.0;
        int used = 0;
        int *cnt = dsi_tape_scratch(t, sizeof(int) * (size_t)v->K);
        if (!cnt) return t->status;
        memset(cnt, 0, sizeof(int) * (size_t)v->K);
        for (int i = 0; i < q.n; i++) cnt[q.idx[i]]++;
        for (int k = 0; k < v->K; k++)
            if (cnt[k]) {
                double pk = (double)cnt[k] / q.n;
                h -= pk * log(pk);
                used++;
            }
        dsi_vq_stats s;
        dsi_vq_stats_get(&v->vq, &s);
        dsi_terms_add(terms, "perplexity", (float)exp(h));
        dsi_terms_add(terms, "used_frac", (float)used / (float)v->K);
        dsi_terms_add(terms, "dead", (float)s.dead);
    }
    *out = total;
    return DSN_OK;
}

/* ---- inference ---- */

static dsn_status encode(const dsn_model *m, dsi_tape *t, const dsi_input *in, dsi_latents *enc)
{
    const vqvae *v = m->state;
    dsi_part_data *pd = &enc->parts[0];
    dsn_status st = dsi_vqvae_encode_codes(m, t, in->x, in->n, pd->codes);
    if (st != DSN_OK) return st;
    return dsi_vqvae_codes_to_values(m, pd->codes, in->n * (size_t)v->P, pd->value);
}

static dsn_status decode(const dsn_model *m, dsi_tape *t, const dsi_latents *enc, float *out)
{
    const vqvae *v = m->state;
    int n = (int)enc->n_items;
    int sh[4] = {n, v->gh, v->gw, v->D}, perm[4] = {0, 3, 1, 2};
    dsi_var *z = dsi_transpose(t, dsi_tape_wrap(t, enc->parts[0].value, 4, sh), perm);
    dsi_var *y = decoder(t, m, z, n);
    if (v->lik == LIK_BERNOULLI) y = dsi_sigmoid(t, y);
    if (!y) return dsi_tape_failure(t);
    memcpy(out, y->x, y->n * sizeof(float));
    return DSN_OK;
}

static dsn_status sample(const dsn_model *m, dsi_tape *t, dsi_latents *enc, int part, dsi_rng *rng)
{
    const vqvae *v = m->state;
    dsi_part_data *pd = &enc->parts[part];
    int n = (int)enc->n_items;
    dsn_status st = dsi_vq_prior_sample(t, &v->prior, (dsi_params *)&m->params, pd->codes, n, v->temperature,
                                        v->top_k, rng);
    if (st != DSN_OK) return st;
    return dsi_vqvae_codes_to_values(m, pd->codes, (size_t)n * v->P, pd->value);
}

/* ---- hooks beyond the core interface ---- */

static dsn_status after_step(dsn_model *m)
{
    vqvae *v = m->state;
    if (!v->step_rows) return DSN_OK; /* prior stage: nothing to track */
    dsi_vq_track(&v->vq, v->step_rows, v->step_idx, v->step_n);
    v->vq.dist = m->dist; /* data-parallel: the global batch's statistics */
    if (v->ema) {
        dsn_status st = dsi_vq_ema_update(&v->vq, v->step_rows, v->step_idx, v->step_n);
        if (st != DSN_OK) return st;
    }
    if (m->dist) {
        dsn_status st = dsi_vq_sync_usage(&v->vq, v->ema);
        if (st != DSN_OK) return st;
    }
    v->steps++;
    if (v->restarts && v->steps % v->restart_every == 0) {
        dsi_vq_restart_dead(&v->vq);
        /* restarts draw from this process's recent vectors: process 0's win */
        dsn_status st = dsi_vq_sync(&v->vq);
        if (st != DSN_OK) return st;
    }
    v->step_rows = NULL;
    v->step_idx = NULL;
    v->step_n = 0;
    return DSN_OK;
}

#define VQVAE_STATE_VERSION 1u

static void state_save(const dsn_model *m, dsi_writer *w)
{
    const vqvae *v = m->state;
    dsi_write_u32(w, VQVAE_STATE_VERSION);
    dsi_write_u32(w, (uint32_t)v->initialised);
    dsi_write_u64(w, (uint64_t)v->steps);
    dsi_vq_state_save(&v->vq, w);
}

static dsn_status state_load(dsn_model *m, dsi_reader *r)
{
    vqvae *v = m->state;
    uint32_t ver, init;
    uint64_t steps;
    if (dsi_read_u32(r, &ver) || dsi_read_u32(r, &init) || dsi_read_u64(r, &steps))
        return dsi_error(DSN_E_FORMAT, "vq-vae state truncated");
    if (ver != VQVAE_STATE_VERSION) return dsi_error(DSN_E_FORMAT, "vq-vae state version %u (this library reads 1)", ver);
    if (init > 1) return dsi_error(DSN_E_FORMAT, "vq-vae state: initialised = %u (0 or 1)", init);
    if (steps > ((uint64_t)1 << 62)) return dsi_error(DSN_E_FORMAT, "vq-vae state: step counter out of range");
    dsn_status st = dsi_vq_state_load(&v->vq, r);
    if (st != DSN_OK) return st;
    if (dsi_reader_left(r)) return dsi_error(DSN_E_FORMAT, "vq-vae state: %zu unexpected trailing bytes", dsi_reader_left(r));
    v->initialised = (int)init;
    v->steps = (long long)steps;
    return DSN_OK;
}

static const char *stage(const dsn_model *m)
{
    return ((const vqvae *)m->state)->stage == DSI_VQ_STAGE_PRIOR ? "prior" : "autoencoder";
}

static dsn_status set_stage(dsn_model *m, const char *name)
{
    vqvae *v = m->state;
    int s;
    if (!strcmp(name, "autoencoder")) s = DSI_VQ_STAGE_AE;
    else if (!strcmp(name, "prior")) s = DSI_VQ_STAGE_PRIOR;
    else return dsi_error(DSN_E_INVALID, "unknown stage '%.32s' (autoencoder, prior)", name);
    if (s == v->stage) return DSN_OK;
    dsn_status st = dsi_options_set(m->opts, "stage", name);
    if (st != DSN_OK) return st;
    v->stage = s;
    apply_stage(m);
    m->objective++; /* the prior's NLL from now on (or the autoencoder's loss again) */
    return DSN_OK;
}

static dsn_status set_option(dsn_model *m, const char *key, const char *value)
{
    vqvae *v = m->state;
    char *end;
    if (!strcmp(key, "temperature")) {
        double t = strtod(value, &end);
        if (end == value || *end || !(t >= 0.0 && t <= 1e6))
            return dsi_error(DSN_E_OPTION, "option 'temperature' = '%.32s': a number in [0, 1e6] expected", value);
        v->temperature = (float)t;
        return DSN_OK;
    }
    if (!strcmp(key, "top_k")) {
        long k = strtol(value, &end, 10);
        if (end == value || *end || k < 0 || k > (1 << 16))
            return dsi_error(DSN_E_OPTION, "option 'top_k' = '%.32s': an integer in [0, 65536] expected", value);
        v->top_k = (int)k;
        return DSN_OK;
    }
    return dsi_error(DSN_E_OPTION, "option '%.64s' cannot change after creation (temperature and top_k can)", key);
}

/* Figures of the codebook and the prior: the training tracker, or measured
 * over the batches of a dataset. */
static dsn_status stats(const dsn_model *m, const dsi_batches *data, dsi_stats *out)
{
    const vqvae *v = m->state;
    dsi_vq_stats s;
    dsi_vq_stats_get(&v->vq, &s);
    dsi_stats_add(out, "codebook.size", v->K);
    if (!data) {
        dsi_stats_add(out, "codebook.perplexity", s.perplexity);
        dsi_stats_add(out, "codebook.used_fraction", s.used_frac);
        dsi_stats_add(out, "codebook.used", s.used);
        dsi_stats_add(out, "codebook.dead", s.dead);
        dsi_stats_add(out, "codebook.total_perplexity", s.acc_perplexity);
        dsi_stats_add(out, "codebook.total_used_fraction", s.acc_used_frac);
        dsi_stats_add(out, "codebook.steps", (double)s.steps);
        dsi_stats_add(out, "codebook.restarts", (double)s.restarts);
        return DSN_OK;
    }
    double *hist = dsi_calloc((size_t)v->K, sizeof(double));
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_tape_set_recording(&t, 0);
    dsn_status st = hist ? DSN_OK : dsi_error(DSN_E_NOMEM, "out of memory");
    double nll = 0.0;
    size_t items = 0;
    dsi_input in;
    while (st == DSN_OK && (st = data->next(data->ctx, &in)) == DSN_OK && in.n) {
        dsi_tape_reset(&t);
        int32_t *codes = dsi_tape_scratch(&t, sizeof(int32_t) * (in.n * (size_t)v->P + 1));
        if (!codes) {
            st = t.status;
            break;
        }
        st = dsi_vqvae_encode_codes(m, &t, in.x, in.n, codes);
        for (size_t i = 0; st == DSN_OK && i < in.n * (size_t)v->P; i++) hist[codes[i]] += 1.0;
        double nats = 0.0;
        if (st == DSN_OK) st = dsi_vqvae_prior_nll(m, &t, codes, in.n, &nats);
        nll += nats * (double)in.n;
        items += in.n;
    }
    if (st == DSN_OK && items) {
        int used = 0;
        for (int k = 0; k < v->K; k++) used += hist[k] > 0.0;
        dsi_stats_add(out, "codebook.perplexity", dsi_vq_perplexity(hist, v->K));
        dsi_stats_add(out, "codebook.used_fraction", (double)used / v->K);
        dsi_stats_add(out, "codebook.used", used);
        dsi_stats_add(out, "prior.bits_per_code", nll / (double)items / log(2.0));
    }
    dsi_tape_release(&t);
    dsi_free(hist);
    return st;
}

static dsn_status codes_to_values(const dsn_model *m, int part, const int32_t *codes, size_t rows, float *values)
{
    (void)part;
    return dsi_vqvae_codes_to_values(m, codes, rows, values);
}

int dsi_vqvae_positions(const dsn_model *m) { return ((const vqvae *)m->state)->P; }

const dsi_vq *dsi_vqvae_vq(const dsn_model *m) { return &((const vqvae *)m->state)->vq; }

dsn_status dsi_vqvae_codes_to_values(const dsn_model *m, const int32_t *codes, size_t rows, float *values)
{
    const vqvae *v = m->state;
    int K = v->K, D = v->D;
    const float *E = dsi_params_var((dsi_params *)&m->params, v->vq.param)->x;
    for (size_t i = 0; i < rows; i++)
        if (codes[i] < 0 || codes[i] >= K)
            return dsi_error(DSN_E_INVALID, "code %d at row %zu outside [0, %d)", (int)codes[i], i, K);
    for (size_t i = 0; i < rows; i++) {
        const float *e = E + (size_t)codes[i] * D;
        float *o = values + i * D;
        if (!v->cosine) {
            memcpy(o, e, sizeof(float) * (size_t)D);
            continue;
        }
        double s = 0.0;
        for (int d = 0; d < D; d++) s += (double)e[d] * e[d];
        float nrm = (float)sqrt(s), inv = 1.0f / (nrm > 1e-12f ? nrm : 1e-12f);
        for (int d = 0; d < D; d++) o[d] = e[d] * inv;
    }
    return DSN_OK;
}

dsn_status dsi_vqvae_prior_nll(const dsn_model *m, dsi_tape *t, const int32_t *codes, size_t n, double *nats)
{
    const vqvae *v = m->state;
    for (size_t i = 0; i < n * (size_t)v->P; i++)
        if (codes[i] < 0 || codes[i] >= v->K)
            return dsi_error(DSN_E_INVALID, "code %d at %zu outside [0, %d)", (int)codes[i], i, v->K);
    dsi_var *nll = dsi_vq_prior_nll(t, &v->prior, (dsi_params *)&m->params, codes, (int)n);
    if (!nll) return dsi_tape_failure(t);
    *nats = nll->x[0];
    return DSN_OK;
}

static int run_loss_differs(const dsn_model *m) { return ((const vqvae *)m->state)->stage == DSI_VQ_STAGE_PRIOR; }

const dsi_model_vt dsi_vq_vae_vt = {
    .name = "vq-vae",
    DSI_MODEL_HOOKS(create),
    .stages = "autoencoder, prior",
    .stage = stage,
    .set_stage = set_stage,
    .run_loss_differs = run_loss_differs,
    .after_step = after_step,
    .state_save = state_save,
    .state_load = state_load,
    .stats = stats,
    .set_option = set_option,
    .codes_to_values = codes_to_values,
};
