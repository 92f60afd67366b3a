/* bench_stream.c - real-time factor of dsn_stream_process (issue 20 target:
 * run() on 256-sample blocks at 48 kHz in <= 10 % of the block's duration on
 * one core; latency <= 40 ms).
 *
 *   bench_stream [MODEL.dsn] [--seconds 60] [--block 256] [--rate 48000] [--set key=value]...
 *
 * Without a model: an untrained TS-DSAE in the streaming configuration of
 * docs/plugin.md (64 mels, v 16, z 16, hidden 64:64, local encoder mlp), with
 * a one-entry bank and the front end n_fft 512, hop 128 at 16 kHz. Prints the
 * latency, per-block wall time (mean, p50, p99, max) and thread CPU time, the
 * real-time factor (audio duration / CPU time), the per-block cost as a
 * fraction of the block's duration, and the allocations made by process. */
#include <disent.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define CHECK(x)                                                                                                     \
    do {                                                                                                             \
        dsn_status st_ = (x);                                                                                        \
        if (st_ != DSN_OK) {                                                                                         \
            fprintf(stderr, "bench_stream: %s: %s\n", #x, dsn_last_error());                                         \
            return 1;                                                                                                \
        }                                                                                                            \
    } while (0)

int main(int argc, char **argv)
{
    const char *path = NULL;
    double seconds = 60;
    size_t block = 256;
    int rate = 48000;
    dsn_options *so;
    CHECK(dsn_options_create(&so));
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--block") && i + 1 < argc) block = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--rate") && i + 1 < argc) rate = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--set") && i + 1 < argc) CHECK(dsn_options_parse(so, argv[++i]));
        else if (argv[i][0] != '-') path = argv[i];
        else {
            fprintf(stderr, "usage: bench_stream [MODEL.dsn] [--seconds S] [--block N] [--rate HZ] [--set k=v]\n");
            return 2;
        }
    }
    dsn_model *m = NULL;
    if (path) {
        CHECK(dsn_model_load(&m, path));
    } else {
        dsn_options *mo, *ao;
        CHECK(dsn_options_create(&mo));
        CHECK(dsn_options_parse(mo, "frames=250, n_mels=64, z_norm=none, local_context=0")); /* streamable */
        CHECK(dsn_model_create(&m, "ts-dsae", mo));
        CHECK(dsn_options_create(&ao));
        CHECK(dsn_options_parse(ao, "sample_rate=16000, n_fft=512, hop_length=128, n_mels=64"));
        float v[16] = {0};
        CHECK(dsn_model_bank_add(m, "zero", v, 16, ao));
        dsn_options_free(mo);
        dsn_options_free(ao);
    }
    dsn_stream *s;
    CHECK(dsn_stream_create(&s, m, rate, block, NULL, 0, so));
    const size_t n_blocks = (size_t)(seconds * rate / (double)block);
    float *x = malloc(block * sizeof(float)), *y = malloc(block * sizeof(float));
    double *t = malloc(n_blocks * sizeof(double));
    if (!x || !y || !t) return 1;
    double ph = 0;
    uint64_t a0 = dsn_allocation_count();
    double c0 = now(CLOCK_THREAD_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
    for (size_t b = 0; b < n_blocks; b++) {
        for (size_t i = 0; i < block; i++) { /* a melody of sawtooth-ish partials */
            double f = 220.0 * pow(2.0, (double)((b * block / 12000) % 12) / 12.0);
            ph += 2 * 3.14159265358979323846 * f / rate;
            x[i] = (float)(0.3 * sin(ph) + 0.15 * sin(2 * ph) + 0.07 * sin(3 * ph));
        }
        double s0 = now(CLOCK_MONOTONIC);
        CHECK(dsn_stream_process(s, y, x, block));
        t[b] = now(CLOCK_MONOTONIC) - s0;
    }
    double cpu = now(CLOCK_THREAD_CPUTIME_ID) - c0, wall = now(CLOCK_MONOTONIC) - w0;
    uint64_t allocs = dsn_allocation_count() - a0;
    qsort(t, n_blocks, sizeof *t, cmp);
    double mean = 0;
    for (size_t b = 0; b < n_blocks; b++) mean += t[b] / (double)n_blocks;
    const double dur = (double)block / rate, audio = (double)n_blocks * dur;
    printf("bench_stream: %s, %d Hz, %zu-sample blocks (%.2f ms), %.0f s of audio\n", path ? path : "untrained default",
           rate, block, 1e3 * dur, audio);
    printf("  latency        %zu samples (%.1f ms); front end %llu Hz, n_fft %llu, hop %llu\n", dsn_stream_latency(s),
           1e3 * (double)dsn_stream_latency(s) / rate, (unsigned long long)dsn_stream_counter(s, "feature_rate"),
           (unsigned long long)dsn_stream_counter(s, "n_fft"), (unsigned long long)dsn_stream_counter(s, "hop"));
    printf("  per block      mean %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us (wall)\n", 1e6 * mean,
           1e6 * t[n_blocks / 2], 1e6 * t[(size_t)(0.99 * (double)(n_blocks - 1))], 1e6 * t[n_blocks - 1]);
    printf("  CPU            %.3f s thread CPU for %.0f s of audio (wall %.3f s)\n", cpu, audio, wall);
    printf("  real-time factor %.1f (CPU); block cost %.2f %% of its duration (CPU mean), p99 %.2f %% (wall)\n",
           audio / cpu, 100.0 * cpu / audio, 100.0 * t[(size_t)(0.99 * (double)(n_blocks - 1))] / dur);
    printf("  allocations in process: %llu; frames %llu, xruns %llu, model errors %llu\n", (unsigned long long)allocs,
           (unsigned long long)dsn_stream_counter(s, "frames"), (unsigned long long)dsn_stream_counter(s, "xruns"),
           (unsigned long long)dsn_stream_counter(s, "model_errors"));
    dsn_stream_free(s);
    dsn_model_free(m);
    dsn_options_free(so);
    free(x);
    free(y);
    free(t);
    return 0;
}
