/* eval.c - public evaluation API: classifiers, classification metrics,
 * raw pitch accuracy, the YIN pitch track and the disentanglement metrics. */
#include "core/options.h"
#include "core/finite.h"
#include "audio/yin.h"
#include "core/alloc.h"
#include "core/error.h"
#include "eval/classify.h"
#include "eval/disentangle.h"
#include "eval/metrics.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct dsn_classifier {
    dsi_clf c;
};

dsn_status dsn_classifier_create(dsn_classifier **out, const char *kind, const dsn_options *opts)
{
    static const char *const where = "dsn_classifier_create";
    DSI_CHECK_NULL(out, "dsn_classifier_create: out");
    *out = NULL;
    DSI_CHECK_NULL(kind, "dsn_classifier_create: kind");
    dsi_clf_kind k;
    if (!strcmp(kind, "logreg")) k = DSI_CLF_LOGREG;
    else if (!strcmp(kind, "lda")) k = DSI_CLF_LDA;
    else if (!strcmp(kind, "centroid")) k = DSI_CLF_CENTROID;
    else return dsi_fail(dsi_error(DSN_E_INVALID, "unknown classifier kind '%s' (logreg, lda, centroid)", kind), where);
    dsi_clf_opts o;
    dsi_clf_opts_default(&o, k);
    dsi_optr r;
    dsn_status st = dsi_optr_init(&r, opts, kind);
    if (st != DSN_OK) return dsi_fail(st, where);
    dsi_opt_bool(&r, "standardize", &o.standardize);
    char shrink[32] = "";
    if (k == DSI_CLF_LOGREG) {
        float l2 = (float)o.l2, tol = (float)o.tol;
        dsi_opt_float(&r, "l2", &l2, 0.0, 1e6);
        dsi_opt_int(&r, "max_iter", &o.max_iter, 1, 1000000);
        dsi_opt_float(&r, "tol", &tol, 1e-12, 1.0);
        dsi_opt_int(&r, "history", &o.history, 1, 100);
        o.l2 = l2;
        o.tol = tol;
    } else if (k == DSI_CLF_LDA) {
        dsi_opt_str(&r, "shrinkage", shrink, sizeof shrink);
    }
    st = dsi_optr_finish(&r);
    if (st != DSN_OK) return dsi_fail(st, where);
    if (shrink[0]) {
        if (!strcmp(shrink, "auto")) {
            o.shrinkage = -1.0;
        } else {
            char *end;
            double a = strtod(shrink, &end);
            if (end == shrink || *end || !(a >= 0.0 && a <= 1.0))
                return dsi_fail(dsi_error(DSN_E_OPTION, "option 'shrinkage' = '%s': not 'auto' or a number in [0, 1]",
                                          shrink),
                                where);
            o.shrinkage = a;
        }
    }
    dsn_classifier *c = dsi_calloc(1, sizeof *c);
    if (!c) return dsi_fail(dsi_error(DSN_E_NOMEM, "out of memory"), where);
    st = dsi_clf_init(&c->c, &o);
    if (st != DSN_OK) {
        dsi_free(c);
        return dsi_fail(st, where);
    }
    *out = c;
    return DSN_OK;
}

void dsn_classifier_free(dsn_classifier *clf)
{
    if (!clf) return;
    dsi_clf_free(&clf->c);
    dsi_free(clf);
}

static dsn_status check_dims(size_t n, size_t dim)
{
    if (n > (size_t)INT_MAX || dim > (size_t)INT_MAX || (dim && n > (size_t)INT_MAX / dim))
        return dsi_error(DSN_E_SHAPE, "%zu x %zu features is too large", n, dim);
    return DSN_OK;
}

