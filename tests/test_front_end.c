/* test_front_end.c - a model's audio front end (dsn_model_audio): set,
 * saved and loaded, taken by dsn_fit from the training set, used by features
 * at another sample rate and by streams; the "audio" option table; MP3
 * (constant and variable bitrate, made by lame at test time); multichannel
 * read and write; bad input of dsn_dataset_from_audio (missing column,
 * missing label, single class, silent / clipped / short clips). */
#include "disent.h"
#include "support/testutil.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846
#define SEQ "frames=6, n_mels=8, v_dim=2, z_dim=2, hidden=5, encoder_lstm=3, dec_hidden=4, " \
            "local_encoder=lstm, local_context=0, z_norm=none"

static dsn_options *opts(const char *text)
{
    dsn_options *o = NULL;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(o, text), DSN_OK);
    return o;
}

static dsn_model *seq_model(void)
{
    dsn_options *o = opts(SEQ);
    dsn_model *m = NULL;
    ck_assert_int_eq(dsn_model_create(&m, "ts-dsae", o), DSN_OK);
    dsn_options_free(o);
    return m;
}

static const char *tmp(const char *name)
{
    static char buf[8][700];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tu_tmpdir(), name);
    return buf[k];
}

static void same_bag(const dsn_options *a, const dsn_options *b)
{
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(dsn_options_count(a), dsn_options_count(b));
    for (size_t i = 0; i < dsn_options_count(a); i++) {
        const char *k = dsn_options_key(a, i);
        ck_assert_ptr_nonnull(dsn_options_get(b, k));
        ck_assert_str_eq(dsn_options_get(a, k), dsn_options_get(b, k));
    }
}

/* a sine (with its 2nd harmonic) of n samples at sr, amplitude amp */
static float *tone(size_t n, int sr, double f, double amp)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(amp * (0.8 * sin(2 * PI * f * (double)i / sr) + 0.2 * sin(4 * PI * f * (double)i / sr)));
    return x;
}

static void write_tone(const char *name, size_t n, int sr, double f, double amp)
{
    float *x = tone(n, sr, f, amp);
    ck_assert_int_eq(dsn_audio_write(tmp(name), x, n, sr, NULL), DSN_OK);
    free(x);
}

START_TEST(model_file_keeps_front_end)
{
    dsn_model *m = seq_model();
    ck_assert_ptr_null(dsn_model_audio(m));
    dsn_options *fe = opts("sample_rate=8000, n_fft=256, hop_length=64, window=hamming, power=1, log=db, top_db=80, "
                           "cache=/tmp/x, threads=2"); /* dataset keys are accepted and not stored */
    ck_assert_int_eq(dsn_model_set_audio(m, fe), DSN_OK);
    dsn_options_free(fe);
    const dsn_options *a = dsn_model_audio(m);
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(dsn_options_get(a, "sample_rate"), "8000");
    ck_assert_str_eq(dsn_options_get(a, "frames"), "6");
    ck_assert_str_eq(dsn_options_get(a, "n_mels"), "8");
    ck_assert_str_eq(dsn_options_get(a, "fmax"), "4000"); /* resolved: 0 = Nyquist */
    ck_assert_str_eq(dsn_options_get(a, "win_length"), "256");
    ck_assert_str_eq(dsn_options_get(a, "window"), "hamming");
    ck_assert_str_eq(dsn_options_get(a, "log"), "db");
    ck_assert_ptr_null(dsn_options_get(a, "cache"));
    ck_assert_uint_eq(dsn_options_count(a), 16);
    ck_assert_int_eq(dsn_model_save(m, NULL, tmp("fe.dsn")), DSN_OK);
    dsn_model *l = NULL;
    ck_assert_int_eq(dsn_model_load(&l, tmp("fe.dsn")), DSN_OK);
    same_bag(a, dsn_model_audio(l));
    /* removed, and a file without one loads without one */
    ck_assert_int_eq(dsn_model_set_audio(l, NULL), DSN_OK);
    ck_assert_ptr_null(dsn_model_audio(l));
    ck_assert_int_eq(dsn_model_save(l, NULL, tmp("fe0.dsn")), DSN_OK);
    dsn_model_free(l);
    ck_assert_int_eq(dsn_model_load(&l, tmp("fe0.dsn")), DSN_OK);
    ck_assert_ptr_null(dsn_model_audio(l));
    dsn_model_free(l);
    dsn_model_free(m);
    /* the golden files (written before model files had a front end) load without one */
    const char *golden[] = {"dsae", "ts-dsae", "ml-vae", "vq-vae"};
    for (int i = 0; i < 4; i++) {
        char p[800];
        snprintf(p, sizeof p, "%s/tests/data/golden/%s.dsn", DSN_SOURCE_DIR, golden[i]);
        ck_assert_msg(dsn_model_load(&l, p) == DSN_OK, "%s: %s", p, dsn_last_error());
        ck_assert_ptr_null(dsn_model_audio(l));
        dsn_model_free(l);
    }
}
END_TEST

