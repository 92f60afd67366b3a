/* simd_adam.c - the Adam/AdamW update of a flat parameter buffer (see simd.h). */
#include "tensor/simd.h"
#include "tensor/simd_x86.h"

#include <math.h>

/* not inlined: compiled for the baseline ISA (no FMA contraction) wherever it is called from */
__attribute__((noinline)) static float adam_one(float *w, const float *grad, float *m, float *v, size_t i, float s, float b1, float c1,
                             float b2, float c2, float l2, float decay, float ss, float ib, float eps)
{
    float wi = w[i];
    float g = grad[i] * s + l2 * wi;
    float mi = b1 * m[i] + c1 * g;
    float vi = b2 * v[i] + c2 * (g * g);
    m[i] = mi;
    v[i] = vi;
    return wi * decay - ss * mi / (sqrtf(vi) * ib + eps);
}

#ifdef DSI_X86_SIMD
#define DSI_SIMD_TEMPLATE "tensor/simd_adam_w.h"
#include "tensor/simd_widths.h"
#endif /* DSI_X86_SIMD */

void dsi_simd_adam(float *w, const float *grad, float *m, float *v, size_t n, float s, float b1, float c1, float b2,
                   float c2, float l2, float decay, float ss, float ib, float eps)
{
    DISPATCH(adam_512, adam_256, w, grad, m, v, n, s, b1, c1, b2, c2, l2, decay, ss, ib, eps);
    for (size_t k = 0; k < n; k++) w[k] = adam_one(w, grad, m, v, k, s, b1, c1, b2, c2, l2, decay, ss, ib, eps);
}