dsn_status dsn_classifier_fit(dsn_classifier *clf, const float *x, size_t n, size_t dim, const int32_t *labels)
{
    static const char *const where = "dsn_classifier_fit";
    DSI_CHECK_NULL(clf, "dsn_classifier_fit: classifier");
    dsn_status st = check_dims(n, dim);
    if (st != DSN_OK) dsi_clf_free(&clf->c); /* a failed fit leaves it unfitted */
    else st = dsi_clf_fit(&clf->c, x, (int)n, (int)dim, labels);
    return st == DSN_OK ? st : dsi_fail(st, where);
}

dsn_status dsn_classifier_predict(const dsn_classifier *clf, int32_t *labels, const float *x, size_t n, size_t dim)
{
    static const char *const where = "dsn_classifier_predict";
    DSI_CHECK_NULL(clf, "dsn_classifier_predict: classifier");
    dsn_status st = check_dims(n, dim);
    if (st == DSN_OK) st = dsi_clf_predict(&clf->c, x, (int)n, (int)dim, labels);
    return st == DSN_OK ? st : dsi_fail(st, where);
}

dsn_status dsn_classifier_scores(const dsn_classifier *clf, float *scores, size_t len, const float *x, size_t n,
                                 size_t dim)
{
    static const char *const where = "dsn_classifier_scores";
    DSI_CHECK_NULL(clf, "dsn_classifier_scores: classifier");
    dsn_status st = check_dims(n, dim);
    if (st == DSN_OK && clf->c.K > 0 && len / (size_t)clf->c.K < n)
        st = dsi_error(DSN_E_SHAPE, "scores has room for %zu floats, %zu x %d needed", len, n, clf->c.K);
    if (st == DSN_OK) st = dsi_clf_scores(&clf->c, x, (int)n, (int)dim, scores);
    return st == DSN_OK ? st : dsi_fail(st, where);
}

size_t dsn_classifier_classes(const dsn_classifier *clf, int32_t *classes, size_t max)
{
    if (!clf || clf->c.K < 1) return 0;
    size_t K = (size_t)clf->c.K;
    if (classes) memcpy(classes, clf->c.classes, sizeof(int32_t) * (K < max ? K : max));
    return K;
}

dsn_status dsn_classifier_report(const dsn_classifier *clf, int *iterations, int *converged, double *value)
{
    DSI_CHECK_NULL(clf, "dsn_classifier_report: classifier");
    if (clf->c.K < 2) return dsi_error(DSN_E_STATE, "dsn_classifier_report: the classifier has not been fitted");
    if (iterations) *iterations = clf->c.iterations;
    if (converged) *converged = clf->c.converged;
    if (value) *value = clf->c.opts.kind == DSI_CLF_CENTROID ? 0.0 : clf->c.objective;
    return DSN_OK;
}

/* ---- metrics ------------------------------------------------------------------ */

static dsn_status check_pair(const char *where, const void *out, const int32_t *truth, const int32_t *pred,
                             size_t n)
{
    if (!out) return dsi_error(DSN_E_INVALID, "%s: out must not be NULL", where);
    if (n && (!truth || !pred)) return dsi_error(DSN_E_INVALID, "%s: truth and pred must not be NULL", where);
    return DSN_OK;
}

dsn_status dsn_accuracy(double *out, const int32_t *truth, const int32_t *pred, size_t n)
{
    dsn_status st = check_pair("dsn_accuracy", out, truth, pred, n);
    if (st != DSN_OK) return st;
    *out = dsi_accuracy(truth, pred, n);
    return DSN_OK;
}

dsn_status dsn_macro_f1(double *out, const int32_t *truth, const int32_t *pred, size_t n)
{
    dsn_status st = check_pair("dsn_macro_f1", out, truth, pred, n);
    if (st != DSN_OK) return st;
    double v = 0.0;
    st = dsi_macro_f1(truth, pred, n, &v);
    if (st != DSN_OK) return dsi_fail(st, "dsn_macro_f1");
    *out = v;
    return DSN_OK;
}

