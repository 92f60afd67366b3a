/* dataset.h - in-memory datasets, grouping, batch sampling and splits (internal).
 *
 * A dsi_dataset holds n observations of one fixed shape (float32, row-major,
 * 1..3 dimensions per observation, e.g. [784] or [T, D]), with optional
 *  - labels:    int32 [n], >= 0 (e.g. the digit class);
 *  - group ids: int32 [n], >= 0; when absent the labels are the groups;
 *  - a mask:    float [n, T] with T = shape[0], 1 for a valid frame and 0 for
 *               padding (sequences shorter than T).
 *
 * Groups: the distinct group-id values (group ids, else labels) are mapped to
 * dense ids 0..n_groups-1 in ASCENDING order of the value, so the mapping does
 * not depend on the order of the rows and two subsets holding the same values
 * agree. Members of a group are listed in increasing row order.
 *
 * Every array is owned by the dataset and allocated when it is built; the
 * samplers below preallocate their scratch at creation, so drawing batches
 * never allocates. A dataset is read-only once built (apart from the
 * set_labels/set_groups/set_mask calls), so samplers on distinct threads may
 * share one dataset. */
#ifndef DSI_DATA_DATASET_H
#define DSI_DATA_DATASET_H

#include "core/rng.h"
#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

#define DSI_DATA_MAX_DIMS 3

typedef struct dsi_dataset {
    size_t n;                      /* number of observations, 1..INT32_MAX */
    int ndim;                      /* dimensions per observation, 1..3 */
    int shape[DSI_DATA_MAX_DIMS];  /* observation shape (unused entries 1) */
    size_t obs_size;               /* floats per observation: product of shape */
    float *x;                      /* [n * obs_size], 64-byte aligned */
    int32_t *labels;               /* [n] or NULL */
    int32_t *group_ids;            /* [n] or NULL (then labels are the groups) */
    float *mask;                   /* [n * shape[0]] or NULL */

    /* grouping, rebuilt whenever labels or group ids change */
    size_t n_groups;               /* 0 when there are neither labels nor group ids */
    int32_t *group_value;          /* [n_groups] raw value of each dense group, ascending */
    int32_t *group_of;             /* [n] dense group of each row */
    size_t *group_start;           /* [n_groups + 1] offsets into group_members */
    int32_t *group_members;        /* [n] rows grouped by dense group, increasing within a group */
    size_t max_group_size;
    uint64_t groups_gen;           /* bumped at each regrouping (samplers check it) */

    /* one shard of a larger set (dsi_dataset_shard; shard_count 0: the whole
     * set): shard shard_rank of shard_count, by rows or by whole groups, of a
     * set of shard_total_rows rows in shard_total_groups groups */
    int shard_rank, shard_count, shard_by_groups;
    size_t shard_total_rows, shard_total_groups;
} dsi_dataset;

/* ---- construction -------------------------------------------------------- */

/* Copy n observations of shape[0..ndim-1] from x (n * prod(shape) floats).
 * labels ([n], each >= 0) and mask ([n * shape[0]], values in [0, 1]) may be
 * NULL. NaN or infinity in x gives DSN_E_NUMERIC naming the first bad index;
 * NULL x/out, zero sizes, ndim outside 1..3, a negative label or a bad mask
 * value give DSN_E_INVALID. */
dsn_status dsi_dataset_from_memory(dsi_dataset **out, const float *x, size_t n, int ndim, const int *shape,
                                   const int32_t *labels, const float *mask);

/* MNIST-style IDX files: images "idx3-ubyte" (magic 0x00000803, [n, rows,
 * cols] bytes) and optionally labels "idx1-ubyte" (0x00000801, [n] bytes;
 * labels_path may be NULL). Pixels are scaled to [0, 1] and each image is
 * flattened to one observation of shape [rows * cols]. Every size is checked
 * against the file length before anything is allocated; a wrong magic, a
 * truncated or oversized file, or a label count that differs from the image
 * count give DSN_E_FORMAT with a message naming the file. Gzip files give
 * DSN_E_UNSUPPORTED (decompress them first). */
dsn_status dsi_dataset_load_idx(dsi_dataset **out, const char *images_path, const char *labels_path);

