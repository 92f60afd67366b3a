/* classify.c - logistic regression (L-BFGS), LDA and nearest centroid. */
#include "eval/classify.h"
#include "core/alloc.h"
#include "core/finite.h"
#include "core/sort.h"
#include "core/error.h"
#include "tensor/blas.h"
#include "tensor/fastmath.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PRED_BLOCK 1024

void dsi_clf_opts_default(dsi_clf_opts *o, dsi_clf_kind kind)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->standardize = kind != DSI_CLF_CENTROID;
    o->l2 = 1e-4;
    o->max_iter = 500;
    o->tol = 1e-5;
    o->history = 10;
    o->shrinkage = 0.0;
}

dsn_status dsi_clf_init(dsi_clf *c, const dsi_clf_opts *o)
{
    DSI_CHECK_NULL(c, "classifier");
    DSI_CHECK_NULL(o, "options");
    memset(c, 0, sizeof *c);
    if ((int)o->kind < 0 || (int)o->kind > 2) return dsi_error(DSN_E_OPTION, "unknown classifier kind %d", (int)o->kind);
    if (!(o->l2 >= 0) || !isfinite(o->l2)) return dsi_error(DSN_E_OPTION, "l2 must be finite and >= 0");
    if (o->max_iter < 1) return dsi_error(DSN_E_OPTION, "max_iter must be >= 1");
    if (!(o->tol > 0) || !isfinite(o->tol)) return dsi_error(DSN_E_OPTION, "tol must be finite and > 0");
    if (o->history < 1 || o->history > 100) return dsi_error(DSN_E_OPTION, "history must be in [1, 100]");
    if (!(o->shrinkage <= 1) || isnan(o->shrinkage)) return dsi_error(DSN_E_OPTION, "shrinkage must be <= 1");
    c->opts = *o;
    return DSN_OK;
}

static void clear_fit(dsi_clf *c)
{
    dsi_free(c->classes);
    dsi_aligned_free(c->mean);
    dsi_aligned_free(c->scale);
    dsi_aligned_free(c->W);
    dsi_aligned_free(c->b);
    c->classes = NULL;
    c->mean = c->scale = c->W = c->b = NULL;
    c->d = c->K = 0;
    c->iterations = c->evaluations = c->converged = 0;
    c->objective = c->grad_max = 0;
}

void dsi_clf_free(dsi_clf *c)
{
    if (c) clear_fit(c);
}

/* ---- Cholesky --------------------------------------------------------------- */

int dsi_chol_factor(double *a, int n)
{
    for (int j = 0; j < n; j++) {
        double *rj = a + (size_t)j * n;
        double s = rj[j];
        for (int k = 0; k < j; k++) s -= rj[k] * rj[k];
        if (!(s > 0) || !isfinite(s)) return -1;
        const double ljj = sqrt(s), inv = 1.0 / ljj;
        rj[j] = ljj;
        for (int i = j + 1; i < n; i++) {
            double *ri = a + (size_t)i * n;
            double t = ri[j];
            for (int k = 0; k < j; k++) t -= ri[k] * rj[k];
            ri[j] = t * inv;
        }
    }
    return 0;
}

void dsi_chol_solve(const double *l, int n, double *b)
{
    for (int i = 0; i < n; i++) { /* L y = b */
        const double *ri = l + (size_t)i * n;
        double s = b[i];
        for (int k = 0; k < i; k++) s -= ri[k] * b[k];
        b[i] = s / ri[i];
    }
    for (int i = n - 1; i >= 0; i--) { /* L^T x = y */
        double s = b[i];
        for (int k = i + 1; k < n; k++) s -= l[(size_t)k * n + i] * b[k];
        b[i] = s / l[(size_t)i * n + i];
    }
}

/* ---- logistic regression ---------------------------------------------------- */

#define LR_BLOCK 256

/* x[k] = exp(x[k]) for x <= 0 (vectorised; relative error ~2e-7) */
static void exp_vec(float *x, size_t n)
{
    size_t k = 0;
#ifdef DSI_FAST_V4
    for (; k + 4 <= n; k += 4) dsi_v4_store(x + k, dsi_v4_exp(dsi_v4_load(x + k)));
#endif
    for (; k < n; k++) x[k] = dsi_fexp(x[k]);
}

