/* test_stream.c - the streaming front and back end (lib/audio/stream.c):
 * streaming features equal the offline ones, block-size invariance, exact
 * pass-through reconstruction after the reported latency, the streaming
 * resampler against the offline one, resynthesis through the mel path, and
 * no allocation per call. */
#include "audio/io.h"
#include "audio/mel.h"
#include "audio/stream.h"
#include "core/alloc.h"
#include "support/testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

static void stream_cfg(dsi_feat_cfg *c)
{
    dsi_feat_cfg_default(c);
    c->n_fft = 512;
    c->hop = 128;
    c->n_mels = 64;
}

/* a test signal: two partials with a vibrato and a little noise */
static float *signal(size_t n, int sr, uint64_t seed)
{
    float *x = malloc(n * sizeof(float));
    dsi_rng r;
    dsi_rng_seed(&r, seed);
    double ph = 0;
    for (size_t i = 0; i < n; i++) {
        double f = 330.0 * (1.0 + 0.02 * sin(2 * PI * 5.0 * i / sr));
        ph += 2 * PI * f / sr;
        x[i] = (float)(0.4 * sin(ph) + 0.2 * sin(2.01 * ph)) + 0.01f * (float)(dsi_rng_uniform_d(&r) - 0.5);
    }
    return x;
}

START_TEST(features_match_offline)
{
    dsi_feat_cfg c;
    stream_cfg(&c);
    const size_t n = 16000;
    float *x = signal(n, c.sr, 1);
    dsi_featurizer f;
    ck_assert_int_eq(dsi_featurizer_init(&f, &c), DSN_OK);
    const int T = dsi_featurizer_frames(&f, n), M = c.n_mels;
    float *off = malloc(sizeof(float) * (size_t)T * M);
    ck_assert_int_eq(dsi_featurizer_run(&f, x, n, off), DSN_OK);
    dsi_rt_analysis a;
    ck_assert_int_eq(dsi_rt_analysis_init(&a, &c), DSN_OK);
    int t = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        if (!dsi_rt_analysis_push(&a, x[i])) continue;
        ck_assert_int_eq((int)a.next - 1, t);
        for (int m = 0; m < M; m++) {
            double d = fabs(a.feat[m] - off[(size_t)t * M + m]);
            if (d > worst) worst = d;
        }
        t++;
    }
    /* every frame whose window ends inside the clip: t hop + n_fft/2 <= n */
    ck_assert_int_eq(t, (int)((n - c.n_fft / 2) / c.hop) + 1);
    ck_assert_int_ge(t, T - c.n_fft / 2 / c.hop);
    ck_assert_msg(worst < 2e-4, "streaming features differ from offline by %g", worst);
    dsi_rt_analysis_free(&a);
    dsi_featurizer_free(&f);
    free(off);
    free(x);
}
END_TEST

static int pass_through(void *user, float *y, const float *x)
{
    (void)user;
    (void)y;
    (void)x;
    return 1;
}

static int identity(void *user, float *y, const float *x)
{
    int *M = user;
    memcpy(y, x, sizeof(float) * (size_t)*M);
    return 0;
}

/* run the chain over x in blocks (sizes cycling through `blocks`, 0-terminated; negative: random up to max) */
static void run_chain(dsi_rt_chain *ch, float *y, const float *x, size_t n, const int *blocks, uint64_t seed)
{
    dsi_rng r;
    dsi_rng_seed(&r, seed);
    size_t i = 0;
    int k = 0;
    while (i < n) {
        int b = blocks[k];
        if (!blocks[++k]) k = 0;
        size_t len = b > 0 ? (size_t)b : 1 + (size_t)dsi_rng_below(&r, ch->max_block);
        if (len > n - i) len = n - i;
        dsi_rt_chain_process(ch, y + i, x + i, len);
        i += len;
    }
}

START_TEST(pass_through_is_exact_after_latency)
{
    dsi_feat_cfg c;
    stream_cfg(&c);
    const size_t n = 12000;
    float *x = signal(n, c.sr, 2), *y = malloc(n * sizeof(float));
    dsi_rt_chain ch;
    ck_assert_int_eq(dsi_rt_chain_init(&ch, &c, c.sr, 256, DSI_RESAMPLE_FAST, 0, pass_through, NULL), DSN_OK);
    /* equal rates: no resampler delay, the latency is n_fft - 1 */
    ck_assert_uint_eq(ch.latency, (size_t)c.n_fft - 1 + 1 + 2);
    int blocks[] = {1, 0};
    run_chain(&ch, y, x, n, blocks, 1);
    const size_t L = ch.latency;
    for (size_t j = 0; j < L; j++) ck_assert_float_eq(y[j], 0.0f);
    double worst = 0;
    for (size_t j = L; j < n; j++) {
        double d = fabs(y[j] - x[j - L]);
        if (d > worst) worst = d;
    }
    ck_assert_msg(worst < 1e-5, "pass-through differs by %g", worst);
    ck_assert_uint_eq(ch.xruns, 0);
    dsi_rt_chain_free(&ch);
    free(x);
    free(y);
}
END_TEST

