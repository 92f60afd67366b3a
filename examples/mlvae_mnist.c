/* mlvae_mnist.c - train ML-VAE on MNIST grouped by digit class, evaluate the
 * split of content and style, and write a swap grid.
 *
 *   mlvae_mnist DATA_DIR [OUT.png] [EPOCHS] [STEPS_PER_EPOCH]
 *
 * Evaluation on the test set (first 2000 images): a nearest-class-centroid
 * classifier fitted on the training content (or style) means predicts the
 * digit from one observation's content (or style). The swap grid has one row
 * per content source and one column per style source. */
#include <disent.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call)                                                                        \
    do {                                                                                   \
        dsn_status st_ = (call);                                                           \
        if (st_ != DSN_OK) {                                                               \
            fprintf(stderr, "%s failed: %s: %s\n", #call, dsn_status_string(st_), dsn_last_error()); \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* ---- a minimal PNG writer (8-bit grey, stored deflate blocks) ---- */
static unsigned long crc_table[256];
static void crc_init(void)
{
    for (unsigned long n = 0; n < 256; n++) {
        unsigned long c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320UL ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}
static unsigned long crc(unsigned long c, const unsigned char *b, size_t n)
{
    c ^= 0xffffffffUL;
    while (n--) c = crc_table[(c ^ *b++) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffUL;
}
static void be32(unsigned char *p, unsigned long v)
{
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16); p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}
static void chunk(FILE *f, const char *type, const unsigned char *data, size_t n)
{
    unsigned char h[8];
    be32(h, (unsigned long)n);
    memcpy(h + 4, type, 4);
    fwrite(h, 1, 8, f);
    fwrite(data, 1, n, f);
    unsigned long c = crc(crc(0, (const unsigned char *)type, 4), data, n);
    be32(h, c);
    fwrite(h, 1, 4, f);
}
static int write_png(const char *path, const unsigned char *pix, int w, int h)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    crc_init();
    fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
    unsigned char ihdr[13];
    be32(ihdr, (unsigned long)w);
    be32(ihdr + 4, (unsigned long)h);
    ihdr[8] = 8; ihdr[9] = 0; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
    chunk(f, "IHDR", ihdr, 13);
    size_t raw_n = (size_t)h * (size_t)(w + 1);
    unsigned char *raw = malloc(raw_n);
    for (int y = 0; y < h; y++) {
        raw[(size_t)y * (w + 1)] = 0;
        memcpy(raw + (size_t)y * (w + 1) + 1, pix + (size_t)y * w, (size_t)w);
    }
    size_t nblocks = (raw_n + 65534) / 65535;
    unsigned char *z = malloc(2 + raw_n + nblocks * 5 + 4);
    size_t k = 0;
    z[k++] = 0x78; z[k++] = 0x01;
    unsigned long a = 1, b = 0;
    for (size_t off = 0; off < raw_n; off += 65535) {
        size_t len = raw_n - off < 65535 ? raw_n - off : 65535;
        z[k++] = off + len == raw_n;
        z[k++] = (unsigned char)len; z[k++] = (unsigned char)(len >> 8);
        z[k++] = (unsigned char)~len; z[k++] = (unsigned char)(~len >> 8);
        memcpy(z + k, raw + off, len);
        k += len;
    }
    for (size_t i = 0; i < raw_n; i++) {
        a = (a + raw[i]) % 65521;
        b = (b + a) % 65521;
    }
    be32(z + k, (b << 16) | a);
    k += 4;
    chunk(f, "IDAT", z, k);
    chunk(f, "IEND", NULL, 0);
    free(raw);
    free(z);
    return fclose(f);
}

static int progress(void *user, int epoch, int64_t step, int epoch_end, int n, const char *const *names,
                    const float *values)
{
    (void)user;
    if (!epoch_end) return 0;
    printf("epoch %d (step %lld):", epoch, (long long)step);
    for (int i = 0; i < n; i++) printf(" %s %.2f", names[i], values[i]);
    printf("\n");
    fflush(stdout);
    return 0;
}

/* Nearest-centroid accuracy of a part's means: centroids from train, test on test. */
static double centroid_accuracy(const float *tr, const int32_t *ltr, size_t ntr, const float *te, const int32_t *lte,
                                size_t nte, int dim)
{
    double cen[10][64] = {{0}};
    int cnt[10] = {0};
    for (size_t i = 0; i < ntr; i++) {
        cnt[ltr[i]]++;
        for (int d = 0; d < dim; d++) cen[ltr[i]][d] += tr[i * dim + d];
    }
    for (int c = 0; c < 10; c++)
        for (int d = 0; d < dim; d++) cen[c][d] /= cnt[c] ? cnt[c] : 1;
    size_t ok = 0;
    for (size_t i = 0; i < nte; i++) {
        int best = 0;
        double bd = INFINITY;
        for (int c = 0; c < 10; c++) {
            double s = 0;
            for (int d = 0; d < dim; d++) s += (te[i * dim + d] - cen[c][d]) * (te[i * dim + d] - cen[c][d]);
            if (s < bd) { bd = s; best = c; }
        }
        ok += best == lte[i];
    }
    return (double)ok / (double)nte;
}

static void encode_parts(dsn_session *s, dsn_encoding *e, const dsn_dataset *ds, size_t n, float *content,
                         float *style, int32_t *labels, int cdim, int sdim)
{
    enum { B = 250 };
    static float x[B * 784];
    for (size_t off = 0; off < n; off += B) {
        size_t k = n - off < B ? n - off : B;
        for (size_t i = 0; i < k; i++) CHECK(dsn_dataset_get(ds, off + i, x + i * 784, 784, labels + off + i));
        CHECK(dsn_encode(s, e, x, k, NULL));
        CHECK(dsn_encoding_get(e, "content", "mean", content + off * cdim, k * cdim, NULL, NULL));
        CHECK(dsn_encoding_get(e, "style", "mean", style + off * sdim, k * sdim, NULL, NULL));
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATA_DIR [OUT.png] [EPOCHS] [STEPS_PER_EPOCH]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1], *png = argc > 2 ? argv[2] : "mlvae_swap.png";
    int epochs = argc > 3 ? atoi(argv[3]) : 10;
    int steps = argc > 4 ? atoi(argv[4]) : 200;
    dsn_dataset *train, *test;
    CHECK(dsn_dataset_from_mnist(&train, dir, 0));
    CHECK(dsn_dataset_from_mnist(&test, dir, 1));
    printf("MNIST: %zu training and %zu test images, %zu groups (digit classes)\n", dsn_dataset_size(train),
           dsn_dataset_size(test), dsn_dataset_num_groups(train));

    dsn_options *mo, *oo, *fo;
    CHECK(dsn_options_create(&mo));
    CHECK(dsn_options_parse(mo, "input_dim=784, hidden=500, activation=tanh, style_dim=10, content_dim=10, seed=1"));
    dsn_model *m;
    CHECK(dsn_model_create(&m, "ml-vae", mo));
    CHECK(dsn_options_create(&oo));
    CHECK(dsn_options_set(oo, "lr", "0.001"));
    dsn_optimizer *opt;
    CHECK(dsn_optimizer_create(&opt, m, "adam", oo));
    CHECK(dsn_options_create(&fo));
    char text[256];
    snprintf(text, sizeof text, "epochs=%d, steps_per_epoch=%d, batch_groups=10, group_size=25", epochs, steps);
    CHECK(dsn_options_parse(fo, text));
    printf("ML-VAE: %zu parameters; training %d epochs x %d steps of 10 groups x 25 images\n",
           dsn_model_num_params(m), epochs, steps);
    clock_t t0 = clock();
    struct timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    CHECK(dsn_fit(m, opt, train, NULL, fo, progress, NULL));
    clock_gettime(CLOCK_MONOTONIC, &w1);
    printf("training wall time %.1f s (cpu %.1f s)\n", (double)(w1.tv_sec - w0.tv_sec) + 1e-9 * (double)(w1.tv_nsec - w0.tv_nsec),
           (double)(clock() - t0) / CLOCKS_PER_SEC);

    /* evaluation: content should predict the class, style should not */
    size_t ntr = 10000, nte = 2000;
    float *ctr = malloc(sizeof(float) * ntr * 10), *str = malloc(sizeof(float) * ntr * 10);
    float *cte = malloc(sizeof(float) * nte * 10), *ste = malloc(sizeof(float) * nte * 10);
    int32_t *ltr = malloc(sizeof(int32_t) * ntr), *lte = malloc(sizeof(int32_t) * nte);
    dsn_session *s;
    dsn_encoding *e, *f;
    CHECK(dsn_session_create(&s, m, 250));
    CHECK(dsn_encoding_create(&e, m, 250));
    CHECK(dsn_encoding_create(&f, m, 250));
    encode_parts(s, e, train, ntr, ctr, str, ltr, 10, 10);
    encode_parts(s, e, test, nte, cte, ste, lte, 10, 10);
    printf("nearest-centroid accuracy from one observation (test, %zu images): content %.3f, style %.3f (chance 0.10)\n",
           nte, centroid_accuracy(ctr, ltr, ntr, cte, lte, nte, 10), centroid_accuracy(str, ltr, ntr, ste, lte, nte, 10));

    /* swap grid: rows = content source (digits 0..7), columns = style source */
    enum { K = 8 };
    float src[K * 784], out[K * 784];
    int32_t lab;
    int found = 0;
    for (size_t i = 0; found < K && i < dsn_dataset_size(test); i++) {
        CHECK(dsn_dataset_get(test, i, src + found * 784, 784, &lab));
        if (lab == found) found++;
    }
    unsigned char *pix = calloc((size_t)(K + 1) * 28 * (K + 1) * 28, 1);
    int W = (K + 1) * 28;
    for (int c = 0; c < K; c++) /* first column: the content sources; first row: the style sources */
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                pix[(size_t)((c + 1) * 28 + y) * W + x] = (unsigned char)(255 * src[c * 784 + y * 28 + x]);
                pix[(size_t)y * W + (c + 1) * 28 + x] = (unsigned char)(255 * src[c * 784 + y * 28 + x]);
            }
    CHECK(dsn_encode(s, f, src, K, NULL));
    for (int r = 0; r < K; r++) {
        CHECK(dsn_encode(s, e, src, K, NULL));
        for (int col = 0; col < K; col++) CHECK(dsn_encoding_copy_item(e, (size_t)col, f, (size_t)r, "content"));
        CHECK(dsn_decode(s, e, out, sizeof out / sizeof *out));
        for (int col = 0; col < K; col++)
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                    pix[(size_t)((r + 1) * 28 + y) * W + (col + 1) * 28 + x] = (unsigned char)(255 * out[col * 784 + y * 28 + x]);
    }
    if (write_png(png, pix, W, W) == 0)
        printf("swap grid written to %s (rows: content of digits 0-%d; columns: style of the same images)\n", png, K - 1);
    /* the swapped digit 3 row in the terminal: content 3, styles of 0..3 */
    printf("content of a '3' decoded with the styles of the first four test digits:\n");
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
    free(ctr); free(str); free(cte); free(ste); free(ltr); free(lte);
    dsn_encoding_free(e);
    dsn_encoding_free(f);
    dsn_session_free(s);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
    dsn_options_free(mo);
    dsn_options_free(oo);
    dsn_options_free(fo);
    dsn_dataset_free(train);
    dsn_dataset_free(test);
    return 0;
}
