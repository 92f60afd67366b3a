/* audio.c - public audio functions for hosts: file read/write, the log-mel
 * features of the audio datasets, and log-mel -> audio (NNLS + Griffin-Lim). */
#include "core/options.h"
#include "core/finite.h"
#include "audio/feat_opts.h"
#include "audio/invert.h"
#include "audio/io.h"
#include "audio/mel.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

static dsn_status check_finite(const float *x, size_t n, const char *what)
{
    size_t i = dsi_find_nonfinite(x, n);
    return i == n ? DSN_OK : dsi_error(DSN_E_NUMERIC, "non-finite %s at index %zu", what, i);
}

dsn_status dsn_audio_read(float **samples, size_t *n, int *rate, const char *path, int sample_rate)
{
    DSI_CHECK_NULL(samples, "dsn_audio_read: samples");
    DSI_CHECK_NULL(n, "dsn_audio_read: n");
    DSI_CHECK_NULL(path, "dsn_audio_read: path");
    float *x = NULL;
    size_t len = 0;
    int sr = 0;
    dsn_status st = dsi_audio_read(path, sample_rate, &x, &len, &sr);
    if (st != DSN_OK) return dsi_fail(st, "dsn_audio_read");
    *samples = x;
    *n = len;
    if (rate) *rate = sr;
    return DSN_OK;
}

void dsn_audio_free(float *samples) { dsi_free(samples); }

dsn_status dsn_audio_read_channels(float **samples, size_t *n_frames, int *channels, int *rate, const char *path,
                                   int sample_rate)
{
    DSI_CHECK_NULL(samples, "dsn_audio_read_channels: samples");
    DSI_CHECK_NULL(n_frames, "dsn_audio_read_channels: n_frames");
    DSI_CHECK_NULL(channels, "dsn_audio_read_channels: channels");
    DSI_CHECK_NULL(path, "dsn_audio_read_channels: path");
    float *x = NULL;
    size_t len = 0;
    int sr = 0, ch = 0;
    dsn_status st = dsi_audio_read_channels(path, sample_rate, &x, &len, &ch, &sr);
    if (st != DSN_OK) return dsi_fail(st, "dsn_audio_read_channels");
    *samples = x;
    *n_frames = len;
    *channels = ch;
    if (rate) *rate = sr;
    return DSN_OK;
}

static dsn_status write_any(const char *where, const char *path, const float *samples, size_t n, int channels,
                            int sample_rate, const dsn_options *opts)
{
    static const char *const formats[] = {"auto", "wav16", "wav_float", "flac16", "flac24", NULL};
    int fmt = 0;
    dsi_optr r;
    dsn_status st = dsi_optr_init(&r, opts, where);
    if (st != DSN_OK) return dsi_fail(st, where);
    dsi_opt_enum(&r, "format", &fmt, formats);
    st = dsi_optr_finish(&r);
    /* sizes before the scan of the samples (tests/test_badargs.c) */
    if (st == DSN_OK && (channels < 1 || channels > DSI_AUDIO_MAX_CHANNELS))
        st = dsi_error(DSN_E_INVALID, "%d channels (1 .. %d)", channels, DSI_AUDIO_MAX_CHANNELS);
    if (st == DSN_OK && (n > DSI_AUDIO_MAX_SAMPLES / (size_t)channels || sample_rate < 1 || sample_rate > 1000000))
        st = dsi_error(DSN_E_INVALID, "%zu samples at %d Hz is out of range (at most %zu samples, 1 Hz .. 1 MHz)", n,
                       sample_rate, DSI_AUDIO_MAX_SAMPLES);
    if (st == DSN_OK) st = check_finite(samples, n * (size_t)channels, "sample");
    if (st == DSN_OK) st = dsi_audio_write_channels(path, samples, n, channels, sample_rate, (dsi_audio_format)fmt);
    return st == DSN_OK ? st : dsi_fail(st, where);
}

