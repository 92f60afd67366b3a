/* dataset.c - dataset construction, annotations, grouping, gather and splits. */
#include "data/dataset.h"
#include "core/alloc.h"
#include "core/finite.h"
#include "core/sort.h"
#include "core/error.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- validation helpers ------------------------------------------------------ */

static dsn_status check_shape(size_t n, int ndim, const int *shape, size_t *obs_size)
{
    if (n == 0) return dsi_error(DSN_E_INVALID, "a dataset needs at least one observation");
    if (n > INT32_MAX) return dsi_error(DSN_E_INVALID, "too many observations (%zu, limit %d)", n, INT32_MAX);
    if (ndim < 1 || ndim > DSI_DATA_MAX_DIMS)
        return dsi_error(DSN_E_INVALID, "observations must have 1 to %d dimensions, not %d", DSI_DATA_MAX_DIMS, ndim);
    if (!shape) return dsi_error(DSN_E_INVALID, "shape must not be NULL");
    size_t m = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] <= 0) return dsi_error(DSN_E_INVALID, "observation dimension %d is %d; it must be positive", d, shape[d]);
        if ((size_t)shape[d] > SIZE_MAX / m) return dsi_error(DSN_E_INVALID, "observation size overflows");
        m *= (size_t)shape[d];
    }
    if (m > SIZE_MAX / sizeof(float) / n) return dsi_error(DSN_E_INVALID, "dataset size overflows (%zu x %zu floats)", n, m);
    *obs_size = m;
    return DSN_OK;
}

static dsn_status check_finite(const float *x, size_t n, size_t obs_size)
{
    size_t total = n * obs_size, i = dsi_find_nonfinite(x, total);
    if (i < total)
        return dsi_error(DSN_E_NUMERIC, "x[%zu] (observation %zu, element %zu) is %s", i, i / obs_size, i % obs_size,
                         isnan(x[i]) ? "NaN" : "infinite");
    return DSN_OK;
}

static dsn_status check_ids(const int32_t *v, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0) return dsi_error(DSN_E_INVALID, "%s[%zu] is %d; it must be >= 0", what, i, (int)v[i]);
    return DSN_OK;
}

static dsn_status check_mask(const float *m, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (!(m[i] >= 0.0f && m[i] <= 1.0f))
            return dsi_error(DSN_E_INVALID, "mask[%zu] is %g; it must be in [0, 1]", i, (double)m[i]);
    return DSN_OK;
}

/* ---- grouping --------------------------------------------------------------- */

typedef struct groups {
    size_t n_groups, max_size;
    int32_t *value, *of, *members;
    size_t *start;
} groups;

static void groups_free(groups *g)
{
    dsi_free(g->value);
    dsi_free(g->of);
    dsi_free(g->members);
    dsi_free(g->start);
    memset(g, 0, sizeof *g);
}

/* Dense groups of key[0..n-1] (ascending values), or none when key is NULL. */
static dsn_status groups_build(groups *g, const int32_t *key, size_t n)
{
    memset(g, 0, sizeof *g);
    if (!key) return DSN_OK;
    int32_t *sorted = dsi_malloc(n * sizeof *sorted);
    if (!sorted) return dsi_error(DSN_E_NOMEM, "cannot allocate the grouping of %zu rows", n);
    memcpy(sorted, key, n * sizeof *sorted);
    size_t G = dsi_i32_sort_unique(sorted, n);
    g->n_groups = G;
    g->value = dsi_malloc(G * sizeof *g->value);
    g->of = dsi_malloc(n * sizeof *g->of);
    g->members = dsi_malloc(n * sizeof *g->members);
    g->start = dsi_calloc(G + 1, sizeof *g->start);
    if (!g->value || !g->of || !g->members || !g->start) {
        dsi_free(sorted);
        groups_free(g);
        return dsi_error(DSN_E_NOMEM, "cannot allocate the grouping of %zu rows", n);
    }
    memcpy(g->value, sorted, G * sizeof *g->value);
    dsi_free(sorted);
    for (size_t i = 0; i < n; i++) {
        size_t d = (size_t)dsi_i32_find(g->value, G, key[i]); /* present */
        g->of[i] = (int32_t)d;
        g->start[d + 1]++;
    }
    for (size_t d = 0; d < G; d++) {
        size_t sz = g->start[d + 1];
        if (sz > g->max_size) g->max_size = sz;
        g->start[d + 1] += g->start[d];
    }
    /* counting sort keeps rows increasing within a group; start[d] is used as
     * a cursor and then shifted back */
    for (size_t i = 0; i < n; i++) g->members[g->start[g->of[i]]++] = (int32_t)i;
    for (size_t d = G; d > 0; d--) g->start[d] = g->start[d - 1];
    g->start[0] = 0;
    return DSN_OK;
}

