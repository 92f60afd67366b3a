/* fit.c - dsn_fit: epochs of grouped (or plain) mini-batches, validation,
 * early stopping, best weights, periodic atomic checkpoints, resumable. */
#include "api/front_end.h"
#include "api/dataset.h"
#include "api/fit.h"
#include "api/fit_dist.h"
#include "api/fit_log.h"
#include "api/groups.h"
#include "api/describe.h"
#include "api/optimizer.h"
#include "core/options.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "models/model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* the current stage's name for the log ("" for a family without stages) */
#define STAGE(m) ((m)->vt->stage ? (m)->vt->stage(m) : "")

/* steps in a row with a non-finite loss or gradient after which dsn_fit stops */
#define DSI_FIT_MAX_SKIPPED 10

typedef struct fit_cfg {
    int epochs, batch_groups, group_size, batch_size, patience, keep_best, checkpoint_every, max_skipped;
    int log_append;
    int data_shards; /* 0: one shard per process */
    int64_t steps_per_epoch, log_every;
    uint64_t seed;
    char checkpoint[512];
    char log[512]; /* the JSONL training log ("" none); fit_log.h */
    const dsn_dataset *train_set; /* the public handle of train (its audio counters and front end) */
} fit_cfg;

static dsn_status read_keys(fit_cfg *c, const dsn_options *opts);

static void cfg_defaults(fit_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->epochs = 10;
    c->batch_groups = 0; /* default: min(16, the dataset's groups), set in fit */
    c->group_size = 16;
    c->batch_size = 256;
    c->keep_best = 1;
    c->checkpoint_every = 1;
    c->log_every = 10;
    c->max_skipped = DSI_FIT_MAX_SKIPPED;
}

dsn_status dsi_fit_read_defaults(void)
{
    fit_cfg c;
    cfg_defaults(&c);
    c.seed = 1; /* a model's default seed; fit's default is the model's */
    return read_keys(&c, NULL);
}

static dsn_status read_cfg(fit_cfg *c, const dsn_options *opts, const dsn_model *m)
{
    cfg_defaults(c);
    c->seed = m->seed;
    /* the family's own defaults first (e.g. sequence models count steps, not
     * passes: a fixed steps_per_epoch), then the caller's options */
    if (m->vt->fit_defaults) {
        dsn_options *d = NULL;
        dsn_status st = dsn_options_create(&d);
        if (st == DSN_OK) st = dsn_options_parse(d, m->vt->fit_defaults);
        if (st == DSN_OK) st = read_keys(c, d);
        dsn_options_free(d);
        if (st != DSN_OK) return st;
    }
    return read_keys(c, opts);
}

static dsn_status read_keys(fit_cfg *c, const dsn_options *opts)
{
    dsi_optr r;
    dsn_status st = dsi_optr_init(&r, opts, "dsn_fit");
    if (st != DSN_OK) return st;
    dsi_opt_int(&r, "epochs", &c->epochs, 1, 1 << 30);
    dsi_opt_i64(&r, "steps_per_epoch", &c->steps_per_epoch, 0, INT64_MAX);
    dsi_opt_int(&r, "batch_groups", &c->batch_groups, 1, 1 << 20);
    dsi_opt_int(&r, "group_size", &c->group_size, 1, 1 << 20);
    dsi_opt_int(&r, "batch_size", &c->batch_size, 1, 1 << 24);
    dsi_opt_int(&r, "patience", &c->patience, 0, 1 << 30);
    dsi_opt_bool(&r, "keep_best", &c->keep_best);
    dsi_opt_str(&r, "checkpoint", c->checkpoint, sizeof c->checkpoint);
    dsi_opt_int(&r, "checkpoint_every", &c->checkpoint_every, 1, 1 << 30);
    dsi_opt_i64(&r, "log_every", &c->log_every, 1, INT64_MAX);
    dsi_opt_u64(&r, "seed", &c->seed);
    dsi_opt_int(&r, "max_skipped_steps", &c->max_skipped, 0, 1 << 30);
    dsi_opt_str(&r, "log", c->log, sizeof c->log);
    dsi_opt_bool(&r, "log_append", &c->log_append);
    dsi_opt_int(&r, "data_shards", &c->data_shards, 0, 1 << 16);
    return dsi_optr_finish(&r);
}

