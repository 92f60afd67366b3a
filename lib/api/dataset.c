/* dataset.c - dsn_dataset: the public handle over lib/data's dsi_dataset. */
#include "api/check.h"
#include "api/dataset.h"
#include "api/fit.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/options.h"
#include "core/sort.h"
#include "data/npy.h"

#include <stdio.h>
#include <string.h>

static dsn_status wrap(dsn_dataset **out, dsi_dataset *d, dsn_status st, const char *where)
{
    if (st != DSN_OK) {
        dsi_error_prefix(where);
        return st;
    }
    dsn_dataset *w = dsi_calloc(1, sizeof *w);
    if (!w) {
        dsi_dataset_free(d);
        return dsi_error(DSN_E_NOMEM, "%s: out of memory", where);
    }
    w->d = d;
    *out = w;
    return DSN_OK;
}

dsn_status dsi_dataset_copy_audio(dsn_dataset *dst, const dsn_dataset *src)
{
    if (!src->audio || !dst) return DSN_OK;
    dsn_options *o = NULL;
    dsn_status st = dsi_options_copy(&o, src->audio);
    if (st != DSN_OK) return st;
    dsn_options_free(dst->audio);
    dst->audio = o;
    memcpy(dst->counters, src->counters, sizeof dst->counters); /* how the whole set was built */
    return DSN_OK;
}

dsn_status dsn_dataset_from_memory(dsn_dataset **out, const float *x, size_t n, const size_t *shape, int ndim,
                                   const int32_t *labels, const float *mask)
{
    DSI_CHECK_NULL(out, "dsn_dataset_from_memory: out");
    *out = NULL;
    DSI_CHECK_NULL(shape, "dsn_dataset_from_memory: shape");
    if (ndim < 1 || ndim > DSI_DATA_MAX_DIMS)
        return dsi_error(DSN_E_INVALID, "dsn_dataset_from_memory: ndim %d out of range [1, %d]", ndim, DSI_DATA_MAX_DIMS);
    int sh[DSI_DATA_MAX_DIMS];
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 0 || shape[i] > (1u << 30)) return dsi_error(DSN_E_INVALID, "dsn_dataset_from_memory: shape[%d] = %zu", i, shape[i]);
        sh[i] = (int)shape[i];
    }
    dsi_dataset *d = NULL;
    dsn_status st = dsi_dataset_from_memory(&d, x, n, ndim, sh, labels, mask);
    return wrap(out, d, st, "dsn_dataset_from_memory");
}

dsn_status dsn_dataset_from_idx(dsn_dataset **out, const char *images, const char *labels)
{
    DSI_CHECK_NULL(out, "dsn_dataset_from_idx: out");
    *out = NULL;
    dsi_dataset *d = NULL;
    dsn_status st = dsi_dataset_load_idx(&d, images, labels);
    return wrap(out, d, st, "dsn_dataset_from_idx");
}

dsn_status dsn_dataset_from_mnist(dsn_dataset **out, const char *dir, int test_set)
{
    DSI_CHECK_NULL(out, "dsn_dataset_from_mnist: out");
    *out = NULL;
    dsi_dataset *d = NULL;
    dsn_status st = dsi_dataset_load_mnist(&d, dir, test_set);
    return wrap(out, d, st, "dsn_dataset_from_mnist");
}

dsn_status dsn_dataset_from_npy(dsn_dataset **out, const char *x_path, const char *labels_path)
{
    DSI_CHECK_NULL(out, "dsn_dataset_from_npy: out");
    *out = NULL;
    dsi_dataset *d = NULL;
    dsn_status st = dsi_dataset_load_npy(&d, x_path, labels_path);
    return wrap(out, d, st, "dsn_dataset_from_npy");
}

dsn_status dsn_dataset_split(const dsn_dataset *ds, dsn_dataset **train, dsn_dataset **valid, double valid_fraction,
                             uint64_t seed, int stratified)
{
    DSI_CHECK_NULL(ds, "dsn_dataset_split: dataset");
    DSI_CHECK_NULL(train, "dsn_dataset_split: train");
    DSI_CHECK_NULL(valid, "dsn_dataset_split: valid");
    *train = *valid = NULL;
    dsi_dataset *a = NULL, *b = NULL;
    dsn_status st = dsi_dataset_split_random(ds->d, valid_fraction, seed, stratified, &a, &b);
    if (st != DSN_OK) {
        dsi_error_prefix("dsn_dataset_split");
        return st;
    }
    st = wrap(train, a, DSN_OK, "dsn_dataset_split");
    if (st != DSN_OK) {
        dsi_dataset_free(b);
        return st;
    }
    st = wrap(valid, b, DSN_OK, "dsn_dataset_split");
    if (st == DSN_OK) st = dsi_dataset_copy_audio(*train, ds);
    if (st == DSN_OK) st = dsi_dataset_copy_audio(*valid, ds);
    if (st != DSN_OK) {
        dsn_dataset_free(*valid);
        *valid = NULL;
        dsn_dataset_free(*train);
        *train = NULL;
    }
    return st;
}

