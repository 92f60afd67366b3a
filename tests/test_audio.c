/* test_audio.c - audio front end: file I/O, resampling, STFT/iSTFT, mel
 * filterbanks, a numpy cross-check of the log-mel features, mel inversion and
 * Griffin-Lim, YIN, the dMelodies generator and renderer, datasets + cache. */
#include "audio/dataset.h"
#include "audio/dmelodies.h"
#include "audio/invert.h"
#include "audio/io.h"
#include "audio/mel.h"
#include "audio/stft.h"
#include "audio/yin.h"
#include "eval/metrics.h"
#include "core/alloc.h"
#include "core/endian.h"
#include "core/fileio.h"
#include "tensor/blas.h"
#include "support/testutil.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PI 3.14159265358979323846

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    if (n) ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* a "real-audio-like" signal: a few harmonic notes with attack/decay envelopes,
 * vibrato and a little noise */
static float *music_like(size_t n, int sr, uint64_t seed)
{
    dsi_rng r;
    dsi_rng_seed(&r, seed);
    float *x = calloc(n, sizeof(float));
    const double notes[] = {261.63, 329.63, 392.0, 523.25, 440.0, 349.23};
    size_t note_len = (size_t)(0.5 * sr);
    for (size_t i = 0; i < n; i++) {
        size_t k = i / note_len;
        double f0 = notes[k % 6], t = (double)(i % note_len) / sr;
        double env = (1.0 - exp(-t / 0.01)) * exp(-t / 0.3);
        double ph = 2 * PI * f0 * ((double)i / sr) + 0.3 * sin(2 * PI * 5.0 * (double)i / sr);
        double v = 0;
        for (int h = 1; h <= 8; h++) v += sin(h * ph) / (h * h);
        x[i] = (float)(0.5 * env * v + 0.003 * (dsi_rng_uniform(&r) - 0.5));
    }
    return x;
}

/* ---- STFT --------------------------------------------------------------- */

START_TEST(stft_istft_roundtrip)
{
    /* odd lengths, hops that do and do not divide n_fft, short and long windows */
    struct { int n_fft, hop, win; size_t n; dsi_window w; } cases[] = {
        {2048, 256, 0, 16000, DSI_WIN_HANN}, {512, 128, 400, 3001, DSI_WIN_HANN},
        {64, 16, 0, 257, DSI_WIN_HAMMING}, {256, 100, 0, 999, DSI_WIN_HANN}, {16, 4, 0, 9, DSI_WIN_HANN},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        dsi_stft s;
        ck_assert_int_eq(dsi_stft_init(&s, cases[c].n_fft, cases[c].hop, cases[c].win, cases[c].w, 1), DSN_OK);
        size_t n = cases[c].n;
        float *x = music_like(n, 16000, 7 + c);
        int T = dsi_stft_frames(&s, n);
        ck_assert_int_eq(T, 1 + (int)(n / cases[c].hop));
        float *X = malloc(sizeof(float) * 2 * T * s.n_bins), *y = malloc(sizeof(float) * n);
        ck_assert_int_eq(dsi_stft_forward(&s, x, n, X), DSN_OK);
        ck_assert_int_eq(dsi_stft_inverse(&s, X, T, y, n), DSN_OK);
        double err = 0, ref = 0;
        for (size_t i = 0; i < n; i++) {
            double d = fabs(y[i] - x[i]);
            if (d > err) err = d;
            if (fabs(x[i]) > ref) ref = fabs(x[i]);
        }
        ck_assert_msg(err <= 1e-5 * ref + 1e-6, "case %zu: max error %g (peak %g)", c, err, ref);
        free(x); free(X); free(y);
        dsi_stft_free(&s);
    }
}
END_TEST

START_TEST(stft_matches_naive_dft)
{
    /* one frame of a random signal against a direct DFT in double */
    dsi_rng r;
    dsi_rng_seed(&r, 11);
    const int nf = 30, hop = 7;
    const size_t n = 61;
    float x[61];
    tu_fill(&r, x, n);
    dsi_stft s;
    ck_assert_int_eq(dsi_stft_init(&s, nf, hop, 0, DSI_WIN_HANN, 1), DSN_OK);
    int T = dsi_stft_frames(&s, n), F = s.n_bins;
    float *X = malloc(sizeof(float) * 2 * T * F);
    ck_assert_int_eq(dsi_stft_forward(&s, x, n, X), DSN_OK);
    for (int t = 0; t < T; t++)
        for (int k = 0; k < F; k++) {
            double re = 0, im = 0;
            for (int i = 0; i < nf; i++) {
                long j = (long)t * hop - nf / 2 + i; /* reflect padding */
                if (j < 0) j = -j;
                if (j >= (long)n) j = 2 * ((long)n - 1) - j;
                double w = 0.5 - 0.5 * cos(2 * PI * i / nf);
                re += x[j] * w * cos(2 * PI * k * i / nf);
                im -= x[j] * w * sin(2 * PI * k * i / nf);
            }
            ck_assert_double_le(fabs(X[2 * (t * F + k)] - re), 1e-4);
            ck_assert_double_le(fabs(X[2 * (t * F + k) + 1] - im), 1e-4);
        }
    /* bad arguments: status, never a crash */
    dsi_stft_free(&s);
    ck_assert_int_eq(dsi_stft_init(&s, 31, 8, 0, DSI_WIN_HANN, 1), DSN_E_INVALID);
    ck_assert_int_eq(dsi_stft_init(&s, 32, 0, 0, DSI_WIN_HANN, 1), DSN_E_INVALID);
    ck_assert_int_eq(dsi_stft_init(&s, 32, 8, 64, DSI_WIN_HANN, 1), DSN_E_INVALID);
    ck_assert_int_eq(dsi_stft_init(&s, 32, 8, 0, DSI_WIN_HANN, 0), DSN_OK);
    ck_assert_int_eq(dsi_stft_forward(&s, x, 20, X), DSN_E_SHAPE); /* shorter than n_fft, no centering */
    dsi_stft_free(&s);
    free(X);
}
END_TEST

/* ---- mel filterbank ------------------------------------------------------ */

