/* feat_opts.c - the audio front end's option keys (feat_opts.h). */
#include "audio/feat_opts.h"
#include "core/error.h"

#include <stdio.h>

const char *const dsi_audio_dataset_keys[] = {"frames", "hop", "min_tail", "threads", "cache", "label", "bad_clips", NULL};

static const char *const windows[] = {"hann", "hamming", "rect", NULL};
static const char *const scales[] = {"htk", "slaney", NULL};
static const char *const norms[] = {"none", "slaney", NULL};
static const char *const logs[] = {"linear", "log", "db", NULL};

void dsi_feat_cfg_read(dsi_optr *r, dsi_feat_cfg *c)
{
    int w = (int)c->window, s = (int)c->scale, n = (int)c->norm, l = (int)c->log;
    dsi_opt_int(r, "sample_rate", &c->sr, 1000, 384000);
    dsi_opt_int(r, "n_fft", &c->n_fft, 16, 1 << 16);
    dsi_opt_int(r, "hop_length", &c->hop, 1, 1 << 16);
    dsi_opt_int(r, "win_length", &c->win_length, 0, 1 << 16);
    dsi_opt_enum(r, "window", &w, windows);
    dsi_opt_int(r, "power", &c->power, 1, 2);
    dsi_opt_int(r, "n_mels", &c->n_mels, 1, 1024);
    dsi_opt_float(r, "fmin", &c->fmin, 0, 1e6);
    dsi_opt_float(r, "fmax", &c->fmax, 0, 1e6);
    dsi_opt_enum(r, "scale", &s, scales);
    dsi_opt_enum(r, "norm", &n, norms);
    dsi_opt_enum(r, "log", &l, logs);
    dsi_opt_float(r, "eps", &c->eps, 1e-12, 1.0);
    dsi_opt_float(r, "amin", &c->amin, 1e-20, 1.0);
    dsi_opt_float(r, "top_db", &c->top_db, 0.0, 200.0);
    c->window = (dsi_window)w;
    c->scale = (dsi_mel_scale)s;
    c->norm = (dsi_mel_norm)n;
    c->log = (dsi_feat_log)l;
}

dsn_status dsi_feat_cfg_validate(const dsi_feat_cfg *c)
{
    dsn_status st = dsi_feat_cfg_check(c);
    if (st != DSN_OK) return st;
    const double nyq = c->sr / 2.0, fmax = c->fmax > 0 ? c->fmax : nyq;
    if (fmax > nyq + 1e-3)
        return dsi_error(DSN_E_OPTION, "fmax %g Hz is above the Nyquist frequency %g Hz of sample_rate %d",
                         (double)c->fmax, nyq, c->sr);
    if (!(c->fmin < fmax))
        return dsi_error(DSN_E_OPTION, "fmin %g Hz must be below fmax %g Hz", (double)c->fmin, fmax);
    return DSN_OK;
}

static dsn_status put_i(struct dsn_options *o, const char *k, int v)
{
    char b[32];
    snprintf(b, sizeof b, "%d", v);
    return dsi_options_set(o, k, b);
}

static dsn_status put_f(struct dsn_options *o, const char *k, float v)
{
    char b[48];
    snprintf(b, sizeof b, "%.9g", (double)v);
    return dsi_options_set(o, k, b);
}

dsn_status dsi_feat_cfg_write(const dsi_feat_cfg *c, int frames, struct dsn_options *o)
{
    dsn_status st = put_i(o, "sample_rate", c->sr);
    if (st == DSN_OK) st = put_i(o, "n_fft", c->n_fft);
    if (st == DSN_OK) st = put_i(o, "hop_length", c->hop);
    if (st == DSN_OK) st = put_i(o, "win_length", c->win_length ? c->win_length : c->n_fft);
    if (st == DSN_OK) st = dsi_options_set(o, "window", windows[c->window]);
    if (st == DSN_OK) st = put_i(o, "power", c->power);
    if (st == DSN_OK) st = put_i(o, "n_mels", c->n_mels);
    if (st == DSN_OK) st = put_f(o, "fmin", c->fmin);
    if (st == DSN_OK) st = put_f(o, "fmax", c->fmax > 0 ? c->fmax : (float)(c->sr / 2.0));
    if (st == DSN_OK) st = dsi_options_set(o, "scale", scales[c->scale]);
    if (st == DSN_OK) st = dsi_options_set(o, "norm", norms[c->norm]);
    if (st == DSN_OK) st = dsi_options_set(o, "log", logs[c->log]);
    if (st == DSN_OK) st = put_f(o, "eps", c->eps);
    if (st == DSN_OK) st = put_f(o, "amin", c->amin);
    if (st == DSN_OK) st = put_f(o, "top_db", c->top_db);
    if (st == DSN_OK && frames > 0) st = put_i(o, "frames", frames);
    return st;
}

dsn_status dsi_feat_cfg_from(dsi_feat_cfg *c, const struct dsn_options *o, const char *context, int n_mels,
                             const char *const *also)
{
    dsi_feat_cfg_default(c);
    c->n_mels = n_mels;
    dsi_optr r;
    dsn_status st = dsi_optr_init(&r, o, context);
    if (st != DSN_OK) return st;
    dsi_feat_cfg_read(&r, c);
    char ignored[DSI_OPT_VALUE];
    for (int i = 0; also && also[i]; i++) dsi_opt_str(&r, also[i], ignored, sizeof ignored);
    st = dsi_optr_finish(&r);
    return st != DSN_OK ? st : dsi_feat_cfg_validate(c);
}
