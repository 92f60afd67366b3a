/* mel.c - filterbanks, feature configuration, log-mel extraction. */
#include "audio/mel.h"
#include "core/alloc.h"
#include "core/finite.h"
#include "core/error.h"
#include "tensor/blas.h"

#include <math.h>
#include <string.h>

double dsi_hz_to_mel(double hz, dsi_mel_scale scale)
{
    if (scale == DSI_MEL_HTK) return 2595.0 * log10(1.0 + hz / 700.0);
    const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    if (hz >= min_log_hz) return min_log_mel + log(hz / min_log_hz) / logstep;
    return hz / f_sp;
}

double dsi_mel_to_hz(double mel, dsi_mel_scale scale)
{
    if (scale == DSI_MEL_HTK) return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
    const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    if (mel >= min_log_mel) return min_log_hz * exp(logstep * (mel - min_log_mel));
    return f_sp * mel;
}

dsn_status dsi_mel_filterbank(float *fb, int n_mels, int n_fft, int sr, double fmin, double fmax,
                              dsi_mel_scale scale, dsi_mel_norm norm)
{
    DSI_CHECK_NULL(fb, "fb");
    if (n_mels < 1 || n_mels > 4096) return dsi_error(DSN_E_INVALID, "n_mels %d out of range", n_mels);
    if (n_fft < 2 || n_fft % 2) return dsi_error(DSN_E_INVALID, "n_fft %d must be even", n_fft);
    if (sr < 1) return dsi_error(DSN_E_INVALID, "bad sample rate %d", sr);
    if ((int)scale < 0 || (int)scale > 1) return dsi_error(DSN_E_INVALID, "unknown mel scale %d", (int)scale);
    if ((int)norm < 0 || (int)norm > 1) return dsi_error(DSN_E_INVALID, "unknown mel norm %d", (int)norm);
    if (fmax <= 0) fmax = sr / 2.0;
    if (!(fmin >= 0 && fmin < fmax && fmax <= sr / 2.0 + 1e-9))
        return dsi_error(DSN_E_INVALID, "need 0 <= fmin < fmax <= sr/2 (fmin %g, fmax %g)", fmin, fmax);
    const int F = n_fft / 2 + 1;
    double pts[4096 + 2];
    double m0 = dsi_hz_to_mel(fmin, scale), m1 = dsi_hz_to_mel(fmax, scale);
    for (int i = 0; i < n_mels + 2; i++)
        pts[i] = dsi_mel_to_hz(m0 + (m1 - m0) * i / (double)(n_mels + 1), scale);
    const double df = (sr / 2.0) / (double)(F - 1);
    for (int m = 0; m < n_mels; m++) {
        double lo = pts[m], c = pts[m + 1], hi = pts[m + 2];
        double d0 = c - lo, d1 = hi - c;
        double enorm = norm == DSI_MEL_NORM_SLANEY ? 2.0 / (hi - lo) : 1.0;
        float *row = fb + (size_t)m * F;
        for (int k = 0; k < F; k++) {
            double f = k * df;
            double lower = (f - lo) / d0, upper = (hi - f) / d1;
            double w = lower < upper ? lower : upper;
            row[k] = w > 0 ? (float)(w * enorm) : 0.0f;
        }
    }
    return DSN_OK;
}

void dsi_feat_cfg_default(dsi_feat_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->sr = 16000;
    c->n_fft = 2048;
    c->hop = 256;
    c->win_length = 0;
    c->window = DSI_WIN_HANN;
    c->center = 1;
    c->power = 2;
    c->n_mels = 80;
    c->fmin = 0.0f;
    c->fmax = 0.0f;
    c->scale = DSI_MEL_HTK;
    c->norm = DSI_MEL_NORM_NONE;
    c->log = DSI_FEAT_LOG;
    c->eps = 1e-6f;
    c->amin = 1e-10f;
    c->top_db = 0.0f;
}

