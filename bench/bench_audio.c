/* bench_audio - audio front-end throughput.
 *   feature extraction: 4-s 16 kHz clips, n_fft 2048, hop 256, 80 HTK mels,
 *   power, ln(mel + 1e-6) (clips per second, one thread);
 *   Griffin-Lim on one 4-s clip (fast variant) at 32 and 100 iterations;
 *   mel -> linear NNLS (100 iterations) on one clip.
 * Usage: bench_audio [clips] */
#include "audio/invert.h"
#include "audio/mel.h"
#include "tensor/blas.h"

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

int main(int argc, char **argv)
{
    int clips = argc > 1 ? atoi(argv[1]) : 200;
    if (clips < 1) clips = 200;
    dsi_blas_set_threads(1);
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
    double t0 = now();
    for (int c = 0; c < clips; c++) dsi_featurizer_run(&fz, x, n, feat);
    double dt = now() - t0;
    printf("features: %d clips of 4 s (16 kHz, n_fft 2048, hop 256, 80 mels, %d frames): %.1f clips/s, %.2f ms/clip "
           "(1 thread, %s)\n", clips, T, clips / dt, 1e3 * dt / clips, dsi_blas_name());

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
