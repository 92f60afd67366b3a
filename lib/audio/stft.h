/* stft.h - short-time Fourier transform with kissfft (internal).
 *
 * Conventions follow librosa/torch.stft so results can be checked against
 * numpy: a periodic window of win_length samples, zero-padded to n_fft and
 * centred; with `center`, the signal is reflect-padded by n_fft/2 on both
 * sides and frame t covers padded samples [t*hop, t*hop + n_fft), giving
 * 1 + n/hop frames. Without centering there are 1 + (n - n_fft)/hop frames.
 * Spectra are stored frame-major: [T][n_fft/2 + 1] complex values as
 * interleaved (re, im) floats. No normalisation on the forward transform; the
 * inverse undoes it exactly. */
#ifndef DSI_AUDIO_STFT_H
#define DSI_AUDIO_STFT_H

#include "core/status.h"

#include <stddef.h>

typedef enum dsi_window { DSI_WIN_HANN = 0, DSI_WIN_HAMMING = 1, DSI_WIN_RECT = 2 } dsi_window;

typedef struct dsi_stft {
    int n_fft, hop, win_length, center, n_bins;
    dsi_window window_type;
    float *window;       /* [n_fft], zero outside the centred win_length samples */
    void *fwd, *inv;     /* kiss_fftr configurations (memory owned here) */
    float *frame;        /* scratch [n_fft] */
    float *cbuf;         /* scratch [2 * n_bins] */
} dsi_stft;

/* win_length 0 means n_fft. n_fft must be even and >= 2; 1 <= hop;
 * 1 <= win_length <= n_fft. */
dsn_status dsi_stft_init(dsi_stft *s, int n_fft, int hop, int win_length, dsi_window window, int center);
void dsi_stft_free(dsi_stft *s);

/* Number of frames for a signal of n samples (0 if too short without centering). */
int dsi_stft_frames(const dsi_stft *s, size_t n);

/* Complex STFT: out [T][n_bins][2] with T = dsi_stft_frames(s, n). */
dsn_status dsi_stft_forward(dsi_stft *s, const float *x, size_t n, float *out);

/* |X|^power per bin (power 1: magnitude, 2: power): out [T][n_bins]. */
dsn_status dsi_stft_spectrogram(dsi_stft *s, const float *x, size_t n, int power, float *out);

/* Inverse STFT by weighted overlap-add divided by the sum of squared windows
 * (where that sum is > 1e-10): spec [T][n_bins][2] -> y [n]. With centering
 * the n_fft/2 padding is removed; n is the wanted output length (samples past
 * the last frame are zero). */
dsn_status dsi_stft_inverse(dsi_stft *s, const float *spec, int T, float *y, size_t n);

#endif
