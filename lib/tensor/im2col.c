/* im2col.c - patch unfolding for convolutions (see im2col.h). */
#include "tensor/im2col.h"

#include <string.h>

/* Output positions o in [lo, hi) whose input index o s - p + k lies in [0, n). */
static inline void valid_range(int n, int k, int s, int p, int out, int *lo, int *hi)
{
    int a = p - k;                         /* o s >= a */
    int l = a <= 0 ? 0 : (a + s - 1) / s;
    int b = n + p - k;                     /* o s < b */
    int h = b <= 0 ? 0 : (b + s - 1) / s;
    if (l > out) l = out;
    if (h > out) h = out;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

void dsi_im2col(const float *im, int C, int H, int W, int KH, int KW, int sh, int sw, int ph, int pw, int OH,
                int OW, float *col)
{
    const size_t P = (size_t)OH * OW;
    for (int c = 0; c < C; c++) {
        const float *imc = im + (size_t)c * H * W;
        for (int kh = 0; kh < KH; kh++) {
            int oh0, oh1;
            valid_range(H, kh, sh, ph, OH, &oh0, &oh1);
            for (int kw = 0; kw < KW; kw++) {
                float *row = col + ((size_t)(c * KH + kh) * KW + kw) * P;
                int ow0, ow1;
                valid_range(W, kw, sw, pw, OW, &ow0, &ow1);
                if (oh0 > 0) memset(row, 0, sizeof(float) * (size_t)oh0 * OW);
                for (int oh = oh0; oh < oh1; oh++) {
                    float *dst = row + (size_t)oh * OW;
                    const int nv = ow1 - ow0;
                    for (int ow = 0; ow < ow0; ow++) dst[ow] = 0.0f;
                    /* first valid input of this output row (in the image by construction) */
                    const float *src = nv > 0 ? imc + (size_t)(oh * sh - ph + kh) * W + (ow0 * sw + kw - pw) : imc;
                    if (sw == 1) {
                        memcpy(dst + ow0, src, sizeof(float) * (size_t)nv);
                    } else {
                        float *d = dst + ow0;
                        for (int j = 0; j < nv; j++) d[j] = src[(size_t)j * sw];
                    }
                    for (int ow = ow1; ow < OW; ow++) dst[ow] = 0.0f;
                }
                if (oh1 < OH) memset(row + (size_t)oh1 * OW, 0, sizeof(float) * (size_t)(OH - oh1) * OW);
            }
        }
    }
}

void dsi_col2im(const float *col, int C, int H, int W, int KH, int KW, int sh, int sw, int ph, int pw, int OH,
                int OW, float *im)
{
    const size_t P = (size_t)OH * OW;
    for (int c = 0; c < C; c++) {
        float *imc = im + (size_t)c * H * W;
        for (int kh = 0; kh < KH; kh++) {
            int oh0, oh1;
            valid_range(H, kh, sh, ph, OH, &oh0, &oh1);
            for (int kw = 0; kw < KW; kw++) {
                const float *row = col + ((size_t)(c * KH + kh) * KW + kw) * P;
                int ow0, ow1;
                valid_range(W, kw, sw, pw, OW, &ow0, &ow1);
                for (int oh = oh0; oh < oh1; oh++) {
                    const int nv = ow1 - ow0;
                    if (nv <= 0) continue;
                    const float *s = row + (size_t)oh * OW + ow0;
                    float *dst = imc + (size_t)(oh * sh - ph + kh) * W + (ow0 * sw + kw - pw);
                    if (sw == 1) {
                        for (int j = 0; j < nv; j++) dst[j] += s[j];
                    } else {
                        for (int j = 0; j < nv; j++) dst[(size_t)j * sw] += s[j];
                    }
                }
            }
        }
    }
}

void dsi_im2col1d(const float *x, int C, int L, int K, int stride, int pad, int OL, float *col)
{
    dsi_im2col(x, C, 1, L, 1, K, 1, stride, 0, pad, 1, OL, col);
}

void dsi_col2im1d(const float *col, int C, int L, int K, int stride, int pad, int OL, float *x)
{
    dsi_col2im(col, C, 1, L, 1, K, 1, stride, 0, pad, 1, OL, x);
}
