/* gradcheck.h - finite-difference gradient checker for tests.
 *
 * The function under test builds any output from its inputs on a tape. The
 * checker forms L = sum_i r_i out_i with fixed random weights r (in double),
 * gets dL/dinput by backpropagation seeded with r, and compares each input
 * element (all of them, or a random sample of max_checks) with the central
 * difference (L(x+h) - L(x-h)) / 2h, h = eps * max(1, |x|).
 *
 * Tolerance: |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|).
 * Why the defaults (eps 1e-3, rtol 1e-2, atol 2e-3) are right for float32:
 * the truncation error of the central difference is O(h^2 f''') ~ 1e-6 for
 * smooth ops with O(1) inputs; the rounding error is about
 * u * |L| / h with u = 6e-8 (float32 outputs summed in double), i.e. ~6e-5 per
 * unit of |L|; with |L| up to ~30 in our tests that is below 2e-3. A wrong
 * gradient (a missing term, a wrong sign, a factor of 2) is off by far more. */
#ifndef DSN_TEST_GRADCHECK_H
#define DSN_TEST_GRADCHECK_H

#include "autodiff/tape.h"

#include <stdint.h>

typedef struct gc_input {
    int nd;
    int shape[DSI_MAXDIM];
    float lo, hi;       /* values drawn uniformly in [lo, hi] (default -1, 1 if lo == hi) */
    float min_abs;      /* redraw values with |x| < min_abs (keeps away from kinks) */
    int no_grad;        /* a constant input: not checked, no gradient */
    const float *values;/* optional fixed values instead of random ones */
} gc_input;

typedef dsi_var *(*gc_fn)(dsi_tape *t, dsi_var **in, void *ctx);

typedef struct gc_opts {
    double eps, rtol, atol;
    int max_checks;     /* per input; 0 = all elements */
    uint64_t seed;
} gc_opts;

/* Default options (eps 1e-3, rtol 1e-2, atol 2e-3, all elements, seed 1). */
gc_opts gc_defaults(void);

/* Returns the number of mismatching elements (0 = pass); prints the first few
 * mismatches to stderr with their input, index, analytic and numeric values.
 * Also fails (returns > 0) if the function returns NULL or the tape fails. */
int gc_check(const char *name, gc_fn f, void *ctx, int nin, const gc_input *in, const gc_opts *opts);

#endif
