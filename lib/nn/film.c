/* film.c - h * (1 + gamma(c)) + beta(c). */
#include "nn/film.h"
#include "core/error.h"

dsn_status dsi_film_add(dsi_film *f, dsi_params *ps, const char *prefix, int group, int cond, int dim, float gain)
{
    if (!f || !ps || !prefix) return dsi_error(DSN_E_INVALID, "film: NULL argument");
    if (cond < 1 || dim < 1 || !(gain > 0.0f))
        return dsi_error(DSN_E_INVALID, "film %s: condition %d, features %d, gain %g", prefix, cond, dim, (double)gain);
    int sw[2] = {cond, 2 * dim}, sb = 2 * dim;
    f->cond = cond;
    f->dim = dim;
    f->gain = gain;
    f->w = dsi_layer_param(ps, prefix, "w", group, 2, sw);
    f->b = f->w < 0 ? -1 : dsi_layer_param(ps, prefix, "b", group, 1, &sb);
    return f->b < 0 ? DSN_E_INVALID : DSN_OK;
}

void dsi_film_init(const dsi_film *f, dsi_params *ps, dsi_rng *rng)
{
    dsi_params_init_glorot(ps, f->w, f->cond, 2 * f->dim, f->gain, rng);
    dsi_params_init_const(ps, f->b, 0.0f);
}

dsi_var *dsi_film_forward(dsi_tape *t, const dsi_film *f, dsi_params *ps, dsi_var *h, dsi_var *c)
{
    if (!h || !c) return NULL;
    if ((h->nd != 2 && h->nd != 3) || c->nd != 2 || c->shape[0] != h->shape[0] || h->shape[h->nd - 1] != f->dim) {
        char s1[64], s2[64];
        return dsi_tape_fail(t, DSN_E_SHAPE, "film: features %s and condition %s (want [B,(T,)%d] and [B,%d])",
                             dsi_shape_str(h, s1, sizeof s1), dsi_shape_str(c, s2, sizeof s2), f->dim, f->cond);
    }
    const int H = f->dim, sh[3] = {c->shape[0], 1, H};
    dsi_var *gb = dsi_linear(t, c, dsi_params_var(ps, f->w), dsi_params_var(ps, f->b), DSI_ACT_NONE);
    dsi_var *g = dsi_slice(t, gb, 1, 0, H), *b = dsi_slice(t, gb, 1, H, H);
    if (h->nd == 3) {
        g = dsi_reshape(t, g, 3, sh);
        b = dsi_reshape(t, b, 3, sh);
    }
    return dsi_add(t, dsi_mul(t, h, dsi_affine_scalar(t, g, 1.0f, 1.0f)), b);
}
