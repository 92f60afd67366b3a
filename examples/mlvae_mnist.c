/* mlvae_mnist.c - train ML-VAE on MNIST grouped by digit class and evaluate
 * how well it splits content (the class) from style (the handwriting).
 *
 *   mlvae_mnist DATA_DIR [--epochs N] [--steps N] [--groups G] [--group-size K]
 *               [--hidden 500] [--activation tanh] [--style-dim 10] [--content-dim 10]
 *               [--beta 1] [--lr 1e-3] [--seed 1] [--digits 0-6]
 *               [--save MODEL] [--load MODEL] [--png OUT.png] [--eval-train N] [--quick]
 *               [--judge-train 60000] [--judge-features 1024]
 *               [--model-opts "style_beta=3, warmup_style_beta=10, warmup_epochs=15"]
 *
 * Training: dsn_fit on batches of G digit classes x K images of each.
 * Evaluation on the 10 000 test images (all numbers printed as "RESULT key value"):
 *  - content_acc / style_acc: a multinomial logistic regression fitted on the
 *    training set's content (style) means of single observations predicts the
 *    digit of a test image from its content (style) mean;
 *  - swap_acc: a separate logistic regression on random ReLU features of the
 *    raw pixels, fitted on the training images, labels decode(content of a, style of b) for every test
 *    image a and a random test image b of another digit; swap_acc is the
 *    fraction labelled as a's digit (swap_style_acc: as b's digit);
 *  - accumulation: content of k = 1, 2, 4, 8, 16 test images of one digit
 *    accumulated by the product of Gaussians; mean content variance and the
 *    content classifier's accuracy on the accumulated means;
 *  - with --digits (train on a subset of classes): few-shot accuracy on the
 *    unseen digits of a nearest-centroid classifier whose centroids are the
 *    accumulated content of 5 labelled test images per unseen digit, next to
 *    the same classifier on raw pixels.
 * The swap grid PNG has one row per content source and one column per style
 * source (the sources themselves on the first column / first row). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <disent.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call)                                                                                 \
    do {                                                                                            \
        dsn_status st_ = (call);                                                                    \
        if (st_ != DSN_OK) {                                                                        \
            fprintf(stderr, "%s failed: %s: %s\n", #call, dsn_status_string(st_), dsn_last_error()); \
            exit(1);                                                                                \
        }                                                                                           \
    } while (0)

enum { PIX = 784, CHUNK = 256 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double t_start;

static int progress(void *user, int epoch, int64_t step, int epoch_end, int n, const char *const *names,
                    const float *values)
{
    (void)user;
    if (!epoch_end) return 0;
    printf("epoch %3d  step %6lld  %6.1f s:", epoch, (long long)step, now() - t_start);
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
    im.n = dsn_dataset_size(ds);
    if (limit && im.n > limit) im.n = limit;
    im.x = malloc(sizeof(float) * im.n * PIX);
    im.y = malloc(sizeof(int32_t) * im.n);
    if (!im.x || !im.y) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < im.n; i++) CHECK(dsn_dataset_get(ds, i, im.x + i * PIX, PIX, im.y + i));
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
        CHECK(dsn_encoding_get(e, "content", "mean", content + off * (size_t)cdim, k * (size_t)cdim, NULL, NULL));
        CHECK(dsn_encoding_get(e, "style", "mean", style + off * (size_t)sdim, k * (size_t)sdim, NULL, NULL));
    }
}

/* Indices of the images of each digit. */
typedef struct by_class {
    size_t *idx[10];
    size_t n[10];
} by_class;

static by_class index_classes(const images *im)
{
    by_class b;
    memset(&b, 0, sizeof b);
    for (int c = 0; c < 10; c++) b.idx[c] = malloc(sizeof(size_t) * (im->n ? im->n : 1));
    for (size_t i = 0; i < im->n; i++)
        if (im->y[i] >= 0 && im->y[i] < 10) b.idx[im->y[i]][b.n[im->y[i]]++] = i;
    return b;
}

static void free_classes(by_class *b)
{
    for (int c = 0; c < 10; c++) free(b->idx[c]);
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
 * Logistic regression on RF random ReLU features of the pixels,
 * relu(W x + b) with fixed random W ~ N(0, 16/784) and b ~ U(-1/2, 1/2): a classifier that knows
 * nothing of the model and is stronger than logistic regression on raw
 * pixels (measured test accuracies are printed). */
static int RF = 1024; /* --judge-features */
static float *rf_w, *rf_b;

static void rf_init(void)
{
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
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * PIX;
        float *o = out + i * (size_t)RF;
        for (int j = 0; j < RF; j++) o[j] = rf_b[j];
        for (int p = 0; p < PIX; p++) {
            float v = xi[p];
            if (v == 0.0f) continue;
            const float *w = rf_w + (size_t)p * (size_t)RF;
            for (int j = 0; j < RF; j++) o[j] += v * w[j];
        }
        for (int j = 0; j < RF; j++) o[j] = o[j] > 0 ? o[j] : 0.0f;
    }
}