/* f = (1/n) sum_i [lse(s_i) - s_i,y_i] + l2/2 ||V||^2;
 * dV = Z^T (P - Y) / n + l2 V, dc = sum_i (p_i - y_i) / n. */
double dsi_logreg_objective(const float *z, int n, int d, const int *y, int K, double l2, const double *theta,
                            double *g, float *s, float *vf, float *gf)
{
    const size_t dk = (size_t)d * K;
    for (size_t i = 0; i < dk; i++) vf[i] = (float)theta[i];
    const double *cth = theta + dk;
    dsi_gemm(0, 0, n, K, d, 1.0f, z, d, vf, K, 0.0f, s, K);
    double *gc = g + dk;
    for (int k = 0; k < K; k++) gc[k] = 0.0;
    const float invn = 1.0f / (float)n;
    double loss = 0.0;
    float sy[LR_BLOCK];
    for (int i0 = 0; i0 < n; i0 += LR_BLOCK) {
        const int nb = n - i0 < LR_BLOCK ? n - i0 : LR_BLOCK;
        float *blk = s + (size_t)i0 * K;
        /* logits minus the row maximum; keep s_y - max for the loss */
        for (int i = 0; i < nb; i++) {
            float *row = blk + (size_t)i * K;
            float mx = -INFINITY;
            for (int k = 0; k < K; k++) {
                row[k] += (float)cth[k];
                mx = row[k] > mx ? row[k] : mx;
            }
            for (int k = 0; k < K; k++) row[k] -= mx;
            sy[i] = row[y[i0 + i]];
        }
        exp_vec(blk, (size_t)nb * K);
        /* -ln p_y = ln(sum) - (s_y - max); rows become (p - onehot(y)) / n */
        for (int i = 0; i < nb; i++) {
            float *row = blk + (size_t)i * K;
            float sum = 0.0f;
            for (int k = 0; k < K; k++) sum += row[k];
            loss += log((double)sum) - (double)sy[i];
            const float sc = invn / sum;
            for (int k = 0; k < K; k++) {
                row[k] *= sc;
                gc[k] += row[k];
            }
            row[y[i0 + i]] -= invn;
            gc[y[i0 + i]] -= invn;
        }
    }
    dsi_gemm(1, 0, d, K, n, 1.0f, z, d, s, K, 0.0f, gf, K);
    double reg = 0.0;
    for (size_t i = 0; i < dk; i++) {
        reg += theta[i] * theta[i];
        g[i] = (double)gf[i] + l2 * theta[i];
    }
    return loss / n + 0.5 * l2 * reg;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static double amax(const double *a, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs(a[i]) > m) m = fabs(a[i]);
    return m;
}

