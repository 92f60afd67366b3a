/* finite.h - the one check for NaN and infinity in a float array (internal).
 * It tests the exponent bits, so it holds under any floating-point flags,
 * and ORs them over blocks, so a clean array costs one vectorised pass. */
#ifndef DSI_CORE_FINITE_H
#define DSI_CORE_FINITE_H

#include <stddef.h>

/* The index of the first NaN or infinity in x[0..n), or n when every value
 * is finite (x may be NULL when n is 0). */
size_t dsi_find_nonfinite(const float *x, size_t n);

/* 1 when every value of x[0..n) is finite. */
static inline int dsi_all_finite(const float *x, size_t n) { return dsi_find_nonfinite(x, n) == n; }

#endif
