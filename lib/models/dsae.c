/* dsae.c - DSAE (Li & Mandt 2018) and TS-DSAE (Luo, Ewert & Dixon 2022):
 * a static latent v per sequence and a dynamic latent z_t per frame.
 *
 * Observations are sequences x [T, F] (log-mel frames) with an optional
 * [n, T] frame mask. Parts: "global" (v, one row per item) and "local"
 * (z_t, T rows per item).
 *
 * Networks (all per-frame layers are one gemm over the B T rows of a batch):
 *   global encoder  f^g_t = MLP_g(x_t) (hidden, tanh);
 *                   mlp:    h = masked_mean_t f^g_t
 *                   bilstm: h = masked_mean_t (LSTM_fwd(f^g)_t + LSTM_bwd(f^g)_t) / 2
 *                   q(v|x) = N(head_v(h))
 *   local encoder   f^l_t = MLP_l(x_t); full posterior: u_t = [f^l_t; v], else u_t = f^l_t;
 *                   mlp: q(z_t) = N(head_z(u_t)); lstm: head_z(LSTM(u)_t);
 *                   bilstm: head_z([LSTM_fwd(u)_t; LSTM_bwd(u)_t])
 *   prior           p(z_1) = N(0, I); p(z_t | z_<t) = N(head_p(LSTM^L(z_1..z_{t-1}))),
 *                   teacher-forced on the posterior samples
 *   decoder         mlp:    y_t = MLP_d([z_t; v]) (dec_hidden, tanh, linear output)
 *                   bilstm: y_t = MLP_d([z_t; LSTM_fwd(z)_t; LSTM_bwd(z)_t; v])
 * Objective (m the frame mask, R the reduction: "mean" averages each term over
 * its unmasked elements (the reference), "sum" sums it and divides by B):
 *   L = R[(x - y)^2 / (2 obs_var)] + beta_v R[KL(q(v|x) || p(v))]
 *       + beta_z R_t[KL(q(z_t|.) || p(z_t|z_<t))]  (+ TS-DSAE swap terms)
 * with p(v) = N(0, I), or in TS-DSAE's full stage the informed prior q_1(v|x)
 * of the frozen stage-1 global encoder (snapshot).
 * TS-DSAE ("ts-dsae"): for the first constrained_epochs epochs the groups
 * "local" (MLP_l, encoder LSTMs, head_z) and "prior" are frozen at their
 * initialisation; at the epoch_end hook that ends the stage, the global
 * encoder is copied into the frozen group "snapshot" (saved with the
 * parameters), the local groups are unfrozen, and the loss gains the informed
 * prior and the four swap regularisers: with a random partner j != i,
 * x_g = dec(z_i, v_j), x_l = dec(z_j, v_i), re-encoded,
 *   swap_vg KL(q(v|x_g)||q(v|x_j)) + swap_zg KL(q(z|x_g)||q(z|x_i))
 * + swap_vl KL(q(v|x_l)||q(v|x_i)) + swap_zl KL(q(z|x_l)||q(z|x_j)),
 * each reduced like the KL terms with x_l's mask taken from x_j.
 * The stage is the frozen state of "local" (saved in checkpoints).
 *
 * Options (both families): frames (250), n_mels (80), v_dim (16), z_dim (16),
 * hidden (64:64, the per-frame feature MLPs of both encoders), activation
 * (tanh | relu | leaky | sigmoid), global_encoder (mlp | bilstm),
 * global_features (mlp | none: with global_encoder=bilstm, the bi-LSTM reads
 * the frames x_t directly instead of MLP_g(x_t)),
 * local_encoder (mlp | lstm | bilstm), encoder_lstm (64, units per
 * direction), posterior (factorised | full), prior_hidden (32), prior_layers
 * (2), decoder (mlp | bilstm | lstm: a forward LSTM over z, causal, so it
 * streams), dec_hidden (64:64), decoder_lstm (64),
 * obs_var (0.5: the reconstruction term is then the reference's MSE),
 * scaling (mean | sum), beta_v (1), beta_z (1), noise (sample | mean: mean
 * trains a deterministic autoencoder, for tests and debugging), iid_z (0:
 * weight of KL(q(z_t) || N(0, I)) per frame, beside the learnt prior's),
 * adv_z (0: lambda of a frame adversary telling each z_t's clip by its v,
 * trained against the encoder by gradient reversal; adv_frames 16,
 * adv_hidden 64; parameters in the group "adversary"),
 * global_input (raw | envelope: the global encoder reads E x_t, the smooth
 * spectral envelope of each frame), local_input (raw | centred | flat: the
 * local encoder reads x_t - mean_t E x_t), envelope_k (8: the K of E).
 * E = C_K^T C_K is the fixed [F,F] projection onto the first K orthonormal
 * DCT-II basis vectors along the mel axis (a low-quefrency lifter); harmonic
 * positions (the pitch, the register) lie in the discarded coefficients;
 * register_v (0: weight of the squared batch correlation of v's means with a
 * register proxy of each clip, the mean lowest strong band of its frames).
 * ts-dsae only: constrained_epochs (300), informed_prior (1), swap_vg, swap_zg,
 * swap_vl, swap_zl (1 each), swap_stop_grad (0: both sides of the swap KLs
 * learn; 1: the reference posteriors of x are targets), swap_critic (0: weight
 * of the v swap terms re-encoded by the frozen snapshot instead). */
#include "core/alloc.h"
#include "core/error.h"
#include "latent/gauss.h"
#include "loss/composite.h"
#include "loss/likelihood.h"
#include "models/model.h"
#include "nn/film.h"
#include "nn/heads.h"
#include "nn/lstm.h"
#include "nn/mlp.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_PRIOR_LAYERS 4 /* <= DSI_LSTM_MAX_LAYERS */

/* config=default (docs/tsdsae.md, "Ablation"): what differs from config=paper */
#define DSAE_DEFAULT_OBS_VAR 0.05f
#define DSAE_DEFAULT_CONSTRAINED 10
#define DSAE_DEFAULT_FILM 0
#define DSAE_DEFAULT_ZNORM 0
#define DSAE_DEFAULT_CONTEXT 0
#define DSAE_DEFAULT_LCENTRE 0
/* config=speech (ts-dsae, docs/tsdsae.md "Session 5: speech4"): config=default plus these */
#define DSAE_SPEECH_CRITIC 10.0f

enum { ENC_MLP = 0, ENC_LSTM = 1, ENC_BILSTM = 2 };
enum { SCALE_MEAN = 0, SCALE_SUM = 1 };
enum { SW_VG = 0, SW_ZG, SW_VL, SW_ZL };

/* global encoder (the live one and its stage-1 snapshot share this) */
typedef struct genc {
    dsi_mlp feat;
    dsi_bilstm bi; /* global_encoder=bilstm: directions averaged */
    dsi_gauss_head head;
    int first, count; /* parameter index range */
} genc;

typedef struct dsae {
    int two_stage;
    int T, F, dv, dz;
    int hidden[DSI_MLP_MAX_LAYERS], n_hidden;
    int dec_hidden[DSI_MLP_MAX_LAYERS], n_dec_hidden;
    int act, genc_kind, lenc_kind, full, dec_kind, scaling, noise_mean;
    int gfeat_none; /* global_features=none: the global bi-LSTM reads the frames x_t directly */
    int enc_lstm, prior_hidden, prior_layers, dec_lstm;
    float obs_var, beta_v, beta_z;
    int constrained, informed, stop_grad;
    float w_swap[4];
    int film;       /* decoder_film: v scales and shifts every decoder hidden layer */
    int znorm;      /* z_norm=mean: the decoder sees z_t minus its (masked) time mean */
    int lctx;       /* local_context: frames on each side the local encoder sees */
    int lcentre;    /* local_input=centred: the local encoder reads x_t minus the clip's time mean */
    float w_static; /* static_z: weight of the batch correlation of mean_t z_t with v */
    float w_reg;    /* register_v: weight of the batch correlation of v with the clip's register proxy */
    float w_iid;    /* iid_z: weight of KL(q(z_t) || N(0, I)) at every frame */
    float w_critic; /* swap_critic: weight of the swapped v judged by the frozen stage-1 encoder */
    float leq;      /* local_eq: scale of the random per-clip equaliser on the local encoder's training input */
    float w_adv;    /* adv_z: gradient-reversal strength of the frame adversary against z (0: no adversary) */
    int adv_frames; /* adv_frames: frames per clip the adversary reads per step */
    int adv_hidden[DSI_MLP_MAX_LAYERS], n_adv_hidden;
    int g_adv;      /* the adversary's group (only with adv_z > 0) */
    dsi_mlp adv;    /* the frame adversary: z_t -> a key scored against every clip's v */
    int genv;       /* global_input=envelope: the global encoder (and its snapshot) read E x_t */
    int lflat;      /* local_input=flat: the local encoder reads x_t - mean_t E x_t */
    int env_k;      /* envelope_k: DCT coefficients kept in E */
    float *env;     /* [F,F] E (symmetric), allocated when genv or lflat */
    dsi_film dfilm[DSI_MLP_MAX_LAYERS]; /* decoder_film: one per decoder hidden layer */
    int g_global, g_local, g_prior, g_dec, g_snap;
    genc genc, snap;
    dsi_mlp lfeat;
    dsi_lstm_layer lfw; /* local_encoder=lstm */
    dsi_bilstm lbi;     /* local_encoder=bilstm: directions concatenated */
    dsi_gauss_head zhead;
    dsi_lstm_stack prior;
    dsi_gauss_head phead;
    dsi_bilstm dbi;     /* decoder=bilstm */
    dsi_lstm_layer dfw; /* decoder=lstm */
    dsi_mlp dec;
} dsae;