dsn_status dsn_audio_write(const char *path, const float *samples, size_t n, int sample_rate,
                           const dsn_options *opts)
{
    DSI_CHECK_NULL(path, "dsn_audio_write: path");
    DSI_CHECK_NULL(samples, "dsn_audio_write: samples");
    return write_any("dsn_audio_write", path, samples, n, 1, sample_rate, opts);
}

dsn_status dsn_audio_write_channels(const char *path, const float *samples, size_t n_frames, int channels,
                                    int sample_rate, const dsn_options *opts)
{
    DSI_CHECK_NULL(path, "dsn_audio_write_channels: path");
    DSI_CHECK_NULL(samples, "dsn_audio_write_channels: samples");
    return write_any("dsn_audio_write_channels", path, samples, n_frames, channels, sample_rate, opts);
}

/* Feature settings from a bag, as dsn_dataset_from_audio reads them; the
 * dataset's other keys are read and ignored so its bag (or a model's front
 * end, which has "frames") can be reused. */
static void read_feat(dsi_optr *r, dsi_feat_cfg *c)
{
    char ignore[DSI_OPT_VALUE];
    for (int i = 0; dsi_audio_dataset_keys[i]; i++) dsi_opt_str(r, dsi_audio_dataset_keys[i], ignore, sizeof ignore);
    dsi_feat_cfg_read(r, c);
}

dsn_status dsn_audio_features(float *out, size_t len, size_t *n_frames, size_t *n_mels, const float *x, size_t n,
                              int sample_rate, const dsn_options *opts)
{
    static const char *const where = "dsn_audio_features";
    DSI_CHECK_NULL(n_frames, "dsn_audio_features: n_frames");
    DSI_CHECK_NULL(x, "dsn_audio_features: x");
    if (sample_rate < 1 || sample_rate > DSI_AUDIO_MAX_RATE)
        return dsi_fail(dsi_error(DSN_E_INVALID, "sample rate %d out of range", sample_rate), where);
    if (n == 0 || n > DSI_AUDIO_MAX_SAMPLES)
        return dsi_fail(dsi_error(DSN_E_SHAPE, "bad signal length %zu", n), where);
    dsi_feat_cfg cfg;
    dsi_feat_cfg_default(&cfg);
    dsi_optr r;
    dsn_status st = dsi_optr_init(&r, opts, where);
    if (st != DSN_OK) return dsi_fail(st, where);
    read_feat(&r, &cfg);
    st = dsi_optr_finish(&r);
    if (st == DSN_OK) st = dsi_feat_cfg_validate(&cfg);
    if (st != DSN_OK) return dsi_fail(st, where);
    /* samples after resampling: the formula of dsi_audio_resample */
    size_t m = n;
    if (sample_rate != cfg.sr) {
        m = (size_t)floor((double)n * ((double)cfg.sr / (double)sample_rate) + 0.5);
        if (m == 0) m = 1;
    }
    const int center = cfg.center;
    const size_t T = center ? 1 + m / (size_t)cfg.hop
                            : (m >= (size_t)cfg.n_fft ? 1 + (m - (size_t)cfg.n_fft) / (size_t)cfg.hop : 0);
    if (T < 1)
        return dsi_fail(dsi_error(DSN_E_SHAPE, "a clip of %zu samples (at %d Hz) is too short for n_fft %d", m, cfg.sr,
                                  cfg.n_fft),
                        where);
    const size_t M = (size_t)cfg.n_mels;
    if (!out) {
        *n_frames = T;
        if (n_mels) *n_mels = M;
        return DSN_OK;
    }
    if (len / M < T)
        return dsi_fail(dsi_error(DSN_E_SHAPE, "out has room for %zu floats, %zu x %zu needed", len, T, M), where);
    st = check_finite(x, n, "sample");
    if (st != DSN_OK) return dsi_fail(st, where);
    float *y = NULL;
    const float *sig = x;
    if (sample_rate != cfg.sr) {
        size_t ny = 0;
        st = dsi_audio_resample(x, n, sample_rate, cfg.sr, DSI_RESAMPLE_MEDIUM, &y, &ny);
        if (st != DSN_OK) return dsi_fail(st, where);
        if (ny != m) {
            dsi_free(y);
            return dsi_fail(dsi_error(DSN_E_INTERNAL, "resampled length %zu, expected %zu", ny, m), where);
        }
        sig = y;
    }
    dsi_featurizer fz;
    st = dsi_featurizer_init(&fz, &cfg);
    if (st == DSN_OK) {
        if ((size_t)dsi_featurizer_frames(&fz, m) != T)
            st = dsi_error(DSN_E_INTERNAL, "frame count mismatch");
        else
            st = dsi_featurizer_run(&fz, sig, m, out);
        dsi_featurizer_free(&fz);
    }
    dsi_free(y);
    if (st != DSN_OK) return dsi_fail(st, where);
    *n_frames = T;
    if (n_mels) *n_mels = M;
    return DSN_OK;
}

