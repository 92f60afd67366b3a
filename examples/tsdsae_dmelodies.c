/* tsdsae_dmelodies.c - train TS-DSAE (or vanilla DSAE) on dMelodies clips and
 * run the instrument-swap evaluation of shared/papers.md with the public API.
 *
 *   tsdsae_dmelodies DATASET.dsa [--model ts-dsae|dsae] [--epochs N]
 *       [--constrained C] [--z-dim 16] [--v-dim 16] [--model-opts "k=v, ..."]
 *       [--lr LR] [--batch B] [--steps-per-epoch S] [--frames 250] [--valid-fraction 0.2]
 *       (epochs, constrained, lr, batch, steps per epoch: the library defaults unless given)
 *       [--seed 1] [--no-valid] [--keep-best 0|1] [--log-every N]
 *       [--save MODEL] [--load MODEL] [--checkpoint FILE] [--factors factors.csv] [--out DIR]
 *       [--examples K] [--pitch-clips P] [--gl-iter N] [--threads N]
 *
 * DATASET.dsa is written by tools/features from the manifest of
 * tools/dmelodies (one window per clip: run features without --T, or with
 * --T at least the clip length); its factors.csv (default: next to the
 * dataset) gives every clip's melody and instrument. Each clip's first
 * --frames frames (250 of the 251 of a 4-s clip) form one observation.
 *
 * Steps:
 *  1. split: if every melody is rendered with every instrument (dmelodies
 *     --all-instruments), whole melodies go to the validation set (20%,
 *     seeded), so its clips are melodies never seen in training and both
 *     instruments are balanced; otherwise a split stratified by instrument.
 *  2. train with dsn_fit and the library defaults (dsn_fit_defaults: fixed-size
 *     epochs; TS-DSAE constrained_epochs; the family lr) unless flags set them.
 *  3. evaluate (the swap protocol): LDA and logistic regression fitted on the
 *     training clips' v means against the instrument; each validation clip i
 *     gets a partner j of the other instrument and another melody; v is
 *     encoded again from (a) dec(z_i, v_i) [pre-swap, label of i],
 *     (b) dec(z_i, v_j) [post-global-swap, label of j], (c) dec(z_j, v_i)
 *     [post-local-swap, label of i]; macro-F1 of each. Reconstruction checks:
 *     mean squared log-mel error of (b) to the rendering of melody i by j's
 *     instrument (the truth, when rendered) and to the source x_i.
 *  4. pitch: Griffin-Lim audio of (b) and (c), YIN F0, raw pitch accuracy
 *     (50 cents) against the notes of the melody each should play (i's for
 *     (b), j's for (c)), on --pitch-clips validation clips; the same for the
 *     Griffin-Lim of the input log-mel (the ceiling of this pipeline).
 *  5. --out DIR: for --examples pairs, WAVs (Griffin-Lim) of the source, the
 *     partner, the global swap (source melody, partner instrument), the local
 *     swap (partner melody, source instrument) and the truth; swaps.png shows
 *     their log-mel spectrograms side by side (a row per pair).
 * Machine-readable figures are printed as "RESULT key value" lines.
 *
 * --threads N sets OPENBLAS_NUM_THREADS (the program re-executes itself, as
 * OpenBLAS reads it at start-up). */
#include <disent.h>

#include "example_args.h"


#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SR 16000
#define HOP 256
#define CHUNK 100 /* items per encode/decode call */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

