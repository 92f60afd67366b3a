/* invert.c - mel pseudo-inverse / NNLS, Griffin-Lim (classic and fast). */
#include "audio/invert.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "tensor/blas.h"

#include <math.h>
#include <string.h>

/* In-place Cholesky of an SPD matrix a [n][n] (double); returns -1 if not SPD. */
static int cholesky(double *a, int n)
{
    for (int j = 0; j < n; j++) {
        double d = a[j * n + j];
        for (int k = 0; k < j; k++) d -= a[j * n + k] * a[j * n + k];
        if (!(d > 0)) return -1;
        d = sqrt(d);
        a[j * n + j] = d;
        for (int i = j + 1; i < n; i++) {
            double v = a[i * n + j];
            for (int k = 0; k < j; k++) v -= a[i * n + k] * a[j * n + k];
            a[i * n + j] = v / d;
        }
    }
    return 0;
}

/* Solve L L^T x = b in place (b has n entries). */
static void chol_solve(const double *l, int n, double *b)
{
    for (int i = 0; i < n; i++) {
        double v = b[i];
        for (int k = 0; k < i; k++) v -= l[i * n + k] * b[k];
        b[i] = v / l[i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) {
        double v = b[i];
        for (int k = i + 1; k < n; k++) v -= l[k * n + i] * b[k];
        b[i] = v / l[i * n + i];
    }
}

dsn_status dsi_mel_pinv(const float *fb, int M, int F, float *pinv, double *lmax)
{
    DSI_CHECK_NULL(fb, "fb");
    DSI_CHECK_NULL(pinv, "pinv");
    if (M < 1 || F < 1) return dsi_error(DSN_E_SHAPE, "bad sizes M=%d F=%d", M, F);
    dsn_status st = DSN_OK;
    float *gram = dsi_malloc(sizeof(float) * M * M);
    double *chol = dsi_malloc(sizeof(double) * M * M);
    double *col = dsi_malloc(sizeof(double) * M);
    if (!gram || !chol || !col) {
        st = dsi_error(DSN_E_NOMEM, "cannot allocate mel inversion buffers");
        goto done;
    }
    dsi_gemm(0, 1, M, M, F, 1.0f, fb, F, fb, F, 0.0f, gram, M);
    double tr = 0;
    for (int i = 0; i < M; i++) tr += gram[i * M + i];
    if (!(tr > 0)) {
        st = dsi_error(DSN_E_INVALID, "mel filterbank is all zeros");
        goto done;
    }
    const double ridge = 1e-6 * tr / M;
    for (int i = 0; i < M * M; i++) chol[i] = gram[i];
    for (int i = 0; i < M; i++) chol[i * M + i] += ridge;
    if (cholesky(chol, M) != 0) {
        st = dsi_error(DSN_E_NUMERIC, "mel filterbank Gram matrix is not positive definite");
        goto done;
    }
    for (int k = 0; k < F; k++) {
        for (int i = 0; i < M; i++) col[i] = fb[(size_t)i * F + k];
        chol_solve(chol, M, col);
        for (int i = 0; i < M; i++) pinv[(size_t)i * F + k] = (float)col[i];
    }
    if (lmax) {
        /* largest eigenvalue of the Gram matrix by power iteration */
        double l = 0, *tmp = chol; /* reuse */
        for (int i = 0; i < M; i++) col[i] = 1.0 / sqrt((double)M);
        for (int it = 0; it < 100; it++) {
            double nrm = 0;
            for (int i = 0; i < M; i++) {
                double v = 0;
                for (int j = 0; j < M; j++) v += gram[i * M + j] * col[j];
                tmp[i] = v;
                nrm += v * v;
            }
            nrm = sqrt(nrm);
            if (!(nrm > 0)) break;
            l = nrm;
            for (int i = 0; i < M; i++) col[i] = tmp[i] / nrm;
        }
        *lmax = l;
    }
done:
    dsi_free(gram);
    dsi_free(chol);
    dsi_free(col);
    return st;
}

void dsi_fista_project(float *s, float *yk, const float *prev, size_t n, double *t)
{
    double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * *t * *t));
    float beta = (float)((*t - 1.0) / tn);
    *t = tn;
    for (size_t i = 0; i < n; i++) {
        float v = s[i] > 0 ? s[i] : 0.0f;
        s[i] = v;
        float y = v + beta * (v - prev[i]);
        yk[i] = y > 0 ? y : 0.0f;
    }
}

/* the NNLS / pinv inversion with the caller's pinv (and lmax) and scratch:
 * prev, yk [T F] and res [T M] (used only for NNLS) */
