/* stream.c - streaming resampling, analysis, synthesis and their chain. */
#include "audio/stream.h"
#include "audio/invert.h"
#include "core/alloc.h"
#include "core/error.h"

#include <kiss_fftr.h>
#include <math.h>
#include <samplerate.h>
#include <string.h>

/* ---- resampler ---- */

static const int src_types[] = {SRC_SINC_BEST_QUALITY, SRC_SINC_MEDIUM_QUALITY, SRC_SINC_FASTEST};

/* Feed an impulse one sample at a time: the largest number of outputs held
 * back and the position of the response's peak (parabolic fit) give the
 * buffering lag and the signal delay. */
static dsn_status calibrate(dsi_rt_resampler *r)
{
    const long n_in = 4096 + (long)(2048 / r->ratio);
    const long cap = (long)(n_in * r->ratio) + 64;
    float *y = dsi_malloc(sizeof(float) * (size_t)cap);
    if (!y) return dsi_error(DSN_E_NOMEM, "cannot allocate resampler calibration buffers");
    long got = 0;
    int lag = 0;
    for (long i = 0; i < n_in; i++) {
        float x = i == 0 ? 1.0f : 0.0f;
        SRC_DATA d = {0};
        d.data_in = &x;
        d.input_frames = 1;
        d.data_out = y + got;
        d.output_frames = cap - got;
        d.src_ratio = r->ratio;
        if (src_process(r->src, &d) || d.input_frames_used != 1) {
            dsi_free(y);
            return dsi_error(DSN_E_INTERNAL, "libsamplerate refused a calibration sample");
        }
        got += d.output_frames_gen;
        long want = (long)floor((double)(i + 1) * r->ratio);
        if (want - got > lag) lag = (int)(want - got);
    }
    long k = 0;
    for (long i = 1; i < got; i++)
        if (fabsf(y[i]) > fabsf(y[k])) k = i;
    double delay = (double)k;
    if (k > 0 && k + 1 < got) {
        double a = y[k - 1], b = y[k], c = y[k + 1], den = a - 2 * b + c;
        if (den != 0) delay += 0.5 * (a - c) / den;
    }
    dsi_free(y);
    r->lag = lag;
    r->delay = delay;
    src_reset(r->src);
    return DSN_OK;
}

dsn_status dsi_rt_resampler_init(dsi_rt_resampler *r, int rate_in, int rate_out, dsi_resample_quality q)
{
    DSI_CHECK_NULL(r, "resampler");
    memset(r, 0, sizeof *r);
    if (rate_in < 1000 || rate_in > 768000 || rate_out < 1000 || rate_out > 768000)
        return dsi_error(DSN_E_UNSUPPORTED, "sample rates %d -> %d: each must be in [1000, 768000] Hz", rate_in,
                         rate_out);
    if ((int)q < 0 || (int)q > 2) return dsi_error(DSN_E_INVALID, "bad resampler quality %d", (int)q);
    r->ratio = (double)rate_out / (double)rate_in;
    if (rate_in == rate_out) return DSN_OK;
    if (!src_is_valid_ratio(r->ratio))
        return dsi_error(DSN_E_UNSUPPORTED, "libsamplerate cannot convert %d -> %d Hz", rate_in, rate_out);
    int err = 0;
    r->src = src_new(src_types[q], 1, &err);
    if (!r->src) return dsi_error(DSN_E_NOMEM, "libsamplerate: %s", src_strerror(err));
    dsn_status st = calibrate(r);
    if (st != DSN_OK) dsi_rt_resampler_free(r);
    return st;
}

void dsi_rt_resampler_free(dsi_rt_resampler *r)
{
    if (!r) return;
    if (r->src) src_delete(r->src);
    memset(r, 0, sizeof *r);
}

void dsi_rt_resampler_reset(dsi_rt_resampler *r)
{
    if (r && r->src) src_reset(r->src);
}