START_TEST(mel_filterbank_shape_and_coverage)
{
    const int sr = 16000, nf = 2048, M = 80, F = nf / 2 + 1;
    float *fb = malloc(sizeof(float) * M * F);
    for (int scale = 0; scale < 2; scale++)
        for (int norm = 0; norm < 2; norm++) {
            ck_assert_int_eq(dsi_mel_filterbank(fb, M, nf, sr, 0, 0, scale, norm), DSN_OK);
            double m0 = dsi_hz_to_mel(0, scale), m1 = dsi_hz_to_mel(sr / 2.0, scale);
            int prev_peak = -1;
            for (int m = 0; m < M; m++) {
                const float *row = fb + m * F;
                int peak = 0, first = -1, last = -1;
                double area = 0;
                for (int k = 0; k < F; k++) {
                    ck_assert(row[k] >= 0.0f);
                    if (row[k] > row[peak]) peak = k;
                    if (row[k] > 0) {
                        if (first < 0) first = k;
                        last = k;
                    }
                    area += row[k] * (sr / 2.0 / (F - 1));
                }
                /* every filter is non-empty, triangular (one peak, contiguous
                 * support) and the peaks move up */
                ck_assert_int_ge(first, 0);
                ck_assert_int_gt(peak, prev_peak);
                prev_peak = peak;
                for (int k = first; k < peak; k++) ck_assert(row[k] <= row[k + 1]);
                for (int k = peak; k < last; k++) ck_assert(row[k] >= row[k + 1]);
                /* support lies within the triangle's corner frequencies */
                double lo = dsi_mel_to_hz(m0 + (m1 - m0) * m / (M + 1.0), scale);
                double hi = dsi_mel_to_hz(m0 + (m1 - m0) * (m + 2) / (M + 1.0), scale);
                ck_assert_double_ge(first * (sr / 2.0 / (F - 1)), lo - 1e-6);
                ck_assert_double_le(last * (sr / 2.0 / (F - 1)), hi + 1e-6);
                if (norm) /* Slaney: unit area up to the bin discretisation (2% at the narrowest) */
                    ck_assert_double_le(fabs(area - 1.0), 0.05);
                else
                    ck_assert_double_le(row[peak], 1.0f + 1e-6f);
            }
            /* coverage: every bin from the first to the last centre frequency
             * gets weight from some filter; without normalisation adjacent
             * triangles sum to one there */
            double c0 = dsi_mel_to_hz(m0 + (m1 - m0) / (M + 1.0), scale);
            double c1 = dsi_mel_to_hz(m0 + (m1 - m0) * M / (M + 1.0), scale);
            for (int k = 0; k < F; k++) {
                double f = k * (sr / 2.0 / (F - 1));
                if (f < c0 || f > c1) continue;
                double sum = 0;
                for (int m = 0; m < M; m++) sum += fb[m * F + k];
                ck_assert_double_gt(sum, 0);
                if (!norm) ck_assert_double_le(fabs(sum - 1.0), 1e-4);
            }
        }
    /* known points of the two scales */
    ck_assert_double_le(fabs(dsi_hz_to_mel(1000, DSI_MEL_SLANEY) - 15.0), 1e-9);
    ck_assert_double_le(fabs(dsi_hz_to_mel(700, DSI_MEL_HTK) - 2595 * log10(2.0)), 1e-9);
    ck_assert_double_le(fabs(dsi_mel_to_hz(dsi_hz_to_mel(3210, DSI_MEL_SLANEY), DSI_MEL_SLANEY) - 3210), 1e-6);
    ck_assert_int_eq(dsi_mel_filterbank(fb, 0, nf, sr, 0, 0, 0, 0), DSN_E_INVALID);
    ck_assert_int_eq(dsi_mel_filterbank(fb, M, nf, sr, 5000, 4000, 0, 0), DSN_E_INVALID);
    free(fb);
}
END_TEST

/* ---- numpy cross-check ---------------------------------------------------- */

/* Directory of this test binary's build tree (BUILD/tests/.. -> BUILD). */
static const char *build_dir(void)
{
    static char dir[PATH_MAX];
    if (!dir[0]) {
        ssize_t k = readlink("/proc/self/exe", dir, sizeof dir - 1);
        if (k <= 0) return NULL;
        dir[k] = '\0';
        for (int up = 0; up < 2; up++) {
            char *sl = strrchr(dir, '/');
            if (sl) *sl = '\0';
        }
    }
    return dir;
}

/* Render two dMelodies clips with the tool (built with the tests) into
 * tmp/render; returns the path of the CSV or NULL if the tool is missing. */
static const char *rendered_clips(void)
{
    static char csv[600];
    static int done;
    if (done) return csv[0] ? csv : NULL;
    done = 1;
    char tool[PATH_MAX + 32], cmd[2 * PATH_MAX];
    snprintf(tool, sizeof tool, "%s/tools/dmelodies", build_dir());
    if (access(tool, X_OK) != 0) return NULL;
    snprintf(cmd, sizeof cmd, "%s --count 2 --instruments 40,56 --subset C4major --ts-filter --seed 5 --out %s/render --quiet",
             tool, tu_tmpdir());
    if (system(cmd) != 0) return NULL;
    snprintf(csv, sizeof csv, "%s/render/factors.csv", tu_tmpdir());
    if (access(csv, R_OK) != 0) csv[0] = '\0';
    return csv[0] ? csv : NULL;
}

/* A real clip (rendered violin) or, without the renderer, the music-like signal. */
static float *real_clip(size_t *n, const char **what)
{
    float *x = NULL;
    int sr = 0;
    if (rendered_clips()) {
        if (dsi_audio_read(tu_tmp_path("render/clip_00000.wav"), 16000, &x, n, &sr) == DSN_OK) {
            *what = "rendered dMelodies clip";
            float *y = malloc(*n * sizeof(float));
            memcpy(y, x, *n * sizeof(float));
            dsi_free(x);
            return y;
        }
    }
    *what = "synthetic music-like signal (renderer not built)";
    *n = 64000;
    return music_like(*n, 16000, 99);
}

START_TEST(logmel_matches_numpy)
{
    size_t n;
    const char *what;
    float *x = real_clip(&n, &what);
    const char *in = tu_tmp_path("mel_in.f32"), *out = tu_tmp_path("mel_out.f32");
    write_file(in, x, n * sizeof(float));
    struct { dsi_mel_scale scale; dsi_mel_norm norm; int power; dsi_feat_log log; } cases[] = {
        {DSI_MEL_HTK, DSI_MEL_NORM_NONE, 2, DSI_FEAT_LOG},       /* the reference setting */
        {DSI_MEL_SLANEY, DSI_MEL_NORM_SLANEY, 2, DSI_FEAT_DB},
        {DSI_MEL_HTK, DSI_MEL_NORM_SLANEY, 1, DSI_FEAT_LOG},
        {DSI_MEL_SLANEY, DSI_MEL_NORM_NONE, 2, DSI_FEAT_LINEAR},
    };
    const char *lognames[] = {"linear", "log", "db"};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        dsi_feat_cfg cfg;
        dsi_feat_cfg_default(&cfg);
        cfg.scale = cases[c].scale;
        cfg.norm = cases[c].norm;
        cfg.power = cases[c].power;
        cfg.log = cases[c].log;
        dsi_featurizer fz;
        ck_assert_int_eq(dsi_featurizer_init(&fz, &cfg), DSN_OK);
        int T = dsi_featurizer_frames(&fz, n), M = cfg.n_mels;
        float *a = malloc(sizeof(float) * T * M);
        ck_assert_int_eq(dsi_featurizer_run(&fz, x, n, a), DSN_OK);
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/audio/mel_ref.py %s %s %d %d %d %d %s %s %d %s %g",
                 DSN_SOURCE_DIR, in, out, cfg.sr, cfg.n_fft, cfg.hop, M, cfg.scale ? "slaney" : "htk",
                 cfg.norm ? "slaney" : "none", cfg.power, lognames[cfg.log], (double)cfg.eps);
        ck_assert_int_eq(system(cmd), 0);
        unsigned char *buf;
        size_t len;
        ck_assert_int_eq(dsi_read_file(out, (size_t)1 << 30, &buf, &len), DSN_OK);
        ck_assert_uint_eq(len, sizeof(float) * T * M);
        const float *b = (const float *)buf;
        /* Tolerance. Log/dB features: |c - numpy| <= 2e-3 absolute (natural log
         * or 0.01 dB) wherever the mel energy is above 1e-6 of the clip's
         * largest, and <= 5e-2 everywhere (deep-silence bins where float32
         * FFT round-off of ~1e-7 x frame energy dominates). Linear features:
         * |c - numpy| <= 1e-4 x the clip maximum. */
        double bmax = -INFINITY, worst = 0, worst_all = 0, lin_max = 0;
        for (int i = 0; i < T * M; i++) bmax = b[i] > bmax ? b[i] : bmax;
        for (int i = 0; i < T * M; i++) {
            double d = fabs((double)a[i] - b[i]);
            int loud;
            if (cfg.log == DSI_FEAT_LOG) loud = b[i] > bmax + log(1e-6);
            else if (cfg.log == DSI_FEAT_DB) loud = b[i] > bmax - (cfg.power == 2 ? 60 : 120);
            else loud = 1;
            if (loud && d > worst) worst = d;
            if (d > worst_all) worst_all = d;
            if (cfg.log == DSI_FEAT_LINEAR && d > lin_max) lin_max = d;
        }
        if (cfg.log == DSI_FEAT_LINEAR) {
            ck_assert_msg(lin_max <= 1e-4 * bmax, "%s: linear max diff %g (max %g)", what, lin_max, bmax);
        } else {
            double tol_loud = cfg.log == DSI_FEAT_DB ? 1e-2 : 2e-3, tol_all = cfg.log == DSI_FEAT_DB ? 0.2 : 5e-2;
            ck_assert_msg(worst <= tol_loud && worst_all <= tol_all, "%s case %zu: worst %g (loud), %g (all)", what,
                          c, worst, worst_all);
        }
        if (c == 0)
            fprintf(stderr, "logmel vs numpy (%s, %d frames): max |diff| %.3g (mel > 1e-6 max), %.3g (all)\n", what,
                    T, worst, worst_all);
        dsi_free(buf);
        free(a);
        dsi_featurizer_free(&fz);
    }
    free(x);
}
END_TEST