static void groups_install(dsi_dataset *ds, groups *g)
{
    dsi_free(ds->group_value);
    dsi_free(ds->group_of);
    dsi_free(ds->group_members);
    dsi_free(ds->group_start);
    ds->n_groups = g->n_groups;
    ds->max_group_size = g->max_size;
    ds->group_value = g->value;
    ds->group_of = g->of;
    ds->group_members = g->members;
    ds->group_start = g->start;
    ds->groups_gen++;
}

static dsn_status regroup(dsi_dataset *ds, const int32_t *key)
{
    groups g;
    dsn_status st = groups_build(&g, key, ds->n);
    if (st == DSN_OK) groups_install(ds, &g);
    return st;
}

int32_t dsi_dataset_group_index(const dsi_dataset *ds, int32_t value)
{
    if (!ds || ds->n_groups == 0) return -1;
    return (int32_t)dsi_i32_find(ds->group_value, ds->n_groups, value);
}

/* ---- construction ------------------------------------------------------------- */

dsn_status dsi_dataset_adopt(dsi_dataset **out, float *x, size_t n, int ndim, const int *shape)
{
    size_t obs = 0;
    dsn_status st = DSN_OK;
    if (!out || !x) st = dsi_error(DSN_E_INVALID, "%s must not be NULL", out ? "x" : "out");
    if (st == DSN_OK) st = check_shape(n, ndim, shape, &obs);
    if (st == DSN_OK) st = check_finite(x, n, obs);
    dsi_dataset *ds = NULL;
    if (st == DSN_OK) {
        ds = dsi_calloc(1, sizeof *ds);
        if (!ds) st = dsi_error(DSN_E_NOMEM, "cannot allocate a dataset");
    }
    if (st != DSN_OK) {
        dsi_aligned_free(x);
        return st;
    }
    ds->n = n;
    ds->ndim = ndim;
    for (int d = 0; d < DSI_DATA_MAX_DIMS; d++) ds->shape[d] = d < ndim ? shape[d] : 1;
    ds->obs_size = obs;
    ds->x = x;
    *out = ds;
    return DSN_OK;
}

dsn_status dsi_dataset_from_memory(dsi_dataset **out, const float *x, size_t n, int ndim, const int *shape,
                                   const int32_t *labels, const float *mask)
{
    DSI_CHECK_NULL(out, "out");
    DSI_CHECK_NULL(x, "x");
    size_t obs;
    dsn_status st = check_shape(n, ndim, shape, &obs);
    if (st) return st;
    if ((st = check_finite(x, n, obs))) return st;
    if (labels && (st = check_ids(labels, n, "labels"))) return st;
    if (mask && (st = check_mask(mask, n * (size_t)shape[0]))) return st;
    float *copy = dsi_aligned_alloc(n * obs * sizeof(float));
    if (!copy) return dsi_error(DSN_E_NOMEM, "cannot allocate %zu x %zu floats", n, obs);
    memcpy(copy, x, n * obs * sizeof(float));
    dsi_dataset *ds;
    if ((st = dsi_dataset_adopt(&ds, copy, n, ndim, shape))) return st;
    if ((labels && (st = dsi_dataset_set_labels(ds, labels))) || (mask && (st = dsi_dataset_set_mask(ds, mask)))) {
        dsi_dataset_free(ds);
        return st;
    }
    *out = ds;
    return DSN_OK;
}