static const dsi_act acts[] = {DSI_ACT_TANH, DSI_ACT_RELU, DSI_ACT_LEAKY, DSI_ACT_SIGMOID};

/* ---- the global encoder (live and snapshot) ---- */

static dsn_status genc_add(dsae *s, genc *g, dsi_params *ps, const char *prefix, int group)
{
    char name[DSI_PARAM_NAME];
    int sizes[DSI_MLP_MAX_LAYERS + 1];
    sizes[0] = s->F;
    for (int i = 0; i < s->n_hidden; i++) sizes[i + 1] = s->hidden[i];
    int hf = s->hidden[s->n_hidden - 1];
    g->first = ps->count;
    dsn_status st = DSN_OK;
    if (s->gfeat_none) {
        hf = s->F;
    } else {
        snprintf(name, sizeof name, "%s.feat", prefix);
        st = dsi_mlp_add(&g->feat, ps, name, group, sizes, s->n_hidden + 1, acts[s->act], acts[s->act]);
    }
    if (st == DSN_OK && s->genc_kind == ENC_BILSTM) {
        st = dsi_bilstm_add(&g->bi, ps, prefix, group, hf, s->enc_lstm, DSI_BI_MEAN);
        hf = dsi_bilstm_out(&g->bi);
    }
    snprintf(name, sizeof name, "%s.v", prefix);
    if (st == DSN_OK) st = dsi_gauss_head_add(&g->head, ps, name, group, hf, s->dv);
    g->count = ps->count - g->first;
    return st;
}

static void genc_init(const dsae *s, const genc *g, dsi_params *ps, dsi_rng *rng)
{
    if (!s->gfeat_none) dsi_mlp_init(&g->feat, ps, rng);
    if (s->genc_kind == ENC_BILSTM) dsi_bilstm_init(&g->bi, ps, rng);
    dsi_gauss_head_init(&g->head, ps, rng, 0.0f);
}

/* Per-batch context: masks, LSTM lengths and index arrays (tape scratch). */
typedef struct batch_ctx {
    int B, T;
    const float *mask; /* [B,T] or NULL */
    const int *len;    /* [B] or NULL (all T) */
    int *frame_item;   /* [B T] item of each frame, for broadcasting v */
} batch_ctx;

static dsn_status ctx_make(dsi_tape *t, batch_ctx *c, int B, int T, const float *mask)
{
    c->B = B;
    c->T = T;
    c->mask = mask;
    c->len = NULL;
    c->frame_item = dsi_tape_scratch(t, sizeof(int) * (size_t)B * T);
    if (!c->frame_item) return t->status;
    for (int b = 0; b < B; b++)
        for (int k = 0; k < T; k++) c->frame_item[(size_t)b * T + k] = b;
    if (mask) {
        int *len = dsi_tape_scratch(t, sizeof(int) * (size_t)B);
        if (!len) return t->status;
        dsi_lstm_lengths_from_mask(mask, B, T, len);
        c->len = len;
    }
    return DSN_OK;
}

/* [B,D] -> [B,T,D]: every frame gets its item's row */
static dsi_var *bcast_frames(dsi_tape *t, const batch_ctx *c, dsi_var *v)
{
    dsi_var *r = dsi_gather_rows(t, v, c->frame_item, c->B * c->T);
    if (!r) return NULL;
    int sh[3] = {c->B, c->T, v->shape[1]};
    return dsi_reshape(t, r, 3, sh);
}

static dsi_var *mean_time(dsi_tape *t, const batch_ctx *c, dsi_var *h)
{
    return c->mask ? dsi_masked_mean_time(t, h, c->mask) : dsi_mean_axis(t, h, 1, 0);
}

/* E = sum_{k<K} c_k c_k^T, c_k[f] = a_k cos(pi k (f + 1/2) / F), a_0 = sqrt(1/F), a_k = sqrt(2/F)
 * (the orthonormal DCT-II basis): x E keeps each frame's first K cepstral coefficients */
static void envelope_matrix(float *e, int F, int K)
{
    const double pi = 3.14159265358979323846;
    for (int i = 0; i < F; i++)
        for (int j = 0; j < F; j++) {
            double a = 1.0 / F;
            for (int k = 1; k < K; k++) a += 2.0 / F * cos(pi * k * (i + 0.5) / F) * cos(pi * k * (j + 0.5) / F);
            e[(size_t)i * F + j] = (float)a;
        }
}

/* x [.., F] -> x E: the smooth spectral envelope of every frame (E is a constant: the gradient
 * flows to x only, which matters for the decoded spectra of the swap terms) */
static dsi_var *envelope(dsi_tape *t, const dsae *s, dsi_var *x)
{
    int sh[2] = {s->F, s->F};
    return dsi_linear(t, x, dsi_tape_wrap(t, s->env, 2, sh), NULL, DSI_ACT_NONE);
}

/* what the global encoders (live and snapshot) read of x: x, or its envelope with
 * global_input=envelope (v cannot see the harmonic positions, the register); made once per
 * x and handed to every global_post of it */
static dsi_var *global_input(dsi_tape *t, const dsae *s, dsi_var *x) { return s->genv ? envelope(t, s, x) : x; }

/* q(v|x): x = global_input(x) [B,T,F] -> mu, lv [B,dv] */
static dsn_status global_post(dsi_tape *t, const dsae *s, const genc *g, dsi_params *ps, const batch_ctx *c, dsi_var *x,
                              dsi_gauss_post *q)
{
    dsi_var *f = s->gfeat_none ? x : dsi_mlp_forward(t, &g->feat, ps, x);
    if (s->genc_kind == ENC_BILSTM) f = dsi_bilstm_forward(t, &g->bi, ps, f, c->len);
    dsi_var *h = mean_time(t, c, f);
    return dsi_gauss_head_forward(t, &g->head, ps, h, &q->mu, &q->lv);
}

/* q(z_t|.): x [B,T,F], v [B,dv] (full posterior only) -> mu, lv [B,T,dz] */
/* [B,T,F] -> [B,T,(2k+1)F]: the local features of frames t-k..t+k side by side (zeros outside the
 * sequence and on masked frames, so padding never reaches a valid frame) */
static dsi_var *with_context(dsi_tape *t, const batch_ctx *c, dsi_var *x, int k)
{
    const int B = c->B, T = c->T, F = x->shape[2];
    if (c->mask) {
        int sm[3] = {B, T, 1};
        x = dsi_mul(t, x, dsi_tape_wrap(t, c->mask, 3, sm));
    }
    dsi_var *parts[2 * 8 + 1];
    int n = 0;
    for (int d = -k; d <= k; d++) {
        int a = d < 0 ? -d : d;
        if (d == 0 || a >= T) {
            if (d == 0) parts[n++] = x;
            else {
                int sz[3] = {B, T, F};
                parts[n++] = dsi_tape_zeros(t, 3, sz, 0);
            }
            continue;
        }
        int sz[3] = {B, a, F};
        dsi_var *pad = dsi_tape_zeros(t, 3, sz, 0);
        dsi_var *two[2];
        if (d > 0) two[0] = dsi_slice(t, x, 1, a, T - a), two[1] = pad; /* frame t + d */
        else two[0] = pad, two[1] = dsi_slice(t, x, 1, 0, T - a);
        parts[n++] = dsi_concat(t, two, 2, 1);
    }
    return dsi_concat(t, parts, n, 2);
}

static dsn_status local_post(dsi_tape *t, const dsae *s, dsi_params *ps, const batch_ctx *c, dsi_var *x, dsi_var *v,
                             dsi_gauss_post *q)
{
    if (s->lcentre) { /* the clip's static spectrum is visible to v only */
        dsi_var *mx = mean_time(t, c, x);
        int sh[3] = {c->B, 1, s->F};
        x = dsi_sub(t, x, dsi_reshape(t, mx, 3, sh));
    } else if (s->lflat) { /* the clip's static envelope removed; harmonic positions stay (mean_t(x E) = (mean_t x) E) */
        dsi_var *me = envelope(t, s, mean_time(t, c, x));
        int sh[3] = {c->B, 1, s->F};
        x = dsi_sub(t, x, dsi_reshape(t, me, 3, sh));
    }
    dsi_var *u = dsi_mlp_forward(t, &s->lfeat, ps, x);
    if (s->lctx > 0) u = with_context(t, c, u, s->lctx);
    if (s->full) {
        dsi_var *uv[2] = {u, bcast_frames(t, c, v)};
        u = dsi_concat(t, uv, 2, 2);
    }
    if (s->lenc_kind == ENC_LSTM) u = dsi_lstm_layer_forward(t, &s->lfw, ps, u, NULL, NULL, 0, c->len);
    else if (s->lenc_kind == ENC_BILSTM) u = dsi_bilstm_forward(t, &s->lbi, ps, u, c->len);
    return dsi_gauss_head_forward(t, &s->zhead, ps, u, &q->mu, &q->lv);
}

