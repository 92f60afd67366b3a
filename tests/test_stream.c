/* test_stream.c - the streaming front and back end (lib/audio/stream.c):
 * streaming features equal the offline ones, block-size invariance, exact
 * pass-through reconstruction after the reported latency, the streaming
 * resampler against the offline one, resynthesis through the mel path, and
 * no allocation per call. */
#include "audio/io.h"
#include "audio/mel.h"
#include "audio/stream.h"
#include "core/alloc.h"
#include "models/model.h"
#include "tensor/blas.h"
#include "support/testutil.h"

#include <math.h>
#include <stdio.h>
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

/* ---- the model's causal step and dsn_stream ---- */

enum { T_ = 24, F_ = 16 };

static dsn_model *small_model(const char *local, const char *extra)
{
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    char buf[256];
    /* z_norm and local_context need the whole clip: the streamable configuration turns them off */
    snprintf(buf, sizeof buf, "frames=%d, n_mels=%d, v_dim=4, z_dim=3, hidden=12, encoder_lstm=8, dec_hidden=10, "
             "z_norm=none, local_context=0, local_encoder=%s%s%s",
             T_, F_, local, extra ? ", " : "", extra ? extra : "");
    ck_assert_int_eq(dsn_options_parse(o, buf), DSN_OK);
    dsn_model *m;
    ck_assert_msg(dsn_model_create(&m, "ts-dsae", o) == DSN_OK, "%s", dsn_last_error());
    dsn_options_free(o);
    return m;
}

/* frame-by-frame steps equal the offline swap dec(z(x), v_target) */
static void check_step_matches_offline(const char *local, const char *extra, int T)
{
    dsn_model *m = small_model(local, extra);
    ck_assert_int_eq((int)host_info(m).obs_size, T * F_);
    dsi_rng r;
    dsi_rng_seed(&r, 3);
    float x[T_ * F_], v[4] = {0.5f, -1.0f, 0.25f, 2.0f}, off[T_ * F_], y[T_ * F_];
    tu_fill(&r, x, (size_t)T * F_);
    dsn_session *se;
    dsn_encoding *enc;
    ck_assert_int_eq(dsn_session_create(&se, m, 1), DSN_OK);
    ck_assert_int_eq(dsn_encoding_create(&enc, m, 1), DSN_OK);
    ck_assert_int_eq(dsn_encode(se, enc, x, 1, NULL), DSN_OK);
    ck_assert_int_eq(dsn_encoding_set(enc, "global", "value", v, 1), DSN_OK);
    ck_assert_int_eq(dsn_decode(se, off, (size_t)T * F_, enc), DSN_OK);
    size_t ns = 0;
    int part = -1, frame = 0;
    ck_assert_int_eq(m->vt->stream_check(m, &ns, &part, &frame), DSN_OK);
    ck_assert_int_eq(part, 0);
    ck_assert_int_eq(frame, F_);
    float *state = calloc(ns + 1, sizeof(float));
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_tape_set_recording(&t, 0);
    for (int k = 0; k < T; k++) {
        dsi_tape_reset(&t);
        ck_assert_int_eq(m->vt->stream_step(m, &t, state, y + k * F_, x + k * F_, v), DSN_OK);
    }
    ck_assert_msg(tu_max_rel_err(y, off, (size_t)T * F_) < 1e-4, "local_encoder=%s %s: step differs from offline by %g", local,
                  extra ? extra : "", tu_max_rel_err(y, off, (size_t)T * F_));
    dsi_tape_release(&t);
    free(state);
    dsn_encoding_free(enc);
    dsn_session_free(se);
    dsn_model_free(m);
}

