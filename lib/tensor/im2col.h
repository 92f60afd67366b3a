/* im2col.h - unfold image patches into columns and fold them back (internal).
 *
 * 2-D: an image [C,H,W] and a KH x KW kernel moved with strides (sh, sw) over
 * the image zero-padded by (ph, pw) give a column matrix
 *   col[(c KH + kh) KW + kw, oh OW + ow] = im[c, oh sh - ph + kh, ow sw - pw + kw]
 * (0 outside the image), [C KH KW, OH OW], so a convolution is one gemm.
 * col2im is the adjoint (transpose) of im2col: it adds every column entry back
 * into the image position it came from (entries in the padding are dropped).
 * 1-D signals [C,L] are the case H = KH = 1, sh = 1, ph = 0.
 *
 * The caller gives OH, OW (normally (H + 2 ph - KH) / sh + 1); any OH, OW >= 1
 * is handled, positions outside the image read as 0. Inner loops copy runs of
 * valid positions (memcpy for stride 1) and fill the padded borders with 0
 * without per-element bounds tests. */
#ifndef DSI_TENSOR_IM2COL_H
#define DSI_TENSOR_IM2COL_H

/* col = im2col(im); col is overwritten */
void dsi_im2col(const float *im, int C, int H, int W, int KH, int KW, int sh, int sw, int ph, int pw, int OH,
                int OW, float *col);
/* im += col2im(col) (accumulates; zero im first for a plain fold) */
void dsi_col2im(const float *col, int C, int H, int W, int KH, int KW, int sh, int sw, int ph, int pw, int OH,
                int OW, float *im);

/* 1-D: x [C,L] -> col [C K, OL] */
void dsi_im2col1d(const float *x, int C, int L, int K, int stride, int pad, int OL, float *col);
/* x += col2im1d(col) */
void dsi_col2im1d(const float *col, int C, int L, int K, int stride, int pad, int OL, float *x);

#endif