/* p(z_t|z_<t) teacher-forced on z [B,T,dz]; frame 0 is N(0, I). */
static dsn_status prior_seq(dsi_tape *t, const dsae *s, dsi_params *ps, const batch_ctx *c, dsi_var *z,
                            dsi_gauss_post *p)
{
    int B = c->B, T = c->T;
    int s0[3] = {B, 1, 2 * s->dz};
    dsi_var *first = dsi_tape_zeros(t, 3, s0, 0);
    dsi_var *y = first;
    if (T > 1) {
        dsi_var *h = dsi_slice(t, z, 1, 0, T - 1);
        h = dsi_lstm_stack_forward(t, &s->prior, ps, h, NULL);
        dsi_var *rest = dsi_gauss_head_raw(t, &s->phead, ps, h);
        dsi_var *parts[2] = {first, rest};
        y = dsi_concat(t, parts, 2, 1);
    }
    return dsi_split_mean_logvar(t, y, &p->mu, &p->lv);
}

/* The decoder MLP on in [B,T,din] (or [B,din], one frame per item) with v
 * [B,dv]; FiLM: h_l = act(h_{l-1} W_l + b_l) * (1 + gamma_l(v)) + beta_l(v)
 * on every hidden layer. */
static dsi_var *dec_mlp(dsi_tape *t, const dsae *s, dsi_params *ps, dsi_var *in, dsi_var *v)
{
    if (!s->film) return dsi_mlp_forward(t, &s->dec, ps, in);
    const dsi_mlp *d = &s->dec;
    dsi_var *h = in;
    for (int l = 0; l < d->n_layers && h; l++) {
        int last = l == d->n_layers - 1;
        h = dsi_linear_layer_forward(t, &d->layer[l], ps, h);
        if (!last) h = dsi_film_forward(t, &s->dfilm[l], ps, h, v);
    }
    return h;
}

/* y [B,T,F] from z [B,T,dz] and v [B,dv]; c->len: lengths for the bi-LSTM decoder */
static dsi_var *decode_seq(dsi_tape *t, const dsae *s, dsi_params *ps, const batch_ctx *c, dsi_var *z, dsi_var *v)
{
    dsi_var *parts[3];
    int n = 0;
    parts[n++] = z;
    if (s->dec_kind == ENC_BILSTM) parts[n++] = dsi_bilstm_forward(t, &s->dbi, ps, z, c->len);
    else if (s->dec_kind == ENC_LSTM) parts[n++] = dsi_lstm_layer_forward(t, &s->dfw, ps, z, NULL, NULL, 0, c->len);
    if (s->znorm) { /* no constant per-sequence offset can reach the decoder through z */
        dsi_var *mz = mean_time(t, c, z);
        int sh[3] = {c->B, 1, s->dz};
        parts[0] = dsi_sub(t, z, dsi_reshape(t, mz, 3, sh));
    }
    parts[n++] = bcast_frames(t, c, v);
    dsi_var *in = dsi_concat(t, parts, n, 2);
    return dec_mlp(t, s, ps, in, v);
}

/* adv_z options and parameters (the term itself: adv_term, below) */
static void adv_options(dsae *s, dsi_optr *r)
{
    dsi_opt_float(r, "adv_z", &s->w_adv, 0, 1e6);
    dsi_opt_int(r, "adv_frames", &s->adv_frames, 1, 1 << 16);
    dsi_opt_ints(r, "adv_hidden", s->adv_hidden, DSI_MLP_MAX_LAYERS - 2, &s->n_adv_hidden, 1, 1 << 16);
}

/* The adversary's group and MLP dz -> adv_hidden -> dv (only with adv_z > 0, so model files
 * without the key have exactly the parameters they had) */
static dsn_status adv_add(dsae *s, dsi_params *ps)
{
    s->g_adv = -1;
    if (s->w_adv <= 0.0f) return DSN_OK;
    s->g_adv = dsi_params_group(ps, "adversary");
    if (s->g_adv < 0) return DSN_E_INTERNAL;
    int sizes[DSI_MLP_MAX_LAYERS + 1];
    sizes[0] = s->dz;
    for (int i = 0; i < s->n_adv_hidden; i++) sizes[i + 1] = s->adv_hidden[i];
    sizes[s->n_adv_hidden + 1] = s->dv;
    return dsi_mlp_add(&s->adv, ps, "adv", s->g_adv, sizes, s->n_adv_hidden + 2, acts[s->act], DSI_ACT_NONE);
}

/* ---- create / init ---- */