/* ---- the swap grid ---- */

static void swap_grid(dsn_session *s, dsn_encoding *e, dsn_encoding *f, const images *test, const int *digits,
                      int n_digits, const char *png)
{
    enum { K = 8 };
    float src[K * PIX], out[K * PIX];
    int found = 0;
    for (int want = 0; want < n_digits && found < K; want++)
        for (size_t i = 0; i < test->n; i++)
            if (test->y[i] == digits[want]) {
                memcpy(src + found++ * PIX, test->x + i * PIX, sizeof(float) * PIX);
                break;
            }
    for (size_t i = 0; found < K && i < test->n; i++) /* fewer than K digits: fill with other images */
        memcpy(src + found++ * PIX, test->x + (i * 7919) % test->n * PIX, sizeof(float) * PIX);
    int W = (K + 1) * 28;
    unsigned char *pix = calloc((size_t)W * (size_t)W, 1);
    for (int c = 0; c < K; c++)
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                unsigned char v = (unsigned char)(255.0f * src[c * PIX + y * 28 + x]);
                pix[(size_t)((c + 1) * 28 + y) * W + x] = v;      /* first column: content sources */
                pix[(size_t)y * W + (c + 1) * 28 + x] = v;        /* first row: style sources */
            }
    CHECK(dsn_encode(s, f, src, K, NULL));
    for (int r = 0; r < K; r++) {
        CHECK(dsn_encode(s, e, src, K, NULL));
        for (int col = 0; col < K; col++) CHECK(dsn_encoding_copy_item(e, (size_t)col, f, (size_t)r, "content"));
        CHECK(dsn_decode(s, e, out, sizeof out / sizeof *out));
        for (int col = 0; col < K; col++)
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                    pix[(size_t)((r + 1) * 28 + y) * W + (col + 1) * 28 + x] =
                        (unsigned char)(255.0f * out[col * PIX + y * 28 + x]);
    }
    if (dsn_image_save_png(png, pix, W, W, 1) == DSN_OK)
        printf("swap grid written to %s (rows: content source; columns: style source)\n", png);
    else
        fprintf(stderr, "could not write %s\n", png);
    printf("content of row 4 decoded with the styles of columns 1-4:\n");
    for (int y = 0; y < 28; y += 2) {
        for (int col = 0; col < 4; col++) {
            for (int x = 0; x < 28; x++) {
                unsigned char v = pix[(size_t)(4 * 28 + y) * W + (col + 1) * 28 + x];
                putchar(v > 170 ? '#' : v > 85 ? '+' : ' ');
            }
            printf("  ");
        }
        putchar('\n');
    }
    free(pix);
}

/* ---- options ---- */

typedef struct args {
    const char *dir, *save, *load, *png, *activation, *hidden, *extra;
    int epochs, steps, groups, group_size, style_dim, content_dim, quick;
    double beta, lr;
    unsigned long long seed;
    size_t eval_train, judge_train;
    int digits[10], n_digits;
} args;

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s DATA_DIR [--epochs N] [--steps N] [--groups G] [--group-size K] [--hidden 500]\n"
            "       [--activation tanh] [--style-dim 10] [--content-dim 10] [--beta 1] [--lr 1e-3] [--seed 1]\n"
            "       [--digits 0-6] [--save MODEL] [--load MODEL] [--png OUT.png] [--eval-train N] [--quick]\n"
            "       [--judge-train 60000] [--judge-features 1024]\n"
            "       [--model-opts \"key=value, ...\"] (any other ML-VAE option)\n",
            prog);
    exit(2);
}

static int parse_digits(const char *s, int *d)
{
    int n = 0;
    int a, b;
    if (sscanf(s, "%d-%d", &a, &b) == 2 && a >= 0 && b <= 9 && a <= b) {
        for (int i = a; i <= b; i++) d[n++] = i;
        return n;
    }
    for (; *s && n < 10; s++)
        if (*s >= '0' && *s <= '9') d[n++] = *s - '0';
    return n;
}

