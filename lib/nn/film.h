/* film.h - feature-wise linear modulation (FiLM, Perez et al. 2018) (internal).
 *
 * A conditioning vector c [B, dc] scales and shifts features h [B, H] or
 * [B, T, H] (every frame of item b by c[b]):
 *   [gamma; beta] = c W + b,  W [dc, 2H] ("<prefix>.w"), b [2H] ("<prefix>.b")
 *   y = h * (1 + gamma) + beta
 * Init: Glorot with the given gain, zero bias; a small gain (0.1) starts the
 * layer close to the identity. */
#ifndef DSI_NN_FILM_H
#define DSI_NN_FILM_H

#include "nn/init.h"

typedef struct dsi_film {
    int w, b;      /* parameter indices */
    int cond, dim; /* dc, H */
    float gain;
} dsi_film;

dsn_status dsi_film_add(dsi_film *f, dsi_params *ps, const char *prefix, int group, int cond, int dim, float gain);
void dsi_film_init(const dsi_film *f, dsi_params *ps, dsi_rng *rng);
/* h [B, H] or [B, T, H], c [B, cond] -> the shape of h */
dsi_var *dsi_film_forward(dsi_tape *t, const dsi_film *f, dsi_params *ps, dsi_var *h, dsi_var *c);

#endif
