/* io.h - audio file input/output and simple signal conditioning (internal).
 *
 * Reading goes through libsndfile (any format it supports), mixes to mono and
 * optionally resamples with libsamplerate. The sample count is never taken
 * from the header: frames are read in blocks until the end of the data, so a
 * header claiming huge sizes cannot make us allocate more than the file holds.
 * Every failure (missing, unreadable, truncated header, zero channels, absurd
 * rates, no samples, NaN/Inf samples) returns a status and a message. */
#ifndef DSI_AUDIO_IO_H
#define DSI_AUDIO_IO_H

#include "core/status.h"

#include <stddef.h>

/* Longest signal we accept (mono samples after mixing): ~3.1 h at 48 kHz. */
#define DSI_AUDIO_MAX_SAMPLES ((size_t)1 << 29)
#define DSI_AUDIO_MAX_CHANNELS 256
#define DSI_AUDIO_MAX_RATE 1536000

typedef enum dsi_audio_format {
    DSI_AUDIO_AUTO = 0,      /* from the file extension: .flac -> FLAC 16-bit, else WAV 16-bit */
    DSI_AUDIO_WAV_PCM16 = 1,
    DSI_AUDIO_WAV_FLOAT = 2,
    DSI_AUDIO_FLAC_PCM16 = 3,
    DSI_AUDIO_FLAC_PCM24 = 4
} dsi_audio_format;

typedef enum dsi_resample_quality {
    DSI_RESAMPLE_BEST = 0,   /* libsamplerate SRC_SINC_BEST_QUALITY */
    DSI_RESAMPLE_MEDIUM = 1, /* SRC_SINC_MEDIUM_QUALITY (default) */
    DSI_RESAMPLE_FAST = 2    /* SRC_SINC_FASTEST */
} dsi_resample_quality;

/* Read `path`, mix all channels to mono (mean), and resample to target_sr
 * (0 keeps the file's rate). On success *x (dsi_free it), *n and *sr are set. */
dsn_status dsi_audio_read(const char *path, int target_sr, float **x, size_t *n, int *sr);

/* The same keeping the file's channels: *x holds *n frames of *channels
 * interleaved samples (nothing mixed). */
dsn_status dsi_audio_read_channels(const char *path, int target_sr, float **x, size_t *n, int *channels, int *sr);

/* Resample a mono signal; *y is dsi_malloc'ed, *ny its length
 * (round(n * sr_out / sr_in)). Same rates copy the input. */
dsn_status dsi_audio_resample(const float *x, size_t n, int sr_in, int sr_out,
                              dsi_resample_quality q, float **y, size_t *ny);

/* The same for n frames of `channels` interleaved samples. */
dsn_status dsi_audio_resample_channels(const float *x, size_t n, int channels, int sr_in, int sr_out,
                                       dsi_resample_quality q, float **y, size_t *ny);

/* Write a mono signal. Values are clipped to [-1, 1] for integer formats. */
dsn_status dsi_audio_write(const char *path, const float *x, size_t n, int sr, dsi_audio_format fmt);
/* Write n frames of `channels` (1 .. 256; FLAC 1 .. 8) interleaved samples. */
dsn_status dsi_audio_write_channels(const char *path, const float *x, size_t n, int channels, int sr,
                                    dsi_audio_format fmt);

/* Clips no model should learn from: silent (peak below 1e-4, -80 dBFS) or
 * clipped (a run of 4 or more equal samples at |x| >= 0.999: a flat top, not
 * a full-scale sine). Flags of x [n], and the reason as text (NULL for 0). */
#define DSI_AUDIO_SILENT 1u
#define DSI_AUDIO_CLIPPED 2u
#define DSI_AUDIO_SILENT_PEAK 1e-4f
#define DSI_AUDIO_CLIP_RUN 4u
unsigned dsi_audio_check(const float *x, size_t n);
const char *dsi_audio_check_reason(unsigned flags);

/* Scale so that max |x| == peak; returns the gain (1 for a silent signal). */
float dsi_audio_peak_normalize(float *x, size_t n, float peak);
/* Scale so that the RMS equals rms; returns the gain (1 for silence). */
float dsi_audio_rms_normalize(float *x, size_t n, float rms);

#endif