static args parse(int argc, char **argv)
{
    args a = {0};
    a.png = "mlvae_swap.png";
    a.activation = "tanh";
    a.hidden = "500";
    a.epochs = 30;
    a.steps = 200;
    a.groups = 16;
    a.group_size = 16;
    a.style_dim = 10;
    a.content_dim = 10;
    a.beta = 1.0;
    a.lr = 1e-3;
    a.seed = 1;
    a.eval_train = 20000;
    a.judge_train = 60000;
    /* the tuned style penalty (docs/mlvae.md); --model-opts "" gives the paper's plain ELBO */
    a.extra = "style_beta=3, warmup_style_beta=10, warmup_epochs=15";
    for (int i = 0; i < 10; i++) a.digits[i] = i;
    a.n_digits = 10;
    if (argc < 2 || argv[1][0] == '-') usage(argv[0]);
    a.dir = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(k, "--quick")) { a.quick = 1; continue; }
        if (!v) usage(argv[0]);
        i++;
        if (!strcmp(k, "--epochs")) a.epochs = atoi(v);
        else if (!strcmp(k, "--steps")) a.steps = atoi(v);
        else if (!strcmp(k, "--groups")) a.groups = atoi(v);
        else if (!strcmp(k, "--group-size")) a.group_size = atoi(v);
        else if (!strcmp(k, "--hidden")) a.hidden = v;
        else if (!strcmp(k, "--activation")) a.activation = v;
        else if (!strcmp(k, "--style-dim")) a.style_dim = atoi(v);
        else if (!strcmp(k, "--content-dim")) a.content_dim = atoi(v);
        else if (!strcmp(k, "--beta")) a.beta = atof(v);
        else if (!strcmp(k, "--lr")) a.lr = atof(v);
        else if (!strcmp(k, "--seed")) a.seed = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--digits")) a.n_digits = parse_digits(v, a.digits);
        else if (!strcmp(k, "--save")) a.save = v;
        else if (!strcmp(k, "--load")) a.load = v;
        else if (!strcmp(k, "--png")) a.png = v;
        else if (!strcmp(k, "--model-opts")) a.extra = v;
        else if (!strcmp(k, "--eval-train")) a.eval_train = (size_t)atol(v);
        else if (!strcmp(k, "--judge-train")) a.judge_train = (size_t)atol(v);
        else if (!strcmp(k, "--judge-features")) RF = atoi(v) > 0 ? atoi(v) : 1024;
        else usage(argv[0]);
    }
    if (a.n_digits < 2) {
        fprintf(stderr, "--digits needs at least two digits\n");
        exit(2);
    }
    return a;
}