dsn_status dsn_confusion_matrix(uint64_t *counts, size_t len, const int32_t *truth, const int32_t *pred, size_t n,
                                int32_t n_classes)
{
    static const char *const where = "dsn_confusion_matrix";
    dsn_status st = check_pair(where, counts, truth, pred, n);
    if (st != DSN_OK) return st;
    if (n_classes < 1 || n_classes > 65536)
        return dsi_fail(dsi_error(DSN_E_INVALID, "n_classes %d out of range [1, 65536]", (int)n_classes), where);
    if (len / (size_t)n_classes < (size_t)n_classes)
        return dsi_fail(dsi_error(DSN_E_SHAPE, "counts has room for %zu values, %d x %d needed", len, (int)n_classes,
                                  (int)n_classes),
                        where);
    st = dsi_confusion(truth, pred, n, n_classes, counts);
    return st == DSN_OK ? st : dsi_fail(st, where);
}

/* ---- pitch -------------------------------------------------------------------- */

dsn_status dsn_raw_pitch_accuracy(double *accuracy, double *chroma, size_t *n_voiced, const float *est_hz,
                                  const float *ref, size_t n, dsn_pitch_unit ref_unit, double cents)
{
    static const char *const where = "dsn_raw_pitch_accuracy";
    DSI_CHECK_NULL(accuracy, "dsn_raw_pitch_accuracy: accuracy");
    if (n && (!est_hz || !ref))
        return dsi_fail(dsi_error(DSN_E_INVALID, "est_hz and ref must not be NULL"), where);
    if (ref_unit != DSN_PITCH_HZ && ref_unit != DSN_PITCH_MIDI)
        return dsi_fail(dsi_error(DSN_E_INVALID, "unknown reference unit %d", (int)ref_unit), where);
    if (!(cents > 0) || !isfinite(cents))
        return dsi_fail(dsi_error(DSN_E_INVALID, "tolerance %g cents must be finite and > 0", cents), where);
    size_t bad_est = dsi_find_nonfinite(est_hz, n), bad_ref = dsi_find_nonfinite(ref, n);
    if (bad_est < n || bad_ref < n)
        return dsi_fail(
            dsi_error(DSN_E_NUMERIC, "non-finite pitch at frame %zu", bad_est < bad_ref ? bad_est : bad_ref), where);
    double rpa = 0, rca = 0;
    size_t nv = 0;
    if (ref_unit == DSN_PITCH_HZ) {
        dsi_pitch_accuracy(est_hz, ref, n, cents, &rpa, &rca, &nv);
    } else {
        /* convert in blocks on the stack: no allocation */
        float buf[256];
        size_t hit_nv = 0;
        double hit = 0, hitc = 0;
        for (size_t t0 = 0; t0 < n; t0 += 256) {
            size_t m = n - t0 < 256 ? n - t0 : 256, v = 0;
            for (size_t t = 0; t < m; t++)
                buf[t] = ref[t0 + t] > 0 ? (float)dsi_midi_to_hz(ref[t0 + t]) : 0.0f;
            double a = 0, b = 0;
            dsi_pitch_accuracy(est_hz + t0, buf, m, cents, &a, &b, &v);
            hit += a * (double)v;
            hitc += b * (double)v;
            hit_nv += v;
        }
        nv = hit_nv;
        rpa = nv ? hit / (double)nv : 0.0;
        rca = nv ? hitc / (double)nv : 0.0;
    }
    *accuracy = rpa;
    if (chroma) *chroma = rca;
    if (n_voiced) *n_voiced = nv;
    return DSN_OK;
}