static dsn_status create_common(dsn_model *m, dsi_optr *r, int two_stage)
{
    dsae *s = dsi_calloc(1, sizeof *s);
    if (!s) return dsi_error(DSN_E_NOMEM, "out of memory");
    m->state = s;
    s->two_stage = two_stage;
    s->T = 250;
    s->F = 80;
    s->dv = 16;
    s->dz = 16;
    s->hidden[0] = s->hidden[1] = 64;
    s->n_hidden = 2;
    s->dec_hidden[0] = s->dec_hidden[1] = 64;
    s->n_dec_hidden = 2;
    s->enc_lstm = 64;
    s->prior_hidden = 32;
    s->prior_layers = 2;
    s->dec_lstm = 64;
    s->obs_var = 0.5f;
    s->beta_v = s->beta_z = 1.0f;
    s->constrained = 300;
    s->informed = 1;
    for (int k = 0; k < 4; k++) s->w_swap[k] = 1.0f;
    s->adv_frames = 16;
    s->adv_hidden[0] = 64;
    s->n_adv_hidden = 1;
    s->g_adv = -1;
    static const char *const act_names[] = {"tanh", "relu", "leaky", "sigmoid", NULL};
    static const char *const genc_names[] = {"mlp", "bilstm", NULL};
    static const char *const gfeat_names[] = {"mlp", "none", NULL};
    static const char *const lenc_names[] = {"mlp", "lstm", "bilstm", NULL};
    static const char *const post_names[] = {"factorised", "full", NULL};
    static const char *const dec_names[] = {"mlp", "bilstm", "lstm", NULL};
    static const char *const scale_names[] = {"mean", "sum", NULL};
    static const char *const noise_names[] = {"sample", "mean", NULL};
    static const char *const znorm_names[] = {"none", "mean", NULL};
    static const char *const config_names[] = {"default", "paper", "speech", NULL};
    static const char *const lin_names[] = {"raw", "centred", "flat", NULL};
    static const char *const gin_names[] = {"raw", "envelope", NULL};
    int gk = 0, dk = 0, cfg = !two_stage; /* 0 default, 1 paper, 2 speech; vanilla DSAE stays the paper's baseline */
    /* config: "paper" is the reference configuration of Luo, Ewert & Dixon
     * (MLP encoders and decoder on [z_t; v], obs_var 0.5 = their MSE, C = 300
     * epochs); "default" adds what docs/tsdsae.md measured to help on the
     * development sets; "speech" (ts-dsae only) is "default" with the swap
     * critic at 10, which docs/tsdsae.md measured to carry the speaker
     * through v on speech and to wreck music. Every key below still
     * overrides any of them. */
    dsi_opt_enum(r, "config", &cfg, config_names);
    if (r->status == DSN_OK && cfg == 2 && !two_stage)
        return dsi_error(DSN_E_OPTION, "option 'config' = 'speech' is a ts-dsae preset (its swap critic needs the "
                         "two stages): use config=default or config=paper with dsae");
    if (cfg == 2) s->w_critic = DSAE_SPEECH_CRITIC; /* the keys below still override it */
    if (cfg != 1) {
        s->obs_var = DSAE_DEFAULT_OBS_VAR;
        s->constrained = DSAE_DEFAULT_CONSTRAINED;
        s->film = DSAE_DEFAULT_FILM;
        s->znorm = DSAE_DEFAULT_ZNORM;
        s->lctx = DSAE_DEFAULT_CONTEXT;
        s->lcentre = DSAE_DEFAULT_LCENTRE;
    }
    dsi_opt_int(r, "frames", &s->T, 1, 1 << 16);
    dsi_opt_int(r, "n_mels", &s->F, 1, 1 << 14);
    dsi_opt_int(r, "v_dim", &s->dv, 1, 4096);
    dsi_opt_int(r, "z_dim", &s->dz, 1, 4096);
    dsi_opt_ints(r, "hidden", s->hidden, DSI_MLP_MAX_LAYERS - 1, &s->n_hidden, 1, 1 << 16);
    dsi_opt_ints(r, "dec_hidden", s->dec_hidden, DSI_MLP_MAX_LAYERS - 1, &s->n_dec_hidden, 1, 1 << 16);
    dsi_opt_enum(r, "activation", &s->act, act_names);
    dsi_opt_enum(r, "global_encoder", &gk, genc_names);
    dsi_opt_enum(r, "global_features", &s->gfeat_none, gfeat_names);
    dsi_opt_enum(r, "local_encoder", &s->lenc_kind, lenc_names);
    dsi_opt_int(r, "encoder_lstm", &s->enc_lstm, 1, 1 << 14);
    dsi_opt_enum(r, "posterior", &s->full, post_names);
    dsi_opt_int(r, "prior_hidden", &s->prior_hidden, 1, 1 << 14);
    dsi_opt_int(r, "prior_layers", &s->prior_layers, 1, MAX_PRIOR_LAYERS);
    dsi_opt_enum(r, "decoder", &dk, dec_names);
    dsi_opt_int(r, "decoder_lstm", &s->dec_lstm, 1, 1 << 14);
    dsi_opt_float(r, "obs_var", &s->obs_var, 1e-6, 1e6);
    dsi_opt_enum(r, "scaling", &s->scaling, scale_names);
    dsi_opt_float(r, "beta_v", &s->beta_v, 0, 1e6);
    dsi_opt_float(r, "beta_z", &s->beta_z, 0, 1e6);
    dsi_opt_enum(r, "noise", &s->noise_mean, noise_names);
    dsi_opt_bool(r, "decoder_film", &s->film);
    dsi_opt_enum(r, "z_norm", &s->znorm, znorm_names);
    dsi_opt_int(r, "local_context", &s->lctx, 0, 8);
    int lin = s->lcentre;
    dsi_opt_enum(r, "local_input", &lin, lin_names);
    dsi_opt_enum(r, "global_input", &s->genv, gin_names);
    s->env_k = 8;
    dsi_opt_int(r, "envelope_k", &s->env_k, 1, 1 << 14);
    dsi_opt_float(r, "static_z", &s->w_static, 0, 1e6);
    dsi_opt_float(r, "register_v", &s->w_reg, 0, 1e6);
    dsi_opt_float(r, "iid_z", &s->w_iid, 0, 1e6);
    dsi_opt_float(r, "local_eq", &s->leq, 0, 100);
    adv_options(s, r);
    if (two_stage) {
        dsi_opt_float(r, "swap_critic", &s->w_critic, 0, 1e6);
        dsi_opt_int(r, "constrained_epochs", &s->constrained, 0, 1 << 30);
        dsi_opt_bool(r, "informed_prior", &s->informed);
        dsi_opt_float(r, "swap_vg", &s->w_swap[SW_VG], 0, 1e6);
        dsi_opt_float(r, "swap_zg", &s->w_swap[SW_ZG], 0, 1e6);
        dsi_opt_float(r, "swap_vl", &s->w_swap[SW_VL], 0, 1e6);
        dsi_opt_float(r, "swap_zl", &s->w_swap[SW_ZL], 0, 1e6);
        dsi_opt_bool(r, "swap_stop_grad", &s->stop_grad);
    }
    if (r->status != DSN_OK) return r->status;
    s->lcentre = lin == 1;
    s->lflat = lin == 2;
    if ((s->genv || s->lflat) && s->env_k > s->F)
        return dsi_error(DSN_E_OPTION, "option 'envelope_k' = %d exceeds n_mels = %d (the DCT has n_mels coefficients)",
                         s->env_k, s->F);
    if (s->genv || s->lflat) {
        s->env = dsi_calloc((size_t)s->F * (size_t)s->F, sizeof(float));
        if (!s->env) return dsi_error(DSN_E_NOMEM, "out of memory");
        envelope_matrix(s->env, s->F, s->env_k);
    }
    s->genc_kind = gk == 1 ? ENC_BILSTM : ENC_MLP;
    if (s->gfeat_none && s->genc_kind != ENC_BILSTM)
        return dsi_error(DSN_E_INVALID, "global_features=none needs global_encoder=bilstm (the LSTMs then read the frames)");
    s->dec_kind = dk == 1 ? ENC_BILSTM : dk == 2 ? ENC_LSTM : ENC_MLP;

    m->obs_nd = 2;
    m->obs_shape[0] = s->T;
    m->obs_shape[1] = s->F;
    m->obs_size = (size_t)s->T * (size_t)s->F;
    m->n_parts = 2;
    m->parts[0] = (dsi_part_desc){"global", DSI_SCOPE_ITEM, DSI_PART_GAUSSIAN, s->dv, 1};
    m->parts[1] = (dsi_part_desc){"local", DSI_SCOPE_FRAME, DSI_PART_GAUSSIAN, s->dz, s->T};

    dsi_params *ps = &m->params;
    s->g_global = dsi_params_group(ps, "global");
    s->g_local = dsi_params_group(ps, "local");
    s->g_prior = dsi_params_group(ps, "prior");
    s->g_dec = dsi_params_group(ps, "decoder");
    s->g_snap = two_stage ? dsi_params_group(ps, "snapshot") : -1;
    if (s->g_global < 0 || s->g_local < 0 || s->g_prior < 0 || s->g_dec < 0 || (two_stage && s->g_snap < 0))
        return DSN_E_INTERNAL;
    dsn_status st = genc_add(s, &s->genc, ps, "genc", s->g_global);
    /* local encoder */
    int sizes[DSI_MLP_MAX_LAYERS + 1];
    sizes[0] = s->F;
    for (int i = 0; i < s->n_hidden; i++) sizes[i + 1] = s->hidden[i];
    int hl = s->hidden[s->n_hidden - 1] * (2 * s->lctx + 1) + (s->full ? s->dv : 0);
    if (st == DSN_OK)
        st = dsi_mlp_add(&s->lfeat, ps, "lenc.feat", s->g_local, sizes, s->n_hidden + 1, acts[s->act], acts[s->act]);
    if (st == DSN_OK && s->lenc_kind == ENC_LSTM) {
        st = dsi_lstm_layer_add(&s->lfw, ps, "lenc.fw", s->g_local, hl, s->enc_lstm);
        hl = s->enc_lstm;
    } else if (st == DSN_OK && s->lenc_kind == ENC_BILSTM) {
        st = dsi_bilstm_add(&s->lbi, ps, "lenc", s->g_local, hl, s->enc_lstm, DSI_BI_CONCAT);
        hl = dsi_bilstm_out(&s->lbi);
    }
    if (st == DSN_OK) st = dsi_gauss_head_add(&s->zhead, ps, "lenc.z", s->g_local, hl, s->dz);
    /* prior */
    if (st == DSN_OK) st = dsi_lstm_stack_add(&s->prior, ps, "prior", s->g_prior, s->dz, s->prior_hidden, s->prior_layers);
    if (st == DSN_OK) st = dsi_gauss_head_add(&s->phead, ps, "prior.z", s->g_prior, s->prior_hidden, s->dz);
    /* decoder */
    int din = s->dz + s->dv;
    if (st == DSN_OK && s->dec_kind == ENC_BILSTM) {
        st = dsi_bilstm_add(&s->dbi, ps, "dec", s->g_dec, s->dz, s->dec_lstm, DSI_BI_CONCAT);
        din += dsi_bilstm_out(&s->dbi);
    } else if (st == DSN_OK && s->dec_kind == ENC_LSTM) {
        st = dsi_lstm_layer_add(&s->dfw, ps, "dec.fw", s->g_dec, s->dz, s->dec_lstm);
        din += s->dec_lstm;
    }
    sizes[0] = din;
    for (int i = 0; i < s->n_dec_hidden; i++) sizes[i + 1] = s->dec_hidden[i];
    sizes[s->n_dec_hidden + 1] = s->F;
    if (st == DSN_OK)
        st = dsi_mlp_add(&s->dec, ps, "dec", s->g_dec, sizes, s->n_dec_hidden + 2, acts[s->act], DSI_ACT_NONE);
    for (int l = 0; st == DSN_OK && s->film && l < s->n_dec_hidden; l++) {
        char name[32];
        snprintf(name, sizeof name, "dec.film.%d", l);
        st = dsi_film_add(&s->dfilm[l], ps, name, s->g_dec, s->dv, s->dec_hidden[l], 0.1f); /* starts as the plain decoder */
    }
    /* TS-DSAE: the stage-1 snapshot of the global encoder, same shapes */
    if (st == DSN_OK && two_stage) st = genc_add(s, &s->snap, ps, "snap", s->g_snap);
    if (st == DSN_OK) st = adv_add(s, ps);
    return st;
}

static dsn_status create_dsae(dsn_model *m, dsi_optr *r) { return create_common(m, r, 0); }
static dsn_status create_ts(dsn_model *m, dsi_optr *r) { return create_common(m, r, 1); }

/* snapshot <- live global encoder (values only) */
static void copy_snapshot(dsn_model *m)
{
    dsae *s = m->state;
    for (int k = 0; k < s->genc.count; k++) {
        dsi_var *src = dsi_params_var(&m->params, s->genc.first + k);
        dsi_var *dst = dsi_params_var(&m->params, s->snap.first + k);
        memcpy(dst->x, src->x, src->n * sizeof(float));
    }
}

