/* optim.h - first-order optimizers over a flat parameter store (internal).
 *
 * A dsi_optim updates the values of a finalized dsi_params from its
 * gradients. Kinds:
 *   SGD    g = grad + wd w;  buf = mu buf + g;  d = nesterov ? g + mu buf : buf
 *          (d = g when mu == 0);  w -= lr d                    (PyTorch's SGD,
 *          dampening 0)
 *   Adam   g = grad + wd w (L2 in the gradient);  m = b1 m + (1-b1) g;
 *          v = b2 v + (1-b2) g^2;  vmax = max(vmax, v) if AMSGrad;
 *          w -= lr / (1-b1^t) * m / (sqrt(v or vmax) / sqrt(1-b2^t) + eps)
 *          (Kingma & Ba, Alg. 1, with bias correction; AMSGrad of Reddi et al.
 *          keeps the running maximum of v, as PyTorch does)
 *   AdamW  w *= 1 - lr wd (decoupled decay, Loshchilov & Hutter), then Adam
 *          without the L2 term.
 * t is the 1-based number of the update. State buffers (m, v, vmax, or the
 * momentum buffer) have params->n floats each and are allocated once by
 * dsi_optim_init; dsi_optim_step never allocates.
 *
 * Frozen groups are skipped entirely: neither their weights nor their slices
 * of the state change, and their (stale) gradients are not read.
 *
 * Learning rate: cfg.lr is the base rate; an optional schedule callback maps
 * (step, base) to the rate of each update, step being the 0-based index of
 * the update about to be taken (= the number of updates done so far). */
#ifndef DSI_OPTIM_OPTIM_H
#define DSI_OPTIM_OPTIM_H

#include "autodiff/params.h"
#include "core/fileio.h"
#include "core/status.h"

#include <stdint.h>

typedef enum dsi_optim_kind {
    DSI_OPTIM_SGD = 0,
    DSI_OPTIM_ADAM = 1,
    DSI_OPTIM_ADAMW = 2,
    DSI_OPTIM_KIND_COUNT_
} dsi_optim_kind;

typedef struct dsi_optim_config {
    dsi_optim_kind kind;
    float lr;            /* base learning rate, >= 0 */
    float beta1, beta2;  /* Adam/AdamW moment decays, in [0, 1) */
    float eps;           /* Adam/AdamW denominator guard, > 0 */
    float weight_decay;  /* >= 0: L2 for SGD/Adam, decoupled for AdamW */
    float momentum;      /* SGD, in [0, 1) */
    int nesterov;        /* SGD: Nesterov momentum (needs momentum > 0) */
    int amsgrad;         /* Adam/AdamW: use the running max of v */
    float clip_norm;     /* > 0: scale gradients to this global L2 norm at most */
} dsi_optim_config;

/* Learning-rate schedule: the rate of update number `step` (0-based). */
typedef float (*dsi_lr_fn)(void *ctx, int64_t step, float base_lr);

typedef struct dsi_optim {
    dsi_optim_config cfg;
    dsi_params *ps;
    size_t n;            /* floats per state buffer (= ps->n) */
    int n_params;        /* ps->count at creation */
    int64_t step;        /* updates done */
    float *m;            /* Adam first moment, or the SGD momentum buffer (NULL if unused) */
    float *v;            /* Adam second moment (NULL for SGD) */
    float *vmax;         /* AMSGrad running max of v (NULL unless amsgrad) */
    dsi_lr_fn lr_fn;     /* NULL = constant cfg.lr */
    void *lr_ctx;
    float last_lr;       /* rate used by the last update */
    double last_norm;    /* global gradient norm before clipping, of the last update */
} dsi_optim;

/* Defaults: SGD lr 0.01, momentum 0; Adam/AdamW lr 1e-3, betas 0.9/0.999,
 * eps 1e-8; weight decay 0 (AdamW 0.01); no clipping. */
dsi_optim_config dsi_optim_defaults(dsi_optim_kind kind);

/* Check the config (DSN_E_OPTION with a message) and allocate zeroed state for
 * a finalized ps (DSN_E_STATE otherwise). ps must outlive the optimizer and
 * keep its layout. On failure o is left released (safe to release again). */