dsn_status dsn_dataset_shard(const dsn_dataset *ds, dsn_dataset **shard, const dsn_model *model,
                             const dsn_options *fit_opts, int rank, int size)
{
    DSI_CHECK_NULL(shard, "dsn_dataset_shard: shard");
    *shard = NULL;
    DSI_CHECK_NULL(ds, "dsn_dataset_shard: dataset");
    DSI_CHECK_NULL(model, "dsn_dataset_shard: model");
    if (size < 1 || rank < 0 || rank >= size)
        return dsi_error(DSN_E_INVALID, "dsn_dataset_shard: shard %d of %d does not exist", rank, size);
    int grouped = 0;
    size_t G = 0, k = 0;
    dsn_status st = dsi_fit_batch_plan(model, fit_opts, ds->d->n, ds->d->n_groups, &grouped, &G, &k);
    dsi_dataset *d = NULL;
    if (st == DSN_OK) st = dsi_dataset_shard(&d, ds->d, grouped, G, rank, size);
    st = wrap(shard, d, st, "dsn_dataset_shard");
    if (st == DSN_OK && (st = dsi_dataset_copy_audio(*shard, ds)) != DSN_OK) {
        dsn_dataset_free(*shard);
        *shard = NULL;
    }
    return st;
}

/* Shard rank of size of a set of N rows in a file (labels: all of them, or
 * NULL; freed here), loading only the shard's rows with load(ctx, ...);
 * with a split, of its training part, and *valid the whole validation part
 * (the rows dsn_dataset_split would give). */
typedef dsn_status (*rows_loader)(void *ctx, const int32_t *rows, size_t n, const int32_t *labels, dsi_dataset **d);
static dsn_status shard_from_file(dsn_dataset **out, dsn_dataset **valid, const char *where, const char *path,
                                  size_t N, int32_t *lab, const dsn_model *model, const dsn_options *fit_opts, int rank,
                                  int size, const dsn_shard_split *split, rows_loader load, void *ctx)
{
    int32_t *rows = NULL, *sorted = NULL, *tidx = NULL, *vidx = NULL, *tlab = NULL;
    dsi_dataset *d = NULL, *v = NULL;
    size_t U = 0, n = 0, G = 0, k = 0, units = 0, nt = N, nv = 0;
    int grouped = 0;
    dsn_status st = DSN_OK;
    const int splitting = split && split->valid_fraction > 0;
    for (size_t i = 0; lab && st == DSN_OK && i < N; i++)
        if (lab[i] < 0) st = dsi_error(DSN_E_INVALID, "'%s': label %zu is %d; it must be >= 0", path, i, (int)lab[i]);
    const size_t cap = N ? N : 1;
    if (st == DSN_OK && (!(sorted = dsi_malloc(cap * sizeof *sorted)) || !(rows = dsi_malloc(cap * sizeof *rows)) ||
                         !(tidx = dsi_malloc(cap * sizeof *tidx)) || !(vidx = dsi_malloc(cap * sizeof *vidx))))
        st = dsi_error(DSN_E_NOMEM, "cannot list the %zu rows of '%s'", N, path);
    if (st == DSN_OK && splitting) { /* dsn_dataset_split's rows, from the labels alone */
        float *zero = dsi_calloc(cap, sizeof *zero);
        dsi_dataset *idx = NULL;
        int one[1] = {1};
        st = zero ? dsi_dataset_from_memory(&idx, zero, N, 1, one, lab, NULL) : dsi_error(DSN_E_NOMEM, "no memory");
        if (st == DSN_OK)
            st = dsi_split_indices_random(idx, split->valid_fraction, split->seed, split->stratified && lab, tidx, &nt,
                                          vidx, &nv);
        dsi_dataset_free(idx);
        dsi_free(zero);
    } else if (st == DSN_OK) {
        for (size_t i = 0; i < N; i++) tidx[i] = (int32_t)i;
    }
    if (st == DSN_OK && lab) { /* the training part's labels (in vidx's room when not splitting) */
        tlab = splitting ? dsi_malloc((nt ? nt : 1) * sizeof *tlab) : vidx;
        if (!tlab) st = dsi_error(DSN_E_NOMEM, "no memory for %zu labels", nt);
        for (size_t j = 0; st == DSN_OK && j < nt; j++) tlab[j] = lab[tidx[j]];
        if (st == DSN_OK) { /* its groups: the distinct labels */
            memcpy(sorted, tlab, nt * sizeof *sorted);
            U = dsi_i32_sort_unique(sorted, nt);
        }
    }
    if (st == DSN_OK) st = dsi_fit_batch_plan(model, fit_opts, nt, U, &grouped, &G, &k);
    if (st == DSN_OK) st = dsi_shard_rows(nt, grouped ? tlab : NULL, G, rank, size, rows, &n, &units);
    if (st == DSN_OK && n == 0)
        st = dsi_error(DSN_E_INVALID, "shard %d of %d of %zu %s (batches of %zu) is empty", rank, size, units,
                       grouped ? "groups" : "rows", G);
    /* the shard's rows of the file and their labels (sorted is free again) */
    for (size_t j = 0; st == DSN_OK && j < n; j++) {
        if (lab) sorted[j] = tlab[rows[j]];
        rows[j] = tidx[rows[j]];
    }
    if (st == DSN_OK) st = load(ctx, rows, n, lab ? sorted : NULL, &d);
    if (st == DSN_OK) {
        d->shard_rank = rank;
        d->shard_count = size;
        d->shard_by_groups = grouped;
        d->shard_total_rows = nt;
        d->shard_total_groups = U;
    }
    if (st == DSN_OK && splitting) { /* the whole validation part */
        for (size_t j = 0; lab && j < nv; j++) sorted[j] = lab[vidx[j]];
        st = load(ctx, vidx, nv, lab ? sorted : NULL, &v);
    }
    if (tlab != vidx) dsi_free(tlab);
    dsi_free(lab);
    dsi_free(sorted);
    dsi_free(rows);
    dsi_free(tidx);
    dsi_free(vidx);
    if (st != DSN_OK) dsi_dataset_free(d), d = NULL;
    st = wrap(out, d, st, where);
    if (st == DSN_OK && splitting && (st = wrap(valid, v, DSN_OK, where)) != DSN_OK) {
        dsn_dataset_free(*out);
        *out = NULL;
    } else if (st != DSN_OK) {
        dsi_dataset_free(v);
    }
    return st;
}

