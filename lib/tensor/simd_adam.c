/* simd_adam.c - the Adam/AdamW update of a flat parameter buffer (see simd.h). */
#include "tensor/simd.h"
#include "tensor/simd_x86.h"
#include "core/pool.h"

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

static void adam_c(float *w, const float *grad, float *m, float *v, size_t n, float s, float b1, float c1, float b2,
                   float c2, float l2, float decay, float ss, float ib, float eps)
{
    for (size_t k = 0; k < n; k++) w[k] = adam_one(w, grad, m, v, k, s, b1, c1, b2, c2, l2, decay, ss, ib, eps);
}

/* the pool: every weight's update is independent of the others, so the split
 * ([0, n) in parts of multiples of 16) changes nothing */
typedef void (*adam_fn)(float *, const float *, float *, float *, size_t, float, float, float, float, float, float,
                        float, float, float, float);
typedef struct adam_job {
    adam_fn f;
    float *w, *m, *v;
    const float *grad;
    size_t n;
    float s, b1, c1, b2, c2, l2, decay, ss, ib, eps;
} adam_job;

static void adam_task(void *ctx, int t, int nt)
{
    const adam_job *j = ctx;
    size_t lo, hi;
    dsi_pool_split(j->n, t, nt, 16, &lo, &hi);
    if (hi > lo)
        j->f(j->w + lo, j->grad + lo, j->m + lo, j->v + lo, hi - lo, j->s, j->b1, j->c1, j->b2, j->c2, j->l2, j->decay,
             j->ss, j->ib, j->eps);
}

void dsi_simd_adam(float *w, const float *grad, float *m, float *v, size_t n, float s, float b1, float c1, float b2,
                   float c2, float l2, float decay, float ss, float ib, float eps)
{
#ifdef DSI_X86_SIMD
    const int l = dsi_simd_level();
    const adam_fn f = l == 2 ? adam_512 : l == 1 ? adam_256 : adam_c;
#else
    const adam_fn f = adam_c;
#endif
    const int nt = dsi_pool_tasks((double)n, 16384.0);
    if (nt <= 1) {
        f(w, grad, m, v, n, s, b1, c1, b2, c2, l2, decay, ss, ib, eps);
        return;
    }
    adam_job j = {f, w, m, v, grad, n, s, b1, c1, b2, c2, l2, decay, ss, ib, eps};
    dsi_pool_run(nt, adam_task, &j);
}
