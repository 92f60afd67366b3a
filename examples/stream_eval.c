/* stream_eval.c - score timbre swaps rendered by a real-time host (the LV2
 * plugin through lv2apply, scripts/lv2-proof.sh) like an offline swap.
 * A host of the public API only.
 *
 *   stream_eval resample IN.wav OUT.wav RATE
 *   stream_eval latency MODEL RATE        (dsn_stream_latency of a stream on MODEL's bank)
 *   stream_eval score MODEL LIST.csv --manifest FACTORS.csv [--label instrument]
 *               [--latency SAMPLES] [--host-rate 48000] [--n-train 400] [--gl-iter 32]
 *
 * LIST.csv rows: rendered,source,truth,target - the host's output WAV, the
 * clip it was made from, the same melody played by the target instrument (the
 * rendered truth) and the target's bank index. Bank entries are named by the
 * label value of their instrument (e.g. "40", "56").
 *
 * For each row: the rendered output, shifted back by the host latency, is cut
 * into windows of the model's T frames (the last one padded and masked when
 * it holds at least T/4 frames; front end: the bank's audio
 * settings); a logistic-regression classifier fitted on the static latent v
 * of the first --n-train manifest clips (the label column) classifies each
 * window's v; the fraction of windows classified as the target is the timbre
 * score. The offline swap of the same clip - encode the first window, set v to
 * the bank entry, decode, Griffin-Lim - is scored the same way. Raw pitch
 * accuracy (50 cents; YIN, hop 256) of both against YIN of the truth clip over
 * the first window, and of the source itself (the ceiling). Prints a table
 * and RESULT lines. */
#include <disent.h>

#include "example_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dsn_model *model;
static dsn_session *sess;
static dsn_encoding *enc;
static dsn_options *feat; /* the model's audio front end or the bank's settings (+ n_mels) */
static size_t T, F, dim;

/* log-mel frames of path (at the feature rate), its first `drop` samples skipped */
static float *features(const char *path, size_t drop, size_t *frames, float **audio, size_t *n_audio)
{
    float *x;
    size_t n;
    int sr = atoi(dsn_options_get(feat, "sample_rate") ? dsn_options_get(feat, "sample_rate") : "16000");
    CHECK(dsn_audio_read(&x, &n, NULL, path, sr));
    if (drop >= n) drop = n - 1;
    size_t nf, nm;
    CHECK(dsn_audio_features(NULL, 0, &nf, &nm, x + drop, n - drop, sr, feat));
    float *out = malloc(sizeof(float) * nf * nm);
    CHECK(dsn_audio_features(out, nf * nm, &nf, &nm, x + drop, n - drop, sr, feat));
    *frames = nf;
    if (audio) {
        *n_audio = n - drop;
        *audio = malloc(sizeof(float) * *n_audio);
        memcpy(*audio, x + drop, sizeof(float) * *n_audio);
    }
    dsn_audio_free(x);
    return out;
}

/* v of window w of frames (zero-padded, masked) */
static void encode_window(float *v, const float *fr, size_t nf, size_t w)
{
    float *x = calloc(T * F, sizeof(float)), *mask = calloc(T, sizeof(float));
    for (size_t t = 0; t < T && w * T + t < nf; t++) {
        memcpy(x + t * F, fr + (w * T + t) * F, F * sizeof(float));
        mask[t] = 1;
    }
    CHECK(dsn_encode(sess, enc, x, 1, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, host_part(model, 0).name}));
    CHECK(dsn_encoding_get(enc, v, dim, NULL, NULL, host_part(model, 0).name, "value"));
    free(x);
    free(mask);
}

static float *yin(const float *x, size_t n, size_t *frames)
{
    CHECK(dsn_pitch_track(NULL, 0, frames, x, n, 16000, NULL));
    float *f0 = malloc(sizeof(float) * *frames);
    CHECK(dsn_pitch_track(f0, *frames, frames, x, n, 16000, NULL));
    return f0;
}

static double rpa(const float *est, size_t ne, const float *ref, size_t nr, size_t upto)
{
    size_t n = ne < nr ? ne : nr;
    if (upto && n > upto) n = upto;
    double a;
    CHECK(dsn_raw_pitch_accuracy(&a, NULL, NULL, est, ref, n, DSN_PITCH_HZ, 50));
    return a;
}

static char *dir_of(const char *path)
{
    char *d = strdup(path);
    char *s = strrchr(d, '/');
    if (s) s[1] = 0;
    else d[0] = 0;
    return d;
}

static int split(char *line, char **cells, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = 0;
    for (char *p = line; n < max;) {
        cells[n++] = p;
        char *c = strchr(p, ',');
        if (!c) break;
        *c = 0;
        p = c + 1;
    }
    return n;
}