static void mel_to_linear_buf(const float *fb, int M, int F, const float *mel, int T, dsi_melinv_method method,
                              int n_iter, float *spec, const float *pinv, double lmax, float *prev, float *yk,
                              float *res)
{
    const size_t TF = (size_t)T * F, TM = (size_t)T * M;
    /* S = max(0, Mel . pinv) */
    dsi_gemm(0, 0, T, F, M, 1.0f, mel, M, pinv, F, 0.0f, spec, F);
    for (size_t i = 0; i < TF; i++)
        if (!(spec[i] > 0)) spec[i] = 0.0f;
    if (method == DSI_MELINV_PINV || n_iter == 0 || !(lmax > 0)) return;
    const float step = (float)(1.0 / (lmax * 1.01));
    memcpy(yk, spec, sizeof(float) * TF);
    double t = 1.0;
    for (int it = 0; it < n_iter; it++) {
        /* res = Y fb^T - Mel;  grad = res fb;  S_new = max(0, Y - step grad) */
        memcpy(res, mel, sizeof(float) * TM);
        dsi_gemm(0, 1, T, M, F, 1.0f, yk, F, fb, F, -1.0f, res, M);
        memcpy(prev, spec, sizeof(float) * TF);
        memcpy(spec, yk, sizeof(float) * TF);
        dsi_gemm(0, 0, T, F, M, -step, res, M, fb, F, 1.0f, spec, F);
        dsi_fista_project(spec, yk, prev, TF, &t);
    }
}

dsn_status dsi_mel_to_linear(const float *fb, int M, int F, const float *mel, int T, dsi_melinv_method method,
                             int n_iter, float *spec)
{
    DSI_CHECK_NULL(fb, "fb");
    DSI_CHECK_NULL(mel, "mel");
    DSI_CHECK_NULL(spec, "spec");
    if (M < 1 || F < 1 || T < 1) return dsi_error(DSN_E_SHAPE, "bad sizes M=%d F=%d T=%d", M, F, T);
    if ((int)method < 0 || (int)method > 1) return dsi_error(DSN_E_INVALID, "unknown method %d", (int)method);
    if (n_iter < 0) return dsi_error(DSN_E_INVALID, "n_iter must be >= 0");
    const size_t TF = (size_t)T * F, TM = (size_t)T * M;
    const int nnls = method == DSI_MELINV_NNLS && n_iter > 0;
    float *pinv = dsi_malloc(sizeof(float) * (size_t)M * F); /* (fb fb^T + rI)^-1 fb, [M][F] */
    float *prev = nnls ? dsi_malloc(sizeof(float) * TF) : NULL, *yk = nnls ? dsi_malloc(sizeof(float) * TF) : NULL,
          *res = nnls ? dsi_malloc(sizeof(float) * TM) : NULL;
    double lmax = 0;
    dsn_status st = DSN_OK;
    if (!pinv || (nnls && (!prev || !yk || !res))) st = dsi_error(DSN_E_NOMEM, "cannot allocate mel inversion buffers");
    if (st == DSN_OK) st = dsi_mel_pinv(fb, M, F, pinv, &lmax);
    if (st == DSN_OK) mel_to_linear_buf(fb, M, F, mel, T, method, n_iter, spec, pinv, lmax, prev, yk, res);
    dsi_free(pinv);
    dsi_free(prev);
    dsi_free(yk);
    dsi_free(res);
    return st;
}

void dsi_gl_opts_default(dsi_gl_opts *o)
{
    o->n_iter = 32;
    o->momentum = 0.99f;
    o->random_init = 1;
    o->seed = 0x5eed;
}

dsn_status dsi_spectral_convergence(dsi_stft *s, const float *mag, int T, const float *y, size_t n, float *sc)
{
    DSI_CHECK_NULL(s, "stft");
    DSI_CHECK_NULL(mag, "mag");
    DSI_CHECK_NULL(y, "y");
    DSI_CHECK_NULL(sc, "sc");
    if (dsi_stft_frames(s, n) != T)
        return dsi_error(DSN_E_SHAPE, "%zu samples give %d frames, magnitude has %d", n, dsi_stft_frames(s, n), T);
    const int F = s->n_bins;
    float *m = dsi_malloc(sizeof(float) * (size_t)T * F);
    if (!m) return dsi_error(DSN_E_NOMEM, "cannot allocate a spectrogram");
    dsn_status st = dsi_stft_spectrogram(s, y, n, 1, m);
    if (st == DSN_OK) {
        double num = 0, den = 0;
        for (size_t i = 0; i < (size_t)T * F; i++) {
            double d = (double)m[i] - mag[i];
            num += d * d;
            den += (double)mag[i] * mag[i];
        }
        *sc = den > 0 ? (float)sqrt(num / den) : (float)sqrt(num);
    }
    dsi_free(m);
    return st;
}