void dsi_dataset_free(dsi_dataset *ds)
{
    if (!ds) return;
    dsi_aligned_free(ds->x);
    dsi_free(ds->labels);
    dsi_free(ds->group_ids);
    dsi_free(ds->mask);
    dsi_free(ds->group_value);
    dsi_free(ds->group_of);
    dsi_free(ds->group_start);
    dsi_free(ds->group_members);
    dsi_free(ds);
}

/* Copy of v[0..n-1] (through the allocator), or NULL with NOMEM set. */
static int32_t *dup_i32(const int32_t *v, size_t n)
{
    int32_t *c = dsi_malloc(n * sizeof *c);
    if (c) memcpy(c, v, n * sizeof *c);
    else dsi_error(DSN_E_NOMEM, "cannot allocate %zu ints", n);
    return c;
}

/* Replace the labels or the group ids (*slot) by a checked copy of ids (NULL
 * clears them). The groups come from the group ids when there are any, else
 * from the labels: rebuilt when the group ids change, or when the labels do
 * and there are no group ids. */
static dsn_status replace_ids(dsi_dataset *ds, const int32_t *ids, const char *what, int32_t **slot, int group_ids)
{
    dsn_status st;
    int32_t *c = NULL;
    if (ids) {
        if ((st = check_ids(ids, ds->n, what))) return st;
        if (!(c = dup_i32(ids, ds->n))) return DSN_E_NOMEM;
    }
    if (group_ids || !ds->group_ids) {
        groups g;
        if ((st = groups_build(&g, c || !group_ids ? c : ds->labels, ds->n))) {
            dsi_free(c);
            return st;
        }
        groups_install(ds, &g);
    }
    dsi_free(*slot);
    *slot = c;
    return DSN_OK;
}

dsn_status dsi_dataset_set_labels(dsi_dataset *ds, const int32_t *labels)
{
    DSI_CHECK_NULL(ds, "dataset");
    return replace_ids(ds, labels, "labels", &ds->labels, 0);
}

dsn_status dsi_dataset_set_groups(dsi_dataset *ds, const int32_t *group_ids)
{
    DSI_CHECK_NULL(ds, "dataset");
    return replace_ids(ds, group_ids, "group ids", &ds->group_ids, 1);
}

dsn_status dsi_dataset_set_mask(dsi_dataset *ds, const float *mask)
{
    DSI_CHECK_NULL(ds, "dataset");
    float *c = NULL;
    if (mask) {
        size_t count = ds->n * (size_t)ds->shape[0];
        dsn_status st = check_mask(mask, count);
        if (st) return st;
        c = dsi_malloc(count * sizeof *c);
        if (!c) return dsi_error(DSN_E_NOMEM, "cannot allocate a mask of %zu floats", count);
        memcpy(c, mask, count * sizeof *c);
    }
    dsi_free(ds->mask);
    ds->mask = c;
    return DSN_OK;
}

dsn_status dsi_dataset_set_lengths(dsi_dataset *ds, const int32_t *lengths)
{
    DSI_CHECK_NULL(ds, "dataset");
    DSI_CHECK_NULL(lengths, "lengths");
    size_t T = (size_t)ds->shape[0];
    for (size_t i = 0; i < ds->n; i++)
        if (lengths[i] < 1 || (size_t)lengths[i] > T)
            return dsi_error(DSN_E_INVALID, "lengths[%zu] is %d; it must be in 1..%zu", i, (int)lengths[i], T);
    float *c = dsi_malloc(ds->n * T * sizeof *c);
    if (!c) return dsi_error(DSN_E_NOMEM, "cannot allocate a mask of %zu floats", ds->n * T);
    for (size_t i = 0; i < ds->n; i++)
        for (size_t t = 0; t < T; t++) c[i * T + t] = t < (size_t)lengths[i] ? 1.0f : 0.0f;
    dsi_free(ds->mask);
    ds->mask = c;
    return DSN_OK;
}

