/* composite.h - the KL terms the sequence models need (internal).
 * All are dsi_kl_gauss_idx (latent/gauss.h) with the right shapes, masks and
 * fixed side; reductions as in autodiff/reduce.h. */
#ifndef DSI_LOSS_COMPOSITE_H
#define DSI_LOSS_COMPOSITE_H

#include "latent/gauss.h"

typedef struct dsi_gauss_post {
    dsi_var *mu, *lv;
} dsi_gauss_post;

/* DSAE dynamic term: sum_t m[b,t] KL(q(z_t) || p(z_t | z_<t)); q and p
 * [B,T,D], mask [B,T] (NULL = all frames). Both sides get gradients (the
 * prior LSTM learns through it). */
dsi_var *dsi_kl_seq(dsi_tape *t, dsi_gauss_post q, dsi_gauss_post p, const float *mask, dsi_reduction red);

/* TS-DSAE informed prior: KL(q(v|x) || q_1(v|x)) with q_1 (the frozen
 * stage-1 encoder's output) held fixed. [B,D] or [B,T,D] with mask. */
dsi_var *dsi_kl_informed(dsi_tape *t, dsi_gauss_post q, dsi_gauss_post q1, const float *mask, dsi_reduction red);

/* One swap term: KL(q_swapped[b] || q_ref[partner[b]]) (partner NULL = b).
 * mask (in q_swapped's rows) is the mask of the decoded sequence. */
dsi_var *dsi_kl_swap(dsi_tape *t, dsi_gauss_post q_swapped, dsi_gauss_post q_ref, const int *partner,
                     const float *mask, dsi_reduction red, dsi_kl_fixed fixed);

/* The four TS-DSAE swap regularisers, weight 1 each, for partners
 * j = partner[i], x_g[i] = dec(z_i, v_j) and x_l[i] = dec(z_j, v_i):
 *   KL(q(v|x_g) || q(v|x_j)) + KL(q(z|x_g) || q(z|x_i))
 * + KL(q(v|x_l) || q(v|x_i)) + KL(q(z|x_l) || q(z|x_j)).
 * v posteriors [B,Dv], z posteriors [B,T,Dz]. mask [B,T] is the frame mask
 * of x (x_g has x_i's frames; x_l has x_j's, so its mask is mask[partner[i]],
 * formed here in the tape arena). `fixed` = DSI_KL_FIX_P stops gradients into
 * the reference posteriors of x; DSI_KL_FIX_NONE lets both sides learn. */
dsi_var *dsi_swap_regulariser(dsi_tape *t, dsi_gauss_post v, dsi_gauss_post z, dsi_gauss_post v_g,
                              dsi_gauss_post z_g, dsi_gauss_post v_l, dsi_gauss_post z_l, const int *partner,
                              const float *mask, dsi_reduction red, dsi_kl_fixed fixed);

#endif
