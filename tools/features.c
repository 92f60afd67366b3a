/* features - compute log-mel features for a folder or CSV manifest into a
 * dataset file (lib/audio/dataset.c format) that the models read.
 *
 *   features (--manifest FILE.csv | --dir DIR) --out SET.dsa [--cache FILE]
 *            [--T frames] [--hop frames] [--threads N] [--sr 16000]
 *            [--n-fft 2048] [--hop-length 256] [--n-mels 80]
 *            [--scale htk|slaney] [--norm none|slaney] [--power 1|2]
 *            [--log log|db|linear] [--eps 1e-6] [--fmin HZ] [--fmax HZ]
 *
 * Defaults are the reference settings (16 kHz, n_fft 2048, hop 256, Hann,
 * 80 HTK mels, power, ln(mel + 1e-6), whole clips). With --cache a second
 * run reuses the features of unchanged files. */
#include "audio/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(void)
{
    fprintf(stderr, "usage: features (--manifest FILE.csv | --dir DIR) --out SET.dsa [--cache FILE] [--T frames]\n"
                    "       [--hop frames] [--min-tail frames] [--threads N] [--sr HZ] [--n-fft N] [--hop-length N] [--win-length N]\n"
                    "       [--n-mels N] [--scale htk|slaney] [--norm none|slaney] [--power 1|2]\n"
                    "       [--log log|db|linear] [--eps E] [--top-db DB] [--fmin HZ] [--fmax HZ] [--quiet]\n");
}

int main(int argc, char **argv)
{
    dsi_audio_set_opts o;
    dsi_audio_set_opts_default(&o);
    o.threads = 2;
    const char *manifest = NULL, *dir = NULL, *out = NULL;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(a, name) && v && (i++, 1))
        if (ARG("--manifest")) manifest = v;
        else if (ARG("--dir")) dir = v;
        else if (ARG("--out")) out = v;
        else if (ARG("--cache")) o.cache_path = v;
        else if (ARG("--T")) o.T = atoi(v);
        else if (ARG("--hop")) o.hop = atoi(v);
        else if (ARG("--min-tail")) o.min_tail = atoi(v);
        else if (ARG("--threads")) o.threads = atoi(v);
        else if (ARG("--sr")) o.feat.sr = atoi(v);
        else if (ARG("--n-fft")) o.feat.n_fft = atoi(v);
        else if (ARG("--hop-length")) o.feat.hop = atoi(v);
        else if (ARG("--win-length")) o.feat.win_length = atoi(v);
        else if (ARG("--n-mels")) o.feat.n_mels = atoi(v);
        else if (ARG("--power")) o.feat.power = atoi(v);
        else if (ARG("--eps")) o.feat.eps = (float)atof(v);
        else if (ARG("--top-db")) o.feat.top_db = (float)atof(v);
        else if (ARG("--fmin")) o.feat.fmin = (float)atof(v);
        else if (ARG("--fmax")) o.feat.fmax = (float)atof(v);
        else if (ARG("--scale")) {
            if (!strcmp(v, "htk")) o.feat.scale = DSI_MEL_HTK;
            else if (!strcmp(v, "slaney")) o.feat.scale = DSI_MEL_SLANEY;
            else return usage(), 2;
        } else if (ARG("--norm")) {
            if (!strcmp(v, "none")) o.feat.norm = DSI_MEL_NORM_NONE;
            else if (!strcmp(v, "slaney")) o.feat.norm = DSI_MEL_NORM_SLANEY;
            else return usage(), 2;
        } else if (ARG("--log")) {
            if (!strcmp(v, "log")) o.feat.log = DSI_FEAT_LOG;
            else if (!strcmp(v, "db")) o.feat.log = DSI_FEAT_DB;
            else if (!strcmp(v, "linear")) o.feat.log = DSI_FEAT_LINEAR;
            else return usage(), 2;
        } else if (!strcmp(a, "--quiet")) quiet = 1;
        else return usage(), 2;
#undef ARG
    }
    if ((!manifest) == (!dir) || !out) return usage(), 2;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dsi_audio_set s;
    dsn_status st = manifest ? dsi_audio_set_from_csv(&s, manifest, &o) : dsi_audio_set_from_dir(&s, dir, &o);
    if (st != DSN_OK) {
        fprintf(stderr, "features: %s: %s\n", dsn_status_string(st), dsn_last_error());
        return 1;
    }
    st = dsi_audio_set_save(&s, out);
    if (st != DSN_OK) {
        fprintf(stderr, "features: %s: %s\n", dsn_status_string(st), dsn_last_error());
        dsi_audio_set_free(&s);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    if (!quiet) {
        printf("features: %d clips (%d computed, %d from cache) -> %d windows of %d x %d in %s, %.2f s\n", s.n_clips,
               s.n_computed, s.n_cached, s.n, s.T, s.n_mels, out, sec);
        if (s.n_dropped_frames)
            printf("  %zu tail frames in no window (tails shorter than --min-tail, default T/2)\n", s.n_dropped_frames);
        if (s.n_short_clips) printf("  %d clips shorter than T: one padded, masked window each\n", s.n_short_clips);
        if (s.n_silent_clips || s.n_clipped_clips)
            printf("  %d silent and %d clipped clips (kept: filter them or train with bad_clips)\n", s.n_silent_clips,
                   s.n_clipped_clips);
        for (int k = 0; k < s.n_label_cols; k++) {
            printf("  label '%s': %d classes (", s.label_names[k], s.vocab_size[k]);
            for (int j = 0; j < s.vocab_size[k] && j < 8; j++) printf("%s%s", j ? " " : "", s.vocab[k][j]);
            printf("%s)\n", s.vocab_size[k] > 8 ? " ..." : "");
        }
    }
    dsi_audio_set_free(&s);
    return 0;
}
