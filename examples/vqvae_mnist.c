/* vqvae_mnist.c - VQ-VAE on MNIST: reconstruction, codebook health with and
 * without dead-code restarts, and a gated PixelCNN prior over the 7x7 codes.
 *
 *   vqvae_mnist DATA_DIR [OUT_PREFIX] [AE_STEPS] [PRIOR_STEPS] [HIDDEN] [defaults]
 *
 * Trains two autoencoders that differ only in restart_dead (0 / 1; the
 * restarts model names only the shape, hidden, data_var and the prior's size,
 * so everything else is the model's defaults: EMA codebook, restarts; with
 * the argument `defaults` only that one) for
 * AE_STEPS (default 600) batches of 32 (Adam 3e-4), reports the test reconstruction MSE
 * (per pixel, pixels in [0, 1]) on the first 2000 test images, the perplexity and used fraction of the K =
 * 512 codebook on those images, and the dead codes of the training tracker;
 * then trains the prior of the restarts model for PRIOR_STEPS (default 600,
 * Adam 1e-3)
 * and reports its bits per code on the test set against log2 K = 9. Writes
 * OUT_PREFIX_recon.png (pairs of rows: test digits, their reconstructions) and
 * OUT_PREFIX_samples.png (64 prior samples, temperature 1). Public API only. */
#include <disent.h>

#include "example_args.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int progress(void *user, int epoch, int64_t step, int epoch_end, int n, const char *const *names,
                    const float *values)
{
    (void)epoch;
    if (epoch_end) return 0;
    printf("  [%s] step %5lld", (const char *)user, (long long)step);
    for (int i = 0; i < n; i++) printf("  %s %.4g", names[i], values[i]);
    printf("\n");
    fflush(stdout);
    return 0;
}

/* one more epoch of `steps` batches (dsn_fit continues from the model's epoch count) */
static void fit(dsn_model *m, const dsn_dataset *train, int epochs, int steps, const char *lr, const char *tag)
{
    dsn_options *oo, *fo;
    CHECK(dsn_options_create(&oo));
    CHECK(dsn_options_set(oo, "lr", lr));
    dsn_optimizer *opt;
    CHECK(dsn_optimizer_create(&opt, m, "adam", oo));
    CHECK(dsn_options_create(&fo));
    char text[128];
    snprintf(text, sizeof text, "epochs=%d, batch_size=32, steps_per_epoch=%d, log_every=%d", epochs, steps,
             steps / 5 > 0 ? steps / 5 : 1);
    CHECK(dsn_options_parse(fo, text));
    double t0 = ex_now();
    CHECK(dsn_fit(m, opt, train, NULL, fo, progress, (void *)tag));
    printf("  [%s] %d steps in %.1f s\n", tag, steps, ex_now() - t0);
    dsn_optimizer_free(opt);
    dsn_options_free(oo);
    dsn_options_free(fo);
}

/* mean squared error per pixel of decode(encode(x)) over the test set */
static double test_mse(dsn_model *m, const dsn_dataset *test, float *recon_out, const float *x)
{
    enum { B = 100 };
    size_t n = host_ds(test).size;
    dsn_session *s;
    dsn_encoding *e;
    CHECK(dsn_session_create(&s, m, B));
    CHECK(dsn_encoding_create(&e, m, B));
    float *y = malloc(sizeof(float) * B * 784);
    double se = 0;
    for (size_t i = 0; i < n; i += B) {
        size_t b = n - i < B ? n - i : B;
        CHECK(dsn_encode(s, e, x + i * 784, b, NULL));
        CHECK(dsn_decode(s, y, B * 784, e));
        for (size_t j = 0; j < b * 784; j++) se += (double)(x[i * 784 + j] - y[j]) * (x[i * 784 + j] - y[j]);
        if (i == 0 && recon_out) memcpy(recon_out, y, sizeof(float) * 16 * 784);
    }
    free(y);
    dsn_encoding_free(e);
    dsn_session_free(s);
    return se / ((double)n * 784);
}

/* one named figure of dsn_model_stats (ds NULL: the training tracker) */
static double stat(dsn_model *m, const dsn_dataset *ds, const char *name)
{
    const char *names[64];
    double vals[64];
    size_t n = 0;
    CHECK(dsn_model_stats(m, names, vals, 64, &n, ds));
    for (size_t i = 0; i < n && i < 64; i++)
        if (!strcmp(names[i], name)) return vals[i];
    fprintf(stderr, "no statistic '%s'\n", name);
    exit(1);
}

