/* testutil.h - small helpers shared by the Check suites. */
#ifndef DSN_TEST_UTIL_H
#define DSN_TEST_UTIL_H

#include <check.h>
#include <math.h>
#include <stddef.h>

#include "core/rng.h"

#include "support/describe.h"

/* Max |a_i - b_i| / (1 + |b_i|) over n values. */
double tu_max_rel_err(const float *a, const float *b, size_t n);
/* Fill with uniform(-1, 1) from a seeded rng. */
void tu_fill(dsi_rng *r, float *x, size_t n);
/* Path to a fresh temporary directory for this process (created once). */
const char *tu_tmpdir(void);
/* tu_tmpdir()/name in one of 8 buffers of the calling thread, reused in turn
 * (so up to 8 paths stay valid at once); names of up to ~400 bytes. */
char *tu_tmp_path(const char *name);
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