static dsn_status fit_logreg(dsi_clf *c, const float *z, int n, int d, const int *y)
{
    const int K = c->K, m = c->opts.history;
    const size_t P = (size_t)(d + 1) * K, dk = (size_t)d * K;
    const double l2 = c->opts.l2;
    /* doubles: theta, g, tn, gn, dir, alpha[m], rho[m], S[m][P], Y[m][P] */
    double *dbuf = dsi_calloc((size_t)(5 + 2 * m) * P + 2 * (size_t)m, sizeof(double));
    float *s = dsi_aligned_alloc(sizeof(float) * ((size_t)n * K + 2 * dk + 32));
    if (!dbuf || !s) {
        dsi_free(dbuf);
        dsi_aligned_free(s);
        return dsi_error(DSN_E_NOMEM, "cannot allocate the logistic regression workspace");
    }
    double *theta = dbuf, *g = theta + P, *tn = g + P, *gn = tn + P, *dir = gn + P;
    double *SH = dir + P, *YH = SH + (size_t)m * P, *rho = YH + (size_t)m * P, *alpha = rho + m;
    float *vf = s + (size_t)n * K, *gf = vf + dk;
    int head = 0, used = 0, evals = 0, it = 0, converged = 0;
    double f = dsi_logreg_objective(z, n, d, y, K, l2, theta, g, s, vf, gf);
    evals++;
    double gmax = amax(g, P);
    dsn_status st = DSN_OK;
    if (!isfinite(f)) {
        st = dsi_error(DSN_E_NUMERIC, "logistic regression objective is not finite");
        goto done;
    }
    if (gmax <= c->opts.tol) converged = 1;
    while (!converged && it < c->opts.max_iter) {
        /* two-loop recursion: dir = -H g */
        for (size_t i = 0; i < P; i++) dir[i] = -g[i];
        for (int j = 0; j < used; j++) {
            int h = (head - 1 - j + m) % m;
            alpha[h] = rho[h] * dot(SH + (size_t)h * P, dir, P);
            for (size_t i = 0; i < P; i++) dir[i] -= alpha[h] * YH[(size_t)h * P + i];
        }
        if (used > 0) {
            int h = (head - 1 + m) % m;
            const double *yh = YH + (size_t)h * P;
            double gamma = 1.0 / (rho[h] * dot(yh, yh, P));
            for (size_t i = 0; i < P; i++) dir[i] *= gamma;
        }
        for (int j = used - 1; j >= 0; j--) {
            int h = (head - 1 - j + m) % m;
            double beta = rho[h] * dot(YH + (size_t)h * P, dir, P);
            for (size_t i = 0; i < P; i++) dir[i] += (alpha[h] - beta) * SH[(size_t)h * P + i];
        }
        double gd = dot(g, dir, P);
        if (!(gd < 0)) { /* not a descent direction: restart from steepest descent */
            used = 0;
            for (size_t i = 0; i < P; i++) dir[i] = -g[i];
            gd = dot(g, dir, P);
        }
        double t = 1.0;
        if (used == 0) {
            double gn2 = sqrt(dot(g, g, P));
            t = gn2 > 1.0 ? 1.0 / gn2 : 1.0;
        }
        /* backtracking Armijo line search with quadratic interpolation */
        double fn = 0;
        int ok = 0;
        for (int ls = 0; ls < 40; ls++) {
            for (size_t i = 0; i < P; i++) tn[i] = theta[i] + t * dir[i];
            fn = dsi_logreg_objective(z, n, d, y, K, l2, tn, gn, s, vf, gf);
            evals++;
            if (isfinite(fn) && fn <= f + 1e-4 * t * gd) {
                ok = 1;
                break;
            }
            double tq = isfinite(fn) ? -gd * t * t / (2.0 * (fn - f - gd * t)) : 0.1 * t;
            if (!(tq >= 0.1 * t)) tq = 0.1 * t;
            if (tq > 0.5 * t) tq = 0.5 * t;
            t = tq;
        }
        it++;
        if (!ok) { /* no decrease possible at float precision: the optimum is reached */
            converged = 1;
            break;
        }
        double *sh = SH + (size_t)head * P, *yh = YH + (size_t)head * P;
        for (size_t i = 0; i < P; i++) {
            sh[i] = tn[i] - theta[i];
            yh[i] = gn[i] - g[i];
        }
        double sy = dot(sh, yh, P), yy = dot(yh, yh, P);
        if (sy > 1e-12 * yy && yy > 0) {
            rho[head] = 1.0 / sy;
            head = (head + 1) % m;
            if (used < m) used++;
        }
        double df = f - fn;
        memcpy(theta, tn, sizeof(double) * P);
        memcpy(g, gn, sizeof(double) * P);
        f = fn;
        gmax = amax(g, P);
        if (gmax <= c->opts.tol || df <= 1e-12 * fmax(1.0, fabs(f))) converged = 1;
    }
    for (size_t i = 0; i < dk; i++) c->W[i] = (float)theta[i];
    for (int k = 0; k < K; k++) c->b[k] = (float)theta[dk + (size_t)k];
    c->iterations = it;
    c->evaluations = evals;
    c->converged = converged;
    c->objective = f;
    c->grad_max = gmax;
done:
    dsi_free(dbuf);
    dsi_aligned_free(s);
    return st;
}

/* ---- LDA and centroids ------------------------------------------------------ */

