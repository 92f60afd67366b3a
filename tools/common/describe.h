/* describe.h - the descriptions of models, parts and datasets by value, for
 * the hosts of the public API in this tree: the example programs, the
 * `disent` command line and the test suites (tests/support/describe.h); not
 * part of the library. Header-only (static inline); sees only the public
 * header. A NULL handle or a failed call gives the INIT value with family /
 * name NULL (models, parts) or size 0 (datasets). */
#ifndef DISENT_HOST_DESCRIBE_H
#define DISENT_HOST_DESCRIBE_H

#include <disent.h>

#include <stddef.h>

static inline dsn_model_info host_info(const dsn_model *m)
{
    dsn_model_info i = DSN_MODEL_INFO_INIT;
    if (!m || dsn_model_describe(m, &i) != DSN_OK) i.family = NULL;
    return i;
}

static inline dsn_part_info host_part(const dsn_model *m, int p)
{
    dsn_part_info i = DSN_PART_INFO_INIT;
    if (!m || dsn_model_part(m, &i, p) != DSN_OK) i.name = NULL;
    return i;
}

static inline dsn_dataset_info host_ds(const dsn_dataset *ds)
{
    dsn_dataset_info i = DSN_DATASET_INFO_INIT;
    if (!ds || dsn_dataset_describe(ds, &i) != DSN_OK) i.size = 0;
    return i;
}

/* The observation shape of a model / dataset (up to max dims into dims, which
 * may be NULL) and its rank; 0 for a NULL handle or a failed call. */
static inline int host_shape_(int ndim, const size_t *shape, size_t *dims, int max)
{
    for (int k = 0; dims && k < ndim && k < max; k++) dims[k] = shape[k];
    return ndim;
}
static inline int host_obs_shape(const dsn_model *m, size_t *dims, int max)
{
    dsn_model_info i = DSN_MODEL_INFO_INIT;
    if (!m || dsn_model_describe(m, &i) != DSN_OK) return 0;
    return host_shape_(i.obs_ndim, i.obs_shape, dims, max);
}
static inline int host_ds_shape(const dsn_dataset *ds, size_t *dims, int max)
{
    dsn_dataset_info i = DSN_DATASET_INFO_INIT;
    if (!ds || dsn_dataset_describe(ds, &i) != DSN_OK) return 0;
    return host_shape_(i.obs_ndim, i.obs_shape, dims, max);
}

#endif