/* clips at 8 kHz, 0.5 s (63 frames at hop 64) and a manifest with labels */
static const char *make_set(void)
{
    write_tone("c0.wav", 4000, 8000, 220, 0.5);
    write_tone("c1.wav", 4000, 8000, 330, 0.4);
    write_tone("c2.wav", 4000, 8000, 440, 0.3);
    write_tone("c3.wav", 4000, 8000, 550, 0.3);
    FILE *f = fopen(tmp("set.csv"), "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "path,inst\nc0.wav,a\nc1.wav,b\nc2.wav,a\nc3.wav,b\n");
    fclose(f);
    return tmp("set.csv");
}

START_TEST(fit_takes_the_data_front_end)
{
    const char *csv = make_set();
    dsn_options *ao = opts("frames=6, min_tail=4, sample_rate=8000, n_fft=256, hop_length=64, n_mels=8, label=inst");
    dsn_dataset *ds = NULL;
    ck_assert_msg(dsn_dataset_from_audio(&ds, csv, ao) == DSN_OK, "%s", dsn_last_error());
    dsn_options_free(ao);
    const dsn_options *da = dsn_dataset_audio(ds);
    ck_assert_ptr_nonnull(da);
    ck_assert_str_eq(dsn_options_get(da, "n_fft"), "256");
    ck_assert_str_eq(dsn_options_get(da, "frames"), "6");
    ck_assert_uint_eq(dsn_dataset_counter(ds, "clips"), 4);
    ck_assert_uint_eq(dsn_dataset_counter(ds, "windows"), 4 * 10); /* 63 frames: 10 windows of 6, the 3-frame tail
                                                                     * is shorter than min_tail: left out */
    ck_assert_uint_eq(dsn_dataset_counter(ds, "dropped_frames"), 4 * 3);
    ck_assert_uint_eq(dsn_dataset_counter(ds, "computed_clips"), 4);
    dsn_dataset *tr = NULL, *va = NULL;
    ck_assert_int_eq(dsn_dataset_split(ds, &tr, &va, 0.25, 1, 0), DSN_OK);
    same_bag(da, dsn_dataset_audio(tr));
    same_bag(da, dsn_dataset_audio(va));
    ck_assert_uint_eq(dsn_dataset_counter(tr, "clips"), 4);
    ck_assert_uint_eq(dsn_dataset_counter(va, "dropped_frames"), 12);

    dsn_model *m = seq_model();
    dsn_optimizer *opt = NULL;
    ck_assert_int_eq(dsn_optimizer_create(&opt, m, "adam", NULL), DSN_OK);
    char fit_text[900];
    snprintf(fit_text, sizeof fit_text, "epochs=1, batch_size=8, log=%s", tmp("fit.jsonl"));
    dsn_options *fo = opts(fit_text);
    ck_assert_msg(dsn_fit(m, opt, tr, va, fo, NULL, NULL) == DSN_OK, "%s", dsn_last_error());
    same_bag(da, dsn_model_audio(m));
    /* the training log says how the data was built: a "data" record with the counts and the front end */
    char logtext[8192] = "";
    FILE *lf = fopen(tmp("fit.jsonl"), "r");
    ck_assert_ptr_nonnull(lf);
    size_t got = fread(logtext, 1, sizeof logtext - 1, lf);
    logtext[got] = 0;
    fclose(lf);
    const char *rec = strstr(logtext, "{\"event\":\"data\"");
    ck_assert_ptr_nonnull(rec);
    ck_assert_ptr_nonnull(strstr(rec, "\"clips\":4,"));
    ck_assert_ptr_nonnull(strstr(rec, "\"dropped_frames\":12,")); /* a split logs how its whole set was built */
    ck_assert_ptr_nonnull(strstr(rec, "\"front_end\":\"sample_rate=8000, n_fft=256,"));
    dsn_options_free(fo);
    fo = opts("epochs=1, batch_size=8");
    /* a set made with other settings is refused, naming the key */
    dsn_dataset *other = NULL;
    ao = opts("frames=6, sample_rate=8000, n_fft=512, hop_length=64, n_mels=8");
    ck_assert_int_eq(dsn_dataset_from_audio(&other, csv, ao), DSN_OK);
    dsn_options_free(ao);
    ck_assert_int_eq(dsn_fit(m, opt, other, NULL, fo, NULL, NULL), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "n_fft = 512"));
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "n_fft = 256"));
    ck_assert_int_eq(dsn_fit(m, opt, tr, other, fo, NULL, NULL), DSN_E_INVALID); /* validation vs training set */
    dsn_options_free(fo);
    dsn_dataset_free(other);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
    dsn_dataset_free(tr);
    dsn_dataset_free(va);
    dsn_dataset_free(ds);
}
END_TEST

