/* yin.h - YIN fundamental-frequency estimation (de Cheveigne & Kawahara 2002)
 * and raw pitch accuracy (internal; used by the tests and model evaluation).
 *
 * Frame t is centred on sample t*hop (zero outside the signal), like a
 * centred STFT with the same hop, so there are 1 + n/hop frames. For each
 * frame: difference d(tau) = sum_{j<W} (x_j - x_{j+tau})^2 over a window of
 * W samples, cumulative-mean normalisation d'(tau) = d(tau) tau / sum_{k<=tau}
 * d(k), the first tau in [sr/fmax, sr/fmin] with d' below max(threshold,
 * global minimum + 0.1) followed down to its local minimum (the relaxed
 * threshold keeps shallow true-period dips ahead of the deeper dips of their
 * multiples), and parabolic interpolation of the raw d. A frame whose
 * smallest d' exceeds max_aperiodicity, or a silent one, is unvoiced: f0 = 0. */
#ifndef DSI_AUDIO_YIN_H
#define DSI_AUDIO_YIN_H

#include "core/status.h"

#include <math.h>
#include <stddef.h>

typedef struct dsi_yin_opts {
    int window;       /* W, samples (1024 at 16 kHz) */
    int hop;          /* 256 */
    float fmin, fmax; /* search range in Hz (50, 2000) */
    float threshold;  /* 0.15 */
    float max_aperiodicity; /* frames whose smallest d' is above this are unvoiced (0.5) */
    float silence;    /* frames with RMS below this are unvoiced (1e-4) */
} dsi_yin_opts;

void dsi_yin_opts_default(dsi_yin_opts *o);
int dsi_yin_frames(const dsi_yin_opts *o, size_t n);
/* f0 [T] in Hz (0 = unvoiced); aperiodicity (may be NULL) [T]: d' at the chosen lag (1 if none). */
dsn_status dsi_yin(const float *x, size_t n, int sr, const dsi_yin_opts *o, float *f0, float *aperiodicity);

/* Raw pitch accuracy of an F0 track: dsi_pitch_accuracy (eval/metrics.h). */

static inline double dsi_midi_to_hz(double midi) { return 440.0 * pow(2.0, (midi - 69.0) / 12.0); }

#endif
