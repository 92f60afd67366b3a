/* fuzz_audio.c - the audio reader: dsn_audio_read (libsndfile decoding WAV,
 * FLAC, Ogg Vorbis, MP3, ..., then the library's own checks: channel mix,
 * length and finiteness limits, resampling) and, on short clips, the
 * log-mel front end. Seeds: tiny WAV (PCM16, float), FLAC, Ogg Vorbis and
 * MP3 files (tests/fuzz/corpus/audio). */
#include "fuzz_common.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[320];
    fuzz_path("clip.audio", path, sizeof path);
    fuzz_write(path, data, size);
    dsn_clear_error();
    float *x = NULL;
    size_t n = 0;
    int rate = 0;
    dsn_status st = dsn_audio_read(&x, &n, &rate, path, 0);
    fuzz_check_status(st);
    if (st != DSN_OK) {
        if (x) abort();
        return 0;
    }
    if (rate <= 0) abort();
    /* the reader refuses non-finite samples: every one it returns is finite */
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) abort();
    dsn_audio_free(x);
    if (n < 24000) {
        /* the resampler and the features of the first quarter second (x is
         * left untouched by a failed read: reset it). Kept to short clips:
         * the time goes to libsamplerate's sinc filter, uninstrumented and
         * the same code for any length (up to 200 k samples it took 60 % of
         * the run time, at ~250 runs/s) */
        x = NULL;
        st = dsn_audio_read(&x, &n, &rate, path, 8000);
        fuzz_check_status(st);
        if (st == DSN_OK && n > 0) {
            size_t m = n < 2000 ? n : 2000, frames = 0, mels = 0;
            float feat[8 * 260];
            dsn_options *o;
            if (dsn_options_create(&o) != DSN_OK || dsn_options_parse(o, "n_fft=64, hop_length=32, n_mels=8") != DSN_OK)
                abort();
            fuzz_check_status(dsn_audio_features(feat, sizeof feat / sizeof feat[0], &frames, &mels, x, m, 8000, o));
            dsn_options_free(o);
        }
        dsn_audio_free(x);
    }
    return 0;
}