dsn_status dsi_dataset_reshape(dsi_dataset *ds, int ndim, const int *shape)
{
    DSI_CHECK_NULL(ds, "dataset");
    size_t obs;
    dsn_status st = check_shape(ds->n, ndim, shape, &obs);
    if (st) return st;
    if (obs != ds->obs_size)
        return dsi_error(DSN_E_SHAPE, "cannot reshape observations of %zu values to %zu values", ds->obs_size, obs);
    if (ds->mask && shape[0] != ds->shape[0])
        return dsi_error(DSN_E_STATE, "the frame mask needs the first dimension to stay %d", ds->shape[0]);
    ds->ndim = ndim;
    for (int d = 0; d < DSI_DATA_MAX_DIMS; d++) ds->shape[d] = d < ndim ? shape[d] : 1;
    return DSN_OK;
}

static dsn_status check_rows(const dsi_dataset *ds, const int32_t *idx, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (idx[j] < 0 || (size_t)idx[j] >= ds->n)
            return dsi_error(DSN_E_INVALID, "index[%zu] = %d is outside 0..%zu", j, (int)idx[j], ds->n - 1);
    return DSN_OK;
}

dsn_status dsi_dataset_subset(dsi_dataset **out, const dsi_dataset *ds, const int32_t *idx, size_t n)
{
    DSI_CHECK_NULL(out, "out");
    DSI_CHECK_NULL(ds, "dataset");
    DSI_CHECK_NULL(idx, "index list");
    if (n == 0) return dsi_error(DSN_E_INVALID, "a subset needs at least one row");
    dsn_status st = check_rows(ds, idx, n);
    if (st) return st;
    size_t obs = ds->obs_size, T = (size_t)ds->shape[0];
    if (obs > SIZE_MAX / sizeof(float) / n) return dsi_error(DSN_E_INVALID, "subset size overflows");
    float *x = dsi_aligned_alloc(n * obs * sizeof(float));
    if (!x) return dsi_error(DSN_E_NOMEM, "cannot allocate %zu x %zu floats", n, obs);
    for (size_t j = 0; j < n; j++) memcpy(x + j * obs, ds->x + (size_t)idx[j] * obs, obs * sizeof(float));
    dsi_dataset *s = dsi_calloc(1, sizeof *s);
    if (!s) {
        dsi_aligned_free(x);
        return dsi_error(DSN_E_NOMEM, "cannot allocate a dataset");
    }
    *s = (dsi_dataset){.n = n, .ndim = ds->ndim, .obs_size = obs, .x = x};
    memcpy(s->shape, ds->shape, sizeof s->shape);
    if (ds->labels && !(s->labels = dsi_malloc(n * sizeof(int32_t)))) goto nomem;
    if (ds->group_ids && !(s->group_ids = dsi_malloc(n * sizeof(int32_t)))) goto nomem;
    if (ds->mask && !(s->mask = dsi_malloc(n * T * sizeof(float)))) goto nomem;
    for (size_t j = 0; j < n; j++) {
        size_t i = (size_t)idx[j];
        if (s->labels) s->labels[j] = ds->labels[i];
        if (s->group_ids) s->group_ids[j] = ds->group_ids[i];
        if (s->mask) memcpy(s->mask + j * T, ds->mask + i * T, T * sizeof(float));
    }
    if ((st = regroup(s, s->group_ids ? s->group_ids : s->labels))) {
        dsi_dataset_free(s);
        return st;
    }
    *out = s;
    return DSN_OK;
nomem:
    dsi_dataset_free(s);
    return dsi_error(DSN_E_NOMEM, "cannot allocate a subset of %zu rows", n);
}

/* ---- gather ----------------------------------------------------------------- */

