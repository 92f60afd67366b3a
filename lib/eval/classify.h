/* classify.h - linear classifiers on feature matrices (internal).
 *
 * All three kinds end as one linear map on the raw features, so prediction is
 * one gemm: score_k(x) = x . W[:, k] + b_k, prediction = the class of the
 * largest score (ties: the smaller class value).
 *
 * Features are first standardised, z_j = (x_j - m_j) / s_j with the training
 * mean and population standard deviation (s_j = 1 for a constant feature),
 * unless the options say otherwise. The classifier keeps m and 1/s and
 * standardises each block of rows again before its gemm at prediction time
 * (folding them into W and b would lose float precision for features with
 * large offsets).
 *
 *  - logreg: multinomial logistic regression,
 *      f(V, c) = (1/n) sum_i [ logsumexp_k(s_ik) - s_i,y_i ] + (l2/2) ||V||_F^2,
 *      s_i = z_i V + c (the intercepts c are not penalised),
 *    minimised by L-BFGS (two-loop recursion, memory `history`) with a
 *    backtracking Armijo line search; stops when max |grad| <= tol, when an
 *    iteration lowers f by less than 1e-12 relative, or after max_iter. The
 *    two gemms per evaluation (Z V and Z^T (P - Y)) carry the work.
 *  - lda: Gaussian classes with a shared covariance, pooled within-class
 *      S = (1/(n - K)) sum_i (z_i - mu_y_i)(z_i - mu_y_i)^T,
 *    shrunk as S_a = (1 - a) S + a (tr S / d) I (a given, or Ledoit-Wolf's
 *    estimate when shrinkage < 0), then W[:, k] = S_a^-1 mu_k and
 *    b_k = -1/2 mu_k . W[:, k] + ln(n_k / n), with a Cholesky factorisation.
 *    Without shrinkage the result does not depend on the standardisation.
 *  - centroid: nearest class mean in Euclidean distance,
 *      argmin_k ||z - mu_k||^2 = argmax_k z . mu_k - ||mu_k||^2 / 2,
 *    on raw features by default (few-shot evaluation).
 *
 * Class labels may be any int32 values; they are kept sorted in `classes`. */
#ifndef DSI_EVAL_CLASSIFY_H
#define DSI_EVAL_CLASSIFY_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

typedef enum dsi_clf_kind { DSI_CLF_LOGREG = 0, DSI_CLF_LDA = 1, DSI_CLF_CENTROID = 2 } dsi_clf_kind;

typedef struct dsi_clf_opts {
    dsi_clf_kind kind;
    int standardize;   /* 1 for logreg and lda, 0 for centroid (dsi_clf_opts_default) */
    double l2;         /* logreg penalty (1e-4) */
    int max_iter;      /* logreg L-BFGS iterations (500) */
    double tol;        /* logreg: max |gradient| to stop at (1e-5) */
    int history;       /* logreg L-BFGS memory (10) */
    double shrinkage;  /* lda: 0..1, or < 0 for Ledoit-Wolf (0) */
} dsi_clf_opts;

void dsi_clf_opts_default(dsi_clf_opts *o, dsi_clf_kind kind);

typedef struct dsi_clf {
    dsi_clf_opts opts;
    int d, K;          /* features, classes (0 before a fit) */
    int32_t *classes;  /* [K] sorted class values */
    float *mean;       /* [d] feature means m (0 without standardisation) */
    float *scale;      /* [d] 1 / s (1 without standardisation) */
    float *W;          /* [d][K] on standardised features */
    float *b;          /* [K] */
    /* fit report */
    int iterations;    /* logreg: L-BFGS iterations; others 0 */
    int evaluations;   /* logreg: objective evaluations */
    int converged;     /* logreg: 1 if stopped by tol or by a stalled objective; others 1 */
    double objective;  /* logreg: final f; lda: the shrinkage used */
    double grad_max;   /* logreg: final max |gradient| */
} dsi_clf;

/* An empty classifier with options (checked: DSN_E_OPTION on a bad value). */
dsn_status dsi_clf_init(dsi_clf *c, const dsi_clf_opts *o);
void dsi_clf_free(dsi_clf *c);

/* Fit on x [n][d] (finite) with labels [n]; at least two distinct labels.
 * Replaces an earlier fit. Allocates scratch for the duration of the call
 * (logreg: about n * (d + 2K) floats). On failure the classifier is unfitted. */
dsn_status dsi_clf_fit(dsi_clf *c, const float *x, int n, int d, const int32_t *labels);

/* scores [n][K] = x W + b. x must be finite (else DSN_E_NUMERIC). */
dsn_status dsi_clf_scores(const dsi_clf *c, const float *x, int n, int d, float *scores);
/* Predicted class values [n]. Allocates a block of scores (at most 1024 rows). */
dsn_status dsi_clf_predict(const dsi_clf *c, const float *x, int n, int d, int32_t *pred);

/* The logreg objective f and its gradient (g [(d + 1) K]: V row-major [d][K]
 * then c [K]) at theta (same layout) on standardised features z [n][d] with
 * dense labels y in [0, K). Scratch s [n][K]. Exposed for the gradient test. */
double dsi_logreg_objective(const float *z, int n, int d, const int *y, int K, double l2, const double *theta,
                            double *g, float *s, float *vf, float *gf);

/* Cholesky factorisation in place of a symmetric positive definite a [n][n]
 * (lower triangle L with a = L L^T; the upper triangle is left as is).
 * Returns 0, or -1 if a pivot is not positive. */
int dsi_chol_factor(double *a, int n);
/* Solve L L^T x = b in place (b [n]) with the factor from dsi_chol_factor. */
void dsi_chol_solve(const double *l, int n, double *b);

#endif