int main(int argc, char **argv)
{
    args a = parse(argc, argv);
    dsn_dataset *train_all, *test_all, *train, *test, *unseen = NULL;
    CHECK(dsn_dataset_from_mnist(&train_all, a.dir, 0));
    CHECK(dsn_dataset_from_mnist(&test_all, a.dir, 1));
    int32_t dl[10];
    for (int i = 0; i < a.n_digits; i++) dl[i] = a.digits[i];
    if (a.n_digits < 10) {
        dsn_dataset *drop;
        CHECK(dsn_dataset_select_labels(train_all, dl, (size_t)a.n_digits, &train, &drop));
        dsn_dataset_free(drop);
        CHECK(dsn_dataset_select_labels(test_all, dl, (size_t)a.n_digits, &test, &unseen));
    } else {
        train = train_all;
        test = test_all;
        train_all = test_all = NULL;
    }
    printf("MNIST: %zu training and %zu test images of %d digits%s\n", dsn_dataset_size(train), dsn_dataset_size(test),
           a.n_digits, unseen ? " (the other digits are held out)" : "");

    dsn_model *m;
    dsn_optimizer *opt = NULL;
    double train_s = 0.0;
    if (a.load) {
        CHECK(dsn_model_load(&m, a.load));
        printf("loaded %s: %s, %zu parameters\n", a.load, dsn_model_family(m), dsn_model_num_params(m));
    } else {
        dsn_options *mo, *oo, *fo;
        char text[512];
        CHECK(dsn_options_create(&mo));
        snprintf(text, sizeof text,
                 "input_dim=784, hidden=%s, activation=%s, style_dim=%d, content_dim=%d, beta=%g, seed=%llu", a.hidden,
                 a.activation, a.style_dim, a.content_dim, a.beta, a.seed);
        CHECK(dsn_options_parse(mo, text));
        if (a.extra && a.extra[0]) CHECK(dsn_options_parse(mo, a.extra));
        CHECK(dsn_model_create(&m, "ml-vae", mo));
        CHECK(dsn_options_create(&oo));
        snprintf(text, sizeof text, "lr=%g", a.lr);
        CHECK(dsn_options_parse(oo, text));
        CHECK(dsn_optimizer_create(&opt, m, "adam", oo));
        CHECK(dsn_options_create(&fo));
        snprintf(text, sizeof text, "epochs=%d, steps_per_epoch=%d, batch_groups=%d, group_size=%d, seed=%llu",
                 a.epochs, a.steps, a.groups, a.group_size, a.seed);
        CHECK(dsn_options_parse(fo, text));
        printf("ML-VAE: %zu parameters (hidden %s, %s, style %d, content %d%s%s); %d epochs x %d steps of %d digits x %d "
               "images\n",
               dsn_model_num_params(m), a.hidden, a.activation, a.style_dim, a.content_dim, a.extra[0] ? ", " : "",
               a.extra, a.epochs, a.steps, a.groups, a.group_size);
        fflush(stdout);
        t_start = now();
        CHECK(dsn_fit(m, opt, train, NULL, fo, progress, NULL));
        train_s = now() - t_start;
        printf("RESULT train_seconds %.1f\n", train_s);
        if (a.save) {
            CHECK(dsn_model_save(m, opt, a.save));
            printf("model saved to %s\n", a.save);
        }
        dsn_options_free(mo);
        dsn_options_free(oo);
        dsn_options_free(fo);
    }
    int cdim = dsn_model_part_dim(m, 0), sdim = dsn_model_part_dim(m, 1);
    if (strcmp(dsn_model_part_name(m, 0), "content") != 0) {
        fprintf(stderr, "not an ML-VAE model\n");
        return 1;
    }

    double t_eval = now();
    rnd_state = a.seed * 7919 + 1;
    images tr = load_all(train, a.quick ? 5000 : a.eval_train), te = load_all(test, a.quick ? 2000 : 0);
    dsn_session *s;
    dsn_encoding *e, *f;
    CHECK(dsn_session_create(&s, m, CHUNK));
    CHECK(dsn_encoding_create(&e, m, CHUNK));
    CHECK(dsn_encoding_create(&f, m, CHUNK));

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
           tr.n, te.n, 1.0 / a.n_digits);
    printf("RESULT content_acc %.4f\nRESULT style_acc %.4f\n", content_acc, style_acc);

    /* 2. swaps judged by a pixel-space classifier */
    {
        rf_init();
        images jt = load_all(train, a.quick ? 5000 : a.judge_train);
        float *feat = malloc(sizeof(float) * (jt.n > te.n ? jt.n : te.n) * (size_t)RF);
        dsn_classifier *pc;
        CHECK(dsn_classifier_create(&pc, "logreg", NULL));
        rf_features(jt.x, jt.n, feat);
        CHECK(dsn_classifier_fit(pc, feat, jt.n, (size_t)RF, jt.y));
        printf("pixel-space judge: logistic regression on %d random ReLU features of the pixels, fitted on %zu training "
               "images\n", RF, jt.n);
        free_images(&jt);
        rf_features(te.x, te.n, feat);
        CHECK(dsn_classifier_predict(pc, pred, feat, te.n, (size_t)RF));
        printf("RESULT pixel_classifier_test_acc %.4f\n", accuracy(pred, te.y, te.n));
        float *xb = malloc(sizeof(float) * CHUNK * PIX), *out = malloc(sizeof(float) * CHUNK * PIX);
        int32_t *yb = malloc(sizeof(int32_t) * CHUNK), *pp = malloc(sizeof(int32_t) * CHUNK);
        size_t keep_a = 0, keep_b = 0, recon_ok = 0;
        for (size_t off = 0; off < te.n; off += CHUNK) {
            size_t k = te.n - off < CHUNK ? te.n - off : CHUNK;
            for (size_t i = 0; i < k; i++) {
                size_t j;
                do j = rnd_below(te.n); while (te.y[j] == te.y[off + i]);
                memcpy(xb + i * PIX, te.x + j * PIX, sizeof(float) * PIX);
                yb[i] = te.y[j];
            }
            CHECK(dsn_encode(s, e, te.x + off * PIX, k, NULL));
            CHECK(dsn_decode(s, e, out, k * PIX));
            rf_features(out, k, feat);
            CHECK(dsn_classifier_predict(pc, pp, feat, k, (size_t)RF));
            for (size_t i = 0; i < k; i++) recon_ok += pp[i] == te.y[off + i];
            CHECK(dsn_encode(s, f, xb, k, NULL));
            for (size_t i = 0; i < k; i++) CHECK(dsn_encoding_copy_item(f, i, e, i, "content"));
            CHECK(dsn_decode(s, f, out, k * PIX));
            rf_features(out, k, feat);
            CHECK(dsn_classifier_predict(pc, pp, feat, k, (size_t)RF));
            for (size_t i = 0; i < k; i++) {
                keep_a += pp[i] == te.y[off + i];
                keep_b += pp[i] == yb[i];
            }
        }
        printf("swaps: decode(content of a, style of b), b a random test image of another digit,\n"
               "judged by the pixel classifier (recon: decode(a) judged the same way):\n");
        printf("RESULT recon_acc %.4f\nRESULT swap_acc %.4f\nRESULT swap_style_acc %.4f\n",
               (double)recon_ok / (double)te.n, (double)keep_a / (double)te.n, (double)keep_b / (double)te.n);
        free(xb);
        free(out);
        free(yb);
        free(pp);
        free(feat);
        free(rf_w);
        free(rf_b);
        dsn_classifier_free(pc);
    }

    /* 3. evidence accumulation over k observations of one digit */
    {
        dsn_classifier *cc;
        CHECK(dsn_classifier_create(&cc, "logreg", NULL));
        CHECK(dsn_classifier_fit(cc, ctr, tr.n, (size_t)cdim, tr.y));
        by_class bc = index_classes(&te);
        static const int ks[] = {1, 2, 4, 8, 16};
        printf("evidence accumulation (test set, %d groups per k):\n", a.quick ? 100 : 1000);
        printf("   k  mean content variance  content accuracy\n");
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
                    int c = a.digits[rnd_below((size_t)a.n_digits)];
                    draw(&bc, c, (size_t)k, members);
                    glab[g] = c;
                    for (int i = 0; i < k; i++) {
                        memcpy(xg + (size_t)(g * k + i) * PIX, te.x + members[i] * PIX, sizeof(float) * PIX);
                        gid[g * k + i] = g;
                    }
                }
                CHECK(dsn_encode(s, e, xg, (size_t)(ng * k), gid));
                size_t rows;
                CHECK(dsn_encoding_get(e, "content", "mean", mu, (size_t)ng * (size_t)cdim, &rows, NULL));
                CHECK(dsn_encoding_get(e, "content", "logvar", lv, (size_t)ng * (size_t)cdim, NULL, NULL));
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

    /* 4. unseen digits: few-shot nearest centroid of accumulated content */
    if (unseen) {
        images un = load_all(unseen, 0);
        by_class bc = index_classes(&un);
        float *cu = malloc(sizeof(float) * un.n * (size_t)cdim), *su = malloc(sizeof(float) * un.n * (size_t)sdim);
        encode_means(s, e, &un, cu, su, cdim, sdim);
        int held[10], nh = 0;
        for (int c = 0; c < 10; c++)
            if (bc.n[c] >= 5) held[nh++] = c;
        enum { SHOTS = 5, TRIALS = 20 };
        double acc_c = 0.0, acc_p = 0.0;
        float *xs = malloc(sizeof(float) * SHOTS * 10 * PIX), *cen = malloc(sizeof(float) * 10 * (size_t)cdim);
        float *pcen = malloc(sizeof(float) * 10 * PIX);
        int32_t gid[SHOTS * 10], cl[10];
        size_t shot[SHOTS * 10];
        for (int trial = 0; trial < TRIALS; trial++) {
            for (int h = 0; h < nh; h++) {
                draw(&bc, held[h], SHOTS, shot + h * SHOTS);
                cl[h] = held[h];
                for (int i = 0; i < SHOTS; i++) {
                    memcpy(xs + (size_t)(h * SHOTS + i) * PIX, un.x + shot[h * SHOTS + i] * PIX, sizeof(float) * PIX);
                    gid[h * SHOTS + i] = h;
                }
            }
            CHECK(dsn_encode(s, e, xs, (size_t)(nh * SHOTS), gid));
            CHECK(dsn_encoding_get(e, "content", "mean", cen, (size_t)nh * (size_t)cdim, NULL, NULL));
            for (int h = 0; h < nh; h++)
                for (int p = 0; p < PIX; p++) {
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
                    for (int p = 0; p < PIX; p++) {
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
        printf("unseen digits (%d of them, %zu test images), %d-shot nearest centroid, mean of %d draws (chance %.2f):\n",
               nh, un.n, SHOTS, TRIALS, 1.0 / nh);
        printf("RESULT unseen_content_acc %.4f\nRESULT unseen_pixel_acc %.4f\n", acc_c / TRIALS, acc_p / TRIALS);
        free(xs);
        free(cen);
        free(pcen);
        free(cu);
        free(su);
        free_classes(&bc);
        free_images(&un);
    }
    printf("RESULT eval_seconds %.1f\n", now() - t_eval);

    swap_grid(s, e, f, &te, a.digits, a.n_digits, a.png);

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
    return 0;
}
