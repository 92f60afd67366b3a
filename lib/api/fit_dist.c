/* fit_dist.c - the data-parallel parts of dsn_fit: batch split, start-up
 * agreement, gradient reduction (MPI-free: see core/dist.h). */
#include "api/fit_dist.h"
#include "api/fit.h"
#include "core/options.h"
#include "core/alloc.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

uint64_t dsi_dist_hash(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    if (!h) h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

dsn_status dsi_dist_plan(dsi_dist_step *s, const dsi_dist *d, int grouped, size_t G, size_t k)
{
    memset(s, 0, sizeof *s);
    s->dist = d;
    size_t P = (size_t)d->size, r = (size_t)d->rank;
    if (G < P)
        return dsi_error(DSN_E_OPTION,
                         "a global batch of %zu %s cannot be split over %zu processes (each needs at least one): "
                         "raise %s or use fewer processes",
                         G, grouped ? "groups" : "items", P, grouped ? "batch_groups" : "batch_size");
    size_t glo = G * r / P, ghi = G * (r + 1) / P;
    s->shard = (dsi_shard){glo * k, (ghi - glo) * k, G * k, glo, ghi - glo, G};
    s->weight = (float)((double)(ghi - glo) / (double)G);
    return DSN_OK;
}

static uint64_t options_hash(uint64_t h, const dsn_options *o)
{
    if (!o) return dsi_dist_hash(h, "-", 1);
    for (size_t i = 0; i < o->count; i++) {
        h = dsi_dist_hash(h, o->items[i].key, strlen(o->items[i].key) + 1);
        h = dsi_dist_hash(h, o->items[i].value, strlen(o->items[i].value) + 1);
    }
    return h;
}

/* Up to 64 rows spread over the set, with their labels and groups. */
static uint64_t data_hash(const dsi_dataset *ds)
{
    if (!ds) return 0;
    uint64_t h = dsi_dist_hash(0, &ds->n, sizeof ds->n);
    h = dsi_dist_hash(h, ds->shape, sizeof ds->shape);
    size_t step = ds->n > 64 ? ds->n / 64 : 1;
    for (size_t i = 0; i < ds->n; i += step) {
        h = dsi_dist_hash(h, dsi_dataset_row(ds, i), ds->obs_size * sizeof(float));
        int32_t l = dsi_dataset_label(ds, i);
        h = dsi_dist_hash(h, &l, sizeof l);
        if (ds->mask) h = dsi_dist_hash(h, ds->mask + i * (size_t)ds->shape[0], (size_t)ds->shape[0] * sizeof(float));
    }
    return h;
}

enum { FP_PROTO, FP_MODEL, FP_OPTIM, FP_FIT, FP_PARAMS, FP_ROWS, FP_OBS, FP_GROUPS, FP_DATA, FP_VROWS, FP_VDATA,
       FP_EPOCH, FP_STEP, FP_FROZEN, FP_COUNT };
static const char *const fp_name[FP_COUNT] = {
    "protocol version", "model family and options", "optimizer and its options", "fit options", "parameter count",
    "training rows", "floats per observation", "training groups", "training data (sampled rows)", "validation rows",
    "validation data (sampled rows)", "epochs done", "optimizer steps done", "frozen parameter groups"};
/* fields compared as numbers (the others are hashes) */
static int fp_is_count(int f) { return f == FP_PARAMS || f == FP_ROWS || f == FP_OBS || f == FP_GROUPS || f == FP_VROWS || f == FP_EPOCH || f == FP_STEP; }

dsn_status dsi_dist_start(dsi_dist_step *s, dsn_model *m, dsn_optimizer *opt, const dsi_dataset *train,
                          const dsi_dataset *valid, uint64_t cfg_hash)
{
    const dsi_dist *d = s->dist;
    uint64_t fp[FP_COUNT];
    fp[FP_PROTO] = 1;
    fp[FP_MODEL] = options_hash(dsi_dist_hash(0, m->vt->name, strlen(m->vt->name)), m->opts);
    fp[FP_OPTIM] = options_hash(dsi_dist_hash(0, opt->kind, strlen(opt->kind)), opt->opts);
    fp[FP_FIT] = cfg_hash;
    fp[FP_PARAMS] = m->params.n;
    fp[FP_ROWS] = train->n;
    fp[FP_OBS] = train->obs_size;
    fp[FP_GROUPS] = train->n_groups;
    fp[FP_DATA] = data_hash(train);
    fp[FP_VROWS] = valid ? valid->n : 0;
    fp[FP_VDATA] = data_hash(valid);
    fp[FP_EPOCH] = (uint64_t)m->epoch;
    fp[FP_STEP] = (uint64_t)opt->optim.step;
    fp[FP_FROZEN] = dsi_dist_hash(0, m->params.frozen, sizeof m->params.frozen);
    uint64_t *all = dsi_malloc(sizeof fp * (size_t)d->size);
    if (!all) return dsi_error(DSN_E_NOMEM, "no memory for %d fingerprints", d->size);
    dsn_status st = d->gather_all(d->ctx, fp, sizeof fp, all);
    if (st != DSN_OK) {
        dsi_free(all);
        return st;
    }
    for (int r = 1; r < d->size && st == DSN_OK; r++)
        for (int f = 0; f < FP_COUNT; f++) {
            uint64_t a = all[f], b = all[(size_t)r * FP_COUNT + f];
            if (a == b) continue;
            if (fp_is_count(f))
                st = dsi_error(DSN_E_INVALID, "processes disagree: process %d has %s %llu, process 0 has %llu", r,
                               fp_name[f], (unsigned long long)b, (unsigned long long)a);
            else
                st = dsi_error(DSN_E_INVALID, "processes disagree: the %s of process %d differ from those of process 0",
                               fp_name[f], r);
            break;
        }
    dsi_free(all);
    if (st != DSN_OK) return st;
    /* the same start everywhere: process 0's weights, optimizer moments and RNG */
    dsi_optim *o = &opt->optim;
    size_t bytes = m->params.n * sizeof(float);
    st = d->bcast(d->ctx, m->params.data, bytes, 0);
    if (st == DSN_OK && o->m) st = d->bcast(d->ctx, o->m, o->n * sizeof(float), 0);
    if (st == DSN_OK && o->v) st = d->bcast(d->ctx, o->v, o->n * sizeof(float), 0);
    if (st == DSN_OK && o->vmax) st = d->bcast(d->ctx, o->vmax, o->n * sizeof(float), 0);
    if (st == DSN_OK) st = d->bcast(d->ctx, &m->rng, sizeof m->rng, 0);
    return st;
}

dsn_status dsi_dist_reduce(void *ctx, dsn_model *m, float *loss)
{
    dsi_dist_step *s = ctx;
    const dsi_dist *d = s->dist;
    /* only the span of the trainable parameters travels: frozen groups (a
     * VQ-VAE's prior while the autoencoder trains, TS-DSAE's local encoder in
     * its first stage) have no gradient, and theirs is never read */
    const dsi_params *ps = &m->params;
    size_t lo = ps->n, hi = 0;
    for (int i = 0; i < ps->count; i++) {
        const dsi_param *p = &ps->list[i];
        if (ps->frozen[p->group] || !p->var.n) continue;
        if (p->offset < lo) lo = p->offset;
        if (p->offset + p->var.n > hi) hi = p->offset + p->var.n;
    }
    if (hi < lo) lo = hi = 0;
    float *g = ps->grad + lo, w = s->weight;
    size_t n = hi - lo;
    for (size_t i = 0; i < n; i++) g[i] *= w;
    /* the loss, its terms and the stop flag ride after them (in a frozen
     * parameter's stale gradient or the buffer's slack) */
    float *x = g + n;
    memset(x, 0, DSI_DIST_EXTRA * sizeof(float));
    x[0] = *loss * w;
    for (int i = 0; i < m->last_terms.n; i++) x[1 + i] = m->last_terms.values[i] * w;
    x[1 + DSI_MAX_TERMS] = (float)s->stop_local;
    dsn_status st = d->sum_f(d->ctx, g, n + DSI_DIST_EXTRA);
    if (st != DSN_OK) return st;
    *loss = x[0];
    for (int i = 0; i < m->last_terms.n; i++) m->last_terms.values[i] = x[1 + i];
    if (x[1 + DSI_MAX_TERMS] > 0.0f) s->stop_all = 1;
    return DSN_OK;
}

dsn_status dsi_dist_epoch_end(dsi_dist_step *s, dsn_status local, int *stop)
{
    const dsi_dist *d = s->dist;
    double v[2] = {local != DSN_OK ? 1.0 : 0.0, (double)(s->stop_local || *stop)};
    dsn_status st = d->sum_d(d->ctx, v, 2);
    if (st != DSN_OK) return local != DSN_OK ? local : st;
    if (local != DSN_OK) return local;
    if (v[0] > 0.0) return dsi_error(DSN_E_IO, "another process failed at the end of the epoch (see its error)");
    if (v[1] > 0.0) *stop = 1, s->stop_all = 1;
    return DSN_OK;
}