dsn_status dsi_dataset_gather(const dsi_dataset *ds, const int32_t *idx, size_t n, dsi_batch *b)
{
    DSI_CHECK_NULL(ds, "dataset");
    DSI_CHECK_NULL(b, "batch");
    DSI_CHECK_NULL(b->x, "batch x");
    if (n && !idx) return dsi_error(DSN_E_INVALID, "index list must not be NULL");
    if (n > b->cap) return dsi_error(DSN_E_SHAPE, "batch holds %zu rows, %zu requested", b->cap, n);
    dsn_status st = check_rows(ds, idx, n);
    if (st) return st;
    size_t obs = ds->obs_size, T = (size_t)ds->shape[0];
    for (size_t j = 0; j < n; j++) {
        size_t i = (size_t)idx[j];
        memcpy(b->x + j * obs, ds->x + i * obs, obs * sizeof(float));
        if (b->group) b->group[j] = ds->n_groups ? ds->group_of[i] : -1;
        if (b->label) b->label[j] = dsi_dataset_label(ds, i);
        if (b->index) b->index[j] = (int32_t)i;
        if (b->mask) {
            if (ds->mask) memcpy(b->mask + j * T, ds->mask + i * T, T * sizeof(float));
            else
                for (size_t t = 0; t < T; t++) b->mask[j * T + t] = 1.0f;
        }
    }
    b->n = n;
    return DSN_OK;
}

/* ---- splits ----------------------------------------------------------------- */

/* Mark k random entries of rows[0..m-1] (partial Fisher-Yates, rows permuted). */
static void mark_random(dsi_rng *r, int32_t *rows, size_t m, size_t k, unsigned char *flag)
{
    for (size_t t = 0; t < k; t++) {
        size_t j = t + (size_t)dsi_rng_below(r, m - t);
        int32_t tmp = rows[t];
        rows[t] = rows[j];
        rows[j] = tmp;
        flag[rows[t]] = 1;
    }
}

static size_t round_frac(double frac, size_t m) { return (size_t)floor(frac * (double)m + 0.5); }

dsn_status dsi_split_indices_random(const dsi_dataset *ds, double val_frac, uint64_t seed, int stratified,
                                    int32_t *train_idx, size_t *n_train, int32_t *val_idx, size_t *n_val)
{
    DSI_CHECK_NULL(ds, "dataset");
    if (!train_idx || !n_train || !val_idx || !n_val)
        return dsi_error(DSN_E_INVALID, "the output index lists and counts must not be NULL");
    if (!(val_frac > 0.0 && val_frac < 1.0))
        return dsi_error(DSN_E_INVALID, "validation fraction %g is not in (0, 1)", val_frac);
    if (stratified && ds->n_groups == 0)
        return dsi_error(DSN_E_STATE, "a stratified split needs labels or group ids");
    size_t n = ds->n;
    unsigned char *flag = dsi_calloc(n, 1);
    int32_t *rows = dsi_malloc(n * sizeof *rows);
    if (!flag || !rows) {
        dsi_free(flag);
        dsi_free(rows);
        return dsi_error(DSN_E_NOMEM, "cannot allocate the split of %zu rows", n);
    }
    dsi_rng r;
    dsi_rng_seed(&r, seed);
    if (stratified) {
        memcpy(rows, ds->group_members, n * sizeof *rows);
        for (size_t g = 0; g < ds->n_groups; g++) {
            size_t a = ds->group_start[g], m = ds->group_start[g + 1] - a;
            mark_random(&r, rows + a, m, round_frac(val_frac, m), flag);
        }
    } else {
        for (size_t i = 0; i < n; i++) rows[i] = (int32_t)i;
        mark_random(&r, rows, n, round_frac(val_frac, n), flag);
    }
    size_t nt = 0, nv = 0;
    for (size_t i = 0; i < n; i++) {
        if (flag[i]) val_idx[nv++] = (int32_t)i;
        else train_idx[nt++] = (int32_t)i;
    }
    dsi_free(flag);
    dsi_free(rows);
    if (nt == 0 || nv == 0)
        return dsi_error(DSN_E_INVALID, "splitting %zu rows with validation fraction %g leaves the %s set empty", n,
                         val_frac, nt ? "validation" : "training");
    *n_train = nt;
    *n_val = nv;
    return DSN_OK;
}