static void init_params(dsn_model *m)
{
    dsae *s = m->state;
    dsi_params *ps = &m->params;
    genc_init(s, &s->genc, ps, &m->rng);
    dsi_mlp_init(&s->lfeat, ps, &m->rng);
    if (s->lenc_kind == ENC_LSTM) dsi_lstm_layer_init(&s->lfw, ps, &m->rng);
    if (s->lenc_kind == ENC_BILSTM) dsi_bilstm_init(&s->lbi, ps, &m->rng);
    dsi_gauss_head_init(&s->zhead, ps, &m->rng, 0.0f);
    dsi_lstm_stack_init(&s->prior, ps, &m->rng);
    dsi_gauss_head_init(&s->phead, ps, &m->rng, 0.0f);
    if (s->dec_kind == ENC_BILSTM) dsi_bilstm_init(&s->dbi, ps, &m->rng);
    if (s->dec_kind == ENC_LSTM) dsi_lstm_layer_init(&s->dfw, ps, &m->rng);
    dsi_mlp_init(&s->dec, ps, &m->rng);
    for (int l = 0; s->film && l < s->n_dec_hidden; l++) dsi_film_init(&s->dfilm[l], ps, &m->rng);
    if (s->g_adv >= 0) dsi_mlp_init(&s->adv, ps, &m->rng); /* last: every other initial value is the same without it */
    if (s->two_stage) {
        dsi_params_set_frozen(ps, s->g_snap, 1);
        if (s->constrained > 0) {
            dsi_params_set_frozen(ps, s->g_local, 1);
            dsi_params_set_frozen(ps, s->g_prior, 1);
            if (s->g_adv >= 0) dsi_params_set_frozen(ps, s->g_adv, 1);
        } else {
            copy_snapshot(m);
        }
    }
}

static void destroy(dsn_model *m)
{
    dsae *s = m->state;
    if (s) dsi_free(s->env);
    dsi_free(s);
}

static int full_stage(const dsn_model *m)
{
    const dsae *s = m->state;
    return s->two_stage && !dsi_params_is_frozen(&m->params, s->g_local);
}

static const char *stage(const dsn_model *m) { return full_stage(m) ? "full" : "constrained"; }

/* The stage switch constrained -> full: snapshot the global encoder (the
 * informed prior) and unfreeze the local groups. The stage is the frozen
 * state of "local", which the model file keeps. There is no way back: the
 * snapshot defines the full stage's objective. */
static dsn_status set_stage(dsn_model *m, const char *name)
{
    dsae *s = m->state;
    if (strcmp(name, "constrained") && strcmp(name, "full"))
        return dsi_error(DSN_E_INVALID, "unknown stage '%.32s' (constrained, full)", name);
    if (!strcmp(name, stage(m))) return DSN_OK;
    if (!strcmp(name, "constrained"))
        return dsi_error(DSN_E_STATE, "stage 'full' cannot go back to 'constrained' (its snapshot is taken)");
    copy_snapshot(m);
    dsi_params_set_frozen(&m->params, s->g_local, 0);
    dsi_params_set_frozen(&m->params, s->g_prior, 0);
    if (s->g_adv >= 0) dsi_params_set_frozen(&m->params, s->g_adv, 0);
    m->objective++; /* informed prior and swap terms from now on */
    return DSN_OK;
}

/* The schedule: the full stage starts after constrained_epochs epochs. */
static dsn_status epoch_end(dsn_model *m, int epoch)
{
    dsae *s = m->state;
    if (!s->two_stage || full_stage(m) || epoch < s->constrained) return DSN_OK;
    return set_stage(m, "full");
}

/* ---- loss ---- */

static dsi_var *wrap_x(dsi_tape *t, const dsae *s, const float *x, size_t n)
{
    int sx[3] = {(int)n, s->T, s->F};
    return dsi_tape_wrap(t, x, 3, sx);
}

/* [B,D] -> each column centred and scaled to unit variance over the batch */
static dsi_var *standardise_batch(dsi_tape *t, dsi_var *a)
{
    dsi_var *ac = dsi_sub(t, a, dsi_mean_axis(t, a, 0, 1));
    dsi_var *var = dsi_mean_axis(t, dsi_mul(t, ac, ac), 0, 1);
    dsi_var *sd = dsi_exp(t, dsi_affine_scalar(t, dsi_log(t, dsi_affine_scalar(t, var, 1.0f, 1e-4f)), 0.5f, 0.0f));
    return dsi_div(t, ac, sd);
}

/* static_z: the static information about v left in z, as the mean squared
 * correlation over the batch between the time-pooled posterior means of z and
 * the posterior means of v: r = A^T B / n, A, B the standardised [n,dz],
 * [n,dv]; penalty = mean_{d,e} r_de^2 (not added for n < 2). A static factor carried
 * by v that z also carries on average over the clip raises it; a clip
 * constant that v does not carry (the key of a melody) does not. */
/* mean_{d,e} r_de^2, r = A^T B / n with A [n,da], B [n,db] standardised over the batch */
static dsi_var *corr_sq(dsi_tape *t, int n, dsi_var *a, dsi_var *b)
{
    a = standardise_batch(t, a);
    b = standardise_batch(t, b);
    dsi_var *r = dsi_affine_scalar(t, dsi_matmul(t, a, b, 1, 0), 1.0f / (float)n, 0.0f);
    return dsi_mean(t, dsi_mul(t, r, r));
}

static dsi_var *static_corr(dsi_tape *t, const batch_ctx *c, dsi_var *zmu, dsi_var *vmu)
{
    return corr_sq(t, c->B, mean_time(t, c, zmu), vmu);
}

/* register_v: a register proxy per clip from its log-mel frames alone (no labels): at every
 * unmasked frame whose loudest band is within REG_LOUD of the clip's loudest, the lowest band
 * within REG_NEAR of that frame's maximum (the lowest strong partial, near f0); p = the mean of
 * those band indices. On the music development sets p correlates 0.98 - 0.99 with the clip's
 * mean MIDI note (docs/tsdsae.md, "Session 6"). The penalty is corr_sq(v means, [p, p^2]): the
 * squared batch correlations of v with p and p^2 (constants: the gradient reaches v only). */
#define REG_NEAR 2.0f
#define REG_LOUD 6.0f
static dsi_var *register_corr(dsi_tape *t, const dsae *s, const batch_ctx *c, const float *x, dsi_var *vmu)
{
    const int B = c->B, T = c->T, F = s->F;
    int sh[2] = {B, 2};
    dsi_var *p = dsi_tape_new(t, 2, sh, 0);
    if (!p) return NULL;
    for (int b = 0; b < B; b++) {
        float top = -INFINITY;
        for (int k = 0; k < T; k++) {
            if (c->mask && c->mask[(size_t)b * T + k] == 0.0f) continue;
            const float *fr = x + ((size_t)b * T + k) * F;
            for (int f = 0; f < F; f++) top = fmaxf(top, fr[f]);
        }
        double sum = 0;
        int cnt = 0;
        for (int k = 0; k < T; k++) {
            if (c->mask && c->mask[(size_t)b * T + k] == 0.0f) continue;
            const float *fr = x + ((size_t)b * T + k) * F;
            float mx = fr[0];
            for (int f = 1; f < F; f++) mx = fmaxf(mx, fr[f]);
            if (!(mx >= top - REG_LOUD)) continue;
            int lo = 0;
            while (lo < F - 1 && fr[lo] < mx - REG_NEAR) lo++;
            sum += lo;
            cnt++;
        }
        const float q = cnt ? (float)(sum / cnt) / (float)F : 0.0f;
        p->x[2 * b] = q;
        p->x[2 * b + 1] = q * q;
    }
    return corr_sq(t, B, vmu, p);
}

/* The swapped batch of swap_terms: rows 0..B-1 of x2 are x_g = dec(z_i, v_j), rows B..2B-1
 * x_l = dec(z_j, v_i), j = partner[i]; c2 its context (x_l has x_j's mask). */
typedef struct swap_batch {
    batch_ctx c2;
    dsi_var *x2g; /* global_input(x2): what the global encoders read of the swapped spectra */
    const int *partner;
} swap_batch;

