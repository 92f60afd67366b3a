/* simd.h - element-wise kernels with run-time ISA dispatch (internal).
 *
 * The library is compiled for the baseline x86-64 (SSE2), where the portable
 * loops of act.c / fastmath.h run 4 lanes at a time or not vectorised at all
 * (-O2). These kernels are compiled three times (AVX-512F, AVX2+FMA, portable
 * C) and the widest one the CPU supports is picked once, at first use.
 *
 * Determinism: an element's result does not depend on its position or on n
 * (the tails use masked / padded vector code, not a scalar loop), and the
 * AVX-512 and AVX2 paths compute the same operations in the same order, so
 * they give bit-identical results. The portable path uses the same formulas
 * (fastmath.h) but without fused multiply-adds.
 *
 * DSI_SIMD=0|1|2 in the environment caps the level (0 portable, 1 AVX2,
 * 2 AVX-512), for tests and comparisons. */
#ifndef DSI_TENSOR_SIMD_H
#define DSI_TENSOR_SIMD_H

#include <stddef.h>

/* 0 portable, 1 AVX2+FMA, 2 AVX-512F */
int dsi_simd_level(void);
/* Use at most `level` from now on (capped by the CPU; < 0: back to the
 * detected level and DSI_SIMD). Returns the level in effect. For tests and
 * benchmarks; not while another thread runs a kernel. */
int dsi_simd_force(int level);

/* y = tanh(x), in place allowed; |error| ~3e-7 */
void dsi_simd_tanh(const float *x, float *y, size_t n);
/* y = 1 / (1 + e^-x), in place allowed */
void dsi_simd_sigm(const float *x, float *y, size_t n);
/* y = max(x, 0), in place allowed */
void dsi_simd_relu(const float *x, float *y, size_t n);

/* Backward from the output y: gz = gy * f'(y), overwriting gz. */
void dsi_simd_relu_grad(const float *y, const float *gy, float *gz, size_t n);
void dsi_simd_tanh_grad(const float *y, const float *gy, float *gz, size_t n);   /* gy (1 - y^2) */
void dsi_simd_sigm_grad(const float *y, const float *gy, float *gz, size_t n);   /* gy y (1 - y) */

/* Accumulating forms (the unary op's backward): gx += x > 0 ? gy : 0 (from
 * the input x; x > 0 iff y > 0, so y works too); gx += gy (1 - y^2). The vector
 * paths compute gx + (masked gy) / gx + gy (1 - y y) exactly as the scalar loop. */
void dsi_simd_relu_grad_acc(const float *x, const float *gy, float *gx, size_t n);
void dsi_simd_tanh_grad_acc(const float *y, const float *gy, float *gx, size_t n);

/* y[r, :] = b for r < rows (bias broadcast), y [rows, n] */
void dsi_simd_bcast_rows(float *y, const float *b, size_t rows, size_t n);
/* b[j] += sum_r g[r, j], g [rows, n] */
void dsi_simd_colsum_add(const float *g, size_t rows, size_t n, float *b);

/* sum of squares, accumulated in double */
double dsi_simd_sumsq(const float *x, size_t n);

/* One Adam/AdamW update of n weights (no AMSGrad), same arithmetic as the
 * scalar loop of optim.c (no fused multiply-adds, so bit-identical):
 *   g = grad s + l2 w;  m = b1 m + c1 g;  v = b2 v + c2 g^2;
 *   w = w decay - ss m / (sqrt(v) ib + eps) */
void dsi_simd_adam(float *w, const float *grad, float *m, float *v, size_t n, float s, float b1, float c1, float b2,
                   float c2, float l2, float decay, float ss, float ib, float eps);

/* dsi_lstm_row_backward's arithmetic (bit-identical) without dz2; returns 0
 * (and does nothing) when no vector path applies, 1 when done. */
int dsi_simd_lstm_row_backward(int H, float *gates, const float *tc, const float *c_prev, const float *gh,
                               const float *gh2, const float *gc, float *dc_prev, int accumulate);

/* The LSTM layer's products (lib/autodiff/ops_lstm.c) with the weights
 * packed once per pass, for the vector levels (>= 1).
 * dsi_lstm_pack_floats(I, H): floats of a packed buffer (either direction,
 * any level); dsi_lstm_pack_fwd packs [wx; wh] ([I + H, 4H]; I = 0: wh
 * alone), dsi_lstm_pack_bwd wh^T, for dsi_lstm_rec_fwd / _bwd at the current
 * level, and return 1, or return 0 (nothing written) on the portable level.
 * A call covers n rows (one time step of a part of the batch), each given by
 * its own pointers (arrays of n), and needs DSI_LSTM_ACC_ROW n floats of
 * scratch in acc.
 *
 * dsi_lstm_rec_fwd: for each row r the pre-activations, with x == NULL
 *   (packed with I = 0) z[r] [4H] + h[r] wh, else bias [4H] (NULL: 0) +
 *   x[r] [I] wx + h[r] wh (the input projection fused; z only written); h ==
 *   NULL: no recurrent term. Then the gates and the state update of
 *   dsi_lstm_row_forward with the same operations: z[r] gets the gates, c[r]
 *   [H] the previous cell state is overwritten by the new one; cs[r], tc[r]
 *   copies of c and tanh(c) or NULL; hn[r] [H] the new h (must not alias any
 *   h row); y[r] a second copy or NULL (all arrays of n entries).
 * dsi_lstm_rec_bwd: hn[r] [H] = z[r] [4H] wh^T (only z and hn used).
 * Every sum runs over k in order from 0 (x's then h's) with fused
 * multiply-adds: a row's result depends neither on the other rows nor on the
 * level (AVX-512 == AVX2 bit for bit). Single-threaded, no allocation. */