/* The standard MNIST files in dir: train-images-idx3-ubyte and
 * train-labels-idx1-ubyte (test_set = 0), or t10k-images-idx3-ubyte and
 * t10k-labels-idx1-ubyte (test_set = 1). */
dsn_status dsi_dataset_load_mnist(dsi_dataset **out, const char *dir, int test_set);

/* NumPy .npy files (see data/npy.h for the accepted dtypes): x of shape
 * [N, d1, ..., dk] with k <= 3 (k = 0 gives observations of shape [1]),
 * converted to float32; labels_path (may be NULL) a 1-D integer array [N]. */
dsn_status dsi_dataset_load_npy(dsi_dataset **out, const char *x_path, const char *labels_path);

/* Rows rows[0..n-1] (increasing) of the IDX images (idx3-ubyte) file,
 * reading only those images, with labels [n] (may be NULL); *total (may be
 * NULL) the file's image count. rows NULL: only *total (from the header). */
dsn_status dsi_dataset_load_idx_rows(dsi_dataset **out, const char *images_path, const int32_t *rows, size_t n,
                                     const int32_t *labels, size_t *total);
/* All labels of an IDX labels (idx1-ubyte) file: *labels [*n] (dsi_free). */
dsn_status dsi_idx_read_labels(const char *path, int32_t **labels, size_t *n);

/* Rows rows[0..n-1] (increasing) of the .npy x_path, reading only those
 * from the file, with labels [n] (theirs; may be NULL). */
dsn_status dsi_dataset_load_npy_rows(dsi_dataset **out, const char *x_path, const int32_t *rows, size_t n,
                                     const int32_t *labels);

/* New dataset holding rows idx[0..n-1] of ds (in that order; repeats allowed). */
dsn_status dsi_dataset_subset(dsi_dataset **out, const dsi_dataset *ds, const int32_t *idx, size_t n);

void dsi_dataset_free(dsi_dataset *ds);

/* For the loaders: a dataset that takes ownership of x (n * prod(shape)
 * floats from dsi_aligned_alloc; freed on failure too) after checking the
 * sizes and that every value is finite. */
dsn_status dsi_dataset_adopt(dsi_dataset **out, float *x, size_t n, int ndim, const int *shape);

/* ---- changing the annotations ----------------------------------------- */

/* Replace the labels (NULL removes them); regroups when there are no group ids.
 * On failure the dataset is unchanged. */
dsn_status dsi_dataset_set_labels(dsi_dataset *ds, const int32_t *labels);
/* Group by these ids ([n], >= 0) instead of the labels; NULL groups by labels again. */
dsn_status dsi_dataset_set_groups(dsi_dataset *ds, const int32_t *group_ids);
/* Frame mask [n * shape[0]] with values in [0, 1]; NULL removes it. */
dsn_status dsi_dataset_set_mask(dsi_dataset *ds, const float *mask);
/* Mask from sequence lengths: frame t of row i is valid iff t < lengths[i]
 * (1 <= lengths[i] <= shape[0]). */
dsn_status dsi_dataset_set_lengths(dsi_dataset *ds, const int32_t *lengths);
/* Change the observation shape keeping the number of floats per observation
 * (e.g. [784] <-> [28, 28]). The mask, which depends on shape[0], must be absent. */
dsn_status dsi_dataset_reshape(dsi_dataset *ds, int ndim, const int *shape);

/* ---- access ---------------------------------------------------------------- */

static inline const float *dsi_dataset_row(const dsi_dataset *ds, size_t i) { return ds->x + i * ds->obs_size; }
static inline size_t dsi_dataset_frames(const dsi_dataset *ds) { return (size_t)ds->shape[0]; }
/* Label of row i: the label, else the raw group id, else -1. */
static inline int32_t dsi_dataset_label(const dsi_dataset *ds, size_t i)
{
    return ds->labels ? ds->labels[i] : ds->group_ids ? ds->group_ids[i] : -1;
}
static inline size_t dsi_dataset_group_count(const dsi_dataset *ds) { return ds->n_groups; }
/* Rows of dense group g (g < n_groups); *count gets their number. */
static inline const int32_t *dsi_dataset_group_rows(const dsi_dataset *ds, size_t g, size_t *count)
{
    *count = ds->group_start[g + 1] - ds->group_start[g];
    return ds->group_members + ds->group_start[g];
}
/* Dense id of a raw group value, or -1 if no row has it. */
int32_t dsi_dataset_group_index(const dsi_dataset *ds, int32_t value);