/* ---- file I/O ------------------------------------------------------------- */

START_TEST(wav_flac_roundtrip)
{
    const int sr = 22050;
    const size_t n = 12345;
    float *x = music_like(n, sr, 3);
    struct { const char *name; dsi_audio_format fmt; double tol; } cases[] = {
        {"rt16.wav", DSI_AUDIO_WAV_PCM16, 1.0 / 32768 + 1e-7}, {"rtf.wav", DSI_AUDIO_WAV_FLOAT, 0},
        {"rt16.flac", DSI_AUDIO_FLAC_PCM16, 1.0 / 32768 + 1e-7}, {"rt24.flac", DSI_AUDIO_FLAC_PCM24, 1.0 / 8388608 + 1e-7},
        {"auto.flac", DSI_AUDIO_AUTO, 1.0 / 32768 + 1e-7},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const char *p = tu_tmp_path(cases[c].name);
        ck_assert_int_eq(dsi_audio_write(p, x, n, sr, cases[c].fmt), DSN_OK);
        float *y = NULL;
        size_t m = 0;
        int rsr = 0;
        ck_assert_int_eq(dsi_audio_read(p, 0, &y, &m, &rsr), DSN_OK);
        ck_assert_uint_eq(m, n);
        ck_assert_int_eq(rsr, sr);
        double err = 0;
        for (size_t i = 0; i < n; i++) err = fmax(err, fabs(y[i] - x[i]));
        ck_assert_msg(err <= cases[c].tol, "%s: max error %g", cases[c].name, err);
        dsi_free(y);
    }
    /* a stereo file is mixed down to the mean of its channels */
    {
        const char *p = tu_tmp_path("stereo.wav");
        float st[2 * 100];
        for (int i = 0; i < 100; i++) {
            st[2 * i] = 0.5f * sinf(0.1f * i);
            st[2 * i + 1] = 0.25f;
        }
        /* write with libsndfile directly through a raw float WAV */
        unsigned char hdr[44];
        memcpy(hdr, "RIFF", 4);
        uint32_t v;
        v = 36 + sizeof st; memcpy(hdr + 4, &v, 4);
        memcpy(hdr + 8, "WAVEfmt ", 8);
        v = 16; memcpy(hdr + 16, &v, 4);
        uint16_t h = 3; memcpy(hdr + 20, &h, 2);          /* IEEE float */
        h = 2; memcpy(hdr + 22, &h, 2);                   /* channels */
        v = 8000; memcpy(hdr + 24, &v, 4);
        v = 8000 * 8; memcpy(hdr + 28, &v, 4);
        h = 8; memcpy(hdr + 32, &h, 2);
        h = 32; memcpy(hdr + 34, &h, 2);
        memcpy(hdr + 36, "data", 4);
        v = sizeof st; memcpy(hdr + 40, &v, 4);
        unsigned char file[44 + sizeof st];
        memcpy(file, hdr, 44);
        memcpy(file + 44, st, sizeof st);
        write_file(p, file, sizeof file);
        float *y;
        size_t m;
        int rsr;
        ck_assert_int_eq(dsi_audio_read(p, 0, &y, &m, &rsr), DSN_OK);
        ck_assert_uint_eq(m, 100);
        for (int i = 0; i < 100; i++) ck_assert_double_le(fabs(y[i] - 0.5 * (st[2 * i] + st[2 * i + 1])), 1e-7);
        dsi_free(y);
    }
    /* normalisation */
    float z[4] = {0.1f, -0.4f, 0.2f, 0.0f};
    dsi_audio_peak_normalize(z, 4, 1.0f);
    ck_assert_double_le(fabs(z[1] + 1.0), 1e-7);
    dsi_audio_rms_normalize(z, 4, 0.5f);
    double ms = 0;
    for (int i = 0; i < 4; i++) ms += z[i] * z[i];
    ck_assert_double_le(fabs(sqrt(ms / 4) - 0.5), 1e-6);
    free(x);
}
END_TEST

/* frequency of a sine by the zero-crossing rate over the middle of the signal */
static double sine_freq(const float *x, size_t n, int sr)
{
    size_t a = n / 10, b = n - n / 10, first = 0, last = 0, count = 0;
    for (size_t i = a; i + 1 < b; i++)
        if (x[i] <= 0 && x[i + 1] > 0) {
            double frac = i + (double)-x[i] / (x[i + 1] - x[i]);
            if (!count) first = i;
            (void)frac;
            last = i;
            count++;
        }
    return count > 1 ? (double)(count - 1) * sr / (double)(last - first) : 0;
}

START_TEST(resample_keeps_frequency)
{
    const int rates[][2] = {{44100, 16000}, {16000, 48000}, {22050, 16000}, {8000, 11025}};
    for (size_t c = 0; c < 4; c++) {
        int si = rates[c][0], so = rates[c][1];
        size_t n = (size_t)si; /* one second */
        float *x = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) x[i] = 0.8f * (float)sin(2 * PI * 440.0 * i / si);
        /* through a file, so dsi_audio_read's resampling path is covered */
        const char *p = tu_tmp_path("sine.wav");
        ck_assert_int_eq(dsi_audio_write(p, x, n, si, DSI_AUDIO_WAV_FLOAT), DSN_OK);
        float *y;
        size_t m;
        int sr;
        ck_assert_int_eq(dsi_audio_read(p, so, &y, &m, &sr), DSN_OK);
        ck_assert_int_eq(sr, so);
        ck_assert_uint_eq(m, (size_t)so);
        double f = sine_freq(y, m, so);
        ck_assert_msg(fabs(f - 440.0) < 0.5, "%d -> %d: %.3f Hz", si, so, f);
        /* amplitude kept (passband) */
        double pk = 0;
        for (size_t i = m / 10; i < m - m / 10; i++) pk = fmax(pk, fabs(y[i]));
        ck_assert_double_le(fabs(pk - 0.8), 0.01);
        dsi_free(y);
        free(x);
    }
    float one = 0.0f, *y;
    size_t m;
    ck_assert_int_eq(dsi_audio_resample(&one, 1, 0, 16000, DSI_RESAMPLE_MEDIUM, &y, &m), DSN_E_INVALID);
}
END_TEST

static void put16(unsigned char *p, unsigned v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char *p, uint32_t v) { put16(p, v & 0xffff); put16(p + 2, v >> 16); }

/* a 16-bit PCM WAV with the given header fields and `ndata` bytes of data */
static size_t make_wav(unsigned char *buf, uint32_t riff, unsigned ch, uint32_t sr, uint32_t datasz, size_t ndata)
{
    memcpy(buf, "RIFF", 4);
    put32(buf + 4, riff);
    memcpy(buf + 8, "WAVEfmt ", 8);
    put32(buf + 16, 16);
    put16(buf + 20, 1);
    put16(buf + 22, ch);
    put32(buf + 24, sr);
    put32(buf + 28, sr * 2 * ch);
    put16(buf + 32, 2 * ch);
    put16(buf + 34, 16);
    memcpy(buf + 36, "data", 4);
    put32(buf + 40, datasz);
    for (size_t i = 0; i < ndata; i++) buf[44 + i] = (unsigned char)(i * 37 + 1);
    return 44 + ndata;
}