START_TEST(features_at_another_rate)
{
    dsn_model *m = seq_model();
    dsn_options *fe = opts("sample_rate=8000, n_fft=256, hop_length=64");
    ck_assert_int_eq(dsn_model_set_audio(m, fe), DSN_OK);
    dsn_options_free(fe);
    const dsn_options *a = dsn_model_audio(m);
    /* the same tone recorded at 8 and at 44.1 kHz: the model's features of both agree */
    float *x8 = tone(8000, 8000, 440, 0.5), *x44 = tone(44100, 44100, 440, 0.5);
    size_t t8 = 0, t44 = 0, nm = 0;
    ck_assert_int_eq(dsn_audio_features(NULL, 0, &t8, &nm, x8, 8000, 8000, a), DSN_OK);
    ck_assert_int_eq(dsn_audio_features(NULL, 0, &t44, NULL, x44, 44100, 44100, a), DSN_OK);
    ck_assert_uint_eq(nm, 8);
    ck_assert_uint_eq(t8, 1 + 8000 / 64);
    ck_assert_uint_eq(t44, t8);
    float *f8 = malloc(t8 * nm * sizeof *f8), *f44 = malloc(t8 * nm * sizeof *f44);
    ck_assert_int_eq(dsn_audio_features(f8, t8 * nm, &t8, NULL, x8, 8000, 8000, a), DSN_OK);
    ck_assert_int_eq(dsn_audio_features(f44, t8 * nm, &t44, NULL, x44, 44100, 44100, a), DSN_OK);
    double worst = 0;
    for (size_t t = 2; t + 2 < t8; t++) /* away from the edges (resampler ramp-up) */
        for (size_t k = 0; k < nm; k++) {
            double v = f8[t * nm + k];
            if (v < -10) continue; /* ln of near-empty bands, close to the floor ln(1e-6) */
            double d = fabs(v - f44[t * nm + k]);
            if (d > worst) worst = d;
        }
    printf("model front end: 44.1 kHz input resampled to 8 kHz, max |log-mel diff| %.4f\n", worst);
    ck_assert_double_lt(worst, 0.01); /* measured 0.0012 */
    /* decoding back at the model's rate and hop */
    size_t ns = 0;
    ck_assert_int_eq(dsn_mel_to_audio(NULL, 0, &ns, f8, t8, nm, a), DSN_OK);
    ck_assert_uint_eq(ns, (t8 - 1) * 64);
    ck_assert_int_eq(dsn_mel_to_audio(NULL, 0, &ns, f8, t8, 7, a), DSN_E_SHAPE); /* not the model's mels */
    /* impossible inputs */
    ck_assert_int_eq(dsn_audio_features(NULL, 0, &t8, NULL, x8, 8000, 0, a), DSN_E_INVALID);
    ck_assert_int_eq(dsn_audio_features(NULL, 0, &t8, NULL, x8, 0, 8000, a), DSN_E_SHAPE);
    free(x8), free(x44), free(f8), free(f44);
    dsn_model_free(m);
}
END_TEST

