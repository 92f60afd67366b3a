/* composite.c - sequence KL, informed prior and swap regularisers. */
#include "loss/composite.h"
#include "loss/likelihood.h"

dsi_var *dsi_kl_seq(dsi_tape *t, dsi_gauss_post q, dsi_gauss_post p, const float *mask, dsi_reduction red)
{
    if (!q.mu || !q.lv || !p.mu || !p.lv) return NULL;
    if (q.mu->nd != 3) return dsi_tape_fail(t, DSN_E_SHAPE, "kl_seq: want [B,T,D], got rank %d", q.mu->nd);
    return dsi_kl_gauss(t, q.mu, q.lv, p.mu, p.lv, mask, red, DSI_KL_FIX_NONE);
}

dsi_var *dsi_kl_informed(dsi_tape *t, dsi_gauss_post q, dsi_gauss_post q1, const float *mask, dsi_reduction red)
{
    return dsi_kl_gauss(t, q.mu, q.lv, q1.mu, q1.lv, mask, red, DSI_KL_FIX_P);
}

dsi_var *dsi_kl_swap(dsi_tape *t, dsi_gauss_post q_swapped, dsi_gauss_post q_ref, const int *partner,
                     const float *mask, dsi_reduction red, dsi_kl_fixed fixed)
{
    return dsi_kl_gauss_idx(t, q_swapped.mu, q_swapped.lv, q_ref.mu, q_ref.lv, partner, mask, red, fixed);
}

dsi_var *dsi_swap_regulariser(dsi_tape *t, dsi_gauss_post v, dsi_gauss_post z, dsi_gauss_post v_g,
                              dsi_gauss_post z_g, dsi_gauss_post v_l, dsi_gauss_post z_l, const int *partner,
                              const float *mask, dsi_reduction red, dsi_kl_fixed fixed)
{
    if (!z.mu) return NULL;
    if (!partner) return dsi_tape_fail(t, DSN_E_INVALID, "swap regulariser: no partner index");
    if (z.mu->nd != 3) return dsi_tape_fail(t, DSN_E_SHAPE, "swap regulariser: z must be [B,T,D]");
    int B = z.mu->shape[0], T = z.mu->shape[1];
    for (int b = 0; b < B; b++)
        if (partner[b] < 0 || partner[b] >= B)
            return dsi_tape_fail(t, DSN_E_INVALID, "swap regulariser: partner %d of %d out of [0,%d)", partner[b], b, B);
    float *mask_l = NULL;
    if (mask) {
        mask_l = dsi_tape_scratch(t, sizeof(float) * ((size_t)B * T + 1));
        if (!mask_l) return NULL;
        dsi_mask_permute(mask, B, T, partner, mask_l);
    }
    dsi_var *terms[4] = {
        dsi_kl_swap(t, v_g, v, partner, NULL, red, fixed),
        dsi_kl_swap(t, z_g, z, NULL, mask, red, fixed),
        dsi_kl_swap(t, v_l, v, NULL, NULL, red, fixed),
        dsi_kl_swap(t, z_l, z, partner, mask_l, red, fixed),
    };
    return dsi_loss_sum(t, 4, terms, NULL);
}