/* The four swap regularisers (unweighted) into out[4]; the swapped batch into *sb. */
static dsn_status swap_terms(dsi_tape *t, dsn_model *m, const batch_ctx *c, dsi_var *z, dsi_var *v, dsi_gauss_post qv,
                             dsi_gauss_post qz, dsi_reduction red, dsi_var **out, swap_batch *sb)
{
    dsae *s = m->state;
    dsi_params *ps = &m->params;
    const int B = c->B, T = c->T;
    int *partner = dsi_tape_scratch(t, sizeof(int) * (size_t)B);
    if (!partner) return t->status;
    for (int b = 0; b < B; b++) partner[b] = B > 1 ? (int)((b + 1 + (int)dsi_rng_below(&m->rng, (uint64_t)(B - 1))) % B) : b;
    /* the doubled batch: rows 0..B-1 are x_g = dec(z_i, v_j), rows B..2B-1 x_l = dec(z_j, v_i) */
    batch_ctx c2;
    float *mask2 = NULL;
    if (c->mask) {
        mask2 = dsi_tape_scratch(t, sizeof(float) * (size_t)2 * B * T);
        if (!mask2) return t->status;
        memcpy(mask2, c->mask, sizeof(float) * (size_t)B * T);
        dsi_mask_permute(c->mask, B, T, partner, mask2 + (size_t)B * T);
    }
    dsn_status st = ctx_make(t, &c2, 2 * B, T, mask2);
    if (st != DSN_OK) return st;
    int szf[2] = {B, T * s->dz};
    dsi_var *zflat = dsi_reshape(t, z, 2, szf);
    int sz3[3] = {B, T, s->dz};
    dsi_var *zp = dsi_reshape(t, dsi_gather_rows(t, zflat, partner, B), 3, sz3);
    dsi_var *vp = dsi_gather_rows(t, v, partner, B);
    dsi_var *zz[2] = {z, zp}, *vv[2] = {vp, v};
    dsi_var *z2 = dsi_concat(t, zz, 2, 0), *v2 = dsi_concat(t, vv, 2, 0);
    dsi_var *x2 = decode_seq(t, s, ps, &c2, z2, v2);
    dsi_gauss_post qv2, qz2;
    dsi_var *x2g = global_input(t, s, x2);
    st = global_post(t, s, &s->genc, ps, &c2, x2g, &qv2);
    if (st != DSN_OK) return st;
    dsi_var *v2s = s->full ? dsi_gauss_sample(t, qv2.mu, qv2.lv, &m->rng, s->noise_mean) : NULL;
    st = local_post(t, s, ps, &c2, x2, v2s, &qz2);
    if (st != DSN_OK) return st;
    dsi_gauss_post vg = {dsi_slice(t, qv2.mu, 0, 0, B), dsi_slice(t, qv2.lv, 0, 0, B)};
    dsi_gauss_post vl = {dsi_slice(t, qv2.mu, 0, B, B), dsi_slice(t, qv2.lv, 0, B, B)};
    dsi_gauss_post zg = {dsi_slice(t, qz2.mu, 0, 0, B), dsi_slice(t, qz2.lv, 0, 0, B)};
    dsi_gauss_post zl = {dsi_slice(t, qz2.mu, 0, B, B), dsi_slice(t, qz2.lv, 0, B, B)};
    dsi_kl_fixed fix = s->stop_grad ? DSI_KL_FIX_P : DSI_KL_FIX_NONE;
    out[SW_VG] = dsi_kl_swap(t, vg, qv, partner, NULL, red, fix);
    out[SW_ZG] = dsi_kl_swap(t, zg, qz, NULL, c->mask, red, fix);
    out[SW_VL] = dsi_kl_swap(t, vl, qv, NULL, NULL, red, fix);
    out[SW_ZL] = dsi_kl_swap(t, zl, qz, partner, mask2 ? mask2 + (size_t)B * T : NULL, red, fix);
    *sb = (swap_batch){c2, x2g, partner};
    return t->status;
}

/* swap_critic: the swapped spectra judged by the frozen stage-1 global encoder q_1 (the
 * snapshot of the informed prior, which never learns):
 *   KL(q_1(v|x_g) || q_1(v|x_j)) + KL(q_1(v|x_l) || q_1(v|x_i)),  references fixed.
 * swap_vg / swap_vl can also be met by a live encoder that stops seeing what the decoder did
 * not move; here only the decoder and the latents it decoded get gradients, so the swapped
 * spectrum itself must carry the partner's static features as stage 1 learnt them. */
static dsi_var *critic_terms(dsi_tape *t, const dsae *s, dsi_params *ps, const swap_batch *sb, dsi_gauss_post q1,
                             dsi_reduction red)
{
    dsi_gauss_post q2;
    if (global_post(t, s, &s->snap, ps, &sb->c2, sb->x2g, &q2) != DSN_OK) return NULL;
    const int B = sb->c2.B / 2;
    dsi_gauss_post g = {dsi_slice(t, q2.mu, 0, 0, B), dsi_slice(t, q2.lv, 0, 0, B)};
    dsi_gauss_post l = {dsi_slice(t, q2.mu, 0, B, B), dsi_slice(t, q2.lv, 0, B, B)};
    dsi_var *ab[2] = {dsi_kl_swap(t, g, q1, sb->partner, NULL, red, DSI_KL_FIX_P),
                      dsi_kl_swap(t, l, q1, NULL, NULL, red, DSI_KL_FIX_P)};
    return dsi_loss_sum(t, 2, ab, NULL);
}

/* iid_z: KL(q(z_t|.) || N(0, I)) at every unmasked frame, beside the learnt prior's term. The
 * LSTM prior predicts z_t from z_<t, so whatever holds for the whole clip (a timbre) costs z
 * almost nothing after its first frame; against an iid prior it costs at every frame in z and
 * once in v. */
static dsi_var *iid_kl(dsi_tape *t, const batch_ctx *c, dsi_gauss_post qz, dsi_reduction red)
{
    return dsi_kl_std_normal(t, qz.mu, qz.lv, c->mask, red);
}

/* local_eq: the local encoder's training input x_t + e, the same e on every frame of a clip:
 * e[b,f] = sum_{k<EQ_BANDS} a_bk cos(pi k (f + 1/2) / F), a_bk ~ N(0, local_eq^2 / EQ_BANDS) drawn
 * per clip: a random smooth equaliser (gain, tilt and bends across the mel bands, in log units).
 * Harmonic peaks stay where they are (the pitch), the clip's spectral envelope is randomised,
 * so z cannot rely on it and the decoder must take it from v (the global encoder and the
 * reconstruction target keep x). */
#define EQ_BANDS 6
static dsi_var *eq_input(dsi_tape *t, dsn_model *m, const batch_ctx *c, dsi_var *x)
{
    const dsae *s = m->state;
    const int B = c->B, F = s->F;
    int sh[3] = {B, 1, F};
    dsi_var *e = dsi_tape_new(t, 3, sh, 0);
    if (!e) return NULL;
    const float g = s->leq / sqrtf((float)EQ_BANDS);
    for (int b = 0; b < B; b++) {
        float a[EQ_BANDS];
        for (int k = 0; k < EQ_BANDS; k++) a[k] = g * dsi_rng_normal(&m->rng);
        for (int f = 0; f < F; f++) {
            float v = 0.0f;
            for (int k = 0; k < EQ_BANDS; k++) v += a[k] * cosf(3.14159265358979f * (float)k * ((float)f + 0.5f) / (float)F);
            e->x[(size_t)b * F + f] = v;
        }
    }
    return dsi_add(t, x, e);
}

/* adv_z: a frame adversary against the static information left in z (Ganin & Lempitsky's
 * gradient reversal). For K = adv_frames frames t drawn per clip b (uniformly among its unmasked
 * frames), the adversary A (an MLP z_t -> R^dv) scores one frame's posterior mean against the v
 * posterior mean of every clip of the batch, InfoNCE with the own clip as the class:
 *   L_adv = mean_{b,t} -log softmax_k(A(GRL(mu_z[b,t])) . sg(mu_v[k]))[b]
 * sg: a constant (nothing reaches the global encoder from it). A learns to lower L_adv (it tells
 * which clip's v a frame belongs to); the gradient reversal GRL (forward identity, backward
 * -adv_z x upstream) trains the encoder to raise it, so z_t of one frame stops telling the clip's
 * v apart. Added with weight 1, logged raw; ln B when z_t says nothing about v. */
static dsi_var *adv_term(dsi_tape *t, dsn_model *m, const batch_ctx *c, dsi_var *zmu, dsi_var *vmu)
{
    const dsae *s = m->state;
    const int B = c->B, T = c->T, K = s->adv_frames;
    int *rows = dsi_tape_scratch(t, sizeof(int) * (size_t)B * K);
    int32_t *target = dsi_tape_scratch(t, sizeof(int32_t) * (size_t)B * K);
    if (!rows || !target) return NULL;
    for (int b = 0; b < B; b++) {
        const float *mb = c->mask ? c->mask + (size_t)b * T : NULL;
        int valid = T;
        if (mb) {
            valid = 0;
            for (int k = 0; k < T; k++) valid += mb[k] > 0.0f;
        }
        for (int j = 0; j < K; j++) {
            int pick = valid > 0 ? (int)dsi_rng_below(&m->rng, (uint64_t)valid) : 0, f = pick;
            if (mb && valid > 0) { /* the pick-th unmasked frame */
                for (f = 0; f < T; f++)
                    if (mb[f] > 0.0f && pick-- == 0) break;
            }
            rows[(size_t)b * K + j] = b * T + f; /* a fully masked clip reads its frame 0 */
            target[(size_t)b * K + j] = b;
        }
    }
    int sf[2] = {B * T, s->dz}, sv[2] = {B, s->dv};
    dsi_var *zt = dsi_gather_rows(t, dsi_reshape(t, zmu, 2, sf), rows, B * K);
    dsi_var *key = dsi_mlp_forward(t, &s->adv, (dsi_params *)&m->params, dsi_grad_reverse(t, zt, s->w_adv));
    dsi_var *scores = dsi_matmul(t, key, dsi_tape_wrap(t, vmu->x, 2, sv), 0, 1); /* [B K, B] */
    return dsi_softmax_xent(t, scores, target, 1, 1);
}