static dsn_status check_shard_args(dsn_dataset **out, dsn_dataset **valid, const char *path, const dsn_model *model,
                                   int rank, int size, const dsn_shard_split *split, const char *where)
{
    DSI_CHECK_NULL(out, where);
    *out = NULL;
    if (valid) *valid = NULL;
    if (split && split->struct_size < sizeof(dsn_shard_split))
        return dsi_error(DSN_E_INVALID, "%s: split.struct_size %zu is below the first version's %zu", where,
                         split->struct_size, sizeof(dsn_shard_split));
    if (split && (split->valid_fraction != 0 && !(split->valid_fraction > 0 && split->valid_fraction < 1)))
        return dsi_error(DSN_E_INVALID, "%s: valid_fraction %g is outside [0, 1)", where, split->valid_fraction);
    if (split && split->valid_fraction > 0 && !valid)
        return dsi_error(DSN_E_INVALID, "%s: a split needs somewhere to put the validation part (valid)", where);
    if (!path || !model)
        return dsi_error(DSN_E_INVALID, "%s: %s must not be NULL", where, path ? "the model" : "the path");
    if (size < 1 || rank < 0 || rank >= size)
        return dsi_error(DSN_E_INVALID, "%s: shard %d of %d does not exist", where, rank, size);
    return DSN_OK;
}

static dsn_status npy_rows(void *ctx, const int32_t *rows, size_t n, const int32_t *labels, dsi_dataset **d)
{
    return dsi_dataset_load_npy_rows(d, ctx, rows, n, labels);
}

