/* util.c - errors, argument helpers, data sources and .npy files for `disent`. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

/* ---- errors -------------------------------------------------------------------- */
int cli_fail(const char *what, dsn_status st)
{
    fprintf(stderr, "disent: %s: %s: %s\n", what, dsn_status_string(st), dsn_last_error());
    return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "disent %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see: disent %s --help)\n", cmd);
    va_end(ap);
    return 2;
}

void cli_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "disent: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- arguments ------------------------------------------------------------------- */
int cli_is_help(const char *arg) { return !strcmp(arg, "--help") || !strcmp(arg, "-h"); }

int cli_help(int argc, char **argv, ...)
{
    int asked = 0;
    for (int i = 1; i < argc && !asked; i++) asked = cli_is_help(argv[i]);
    if (!asked) return 0;
    va_list ap;
    va_start(ap, argv);
    for (const char *t; (t = va_arg(ap, const char *));) fputs(t, stdout);
    va_end(ap);
    return 1;
}

int cli_model_load(dsn_model **m, const char *path)
{
    dsn_status st = dsn_model_load(m, path);
    if (st == DSN_OK) return 0;
    char what[1200];
    snprintf(what, sizeof what, "loading '%s'", path);
    return cli_fail(what, st);
}

int cli_model_arg(const char *cmd, const char *arg, const char **model)
{
    if (*model) return cli_usage_error(cmd, "unexpected argument '%s'", arg);
    *model = arg;
    return 0;
}

/* a flag of a table of {flag, offset of a const char * field of dst}: as cli_flag_value */
typedef struct flag_field {
    const char *flag;
    size_t off;
} flag_field;
static int flag_table(const char *cmd, int argc, char **argv, int *i, void *dst, const flag_field *flags, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        const char *v;
        int r = cli_flag_value(cmd, argc, argv, i, flags[k].flag, &v);
        if (r < 0) return -1;
        if (r) {
            *(const char **)((char *)dst + flags[k].off) = v;
            return 1;
        }
    }
    return 0;
}

