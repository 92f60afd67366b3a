/* optim.c - SGD (momentum, Nesterov), Adam (AMSGrad), AdamW over flat params;
 * saving and restoring their state. */
#include "optim/optim.h"
#include "core/alloc.h"
#include "core/endian.h"
#include "core/error.h"
#include "tensor/simd.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_name[DSI_OPTIM_KIND_COUNT_] = {"SGD", "Adam", "AdamW"};

dsi_optim_config dsi_optim_defaults(dsi_optim_kind kind)
{
    dsi_optim_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.beta1 = 0.9f;
    c.beta2 = 0.999f;
    c.eps = 1e-8f;
    if (kind == DSI_OPTIM_SGD) {
        c.lr = 0.01f;
    } else {
        c.lr = 1e-3f;
        if (kind == DSI_OPTIM_ADAMW) c.weight_decay = 0.01f;
    }
    return c;
}

static int fin_in(float x, float lo, float hi) { return isfinite(x) && x >= lo && x < hi; }

static dsn_status check_config(const dsi_optim_config *c)
{
    if ((int)c->kind < 0 || c->kind >= DSI_OPTIM_KIND_COUNT_)
        return dsi_error(DSN_E_OPTION, "unknown optimizer kind %d", (int)c->kind);
    if (!fin_in(c->lr, 0.0f, INFINITY)) return dsi_error(DSN_E_OPTION, "learning rate %g must be finite and >= 0", (double)c->lr);
    if (!fin_in(c->weight_decay, 0.0f, INFINITY))
        return dsi_error(DSN_E_OPTION, "weight decay %g must be finite and >= 0", (double)c->weight_decay);
    if (!(isfinite(c->clip_norm) && c->clip_norm >= 0.0f))
        return dsi_error(DSN_E_OPTION, "clip norm %g must be finite and >= 0 (0 = off)", (double)c->clip_norm);
    if (c->kind == DSI_OPTIM_SGD) {
        if (!fin_in(c->momentum, 0.0f, 1.0f)) return dsi_error(DSN_E_OPTION, "momentum %g must be in [0, 1)", (double)c->momentum);
        if (c->nesterov && c->momentum <= 0.0f) return dsi_error(DSN_E_OPTION, "Nesterov momentum needs momentum > 0");
        if (c->amsgrad) return dsi_error(DSN_E_OPTION, "AMSGrad applies to Adam/AdamW only");
    } else {
        if (!fin_in(c->beta1, 0.0f, 1.0f) || !fin_in(c->beta2, 0.0f, 1.0f))
            return dsi_error(DSN_E_OPTION, "betas (%g, %g) must be in [0, 1)", (double)c->beta1, (double)c->beta2);
        if (!(isfinite(c->eps) && c->eps > 0.0f)) return dsi_error(DSN_E_OPTION, "eps %g must be > 0", (double)c->eps);
        if (c->nesterov) return dsi_error(DSN_E_OPTION, "Nesterov applies to SGD only");
    }
    return DSN_OK;
}

/* Which state buffers a config needs: bit 0 m, bit 1 v, bit 2 vmax. */
static unsigned buf_mask(const dsi_optim_config *c)
{
    if (c->kind == DSI_OPTIM_SGD) return c->momentum > 0.0f ? 1u : 0u;
    return 3u | (c->amsgrad ? 4u : 0u);
}

static unsigned popcount3(unsigned m) { return (m & 1u) + (m >> 1 & 1u) + (m >> 2 & 1u); }

void dsi_optim_release(dsi_optim *o)
{
    if (!o) return;
    dsi_aligned_free(o->m);
    dsi_aligned_free(o->v);
    dsi_aligned_free(o->vmax);
    memset(o, 0, sizeof *o);
}