/* Griffin-Lim iterations with the caller's buffers c, tcur, tprev [2 T F] (checked arguments) */
static dsn_status gl_buf(dsi_stft *s, const float *mag, int T, const dsi_gl_opts *o, float *y, size_t n, float *c,
                         float *tcur, float *tprev)
{
    const size_t TF = (size_t)T * s->n_bins;
    dsi_rng r;
    dsi_rng_seed(&r, o->seed);
    for (size_t i = 0; i < TF; i++) {
        float re = mag[i], im = 0.0f;
        if (o->random_init) {
            double ph = 2.0 * 3.14159265358979323846 * dsi_rng_uniform_d(&r);
            re = mag[i] * (float)cos(ph);
            im = mag[i] * (float)sin(ph);
        }
        c[2 * i] = re;
        c[2 * i + 1] = im;
        tprev[2 * i] = tprev[2 * i + 1] = 0.0f;
    }
    /* beta = alpha / (1 + alpha) as in librosa's griffinlim */
    const float beta = o->momentum / (1.0f + o->momentum);
    dsn_status st = DSN_OK;
    for (int it = 0; it < o->n_iter && st == DSN_OK; it++) {
        st = dsi_stft_inverse(s, c, T, y, n);
        if (st == DSN_OK) st = dsi_stft_forward(s, y, n, tcur);
        if (st != DSN_OK) break;
        for (size_t i = 0; i < TF; i++) {
            float re = tcur[2 * i] - beta * tprev[2 * i], im = tcur[2 * i + 1] - beta * tprev[2 * i + 1];
            float m = sqrtf(re * re + im * im);
            if (m > 1e-30f) {
                float g = mag[i] / m;
                c[2 * i] = re * g;
                c[2 * i + 1] = im * g;
            } else {
                c[2 * i] = mag[i];
                c[2 * i + 1] = 0.0f;
            }
        }
        float *sw = tprev;
        tprev = tcur;
        tcur = sw;
    }
    if (st == DSN_OK) st = dsi_stft_inverse(s, c, T, y, n);
    return st;
}

/* checks of dsi_griffin_lim's arguments (o filled with the defaults when NULL) */
static dsn_status gl_check(dsi_stft *s, const float *mag, int T, const dsi_gl_opts **o, dsi_gl_opts *def, size_t n)
{
    if (!*o) {
        dsi_gl_opts_default(def);
        *o = def;
    }
    if ((*o)->n_iter < 0 || !((*o)->momentum >= 0 && (*o)->momentum < 2))
        return dsi_error(DSN_E_INVALID, "bad Griffin-Lim options (n_iter %d, momentum %g)", (*o)->n_iter,
                         (double)(*o)->momentum);
    if (T < 1 || dsi_stft_frames(s, n) != T)
        return dsi_error(DSN_E_SHAPE, "%zu samples give %d frames, magnitude has %d", n, dsi_stft_frames(s, n), T);
    const size_t TF = (size_t)T * s->n_bins;
    for (size_t i = 0; i < TF; i++)
        if (!isfinite(mag[i]) || mag[i] < 0) return dsi_error(DSN_E_NUMERIC, "magnitude %zu is %g", i, (double)mag[i]);
    return DSN_OK;
}

dsn_status dsi_griffin_lim(dsi_stft *s, const float *mag, int T, const dsi_gl_opts *o, float *y, size_t n,
                           float *spectral_convergence)
{
    DSI_CHECK_NULL(s, "stft");
    DSI_CHECK_NULL(mag, "mag");
    DSI_CHECK_NULL(y, "y");
    dsi_gl_opts def;
    dsn_status cst = gl_check(s, mag, T, &o, &def, n);
    if (cst != DSN_OK) return cst;
    const size_t TF = (size_t)T * s->n_bins;
    float *c = dsi_malloc(sizeof(float) * 2 * TF), *tcur = dsi_malloc(sizeof(float) * 2 * TF),
          *tprev = dsi_malloc(sizeof(float) * 2 * TF);
    dsn_status st = DSN_OK;
    if (!c || !tcur || !tprev) st = dsi_error(DSN_E_NOMEM, "cannot allocate Griffin-Lim buffers (%d frames)", T);
    if (st == DSN_OK) st = gl_buf(s, mag, T, o, y, n, c, tcur, tprev);
    dsi_free(c);
    dsi_free(tcur);
    dsi_free(tprev);
    if (st == DSN_OK && spectral_convergence) st = dsi_spectral_convergence(s, mag, T, y, n, spectral_convergence);
    return st;
}

void dsi_melinv_ws_free(dsi_melinv_ws *w)
{
    if (!w) return;
    dsi_free(w->pinv);
    dsi_free(w->buf);
    memset(w, 0, sizeof *w);
}