static dsn_status fit_lda(dsi_clf *c, float *z, int n, int d, const int *y, const double *mu, const int *cnt)
{
    const int K = c->K;
    double *S = dsi_malloc(sizeof(double) * ((size_t)d * d * 2 + d));
    float *sf = dsi_aligned_alloc(sizeof(float) * (size_t)d * d);
    dsn_status st = DSN_OK;
    if (!S || !sf) {
        st = dsi_error(DSN_E_NOMEM, "cannot allocate a %d x %d covariance", d, d);
        goto done;
    }
    double *L = S + (size_t)d * d, *w = L + (size_t)d * d;
    /* within-class residuals in place, and sum_i ||r_i||^4 for Ledoit-Wolf */
    double r4 = 0.0;
    for (int i = 0; i < n; i++) {
        float *zi = z + (size_t)i * d;
        const double *m = mu + (size_t)y[i] * d;
        double q = 0.0;
        for (int j = 0; j < d; j++) {
            zi[j] = (float)((double)zi[j] - m[j]);
            q += (double)zi[j] * zi[j];
        }
        r4 += q * q;
    }
    dsi_gemm(1, 0, d, d, n, 1.0f, z, d, z, d, 0.0f, sf, d);
    /* symmetrise (the BLAS may round the two triangles differently) */
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) S[(size_t)i * d + j] = 0.5 * ((double)sf[(size_t)i * d + j] + sf[(size_t)j * d + i]);
    double a = c->opts.shrinkage;
    if (a < 0) { /* Ledoit-Wolf on the maximum-likelihood covariance of the residuals */
        double tr = 0.0, ss = 0.0;
        for (int i = 0; i < d; i++) tr += S[(size_t)i * d + i] / n;
        double mtr = tr / d, dl = 0.0;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                double v = S[(size_t)i * d + j] / n;
                ss += v * v;
                double e = v - (i == j ? mtr : 0.0);
                dl += e * e;
            }
        double beta = (r4 / n - ss) / n;
        if (beta > dl) beta = dl;
        if (beta < 0) beta = 0;
        a = dl > 0 ? beta / dl : 0.0;
    }
    const double denom = n > K ? (double)(n - K) : (double)n;
    double tr = 0.0;
    for (int i = 0; i < d; i++) tr += S[(size_t)i * d + i] / denom;
    const double mtr = tr > 0 ? tr / d : 1.0;
    for (size_t i = 0; i < (size_t)d * d; i++) S[i] = (1.0 - a) * S[i] / denom;
    for (int i = 0; i < d; i++) S[(size_t)i * d + i] += a * mtr;
    /* factor; a singular covariance (constant features, d > n) gets a growing ridge */
    double jitter = 0.0;
    for (int attempt = 0;; attempt++) {
        memcpy(L, S, sizeof(double) * (size_t)d * d);
        for (int i = 0; i < d; i++) L[(size_t)i * d + i] += jitter;
        if (dsi_chol_factor(L, d) == 0) break;
        if (attempt >= 12) {
            st = dsi_error(DSN_E_NUMERIC, "the pooled covariance is not positive definite (try shrinkage)");
            goto done;
        }
        jitter = jitter == 0.0 ? 1e-10 * mtr : jitter * 10.0;
    }
    for (int k = 0; k < K; k++) {
        const double *m = mu + (size_t)k * d;
        memcpy(w, m, sizeof(double) * d);
        dsi_chol_solve(L, d, w);
        double q = 0.0;
        for (int j = 0; j < d; j++) {
            c->W[(size_t)j * K + k] = (float)w[j];
            q += m[j] * w[j];
        }
        c->b[k] = (float)(-0.5 * q + log((double)cnt[k] / n));
    }
    c->objective = a;
    c->converged = 1;
done:
    dsi_free(S);
    dsi_aligned_free(sf);
    return st;
}

static void fit_centroid(dsi_clf *c, int d, const double *mu)
{
    const int K = c->K;
    for (int k = 0; k < K; k++) {
        double q = 0.0;
        for (int j = 0; j < d; j++) {
            double v = mu[(size_t)k * d + j];
            c->W[(size_t)j * K + k] = (float)v;
            q += v * v;
        }
        c->b[k] = (float)(-0.5 * q);
    }
    c->converged = 1;
}

