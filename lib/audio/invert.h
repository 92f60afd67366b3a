/* invert.h - from mel features back to audio (internal).
 *
 * 1. Mel -> linear spectrogram: the filterbank fb [M][F] maps a frame s >= 0
 *    to m = fb s. We solve min_{S >= 0} 0.5 ||S fb^T - Mel||^2 for all frames
 *    at once either by the clamped pseudo-inverse S = max(0, Mel (fb fb^T +
 *    rI)^-1 fb) or by accelerated projected gradient (FISTA) started from it,
 *    step 1/L with L the largest eigenvalue of fb fb^T.
 * 2. Griffin-Lim (Griffin & Lim 1984) and its fast variant (Perraudin,
 *    Balazs & Sondergaard 2013) in librosa's form: with R_n = STFT(iSTFT(C_{n-1}))
 *    the consistent rebuild, C_n = |S| u(R_n - beta R_{n-1}), u(z) = z/|z|,
 *    beta = alpha / (1 + alpha); alpha = 0 is the classic algorithm, 0.99 the
 *    usual fast setting. The output is iSTFT(C_N).
 * Spectral convergence: || |STFT(y)| - |S| ||_F / || |S| ||_F. */
#ifndef DSI_AUDIO_INVERT_H
#define DSI_AUDIO_INVERT_H

#include "audio/mel.h"
#include "audio/stft.h"
#include "core/status.h"

#include <stdint.h>

typedef enum dsi_melinv_method {
    DSI_MELINV_NNLS = 0, /* projected gradient from the clamped pseudo-inverse */
    DSI_MELINV_PINV = 1  /* clamped pseudo-inverse only */
} dsi_melinv_method;

/* The ridge-regularised pseudo-inverse of the filterbank, pinv [M][F] =
 * (fb fb^T + rI)^-1 fb (S ~ Mel . pinv), and (lmax may be NULL) the largest
 * eigenvalue of fb fb^T (the Lipschitz constant of the NNLS gradient).
 * Allocates scratch for the call. */
dsn_status dsi_mel_pinv(const float *fb, int M, int F, float *pinv, double *lmax);

/* The projection and momentum step of FISTA on S >= 0 after a gradient step
 * into s [n]: s = max(0, s); yk = max(0, s + beta (s - prev)) with beta from
 * the momentum sequence *t (start at 1; advanced here). */
void dsi_fista_project(float *s, float *yk, const float *prev, size_t n, double *t);

/* mel [T][M] -> spec [T][F] (same kind, power or magnitude, as the mel input).
 * n_iter: projected-gradient iterations for NNLS (e.g. 100). */
dsn_status dsi_mel_to_linear(const float *fb, int M, int F, const float *mel, int T, dsi_melinv_method method,
                             int n_iter, float *spec);

typedef struct dsi_gl_opts {
    int n_iter;       /* iterations (32) */
    float momentum;   /* 0: classic Griffin-Lim; 0.99: fast Griffin-Lim (default) */
    int random_init;  /* 1: uniform random phases from seed (default); 0: zero phase */
    uint64_t seed;
} dsi_gl_opts;

void dsi_gl_opts_default(dsi_gl_opts *o);

/* mag [T][F] magnitudes (F = s->n_bins) -> y [n]. spectral_convergence (may be
 * NULL) receives the measure for the returned signal. */
dsn_status dsi_griffin_lim(dsi_stft *s, const float *mag, int T, const dsi_gl_opts *o, float *y, size_t n,
                           float *spectral_convergence);

/* || |STFT(y)| - mag ||_F / ||mag||_F; T must equal dsi_stft_frames(s, n). */
dsn_status dsi_spectral_convergence(dsi_stft *s, const float *mag, int T, const float *y, size_t n, float *sc);

/* Features made by f (log/dB mel [T][n_mels]) -> audio y [n] at f->cfg.sr:
 * undo the log, invert the mel filterbank, take the square root of power,
 * Griffin-Lim. */
dsn_status dsi_features_to_audio(dsi_featurizer *f, const float *feat, int T, dsi_melinv_method method,
                                 int nnls_iter, const dsi_gl_opts *o, float *y, size_t n, float *spectral_convergence);

/* The same without allocation: a workspace for up to T_max frames of one
 * front end (the pseudo-inverse and its Lipschitz constant computed once,
 * all scratch), made by dsi_melinv_ws_init (allocates) and used by
 * dsi_features_to_audio_ws (no allocation; the same result as
 * dsi_features_to_audio). One thread at a time per workspace. */
typedef struct dsi_melinv_ws {
    int T_max, M, F;
    float *pinv; /* [M][F] */
    double lmax;
    float *buf;  /* mel, spec, NNLS and Griffin-Lim scratch */
} dsi_melinv_ws;
dsn_status dsi_melinv_ws_init(dsi_melinv_ws *w, const dsi_featurizer *f, int T_max);
void dsi_melinv_ws_free(dsi_melinv_ws *w);
dsn_status dsi_features_to_audio_ws(dsi_featurizer *f, dsi_melinv_ws *w, const float *feat, int T,
                                    dsi_melinv_method method, int nnls_iter, const dsi_gl_opts *o, float *y, size_t n);

#endif