START_TEST(model_step_matches_offline_swap)
{
    check_step_matches_offline("mlp", NULL, T_);
    check_step_matches_offline("lstm", NULL, T_);
    check_step_matches_offline("lstm", "decoder=lstm", T_);
    /* posterior=full: the source's v is the running mean of the frames so
     * far, so the step equals the offline encoder on the first frame */
    check_step_matches_offline("lstm", "posterior=full, decoder=lstm, frames=1", 1);
    /* global_input=envelope: the step's running v reads each frame's envelope, like the offline encoder */
    check_step_matches_offline("lstm", "posterior=full, frames=1, global_input=envelope, envelope_k=5", 1);
    check_step_matches_offline("mlp", "global_input=envelope, envelope_k=5", T_);
}
END_TEST

static dsn_options *stream_opts(const char *extra)
{
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    char buf[256];
    snprintf(buf, sizeof buf, "n_fft=512, hop_length=128, n_mels=%d%s%s", F_, extra ? ", " : "", extra ? extra : "");
    ck_assert_int_eq(dsn_options_parse(o, buf), DSN_OK);
    return o;
}

static float *sine(size_t n, int sr, double f)
{
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = (float)(0.3 * sin(2 * PI * f * i / sr));
    return x;
}

START_TEST(stream_process_rules)
{
    dsn_model *m = small_model("lstm", NULL);
    dsn_options *o = stream_opts(NULL);
    float v[4] = {1, 0, -1, 0.5f};
    dsn_stream *s;
    ck_assert_msg(dsn_stream_create(&s, m, 48000, 256, v, 4, o) == DSN_OK, "%s", dsn_last_error());
    const size_t n = 48000, L = dsn_stream_latency(s);
    ck_assert_uint_gt(L, 512 * 3);
    ck_assert_uint_lt(L, (size_t)(0.040 * 48000));
    float *x = sine(n, 48000, 440), *y = malloc(n * sizeof(float));
    x[1000] = NAN;
    x[2000] = 1e-40f;
    dsi_rng r;
    dsi_rng_seed(&r, 9);
    uint64_t a0 = dsn_allocation_count();
    for (size_t i = 0; i < n;) {
        size_t b = 1 + (size_t)dsi_rng_below(&r, 256);
        if (b > n - i) b = n - i;
        ck_assert_int_eq(dsn_stream_process(s, y + i, x + i, b), DSN_OK);
        i += b;
    }
    ck_assert_uint_eq(dsn_allocation_count() - a0, 0);
    for (size_t i = 0; i < n; i++) ck_assert(isfinite(y[i]));
    ck_assert_uint_eq(dsn_stream_counter(s, "bad_samples"), 2);
    ck_assert_uint_eq(dsn_stream_counter(s, "xruns"), 0);
    ck_assert_uint_eq(dsn_stream_counter(s, "model_errors"), 0);
    /* 1 s at 16 kHz, hop 128: about 125 frames */
    ck_assert_uint_ge(dsn_stream_counter(s, "frames"), 120);
    ck_assert_uint_eq(dsn_stream_counter(s, "feature_rate"), 16000);
    /* too large a block: refused, out untouched */
    float big[300];
    for (int i = 0; i < 300; i++) big[i] = 7.0f;
    ck_assert_int_eq(dsn_stream_process(s, big, x, 300), DSN_E_SHAPE);
    ck_assert_float_eq(big[0], 7.0f);
    ck_assert_int_eq(dsn_stream_process(s, big, x, 0), DSN_OK);
    /* mix 0 is a bypass: exactly the input, delayed by the latency */
    ck_assert_int_eq(dsn_stream_set_mix(s, 0.0f), DSN_OK);
    ck_assert_int_eq(dsn_stream_set_mix(s, 1.5f), DSN_E_INVALID);
    dsn_stream_reset(s);
    for (size_t i = 0; i < n; i += 200) ck_assert_int_eq(dsn_stream_process(s, y + i, x + i, n - i < 200 ? n - i : 200), DSN_OK);
    for (size_t i = 0; i < L; i++) ck_assert_float_eq(y[i], 0.0f);
    for (size_t i = L; i < n; i++) ck_assert_float_eq(y[i], isfinite(x[i - L]) && fabsf(x[i - L]) > 1e-30f ? x[i - L] : 0.0f);
    /* bad arguments */
    float w[5] = {0};
    ck_assert_int_eq(dsn_stream_set_target(s, w, 5), DSN_E_SHAPE);
    w[0] = NAN;
    ck_assert_int_eq(dsn_stream_set_target(s, w, 4), DSN_E_NUMERIC);
    ck_assert_int_eq(dsn_stream_set_timbre(s, 0, 0, 0.5f), DSN_E_INVALID); /* no bank */
    ck_assert_int_eq(dsn_stream_process(NULL, y, x, 1), DSN_E_INVALID);
    ck_assert_uint_eq(dsn_stream_counter(s, "nonsense"), 0);
    dsn_stream_free(s);
    dsn_stream *s2 = (dsn_stream *)0x1;
    ck_assert_int_eq(dsn_stream_create(&s2, m, 48000, 256, NULL, 0, o), DSN_E_INVALID); /* no target, no bank */
    ck_assert_ptr_null(s2);
    ck_assert_int_eq(dsn_stream_create(&s2, m, 100, 256, v, 4, o), DSN_E_UNSUPPORTED);
    ck_assert_int_eq(dsn_stream_create(&s2, m, 48000, 0, v, 4, o), DSN_E_INVALID);
    dsn_options_free(o);
    o = stream_opts("n_mels=20");
    ck_assert_int_eq(dsn_stream_create(&s2, m, 48000, 256, v, 4, o), DSN_E_OPTION);
    dsn_options_free(o);
    o = stream_opts("colour=red");
    ck_assert_int_eq(dsn_stream_create(&s2, m, 48000, 256, v, 4, o), DSN_E_OPTION);
    dsn_stream_free(NULL);
    dsn_options_free(o);
    dsn_model_free(m);
    /* configurations that read the future, and models without a causal step */
    o = stream_opts(NULL);
    m = small_model("bilstm", NULL);
    ck_assert_int_eq(dsn_stream_create(&s2, m, 48000, 256, v, 4, o), DSN_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "local_encoder"));
    dsn_model_free(m);
    m = small_model("mlp", "decoder=bilstm");
    ck_assert_int_eq(dsn_stream_create(&s2, m, 48000, 256, v, 4, o), DSN_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(dsn_last_error(), "decoder"));
    dsn_model_free(m);
    ck_assert_int_eq(dsn_model_create(&m, "ml-vae", NULL), DSN_OK);
    ck_assert_int_eq(dsn_stream_create(&s2, m, 48000, 256, v, 4, o), DSN_E_UNSUPPORTED);
    dsn_model_free(m);
    dsn_options_free(o);
    free(x);
    free(y);
}
END_TEST