long dsi_rt_resample(dsi_rt_resampler *r, float *out, long cap, const float *in, long n)
{
    if (!r->src) {
        if (n > cap) return -1;
        memmove(out, in, sizeof(float) * (size_t)n);
        return n;
    }
    long got = 0, used = 0;
    while (used < n) {
        SRC_DATA d = {0};
        d.data_in = in + used;
        d.input_frames = n - used;
        d.data_out = out + got;
        d.output_frames = cap - got;
        d.src_ratio = r->ratio;
        if (src_process(r->src, &d)) return -1;
        used += d.input_frames_used;
        got += d.output_frames_gen;
        if (d.input_frames_used == 0 && d.output_frames_gen == 0) return -1; /* out is full */
    }
    return got;
}

/* ---- analysis ---- */

dsn_status dsi_rt_analysis_init(dsi_rt_analysis *a, const dsi_feat_cfg *c)
{
    DSI_CHECK_NULL(a, "analysis");
    memset(a, 0, sizeof *a);
    dsn_status st = dsi_feat_cfg_check(c);
    if (st != DSN_OK) return st;
    if (!c->center) return dsi_error(DSN_E_UNSUPPORTED, "streaming features need centred frames");
    if (c->log == DSI_FEAT_DB && c->top_db > 0)
        return dsi_error(DSN_E_UNSUPPORTED, "top_db clips to a clip's maximum and cannot stream");
    a->cfg = *c;
    st = dsi_feat_front_init(c, &a->stft, &a->fb); /* centred: checked above */
    if (st != DSN_OK) return st;
    const int F = a->stft.n_bins, M = c->n_mels, N = c->n_fft;
    a->n_bins = F;
    a->n_mels = M;
    a->lo = dsi_malloc(sizeof(int) * (size_t)M);
    a->hi = dsi_malloc(sizeof(int) * (size_t)M);
    a->ring = dsi_calloc((size_t)N, sizeof(float));
    a->spec = dsi_calloc(2 * (size_t)F, sizeof(float));
    a->feat = dsi_calloc((size_t)M, sizeof(float));
    if (!a->lo || !a->hi || !a->ring || !a->spec || !a->feat) {
        dsi_rt_analysis_free(a);
        return dsi_error(DSN_E_NOMEM, "cannot allocate a streaming front end");
    }
    for (int m = 0; m < M; m++) {
        const float *row = a->fb + (size_t)m * F;
        int lo = 0, hi = 0;
        while (lo < F && row[lo] == 0.0f) lo++;
        for (int k = lo; k < F; k++)
            if (row[k] != 0.0f) hi = k + 1;
        a->lo[m] = lo;
        a->hi[m] = hi > lo ? hi : lo;
    }
    return DSN_OK;
}

void dsi_rt_analysis_free(dsi_rt_analysis *a)
{
    if (!a) return;
    dsi_stft_free(&a->stft);
    dsi_aligned_free(a->fb);
    dsi_free(a->lo);
    dsi_free(a->hi);
    dsi_free(a->ring);
    dsi_free(a->spec);
    dsi_free(a->feat);
    memset(a, 0, sizeof *a);
}

void dsi_rt_analysis_reset(dsi_rt_analysis *a)
{
    memset(a->ring, 0, sizeof(float) * (size_t)a->cfg.n_fft);
    a->n_in = 0;
    a->next = 0;
}

/* the features of the power (or magnitude) spectrum in a->stft.frame */
static void frame_features(dsi_rt_analysis *a)
{
    const int F = a->n_bins, M = a->n_mels;
    const float *c = a->spec;
    float *p = a->stft.cbuf; /* |X|^power, F floats */
    for (int k = 0; k < F; k++) {
        float e = c[2 * k] * c[2 * k] + c[2 * k + 1] * c[2 * k + 1];
        p[k] = a->cfg.power == 2 ? e : sqrtf(e);
    }
    const float kdb = a->cfg.power == 2 ? 10.0f : 20.0f;
    for (int m = 0; m < M; m++) {
        const float *row = a->fb + (size_t)m * F;
        float s = 0.0f;
        for (int k = a->lo[m]; k < a->hi[m]; k++) s += row[k] * p[k];
        if (a->cfg.log == DSI_FEAT_LOG) s = logf(s + a->cfg.eps);
        else if (a->cfg.log == DSI_FEAT_DB) s = kdb * log10f(s > a->cfg.amin ? s : a->cfg.amin);
        a->feat[m] = s;
    }
}