/* The run's settings that every process of a data-parallel run must share
 * (all but the checkpoint and log paths, which only process 0 uses). */
static uint64_t cfg_hash(const fit_cfg *c)
{
    fit_cfg k = *c;
    memset(k.checkpoint, 0, sizeof k.checkpoint);
    memset(k.log, 0, sizeof k.log);
    k.log_append = 0;
    k.train_set = NULL; /* an address: differs between processes */
    return dsi_dist_hash(0, &k, sizeof k);
}

/* What a validation measures: the mean batch loss of the current training
 * objective (what keep_best and patience compare, within a stage) and of the
 * run-long loss (the family's one definition for the whole run, which the
 * callback and the log report as valid_loss), with the latter's named terms. */
typedef struct valid_result {
    double objective, run;
    int n_terms;
    const char *names[DSI_MAX_TERMS];
    double values[DSI_MAX_TERMS];
} valid_result;

/* One pass of ds without updates (run_loss: the run-long loss); the model's
 * training RNG is left as it was (validation draws from its own seeded stream). */
static dsn_status valid_pass(dsn_model *m, const dsi_dataset *ds, size_t batch, uint64_t seed, dsi_batch *b,
                             int32_t *dense, int32_t *seen, int run_loss, double *out, valid_result *terms_out)
{
    dsi_epoch_iter *it = NULL;
    dsn_status st = dsi_epoch_iter_create(&it, ds, batch, 0, seed);
    if (st != DSN_OK) return st;
    dsi_rng saved = m->rng;
    dsi_rng_seed(&m->rng, seed ^ 0xa5a5a5a5ULL);
    double sum = 0.0;
    size_t count = 0;
    dsi_tape *t = &m->tape;
    /* a data-parallel run validates the whole set on every process: the
     * noise shard of training is set aside */
    dsi_shard shard = t->shard;
    memset(&t->shard, 0, sizeof t->shard);
    m->run_loss = run_loss;
    if (terms_out) terms_out->n_terms = 0;
    while ((st = dsi_epoch_iter_next(it, b)) == DSN_OK && b->n) {
        dsi_tape_reset(t);
        dsi_tape_set_recording(t, 0);
        size_t g = dsi_dense_groups(ds->n_groups && m->vt->grouped ? b->group : NULL, b->n, dense, seen);
        dsi_input in = {b->x, b->n, dense, g, ds->mask ? b->mask : NULL, 0};
        dsi_var *loss = NULL;
        dsi_terms terms = {0};
        st = m->vt->loss(m, t, &in, &loss, &terms);
        if (st == DSN_OK && (!loss || t->status != DSN_OK)) st = dsi_tape_failure(t);
        if (st != DSN_OK) break;
        sum += loss->x[0];
        if (terms_out) { /* the terms of the first batch name the columns */
            if (!count) {
                terms_out->n_terms = terms.n;
                for (int i = 0; i < terms.n; i++) {
                    terms_out->names[i] = terms.names[i];
                    terms_out->values[i] = 0.0;
                }
            }
            for (int i = 0; i < terms_out->n_terms && i < terms.n; i++) terms_out->values[i] += terms.values[i];
        }
        count++;
    }
    m->run_loss = 0;
    dsi_tape_set_recording(t, 1);
    t->shard = shard;
    m->rng = saved;
    dsi_epoch_iter_free(it);
    *out = count ? sum / (double)count : 0.0;
    if (terms_out)
        for (int i = 0; i < terms_out->n_terms; i++) terms_out->values[i] /= count ? (double)count : 1.0;
    return st;
}

/* The objective's pass, and the run-long loss's when they differ now. */
static dsn_status validate(dsn_model *m, const dsi_dataset *ds, size_t batch, uint64_t seed, dsi_batch *b,
                           int32_t *dense, int32_t *seen, valid_result *r)
{
    int differs = m->vt->run_loss_differs && m->vt->run_loss_differs(m);
    dsn_status st = valid_pass(m, ds, batch, seed, b, dense, seen, 0, &r->objective, differs ? NULL : r);
    r->run = r->objective;
    if (st == DSN_OK && differs) st = valid_pass(m, ds, batch, seed, b, dense, seen, 1, &r->run, r);
    return st;
}