/* the options of dsn_mel_to_audio / dsn_mel_inverter_create */
typedef struct inv_cfg {
    dsi_feat_cfg feat;
    dsi_gl_opts gl;
    int method, nnls_iter;
} inv_cfg;

static dsn_status inv_parse(inv_cfg *c, size_t n_mels, const dsn_options *opts, const char *where)
{
    dsi_feat_cfg_default(&c->feat);
    c->feat.n_mels = (int)n_mels;
    dsi_gl_opts_default(&c->gl);
    c->gl.seed = 1;
    c->method = DSI_MELINV_NNLS;
    c->nnls_iter = 100;
    static const char *const methods[] = {"nnls", "pinv", NULL};
    dsi_optr r;
    dsn_status st = dsi_optr_init(&r, opts, where);
    if (st != DSN_OK) return st;
    read_feat(&r, &c->feat);
    dsi_opt_int(&r, "gl_iter", &c->gl.n_iter, 0, 100000);
    dsi_opt_float(&r, "gl_momentum", &c->gl.momentum, 0.0, 1.5);
    dsi_opt_u64(&r, "seed", &c->gl.seed);
    dsi_opt_enum(&r, "mel_inversion", &c->method, methods);
    dsi_opt_int(&r, "nnls_iter", &c->nnls_iter, 0, 100000);
    st = dsi_optr_finish(&r);
    if (st == DSN_OK && (size_t)c->feat.n_mels != n_mels)
        st = dsi_error(DSN_E_SHAPE, "option n_mels = %d but the frames have %zu mels", c->feat.n_mels, n_mels);
    if (st == DSN_OK) st = dsi_feat_cfg_validate(&c->feat);
    if (st == DSN_OK && !c->feat.center) st = dsi_error(DSN_E_UNSUPPORTED, "only centred features can be inverted");
    return st;
}

dsn_status dsn_mel_to_audio(float *out, size_t len, size_t *n_samples, const float *mel, size_t n_frames,
                            size_t n_mels, const dsn_options *opts)
{
    static const char *const where = "dsn_mel_to_audio";
    DSI_CHECK_NULL(n_samples, "dsn_mel_to_audio: n_samples");
    DSI_CHECK_NULL(mel, "dsn_mel_to_audio: mel");
    if (n_frames < 1 || n_frames > (1u << 24))
        return dsi_fail(dsi_error(DSN_E_SHAPE, "bad frame count %zu", n_frames), where);
    if (n_mels < 1 || n_mels > 1024) return dsi_fail(dsi_error(DSN_E_SHAPE, "bad n_mels %zu", n_mels), where);
    inv_cfg c;
    dsn_status st = inv_parse(&c, n_mels, opts, where);
    if (st != DSN_OK) return dsi_fail(st, where);
    const size_t ns = (n_frames - 1) * (size_t)c.feat.hop;
    if (!out) {
        *n_samples = ns;
        return DSN_OK;
    }
    if (len < ns) return dsi_fail(dsi_error(DSN_E_SHAPE, "out has room for %zu samples, %zu needed", len, ns), where);
    st = check_finite(mel, n_frames * n_mels, "feature");
    if (st != DSN_OK) return dsi_fail(st, where);
    if (ns == 0) {
        *n_samples = 0;
        return DSN_OK;
    }
    dsi_featurizer fz;
    st = dsi_featurizer_init(&fz, &c.feat);
    if (st == DSN_OK) {
        st = dsi_features_to_audio(&fz, mel, (int)n_frames, (dsi_melinv_method)c.method, c.nnls_iter, &c.gl, out, ns,
                                   NULL);
        dsi_featurizer_free(&fz);
    }
    if (st != DSN_OK) return dsi_fail(st, where);
    *n_samples = ns;
    return DSN_OK;
}