int dsi_rt_analysis_push(dsi_rt_analysis *a, float x)
{
    const int N = a->cfg.n_fft, half = N / 2, hop = a->cfg.hop;
    a->ring[a->n_in % N] = x;
    a->n_in++;
    /* frame t needs samples up to t hop + n_fft/2 - 1 */
    if (a->n_in != a->next * hop + half) return 0;
    const int64_t start = a->next * hop - half;
    const float *w = a->stft.window;
    float *fr = a->stft.frame;
    for (int i = 0; i < N; i++) {
        int64_t j = start + i;
        if (j < 0) j = -j; /* reflect padding (numpy "reflect") before sample 0 */
        fr[i] = a->ring[j % N] * w[i];
    }
    kiss_fftr((kiss_fftr_cfg)a->stft.fwd, fr, (kiss_fft_cpx *)a->spec);
    frame_features(a);
    a->next++;
    return 1;
}

/* ---- synthesis ---- */

dsn_status dsi_rt_synthesis_init(dsi_rt_synthesis *s, const dsi_rt_analysis *an, int nnls_iter)
{
    DSI_CHECK_NULL(s, "synthesis");
    DSI_CHECK_NULL(an, "analysis");
    memset(s, 0, sizeof *s);
    if (nnls_iter < 0 || nnls_iter > 1000) return dsi_error(DSN_E_OPTION, "nnls_iter %d not in [0, 1000]", nnls_iter);
    const int F = an->n_bins, M = an->n_mels, N = an->cfg.n_fft;
    s->an = an;
    s->nnls_iter = nnls_iter;
    s->pinv = dsi_malloc(sizeof(float) * (size_t)M * F);
    s->ola = dsi_calloc((size_t)N, sizeof(float));
    s->wsum = dsi_calloc((size_t)N, sizeof(float));
    s->lin = dsi_malloc(sizeof(float) * (size_t)F);
    s->prev = dsi_malloc(sizeof(float) * (size_t)F);
    s->yk = dsi_malloc(sizeof(float) * (size_t)F);
    s->res = dsi_malloc(sizeof(float) * (size_t)M);
    s->mel = dsi_malloc(sizeof(float) * (size_t)M);
    s->frame = dsi_malloc(sizeof(float) * (size_t)N);
    s->cbuf = dsi_malloc(sizeof(float) * 2 * (size_t)F);
    if (!s->pinv || !s->ola || !s->wsum || !s->lin || !s->prev || !s->yk || !s->res || !s->mel || !s->frame || !s->cbuf) {
        dsi_rt_synthesis_free(s);
        return dsi_error(DSN_E_NOMEM, "cannot allocate a streaming synthesis");
    }
    double lmax = 0;
    dsn_status st = dsi_mel_pinv(an->fb, M, F, s->pinv, &lmax);
    if (st != DSN_OK) {
        dsi_rt_synthesis_free(s);
        return st;
    }
    s->step = lmax > 0 ? (float)(1.0 / (lmax * 1.01)) : 0.0f;
    return DSN_OK;
}

void dsi_rt_synthesis_free(dsi_rt_synthesis *s)
{
    if (!s) return;
    dsi_free(s->pinv);
    dsi_free(s->ola);
    dsi_free(s->wsum);
    dsi_free(s->lin);
    dsi_free(s->prev);
    dsi_free(s->yk);
    dsi_free(s->res);
    dsi_free(s->mel);
    dsi_free(s->frame);
    dsi_free(s->cbuf);
    memset(s, 0, sizeof *s);
}

