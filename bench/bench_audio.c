/* bench_audio - audio front-end throughput.
 *   feature extraction: 4-s 16 kHz clips, n_fft 2048, hop 256, 80 HTK mels,
 *   power, ln(mel + 1e-6) (clips per second, one thread);
 *   Griffin-Lim on one 4-s clip (fast variant) at 32 and 100 iterations;
 *   mel -> linear NNLS (100 iterations) on one clip.
 *   the issue #19 figure: log-mel of `clips` (default 3000) 4-s clips on
 *   `threads` threads (default 2) of the library's pool, each with its own
 *   featurizer (as the dataset's feature computation does), wall and CPU time
 *   (target: 3000 clips <= 20 s on 2 cores).
 * Usage: bench_audio [clips] [threads] */
#include "audio/invert.h"
#include "audio/mel.h"
#include "tensor/blas.h"
#include "core/pool.h"
#include "disent.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

typedef struct many_job {
    const dsi_feat_cfg *cfg;
    const float *x;
    size_t n;
    int clips, T;
    float *feat; /* [parts][T][n_mels] */
    int failed;
} many_job;

/* part t of the clips (clip i to part i mod parts), its own featurizer */
static void many_task(void *ctx, int t, int nt)
{
    many_job *j = ctx;
    dsi_featurizer fz;
    if (dsi_featurizer_init(&fz, j->cfg) != DSN_OK) {
        j->failed = 1;
        return;
    }
    float *out = j->feat + (size_t)t * j->T * j->cfg->n_mels;
    for (int c = t; c < j->clips; c += nt)
        if (dsi_featurizer_run(&fz, j->x, j->n, out) != DSN_OK) j->failed = 1;
    dsi_featurizer_free(&fz);
}

int main(int argc, char **argv)
{
    int clips = argc > 1 ? atoi(argv[1]) : 3000;
    if (clips < 1) clips = 3000;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    if (threads < 1) threads = 1;
    const int sr = 16000;
    const size_t n = 4 * (size_t)sr;
    float *x = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) { /* a melody-like harmonic signal with a little noise */
        double f0 = 261.63 * pow(2.0, (double)((i / 4000) % 8) / 12.0), v = 0;
        for (int h = 1; h <= 6; h++) v += sin(2 * 3.14159265358979 * h * f0 * i / sr) / h;
        x[i] = (float)(0.3 * v + 1e-3 * ((double)rand() / RAND_MAX - 0.5));
    }
    dsi_feat_cfg cfg;
    dsi_feat_cfg_default(&cfg);
    dsi_featurizer fz;
    if (dsi_featurizer_init(&fz, &cfg) != DSN_OK) {
        fprintf(stderr, "bench_audio: %s\n", dsn_last_error());
        return 1;
    }
    int T = dsi_featurizer_frames(&fz, n);
    float *feat = malloc(sizeof(float) * T * cfg.n_mels);
    dsi_featurizer_run(&fz, x, n, feat); /* warm-up */
    const int one = clips < 200 ? clips : 200;
    double t0 = now(), c0 = cpu_now();
    for (int c = 0; c < one; c++) dsi_featurizer_run(&fz, x, n, feat);
    double dt = now() - t0, dc = cpu_now() - c0;
    printf("features: %d clips of 4 s (16 kHz, n_fft 2048, hop 256, 80 mels, %d frames), 1 thread: %.1f clips/s, "
           "%.2f ms/clip wall, %.2f ms/clip CPU (%s)\n", one, T, one / dt, 1e3 * dt / one, 1e3 * dc / one,
           dsi_blas_name());

    if (dsn_set_threads(threads) != DSN_OK) {
        fprintf(stderr, "bench_audio: %s\n", dsn_last_error());
        return 1;
    }
    float *feats = malloc(sizeof(float) * (size_t)threads * T * cfg.n_mels);
    many_job mj = {&cfg, x, n, clips, T, feats, 0};
    t0 = now();
    c0 = cpu_now();
    dsi_pool_run(threads, many_task, &mj);
    dt = now() - t0;
    dc = cpu_now() - c0;
    printf("features: %d clips of 4 s on %d thread(s): %.2f s wall, %.2f s CPU (all threads), %.1f clips/s%s\n",
           clips, threads, dt, dc, clips / dt, mj.failed ? " (FAILED)" : "");
    printf("RESULT MEL %d %d %.3f %.3f\n", clips, threads, dt, dc);
    free(feats);
    dsn_set_threads(1);

    float *y = malloc(sizeof(float) * n), *mag = malloc(sizeof(float) * T * fz.stft.n_bins);
    dsi_stft_spectrogram(&fz.stft, x, n, 1, mag);
    int iters[2] = {32, 100};
    for (int k = 0; k < 2; k++) {
        dsi_gl_opts o;
        dsi_gl_opts_default(&o);
        o.n_iter = iters[k];
        float sc = 0;
        t0 = now();
        dsi_griffin_lim(&fz.stft, mag, T, &o, y, n, &sc);
        dt = now() - t0;
        printf("griffin-lim (fast, momentum 0.99): %d iterations on a 4-s clip: %.3f s, spectral convergence %.4f\n",
               iters[k], dt, sc);
    }
    dsi_feat_cfg lin = cfg;
    lin.log = DSI_FEAT_LINEAR;
    float *S = malloc(sizeof(float) * T * fz.stft.n_bins);
    dsi_featurizer fl;
    dsi_featurizer_init(&fl, &lin);
    dsi_featurizer_run(&fl, x, n, feat);
    t0 = now();
    dsi_mel_to_linear(fl.fb, cfg.n_mels, fl.stft.n_bins, feat, T, DSI_MELINV_NNLS, 100, S);
    printf("mel -> linear (NNLS, 100 iterations) on a 4-s clip: %.3f s\n", now() - t0);
    dsi_featurizer_free(&fl);
    dsi_featurizer_free(&fz);
    free(x); free(feat); free(y); free(mag); free(S);
    return 0;
}
