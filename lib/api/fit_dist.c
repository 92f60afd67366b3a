/* fit_dist.c - the data-parallel parts of dsn_fit: batch split, start-up
 * agreement, gradient reduction (MPI-free: see core/dist.h). */
#include "api/fit_dist.h"
#include "api/fit.h"
#include "core/options.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"

#include <math.h>
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
    (void)grouped;
    memset(s, 0, sizeof *s);
    s->dist = d;
    size_t glo, ghi;
    dsi_shard_part(G, d->rank, d->size, &glo, &ghi);
    if (ghi == glo) return dsi_error(DSN_E_INTERNAL, "process %d has no part of a batch of %zu", d->rank, G);
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

enum { FP_PROTO, FP_MODEL, FP_OPTIM, FP_FIT, FP_PARAMS, FP_ROWS, FP_OBS, FP_GROUPS, FP_GIVEN, FP_DATA, FP_VROWS,
       FP_VDATA, FP_EPOCH, FP_STEP, FP_FROZEN, FP_COUNT };
static const char *const fp_name[FP_COUNT] = {
    "protocol version", "model family and options", "optimizer and its options", "fit options", "parameter count",
    "training rows", "floats per observation", "training groups",
    "training set given as a shard (1) or whole (0)", "training data (sampled rows)", "validation rows",
    "validation data (sampled rows)", "epochs done", "optimizer steps done", "frozen parameter groups"};
/* fields compared as numbers (the others are hashes) */
static int fp_is_count(int f)
{
    return f == FP_PARAMS || f == FP_ROWS || f == FP_OBS || f == FP_GROUPS || f == FP_GIVEN || f == FP_VROWS ||
           f == FP_EPOCH || f == FP_STEP;
}

dsn_status dsi_dist_check_facts(const dsi_dist_facts *f, int q, int P, const char *who)
{
    const char *unit = f->grouped ? "groups" : "rows";
    if (f->given && (f->shard_rank != (uint64_t)q || f->shard_count != (uint64_t)P))
        return dsi_error(DSN_E_INVALID, "%s %d holds shard %llu of %llu: %s r of %d must hold shard r of %d", who, q,
                         (unsigned long long)f->shard_rank, (unsigned long long)f->shard_count, who, P, P);
    if (f->given && f->by_groups != f->grouped)
        return dsi_error(DSN_E_INVALID, "%s %d holds a shard of %s, but this model trains on batches of %s", who, q,
                         f->by_groups ? "groups" : "rows", unit);
    if (f->units < f->part)
        return dsi_error(DSN_E_INVALID,
                         "%s %d's shard holds %llu %s, fewer than its part of every global batch (%llu %s): use fewer "
                         "%s, a smaller %s or more data",
                         who, q, (unsigned long long)f->units, unit, (unsigned long long)f->part, unit,
                         strcmp(who, "process") ? "shards" : "processes",
                         f->grouped ? "batch_groups" : "batch_size");
    if (f->units != f->want)
        return dsi_error(DSN_E_INVALID,
                         "%s %d's shard holds %llu %s, but the split of %llu %s for batches of these options over %d "
                         "gives it %llu (make the shards with the training options: dsn_dataset_shard)",
                         who, q, (unsigned long long)f->units, unit,
                         (unsigned long long)(f->grouped ? f->groups : f->rows), unit, P, (unsigned long long)f->want);
    return DSN_OK;
}

