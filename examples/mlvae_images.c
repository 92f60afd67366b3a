/* mlvae_images.c - train ML-VAE on a set of images grouped by class (MNIST,
 * or any set of .npy files such as scripts/make-image-sets.py writes) and
 * evaluate how well it splits content (the class) from style (the rest).
 *
 *   mlvae_images DATA_DIR [--epochs N] [--steps N] [--groups G] [--group-size K]
 *               [--encoder conv|mlp] [--hidden H] [--activation A] [--style-dim 10] [--content-dim 10]
 *               [--beta 1] [--lr 1e-3] [--seed 1] [--classes 0-6]
 *               [--save MODEL] [--load MODEL] [--png OUT.png] [--eval-train N] [--quick]
 *               [--judge-train 60000] [--judge-features 1024] [--baseline vae]
 *               [--model-opts "key=value, ..."]   (default: none, the model's own image defaults)
 *
 * DATA_DIR is an MNIST folder (the four IDX files) or a folder with
 * train_x.npy, train_labels.npy, test_x.npy, test_labels.npy (float32 images
 * [n, H*W] in [0, 1], int32 class ids) and optionally test_factors.npy
 * (float32 [n, F], the style factors that drew each test image) with
 * factors.txt ("name continuous|discrete" per line).
 *
 * Training: dsn_fit on batches of G classes x K images of each; the encoder
 * is convolutional for square images (image=HxW) unless --encoder mlp.
 * --baseline vae trains the same network without groups (every image its own
 * group: a beta-VAE with latent size content_dim + style_dim and the KL
 * weight --beta on both halves, no warm-up; the group terms have no groups to
 * act on) and scores its whole latent.
 * Evaluation on the test images (all numbers printed as "RESULT key value"):
 *  - content_acc / style_acc: a multinomial logistic regression fitted on the
 *    training set's content (style) means of single observations predicts the
 *    digit of a test image from its content (style) mean;
 *  - swap_acc: a separate logistic regression on random ReLU features of the
 *    raw pixels, fitted on the training images, labels decode(content of a, style of b) for every test
 *    image a and a random test image b of another digit; swap_acc is the
 *    fraction labelled as a's digit (swap_style_acc: as b's digit); the
 *    judge on blurred clean test images (judge_blur_acc) as a control, and
 *    the same scores from judge2, the judge fitted on clean and blurred
 *    training images (judge2_*);
 *  - accumulation: content of k = 1, 2, 4, 8, 16 test images of one digit
 *    accumulated by the product of Gaussians; mean content variance and the
 *    content classifier's accuracy on the accumulated means;
 *  - with --classes (train on a subset of classes): few-shot accuracy on the
 *    unseen classes of a nearest-centroid classifier whose centroids are the
 *    accumulated content of 5 labelled test images per unseen class, next to
 *    the same classifier on raw pixels;
 *  - with test_factors.npy: MIG, DCI, SAP, modularity and explicitness
 *    (dsn_factor_metrics) of the style means, of the content means and of a
 *    PCA of the pixels with as many components as style has, against the
 *    style factors.
 * The swap grid PNG has one row per content source and one column per style
 * source (the sources themselves on the first column / first row). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <disent.h>

#include "example_args.h"

#include "../tools/common/label_grid.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { CHUNK = 256, MAXC = 64 };
static size_t PIX = 784; /* the dataset's observation size */
static int SIDE = 28;    /* square images: the grid's tile size (0: no grid) */

static double t_start;

static int progress(void *user, int epoch, int64_t step, int epoch_end, int n, const char *const *names,
                    const float *values)
{
    (void)user;
    if (!epoch_end) return 0;
    printf("epoch %3d  step %6lld  %6.1f s:", epoch, (long long)step, ex_now() - t_start);
    for (int i = 0; i < n; i++) printf(" %s %.2f", names[i], values[i]);
    printf("\n");
    fflush(stdout);
    return 0;
}

/* ---- a linear classifier through the library's evaluation API ---- */

/* Fit a classifier of `kind` on (xtr, ytr) and predict xte into pred. */
static void fit_predict(const char *kind, const float *xtr, const int32_t *ytr, size_t ntr, size_t d,
                        const float *xte, size_t nte, int32_t *pred)
{
    dsn_classifier *c;
    CHECK(dsn_classifier_create(&c, kind, NULL));
    CHECK(dsn_classifier_fit(c, xtr, ntr, d, ytr));
    CHECK(dsn_classifier_predict(c, pred, xte, nte, d));
    dsn_classifier_free(c);
}

static double accuracy(const int32_t *a, const int32_t *b, size_t n)
{
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) ok += a[i] == b[i];
    return n ? (double)ok / (double)n : 0.0;
}

/* ---- data helpers ---- */

typedef struct images {
    float *x;       /* [n, 784] */
    int32_t *y;     /* [n] */
    size_t n;
} images;

static images load_all(const dsn_dataset *ds, size_t limit)
{
    images im;
    im.n = host_ds(ds).size;
    if (limit && im.n > limit) im.n = limit;
    im.x = malloc(sizeof(float) * im.n * PIX);
    im.y = malloc(sizeof(int32_t) * im.n);
    if (!im.x || !im.y) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < im.n; i++) CHECK(dsn_dataset_get(ds, im.x + i * PIX, PIX, im.y + i, i));
    return im;
}

static void free_images(images *im)
{
    free(im->x);
    free(im->y);
}

/* Single-observation means of both parts for every image. */
static void encode_means(dsn_session *s, dsn_encoding *e, const images *im, float *content, float *style, int cdim,
                         int sdim)
{
    for (size_t off = 0; off < im->n; off += CHUNK) {
        size_t k = im->n - off < CHUNK ? im->n - off : CHUNK;
        CHECK(dsn_encode(s, e, im->x + off * PIX, k, NULL));
        CHECK(dsn_encoding_get(e, content + off * (size_t)cdim, k * (size_t)cdim, NULL, NULL, "content", "mean"));
        CHECK(dsn_encoding_get(e, style + off * (size_t)sdim, k * (size_t)sdim, NULL, NULL, "style", "mean"));
    }
}