/* xorshift64* for the split and the partners */
static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}
static size_t rng_below(size_t n) { return (size_t)(rng_next() % (uint64_t)n); }
static void shuffle(size_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(i), t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* ---- dMelodies factors (shared/papers.md) ---- */
typedef struct clip {
    int tonic, octave, scale, r1, r2, dir[4], inst;
    long melody; /* index of the factor combination */
} clip;

static const int scale_steps[3][9] = {
    {0, 2, 4, 5, 7, 9, 11, 12, 14}, {0, 2, 3, 5, 7, 8, 11, 12, 14}, {0, 2, 3, 5, 6, 9, 10, 12, 14}};
static const int chord_pos[4][3] = {{0, 2, 4}, {3, 5, 7}, {4, 6, 8}, {0, 2, 4}};

/* slots of rhythm idx: the idx-th 6-of-8 combination in lexicographic order */
static void rhythm_slots(int idx, int s[6])
{
    int c[6] = {0, 1, 2, 3, 4, 5};
    for (int k = 0; k < idx; k++) {
        int i = 5;
        while (i >= 0 && c[i] == 2 + i) i--;
        if (i < 0) break;
        c[i]++;
        for (int j = i + 1; j < 6; j++) c[j] = c[j - 1] + 1;
    }
    memcpy(s, c, sizeof c);
}

/* MIDI note sounding in each of n frames (frame t at t * HOP / SR s), 0 = rest */
static void melody_track(const clip *c, float *midi, size_t n)
{
    int s1[6], s2[6], root = 12 * (c->octave + 1) + c->tonic;
    rhythm_slots(c->r1, s1);
    rhythm_slots(c->r2, s2);
    for (size_t t = 0; t < n; t++) midi[t] = 0;
    for (int i = 0; i < 12; i++) {
        int ch = i / 3, k = i % 3, pos = chord_pos[ch][c->dir[ch] ? 2 - k : k];
        int slot = i < 6 ? s1[i] : 8 + s2[i - 6];
        double on = 0.25 * slot, off = on + 0.25;
        for (size_t t = 0; t < n; t++) {
            double tt = (double)t * HOP / SR;
            if (tt >= on && tt < off) midi[t] = (float)(root + scale_steps[c->scale][pos]);
        }
    }
}

static int parse_tonic(const char *s)
{
    static const char *names[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
    for (int i = 0; i < 12; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}
static int parse_scale(const char *s)
{
    return !strcmp(s, "major") ? 0 : !strcmp(s, "harmonic_minor") ? 1 : !strcmp(s, "blues") ? 2 : -1;
}

/* Read factors.csv of tools/dmelodies; returns the number of clips or -1. */
static long read_factors(const char *path, clip **out)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[1024];
    if (!fgets(line, sizeof line, f) || strncmp(line, "path,tonic,octave,scale,rhythm_bar1,rhythm_bar2,arp_dir1", 56)) {
        fclose(f);
        return -1;
    }
    size_t cap = 1024, n = 0;
    clip *c = xmalloc(cap * sizeof *c);
    while (fgets(line, sizeof line, f)) {
        char *field[11];
        int nf = 0;
        line[strcspn(line, "\r\n")] = 0;
        for (char *p = line; nf < 11;) {
            field[nf++] = p;
            char *comma = strchr(p, ',');
            if (!comma) break;
            *comma = 0;
            p = comma + 1;
        }
        if (nf < 11) continue;
        if (n == cap) {
            cap *= 2;
            clip *nc = realloc(c, cap * sizeof *c);
            if (!nc) {
                fprintf(stderr, "out of memory\n");
                exit(1);
            }
            c = nc;
        }
        clip *k = &c[n];
        k->tonic = parse_tonic(field[1]);
        k->octave = atoi(field[2]);
        k->scale = parse_scale(field[3]);
        k->r1 = atoi(field[4]);
        k->r2 = atoi(field[5]);
        for (int d = 0; d < 4; d++) k->dir[d] = !strcmp(field[6 + d], "down");
        k->inst = atoi(field[10]);
        if (k->tonic < 0 || k->scale < 0 || k->octave < 4 || k->octave > 6 || k->r1 < 0 || k->r1 > 27 || k->r2 < 0 ||
            k->r2 > 27) {
            fclose(f);
            free(c);
            return -1;
        }
        long m = k->tonic;
        m = m * 3 + (k->octave - 4);
        m = m * 3 + k->scale;
        m = m * 28 + k->r1;
        m = m * 28 + k->r2;
        for (int d = 0; d < 4; d++) m = m * 2 + k->dir[d];
        k->melody = m;
        n++;
    }
    fclose(f);
    *out = c;
    return (long)n;
}

/* a dark-blue -> purple -> orange -> yellow colour map, u in [0, 1] */
static void colour(float u, unsigned char *p)
{
    static const float stops[5][3] = {{0, 0, 4}, {80, 18, 123}, {182, 54, 121}, {251, 136, 97}, {252, 253, 191}};
    u = u < 0 ? 0 : u > 1 ? 1 : u;
    float s = u * 4;
    int k = (int)s;
    if (k > 3) k = 3;
    float f = s - (float)k;
    for (int c = 0; c < 3; c++) p[c] = (unsigned char)(stops[k][c] + f * (stops[k + 1][c] - stops[k][c]) + 0.5f);
}

/* ---- encode / decode helpers over many items ---- */
typedef struct ctx {
    dsn_model *model;
    dsn_session *ses;
    dsn_encoding *enc;
    size_t T, F, dv, dz, obs;
} ctx;

/* v means [n][dv] and (if z != NULL) z means [n][T][dz] of x [n][T][F] */
static void encode_all(ctx *c, const float *x, size_t n, float *v, float *z)
{
    for (size_t o = 0; o < n; o += CHUNK) {
        size_t m = n - o < CHUNK ? n - o : CHUNK;
        CHECK(dsn_encode(c->ses, c->enc, x + o * c->obs, m, NULL));
        CHECK(dsn_encoding_get(c->enc, v + o * c->dv, m * c->dv, NULL, NULL, "global", "mean"));
        if (z) CHECK(dsn_encoding_get(c->enc, z + o * c->T * c->dz, m * c->T * c->dz, NULL, NULL, "local", "mean"));
    }
}

/* out [m][T][F] = dec(z_rows, v_rows) for m <= CHUNK items given as row pointers */
static void decode_rows(ctx *c, const float *const *vrows, const float *const *zrows, size_t m, float *out,
                        float *vbuf, float *zbuf)
{
    for (size_t k = 0; k < m; k++) {
        memcpy(vbuf + k * c->dv, vrows[k], c->dv * sizeof(float));
        memcpy(zbuf + k * c->T * c->dz, zrows[k], c->T * c->dz * sizeof(float));
    }
    CHECK(dsn_encoding_prepare(c->enc, m, NULL));
    CHECK(dsn_encoding_set(c->enc, "global", "value", vbuf, m));
    CHECK(dsn_encoding_set(c->enc, "local", "value", zbuf, m * c->T));
    CHECK(dsn_decode(c->ses, out, m * c->obs, c->enc));
}

static double mse(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        s += d * d;
    }
    return s / (double)n;
}

/* ---- training progress ---- */
typedef struct progress {
    double t0;
    int log_every, epochs;
    /* per-epoch means of the step terms */
    int n_terms;
    const char *names[16];
    double sum[16];
    int count;
    double last[16]; /* means of the last finished epoch */
    int last_n;
    const char *last_names[16];
} progress;

static int on_progress(void *user, int epoch, int64_t step, int epoch_end, int n_terms, const char *const *names,
                       const float *values)
{
    progress *p = user;
    double el = ex_now() - p->t0;
    if (!epoch_end) {
        if (n_terms > 16) n_terms = 16;
        if (p->count == 0 || n_terms != p->n_terms) {
            p->n_terms = n_terms;
            for (int k = 0; k < n_terms; k++) p->names[k] = names[k], p->sum[k] = 0;
            p->count = 0;
        }
        for (int k = 0; k < n_terms; k++) p->sum[k] += values[k];
        p->count++;
        if (p->log_every > 0 && step % p->log_every == 0) {
            printf("  step %6lld", (long long)step);
            for (int k = 0; k < n_terms; k++) printf("  %s %.4g", names[k], values[k]);
            printf("  [%.1f s]\n", el);
            fflush(stdout);
        }
        return 0;
    }
    printf("epoch %3d/%d", epoch, p->epochs);
    for (int k = 0; k < p->n_terms && p->count; k++) {
        p->last[k] = p->sum[k] / p->count;
        p->last_names[k] = p->names[k];
        printf("  %s %.4g", p->names[k], p->last[k]);
    }
    p->last_n = p->count ? p->n_terms : 0;
    p->count = 0;
    for (int k = 0; k < n_terms; k++)
        if (strcmp(names[k], "train_loss")) printf("  %s %.4g", names[k], values[k]);
    printf("  [%.1f s]\n", el);
    fflush(stdout);
    return 0;
}

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s DATASET.dsa [--model ts-dsae|dsae] [--epochs N] [--constrained C] [--z-dim 16] [--v-dim 16]\n"
            "       [--model-opts \"k=v, ...\"] [--lr LR] [--batch B] [--steps-per-epoch S] [--frames 250] [--valid-fraction 0.2]\n"
            "       [--seed 1] [--no-valid] [--keep-best 0|1] [--log-every N] [--save MODEL] [--load MODEL]\n"
            "       [--checkpoint FILE (saved every epoch, with the optimizer: resumable, loadable with --load)]\n"
            "       [--factors factors.csv] [--out DIR] [--examples K] [--pitch-clips P] [--gl-iter N] [--threads N]\n",
            prog);
}

