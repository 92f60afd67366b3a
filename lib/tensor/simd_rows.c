/* simd_rows.c - row kernels: broadcast of a row, column sums, the sum of
 * squares (see simd.h). */
#include "tensor/simd.h"
#include "tensor/simd_x86.h"

#include <string.h>

#ifdef DSI_X86_SIMD
#define DSI_SIMD_TEMPLATE "tensor/simd_rows_w.h"
#include "tensor/simd_widths.h"
#endif /* DSI_X86_SIMD */

void dsi_simd_bcast_rows(float *y, const float *b, size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++) memcpy(y + r * n, b, sizeof(float) * n);
}

void dsi_simd_colsum_add(const float *g, size_t rows, size_t n, float *b)
{
    DISPATCH(colsum_512, colsum_256, g, rows, n, b);
    for (size_t r = 0; r < rows; r++) {
        const float *row = g + r * n;
        for (size_t j = 0; j < n; j++) b[j] += row[j];
    }
}

double dsi_simd_sumsq(const float *x, size_t n)
{
#ifdef DSI_X86_SIMD
    int l = dsi_simd_level();
    if (l == 2) return sumsq_512(x, n);
    if (l == 1) return sumsq_256(x, n);
#endif
    double s = 0.0;
    for (size_t k = 0; k < n; k++) s += (double)x[k] * x[k];
    return s;
}
