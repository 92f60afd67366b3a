/* linear.c - the fully connected layer over the fused dsi_linear op. */
#include "nn/linear.h"
#include "core/error.h"

dsn_status dsi_linear_layer_add(dsi_linear_layer *l, dsi_params *ps, const char *prefix, int group, int in, int out,
                                dsi_act act, dsi_init init)
{
    if (!l || !ps || !prefix) return dsi_error(DSN_E_INVALID, "linear layer: NULL argument");
    if (in < 1 || out < 1) return dsi_error(DSN_E_INVALID, "linear layer %s: sizes %d -> %d", prefix, in, out);
    if (init < DSI_INIT_DEFAULT || init > DSI_INIT_FANIN || act < 0 || act >= DSI_ACT_COUNT_)
        return dsi_error(DSN_E_INVALID, "linear layer %s: unknown init %d or activation %d", prefix, (int)init, (int)act);
    int sw[2] = {in, out};
    l->in = in;
    l->out = out;
    l->act = act;
    l->init = init == DSI_INIT_DEFAULT ? DSI_INIT_GLOROT : init;
    l->w = dsi_layer_param(ps, prefix, "w", group, 2, sw);
    l->b = l->w < 0 ? -1 : dsi_layer_param(ps, prefix, "b", group, 1, &out);
    return l->w < 0 || l->b < 0 ? DSN_E_INVALID : DSN_OK;
}

void dsi_linear_layer_init(const dsi_linear_layer *l, dsi_params *ps, dsi_rng *rng)
{
    if (l->init == DSI_INIT_FANIN) {
        dsi_params_init_fanin(ps, l->w, l->in, rng);
        dsi_params_init_fanin(ps, l->b, l->in, rng);
    } else {
        dsi_params_init_glorot(ps, l->w, l->in, l->out, dsi_act_gain(l->act), rng);
        dsi_params_init_const(ps, l->b, 0.0f);
    }
}

dsi_var *dsi_linear_layer_forward(dsi_tape *t, const dsi_linear_layer *l, dsi_params *ps, dsi_var *x)
{
    return dsi_linear(t, x, dsi_params_var(ps, l->w), dsi_params_var(ps, l->b), l->act);
}