void dsi_rt_synthesis_reset(dsi_rt_synthesis *s)
{
    const int N = s->an->cfg.n_fft;
    memset(s->ola, 0, sizeof(float) * (size_t)N);
    memset(s->wsum, 0, sizeof(float) * (size_t)N);
    s->frames = 0;
    s->next_out = 0;
}

/* r = fb s - mel over the sparse filter rows */
static void fb_residual(const dsi_rt_analysis *a, float *r, const float *s, const float *mel)
{
    const int F = a->n_bins;
    for (int m = 0; m < a->n_mels; m++) {
        const float *row = a->fb + (size_t)m * F;
        float v = 0.0f;
        for (int k = a->lo[m]; k < a->hi[m]; k++) v += row[k] * s[k];
        r[m] = v - mel[m];
    }
}

void dsi_rt_synthesis_spectrum(dsi_rt_synthesis *s, float *cspec, const float *feat, const float *phase)
{
    const dsi_rt_analysis *a = s->an;
    const int F = a->n_bins, M = a->n_mels;
    float *mel = s->mel;
    for (int m = 0; m < M; m++) mel[m] = feat[m];
    dsi_feat_undo_log(&a->cfg, mel, (size_t)M);
    /* S = max(0, mel . pinv) */
    float *S = s->lin;
    memset(S, 0, sizeof(float) * (size_t)F);
    for (int m = 0; m < M; m++) {
        const float *row = s->pinv + (size_t)m * F;
        const float v = mel[m];
        if (v != 0.0f)
            for (int k = 0; k < F; k++) S[k] += v * row[k];
    }
    for (int k = 0; k < F; k++)
        if (!(S[k] > 0)) S[k] = 0.0f;
    /* FISTA projected gradient on 0.5 ||fb S - mel||^2, S >= 0 */
    if (s->nnls_iter > 0 && s->step > 0) {
        float *yk = s->yk, *prev = s->prev, *r = s->res;
        memcpy(yk, S, sizeof(float) * (size_t)F);
        double t = 1.0;
        for (int it = 0; it < s->nnls_iter; it++) {
            fb_residual(a, r, yk, mel);
            memcpy(prev, S, sizeof(float) * (size_t)F);
            memcpy(S, yk, sizeof(float) * (size_t)F);
            for (int m = 0; m < M; m++) {
                const float *row = a->fb + (size_t)m * F;
                const float g = s->step * r[m];
                for (int k = a->lo[m]; k < a->hi[m]; k++) S[k] -= g * row[k];
            }
            dsi_fista_project(S, yk, prev, (size_t)F, &t);
        }
    }
    for (int k = 0; k < F; k++) {
        float mag = a->cfg.power == 2 ? sqrtf(S[k]) : S[k];
        float re = phase[2 * k], im = phase[2 * k + 1];
        float r = sqrtf(re * re + im * im);
        if (r > 1e-20f) {
            cspec[2 * k] = mag * re / r;
            cspec[2 * k + 1] = mag * im / r;
        } else {
            cspec[2 * k] = mag;
            cspec[2 * k + 1] = 0.0f;
        }
    }
}