/* The units of every global batch for a training set of rows rows in groups
 * groups: G groups of k = group_size rows (a grouped model on a set with
 * groups; batch_groups defaults to min(16, groups)), else G rows (k = 1,
 * batch_size, at most the set's rows). */
static void batch_plan(const fit_cfg *c, const dsn_model *m, size_t rows, size_t groups, int *grouped, size_t *G,
                       size_t *k)
{
    *grouped = groups > 0 && m->vt->grouped;
    if (*grouped) {
        *G = c->batch_groups ? (size_t)c->batch_groups : groups < 16 ? groups : 16;
        *k = (size_t)c->group_size;
    } else {
        *G = (size_t)c->batch_size < rows ? (size_t)c->batch_size : rows;
        *k = 1;
    }
}

dsn_status dsi_fit_batch_plan(const dsn_model *m, const dsn_options *opts, size_t rows, size_t groups, int *grouped,
                              size_t *G, size_t *k)
{
    fit_cfg c;
    dsn_status st = read_cfg(&c, opts, m);
    if (st == DSN_OK) batch_plan(&c, m, rows, groups, grouped, G, k);
    return st;
}

/* One shard's sampler: the shard's rows and its units of every global batch.
 * One process trains on one shard per call (the whole set, or data_shards
 * of it, which is what data_shards processes do); a process of a
 * data-parallel run on its own. */
typedef struct fit_slot {
    dsi_dataset *own;        /* a shard cut here from a whole set (NULL: ds is the caller's) */
    const dsi_dataset *ds;   /* its rows */
    dsi_group_sampler *gs;
    dsi_epoch_iter *it;
    size_t u0, un;           /* units [u0, u0 + un) of every batch */
    int index;               /* the shard's number (its sampler's seed) */
} fit_slot;

/* The seed of shard r's sampler in an epoch seeded s: s itself for shard 0,
 * so that one shard draws what dsn_fit always drew. */
static uint64_t slot_seed(uint64_t s, int r) { return r ? s ^ (0x9E3779B97F4A7C15ULL * (uint64_t)r) : s; }

static void slot_reset(fit_slot *sl, uint64_t seed)
{
    if (sl->gs) dsi_group_sampler_reset(sl->gs, slot_seed(seed, sl->index));
    if (sl->it) dsi_epoch_iter_reset(sl->it, slot_seed(seed, sl->index));
}

/* Shard `index` of P of train for batches of G units of k rows into sl and
 * its facts into f (what a data-parallel run compares at its start). A shard
 * too small for its part of the batch gets no sampler (the caller reports
 * it); other failures set f->failed and return their status. */
static dsn_status slot_setup(fit_slot *sl, dsi_dist_facts *f, const dsi_dataset *train, int grouped, size_t G,
                             size_t k, int index, int P, uint64_t seed)
{
    size_t g0, g1, lo, hi;
    dsi_shard_part(G, index, P, &g0, &g1);
    sl->index = index;
    sl->u0 = g0;
    sl->un = g1 - g0;
    f->part = sl->un;
    f->grouped = (uint64_t)grouped;
    f->given = train->shard_count > 0;
    f->shard_rank = (uint64_t)train->shard_rank;
    f->shard_count = (uint64_t)train->shard_count;
    f->by_groups = (uint64_t)train->shard_by_groups;
    dsi_shard_units(grouped ? dsi_dataset_total_groups(train) : dsi_dataset_total_rows(train), G, index, P, &lo, &hi);
    f->want = hi - lo;
    dsn_status st = DSN_OK;
    if (train->shard_count || P == 1) {
        sl->ds = train; /* the caller's shard, or the whole set for one shard */
    } else if (f->want >= sl->un && f->want > 0) {
        st = dsi_dataset_shard(&sl->own, train, grouped, G, index, P);
        sl->ds = sl->own;
    }
    f->units = !sl->ds ? f->want : grouped ? sl->ds->n_groups : sl->ds->n;
    /* (one shard: the sampler's own errors, as dsn_fit always gave) */
    if (st == DSN_OK && sl->ds && (P == 1 || (f->units >= sl->un && (!f->given || f->by_groups == f->grouped)))) {
        if (grouped) st = dsi_group_sampler_create(&sl->gs, sl->ds, sl->un, k, slot_seed(seed, index));
        else st = dsi_epoch_iter_create(&sl->it, sl->ds, sl->un, 1, slot_seed(seed, index));
    }
    if (st != DSN_OK) f->failed = 1;
    return st;
}

