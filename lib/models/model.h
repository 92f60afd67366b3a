/* model.h - the one interface every model family implements (internal).
 *
 * The API layer, the trainer, the model file and the bindings only ever talk
 * to a model through this vtable, so none of them special-cases a model.
 * A model is chosen by name (dsi_model_find) and built from a dsn_options bag;
 * the bag is saved in the model file and replayed on load, so a model's
 * configuration needs no format of its own. */
#ifndef DSI_MODELS_MODEL_H
#define DSI_MODELS_MODEL_H

#include "core/options.h"
#include "autodiff/params.h"
#include "autodiff/tape.h"
#include "core/rng.h"
#include "core/fileio.h"
#include "core/status.h"
#include "latent/latents.h"

#define DSI_MAX_TERMS 16
#define DSI_PART_NAME 32

/* How many rows a latent part has for a batch of n observations. */
typedef enum dsi_scope {
    DSI_SCOPE_GROUP = 0,    /* one per group (ML-VAE content) */
    DSI_SCOPE_ITEM = 1,     /* one per observation (ML-VAE style, DSAE global v) */
    DSI_SCOPE_FRAME = 2,    /* one per frame: n x T rows (DSAE local z_t) */
    DSI_SCOPE_POSITION = 3  /* one per code position: n x P rows (VQ-VAE codes) */
} dsi_scope;

typedef enum dsi_part_kind {
    DSI_PART_GAUSSIAN = 0,  /* mean, logvar, value */
    DSI_PART_CODES = 1      /* integer codes and their vectors (value) */
} dsi_part_kind;

typedef struct dsi_part_desc {
    char name[DSI_PART_NAME];
    dsi_scope scope;
    dsi_part_kind kind;
    int dim;                /* floats per row */
    int per_item;           /* rows per observation for FRAME/POSITION scopes */
} dsi_part_desc;

/* One batch of observations as the models see it. */
typedef struct dsi_input {
    const float *x;         /* [n, obs_size] */
    size_t n;
    const int32_t *group;   /* [n] dense ids 0..n_groups-1, or NULL: each its own group */
    size_t n_groups;
    const float *mask;      /* [n, T] frame mask for sequences, or NULL = all valid */
    int only_part;          /* encode: 0 = every part; p + 1 = only part p is needed
                             * (a model may skip the work of the others) */
} dsi_input;

/* A list of up to MAX named values (static names) and its add function, which
 * drops what does not fit: DSI_NAMED_VALUES(dsi_terms, dsi_terms_add, float, 16)
 * defines struct dsi_terms {n, names[16], values[16]} and dsi_terms_add. */
#define DSI_NAMED_VALUES(type, add, value_type, max)                                                            \
    typedef struct type {                                                                                        \
        int n;                                                                                                   \
        const char *names[max];                                                                                  \
        value_type values[max];                                                                                  \
    } type;                                                                                                      \
    static inline void add(type *l, const char *name, value_type v)                                             \
    {                                                                                                            \
        if (l && l->n < (max)) {                                                                                 \
            l->names[l->n] = name;                                                                               \
            l->values[l->n++] = v;                                                                               \
        }                                                                                                        \
    }

/* Named loss terms reported to the progress callback. */
DSI_NAMED_VALUES(dsi_terms, dsi_terms_add, float, DSI_MAX_TERMS)

/* Named figures of a model (dsn_model_stats): static names, double values. */
#define DSI_MAX_STATS 32
DSI_NAMED_VALUES(dsi_stats, dsi_stats_add, double, DSI_MAX_STATS)

/* Batches of a dataset, for statistics measured over it: next() fills *in
 * with the next batch (in->n = 0 after the last one). */
typedef struct dsi_batches {
    dsn_status (*next)(void *ctx, dsi_input *in);
    void *ctx;
} dsi_batches;

typedef struct dsi_model_vt dsi_model_vt;

