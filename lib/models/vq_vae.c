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
 * The EMA codebook update and dead-code restarts run after the gradients are
 * computed (a node recorded first on the tape runs last in backward), so the
 * codebook loss and commitment gradients see the codebook the forward used.
 * Their state (EMA counts and sums, idle counters, restart buffer, RNG, step
 * counter) lives in the frozen parameter group "vqstate", so it is saved with
 * the model and a resumed run is bit-identical.
 * Prior stage (dsn_model_set_stage "prior"): the autoencoder and codebook are
 * frozen and the loss is the prior's NLL (nats per code) of the batch's codes
 * (models/vq_prior.h). */
#include "models/vq_vae.h"
#include "core/options.h"
#include "core/alloc.h"
#include "core/error.h"
#include "loss/likelihood.h"
#include "models/vq_prior.h"
#include "tensor/blas.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_RES 8
#define NSTATE 24

enum { LIK_GAUSSIAN = 0, LIK_BERNOULLI = 1 };

typedef struct conv {
    int w, b, k, stride, pad, tr, fan;
} conv;

typedef struct vqvae {
    int seq, C, H, W;           /* image [C, H, W]; sequence: C = features, H = 1, W = frames */
    int hidden, n_res, res_ch, D, K;
    int ema, kmeans, kmeans_iters, restarts, dead_after, restart_every, restart_buffer, cosine, lik;
    float beta, decay, ema_eps, data_var, temperature;
    int top_k, stage;
    int pch, players, pkernel, phid;
    int gh, gw, P;
    conv e1, e2, er[MAX_RES][2], ep, d1, dr[MAX_RES][2], dt1, dt2;
    int g_ae, g_cb, g_prior, g_state;
    int p_state, p_idle, p_count, p_sum, p_buf;
    long long steps;
    int initialised;
    dsi_vq vq;
    dsi_vq_prior prior;
    dsn_model *self;
} vqvae;

#define PV(i) dsi_params_var(&m->params, (i))

/* ---- layers ---- */

static int add_conv(dsn_model *m, conv *c, const char *name, int g, int in, int out, int k, int stride, int pad,
                    int tr)
{
    vqvae *v = m->state;
    char nm[DSI_PARAM_NAME];
    int sh[4] = {tr ? in : out, tr ? out : in, k, k};
    c->k = k;
    c->stride = stride;
    c->pad = pad;
    c->tr = tr;
    c->fan = (tr ? out : in) * k * (v->seq ? 1 : k);
    snprintf(nm, sizeof nm, "%s.w", name);
    c->w = dsi_params_add(&m->params, nm, g, v->seq ? 3 : 4, sh);
    snprintf(nm, sizeof nm, "%s.b", name);
    c->b = dsi_params_add(&m->params, nm, g, 1, &out);
    return c->w >= 0 && c->b >= 0;
}

static void init_conv(dsn_model *m, const conv *c)
{
    dsi_params_init_fanin(&m->params, c->w, c->fan, &m->rng);
    dsi_params_init_fanin(&m->params, c->b, c->fan, &m->rng);
}

static dsi_var *cv(dsi_tape *t, const dsn_model *m, const conv *c, dsi_var *x)
{
    const vqvae *v = m->state;
    dsi_params *ps = (dsi_params *)&m->params;
    dsi_var *w = dsi_params_var(ps, c->w), *b = dsi_params_var(ps, c->b);
    if (v->seq) return c->tr ? dsi_conv_transpose1d(t, x, w, b, c->stride, c->pad) : dsi_conv1d(t, x, w, b, c->stride, c->pad);
    return c->tr ? dsi_conv_transpose2d(t, x, w, b, c->stride, c->pad) : dsi_conv2d(t, x, w, b, c->stride, c->pad);
}

