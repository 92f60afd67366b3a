/* tape.h - reverse-mode automatic differentiation on a per-step tape (internal).
 *
 * Define-by-run: every op computes its forward result at once and, when any
 * input carries a gradient and the tape records, pushes a node {backward fn,
 * inputs, output, saved data} onto a list held in the tape's arena.
 * dsi_tape_backward walks that list newest-first. dsi_tape_reset forgets
 * the nodes and all per-step tensors but keeps the arena's memory, so after
 * the first step no heap allocation happens.
 *
 * Error handling never aborts: an op that fails records the first status on
 * the tape, sets the thread's message, and returns NULL; every op returns NULL
 * when given a NULL input, so a model can build its whole graph and test the
 * status once. */
#ifndef DSI_AUTODIFF_TAPE_H
#define DSI_AUTODIFF_TAPE_H

#include "autodiff/var.h"
#include "core/arena.h"
#include "core/error.h"

typedef struct dsi_node dsi_node;
typedef void (*dsi_backward_fn)(dsi_node *node);

#define DSI_NODE_MAXIN 6

struct dsi_node {
    dsi_backward_fn backward;
    dsi_node *prev;                 /* the node recorded before this one */
    dsi_var *out;
    dsi_var *in[DSI_NODE_MAXIN];
    int nin;
    int ip[8];                      /* small integer parameters of the op */
    float fp[4];                    /* small float parameters of the op */
    void *saved;                    /* op-specific data in the arena */
    struct dsi_tape *tape;
};

/* Data-parallel training: the batch on this tape is items [lo, lo + n) (and
 * groups [glo, glo + gn)) of a global batch of `total` items (`gtotal`
 * groups) spread over several processes. Random ops (dsi_gauss_sample) then
 * draw their noise for the whole global batch and use this part's rows, so a
 * process draws exactly what one process training on the global batch draws
 * for the same rows, and every process's RNG stays in step. total == 0: off.
 * Set by the trainer; dsi_tape_reset keeps it. */
typedef struct dsi_shard {
    size_t lo, n, total;
    size_t glo, gn, gtotal;
} dsi_shard;

typedef struct dsi_tape {
    dsi_arena arena;
    dsi_node *last;                 /* newest node */
    size_t n_nodes;
    int recording;                  /* 0: inference, no nodes or gradients */
    dsn_status status;              /* first failure since reset */
    dsi_shard shard;                /* data-parallel part of the batch (total 0: none) */
} dsi_tape;

void dsi_tape_init(dsi_tape *t);
void dsi_tape_release(dsi_tape *t);
/* Start a new step: forget nodes and per-step vars, keep memory, clear status. */
void dsi_tape_reset(dsi_tape *t);
/* Turn recording on (training) or off (inference). */
void dsi_tape_set_recording(dsi_tape *t, int on);

/* Record a failure (first one wins) and return NULL for convenience. */
void *dsi_tape_fail(dsi_tape *t, dsn_status st, const char *fmt, ...) DSI_PRINTF(3, 4);
/* What a model returns when its graph broke (an op or layer gave NULL or a
 * failure): the tape's first failure, or DSN_E_INTERNAL when it has none. */
static inline dsn_status dsi_tape_failure(const dsi_tape *t)
{
    return t->status != DSN_OK ? t->status : DSN_E_INTERNAL;
}

/* A new var in the arena; values uninitialised. If need_grad and the tape
 * records, g is allocated and zeroed. Returns NULL (and fails the tape) when
 * out of memory. */
dsi_var *dsi_tape_new(dsi_tape *t, int nd, const int *shape, int need_grad);
dsi_var *dsi_tape_new2(dsi_tape *t, int d0, int d1, int need_grad);
/* Zero-filled variant */
dsi_var *dsi_tape_zeros(dsi_tape *t, int nd, const int *shape, int need_grad);
/* Wrap caller memory as a constant input (no copy, no gradient). The memory
 * must outlive the step. */
dsi_var *dsi_tape_wrap(dsi_tape *t, const float *data, int nd, const int *shape);
/* A constant input copied into the arena. */
dsi_var *dsi_tape_const(dsi_tape *t, const float *data, int nd, const int *shape);
/* Scratch floats / bytes in the arena (for saved data). */
void *dsi_tape_scratch(dsi_tape *t, size_t bytes);

/* Does an op with these inputs produce a var that needs a gradient? */
int dsi_tape_needs_grad(const dsi_tape *t, int nin, dsi_var *const *in);

/* Push a node for `out` if out->g != NULL; returns the node (to fill ip/fp/
 * saved) or NULL when nothing is recorded. */
dsi_node *dsi_tape_record(dsi_tape *t, dsi_backward_fn fn, dsi_var *out, int nin, dsi_var *const *in);

/* Backpropagate from a scalar (n == 1) loss with seed gradient 1. Gradients
 * accumulate (+=) into every var with g != NULL, parameters included. */
dsn_status dsi_tape_backward(dsi_tape *t, dsi_var *loss);

/* Backpropagate from any var with a given seed gradient (same count as out):
 * out->g += seed, then the walk. Used by gradient checks and composite losses. */
dsn_status dsi_tape_backward_seed(dsi_tape *t, dsi_var *out, const float *seed);

/* Same shape? */
int dsi_same_shape(const dsi_var *a, const dsi_var *b);
/* "[2,3,4]" into buf (for messages) */
const char *dsi_shape_str(const dsi_var *v, char *buf, size_t len);

#endif