struct dsn_model {
    const dsi_model_vt *vt;
    void *state;                  /* the family's own struct */
    dsi_params params;
    dsi_rng rng;                  /* training noise (reparameterisation, batches) */
    uint64_t seed;
    dsn_options *opts;            /* creation options, saved with the model */
    int obs_nd;
    int obs_shape[3];
    size_t obs_size;              /* floats per observation */
    int n_parts;
    dsi_part_desc parts[DSI_MAX_PARTS];
    int epoch;                    /* epochs completed (for stage schedules) */
    int objective;                /* bumped by a model whose objective changes (a stage
                                   * switch): losses before and after are not comparable */
    int run_loss;                 /* set by dsn_fit while it measures the run-long validation
                                   * loss: loss() then computes the family's one definition for
                                   * the whole run (no stage terms, no warm-up weights) */
    dsi_tape tape;                /* training tape, reused every step */
    dsi_terms last_terms;         /* loss terms of the last training step */
    int64_t skipped_steps;        /* training steps skipped (non-finite loss or gradient)
                                   * since the model was created or loaded */
    int skipped_in_row;           /* ... of them since the last accepted step */
    const struct dsi_dist *dist;  /* during a data-parallel dsn_fit: the processes (else NULL),
                                   * for state kept outside the gradients (VQ-VAE's EMA) */
    struct dsi_bank *bank;        /* named static latents (api/bank.h), or NULL */
    dsn_options *audio;           /* the audio front end it was trained with (api/front_end.h:
                                   * every feature key and frames), or NULL */
};

struct dsi_model_vt {
    const char *name;
    /* Read options (via r), set obs shape and parts, declare parameters
     * (before finalize); allocate m->state. */
    dsn_status (*create)(struct dsn_model *m, dsi_optr *r);
    /* After dsi_params_finalize: initialise parameter values from m->rng. */
    void (*init_params)(struct dsn_model *m);
    void (*destroy)(struct dsn_model *m);
    /* The training objective for one batch on the tape (a scalar), plus terms. */
    dsn_status (*loss)(struct dsn_model *m, dsi_tape *t, const dsi_input *in, dsi_var **loss, dsi_terms *terms);
    /* Posterior statistics of every part into enc (rows set by the model). */
    dsn_status (*encode)(const struct dsn_model *m, dsi_tape *t, const dsi_input *in, dsi_latents *enc);
    /* Observations (likelihood means) from enc's values: [n_items, obs_size]. */
    dsn_status (*decode)(const struct dsn_model *m, dsi_tape *t, const dsi_latents *enc, float *out);
    /* Fill part p's values from the prior (may be NULL: unsupported). */
    dsn_status (*sample)(const struct dsn_model *m, dsi_tape *t, dsi_latents *enc, int part, dsi_rng *rng);
    /* 1: dsn_fit draws batches of groups from a labelled dataset (ML-VAE);
     * 0: labels are for evaluation only and batches are plain shuffles. */
    int grouped;
    /* dsn_fit defaults of this family ("key=value, ..." of dsn_fit's keys,
     * read before the caller's options), NULL: dsn_fit's own defaults */
    const char *fit_defaults;
    /* the optimizers' learning rate for this family when the caller sets none
     * (text, e.g. "2e-3"), NULL: the optimizer's own default */
    const char *lr_default;