/* R residual blocks, then ReLU */
static dsi_var *res_stack(dsi_tape *t, const dsn_model *m, const conv (*blocks)[2], dsi_var *x)
{
    const vqvae *v = m->state;
    for (int r = 0; r < v->n_res; r++) {
        dsi_var *h = dsi_relu(t, cv(t, m, &blocks[r][0], dsi_relu(t, x)));
        x = dsi_add(t, x, cv(t, m, &blocks[r][1], h));
    }
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

/* ---- persistent VQ state in the frozen "vqstate" group ---- */

static void state_out(dsn_model *m)
{
    vqvae *v = m->state;
    float *s = PV(v->p_state)->x, *idle = PV(v->p_idle)->x;
    s[0] = (float)v->initialised;
    s[1] = (float)v->vq.ema_ready;
    s[2] = (float)(v->steps & 0xfffff);
    s[3] = (float)(v->steps >> 20);
    s[4] = (float)v->vq.buf_n;
    s[5] = (float)v->vq.buf_pos;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) s[6 + 4 * i + j] = (float)((v->vq.rng.s[i] >> (16 * j)) & 0xffff);
    s[22] = v->vq.rng.spare;
    s[23] = (float)v->vq.rng.has_spare;
    for (int k = 0; k < v->K; k++) idle[k] = v->vq.idle[k] < (1 << 24) ? (float)v->vq.idle[k] : (float)(1 << 24);
}

static void state_in(dsn_model *m)
{
    vqvae *v = m->state;
    const float *s = PV(v->p_state)->x, *idle = PV(v->p_idle)->x;
    v->initialised = s[0] != 0.0f;
    v->vq.ema_ready = s[1] != 0.0f;
    v->steps = (long long)s[2] + ((long long)s[3] << 20);
    v->vq.buf_n = (int)s[4];
    v->vq.buf_pos = (int)s[5];
    for (int i = 0; i < 4; i++) {
        uint64_t w = 0;
        for (int j = 0; j < 4; j++) w |= (uint64_t)s[6 + 4 * i + j] << (16 * j);
        v->vq.rng.s[i] = w;
    }
    v->vq.rng.spare = s[22];
    v->vq.rng.has_spare = s[23] != 0.0f;
    for (int k = 0; k < v->K; k++) v->vq.idle[k] = (long long)idle[k];
}

/* ---- create ---- */

static void apply_stage(dsn_model *m)
{
    vqvae *v = m->state;
    int prior = v->stage == DSI_VQ_STAGE_PRIOR;
    dsi_params_set_frozen(&m->params, v->g_ae, prior);
    dsi_params_set_frozen(&m->params, v->g_cb, prior || v->ema);
    dsi_params_set_frozen(&m->params, v->g_prior, !prior);
    dsi_params_set_frozen(&m->params, v->g_state, 1);
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
    v->g_state = dsi_params_group(ps, "vqstate");
    if (v->g_ae < 0 || v->g_cb < 0 || v->g_prior < 0 || v->g_state < 0) return DSN_E_INTERNAL;
    int h = v->hidden, g = v->g_ae, ok = 1;
    char nm[32];
    ok = ok && add_conv(m, &v->e1, "enc.conv1", g, v->C, h, 4, 2, 1, 0);
    ok = ok && add_conv(m, &v->e2, "enc.conv2", g, h, h, 4, 2, 1, 0);
    for (int i = 0; ok && i < v->n_res; i++) {
        snprintf(nm, sizeof nm, "enc.res%d.a", i);
        ok = add_conv(m, &v->er[i][0], nm, g, h, v->res_ch, 3, 1, 1, 0);
        snprintf(nm, sizeof nm, "enc.res%d.b", i);
        ok = ok && add_conv(m, &v->er[i][1], nm, g, v->res_ch, h, 1, 1, 0, 0);
    }
    ok = ok && add_conv(m, &v->ep, "enc.proj", g, h, v->D, 1, 1, 0, 0);
    ok = ok && add_conv(m, &v->d1, "dec.conv1", g, v->D, h, 3, 1, 1, 0);
    for (int i = 0; ok && i < v->n_res; i++) {
        snprintf(nm, sizeof nm, "dec.res%d.a", i);
        ok = add_conv(m, &v->dr[i][0], nm, g, h, v->res_ch, 3, 1, 1, 0);
        snprintf(nm, sizeof nm, "dec.res%d.b", i);
        ok = ok && add_conv(m, &v->dr[i][1], nm, g, v->res_ch, h, 1, 1, 0, 0);
    }
    ok = ok && add_conv(m, &v->dt1, "dec.up1", g, h, h, 4, 2, 1, 1);
    ok = ok && add_conv(m, &v->dt2, "dec.up2", g, h, v->C, 4, 2, 1, 1);
    if (!ok) return DSN_E_INTERNAL;

    dsi_vq_config c = dsi_vq_defaults(v->K, v->D);
    c.beta = v->beta;
    c.ema = v->ema;
    c.decay = v->decay;
    c.eps = v->ema_eps;
    c.cosine = v->cosine;
    c.dead_after = v->dead_after;
    c.buffer = v->restarts ? v->restart_buffer : 1;
    c.seed = m->seed ^ 0x76715eedULL;
    dsn_status st = dsi_vq_init(&v->vq, &c, ps, "codebook", v->g_cb);
    if (st != DSN_OK) return st;
    int sk[2] = {v->K, v->D}, sb[2] = {c.buffer, v->D}, ns = NSTATE;
    v->p_state = dsi_params_add(ps, "vqstate.misc", v->g_state, 1, &ns);
    v->p_idle = dsi_params_add(ps, "vqstate.idle", v->g_state, 1, &v->K);
    v->p_count = dsi_params_add(ps, "vqstate.ema_count", v->g_state, 1, &v->K);
    v->p_sum = dsi_params_add(ps, "vqstate.ema_sum", v->g_state, 2, sk);
    v->p_buf = dsi_params_add(ps, "vqstate.buffer", v->g_state, 2, sb);
    if (v->p_state < 0 || v->p_idle < 0 || v->p_count < 0 || v->p_sum < 0 || v->p_buf < 0) return DSN_E_INTERNAL;
    st = dsi_vq_prior_add(&v->prior, ps, v->g_prior, v->seq, v->K, v->pch, v->players, v->pkernel, v->phid, v->gh,
                          v->gw);
    if (st != DSN_OK) return st;
    apply_stage(m);
    return DSN_OK;
}