/* Two subsets from index lists a[0..na-1] and b[0..nb-1]; either output may be NULL. */
static dsn_status two_subsets(const dsi_dataset *ds, const int32_t *a, size_t na, const int32_t *b, size_t nb,
                              dsi_dataset **da, dsi_dataset **db)
{
    dsi_dataset *x = NULL, *y = NULL;
    dsn_status st = DSN_OK;
    if (da) st = dsi_dataset_subset(&x, ds, a, na);
    if (st == DSN_OK && db) st = dsi_dataset_subset(&y, ds, b, nb);
    if (st) {
        dsi_dataset_free(x);
        return st;
    }
    if (da) *da = x;
    if (db) *db = y;
    return DSN_OK;
}

dsn_status dsi_dataset_split_random(const dsi_dataset *ds, double val_frac, uint64_t seed, int stratified,
                                    dsi_dataset **train, dsi_dataset **val)
{
    DSI_CHECK_NULL(ds, "dataset");
    if (!train || !val) return dsi_error(DSN_E_INVALID, "train and val must not be NULL");
    int32_t *ti = dsi_malloc(ds->n * sizeof *ti), *vi = dsi_malloc(ds->n * sizeof *vi);
    dsn_status st;
    size_t nt, nv;
    if (!ti || !vi) st = dsi_error(DSN_E_NOMEM, "cannot allocate the split of %zu rows", ds->n);
    else st = dsi_split_indices_random(ds, val_frac, seed, stratified, ti, &nt, vi, &nv);
    if (st == DSN_OK) st = two_subsets(ds, ti, nt, vi, nv, train, val);
    dsi_free(ti);
    dsi_free(vi);
    return st;
}

dsn_status dsi_dataset_split_by_labels(const dsi_dataset *ds, const int32_t *values, size_t n_values,
                                       dsi_dataset **in, dsi_dataset **out)
{
    DSI_CHECK_NULL(ds, "dataset");
    if (!values || n_values == 0) return dsi_error(DSN_E_INVALID, "the label set must not be empty");
    /* (n_values * 4 would overflow: found by tests/test_badargs.c) */
    if (n_values > ((size_t)1 << 32)) return dsi_error(DSN_E_INVALID, "%zu label values is more than int32 has", n_values);
    if (!ds->labels && !ds->group_ids) return dsi_error(DSN_E_STATE, "splitting by labels needs labels");
    if (!in && !out) return DSN_OK;
    int32_t *set = dsi_malloc(n_values * sizeof *set);
    int32_t *ai = dsi_malloc(ds->n * sizeof *ai), *bi = dsi_malloc(ds->n * sizeof *bi);
    dsn_status st = DSN_OK;
    if (!set || !ai || !bi) st = dsi_error(DSN_E_NOMEM, "cannot allocate the split of %zu rows", ds->n);
    size_t na = 0, nb = 0;
    if (st == DSN_OK) {
        memcpy(set, values, n_values * sizeof *set);
        qsort(set, n_values, sizeof *set, dsi_i32_cmp);
        for (size_t i = 0; i < ds->n; i++) {
            int32_t l = dsi_dataset_label(ds, i);
            if (dsi_i32_find(set, n_values, l) >= 0) ai[na++] = (int32_t)i;
            else bi[nb++] = (int32_t)i;
        }
        if ((in && na == 0) || (out && nb == 0))
            st = dsi_error(DSN_E_INVALID, "no row has %s the %zu given labels", in && na == 0 ? "one of" : "a label outside",
                           n_values);
        else st = two_subsets(ds, ai, na, bi, nb, in, out);
    }
    dsi_free(set);
    dsi_free(ai);
    dsi_free(bi);
    return st;
}
