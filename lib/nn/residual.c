/* residual.c - x + conv_b(ReLU(conv_a(ReLU(x)))). */
#include "nn/residual.h"
#include "core/error.h"

#include <stdio.h>

dsn_status dsi_resblock_add(dsi_resblock *r, dsi_params *ps, const char *prefix, int group, int dims, int ch, int res_ch,
                            int kernel)
{
    if (!r || !prefix) return dsi_error(DSN_E_INVALID, "residual block: NULL argument");
    if (kernel < 1 || kernel % 2 == 0)
        return dsi_error(DSN_E_INVALID, "residual block %s: kernel %d must be odd", prefix, kernel);
    char name[DSI_PARAM_NAME];
    snprintf(name, sizeof name, "%s.a", prefix);
    dsn_status st = dsi_conv_add(&r->a, ps, name, group,
                                 (dsi_conv_spec){.dims = dims, .in = ch, .out = res_ch, .kernel = kernel, .pad = kernel / 2});
    snprintf(name, sizeof name, "%s.b", prefix);
    if (st == DSN_OK)
        st = dsi_conv_add(&r->b, ps, name, group, (dsi_conv_spec){.dims = dims, .in = res_ch, .out = ch, .kernel = 1});
    return st;
}

void dsi_resblock_init(const dsi_resblock *r, dsi_params *ps, dsi_rng *rng)
{
    dsi_conv_init(&r->a, ps, rng);
    dsi_conv_init(&r->b, ps, rng);
}

dsi_var *dsi_resblock_forward(dsi_tape *t, const dsi_resblock *r, dsi_params *ps, dsi_var *x)
{
    dsi_var *h = dsi_relu(t, dsi_conv_forward(t, &r->a, ps, dsi_relu(t, x)));
    return dsi_add(t, x, dsi_conv_forward(t, &r->b, ps, h));
}