START_TEST(stream_uses_the_model_front_end)
{
    dsn_model *m = seq_model();
    dsn_options *fe = opts("sample_rate=8000, n_fft=256, hop_length=64");
    ck_assert_int_eq(dsn_model_set_audio(m, fe), DSN_OK);
    dsn_options_free(fe);
    float v[2] = {0.1f, -0.2f};
    dsn_stream *s = NULL;
    ck_assert_msg(dsn_stream_create(&s, m, 48000, 256, v, 2, NULL) == DSN_OK, "%s", dsn_last_error());
    ck_assert_uint_eq(dsn_stream_counter(s, "feature_rate"), 8000);
    ck_assert_uint_eq(dsn_stream_counter(s, "n_fft"), 256);
    ck_assert_uint_eq(dsn_stream_counter(s, "hop"), 64);
    dsn_stream_free(s);
    dsn_options *so = opts("n_fft=256, sample_rate=8000"); /* repeating the model's settings is fine */
    ck_assert_int_eq(dsn_stream_create(&s, m, 48000, 256, v, 2, so), DSN_OK);
    dsn_stream_free(s);
    dsn_options_free(so);
    so = opts("n_fft=512"); /* contradicting them is not */
    s = (dsn_stream *)1;
    ck_assert_int_eq(dsn_stream_create(&s, m, 48000, 256, v, 2, so), DSN_E_OPTION);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "n_fft = 512"));
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "n_fft = 256"));
    dsn_options_free(so);
    dsn_model_free(m);
}
END_TEST

START_TEST(eval_uses_the_model_front_end)
{
    const char *csv = make_set();
    dsn_model *m = seq_model();
    dsn_options *fe = opts("sample_rate=8000, n_fft=256, hop_length=64");
    ck_assert_int_eq(dsn_model_set_audio(m, fe), DSN_OK);
    dsn_options_free(fe);
    dsn_swap_eval r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    dsn_options *eo = opts("label=inst, pitch_clips=0"); /* no feature keys: the model's */
    ck_assert_msg(dsn_eval_swaps(&r, m, csv, eo) == DSN_OK, "%s", dsn_last_error());
    ck_assert_uint_eq(r.n_eval, 4 * 11); /* 63 frames at hop 64 of 8 kHz: 11 windows of 6 per clip */
    dsn_options_free(eo);
    eo = opts("label=inst, pitch_clips=0, hop_length=128");
    ck_assert_int_eq(dsn_eval_swaps(&r, m, csv, eo), DSN_E_OPTION);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "hop_length = 64"));
    dsn_options_free(eo);
    dsn_model_free(m);
}
END_TEST

START_TEST(audio_option_table)
{
    size_t n = 0;
    ck_assert_int_eq(dsn_option_count(&n, "audio"), DSN_OK);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        dsn_option_info in = DSN_OPTION_INFO_INIT;
        ck_assert_int_eq(dsn_option_describe(&in, "audio", i), DSN_OK);
        ck_assert_ptr_nonnull(in.doc);
        ck_assert_msg(strcmp(in.doc, "(undocumented)"), "audio key %s has no doc", in.key);
        if (!strcmp(in.key, "power")) {
            ck_assert_str_eq(in.type, "int");
            ck_assert_double_eq(in.min, 1);
            ck_assert_double_eq(in.max, 2);
            ck_assert_str_eq(in.default_value, "2");
            seen |= 1;
        } else if (!strcmp(in.key, "window")) {
            ck_assert_str_eq(in.choices, "hann|hamming|rect");
            seen |= 2;
        } else if (!strcmp(in.key, "log")) {
            ck_assert_str_eq(in.choices, "linear|log|db");
            ck_assert_str_eq(in.default_value, "log");
            seen |= 4;
        } else if (!strcmp(in.key, "eps")) {
            ck_assert_double_gt(in.min, 0);
            seen |= 8;
        } else if (!strcmp(in.key, "win_length") || !strcmp(in.key, "bad_clips") || !strcmp(in.key, "top_db")) {
            seen |= 16;
        }
    }
    ck_assert_int_eq(seen, 31);
    ck_assert_uint_ge(n, 22);
    /* every front-end key: its default is accepted, a value past a bound refused naming it */
    static const char *dataset_keys[] = {"frames", "hop", "min_tail", "threads", "cache", "label", "bad_clips"};
    float *x = tone(4000, 16000, 440, 0.5);
    int checked = 0;
    for (size_t i = 0; i < n; i++) {
        dsn_option_info in = DSN_OPTION_INFO_INIT;
        ck_assert_int_eq(dsn_option_describe(&in, "audio", i), DSN_OK);
        int ds_key = 0;
        for (size_t k = 0; k < sizeof dataset_keys / sizeof *dataset_keys; k++) ds_key |= !strcmp(in.key, dataset_keys[k]);
        if (ds_key) continue;
        dsn_options *o = NULL;
        size_t t = 0;
        ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
        ck_assert_int_eq(dsn_options_set(o, in.key, in.default_value), DSN_OK);
        ck_assert_msg(dsn_audio_features(NULL, 0, &t, NULL, x, 4000, 16000, o) == DSN_OK, "%s = %s: %s", in.key,
                      in.default_value, dsn_last_error());
        if (!strcmp(in.type, "int") || !strcmp(in.type, "float")) {
            char v[64];
            snprintf(v, sizeof v, !strcmp(in.type, "float") ? "%.17g" : "%.0f",
                     !strcmp(in.type, "float") ? in.max * 1.01 + 1e-3 : in.max + 1);
            ck_assert_int_eq(dsn_options_set(o, in.key, v), DSN_OK);
            ck_assert_msg(dsn_audio_features(NULL, 0, &t, NULL, x, 4000, 16000, o) == DSN_E_OPTION, "%s = %s accepted",
                          in.key, v);
            ck_assert_ptr_nonnull(strstr(dsn_last_error(), in.key));
            checked++;
        }
        dsn_options_free(o);
    }
    ck_assert_int_ge(checked, 10);
    free(x);
}
END_TEST