int dsi_rt_synthesis_add(dsi_rt_synthesis *s, float *out, const float *cspec)
{
    const dsi_rt_analysis *a = s->an;
    const int N = a->cfg.n_fft, F = a->n_bins, hop = a->cfg.hop, half = N / 2;
    const float *w = a->stft.window;
    memcpy(s->cbuf, cspec, sizeof(float) * 2 * (size_t)F);
    s->cbuf[1] = 0.0f; /* a real signal's DC and Nyquist bins are real */
    s->cbuf[2 * (F - 1) + 1] = 0.0f;
    kiss_fftri((kiss_fftr_cfg)a->stft.inv, (const kiss_fft_cpx *)s->cbuf, s->frame);
    const float scale = 1.0f / (float)N;
    const int64_t start = s->frames * hop - half;
    for (int i = 0; i < N; i++) {
        int64_t p = start + i;
        if (p < s->next_out) continue; /* before sample 0 (the padding) */
        size_t q = (size_t)(p % N);
        s->ola[q] += s->frame[i] * w[i] * scale;
        s->wsum[q] += w[i] * w[i];
    }
    s->frames++;
    /* samples no later frame reaches: p < frames * hop - n_fft/2 */
    int64_t end = s->frames * hop - half;
    int n = 0;
    for (; s->next_out < end; s->next_out++) {
        size_t q = (size_t)(s->next_out % N);
        float v = s->ola[q], ws = s->wsum[q];
        out[n++] = ws > 1e-10f ? v / ws : v;
        s->ola[q] = 0.0f;
        s->wsum[q] = 0.0f;
    }
    return n;
}

/* ---- chain ---- */

dsn_status dsi_rt_chain_init(dsi_rt_chain *ch, const dsi_feat_cfg *c, int host_rate, size_t max_block,
                             dsi_resample_quality q, int nnls_iter, dsi_rt_frame_fn fn, void *user)
{
    DSI_CHECK_NULL(ch, "chain");
    DSI_CHECK_NULL(c, "feature settings");
    DSI_CHECK_NULL(fn, "frame function");
    memset(ch, 0, sizeof *ch);
    if (max_block < 1 || max_block > ((size_t)1 << 20))
        return dsi_error(DSN_E_INVALID, "max_block %zu not in [1, 2^20]", max_block);
    ch->host_rate = host_rate;
    ch->rate = c->sr;
    ch->max_block = max_block;
    ch->fn = fn;
    ch->user = user;
    dsn_status st = dsi_rt_resampler_init(&ch->down, host_rate, c->sr, q);
    if (st == DSN_OK) st = dsi_rt_resampler_init(&ch->up, c->sr, host_rate, q);
    if (st == DSN_OK) st = dsi_rt_analysis_init(&ch->an, c);
    if (st == DSN_OK) st = dsi_rt_synthesis_init(&ch->syn, &ch->an, nnls_iter);
    if (st != DSN_OK) {
        dsi_rt_chain_free(ch);
        return st;
    }
    const double rd = ch->down.ratio, ru = ch->up.ratio;
    const int N = c->n_fft, F = ch->an.n_bins;
    ch->cap_mid = (long)ceil((double)max_block * rd) + ch->down.lag + 64;
    ch->cap_mout = ch->cap_mid + N + 64;
    ch->cap_up = (long)ceil((double)ch->cap_mout * ru) + ch->up.lag + 64;
    /* Output sample q of the chain exists once the host input has reached
     * q + (down lag + n_fft - 1) / rd + up lag (the synthesis finalises a
     * sample n_fft - 1 feature samples after it arrived, at worst). */
    double lag = ((double)ch->down.lag + N - 1 + 1) * ru + ch->up.lag + 2;
    ch->prefill = (size_t)ceil(lag);
    double delay = ch->down.delay * ru + ch->up.delay;
    ch->latency = ch->prefill + (size_t)floor(delay + 0.5);
    ch->fifo_cap = ch->prefill + 2 * max_block + (size_t)ch->cap_up + 64;
    ch->hin = dsi_malloc(sizeof(float) * max_block);
    ch->mid = dsi_malloc(sizeof(float) * (size_t)ch->cap_mid);
    ch->mout = dsi_malloc(sizeof(float) * (size_t)ch->cap_mout);
    ch->y = dsi_malloc(sizeof(float) * (size_t)ch->an.n_mels);
    ch->cspec = dsi_malloc(sizeof(float) * 2 * (size_t)F);
    ch->fifo = dsi_calloc(ch->fifo_cap, sizeof(float));
    ch->up_buf = dsi_malloc(sizeof(float) * (size_t)ch->cap_up);
    if (!ch->hin || !ch->mid || !ch->mout || !ch->y || !ch->cspec || !ch->fifo || !ch->up_buf) {
        dsi_rt_chain_free(ch);
        return dsi_error(DSN_E_NOMEM, "cannot allocate a streaming chain");
    }
    dsi_rt_chain_reset(ch);
    return DSN_OK;
}