/* Indices of the images of each digit. */
typedef struct by_class {
    size_t *idx[MAXC];
    size_t n[MAXC];
} by_class;

static by_class index_classes(const images *im)
{
    by_class b;
    memset(&b, 0, sizeof b);
    for (int c = 0; c < MAXC; c++) b.idx[c] = malloc(sizeof(size_t) * (im->n ? im->n : 1));
    for (size_t i = 0; i < im->n; i++)
        if (im->y[i] >= 0 && im->y[i] < MAXC) b.idx[im->y[i]][b.n[im->y[i]]++] = i;
    return b;
}

static void free_classes(by_class *b)
{
    for (int c = 0; c < MAXC; c++) free(b->idx[c]);
}

/* splitmix64: the example's own random numbers (the library's RNG is internal) */
static uint64_t rnd_state = 12345;
static uint64_t rnd(void)
{
    uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static size_t rnd_below(size_t n) { return (size_t)(rnd() % n); }

/* k distinct random members of class c (k <= n) into out */
static void draw(const by_class *b, int c, size_t k, size_t *out)
{
    for (size_t i = 0; i < k; i++) {
        size_t j;
        int dup;
        do {
            j = b->idx[c][rnd_below(b->n[c])];
            dup = 0;
            for (size_t q = 0; q < i; q++) dup |= out[q] == j;
        } while (dup && b->n[c] > k);
        out[i] = j;
    }
}

/* ---- the independent pixel-space judge ----
 * Logistic regression on RF random ReLU features of the pixels, a
 * classifier that knows nothing of the model (its clean test accuracy is
 * printed):
 *  - conv (default for square images): RF/16 random 5x5 filters (N(0, 1/25),
 *    zero mean, bias U(-1/4, 1/4)), ReLU, then the maximum over each cell of
 *    a 4 x 4 grid of the map: tolerant of shifts, so it recognises an object
 *    wherever it sits in the frame;
 *  - dense: relu(W x + b) with W ~ N(0, 16/784), b ~ U(-1/2, 1/2). */
static int RF = 1024; /* --judge-features */
static int JUDGE_CONV = 1; /* --judge conv|dense */
static float *rf_w, *rf_b;
enum { JK = 5 };

static void rf_init(void)
{
    if (JUDGE_CONV && SIDE >= 12) {
        int nf = RF / 16;
        rf_w = malloc(sizeof(float) * (size_t)nf * JK * JK);
        rf_b = malloc(sizeof(float) * (size_t)nf);
        uint64_t saved = rnd_state;
        rnd_state = 424242;
        for (int f = 0; f < nf; f++) {
            double mean = 0;
            for (int k = 0; k < JK * JK; k++) {
                double u1 = ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0, u2 = (double)(rnd() >> 11) / 9007199254740992.0;
                rf_w[f * JK * JK + k] = (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2) / JK);
                mean += rf_w[f * JK * JK + k] / (JK * JK);
            }
            for (int k = 0; k < JK * JK; k++) rf_w[f * JK * JK + k] -= (float)mean;
            rf_b[f] = (float)(((double)(rnd() >> 11) / 9007199254740992.0 - 0.5) * 0.5);
        }
        rnd_state = saved;
        return;
    }
    rf_w = malloc(sizeof(float) * (size_t)RF * PIX);
    rf_b = malloc(sizeof(float) * (size_t)RF);
    uint64_t saved = rnd_state;
    rnd_state = 424242;
    for (size_t i = 0; i < (size_t)RF * PIX; i++) {
        /* Box-Muller from two uniforms */
        double u1 = ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0, u2 = (double)(rnd() >> 11) / 9007199254740992.0;
        rf_w[i] = (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2) / sqrt((double)PIX) * 4.0);
    }
    for (int j = 0; j < RF; j++) rf_b[j] = (float)(((double)(rnd() >> 11) / 9007199254740992.0 - 0.5));
    rnd_state = saved;
}

