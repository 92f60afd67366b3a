/* conv.c - convolution layers over the im2col + gemm ops. */
#include "nn/conv.h"
#include "core/error.h"

dsn_status dsi_conv_add(dsi_conv *c, dsi_params *ps, const char *prefix, int group, dsi_conv_spec s)
{
    if (!c || !ps || !prefix) return dsi_error(DSN_E_INVALID, "conv layer: NULL argument");
    if (s.stride == 0) s.stride = 1;
    if ((s.dims != 1 && s.dims != 2) || s.in < 1 || s.out < 1 || s.kernel < 1 || s.stride < 1 || s.pad < 0 ||
        (s.transposed != 0 && s.transposed != 1) || s.fan_in < 0 || s.init < DSI_INIT_DEFAULT || s.init > DSI_INIT_FANIN)
        return dsi_error(DSN_E_INVALID, "conv layer %s: dims %d, channels %d -> %d, kernel %d, stride %d, pad %d, "
                         "transposed %d, fan_in %d, init %d",
                         prefix, s.dims, s.in, s.out, s.kernel, s.stride, s.pad, s.transposed, s.fan_in, (int)s.init);
    int k = s.kernel, area = s.dims == 2 ? k * k : k;
    if (!s.fan_in) s.fan_in = (s.transposed ? s.out : s.in) * area;
    if (s.init == DSI_INIT_DEFAULT) s.init = DSI_INIT_FANIN;
    int sh[4] = {s.transposed ? s.in : s.out, s.transposed ? s.out : s.in, k, k};
    c->s = s;
    c->w = dsi_layer_param(ps, prefix, "w", group, 2 + s.dims, sh);
    c->b = c->w < 0 ? -1 : dsi_layer_param(ps, prefix, "b", group, 1, &s.out);
    return c->b < 0 ? DSN_E_INVALID : DSN_OK;
}

void dsi_conv_init(const dsi_conv *c, dsi_params *ps, dsi_rng *rng)
{
    if (c->s.init == DSI_INIT_GLOROT) {
        int area = c->s.dims == 2 ? c->s.kernel * c->s.kernel : c->s.kernel;
        dsi_params_init_glorot(ps, c->w, c->s.in * area, c->s.out * area, 1.0f, rng);
        dsi_params_init_const(ps, c->b, 0.0f);
    } else {
        dsi_params_init_fanin(ps, c->w, c->s.fan_in, rng);
        dsi_params_init_fanin(ps, c->b, c->s.fan_in, rng);
    }
}

static dsi_var *run(dsi_tape *t, const dsi_conv *c, dsi_var *x, dsi_var *w, dsi_var *b)
{
    const dsi_conv_spec *s = &c->s;
    if (s->dims == 1)
        return s->transposed ? dsi_conv_transpose1d(t, x, w, b, s->stride, s->pad) : dsi_conv1d(t, x, w, b, s->stride, s->pad);
    return s->transposed ? dsi_conv_transpose2d(t, x, w, b, s->stride, s->pad) : dsi_conv2d(t, x, w, b, s->stride, s->pad);
}

dsi_var *dsi_conv_forward(dsi_tape *t, const dsi_conv *c, dsi_params *ps, dsi_var *x)
{
    return run(t, c, x, dsi_params_var(ps, c->w), dsi_params_var(ps, c->b));
}

dsi_var *dsi_conv_forward_masked(dsi_tape *t, const dsi_conv *c, dsi_params *ps, dsi_var *x, const float *mask)
{
    if (!mask) return dsi_tape_fail(t, DSN_E_INVALID, "masked conv: NULL mask");
    int sh[2] = {c->s.kernel, c->s.kernel};
    dsi_var *m = dsi_tape_wrap(t, mask, c->s.dims, sh);
    return run(t, c, x, dsi_mul(t, dsi_params_var(ps, c->w), m), dsi_params_var(ps, c->b));
}

int dsi_conv_out_len(const dsi_conv *c, int n)
{
    const dsi_conv_spec *s = &c->s;
    return s->transposed ? (n - 1) * s->stride - 2 * s->pad + s->kernel : (n + 2 * s->pad - s->kernel) / s->stride + 1;
}