int cli_flag_value(const char *cmd, int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') return 0;
    if (*i + 1 >= argc) {
        cli_usage_error(cmd, "%s needs a value", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

static int parse_size(const char **p, size_t *v)
{
    char *end;
    if (**p < '0' || **p > '9') return -1;
    errno = 0;
    unsigned long long x = strtoull(*p, &end, 10);
    if (errno || end == *p) return -1;
    *v = (size_t)x;
    *p = end;
    return 0;
}

int cli_parse_ranges(const char *text, size_t limit, size_t **out, size_t *n)
{
    size_t cap = 16, k = 0;
    size_t *v = malloc(cap * sizeof *v);
    const char *p = text;
    if (!v) return -1;
    while (*p) {
        size_t a, b;
        if (parse_size(&p, &a)) goto bad;
        b = a;
        if (*p == '-') {
            p++;
            if (parse_size(&p, &b) || b < a) goto bad;
        }
        if (limit && b >= limit) goto bad;
        for (size_t x = a; x <= b; x++) {
            if (k == cap) {
                size_t *nv = realloc(v, (cap *= 2) * sizeof *v);
                if (!nv) goto bad;
                v = nv;
            }
            v[k++] = x;
        }
        if (*p == ',') p++;
        else if (*p) goto bad;
    }
    if (k == 0) goto bad;
    *out = v;
    *n = k;
    return 0;
bad:
    free(v);
    return -1;
}

int cli_parse_hw(const char *text, size_t *h, size_t *w)
{
    const char *p = text;
    if (parse_size(&p, h) || (*p != 'x' && *p != 'X')) return -1;
    p++;
    if (parse_size(&p, w) || *p || !*h || !*w) return -1;
    return 0;
}

int cli_mkdir(const char *path)
{
    struct stat sb;
    if (mkdir(path, 0777) == 0) return 0;
    if (errno == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return 0;
    fprintf(stderr, "disent: cannot create folder '%s': %s\n", path, strerror(errno));
    return -1;
}

void cli_join(char *buf, size_t cap, const char *dir, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

/* ---- data sources ------------------------------------------------------------------ */
const char cli_data_help[] =
    "Data (one source):\n"
    "  --mnist DIR            the MNIST IDX files in DIR (training set; --test-set for the test set)\n"
    "  --npy X.npy            observations [N, ...] (float32, float64 or uint8)\n"
    "  --labels Y.npy         with --npy: integer labels [N] (the groups of grouped models)\n"
    "  --audio DIR|FILE.csv   log-mel windows of an audio folder or CSV manifest\n"
    "                         (train: audio.KEY = VALUE options, e.g. audio.frames = 128;\n"
    "                         other commands: the model's frames and n_mels, and --sample-rate etc.)\n"
    "  --audio FILE...        (encode, swap, sample) audio files, one observation each: the\n"
    "                         first T log-mel frames of each clip, a shorter clip padded and\n"
    "                         masked; put the MODEL argument before --audio\n"
    "  --features FILE        a dataset file written by the `features` tool\n"
    "  --label-column NAME    with --features: the label column\n"
    "  --classes LIST         keep only these labels, e.g. 0-6 (alias: --digits)\n";

int cli_data_given(const cli_data *d) { return d->mnist || d->npy || d->audio || d->features || d->audio_files; }

int cli_data_arg(cli_data *d, const char *cmd, int argc, char **argv, int *i)
{
    static const flag_field flags[] = {
        {"--mnist", offsetof(cli_data, mnist)},       {"--npy", offsetof(cli_data, npy)},
        {"--labels", offsetof(cli_data, labels)},     {"--audio", offsetof(cli_data, audio)},
        {"--features", offsetof(cli_data, features)}, {"--label-column", offsetof(cli_data, label_column)},
        {"--classes", offsetof(cli_data, classes)},   {"--digits", offsetof(cli_data, classes)},
    };
    if (!strcmp(argv[*i], "--test-set")) {
        d->mnist_test = 1;
        return 1;
    }
    const char *av;
    int ra = cli_flag_value(cmd, argc, argv, i, "--audio", &av);
    if (ra < 0) return -1;
    if (ra) {
        /* a folder or a CSV manifest: a dataset of windows; anything else: audio
         * files, this one and the arguments after it up to the next flag */
        struct stat sb;
        size_t len = strlen(av);
        int is_dir = stat(av, &sb) == 0 && S_ISDIR(sb.st_mode);
        int is_csv = len >= 4 && (!strcmp(av + len - 4, ".csv") || !strcmp(av + len - 4, ".CSV"));
        if (is_dir || is_csv) {
            d->audio = av;
            return 1;
        }
        if (d->audio_files) {
            cli_usage_error(cmd, "give all audio files after one --audio");
            return -1;
        }
        if (strncmp(argv[*i], "--audio=", 8) == 0) { /* --audio=FILE: that file only */
            d->audio_files = argv + *i;
            d->n_audio_files = 1;
            argv[*i] += 8;
            return 1;
        }
        d->audio_files = argv + *i;
        d->n_audio_files = 1;
        while (*i + 1 < argc && argv[*i + 1][0] != '-') {
            ++*i;
            d->n_audio_files++;
        }
        return 1;
    }
    return flag_table(cmd, argc, argv, i, d, flags, sizeof flags / sizeof *flags);
}

int cli_data_load(const cli_data *d, const char *cmd, const dsn_options *audio_opts, dsn_dataset **out)
{
    int sources = !!d->mnist + !!d->npy + !!d->audio + !!d->features;
    if (d->audio_files)
        return cli_usage_error(cmd, sources ? "give only one data source" :
                                              "audio files (--audio FILE...) need a model: train on a folder or CSV");
    if (sources != 1)
        return cli_usage_error(cmd, sources ? "give only one data source" :
                                              "no data: give --mnist, --npy, --audio or --features");
    if (d->labels && !d->npy) return cli_usage_error(cmd, "--labels goes with --npy");
    dsn_dataset *ds = NULL;
    dsn_status st;
    char what[600];
    if (d->mnist) {
        snprintf(what, sizeof what, "reading MNIST from '%s'", d->mnist);
        st = dsn_dataset_from_mnist(&ds, d->mnist, d->mnist_test);
    } else if (d->npy) {
        snprintf(what, sizeof what, "reading '%s'", d->npy);
        st = dsn_dataset_from_npy(&ds, d->npy, d->labels);
    } else if (d->audio) {
        snprintf(what, sizeof what, "reading audio from '%s'", d->audio);
        st = dsn_dataset_from_audio(&ds, d->audio, audio_opts);
    } else {
        snprintf(what, sizeof what, "reading '%s'", d->features);
        st = dsn_dataset_load_audio(&ds, d->features, d->label_column);
    }
    if (st != DSN_OK) return cli_fail(what, st);
    if (d->audio) cli_audio_report(ds);
    if (d->classes) {
        size_t *v, n;
        if (cli_parse_ranges(d->classes, 1u << 30, &v, &n)) {
            dsn_dataset_free(ds);
            return cli_usage_error(cmd, "bad label list '%s' (e.g. 0-6 or 1,3,5)", d->classes);
        }
        int32_t *lab = malloc(n * sizeof *lab);
        if (!lab) {
            free(v);
            dsn_dataset_free(ds);
            return cli_fail("selecting labels", DSN_E_NOMEM);
        }
        for (size_t k = 0; k < n; k++) lab[k] = (int32_t)v[k];
        dsn_dataset *in = NULL;
        st = dsn_dataset_select_labels(ds, &in, NULL, lab, n);
        free(v);
        free(lab);
        dsn_dataset_free(ds);
        if (st != DSN_OK) return cli_fail("selecting labels", st);
        ds = in;
    }
    *out = ds;
    return 0;
}

void cli_audio_report(const dsn_dataset *ds)
{
    const uint64_t clips = dsn_dataset_counter(ds, "clips"), wins = dsn_dataset_counter(ds, "windows");
    const uint64_t shrt = dsn_dataset_counter(ds, "short_clips"), masked = dsn_dataset_counter(ds, "masked_frames");
    const uint64_t dropped = dsn_dataset_counter(ds, "dropped_frames"), skipped = dsn_dataset_counter(ds, "skipped_clips");
    const uint64_t silent = dsn_dataset_counter(ds, "silent_clips"), clipped = dsn_dataset_counter(ds, "clipped_clips");
    const dsn_options *fe = dsn_dataset_audio(ds);
    cli_note("audio: %llu clips -> %llu windows of %s frames (%s Hz, n_fft %s, hop %s, %s mels, log floor eps %s)",
             (unsigned long long)clips, (unsigned long long)wins, dsn_options_get(fe, "frames"),
             dsn_options_get(fe, "sample_rate"), dsn_options_get(fe, "n_fft"), dsn_options_get(fe, "hop_length"),
             dsn_options_get(fe, "n_mels"), dsn_options_get(fe, "eps"));
    if (shrt) cli_note("audio: %llu clips shorter than a window: one padded window each", (unsigned long long)shrt);
    if (masked)
        cli_note("audio: %llu padded frames masked (mask 0) in the last windows of clips", (unsigned long long)masked);
    if (dropped)
        cli_note("audio: %llu tail frames shorter than min_tail left out of every window", (unsigned long long)dropped);
    if (skipped)
        cli_note("audio: %llu silent or clipped clips left out (bad_clips=skip; %llu silent, %llu clipped)",
                 (unsigned long long)skipped, (unsigned long long)silent, (unsigned long long)clipped);
    else if (silent || clipped)
        cli_note("audio: kept %llu silent and %llu clipped clips (bad_clips=keep)", (unsigned long long)silent,
                 (unsigned long long)clipped);
}

/* ---- .npy: the library's reader and writer (dsn_npy_read / dsn_npy_write) ---------------- */
int cli_require_part(const char *cmd, const dsn_model *m, const char *part)
{
    int np = host_info(m).num_parts;
    for (int p = 0; p < np; p++)
        if (!strcmp(host_part(m, p).name, part)) return 0;
    fprintf(stderr, "disent: %s: the %s model has no part '%s' (parts:", cmd, host_info(m).family, part);
    for (int p = 0; p < np; p++) fprintf(stderr, " %s", host_part(m, p).name);
    fprintf(stderr, ")\n");
    return 2;
}

int cli_require_wav_ok(const char *cmd, const dsn_model *m, int wav, size_t *T, size_t *D)
{
    if (cli_is_sequence(m, T, D) || !wav) return 0;
    return cli_usage_error(cmd, "--wav: the %s model's observations are not [frames, n_mels] sequences",
                           host_info(m).family);
}

int cli_write_obs_npy(const char *dir, const char *name, const dsn_model *m, const float *obs, size_t n, char *path,
                      size_t path_cap)
{
    size_t shape[4] = {n};
    int nd = 1 + host_obs_shape(m, shape + 1, 3);
    cli_join(path, path_cap, dir, name);
    return cli_npy_write_f32(path, obs, shape, nd);
}

int cli_npy_write_f32(const char *path, const float *data, const size_t *shape, int ndim)
{
    dsn_status st = dsn_npy_write(path, data, shape, ndim, DSN_DTYPE_FLOAT32);
    return st == DSN_OK ? 0 : cli_fail("writing .npy", st);
}

int cli_npy_write_i32(const char *path, const int32_t *data, const size_t *shape, int ndim)
{
    dsn_status st = dsn_npy_write(path, data, shape, ndim, DSN_DTYPE_INT32);
    return st == DSN_OK ? 0 : cli_fail("writing .npy", st);
}

/* Two calls: the shape (and so the size), then the data into a buffer of that size. */
static int npy_read(const char *path, void **data, size_t *shape, int *ndim, int max_dim, dsn_dtype as)
{
    size_t count = 1;
    dsn_status st = dsn_npy_read(NULL, 0, shape, (size_t)max_dim, ndim, NULL, path, as);
    if (st != DSN_OK) return cli_fail("reading .npy", st);
    if (*ndim == 0) {
        fprintf(stderr, "disent: '%s': a scalar, not an array\n", path);
        return 1;
    }
    for (int d = 0; d < *ndim; d++) count *= shape[d]; /* the library checked it against the file size */
    void *buf = malloc(count * 4 + 1);
    if (!buf) return cli_fail("reading .npy", DSN_E_NOMEM);
    if ((st = dsn_npy_read(buf, count, shape, (size_t)max_dim, ndim, NULL, path, as)) != DSN_OK) {
        free(buf);
        return cli_fail("reading .npy", st);
    }
    *data = buf;
    return 0;
}

int cli_npy_read_f32(const char *path, float **data, size_t *shape, int *ndim, int max_dim)
{
    return npy_read(path, (void **)data, shape, ndim, max_dim, DSN_DTYPE_FLOAT32);
}

int cli_npy_read_i32(const char *path, int32_t **data, size_t *shape, int *ndim, int max_dim)
{
    return npy_read(path, (void **)data, shape, ndim, max_dim, DSN_DTYPE_INT32);
}

char cli_npy_kind(const char *path)
{
    int is_int = 0;
    if (dsn_npy_read(NULL, 0, NULL, 0, NULL, &is_int, path, DSN_DTYPE_FLOAT32) != DSN_OK) return 0;
    return is_int ? 'i' : 'f';
}

int cli_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    return 1;
}

/* ---- audio ------------------------------------------------------------------------------ */
const char cli_audio_help[] =
    "Audio (sequence models trained on log-mel features; give the training settings):\n"
    "  --sample-rate HZ       audio.sample_rate (default 16000)\n"
    "  --n-fft N              audio.n_fft (2048)\n"
    "  --hop-length N         audio.hop_length (256)\n"
    "  --fmin HZ, --fmax HZ   audio.fmin (0), audio.fmax (0 = Nyquist)\n"
    "  --gl-iter N            Griffin-Lim iterations of --wav output (32)\n"
    "  --audio-format F       --wav file format: wav16 (default), wav_float, flac16, flac24\n";

int cli_audio_arg(cli_audio *a, const char *cmd, int argc, char **argv, int *i)
{
    static const flag_field flags[] = {
        {"--sample-rate", offsetof(cli_audio, sample_rate)}, {"--n-fft", offsetof(cli_audio, n_fft)},
        {"--hop-length", offsetof(cli_audio, hop_length)},   {"--fmin", offsetof(cli_audio, fmin)},
        {"--fmax", offsetof(cli_audio, fmax)},               {"--gl-iter", offsetof(cli_audio, gl_iter)},
        {"--audio-format", offsetof(cli_audio, format)},
    };
    if (!strcmp(argv[*i], "--wav")) {
        a->wav = 1;
        return 1;
    }
    return flag_table(cmd, argc, argv, i, a, flags, sizeof flags / sizeof *flags);
}

int cli_is_sequence(const dsn_model *m, size_t *T, size_t *D)
{
    size_t dims[3] = {0};
    if (host_obs_shape(m, dims, 3) != 2) return 0;
    if (T) *T = dims[0];
    if (D) *D = dims[1];
    return 1;
}

/* a flag that contradicts the model's own front end: a usage error (the
 * settings are the model's, given once at training) */
static int front_end_conflict(const dsn_options *fe, const char *key, const char *flag, const char *val)
{
    const char *have = fe ? dsn_options_get(fe, key) : NULL;
    if (!have || !val) return 0;
    char *e1, *e2;
    double x = strtod(have, &e1), y = strtod(val, &e2);
    if (*e1 == 0 && *e2 == 0 && x == y) return 0;
    fprintf(stderr, "disent: %s %s: the model was trained with %s = %s (its file keeps its audio front end; leave the "
                    "flag out)\n", flag, val, key, have);
    return 1;
}

int cli_audio_options(const cli_audio *a, const dsn_model *m, int synth, dsn_options **out)
{
    dsn_options *o = NULL;
    dsn_status st = dsn_options_create(&o);
    const dsn_options *fe = m ? dsn_model_audio(m) : NULL;
    /* the model's front end first: every feature key it was trained with */
    for (size_t i = 0; fe && st == DSN_OK && i < dsn_options_count(fe); i++) {
        const char *k = dsn_options_key(fe, i);
        if (synth && !strcmp(k, "frames")) continue;
        st = dsn_options_set(o, k, dsn_options_get(fe, k));
    }
    const char *keys[] = {"sample_rate", "n_fft", "hop_length", "fmin", "fmax", "gl_iter", "format"};
    const char *flags[] = {"--sample-rate", "--n-fft", "--hop-length", "--fmin", "--fmax", "--gl-iter", "--audio-format"};
    const char *vals[] = {a->sample_rate, a->n_fft, a->hop_length, a->fmin, a->fmax, a->gl_iter, a->format};
    for (int k = 0; k < (synth ? 6 : 5) && st == DSN_OK; k++) {
        if (k < 5 && front_end_conflict(fe, keys[k], flags[k], vals[k])) {
            dsn_options_free(o);
            return 2;
        }
        if (vals[k]) st = dsn_options_set(o, keys[k], vals[k]);
    }
    size_t T, D;
    if (st == DSN_OK && m && cli_is_sequence(m, &T, &D)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%zu", D);
        st = dsn_options_set(o, "n_mels", buf);
        if (st == DSN_OK && !synth) {
            snprintf(buf, sizeof buf, "%zu", T);
            st = dsn_options_set(o, "frames", buf);
        }
    }
    if (st != DSN_OK) {
        dsn_options_free(o);
        return cli_fail("audio settings", st);
    }
    *out = o;
    return 0;
}

int cli_audio_rate(const dsn_options *o)
{
    const char *v = o ? dsn_options_get(o, "sample_rate") : NULL;
    return v ? atoi(v) : 16000;
}

int cli_wav_write(const cli_audio *a, const dsn_model *m, const char *path, const float *mel, size_t T, size_t D)
{
    dsn_options *o = NULL, *fo = NULL;
    float *y = NULL;
    size_t n = 0;
    int rc = cli_audio_options(a, m, 1, &o);
    if (rc) return rc;
    char nm[32];
    snprintf(nm, sizeof nm, "%zu", D);
    dsn_status st = dsn_options_set(o, "n_mels", nm);
    if (st == DSN_OK) st = dsn_mel_to_audio(NULL, 0, &n, mel, T, D, o);
    if (st == DSN_OK && !(y = malloc(n * sizeof *y + 1))) st = DSN_E_NOMEM;
    if (st == DSN_OK) st = dsn_mel_to_audio(y, n, &n, mel, T, D, o);
    if (st != DSN_OK) {
        rc = cli_fail("turning log-mel frames into audio", st);
        goto done;
    }
    if ((st = dsn_options_create(&fo)) != DSN_OK || (a->format && (st = dsn_options_set(fo, "format", a->format)) != DSN_OK)) {
        rc = cli_fail("--audio-format", st);
        goto done;
    }
    if ((st = dsn_audio_write(path, y, n, cli_audio_rate(o), fo)) != DSN_OK) {
        char what[1200];
        snprintf(what, sizeof what, "writing '%s'", path);
        rc = cli_fail(what, st);
    }
done:
    free(y);
    dsn_options_free(o);
    dsn_options_free(fo);
    return rc;
}

/* each audio file -> its first T log-mel frames [T, D], zero-padded and masked */
static int load_audio_files(const cli_data *d, const cli_audio *a, const dsn_model *m, dsn_dataset **out,
                            float **mask)
{
    size_t T, D, n = d->n_audio_files, obs;
    if (!cli_is_sequence(m, &T, &D)) {
        fprintf(stderr, "disent: audio files are observations of sequence models only (this is a %s model)\n",
                host_info(m).family);
        return 1;
    }
    obs = T * D;
    dsn_options *o = NULL;
    int rc = cli_audio_options(a, m, 0, &o);
    if (rc) return rc;
    int sr = cli_audio_rate(o);
    float *x = calloc(n * obs + 1, sizeof *x), *mk = calloc(n * T + 1, sizeof *mk), *feat = NULL;
    int padded = 0;
    if (!x || !mk) {
        rc = cli_fail("audio files", DSN_E_NOMEM);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const char *path = d->audio_files[i];
        char what[1200];
        float *y = NULL;
        size_t ny = 0, frames = 0;
        dsn_status st = dsn_audio_read(&y, &ny, NULL, path, sr);
        if (st == DSN_OK) st = dsn_audio_features(NULL, 0, &frames, NULL, y, ny, sr, o);
        if (st == DSN_OK) {
            free(feat);
            feat = malloc(frames * D * sizeof *feat + 1);
            st = feat ? dsn_audio_features(feat, frames * D, &frames, NULL, y, ny, sr, o) : DSN_E_NOMEM;
        }
        dsn_audio_free(y);
        if (st != DSN_OK) {
            snprintf(what, sizeof what, "reading audio '%s'", path);
            rc = cli_fail(what, st);
            goto done;
        }
        size_t k = frames < T ? frames : T;
        memcpy(x + i * obs, feat, k * D * sizeof *x);
        for (size_t t = 0; t < k; t++) mk[i * T + t] = 1;
        if (frames < T) padded = 1;
        if (frames > T) cli_note("%s: %zu frames, the model takes the first %zu", path, frames, T);
    }
    size_t shape[2] = {T, D};
    dsn_status st = dsn_dataset_from_memory(out, x, n, shape, 2, NULL, mk);
    if (st != DSN_OK) {
        rc = cli_fail("audio files", st);
        goto done;
    }
    if (padded) {
        *mask = mk;
        mk = NULL;
    }
done:
    free(x);
    free(mk);
    free(feat);
    dsn_options_free(o);
    return rc;
}

int cli_data_load_for(const cli_data *d, const char *cmd, const cli_audio *a, const dsn_model *m,
                      dsn_dataset **out, float **mask)
{
    if (mask) *mask = NULL;
    if (d->audio_files) {
        int sources = !!d->mnist + !!d->npy + !!d->audio + !!d->features;
        if (sources) return cli_usage_error(cmd, "give only one data source");
        return load_audio_files(d, a, m, out, mask);
    }
    dsn_options *o = NULL;
    int rc = 0;
    if (d->audio && (rc = cli_audio_options(a, m, 0, &o)) != 0) return rc;
    rc = cli_data_load(d, cmd, o, out);
    dsn_options_free(o);
    return rc;
}

int cli_part_has_codes(const dsn_model *m, const char *part)
{
    dsn_encoding *e = NULL;
    size_t rows = 0;
    int has = dsn_encoding_create(&e, m, 1) == DSN_OK && dsn_encoding_prepare(e, 1, NULL) == DSN_OK &&
              dsn_encoding_get_codes(e, NULL, 0, &rows, part) == DSN_OK;
    dsn_encoding_free(e);
    dsn_clear_error();
    return has;
}
