/* conv_kernel.h - channels-last convolution kernels (internal).
 *
 * Two indirect-gemm micro-kernels (AVX-512, AVX2+FMA, portable C; picked by
 * dsi_simd_level()) carry every convolution and transposed convolution, their
 * input gradients and their weight gradients (the drivers are in
 * tensor/conv_nhwc.h):
 *
 *   dsi_ig:   y[m, :] = sum_{t < T} sum_{k < K} a[m T + t][k] * b[t][k][:]  (+ bias) (+ y)
 *             rows reached through pointers (a row may point to a zero row:
 *             the padding), so the image is never unfolded into columns.
 *   dsi_igtn: c[i][j] = sum_{q < P} a[q][i] * b[q][j]                        (weight gradients)
 *
 * Determinism: every output element is one float sum in a fixed order
 * (dsi_ig: over t, then k, from 0, then + bias; dsi_igtn: over q from 0),
 * with fused multiply-adds on both vector paths, so the AVX-512 and AVX2
 * paths give bit-identical results, whatever the tile shape, the cache
 * blocking (a partial sum parked in y / c as a float and reloaded is exact)
 * or the part of the rows / tiles a thread computes. The portable path has
 * the same order without fused multiply-adds. */
#ifndef DSI_TENSOR_CONV_KERNEL_H
#define DSI_TENSOR_CONV_KERNEL_H

#include <stddef.h>

typedef struct dsi_ig {
    int M, T, K, N;
    const float *const *a; /* [M T] row pointers, K floats each */
    const float *b;        /* [T][K][ldb], ldb a multiple of 16, 64-byte aligned; columns >= N are 0 */
    int ldb;
    float *const *y;       /* [M] output rows, N floats each */
    const float *bias;     /* [N] or NULL */
} dsi_ig;

/* bytes of weights (dsi_ig) or of a and b rows (dsi_igtn) a cache block keeps in L1 */
#define DSI_IG_L1 24576

/* rows [m0, m1) of g, all columns */
void dsi_ig_rows(const dsi_ig *g, int m0, int m1);
/* The row block the vector path works in (tasks should split rows at
 * multiples of it): depends on N and the ISA level only. */
int dsi_ig_row_align(int N);

typedef struct dsi_igtn {
    int P, MI, NJ;
    const float *const *a; /* [P] rows, MI floats each */
    const float *const *b; /* [P] rows, NJ floats each */
    float *c;              /* [MI][ldc], overwritten */
    int ldc;
} dsi_igtn;

/* number of tiles of one problem (depends on MI, NJ and the ISA level) */
int dsi_igtn_tiles(const dsi_igtn *g);
/* tiles [t0, t1) of g, over all P pairs (a P of 0 writes zeros) */
void dsi_igtn_run(const dsi_igtn *g, int t0, int t1);

/* d[j ldd + i] = s[i lds + j] (or += when acc) for i < R, j < Cc */
void dsi_conv_transpose_block(const float *s, size_t lds, float *d, size_t ldd, int R, int Cc, int acc);

/* benchmarks only: at most this many vectors per column block (0: the
 * kernel's own choice); changes speed, never results */
extern int dsi_conv_nv_cap;
/* cache blocking (bytes; change speed, never results): dsi_ig rows per group
 * = this / (T K 4); dsi_igtn pairs per block = this / ((MI + NJ) 4) */
extern size_t dsi_conv_l2_rows, dsi_conv_tn_block;

#endif
