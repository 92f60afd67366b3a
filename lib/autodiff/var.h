/* var.h - a float32 tensor with an optional gradient (internal).
 *
 * Values are contiguous and row-major. A var whose g is NULL needs no
 * gradient: ops skip work for it, and frozen parameters are vars whose g has
 * been set to NULL. */
#ifndef DSI_AUTODIFF_VAR_H
#define DSI_AUTODIFF_VAR_H

#include <stddef.h>
#include <string.h>

#define DSI_MAXDIM 4

typedef struct dsi_var {
    float *x;                 /* values, n floats */
    float *g;                 /* gradient of the loss w.r.t. x, or NULL */
    int nd;                   /* number of dimensions, 0..DSI_MAXDIM (0 = scalar) */
    int shape[DSI_MAXDIM];
    size_t n;                 /* product of shape */
} dsi_var;

static inline size_t dsi_shape_count(int nd, const int *shape)
{
    size_t n = 1;
    for (int i = 0; i < nd; i++) n *= (size_t)shape[i];
    return n;
}

/* A var over caller memory (no arena, no node): x values, g gradient or NULL. */
static inline dsi_var dsi_var_view(float *x, float *g, int nd, const int *shape)
{
    dsi_var v;
    memset(&v, 0, sizeof v);
    v.x = x;
    v.g = g;
    v.nd = nd;
    for (int i = 0; i < nd; i++) v.shape[i] = shape[i];
    v.n = dsi_shape_count(nd, shape);
    return v;
}

/* rows = product of all but the last dimension, cols = last dimension */
static inline int dsi_var_cols(const dsi_var *v) { return v->nd ? v->shape[v->nd - 1] : 1; }
static inline int dsi_var_rows(const dsi_var *v) { return (int)(v->n / (size_t)(dsi_var_cols(v) ? dsi_var_cols(v) : 1)); }

#endif
