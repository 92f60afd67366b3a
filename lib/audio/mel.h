/* mel.h - mel filterbanks and log-mel features (internal).
 *
 * The filterbank follows librosa.filters.mel / torchaudio melscale_fbanks:
 * n_mels + 2 points equally spaced on the mel scale between fmin and fmax,
 * triangles over the n_fft/2+1 bin frequencies linspace(0, sr/2), and with
 * Slaney ("area") normalisation each triangle is scaled by 2 / (f[i+2] - f[i]).
 *   HTK:    mel = 2595 log10(1 + f / 700)
 *   Slaney: mel = 3 f / 200 below 1 kHz, 15 + 27 ln(f / 1000) / ln 6.4 above.
 * Features: spec = |STFT|^power (power 1 or 2), mel = spec . fb^T (one gemm),
 * then log(mel + eps) or 10 log10(max(mel, amin)) (dB, with optional top_db
 * clipping below the maximum of the clip). */
#ifndef DSI_AUDIO_MEL_H
#define DSI_AUDIO_MEL_H

#include "audio/stft.h"
#include "core/status.h"

#include <stdint.h>

typedef enum dsi_mel_scale { DSI_MEL_HTK = 0, DSI_MEL_SLANEY = 1 } dsi_mel_scale;
typedef enum dsi_mel_norm { DSI_MEL_NORM_NONE = 0, DSI_MEL_NORM_SLANEY = 1 } dsi_mel_norm;
typedef enum dsi_feat_log {
    DSI_FEAT_LINEAR = 0, /* mel energies as they are */
    DSI_FEAT_LOG = 1,    /* ln(mel + eps) */
    DSI_FEAT_DB = 2      /* 10 log10(max(mel, amin)), power dB (20 log10 for magnitude) */
} dsi_feat_log;

double dsi_hz_to_mel(double hz, dsi_mel_scale scale);
double dsi_mel_to_hz(double mel, dsi_mel_scale scale);

/* fb [n_mels][n_fft/2+1]. fmax <= 0 means sr/2. */
dsn_status dsi_mel_filterbank(float *fb, int n_mels, int n_fft, int sr, double fmin, double fmax,
                              dsi_mel_scale scale, dsi_mel_norm norm);

/* Every setting that changes the features (the cache key hashes all of it). */
typedef struct dsi_feat_cfg {
    int sr;           /* audio is resampled to this rate (16000) */
    int n_fft;        /* 2048 */
    int hop;          /* 256 */
    int win_length;   /* 0 = n_fft */
    dsi_window window;/* Hann */
    int center;       /* 1: reflect-pad n_fft/2 each side */
    int power;        /* 2: power spectrogram, 1: magnitude */
    int n_mels;       /* 80 */
    float fmin, fmax; /* 0, 0 (= sr/2) */
    dsi_mel_scale scale;  /* HTK */
    dsi_mel_norm norm;    /* none */
    dsi_feat_log log;     /* ln(mel + eps) */
    float eps;            /* 1e-6 */
    float amin;           /* dB floor, 1e-10 */
    float top_db;         /* dB: clip to max - top_db; 0 = off */
} dsi_feat_cfg;

/* The reference settings: 16 kHz, n_fft 2048, hop 256, Hann, centred,
 * 80 HTK mels without normalisation, power, ln(mel + 1e-6). */
void dsi_feat_cfg_default(dsi_feat_cfg *c);
dsn_status dsi_feat_cfg_check(const dsi_feat_cfg *c);
/* 64-bit FNV-1a hash of the fields (in a fixed byte order). */
uint64_t dsi_feat_cfg_hash(const dsi_feat_cfg *c);

/* The STFT plan of c (centred when c->center) and its mel filterbank
 * *fb [n_mels][n_bins] (dsi_aligned_alloc; free with dsi_aligned_free), the
 * front of the clip featurizer and of the streaming analysis (c already
 * checked by dsi_feat_cfg_check). On failure nothing is left allocated
 * (*fb NULL, the plan freed). */
dsn_status dsi_feat_front_init(const dsi_feat_cfg *c, dsi_stft *stft, float **fb);

typedef struct dsi_featurizer {
    dsi_feat_cfg cfg;
    dsi_stft stft;
    float *fb;      /* [n_mels][n_bins] */
    float *spec;    /* scratch [cap_frames][n_bins] */
    int cap_frames;
} dsi_featurizer;

dsn_status dsi_featurizer_init(dsi_featurizer *f, const dsi_feat_cfg *c);
void dsi_featurizer_free(dsi_featurizer *f);
/* Frames produced for n samples (at cfg.sr). */
int dsi_featurizer_frames(const dsi_featurizer *f, size_t n);
/* x [n] at cfg.sr -> out [T][n_mels], T = dsi_featurizer_frames(f, n). */
dsn_status dsi_featurizer_run(dsi_featurizer *f, const float *x, size_t n, float *out);

/* Undo the log/dB step (eps subtracted and clamped at 0 for DSI_FEAT_LOG);
 * in place, n values. For dB with top_db the clipped values stay clipped. */
void dsi_feat_undo_log(const dsi_feat_cfg *c, float *x, size_t n);

#endif
