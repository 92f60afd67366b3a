/* sampler.c - grouped "G groups x k members" batches and shuffled epochs.
 * All scratch is allocated at creation; drawing a batch never allocates. */
#include "data/dataset.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>

static inline void swap_i32(int32_t *a, int32_t *b)
{
    int32_t t = *a;
    *a = *b;
    *b = t;
}

dsn_status dsi_group_sampler_create(dsi_group_sampler **out, const dsi_dataset *ds, size_t groups, size_t k,
                                    uint64_t seed)
{
    DSI_CHECK_NULL(out, "out");
    DSI_CHECK_NULL(ds, "dataset");
    if (ds->n_groups == 0) return dsi_error(DSN_E_STATE, "grouped sampling needs a dataset with labels or group ids");
    if (groups == 0 || k == 0) return dsi_error(DSN_E_INVALID, "groups (%zu) and k (%zu) must be positive", groups, k);
    if (groups > ds->n_groups)
        return dsi_error(DSN_E_INVALID, "a batch of %zu groups was asked for, but the dataset has only %zu groups",
                         groups, ds->n_groups);
    size_t G = groups;
    if (k > INT32_MAX / G) return dsi_error(DSN_E_INVALID, "batch of %zu groups x %zu members is too large", G, k);
    dsi_group_sampler *s = dsi_calloc(1, sizeof *s);
    if (!s) return dsi_error(DSN_E_NOMEM, "cannot allocate a sampler");
    s->ds = ds;
    s->groups = G;
    s->k = k;
    s->groups_gen = ds->groups_gen;
    dsi_rng_seed(&s->rng, seed);
    s->group_perm = dsi_malloc(ds->n_groups * sizeof(int32_t));
    s->member_perm = dsi_malloc(ds->n * sizeof(int32_t));
    s->rows = dsi_malloc(G * k * sizeof(int32_t));
    if (!s->group_perm || !s->member_perm || !s->rows) {
        dsi_group_sampler_free(s);
        return dsi_error(DSN_E_NOMEM, "cannot allocate the sampler's scratch");
    }
    for (size_t g = 0; g < ds->n_groups; g++) s->group_perm[g] = (int32_t)g;
    memcpy(s->member_perm, ds->group_members, ds->n * sizeof(int32_t));
    *out = s;
    return DSN_OK;
}

void dsi_group_sampler_reset(dsi_group_sampler *s, uint64_t seed)
{
    const dsi_dataset *ds = s->ds;
    dsi_rng_seed(&s->rng, seed);
    for (size_t g = 0; g < ds->n_groups; g++) s->group_perm[g] = (int32_t)g;
    memcpy(s->member_perm, ds->group_members, ds->n * sizeof(int32_t));
}

dsn_status dsi_group_sampler_next(dsi_group_sampler *s, dsi_batch *b)
{
    DSI_CHECK_NULL(s, "sampler");
    DSI_CHECK_NULL(b, "batch");
    const dsi_dataset *ds = s->ds;
    size_t G = s->groups, k = s->k, NG = ds->n_groups;
    if (s->groups_gen != ds->groups_gen)
        return dsi_error(DSN_E_STATE, "the dataset was regrouped after the sampler was created");
    if (b->cap < G * k) return dsi_error(DSN_E_SHAPE, "batch holds %zu rows, the sampler draws %zu", b->cap, G * k);
    /* The scratch arrays stay permutations, so partial Fisher-Yates on their
     * first entries draws without replacement and never needs a reset. */
    for (size_t j = 0; j < G; j++) {
        size_t r = j + (size_t)dsi_rng_below(&s->rng, NG - j);
        swap_i32(&s->group_perm[j], &s->group_perm[r]);
        size_t g = (size_t)s->group_perm[j];
        int32_t *seg = s->member_perm + ds->group_start[g];
        size_t m = ds->group_start[g + 1] - ds->group_start[g];
        int32_t *dst = s->rows + j * k;
        if (m >= k) {
            for (size_t t = 0; t < k; t++) {
                size_t q = t + (size_t)dsi_rng_below(&s->rng, m - t);
                swap_i32(&seg[t], &seg[q]);
                dst[t] = seg[t];
            }
        } else {
            for (size_t t = 0; t < k; t++) dst[t] = seg[dsi_rng_below(&s->rng, m)];
        }
    }
    dsn_status st = dsi_dataset_gather(ds, s->rows, G * k, b);
    if (st) return st;
    if (b->group)
        for (size_t i = 0; i < G * k; i++) b->group[i] = (int32_t)(i / k);
    return DSN_OK;
}

