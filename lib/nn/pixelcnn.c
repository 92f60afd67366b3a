/* pixelcnn.c - gated PixelCNN layers over masked convolutions. */
#include "nn/pixelcnn.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

dsn_status dsi_pixelcnn_add(dsi_pixelcnn *p, dsi_params *ps, const char *prefix, int group, int C, int layers,
                            int kernel)
{
    if (!p || !ps || !prefix) return dsi_error(DSN_E_INVALID, "pixelcnn: NULL argument");
    if (C < 1 || layers < 1 || layers > DSI_PIXELCNN_MAX_LAYERS || kernel < 1 || kernel % 2 == 0 ||
        kernel > DSI_PIXELCNN_MAX_KERNEL)
        return dsi_error(DSN_E_OPTION, "pixelcnn %s: %d channels, %d layers (1..%d), kernel %d (odd, 1..%d)", prefix, C,
                         layers, DSI_PIXELCNN_MAX_LAYERS, kernel, DSI_PIXELCNN_MAX_KERNEL);
    memset(p, 0, sizeof *p);
    p->C = C;
    p->layers = layers;
    p->kernel = kernel;
    const int k = kernel, c = k / 2;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            p->masks[0][i * k + j] = i < c;
            p->masks[1][i * k + j] = i <= c;
            p->masks[2][i * k + j] = i == c && j < c;
            p->masks[3][i * k + j] = i == c && j <= c;
        }
    const dsi_conv_spec vs = {.dims = 2, .in = C, .out = 2 * C, .kernel = k, .pad = c, .fan_in = C * (c + 1) * k};
    dsi_conv_spec hs = vs;
    hs.fan_in = C * (c + 1);
    const dsi_conv_spec vhs = {.dims = 2, .in = 2 * C, .out = 2 * C, .kernel = 1};
    const dsi_conv_spec os = {.dims = 2, .in = C, .out = C, .kernel = 1};
    dsn_status st = DSN_OK;
    char nm[DSI_PARAM_NAME];
    for (int l = 0; st == DSN_OK && l < layers; l++) {
        snprintf(nm, sizeof nm, "%s.l%d.v", prefix, l);
        st = dsi_conv_add(&p->v[l], ps, nm, group, vs);
        snprintf(nm, sizeof nm, "%s.l%d.h", prefix, l);
        if (st == DSN_OK) st = dsi_conv_add(&p->h[l], ps, nm, group, hs);
        snprintf(nm, sizeof nm, "%s.l%d.vh", prefix, l);
        if (st == DSN_OK) st = dsi_conv_add(&p->vh[l], ps, nm, group, vhs);
        snprintf(nm, sizeof nm, "%s.l%d.o", prefix, l);
        if (st == DSN_OK) st = dsi_conv_add(&p->o[l], ps, nm, group, os);
    }
    return st;
}

void dsi_pixelcnn_init(const dsi_pixelcnn *p, dsi_params *ps, dsi_rng *rng)
{
    for (int l = 0; l < p->layers; l++) {
        dsi_conv_init(&p->v[l], ps, rng);
        dsi_conv_init(&p->h[l], ps, rng);
        dsi_conv_init(&p->vh[l], ps, rng);
        dsi_conv_init(&p->o[l], ps, rng);
    }
}

/* tanh(a) * sigmoid(b) over the two channel halves of x [N, 2C, ...] */
static dsi_var *gate(dsi_tape *t, dsi_var *x, int C)
{
    return dsi_mul(t, dsi_tanh(t, dsi_slice(t, x, 1, 0, C)), dsi_sigmoid(t, dsi_slice(t, x, 1, C, C)));
}

dsi_var *dsi_pixelcnn_forward(dsi_tape *t, const dsi_pixelcnn *p, dsi_params *ps, dsi_var *x)
{
    dsi_var *v = x, *h = x;
    for (int l = 0; l < p->layers; l++) {
        dsi_var *vpre = dsi_conv_forward_masked(t, &p->v[l], ps, v, p->masks[l ? 1 : 0]);
        dsi_var *hpre = dsi_conv_forward_masked(t, &p->h[l], ps, h, p->masks[l ? 3 : 2]);
        hpre = dsi_add(t, hpre, dsi_conv_forward(t, &p->vh[l], ps, vpre));
        dsi_var *ho = dsi_conv_forward(t, &p->o[l], ps, gate(t, hpre, p->C));
        h = l ? dsi_add(t, h, ho) : ho;
        if (l + 1 < p->layers) v = gate(t, vpre, p->C);
    }
    return h;
}
