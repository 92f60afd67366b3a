/* testutil.h - small helpers shared by the Check suites. */
#ifndef DSN_TEST_UTIL_H
#define DSN_TEST_UTIL_H

#include <check.h>
#include <math.h>
#include <stddef.h>

#include "core/rng.h"
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

/* Max |a_i - b_i| / (1 + |b_i|) over n values. */
double tu_max_rel_err(const float *a, const float *b, size_t n);
/* Fill with uniform(-1, 1) from a seeded rng. */
void tu_fill(dsi_rng *r, float *x, size_t n);
/* Path to a fresh temporary directory for this process (created once). */
const char *tu_tmpdir(void);
/* Report the calling test as skipped (Check has no skip): prints the line
 * "DSN-SKIP <test>: <reason>" on stdout, which scripts/run-suites.sh counts
 * and subtracts from the passed tests, so a test that lacks its data (MNIST,
 * a built tool, a CPU feature) is reported as skipped, never as passed. Use
 * TU_SKIP, which also returns from the test. */
void tu_skip(const char *test_fn, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
#define TU_SKIP(...)                  \
    do {                              \
        tu_skip(__func__, __VA_ARGS__); \
        return;                       \
    } while (0)
/* Run a suite, print Check's summary; returns the number of failures. */
int tu_run(Suite *s);

#define ck_assert_close(a, b, tol)                                                             \
    ck_assert_msg(fabs((double)(a) - (double)(b)) <= (tol), "%s = %.8g, %s = %.8g, tol %.3g", #a, \
                  (double)(a), #b, (double)(b), (double)(tol))

#endif