void dsi_group_sampler_free(dsi_group_sampler *s)
{
    if (!s) return;
    dsi_free(s->group_perm);
    dsi_free(s->member_perm);
    dsi_free(s->rows);
    dsi_free(s);
}

dsn_status dsi_epoch_iter_create(dsi_epoch_iter **out, const dsi_dataset *ds, size_t batch, int drop_last,
                                 uint64_t seed)
{
    DSI_CHECK_NULL(out, "out");
    DSI_CHECK_NULL(ds, "dataset");
    if (batch == 0) return dsi_error(DSN_E_INVALID, "batch size must be positive");
    if (drop_last && batch > ds->n)
        return dsi_error(DSN_E_INVALID, "batch size %zu exceeds the %zu rows and drop_last is set: no batch would be drawn",
                         batch, ds->n);
    dsi_epoch_iter *it = dsi_calloc(1, sizeof *it);
    if (!it) return dsi_error(DSN_E_NOMEM, "cannot allocate an epoch iterator");
    it->perm = dsi_malloc(ds->n * sizeof(int32_t));
    if (!it->perm) {
        dsi_free(it);
        return dsi_error(DSN_E_NOMEM, "cannot allocate an epoch iterator");
    }
    for (size_t i = 0; i < ds->n; i++) it->perm[i] = (int32_t)i;
    it->ds = ds;
    it->batch = batch;
    it->drop_last = drop_last != 0;
    dsi_rng_seed(&it->rng, seed);
    *out = it;
    return DSN_OK;
}

dsn_status dsi_epoch_iter_next(dsi_epoch_iter *it, dsi_batch *b)
{
    DSI_CHECK_NULL(it, "iterator");
    DSI_CHECK_NULL(b, "batch");
    size_t n = it->ds->n;
    if (b->cap < (it->batch < n ? it->batch : n))
        return dsi_error(DSN_E_SHAPE, "batch holds %zu rows, the iterator draws %zu", b->cap, it->batch);
    if (!it->in_epoch) {
        /* the order depends only on the RNG state, not on earlier epochs */
        for (size_t i = 0; i < n; i++) it->perm[i] = (int32_t)i;
        for (size_t i = n; i > 1; i--) swap_i32(&it->perm[i - 1], &it->perm[dsi_rng_below(&it->rng, i)]);
        it->pos = 0;
        it->in_epoch = 1;
        it->epoch++;
    }
    size_t left = n - it->pos, take = left < it->batch ? left : it->batch;
    if (take == 0 || (it->drop_last && take < it->batch)) {
        it->in_epoch = 0;
        b->n = 0;
        return DSN_OK;
    }
    dsn_status st = dsi_dataset_gather(it->ds, it->perm + it->pos, take, b);
    if (st == DSN_OK) it->pos += take;
    return st;
}

void dsi_epoch_iter_restart(dsi_epoch_iter *it)
{
    if (it) it->in_epoch = 0;
}

void dsi_epoch_iter_reset(dsi_epoch_iter *it, uint64_t seed)
{
    dsi_rng_seed(&it->rng, seed);
    it->in_epoch = 0;
}

void dsi_epoch_iter_free(dsi_epoch_iter *it)
{
    if (!it) return;
    dsi_free(it->perm);
    dsi_free(it);
}
