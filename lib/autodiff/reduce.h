/* reduce.h - how a loss turns per-element terms into one scalar (internal).
 *
 * Every loss and KL op of lib/loss and lib/latent computes per-element terms
 * l[r,d] over an input seen as rows x D (D = the last dimension, rows = the
 * product of the others; a sequence [B,T,D] has B*T rows). An optional row
 * mask m[r] (caller memory, `rows` floats, normally 0/1; NULL = all 1; for
 * [B,T,D] it is the [B,T] frame mask) weights whole rows. Then
 *
 *   DSI_RED_SUM        L = sum_r m_r sum_d l[r,d]
 *   DSI_RED_MEAN       L = sum_r m_r sum_d l[r,d] / (D * sum_r m_r)
 *                      (the mean over every unmasked element: TS-DSAE's
 *                       "average every term over its dimensions and frames")
 *   DSI_RED_MEAN_ROWS  L = sum_r m_r sum_d l[r,d] / sum_r m_r
 *                      (sum over the last dimension, mean over unmasked rows:
 *                       ML-VAE's "sum over dims, average over groups" when the
 *                       rows are the groups)
 *
 * Other divisors (ML-VAE divides a sum over observations by the number of
 * groups) are a SUM followed by a constant scale. When every row is masked
 * out (sum_r m_r == 0) the MEAN forms give L = 0 and zero gradients: finite,
 * never 0/0. The mask must stay valid until the backward pass. */
#ifndef DSI_AUTODIFF_REDUCE_H
#define DSI_AUTODIFF_REDUCE_H

#include "autodiff/tape.h"

#include <stddef.h>

typedef enum dsi_reduction {
    DSI_RED_SUM = 0,
    DSI_RED_MEAN = 1,
    DSI_RED_MEAN_ROWS = 2
} dsi_reduction;

/* The factor f with L = f * sum_r m_r sum_d l[r,d]. Fails the tape (and
 * returns -1) on an unknown reduction or a negative/non-finite mask sum. */
int dsi_reduce_factor(dsi_tape *t, dsi_reduction red, const float *mask, size_t rows, int cols,
                      double *f, const char *what);

/* A scalar (nd 0) output for a loss with the given value; needs_grad from
 * the inputs. A non-finite value (NaN/Inf input, or overflow) fails the tape
 * with DSN_E_NUMERIC and returns NULL, so a loss never hands on a NaN. */
dsi_var *dsi_loss_scalar(dsi_tape *t, int nin, dsi_var *const *in, double value, const char *what);

/* Copy partner rows of a [B,T] mask: out[b,t] = mask[partner[b],t]. For the
 * swap regulariser whose decoded sequence has the partner's length. */
void dsi_mask_permute(const float *mask, int B, int T, const int *partner, float *out);

#endif