static void render(dsn_stream *s, float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i += 128) ck_assert_int_eq(dsn_stream_process(s, y + i, x + i, n - i < 128 ? n - i : 128), DSN_OK);
}

START_TEST(banks_saved_and_streamed)
{
    dsn_model *m = small_model("mlp", NULL);
    float va[4] = {1, 2, 3, 4}, vb[4] = {-1, 0, 1, 0}, vm[4], got[4];
    for (int k = 0; k < 4; k++) vm[k] = 0.5f * (va[k] + vb[k]);
    dsn_options *audio = stream_opts(NULL);
    ck_assert_int_eq(dsn_model_bank_add(m, "violin", va, 4, audio), DSN_OK);
    ck_assert_int_eq(dsn_model_bank_add(m, "trumpet", vb, 4, NULL), DSN_OK);
    ck_assert_int_eq(dsn_model_bank_add(m, "junk", vb, 4, NULL), DSN_OK);
    ck_assert_int_eq(dsn_model_bank_remove(m, "junk"), DSN_OK);
    ck_assert_int_eq(dsn_model_bank_remove(m, "junk"), DSN_E_INVALID);
    ck_assert_int_eq(dsn_model_bank_add(m, "bad", vb, 3, NULL), DSN_E_SHAPE);
    ck_assert_int_eq(dsn_model_bank_add(m, "", vb, 4, NULL), DSN_E_INVALID);
    char path[512];
    snprintf(path, sizeof path, "%s/bank.dsn", tu_tmpdir());
    ck_assert_int_eq(dsn_model_save(m, NULL, path), DSN_OK);
    dsn_model_free(m);
    ck_assert_int_eq(dsn_model_load(&m, path), DSN_OK);
    ck_assert_uint_eq(dsn_model_bank_count(m), 2);
    ck_assert_str_eq(dsn_model_bank_name(m, 0), "violin");
    ck_assert_str_eq(dsn_model_bank_name(m, 1), "trumpet");
    ck_assert_ptr_null(dsn_model_bank_name(m, 2));
    size_t idx = 9;
    ck_assert_int_eq(dsn_model_bank_find(m, &idx, "trumpet"), DSN_OK);
    ck_assert_uint_eq(idx, 1);
    ck_assert_int_eq(dsn_model_bank_find(m, &idx, "tuba"), DSN_E_INVALID);
    ck_assert_int_eq(dsn_model_bank_get(m, got, 4, 1), DSN_OK);
    for (int k = 0; k < 4; k++) ck_assert_float_eq(got[k], vb[k]);
    ck_assert_ptr_nonnull(dsn_model_bank_audio(m));
    ck_assert_str_eq(dsn_options_get(dsn_model_bank_audio(m), "n_fft"), "512");
    /* the stream takes the bank's front end and a timbre by name or index */
    const size_t n = 16000;
    float *x = sine(n, 16000, 330), *y1 = malloc(n * sizeof(float)), *y2 = malloc(n * sizeof(float));
    dsn_options *o;
    ck_assert_int_eq(dsn_options_create(&o), DSN_OK);
    ck_assert_int_eq(dsn_options_set(o, "timbre", "trumpet"), DSN_OK);
    dsn_stream *s1, *s2;
    ck_assert_msg(dsn_stream_create(&s1, m, 16000, 128, NULL, 0, o) == DSN_OK, "%s", dsn_last_error());
    ck_assert_uint_eq(dsn_stream_counter(s1, "n_fft"), 512);
    ck_assert_int_eq(dsn_stream_create(&s2, m, 16000, 128, vb, 4, NULL), DSN_OK);
    render(s1, y1, x, n);
    render(s2, y2, x, n);
    for (size_t i = 0; i < n; i++) ck_assert_float_eq(y1[i], y2[i]);
    /* interpolation halfway = the mean latent */
    dsn_stream_reset(s1);
    dsn_stream_reset(s2);
    ck_assert_int_eq(dsn_stream_set_timbre(s1, 0, 1, 0.5f), DSN_OK);
    ck_assert_int_eq(dsn_stream_set_timbre(s1, 0, 2, 0.5f), DSN_E_INVALID);
    ck_assert_int_eq(dsn_stream_set_target(s2, vm, 4), DSN_OK);
    render(s1, y1, x, n);
    render(s2, y2, x, n);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(y1[i] - y2[i]));
    ck_assert_msg(worst < 1e-5, "interpolated timbre differs from the mean latent by %g", worst);
    dsn_stream_free(s1);
    dsn_stream_free(s2);
    ck_assert_int_eq(dsn_options_set(o, "timbre", "1"), DSN_OK);
    ck_assert_int_eq(dsn_stream_create(&s1, m, 16000, 128, NULL, 0, o), DSN_OK);
    dsn_stream_free(s1);
    ck_assert_int_eq(dsn_options_set(o, "timbre", "tuba"), DSN_OK);
    ck_assert_int_eq(dsn_stream_create(&s1, m, 16000, 128, NULL, 0, o), DSN_E_INVALID);
    ck_assert_int_eq(dsn_options_set(o, "timbre", "2"), DSN_OK);
    ck_assert_int_eq(dsn_stream_create(&s1, m, 16000, 128, NULL, 0, o), DSN_E_INVALID);
    dsn_options_free(o);
    dsn_options_free(audio);
    dsn_model_free(m);
    /* a model without a static latent has no bank */
    dsn_options *vo;
    ck_assert_int_eq(dsn_options_create(&vo), DSN_OK);
    ck_assert_int_eq(dsn_options_parse(vo, "obs_shape=16:16"), DSN_OK);
    if (dsn_model_create(&m, "vq-vae", vo) != DSN_OK) ck_assert_int_eq(dsn_model_create(&m, "vq-vae", NULL), DSN_OK);
    ck_assert_int_eq(dsn_model_bank_add(m, "x", va, 4, NULL), DSN_E_UNSUPPORTED);
    ck_assert_uint_eq(dsn_model_bank_count(m), 0);
    dsn_model_free(m);
    dsn_options_free(vo);
    free(x);
    free(y1);
    free(y2);
}
END_TEST