static float *alloc_state(size_t n)
{
    size_t bytes = (n ? n : 1) * sizeof(float);
    float *p = dsi_aligned_alloc(bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

dsn_status dsi_optim_init(dsi_optim *o, dsi_params *ps, const dsi_optim_config *cfg)
{
    DSI_CHECK_NULL(o, "optimizer");
    memset(o, 0, sizeof *o);
    DSI_CHECK_NULL(ps, "params");
    DSI_CHECK_NULL(cfg, "optimizer config");
    if (!ps->finalized) return dsi_error(DSN_E_STATE, "optimizer needs finalized parameters");
    dsn_status st = check_config(cfg);
    if (st) return st;
    o->cfg = *cfg;
    o->ps = ps;
    o->n = ps->n;
    o->n_params = ps->count;
    o->last_lr = cfg->lr;
    unsigned mask = buf_mask(cfg);
    if (((mask & 1u) && !(o->m = alloc_state(o->n))) || ((mask & 2u) && !(o->v = alloc_state(o->n))) ||
        ((mask & 4u) && !(o->vmax = alloc_state(o->n)))) {
        dsi_optim_release(o);
        return dsi_error(DSN_E_NOMEM, "out of memory for the optimizer state (%zu floats)", ps->n);
    }
    return DSN_OK;
}

void dsi_optim_reset(dsi_optim *o)
{
    if (!o) return;
    size_t bytes = o->n * sizeof(float);
    if (o->m) memset(o->m, 0, bytes);
    if (o->v) memset(o->v, 0, bytes);
    if (o->vmax) memset(o->vmax, 0, bytes);
    o->step = 0;
}

void dsi_optim_set_schedule(dsi_optim *o, dsi_lr_fn fn, void *ctx)
{
    if (!o) return;
    o->lr_fn = fn;
    o->lr_ctx = ctx;
}

float dsi_optim_lr(const dsi_optim *o)
{
    if (!o) return 0.0f;
    return o->lr_fn ? o->lr_fn(o->lr_ctx, o->step, o->cfg.lr) : o->cfg.lr;
}

/* ---- update kernels: one contiguous slice each ---- */

/* g = s grad + wd w;  buf = mu buf + g;  w -= lr (nesterov ? g + mu buf : buf) */
static void sgd_slice(float *restrict w, const float *restrict grad, float *restrict buf, size_t n, float s,
                      float lr, float wd, float mu, int nesterov)
{
    if (!buf) {
        for (size_t i = 0; i < n; i++) w[i] -= lr * (grad[i] * s + wd * w[i]);
        return;
    }
    if (nesterov) {
        for (size_t i = 0; i < n; i++) {
            float g = grad[i] * s + wd * w[i];
            float b = mu * buf[i] + g;
            buf[i] = b;
            w[i] -= lr * (g + mu * b);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float b = mu * buf[i] + (grad[i] * s + wd * w[i]);
            buf[i] = b;
            w[i] -= lr * b;
        }
    }
}

typedef struct adam_k {
    float s;          /* clip scale (1 when not clipping) */
    float b1, c1;     /* beta1, 1 - beta1 */
    float b2, c2;     /* beta2, 1 - beta2 */
    float l2;         /* wd for Adam, 0 for AdamW */
    float decay;      /* 1 - lr wd for AdamW, 1 for Adam */
    float step_size;  /* lr / (1 - beta1^t) */
    float inv_sbc2;   /* 1 / sqrt(1 - beta2^t) */
    float eps;
} adam_k;

/* m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  w -= step_size m / (sqrt(v)/sqrt(bc2) + eps) */
static void adam_slice(float *restrict w, const float *restrict grad, float *restrict m, float *restrict v,
                       float *restrict vmax, size_t n, const adam_k *k)
{
    const float s = k->s, b1 = k->b1, c1 = k->c1, b2 = k->b2, c2 = k->c2, l2 = k->l2, decay = k->decay;
    const float ss = k->step_size, ib = k->inv_sbc2, eps = k->eps;
    if (vmax) {
        for (size_t i = 0; i < n; i++) {
            float wi = w[i];
            float g = grad[i] * s + l2 * wi;
            float mi = b1 * m[i] + c1 * g;
            float vi = b2 * v[i] + c2 * (g * g);
            float vm = vmax[i] > vi ? vmax[i] : vi;
            m[i] = mi;
            v[i] = vi;
            vmax[i] = vm;
            w[i] = wi * decay - ss * mi / (sqrtf(vm) * ib + eps);
        }
    } else { /* the same arithmetic, vectorised (bit-identical) */
        dsi_simd_adam(w, grad, m, v, n, s, b1, c1, b2, c2, l2, decay, ss, ib, eps);
    }
}

/* the part of parameter p inside [lo, hi): [*a, *b) (empty: *a >= *b) */
static void clip_range(const dsi_param *p, size_t lo, size_t hi, size_t *a, size_t *b)
{
    *a = p->offset > lo ? p->offset : lo;
    *b = p->offset + p->var.n < hi ? p->offset + p->var.n : hi;
}

/* dsi_params_grad_norm's sum with the vectorised sum of squares (double accumulators) */
double dsi_optim_sumsq_range(const dsi_params *ps, size_t lo, size_t hi)
{
    double s = 0.0;
    for (int i = 0; i < ps->count; i++) {
        const dsi_param *p = &ps->list[i];
        size_t a, b;
        clip_range(p, lo, hi, &a, &b);
        if (!ps->frozen[p->group] && b > a) s += dsi_simd_sumsq(ps->grad + a, b - a);
    }
    return s;
}

/* the update of [lo, hi) with the global norm */
static dsn_status step_range(dsi_optim *o, size_t lo, size_t hi, double norm)
{
    dsi_params *ps = o->ps;
    if (!isfinite(norm))
        return dsi_error(DSN_E_NUMERIC, "non-finite gradient (NaN or infinity) at optimizer step %lld; "
                         "parameters left unchanged", (long long)o->step);
    float lr = dsi_optim_lr(o);
    if (!isfinite(lr) || lr < 0.0f)
        return dsi_error(DSN_E_NUMERIC, "learning-rate schedule gave %g at step %lld", (double)lr,
                         (long long)o->step);
    const dsi_optim_config *c = &o->cfg;
    /* same scale as dsi_params_clip_grad */
    float s = 1.0f;
    if (c->clip_norm > 0.0f && norm > (double)c->clip_norm) s = (float)((double)c->clip_norm / (norm + 1e-12));

    int64_t t = o->step + 1;
    adam_k k = {0};
    if (c->kind != DSI_OPTIM_SGD) {
        double bc1 = 1.0 - pow((double)c->beta1, (double)t);
        double bc2 = 1.0 - pow((double)c->beta2, (double)t);
        k.s = s;
        k.b1 = c->beta1;
        k.c1 = 1.0f - c->beta1;
        k.b2 = c->beta2;
        k.c2 = 1.0f - c->beta2;
        k.l2 = c->kind == DSI_OPTIM_ADAM ? c->weight_decay : 0.0f;
        k.decay = c->kind == DSI_OPTIM_ADAMW ? 1.0f - lr * c->weight_decay : 1.0f;
        k.step_size = (float)((double)lr / bc1);
        k.inv_sbc2 = (float)(1.0 / sqrt(bc2));
        k.eps = c->eps;
    }
    for (int i = 0; i < ps->count; i++) {
        const dsi_param *p = &ps->list[i];
        size_t off, end;
        clip_range(p, lo, hi, &off, &end);
        if (ps->frozen[p->group] || end <= off) continue;
        size_t n = end - off;
        float *w = ps->data + off;
        const float *g = ps->grad + off;
        if (c->kind == DSI_OPTIM_SGD)
            sgd_slice(w, g, o->m ? o->m + off : NULL, n, s, lr, c->weight_decay, c->momentum, c->nesterov);
        else
            adam_slice(w, g, o->m + off, o->v + off, o->vmax ? o->vmax + off : NULL, n, &k);
    }
    o->step = t;
    o->last_lr = lr;
    o->last_norm = norm;
    return DSN_OK;
}

static dsn_status check_layout(const dsi_optim *o)
{
    const dsi_params *ps = o->ps;
    if (!ps || !ps->data) return dsi_error(DSN_E_STATE, "optimizer is not initialised");
    if (ps->n != o->n || ps->count != o->n_params)
        return dsi_error(DSN_E_STATE, "parameter layout changed since the optimizer was created");
    return DSN_OK;
}

dsn_status dsi_optim_step(dsi_optim *o, double *grad_norm)
{
    DSI_CHECK_NULL(o, "optimizer");
    dsn_status st = check_layout(o);
    if (st != DSN_OK) return st;
    /* one pass over the unfrozen gradients: the norm, and NaN/Inf detection
     * (any non-finite element makes the double sum of squares non-finite) */
    double norm = sqrt(dsi_optim_sumsq_range(o->ps, 0, o->ps->n));
    if (grad_norm) *grad_norm = norm;
    return step_range(o, 0, o->ps->n, norm);
}

dsn_status dsi_optim_step_range(dsi_optim *o, size_t lo, size_t hi, double norm)
{
    DSI_CHECK_NULL(o, "optimizer");
    dsn_status st = check_layout(o);
    if (st != DSN_OK) return st;
    if (lo > hi || hi > o->n) return dsi_error(DSN_E_INVALID, "optimizer range [%zu, %zu) of %zu", lo, hi, o->n);
    return step_range(o, lo, hi, norm);
}

/* ---- state file ----
 * "DSOP", u32 version, u32 kind, u32 flags (1 nesterov, 2 amsgrad),
 * f32 lr, beta1, beta2, eps, weight_decay, momentum, clip_norm,
 * u64 step, u64 n, u32 n_params, u32 buffer mask (1 m, 2 v, 4 vmax),
 * the buffers present (n f32 each, in the order m, v, vmax),
 * u32 CRC-32 of everything before it. */
#define OPT_MAGIC "DSOP"
#define OPT_VERSION 1u
#define OPT_HEADER 68u

dsn_status dsi_optim_save(const dsi_optim *o, dsi_writer *w)
{
    DSI_CHECK_NULL(o, "optimizer");
    DSI_CHECK_NULL(w, "writer");
    if (!o->ps) return dsi_error(DSN_E_STATE, "optimizer is not initialised");
    const dsi_optim_config *c = &o->cfg;
    size_t start = w->len;
    unsigned char h[OPT_HEADER];
    memcpy(h, OPT_MAGIC, 4);
    dsi_put_u32(h + 4, OPT_VERSION);
    dsi_put_u32(h + 8, (uint32_t)c->kind);
    dsi_put_u32(h + 12, (c->nesterov ? 1u : 0u) | (c->amsgrad ? 2u : 0u));
    const float hp[7] = {c->lr, c->beta1, c->beta2, c->eps, c->weight_decay, c->momentum, c->clip_norm};
    for (int i = 0; i < 7; i++) dsi_put_f32(h + 16 + 4 * i, hp[i]);
    dsi_put_u64(h + 44, (uint64_t)o->step);
    dsi_put_u64(h + 52, (uint64_t)o->n);
    dsi_put_u32(h + 60, (uint32_t)o->n_params);
    dsi_put_u32(h + 64, buf_mask(c));
    dsi_write_bytes(w, h, sizeof h);
    if (o->m) dsi_write_f32s(w, o->m, o->n);
    if (o->v) dsi_write_f32s(w, o->v, o->n);
    if (o->vmax) dsi_write_f32s(w, o->vmax, o->n);
    if (w->failed) return dsi_error(DSN_E_NOMEM, "out of memory writing the optimizer state");
    dsi_write_u32(w, dsi_crc32(0, w->buf + start, w->len - start));
    if (w->failed) return dsi_error(DSN_E_NOMEM, "out of memory writing the optimizer state");
    return DSN_OK;
}

static void read_buf(float *dst, const unsigned char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = dsi_get_f32(src + 4 * i);
}

dsn_status dsi_optim_load(dsi_optim *o, dsi_reader *r)
{
    DSI_CHECK_NULL(o, "optimizer");
    DSI_CHECK_NULL(r, "reader");
    if (!o->ps) return dsi_error(DSN_E_STATE, "optimizer is not initialised");
    const char *what = r->what;
    const unsigned char *h = dsi_read_view(r, OPT_HEADER);
    if (!h) return dsi_error(DSN_E_FORMAT, "'%s': optimizer state truncated in its header", what);
    if (memcmp(h, OPT_MAGIC, 4) != 0) return dsi_error(DSN_E_FORMAT, "'%s': not an optimizer state (bad magic)", what);
    uint32_t version = dsi_get_u32(h + 4);
    if (version != OPT_VERSION)
        return dsi_error(DSN_E_FORMAT, "'%s': optimizer state version %u, this build reads %u", what, version,
                         OPT_VERSION);
    uint32_t kind = dsi_get_u32(h + 8), flags = dsi_get_u32(h + 12);
    dsi_optim_config c = o->cfg;
    if (kind >= DSI_OPTIM_KIND_COUNT_ || flags > 3u)
        return dsi_error(DSN_E_FORMAT, "'%s': bad optimizer kind %u or flags %u", what, kind, flags);
    if (kind != (uint32_t)o->cfg.kind)
        return dsi_error(DSN_E_FORMAT, "'%s': optimizer state is for %s, this optimizer is %s", what,
                         kind_name[kind], kind_name[o->cfg.kind]);
    c.nesterov = (flags & 1u) != 0;
    c.amsgrad = (flags & 2u) != 0;
    float hp[7];
    for (int i = 0; i < 7; i++) hp[i] = dsi_get_f32(h + 16 + 4 * i);
    c.lr = hp[0]; c.beta1 = hp[1]; c.beta2 = hp[2]; c.eps = hp[3];
    c.weight_decay = hp[4]; c.momentum = hp[5]; c.clip_norm = hp[6];
    uint64_t step = dsi_get_u64(h + 44), n = dsi_get_u64(h + 52);
    uint32_t n_params = dsi_get_u32(h + 60), mask = dsi_get_u32(h + 64);
    if (n != (uint64_t)o->n || n_params != (uint32_t)o->n_params)
        return dsi_error(DSN_E_FORMAT,
                         "'%s': optimizer state is for %llu parameters (%llu floats), the model has %d (%zu floats)",
                         what, (unsigned long long)n_params, (unsigned long long)n, o->n_params, o->n);
    if (step > (uint64_t)INT64_MAX) return dsi_error(DSN_E_FORMAT, "'%s': bad optimizer step count", what);
    if (check_config(&c) != DSN_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", dsn_last_error());
        return dsi_error(DSN_E_FORMAT, "'%s': bad optimizer hyper-parameters: %s", what, msg);
    }
    if (mask != buf_mask(&c) || mask != buf_mask(&o->cfg))
        return dsi_error(DSN_E_FORMAT, "'%s': optimizer state layout (buffers %u) does not match this optimizer (%u)",
                         what, mask, buf_mask(&o->cfg));
    size_t nb = popcount3(mask);
    if (n > (SIZE_MAX - 4) / 4 / (nb ? nb : 1))
        return dsi_error(DSN_E_FORMAT, "'%s': optimizer state too large", what);
    size_t body = nb * (size_t)n * 4;
    const unsigned char *data = dsi_read_view(r, body);
    const unsigned char *crcp = data ? dsi_read_view(r, 4) : NULL;
    if (!crcp) return dsi_error(DSN_E_FORMAT, "'%s': optimizer state truncated", what);
    uint32_t crc = dsi_crc32(dsi_crc32(0, h, OPT_HEADER), data, body);
    if (crc != dsi_get_u32(crcp))
        return dsi_error(DSN_E_FORMAT, "'%s': optimizer state is corrupt (CRC mismatch)", what);
    for (size_t i = 0; i < body / 4; i++) {
        float x = dsi_get_f32(data + 4 * i);
        /* moments are finite; second moments (every buffer after the first of Adam) are >= 0 */
        if (!isfinite(x) || (x < 0.0f && (i >= (size_t)n || !(mask & 1u))))
            return dsi_error(DSN_E_FORMAT, "'%s': optimizer state value %zu is %g (non-finite or a negative second moment)",
                             what, i, (double)x);
    }
    /* everything checked: commit */
    const unsigned char *p = data;
    if (mask & 1u) { read_buf(o->m, p, (size_t)n); p += 4 * (size_t)n; }
    if (mask & 2u) { read_buf(o->v, p, (size_t)n); p += 4 * (size_t)n; }
    if (mask & 4u) read_buf(o->vmax, p, (size_t)n);
    o->cfg = c;
    o->step = (int64_t)step;
    o->last_lr = c.lr;
    return DSN_OK;
}
