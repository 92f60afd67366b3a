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
#include "core/status.h"

#define DSI_MAX_PARTS 4
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

/* Named loss terms reported to the progress callback. */
typedef struct dsi_terms {
    int n;
    const char *names[DSI_MAX_TERMS];
    float values[DSI_MAX_TERMS];
} dsi_terms;

static inline void dsi_terms_add(dsi_terms *t, const char *name, float v)
{
    if (t && t->n < DSI_MAX_TERMS) {
        t->names[t->n] = name;
        t->values[t->n++] = v;
    }
}

/* Storage of one part inside an encoding: rows x dim floats per field. */
typedef struct dsi_part_data {
    float *mean, *logvar, *value; /* value: what decode uses (mean after encode) */
    int32_t *codes;               /* [rows] for DSI_PART_CODES, else NULL */
    size_t rows, max_rows;
} dsi_part_data;

struct dsn_encoding {
    const struct dsn_model *model;
    size_t n_items, max_items;
    size_t n_groups;
    int32_t *group_of;            /* [max_items] content row of each item */
    int32_t *scratch;             /* [max_items] for dsn_encoding_prepare */
    int n_parts;
    dsi_part_data parts[DSI_MAX_PARTS];
};

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
    dsi_tape tape;                /* training tape, reused every step */
    dsi_terms last_terms;         /* loss terms of the last training step */
    const struct dsi_dist *dist;  /* during a data-parallel dsn_fit: the processes (else NULL),
                                   * for state kept outside the gradients (VQ-VAE's EMA) */
    struct dsi_bank *bank;        /* named static latents (api/bank.h), or NULL */
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
    dsn_status (*encode)(const struct dsn_model *m, dsi_tape *t, const dsi_input *in, struct dsn_encoding *enc);
    /* Observations (likelihood means) from enc's values: [n_items, obs_size]. */
    dsn_status (*decode)(const struct dsn_model *m, dsi_tape *t, const struct dsn_encoding *enc, float *out);
    /* Fill part p's values from the prior (may be NULL: unsupported). */
    dsn_status (*sample)(const struct dsn_model *m, dsi_tape *t, struct dsn_encoding *enc, int part, dsi_rng *rng);
    /* Called by the trainer after each epoch (may be NULL): stage switches. */
    dsn_status (*epoch_end)(struct dsn_model *m, int epoch);
    /* 1: dsn_fit draws batches of groups from a labelled dataset (ML-VAE);
     * 0: labels are for evaluation only and batches are plain shuffles. */
    int grouped;
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

/* Registry: the model families built into this library. */
const dsi_model_vt *dsi_model_find(const char *name);
/* "ml-vae, ..." for messages */
const char *dsi_model_names(void);

int dsi_model_part_index(const struct dsn_model *m, const char *name);
/* rows of part p for an encoding of n items in g groups */
size_t dsi_part_rows(const dsi_part_desc *p, size_t n_items, size_t n_groups);

#endif