START_TEST(bad_files_give_status)
{
    unsigned char buf[44 + 4096];
    struct { const char *name; size_t len; dsn_status want; const char *msg; } cases[8];
    int nc = 0;
    const char *p;
    float *x = NULL;
    size_t n;
    int sr;

    /* a good one first, to show the builder makes readable files */
    size_t len = make_wav(buf, 36 + 200, 1, 16000, 200, 200);
    p = tu_tmp_path("good.wav");
    write_file(p, buf, len);
    ck_assert_int_eq(dsi_audio_read(p, 0, &x, &n, &sr), DSN_OK);
    ck_assert_uint_eq(n, 100);
    dsi_free(x);

    p = tu_tmp_path("empty.wav");
    write_file(p, buf, 0);
    cases[nc++] = (__typeof__(cases[0])){"empty.wav", 0, DSN_E_FORMAT, "empty"};
    p = tu_tmp_path("trunc_header.wav");
    write_file(p, buf, 20);
    cases[nc++] = (__typeof__(cases[0])){"trunc_header.wav", 0, DSN_E_FORMAT, "cannot read audio"};
    len = make_wav(buf, 36 + 200, 0, 16000, 200, 200);
    write_file(tu_tmp_path("zero_channels.wav"), buf, len);
    cases[nc++] = (__typeof__(cases[0])){"zero_channels.wav", 0, DSN_E_FORMAT, "hannel"};
    len = make_wav(buf, 36 + 200, 60000, 16000, 200, 200);
    write_file(tu_tmp_path("many_channels.wav"), buf, len);
    cases[nc++] = (__typeof__(cases[0])){"many_channels.wav", 0, DSN_E_FORMAT, "hannel"};
    len = make_wav(buf, 0xFFFFFFF0u, 1, 16000, 0x7FFFFF00u, 200);
    write_file(tu_tmp_path("huge_sizes.wav"), buf, len);
    cases[nc++] = (__typeof__(cases[0])){"huge_sizes.wav", 0, DSN_E_FORMAT, "truncated"};
    len = make_wav(buf, 36 + 4000, 1, 16000, 4000, 1000);
    write_file(tu_tmp_path("trunc_data.wav"), buf, len);
    cases[nc++] = (__typeof__(cases[0])){"trunc_data.wav", 0, DSN_E_FORMAT, "truncated"};
    len = make_wav(buf, 36, 1, 16000, 0, 0);
    write_file(tu_tmp_path("no_samples.wav"), buf, len);
    cases[nc++] = (__typeof__(cases[0])){"no_samples.wav", 0, DSN_E_FORMAT, "no audio"};
    dsi_rng r;
    dsi_rng_seed(&r, 1234);
    for (size_t i = 0; i < 4096; i++) buf[i] = (unsigned char)dsi_rng_u64(&r);
    write_file(tu_tmp_path("random.wav"), buf, 4096);
    cases[nc++] = (__typeof__(cases[0])){"random.wav", 0, DSN_E_FORMAT, "cannot read audio"};

    for (int c = 0; c < nc; c++) {
        x = (float *)(uintptr_t)1; /* must stay untouched */
        dsn_status st = dsi_audio_read(tu_tmp_path(cases[c].name), 16000, &x, &n, &sr);
        ck_assert_msg(st == cases[c].want, "%s: status %d (%s)", cases[c].name, st, dsn_last_error());
        ck_assert_msg(strstr(dsn_last_error(), cases[c].msg) != NULL, "%s: message '%s'", cases[c].name,
                      dsn_last_error());
        ck_assert_ptr_eq(x, (float *)(uintptr_t)1);
    }
    ck_assert_int_eq(dsi_audio_read(tu_tmp_path("does_not_exist.wav"), 0, &x, &n, &sr), DSN_E_IO);
    ck_assert_int_eq(dsi_audio_read(tu_tmpdir(), 0, &x, &n, &sr), DSN_E_IO);
}
END_TEST


/* ---- inversion ------------------------------------------------------------ */

static float *harmonic_tone(size_t n, int sr, double f0)
{
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        double v = 0;
        for (int h = 1; h <= 6 && h * f0 < sr / 2.0; h++) v += sin(2 * PI * h * f0 * i / sr + 0.7 * h) / h;
        x[i] = (float)(0.3 * v);
    }
    return x;
}

START_TEST(mel_inversion_nnls)
{
    const int sr = 16000;
    const size_t n = 16000;
    float *x = music_like(n, sr, 5);
    dsi_feat_cfg cfg;
    dsi_feat_cfg_default(&cfg);
    cfg.log = DSI_FEAT_LINEAR;
    dsi_featurizer fz;
    ck_assert_int_eq(dsi_featurizer_init(&fz, &cfg), DSN_OK);
    int T = dsi_featurizer_frames(&fz, n), M = cfg.n_mels, F = fz.stft.n_bins;
    float *mel = malloc(sizeof(float) * T * M), *S = malloc(sizeof(float) * T * F), *re = malloc(sizeof(float) * T * M);
    ck_assert_int_eq(dsi_featurizer_run(&fz, x, n, mel), DSN_OK);
    double err[2];
    for (int method = 0; method < 2; method++) {
        ck_assert_int_eq(dsi_mel_to_linear(fz.fb, M, F, mel, T, method, 200, S), DSN_OK);
        for (int i = 0; i < T * F; i++) ck_assert(S[i] >= 0.0f);
        dsi_gemm(0, 1, T, M, F, 1.0f, S, F, fz.fb, F, 0.0f, re, M);
        double num = 0, den = 0;
        for (int i = 0; i < T * M; i++) {
            num += (re[i] - mel[i]) * (double)(re[i] - mel[i]);
            den += (double)mel[i] * mel[i];
        }
        err[method] = sqrt(num / den);
    }
    fprintf(stderr, "mel inversion relative residual: nnls %.3g, clamped pinv %.3g\n", err[0], err[1]);
    /* projected gradient improves on the clamped pseudo-inverse and fits the
     * mel energies to 1% */
    ck_assert_double_le(err[0], err[1]);
    ck_assert_double_le(err[0], 1e-2);
    free(x); free(mel); free(S); free(re);
    dsi_featurizer_free(&fz);
}
END_TEST