/* frames libsndfile's header promises and frames it decodes */
static void sf_counts(const char *path, long long *promised, long long *decoded)
{
    SF_INFO in;
    memset(&in, 0, sizeof in);
    SNDFILE *f = sf_open(path, SFM_READ, &in);
    ck_assert_msg(f != NULL, "%s: %s", path, sf_strerror(NULL));
    float b[4096];
    long long n = 0;
    sf_count_t g;
    while ((g = sf_readf_float(f, b, 4096 / in.channels)) > 0) n += g;
    sf_close(f);
    *promised = in.frames;
    *decoded = n;
}

START_TEST(mp3_cbr_and_vbr)
{
    if (system("command -v lame >/dev/null 2>&1") != 0)
        ck_abort_msg("lame is not installed (scripts/setup-deps.sh installs it): the MP3 test needs it");
    /* 2 s of stereo at 44.1 kHz */
    const size_t n = 88200;
    float *l = tone(n, 44100, 440, 0.5), *st = malloc(2 * n * sizeof *st);
    for (size_t i = 0; i < n; i++) st[2 * i] = l[i], st[2 * i + 1] = 0.5f * l[i];
    ck_assert_int_eq(dsn_audio_write_channels(tmp("mp3src.wav"), st, n, 2, 44100, NULL), DSN_OK);
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "lame --quiet -t -b 128 --cbr '%s' '%s' && lame --quiet -V 2 '%s' '%s'",
             tmp("mp3src.wav"), tmp("cbr.mp3"), tmp("mp3src.wav"), tmp("vbr.mp3"));
    ck_assert_int_eq(system(cmd), 0);
    /* the constant-bitrate file without an Info tag: the header overestimates */
    long long promised, decoded;
    sf_counts(tmp("cbr.mp3"), &promised, &decoded);
    printf("CBR MP3 without a tag: libsndfile promises %lld frames, decodes %lld\n", promised, decoded);
    ck_assert_int_gt(promised, decoded); /* the case that a strict check rejected */
    const char *files[2] = {tmp("cbr.mp3"), tmp("vbr.mp3")};
    for (int k = 0; k < 2; k++) {
        float *x = NULL;
        size_t got = 0;
        int rate = 0, ch = 0;
        ck_assert_msg(dsn_audio_read(&x, &got, &rate, files[k], 0) == DSN_OK, "%s: %s", files[k], dsn_last_error());
        ck_assert_int_eq(rate, 44100);
        ck_assert_uint_ge(got, n);            /* encoder delay and padding add, never remove */
        ck_assert_uint_le(got, n + 4 * 1152);
        dsn_audio_free(x);
        ck_assert_int_eq(dsn_audio_read_channels(&x, &got, &ch, &rate, files[k], 16000), DSN_OK);
        ck_assert_int_eq(ch, 2);
        ck_assert_int_eq(rate, 16000);
        double el = 0, er = 0; /* the right channel is half the left */
        for (size_t i = 0; i < got; i++) el += fabs(x[2 * i]), er += fabs(x[2 * i + 1]);
        ck_assert_double_lt(fabs(er / el - 0.5), 0.02);
        dsn_audio_free(x);
    }
    free(l), free(st);
}
END_TEST

