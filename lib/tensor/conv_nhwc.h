/* conv_nhwc.h - channels-last convolutions without im2col (internal).
 *
 * One geometry covers conv and transposed conv, 2-D and 1-D (H = KH = 1):
 * a "down" map from the big image [N, Hb, Wb, Cb] to the small one
 * [N, Hs, Ws, Cs] with weights w [Cs, Cb, KH, KW]
 *   small[n, hs, ws, cs] = sum_{cb, kh, kw} w[cs, cb, kh, kw] big[n, hs sh - ph + kh, ws sw - pw + kw, cb]
 * (0 outside the image), and its adjoint "up" from small to big. A conv
 * [O, C, k, k] is down(x) (cs = O), its input gradient up(gy); a transposed
 * conv [C, O, k, k] is up(x) (cs = C), its input gradient down(gy); both
 * weight gradients are dsi_cg_wgrad(big, small).
 *
 * - down: one indirect gemm (conv_kernel.h) over the small pixels, taps
 *   (kh, kw) in order, each tap reading a pixel's Cb channels (a zero row in
 *   the padding) against the packed weights [tap][cb][cs].
 * - up: the big pixels fall into sh x sw phases ((hb + ph) mod sh, ...); the
 *   pixels of one phase are reached by the same taps (kh = phase mod sh, ...),
 *   so each phase is one indirect gemm over its own taps, with no
 *   multiplications by the zeros a strided col2im would add.
 * - wgrad: per tap, the (big, small) pixel pairs inside the image, summed by
 *   dsi_igtn into [Cb][Cs] or [Cs][Cb] (the wider side in vector lanes),
 *   then added into gw.
 *
 * Threads: the rows (down, up) and the tiles (wgrad) are split into tasks
 * over the library pool; a task's share depends on the work size and the
 * thread count only, and every element is computed by one task in a fixed
 * order, so the result does not depend on the thread count either.
 * `work` is caller memory of dsi_cg_work_bytes (64-byte aligned); nothing
 * here allocates. */
#ifndef DSI_TENSOR_CONV_NHWC_H
#define DSI_TENSOR_CONV_NHWC_H

#include <stddef.h>

/* at most this many taps (KH KW); the callers keep larger kernels on im2col */
#define DSI_CG_MAXTAPS 256

typedef struct dsi_cg {
    int N;
    int Cb, Hb, Wb; /* big side: conv input, transposed-conv output */
    int Cs, Hs, Ws; /* small side: conv output, transposed-conv input */
    int KH, KW, sh, sw, ph, pw;
} dsi_cg;

/* bytes of workspace any of down / up / wgrad needs */
size_t dsi_cg_work_bytes(const dsi_cg *g);

/* small = down(big) (+ bias [Cs] when not NULL) */
void dsi_cg_down(const dsi_cg *g, const float *w, const float *big, const float *bias, float *small, void *work);
/* big = up(small) (+ bias [Cb] when not NULL) */
void dsi_cg_up(const dsi_cg *g, const float *w, const float *small, const float *bias, float *big, void *work);
/* gw [Cs, Cb, KH, KW] += sum over pixels of big x small at each tap */
void dsi_cg_wgrad(const dsi_cg *g, const float *big, const float *small, float *gw, void *work);

/* [N, C, P] -> [N, P, C] */
void dsi_nchw_to_nhwc(const float *src, int N, int C, size_t P, float *dst);
/* [N, P, C] -> [N, C, P]; dst += instead of dst = when accumulate */
void dsi_nhwc_to_nchw(const float *src, int N, int C, size_t P, float *dst, int accumulate);

#endif