START_TEST(griffin_lim_converges)
{
    const int sr = 16000;
    const size_t n = 16000;
    float *x = harmonic_tone(n, sr, 220.0);
    dsi_stft s;
    ck_assert_int_eq(dsi_stft_init(&s, 2048, 256, 0, DSI_WIN_HANN, 1), DSN_OK);
    int T = dsi_stft_frames(&s, n), F = s.n_bins;
    float *mag = malloc(sizeof(float) * T * F), *y = malloc(sizeof(float) * n);
    ck_assert_int_eq(dsi_stft_spectrogram(&s, x, n, 1, mag), DSN_OK);
    dsi_gl_opts o;
    dsi_gl_opts_default(&o);
    float sc_fast, sc_classic, sc0;
    o.n_iter = 0;
    ck_assert_int_eq(dsi_griffin_lim(&s, mag, T, &o, y, n, &sc0), DSN_OK);
    o.n_iter = 100;
    o.momentum = 0.0f;
    ck_assert_int_eq(dsi_griffin_lim(&s, mag, T, &o, y, n, &sc_classic), DSN_OK);
    o.momentum = 0.99f;
    ck_assert_int_eq(dsi_griffin_lim(&s, mag, T, &o, y, n, &sc_fast), DSN_OK);
    fprintf(stderr, "Griffin-Lim, 220 Hz harmonic tone, 100 iterations: spectral convergence %.4f classic, %.4f fast "
                    "(random phase: %.3f)\n", sc_classic, sc_fast, sc0);
    ck_assert_float_lt(sc_classic, 0.25f);
    ck_assert_float_lt(sc_fast, 0.13f);
    ck_assert_float_lt(sc_fast, sc_classic);
    /* the pitch survives: YIN on the reconstruction finds 220 Hz */
    dsi_yin_opts yo;
    dsi_yin_opts_default(&yo);
    int TY = dsi_yin_frames(&yo, n);
    float *f0 = malloc(sizeof(float) * TY), *ref = malloc(sizeof(float) * TY);
    ck_assert_int_eq(dsi_yin(y, n, sr, &yo, f0, NULL), DSN_OK);
    for (int t = 0; t < TY; t++) ref[t] = (t > 4 && t < TY - 5) ? 220.0f : 0.0f;
    double rpa;
    dsi_pitch_accuracy(f0, ref, (size_t)TY, 50.0, &rpa, NULL, NULL);
    ck_assert_double_ge(rpa, 0.95);
    /* bad input */
    mag[3] = NAN;
    ck_assert_int_eq(dsi_griffin_lim(&s, mag, T, &o, y, n, NULL), DSN_E_NUMERIC);
    ck_assert_int_eq(dsi_griffin_lim(&s, mag, T - 1, &o, y, n, NULL), DSN_E_SHAPE);
    free(x); free(mag); free(y); free(f0); free(ref);
    dsi_stft_free(&s);
}
END_TEST

START_TEST(features_to_audio_chain)
{
    /* log-mel (reference settings) -> NNLS -> fast Griffin-Lim -> YIN */
    const int sr = 16000;
    const size_t n = 24000;
    float *x = harmonic_tone(n, sr, 330.0);
    dsi_feat_cfg cfg;
    dsi_feat_cfg_default(&cfg);
    dsi_featurizer fz;
    ck_assert_int_eq(dsi_featurizer_init(&fz, &cfg), DSN_OK);
    int T = dsi_featurizer_frames(&fz, n);
    float *feat = malloc(sizeof(float) * T * cfg.n_mels), *y = malloc(sizeof(float) * n);
    ck_assert_int_eq(dsi_featurizer_run(&fz, x, n, feat), DSN_OK);
    dsi_gl_opts o;
    dsi_gl_opts_default(&o);
    o.n_iter = 50;
    float sc;
    ck_assert_int_eq(dsi_features_to_audio(&fz, feat, T, DSI_MELINV_NNLS, 100, &o, y, n, &sc), DSN_OK);
    dsi_yin_opts yo;
    dsi_yin_opts_default(&yo);
    int TY = dsi_yin_frames(&yo, n);
    float *f0 = malloc(sizeof(float) * TY), *ref = malloc(sizeof(float) * TY);
    ck_assert_int_eq(dsi_yin(y, n, sr, &yo, f0, NULL), DSN_OK);
    for (int t = 0; t < TY; t++) ref[t] = (t > 4 && t < TY - 5) ? 330.0f : 0.0f;
    double rpa;
    dsi_pitch_accuracy(f0, ref, (size_t)TY, 50.0, &rpa, NULL, NULL);
    fprintf(stderr, "log-mel -> audio: spectral convergence %.3f (vs the NNLS magnitude), raw pitch accuracy %.3f\n",
            sc, rpa);
    ck_assert_double_ge(rpa, 0.9);
    free(x); free(feat); free(y); free(f0); free(ref);
    dsi_featurizer_free(&fz);
}
END_TEST

START_TEST(yin_on_sines)
{
    const int sr = 16000;
    const size_t n = 8000;
    const double freqs[] = {82.4, 196.0, 440.0, 987.8, 1760.0};
    dsi_yin_opts yo;
    dsi_yin_opts_default(&yo);
    int T = dsi_yin_frames(&yo, n);
    float *f0 = malloc(sizeof(float) * T), *ap = malloc(sizeof(float) * T);
    for (size_t c = 0; c < 5; c++) {
        float *x = harmonic_tone(n, sr, freqs[c]);
        ck_assert_int_eq(dsi_yin(x, n, sr, &yo, f0, ap), DSN_OK);
        for (int t = 4; t < T - 4; t++)
            ck_assert_msg(fabs(1200 * log2(f0[t] / freqs[c])) < 10, "%.1f Hz: frame %d gives %.2f", freqs[c], t,
                          (double)f0[t]);
        free(x);
    }
    float z[4000] = {0};
    ck_assert_int_eq(dsi_yin(z, 4000, sr, &yo, f0, ap), DSN_OK);
    ck_assert_float_eq(f0[3], 0.0f); /* silence is unvoiced */
    free(f0); free(ap);
}
END_TEST


/* ---- dMelodies ------------------------------------------------------------ */

START_TEST(dmelodies_generator)
{
    int prev[6] = {-1}, sl[6];
    for (int r = 0; r < DSI_DMEL_RHYTHMS; r++) {
        dsi_dmel_rhythm(r, sl);
        for (int i = 0; i < 6; i++) {
            ck_assert(sl[i] >= 0 && sl[i] < 8);
            if (i) ck_assert_int_lt(sl[i - 1], sl[i]);
        }
        if (r) { /* strictly increasing in lexicographic order */
            int k = 0;
            while (k < 6 && sl[k] == prev[k]) k++;
            ck_assert(k < 6 && sl[k] > prev[k]);
        }
        memcpy(prev, sl, sizeof sl);
    }
    dsi_dmel_rhythm(0, sl);
    ck_assert_int_eq(sl[5], 5);
    dsi_dmel_rhythm(27, sl);
    ck_assert_int_eq(sl[0], 2);
    /* C4 major, I up, IV down, V up, I down, rhythms 0 and 27 */
    dsi_dmel m = {.tonic = 0, .octave = 4, .scale = 0, .rhythm1 = 0, .rhythm2 = 27, .dir = {0, 1, 0, 1}};
    dsi_dmel_note nt[12];
    ck_assert_int_eq(dsi_dmel_notes(&m, nt), DSN_OK);
    const int want[12] = {60, 64, 67, 72, 69, 65, 67, 71, 74, 67, 64, 60};
    const int slots[12] = {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15};
    for (int i = 0; i < 12; i++) {
        ck_assert_int_eq(nt[i].pitch, want[i]);
        ck_assert_int_eq(nt[i].slot, slots[i]);
        ck_assert_double_eq(nt[i].onset, 0.25 * slots[i]);
    }
    ck_assert(dsi_dmel_ts_rhythm(&m));
    /* D#5 blues: root 75, positions 0 2 4 -> +0 +3 +6 */
    dsi_dmel b = {.tonic = 3, .octave = 5, .scale = 2};
    ck_assert_int_eq(dsi_dmel_notes(&b, nt), DSN_OK);
    ck_assert_int_eq(nt[0].pitch, 75);
    ck_assert_int_eq(nt[1].pitch, 78);
    ck_assert_int_eq(nt[2].pitch, 81);
    b.octave = 7;
    ck_assert_int_eq(dsi_dmel_notes(&b, nt), DSN_E_INVALID);
    /* index round trip over a stride of the space */
    for (uint64_t i = 0; i < DSI_DMEL_COUNT; i += 9973) {
        dsi_dmel x;
        dsi_dmel_from_index(i, &x);
        ck_assert(dsi_dmel_valid(&x));
        ck_assert_uint_eq(dsi_dmel_index(&x), i);
    }
    /* the TS-DSAE subset: C4 major, 21 x 21 rhythms x 16 directions */
    dsi_dmel_filter f;
    ck_assert_int_eq(dsi_dmel_parse_subset("C4major", &f), 0);
    ck_assert_int_eq(f.tonic, 0);
    ck_assert_int_eq(f.octave, 4);
    ck_assert_int_eq(f.scale, 0);
    f.ts_rhythm = 1;
    dsi_dmel a1[50], a2[50];
    int avail;
    ck_assert_int_eq(dsi_dmel_sample(&f, 9, 50, a1, &avail), DSN_OK);
    ck_assert_int_eq(avail, 21 * 21 * 16);
    ck_assert_int_eq(dsi_dmel_sample(&f, 9, 50, a2, NULL), DSN_OK);
    ck_assert_mem_eq(a1, a2, sizeof a1);
    for (int i = 0; i < 50; i++) {
        ck_assert(dsi_dmel_matches(&a1[i], &f));
        for (int j = 0; j < i; j++) ck_assert_uint_ne(dsi_dmel_index(&a1[i]), dsi_dmel_index(&a1[j]));
    }
    ck_assert_int_eq(dsi_dmel_sample(&f, 9, 7057, a1, NULL), DSN_E_INVALID);
    ck_assert_int_eq(dsi_dmel_parse_subset("D#5blues", &f), 0);
    ck_assert_int_eq(f.tonic, 3);
    ck_assert_int_eq(f.scale, 2);
    ck_assert_int_eq(dsi_dmel_parse_subset("minor", &f), 0);
    ck_assert_int_eq(f.tonic, -1);
    ck_assert_int_eq(f.scale, 1);
    ck_assert_int_eq(dsi_dmel_parse_subset("H7major", &f), -1);
}
END_TEST

