/* heads.h - output layers that give the parameters of a distribution (internal).
 *
 * Gaussian head: one linear layer giving both mean and log-variance,
 * y = x W + b with W [in, 2D] (columns 0..D-1 the mean, D..2D-1 the
 * log-variance), so one gemm serves both; the log-variance is clamped by the
 * rule of autodiff/logvar.h. Parameters "<prefix>.w", "<prefix>.b". Init:
 * Glorot (gain 1), zero mean bias, log-variance bias lv_bias.
 *
 * Bernoulli head: one linear layer giving D logits, W [in, D], b [D]
 * ("<prefix>.w", "<prefix>.b"); the loss takes the logits
 * (dsi_bernoulli_nll), a decoder the probabilities sigmoid(logits). Init:
 * Glorot (gain 1), zero bias. */
#ifndef DSI_NN_HEADS_H
#define DSI_NN_HEADS_H

#include "nn/linear.h"

typedef struct dsi_gauss_head {
    dsi_linear_layer lin; /* in -> 2 dim */
    int in, dim;
} dsi_gauss_head;

dsn_status dsi_gauss_head_add(dsi_gauss_head *h, dsi_params *ps, const char *prefix, int group, int in, int dim);
void dsi_gauss_head_init(const dsi_gauss_head *h, dsi_params *ps, dsi_rng *rng, float lv_bias);
/* x [.., in] -> mu, logvar [.., dim] (logvar clamped). Returns the tape status. */
dsn_status dsi_gauss_head_forward(dsi_tape *t, const dsi_gauss_head *h, dsi_params *ps, dsi_var *x,
                                  dsi_var **mu, dsi_var **logvar);
/* The unsplit output [.., 2 dim] (mean, then raw log-variance), for a model
 * that joins it with other rows before dsi_split_mean_logvar. */
dsi_var *dsi_gauss_head_raw(dsi_tape *t, const dsi_gauss_head *h, dsi_params *ps, dsi_var *x);

typedef struct dsi_bern_head {
    dsi_linear_layer lin; /* in -> dim */
} dsi_bern_head;

dsn_status dsi_bern_head_add(dsi_bern_head *h, dsi_params *ps, const char *prefix, int group, int in, int dim);
void dsi_bern_head_init(const dsi_bern_head *h, dsi_params *ps, dsi_rng *rng);
/* x [.., in] -> logits [.., dim], or with probs != 0 sigmoid(logits). */
dsi_var *dsi_bern_head_forward(dsi_tape *t, const dsi_bern_head *h, dsi_params *ps, dsi_var *x, int probs);

#endif