static void init_params(dsn_model *m)
{
    vqvae *v = m->state;
    init_conv(m, &v->e1);
    init_conv(m, &v->e2);
    for (int i = 0; i < v->n_res; i++) {
        init_conv(m, &v->er[i][0]);
        init_conv(m, &v->er[i][1]);
    }
    init_conv(m, &v->ep);
    init_conv(m, &v->d1);
    for (int i = 0; i < v->n_res; i++) {
        init_conv(m, &v->dr[i][0]);
        init_conv(m, &v->dr[i][1]);
    }
    init_conv(m, &v->dt1);
    init_conv(m, &v->dt2);
    dsi_vq_prior_init(&v->prior, &m->params, &m->rng);
    /* the EMA sums, counts and restart buffer live in the parameter store */
    dsi_free(v->vq.ema_count);
    dsi_free(v->vq.ema_sum);
    dsi_free(v->vq.buf);
    v->vq.ema_count = PV(v->p_count)->x;
    v->vq.ema_sum = PV(v->p_sum)->x;
    v->vq.buf = PV(v->p_buf)->x;
    dsi_vq_init_uniform(&v->vq);
    state_out(m);
}

static void destroy(dsn_model *m)
{
    vqvae *v = m->state;
    if (!v) return;
    if (m->params.finalized) {
        v->vq.ema_count = NULL;
        v->vq.ema_sum = NULL;
        v->vq.buf = NULL;
    }
    dsi_vq_release(&v->vq);
    dsi_vq_prior_release(&v->prior);
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

typedef struct hook_ctx {
    dsn_model *m;
    const float *rows;
    const int *idx;
    int n;
} hook_ctx;

/* Runs last in backward: EMA codebook update, step counter, dead-code restarts. */
static void hook_backward(dsi_node *nd)
{
    hook_ctx *h = nd->saved;
    if (!h || !h->rows) return;
    dsn_model *m = h->m;
    vqvae *v = m->state;
    v->vq.dist = m->dist;
    if (v->ema && dsi_vq_ema_update(&v->vq, h->rows, h->idx, h->n) != DSN_OK) {
        dsi_tape_fail(nd->tape, DSN_E_INTERNAL, "vq-vae: EMA update failed: %s", dsn_last_error());
        return;
    }
    if (m->dist && dsi_vq_sync_usage(&v->vq, v->ema) != DSN_OK) {
        dsi_tape_fail(nd->tape, DSN_E_INTERNAL, "vq-vae: usage sync failed: %s", dsn_last_error());
        return;
    }
    v->steps++;
    if (v->restarts && v->steps % v->restart_every == 0) {
        dsi_vq_restart_dead(&v->vq);
        /* restarts draw from this process's recent vectors: process 0's win */
        if (dsi_vq_sync(&v->vq) != DSN_OK) {
            dsi_tape_fail(nd->tape, DSN_E_INTERNAL, "vq-vae: codebook sync failed: %s", dsn_last_error());
            return;
        }
    }
    state_out(m);
}

static dsn_status fail_status(dsi_tape *t) { return t->status != DSN_OK ? t->status : DSN_E_INTERNAL; }

static dsn_status loss_prior(dsn_model *m, dsi_tape *t, const dsi_input *in, dsi_var **out, dsi_terms *terms)
{
    vqvae *v = m->state;
    int32_t *codes = dsi_tape_scratch(t, sizeof(int32_t) * (in->n * (size_t)v->P + 1));
    if (!codes) return t->status;
    dsn_status st = dsi_vqvae_encode_codes(m, t, in->x, in->n, codes);
    if (st != DSN_OK) return st;
    dsi_var *nll = dsi_vq_prior_nll(t, &v->prior, &m->params, codes, (int)in->n);
    if (!nll) return fail_status(t);
    dsi_terms_add(terms, "loss", nll->x[0]);
    dsi_terms_add(terms, "bits_per_code", nll->x[0] / 0.69314718f);
    *out = nll;
    return DSN_OK;
}

static dsn_status loss(dsn_model *m, dsi_tape *t, const dsi_input *in, dsi_var **out, dsi_terms *terms)
{
    vqvae *v = m->state;
    if (v->stage == DSI_VQ_STAGE_PRIOR) return loss_prior(m, t, in, out, terms);
    int n = (int)in->n, train = t->recording;
    hook_ctx *hk = NULL;
    if (train) {
        state_in(m);
        /* recorded first, so its backward runs after every other one */
        dsi_var *anchor = dsi_tape_new(t, 0, NULL, 1);
        hk = dsi_tape_scratch(t, sizeof *hk);
        if (!anchor || !hk) return fail_status(t);
        memset(hk, 0, sizeof *hk);
        hk->m = m;
        dsi_node *nd = dsi_tape_record(t, hook_backward, anchor, 0, NULL);
        if (nd) nd->saved = hk;
    }
    dsi_var *z = encoder(t, m, in->x, n);
    if (!z) return fail_status(t);
    if (train && v->kmeans && !v->initialised) {
        float *rows = z_rows(t, v, z, n);
        if (!rows) return t->status;
        dsn_status st = dsi_vq_init_kmeans(&v->vq, rows, n * v->P, v->kmeans_iters);
        v->vq.dist = m->dist;
        if (st == DSN_OK) st = dsi_vq_sync(&v->vq); /* seeded from process 0's part of the batch */
        if (st != DSN_OK) return st;
        v->initialised = 1;
        state_out(m);
    }
    dsi_vq_result q;
    dsn_status st = dsi_vq_quantize(t, &v->vq, z, DSI_VQ_NCHW, DSI_RED_MEAN, train, &q);
    if (st != DSN_OK) return st;
    if (hk) {
        hk->rows = q.rows;
        hk->idx = q.idx;
        hk->n = q.n;
    }
    dsi_var *y = decoder(t, m, q.z_q, n);
    if (!y) return fail_status(t);
    dsi_var *x = dsi_tape_wrap(t, in->x, y->nd, y->shape);
    const float *mask = v->seq ? in->mask : NULL;
    dsi_var *rec = v->lik == LIK_BERNOULLI ? dsi_bernoulli_nll(t, y, x, mask, DSI_RED_MEAN)
                                           : dsi_mse(t, y, x, mask, DSI_RED_MEAN);
    dsi_var *parts[2] = {rec, q.loss};
    const float w[2] = {v->lik == LIK_BERNOULLI ? 1.0f : 1.0f / v->data_var, 1.0f};
    dsi_var *total = dsi_loss_sum(t, 2, parts, w);
    if (!total) return fail_status(t);
    dsi_vq_stats s;
    dsi_vq_stats_get(&v->vq, &s);
    dsi_terms_add(terms, "loss", total->x[0]);
    dsi_terms_add(terms, "rec", rec->x[0] * w[0]);
    dsi_terms_add(terms, "vq", q.loss->x[0]);
    dsi_terms_add(terms, "perplexity", (float)s.perplexity);
    dsi_terms_add(terms, "used_frac", (float)s.used_frac);
    dsi_terms_add(terms, "dead", (float)s.dead);
    *out = total;
    return DSN_OK;
}

/* ---- inference ---- */

static dsn_status encode(const dsn_model *m, dsi_tape *t, const dsi_input *in, dsn_encoding *enc)
{
    const vqvae *v = m->state;
    dsi_part_data *pd = &enc->parts[0];
    dsn_status st = dsi_vqvae_encode_codes(m, t, in->x, in->n, pd->codes);
    if (st != DSN_OK) return st;
    return dsi_vqvae_codes_to_values(m, pd->codes, in->n * (size_t)v->P, pd->value);
}

static dsn_status decode(const dsn_model *m, dsi_tape *t, const dsn_encoding *enc, float *out)
{
    const vqvae *v = m->state;
    int n = (int)enc->n_items;
    int sh[4] = {n, v->gh, v->gw, v->D}, perm[4] = {0, 3, 1, 2};
    dsi_var *z = dsi_transpose(t, dsi_tape_wrap(t, enc->parts[0].value, 4, sh), perm);
    dsi_var *y = decoder(t, m, z, n);
    if (v->lik == LIK_BERNOULLI) y = dsi_sigmoid(t, y);
    if (!y) return fail_status(t);
    memcpy(out, y->x, y->n * sizeof(float));
    return DSN_OK;
}

static dsn_status sample(const dsn_model *m, dsi_tape *t, dsn_encoding *enc, int part, dsi_rng *rng)
{
    const vqvae *v = m->state;
    dsi_part_data *pd = &enc->parts[part];
    int n = (int)enc->n_items;
    dsn_status st = dsi_vq_prior_sample(t, &v->prior, (dsi_params *)&m->params, pd->codes, n, v->temperature,
                                        v->top_k, rng);
    if (st != DSN_OK) return st;
    return dsi_vqvae_codes_to_values(m, pd->codes, (size_t)n * v->P, pd->value);
}

/* ---- family-specific calls ---- */

int dsi_vqvae_is(const dsn_model *m) { return m && m->vt == &dsi_vq_vae_vt; }
int dsi_vqvae_num_codes(const dsn_model *m) { return ((const vqvae *)m->state)->K; }
int dsi_vqvae_positions(const dsn_model *m) { return ((const vqvae *)m->state)->P; }
int dsi_vqvae_stage(const dsn_model *m) { return ((const vqvae *)m->state)->stage; }

dsn_status dsi_vqvae_set_stage(dsn_model *m, int stage)
{
    vqvae *v = m->state;
    dsn_status st = dsi_options_set(m->opts, "stage", stage == DSI_VQ_STAGE_PRIOR ? "prior" : "autoencoder");
    if (st != DSN_OK) return st;
    v->stage = stage;
    apply_stage(m);
    return DSN_OK;
}

void dsi_vqvae_set_sampling(dsn_model *m, float temperature, int top_k)
{
    vqvae *v = m->state;
    v->temperature = temperature;
    v->top_k = top_k;
}

void dsi_vqvae_get_sampling(const dsn_model *m, float *temperature, int *top_k)
{
    const vqvae *v = m->state;
    if (temperature) *temperature = v->temperature;
    if (top_k) *top_k = v->top_k;
}

void dsi_vqvae_stats(const dsn_model *m, dsi_vq_stats *s)
{
    const vqvae *v = m->state;
    dsi_vq_stats_get(&v->vq, s);
}

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
    if (!nll) return fail_status(t);
    *nats = nll->x[0];
    return DSN_OK;
}

const dsi_model_vt dsi_vq_vae_vt = {
    "vq-vae", create, init_params, destroy, loss, encode, decode, sample, NULL, 0, NULL, NULL,
};