dsn_status dsn_dataset_from_npy_shard(dsn_dataset **out, dsn_dataset **valid, const char *x_path,
                                      const char *labels_path, const dsn_model *model, const dsn_options *fit_opts,
                                      int rank, int size, const dsn_shard_split *split)
{
    const char *where = "dsn_dataset_from_npy_shard";
    dsn_status st = check_shard_args(out, valid, x_path, model, rank, size, split, where);
    if (st) return st;
    dsi_npy_header xh, lh;
    int32_t *lab = NULL;
    size_t N = 0;
    st = dsi_npy_read_header(x_path, &xh);
    if (st == DSN_OK && xh.ndim == 0) st = dsi_error(DSN_E_FORMAT, "'%s' holds a scalar, expected an array [N, ...]", x_path);
    if (st == DSN_OK && xh.shape[0] > INT32_MAX) st = dsi_error(DSN_E_UNSUPPORTED, "'%s': too many observations", x_path);
    if (st == DSN_OK) N = (size_t)xh.shape[0];
    if (st == DSN_OK && labels_path) { /* the labels of the whole set (small): its groups */
        st = dsi_npy_read_i32(labels_path, &lab, &lh);
        if (st == DSN_OK && (lh.ndim != 1 || lh.shape[0] != N))
            st = dsi_error(DSN_E_FORMAT, "'%s' holds %llu labels in %d dimensions, '%s' %zu observations", labels_path,
                           lh.ndim ? (unsigned long long)lh.shape[0] : 0ULL, lh.ndim, x_path, N);
    }
    if (st) {
        dsi_free(lab);
        dsi_error_prefix(where);
        return st;
    }
    return shard_from_file(out, valid, where, labels_path ? labels_path : x_path, N, lab, model, fit_opts, rank, size,
                           split, npy_rows, (void *)x_path);
}

static dsn_status idx_rows(void *ctx, const int32_t *rows, size_t n, const int32_t *labels, dsi_dataset **d)
{
    return dsi_dataset_load_idx_rows(d, ctx, rows, n, labels, NULL);
}

dsn_status dsn_dataset_from_mnist_shard(dsn_dataset **out, dsn_dataset **valid, const char *dir, int test_set,
                                        const dsn_model *model, const dsn_options *fit_opts, int rank, int size,
                                        const dsn_shard_split *split)
{
    const char *where = "dsn_dataset_from_mnist_shard";
    dsn_status st = check_shard_args(out, valid, dir, model, rank, size, split, where);
    if (st) return st;
    char ip[4096], lp[4096];
    const char *pre = test_set ? "t10k" : "train";
    int a = snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte", dir, pre);
    int b = snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte", dir, pre);
    if (a < 0 || b < 0 || (size_t)a >= sizeof ip || (size_t)b >= sizeof lp)
        return dsi_error(DSN_E_INVALID, "%s: directory path too long", where);
    int32_t *lab = NULL;
    size_t N = 0, nl = 0;
    dsi_dataset *none = NULL;
    st = dsi_dataset_load_idx_rows(&none, ip, NULL, 0, NULL, &N);
    if (st == DSN_OK) st = dsi_idx_read_labels(lp, &lab, &nl);
    if (st == DSN_OK && nl != N)
        st = dsi_error(DSN_E_FORMAT, "'%s' holds %zu labels but '%s' holds %zu images", lp, nl, ip, N);
    if (st) {
        dsi_free(lab);
        dsi_error_prefix(where);
        return st;
    }
    return shard_from_file(out, valid, where, lp, N, lab, model, fit_opts, rank, size, split, idx_rows, ip);
}

size_t dsn_dataset_shard_size(const dsn_dataset *ds, const dsn_model *model, const dsn_options *fit_opts, int rank,
                              int size)
{
    if (!ds || !model || size < 1 || rank < 0 || rank >= size || ds->d->shard_count) return 0;
    int grouped = 0;
    size_t G = 0, k = 0, n = 0;
    const dsi_dataset *d = ds->d;
    if (dsi_fit_batch_plan(model, fit_opts, d->n, d->n_groups, &grouped, &G, &k) != DSN_OK) return 0;
    int32_t *rows = dsi_malloc(d->n * sizeof *rows);
    if (rows && dsi_shard_rows(d->n, grouped ? (d->group_ids ? d->group_ids : d->labels) : NULL, G, rank, size, rows,
                               &n, NULL) != DSN_OK)
        n = 0;
    dsi_free(rows);
    dsn_clear_error();
    return n;
}

