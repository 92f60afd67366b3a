/* metrics.c - accuracy, confusion matrix, F1, raw pitch/chroma accuracy. */
#include "eval/metrics.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/sort.h"

#include <math.h>
#include <string.h>

double dsi_accuracy(const int32_t *truth, const int32_t *pred, size_t n)
{
    if (n == 0) return 0.0;
    size_t hit = 0;
    for (size_t i = 0; i < n; i++) hit += truth[i] == pred[i];
    return (double)hit / (double)n;
}

dsn_status dsi_confusion(const int32_t *truth, const int32_t *pred, size_t n, int K, uint64_t *counts)
{
    memset(counts, 0, sizeof(uint64_t) * (size_t)K * (size_t)K);
    for (size_t i = 0; i < n; i++) {
        int32_t a = truth[i], b = pred[i];
        if (a < 0 || a >= K || b < 0 || b >= K)
            return dsi_error(DSN_E_INVALID, "label pair (%d, %d) at index %zu is outside [0, %d)", (int)a, (int)b, i,
                             K);
        counts[(size_t)a * K + b]++;
    }
    return DSN_OK;
}

double dsi_f1_from_confusion(const uint64_t *counts, int K, double *f1)
{
    double sum = 0.0;
    int present = 0;
    for (int k = 0; k < K; k++) {
        uint64_t tp = counts[(size_t)k * K + k], row = 0, col = 0;
        for (int j = 0; j < K; j++) {
            row += counts[(size_t)k * K + j];
            col += counts[(size_t)j * K + k];
        }
        /* 2TP + FP + FN = row + col */
        double v = row + col ? 2.0 * (double)tp / (double)(row + col) : 0.0;
        if (f1) f1[k] = v;
        if (row + col) {
            sum += v;
            present++;
        }
    }
    return present ? sum / present : 0.0;
}

dsn_status dsi_macro_f1(const int32_t *truth, const int32_t *pred, size_t n, double *out)
{
    if (n == 0) {
        *out = 0.0;
        return DSN_OK;
    }
    int32_t *all = dsi_malloc(sizeof(int32_t) * 2 * n);
    if (!all) return dsi_error(DSN_E_NOMEM, "cannot allocate label scratch");
    memcpy(all, truth, sizeof(int32_t) * n);
    memcpy(all + n, pred, sizeof(int32_t) * n);
    const int K = (int)dsi_i32_sort_unique(all, 2 * n); /* all [0, K): the classes, ascending */
    /* per-class true positives, truth counts (row sums) and prediction counts (column sums) */
    uint64_t *c = dsi_calloc((size_t)K * 3, sizeof(uint64_t));
    if (!c) {
        dsi_free(all);
        return dsi_error(DSN_E_NOMEM, "cannot allocate %d class counters", K);
    }
    uint64_t *tp = c, *row = c + K, *col = c + 2 * K;
    for (size_t i = 0; i < n; i++) {
        int a = (int)dsi_i32_find(all, (size_t)K, truth[i]), b = (int)dsi_i32_find(all, (size_t)K, pred[i]);
        row[a]++;
        col[b]++;
        if (a == b) tp[a]++;
    }
    double sum = 0.0;
    for (int k = 0; k < K; k++) sum += 2.0 * (double)tp[k] / (double)(row[k] + col[k]);
    *out = sum / K;
    dsi_free(all);
    dsi_free(c);
    return DSN_OK;
}

void dsi_pitch_accuracy(const float *est_hz, const float *ref_hz, size_t n, double cents, double *rpa,
                        double *rca, size_t *n_voiced)
{
    size_t nv = 0, hit = 0, hitc = 0;
    for (size_t t = 0; t < n; t++) {
        if (!(ref_hz[t] > 0)) continue;
        nv++;
        if (!(est_hz[t] > 0)) continue;
        double dcent = 1200.0 * log2((double)est_hz[t] / (double)ref_hz[t]);
        if (fabs(dcent) <= cents) hit++;
        double fold = dcent - 1200.0 * floor(dcent / 1200.0 + 0.5);
        if (fabs(fold) <= cents) hitc++;
    }
    if (rpa) *rpa = nv ? (double)hit / (double)nv : 0.0;
    if (rca) *rca = nv ? (double)hitc / (double)nv : 0.0;
    if (n_voiced) *n_voiced = nv;
}