/* Rows and groups of the whole set ds is (a shard of). */
static inline size_t dsi_dataset_total_rows(const dsi_dataset *ds) { return ds->shard_count ? ds->shard_total_rows : ds->n; }
static inline size_t dsi_dataset_total_groups(const dsi_dataset *ds)
{
    return ds->shard_count ? ds->shard_total_groups : ds->n_groups;
}

/* ---- shards (data-parallel training, docs/scale-out.md) -------------------
 * A set of U units (rows, or whole groups) trained with global batches of G
 * units over P shards: shard r takes units [G r / P, G (r + 1) / P) of every
 * batch (its part, dsi_shard_part) and holds units [U g0 / G, U g1 / G) of the
 * set, g0, g1 the ends of its part (dsi_shard_units): the shards' sizes are
 * in proportion to their parts, so each shard passes over its units at the
 * same pace. Units are rows in increasing order, or groups in ascending
 * order of their value (the dense group order), so a shard of groups is a
 * range of group values. */
static inline void dsi_shard_part(size_t G, int r, int P, size_t *lo, size_t *hi)
{
    *lo = G * (size_t)r / (size_t)P;
    *hi = G * ((size_t)r + 1) / (size_t)P;
}
static inline void dsi_shard_units(size_t U, size_t G, int r, int P, size_t *lo, size_t *hi)
{
    size_t g0, g1;
    dsi_shard_part(G, r, P, &g0, &g1);
    *lo = G ? U * g0 / G : 0;
    *hi = G ? U * g1 / G : 0;
}
/* The rows of shard r of P of a set of n rows (key NULL: units are rows) or
 * of the groups given by key [n] (raw group values, >= 0), in increasing
 * order, into rows (room for n); *n_rows their number (0: an empty shard),
 * *units the set's unit count (n, or its distinct key values). Allocates
 * scratch (by groups). G >= 1, 0 <= r < P. */
dsn_status dsi_shard_rows(size_t n, const int32_t *key, size_t G, int r, int P, int32_t *rows, size_t *n_rows,
                          size_t *units);
/* New dataset: shard r of P of ds (by its groups - group ids, else labels -
 * when by_groups), marked as such; a shard of a shard or an empty shard is
 * DSN_E_INVALID. */
dsn_status dsi_dataset_shard(dsi_dataset **out, const dsi_dataset *ds, int by_groups, size_t G, int r, int P);

/* ---- batches --------------------------------------------------------------- */

/* Caller-provided batch buffers; rows are written from 0. x is required, the
 * others may be NULL (not written).
 *   x      [cap * obs_size]
 *   group  [cap]  group sampler: dense ids 0..G-1 local to the batch;
 *                 otherwise the dataset-wide dense group (-1 without groups)
 *   label  [cap]  dsi_dataset_label of each row
 *   mask   [cap * shape[0]]  the row's mask, all ones when the dataset has none
 *   index  [cap]  the dataset row each batch row came from */
typedef struct dsi_batch {
    float *x;
    int32_t *group;
    int32_t *label;
    float *mask;
    int32_t *index;
    size_t cap;   /* capacity in rows */
    size_t n;     /* rows written by the last call */
} dsi_batch;

/* Copy rows idx[0..n-1] into b (n <= b->cap). No allocation. */
dsn_status dsi_dataset_gather(const dsi_dataset *ds, const int32_t *idx, size_t n, dsi_batch *b);

/* "G groups x k members" sampler. Each batch picks min(G, n_groups) distinct
 * groups uniformly without replacement, then k members of each: without
 * replacement when the group has >= k members, with replacement otherwise.
 * Rows [j*k, (j+1)*k) of the batch belong to batch group j. */
