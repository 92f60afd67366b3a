/* disentangle.h - disentanglement metrics of a latent space against known
 * factors of variation (internal; docs/metrics.md).
 *
 * Inputs: latents z [n][d] (any model's codes, e.g. posterior means) and
 * factors f [n][F] (ground truth). Definitions and estimators follow
 * google-research/disentanglement_lib (mig.py, dci.py, sap_score.py,
 * modularity_explicitness.py, utils.py):
 *
 *  Factor coding. A factor is discrete (its distinct values are the classes)
 *  or continuous (binned into factor_bins equal-width bins over [min, max],
 *  numpy.histogram + digitize as in utils._histogram_discretize; empty bins
 *  are dropped). Kind per factor: forced by the caller, or "auto": discrete
 *  if every value is an integer and there are at most max_classes distinct
 *  values, else continuous. A constant factor, a discrete factor with more
 *  than DSI_DIS_MAX_CLASSES classes, or fewer than two samples per class
 *  (n < 2 K) is an error (never a silent 0).
 *  Latent coding (MIG, modularity): every latent dimension is binned into
 *  `bins` equal-width bins the same way.
 *
 *  MI[i][j] = mutual information (nats) between binned latent i and factor j
 *  over all n samples (sklearn's mutual_info_score); H[j] = entropy of
 *  factor j.
 *  MIG = mean_j (MI_(1)j - MI_(2)j) / H[j], the gap between the largest and
 *        second largest MI of factor j (with one latent, the second is 0).
 *  modularity = mean_i (1 - delta_i), delta_i = (sum_j MI_ij^2 - max_j MI_ij^2)
 *        / (max_j MI_ij^2 (F - 1)); a latent with max MI 0 scores 0; with one
 *        factor delta = 0.
 *  The rest fit models on a seeded split (train_fraction for training, the
 *  rest for testing):
 *  DCI: per factor, a multinomial gradient boosted tree classifier (our own:
 *        `trees` rounds, depth `depth`, shrinkage lr, least-squares trees on
 *        the softmax residuals with Newton leaf values, like sklearn's
 *        GradientBoostingClassifier defaults; split thresholds between
 *        the distinct values of a latent when it has at most split_bins of
 *        them, else at split_bins quantiles, not every distinct value).
 *        R[i][j] = importance of latent i for factor j (total squared-error
 *        decrease of its splits per root sample, averaged over trees,
 *        normalised to sum 1 per factor).
 *        disentanglement = sum_i rho_i (1 - H_F(R[i][.] / sum_j R[i][j])),
 *          rho_i = sum_j R[i][j] / sum R, H_F entropy in base F;
 *        completeness = sum_j rho_j (1 - H_d(R[.][j] / sum_i R[i][j])),
 *          rho_j = sum_i R[i][j] / sum R, entropy in base d;
 *        informativeness = mean_j test accuracy of the classifier of j.
 *        (With F = 1 disentanglement is 1 and with d = 1 completeness is 1.)
 *  SAP: score S[i][j] = test accuracy of a one-feature classifier of factor j
 *        from latent i (discrete factor; multinomial logistic regression where
 *        disentanglement_lib uses LinearSVC(C=0.01)), or the squared Pearson
 *        correlation on the training part (continuous factor, as
 *        disentanglement_lib's continuous_factors=True; 0 for a constant
 *        latent); SAP = mean_j (S_(1)j - S_(2)j).
 *  explicitness = mean_j of the macro one-vs-rest ROC-AUC on the test part
 *        of a multinomial logistic regression of factor j on all standardised
 *        latents with sklearn's default penalty (C = 1: l2 = 1 / n_train);
 *        classes with no positive or no negative test item are skipped. */
#ifndef DSI_EVAL_DISENTANGLE_H
#define DSI_EVAL_DISENTANGLE_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

#define DSI_DIS_MAX_CLASSES 1024

enum {
    DSI_DIS_MIG = 0,
    DSI_DIS_DCI_D,
    DSI_DIS_DCI_C,
    DSI_DIS_DCI_I,
    DSI_DIS_SAP,
    DSI_DIS_MODULARITY,
    DSI_DIS_EXPLICITNESS,
    DSI_DIS_COUNT
};

/* "mig", "dci_disentanglement", "dci_completeness", "dci_informativeness",
 * "sap", "modularity", "explicitness" (index = the enum above). */
extern const char *const dsi_dis_names[DSI_DIS_COUNT];

enum { DSI_FACTOR_AUTO = -1, DSI_FACTOR_DISCRETE = 0, DSI_FACTOR_CONTINUOUS = 1 };

typedef struct dsi_dis_opts {
    int bins;             /* latent histogram bins (20) */
    int factor_bins;      /* bins of a continuous factor (20) */
    int max_classes;      /* auto rule (64) */
    float train_fraction; /* (0.8) */
    uint64_t seed;        /* split (0) */
    int trees, depth;     /* DCI GBT (100, 3) */
    float lr;             /* DCI GBT shrinkage (0.1) */
    int split_bins;       /* DCI GBT split candidates per latent (255, at most 255) */
    const int8_t *kind;   /* [F] DSI_FACTOR_*, or NULL = all auto */
} dsi_dis_opts;

void dsi_dis_opts_default(dsi_dis_opts *o);

/* Everything one run computed, for reports and tests (arrays allocated by
 * dsi_disentangle, released by dsi_dis_detail_free). */
typedef struct dsi_dis_detail {
    int d, F;
    int8_t *continuous; /* [F] the kind used */
    int *classes;       /* [F] classes after coding */
    double *entropy;    /* [F] H[j] */
    double *mi;         /* [d][F] */
    double *importance; /* [d][F] DCI R (NULL unless DCI ran) */
    double *sap_matrix; /* [d][F] S (NULL unless SAP ran) */
    double *per_factor; /* [DSI_DIS_COUNT][F]: MIG, -, -, accuracy, SAP gap, -, AUC per factor (0 where not run) */
} dsi_dis_detail;

void dsi_dis_detail_free(dsi_dis_detail *dt);

/* Compute the metrics with want[k] != 0 into out[k] (others left 0).
 * z and f must be finite (DSN_E_NUMERIC). detail may be NULL. Allocates
 * scratch for the duration of the call. */
dsn_status dsi_disentangle(const float *z, size_t n, int d, const float *f, int F, const dsi_dis_opts *o,
                           const int *want, double *out, dsi_dis_detail *detail);

/* Equal-width histogram codes of x[i * stride], i < n, into code [n]:
 * bin = min(floor((x - min) / (max - min) * bins), bins - 1); a constant
 * column gives all 0. */
void dsi_histogram_codes(const float *x, size_t n, size_t stride, int bins, int32_t *code);
/* Mutual information (nats) of two codings a in [0, Ka), b in [0, Kb). */
double dsi_mutual_info(const int32_t *a, int Ka, const int32_t *b, int Kb, size_t n);

/* Multinomial gradient boosted trees (the DCI importance model): fit on
 * x_train [n][d], y in [0, K); importance [d] (normalised to sum 1, or all 0
 * when no tree split); accuracy on x_test [m][d] with y_test (m may be 0:
 * accuracy 0). */
dsn_status dsi_gbt_importance(const float *x, const int32_t *y, size_t n, int d, int K, const float *xt,
                              const int32_t *yt, size_t m, const dsi_dis_opts *o, double *importance,
                              double *accuracy);

/* ROC-AUC of scores s [n] for binary truth pos [n] (ties share ranks);
 * -1 if there is no positive or no negative item, -2 if out of memory. */
double dsi_roc_auc(const float *s, const uint8_t *pos, size_t n);

#endif