START_TEST(multichannel_write_read)
{
    const size_t n = 8000;
    const int C = 3;
    float *x = malloc(n * C * sizeof *x);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < C; c++) x[i * C + c] = (float)((0.5 - 0.1 * c) * sin(2 * PI * (220.0 * (c + 1)) * i / 8000.0));
    const char *names[3] = {"mc.wav", "mc.flac", "mcf.wav"};
    const char *fmt[3] = {NULL, NULL, "format=wav_float"};
    const double tol[3] = {1.0 / 32768 + 1e-6, 1.0 / 32768 + 1e-6, 0};
    for (int k = 0; k < 3; k++) {
        dsn_options *o = fmt[k] ? opts(fmt[k]) : NULL;
        ck_assert_int_eq(dsn_audio_write_channels(tmp(names[k]), x, n, C, 8000, o), DSN_OK);
        dsn_options_free(o);
        float *y = NULL;
        size_t m = 0;
        int ch = 0, rate = 0;
        ck_assert_int_eq(dsn_audio_read_channels(&y, &m, &ch, &rate, tmp(names[k]), 0), DSN_OK);
        ck_assert_int_eq(ch, C);
        ck_assert_int_eq(rate, 8000);
        ck_assert_uint_eq(m, n);
        double worst = 0;
        for (size_t i = 0; i < n * C; i++) worst = fmax(worst, fabs(x[i] - y[i]));
        ck_assert_double_le(worst, tol[k]);
        dsn_audio_free(y);
        /* the mono reader mixes the channels (mean) */
        ck_assert_int_eq(dsn_audio_read(&y, &m, NULL, tmp(names[k]), 0), DSN_OK);
        worst = 0;
        for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((x[i * C] + x[i * C + 1] + x[i * C + 2]) / 3 - y[i]));
        ck_assert_double_le(worst, tol[k] + 1e-6);
        dsn_audio_free(y);
    }
    free(x);
}
END_TEST