dsn_status dsn_pitch_track(float *f0, size_t len, size_t *n_frames, const float *x, size_t n, int sample_rate,
                           const dsn_options *opts)
{
    static const char *const where = "dsn_pitch_track";
    DSI_CHECK_NULL(n_frames, "dsn_pitch_track: n_frames");
    DSI_CHECK_NULL(x, "dsn_pitch_track: x");
    if (sample_rate < 1 || sample_rate > 1536000)
        return dsi_fail(dsi_error(DSN_E_INVALID, "sample rate %d out of range", sample_rate), where);
    dsi_yin_opts o;
    dsi_yin_opts_default(&o);
    dsi_optr r;
    dsn_status st = dsi_optr_init(&r, opts, "pitch track");
    if (st != DSN_OK) return dsi_fail(st, where);
    dsi_opt_int(&r, "window", &o.window, 8, 1 << 20);
    dsi_opt_int(&r, "hop", &o.hop, 1, 1 << 20);
    dsi_opt_float(&r, "fmin", &o.fmin, 1e-3, 1e6);
    dsi_opt_float(&r, "fmax", &o.fmax, 1e-3, 1e6);
    dsi_opt_float(&r, "threshold", &o.threshold, 1e-6, 1.0);
    dsi_opt_float(&r, "max_aperiodicity", &o.max_aperiodicity, 0.0, 1e3);
    dsi_opt_float(&r, "silence", &o.silence, 0.0, 1e3);
    st = dsi_optr_finish(&r);
    if (st != DSN_OK) return dsi_fail(st, where);
    if (!(o.fmax > o.fmin) || o.fmax > sample_rate / 2.0f)
        return dsi_fail(dsi_error(DSN_E_OPTION, "need fmin < fmax <= sample_rate / 2 (fmin %g, fmax %g, rate %d)",
                                  (double)o.fmin, (double)o.fmax, sample_rate),
                        where);
    int T = dsi_yin_frames(&o, n);
    if (T < 1) return dsi_fail(dsi_error(DSN_E_SHAPE, "signal of %zu samples is too long", n), where);
    if (!f0) {
        *n_frames = (size_t)T;
        return DSN_OK;
    }
    if (len < (size_t)T)
        return dsi_fail(dsi_error(DSN_E_SHAPE, "f0 has room for %zu frames, %d needed", len, T), where);
    size_t bad = dsi_find_nonfinite(x, n);
    if (bad < n) return dsi_fail(dsi_error(DSN_E_NUMERIC, "non-finite sample at index %zu", bad), where);
    st = dsi_yin(x, n, sample_rate, &o, f0, NULL);
    if (st != DSN_OK) return dsi_fail(st, where);
    *n_frames = (size_t)T;
    return DSN_OK;
}

/* ---- disentanglement metrics ---------------------------------------------------- */

static dsn_status parse_continuous(const char *spec, size_t F, int8_t *kind)
{
    if (!strcmp(spec, "auto") || !strcmp(spec, "none") || !strcmp(spec, "all")) {
        int8_t k = spec[0] == 'a' && spec[1] == 'u' ? DSI_FACTOR_AUTO
                   : spec[0] == 'n'                 ? DSI_FACTOR_DISCRETE
                                                    : DSI_FACTOR_CONTINUOUS;
        for (size_t j = 0; j < F; j++) kind[j] = k;
        return DSN_OK;
    }
    for (size_t j = 0; j < F; j++) kind[j] = DSI_FACTOR_DISCRETE;
    const char *p = spec;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || (size_t)v >= F)
            return dsi_error(DSN_E_OPTION, "option 'continuous' = '%s': not auto, none, all or factor indices in [0, %zu) separated by ':'",
                             spec, F);
        kind[v] = DSI_FACTOR_CONTINUOUS;
        p = end;
        if (*p == ':' || *p == ',') p++;
        else if (*p) return dsi_error(DSN_E_OPTION, "option 'continuous' = '%s': unexpected '%c'", spec, *p);
    }
    return DSN_OK;
}