dsn_status dsi_melinv_ws_init(dsi_melinv_ws *w, const dsi_featurizer *f, int T_max)
{
    DSI_CHECK_NULL(w, "workspace");
    memset(w, 0, sizeof *w);
    DSI_CHECK_NULL(f, "featurizer");
    if (!f->fb) return dsi_error(DSN_E_STATE, "featurizer not initialised");
    if (T_max < 1) return dsi_error(DSN_E_SHAPE, "need at least one frame");
    const int M = f->cfg.n_mels, F = f->stft.n_bins;
    const size_t TF = (size_t)T_max * F, TM = (size_t)T_max * M;
    w->T_max = T_max;
    w->M = M;
    w->F = F;
    w->pinv = dsi_malloc(sizeof(float) * (size_t)M * F);
    /* mel TM, spec TF, NNLS prev TF + yk TF + res TM, Griffin-Lim 3 x 2 TF */
    w->buf = dsi_malloc(sizeof(float) * (2 * TM + 9 * TF));
    if (!w->pinv || !w->buf) {
        dsi_melinv_ws_free(w);
        return dsi_error(DSN_E_NOMEM, "cannot allocate inversion buffers (%d frames)", T_max);
    }
    dsn_status st = dsi_mel_pinv(f->fb, M, F, w->pinv, &w->lmax);
    if (st != DSN_OK) dsi_melinv_ws_free(w);
    return st;
}

dsn_status dsi_features_to_audio_ws(dsi_featurizer *f, dsi_melinv_ws *w, const float *feat, int T,
                                    dsi_melinv_method method, int nnls_iter, const dsi_gl_opts *o, float *y, size_t n)
{
    DSI_CHECK_NULL(f, "featurizer");
    DSI_CHECK_NULL(w, "workspace");
    DSI_CHECK_NULL(feat, "features");
    DSI_CHECK_NULL(y, "y");
    if (!f->fb || !w->buf) return dsi_error(DSN_E_STATE, "featurizer or workspace not initialised");
    const int M = f->cfg.n_mels, F = f->stft.n_bins;
    if (M != w->M || F != w->F) return dsi_error(DSN_E_STATE, "workspace made for another front end");
    if (T < 1 || T > w->T_max) return dsi_error(DSN_E_SHAPE, "%d frames (the workspace holds 1..%d)", T, w->T_max);
    if ((int)method < 0 || (int)method > 1) return dsi_error(DSN_E_INVALID, "unknown method %d", (int)method);
    if (nnls_iter < 0) return dsi_error(DSN_E_INVALID, "n_iter must be >= 0");
    const size_t TF = (size_t)T * F, TM = (size_t)T * M;
    float *mel = w->buf, *spec = mel + TM, *prev = spec + TF, *yk = prev + TF, *res = yk + TF, *c = res + TM,
          *tcur = c + 2 * TF, *tprev = tcur + 2 * TF;
    memcpy(mel, feat, sizeof(float) * TM);
    dsi_feat_undo_log(&f->cfg, mel, TM);
    mel_to_linear_buf(f->fb, M, F, mel, T, method, nnls_iter, spec, w->pinv, w->lmax, prev, yk, res);
    if (f->cfg.power == 2)
        for (size_t i = 0; i < TF; i++) spec[i] = sqrtf(spec[i]);
    dsi_gl_opts def;
    dsn_status st = gl_check(&f->stft, spec, T, &o, &def, n);
    if (st == DSN_OK) st = gl_buf(&f->stft, spec, T, o, y, n, c, tcur, tprev);
    return st;
}

dsn_status dsi_features_to_audio(dsi_featurizer *f, const float *feat, int T, dsi_melinv_method method,
                                 int nnls_iter, const dsi_gl_opts *o, float *y, size_t n, float *spectral_convergence)
{
    DSI_CHECK_NULL(f, "featurizer");
    DSI_CHECK_NULL(feat, "features");
    if (!f->fb) return dsi_error(DSN_E_STATE, "featurizer not initialised");
    if (T < 1) return dsi_error(DSN_E_SHAPE, "need at least one frame");
    dsi_melinv_ws w;
    dsn_status st = dsi_melinv_ws_init(&w, f, T);
    if (st != DSN_OK) return st;
    st = dsi_features_to_audio_ws(f, &w, feat, T, method, nnls_iter, o, y, n);
    if (st == DSN_OK && spectral_convergence) {
        /* the magnitudes are still in the workspace (spec) */
        const float *spec = w.buf + (size_t)T * w.M;
        st = dsi_spectral_convergence(&f->stft, spec, T, y, n, spectral_convergence);
    }
    dsi_melinv_ws_free(&w);
    return st;
}