/* features of n images into out [n, RF] */
static void rf_features(const float *x, size_t n, float *out)
{
    if (JUDGE_CONV && SIDE >= 12) {
        int nf = RF / 16, M = SIDE - JK + 1, cell = (M + 3) / 4;
        for (size_t i = 0; i < n; i++) {
            const float *xi = x + i * PIX;
            float *o = out + i * (size_t)RF;
            for (int j = 0; j < RF; j++) o[j] = 0.0f; /* max of ReLU outputs >= 0 */
            for (int f = 0; f < nf; f++) {
                const float *w = rf_w + f * JK * JK;
                for (int y = 0; y < M; y++)
                    for (int xx = 0; xx < M; xx++) {
                        float acc = rf_b[f];
                        for (int ky = 0; ky < JK; ky++) {
                            const float *row = xi + (size_t)(y + ky) * SIDE + xx;
                            for (int kx = 0; kx < JK; kx++) acc += w[ky * JK + kx] * row[kx];
                        }
                        float *slot = o + f * 16 + (y / cell) * 4 + xx / cell;
                        if (acc > *slot) *slot = acc;
                    }
            }
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * PIX;
        float *o = out + i * (size_t)RF;
        for (int j = 0; j < RF; j++) o[j] = rf_b[j];
        for (size_t p = 0; p < PIX; p++) {
            float v = xi[p];
            if (v == 0.0f) continue;
            const float *w = rf_w + (size_t)p * (size_t)RF;
            for (int j = 0; j < RF; j++) o[j] += v * w[j];
        }
        for (int j = 0; j < RF; j++) o[j] = o[j] > 0 ? o[j] : 0.0f;
    }
}

/* a SIDE x SIDE image smoothed by [1 2 1]/4 along both axes (edges repeated) */
static void blur121(const float *x, float *out)
{
    float tmp[64 * 64];
    const int S = SIDE;
    if (S > 64) {
        memcpy(out, x, sizeof(float) * PIX);
        return;
    }
    for (int y = 0; y < S; y++)
        for (int c = 0; c < S; c++) {
            int l = c ? c - 1 : c, r = c + 1 < S ? c + 1 : c;
            tmp[y * S + c] = 0.25f * x[y * S + l] + 0.5f * x[y * S + c] + 0.25f * x[y * S + r];
        }
    for (int y = 0; y < S; y++)
        for (int c = 0; c < S; c++) {
            int u = y ? y - 1 : y, d = y + 1 < S ? y + 1 : y;
            out[y * S + c] = 0.25f * tmp[u * S + c] + 0.5f * tmp[y * S + c] + 0.25f * tmp[d * S + c];
        }
}

/* ---- the swap grid ---- */

/* K x K swaps of K test images (one per class where possible): row r decodes
 * the content of image r with the style of each column's image. The first
 * row and column show the sources. */
static void swap_grid(dsn_session *s, dsn_encoding *e, dsn_encoding *f, const images *test, const int *classes,
                      int n_classes, const char *png, const char *title)
{
    enum { K = 8 };
    if (!SIDE) return;
    float *src = malloc(sizeof(float) * K * PIX), *out = malloc(sizeof(float) * K * PIX);
    int found = 0, T = SIDE;
    for (int want = 0; want < n_classes && found < K; want++)
        for (size_t i = 0; i < test->n; i++)
            if (test->y[i] == classes[want]) {
                memcpy(src + found++ * PIX, test->x + i * PIX, sizeof(float) * PIX);
                break;
            }
    for (size_t i = 0; found < K && i < test->n; i++) /* fewer than K classes: fill with other images */
        memcpy(src + found++ * PIX, test->x + (i * 7919) % test->n * PIX, sizeof(float) * PIX);
    lgrid g;
    lgrid_init(&g, K, K, T, T, title, "style source", "content source");
    for (int c = 0; c < K; c++) {
        lgrid_tile(&g, -1, c, src + c * PIX); /* first row: style sources */
        lgrid_tile(&g, c, -1, src + c * PIX); /* first column: content sources */
    }
    CHECK(dsn_encode(s, f, src, K, NULL));
    for (int r = 0; r < K; r++) {
        CHECK(dsn_encode(s, e, src, K, NULL));
        for (int col = 0; col < K; col++) CHECK(dsn_encoding_copy_item(e, (size_t)col, f, (size_t)r, "content"));
        CHECK(dsn_decode(s, out, K * PIX, e));
        for (int col = 0; col < K; col++) lgrid_tile(&g, r, col, out + col * PIX);
    }
    if (lgrid_write(&g, png) == 0)
        printf("swap grid written to %s (rows: content source; columns: style source)\n", png);
    else
        fprintf(stderr, "could not write %s\n", png);
    lgrid_free(&g);
    free(src);
    free(out);
}

/* ---- options ---- */

typedef struct args {
    const char *dir, *save, *load, *png, *activation, *hidden, *extra, *encoder, *baseline;
    int epochs, steps, groups, group_size, style_dim, content_dim, quick;
    double beta, lr;
    unsigned long long seed;
    size_t eval_train, judge_train;
    int classes[MAXC], n_classes; /* --classes: the classes trained on (0 = all) */
} args;

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s DATA_DIR [--epochs N] [--steps N] [--groups G] [--group-size K] [--encoder conv|mlp]\n"
            "       [--hidden H] [--activation A] [--style-dim 10] [--content-dim 10] [--beta 1] [--lr 1e-3]\n"
            "       [--seed 1] [--classes 0-6] [--save MODEL] [--load MODEL] [--png OUT.png] [--eval-train N]\n"
            "       [--quick] [--judge-train 60000] [--judge-features 1024] [--judge conv|dense] [--baseline vae]\n"
            "       [--model-opts \"key=value, ...\"] (any other ML-VAE option)\n",
            prog);
    exit(2);
}

/* "0-6" or "0,2,5" */
static int parse_classes(const char *s, int *d)
{
    int n = 0, a, b;
    if (sscanf(s, "%d-%d", &a, &b) == 2 && a >= 0 && b < MAXC && a <= b) {
        for (int i = a; i <= b; i++) d[n++] = i;
        return n;
    }
    for (const char *p = s; *p && n < MAXC;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v >= MAXC) return 0;
        d[n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return n;
}

static args parse(int argc, char **argv)
{
    args a = {0};
    a.png = "mlvae_swap.png";
    a.encoder = "conv";
    a.epochs = 30;
    a.steps = 200;
    a.groups = 0; /* dsn_fit's default: min(16, classes) */
    a.group_size = 16;
    a.style_dim = 10;
    a.content_dim = 10;
    a.beta = 1.0;
    a.lr = 1e-3;
    a.seed = 1;
    a.eval_train = 20000;
    a.judge_train = 60000;
    /* none: the model's own defaults (for images those measured in docs/mlvae.md) */
    a.extra = "";
    if (argc < 2 || argv[1][0] == '-') usage(argv[0]);
    a.dir = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *flag = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(flag, "--quick")) a.quick = 1;
        else if (EX_FLAG("--epochs")) a.epochs = atoi(val);
        else if (EX_FLAG("--steps")) a.steps = atoi(val);
        else if (EX_FLAG("--groups")) a.groups = atoi(val);
        else if (EX_FLAG("--group-size")) a.group_size = atoi(val);
        else if (EX_FLAG("--encoder")) a.encoder = val;
        else if (EX_FLAG("--hidden")) a.hidden = val;
        else if (EX_FLAG("--activation")) a.activation = val;
        else if (EX_FLAG("--style-dim")) a.style_dim = atoi(val);
        else if (EX_FLAG("--content-dim")) a.content_dim = atoi(val);
        else if (EX_FLAG("--beta")) a.beta = atof(val);
        else if (EX_FLAG("--lr")) a.lr = atof(val);
        else if (EX_FLAG("--seed")) a.seed = strtoull(val, NULL, 10);
        else if (EX_FLAG("--classes") || EX_FLAG("--digits")) a.n_classes = parse_classes(val, a.classes);
        else if (EX_FLAG("--save")) a.save = val;
        else if (EX_FLAG("--load")) a.load = val;
        else if (EX_FLAG("--png")) a.png = val;
        else if (EX_FLAG("--model-opts")) a.extra = val;
        else if (EX_FLAG("--baseline")) a.baseline = val;
        else if (EX_FLAG("--eval-train")) a.eval_train = (size_t)atol(val);
        else if (EX_FLAG("--judge-train")) a.judge_train = (size_t)atol(val);
        else if (EX_FLAG("--judge-features")) RF = atoi(val) >= 16 ? atoi(val) : 1024;
        else if (EX_FLAG("--judge")) JUDGE_CONV = strcmp(val, "dense") != 0;
        else usage(argv[0]);
    }
    if (a.baseline && strcmp(a.baseline, "vae")) usage(argv[0]);
    if (strcmp(a.encoder, "conv") && strcmp(a.encoder, "mlp")) usage(argv[0]);
    return a;
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* DATA_DIR/name */
static const char *in_dir(const char *dir, const char *name)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* The style factors of the test set (test_factors.npy as a dataset of rows)
 * and the continuous ones from factors.txt ("0:3"), or NULL. */