/* a manifest with the good clips of make_set plus `extra` lines */
static const char *manifest(const char *name, const char *extra)
{
    make_set();
    FILE *f = fopen(tmp(name), "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "path,inst,room\nc0.wav,a,r1\nc1.wav,b,r1\nc2.wav,a,r1\nc3.wav,b,r1\n%s", extra);
    fclose(f);
    return tmp(name);
}

static dsn_status load(dsn_dataset **ds, const char *csv, const char *text)
{
    char all[600];
    snprintf(all, sizeof all, "frames=6, sample_rate=8000, n_fft=256, hop_length=64, n_mels=8%s%s", text[0] ? ", " : "",
             text);
    dsn_options *o = opts(all);
    dsn_status st = dsn_dataset_from_audio(ds, csv, o);
    dsn_options_free(o);
    return st;
}

START_TEST(bad_input_at_train_time)
{
    dsn_dataset *ds = NULL;
    /* a label column the manifest lacks: the error lists the columns */
    const char *csv = manifest("b0.csv", "");
    ck_assert_int_eq(load(&ds, csv, "label=instrument"), DSN_E_OPTION);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "'instrument'"));
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "inst, room"));
    ck_assert_ptr_null(ds);
    /* a single class */
    ck_assert_int_eq(load(&ds, csv, "label=room"), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "single class"));
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "'r1'"));
    /* a clip without a label */
    csv = manifest("b1.csv", "c0.wav,,r2\n");
    ck_assert_int_eq(load(&ds, csv, "label=inst"), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "no value in the label column 'inst'"));
    /* a silent clip: an error naming it, or left out / kept and counted */
    write_tone("silent.wav", 4000, 8000, 300, 0.0);
    csv = manifest("b2.csv", "silent.wav,a,r1\n");
    ck_assert_int_eq(load(&ds, csv, "label=inst"), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "silent.wav"));
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "silent"));
    ck_assert_int_eq(load(&ds, csv, "label=inst, bad_clips=skip"), DSN_OK);
    ck_assert_uint_eq(dsn_dataset_counter(ds, "skipped_clips"), 1);
    ck_assert_uint_eq(dsn_dataset_counter(ds, "silent_clips"), 1);
    ck_assert_uint_eq(dsn_dataset_counter(ds, "clips"), 4);
    dsn_dataset_free(ds);
    ck_assert_int_eq(load(&ds, csv, "label=inst, bad_clips=keep"), DSN_OK);
    ck_assert_uint_eq(dsn_dataset_counter(ds, "skipped_clips"), 0);
    ck_assert_uint_eq(dsn_dataset_counter(ds, "silent_clips"), 1);
    ck_assert_uint_eq(dsn_dataset_counter(ds, "clips"), 5);
    dsn_dataset_free(ds);
    /* a clipped clip (written 8x too loud into 16-bit: flat tops), and a full-scale tone that is not clipped */
    write_tone("loud.wav", 4000, 8000, 300, 8.0);
    write_tone("full.wav", 4000, 8000, 50, 1.0);
    csv = manifest("b3.csv", "full.wav,b,r1\nloud.wav,a,r1\n");
    ck_assert_int_eq(load(&ds, csv, "label=inst"), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "loud.wav"));
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "clipped"));
    ck_assert_int_eq(load(&ds, csv, "label=inst, bad_clips=skip"), DSN_OK);
    ck_assert_uint_eq(dsn_dataset_counter(ds, "clipped_clips"), 1);
    ck_assert_uint_eq(dsn_dataset_counter(ds, "clips"), 5);
    dsn_dataset_free(ds);
    /* the flags survive the feature cache */
    char cache[800];
    snprintf(cache, sizeof cache, "label=inst, bad_clips=skip, cache=%s", tmp("fe.cache"));
    ck_assert_int_eq(load(&ds, csv, cache), DSN_OK);
    dsn_dataset_free(ds);
    ck_assert_int_eq(load(&ds, csv, cache), DSN_OK);
    ck_assert_uint_eq(dsn_dataset_counter(ds, "cached_clips"), 6);
    ck_assert_uint_eq(dsn_dataset_counter(ds, "clipped_clips"), 1);
    ck_assert_uint_eq(dsn_dataset_counter(ds, "skipped_clips"), 1);
    dsn_dataset_free(ds);
    /* a clip shorter than a window: one padded window, its missing frames masked and counted */
    write_tone("short.wav", 200, 8000, 300, 0.5); /* 1 + 200/64 = 4 frames */
    csv = manifest("b4.csv", "short.wav,b,r1\n");
    ck_assert_int_eq(load(&ds, csv, "label=inst, min_tail=4"), DSN_OK);
    ck_assert_uint_eq(dsn_dataset_counter(ds, "short_clips"), 1);
    ck_assert_uint_eq(dsn_dataset_counter(ds, "masked_frames"), 2);
    dsn_dataset_info di = DSN_DATASET_INFO_INIT;
    ck_assert_int_eq(dsn_dataset_describe(ds, &di), DSN_OK);
    ck_assert_int_eq(di.has_mask, 1);
    dsn_dataset_free(ds);
    /* every clip bad and skipped: nothing to train on */
    FILE *f = fopen(tmp("b5.csv"), "w");
    fprintf(f, "path,inst\nsilent.wav,a\nloud.wav,b\n");
    fclose(f);
    ck_assert_int_eq(load(&ds, tmp("b5.csv"), "bad_clips=skip"), DSN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "every clip"));
    ck_assert_ptr_null(ds);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("front_end");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, model_file_keeps_front_end);
    tcase_add_test(tc, fit_takes_the_data_front_end);
    tcase_add_test(tc, features_at_another_rate);
    tcase_add_test(tc, stream_uses_the_model_front_end);
    tcase_add_test(tc, eval_uses_the_model_front_end);
    tcase_add_test(tc, audio_option_table);
    tcase_add_test(tc, mp3_cbr_and_vbr);
    tcase_add_test(tc, multichannel_write_read);
    tcase_add_test(tc, bad_input_at_train_time);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()) ? EXIT_FAILURE : EXIT_SUCCESS; }
