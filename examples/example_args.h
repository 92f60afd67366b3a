/* example_args.h - what the example programs share (public API only): the
 * command-line flag matcher, the status check that ends the program, model
 * and dataset descriptions by value (tools/common/describe.h, shared with the
 * `disent` program and the tests), a monotonic clock. Header-only; every
 * function is static inline, so a program uses what it needs. */
#ifndef DSN_EXAMPLE_ARGS_H
#define DSN_EXAMPLE_ARGS_H

#include <disent.h>

#include "../tools/common/describe.h" /* host_info, host_part, host_ds, host_obs_shape, host_ds_shape */

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

/* seconds on the monotonic clock */
static inline double ex_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#endif
