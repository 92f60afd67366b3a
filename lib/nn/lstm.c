/* lstm.c - LSTM layers over the fused dsi_lstm op and cell. */
#include "nn/lstm.h"
#include "core/error.h"

#include <stdio.h>

dsn_status dsi_lstm_layer_add(dsi_lstm_layer *l, dsi_params *ps, const char *prefix, int group, int in, int hid)
{
    if (!l || !ps || !prefix) return dsi_error(DSN_E_INVALID, "lstm layer: NULL argument");
    if (in < 1 || hid < 1) return dsi_error(DSN_E_INVALID, "lstm layer %s: sizes %d -> %d", prefix, in, hid);
    int sx[2] = {in, 4 * hid}, sh[2] = {hid, 4 * hid}, sb[1] = {4 * hid};
    l->in = in;
    l->hid = hid;
    l->wx = dsi_layer_param(ps, prefix, "wx", group, 2, sx);
    l->wh = l->wx < 0 ? -1 : dsi_layer_param(ps, prefix, "wh", group, 2, sh);
    l->b = l->wh < 0 ? -1 : dsi_layer_param(ps, prefix, "b", group, 1, sb);
    return l->b < 0 ? DSN_E_INVALID : DSN_OK;
}

void dsi_lstm_layer_init(const dsi_lstm_layer *l, dsi_params *ps, dsi_rng *rng)
{
    dsi_params_init_fanin(ps, l->wx, l->hid, rng);
    dsi_params_init_fanin(ps, l->wh, l->hid, rng);
    dsi_params_init_fanin(ps, l->b, l->hid, rng);
}

dsi_var *dsi_lstm_layer_forward(dsi_tape *t, const dsi_lstm_layer *l, dsi_params *ps, dsi_var *x, dsi_var *h0,
                                dsi_var *c0, int reverse, const int *lengths)
{
    return dsi_lstm(t, x, dsi_params_var(ps, l->wx), dsi_params_var(ps, l->wh), dsi_params_var(ps, l->b), h0, c0,
                    reverse, lengths);
}

dsn_status dsi_lstm_layer_step(dsi_tape *t, const dsi_lstm_layer *l, dsi_params *ps, dsi_var *x, dsi_var *h,
                               dsi_var *c, dsi_var **h_out, dsi_var **c_out)
{
    *h_out = *c_out = NULL;
    dsi_lstm_cell(t, x, h, c, dsi_params_var(ps, l->wx), dsi_params_var(ps, l->wh), dsi_params_var(ps, l->b), h_out,
                  c_out);
    if (t->status == DSN_OK && (!*h_out || !*c_out)) dsi_tape_fail(t, DSN_E_INVALID, "lstm step: no output");
    return t->status;
}

/* ---- bidirectional ---- */

dsn_status dsi_bilstm_add(dsi_bilstm *b, dsi_params *ps, const char *prefix, int group, int in, int hid,
                          dsi_bi_merge merge)
{
    if (!b || !prefix) return dsi_error(DSN_E_INVALID, "bi-lstm: NULL argument");
    if (merge != DSI_BI_CONCAT && merge != DSI_BI_MEAN)
        return dsi_error(DSN_E_INVALID, "bi-lstm %s: unknown merge %d", prefix, (int)merge);
    char name[DSI_PARAM_NAME];
    b->merge = merge;
    snprintf(name, sizeof name, "%s.fw", prefix);
    dsn_status st = dsi_lstm_layer_add(&b->fw, ps, name, group, in, hid);
    snprintf(name, sizeof name, "%s.bw", prefix);
    if (st == DSN_OK) st = dsi_lstm_layer_add(&b->bw, ps, name, group, in, hid);
    return st;
}

void dsi_bilstm_init(const dsi_bilstm *b, dsi_params *ps, dsi_rng *rng)
{
    dsi_lstm_layer_init(&b->fw, ps, rng);
    dsi_lstm_layer_init(&b->bw, ps, rng);
}

dsi_var *dsi_bilstm_forward(dsi_tape *t, const dsi_bilstm *b, dsi_params *ps, dsi_var *x, const int *lengths)
{
    dsi_var *hh[2] = {dsi_lstm_layer_forward(t, &b->fw, ps, x, NULL, NULL, 0, lengths),
                      dsi_lstm_layer_forward(t, &b->bw, ps, x, NULL, NULL, 1, lengths)};
    if (b->merge == DSI_BI_MEAN) return dsi_affine_scalar(t, dsi_add(t, hh[0], hh[1]), 0.5f, 0.0f);
    return dsi_concat(t, hh, 2, 2);
}

/* ---- stacks ---- */

dsn_status dsi_lstm_stack_add(dsi_lstm_stack *s, dsi_params *ps, const char *prefix, int group, int in, int hid,
                              int n_layers)
{
    if (!s || !prefix) return dsi_error(DSN_E_INVALID, "lstm stack: NULL argument");
    if (n_layers < 1 || n_layers > DSI_LSTM_MAX_LAYERS)
        return dsi_error(DSN_E_OPTION, "lstm stack %s: %d layers (want 1..%d)", prefix, n_layers, DSI_LSTM_MAX_LAYERS);
    s->n_layers = n_layers;
    for (int l = 0; l < n_layers; l++) {
        char name[DSI_PARAM_NAME];
        snprintf(name, sizeof name, "%s.%d", prefix, l);
        dsn_status st = dsi_lstm_layer_add(&s->layer[l], ps, name, group, l ? hid : in, hid);
        if (st != DSN_OK) return st;
    }
    return DSN_OK;
}

void dsi_lstm_stack_init(const dsi_lstm_stack *s, dsi_params *ps, dsi_rng *rng)
{
    for (int l = 0; l < s->n_layers; l++) dsi_lstm_layer_init(&s->layer[l], ps, rng);
}

dsi_var *dsi_lstm_stack_forward(dsi_tape *t, const dsi_lstm_stack *s, dsi_params *ps, dsi_var *x, const int *lengths)
{
    for (int l = 0; l < s->n_layers && x; l++)
        x = dsi_lstm_layer_forward(t, &s->layer[l], ps, x, NULL, NULL, 0, lengths);
    return x;
}

dsn_status dsi_lstm_stack_step(dsi_tape *t, const dsi_lstm_stack *s, dsi_params *ps, dsi_var *x, dsi_var **h,
                               dsi_var **c, dsi_var **out)
{
    *out = NULL;
    for (int l = 0; l < s->n_layers; l++) {
        dsn_status st = dsi_lstm_layer_step(t, &s->layer[l], ps, x, h[l], c[l], &h[l], &c[l]);
        if (st != DSN_OK) return st;
        x = h[l];
    }
    *out = x;
    return DSN_OK;
}

void dsi_lstm_lengths_from_mask(const float *mask, int B, int T, int *lengths)
{
    for (int b = 0; b < B; b++) {
        int L = 0;
        for (int k = 0; k < T; k++)
            if (mask[(size_t)b * T + k] != 0.0f) L = k + 1;
        lengths[b] = L;
    }
}