    /* ---- optional hooks (NULL: the model has no such thing) ---- */
    /* Training stages, e.g. "constrained, full" (static text for messages and
     * docs); NULL for a model without stages. */
    const char *stages;
    /* The current stage's name (static text). */
    const char *(*stage)(const struct dsn_model *m);
    /* Switch to the named stage (DSN_E_INVALID for an unknown name,
     * DSN_E_STATE for a switch the model cannot make). A switch that changes
     * the objective bumps m->objective, so dsn_fit stops comparing
     * validation losses across it. Records the stage where the model file
     * keeps it (options or frozen groups). */
    dsn_status (*set_stage)(struct dsn_model *m, const char *name);
    /* Whether the current training objective differs from the run-long
     * validation loss that loss() computes with m->run_loss set (TS-DSAE's
     * full stage, VQ-VAE's prior stage, ML-VAE's style warm-up). NULL: the
     * family's objective is the same through every run. */
    int (*run_loss_differs)(const struct dsn_model *m);
    /* Called by dsn_fit after each epoch: stage schedules (TS-DSAE switches
     * stage after constrained_epochs epochs through its set_stage). */
    dsn_status (*epoch_end)(struct dsn_model *m, int epoch);
    /* Called by the trainer only after the optimizer accepted a step (the loss
     * was finite, the update applied): non-gradient updates that must not
     * happen on a refused step (EMA codebook, dead-code restarts, counters).
     * The model keeps what it needs from the step's loss in m->state; tape
     * memory of that step is still valid. */
    dsn_status (*after_step)(struct dsn_model *m);
    /* Training state that is not a parameter (counters, buffer positions,
     * RNG streams, EMA sums): written as the model file's "MSTA" section.
     * state_load validates every value (DSN_E_FORMAT with a message) and
     * leaves the model unchanged on failure. */
    void (*state_save)(const struct dsn_model *m, dsi_writer *w);
    dsn_status (*state_load)(struct dsn_model *m, dsi_reader *r);
    /* Named figures (codebook use, ...): data NULL: the model's training
     * tracker; else measured over those batches (may allocate). */
    dsn_status (*stats)(const struct dsn_model *m, const dsi_batches *data, dsi_stats *out);
    /* Options that may change after creation (e.g. sampling temperature):
     * DSN_E_OPTION for any other key or a bad value. The caller records the
     * value in m->opts. */
    dsn_status (*set_option)(struct dsn_model *m, const char *key, const char *value);
    /* Rows of discrete codes of part p into their vectors (values [rows,
     * dim]); DSN_E_INVALID for a code out of range. No allocation. */
    dsn_status (*codes_to_values)(const struct dsn_model *m, int part, const int32_t *codes, size_t rows,
                                  float *values);
    /* Frame-by-frame swap for streaming (dsn_stream_*); both may be NULL (the
     * family cannot stream). stream_check: whether this configuration can run
     * one frame at a time (DSN_E_UNSUPPORTED with a message naming the option
     * that reads the future), the floats of recurrent state it carries, the
     * part that holds the static latent and the observation frame size. */
    dsn_status (*stream_check)(const struct dsn_model *m, size_t *state_floats, int *static_part, int *frame_size);
    /* One frame: y [frame_size] decoded from the local latent of x
     * [frame_size] (encoded causally, updating state; all zeros = the start
     * of a stream) and the static latent v. On a reset inference tape; no
     * allocation once the tape has grown. */
    dsn_status (*stream_step)(const struct dsn_model *m, dsi_tape *t, float *state, float *y, const float *x,
                              const float *v);
};

/* The required hooks of a family's table, from its static functions of these
 * names (every family defines them so), the creation hook named:
 *     const dsi_model_vt dsi_xx_vt = {.name = "xx", DSI_MODEL_HOOKS(create), ...};
 * Optional hooks and settings follow it. */
#define DSI_MODEL_HOOKS(create_fn)                                                                              \
    .create = create_fn, .init_params = init_params, .destroy = destroy, .loss = loss, .encode = encode,        \
    .decode = decode, .sample = sample

/* Registry: the model families built into this library. */
const dsi_model_vt *dsi_model_find(const char *name);
/* "ml-vae, ..." for messages */
const char *dsi_model_names(void);

int dsi_model_part_index(const struct dsn_model *m, const char *name);
/* rows of part p for an encoding of n items in g groups */
size_t dsi_part_rows(const dsi_part_desc *p, size_t n_items, size_t n_groups);

#endif
