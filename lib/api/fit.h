/* fit.h - the training engine behind dsn_fit and dsn_train_step, with the
 * hooks a data-parallel run (lib/mpi) plugs into (internal). */
#ifndef DSI_API_FIT_H
#define DSI_API_FIT_H

#include "core/dist.h"
#include "disent.h"
#include "models/model.h"
#include "optim/optim.h"

/* Called by a training step after the backward pass and before the optimizer
 * update: may rewrite the gradients (m->params.grad), *loss (the step's loss
 * as reported) and m->last_terms; a failure ends the step. */
typedef dsn_status (*dsi_grad_reduce_fn)(void *ctx, dsn_model *m, float *loss);
/* Called instead of dsi_optim_step (same contract: *norm set, DSN_E_NUMERIC
 * for a non-finite norm or rate with nothing updated). */
typedef dsn_status (*dsi_update_fn)(void *ctx, dsn_model *m, dsi_optim *o, double *norm);

typedef struct dsi_step_hooks {
    dsi_grad_reduce_fn reduce; /* NULL: none */
    dsi_update_fn update;      /* NULL: dsi_optim_step */
    void *ctx;
} dsi_step_hooks;

/* One step on a caller-given batch (in->group may be raw ids). */
dsn_status dsi_train_on(dsn_model *m, dsn_optimizer *opt, const dsi_input *in, float *loss_out);
/* The same with hooks (NULL: none). */
dsn_status dsi_train_on_reduced(dsn_model *m, dsn_optimizer *opt, const dsi_input *in, float *loss_out,
                                const dsi_step_hooks *hooks);

/* The units of every global batch dsn_fit would draw with these options
 * from a training set of rows rows in groups groups: *grouped 1: G groups of
 * *k rows; 0: G rows (*k = 1). Fails on bad options (as dsn_fit would). */
dsn_status dsi_fit_batch_plan(const dsn_model *m, const dsn_options *opts, size_t rows, size_t groups, int *grouped,
                              size_t *G, size_t *k);

/* dsn_fit over the processes of dist (NULL: this process alone, = dsn_fit).
 * Every process passes the same model, optimizer, options and data sets;
 * see include/disent_mpi.h for what a run over several processes does. */
dsn_status dsi_fit_run(dsn_model *m, dsn_optimizer *opt, const dsn_dataset *train, const dsn_dataset *valid,
                       const dsn_options *opts, dsn_progress_fn progress, void *user, const dsi_dist *dist);

#endif
