/* simd_rows.c - row kernels: broadcast of a row, column sums, the sum of
 * squares (see simd.h). */
#include "tensor/simd.h"
#include "tensor/simd_x86.h"
#include "core/pool.h"

#include <string.h>

#ifdef DSI_X86_SIMD
#define DSI_SIMD_TEMPLATE "tensor/simd_rows_w.h"
#include "tensor/simd_widths.h"
#endif /* DSI_X86_SIMD */

static void bcast_part(float *y, const float *b, size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++) memcpy(y + r * n, b, sizeof(float) * n);
}

static void colsum_c(const float *g, size_t rows, size_t n, size_t ld, float *b)
{
    for (size_t r = 0; r < rows; r++) {
        const float *row = g + r * ld;
        for (size_t j = 0; j < n; j++) b[j] += row[j];
    }
}

static double sumsq_c(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t k = 0; k < n; k++) s += (double)x[k] * x[k];
    return s;
}

/* ---- the pool. bcast: rows split; colsum: columns split (each column is
 * summed over all rows in order, as on one thread); sumsq: fixed blocks of
 * SUMSQ_BLOCK elements, their sums added in order, so the result is the same
 * for every thread count. ---- */
#define ROWS_GRAIN 32768.0 /* floats touched per task at least */
#define SUMSQ_BLOCK 16384

typedef struct rows_job {
    float *y;
    const float *g, *b;
    size_t rows, n;
    void (*colsum)(const float *, size_t, size_t, size_t, float *);
    double (*sumsq)(const float *, size_t);
    double *part;
} rows_job;

static void bcast_task(void *ctx, int t, int nt)
{
    const rows_job *j = ctx;
    size_t lo, hi;
    dsi_pool_split(j->rows, t, nt, 1, &lo, &hi);
    bcast_part(j->y + lo * j->n, j->b, hi - lo, j->n);
}

void dsi_simd_bcast_rows(float *y, const float *b, size_t rows, size_t n)
{
    const int nt = dsi_pool_tasks((double)rows * n, ROWS_GRAIN);
    if (nt <= 1) {
        bcast_part(y, b, rows, n);
        return;
    }
    rows_job j = {.y = y, .b = b, .rows = rows, .n = n};
    dsi_pool_run(nt, bcast_task, &j);
}

static void colsum_task(void *ctx, int t, int nt)
{
    const rows_job *j = ctx;
    size_t lo, hi;
    /* parts of 8 columns: 80 columns split 40 / 40 (16 would give 48 / 32) */
    dsi_pool_split(j->n, t, nt, 8, &lo, &hi);
    if (hi > lo) j->colsum(j->g + lo, j->rows, hi - lo, j->n, j->y + lo);
}

void dsi_simd_colsum_add(const float *g, size_t rows, size_t n, float *b)
{
#ifdef DSI_X86_SIMD
    const int l = dsi_simd_level();
    void (*f)(const float *, size_t, size_t, size_t, float *) = l == 2 ? colsum_512 : l == 1 ? colsum_256 : colsum_c;
#else
    void (*f)(const float *, size_t, size_t, size_t, float *) = colsum_c;
#endif
    const int nt = n >= 32 ? dsi_pool_tasks((double)rows * n, ROWS_GRAIN) : 1;
    if (nt <= 1) {
        f(g, rows, n, n, b);
        return;
    }
    rows_job j = {.y = b, .g = g, .rows = rows, .n = n, .colsum = f};
    dsi_pool_run(nt, colsum_task, &j);
}

static void sumsq_task(void *ctx, int t, int nt)
{
    const rows_job *j = ctx; /* n elements in j->rows blocks */
    size_t lo, hi;
    dsi_pool_split(j->rows, t, nt, 1, &lo, &hi);
    for (size_t k = lo; k < hi; k++) {
        const size_t a = k * SUMSQ_BLOCK, len = j->n - a < SUMSQ_BLOCK ? j->n - a : SUMSQ_BLOCK;
        j->part[k] = j->sumsq(j->g + a, len);
    }
}

double dsi_simd_sumsq(const float *x, size_t n)
{
#ifdef DSI_X86_SIMD
    const int l = dsi_simd_level();
    double (*f)(const float *, size_t) = l == 2 ? sumsq_512 : l == 1 ? sumsq_256 : sumsq_c;
#else
    double (*f)(const float *, size_t) = sumsq_c;
#endif
    const size_t blocks = (n + SUMSQ_BLOCK - 1) / SUMSQ_BLOCK;
    if (blocks <= 1) return f(x, n);
    double part[64], s = 0.0;
    for (size_t b0 = 0; b0 < blocks; b0 += 64) { /* 64 blocks (1 Mi floats) per round */
        const size_t nb = blocks - b0 < 64 ? blocks - b0 : 64;
        const size_t a = b0 * SUMSQ_BLOCK, len = n - a < nb * SUMSQ_BLOCK ? n - a : nb * SUMSQ_BLOCK;
        rows_job j = {.g = x + a, .rows = nb, .n = len, .sumsq = f, .part = part};
        dsi_pool_run(dsi_pool_tasks((double)len, 2.0 * SUMSQ_BLOCK), sumsq_task, &j);
        for (size_t k = 0; k < nb; k++) s += part[k];
    }
    return s;
}