/* sum_i w_i parts_i for any number of scalar terms (a loss_sum node takes at most DSI_NODE_MAXIN) */
static dsi_var *sum_terms(dsi_tape *t, int n, dsi_var **parts, const float *w)
{
    if (n <= DSI_NODE_MAXIN) return dsi_loss_sum(t, n, parts, w);
    enum { H = DSI_NODE_MAXIN - 1 };
    dsi_var *head[DSI_NODE_MAXIN];
    float wh[DSI_NODE_MAXIN];
    for (int i = 0; i < H; i++) head[i] = parts[i], wh[i] = w[i];
    head[H] = sum_terms(t, n - H, parts + H, w + H);
    wh[H] = 1.0f;
    return dsi_loss_sum(t, DSI_NODE_MAXIN, head, wh);
}

static dsn_status loss(dsn_model *m, dsi_tape *t, const dsi_input *in, dsi_var **out, dsi_terms *terms)
{
    dsae *s = m->state;
    dsi_params *ps = &m->params;
    const int B = (int)in->n;
    batch_ctx c;
    dsn_status st = ctx_make(t, &c, B, s->T, in->mask);
    if (st != DSN_OK) return st;
    dsi_var *x = wrap_x(t, s, in->x, in->n), *xg = global_input(t, s, x);
    dsi_gauss_post qv, qz, pz;
    st = global_post(t, s, &s->genc, ps, &c, xg, &qv);
    if (st != DSN_OK) return st;
    dsi_var *v = dsi_gauss_sample(t, qv.mu, qv.lv, &m->rng, s->noise_mean);
    st = local_post(t, s, ps, &c, s->leq > 0.0f ? eq_input(t, m, &c, x) : x, v, &qz);
    if (st != DSN_OK) return st;
    dsi_var *z = dsi_gauss_sample(t, qz.mu, qz.lv, &m->rng, s->noise_mean);
    st = prior_seq(t, s, ps, &c, z, &pz);
    if (st != DSN_OK) return st;
    dsi_var *y = decode_seq(t, s, ps, &c, z, v);

    const dsi_reduction red = s->scaling == SCALE_MEAN ? DSI_RED_MEAN : DSI_RED_SUM;
    const float k = s->scaling == SCALE_MEAN ? 1.0f : 1.0f / (float)B;
    /* the run-long validation loss is the constrained stage's objective (standard
     * prior, no swap terms) in both stages */
    const int full = full_stage(m) && !m->run_loss;
    dsi_var *rec = dsi_mse(t, y, x, c.mask, red);
    dsi_var *kl_v;
    dsi_gauss_post q1 = {NULL, NULL};
    if (full && (s->informed || s->w_critic > 0.0f)) {
        st = global_post(t, s, &s->snap, ps, &c, xg, &q1);
        if (st != DSN_OK) return st;
    }
    if (full && s->informed) kl_v = dsi_kl_informed(t, qv, q1, NULL, red);
    else kl_v = dsi_kl_std_normal(t, qv.mu, qv.lv, NULL, red);
    dsi_var *kl_z = dsi_kl_seq(t, qz, pz, c.mask, red);
    enum { MAX_PARTS = 14 };
    dsi_var *parts[MAX_PARTS] = {rec, kl_v, kl_z};
    float w[MAX_PARTS] = {k / (2.0f * s->obs_var), k * s->beta_v, k * s->beta_z};
    const char *names[MAX_PARTS] = {"rec", "kl_v", "kl_z"};
    int raw[MAX_PARTS] = {0}; /* logged unweighted (not times k) */
    int np = 3;
    int any_swap = 0;
    for (int j = 0; j < 4; j++) any_swap |= s->w_swap[j] > 0.0f;
    if (full && (any_swap || s->w_critic > 0.0f)) {
        static const char *const sw_names[4] = {"swap_vg", "swap_zg", "swap_vl", "swap_zl"};
        swap_batch sb;
        st = swap_terms(t, m, &c, z, v, qv, qz, red, parts + 3, &sb);
        if (st != DSN_OK) return st;
        for (int j = 0; j < 4; j++) w[3 + j] = k * s->w_swap[j], names[3 + j] = sw_names[j];
        np = 7;
        if (s->w_critic > 0.0f) {
            parts[np] = critic_terms(t, s, ps, &sb, q1, red);
            w[np] = k * s->w_critic;
            names[np++] = "swap_critic";
        }
    }
    /* static_z, iid_z: only while the local encoder learns (dsae always, ts-dsae's full stage) */
    if (s->w_static > 0.0f && B > 1 && (!s->two_stage || full)) {
        parts[np] = static_corr(t, &c, qz.mu, qv.mu);
        w[np] = s->w_static;
        raw[np] = 1;
        names[np++] = "static_z";
    }
    if (s->w_reg > 0.0f && B > 1) { /* v learns in both stages */
        parts[np] = register_corr(t, s, &c, in->x, qv.mu);
        w[np] = s->w_reg;
        raw[np] = 1;
        names[np++] = "register_v";
    }
    if (s->w_iid > 0.0f && (!s->two_stage || full)) {
        parts[np] = iid_kl(t, &c, qz, red);
        w[np] = k * s->w_iid;
        names[np++] = "iid_z";
    }
    if (s->w_adv > 0.0f && B > 1 && (!s->two_stage || full)) {
        parts[np] = adv_term(t, m, &c, qz.mu, qv.mu);
        w[np] = 1.0f;
        raw[np] = 1;
        names[np++] = "adv_z";
    }
    dsi_var *total;
    if (np > 6) { /* rec and the KLs, then the rest in one node */
        dsi_var *rest = sum_terms(t, np - 3, parts + 3, w + 3);
        float w4[4] = {w[0], w[1], w[2], 1.0f};
        dsi_var *sum4[4] = {rec, kl_v, kl_z, rest};
        total = dsi_loss_sum(t, 4, sum4, w4);
    } else {
        total = dsi_loss_sum(t, np, parts, w);
    }
    if (t->status != DSN_OK || !total) return dsi_tape_failure(t);
    dsi_terms_add(terms, "loss", total->x[0]);
    for (int j = 0; j < np; j++)
        dsi_terms_add(terms, names[j], parts[j]->x[0] * (j == 0 ? w[0] : raw[j] ? 1.0f : k));
    *out = total;
    return DSN_OK;
}

/* ---- inference ---- */

static void copy_var(float *dst, const dsi_var *v) { memcpy(dst, v->x, v->n * sizeof(float)); }

static dsn_status encode(const dsn_model *m, dsi_tape *t, const dsi_input *in, dsi_latents *enc)
{
    dsae *s = m->state;
    dsi_params *ps = (dsi_params *)&m->params;
    batch_ctx c;
    dsn_status st = ctx_make(t, &c, (int)in->n, s->T, in->mask);
    if (st != DSN_OK) return st;
    dsi_var *x = wrap_x(t, s, in->x, in->n);
    dsi_gauss_post qv, qz;
    st = global_post(t, s, &s->genc, ps, &c, global_input(t, s, x), &qv);
    if (st != DSN_OK) return st;
    dsi_part_data *g = &enc->parts[0], *l = &enc->parts[1];
    copy_var(g->mean, qv.mu);
    copy_var(g->logvar, qv.lv);
    copy_var(g->value, qv.mu);
    if (in->only_part == 1) return DSN_OK; /* only "global" asked for: skip the local encoder */
    st = local_post(t, s, ps, &c, x, qv.mu, &qz);
    if (st != DSN_OK) return st;
    copy_var(l->mean, qz.mu);
    copy_var(l->logvar, qz.lv);
    copy_var(l->value, qz.mu);
    return DSN_OK;
}

static dsn_status decode(const dsn_model *m, dsi_tape *t, const dsi_latents *enc, float *out)
{
    dsae *s = m->state;
    int n = (int)enc->n_items;
    batch_ctx c;
    dsn_status st = ctx_make(t, &c, n, s->T, NULL);
    if (st != DSN_OK) return st;
    int sv[2] = {n, s->dv}, sz[3] = {n, s->T, s->dz};
    dsi_var *v = dsi_tape_wrap(t, enc->parts[0].value, 2, sv);
    dsi_var *z = dsi_tape_wrap(t, enc->parts[1].value, 3, sz);
    dsi_var *y = decode_seq(t, s, (dsi_params *)&m->params, &c, z, v);
    if (!y) return dsi_tape_failure(t);
    copy_var(out, y);
    return DSN_OK;
}