static dsn_status check_finite(const float *x, size_t n, const char *what)
{
    size_t i = dsi_find_nonfinite(x, n);
    return i == n ? DSN_OK : dsi_error(DSN_E_NUMERIC, "%s: non-finite value at index %zu", what, i);
}

dsn_status dsi_clf_fit(dsi_clf *c, const float *x, int n, int d, const int32_t *labels)
{
    DSI_CHECK_NULL(c, "classifier");
    clear_fit(c);
    DSI_CHECK_NULL(x, "x");
    DSI_CHECK_NULL(labels, "labels");
    if (n < 1 || d < 1) return dsi_error(DSN_E_SHAPE, "need n >= 1 rows and d >= 1 features (got %d x %d)", n, d);
    if ((size_t)n * (size_t)d > (size_t)INT_MAX) return dsi_error(DSN_E_SHAPE, "%d x %d features is too large", n, d);
    dsn_status st = check_finite(x, (size_t)n * d, "features");
    if (st != DSN_OK) return st;
    const dsi_clf_opts *o = &c->opts;
    int32_t *cls = dsi_malloc(sizeof(int32_t) * (size_t)n);
    int *y = dsi_malloc(sizeof(int) * (size_t)n);
    float *z = dsi_aligned_alloc(sizeof(float) * (size_t)n * d);
    double *mom = NULL;
    int *cnt = NULL;
    if (!cls || !y || !z) {
        st = dsi_error(DSN_E_NOMEM, "cannot allocate a copy of %d x %d features", n, d);
        goto fail;
    }
    memcpy(cls, labels, sizeof(int32_t) * (size_t)n);
    const int K = (int)dsi_i32_sort_unique(cls, (size_t)n);
    if (K < 2) {
        st = dsi_error(DSN_E_INVALID, "need at least 2 distinct labels to fit a classifier (got %d)", K);
        goto fail;
    }
    for (int i = 0; i < n; i++) y[i] = (int)dsi_i32_find(cls, (size_t)K, labels[i]);
    c->d = d;
    c->K = K;
    c->classes = dsi_malloc(sizeof(int32_t) * (size_t)K);
    c->mean = dsi_aligned_alloc(sizeof(float) * (size_t)d);
    c->scale = dsi_aligned_alloc(sizeof(float) * (size_t)d);
    c->W = dsi_aligned_alloc(sizeof(float) * (size_t)d * K);
    c->b = dsi_aligned_alloc(sizeof(float) * (size_t)K);
    mom = dsi_calloc((size_t)(K + 2) * d, sizeof(double));
    cnt = dsi_calloc((size_t)K, sizeof(int));
    if (!c->classes || !c->mean || !c->scale || !c->W || !c->b || !mom || !cnt) {
        st = dsi_error(DSN_E_NOMEM, "cannot allocate the classifier");
        goto fail;
    }
    memcpy(c->classes, cls, sizeof(int32_t) * (size_t)K);
    /* standardisation: mean and population std in double, two passes */
    double *m = mom + (size_t)K * d, *v = m + d;
    for (int j = 0; j < d; j++) {
        c->mean[j] = 0.0f;
        c->scale[j] = 1.0f;
    }
    if (o->standardize) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) m[j] += x[(size_t)i * d + j];
        for (int j = 0; j < d; j++) m[j] /= n;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) {
                double e = x[(size_t)i * d + j] - m[j];
                v[j] += e * e;
            }
        for (int j = 0; j < d; j++) {
            double sd = sqrt(v[j] / n);
            c->mean[j] = (float)m[j];
            c->scale[j] = sd > 1e-12 * fmax(1.0, fabs(m[j])) ? (float)(1.0 / sd) : 1.0f;
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++)
                z[(size_t)i * d + j] = (x[(size_t)i * d + j] - c->mean[j]) * c->scale[j];
    } else {
        memcpy(z, x, sizeof(float) * (size_t)n * d);
    }
    /* class means of z */
    for (int i = 0; i < n; i++) {
        double *mk = mom + (size_t)y[i] * d;
        const float *zi = z + (size_t)i * d;
        for (int j = 0; j < d; j++) mk[j] += zi[j];
        cnt[y[i]]++;
    }
    for (int k = 0; k < K; k++)
        for (int j = 0; j < d; j++) mom[(size_t)k * d + j] /= cnt[k];
    switch (o->kind) {
    case DSI_CLF_LOGREG: st = fit_logreg(c, z, n, d, y); break;
    case DSI_CLF_LDA: st = fit_lda(c, z, n, d, y, mom, cnt); break;
    default: fit_centroid(c, d, mom); break;
    }
    if (st != DSN_OK) goto fail;
    dsi_free(cls);
    dsi_free(y);
    dsi_aligned_free(z);
    dsi_free(mom);
    dsi_free(cnt);
    return DSN_OK;