/* The next global batch (this process's part of it) into b: each shard's
 * units at their place, their batch group ids global (u0 + the shard's). */
static dsn_status slots_draw(fit_slot *sl, int nsl, int grouped, size_t k, const dsi_dataset *train, dsi_batch *b)
{
    size_t rows = 0, obs = train->obs_size, T = (size_t)train->shape[0];
    for (int j = 0; j < nsl; j++) {
        fit_slot *s = &sl[j];
        dsi_batch v = {b->x + rows * obs, b->group ? b->group + rows : NULL, b->label ? b->label + rows : NULL,
                       b->mask ? b->mask + rows * T : NULL, b->index ? b->index + rows : NULL, s->un * k, 0};
        dsn_status st;
        if (grouped) st = dsi_group_sampler_next(s->gs, &v);
        else {
            st = dsi_epoch_iter_next(s->it, &v);
            if (st == DSN_OK && v.n == 0) st = dsi_epoch_iter_next(s->it, &v); /* its next pass */
        }
        if (st != DSN_OK) return st;
        if (grouped && v.group)
            for (size_t i = 0; i < v.n; i++) v.group[i] += (int32_t)s->u0;
        rows += v.n;
    }
    b->n = rows;
    return DSN_OK;
}

static void slots_free(fit_slot *sl, int nsl)
{
    for (int j = 0; sl && j < nsl; j++) {
        dsi_group_sampler_free(sl[j].gs);
        dsi_epoch_iter_free(sl[j].it);
        dsi_dataset_free(sl[j].own);
    }
    dsi_free(sl);
}

