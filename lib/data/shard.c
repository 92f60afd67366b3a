/* shard.c - the rows one process of a data-parallel run holds: a shard of
 * rows, or of whole groups, in proportion to its part of every batch
 * (data/dataset.h, docs/scale-out.md). */
#include "data/dataset.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/sort.h"

#include <string.h>

dsn_status dsi_shard_rows(size_t n, const int32_t *key, size_t G, int r, int P, int32_t *rows, size_t *n_rows,
                          size_t *units)
{
    DSI_CHECK_NULL(rows, "rows");
    if (G == 0 || P < 1 || r < 0 || r >= P)
        return dsi_error(DSN_E_INVALID, "shard %d of %d of batches of %zu units: no such shard", r, P, G);
    *n_rows = 0;
    if (!key) { /* rows [lo, hi) */
        size_t lo, hi;
        dsi_shard_units(n, G, r, P, &lo, &hi);
        for (size_t i = lo; i < hi; i++) rows[i - lo] = (int32_t)i;
        *n_rows = hi - lo;
        if (units) *units = n;
        return DSN_OK;
    }
    /* groups: the distinct values in ascending order; the shard's groups are
     * a range of values */
    int32_t *v = dsi_malloc((n ? n : 1) * sizeof *v);
    if (!v) return dsi_error(DSN_E_NOMEM, "cannot sort the groups of %zu rows", n);
    memcpy(v, key, n * sizeof *v);
    size_t U = dsi_i32_sort_unique(v, n), lo, hi;
    dsi_shard_units(U, G, r, P, &lo, &hi);
    if (hi > lo) {
        int32_t first = v[lo], last = v[hi - 1];
        for (size_t i = 0; i < n; i++)
            if (key[i] >= first && key[i] <= last) rows[(*n_rows)++] = (int32_t)i;
    }
    dsi_free(v);
    if (units) *units = U;
    return DSN_OK;
}

dsn_status dsi_dataset_shard(dsi_dataset **out, const dsi_dataset *ds, int by_groups, size_t G, int r, int P)
{
    DSI_CHECK_NULL(out, "out");
    DSI_CHECK_NULL(ds, "dataset");
    *out = NULL;
    if (ds->shard_count) return dsi_error(DSN_E_INVALID, "the dataset is already shard %d of %d", ds->shard_rank, ds->shard_count);
    const int32_t *key = by_groups ? (ds->group_ids ? ds->group_ids : ds->labels) : NULL;
    if (by_groups && !key) return dsi_error(DSN_E_STATE, "a shard of groups needs a dataset with labels or group ids");
    int32_t *rows = dsi_malloc(ds->n * sizeof *rows);
    if (!rows) return dsi_error(DSN_E_NOMEM, "cannot list the rows of a shard of %zu", ds->n);
    size_t n = 0, units = 0;
    dsn_status st = dsi_shard_rows(ds->n, key, G, r, P, rows, &n, &units);
    if (st == DSN_OK && n == 0)
        st = dsi_error(DSN_E_INVALID, "shard %d of %d of %zu %s (batches of %zu) is empty", r, P, units,
                       by_groups ? "groups" : "rows", G);
    if (st == DSN_OK) st = dsi_dataset_subset(out, ds, rows, n);
    dsi_free(rows);
    if (st != DSN_OK) return st;
    dsi_dataset *s = *out;
    s->shard_rank = r;
    s->shard_count = P;
    s->shard_by_groups = by_groups != 0;
    s->shard_total_rows = ds->n;
    s->shard_total_groups = ds->n_groups;
    return DSN_OK;
}
