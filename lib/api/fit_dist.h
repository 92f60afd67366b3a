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

/* Floats after the gradients that ride the same all-reduce: the loss, the
 * loss terms and the stop flag. */
#define DSI_DIST_EXTRA (2 + DSI_MAX_TERMS)
_Static_assert(DSI_DIST_EXTRA <= DSI_PARAMS_GRAD_SLACK, "the gradient buffer's slack holds the extras");

typedef struct dsi_dist_step {
    const dsi_dist *dist;
    dsi_shard shard;      /* this process's items and groups of every global batch */
    float weight;         /* its share of the global batch mean: gn / gtotal */
    int stop_local;       /* a stop was asked for here (progress callback) */
    int stop_all;         /* ... on some process, as of the last reduction */
} dsi_dist_step;

/* FNV-1a over bytes, chained from h (0 to start). */
uint64_t dsi_dist_hash(uint64_t h, const void *p, size_t n);

/* Split every global batch of G units (groups of k items, or items: k = 1)
 * into contiguous parts, process r taking units [G r / P, G (r + 1) / P).
 * A batch with fewer units than processes is an error (the same on all). */
dsn_status dsi_dist_plan(dsi_dist_step *s, const dsi_dist *d, int grouped, size_t G, size_t k);

/* The first collective: every process's model, optimizer, options and data
 * sizes are compared (a mismatch is the same error on every process), then
 * process 0's parameters, optimizer state and training RNG are broadcast. */
dsn_status dsi_dist_start(dsi_dist_step *s, dsn_model *m, dsn_optimizer *opt, const dsi_dataset *train,
                          const dsi_dataset *valid, uint64_t cfg_hash);

/* dsi_grad_reduce_fn (ctx = dsi_dist_step): the global-batch mean gradient,
 * loss and terms from every process's part, in one sum of the flat buffer
 * (the span of the unfrozen parameters, then DSI_DIST_EXTRA floats). */
dsn_status dsi_dist_reduce(void *ctx, dsn_model *m, float *loss);

/* End of an epoch: fails on every process if local != DSN_OK on any, and
 * sets *stop when any process asked to stop. */
dsn_status dsi_dist_epoch_end(dsi_dist_step *s, dsn_status local, int *stop);

#endif
