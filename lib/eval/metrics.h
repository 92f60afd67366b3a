/* metrics.h - classification and pitch metrics (internal).
 *
 * Classification (labels are any int32 values):
 *   accuracy   = (1/n) sum_i [pred_i == truth_i]
 *   confusion  C[a][b] = #{i : truth_i = class a, pred_i = class b}
 *   F1 of class k = 2 TP_k / (2 TP_k + FP_k + FN_k), TP_k = C[k][k],
 *     FP_k = sum_a C[a][k] - TP_k, FN_k = sum_b C[k][b] - TP_k
 *   macro-F1   = mean of F1_k over the classes that occur in truth or pred
 *                (scikit-learn's f1_score(average="macro") with its default
 *                labels).
 *
 * Pitch (mir_eval.melody conventions): frequencies are compared in cents,
 * c(f) = 1200 log2(f / 10 Hz). Over the frames where the reference is voiced
 * (> 0):
 *   raw pitch accuracy  = fraction with an estimate > 0 and
 *                         |c(est) - c(ref)| <= tolerance (50 cents);
 *   raw chroma accuracy = the same with the difference folded to the nearest
 *                         octave: |d - 1200 round(d / 1200)| <= tolerance.
 * Unvoiced estimates (<= 0) count as misses. */
#ifndef DSI_EVAL_METRICS_H
#define DSI_EVAL_METRICS_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

double dsi_accuracy(const int32_t *truth, const int32_t *pred, size_t n);

/* counts [K][K] (rows: truth) for labels in [0, K); DSN_E_INVALID on a label
 * outside that range. */
dsn_status dsi_confusion(const int32_t *truth, const int32_t *pred, size_t n, int K, uint64_t *counts);

/* Per-class F1 from a confusion matrix [K][K] into f1 [K] (classes with no
 * true and no predicted item get 0); returns the mean over the classes that
 * occur (0 if none). */
double dsi_f1_from_confusion(const uint64_t *counts, int K, double *f1);

/* macro-F1 over the union of the label values (allocates scratch). */
dsn_status dsi_macro_f1(const int32_t *truth, const int32_t *pred, size_t n, double *out);

/* Raw pitch and chroma accuracy of est_hz against ref_hz over n frames.
 * rpa, rca and n_voiced may be NULL. No voiced reference frame gives 0. */
void dsi_pitch_accuracy(const float *est_hz, const float *ref_hz, size_t n, double cents, double *rpa,
                        double *rca, size_t *n_voiced);

#endif
