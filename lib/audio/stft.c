/* stft.c - framing, windowing, kissfft real transforms, overlap-add. */
#include "audio/stft.h"
#include "core/alloc.h"
#include "core/error.h"

#include <kiss_fftr.h>
#include <math.h>
#include <string.h>

#define DSI_PI 3.14159265358979323846

static void *fft_alloc(int n, int inverse)
{
    size_t len = 0;
    kiss_fftr_alloc(n, inverse, NULL, &len);
    if (len == 0) return NULL;
    void *mem = dsi_malloc(len);
    if (!mem) return NULL;
    if (!kiss_fftr_alloc(n, inverse, mem, &len)) {
        dsi_free(mem);
        return NULL;
    }
    return mem;
}

dsn_status dsi_stft_init(dsi_stft *s, int n_fft, int hop, int win_length, dsi_window window, int center)
{
    DSI_CHECK_NULL(s, "stft");
    memset(s, 0, sizeof *s);
    if (n_fft < 2 || n_fft % 2 || n_fft > (1 << 20))
        return dsi_error(DSN_E_INVALID, "n_fft must be even and in [2, 2^20], got %d", n_fft);
    if (win_length == 0) win_length = n_fft;
    if (win_length < 1 || win_length > n_fft)
        return dsi_error(DSN_E_INVALID, "win_length %d must be in [1, n_fft=%d]", win_length, n_fft);
    if (hop < 1 || hop > (1 << 20)) return dsi_error(DSN_E_INVALID, "hop %d must be >= 1", hop);
    if ((int)window < 0 || (int)window > 2) return dsi_error(DSN_E_INVALID, "unknown window %d", (int)window);
    s->n_fft = n_fft;
    s->hop = hop;
    s->win_length = win_length;
    s->center = center ? 1 : 0;
    s->n_bins = n_fft / 2 + 1;
    s->window_type = window;
    s->window = dsi_calloc((size_t)n_fft, sizeof(float));
    s->frame = dsi_malloc(sizeof(float) * (size_t)n_fft);
    s->cbuf = dsi_malloc(sizeof(float) * 2 * (size_t)s->n_bins);
    s->fwd = fft_alloc(n_fft, 0);
    s->inv = fft_alloc(n_fft, 1);
    if (!s->window || !s->frame || !s->cbuf || !s->fwd || !s->inv) {
        dsi_stft_free(s);
        return dsi_error(DSN_E_NOMEM, "cannot allocate an STFT of size %d", n_fft);
    }
    /* periodic window (scipy get_window(..., fftbins=True)), centred in n_fft */
    int off = (n_fft - win_length) / 2;
    for (int i = 0; i < win_length; i++) {
        double ph = 2.0 * DSI_PI * i / win_length;
        double w = window == DSI_WIN_HANN ? 0.5 - 0.5 * cos(ph) : window == DSI_WIN_HAMMING ? 0.54 - 0.46 * cos(ph) : 1.0;
        s->window[off + i] = (float)w;
    }
    return DSN_OK;
}

void dsi_stft_free(dsi_stft *s)
{
    if (!s) return;
    dsi_free(s->window);
    dsi_free(s->frame);
    dsi_free(s->cbuf);
    dsi_free(s->fwd);
    dsi_free(s->inv);
    memset(s, 0, sizeof *s);
}

int dsi_stft_frames(const dsi_stft *s, size_t n)
{
    if (!s || !s->n_fft) return 0;
    size_t t;
    if (s->center) {
        t = 1 + n / (size_t)s->hop;
    } else {
        if (n < (size_t)s->n_fft) return 0;
        t = 1 + (n - (size_t)s->n_fft) / (size_t)s->hop;
    }
    return t > (size_t)(1 << 30) ? 0 : (int)t;
}

/* Index of padded sample j (may be negative or >= n) under reflect padding
 * (numpy "reflect": the edge sample is not repeated), applied periodically
 * for signals shorter than the padding. */
static inline size_t reflect_index(long long j, size_t n)
{
    if (n == 1) return 0;
    long long p = 2 * ((long long)n - 1);
    j %= p;
    if (j < 0) j += p;
    if (j >= (long long)n) j = p - j;
    return (size_t)j;
}

/* window frame t of x into s->frame */
static void load_frame(dsi_stft *s, const float *x, size_t n, int t)
{
    const int nf = s->n_fft;
    const float *w = s->window;
    float *fr = s->frame;
    long long start = (long long)t * s->hop - (s->center ? nf / 2 : 0);
    if (start >= 0 && start + nf <= (long long)n) {
        const float *src = x + start;
        for (int i = 0; i < nf; i++) fr[i] = src[i] * w[i];
    } else {
        for (int i = 0; i < nf; i++) fr[i] = x[reflect_index(start + i, n)] * w[i];
    }
}

