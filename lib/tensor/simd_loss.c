/* simd_loss.c - loss kernels: the Bernoulli NLL with logits and its
 * gradient, the KL between diagonal Gaussians (see simd.h). */
#include "tensor/simd.h"
#include "tensor/simd_x86.h"

#include <math.h>

#ifdef DSI_X86_SIMD
#define KL_LVMIN (-30.0f) /* the log-variances' clamp of the KL (dsi_lv_clamp) */
#define KL_LVMAX 20.0f
#define DSI_SIMD_TEMPLATE "tensor/simd_loss_w.h"
#include "tensor/simd_widths.h"
#endif /* DSI_X86_SIMD */

int dsi_simd_bern_nll(const float *x, const float *y, size_t n, double *sum)
{
#ifdef DSI_X86_SIMD
    int l = dsi_simd_level();
    if (l == 2) { *sum = bern_nll_512(x, y, n); return 1; }
    if (l == 1) { *sum = bern_nll_256(x, y, n); return 1; }
#endif
    (void)x; (void)y; (void)n; (void)sum;
    return 0;
}

int dsi_simd_bern_grad(const float *x, const float *y, float g, float *gx, size_t n)
{
#ifdef DSI_X86_SIMD
    int l = dsi_simd_level();
    if (l == 2) { bern_grad_512(x, y, g, gx, n); return 1; }
    if (l == 1) { bern_grad_256(x, y, g, gx, n); return 1; }
#endif
    (void)x; (void)y; (void)g; (void)gx; (void)n;
    return 0;
}

int dsi_simd_klg_row(const float *mq, const float *lq, const float *mp, const float *lp, int D, double *sum)
{
#ifdef DSI_X86_SIMD
    const int l = dsi_simd_level();
    if (l == 2) {
        *sum = klg_row_512(mq, lq, mp, lp, D);
        return 1;
    }
    if (l == 1) {
        *sum = klg_row_256(mq, lq, mp, lp, D);
        return 1;
    }
#endif
    (void)mq; (void)lq; (void)mp; (void)lp; (void)D; (void)sum;
    return 0;
}

int dsi_simd_klg_row_grad(const float *mq, const float *lq, const float *mp, const float *lp, int D, float g,
                          float *gmq, float *glq, float *gmp, float *glp)
{
#ifdef DSI_X86_SIMD
    const int l = dsi_simd_level();
    if (l == 2) {
        klg_row_grad_512(mq, lq, mp, lp, D, g, gmq, glq, gmp, glp);
        return 1;
    }
    if (l == 1) {
        klg_row_grad_256(mq, lq, mp, lp, D, g, gmq, glq, gmp, glp);
        return 1;
    }
#endif
    (void)mq; (void)lq; (void)mp; (void)lp; (void)D; (void)g; (void)gmq; (void)glq; (void)gmp; (void)glp;
    return 0;
}
