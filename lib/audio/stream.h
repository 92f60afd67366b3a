/* stream.h - real-time audio front and back end for streaming models (internal).
 *
 *   host rate --down-resampler--> feature rate --analysis--> complex spectrum X_t
 *   and log-mel x_t per frame --frame callback (a model: x_t -> y_t)--> synthesis:
 *   y_t -> mel energies -> linear power by per-frame NNLS -> magnitude |S_t| with
 *   the input frame's own phase X_t / |X_t| -> iFFT -> windowed overlap-add
 *   --up-resampler--> host rate --> a FIFO primed with `prefill` zeros.
 *
 * Frames follow the offline front end (audio/mel.h, centred STFT): frame t is
 * centred on feature-rate sample t * hop, its window covers
 * [t hop - n_fft/2, t hop + n_fft/2) and the part before sample 0 is the
 * reflection of the signal, so every frame that does not reach past the end of
 * a clip equals the offline frame. The overlap-add divides by the summed
 * squared windows like dsi_stft_inverse, so a pass-through callback rebuilds
 * the input exactly (at equal rates): the chain delays the signal by
 * dsi_rt_chain_latency samples and nothing else.
 *
 * Init allocates everything; dsi_rt_chain_process allocates nothing, takes no
 * lock, makes no system call and does work bounded by max_block. */
#ifndef DSI_AUDIO_STREAM_H
#define DSI_AUDIO_STREAM_H

#include "audio/io.h"
#include "audio/mel.h"
#include "audio/stft.h"
#include "core/status.h"

#include <stdint.h>

/* ---- a streaming resampler (libsamplerate) ---- */
typedef struct dsi_rt_resampler {
    void *src;       /* SRC_STATE; NULL when the rates are equal (copy) */
    double ratio;    /* output rate / input rate */
    double delay;    /* signal delay in output samples, measured at init */
    int lag;         /* most output samples held back at any time, measured at init */
} dsi_rt_resampler;

/* Rates in [1000, 768000] with a ratio libsamplerate accepts (1/256..256). */
dsn_status dsi_rt_resampler_init(dsi_rt_resampler *r, int rate_in, int rate_out, dsi_resample_quality q);
void dsi_rt_resampler_free(dsi_rt_resampler *r);
void dsi_rt_resampler_reset(dsi_rt_resampler *r);
/* Consume all n inputs and write what is ready (at most cap) to out; returns
 * the count, or -1 if out was too small or libsamplerate failed (the rest is
 * dropped). No allocation. */
long dsi_rt_resample(dsi_rt_resampler *r, float *out, long cap, const float *in, long n);

/* ---- streaming analysis: samples in, frames out ---- */
typedef struct dsi_rt_analysis {
    dsi_feat_cfg cfg;
    dsi_stft stft;      /* window, FFT plans and scratch */
    int n_bins, n_mels;
    float *fb;          /* [n_mels][n_bins] */
    int *lo, *hi;       /* non-zero bins [lo, hi) of each mel filter */
    float *ring;        /* [n_fft] the latest samples, index = sample mod n_fft */
    int64_t n_in;       /* samples received */
    int64_t next;       /* next frame index */
    float *spec;        /* [n_bins][2] complex spectrum of the latest frame */
    float *feat;        /* [n_mels] its features (log-mel) */
} dsi_rt_analysis;

/* Settings as for the offline featurizer; center must be 1 and the log mode
 * ln or dB without top_db (a per-clip maximum cannot stream). */
dsn_status dsi_rt_analysis_init(dsi_rt_analysis *a, const dsi_feat_cfg *c);
void dsi_rt_analysis_free(dsi_rt_analysis *a);
void dsi_rt_analysis_reset(dsi_rt_analysis *a);
/* Add one sample; returns 1 when it completes a frame (a->spec and a->feat
 * then hold frame a->next - 1), else 0. */
int dsi_rt_analysis_push(dsi_rt_analysis *a, float x);

/* ---- streaming synthesis: frames in, samples out ---- */
typedef struct dsi_rt_synthesis {
    const dsi_rt_analysis *an; /* settings, window, filterbank, FFT plans */
    float *pinv;        /* [n_mels][n_bins] filterbank pseudo-inverse */
    float step;         /* NNLS step 1 / L */
    int nnls_iter;
    float *ola, *wsum;  /* [n_fft] rings: overlap-added samples and squared windows */
    int64_t frames;     /* frames added */
    int64_t next_out;   /* next sample to finalise */
    float *lin, *prev, *yk, *res, *mel, *frame, *cbuf; /* scratch */
} dsi_rt_synthesis;

/* nnls_iter: projected-gradient iterations per frame (0 = clamped pinv). */
dsn_status dsi_rt_synthesis_init(dsi_rt_synthesis *s, const dsi_rt_analysis *an, int nnls_iter);
void dsi_rt_synthesis_free(dsi_rt_synthesis *s);
void dsi_rt_synthesis_reset(dsi_rt_synthesis *s);
/* Complex spectrum cspec [n_bins][2] of features feat [n_mels] (log-mel as
 * the analysis makes them) with the phase of phase [n_bins][2] (bins of zero
 * magnitude take phase 0). */
void dsi_rt_synthesis_spectrum(dsi_rt_synthesis *s, float *cspec, const float *feat, const float *phase);
/* Overlap-add the next frame's spectrum and write the samples it completes to
 * out (at most n_fft); returns their count. */
int dsi_rt_synthesis_add(dsi_rt_synthesis *s, float *out, const float *cspec);

/* ---- the chain ---- */
/* The per-frame model: y [n_mels] from x [n_mels]. Return 0 to synthesise y,
 * 1 to pass the input frame through unchanged (bypass, or a frame the model
 * could not make). Runs on the audio thread: no allocation, no lock. */
typedef int (*dsi_rt_frame_fn)(void *user, float *y, const float *x);

typedef struct dsi_rt_chain {
    int host_rate, rate;
    size_t max_block;
    dsi_rt_resampler down, up;
    dsi_rt_analysis an;
    dsi_rt_synthesis syn;
    dsi_rt_frame_fn fn;
    void *user;
    float *hin, *mid, *mout, *up_buf, *y, *cspec; /* scratch */
    long cap_mid, cap_mout, cap_up;
    float *fifo;        /* host-rate output ring */
    size_t fifo_cap, fifo_r, fifo_n;
    size_t prefill;     /* zeros the FIFO starts with */
    size_t latency;     /* prefill + the resamplers' signal delay, host samples */
    uint64_t xruns, bad_samples, bad_frames;
} dsi_rt_chain;

/* c: feature settings (c->sr is the feature rate); host_rate; max_block: most
 * samples per process call; q: resampler quality. */
dsn_status dsi_rt_chain_init(dsi_rt_chain *ch, const dsi_feat_cfg *c, int host_rate, size_t max_block,
                             dsi_resample_quality q, int nnls_iter, dsi_rt_frame_fn fn, void *user);
void dsi_rt_chain_free(dsi_rt_chain *ch);
void dsi_rt_chain_reset(dsi_rt_chain *ch);
/* n <= max_block samples in, n out (out may equal in). Non-finite and
 * denormal input samples are read as 0 (counted in bad_samples). */
void dsi_rt_chain_process(dsi_rt_chain *ch, float *out, const float *in, size_t n);

#endif