dsn_status dsi_feat_cfg_check(const dsi_feat_cfg *c)
{
    DSI_CHECK_NULL(c, "feature settings");
    if (c->sr < 1 || c->sr > 1536000) return dsi_error(DSN_E_OPTION, "sample rate %d out of range", c->sr);
    if (c->n_fft < 2 || c->n_fft % 2 || c->n_fft > (1 << 20))
        return dsi_error(DSN_E_OPTION, "n_fft %d must be even and in [2, 2^20]", c->n_fft);
    if (c->hop < 1) return dsi_error(DSN_E_OPTION, "hop %d must be >= 1", c->hop);
    if (c->win_length < 0 || c->win_length > c->n_fft)
        return dsi_error(DSN_E_OPTION, "win_length %d must be in [0, n_fft]", c->win_length);
    if (c->power != 1 && c->power != 2) return dsi_error(DSN_E_OPTION, "power must be 1 or 2");
    if (c->n_mels < 1 || c->n_mels > 4096) return dsi_error(DSN_E_OPTION, "n_mels %d out of range", c->n_mels);
    if ((int)c->window < 0 || (int)c->window > 2) return dsi_error(DSN_E_OPTION, "unknown window %d", (int)c->window);
    if (c->center != 0 && c->center != 1) return dsi_error(DSN_E_OPTION, "center must be 0 or 1");
    if ((int)c->scale < 0 || (int)c->scale > 1) return dsi_error(DSN_E_OPTION, "unknown mel scale %d", (int)c->scale);
    if ((int)c->norm < 0 || (int)c->norm > 1) return dsi_error(DSN_E_OPTION, "unknown mel norm %d", (int)c->norm);
    if ((int)c->log < 0 || (int)c->log > 2) return dsi_error(DSN_E_OPTION, "unknown log mode %d", (int)c->log);
    if (c->log == DSI_FEAT_LOG && !(c->eps > 0)) return dsi_error(DSN_E_OPTION, "eps must be > 0");
    if (c->log == DSI_FEAT_DB && !(c->amin > 0)) return dsi_error(DSN_E_OPTION, "amin must be > 0");
    if (!(c->top_db >= 0)) return dsi_error(DSN_E_OPTION, "top_db must be >= 0");
    return DSN_OK;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t fnv_i(uint64_t h, int64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)v >> (8 * i));
    return fnv(h, b, 8);
}

static uint64_t fnv_f(uint64_t h, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return fnv_i(h, u);
}

uint64_t dsi_feat_cfg_hash(const dsi_feat_cfg *c)
{
    uint64_t h = 14695981039346656037ULL;
    h = fnv_i(h, 0x6665617431); /* "feat" + layout version 1 */
    h = fnv_i(h, c->sr);
    h = fnv_i(h, c->n_fft);
    h = fnv_i(h, c->hop);
    h = fnv_i(h, c->win_length ? c->win_length : c->n_fft);
    h = fnv_i(h, c->window);
    h = fnv_i(h, c->center);
    h = fnv_i(h, c->power);
    h = fnv_i(h, c->n_mels);
    h = fnv_f(h, c->fmin);
    h = fnv_f(h, c->fmax > 0 ? c->fmax : c->sr / 2.0f);
    h = fnv_i(h, c->scale);
    h = fnv_i(h, c->norm);
    h = fnv_i(h, c->log);
    h = fnv_f(h, c->log == DSI_FEAT_LOG ? c->eps : 0.0f);
    h = fnv_f(h, c->log == DSI_FEAT_DB ? c->amin : 0.0f);
    h = fnv_f(h, c->log == DSI_FEAT_DB ? c->top_db : 0.0f);
    return h;
}

dsn_status dsi_feat_front_init(const dsi_feat_cfg *c, dsi_stft *stft, float **fb)
{
    *fb = NULL;
    dsn_status st = dsi_stft_init(stft, c->n_fft, c->hop, c->win_length, c->window, c->center);
    if (st != DSN_OK) return st;
    *fb = dsi_aligned_alloc(sizeof(float) * (size_t)c->n_mels * stft->n_bins);
    if (!*fb) st = dsi_error(DSN_E_NOMEM, "cannot allocate a mel filterbank");
    else st = dsi_mel_filterbank(*fb, c->n_mels, c->n_fft, c->sr, c->fmin, c->fmax, c->scale, c->norm);
    if (st != DSN_OK) {
        dsi_aligned_free(*fb);
        *fb = NULL;
        dsi_stft_free(stft);
    }
    return st;
}

