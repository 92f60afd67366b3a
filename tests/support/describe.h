/* describe.h - the descriptions of models, parts, datasets and encodings by
 * value (zeroed for NULL handles or failures), for asserts in the Check
 * suites and the fuzz harnesses: those of models, parts and datasets are the
 * hosts' (tools/common/describe.h), those of encodings are here. */
#ifndef DSN_TEST_DESCRIBE_H
#define DSN_TEST_DESCRIBE_H

#include "disent.h"

/* host_info, host_part, host_ds, host_obs_shape, host_ds_shape */
#include "../../tools/common/describe.h"

/* the groups and items of an encoding (0 for NULL) */
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