dsn_status dsn_factor_metrics(double *scores, size_t len, const char *metrics, const float *latents, size_t n,
                              size_t dim, const float *factors, size_t n_factors, const dsn_options *opts)
{
    static const char *const where = "dsn_factor_metrics";
    DSI_CHECK_NULL(scores, "dsn_factor_metrics: scores");
    DSI_CHECK_NULL(metrics, "dsn_factor_metrics: metrics");
    DSI_CHECK_NULL(latents, "dsn_factor_metrics: latents");
    DSI_CHECK_NULL(factors, "dsn_factor_metrics: factors");
    if (dim < 1 || n_factors < 1 || dim > 65536 || n_factors > 65536 || n > (size_t)INT_MAX ||
        n > SIZE_MAX / 8 / (dim > n_factors ? dim : n_factors))
        return dsi_fail(dsi_error(DSN_E_SHAPE, "%zu samples x %zu latents x %zu factors is out of range", n, dim, n_factors),
                        where);
    /* names -> indices */
    int order[64], n_names = 0, want[DSI_DIS_COUNT] = {0};
    const char *p = metrics;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        size_t l = strcspn(p, ", ");
        int first = -1, count = 1;
        if (l == 3 && !strncmp(p, "all", 3)) {
            first = 0;
            count = DSI_DIS_COUNT;
        } else if (l == 3 && !strncmp(p, "dci", 3)) {
            first = DSI_DIS_DCI_D;
            count = 3;
        } else {
            for (int k = 0; k < DSI_DIS_COUNT; k++)
                if (strlen(dsi_dis_names[k]) == l && !strncmp(p, dsi_dis_names[k], l)) first = k;
        }
        if (first < 0)
            return dsi_fail(dsi_error(DSN_E_INVALID, "unknown metric '%.*s' (mig, dci, dci_disentanglement, dci_completeness, dci_informativeness, sap, modularity, explicitness, all)",
                                      (int)l, p),
                            where);
        for (int k = 0; k < count; k++) {
            if (n_names == 64) return dsi_fail(dsi_error(DSN_E_INVALID, "more than 64 metric names"), where);
            order[n_names++] = first + k;
            want[first + k] = 1;
        }
        p += l;
    }
    if (n_names == 0) return dsi_fail(dsi_error(DSN_E_INVALID, "no metric named in '%s'", metrics), where);
    if (len < (size_t)n_names)
        return dsi_fail(dsi_error(DSN_E_SHAPE, "scores has room for %zu values, %d metrics asked", len, n_names),
                        where);
    dsi_dis_opts o;
    dsi_dis_opts_default(&o);
    char cont[DSI_OPT_VALUE] = "auto";
    float tf = o.train_fraction, lr = o.lr;
    dsi_optr r;
    dsn_status st = dsi_optr_init(&r, opts, "factor metrics");
    if (st != DSN_OK) return dsi_fail(st, where);
    dsi_opt_str(&r, "continuous", cont, sizeof cont);
    dsi_opt_int(&r, "bins", &o.bins, 2, 4096);
    dsi_opt_int(&r, "factor_bins", &o.factor_bins, 2, 4096);
    dsi_opt_int(&r, "max_classes", &o.max_classes, 2, DSI_DIS_MAX_CLASSES);
    dsi_opt_float(&r, "train_fraction", &tf, 0.01, 0.99);
    dsi_opt_u64(&r, "seed", &o.seed);
    dsi_opt_int(&r, "trees", &o.trees, 1, 100000);
    dsi_opt_int(&r, "depth", &o.depth, 1, 8);
    dsi_opt_float(&r, "lr", &lr, 1e-6, 10.0);
    dsi_opt_int(&r, "split_bins", &o.split_bins, 2, 255);
    st = dsi_optr_finish(&r);
    if (st != DSN_OK) return dsi_fail(st, where);
    o.train_fraction = tf;
    o.lr = lr;
    int8_t *kind = dsi_malloc(n_factors);
    if (!kind) return dsi_fail(dsi_error(DSN_E_NOMEM, "out of memory"), where);
    st = parse_continuous(cont, n_factors, kind);
    o.kind = kind;
    double all[DSI_DIS_COUNT];
    if (st == DSN_OK) st = dsi_disentangle(latents, n, (int)dim, factors, (int)n_factors, &o, want, all, NULL);
    dsi_free(kind);
    if (st != DSN_OK) return dsi_fail(st, where);
    for (int k = 0; k < n_names; k++) scores[k] = all[order[k]];
    return DSN_OK;
}
