/* describe.h - the descriptions of models, parts, datasets and encodings by
 * value (zeroed for NULL handles or failures), for asserts in the Check
 * suites and the fuzz harnesses. */
#ifndef DSN_TEST_DESCRIBE_H
#define DSN_TEST_DESCRIBE_H

#include "disent.h"

/* Descriptions by value (zeroed for NULL handles), for asserts. */
static inline dsn_model_info tu_info(const dsn_model *m)
{
    dsn_model_info i = DSN_MODEL_INFO_INIT;
    if (m && dsn_model_describe(m, &i) != DSN_OK) i.family = NULL;
    return i;
}
static inline dsn_part_info tu_part(const dsn_model *m, int p)
{
    dsn_part_info i = DSN_PART_INFO_INIT;
    if (!m || dsn_model_part(m, &i, p) != DSN_OK) i.name = NULL;
    return i;
}
static inline dsn_dataset_info tu_ds(const dsn_dataset *ds)
{
    dsn_dataset_info i = DSN_DATASET_INFO_INIT;
    if (ds && dsn_dataset_describe(ds, &i) != DSN_OK) i.size = 0;
    return i;
}
/* the observation shape into dims[0..max-1]; returns the number of dims */
static inline int tu_obs_shape(const dsn_model *m, size_t *dims, int max)
{
    dsn_model_info i = tu_info(m);
    for (int k = 0; dims && k < i.obs_ndim && k < max; k++) dims[k] = i.obs_shape[k];
    return i.obs_ndim;
}
static inline int tu_ds_shape(const dsn_dataset *ds, size_t *dims, int max)
{
    dsn_dataset_info i = tu_ds(ds);
    for (int k = 0; dims && k < i.obs_ndim && k < max; k++) dims[k] = i.obs_shape[k];
    return i.obs_ndim;
}
static inline size_t tu_ngroups(const dsn_encoding *e)
{
    size_t g = 0;
    if (e && dsn_encoding_groups(e, NULL, 0, NULL, &g) != DSN_OK) g = 0;
    return g;
}
static inline size_t tu_items(const dsn_encoding *e)
{
    size_t n = 0;
    if (e && dsn_encoding_groups(e, NULL, 0, &n, NULL) != DSN_OK) n = 0;
    return n;
}

#endif
