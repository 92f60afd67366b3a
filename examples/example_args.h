/* example_args.h - what the example programs share (public API only): the
 * command-line flag matcher, the status check that ends the program, model
 * and dataset descriptions by value, a monotonic clock. Header-only; every
 * function is static inline, so a program uses what it needs. */
#ifndef DSN_EXAMPLE_ARGS_H
#define DSN_EXAMPLE_ARGS_H

#include <disent.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Flag parsing: inside a loop over argv with the locals flag and val,
 *     for (int i = 1; i < argc; i++) {
 *         const char *flag = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
 *         if (EX_FLAG("--epochs")) epochs = atoi(val);
 *         else if (!strcmp(flag, "--quick")) quick = 1;   (a flag without a value)
 * EX_FLAG(name) is true when flag is `name` and a value follows; it then
 * steps i over the value. A flag given last, without its value, does not
 * match (the program's else branch prints its usage). */
#define EX_FLAG(name) (!strcmp(flag, name) && val && (i++, 1))

/* Ends the program (exit 1) with the call, its status and the library's message when it fails. */
#define CHECK(call)                                                                                  \
    do {                                                                                             \
        dsn_status st_ = (call);                                                                     \
        if (st_ != DSN_OK) {                                                                         \
            fprintf(stderr, "%s failed: %s: %s\n", #call, dsn_status_string(st_), dsn_last_error()); \
            exit(1);                                                                                 \
        }                                                                                            \
    } while (0)

/* descriptions by value (family / name NULL, size 0 on failure) */
static inline dsn_model_info ex_info(const dsn_model *m)
{
    dsn_model_info i = DSN_MODEL_INFO_INIT;
    if (!m || dsn_model_describe(m, &i) != DSN_OK) i.family = NULL;
    return i;
}

static inline dsn_part_info ex_part(const dsn_model *m, int p)
{
    dsn_part_info i = DSN_PART_INFO_INIT;
    if (!m || dsn_model_part(m, &i, p) != DSN_OK) i.name = NULL;
    return i;
}

static inline dsn_dataset_info ex_ds(const dsn_dataset *ds)
{
    dsn_dataset_info i = DSN_DATASET_INFO_INIT;
    if (!ds || dsn_dataset_describe(ds, &i) != DSN_OK) i.size = 0;
    return i;
}

/* the observation shape (up to max dims into dims) and its rank; 0 on failure */
static inline int ex_shape(int ndim, const size_t *shape, size_t *dims, int max)
{
    for (int k = 0; dims && k < ndim && k < max; k++) dims[k] = shape[k];
    return ndim;
}
static inline int ex_obs_shape(const dsn_model *m, size_t *dims, int max)
{
    dsn_model_info i = ex_info(m);
    return i.family ? ex_shape(i.obs_ndim, i.obs_shape, dims, max) : 0;
}
static inline int ex_ds_shape(const dsn_dataset *ds, size_t *dims, int max)
{
    dsn_dataset_info i = DSN_DATASET_INFO_INIT;
    if (!ds || dsn_dataset_describe(ds, &i) != DSN_OK) return 0;
    return ex_shape(i.obs_ndim, i.obs_shape, dims, max);
}

/* seconds on the monotonic clock */
static inline double ex_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#endif