dsn_status dsn_dataset_mark_shard(dsn_dataset *ds, int rank, int size, size_t total_rows, size_t total_groups,
                                  int by_groups)
{
    DSI_CHECK_NULL(ds, "dsn_dataset_mark_shard: dataset");
    dsi_dataset *d = ds->d;
    if (size < 1 || rank < 0 || rank >= size)
        return dsi_error(DSN_E_INVALID, "dsn_dataset_mark_shard: shard %d of %d does not exist", rank, size);
    if (d->shard_count)
        return dsi_error(DSN_E_INVALID, "dsn_dataset_mark_shard: the dataset is already shard %d of %d", d->shard_rank,
                         d->shard_count);
    if (total_rows < d->n || total_groups < d->n_groups || (by_groups && !d->n_groups))
        return dsi_error(DSN_E_INVALID,
                         "dsn_dataset_mark_shard: a shard of %zu rows in %zu groups cannot come from a set of %zu rows "
                         "in %zu groups%s",
                         d->n, d->n_groups, total_rows, total_groups, by_groups && !d->n_groups ? " (by groups, but it has no labels)" : "");
    d->shard_rank = rank;
    d->shard_count = size;
    d->shard_by_groups = by_groups != 0;
    d->shard_total_rows = total_rows;
    d->shard_total_groups = total_groups;
    return DSN_OK;
}

size_t dsn_dataset_total(const dsn_dataset *ds, size_t *groups)
{
    if (groups) *groups = ds ? dsi_dataset_total_groups(ds->d) : 0;
    return ds ? dsi_dataset_total_rows(ds->d) : 0;
}

dsn_status dsn_dataset_select_labels(const dsn_dataset *ds, dsn_dataset **in, dsn_dataset **rest,
                                     const int32_t *labels, size_t n_labels)
{
    DSI_CHECK_NULL(ds, "dsn_dataset_select_labels: dataset");
    if (in) *in = NULL;
    if (rest) *rest = NULL;
    dsi_dataset *a = NULL, *b = NULL;
    dsn_status st = dsi_dataset_split_by_labels(ds->d, labels, n_labels, in ? &a : NULL, rest ? &b : NULL);
    if (st != DSN_OK) {
        dsi_error_prefix("dsn_dataset_select_labels");
        return st;
    }
    if (in && (st = wrap(in, a, DSN_OK, "dsn_dataset_select_labels")) != DSN_OK) {
        dsi_dataset_free(b);
        return st;
    }
    if (in && (st = dsi_dataset_copy_audio(*in, ds)) != DSN_OK) {
        dsi_dataset_free(b);
        dsn_dataset_free(*in);
        *in = NULL;
        return st;
    }
    if (rest && ((st = wrap(rest, b, DSN_OK, "dsn_dataset_select_labels")) != DSN_OK ||
                 (st = dsi_dataset_copy_audio(*rest, ds)) != DSN_OK)) {
        if (*rest) {
            dsn_dataset_free(*rest);
            *rest = NULL;
        }
        if (in) {
            dsn_dataset_free(*in);
            *in = NULL;
        }
    }
    return st;
}

void dsn_dataset_free(dsn_dataset *ds)
{
    if (!ds) return;
    dsi_dataset_free(ds->d);
    dsn_options_free(ds->audio);
    dsi_free(ds);
}

dsn_status dsn_dataset_describe(const dsn_dataset *ds, dsn_dataset_info *out)
{
    DSI_CHECK_NULL(ds, "dsn_dataset_describe: dataset");
    DSI_CHECK_NULL(out, "dsn_dataset_describe: out");
    dsn_dataset_info info;
    dsn_status st = dsi_sized_begin(&info, sizeof info, out, sizeof(dsn_dataset_info), "dsn_dataset_describe");
    if (st != DSN_OK) return st;
    const dsi_dataset *d = ds->d;
    info.size = d->n;
    info.obs_size = d->obs_size;
    info.obs_ndim = d->ndim;
    for (int i = 0; i < d->ndim && i < DSN_MAX_DIMS; i++) info.obs_shape[i] = (size_t)d->shape[i];
    info.num_groups = d->n_groups;
    info.has_labels = d->labels != NULL;
    info.has_mask = d->mask != NULL;
    dsi_sized_end(out, &info, sizeof info);
    return DSN_OK;
}

dsn_status dsn_dataset_get(const dsn_dataset *ds, float *x, size_t len, int32_t *label, size_t i)
{
    DSI_CHECK_NULL(ds, "dsn_dataset_get: dataset");
    if (i >= ds->d->n) return dsi_error(DSN_E_INVALID, "dsn_dataset_get: index %zu out of range (%zu items)", i, ds->d->n);
    if (x) {
        if (len < ds->d->obs_size)
            return dsi_error(DSN_E_SHAPE, "dsn_dataset_get: buffer holds %zu floats, need %zu", len, ds->d->obs_size);
        memcpy(x, dsi_dataset_row(ds->d, i), ds->d->obs_size * sizeof(float));
    }
    if (label) *label = dsi_dataset_label(ds->d, i);
    return DSN_OK;
}
