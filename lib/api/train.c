/* train.c - one training step on a caller-given batch. */
#include "api/check.h"
#include "api/fit.h"
#include "api/groups.h"
#include "api/optimizer.h"
#include "core/error.h"
#include "models/model.h"

#include <math.h>
#include <string.h>

/* Shared by dsn_train_step and dsn_fit: in->group may be raw ids (mapped to
 * dense ones here, in the step's arena). */
dsn_status dsi_train_on(dsn_model *m, dsn_optimizer *opt, const dsi_input *in_raw, float *loss_out)
{
    return dsi_train_on_reduced(m, opt, in_raw, loss_out, NULL);
}

dsn_status dsi_train_on_reduced(dsn_model *m, dsn_optimizer *opt, const dsi_input *in_raw, float *loss_out,
                                const dsi_step_hooks *hooks)
{
    dsi_grad_reduce_fn reduce = hooks ? hooks->reduce : NULL;
    void *ctx = hooks ? hooks->ctx : NULL;
    dsi_tape *t = &m->tape;
    dsi_tape_reset(t);
    dsi_tape_set_recording(t, 1);
    dsi_input in = *in_raw;
    int32_t *dense = dsi_tape_scratch(t, in.n * sizeof(int32_t));
    int32_t *seen = dsi_tape_scratch(t, in.n * sizeof(int32_t));
    if (!dense || !seen) return t->status;
    in.n_groups = dsi_dense_groups(in_raw->group, in.n, dense, seen);
    in.group = dense;
    dsi_params_zero_grad(&m->params);
    dsi_var *loss = NULL;
    m->last_terms.n = 0;
    dsn_status st = m->vt->loss(m, t, &in, &loss, &m->last_terms);
    if (st == DSN_OK && t->status != DSN_OK) st = t->status;
    if (st == DSN_OK && !loss) st = dsi_error(DSN_E_INTERNAL, "model returned no loss");
    /* A non-finite loss or gradient skips the step: nothing is updated (no
     * backward for a bad loss; the optimizer checks the gradient norm before
     * it touches weights or moments; after_step - EMA codebook, restarts,
     * counters - does not run) and the step is counted. */
    float value = st == DSN_OK ? loss->x[0] : NAN;
    if (st == DSN_OK && !isfinite(value)) st = dsi_error(DSN_E_NUMERIC, "the loss is %g", (double)value);
    if (st == DSN_OK) st = dsi_tape_backward(t, loss);
    /* an op that met NaN or infinity in the forward or backward pass */
    int skip = st == DSN_E_NUMERIC;
    if (reduce && (st == DSN_OK || skip)) {
        /* data-parallel: every process joins the sum, even one whose part went
         * bad (its NaN loss makes the reduced loss NaN), so all processes
         * skip the same steps and none waits for another */
        if (skip) value = NAN;
        st = reduce(ctx, m, &value);
        if (st != DSN_OK) return st;
        skip = !isfinite(value);
        if (skip) st = dsi_error(DSN_E_NUMERIC, "the loss of the global batch is %g (on some process)", (double)value);
    }
    double norm = 0.0;
    if (st == DSN_OK) {
        st = hooks && hooks->update ? hooks->update(ctx, m, &opt->optim, &norm) : dsi_optim_step(&opt->optim, &norm);
        /* (a non-finite learning rate from a schedule is an error, not a skip) */
        if (st == DSN_E_NUMERIC && !isfinite(norm)) skip = 1;
    }
    if (skip) {
        m->skipped_steps++;
        m->skipped_in_row++;
        return dsi_error(DSN_E_NUMERIC, "step skipped (%d in a row, %lld since the model was created or loaded): %s",
                         m->skipped_in_row, (long long)m->skipped_steps, dsn_last_error());
    }
    /* only a step the optimizer accepted moves the model's own state */
    if (st == DSN_OK && m->vt->after_step) st = m->vt->after_step(m);
    if (st == DSN_OK) m->skipped_in_row = 0;
    if (st == DSN_OK && loss_out) *loss_out = value;
    return st;
}

dsn_status dsn_train_step(dsn_model *m, dsn_optimizer *opt, float *loss, const float *x, size_t n,
                          const dsn_batch_args *args)
{
    DSI_CHECK_NULL(m, "dsn_train_step: model");
    DSI_CHECK_NULL(opt, "dsn_train_step: optimizer");
    DSI_CHECK_NULL(x, "dsn_train_step: x");
    if (opt->model != m) return dsi_error(DSN_E_INVALID, "dsn_train_step: the optimizer belongs to another model");
    if (n == 0 || n > ((size_t)1 << 24)) return dsi_error(DSN_E_SHAPE, "dsn_train_step: batch of %zu items", n);
    dsn_batch_args a;
    dsn_status st = dsi_batch_args_read(&a, args, "dsn_train_step");
    if (st == DSN_OK && a.part)
        st = dsi_error(DSN_E_INVALID, "dsn_train_step: args->part is for dsn_encode (a training step trains every part)");
    if (st == DSN_OK) st = dsi_check_obs(x, n, m->obs_size, "dsn_train_step");
    if (st == DSN_OK) st = dsi_check_mask(m, a.mask, n, "dsn_train_step");
    if (st != DSN_OK) return st;
    dsi_input in = {x, n, a.groups, 0, a.mask, 0};
    st = dsi_train_on(m, opt, &in, loss);
    if (st != DSN_OK) dsi_error_prefix("dsn_train_step");
    return st;
}

int dsn_train_terms(const dsn_model *m, const char **names, float *values, int max)
{
    if (!m) return 0;
    int n = m->last_terms.n < max ? m->last_terms.n : max;
    for (int i = 0; i < n; i++) {
        if (names) names[i] = m->last_terms.names[i];
        if (values) values[i] = m->last_terms.values[i];
    }
    return m->last_terms.n;
}