dsn_status dsi_featurizer_init(dsi_featurizer *f, const dsi_feat_cfg *c)
{
    DSI_CHECK_NULL(f, "featurizer");
    memset(f, 0, sizeof *f);
    dsn_status st = dsi_feat_cfg_check(c);
    if (st != DSN_OK) return st;
    f->cfg = *c;
    st = dsi_feat_front_init(c, &f->stft, &f->fb);
    if (st != DSN_OK) memset(f, 0, sizeof *f);
    return st;
}

void dsi_featurizer_free(dsi_featurizer *f)
{
    if (!f) return;
    dsi_stft_free(&f->stft);
    dsi_aligned_free(f->fb);
    dsi_aligned_free(f->spec);
    memset(f, 0, sizeof *f);
}

int dsi_featurizer_frames(const dsi_featurizer *f, size_t n) { return dsi_stft_frames(&f->stft, n); }

dsn_status dsi_featurizer_run(dsi_featurizer *f, const float *x, size_t n, float *out)
{
    DSI_CHECK_NULL(f, "featurizer");
    DSI_CHECK_NULL(out, "out");
    if (!f->fb) return dsi_error(DSN_E_STATE, "featurizer not initialised");
    int T = dsi_stft_frames(&f->stft, n);
    if (T < 1) return dsi_error(DSN_E_SHAPE, "signal of %zu samples is too short for n_fft %d", n, f->cfg.n_fft);
    const int F = f->stft.n_bins, M = f->cfg.n_mels;
    if (T > f->cap_frames) {
        dsi_aligned_free(f->spec);
        f->spec = dsi_aligned_alloc(sizeof(float) * (size_t)T * F);
        if (!f->spec) {
            f->cap_frames = 0;
            return dsi_error(DSN_E_NOMEM, "cannot allocate a %d x %d spectrogram", T, F);
        }
        f->cap_frames = T;
    }
    dsn_status st = dsi_stft_spectrogram(&f->stft, x, n, f->cfg.power, f->spec);
    if (st != DSN_OK) return st;
    /* out[T,M] = spec[T,F] . fb[M,F]^T */
    dsi_gemm(0, 1, T, M, F, 1.0f, f->spec, F, f->fb, F, 0.0f, out, M);
    const size_t nm = (size_t)T * M;
    if (f->cfg.log == DSI_FEAT_LOG) {
        const float eps = f->cfg.eps;
        for (size_t i = 0; i < nm; i++) out[i] = logf(out[i] + eps);
    } else if (f->cfg.log == DSI_FEAT_DB) {
        const float amin = f->cfg.amin, k = f->cfg.power == 2 ? 10.0f : 20.0f;
        float mx = -INFINITY;
        for (size_t i = 0; i < nm; i++) {
            float v = out[i] > amin ? out[i] : amin;
            out[i] = k * log10f(v);
            if (out[i] > mx) mx = out[i];
        }
        if (f->cfg.top_db > 0) {
            float floor_db = mx - f->cfg.top_db;
            for (size_t i = 0; i < nm; i++)
                if (out[i] < floor_db) out[i] = floor_db;
        }
    }
    size_t bad = dsi_find_nonfinite(out, nm);
    return bad == nm ? DSN_OK : dsi_error(DSN_E_NUMERIC, "non-finite feature at frame %zu", bad / M);
}

void dsi_feat_undo_log(const dsi_feat_cfg *c, float *x, size_t n)
{
    if (c->log == DSI_FEAT_LOG) {
        for (size_t i = 0; i < n; i++) {
            float v = expf(x[i]) - c->eps;
            x[i] = v > 0 ? v : 0.0f;
        }
    } else if (c->log == DSI_FEAT_DB) {
        const float k = c->power == 2 ? 0.1f : 0.05f;
        for (size_t i = 0; i < n; i++) x[i] = powf(10.0f, k * x[i]);
    }
}