static float *load_factors(const char *dir, size_t n_test, size_t *F, char *continuous, size_t clen,
                           char names[][32], int max_names)
{
    const char *path = in_dir(dir, "test_factors.npy");
    if (!file_exists(path)) return NULL;
    dsn_dataset *fd;
    CHECK(dsn_dataset_from_npy(&fd, path, NULL));
    *F = host_ds(fd).obs_size;
    if (host_ds(fd).size < n_test) { /* --quick evaluates the first images only */
        fprintf(stderr, "%s: %zu rows, the test set has %zu images\n", path, host_ds(fd).size, n_test);
        exit(1);
    }
    float *f = malloc(sizeof(float) * n_test * *F);
    for (size_t i = 0; i < n_test; i++) CHECK(dsn_dataset_get(fd, f + i * *F, *F, NULL, i));
    dsn_dataset_free(fd);
    continuous[0] = 0;
    FILE *t = fopen(in_dir(dir, "factors.txt"), "r");
    char name[64], kind[64];
    int j = 0;
    size_t used = 0;
    while (t && fscanf(t, "%63s %63s", name, kind) == 2) {
        if (j < max_names) snprintf(names[j], 32, "%.31s", name);
        if (!strcmp(kind, "continuous"))
            used += (size_t)snprintf(continuous + used, clen - used, "%s%d", used ? ":" : "", j);
        j++;
    }
    if (t) fclose(t);
    for (; j < max_names && (size_t)j < *F; j++) snprintf(names[j], 32, "factor%d", j);
    if (!continuous[0]) snprintf(continuous, clen, "none");
    return f;
}

/* Top-k principal components of x [n, d] (power iteration with deflation on
 * the covariance; enough for a baseline) projected: out [n, k]. */
static void pca(const float *x, size_t n, size_t d, int k, float *out)
{
    double *mean = calloc(d, sizeof(double)), *cov = calloc(d * d, sizeof(double)), *v = malloc(sizeof(double) * d);
    double *comp = malloc(sizeof(double) * d * (size_t)k);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) mean[j] += x[i * d + j] / (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < d; a++) {
            double xa = x[i * d + a] - mean[a];
            if (xa == 0) continue;
            for (size_t b = a; b < d; b++) cov[a * d + b] += xa * (x[i * d + b] - mean[b]);
        }
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < a; b++) cov[a * d + b] = cov[b * d + a];
    for (int c = 0; c < k; c++) {
        for (size_t j = 0; j < d; j++) v[j] = 1.0 + 0.01 * (double)((j * 7919 + (size_t)c * 104729) % 101);
        for (int it = 0; it < 100; it++) {
            double *w = comp + (size_t)c * d, nrm = 0;
            for (size_t a = 0; a < d; a++) {
                double sum = 0;
                for (size_t b = 0; b < d; b++) sum += cov[a * d + b] * v[b];
                w[a] = sum;
            }
            for (int q = 0; q < c; q++) { /* deflate */
                const double *u = comp + (size_t)q * d;
                double dot = 0;
                for (size_t a = 0; a < d; a++) dot += u[a] * w[a];
                for (size_t a = 0; a < d; a++) w[a] -= dot * u[a];
            }
            for (size_t a = 0; a < d; a++) nrm += w[a] * w[a];
            nrm = sqrt(nrm) + 1e-30;
            for (size_t a = 0; a < d; a++) v[a] = w[a] = w[a] / nrm;
        }
    }
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < k; c++) {
            double sum = 0;
            for (size_t j = 0; j < d; j++) sum += (x[i * d + j] - mean[j]) * comp[(size_t)c * d + j];
            out[i * (size_t)k + (size_t)c] = (float)sum;
        }
    free(mean); free(cov); free(v); free(comp);
}

static void factor_report(const char *what, const float *z, size_t n, int d, const float *f, size_t F,
                          const char *continuous)
{
    static const char *const names[7] = {"mig", "dci_d", "dci_c", "dci_i", "sap", "modularity", "explicitness"};
    double sc[7];
    dsn_options *o;
    CHECK(dsn_options_create(&o));
    CHECK(dsn_options_set(o, "continuous", continuous));
    dsn_status st = dsn_factor_metrics(sc, 7, "all", z, n, (size_t)d, f, F, o);
    dsn_options_free(o);
    if (st != DSN_OK) {
        printf("%s: factor metrics failed: %s\n", what, dsn_last_error());
        return;
    }
    printf("%-8s", what);
    for (int k = 0; k < 7; k++) printf(" %s %.3f", names[k], sc[k]);
    printf("\n");
    for (int k = 0; k < 7; k++) printf("RESULT %s_%s %.4f\n", what, names[k], sc[k]);
}