fail:
    clear_fit(c);
    dsi_free(cls);
    dsi_free(y);
    dsi_aligned_free(z);
    dsi_free(mom);
    dsi_free(cnt);
    return st;
}

/* ---- prediction --------------------------------------------------------------- */

/* scores for rows [0, n) of x; zbuf [n][d] scratch for the standardised rows */
static void scores_block(const dsi_clf *c, const float *x, int n, float *zbuf, float *out)
{
    const int d = c->d, K = c->K;
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d;
        float *zi = zbuf + (size_t)i * d;
        for (int j = 0; j < d; j++) zi[j] = (xi[j] - c->mean[j]) * c->scale[j];
    }
    for (int i = 0; i < n; i++) memcpy(out + (size_t)i * K, c->b, sizeof(float) * (size_t)K);
    dsi_gemm(0, 0, n, K, d, 1.0f, zbuf, d, c->W, K, 1.0f, out, K);
}

static dsn_status check_predict(const dsi_clf *c, const float *x, int n, int d)
{
    DSI_CHECK_NULL(c, "classifier");
    if (c->K < 2 || !c->W) return dsi_error(DSN_E_STATE, "the classifier has not been fitted");
    DSI_CHECK_NULL(x, "x");
    if (n < 0) return dsi_error(DSN_E_SHAPE, "negative row count %d", n);
    if (d != c->d) return dsi_error(DSN_E_SHAPE, "the classifier was fitted on %d features, got %d", c->d, d);
    return check_finite(x, (size_t)n * d, "features");
}

dsn_status dsi_clf_scores(const dsi_clf *c, const float *x, int n, int d, float *scores)
{
    dsn_status st = check_predict(c, x, n, d);
    if (st != DSN_OK) return st;
    DSI_CHECK_NULL(scores, "scores");
    if (n == 0) return DSN_OK;
    const int B = n < PRED_BLOCK ? n : PRED_BLOCK;
    float *zbuf = dsi_aligned_alloc(sizeof(float) * (size_t)B * d);
    if (!zbuf) return dsi_error(DSN_E_NOMEM, "cannot allocate prediction scratch");
    for (int i0 = 0; i0 < n; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        scores_block(c, x + (size_t)i0 * d, nb, zbuf, scores + (size_t)i0 * c->K);
    }
    dsi_aligned_free(zbuf);
    return DSN_OK;
}

dsn_status dsi_clf_predict(const dsi_clf *c, const float *x, int n, int d, int32_t *pred)
{
    dsn_status st = check_predict(c, x, n, d);
    if (st != DSN_OK) return st;
    DSI_CHECK_NULL(pred, "predictions");
    if (n == 0) return DSN_OK;
    const int B = n < PRED_BLOCK ? n : PRED_BLOCK, K = c->K;
    float *zbuf = dsi_aligned_alloc(sizeof(float) * (size_t)B * (d + K));
    if (!zbuf) return dsi_error(DSN_E_NOMEM, "cannot allocate prediction scratch");
    float *sb = zbuf + (size_t)B * d;
    for (int i0 = 0; i0 < n; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        scores_block(c, x + (size_t)i0 * d, nb, zbuf, sb);
        for (int i = 0; i < nb; i++) {
            const float *r = sb + (size_t)i * K;
            int best = 0;
            for (int k = 1; k < K; k++)
                if (r[k] > r[best]) best = k;
            pred[i0 + i] = c->classes[best];
        }
    }
    dsi_aligned_free(zbuf);
    return DSN_OK;
}