static dsn_status fit(dsn_model *m, dsn_optimizer *opt, const dsi_dataset *train, const dsi_dataset *valid,
                      const fit_cfg *c, dsn_progress_fn cb, void *user, const dsi_dist *dist)
{
    const size_t rows_all = dsi_dataset_total_rows(train), groups_all = dsi_dataset_total_groups(train);
    int grouped;
    size_t G, k;
    batch_plan(c, m, rows_all, groups_all, &grouped, &G, &k);
    fit_cfg cc = *c; /* the documented default batch_groups = min(16, groups); an explicit value is kept */
    if (grouped) cc.batch_groups = (int)G;
    c = &cc;
    const size_t batch = G * k;
    /* the shards: P of them (data_shards, or the processes of a data-parallel
     * run), each with its own sampler over its own rows, shard r drawing
     * units [G r / P, G (r + 1) / P) of every batch; one process trains on
     * all of them, a process of a data-parallel run on its own */
    const int P = dist ? dist->size : c->data_shards > 1 ? c->data_shards : 1, nsl = dist ? 1 : P;
    if (dist && c->data_shards && c->data_shards != dist->size)
        return dsi_error(DSN_E_OPTION, "data_shards = %d, but the run has %d processes (each process trains on one shard)",
                         c->data_shards, dist->size);
    if (!dist && train->shard_count)
        return dsi_error(DSN_E_INVALID,
                         "the training set is shard %d of %d of a larger set: train on it with dsn_fit_mpi on %d "
                         "processes, or on the whole set",
                         train->shard_rank, train->shard_count, train->shard_count);
    if ((size_t)P > G)
        return dsi_error(DSN_E_OPTION,
                         "a global batch of %zu %s cannot be split over %d %s (each needs at least one): raise %s or "
                         "use fewer",
                         G, grouped ? "groups" : "items", P, dist ? "processes" : "shards",
                         grouped ? "batch_groups" : "batch_size");
    /* data-parallel: this process trains on its part of every global batch
     * and the gradients are summed over processes */
    dsi_dist_step ds = {0};
    const dsi_step_hooks hooks = {dsi_dist_reduce, dsi_dist_update, &ds};
    dsi_dist_profile prof = {0};
    if (dist) {
        dsn_status pst = dsi_dist_plan(&ds, dist, grouped, G, k);
        if (pst != DSN_OK) return pst;
    }
    fit_slot *sl = dsi_calloc((size_t)nsl, sizeof *sl);
    float *best = NULL;
    dsi_batch b = {0};
    int32_t *dense = NULL, *seen = NULL;
    dsi_fit_log *log = NULL;
    dsn_status st = DSN_OK;
    int epoch = m->epoch;
    int64_t step = opt->optim.step;
    /* everything a run needs is allocated here, before the first step (the
     * whole global batch: validation draws whole batches) */
    b.cap = batch;
    b.x = dsi_aligned_alloc(batch * train->obs_size * sizeof(float));
    b.group = dsi_calloc(batch, sizeof(int32_t));
    b.label = dsi_calloc(batch, sizeof(int32_t));
    b.mask = dsi_calloc(batch * (size_t)train->shape[0], sizeof(float));
    dense = dsi_calloc(batch, sizeof(int32_t));
    seen = dsi_calloc(batch, sizeof(int32_t));
    if (c->keep_best && valid) best = dsi_aligned_alloc(m->params.n * sizeof(float) + 1);
    if (!sl || !b.x || !b.group || !b.label || !b.mask || !dense || !seen || (c->keep_best && valid && !best)) {
        st = dsi_error(DSN_E_NOMEM, "out of memory for batches of %zu", batch);
        goto done;
    }
    dsi_dist_facts facts;
    for (int j = 0; j < nsl && st == DSN_OK; j++) {
        memset(&facts, 0, sizeof facts);
        facts.rows = rows_all;
        facts.groups = groups_all;
        st = slot_setup(&sl[j], &facts, train, grouped, G, k, dist ? dist->rank : j, P, c->seed + (uint64_t)m->epoch);
        if (st == DSN_OK && !dist && P > 1) st = dsi_dist_check_facts(&facts, j, P, "shard");
    }
    /* a process that failed here still joins the start, which fails on
     * every process (its own error is kept for it) */
    dsn_status local = st;
    char local_why[512] = "";
    if (st != DSN_OK) {
        snprintf(local_why, sizeof local_why, "%s", dsn_last_error());
        if (!dist) goto done;
    }
    /* the training log: an unwritable file fails here, before any step (only
     * process 0 of a data-parallel run writes it) */
    if (c->log[0] && (!dist || dist->rank == 0)) {
        st = dsi_fit_log_open(&log, c->log, c->log_append);
        if (st != DSN_OK) goto done;
    }
    if (dist) {
        st = dsi_dist_start(&ds, m, opt, train, valid, cfg_hash(c), &facts);
        if (st != DSN_OK && local != DSN_OK) st = dsi_error(local, "%s", local_why);
        if (st == DSN_OK) st = dsi_dist_attach(&ds, m);
        if (st != DSN_OK) goto done;
        m->tape.shard = ds.shard;
        m->dist = dist;
    }
    int64_t steps = c->steps_per_epoch ? c->steps_per_epoch : (int64_t)((rows_all + batch - 1) / batch);
    double best_loss = INFINITY, best_run = INFINITY;
    int since_best = 0, stop = 0, objective = m->objective;
    const int two_losses = m->vt->run_loss_differs != NULL;
    dsi_fit_log_start(log, m->vt->name, STAGE(m), m->params.n, rows_all, valid ? valid->n : 0, m->epoch, c->epochs,
                      steps, batch, c->seed, opt->kind, step);
    if (c->train_set && c->train_set->audio)
        dsi_fit_log_data(log, m->epoch, step, STAGE(m), DSI_DS_COUNTERS, dsi_dataset_counter_names,
                         c->train_set->counters, c->train_set->audio);
    for (epoch = m->epoch; epoch < c->epochs && !stop; epoch++) {
        double sum = 0;
        int64_t done_steps = 0;
        /* every epoch's batches depend only on (seed, epoch), so a run resumed
         * from a checkpoint draws the same batches as an uninterrupted one */
        for (int j = 0; j < nsl; j++) slot_reset(&sl[j], c->seed + (uint64_t)epoch);
        double t0 = dsi_wall_seconds();
        for (int64_t s = 0; s < steps && !stop; s++) {
            if ((st = slots_draw(sl, nsl, grouped, k, train, &b)) != DSN_OK) goto done;
            dsi_input in = {b.x, b.n, grouped ? b.group : NULL, 0, train->mask ? b.mask : NULL, 0};
            float l;
            if (dist) {
                double t1 = dsi_wall_seconds();
                prof.data += t1 - t0;
                double before = ds.t_reduce + ds.t_update;
                st = dsi_train_on_reduced(m, opt, &in, &l, &hooks);
                double t2 = dsi_wall_seconds();
                prof.compute += t2 - t1 - (ds.t_reduce + ds.t_update - before);
                prof.steps++;
                t0 = t2;
            } else {
                st = dsi_train_on(m, opt, &in, &l);
            }
            if (st == DSN_E_NUMERIC && m->skipped_in_row > 0) {
                /* a skipped step (nothing was updated): go on, unless too many in a row */
                if (m->skipped_in_row > c->max_skipped) {
                    st = dsi_error(DSN_E_NUMERIC,
                                   "training stopped at epoch %d, step %lld: more than max_skipped_steps = %d steps "
                                   "in a row had a non-finite loss or gradient (the model keeps the weights of the "
                                   "last good step); last: %s",
                                   epoch + 1, (long long)step, c->max_skipped, dsn_last_error());
                    goto done;
                }
                dsi_fit_log_skip(log, epoch + 1, step, STAGE(m), dsn_last_error());
                st = DSN_OK;
                continue;
            }
            if (st != DSN_OK) goto done;
            sum += l;
            done_steps++;
            step++;
            dsi_fit_log_step(log, epoch + 1, step, STAGE(m), opt->optim.last_lr, m->last_terms.n, m->last_terms.names,
                             m->last_terms.values);
            if (cb && (step % c->log_every == 0 || s + 1 == steps) &&
                cb(user, epoch, step, 0, m->last_terms.n, m->last_terms.names, m->last_terms.values))
                ds.stop_local = 1, stop = !dist;
            /* a stop asked for on any process takes effect on all after the same step */
            if (dist && ds.stop_all) stop = 1;
        }
        double te = dsi_wall_seconds();
        /* data-parallel: the optimizer state whole again on every process
         * before a stage switch can change the trainable span, a checkpoint
         * saves it, or the run ends */
        if (dist && (st = dsi_dist_sync_state(&ds, &opt->optim)) != DSN_OK) goto done;
        m->epoch = epoch + 1;
        if (m->vt->epoch_end && (st = m->vt->epoch_end(m, m->epoch)) != DSN_OK) goto done;
        if (m->objective != objective) {
            /* a stage switch changed the objective: earlier validation losses
             * (and the weights kept for them) no longer compete */
            objective = m->objective;
            best_loss = INFINITY;
            since_best = 0;
        }
        const char *names[5] = {"train_loss", "valid_loss", "best_valid_loss", "valid_objective",
                                "best_valid_objective"};
        float vals[5] = {(float)(done_steps ? sum / (double)done_steps : 0), NAN, NAN, NAN, NAN};
        int nv = 1;
        valid_result vr = {0};
        if (valid) {
            st = validate(m, valid, batch, c->seed, &b, dense, seen, &vr);
            if (st != DSN_OK) goto done;
            /* keep_best and patience compare the objective of the current stage */
            if (vr.objective < best_loss) {
                best_loss = vr.objective;
                since_best = 0;
                if (best) memcpy(best, m->params.data, m->params.n * sizeof(float));
            } else if (c->patience && ++since_best >= c->patience) {
                stop = 1;
            }
            if (vr.run < best_run) best_run = vr.run;
            vals[1] = (float)vr.run;
            vals[2] = (float)(two_losses ? best_run : best_loss);
            vals[3] = (float)vr.objective;
            vals[4] = (float)best_loss;
            nv = two_losses ? 5 : 3;
        }
        dsi_fit_log_epoch(log, m->epoch, step, STAGE(m), opt->optim.last_lr, nv, names, vals, vr.n_terms, vr.names,
                          vr.values);
        if ((st = dsi_fit_log_flush(log)) != DSN_OK) goto done;
        /* the callback first: a stop it asks for still gets its checkpoint */
        if (cb && cb(user, m->epoch, step, 1, nv, names, vals)) stop = 1, ds.stop_local = 1;
        /* data-parallel: a stop asked for anywhere is a stop everywhere */
        if (dist && (st = dsi_dist_epoch_end(&ds, DSN_OK, &stop)) != DSN_OK) goto done;
        if (c->checkpoint[0] && (m->epoch % c->checkpoint_every == 0 || stop || m->epoch == c->epochs) &&
            (!dist || dist->rank == 0)) {
            st = dsn_model_save(m, opt, c->checkpoint);
            if (st != DSN_OK && !dist) goto done;
        }
        /* ... and a checkpoint that process 0 failed to write fails all */
        if (dist && (st = dsi_dist_epoch_end(&ds, st, &stop)) != DSN_OK) goto done;
        prof.epoch_end += dsi_wall_seconds() - te;
    }
    if (best && isfinite(best_loss)) memcpy(m->params.data, best, m->params.n * sizeof(float));
done:
    if (log) { /* the end record says how the run ended; a failed log write fails the run */
        char why[512];
        snprintf(why, sizeof why, "%s", st != DSN_OK ? dsn_last_error() : "");
        dsi_fit_log_end(log, m->epoch, opt->optim.step, st, why);
        dsn_status lst = dsi_fit_log_close(log);
        if (st == DSN_OK) st = lst;
        else if (lst != DSN_OK) dsi_error(st, "%s", why); /* the run's own error first */
    }
    if (dist) {
        /* a run that stopped on non-finite steps stopped everywhere at the
         * same step: its optimizer state is made whole too (any other failure
         * may have left messages pending: no collective) */
        if (st == DSN_E_NUMERIC && ds.state_partial) {
            char why[512];
            snprintf(why, sizeof why, "%s", dsn_last_error());
            (void)dsi_dist_sync_state(&ds, &opt->optim);
            dsi_error(st, "%s", why);
        }
        dsi_dist_detach(&ds, m);
        memset(&m->tape.shard, 0, sizeof m->tape.shard);
        m->dist = NULL;
        prof.reduce = ds.t_reduce;
        prof.update = ds.t_update;
        dsi_dist_set_profile(&prof);
    }
    slots_free(sl, nsl);
    dsi_aligned_free(best);
    dsi_aligned_free(b.x);
    dsi_free(b.group);
    dsi_free(b.label);
    dsi_free(b.mask);
    dsi_free(dense);
    dsi_free(seen);
    return st;
}