dsn_status dsi_optim_init(dsi_optim *o, dsi_params *ps, const dsi_optim_config *cfg);
void dsi_optim_release(dsi_optim *o);
/* Zero the state and the step count (e.g. when a training stage changes). */
void dsi_optim_reset(dsi_optim *o);
/* Install a schedule (fn NULL = constant). ctx must outlive the optimizer. */
void dsi_optim_set_schedule(dsi_optim *o, dsi_lr_fn fn, void *ctx);
/* The rate the next update will use. */
float dsi_optim_lr(const dsi_optim *o);

/* One update from the current gradients of the unfrozen parameters.
 * *grad_norm (may be NULL) receives their global L2 norm before clipping.
 * If any unfrozen gradient is NaN/Inf, or the schedule gives a non-finite or
 * negative rate: DSN_E_NUMERIC with a message, and nothing (weights, state,
 * step, gradients) is modified. Clipping (cfg.clip_norm > 0) scales the
 * gradients exactly as dsi_params_clip_grad would, but inside the update loop,
 * so the gradient buffer itself is left as it was. */
dsn_status dsi_optim_step(dsi_optim *o, double *grad_norm);

/* dsi_optim_step on the flat elements [lo, hi) only, with the global
 * gradient norm given (a data-parallel process updates its chunk; `norm` is
 * the square root of the sum over all chunks of dsi_optim_sumsq_range): the
 * checks (non-finite norm or rate) and the update of those elements are
 * dsi_optim_step's, bit for bit, for that norm; weights, state and gradients
 * outside the range are not touched. The step count, last_lr and last_norm
 * advance as in dsi_optim_step. */
dsn_status dsi_optim_step_range(dsi_optim *o, size_t lo, size_t hi, double norm);
/* The sum of squares (in double) of the unfrozen gradients in [lo, hi) of
 * ps's flat buffer (over [0, ps->n): the square of dsi_optim_step's norm). */
double dsi_optim_sumsq_range(const dsi_params *ps, size_t lo, size_t hi);

/* Serialise kind, hyper-parameters, step and state, little-endian, with a
 * CRC-32 (format in docs/optim.md). The schedule callback is not saved: install
 * it again after loading; it resumes from the saved step. */
dsn_status dsi_optim_save(const dsi_optim *o, dsi_writer *w);
/* Restore into an optimizer created for the same params with the same kind
 * and state layout (AMSGrad flag, SGD with/without momentum). The saved
 * hyper-parameters and step replace the current ones. Mismatches, truncation
 * and corruption give DSN_E_FORMAT with a message and leave o unchanged. */
dsn_status dsi_optim_load(dsi_optim *o, dsi_reader *r);

/* ---- built-in schedules (schedule.c) ---- */
typedef enum dsi_sched_kind {
    DSI_SCHED_CONSTANT = 0,  /* lr = base */
    DSI_SCHED_STEP,          /* lr = base gamma^floor(step / step_size) */
    DSI_SCHED_COSINE         /* linear warm-up, then cosine decay to min_ratio base */
} dsi_sched_kind;

typedef struct dsi_schedule {
    dsi_sched_kind kind;
    int64_t step_size;       /* STEP: steps per decay (>= 1) */
    float gamma;             /* STEP: factor per decay */
    int64_t warmup;          /* COSINE: warm-up steps (0 = none) */
    int64_t total;           /* COSINE: step at which the decay reaches its floor */
    float min_ratio;         /* COSINE: floor as a fraction of base */
} dsi_schedule;

/* COSINE, for step s:
 *   s < warmup:           base (s + 1) / warmup
 *   otherwise:            p = min(1, (s - warmup) / max(1, total - warmup)),
 *                         base (min_ratio + (1 - min_ratio) (1 + cos(pi p)) / 2) */
float dsi_schedule_lr(const dsi_schedule *s, int64_t step, float base_lr);
/* Adapter for dsi_optim_set_schedule: ctx is a const dsi_schedule *. */
float dsi_schedule_fn(void *ctx, int64_t step, float base_lr);

#endif