static int score(int argc, char **argv)
{
    const char *mpath = argv[2], *list = argv[3], *manifest = NULL, *label = "instrument";
    size_t latency = 0, n_train = 400;
    int host_rate = 48000, gl_iter = 32;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--manifest")) manifest = argv[i + 1];
        else if (!strcmp(argv[i], "--label")) label = argv[i + 1];
        else if (!strcmp(argv[i], "--latency")) latency = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--host-rate")) host_rate = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--n-train")) n_train = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--gl-iter")) gl_iter = atoi(argv[i + 1]);
        else return fprintf(stderr, "stream_eval: unknown flag %s\n", argv[i]), 2;
    }
    if (!manifest) return fprintf(stderr, "stream_eval: give --manifest\n"), 2;
    CHECK(dsn_model_load(&model, mpath));
    size_t dims[3];
    host_obs_shape(model, dims, 3);
    T = dims[0];
    F = dims[1];
    dim = (size_t)host_part(model, 0).dim;
    CHECK(dsn_options_create(&feat));
    /* the model's own front end (saved by training), else the bank's settings */
    const dsn_options *ba = dsn_model_audio(model) ? dsn_model_audio(model) : dsn_model_bank_audio(model);
    for (size_t k = 0; ba && k < dsn_options_count(ba); k++) {
        const char *key = dsn_options_key(ba, k);
        if (strcmp(key, "frames")) CHECK(dsn_options_set(feat, key, dsn_options_get(ba, key)));
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%zu", F);
    CHECK(dsn_options_set(feat, "n_mels", buf));
    CHECK(dsn_session_create(&sess, model, 1));
    CHECK(dsn_encoding_create(&enc, model, 1));

    /* the classifier: v of the first n_train manifest clips */
    FILE *f = fopen(manifest, "r");
    if (!f) return fprintf(stderr, "stream_eval: cannot open %s\n", manifest), 1;
    char line[4096], *cells[64], *mdir = dir_of(manifest), path[4096];
    int pc = -1, lc = -1;
    if (fgets(line, sizeof line, f)) {
        int nc = split(line, cells, 64);
        for (int c = 0; c < nc; c++) {
            if (!strcmp(cells[c], "path")) pc = c;
            if (!strcmp(cells[c], label)) lc = c;
        }
    }
    if (pc < 0 || lc < 0) return fprintf(stderr, "stream_eval: %s has no path or %s column\n", manifest, label), 1;
    float *vs = malloc(sizeof(float) * n_train * dim);
    int32_t *ys = malloc(sizeof(int32_t) * n_train);
    size_t nt = 0;
    while (nt < n_train && fgets(line, sizeof line, f)) {
        int nc = split(line, cells, 64);
        if (nc <= pc || nc <= lc) continue;
        snprintf(path, sizeof path, "%s%s", mdir, cells[pc]);
        size_t nf;
        float *fr = features(path, 0, &nf, NULL, NULL);
        encode_window(vs + nt * dim, fr, nf, 0);
        ys[nt++] = atoi(cells[lc]);
        free(fr);
    }
    fclose(f);
    dsn_classifier *clf;
    CHECK(dsn_classifier_create(&clf, "logreg", NULL));
    CHECK(dsn_classifier_fit(clf, vs, nt, dim, ys));

    /* the rendered rows */
    f = fopen(list, "r");
    if (!f) return fprintf(stderr, "stream_eval: cannot open %s\n", list), 1;
    dsn_options *gl;
    CHECK(dsn_options_create(&gl));
    for (size_t k = 0; k < dsn_options_count(feat); k++)
        CHECK(dsn_options_set(gl, dsn_options_key(feat, k), dsn_options_get(feat, dsn_options_key(feat, k))));
    snprintf(buf, sizeof buf, "%d", gl_iter);
    CHECK(dsn_options_set(gl, "gl_iter", buf));
    size_t win_hit = 0, win_n = 0, off_hit = 0, off_n = 0, rows = 0;
    double rpa_plug = 0, rpa_off = 0, rpa_src = 0;
    float *v = malloc(sizeof(float) * dim), *tv = malloc(sizeof(float) * dim), *dec = malloc(sizeof(float) * T * F);
    /* the latency in feature-rate samples (the rendered file is read at the feature rate) */
    int sr = atoi(dsn_options_get(feat, "sample_rate") ? dsn_options_get(feat, "sample_rate") : "16000");
    size_t drop = (size_t)((double)latency * sr / host_rate + 0.5);
    printf("%-28s %8s %8s %8s %8s\n", "clip", "plug-hit", "off-hit", "plug-rpa", "off-rpa");
    while (fgets(line, sizeof line, f)) {
        if (split(line, cells, 64) < 4 || !strcmp(cells[0], "rendered")) continue;
        const size_t target = (size_t)atol(cells[3]);
        CHECK(dsn_model_bank_get(model, tv, dim, target));
        const int32_t want = atoi(dsn_model_bank_name(model, target));
        size_t nf, ns, nt_, na, ntr, nsrc;
        float *audio, *taudio, *saudio;
        float *fr = features(cells[0], drop, &nf, &audio, &na);
        float *tf = features(cells[2], 0, &nt_, &taudio, &ntr);
        float *sf = features(cells[1], 0, &ns, &saudio, &nsrc);
        /* timbre: every full window of the rendered output */
        /* windows of T frames; a last, shorter one (at least T/4 frames) is padded and masked */
        size_t hit = 0, nw = nf / T + (nf % T >= T / 4 ? 1 : 0);
        if (nw == 0) nw = 1;
        for (size_t w = 0; w < nw; w++) {
            int32_t pred;
            encode_window(v, fr, nf, w);
            CHECK(dsn_classifier_predict(clf, &pred, v, 1, dim));
            hit += pred == want;
        }
        /* the offline swap of the first window */
        float *x = calloc(T * F, sizeof(float)), *mask = calloc(T, sizeof(float));
        for (size_t t = 0; t < T && t < ns; t++) {
            memcpy(x + t * F, sf + t * F, F * sizeof(float));
            mask[t] = 1;
        }
        CHECK(dsn_encode(sess, enc, x, 1, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, mask, NULL}));
        CHECK(dsn_encoding_set(enc, host_part(model, 0).name, "value", tv, 1));
        CHECK(dsn_decode(sess, dec, T * F, enc));
        size_t vt = ns < T ? ns : T;
        int32_t pred;
        encode_window(v, dec, vt, 0);
        CHECK(dsn_classifier_predict(clf, &pred, v, 1, dim));
        size_t n_out;
        CHECK(dsn_mel_to_audio(NULL, 0, &n_out, dec, vt, F, gl));
        float *oaudio = malloc(sizeof(float) * n_out);
        CHECK(dsn_mel_to_audio(oaudio, n_out, &n_out, dec, vt, F, gl));
        /* pitch over the first window, against YIN of the truth */
        size_t fe, fo, fr_, fs;
        float *pe = yin(audio, na, &fe), *po = yin(oaudio, n_out, &fo), *pr = yin(taudio, ntr, &fr_),
              *ps = yin(saudio, nsrc, &fs);
        size_t upto = fo; /* the offline swap's span */
        double a_plug = rpa(pe, fe, pr, fr_, upto), a_off = rpa(po, fo, pr, fr_, upto), a_src = rpa(ps, fs, pr, fr_, upto);
        printf("%-28s %4zu/%-3zu %8d %8.3f %8.3f\n", strrchr(cells[0], '/') ? strrchr(cells[0], '/') + 1 : cells[0], hit,
               nw, pred == want, a_plug, a_off);
        win_hit += hit;
        win_n += nw;
        off_hit += pred == want;
        off_n++;
        rpa_plug += a_plug;
        rpa_off += a_off;
        rpa_src += a_src;
        rows++;
        free(x);
        free(mask);
        free(oaudio);
        free(pe);
        free(po);
        free(pr);
        free(ps);
        free(fr);
        free(tf);
        free(sf);
        free(audio);
        free(taudio);
        free(saudio);
    }
    fclose(f);
    if (!rows) return fprintf(stderr, "stream_eval: no rows in %s\n", list), 1;
    printf("classifier: logreg on v of %zu manifest clips\n", nt);
    printf("RESULT rows %zu\n", rows);
    printf("RESULT plugin_target_rate %.4f\n", (double)win_hit / (double)win_n);
    printf("RESULT offline_target_rate %.4f\n", (double)off_hit / (double)off_n);
    printf("RESULT plugin_rpa %.4f\n", rpa_plug / rows);
    printf("RESULT offline_rpa %.4f\n", rpa_off / rows);
    printf("RESULT source_rpa %.4f\n", rpa_src / rows);
    printf("RESULT rpa_gap %.4f\n", rpa_off / rows - rpa_plug / rows);
    dsn_classifier_free(clf);
    dsn_options_free(gl);
    dsn_options_free(feat);
    dsn_encoding_free(enc);
    dsn_session_free(sess);
    dsn_model_free(model);
    free(vs);
    free(ys);
    free(v);
    free(tv);
    free(dec);
    free(mdir);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "resample")) {
        float *x;
        size_t n;
        CHECK(dsn_audio_read(&x, &n, NULL, argv[2], atoi(argv[4])));
        CHECK(dsn_audio_write(argv[3], x, n, atoi(argv[4]), NULL));
        dsn_audio_free(x);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "latency")) {
        dsn_model *m;
        dsn_stream *st;
        CHECK(dsn_model_load(&m, argv[2]));
        CHECK(dsn_stream_create(&st, m, atoi(argv[3]), 256, NULL, 0, NULL));
        printf("%zu\n", dsn_stream_latency(st));
        dsn_stream_free(st);
        dsn_model_free(m);
        return 0;
    }
    if (argc >= 4 && !strcmp(argv[1], "score")) return score(argc, argv);
    fprintf(stderr, "usage: stream_eval resample IN OUT RATE | stream_eval score MODEL LIST.csv --manifest CSV "
                    "[--label COL] [--latency N] [--host-rate HZ] [--n-train N] [--gl-iter N]\n");
    return 2;
}