#define DSI_LSTM_ACC_ROW 64
typedef struct dsi_lstm_rows {
    int n, I;
    const float **h, **x;
    const float *bias;
    float **z, **c, **cs, **tc, **hn, **y;
    float *acc;
} dsi_lstm_rows;
size_t dsi_lstm_pack_floats(int I, int H);
int dsi_lstm_pack_fwd(int I, int H, const float *wx, const float *wh, float *P);
int dsi_lstm_pack_bwd(int H, const float *wh, float *P);
void dsi_lstm_rec_fwd(int H, const float *P, const dsi_lstm_rows *b);
void dsi_lstm_rec_bwd(int H, const float *P, const dsi_lstm_rows *b);

/* Bernoulli negative log-likelihood with logits x and targets y:
 *   l_i = max(x_i, 0) - x_i y_i + log1p(e^-|x_i|)
 * dsi_simd_bern_nll returns sum_i l_i (each l_i in float, the sum in double,
 * lanes reduced in a fixed order); dsi_simd_bern_grad adds
 *   gx_i += g (sigm(x_i) - y_i),  sigm(x) = (x >= 0 ? 1 : e) / (1 + e), e = e^-|x|.
 * Both return 0 (and do nothing) when no vector path applies (the caller
 * keeps its scalar double loop), 1 when done. |error of l_i| ~2e-7 (1 + |x|). */
int dsi_simd_bern_nll(const float *x, const float *y, size_t n, double *sum);
int dsi_simd_bern_grad(const float *x, const float *y, float g, float *gx, size_t n);

/* KL(N(mq, e^lq) || N(mp, e^lp)) over one row of D, log-variances clamped
 * to [-30, 20] (gauss.h) (AVX-512 or AVX2; return 0 = not done):
 *   sum_d expm1(a - b) - (a - b) + (mq - mp)^2 e^-b   (a = clamp lq, b = clamp lp)
 * (without the factor 1/2) in double, 8 or 4 lanes (the loss value agrees with a
 * libm loop to ~1e-15), and in float, 16 or 8 lanes (the same bits), its gradient times g
 * accumulated into whichever of gmq, glq, gmp, glp is not NULL (the log-
 * variance gradients only where lq / lp lie inside the clamp range):
 *   gmq += g dm e^-b; gmp -= g dm e^-b; glq += g/2 expm1(d); glp -= g/2 (expm1(d) + dm^2 e^-b).
 * expm1(d) - d is evaluated without cancellation (series for |d| < 1/2). */
int dsi_simd_klg_row(const float *mq, const float *lq, const float *mp, const float *lp, int D, double *sum);
int dsi_simd_klg_row_grad(const float *mq, const float *lq, const float *mp, const float *lp, int D, float g,
                          float *gmq, float *glq, float *gmp, float *glp);

/* Small-matrix gemm without packing (AVX-512 or AVX2, the same bits), for the narrow layers
 * (N, K up to ~128) where a BLAS's packing costs as much as the multiply:
 *   C[M,N] = act(A[M,K] B[K,N] + (beta == 1 ? C : 0) + bias[N])
 * row-major, no transposes, alpha 1, beta 0 or 1, bias may be NULL, act one of
 * DSI_GS_*. Each element is summed over k in order from 0, then C, then bias
 * are added: its value depends neither on its position nor on M or N.
 * Split over the pool by rows (bit-identical for any thread count).
 * Returns 0 (nothing done) without AVX2 (or when forced to the portable
 * level) or when beta is not 0/1. */
enum { DSI_GS_NONE = 0, DSI_GS_RELU = 1, DSI_GS_TANH = 2 };
int dsi_gemm_small(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float beta, float *C,
                   int ldc, const float *bias, int act);
/* The weight-gradient shape: C[K,N] = A[M,K]^T B[M,N] (+ C if beta == 1),
 * with M long (summed in chunks of 256 rows, in order, added to C chunk by
 * chunk: the result depends on M but not on an element's position). Split
 * over the pool by rows of C. Returns 0 (nothing done) without AVX2 or when
 * beta is not 0/1. */
int dsi_gemm_small_tn(int K, int N, int M, const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc);
/* Does dsi_gemm hand C[K,N] = A^T B (inner size M) to dsi_gemm_small_tn?
 * N <= 128, K <= 128, M >= 256 (measured with bench_gemm_small: 1.1-1.4x). */
static inline int dsi_gemm_small_tn_fits(int K, int N, int M)
{
    return N <= 128 && K <= 128 && M >= 256 && dsi_simd_level() >= 1;
}
/* Does dsi_gemm hand this shape (op(A) not transposed, alpha 1) to
 * dsi_gemm_small? Where it measured faster than OpenBLAS (bench_gemm_small):
 * N <= 80, K <= 512, M >= 192 (fewer rows: OpenBLAS's own small-matrix path
 * is as fast), and for a transposed B at most DSI_GS_TMAX floats in it. */
#define DSI_GS_TMAX 8192
static inline int dsi_gemm_small_fits(int M, int N, int K, int tb)
{
    return N <= 80 && K <= 512 && M >= 192 && (!tb || (long)N * K <= DSI_GS_TMAX) && dsi_simd_level() >= 1;
}

#endif
