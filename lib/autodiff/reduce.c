/* reduce.c - loss reductions shared by lib/loss and lib/latent (see reduce.h). */
#include "autodiff/reduce.h"

#include <math.h>
#include <string.h>

int dsi_reduce_factor(dsi_tape *t, dsi_reduction red, const float *mask, size_t rows, int cols,
                      double *f, const char *what)
{
    double m = (double)rows;
    if (mask) {
        m = 0.0;
        for (size_t r = 0; r < rows; r++) m += mask[r];
        if (!(m >= 0.0) || !isfinite(m)) {
            dsi_tape_fail(t, DSN_E_INVALID, "%s: mask sums to %g (want finite, >= 0)", what, m);
            return -1;
        }
    }
    switch (red) {
    case DSI_RED_SUM: *f = 1.0; return 0;
    case DSI_RED_MEAN: *f = m > 0.0 && cols > 0 ? 1.0 / (m * cols) : 0.0; return 0;
    case DSI_RED_MEAN_ROWS: *f = m > 0.0 ? 1.0 / m : 0.0; return 0;
    }
    dsi_tape_fail(t, DSN_E_INVALID, "%s: unknown reduction %d", what, (int)red);
    return -1;
}

dsi_var *dsi_loss_scalar(dsi_tape *t, int nin, dsi_var *const *in, double value, const char *what)
{
    float v = (float)value;
    if (!isfinite(v))
        return dsi_tape_fail(t, DSN_E_NUMERIC, "%s: non-finite value %g (NaN/Inf input or overflow)", what,
                             value);
    dsi_var *out = dsi_tape_new(t, 0, NULL, dsi_tape_needs_grad(t, nin, in));
    if (out) out->x[0] = v;
    return out;
}

void dsi_mask_permute(const float *mask, int B, int T, const int *partner, float *out)
{
    for (int b = 0; b < B; b++) memcpy(out + (size_t)b * T, mask + (size_t)partner[b] * T, sizeof(float) * (size_t)T);
}