const char *dsn_fit_defaults(const dsn_model *m)
{
    return m && m->vt->fit_defaults ? m->vt->fit_defaults : "";
}

dsn_status dsn_fit(dsn_model *m, dsn_optimizer *opt, const dsn_dataset *train, const dsn_dataset *valid,
                   const dsn_options *opts, dsn_progress_fn progress, void *user)
{
    return dsi_fit_run(m, opt, train, valid, opts, progress, user, NULL);
}

dsn_status dsi_fit_run(dsn_model *m, dsn_optimizer *opt, const dsn_dataset *train, const dsn_dataset *valid,
                       const dsn_options *opts, dsn_progress_fn progress, void *user, const dsi_dist *dist)
{
    DSI_CHECK_NULL(m, "dsn_fit: model");
    DSI_CHECK_NULL(opt, "dsn_fit: optimizer");
    DSI_CHECK_NULL(train, "dsn_fit: train");
    if (opt->model != m) return dsi_error(DSN_E_INVALID, "dsn_fit: the optimizer belongs to another model");
    if (train->d->obs_size != m->obs_size || (valid && valid->d->obs_size != m->obs_size))
        return dsi_error(DSN_E_SHAPE, "dsn_fit: observations of %zu floats, the model wants %zu", train->d->obs_size,
                         m->obs_size);
    fit_cfg c;
    dsn_status st = read_cfg(&c, opts, m);
    if (st == DSN_OK) st = dsi_front_end_adopt(m, train, valid); /* the model keeps the data's audio front end */
    c.train_set = train;
    if (st == DSN_OK) st = fit(m, opt, train->d, valid ? valid->d : NULL, &c, progress, user, dist);
    if (st != DSN_OK) dsi_error_prefix("dsn_fit");
    return st;
}