START_TEST(block_size_invariance)
{
    dsi_feat_cfg c;
    stream_cfg(&c);
    const int host = 48000;
    const size_t n = 3 * 16000;
    float *x = signal(n, host, 3);
    float *y[4];
    int M = c.n_mels;
    int b1[] = {1, 0}, b2[] = {256, 0}, b3[] = {-1, 0}, b4[] = {7, 300, 64, 1, 0};
    const int *bl[4] = {b1, b2, b3, b4};
    for (int v = 0; v < 4; v++) {
        y[v] = malloc(n * sizeof(float));
        dsi_rt_chain ch;
        ck_assert_int_eq(dsi_rt_chain_init(&ch, &c, host, 300, DSI_RESAMPLE_FAST, 4, identity, &M), DSN_OK);
        run_chain(&ch, y[v], x, n, bl[v], 7);
        ck_assert_uint_eq(ch.xruns, 0);
        ck_assert_uint_eq(ch.bad_frames, 0);
        dsi_rt_chain_free(&ch);
    }
    for (int v = 1; v < 4; v++) {
        double worst = 0;
        for (size_t j = 0; j < n; j++) {
            double d = fabs(y[v][j] - y[0][j]);
            if (d > worst) worst = d;
        }
        ck_assert_msg(worst < 1e-5, "block pattern %d differs from 1-sample blocks by %g", v, worst);
    }
    for (int v = 0; v < 4; v++) free(y[v]);
    free(x);
}
END_TEST

START_TEST(resampled_pass_through_after_latency)
{
    dsi_feat_cfg c;
    stream_cfg(&c);
    const int hosts[] = {48000, 44100, 22050};
    for (int h = 0; h < 3; h++) {
        const int host = hosts[h];
        const size_t n = (size_t)host;
        float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) x[i] = (float)(0.5 * sin(2 * PI * 440.0 * i / host) + 0.2 * sin(2 * PI * 1250.0 * i / host));
        dsi_rt_chain ch;
        ck_assert_int_eq(dsi_rt_chain_init(&ch, &c, host, 256, DSI_RESAMPLE_MEDIUM, 0, pass_through, NULL), DSN_OK);
        int blocks[] = {256, 0};
        run_chain(&ch, y, x, n, blocks, 1);
        ck_assert_uint_eq(ch.xruns, 0);
        /* the best lag by cross-correlation is the reported latency (+-1 for fractional delays) */
        const size_t L = ch.latency;
        double best = -1;
        long arg = 0;
        for (long lag = (long)L - 40; lag <= (long)L + 40; lag++) {
            double s = 0;
            for (size_t j = (size_t)host / 4; j < n; j++) s += (double)y[j] * x[j - (size_t)lag];
            if (s > best) best = s, arg = lag;
        }
        ck_assert_msg(labs(arg - (long)L) <= 1, "host %d: latency %zu, signal delayed by %ld", host, L, arg);
        double err = 0, ref = 0;
        for (size_t j = (size_t)host / 4; j < n; j++) {
            double d = y[j] - x[j - L];
            err += d * d;
            ref += (double)x[j] * x[j];
        }
        ck_assert_msg(sqrt(err / ref) < (host == 44100 ? 0.1 : 0.01), "host %d: relative error %g", host,
                      sqrt(err / ref));
        ck_assert_msg(L < (size_t)(0.040 * host), "host %d: latency %zu samples >= 40 ms", host, L);
        dsi_rt_chain_free(&ch);
        free(x);
        free(y);
    }
}
END_TEST