/* the real-time BLAS mode (plain loops, no OpenBLAS mutex) gives the BLAS results */
START_TEST(realtime_blas_matches)
{
    dsi_rng r;
    dsi_rng_seed(&r, 11);
    enum { M = 3, N = 130, K = 70 };
    float A[M * K], At[K * M], B[K * N], Bt[N * K], c0[M * N], c1[M * N], x[K], y0[N], y1[N];
    tu_fill(&r, A, M * K);
    tu_fill(&r, B, K * N);
    tu_fill(&r, x, K);
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) At[k * M + i] = A[i * K + k];
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++) Bt[j * K + k] = B[k * N + j];
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            for (int i = 0; i < M * N; i++) c0[i] = c1[i] = (float)i / 100.0f;
            const float *a = ta ? At : A, *b = tb ? Bt : B;
            int lda = ta ? M : K, ldb = tb ? K : N;
            dsi_gemm(ta, tb, M, N, K, 0.5f, a, lda, b, ldb, 0.25f, c0, N);
            dsi_blas_set_realtime(1);
            dsi_gemm(ta, tb, M, N, K, 0.5f, a, lda, b, ldb, 0.25f, c1, N);
            dsi_blas_set_realtime(0);
            ck_assert_msg(tu_max_rel_err(c1, c0, M * N) < 1e-5, "gemm ta=%d tb=%d differs", ta, tb);
        }
    for (int ta = 0; ta < 2; ta++) {
        for (int i = 0; i < N; i++) y0[i] = y1[i] = 1.0f;
        /* ta = 1: y[N] = B^T-shaped product over Bt's rows; ta = 0: y[N] = Bt x */
        dsi_gemv(ta, ta ? K : N, ta ? N : K, 2.0f, ta ? B : Bt, ta ? N : K, x, 0.5f, y0);
        dsi_blas_set_realtime(1);
        dsi_gemv(ta, ta ? K : N, ta ? N : K, 2.0f, ta ? B : Bt, ta ? N : K, x, 0.5f, y1);
        dsi_blas_set_realtime(0);
        ck_assert_msg(tu_max_rel_err(y1, y0, N) < 1e-5, "gemv ta=%d differs", ta);
    }
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
    TCase *api = tcase_create("api");
    tcase_set_timeout(api, 120);
    tcase_add_test(api, model_step_matches_offline_swap);
    tcase_add_test(api, stream_process_rules);
    tcase_add_test(api, banks_saved_and_streamed);
    tcase_add_test(api, realtime_blas_matches);
    suite_add_tcase(s, api);
    return s;
}

int main(void) { return tu_run(stream_suite()) ? 1 : 0; }