/* factors of row `row` (0-based) of the renderer's CSV */
static int read_factors(const char *csv, int row, dsi_dmel *m, int *program)
{
    FILE *f = fopen(csv, "r");
    if (!f) return -1;
    char line[512];
    int r = -1, ok = -1;
    while (fgets(line, sizeof line, f)) {
        if (r++ != row) continue;
        char path[64], tonic[8], scale[32], d[4][8];
        if (sscanf(line, "%63[^,],%7[^,],%d,%31[^,],%d,%d,%7[^,],%7[^,],%7[^,],%7[^,],%d", path, tonic, &m->octave,
                   scale, &m->rhythm1, &m->rhythm2, d[0], d[1], d[2], d[3], program) != 11)
            break;
        dsi_dmel_filter flt;
        char spec[48];
        snprintf(spec, sizeof spec, "%s%s", tonic, scale);
        if (dsi_dmel_parse_subset(spec, &flt) != 0) break;
        m->tonic = flt.tonic;
        m->scale = flt.scale;
        for (int k = 0; k < 4; k++) m->dir[k] = !strcmp(d[k], "down");
        ok = 0;
        break;
    }
    fclose(f);
    return ok;
}

START_TEST(renderer_pitches)
{
    const char *csv = rendered_clips();
    if (!csv) {
        TU_SKIP("%s/tools/dmelodies not built", build_dir());
    }
    for (int clip = 0; clip < 2; clip++) {
        dsi_dmel m;
        int prog;
        ck_assert_int_eq(read_factors(csv, clip, &m, &prog), 0);
        ck_assert_int_eq(prog, clip == 0 ? 40 : 56);
        ck_assert_int_eq(m.tonic, 0);
        ck_assert_int_eq(m.octave, 4);
        ck_assert(dsi_dmel_ts_rhythm(&m));
        dsi_dmel_note nt[12];
        ck_assert_int_eq(dsi_dmel_notes(&m, nt), DSN_OK);
        char name[64];
        snprintf(name, sizeof name, "render/clip_%05d.wav", clip);
        float *x;
        size_t n;
        int sr;
        ck_assert_int_eq(dsi_audio_read(tu_tmp_path(name), 0, &x, &n, &sr), DSN_OK);
        ck_assert_int_eq(sr, 16000);
        ck_assert_uint_eq(n, 64000);
        float pk = 0;
        for (size_t i = 0; i < n; i++) pk = fmaxf(pk, fabsf(x[i]));
        ck_assert_double_le(fabs(pk - 1.0), 2.0 / 32768);
        /* YIN against the note list, ignoring 50 ms after each onset and the
         * last 60 ms of each note (attacks, and YIN windows reaching the next note) */
        dsi_yin_opts yo;
        dsi_yin_opts_default(&yo);
        int T = dsi_yin_frames(&yo, n);
        float *f0 = malloc(sizeof(float) * T), *ref = calloc(T, sizeof(float));
        ck_assert_int_eq(dsi_yin(x, n, sr, &yo, f0, NULL), DSN_OK);
        for (int t = 0; t < T; t++) {
            double tc = (double)t * yo.hop / sr;
            for (int k = 0; k < 12; k++)
                if (tc >= nt[k].onset + 0.05 && tc <= nt[k].onset + nt[k].duration - 0.06)
                    ref[t] = (float)dsi_midi_to_hz(nt[k].pitch);
        }
        size_t nv;
        double rpa;
        dsi_pitch_accuracy(f0, ref, (size_t)T, 50.0, &rpa, NULL, &nv);
        /* per note: the median YIN estimate over the note's frames must be
         * within 50 cents. Frame-wise accuracy is lower because the previous
         * note's release overlaps the next note (two pitches: YIN then finds
         * their common sub-harmonic). */
        int notes_ok = 0;
        for (int k = 0; k < 12; k++) {
            float v[64];
            int nvk = 0;
            for (int t = 0; t < T && nvk < 64; t++) {
                double tc = (double)t * yo.hop / sr;
                if (tc >= nt[k].onset + 0.05 && tc <= nt[k].onset + nt[k].duration - 0.06) v[nvk++] = f0[t];
            }
            for (int a = 1; a < nvk; a++) /* sort */
                for (int b = a; b > 0 && v[b] < v[b - 1]; b--) {
                    float tmp = v[b];
                    v[b] = v[b - 1];
                    v[b - 1] = tmp;
                }
            double med = nvk ? v[nvk / 2] : 0, want_hz = dsi_midi_to_hz(nt[k].pitch);
            if (med > 0 && fabs(1200 * log2(med / want_hz)) <= 50) notes_ok++;
        }
        fprintf(stderr, "rendered clip %d (GM %d): YIN raw pitch accuracy %.3f over %zu frames, %d/12 notes right\n",
                clip, prog, rpa, nv, notes_ok);
        if (getenv("DSN_DEBUG_YIN"))
            for (int t = 0; t < T; t++)
                if (ref[t] > 0) fprintf(stderr, "  %d %.1f %.1f\n", t, (double)ref[t], (double)f0[t]);
        ck_assert_int_eq(notes_ok, 12);
        ck_assert_double_ge(rpa, 0.75);
        free(f0);
        free(ref);
        dsi_free(x);
    }
    /* same seed, one thread instead of two: identical files */
    char cmd[2 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "%s/tools/dmelodies --count 2 --instruments 40,56 --subset C4major --ts-filter --seed 5 "
             "--threads 1 --out %s/render2 --quiet", build_dir(), tu_tmpdir());
    ck_assert_int_eq(system(cmd), 0);
    const char *files[] = {"clip_00000.wav", "clip_00001.wav", "factors.csv"};
    for (int i = 0; i < 3; i++) {
        char a[600], b[600];
        snprintf(a, sizeof a, "%s/render/%s", tu_tmpdir(), files[i]);
        snprintf(b, sizeof b, "%s/render2/%s", tu_tmpdir(), files[i]);
        unsigned char *da, *db;
        size_t la, lb;
        ck_assert_int_eq(dsi_read_file(a, 1 << 24, &da, &la), DSN_OK);
        ck_assert_int_eq(dsi_read_file(b, 1 << 24, &db, &lb), DSN_OK);
        ck_assert_uint_eq(la, lb);
        ck_assert_msg(memcmp(da, db, la) == 0, "%s differs between runs", files[i]);
        dsi_free(da);
        dsi_free(db);
    }
}
END_TEST