int main(int argc, char **argv)
{
    args a = parse(argc, argv);
    dsn_dataset *train_all, *test_all, *train, *test, *unseen = NULL, *train_flat = NULL;
    const int is_npy = file_exists(in_dir(a.dir, "train_x.npy"));
    if (is_npy) {
        CHECK(dsn_dataset_from_npy(&train_all, in_dir(a.dir, "train_x.npy"), in_dir(a.dir, "train_labels.npy")));
        CHECK(dsn_dataset_from_npy(&test_all, in_dir(a.dir, "test_x.npy"), in_dir(a.dir, "test_labels.npy")));
    } else {
        CHECK(dsn_dataset_from_mnist(&train_all, a.dir, 0));
        CHECK(dsn_dataset_from_mnist(&test_all, a.dir, 1));
    }
    PIX = host_ds(train_all).obs_size;
    SIDE = (int)(sqrt((double)PIX) + 0.5);
    if ((size_t)SIDE * (size_t)SIDE != PIX) SIDE = 0;
    int n_all = (int)host_ds(train_all).num_groups;
    if (n_all > MAXC) {
        fprintf(stderr, "%d classes: at most %d\n", n_all, MAXC);
        return 1;
    }
    if (!a.n_classes) {
        for (int i = 0; i < n_all; i++) a.classes[i] = i;
        a.n_classes = n_all;
    }
    if (a.n_classes < 2) {
        fprintf(stderr, "--classes needs at least two classes\n");
        return 2;
    }
    int32_t dl[MAXC];
    for (int i = 0; i < a.n_classes; i++) dl[i] = a.classes[i];
    if (a.n_classes < n_all) {
        dsn_dataset *drop;
        CHECK(dsn_dataset_select_labels(train_all, &train, &drop, dl, (size_t)a.n_classes));
        dsn_dataset_free(drop);
        CHECK(dsn_dataset_select_labels(test_all, &test, &unseen, dl, (size_t)a.n_classes));
    } else {
        train = train_all;
        test = test_all;
        train_all = test_all = NULL;
    }
    printf("%s: %zu training and %zu test images of %d classes%s, %zu pixels\n", a.dir, host_ds(train).size,
           host_ds(test).size, a.n_classes, unseen ? " (the other classes are held out)" : "", PIX);
    if (a.baseline) {
        if (!is_npy || unseen) {
            fprintf(stderr, "--baseline vae needs a .npy set and all classes\n");
            return 2;
        }
        CHECK(dsn_dataset_from_npy(&train_flat, in_dir(a.dir, "train_x.npy"), NULL)); /* no groups */
    }

    dsn_model *m;
    dsn_optimizer *opt = NULL;
    double train_s = 0.0;
    char model_desc[256];
    if (a.load) {
        CHECK(dsn_model_load(&m, a.load));
        printf("loaded %s: %s, %zu parameters\n", a.load, host_info(m).family, host_info(m).num_params);
        snprintf(model_desc, sizeof model_desc, "ML-VAE %s", a.load);
    } else {
        dsn_options *mo, *oo, *fo;
        char text[1024];
        int conv = !strcmp(a.encoder, "conv") && SIDE;
        CHECK(dsn_options_create(&mo));
        snprintf(text, sizeof text, "style_dim=%d, content_dim=%d, beta=%g, seed=%llu", a.style_dim, a.content_dim,
                 a.beta, a.seed);
        CHECK(dsn_options_parse(mo, text));
        if (conv) snprintf(text, sizeof text, "image=%dx%d", SIDE, SIDE);
        else snprintf(text, sizeof text, "encoder=mlp, input_dim=%zu", PIX);
        CHECK(dsn_options_parse(mo, text));
        if (a.hidden) CHECK(dsn_options_set(mo, "hidden", a.hidden));
        if (a.activation) CHECK(dsn_options_set(mo, "activation", a.activation));
        if (a.baseline) { /* a plain beta-VAE: one KL weight (--beta) on the whole latent, no warm-up */
            snprintf(text, sizeof text, "style_beta=%g, warmup_epochs=0", a.beta);
            CHECK(dsn_options_parse(mo, text));
        }
        if (a.extra && a.extra[0]) CHECK(dsn_options_parse(mo, a.extra));
        CHECK(dsn_model_create(&m, "ml-vae", mo));
        CHECK(dsn_options_create(&oo));
        snprintf(text, sizeof text, "lr=%g", a.lr);
        CHECK(dsn_options_parse(oo, text));
        CHECK(dsn_optimizer_create(&opt, m, "adam", oo));
        CHECK(dsn_options_create(&fo));
        snprintf(text, sizeof text, "epochs=%d, steps_per_epoch=%d, group_size=%d, seed=%llu", a.epochs, a.steps,
                 a.group_size, a.seed);
        CHECK(dsn_options_parse(fo, text));
        if (a.groups > 0) { /* else dsn_fit's default, min(16, classes) */
            snprintf(text, sizeof text, "batch_groups=%d", a.groups);
            CHECK(dsn_options_parse(fo, text));
        }
        int bg = a.groups > 0 ? a.groups : a.n_classes < 16 ? a.n_classes : 16;
        if (a.baseline) { /* the same number of images per step */
            snprintf(text, sizeof text, "batch_size=%d", bg * a.group_size);
            CHECK(dsn_options_parse(fo, text));
        }
        snprintf(model_desc, sizeof model_desc, "%s %s", a.baseline ? "beta-VAE" : "ML-VAE", conv ? "conv" : "MLP");
        printf("%s: %zu parameters (%s, style %d, content %d%s%s); %d epochs x %d steps of %d x %d images\n",
               model_desc, host_info(m).num_params, conv ? "conv encoder" : "MLP encoder", host_part(m, 1).dim,
               host_part(m, 0).dim, /* the model's: --model-opts may set them */
               a.extra && a.extra[0] ? ", " : "", a.extra ? a.extra : "", a.epochs, a.steps, bg, a.group_size);
        fflush(stdout);
        t_start = ex_now();
        CHECK(dsn_fit(m, opt, a.baseline ? train_flat : train, NULL, fo, progress, NULL));
        train_s = ex_now() - t_start;
        printf("RESULT train_seconds %.1f\n", train_s);
        if (a.save) {
            CHECK(dsn_model_save(m, opt, a.save));
            printf("model saved to %s\n", a.save);
        }
        dsn_options_free(mo);
        dsn_options_free(oo);
        dsn_options_free(fo);
    }
    int cdim = host_part(m, 0).dim, sdim = host_part(m, 1).dim;
    if (strcmp(host_part(m, 0).name, "content") != 0) {
        fprintf(stderr, "not an ML-VAE model\n");
        return 1;
    }

    double t_eval = ex_now();
    rnd_state = a.seed * 7919 + 1;
    images tr = load_all(train, a.quick ? 5000 : a.eval_train), te = load_all(test, a.quick ? 2000 : 0);
    dsn_session *s;
    dsn_encoding *e, *f;
    CHECK(dsn_session_create(&s, m, CHUNK));
    CHECK(dsn_encoding_create(&e, m, CHUNK));
    CHECK(dsn_encoding_create(&f, m, CHUNK));
    double chance = 1.0 / a.n_classes;

    /* 1. content and style of one observation, linear classifier */
    float *ctr = malloc(sizeof(float) * tr.n * (size_t)cdim), *str = malloc(sizeof(float) * tr.n * (size_t)sdim);
    float *cte = malloc(sizeof(float) * te.n * (size_t)cdim), *ste = malloc(sizeof(float) * te.n * (size_t)sdim);
    int32_t *pred = malloc(sizeof(int32_t) * (te.n > CHUNK ? te.n : CHUNK));
    encode_means(s, e, &tr, ctr, str, cdim, sdim);
    encode_means(s, e, &te, cte, ste, cdim, sdim);
    fit_predict("logreg", ctr, tr.y, tr.n, (size_t)cdim, cte, te.n, pred);
    double content_acc = accuracy(pred, te.y, te.n);
    fit_predict("logreg", str, tr.y, tr.n, (size_t)sdim, ste, te.n, pred);
    double style_acc = accuracy(pred, te.y, te.n);
    printf("one observation, logistic regression fitted on %zu training means, %zu test images (chance %.2f):\n",
           tr.n, te.n, chance);
    printf("RESULT content_acc %.4f\nRESULT style_acc %.4f\nRESULT chance %.4f\n", content_acc, style_acc, chance);

    /* 2. swaps judged by a pixel-space classifier */
    double recon_acc = 0, swap_acc = 0, pixel_acc = 0;
    {
        rf_init();
        images jt = load_all(train, a.quick ? 5000 : a.judge_train);
        /* judge2: the same features, fitted on the judge's images and blurred copies of up to 10 000 of them */
        size_t nb = SIDE ? (jt.n < 10000 ? jt.n : 10000) : 0, nf = jt.n + nb > te.n ? jt.n + nb : te.n;
        float *feat = malloc(sizeof(float) * nf * (size_t)RF);
        dsn_classifier *pc, *pb = NULL;
        CHECK(dsn_classifier_create(&pc, "logreg", NULL));
        rf_features(jt.x, jt.n, feat);
        CHECK(dsn_classifier_fit(pc, feat, jt.n, (size_t)RF, jt.y));
        printf("pixel-space judge: logistic regression on %d random %s ReLU features of the pixels, fitted on %zu "
               "training images\n", RF, JUDGE_CONV && SIDE >= 12 ? "5x5-conv max-pooled" : "dense", jt.n);
        if (nb) {
            float *bl = malloc(sizeof(float) * nb * PIX);
            int32_t *yy = malloc(sizeof(int32_t) * (jt.n + nb));
            for (size_t i = 0; i < nb; i++) blur121(jt.x + i * PIX, bl + i * PIX);
            rf_features(bl, nb, feat + jt.n * (size_t)RF);
            memcpy(yy, jt.y, sizeof(int32_t) * jt.n);
            memcpy(yy + jt.n, jt.y, sizeof(int32_t) * nb);
            CHECK(dsn_classifier_create(&pb, "logreg", NULL));
            CHECK(dsn_classifier_fit(pb, feat, jt.n + nb, (size_t)RF, yy));
            printf("judge2 (blur-tolerant): the same features fitted on those images and %zu of them blurred\n", nb);
            free(bl);
            free(yy);
        }
        free_images(&jt);
        rf_features(te.x, te.n, feat);
        CHECK(dsn_classifier_predict(pc, pred, feat, te.n, (size_t)RF));
        pixel_acc = accuracy(pred, te.y, te.n);
        printf("RESULT pixel_classifier_test_acc %.4f\n", pixel_acc);
        if (pb) {
            CHECK(dsn_classifier_predict(pb, pred, feat, te.n, (size_t)RF));
            printf("RESULT judge2_clean_acc %.4f\n", accuracy(pred, te.y, te.n));
        }
        if (SIDE) { /* a control: the judge on the clean test images blurred by a [1 2 1]/4 kernel each way */
            float *bl = malloc(sizeof(float) * te.n * PIX);
            for (size_t i = 0; i < te.n; i++) blur121(te.x + i * PIX, bl + i * PIX);
            rf_features(bl, te.n, feat);
            CHECK(dsn_classifier_predict(pc, pred, feat, te.n, (size_t)RF));
            printf("RESULT judge_blur_acc %.4f\n", accuracy(pred, te.y, te.n));
            if (pb) {
                CHECK(dsn_classifier_predict(pb, pred, feat, te.n, (size_t)RF));
                printf("RESULT judge2_blur_acc %.4f\n", accuracy(pred, te.y, te.n));
            }
            free(bl);
        }
        float *xb = malloc(sizeof(float) * CHUNK * PIX), *out = malloc(sizeof(float) * CHUNK * PIX);
        int32_t *yb = malloc(sizeof(int32_t) * CHUNK), *pp = malloc(sizeof(int32_t) * CHUNK);
        size_t keep_a = 0, keep_b = 0, recon_ok = 0, keep2_a = 0, keep2_b = 0, recon2_ok = 0;
        for (size_t off = 0; off < te.n; off += CHUNK) {
            size_t k = te.n - off < CHUNK ? te.n - off : CHUNK;
            for (size_t i = 0; i < k; i++) {
                size_t j;
                do j = rnd_below(te.n); while (te.y[j] == te.y[off + i]);
                memcpy(xb + i * PIX, te.x + j * PIX, sizeof(float) * PIX);
                yb[i] = te.y[j];
            }
            CHECK(dsn_encode(s, e, te.x + off * PIX, k, NULL));
            CHECK(dsn_decode(s, out, k * PIX, e));
            rf_features(out, k, feat);
            CHECK(dsn_classifier_predict(pc, pp, feat, k, (size_t)RF));
            for (size_t i = 0; i < k; i++) recon_ok += pp[i] == te.y[off + i];
            if (pb) {
                CHECK(dsn_classifier_predict(pb, pp, feat, k, (size_t)RF));
                for (size_t i = 0; i < k; i++) recon2_ok += pp[i] == te.y[off + i];
            }
            CHECK(dsn_encode(s, f, xb, k, NULL));
            for (size_t i = 0; i < k; i++) CHECK(dsn_encoding_copy_item(f, i, e, i, "content"));
            CHECK(dsn_decode(s, out, k * PIX, f));
            rf_features(out, k, feat);
            CHECK(dsn_classifier_predict(pc, pp, feat, k, (size_t)RF));
            for (size_t i = 0; i < k; i++) {
                keep_a += pp[i] == te.y[off + i];
                keep_b += pp[i] == yb[i];
            }
            if (pb) {
                CHECK(dsn_classifier_predict(pb, pp, feat, k, (size_t)RF));
                for (size_t i = 0; i < k; i++) {
                    keep2_a += pp[i] == te.y[off + i];
                    keep2_b += pp[i] == yb[i];
                }
            }
        }
        recon_acc = (double)recon_ok / (double)te.n;
        swap_acc = (double)keep_a / (double)te.n;
        printf("swaps: decode(content of a, style of b), b a random test image of another class,\n"
               "judged by the pixel classifier (recon: decode(a) judged the same way):\n");
        printf("RESULT recon_acc %.4f\nRESULT swap_acc %.4f\nRESULT swap_style_acc %.4f\n", recon_acc, swap_acc,
               (double)keep_b / (double)te.n);
        if (pb)
            printf("RESULT judge2_recon_acc %.4f\nRESULT judge2_swap_acc %.4f\nRESULT judge2_swap_style_acc %.4f\n",
                   (double)recon2_ok / (double)te.n, (double)keep2_a / (double)te.n, (double)keep2_b / (double)te.n);
        free(xb);
        free(out);
        free(yb);
        free(pp);
        free(feat);
        free(rf_w);
        free(rf_b);
        dsn_classifier_free(pc);
        dsn_classifier_free(pb);
    }

    /* 3. evidence accumulation over k observations of one class */
    {
        dsn_classifier *cc;
        CHECK(dsn_classifier_create(&cc, "logreg", NULL));
        CHECK(dsn_classifier_fit(cc, ctr, tr.n, (size_t)cdim, tr.y));
        by_class bc = index_classes(&te);
        static const int ks[] = {1, 2, 4, 8, 16};
        printf("evidence accumulation (test set, %d groups per k):\n", a.quick ? 100 : 1000);
        float *mu = malloc(sizeof(float) * CHUNK * (size_t)cdim), *lv = malloc(sizeof(float) * CHUNK * (size_t)cdim);
        float *xg = malloc(sizeof(float) * CHUNK * PIX);
        int32_t gid[CHUNK], glab[CHUNK], gp[CHUNK];
        size_t members[16];
        for (int q = 0; q < 5; q++) {
            int k = ks[q], per_call = CHUNK / k, total = a.quick ? 100 : 1000, done = 0;
            double var_sum = 0.0;
            size_t ok = 0;
            while (done < total) {
                int ng = total - done < per_call ? total - done : per_call;
                for (int g = 0; g < ng; g++) {
                    int c = a.classes[rnd_below((size_t)a.n_classes)];
                    draw(&bc, c, (size_t)k, members);
                    glab[g] = c;
                    for (int i = 0; i < k; i++) {
                        memcpy(xg + (size_t)(g * k + i) * PIX, te.x + members[i] * PIX, sizeof(float) * PIX);
                        gid[g * k + i] = g;
                    }
                }
                CHECK(dsn_encode(s, e, xg, (size_t)(ng * k), &(dsn_batch_args){sizeof(dsn_batch_args), gid, NULL, NULL}));
                CHECK(dsn_encoding_get(e, mu, (size_t)ng * (size_t)cdim, NULL, NULL, "content", "mean"));
                CHECK(dsn_encoding_get(e, lv, (size_t)ng * (size_t)cdim, NULL, NULL, "content", "logvar"));
                for (size_t i = 0; i < (size_t)ng * (size_t)cdim; i++) var_sum += exp(lv[i]);
                CHECK(dsn_classifier_predict(cc, gp, mu, (size_t)ng, (size_t)cdim));
                for (int g = 0; g < ng; g++) ok += gp[g] == glab[g];
                done += ng;
            }
            printf("RESULT accum_k%d_var %.5f\nRESULT accum_k%d_acc %.4f\n", k, var_sum / ((double)total * cdim), k,
                   (double)ok / total);
        }
        free(mu);
        free(lv);
        free(xg);
        free_classes(&bc);
        dsn_classifier_free(cc);
    }

    /* 4. unseen classes: few-shot nearest centroid of accumulated content */
    double unseen_acc = -1;
    if (unseen) {
        images un = load_all(unseen, 0);
        by_class bc = index_classes(&un);
        float *cu = malloc(sizeof(float) * un.n * (size_t)cdim), *su = malloc(sizeof(float) * un.n * (size_t)sdim);
        encode_means(s, e, &un, cu, su, cdim, sdim);
        int held[MAXC], nh = 0;
        for (int c = 0; c < MAXC; c++)
            if (bc.n[c] >= 5) held[nh++] = c;
        enum { SHOTS = 5, TRIALS = 20 };
        double acc_c = 0.0, acc_p = 0.0;
        float *xs = malloc(sizeof(float) * SHOTS * MAXC * PIX), *cen = malloc(sizeof(float) * MAXC * (size_t)cdim);
        float *pcen = malloc(sizeof(float) * MAXC * PIX);
        int32_t gid[SHOTS * MAXC], cl[MAXC];
        size_t shot[SHOTS * MAXC];
        for (int trial = 0; trial < TRIALS; trial++) {
            for (int h = 0; h < nh; h++) {
                draw(&bc, held[h], SHOTS, shot + h * SHOTS);
                cl[h] = held[h];
                for (int i = 0; i < SHOTS; i++) {
                    memcpy(xs + (size_t)(h * SHOTS + i) * PIX, un.x + shot[h * SHOTS + i] * PIX, sizeof(float) * PIX);
                    gid[h * SHOTS + i] = h;
                }
            }
            CHECK(dsn_encode(s, e, xs, (size_t)(nh * SHOTS), &(dsn_batch_args){sizeof(dsn_batch_args), gid, NULL, NULL}));
            CHECK(dsn_encoding_get(e, cen, (size_t)nh * (size_t)cdim, NULL, NULL, "content", "mean"));
            for (int h = 0; h < nh; h++)
                for (size_t p = 0; p < PIX; p++) {
                    double sum = 0.0;
                    for (int i = 0; i < SHOTS; i++) sum += xs[(size_t)(h * SHOTS + i) * PIX + p];
                    pcen[(size_t)h * PIX + p] = (float)(sum / SHOTS);
                }
            size_t ok_c = 0, ok_p = 0, n = 0;
            for (size_t i = 0; i < un.n; i++) {
                int is_shot = 0;
                for (int q = 0; q < nh * SHOTS; q++) is_shot |= shot[q] == i;
                if (is_shot) continue;
                int bestc = 0, bestp = 0;
                double dc = INFINITY, dp = INFINITY;
                for (int h = 0; h < nh; h++) {
                    double sc = 0.0, sp = 0.0;
                    for (int d = 0; d < cdim; d++) {
                        double t = cu[i * (size_t)cdim + d] - cen[h * cdim + d];
                        sc += t * t;
                    }
                    for (size_t p = 0; p < PIX; p++) {
                        double t = un.x[i * PIX + p] - pcen[(size_t)h * PIX + p];
                        sp += t * t;
                    }
                    if (sc < dc) { dc = sc; bestc = h; }
                    if (sp < dp) { dp = sp; bestp = h; }
                }
                ok_c += cl[bestc] == un.y[i];
                ok_p += cl[bestp] == un.y[i];
                n++;
            }
            acc_c += (double)ok_c / (double)n;
            acc_p += (double)ok_p / (double)n;
        }
        unseen_acc = acc_c / TRIALS;
        printf("unseen classes (%d of them, %zu test images), %d-shot nearest centroid, mean of %d draws (chance %.2f):\n",
               nh, un.n, SHOTS, TRIALS, 1.0 / nh);
        printf("RESULT unseen_content_acc %.4f\nRESULT unseen_pixel_acc %.4f\n", unseen_acc, acc_p / TRIALS);
        free(xs);
        free(cen);
        free(pcen);
        free(cu);
        free(su);
        free_classes(&bc);
        free_images(&un);
    }

    /* 5. disentanglement of style against the known style factors */
    {
        size_t F = 0;
        char cont[256], fnames[16][32];
        float *fac = (is_npy && !unseen) ? load_factors(a.dir, te.n, &F, cont, sizeof cont, fnames, 16) : NULL;
        if (fac) {
            printf("style factors of the test images:");
            for (size_t j = 0; j < F && j < 16; j++) printf(" %s", fnames[j]);
            printf(" (continuous: %s, binned into 20 bins)\n", cont);
            if (a.baseline) { /* the whole latent of the beta-VAE */
                float *z = malloc(sizeof(float) * te.n * (size_t)(cdim + sdim));
                for (size_t i = 0; i < te.n; i++) {
                    memcpy(z + i * (size_t)(cdim + sdim), cte + i * (size_t)cdim, sizeof(float) * (size_t)cdim);
                    memcpy(z + i * (size_t)(cdim + sdim) + cdim, ste + i * (size_t)sdim, sizeof(float) * (size_t)sdim);
                }
                factor_report("latent", z, te.n, cdim + sdim, fac, F, cont);
                free(z);
            } else {
                factor_report("style", ste, te.n, sdim, fac, F, cont);
                factor_report("content", cte, te.n, cdim, fac, F, cont);
            }
            float *pc = malloc(sizeof(float) * te.n * (size_t)sdim);
            pca(te.x, te.n, PIX, sdim, pc);
            factor_report("pca", pc, te.n, sdim, fac, F, cont);
            free(pc);
            free(fac);
        }
    }
    printf("RESULT eval_seconds %.1f\n", ex_now() - t_eval);

    char title[512];
    int tl = snprintf(title, sizeof title, "%s  CONTENT PROBE %.2f  STYLE PROBE %.2f (CHANCE %.2f)\nRECON %.2f  SWAP %.2f",
                      model_desc, content_acc, style_acc, chance, recon_acc, swap_acc);
    if (unseen_acc >= 0 && tl > 0 && (size_t)tl < sizeof title)
        snprintf(title + tl, sizeof title - (size_t)tl, "  UNSEEN 5-SHOT %.2f", unseen_acc);
    (void)pixel_acc;
    swap_grid(s, e, f, &te, a.classes, a.n_classes, a.png, title);

    free(ctr);
    free(str);
    free(cte);
    free(ste);
    free(pred);
    free_images(&tr);
    free_images(&te);
    dsn_encoding_free(e);
    dsn_encoding_free(f);
    dsn_session_free(s);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
    dsn_dataset_free(train);
    dsn_dataset_free(test);
    dsn_dataset_free(unseen);
    dsn_dataset_free(train_all);
    dsn_dataset_free(test_all);
    dsn_dataset_free(train_flat);
    return 0;
}