dsn_status dsi_dist_start(dsi_dist_step *s, dsn_model *m, dsn_optimizer *opt, const dsi_dataset *train,
                          const dsi_dataset *valid, uint64_t cfg_hash, const dsi_dist_facts *facts)
{
    const dsi_dist *d = s->dist;
    enum { FN = sizeof(dsi_dist_facts) / sizeof(uint64_t), N = FP_COUNT + FN };
    uint64_t fp[N];
    fp[FP_PROTO] = 2;
    fp[FP_MODEL] = options_hash(dsi_dist_hash(0, m->vt->name, strlen(m->vt->name)), m->opts);
    fp[FP_OPTIM] = options_hash(dsi_dist_hash(0, opt->kind, strlen(opt->kind)), opt->opts);
    fp[FP_FIT] = cfg_hash;
    fp[FP_PARAMS] = m->params.n;
    fp[FP_ROWS] = facts->rows;
    fp[FP_OBS] = train->obs_size;
    fp[FP_GROUPS] = facts->groups;
    fp[FP_GIVEN] = facts->given;
    /* a whole set is the same on every process; shards are not */
    fp[FP_DATA] = facts->given ? 0 : data_hash(train);
    fp[FP_VROWS] = valid ? valid->n : 0;
    fp[FP_VDATA] = data_hash(valid);
    fp[FP_EPOCH] = (uint64_t)m->epoch;
    fp[FP_STEP] = (uint64_t)opt->optim.step;
    fp[FP_FROZEN] = dsi_dist_hash(0, m->params.frozen, sizeof m->params.frozen);
    memcpy(fp + FP_COUNT, facts, sizeof *facts);
    uint64_t *all = dsi_malloc(sizeof fp * (size_t)d->size);
    if (!all) return dsi_error(DSN_E_NOMEM, "no memory for %d fingerprints", d->size);
    dsn_status st = d->gather_all(d->ctx, fp, sizeof fp, all);
    if (st != DSN_OK) {
        dsi_free(all);
        return st;
    }
    for (int r = 1; r < d->size && st == DSN_OK; r++)
        for (int f = 0; f < FP_COUNT; f++) {
            uint64_t a = all[f], b = all[(size_t)r * N + f];
            if (a == b) continue;
            if (fp_is_count(f))
                st = dsi_error(DSN_E_INVALID, "processes disagree: process %d has %s %llu, process 0 has %llu", r,
                               fp_name[f], (unsigned long long)b, (unsigned long long)a);
            else
                st = dsi_error(DSN_E_INVALID, "processes disagree: the %s of process %d differ from those of process 0",
                               fp_name[f], r);
            break;
        }
    /* then every process's shard, checked alike on every process */
    for (int r = 0; r < d->size && st == DSN_OK; r++) {
        dsi_dist_facts f;
        memcpy(&f, all + (size_t)r * N + FP_COUNT, sizeof f);
        if (f.failed) st = dsi_error(DSN_E_INVALID, "process %d could not prepare its shard of the data (see its error)", r);
        else st = dsi_dist_check_facts(&f, r, d->size, "process");
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

/* [lo, lo + n): the span of the unfrozen parameters (frozen groups - a
 * VQ-VAE's prior while the autoencoder trains, TS-DSAE's local encoder in its
 * first stage - have no gradient, and theirs is never read) */
static void trainable_span(const dsi_params *ps, size_t *lo_out, size_t *n_out)
{
    size_t lo = ps->n, hi = 0;
    for (int i = 0; i < ps->count; i++) {
        const dsi_param *p = &ps->list[i];
        if (ps->frozen[p->group] || !p->var.n) continue;
        if (p->offset < lo) lo = p->offset;
        if (p->offset + p->var.n > hi) hi = p->offset + p->var.n;
    }
    if (hi < lo) lo = hi = 0;
    *lo_out = lo;
    *n_out = hi - lo;
}

dsn_status dsi_dist_reduce(void *ctx, dsn_model *m, float *loss)
{
    dsi_dist_step *s = ctx;
    const dsi_dist *d = s->dist;
    if (d->size == 1) { /* the sum over one process: its own values, bit for bit */
        if (s->stop_local) s->stop_all = 1;
        return DSN_OK;
    }
    double t0 = dsi_wall_seconds();
    const dsi_params *ps = &m->params;
    trainable_span(ps, &s->span_lo, &s->span_n);
    size_t clo, chi;
    dsi_dist_chunk(s->span_n, d->rank, d->size, &clo, &chi);
    s->own_lo = s->span_lo + clo;
    s->own_hi = s->span_lo + chi;
    dsn_status st = d->reduce_scatter_f(d->ctx, ps->grad + s->span_lo, s->span_n, s->weight);
    if (st != DSN_OK) return st;
    /* the global norm from the chunks' sums of squares; the loss, its terms
     * and the stop flag ride in the same small sum */
    double x[3 + DSI_MAX_TERMS] = {0};
    const double w = (double)s->weight;
    x[0] = dsi_optim_sumsq_range(ps, s->own_lo, s->own_hi);
    x[1] = (double)*loss * w;
    for (int i = 0; i < m->last_terms.n; i++) x[2 + i] = (double)m->last_terms.values[i] * w;
    x[2 + DSI_MAX_TERMS] = (double)s->stop_local;
    st = d->sum_d(d->ctx, x, 3 + DSI_MAX_TERMS);
    if (st != DSN_OK) return st;
    s->norm = sqrt(x[0]);
    *loss = (float)x[1];
    for (int i = 0; i < m->last_terms.n; i++) m->last_terms.values[i] = (float)x[2 + i];
    if (x[2 + DSI_MAX_TERMS] > 0.0) s->stop_all = 1;
    s->t_reduce += dsi_wall_seconds() - t0;
    return DSN_OK;
}

dsn_status dsi_dist_update(void *ctx, dsn_model *m, dsi_optim *o, double *norm)
{
    dsi_dist_step *s = ctx;
    const dsi_dist *d = s->dist;
    double t0 = dsi_wall_seconds();
    if (d->size == 1) {
        dsn_status st = dsi_optim_step(o, norm);
        s->t_update += dsi_wall_seconds() - t0;
        return st;
    }
    *norm = s->norm;
    /* a non-finite norm or rate fails here alike on every process (nothing
     * was changed anywhere: no all-gather) */
    dsn_status st = dsi_optim_step_range(o, s->own_lo, s->own_hi, s->norm);
    if (st != DSN_OK) return st;
    if (s->state_partial && (s->state_lo != s->span_lo || s->state_n != s->span_n)) {
        /* the span moved without an epoch end (cannot happen in dsn_fit,
         * which gathers at every epoch end): the state would be stale */
        return dsi_error(DSN_E_INTERNAL, "the trainable span changed within an epoch");
    }
    s->state_partial = 1;
    s->state_lo = s->span_lo;
    s->state_n = s->span_n;
    st = d->all_gather_f(d->ctx, m->params.data + s->span_lo, s->span_n);
    s->t_update += dsi_wall_seconds() - t0;
    return st;
}

dsn_status dsi_dist_sync_state(dsi_dist_step *s, dsi_optim *o)
{
    const dsi_dist *d = s->dist;
    if (!s->state_partial) return DSN_OK;
    float *buf[3] = {o->m, o->v, o->vmax};
    for (int k = 0; k < 3; k++) {
        if (!buf[k]) continue;
        dsn_status st = d->all_gather_f(d->ctx, buf[k] + s->state_lo, s->state_n);
        if (st != DSN_OK) return st;
    }
    s->state_partial = 0;
    return DSN_OK;
}

/* point the parameters' views at data / grad */
static void repoint(dsi_params *ps, float *data, float *grad)
{
    ps->data = data;
    ps->grad = grad;
    for (int i = 0; i < ps->count; i++) {
        dsi_param *p = &ps->list[i];
        p->var.x = data + p->offset;
        if (p->var.g) p->var.g = grad + p->offset;
    }
}

dsn_status dsi_dist_attach(dsi_dist_step *s, dsn_model *m)
{
    const dsi_dist *d = s->dist;
    if (!d->shared_buffers || d->size == 1) return DSN_OK;
    dsi_params *ps = &m->params;
    float *data = NULL, *grad = NULL;
    dsn_status st = d->shared_buffers(d->ctx, ps->n, &data, &grad);
    if (st != DSN_OK || !data) return st;
    memcpy(data, ps->data, ps->n * sizeof(float));
    memcpy(grad, ps->grad, ps->n * sizeof(float));
    s->own_data = ps->data;
    s->own_grad = ps->grad;
    repoint(ps, data, grad);
    return DSN_OK;
}

void dsi_dist_detach(dsi_dist_step *s, dsn_model *m)
{
    if (!s->own_data) return;
    dsi_params *ps = &m->params;
    memcpy(s->own_data, ps->data, ps->n * sizeof(float));
    memcpy(s->own_grad, ps->grad, ps->n * sizeof(float));
    repoint(ps, s->own_data, s->own_grad);
    s->own_data = s->own_grad = NULL;
}

static _Thread_local dsi_dist_profile last_profile;
dsi_dist_profile dsi_dist_last_profile(void) { return last_profile; }
void dsi_dist_set_profile(const dsi_dist_profile *p) { last_profile = *p; }

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