typedef struct cfg {
    const char *data, *model, *model_opts, *save, *load, *checkpoint, *factors, *out;
    int epochs, constrained, z_dim, v_dim, batch, steps_per_epoch, frames, no_valid, keep_best, log_every, examples, pitch_clips,
        gl_iter, threads;
    double lr, valid_fraction;
    unsigned long long seed;
} cfg;

int main(int argc, char **argv)
{
    /* epochs, constrained, batch, steps per epoch and lr default to the library's (0 / -1 = not given) */
    cfg c = {.model = "ts-dsae", .epochs = 0, .constrained = -1, .z_dim = 16, .v_dim = 16, .batch = 0,
             .frames = 250, .keep_best = 1, .log_every = 0, .examples = 2, .pitch_clips = 12, .gl_iter = 32,
             .lr = 0, .valid_fraction = 0.2, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (EX_FLAG("--model")) c.model = val;
        else if (EX_FLAG("--epochs")) c.epochs = atoi(val);
        else if (EX_FLAG("--constrained")) c.constrained = atoi(val);
        else if (EX_FLAG("--z-dim")) c.z_dim = atoi(val);
        else if (EX_FLAG("--v-dim")) c.v_dim = atoi(val);
        else if (EX_FLAG("--model-opts")) c.model_opts = val;
        else if (EX_FLAG("--lr")) c.lr = atof(val);
        else if (EX_FLAG("--batch")) c.batch = atoi(val);
        else if (EX_FLAG("--steps-per-epoch")) c.steps_per_epoch = atoi(val);
        else if (EX_FLAG("--frames")) c.frames = atoi(val);
        else if (EX_FLAG("--valid-fraction")) c.valid_fraction = atof(val);
        else if (EX_FLAG("--seed")) c.seed = strtoull(val, NULL, 10);
        else if (EX_FLAG("--keep-best")) c.keep_best = atoi(val);
        else if (EX_FLAG("--log-every")) c.log_every = atoi(val);
        else if (EX_FLAG("--save")) c.save = val;
        else if (EX_FLAG("--load")) c.load = val;
        else if (EX_FLAG("--checkpoint")) c.checkpoint = val;
        else if (EX_FLAG("--factors")) c.factors = val;
        else if (EX_FLAG("--out")) c.out = val;
        else if (EX_FLAG("--examples")) c.examples = atoi(val);
        else if (EX_FLAG("--pitch-clips")) c.pitch_clips = atoi(val);
        else if (EX_FLAG("--gl-iter")) c.gl_iter = atoi(val);
        else if (EX_FLAG("--threads")) c.threads = atoi(val);
        else if (!strcmp(flag, "--no-valid")) c.no_valid = 1;
        else if (flag[0] != '-' && !c.data) c.data = flag;
        else {
            usage(argv[0]);
            return 2;
        }
    }
    if (!c.data || c.epochs < 0 || c.constrained < -1 || c.z_dim < 1 || c.v_dim < 1 || c.batch < 0 || c.frames < 2 ||
        !(c.valid_fraction > 0 && c.valid_fraction < 1) || c.examples < 0 || c.pitch_clips < 0 || c.gl_iter < 1 ||
        (strcmp(c.model, "ts-dsae") && strcmp(c.model, "dsae"))) {
        usage(argv[0]);
        return 2;
    }
    if (c.threads > 0) { /* OpenBLAS reads its thread count when it is loaded */
        char want[16];
        snprintf(want, sizeof want, "%d", c.threads);
        const char *have = getenv("OPENBLAS_NUM_THREADS");
        if (!have || strcmp(have, want)) {
            setenv("OPENBLAS_NUM_THREADS", want, 1);
            fflush(stdout);
            execv("/proc/self/exe", argv);
            fprintf(stderr, "warning: cannot re-execute to set OPENBLAS_NUM_THREADS=%s (%s)\n", want, strerror(errno));
        }
    }
    rng_state ^= c.seed * 0x9E3779B97F4A7C15ULL;
    if (!rng_state) rng_state = 1;
    double t_start = ex_now();
    printf("libdisent %s, OPENBLAS_NUM_THREADS=%s\n", dsn_version_string(),
           getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)");

    /* ---- data ---- */
    dsn_dataset *all;
    CHECK(dsn_dataset_load_audio(&all, c.data, "instrument"));
    size_t n = host_ds(all).size, dims[3];
    if (host_ds_shape(all, dims, 3) != 2) {
        fprintf(stderr, "%s: expected sequences of log-mel frames\n", c.data);
        return 1;
    }
    size_t T0 = dims[0], F = dims[1], T = (size_t)c.frames;
    if (T0 < T) {
        fprintf(stderr, "%s: windows of %zu frames, --frames %zu asked\n", c.data, T0, T);
        return 1;
    }
    size_t obs = T * F;
    float *x = xmalloc(n * obs * sizeof(float)), *row = xmalloc(T0 * F * sizeof(float));
    int32_t *label = xmalloc(n * sizeof(int32_t));
    for (size_t i = 0; i < n; i++) {
        CHECK(dsn_dataset_get(all, row, T0 * F, &label[i], i));
        memcpy(x + i * obs, row, obs * sizeof(float)); /* the first T frames of the window */
    }
    free(row);
    dsn_dataset_free(all);
    printf("data: %zu clips of %zu x %zu log-mel frames (observations: the first %zu frames)\n", n, T0, F, T);

    char fpath[4096];
    if (c.factors) snprintf(fpath, sizeof fpath, "%s", c.factors);
    else {
        const char *sl = strrchr(c.data, '/');
        snprintf(fpath, sizeof fpath, "%.*sfactors.csv", sl ? (int)(sl - c.data + 1) : 0, c.data);
    }
    clip *cl = NULL;
    long ncl = read_factors(fpath, &cl);
    int have_factors = ncl == (long)n;
    if (have_factors) { /* the labels must be the instruments of the manifest, in order */
        int lo = cl[0].inst;
        for (size_t i = 0; i < n; i++)
            if (cl[i].inst < lo) lo = cl[i].inst;
        for (size_t i = 0; i < n && have_factors; i++)
            if ((label[i] == 0) != (cl[i].inst == lo)) have_factors = 0;
    }
    if (!have_factors) {
        printf("warning: %s does not describe the dataset's %zu clips in order: no truth, no pitch check\n", fpath, n);
        free(cl);
        cl = NULL;
    }
    /* twin[i]: the clip with i's melody and the other instrument (-1: none) */
    long *twin = xmalloc(n * sizeof(long));
    int paired = have_factors;
    for (size_t i = 0; i < n; i++) {
        twin[i] = -1;
        if (!have_factors) continue;
        for (size_t j = 0; j < n; j++)
            if (j != i && cl[j].melody == cl[i].melody && label[j] != label[i]) {
                twin[i] = (long)j;
                break;
            }
        if (twin[i] < 0) paired = 0;
    }
    int n_classes = 0;
    for (size_t i = 0; i < n; i++)
        if (label[i] + 1 > n_classes) n_classes = label[i] + 1;
    if (n_classes != 2) {
        fprintf(stderr, "this program expects two instruments, the dataset has %d\n", n_classes);
        return 1;
    }

    /* ---- split ---- */
    char *is_valid = xmalloc(n);
    memset(is_valid, 0, n);
    size_t *perm = xmalloc(n * sizeof(size_t));
    for (size_t i = 0; i < n; i++) perm[i] = i;
    shuffle(perm, n);
    size_t want_valid = (size_t)(c.valid_fraction * (double)n + 0.5), nv = 0;
    if (paired) { /* whole melodies (both renderings) to validation */
        for (size_t k = 0; k < n && nv < want_valid; k++) {
            size_t i = perm[k];
            if (is_valid[i]) continue;
            is_valid[i] = 1, is_valid[twin[i]] = 1;
            nv += 2;
        }
    } else { /* stratified by instrument */
        for (int cls = 0; cls < n_classes; cls++) {
            size_t nc = 0, taken = 0;
            for (size_t i = 0; i < n; i++) nc += label[i] == cls;
            size_t want = (size_t)(c.valid_fraction * (double)nc + 0.5);
            for (size_t k = 0; k < n && taken < want; k++)
                if (label[perm[k]] == cls) is_valid[perm[k]] = 1, taken++;
            nv += taken;
        }
    }
    size_t nt = n - nv, *tr_idx = xmalloc(nt * sizeof(size_t)), *va_idx = xmalloc(nv * sizeof(size_t));
    for (size_t i = 0, a = 0, b = 0; i < n; i++) {
        if (is_valid[i]) va_idx[b++] = i;
        else tr_idx[a++] = i;
    }
    float *xt = xmalloc(nt * obs * sizeof(float)), *xv = xmalloc(nv * obs * sizeof(float));
    int32_t *lt = xmalloc(nt * sizeof(int32_t)), *lv = xmalloc(nv * sizeof(int32_t));
    for (size_t k = 0; k < nt; k++) memcpy(xt + k * obs, x + tr_idx[k] * obs, obs * sizeof(float)), lt[k] = label[tr_idx[k]];
    for (size_t k = 0; k < nv; k++) memcpy(xv + k * obs, x + va_idx[k] * obs, obs * sizeof(float)), lv[k] = label[va_idx[k]];
    printf("split: %zu training, %zu validation clips (%s, seed %llu)\n", nt, nv,
           paired ? "by melody: every melody is rendered by both instruments" : "stratified by instrument", c.seed);

    /* ---- model ---- */
    dsn_model *model = NULL;
    dsn_optimizer *opt = NULL;
    double train_s = 0;
    int epochs_run = 0;
    progress pr = {.log_every = c.log_every, .epochs = c.epochs};
    if (c.load) {
        CHECK(dsn_model_load(&model, c.load));
        printf("model: %s loaded from %s\n", host_info(model).family, c.load);
    } else {
        dsn_options *mo;
        CHECK(dsn_options_create(&mo));
        char buf[64];
        snprintf(buf, sizeof buf, "%zu", T);
        CHECK(dsn_options_set(mo, "frames", buf));
        snprintf(buf, sizeof buf, "%zu", F);
        CHECK(dsn_options_set(mo, "n_mels", buf));
        snprintf(buf, sizeof buf, "%d", c.z_dim);
        CHECK(dsn_options_set(mo, "z_dim", buf));
        snprintf(buf, sizeof buf, "%d", c.v_dim);
        CHECK(dsn_options_set(mo, "v_dim", buf));
        snprintf(buf, sizeof buf, "%llu", c.seed);
        CHECK(dsn_options_set(mo, "seed", buf));
        if (!strcmp(c.model, "ts-dsae") && c.constrained >= 0) {
            snprintf(buf, sizeof buf, "%d", c.constrained);
            CHECK(dsn_options_set(mo, "constrained_epochs", buf));
        }
        if (c.model_opts) CHECK(dsn_options_parse(mo, c.model_opts));
        CHECK(dsn_model_create(&model, c.model, mo));
        printf("model: %s, %zu parameters, options:", c.model, host_info(model).num_params);
        const dsn_options *eff = dsn_model_options(model);
        for (size_t k = 0; k < dsn_options_count(eff); k++)
            printf(" %s=%s", dsn_options_key(eff, k), dsn_options_get(eff, dsn_options_key(eff, k)));
        printf("\n");
        dsn_options_free(mo);

        dsn_dataset *dtr, *dva = NULL;
        size_t shape[2] = {T, F};
        CHECK(dsn_dataset_from_memory(&dtr, xt, nt, shape, 2, lt, NULL));
        if (!c.no_valid) CHECK(dsn_dataset_from_memory(&dva, xv, nv, shape, 2, lv, NULL));
        dsn_options *oo, *fo;
        CHECK(dsn_options_create(&oo));
        if (c.lr > 0) {
            snprintf(buf, sizeof buf, "%g", c.lr);
            CHECK(dsn_options_set(oo, "lr", buf));
        }
        CHECK(dsn_optimizer_create(&opt, model, "adam", oo));
        CHECK(dsn_options_create(&fo));
        CHECK(dsn_options_parse(fo, dsn_fit_defaults(model))); /* the library's schedule, for the display below */
        if (c.epochs) {
            snprintf(buf, sizeof buf, "%d", c.epochs);
            CHECK(dsn_options_set(fo, "epochs", buf));
        }
        if (c.batch) {
            snprintf(buf, sizeof buf, "%d", c.batch);
            CHECK(dsn_options_set(fo, "batch_size", buf));
        }
        if (c.steps_per_epoch) {
            snprintf(buf, sizeof buf, "%d", c.steps_per_epoch);
            CHECK(dsn_options_set(fo, "steps_per_epoch", buf));
        }
        c.epochs = dsn_options_get(fo, "epochs") ? atoi(dsn_options_get(fo, "epochs")) : 10;
        c.batch = dsn_options_get(fo, "batch_size") ? atoi(dsn_options_get(fo, "batch_size")) : 256;
        pr.epochs = c.epochs;
        CHECK(dsn_options_set(fo, "log_every", "1"));
        CHECK(dsn_options_set(fo, "keep_best", c.keep_best ? "1" : "0"));
        snprintf(buf, sizeof buf, "%llu", c.seed);
        CHECK(dsn_options_set(fo, "seed", buf));
        if (c.checkpoint) CHECK(dsn_options_set(fo, "checkpoint", c.checkpoint));
        printf("training: %d epochs%s, batch %d, Adam lr %s, %s steps per epoch, validation %s, keep_best %d\n",
               c.epochs, strcmp(c.model, "ts-dsae") ? "" : " (the first constrained_epochs constrained)", c.batch,
               c.lr > 0 ? dsn_options_get(oo, "lr") : "(the family's default)",
               dsn_options_get(fo, "steps_per_epoch") ? dsn_options_get(fo, "steps_per_epoch") : "a pass of",
               dva ? "on" : "off", c.keep_best);
        fflush(stdout);
        pr.t0 = ex_now();
        CHECK(dsn_fit(model, opt, dtr, dva, fo, on_progress, &pr));
        train_s = ex_now() - pr.t0;
        epochs_run = c.epochs;
        dsn_options_free(oo);
        dsn_options_free(fo);
        dsn_dataset_free(dtr);
        dsn_dataset_free(dva);
        printf("trained %d epochs in %.1f s (%.2f s per epoch)\n", epochs_run, train_s,
               epochs_run ? train_s / epochs_run : 0.0);
        if (c.save) {
            CHECK(dsn_model_save(model, NULL, c.save));
            printf("model saved to %s\n", c.save);
        }
    }
    if (host_info(model).obs_size != obs) {
        fprintf(stderr, "the model wants %zu floats per observation, the data have %zu\n", host_info(model).obs_size, obs);
        return 1;
    }

    /* ---- evaluation: the swap protocol ---- */
    double t_eval = ex_now();
    ctx cx = {.model = model, .T = T, .F = F, .obs = obs};
    for (int p = 0; p < host_info(model).num_parts; p++) {
        if (!strcmp(host_part(model, p).name, "global")) cx.dv = (size_t)host_part(model, p).dim;
        if (!strcmp(host_part(model, p).name, "local")) cx.dz = (size_t)host_part(model, p).dim;
    }
    CHECK(dsn_session_create(&cx.ses, model, CHUNK));
    CHECK(dsn_encoding_create(&cx.enc, model, CHUNK));
    float *vt = xmalloc(nt * cx.dv * sizeof(float)), *vv = xmalloc(nv * cx.dv * sizeof(float));
    float *zv = xmalloc(nv * T * cx.dz * sizeof(float));
    encode_all(&cx, xt, nt, vt, NULL);
    encode_all(&cx, xv, nv, vv, zv);

    const char *kinds[2] = {"lda", "logreg"};
    dsn_classifier *clf[2];
    for (int k = 0; k < 2; k++) {
        CHECK(dsn_classifier_create(&clf[k], kinds[k], NULL));
        CHECK(dsn_classifier_fit(clf[k], vt, nt, cx.dv, lt));
    }
    int32_t *pred = xmalloc(nv * sizeof(int32_t)), *truth = xmalloc(nv * sizeof(int32_t));
    double f1_direct[2];
    for (int k = 0; k < 2; k++) {
        CHECK(dsn_classifier_predict(clf[k], pred, vv, nv, cx.dv));
        CHECK(dsn_macro_f1(&f1_direct[k], lv, pred, nv));
    }

    /* partners: another instrument and (if known) another melody */
    size_t *partner = xmalloc(nv * sizeof(size_t));
    for (size_t i = 0; i < nv; i++) {
        size_t j = i;
        for (int tries = 0; tries < 100000; tries++) {
            j = rng_below(nv);
            if (lv[j] != lv[i] && (!cl || cl[va_idx[j]].melody != cl[va_idx[i]].melody)) break;
        }
        if (lv[j] == lv[i]) {
            fprintf(stderr, "the validation set holds a single instrument\n");
            return 1;
        }
        partner[i] = j;
    }

    /* three decodings, re-encoded; reconstruction errors */
    enum { PRE = 0, GLOBAL = 1, LOCAL = 2 };
    const char *tname[3] = {"pre", "global", "local"};
    float *vre[3], *dec = xmalloc(CHUNK * obs * sizeof(float)), *vbuf = xmalloc(CHUNK * cx.dv * sizeof(float)),
                   *zbuf = xmalloc(CHUNK * T * cx.dz * sizeof(float));
    double f1[3][2], err_truth[3] = {0}, err_src[3] = {0}, err_partner[3] = {0};
    size_t n_truth[3] = {0};
    for (int s = 0; s < 3; s++) {
        vre[s] = xmalloc(nv * cx.dv * sizeof(float));
        for (size_t o = 0; o < nv; o += CHUNK) {
            size_t m = nv - o < CHUNK ? nv - o : CHUNK;
            const float *vr[CHUNK], *zr[CHUNK];
            for (size_t k = 0; k < m; k++) {
                size_t i = o + k, j = partner[i];
                size_t vsrc = s == GLOBAL ? j : i, zsrc = s == LOCAL ? j : i;
                vr[k] = vv + vsrc * cx.dv;
                zr[k] = zv + zsrc * T * cx.dz;
            }
            decode_rows(&cx, vr, zr, m, dec, vbuf, zbuf);
            for (size_t k = 0; k < m; k++) {
                size_t i = o + k, j = partner[i];
                /* the melody (z) comes from zi, the instrument (v) from vi */
                size_t zi = s == LOCAL ? j : i, vi = s == GLOBAL ? j : i;
                const float *d = dec + k * obs;
                err_src[s] += mse(d, xv + zi * obs, obs);     /* the clip whose z was used */
                err_partner[s] += mse(d, xv + vi * obs, obs); /* the clip whose v was used */
                long tw = -1;
                if (zi == vi) tw = (long)va_idx[zi];
                else if (paired) tw = twin[va_idx[zi]]; /* melody of zi by the other instrument = vi's */
                if (tw >= 0) {
                    err_truth[s] += mse(d, x + (size_t)tw * obs, obs);
                    n_truth[s]++;
                }
            }
            encode_all(&cx, dec, m, vre[s] + o * cx.dv, NULL);
        }
        for (size_t i = 0; i < nv; i++) truth[i] = s == GLOBAL ? lv[partner[i]] : lv[i];
        for (int k = 0; k < 2; k++) {
            CHECK(dsn_classifier_predict(clf[k], pred, vre[s], nv, cx.dv));
            CHECK(dsn_macro_f1(&f1[s][k], truth, pred, nv));
        }
        err_src[s] /= (double)nv;
        err_partner[s] /= (double)nv;
        if (n_truth[s]) err_truth[s] /= (double)n_truth[s];
    }
    /* the two renderings of a melody differ by this much: the scale of the truth errors */
    double err_twins = 0;
    if (paired) {
        for (size_t i = 0; i < nv; i++) err_twins += mse(xv + i * obs, x + (size_t)twin[va_idx[i]] * obs, obs);
        err_twins /= (double)nv;
    }
    /* how much the melody lives in z: spread of z means over time vs over items */
    double z_time_var = 0;
    for (size_t i = 0; i < nv; i++)
        for (size_t d = 0; d < cx.dz; d++) {
            double mu = 0, s2 = 0;
            for (size_t t = 0; t < T; t++) mu += zv[(i * T + t) * cx.dz + d];
            mu /= (double)T;
            for (size_t t = 0; t < T; t++) {
                double e = zv[(i * T + t) * cx.dz + d] - mu;
                s2 += e * e;
            }
            z_time_var += s2 / (double)T;
        }
    z_time_var /= (double)(nv * cx.dz);
    double eval_s = ex_now() - t_eval;

    printf("\nswap evaluation on %zu validation clips (classifiers fitted on %zu training v means)\n", nv, nt);
    printf("  %-28s %8s %8s\n", "macro-F1", "lda", "logreg");
    printf("  %-28s %8.3f %8.3f\n", "v of the input (no decoding)", f1_direct[0], f1_direct[1]);
    printf("  %-28s %8.3f %8.3f\n", "pre-swap   dec(z_i, v_i)", f1[PRE][0], f1[PRE][1]);
    printf("  %-28s %8.3f %8.3f\n", "global swap dec(z_i, v_j)", f1[GLOBAL][0], f1[GLOBAL][1]);
    printf("  %-28s %8.3f %8.3f\n", "local swap  dec(z_j, v_i)", f1[LOCAL][0], f1[LOCAL][1]);
    printf("  log-mel MSE of the decoding to: the truth (the z clip's melody played by the v clip's instrument)"
           " | the z clip | the v clip\n");
    for (int s = 0; s < 3; s++) {
        printf("    %-7s ", tname[s]);
        if (n_truth[s]) printf("%8.3f", err_truth[s]);
        else printf("%8s", "n/a");
        printf(" | %8.3f | %8.3f\n", err_src[s], err_partner[s]);
    }
    if (paired) printf("    (for scale: the input clip itself, the same melody by the other instrument, is %.3f from the truth)\n", err_twins);
    printf("  z means: variance over time within a clip %.4f (near 0: z_t ignores the frames)\n", z_time_var);
    if (pr.last_n) {
        printf("  last training epoch, mean terms:");
        for (int k = 0; k < pr.last_n; k++) printf(" %s %.4g", pr.last_names[k], pr.last[k]);
        printf("\n");
    }
    printf("  evaluation took %.1f s\n", eval_s);
    for (int s = 0; s < 3; s++) {
        printf("RESULT f1_%s %.4f\n", tname[s], f1[s][0]);
        printf("RESULT f1_%s_logreg %.4f\n", tname[s], f1[s][1]);
    }
    printf("RESULT f1_direct %.4f\nRESULT f1_direct_logreg %.4f\n", f1_direct[0], f1_direct[1]);
    for (int s = 0; s < 3; s++) {
        if (n_truth[s]) printf("RESULT mse_truth_%s %.4f\n", tname[s], err_truth[s]);
        printf("RESULT mse_zsrc_%s %.4f\nRESULT mse_vsrc_%s %.4f\n", tname[s], err_src[s], tname[s], err_partner[s]);
    }
    if (paired) printf("RESULT mse_twins %.4f\n", err_twins);
    printf("RESULT z_time_var %.5f\n", z_time_var);
    for (int k = 0; k < pr.last_n; k++) printf("RESULT last_%s %.5g\n", pr.last_names[k], pr.last[k]);
    if (!c.load) printf("RESULT train_seconds %.1f\nRESULT epochs %d\n", train_s, epochs_run);
    fflush(stdout);

    /* ---- pitch check ---- */
    dsn_options *gl;
    CHECK(dsn_options_create(&gl));
    {
        char buf[32];
        snprintf(buf, sizeof buf, "%d", c.gl_iter);
        CHECK(dsn_options_set(gl, "gl_iter", buf));
    }
    size_t ns = 0, nf0 = 0;
    CHECK(dsn_mel_to_audio(NULL, 0, &ns, xv, T, F, gl));
    float *audio = xmalloc(ns * sizeof(float));
    CHECK(dsn_pitch_track(NULL, 0, &nf0, audio, ns, SR, NULL));
    float *f0 = xmalloc(nf0 * sizeof(float)), *ref = xmalloc(nf0 * sizeof(float));
    if (cl && c.pitch_clips > 0) {
        double t_p = ex_now();
        size_t P = (size_t)c.pitch_clips < nv ? (size_t)c.pitch_clips : nv;
        double hit[3] = {0}, voiced[3] = {0};
        const char *pname[3] = {"input", "global", "local"};
        for (size_t q = 0; q < P; q++) {
            size_t i = q * nv / P, j = partner[i];
            for (int s = 0; s < 3; s++) {
                const float *mel;
                size_t mel_of = s == 2 ? j : i; /* local swap plays j's melody */
                if (s == 0) mel = xv + i * obs;
                else {
                    const float *vr[1] = {vv + (s == 1 ? j : i) * cx.dv}, *zr[1] = {zv + mel_of * T * cx.dz};
                    decode_rows(&cx, vr, zr, 1, dec, vbuf, zbuf);
                    mel = dec;
                }
                size_t got;
                CHECK(dsn_mel_to_audio(audio, ns, &got, mel, T, F, gl));
                CHECK(dsn_pitch_track(f0, nf0, &got, audio, ns, SR, NULL));
                melody_track(&cl[va_idx[mel_of]], ref, nf0);
                double acc;
                size_t nvo;
                CHECK(dsn_raw_pitch_accuracy(&acc, NULL, &nvo, f0, ref, nf0, DSN_PITCH_MIDI, 50.0));
                hit[s] += acc * (double)nvo;
                voiced[s] += (double)nvo;
            }
        }
        printf("\npitch check on %zu validation clips (Griffin-Lim %d iterations, YIN, raw pitch accuracy 50 cents):\n",
               P, c.gl_iter);
        printf("  input log-mel (ceiling) %.3f | global swap vs the source melody %.3f | local swap vs the partner "
               "melody %.3f  [%.1f s]\n",
               hit[0] / voiced[0], hit[1] / voiced[1], hit[2] / voiced[2], ex_now() - t_p);
        for (int s = 0; s < 3; s++) printf("RESULT rpa_%s %.4f\n", pname[s], hit[s] / voiced[s]);
        fflush(stdout);
    }

    /* ---- audio and spectrogram examples ---- */
    if (c.out && c.examples > 0) {
        if (mkdir(c.out, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "cannot create %s: %s\n", c.out, strerror(errno));
            return 1;
        }
        int E = c.examples, cols = paired ? 5 : 4, sc = 2, gap = 4;
        int pw = (int)T, ph = (int)F * sc, W = cols * pw + (cols + 1) * gap, H = E * ph + (E + 1) * gap;
        unsigned char *img = xmalloc((size_t)W * (size_t)H * 3);
        memset(img, 255, (size_t)W * (size_t)H * 3);
        const char *col_name[5] = {"source", "partner", "swap_global", "swap_local", "truth"};
        float *panel = xmalloc((size_t)5 * obs * sizeof(float));
        for (int e = 0; e < E; e++) {
            /* alternate the source instrument: pair 0 from class 0, pair 1 from class 1, ... */
            size_t i = 0, seen = 0;
            for (size_t k = 0; k < nv; k++)
                if (lv[k] == e % 2 && seen++ == (size_t)(e / 2)) {
                    i = k;
                    break;
                }
            size_t j = partner[i];
            memcpy(panel, xv + i * obs, obs * sizeof(float));
            memcpy(panel + obs, xv + j * obs, obs * sizeof(float));
            const float *vr[1] = {vv + j * cx.dv}, *zr[1] = {zv + i * T * cx.dz};
            decode_rows(&cx, vr, zr, 1, panel + 2 * obs, vbuf, zbuf);
            vr[0] = vv + i * cx.dv, zr[0] = zv + j * T * cx.dz;
            decode_rows(&cx, vr, zr, 1, panel + 3 * obs, vbuf, zbuf);
            if (paired) memcpy(panel + 4 * obs, x + (size_t)twin[va_idx[i]] * obs, obs * sizeof(float));
            float vmax = -1e30f;
            for (size_t k = 0; k < 2 * obs; k++)
                if (panel[k] > vmax) vmax = panel[k];
            float vmin = vmax - 14.0f;
            printf("%spair %d: source clip %zu (instrument %d%s), partner clip %zu (instrument %d)\n", e ? "" : "\n", e,
                   va_idx[i], cl ? cl[va_idx[i]].inst : lv[i], cl ? ", melody kept by swap_global" : "", va_idx[j],
                   cl ? cl[va_idx[j]].inst : lv[j]);
            for (int p = 0; p < cols; p++) {
                const float *m = panel + (size_t)p * obs;
                char path[4200];
                size_t got;
                snprintf(path, sizeof path, "%s/pair%d_%s.wav", c.out, e, col_name[p]);
                CHECK(dsn_mel_to_audio(audio, ns, &got, m, T, F, gl));
                CHECK(dsn_audio_write(path, audio, got, SR, NULL));
                printf("  %s\n", path);
                int x0 = gap + p * (pw + gap), y0 = gap + e * (ph + gap);
                for (int yy = 0; yy < ph; yy++)
                    for (int t = 0; t < pw; t++) {
                        int mel_bin = (int)F - 1 - yy / sc; /* low frequencies at the bottom */
                        float u = (m[(size_t)t * F + (size_t)mel_bin] - vmin) / (vmax - vmin);
                        colour(u, img + (((size_t)(y0 + yy) * (size_t)W) + (size_t)(x0 + t)) * 3);
                    }
            }
        }
        char path[4200];
        snprintf(path, sizeof path, "%s/swaps.png", c.out);
        if (dsn_image_save_png(path, img, W, H, 3) != DSN_OK) fprintf(stderr, "%s\n", dsn_last_error());
        else
            printf("%s: log-mel spectrograms, one row per pair, columns: source | partner | swap_global (source "
                   "melody, partner instrument) | swap_local (partner melody, source instrument)%s\n",
                   path, paired ? " | truth (source melody rendered by the partner instrument)" : "");
        free(img);
        free(panel);
    }
    printf("RESULT total_seconds %.1f\n", ex_now() - t_start);

    dsn_options_free(gl);
    for (int k = 0; k < 2; k++) dsn_classifier_free(clf[k]);
    for (int s = 0; s < 3; s++) free(vre[s]);
    dsn_encoding_free(cx.enc);
    dsn_session_free(cx.ses);
    dsn_optimizer_free(opt);
    dsn_model_free(model);
    free(audio), free(f0), free(ref), free(dec), free(vbuf), free(zbuf), free(partner), free(pred), free(truth);
    free(vt), free(vv), free(zv), free(x), free(xt), free(xv), free(lt), free(lv), free(label), free(tr_idx);
    free(va_idx), free(perm), free(is_valid), free(twin), free(cl);
    return 0;
}