/* global: v ~ N(0, I); local: z_1 ~ N(0, I), z_t ~ p(z_t | z_<t) through the LSTM prior */
static dsn_status sample(const dsn_model *m, dsi_tape *t, dsi_latents *enc, int part, dsi_rng *rng)
{
    dsae *s = m->state;
    dsi_params *ps = (dsi_params *)&m->params;
    dsi_part_data *pd = &enc->parts[part];
    if (part == 0) {
        size_t n = pd->rows * (size_t)s->dv;
        dsi_rng_fill_normal(rng, pd->value, n, 0.0f, 1.0f);
        memset(pd->mean, 0, n * sizeof(float));
        memset(pd->logvar, 0, n * sizeof(float));
        return DSN_OK;
    }
    const int n = (int)enc->n_items, T = s->T, D = s->dz;
    dsi_var *h[MAX_PRIOR_LAYERS] = {0}, *cs[MAX_PRIOR_LAYERS] = {0};
    dsi_var *zp = dsi_tape_new2(t, n, D, 0);
    if (!zp) return dsi_tape_failure(t);
    for (int k = 0; k < T; k++) {
        const float *mu = NULL, *lv = NULL;
        if (k > 0) {
            dsi_var *x;
            if (dsi_lstm_stack_step(t, &s->prior, ps, zp, h, cs, &x) != DSN_OK) return dsi_tape_failure(t);
            dsi_var *pm, *pl;
            if (dsi_gauss_head_forward(t, &s->phead, ps, x, &pm, &pl) != DSN_OK) return dsi_tape_failure(t);
            mu = pm->x;
            lv = pl->x;
            zp = dsi_tape_new2(t, n, D, 0); /* a fresh input: the cells above keep theirs */
            if (!zp) return dsi_tape_failure(t);
        }
        for (int i = 0; i < n; i++) {
            const size_t o = ((size_t)i * T + k) * D;
            for (int d = 0; d < D; d++) {
                float a = mu ? mu[(size_t)i * D + d] : 0.0f, b = lv ? lv[(size_t)i * D + d] : 0.0f;
                float zz = a + expf(0.5f * b) * dsi_rng_normal(rng);
                zp->x[(size_t)i * D + d] = zz;
                pd->value[o + d] = zz;
                pd->mean[o + d] = a;
                pd->logvar[o + d] = b;
            }
        }
    }
    return DSN_OK;
}

/* dsn_fit defaults: epochs of a fixed number of steps, so a schedule (and
 * constrained_epochs) means the same training whatever the data set's size */
#define DSAE_FIT_DEFAULTS "batch_size=32, steps_per_epoch=50, epochs=40"

/* ---- streaming: one frame at a time ----
 * The local encoder and the decoder of the causal configurations (local
 * encoder mlp or lstm, decoder mlp) need only the frames so far; the static
 * latent is the target's. With posterior=full the local encoder also reads
 * the source's own v, estimated causally from the running mean of the
 * global features (the offline encoder averages every frame of the clip).
 * State: the local LSTM's h and c, the decoder LSTM's h and c, then the
 * running sum of the global features and the frame count. */

static size_t stream_floats(const dsae *s)
{
    size_t n = s->lenc_kind == ENC_LSTM ? 2 * (size_t)s->enc_lstm : 0;
    if (s->dec_kind == ENC_LSTM) n += 2 * (size_t)s->dec_lstm;
    if (s->full) n += (size_t)s->hidden[s->n_hidden - 1] + 1;
    return n;
}

static dsn_status stream_check(const dsn_model *m, size_t *state_floats, int *static_part, int *frame_size)
{
    const dsae *s = m->state;
    if (s->lenc_kind == ENC_BILSTM)
        return dsi_error(DSN_E_UNSUPPORTED, "local_encoder=bilstm reads the future: train with local_encoder=lstm or mlp to stream");
    if (s->dec_kind == ENC_BILSTM)
        return dsi_error(DSN_E_UNSUPPORTED, "decoder=bilstm reads the future: train with decoder=mlp or lstm to stream");
    if (s->lctx > 0)
        return dsi_error(DSN_E_UNSUPPORTED, "local_context=%d reads %d future frames: train with local_context=0 to stream",
                         s->lctx, s->lctx);
    if (s->lcentre)
        return dsi_error(DSN_E_UNSUPPORTED, "local_input=centred subtracts the clip's mean spectrum, which needs the whole "
                         "clip: train with local_input=raw to stream");
    if (s->lflat)
        return dsi_error(DSN_E_UNSUPPORTED, "local_input=flat subtracts the clip's mean envelope, which needs the whole "
                         "clip: train with local_input=raw to stream");
    if (s->znorm)
        return dsi_error(DSN_E_UNSUPPORTED, "z_norm=mean subtracts the clip's mean z, which needs the whole clip: train "
                         "with z_norm=none to stream");
    if (s->full && s->genc_kind == ENC_BILSTM)
        return dsi_error(DSN_E_UNSUPPORTED,
                         "posterior=full reads the source's v, which a bi-LSTM global encoder cannot give causally: "
                         "train with posterior=factorised or global_encoder=mlp to stream");
    *state_floats = stream_floats(s);
    *static_part = 0;
    *frame_size = s->F;
    return DSN_OK;
}

/* one step of an LSTM layer whose h, c [H each] live in state; returns h' */
static dsi_var *lstm_step(dsi_tape *t, const dsi_lstm_layer *l, dsi_params *ps, dsi_var *x, float *state, int H)
{
    int sh[2] = {1, H};
    dsi_var *h1, *c1;
    if (dsi_lstm_layer_step(t, l, ps, x, dsi_tape_wrap(t, state, 2, sh), dsi_tape_wrap(t, state + H, 2, sh), &h1, &c1) !=
            DSN_OK ||
        !h1 || !c1)
        return NULL;
    for (int i = 0; i < H; i++) { /* flush denormals: a decaying cell state must not slow the audio thread */
        state[i] = fabsf(h1->x[i]) < 1e-30f ? 0.0f : h1->x[i];
        state[H + i] = fabsf(c1->x[i]) < 1e-30f ? 0.0f : c1->x[i];
    }
    return h1;
}

static dsn_status stream_step(const dsn_model *m, dsi_tape *t, float *state, float *y, const float *x, const float *v)
{
    const dsae *s = m->state;
    dsi_params *ps = (dsi_params *)&m->params;
    const int H = s->enc_lstm;
    int sx[2] = {1, s->F}, sv[2] = {1, s->dv};
    dsi_var *xv = dsi_tape_wrap(t, x, 2, sx);
    dsi_var *u = dsi_mlp_forward(t, &s->lfeat, ps, xv);
    if (!u) return dsi_tape_failure(t);
    if (s->full) {
        const int hg = s->hidden[s->n_hidden - 1];
        float *sum = state + (s->lenc_kind == ENC_LSTM ? 2 * H : 0) + (s->dec_kind == ENC_LSTM ? 2 * s->dec_lstm : 0),
              *count = sum + hg;
        dsi_var *g = dsi_mlp_forward(t, &s->genc.feat, ps, s->genv ? envelope(t, s, xv) : xv);
        dsi_var *h = dsi_tape_new2(t, 1, hg, 0);
        if (!g || !h) return dsi_tape_failure(t);
        count[0] += 1.0f;
        for (int i = 0; i < hg; i++) {
            sum[i] += g->x[i];
            h->x[i] = sum[i] / count[0];
        }
        dsi_var *mu, *lv;
        dsn_status st = dsi_gauss_head_forward(t, &s->genc.head, ps, h, &mu, &lv);
        if (st != DSN_OK) return st;
        dsi_var *uv[2] = {u, mu};
        u = dsi_concat(t, uv, 2, 1);
    }
    if (s->lenc_kind == ENC_LSTM) {
        u = lstm_step(t, &s->lfw, ps, u, state, H);
        if (!u) return dsi_tape_failure(t);
    }
    dsi_var *mu, *lv;
    dsn_status st = dsi_gauss_head_forward(t, &s->zhead, ps, u, &mu, &lv);
    if (st != DSN_OK) return st;
    dsi_var *zv[3] = {mu, NULL, NULL};
    int nz = 1;
    if (s->dec_kind == ENC_LSTM) {
        zv[nz] = lstm_step(t, &s->dfw, ps, mu, state + (s->lenc_kind == ENC_LSTM ? 2 * H : 0), s->dec_lstm);
        if (!zv[nz++]) return dsi_tape_failure(t);
    }
    dsi_var *vv = dsi_tape_wrap(t, v, 2, sv);
    zv[nz++] = vv;
    dsi_var *out = dec_mlp(t, s, ps, dsi_concat(t, zv, nz, 1), vv);
    if (!out) return dsi_tape_failure(t);
    copy_var(y, out);
    return DSN_OK;
}

static int run_loss_differs(const dsn_model *m) { return full_stage(m); }

const dsi_model_vt dsi_dsae_vt = {
    .name = "dsae",
    DSI_MODEL_HOOKS(create_dsae),
    .fit_defaults = DSAE_FIT_DEFAULTS,
    .lr_default = "2e-3",
    .stream_check = stream_check,
    .stream_step = stream_step,
};

const dsi_model_vt dsi_ts_dsae_vt = {
    .name = "ts-dsae",
    DSI_MODEL_HOOKS(create_ts),
    .fit_defaults = DSAE_FIT_DEFAULTS,
    .lr_default = "2e-3",
    .stages = "constrained, full",
    .stage = stage,
    .set_stage = set_stage,
    .epoch_end = epoch_end,
    .run_loss_differs = run_loss_differs,
    .stream_check = stream_check,
    .stream_step = stream_step,
};