static void put_digit(unsigned char *pix, int W, int gx, int gy, const float *img)
{
    for (int r = 0; r < 28; r++)
        for (int c = 0; c < 28; c++) {
            float v = img[r * 28 + c];
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            pix[(size_t)(gy * 28 + r) * W + gx * 28 + c] = (unsigned char)(v * 255.0f + 0.5f);
        }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATA_DIR [OUT_PREFIX] [AE_STEPS] [PRIOR_STEPS] [HIDDEN] [defaults]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1], *prefix = argc > 2 ? argv[2] : "vqvae";
    int ae_steps = argc > 3 ? atoi(argv[3]) : 600, prior_steps = argc > 4 ? atoi(argv[4]) : 600;
    int hidden = argc > 5 ? atoi(argv[5]) : 64;
    const int only_defaults = argc > 6 && !strcmp(argv[6], "defaults");
    dsn_dataset *train, *test;
    CHECK(dsn_dataset_from_mnist(&train, dir, 0));
    dsn_dataset *test_all, *rest;
    CHECK(dsn_dataset_from_mnist(&test_all, dir, 1));
    CHECK(dsn_dataset_split(test_all, &test, &rest, 0.8, 1, 0)); /* 2000 test images, shuffled */
    dsn_dataset_free(test_all);
    dsn_dataset_free(rest);
    size_t nt = host_ds(test).size, ntr = host_ds(train).size;
    float *x = malloc(sizeof(float) * nt * 784), *xi = malloc(sizeof(float) * 784);
    for (size_t i = 0; i < nt; i++) CHECK(dsn_dataset_get(test, x + i * 784, 784, NULL, i));
    /* the reference divides the MSE by the data variance */
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < ntr; i += 10) {
        CHECK(dsn_dataset_get(train, xi, 784, NULL, i));
        for (int j = 0; j < 784; j++) {
            s1 += xi[j];
            s2 += (double)xi[j] * xi[j];
        }
    }
    double cnt = (double)((ntr + 9) / 10) * 784, var = s2 / cnt - (s1 / cnt) * (s1 / cnt);
    printf("MNIST: %zu train images, %zu test images for evaluation; pixel variance %.4f\n", ntr, nt, var);

    dsn_model *models[2] = {NULL, NULL};
    double mse[2], perp[2], used[2], dead[2], restarts[2];
    float recon[16 * 784];
    for (int r = only_defaults; r < 2; r++) {
        char text[512];
        /* r = 1: the model's own codebook defaults (ema, decay 0.99, restart_dead=1, dead_after=100,
         * restart_every=100, K 512, D 64, beta 0.25); r = 0 the same without restarts */
        snprintf(text, sizeof text,
                 "channels=1, height=28, width=28, hidden=%d, data_var=%.6f,%s "
                 "prior_channels=32, prior_layers=8, prior_kernel=3, prior_hidden=128, seed=1",
                 hidden, var, r ? "" : " restart_dead=0,");
        dsn_options *o;
        CHECK(dsn_options_create(&o));
        CHECK(dsn_options_parse(o, text));
        CHECK(dsn_model_create(&models[r], "vq-vae", o));
        dsn_options_free(o);
        printf("autoencoder, %s (%zu parameters)\n", r ? "the defaults (restart_dead=1)" : "restart_dead=0",
               host_info(models[r]).num_params);
        fit(models[r], train, 1, ae_steps, "3e-4", r ? "ae+restarts" : "ae");
        mse[r] = test_mse(models[r], test, r ? recon : NULL, x);
        perp[r] = stat(models[r], test, "codebook.perplexity");
        used[r] = stat(models[r], test, "codebook.used");
        dead[r] = stat(models[r], NULL, "codebook.dead");
        restarts[r] = stat(models[r], NULL, "codebook.restarts");
    }
    printf("\n| restarts | test MSE | test perplexity | used (test) | dead (train tracker) | restarts done |\n");
    printf("|---|---|---|---|---|---|\n");
    for (int r = only_defaults; r < 2; r++)
        printf("| %s | %.5f | %.1f | %.0f / 512 (%.1f %%) | %.0f | %.0f |\n", r ? "on (defaults)" : "off", mse[r],
               perp[r], used[r], 100 * used[r] / 512, dead[r], restarts[r]);

    /* the prior of the restarts model */
    dsn_model *m = models[1];
    CHECK(dsn_model_set_stage(m, "prior"));
    double bits0 = stat(m, test, "prior.bits_per_code");
    printf("\nprior (gated PixelCNN over 7x7 codes): untrained %.3f bits/code\n", bits0);
    fit(m, train, 2, prior_steps, "1e-3", "prior");
    double bits = stat(m, test, "prior.bits_per_code");
    printf("prior: %.3f bits per code on the test images (uniform: log2 512 = 9; %.1f bits per image of 49 codes)\n",
           bits, bits * 49);

    /* figures */
    enum { G = 8 };
    unsigned char *pix = calloc((size_t)G * 28 * 4 * 28, 1);
    for (int i = 0; i < 16; i++) {
        put_digit(pix, G * 28, i % G, 2 * (i / G), x + (size_t)i * 784);
        put_digit(pix, G * 28, i % G, 2 * (i / G) + 1, recon + (size_t)i * 784);
    }
    char path[512];
    snprintf(path, sizeof path, "%s_recon.png", prefix);
    if (dsn_image_save_png(path, pix, G * 28, 4 * 28, 1) == DSN_OK) printf("wrote %s\n", path);
    free(pix);
    dsn_session *s;
    dsn_encoding *e;
    CHECK(dsn_session_create(&s, m, G * G));
    CHECK(dsn_encoding_create(&e, m, G * G));
    CHECK(dsn_encoding_prepare(e, G * G, NULL));
    double t0 = ex_now();
    CHECK(dsn_sample(s, e, "codes", 2024));
    double ts = ex_now() - t0;
    float *y = malloc(sizeof(float) * G * G * 784);
    CHECK(dsn_decode(s, y, (size_t)G * G * 784, e));
    pix = calloc((size_t)G * 28 * G * 28, 1);
    for (int i = 0; i < G * G; i++) put_digit(pix, G * 28, i % G, i / G, y + (size_t)i * 784);
    snprintf(path, sizeof path, "%s_samples.png", prefix);
    if (dsn_image_save_png(path, pix, G * 28, G * 28, 1) == DSN_OK) printf("wrote %s (64 samples drawn in %.2f s)\n", path, ts);
    free(pix);
    free(y);
    dsn_encoding_free(e);
    dsn_session_free(s);
    dsn_model_free(models[0]);
    dsn_model_free(models[1]);
    dsn_dataset_free(train);
    dsn_dataset_free(test);
    free(x);
    free(xi);
    return 0;
}
