/* feat_opts.h - the audio front end's option keys (internal).
 *
 * One reader for every public call that takes feature settings
 * (dsn_dataset_from_audio, dsn_audio_features, dsn_mel_to_audio,
 * dsn_eval_swaps, dsn_stream_create, a model file's front end), so the keys,
 * their bounds and their defaults are the same everywhere and show in
 * dsn_option_describe("audio"). Keys and bounds:
 *   sample_rate [1000, 384000] Hz    n_fft [16, 65536], even
 *   hop_length [1, 65536]            win_length [0, 65536] (0 = n_fft; <= n_fft)
 *   window hann|hamming|rect         power [1, 2] (magnitude or power spectrogram)
 *   n_mels [1, 1024]                 fmin, fmax [0, 1e6] Hz (fmax 0 = Nyquist; fmin < fmax <= Nyquist)
 *   scale htk|slaney                 norm none|slaney
 *   log log|db|linear                eps [1e-12, 1] (log: ln(mel + eps), the log floor ln eps)
 *   amin [1e-20, 1] (db floor)       top_db [0, 200] (db: clip below the clip's max; 0 = off)
 * The front end written to a bag (dsi_feat_cfg_write) names every key with
 * its value, so a later change of a default cannot change what it means. */
#ifndef DSI_AUDIO_FEAT_OPTS_H
#define DSI_AUDIO_FEAT_OPTS_H

#include "audio/mel.h"
#include "core/options.h"

/* The keys of dsn_dataset_from_audio that are not feature settings
 * ("frames", "hop", "min_tail", "threads", "cache", "label", "bad_clips"),
 * NULL-terminated: calls that take a dataset's bag read and ignore them. */
extern const char *const dsi_audio_dataset_keys[];

/* Read the feature keys from r into c (what c holds is the default). */
void dsi_feat_cfg_read(dsi_optr *r, dsi_feat_cfg *c);
/* dsi_feat_cfg_check plus the cross-key bounds (fmin < fmax <= Nyquist). */
dsn_status dsi_feat_cfg_validate(const dsi_feat_cfg *c);
/* Every feature key of c into o (replacing earlier values); frames > 0 adds
 * "frames". */
dsn_status dsi_feat_cfg_write(const dsi_feat_cfg *c, int frames, struct dsn_options *o);
/* c from a bag (defaults for absent keys, n_mels that of "n_mels"; other
 * keys: DSN_E_OPTION unless listed in also, a NULL-terminated list of keys
 * to accept and ignore), then dsi_feat_cfg_validate. */
dsn_status dsi_feat_cfg_from(dsi_feat_cfg *c, const struct dsn_options *o, const char *context, int n_mels,
                             const char *const *also);

#endif