void dsi_rt_chain_free(dsi_rt_chain *ch)
{
    if (!ch) return;
    dsi_rt_resampler_free(&ch->down);
    dsi_rt_resampler_free(&ch->up);
    dsi_rt_synthesis_free(&ch->syn);
    dsi_rt_analysis_free(&ch->an);
    dsi_free(ch->hin);
    dsi_free(ch->mid);
    dsi_free(ch->mout);
    dsi_free(ch->y);
    dsi_free(ch->cspec);
    dsi_free(ch->fifo);
    dsi_free(ch->up_buf);
    memset(ch, 0, sizeof *ch);
}

void dsi_rt_chain_reset(dsi_rt_chain *ch)
{
    dsi_rt_resampler_reset(&ch->down);
    dsi_rt_resampler_reset(&ch->up);
    dsi_rt_analysis_reset(&ch->an);
    dsi_rt_synthesis_reset(&ch->syn);
    memset(ch->fifo, 0, sizeof(float) * ch->fifo_cap);
    ch->fifo_r = 0;
    ch->fifo_n = ch->prefill;
}

void dsi_rt_chain_process(dsi_rt_chain *ch, float *out, const float *in, size_t n)
{
    if (n > ch->max_block) n = ch->max_block; /* the API layer refuses larger blocks */
    float *h = ch->hin;
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        if (!isfinite(x) || (x != 0.0f && fabsf(x) < 1e-30f)) {
            x = 0.0f;
            ch->bad_samples++;
        }
        h[i] = x;
    }
    long nm = dsi_rt_resample(&ch->down, ch->mid, ch->cap_mid, h, (long)n);
    if (nm < 0) {
        ch->xruns++;
        nm = 0;
    }
    long no = 0;
    const int F = ch->an.n_bins, M = ch->an.n_mels;
    for (long i = 0; i < nm; i++) {
        if (!dsi_rt_analysis_push(&ch->an, ch->mid[i])) continue;
        const float *x = ch->an.feat;
        int pass = ch->fn(ch->user, ch->y, x);
        if (!pass) {
            for (int m = 0; m < M; m++)
                if (!isfinite(ch->y[m])) pass = 1;
            if (pass) ch->bad_frames++;
        }
        if (pass) memcpy(ch->cspec, ch->an.spec, sizeof(float) * 2 * (size_t)F);
        else dsi_rt_synthesis_spectrum(&ch->syn, ch->cspec, ch->y, ch->an.spec);
        if (no + ch->an.cfg.n_fft > ch->cap_mout) {
            ch->xruns++;
            continue;
        }
        no += dsi_rt_synthesis_add(&ch->syn, ch->mout + no, ch->cspec);
    }
    long nu = dsi_rt_resample(&ch->up, ch->up_buf, ch->cap_up, ch->mout, no);
    if (nu < 0) {
        ch->xruns++;
        nu = 0;
    }
    for (long i = 0; i < nu; i++) {
        if (ch->fifo_n == ch->fifo_cap) {
            ch->xruns++;
            break;
        }
        ch->fifo[(ch->fifo_r + ch->fifo_n) % ch->fifo_cap] = ch->up_buf[i];
        ch->fifo_n++;
    }
    for (size_t i = 0; i < n; i++) {
        if (ch->fifo_n == 0) {
            out[i] = 0.0f;
            ch->xruns++;
            continue;
        }
        out[i] = ch->fifo[ch->fifo_r];
        ch->fifo_r = (ch->fifo_r + 1) % ch->fifo_cap;
        ch->fifo_n--;
    }
}
