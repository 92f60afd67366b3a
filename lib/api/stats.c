/* stats.c - dsn_model_stats: named figures of a model, from its training
 * tracker or measured over a dataset. The generic part (the mean of every
 * loss term over the dataset: reconstruction, KL per latent part, ...) is
 * computed here for every family; a family adds its own figures (codebook
 * use, prior bits per code) through the model interface's stats hook. */
#include "api/dataset.h"
#include "api/groups.h"
#include "core/alloc.h"
#include "core/error.h"
#include "models/model.h"

#include <math.h>
#include <string.h>

#define STATS_BATCH 64

typedef struct batch_src {
    const dsn_model *m;
    const dsi_dataset *ds;
    dsi_epoch_iter *it;
    dsi_batch b;
    int32_t *dense, *seen;
    int started;
} batch_src;

/* every row once, in one fixed order (the iterator's seed is fixed) */
static dsn_status src_next(void *ctx, dsi_input *in)
{
    batch_src *s = ctx;
    if (!s->started) {
        dsi_epoch_iter_reset(s->it, 1);
        s->started = 1;
    }
    dsn_status st = dsi_epoch_iter_next(s->it, &s->b);
    memset(in, 0, sizeof *in);
    if (st != DSN_OK || s->b.n == 0) {
        s->started = 0; /* the next pass starts over */
        return st;
    }
    size_t g = dsi_dense_groups(s->ds->n_groups && s->m->vt->grouped ? s->b.group : NULL, s->b.n, s->dense, s->seen);
    *in = (dsi_input){s->b.x, s->b.n, s->dense, g, s->ds->mask ? s->b.mask : NULL, 0};
    return DSN_OK;
}

static void src_free(batch_src *s)
{
    dsi_epoch_iter_free(s->it);
    dsi_aligned_free(s->b.x);
    dsi_free(s->b.group);
    dsi_free(s->b.mask);
    dsi_free(s->dense);
    dsi_free(s->seen);
}

static dsn_status src_init(batch_src *s, const dsn_model *m, const dsi_dataset *ds)
{
    memset(s, 0, sizeof *s);
    s->m = m;
    s->ds = ds;
    size_t batch = ds->n < STATS_BATCH ? ds->n : STATS_BATCH;
    s->b.cap = batch;
    s->b.x = dsi_aligned_alloc(batch * ds->obs_size * sizeof(float) + 1);
    s->b.group = dsi_calloc(batch, sizeof(int32_t));
    s->b.mask = dsi_calloc(batch * (size_t)ds->shape[0] + 1, sizeof(float));
    s->dense = dsi_calloc(batch, sizeof(int32_t));
    s->seen = dsi_calloc(batch, sizeof(int32_t));
    if (!s->b.x || !s->b.group || !s->b.mask || !s->dense || !s->seen) return dsi_error(DSN_E_NOMEM, "out of memory");
    return dsi_epoch_iter_create(&s->it, ds, batch, 0, 1);
}

/* Mean of every loss term over the dataset's batches, weighted by batch
 * size, without updates. The model's training RNG is left as it was (the
 * loss's noise draws from a stream seeded by the model seed). */
static dsn_status loss_terms(dsn_model *m, batch_src *src, dsi_stats *out)
{
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_tape_set_recording(&t, 0);
    dsi_rng saved = m->rng;
    dsi_rng_seed(&m->rng, m->seed ^ 0x57a75ULL);
    double sum[DSI_MAX_TERMS] = {0};
    dsi_terms first = {0};
    size_t items = 0;
    dsi_input in;
    dsn_status st;
    while ((st = src_next(src, &in)) == DSN_OK && in.n) {
        dsi_tape_reset(&t);
        dsi_var *loss = NULL;
        dsi_terms terms = {0};
        st = m->vt->loss(m, &t, &in, &loss, &terms);
        if (st == DSN_OK && t.status != DSN_OK) st = t.status;
        if (st != DSN_OK) break;
        if (!items) first = terms;
        for (int i = 0; i < terms.n && i < first.n; i++) sum[i] += (double)terms.values[i] * (double)in.n;
        items += in.n;
    }
    m->rng = saved;
    dsi_tape_release(&t);
    for (int i = 0; st == DSN_OK && items && i < first.n; i++)
        dsi_stats_add(out, first.names[i], sum[i] / (double)items);
    return st;
}

dsn_status dsn_model_stats(dsn_model *m, const char **names, double *values, size_t len, size_t *count,
                           const dsn_dataset *ds)
{
    DSI_CHECK_NULL(m, "dsn_model_stats: model");
    if (len && (!names || !values))
        return dsi_error(DSN_E_INVALID, "dsn_model_stats: names and values must not be NULL when len > 0");
    dsi_stats s = {0};
    dsn_status st = DSN_OK;
    if (!ds) {
        if (m->vt->stats) st = m->vt->stats(m, NULL, &s);
        if (st == DSN_OK) dsi_stats_add(&s, "training.skipped_steps", (double)m->skipped_steps);
    } else {
        const dsi_dataset *d = ds->d;
        if (d->obs_size != m->obs_size)
            return dsi_error(DSN_E_SHAPE, "dsn_model_stats: observations of %zu floats, the model wants %zu",
                             d->obs_size, m->obs_size);
        if (d->n == 0) return dsi_error(DSN_E_INVALID, "dsn_model_stats: empty dataset");
        batch_src src;
        st = src_init(&src, m, d);
        if (st == DSN_OK) st = loss_terms(m, &src, &s);
        if (st == DSN_OK && m->vt->stats) {
            dsi_batches b = {src_next, &src};
            st = m->vt->stats(m, &b, &s);
        }
        src_free(&src);
    }
    if (st != DSN_OK) {
        dsi_error_prefix("dsn_model_stats");
        return st;
    }
    for (int i = 0; i < s.n && (size_t)i < len; i++) {
        names[i] = s.names[i];
        values[i] = s.values[i];
    }
    if (count) *count = (size_t)s.n;
    return DSN_OK;
}
