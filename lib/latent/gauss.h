/* gauss.h - diagonal Gaussian latents (internal).
 *
 * A Gaussian latent is a pair (mu, logvar) of equal shape [..., D]. Every op
 * here clamps log-variances by the rule of autodiff/logvar.h ([-30, 20], the
 * gradient passing only inside), the same rule in every op; the heads that
 * produce (mu, logvar) from features are layers (nn/heads.h). NaN inputs are
 * not hidden: they give a DSN_E_NUMERIC failure from the losses.
 *
 * KL and density terms are computed per element in double with expm1 forms
 * (KL(q||p) = 0.5 (expm1(d) - d + (mq-mp)^2 e^-lp), d = lq - lp), so equal
 * Gaussians give exactly 0 and tiny differences keep their precision.
 * Reductions and masks: autodiff/reduce.h. */
#ifndef DSI_LATENT_GAUSS_H
#define DSI_LATENT_GAUSS_H

#include "autodiff/logvar.h"
#include "autodiff/ops.h"
#include "autodiff/params.h"
#include "autodiff/reduce.h"
#include "core/rng.h"

/* ---- sampling ---- */
/* z = mu + exp(lv / 2) * eps, eps ~ N(0, I) drawn from rng (the owning
 * object's generator); use_mean: z = mu (no draw, no logvar gradient). */
dsi_var *dsi_gauss_sample(dsi_tape *t, dsi_var *mu, dsi_var *logvar, dsi_rng *rng, int use_mean);

/* ---- KL terms (scalars) ---- */
/* KL(N(mu, e^lv) || N(0, I)): l = 0.5 (mu^2 + expm1(lv) - lv), reduced. */
dsi_var *dsi_kl_std_normal(dsi_tape *t, dsi_var *mu, dsi_var *logvar, const float *mask, dsi_reduction red);

/* Which side of KL(q || p) is held fixed (gets no gradient even if it has one). */
typedef enum dsi_kl_fixed {
    DSI_KL_FIX_NONE = 0,
    DSI_KL_FIX_P = 1,  /* p is a target: informed prior, swap regulariser reference */
    DSI_KL_FIX_Q = 2
} dsi_kl_fixed;

/* KL(q || p) between diagonal Gaussians of the same shape:
 * l = 0.5 (expm1(lq - lp) - (lq - lp) + (mq - mp)^2 exp(-lp)), reduced. */
dsi_var *dsi_kl_gauss(dsi_tape *t, dsi_var *mu_q, dsi_var *lv_q, dsi_var *mu_p, dsi_var *lv_p,
                      const float *mask, dsi_reduction red, dsi_kl_fixed fixed);
/* Same, but q's batch b (first dimension) is compared with p's batch
 * p_batch[b] (NULL = b): KL(q[b] || p[p_batch[b]]). p has q's shape. */
dsi_var *dsi_kl_gauss_idx(dsi_tape *t, dsi_var *mu_q, dsi_var *lv_q, dsi_var *mu_p, dsi_var *lv_p,
                          const int *p_batch, const float *mask, dsi_reduction red, dsi_kl_fixed fixed);

/* ---- density ---- */
/* Per-row log-density: out[r] = sum_d -0.5 (log 2pi + lv + (x - mu)^2 e^-lv);
 * x, mu, logvar [.., D] -> out [rows] (shape of x without the last dim). */
dsi_var *dsi_gauss_log_density(dsi_tape *t, dsi_var *x, dsi_var *mu, dsi_var *logvar);

/* ---- product of Gaussians (ML-VAE evidence accumulation, pog.c) ---- */
typedef enum dsi_pog_mode {
    DSI_POG_PRODUCT = 0, /* precision-weighted: 1/s_G^2 = sum 1/s_i^2, mu_G = s_G^2 sum mu_i/s_i^2 */
    DSI_POG_MEAN = 1     /* unweighted: mu_G = mean mu_i, lv_G = mean lv_i */
} dsi_pog_mode;

/* mu, logvar [N, D] (rows N); group_idx[i] in [0, n_groups) gives each row's
 * group (any sizes, any order). Out: mu_out, lv_out [n_groups, D]. An empty
 * group gives N(0, 1) (mu 0, logvar 0). Gradients reach every member's mu and
 * logvar (one node for both outputs). group_idx must stay valid until the
 * backward pass. Returns the tape status. */
dsn_status dsi_pog(dsi_tape *t, dsi_var *mu, dsi_var *logvar, const int *group_idx, int n_groups,
                   dsi_pog_mode mode, dsi_var **mu_out, dsi_var **lv_out);

#endif
