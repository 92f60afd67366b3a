/* likelihood.h - reconstruction likelihoods as scalar losses (internal).
 *
 * Every loss takes a prediction and a target of the same shape [..., D],
 * an optional row mask (one float per row; [B,T] for padded [B,T,D]
 * sequences) and a reduction (autodiff/reduce.h), and returns a scalar. The
 * target may carry a gradient (it usually does not). Element terms:
 *
 *   bernoulli_nll  l = softplus(x) - y x = max(x,0) - x y + log1p(exp(-|x|)),
 *                  x the logit, y in [0,1]
 *   mse            l = (x - y)^2
 *   gauss_nll      l = 0.5 (log 2pi + s + (y - mu)^2 exp(-s)), s the
 *                  log-variance: learned (logvar var) or fixed (log var)
 *   laplace_nll    l = log 2 + s + |y - mu| exp(-s), s the log-scale:
 *                  learned (logscale var) or fixed (log scale)
 *
 * A learned logvar/logscale has the prediction's shape, or D values (one per
 * feature, shared by all rows), or 1 value. Log-variances are clamped to
 * [-30, 20] and log-scales to [-15, 10] (the same range for b^2), with zero
 * gradient outside, as in latent/gauss.h. |.| has derivative 0 at 0. */
#ifndef DSI_LOSS_LIKELIHOOD_H
#define DSI_LOSS_LIKELIHOOD_H

#include "autodiff/tape.h"
#include "autodiff/reduce.h"

#define DSI_LOGSCALE_MIN (-15.0f)
#define DSI_LOGSCALE_MAX 10.0f

dsi_var *dsi_bernoulli_nll(dsi_tape *t, dsi_var *logits, dsi_var *target, const float *mask, dsi_reduction red);
dsi_var *dsi_mse(dsi_tape *t, dsi_var *pred, dsi_var *target, const float *mask, dsi_reduction red);
/* logvar NULL: fixed variance var (> 0) */
dsi_var *dsi_gauss_nll(dsi_tape *t, dsi_var *mu, dsi_var *target, dsi_var *logvar, float var, const float *mask,
                       dsi_reduction red);
/* logscale NULL: fixed scale b (> 0) */
dsi_var *dsi_laplace_nll(dsi_tape *t, dsi_var *mu, dsi_var *target, dsi_var *logscale, float scale,
                         const float *mask, dsi_reduction red);

/* s = sum_i w_i a_i for n scalars a_i (NULL entries fail like any op);
 * w NULL = all 1. Used to add up composite losses in one node. */
dsi_var *dsi_loss_sum(dsi_tape *t, int n, dsi_var *const *a, const float *w);

#endif