/* ---- datasets ----------------------------------------------------------- */

static void make_corpus(const char *dir)
{
    mkdir(dir, 0755);
    const double secs[3] = {4.0, 1.5, 2.2};
    for (int i = 0; i < 3; i++) {
        char p[1024];
        size_t n = (size_t)(secs[i] * 22050);
        float *x = music_like(n, 22050, 40 + i); /* 22.05 kHz: exercises resampling */
        snprintf(p, sizeof p, "%s/c%d.%s", dir, i, i == 1 ? "flac" : "wav");
        ck_assert_int_eq(dsi_audio_write(p, x, n, 22050, DSI_AUDIO_AUTO), DSN_OK);
        free(x);
    }
    char p[1024];
    snprintf(p, sizeof p, "%s/manifest.csv", dir);
    const char *csv = "path,instrument,\"note, quoted\"\nc0.wav,56,a\n\nc1.flac,40,\"b,x\"\r\nc2.wav,56,\n";
    write_file(p, csv, strlen(csv));
}

START_TEST(dataset_windows_labels_cache)
{
    char dir[600], csv[700], cache[700], setf[700];
    snprintf(dir, sizeof dir, "%s/corpus", tu_tmpdir());
    make_corpus(dir);
    snprintf(csv, sizeof csv, "%s/manifest.csv", dir);
    snprintf(cache, sizeof cache, "%s/feat.cache", tu_tmpdir());
    snprintf(setf, sizeof setf, "%s/set.dsa", tu_tmpdir());
    unlink(cache);
    dsi_audio_set_opts o;
    dsi_audio_set_opts_default(&o);
    o.T = 100;
    o.hop = 50;
    o.cache_path = cache;
    o.threads = 2;
    dsi_audio_set s;
    ck_assert_int_eq(dsi_audio_set_from_csv(&s, csv, &o), DSN_OK);
    ck_assert_int_eq(s.n_computed, 3);
    ck_assert_int_eq(s.n_cached, 0);
    ck_assert_int_eq(s.n_clips, 3);
    /* 4.0 s -> 251 frames: windows at 0, 50, 100, 150, 200 (the last has 51);
     * 1.5 s -> 94 frames: one padded window; 2.2 s -> 138: 0, 50 (88) */
    ck_assert_int_eq(s.clip_frames[0], 251);
    ck_assert_int_eq(s.clip_frames[1], 94);
    ck_assert_int_eq(s.clip_frames[2], 138);
    ck_assert_int_eq(s.n, 5 + 1 + 2);
    ck_assert_int_eq(s.T, 100);
    ck_assert_int_eq(s.n_mels, 80);
    const int lens[8] = {100, 100, 100, 100, 51, 94, 100, 88};
    const int starts[8] = {0, 50, 100, 150, 200, 0, 0, 50};
    for (int w = 0; w < 8; w++) {
        ck_assert_int_eq(s.lengths[w], lens[w]);
        ck_assert_int_eq(s.start[w], starts[w]);
        for (int t = 0; t < s.T; t++) {
            ck_assert_float_eq(s.mask[w * s.T + t], t < lens[w] ? 1.0f : 0.0f);
            if (t >= lens[w]) ck_assert_float_eq(s.x[((size_t)w * s.T + t) * 80 + 7], 0.0f);
        }
    }
    /* features equal a direct computation on the resampled audio */
    {
        float *x;
        size_t n;
        ck_assert_int_eq(dsi_audio_read(tu_tmp_path("corpus/c0.wav"), 16000, &x, &n, NULL), DSN_OK);
        dsi_featurizer fz;
        ck_assert_int_eq(dsi_featurizer_init(&fz, &o.feat), DSN_OK);
        float *ref = malloc(sizeof(float) * 251 * 80);
        ck_assert_int_eq(dsi_featurizer_run(&fz, x, n, ref), DSN_OK);
        /* not bitwise: the BLAS may pick other kernels when called from a worker thread */
        ck_assert_double_le(tu_max_rel_err(s.x + (size_t)1 * 100 * 80, ref + 50 * 80, 100 * 80), 1e-5);
        free(ref);
        dsi_free(x);
        dsi_featurizer_free(&fz);
    }
    /* labels and vocabularies (numeric columns sort numerically) */
    ck_assert_int_eq(s.n_label_cols, 2);
    int ci = dsi_audio_set_label_col(&s, "instrument"), cq = dsi_audio_set_label_col(&s, "note, quoted");
    ck_assert_int_eq(ci, 0);
    ck_assert_int_eq(cq, 1);
    ck_assert_int_eq(s.vocab_size[ci], 2);
    ck_assert_str_eq(s.vocab[ci][0], "40");
    ck_assert_str_eq(s.vocab[ci][1], "56");
    ck_assert_int_eq(s.labels[0 * 2 + ci], 1);
    ck_assert_int_eq(s.labels[5 * 2 + ci], 0);
    ck_assert_int_eq(s.labels[5 * 2 + cq], 1); /* "b,x" */
    ck_assert_str_eq(s.vocab[cq][1], "b,x");
    ck_assert_int_eq(s.labels[7 * 2 + cq], -1); /* empty cell */
    ck_assert_str_eq(s.clip_ids[1], "c1.flac");

    /* dataset file round trip */
    ck_assert_int_eq(dsi_audio_set_save(&s, setf), DSN_OK);
    dsi_audio_set l2;
    ck_assert_int_eq(dsi_audio_set_load(&l2, setf), DSN_OK);
    ck_assert_int_eq(l2.n, s.n);
    ck_assert_mem_eq(l2.x, s.x, sizeof(float) * s.n * s.T * s.n_mels);
    ck_assert_mem_eq(l2.mask, s.mask, sizeof(float) * s.n * s.T);
    ck_assert_mem_eq(l2.labels, s.labels, sizeof(int) * s.n * 2);
    ck_assert_str_eq(l2.vocab[1][1], "b,x");
    ck_assert_int_eq(dsi_feat_cfg_hash(&l2.feat) == dsi_feat_cfg_hash(&s.feat), 1);
    dsi_audio_set_free(&l2);
    /* damaged dataset files: status, no crash */
    {
        unsigned char *d;
        size_t len;
        ck_assert_int_eq(dsi_read_file(setf, 1 << 28, &d, &len), DSN_OK);
        d[len / 2] ^= 0x40;
        write_file(tu_tmp_path("bad.dsa"), d, len);
        ck_assert_int_eq(dsi_audio_set_load(&l2, tu_tmp_path("bad.dsa")), DSN_E_FORMAT);
        write_file(tu_tmp_path("bad.dsa"), d, 30);
        ck_assert_int_eq(dsi_audio_set_load(&l2, tu_tmp_path("bad.dsa")), DSN_E_FORMAT);
        dsi_free(d);
        /* stored front end settings out of range, with a valid CRC (fuzz_cache found a window
         * index of 5396224 read as an array index when the loaded set was turned into a
         * dataset): each enum field (window, scale, norm, log) and center refused on load */
        ck_assert_int_eq(dsi_read_file(setf, 1 << 28, &d, &len), DSN_OK);
        const size_t cfg_at = 8 + 4 + 5 * 4; /* magic, version, dims, then the 11 ints of the settings */
        const int fields[] = {4, 5, 8, 9, 10};
        for (int f = 0; f < 5; f++) {
            unsigned char *e = malloc(len);
            memcpy(e, d, len);
            dsi_put_u32(e + cfg_at + 4 * (size_t)fields[f], 5396224u);
            dsi_put_u32(e + len - 4, dsi_crc32(0, e, len - 4));
            write_file(tu_tmp_path("bad.dsa"), e, len);
            ck_assert_int_eq(dsi_audio_set_load(&l2, tu_tmp_path("bad.dsa")), DSN_E_FORMAT);
            ck_assert_ptr_nonnull(strstr(dsn_last_error(), "bad feature settings"));
            dsn_dataset *pub = NULL;
            ck_assert_int_eq(dsn_dataset_load_audio(&pub, tu_tmp_path("bad.dsa"), NULL), DSN_E_FORMAT);
            ck_assert_ptr_null(pub);
            free(e);
        }
        dsi_free(d);
    }
    dsi_audio_set_free(&s);

    /* second run: everything from the cache, same features */
    dsi_audio_set s2;
    ck_assert_int_eq(dsi_audio_set_from_csv(&s2, csv, &o), DSN_OK);
    ck_assert_int_eq(s2.n_cached, 3);
    ck_assert_int_eq(s2.n_computed, 0);
    ck_assert_int_eq(dsi_audio_set_load(&l2, setf), DSN_OK);
    ck_assert_mem_eq(l2.x, s2.x, sizeof(float) * s2.n * s2.T * s2.n_mels);
    dsi_audio_set_free(&l2);
    dsi_audio_set_free(&s2);

    /* near-empty tails: T 250 cuts the 251-frame clip into one window (the
     * last frame is counted as dropped, not made a 1-frame window); the two
     * shorter clips get one padded window each and are counted; min_tail 1
     * restores the old behaviour */
    {
        dsi_audio_set_opts o2 = o;
        o2.T = 250;
        o2.hop = 0;
        ck_assert_int_eq(dsi_audio_set_from_csv(&s2, csv, &o2), DSN_OK);
        ck_assert_int_eq(s2.n, 3);
        ck_assert_int_eq((int)s2.n_dropped_frames, 1);
        ck_assert_int_eq(s2.n_short_clips, 2);
        ck_assert_int_eq(s2.lengths[0], 250);
        dsi_audio_set_free(&s2);
        o2.min_tail = 1;
        ck_assert_int_eq(dsi_audio_set_from_csv(&s2, csv, &o2), DSN_OK);
        ck_assert_int_eq(s2.n, 4);
        ck_assert_int_eq(s2.lengths[1], 1);
        ck_assert_int_eq((int)s2.n_dropped_frames, 0);
        dsi_audio_set_free(&s2);
        o2.T = 100; /* hop 100: windows at 0, 100, 200 (51 frames, kept: >= 50) for c0 */
        o2.min_tail = 60;
        ck_assert_int_eq(dsi_audio_set_from_csv(&s2, csv, &o2), DSN_OK);
        ck_assert_int_eq(s2.clip_frames[0], 251);
        ck_assert_int_eq(s2.start[1], 100);
        ck_assert_int_eq(s2.clip[2], 1); /* the 51-frame tail of c0 is dropped */
        ck_assert_int_eq((int)s2.n_dropped_frames, 51 + 38); /* and the 38-frame tail of c2 */
        dsi_audio_set_free(&s2);
    }

    /* a changed file is recomputed (new mtime and size) */
    {
        float *x = music_like(30000, 22050, 77);
        ck_assert_int_eq(dsi_audio_write(tu_tmp_path("corpus/c2.wav"), x, 30000, 22050, DSI_AUDIO_WAV_PCM16), DSN_OK);
        free(x);
        ck_assert_int_eq(dsi_audio_set_from_csv(&s2, csv, &o), DSN_OK);
        ck_assert_int_eq(s2.n_computed, 1);
        ck_assert_int_eq(s2.n_cached, 2);
        dsi_audio_set_free(&s2);
    }
    /* changed settings: all recomputed */
    o.feat.n_mels = 64;
    ck_assert_int_eq(dsi_audio_set_from_csv(&s2, csv, &o), DSN_OK);
    ck_assert_int_eq(s2.n_computed, 3);
    ck_assert_int_eq(s2.n_mels, 64);
    dsi_audio_set_free(&s2);
    /* a damaged cache is ignored and rewritten */
    {
        unsigned char *d;
        size_t len;
        ck_assert_int_eq(dsi_read_file(cache, 1 << 28, &d, &len), DSN_OK);
        d[len - 100] ^= 1;
        write_file(cache, d, len);
        ck_assert_int_eq(dsi_audio_set_from_csv(&s2, csv, &o), DSN_OK);
        ck_assert_int_eq(s2.n_computed, 3);
        dsi_audio_set_free(&s2);
        write_file(cache, d, 17); /* truncated */
        ck_assert_int_eq(dsi_audio_set_from_csv(&s2, csv, &o), DSN_OK);
        ck_assert_int_eq(s2.n_computed, 3);
        dsi_audio_set_free(&s2);
        write_file(cache, "garbage", 7);
        ck_assert_int_eq(dsi_audio_set_from_csv(&s2, csv, &o), DSN_OK);
        ck_assert_int_eq(s2.n_computed, 3);
        dsi_audio_set_free(&s2);
        ck_assert_int_eq(dsi_audio_set_from_csv(&s2, csv, &o), DSN_OK);
        ck_assert_int_eq(s2.n_cached, 3);
        dsi_audio_set_free(&s2);
        dsi_free(d);
    }
    /* a folder: whole clips (T = longest), no labels */
    o.T = 0;
    o.cache_path = NULL;
    ck_assert_int_eq(dsi_audio_set_from_dir(&s2, dir, &o), DSN_OK);
    ck_assert_int_eq(s2.n, 3);
    ck_assert_int_eq(s2.T, 251);
    ck_assert_int_eq(s2.n_label_cols, 0);
    ck_assert_str_eq(s2.clip_ids[0], "c0.wav");
    dsi_audio_set_free(&s2);
    /* bad manifests and files */
    write_file(tu_tmp_path("corpus/bad.csv"), "path,label\nc0.wav,1,2\n", 22);
    ck_assert_int_eq(dsi_audio_set_from_csv(&s2, tu_tmp_path("corpus/bad.csv"), &o), DSN_E_FORMAT);
    write_file(tu_tmp_path("corpus/missing.csv"), "path\nnope.wav\n", 14);
    ck_assert_int_eq(dsi_audio_set_from_csv(&s2, tu_tmp_path("corpus/missing.csv"), &o), DSN_E_IO);
    write_file(tu_tmp_path("corpus/junk.wav"), "RIFFjunk", 8);
    write_file(tu_tmp_path("corpus/junk.csv"), "file\njunk.wav\n", 14);
    ck_assert_int_eq(dsi_audio_set_from_csv(&s2, tu_tmp_path("corpus/junk.csv"), &o), DSN_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "junk.wav"));
    ck_assert_int_eq(dsi_audio_set_from_csv(&s2, tu_tmp_path("corpus/none.csv"), &o), DSN_E_IO);
}
END_TEST

static Suite *audio_suite(void)
{
    Suite *s = suite_create("audio");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, stft_istft_roundtrip);
    tcase_add_test(tc, stft_matches_naive_dft);
    tcase_add_test(tc, mel_filterbank_shape_and_coverage);
    tcase_add_test(tc, logmel_matches_numpy);
    tcase_add_test(tc, wav_flac_roundtrip);
    tcase_add_test(tc, resample_keeps_frequency);
    tcase_add_test(tc, bad_files_give_status);
    tcase_add_test(tc, mel_inversion_nnls);
    tcase_add_test(tc, griffin_lim_converges);
    tcase_add_test(tc, features_to_audio_chain);
    tcase_add_test(tc, yin_on_sines);
    tcase_add_test(tc, dmelodies_generator);
    tcase_add_test(tc, renderer_pitches);
    tcase_add_test(tc, dataset_windows_labels_cache);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(audio_suite()) ? 1 : 0; }
