/* make_seeds.c - writes the seed inputs of the fuzz harnesses (tests/fuzz/
 * corpus/<harness>/seed_*): valid, small examples of every input kind, made
 * by the library itself (and libsndfile for the audio formats it does not
 * write). Run through `make fuzz-seeds`; the corpus in the tree was made so
 * and then grown and minimised by libFuzzer (-merge=1, docs/reliability.md).
 *   make_seeds OUT_DIR */
#include "audio/dataset.h"
#include "core/alloc.h"
#include "core/fileio.h"
#include "fuzz_common.h"

#include <sndfile.h>

static char out_dir[512];

static void put(const char *harness, const char *name, const void *data, size_t n)
{
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/%s", out_dir, harness);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/seed_%s", dir, name);
    fuzz_write(path, data, n);
}

static void put_file(const char *harness, const char *name, const char *src, const char *prefix, size_t plen)
{
    unsigned char *d;
    size_t n;
    if (dsi_read_file(src, 1 << 24, &d, &n) != DSN_OK) {
        fprintf(stderr, "%s\n", dsn_last_error());
        exit(1);
    }
    unsigned char *all = malloc(plen + n);
    memcpy(all, prefix, plen);
    memcpy(all + plen, d, n);
    put(harness, name, all, plen + n);
    free(all);
    dsi_free(d);
}

static void ok(dsn_status st, const char *what)
{
    if (st != DSN_OK) {
        fprintf(stderr, "make_seeds: %s: %s\n", what, dsn_last_error());
        exit(1);
    }
}

static const struct {
    const char *family, *opts;
} models[] = {
    {"ml-vae", "input_dim=6, hidden=4, style_dim=2, content_dim=2, seed=1"},
    {"dsae", "frames=3, n_mels=4, v_dim=2, z_dim=2, hidden=3, dec_hidden=3, prior_hidden=2, encoder_lstm=2, "
             "decoder_lstm=2, seed=2"},
    {"ts-dsae", "frames=3, n_mels=4, v_dim=2, z_dim=2, hidden=3, dec_hidden=3, prior_hidden=2, encoder_lstm=2, "
                "decoder_lstm=2, constrained_epochs=1, seed=3"},
    {"vq-vae", "channels=1, height=4, width=4, hidden=2, res_blocks=1, res_channels=2, code_dim=2, num_codes=4, "
               "codebook_update=ema, restart_dead=1, dead_after=1, restart_every=1, restart_buffer=8, "
               "prior_channels=2, prior_layers=1, prior_hidden=2, seed=4"},
};

static void model_seeds(void)
{
    char path[600];
    fuzz_path("seed.dsn", path, sizeof path);
    for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
        dsn_options *o;
        ok(dsn_options_create(&o), "options");
        ok(dsn_options_parse(o, models[k].opts), models[k].opts);
        dsn_model *m;
        ok(dsn_model_create(&m, models[k].family, o), models[k].family);
        dsn_optimizer *opt;
        ok(dsn_optimizer_create(&opt, m, "adam", NULL), "optimizer");
        size_t d = host_info(m).obs_size;
        float *x = calloc(4 * d, sizeof *x);
        for (size_t i = 0; i < 4 * d; i++) x[i] = (float)(i % 7) / 7.0f;
        for (int s = 0; s < 3; s++) ok(dsn_train_step(m, opt, NULL, x, 4, NULL), "train");
        char name[64];
        ok(dsn_model_save(m, opt, path), "save");
        snprintf(name, sizeof name, "%s_checkpoint", models[k].family);
        put_file("model", name, path, "", 0);
        ok(dsn_model_save(m, NULL, path), "save");
        snprintf(name, sizeof name, "%s_weights", models[k].family);
        put_file("model", name, path, "", 0);
        /* options seeds: the family's byte, then its options */
        char text[512];
        int n = snprintf(text, sizeof text, "%c%s", (char)k, models[k].opts);
        snprintf(name, sizeof name, "%s", models[k].family);
        put("options", name, text, (size_t)n);
        free(x);
        dsn_optimizer_free(opt);
        dsn_model_free(m);
        dsn_options_free(o);
    }
    static const char opt_text[] = "\x08lr=0.01, beta1=0.8; beta2 = 0.99\n# comment, eps=1\nschedule=cosine, warmup=3";
    put("options", "optimizer", opt_text, sizeof opt_text - 1);
    static const char sgd_text[] = "\x18lr=0.1, momentum=0.9, nesterov=1, schedule=step, step_size=2, gamma=0.5";
    put("options", "sgd", sgd_text, sizeof sgd_text - 1);
    static const char file_text[] = "\x04input_dim = 8\nhidden = 4:4 # two layers\nstyle_dim=2\ncontent_dim=2\n";
    put("options", "file", file_text, sizeof file_text - 1);
}

/* .npy v1.0 with the given descr and shape; data is n bytes */
static void npy(const char *name, const char *descr, const char *shape, int fortran, const void *data, size_t n)
{
    char hdr[256];
    int h = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr,
                     fortran ? "True" : "False", shape);
    int total = 10 + h + 1;
    int pad = (64 - total % 64) % 64;
    unsigned char buf[1024];
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    uint16_t hl = (uint16_t)(h + pad + 1);
    buf[8] = (unsigned char)(hl & 255);
    buf[9] = (unsigned char)(hl >> 8);
    memcpy(buf + 10, hdr, (size_t)h);
    memset(buf + 10 + h, ' ', (size_t)pad);
    buf[10 + h + pad] = '\n';
    size_t at = (size_t)(10 + h + pad + 1);
    memcpy(buf + at, data, n);
    put("npy", name, buf, at + n);
}