static dsn_status check_args(const dsi_stft *s, const float *x, size_t n, const float *out)
{
    DSI_CHECK_NULL(s, "stft");
    DSI_CHECK_NULL(x, "x");
    DSI_CHECK_NULL(out, "out");
    if (!s->fwd) return dsi_error(DSN_E_STATE, "STFT not initialised");
    if (n == 0) return dsi_error(DSN_E_INVALID, "empty signal");
    if (dsi_stft_frames(s, n) < 1)
        return dsi_error(DSN_E_SHAPE, "signal of %zu samples is shorter than n_fft %d", n, s->n_fft);
    return DSN_OK;
}

dsn_status dsi_stft_forward(dsi_stft *s, const float *x, size_t n, float *out)
{
    dsn_status st = check_args(s, x, n, out);
    if (st != DSN_OK) return st;
    int T = dsi_stft_frames(s, n);
    for (int t = 0; t < T; t++) {
        load_frame(s, x, n, t);
        kiss_fftr((kiss_fftr_cfg)s->fwd, s->frame, (kiss_fft_cpx *)(out + (size_t)t * 2 * s->n_bins));
    }
    return DSN_OK;
}

dsn_status dsi_stft_spectrogram(dsi_stft *s, const float *x, size_t n, int power, float *out)
{
    dsn_status st = check_args(s, x, n, out);
    if (st != DSN_OK) return st;
    if (power != 1 && power != 2) return dsi_error(DSN_E_INVALID, "power must be 1 or 2, got %d", power);
    int T = dsi_stft_frames(s, n), F = s->n_bins;
    for (int t = 0; t < T; t++) {
        load_frame(s, x, n, t);
        kiss_fftr((kiss_fftr_cfg)s->fwd, s->frame, (kiss_fft_cpx *)s->cbuf);
        float *o = out + (size_t)t * F;
        const float *c = s->cbuf;
        if (power == 2)
            for (int k = 0; k < F; k++) o[k] = c[2 * k] * c[2 * k] + c[2 * k + 1] * c[2 * k + 1];
        else
            for (int k = 0; k < F; k++) o[k] = sqrtf(c[2 * k] * c[2 * k] + c[2 * k + 1] * c[2 * k + 1]);
    }
    return DSN_OK;
}

dsn_status dsi_stft_inverse(dsi_stft *s, const float *spec, int T, float *y, size_t n)
{
    DSI_CHECK_NULL(s, "stft");
    DSI_CHECK_NULL(spec, "spec");
    DSI_CHECK_NULL(y, "y");
    if (!s->inv) return dsi_error(DSN_E_STATE, "STFT not initialised");
    if (T < 1) return dsi_error(DSN_E_INVALID, "need at least one frame, got %d", T);
    const int nf = s->n_fft, F = s->n_bins, hop = s->hop;
    const long long off = s->center ? nf / 2 : 0;
    const float scale = 1.0f / (float)nf;
    memset(y, 0, n * sizeof(float));
    /* window-square sum accumulated alongside, in the same output range; kept
     * in the caller's buffer would need a second array, so we use a local
     * pass: first overlap-add the signal, then divide by the analytically
     * summed window squares. */
    for (int t = 0; t < T; t++) {
        memcpy(s->cbuf, spec + (size_t)t * 2 * F, sizeof(float) * 2 * (size_t)F);
        /* a real signal's DC and Nyquist bins are real */
        s->cbuf[1] = 0.0f;
        s->cbuf[2 * (F - 1) + 1] = 0.0f;
        kiss_fftri((kiss_fftr_cfg)s->inv, (const kiss_fft_cpx *)s->cbuf, s->frame);
        long long start = (long long)t * hop - off;
        int i0 = start < 0 ? (int)-start : 0;
        long long i1 = (long long)n - start;
        if (i1 > nf) i1 = nf;
        for (int i = i0; i < i1; i++) y[start + i] += s->frame[i] * s->window[i] * scale;
    }
    /* divide by sum_t w^2(j - t*hop + off) */
    const float *w = s->window;
    for (size_t j = 0; j < n; j++) {
        long long pj = (long long)j + off; /* position in padded coordinates */
        long long tmax = pj / hop;
        if (tmax > T - 1) tmax = T - 1;
        float ws = 0.0f;
        for (long long t = tmax; t >= 0; t--) {
            long long i = pj - t * hop;
            if (i >= nf) break;
            ws += w[i] * w[i];
        }
        if (ws > 1e-10f) y[j] /= ws;
    }
    return DSN_OK;
}