typedef struct dsi_group_sampler {
    const dsi_dataset *ds;   /* borrowed: must outlive the sampler */
    size_t groups, k;        /* G actually used (min(G, n_groups)) and k */
    dsi_rng rng;             /* owned; may be saved/restored for resumption */
    int32_t *group_perm;     /* [n_groups] scratch permutation of the groups */
    int32_t *member_perm;    /* [n] per-group scratch permutations of the rows */
    int32_t *rows;           /* [G * k] rows of the current batch */
    uint64_t groups_gen;     /* ds->groups_gen at creation */
} dsi_group_sampler;

/* Needs a dataset with groups (DSN_E_STATE otherwise), G >= 1 and k >= 1. */
dsn_status dsi_group_sampler_create(dsi_group_sampler **out, const dsi_dataset *ds, size_t groups, size_t k,
                                    uint64_t seed);
/* Rows per batch: groups * k. */
static inline size_t dsi_group_sampler_batch_size(const dsi_group_sampler *s) { return s->groups * s->k; }
/* Draw one batch into b (b->cap >= batch size). No allocation. If the
 * dataset was regrouped (set_labels/set_groups) after the sampler was made,
 * gives DSN_E_STATE: make a new sampler. */
dsn_status dsi_group_sampler_next(dsi_group_sampler *s, dsi_batch *b);
/* Back to the state of a sampler just created with seed: the batches drawn
 * afterwards depend only on seed (resumable epochs). No allocation. */
void dsi_group_sampler_reset(dsi_group_sampler *s, uint64_t seed);
void dsi_group_sampler_free(dsi_group_sampler *s);

/* Shuffled mini-batches without replacement: every row exactly once per epoch.
 * The last batch of an epoch is smaller, or dropped when drop_last is set. */
typedef struct dsi_epoch_iter {
    const dsi_dataset *ds;   /* borrowed */
    size_t batch;
    int drop_last;
    dsi_rng rng;
    int32_t *perm;           /* [n] order of the current epoch */
    size_t pos;              /* next position in perm */
    int in_epoch;            /* 0: the next call starts a new epoch */
    uint64_t epoch;          /* epochs started so far */
} dsi_epoch_iter;

dsn_status dsi_epoch_iter_create(dsi_epoch_iter **out, const dsi_dataset *ds, size_t batch, int drop_last,
                                 uint64_t seed);
/* Next batch of the epoch into b (b->cap >= batch). At the end of an epoch it
 * writes nothing and sets b->n = 0; the following call starts a new epoch in
 * a new random order. So: while (next(it, &b) == DSN_OK && b.n) {...}.
 * No allocation. */
dsn_status dsi_epoch_iter_next(dsi_epoch_iter *it, dsi_batch *b);
/* Start a new epoch now (reshuffle). */
void dsi_epoch_iter_restart(dsi_epoch_iter *it);
/* Reseed and start a new epoch: its order then depends only on seed. */
void dsi_epoch_iter_reset(dsi_epoch_iter *it, uint64_t seed);
void dsi_epoch_iter_free(dsi_epoch_iter *it);

/* ---- splits ---------------------------------------------------------------- */

/* Random split: round(frac * n) rows go to validation, drawn with a generator
 * seeded by seed. stratified: each group contributes round(frac * size) of its
 * rows instead (needs groups). train_idx and val_idx must each hold ds->n
 * entries; they receive the rows in increasing order. Both parts must be
 * non-empty (DSN_E_INVALID otherwise); 0 < frac < 1. */
dsn_status dsi_split_indices_random(const dsi_dataset *ds, double val_frac, uint64_t seed, int stratified,
                                    int32_t *train_idx, size_t *n_train, int32_t *val_idx, size_t *n_val);
/* The same split as two new datasets. */
dsn_status dsi_dataset_split_random(const dsi_dataset *ds, double val_frac, uint64_t seed, int stratified,
                                    dsi_dataset **train, dsi_dataset **val);

/* Split by label set: rows whose label (dsi_dataset_label) is one of
 * values[0..n_values-1] go to *in, the rest to *out (either pointer may be
 * NULL to skip that part). A requested part that would be empty gives
 * DSN_E_INVALID. E.g. train on digits 0-6 and test on the unseen 7-9. */
dsn_status dsi_dataset_split_by_labels(const dsi_dataset *ds, const int32_t *values, size_t n_values,
                                       dsi_dataset **in, dsi_dataset **out);

#endif