struct dsn_mel_inverter {
    inv_cfg c;
    dsi_featurizer fz;
    dsi_melinv_ws ws;
    size_t max_frames, n_mels;
};

dsn_status dsn_mel_inverter_create(dsn_mel_inverter **out, size_t max_frames, size_t n_mels, const dsn_options *opts)
{
    static const char *const where = "dsn_mel_inverter_create";
    DSI_CHECK_NULL(out, "dsn_mel_inverter_create: out");
    *out = NULL;
    if (max_frames < 2 || max_frames > (1u << 24))
        return dsi_fail(dsi_error(DSN_E_SHAPE, "bad max_frames %zu (want 2..%u)", max_frames, 1u << 24), where);
    if (n_mels < 1 || n_mels > 1024) return dsi_fail(dsi_error(DSN_E_SHAPE, "bad n_mels %zu", n_mels), where);
    dsn_mel_inverter *v = dsi_calloc(1, sizeof *v);
    if (!v) return dsi_fail(dsi_error(DSN_E_NOMEM, "cannot allocate a mel inverter"), where);
    dsn_status st = inv_parse(&v->c, n_mels, opts, where);
    if (st == DSN_OK) st = dsi_featurizer_init(&v->fz, &v->c.feat);
    if (st == DSN_OK) {
        st = dsi_melinv_ws_init(&v->ws, &v->fz, (int)max_frames);
        if (st != DSN_OK) dsi_featurizer_free(&v->fz);
    }
    if (st != DSN_OK) {
        dsi_free(v);
        return dsi_fail(st, where);
    }
    v->max_frames = max_frames;
    v->n_mels = n_mels;
    *out = v;
    return DSN_OK;
}

dsn_status dsn_mel_inverter_run(dsn_mel_inverter *inv, float *out, size_t len, size_t *n_samples, const float *mel,
                                size_t n_frames)
{
    static const char *const where = "dsn_mel_inverter_run";
    DSI_CHECK_NULL(inv, "dsn_mel_inverter_run: inverter");
    DSI_CHECK_NULL(n_samples, "dsn_mel_inverter_run: n_samples");
    DSI_CHECK_NULL(mel, "dsn_mel_inverter_run: mel");
    if (n_frames < 2 || n_frames > inv->max_frames)
        return dsi_fail(dsi_error(DSN_E_SHAPE, "%zu frames (this inverter takes 2..%zu)", n_frames, inv->max_frames),
                        where);
    const size_t ns = (n_frames - 1) * (size_t)inv->c.feat.hop;
    if (!out) {
        *n_samples = ns;
        return DSN_OK;
    }
    if (len < ns) return dsi_fail(dsi_error(DSN_E_SHAPE, "out has room for %zu samples, %zu needed", len, ns), where);
    dsn_status st = check_finite(mel, n_frames * inv->n_mels, "feature");
    if (st == DSN_OK)
        st = dsi_features_to_audio_ws(&inv->fz, &inv->ws, mel, (int)n_frames, (dsi_melinv_method)inv->c.method,
                                      inv->c.nnls_iter, &inv->c.gl, out, ns);
    if (st != DSN_OK) return dsi_fail(st, where);
    *n_samples = ns;
    return DSN_OK;
}

void dsn_mel_inverter_free(dsn_mel_inverter *inv)
{
    if (!inv) return;
    dsi_melinv_ws_free(&inv->ws);
    dsi_featurizer_free(&inv->fz);
    dsi_free(inv);
}
