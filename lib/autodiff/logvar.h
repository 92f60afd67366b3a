/* logvar.h - the log-variance clamp rule and the ops that apply it (internal).
 *
 * Log-variances are clamped to [DSI_LOGVAR_MIN, DSI_LOGVAR_MAX] = [-30, 20]
 * before use (exp(20) = 4.9e8, exp(-30) = 9.4e-14: wide enough for any real
 * posterior, narrow enough that exp() and 1/exp() stay finite in float), and
 * a log-variance gradient passes only where MIN <= logvar <= MAX (zero
 * outside). Every op of the library that reads a log-variance (the Gaussian
 * heads of lib/nn, the latents of lib/latent, the likelihoods of lib/loss)
 * uses these helpers, so the rule is the same everywhere. NaN stays NaN. */
#ifndef DSI_AUTODIFF_LOGVAR_H
#define DSI_AUTODIFF_LOGVAR_H

#include "autodiff/tape.h"

#define DSI_LOGVAR_MIN (-30.0f)
#define DSI_LOGVAR_MAX 20.0f

/* clamp keeping NaN as NaN (two independent selects, so loops over it vectorise) */
static inline float dsi_lv_clamp(float v)
{
    v = v < DSI_LOGVAR_MIN ? DSI_LOGVAR_MIN : v;
    return v > DSI_LOGVAR_MAX ? DSI_LOGVAR_MAX : v;
}
/* 1 where the log-variance gradient passes, else 0 */
static inline float dsi_lv_pass(float v) { return v >= DSI_LOGVAR_MIN && v <= DSI_LOGVAR_MAX ? 1.0f : 0.0f; }

/* Split y [.., 2D] into mu = y[.., :D] and logvar = clamp(y[.., D:]); one
 * node for both outputs. Returns the tape status; *mu and *logvar are NULL on
 * failure (DSN_E_SHAPE when the last dimension is odd). */
dsn_status dsi_split_mean_logvar(dsi_tape *t, dsi_var *y, dsi_var **mu, dsi_var **logvar);

/* y = clamp(x, -30, 20); gradient passes where -30 <= x <= 20 */
dsi_var *dsi_logvar_clamp(dsi_tape *t, dsi_var *lv);

#endif
