/* fit_dist.h - what dsn_fit does differently over several processes
 * (internal; the collectives come from a dsi_dist, see core/dist.h). */
#ifndef DSI_API_FIT_DIST_H
#define DSI_API_FIT_DIST_H

#include "api/optimizer.h"
#include "autodiff/tape.h"
#include "core/dist.h"
#include "data/dataset.h"
#include "models/model.h"

#include <stdint.h>

typedef struct dsi_dist_step {
    const dsi_dist *dist;
    dsi_shard shard;      /* this process's items and groups of every global batch */
    float weight;         /* its share of the global batch mean: gn / gtotal */
    int stop_local;       /* a stop was asked for here (progress callback) */
    int stop_all;         /* ... on some process, as of the last reduction */
    /* over several processes each updates only its chunk of the trainable
     * span (see dsi_dist_reduce): */
    size_t span_lo, span_n; /* the span of the unfrozen parameters in the flat buffer */
    size_t own_lo, own_hi;  /* this process's chunk of it (absolute offsets) */
    double norm;            /* the global gradient norm of the last reduction */
    int state_partial;      /* the optimizer state is current only in own chunks (dsi_dist_sync_state) */
    size_t state_lo, state_n; /* the span those updates used */
    double t_reduce, t_update; /* seconds in dsi_dist_reduce and dsi_dist_update */
    float *own_data, *own_grad; /* the model's buffers while shared ones replace them */
} dsi_dist_step;

/* Seconds of this thread's last data-parallel fit, by phase (for
 * bench/mpi): steps done, drawing and gathering the batches, forward and
 * backward, the gradient reduction (reduce-scatter and the small sum), the
 * update (optimizer on this process's chunk and the all-gather of the
 * weights), the epoch ends (state gathering, validation, checkpoints). */
typedef struct dsi_dist_profile {
    int64_t steps;
    double data, compute, reduce, update, epoch_end;
} dsi_dist_profile;
dsi_dist_profile dsi_dist_last_profile(void);
void dsi_dist_set_profile(const dsi_dist_profile *p);

/* What a process of a data-parallel run says about its training data at the
 * start (and one process about each of its data_shards): counts of the
 * whole set, which shard it holds and how large it is. */
typedef struct dsi_dist_facts {
    uint64_t rows, groups;       /* of the whole training set */
    uint64_t given;              /* 1: the caller gave a shard (dsi_dataset_shard), 0: the whole set */
    uint64_t shard_rank, shard_count, by_groups; /* a given shard's */
    uint64_t units;              /* units (rows, or groups of a grouped model) the shard holds */
    uint64_t want;               /* ... that the split gives it (dsi_shard_units) */
    uint64_t part;               /* its units of every global batch */
    uint64_t grouped;            /* units are groups */
    uint64_t failed;             /* preparing the shard or its sampler failed here (its own error) */
} dsi_dist_facts;

/* DSN_OK when the facts of shard q of P are right, else an error naming it
 * ("<who> q's shard ..."): a shard smaller than its part of the batch, not
 * the split's, another shard's number, rows where groups were wanted. */
dsn_status dsi_dist_check_facts(const dsi_dist_facts *f, int q, int P, const char *who);

/* FNV-1a over bytes, chained from h (0 to start). */
uint64_t dsi_dist_hash(uint64_t h, const void *p, size_t n);

/* Split every global batch of G units (groups of k items, or items: k = 1)
 * into contiguous parts, process r taking units [G r / P, G (r + 1) / P)
 * (dsi_shard_part; the caller has checked that G >= P). */
dsn_status dsi_dist_plan(dsi_dist_step *s, const dsi_dist *d, int grouped, size_t G, size_t k);

/* The first collective: every process's model, optimizer, options, data
 * sizes and shard facts (f: its own) are compared and checked (a mismatch,
 * or a bad shard anywhere, is the same error on every process), then
 * process 0's parameters, optimizer state and training RNG are broadcast. */
dsn_status dsi_dist_start(dsi_dist_step *s, dsn_model *m, dsn_optimizer *opt, const dsi_dataset *train,
                          const dsi_dataset *valid, uint64_t cfg_hash, const dsi_dist_facts *f);

/* dsi_grad_reduce_fn (ctx = dsi_dist_step): the global-batch mean gradient,
 * loss and terms from every process's part. One process: nothing to do.
 * Several: a reduce-scatter of the span of the unfrozen parameters, each
 * process's gradient weighted by its share, leaves this process the summed
 * gradient of its chunk of the span (own_lo .. own_hi); then one small sum
 * of (the chunks' sums of squares, the weighted loss and terms, the stop
 * flag) gives every process the global gradient norm, loss and terms. */
dsn_status dsi_dist_reduce(void *ctx, dsn_model *m, float *loss);

/* dsi_update_fn (ctx = dsi_dist_step), after dsi_dist_reduce: one process:
 * dsi_optim_step. Several: the optimizer updates this process's chunk only
 * (dsi_optim_step_range with the global norm: the same arithmetic as a whole
 * step on those elements), then an all-gather of the span of the weights
 * gives every process all of them (the same bits everywhere). The optimizer
 * state outside the chunk is then stale until dsi_dist_sync_state. */
dsn_status dsi_dist_update(void *ctx, dsn_model *m, dsi_optim *o, double *norm);

/* After dsi_dist_start: when the dist offers shared buffers, the model's
 * weights and gradients move into them for the run (copied, and every
 * parameter's pointers set); dsi_dist_detach copies them back and restores
 * the model's own buffers (local, also after a failure). */
dsn_status dsi_dist_attach(dsi_dist_step *s, dsn_model *m);
void dsi_dist_detach(dsi_dist_step *s, dsn_model *m);

/* Make the optimizer state whole on every process again (an all-gather of
 * each state buffer over the span of the last updates); a no-op when it is
 * whole. Collective: at the end of every epoch, before stage switches,
 * checkpoints and the end of the run. */
dsn_status dsi_dist_sync_state(dsi_dist_step *s, dsi_optim *o);

/* End of an epoch: fails on every process if local != DSN_OK on any, and
 * sets *stop when any process asked to stop. */
dsn_status dsi_dist_epoch_end(dsi_dist_step *s, dsn_status local, int *stop);

#endif