static void npy_seeds(void)
{
    float f[12];
    for (int i = 0; i < 12; i++) f[i] = (float)i / 12.0f;
    npy("f4_2d", "<f4", "(3, 4)", 0, f, sizeof f);
    npy("f4_3d", "<f4", "(2, 3, 2)", 0, f, sizeof f);
    npy("f4_fortran", "<f4", "(4, 3)", 1, f, sizeof f);
    unsigned char be[48];
    for (int i = 0; i < 12; i++) {
        uint32_t u;
        memcpy(&u, &f[i], 4);
        for (int b = 0; b < 4; b++) be[4 * i + b] = (unsigned char)(u >> (24 - 8 * b));
    }
    npy("f4_big_endian", ">f4", "(3, 4)", 0, be, sizeof be);
    double d[6] = {0, 0.5, 1, 1.5, 2, 2.5};
    npy("f8", "<f8", "(2, 3)", 0, d, sizeof d);
    int32_t lab[3] = {0, 1, 0};
    npy("i4_labels", "<i4", "(3,)", 0, lab, sizeof lab);
    int64_t l8[3] = {2, 1, 0};
    npy("i8_labels", "<i8", "(3,)", 0, l8, sizeof l8);
    unsigned char u1[12] = {0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255};
    npy("u1", "|u1", "(3, 4)", 0, u1, sizeof u1);
}

static void idx_seeds(void)
{
    /* images: magic 0x00000803, n=3, rows=2, cols=2; labels 0x00000801, n=3 */
    unsigned char b[64];
    size_t k = 2;
    const unsigned char img[16] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2};
    memcpy(b + k, img, 16);
    k += 16;
    for (int i = 0; i < 12; i++) b[k++] = (unsigned char)(i * 20);
    size_t cut = k - 2;
    b[0] = (unsigned char)(cut & 255);
    b[1] = (unsigned char)(cut >> 8);
    const unsigned char lab[8] = {0, 0, 8, 1, 0, 0, 0, 3};
    memcpy(b + k, lab, 8);
    k += 8;
    b[k++] = 1;
    b[k++] = 0;
    b[k++] = 9;
    put("idx", "mnist_like", b, k);
}

static void sf_seed(const char *name, int format, int channels, int rate)
{
    char path[600];
    fuzz_path(name, path, sizeof path);
    SF_INFO info = {0};
    info.samplerate = rate;
    info.channels = channels;
    info.format = format;
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f) {
        fprintf(stderr, "make_seeds: libsndfile cannot write %s: %s (skipped)\n", name, sf_strerror(NULL));
        return;
    }
    float x[2 * 1152];
    int n = 1152;
    for (int i = 0; i < n * channels; i++) x[i] = 0.3f * (float)((i * 13) % 50) / 50.0f - 0.15f;
    sf_writef_float(f, x, n);
    sf_close(f);
    put_file("audio", name, path, "", 0);
}

static void audio_seeds(void)
{
    sf_seed("pcm16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1, 8000);
    sf_seed("float_stereo.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 2, 11025);
    sf_seed("pcm24.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 1, 8000);
    sf_seed("vorbis.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 1, 8000);
    sf_seed("layer3.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 1, 8000);
    sf_seed("ulaw.au", SF_FORMAT_AU | SF_FORMAT_ULAW, 1, 8000);
}

static void csv_seeds(void)
{
    static const char a[] = "path,instrument,pitch\na.wav,piano,60\nb.wav,violin,62\n";
    put("csv", "two_labels", a, sizeof a - 1);
    static const char b[] = "#label=pitch\nfile,\"instr, family\",pitch\r\n\"a.wav\",\"brass \"\"horn\"\"\",1\r\nb.wav,,2\r\n";
    put("csv", "quoted_label", b, sizeof b - 1);
    static const char c[] = "filename\na.wav\nb.wav\na.wav\n";
    put("csv", "no_labels", c, sizeof c - 1);
}

static void cache_seeds(void)
{
    char clips[320], cache[600];
    ok(fuzz_clips_dir(clips, sizeof clips) == 0 ? DSN_OK : DSN_E_IO, "link");
    fuzz_path("seed.cache", cache, sizeof cache);
    unlink(cache);
    dsn_options *o;
    ok(dsn_options_create(&o), "options");
    ok(dsn_options_parse(o, FUZZ_FEAT_OPTS), "options");
    ok(dsn_options_set(o, "cache", cache), "options");
    dsn_dataset *ds;
    ok(dsn_dataset_from_audio(&ds, clips, o), "dataset");
    dsn_dataset_free(ds);
    dsn_options_free(o);
    put_file("cache", "feature_cache", cache, "", 0);
    /* a dataset file (tools/features) of the same clips */
    dsi_audio_set s;
    memset(&s, 0, sizeof s);
    dsi_audio_set_opts so;
    dsi_audio_set_opts_default(&so);
    so.T = 4;
    so.feat.sr = 8000;
    so.feat.n_fft = 64;
    so.feat.hop = 32;
    so.feat.n_mels = 8;
    ok(dsi_audio_set_from_dir(&s, clips, &so), "audio set");
    fuzz_path("seed.set", cache, sizeof cache);
    ok(dsi_audio_set_save(&s, cache), "audio set save");
    dsi_audio_set_free(&s);
    put_file("cache", "dataset_file", cache, "", 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds OUT_DIR\n");
        return 2;
    }
    snprintf(out_dir, sizeof out_dir, "%s", argv[1]);
    mkdir(out_dir, 0755);
    model_seeds();
    npy_seeds();
    idx_seeds();
    audio_seeds();
    csv_seeds();
    cache_seeds();
    return 0;
}

/* fuzz_common.h declares the harness entry point; this program has none */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    return 0;
}
