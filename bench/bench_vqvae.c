/* bench_vqvae.c - VQ-VAE training step and encode throughput (issue #9 W3).
 *
 *   build-x/bench/bench_vqvae [steps] [threads]
 *
 * The reference CIFAR-10 configuration: 32x32x3 images, batch 32, encoder
 * conv 4x4 s2 3->128, ReLU, conv 4x4 s2 128->128, 2 residual blocks (ReLU,
 * 3x3 128->32, ReLU, 1x1 32->128), 1x1 128->64; K 512, D 64, beta 0.25;
 * decoder mirrored with transposed convolutions; MSE; Adam 3e-4. Random
 * uniform data, fixed seed. Prints median / min / max ms per training step
 * over `steps` (default 30) steps after 3 warm-up steps, the achieved GFLOP/s
 * (counting 3x the forward multiply-adds as 2 flops each), and the encode
 * throughput (images/s) of a session on batches of 32. */
#include "disent.h"
#include "tensor/blas.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* forward multiply-adds per image of the reference network */
static double forward_macs(void)
{
    double m = 0;
    m += 16.0 * 16 * 128 * 3 * 16;        /* conv 4x4 s2 3->128 */
    m += 8.0 * 8 * 128 * 128 * 16;        /* conv 4x4 s2 128->128 */
    m += 2 * 2 * (64.0 * 32 * 128 * 9 + 64.0 * 128 * 32); /* 2 x 2 residual blocks */
    m += 64.0 * 64 * 128;                 /* 1x1 -> D */
    m += 64.0 * 512 * 64;                 /* VQ distances */
    m += 64.0 * 128 * 64 * 9;             /* decoder 3x3 D->128 */
    m += 8.0 * 8 * 128 * 128 * 16;        /* transposed 4x4 s2 128->128: 8x8 inputs, 16 taps each */
    m += 16.0 * 16 * 128 * 3 * 16;        /* transposed 4x4 s2 128->3 */
    return m;
}

#define CHECK(call)                                                                  \
    do {                                                                             \
        dsn_status st_ = (call);                                                     \
        if (st_ != DSN_OK) {                                                         \
            fprintf(stderr, "%s: %s\n", #call, dsn_last_error());                   \
            return 1;                                                                \
        }                                                                            \
    } while (0)

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 30, threads = argc > 2 ? atoi(argv[2]) : 0;
    if (steps < 20) steps = 20;
    if (threads > 0) dsi_blas_set_threads(threads);
    enum { B = 32, OBS = 3 * 32 * 32 };
    dsn_options *o, *oo;
    CHECK(dsn_options_create(&o));
    CHECK(dsn_options_parse(o, "channels=3, height=32, width=32, hidden=128, res_blocks=2, res_channels=32,"
                               "code_dim=64, num_codes=512, beta=0.25, codebook_update=loss, restart_dead=0, seed=1"));
    dsn_model *m;
    CHECK(dsn_model_create(&m, "vq-vae", o));
    CHECK(dsn_options_create(&oo));
    CHECK(dsn_options_set(oo, "lr", "3e-4"));
    dsn_optimizer *opt;
    CHECK(dsn_optimizer_create(&opt, m, "adam", oo));
    float *x = malloc(sizeof(float) * B * OBS);
    srand(1);
    for (int i = 0; i < B * OBS; i++) x[i] = (float)rand() / (float)RAND_MAX;
    for (int i = 0; i < 3; i++) CHECK(dsn_train_step(m, opt, NULL, x, B, NULL));
    double *ms = malloc(sizeof(double) * (size_t)steps);
    uint64_t a0 = dsn_allocation_count();
    for (int i = 0; i < steps; i++) {
        double t0 = now();
        CHECK(dsn_train_step(m, opt, NULL, x, B, NULL));
        ms[i] = 1e3 * (now() - t0);
    }
    uint64_t allocs = dsn_allocation_count() - a0;
    qsort(ms, (size_t)steps, sizeof *ms, cmp);
    double med = ms[steps / 2], gflop = 3.0 * 2.0 * forward_macs() * B * 1e-9;
    printf("vq-vae W3 train step (32x32x3, batch 32, 128 ch, K 512, D 64, Adam), %d steps, threads %s:\n", steps,
           threads > 0 ? argv[2] : "default");
    printf("  median %.2f ms  min %.2f ms  max %.2f ms  (%.1f GFLOP/s at the median, %.2f GFLOP/step); "
           "allocations in the timed loop: %llu\n",
           med, ms[0], ms[steps - 1], gflop / (med * 1e-3), gflop, (unsigned long long)allocs);
    /* encode throughput */
    dsn_session *s;
    dsn_encoding *e;
    CHECK(dsn_session_create(&s, m, B));
    CHECK(dsn_encoding_create(&e, m, B));
    CHECK(dsn_encode(s, e, x, B, NULL));
    for (int i = 0; i < steps; i++) {
        double t0 = now();
        CHECK(dsn_encode(s, e, x, B, NULL));
        ms[i] = 1e3 * (now() - t0);
    }
    qsort(ms, (size_t)steps, sizeof *ms, cmp);
    printf("  encode batch of 32: median %.2f ms (%.0f images/s), min %.2f ms\n", ms[steps / 2],
           B / (ms[steps / 2] * 1e-3), ms[0]);
    dsn_encoding_free(e);
    dsn_session_free(s);
    free(ms);
    free(x);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
    dsn_options_free(o);
    dsn_options_free(oo);
    return 0;
}