START_TEST(streaming_resampler_matches_offline)
{
    const size_t n = 9600;
    float *x = signal(n, 48000, 4);
    float *off = NULL;
    size_t no = 0;
    ck_assert_int_eq(dsi_audio_resample(x, n, 48000, 16000, DSI_RESAMPLE_MEDIUM, &off, &no), DSN_OK);
    dsi_rt_resampler r;
    ck_assert_int_eq(dsi_rt_resampler_init(&r, 48000, 16000, DSI_RESAMPLE_MEDIUM), DSN_OK);
    float *y = malloc((n + 64) * sizeof(float));
    long got = 0;
    for (size_t i = 0; i < n; i += 100) got += dsi_rt_resample(&r, y + got, (long)(n - got), x + i, 100);
    ck_assert_int_gt(got, (long)no - r.lag - 2);
    double worst = 0;
    for (long i = 0; i < got; i++) worst = fmax(worst, fabs(y[i] - off[i]));
    ck_assert_msg(worst < 1e-5, "streaming resampler differs from offline by %g", worst);
    dsi_rt_resampler_free(&r);
    dsi_free(off);
    free(y);
    free(x);
}
END_TEST

START_TEST(mel_resynthesis_keeps_pitch_and_level)
{
    dsi_feat_cfg c;
    stream_cfg(&c);
    const int host = 48000;
    const size_t n = host;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = (float)(0.5 * sin(2 * PI * 440.0 * i / host));
    int M = c.n_mels;
    dsi_rt_chain ch;
    ck_assert_int_eq(dsi_rt_chain_init(&ch, &c, host, 256, DSI_RESAMPLE_FAST, 10, identity, &M), DSN_OK);
    int blocks[] = {256, 0};
    run_chain(&ch, y, x, n, blocks, 1);
    /* level within a factor of 2 and most energy at 440 Hz (Goertzel) */
    double ex = 0, ey = 0;
    for (size_t j = n / 4; j < n; j++) ex += (double)x[j] * x[j], ey += (double)y[j] * y[j];
    ck_assert_msg(ey > 0.25 * ex && ey < 4 * ex, "level ratio %g", ey / ex);
    double best = 0, bf = 0;
    for (double f = 200; f <= 1000; f += 10) {
        double re = 0, im = 0;
        for (size_t j = n / 4; j < n; j++) re += y[j] * cos(2 * PI * f * j / host), im += y[j] * sin(2 * PI * f * j / host);
        if (re * re + im * im > best) best = re * re + im * im, bf = f;
    }
    ck_assert_close(bf, 440.0, 10.0);
    dsi_rt_chain_free(&ch);
    free(x);
    free(y);
}
END_TEST

START_TEST(no_allocation_and_bad_input)
{
    dsi_feat_cfg c;
    stream_cfg(&c);
    int M = c.n_mels;
    dsi_rt_chain ch;
    ck_assert_int_eq(dsi_rt_chain_init(&ch, &c, 48000, 512, DSI_RESAMPLE_FAST, 10, identity, &M), DSN_OK);
    float *x = signal(48000, 48000, 5), *y = malloc(48000 * sizeof(float));
    x[100] = NAN;
    x[200] = INFINITY;
    x[300] = 1e-39f; /* denormal */
    uint64_t before = dsn_allocation_count();
    for (size_t i = 0; i + 512 <= 48000; i += 512) dsi_rt_chain_process(&ch, y + i, x + i, 512);
    ck_assert_uint_eq(dsn_allocation_count() - before, 0);
    ck_assert_uint_eq(ch.bad_samples, 3);
    for (size_t i = 0; i < 48000 - 48000 % 512; i++) ck_assert(isfinite(y[i]));
    dsi_rt_chain_free(&ch);
    /* rates the resampler refuses, and settings that cannot stream */
    ck_assert_int_eq(dsi_rt_chain_init(&ch, &c, 100, 512, DSI_RESAMPLE_FAST, 0, identity, &M), DSN_E_UNSUPPORTED);
    c.log = DSI_FEAT_DB;
    c.top_db = 80;
    ck_assert_int_eq(dsi_rt_chain_init(&ch, &c, 16000, 512, DSI_RESAMPLE_FAST, 0, identity, &M), DSN_E_UNSUPPORTED);
    free(x);
    free(y);
}
END_TEST

static Suite *stream_suite(void)
{
    Suite *s = suite_create("stream");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, features_match_offline);
    tcase_add_test(tc, pass_through_is_exact_after_latency);
    tcase_add_test(tc, block_size_invariance);
    tcase_add_test(tc, resampled_pass_through_after_latency);
    tcase_add_test(tc, streaming_resampler_matches_offline);
    tcase_add_test(tc, mel_resynthesis_keeps_pitch_and_level);
    tcase_add_test(tc, no_allocation_and_bad_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(stream_suite()) ? 1 : 0; }
