/* disentangle.c - MIG, DCI, SAP, modularity and explicitness (definitions in
 * disentangle.h and docs/metrics.md). */
#include "eval/disentangle.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "eval/classify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const dsi_dis_names[DSI_DIS_COUNT] = {
    "mig", "dci_disentanglement", "dci_completeness", "dci_informativeness", "sap", "modularity", "explicitness",
};

void dsi_dis_opts_default(dsi_dis_opts *o)
{
    memset(o, 0, sizeof *o);
    o->bins = 20;
    o->factor_bins = 20;
    o->max_classes = 64;
    o->train_fraction = 0.8f;
    o->trees = 100;
    o->depth = 3;
    o->lr = 0.1f;
    o->split_bins = 255;
}

void dsi_dis_detail_free(dsi_dis_detail *dt)
{
    if (!dt) return;
    dsi_free(dt->continuous);
    dsi_free(dt->classes);
    dsi_free(dt->entropy);
    dsi_free(dt->mi);
    dsi_free(dt->importance);
    dsi_free(dt->sap_matrix);
    dsi_free(dt->per_factor);
    memset(dt, 0, sizeof *dt);
}

/* ---- coding ---------------------------------------------------------------- */

void dsi_histogram_codes(const float *x, size_t n, size_t stride, int bins, int32_t *code)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v = x[i * stride];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    double w = hi - lo;
    for (size_t i = 0; i < n; i++) {
        int b = 0;
        if (w > 0) {
            b = (int)floor(((double)x[i * stride] - lo) / w * bins);
            if (b >= bins) b = bins - 1;
            if (b < 0) b = 0;
        }
        code[i] = b;
    }
}

double dsi_mutual_info(const int32_t *a, int Ka, const int32_t *b, int Kb, size_t n)
{
    if (n == 0) return 0.0;
    size_t *joint = dsi_calloc((size_t)Ka * Kb + Ka + Kb, sizeof(size_t));
    if (!joint) return NAN;
    size_t *ca = joint + (size_t)Ka * Kb, *cb = ca + Ka;
    for (size_t i = 0; i < n; i++) {
        joint[(size_t)a[i] * Kb + b[i]]++;
        ca[a[i]]++;
        cb[b[i]]++;
    }
    double mi = 0.0, N = (double)n;
    for (int p = 0; p < Ka; p++)
        for (int q = 0; q < Kb; q++) {
            size_t c = joint[(size_t)p * Kb + q];
            if (c) mi += (double)c / N * log((double)c * N / ((double)ca[p] * (double)cb[q]));
        }
    dsi_free(joint);
    return mi > 0 ? mi : 0.0; /* rounding can give -1e-17 */
}

static double entropy_of(const int32_t *a, int K, size_t n)
{
    size_t *c = dsi_calloc((size_t)K, sizeof(size_t));
    if (!c) return NAN;
    for (size_t i = 0; i < n; i++) c[a[i]]++;
    double h = 0.0;
    for (int k = 0; k < K; k++)
        if (c[k]) h -= (double)c[k] / (double)n * log((double)c[k] / (double)n);
    dsi_free(c);
    return h;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Code factor j into classes [0, K); kind resolved. */
static dsn_status code_factor(const float *f, size_t n, int F, int j, int kind_in, const dsi_dis_opts *o,
                              int32_t *code, int *K_out, int8_t *kind_out, double *scratch)
{
    int integral = 1;
    for (size_t i = 0; i < n; i++) {
        double v = f[i * F + j];
        scratch[i] = v;
        if (v != floor(v)) integral = 0;
    }
    qsort(scratch, n, sizeof(double), cmp_double);
    size_t distinct = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) distinct += scratch[i] != scratch[i - 1];
    if (distinct < 2) return dsi_error(DSN_E_INVALID, "factor %d is constant (one value over %zu samples): no metric is defined for it", j, n);
    int kind = kind_in;
    if (kind == DSI_FACTOR_AUTO) kind = integral && distinct <= (size_t)o->max_classes ? DSI_FACTOR_DISCRETE : DSI_FACTOR_CONTINUOUS;
    if (kind == DSI_FACTOR_DISCRETE) {
        if (distinct > DSI_DIS_MAX_CLASSES)
            return dsi_error(DSN_E_INVALID, "factor %d has %zu distinct values, more than %d classes: mark it continuous (it is then binned into %d bins)",
                             j, distinct, DSI_DIS_MAX_CLASSES, o->factor_bins);
        size_t u = 0;
        for (size_t i = 0; i < n; i++)
            if (i == 0 || scratch[i] != scratch[i - 1]) scratch[u++] = scratch[i];
        for (size_t i = 0; i < n; i++) {
            double v = f[i * F + j];
            size_t lo = 0, hi = u; /* binary search */
            while (hi - lo > 1) {
                size_t mid = (lo + hi) / 2;
                if (scratch[mid] <= v) lo = mid;
                else hi = mid;
            }
            code[i] = (int32_t)lo;
        }
        *K_out = (int)u;
    } else {
        dsi_histogram_codes(f + j, n, (size_t)F, o->factor_bins, code);
        int map[4096], K = 0; /* factor_bins <= 4096 */
        for (int b = 0; b < o->factor_bins; b++) map[b] = -1;
        for (size_t i = 0; i < n; i++) map[code[i]] = 0;
        for (int b = 0; b < o->factor_bins; b++)
            if (map[b] == 0) map[b] = K++;
        for (size_t i = 0; i < n; i++) code[i] = map[code[i]];
        *K_out = K;
    }
    *kind_out = (int8_t)kind;
    if ((size_t)*K_out * 2 > n)
        return dsi_error(DSN_E_SHAPE, "factor %d has %d classes but only %zu samples: the metrics need at least two samples per class on average (a continuous factor can be binned: option continuous)",
                         j, *K_out, n);
    return DSN_OK;
}

/* ---- gradient boosted trees --------------------------------------------------- */

typedef struct gbt_node {
    int feature, thr; /* split: bin <= thr goes left; feature -1 = leaf */
    int left;         /* index of the left child (right = left + 1) */
    double value;     /* leaf value */
} gbt_node;

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* split candidates of column j of x: edges[0..ne) increasing; bin(v) = #edges <= v.
 * A column with at most B distinct values gets the midpoints between them
 * (every split exact); otherwise the midpoints between neighbours at the B
 * quantiles. */
static int make_edges(const float *x, size_t n, int d, int j, int B, float *col, float *edges)
{
    for (size_t i = 0; i < n; i++) col[i] = x[i * d + j];
    qsort(col, n, sizeof(float), cmp_float);
    int ne = 0, distinct = 1;
    for (size_t i = 1; i < n && distinct <= B; i++) distinct += col[i] != col[i - 1];
    if (distinct <= B) {
        for (size_t i = 1; i < n; i++)
            if (col[i] != col[i - 1]) edges[ne++] = col[i - 1] + 0.5f * (col[i] - col[i - 1]);
        return ne;
    }
    for (int b = 1; b < B; b++) {
        size_t i = (size_t)b * n / (size_t)B;
        while (i < n && col[i] == col[i - 1]) i++; /* a threshold between two different values */
        if (i >= n) break;
        float e = col[i - 1] + 0.5f * (col[i] - col[i - 1]);
        if (ne == 0 || e > edges[ne - 1]) edges[ne++] = e;
    }
    return ne;
}

static uint8_t bin_of(const float *edges, int ne, float v)
{
    int lo = 0, hi = ne; /* count of edges <= v */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (edges[mid] <= v) lo = mid + 1;
        else hi = mid;
    }
    return (uint8_t)lo;
}

dsn_status dsi_gbt_importance(const float *x, const int32_t *y, size_t n, int d, int K, const float *xt,
                              const int32_t *yt, size_t m, const dsi_dis_opts *o, double *importance,
                              double *accuracy)
{
    const int B = o->split_bins < 2 ? 2 : (o->split_bins > 255 ? 255 : o->split_bins);
    /* bins 0..B-1 (B - 1 edges at most; uint8 codes) */
    const int depth = o->depth, max_nodes = (1 << (depth + 1)) - 1, max_level = 1 << depth;
    const size_t nb = (size_t)d * B;
    uint8_t *bx = dsi_malloc(n * (size_t)d + m * (size_t)d + 1);
    float *edges = dsi_malloc(sizeof(float) * (size_t)d * B), *col = dsi_malloc(sizeof(float) * (n > 0 ? n : 1));
    double *raw = dsi_calloc((n + m) * (size_t)K + 1, sizeof(double));
    double *p = dsi_malloc(sizeof(double) * (n * (size_t)K + 1)), *r = dsi_malloc(sizeof(double) * (n + 1));
    double *hs = dsi_malloc(sizeof(double) * (size_t)max_level * nb), *hc = dsi_malloc(sizeof(double) * (size_t)max_level * nb);
    int *nes = dsi_malloc(sizeof(int) * (size_t)d), *node_of = dsi_malloc(sizeof(int) * (n + m + 1));
    gbt_node *nodes = dsi_malloc(sizeof(gbt_node) * (size_t)max_nodes);
    double *imp = dsi_calloc((size_t)d, sizeof(double)), *tree_imp = dsi_malloc(sizeof(double) * (size_t)d);
    double *num = dsi_malloc(sizeof(double) * (size_t)max_nodes * 2);
    dsn_status st = DSN_OK;
    if (!bx || !edges || !col || !raw || !p || !r || !hs || !hc || !nes || !node_of || !nodes || !imp || !tree_imp || !num) {
        st = dsi_error(DSN_E_NOMEM, "cannot allocate the boosted trees' scratch (%zu samples x %d latents)", n, d);
        goto done;
    }
    uint8_t *bt = bx + n * (size_t)d;
    for (int j = 0; j < d; j++) {
        float *e = edges + (size_t)j * B;
        nes[j] = make_edges(x, n, d, j, B, col, e);
        for (size_t i = 0; i < n; i++) bx[i * d + j] = bin_of(e, nes[j], x[i * d + j]);
        for (size_t i = 0; i < m; i++) bt[i * d + j] = bin_of(e, nes[j], xt[i * d + j]);
    }
    /* prior: log class frequency (an absent class gets half a count) */
    {
        double *cnt = p; /* borrow */
        for (int k = 0; k < K; k++) cnt[k] = 0;
        for (size_t i = 0; i < n; i++) cnt[y[i]] += 1;
        double lp[256];
        double *lpk = K <= 256 ? lp : dsi_malloc(sizeof(double) * (size_t)K);
        if (!lpk) {
            st = dsi_error(DSN_E_NOMEM, "out of memory");
            goto done;
        }
        for (int k = 0; k < K; k++) lpk[k] = log((cnt[k] > 0 ? cnt[k] : 0.5) / (double)n);
        for (size_t i = 0; i < n + m; i++)
            for (int k = 0; k < K; k++) raw[i * K + k] = lpk[k];
        if (lpk != lp) dsi_free(lpk);
    }
    int relevant = 0;
    for (int round = 0; round < o->trees; round++) {
        /* softmax of the raw scores at the start of the round */
        for (size_t i = 0; i < n; i++) {
            const double *ri = raw + i * K;
            double mx = ri[0], s = 0;
            for (int k = 1; k < K; k++) mx = ri[k] > mx ? ri[k] : mx;
            for (int k = 0; k < K; k++) s += (p[i * K + k] = exp(ri[k] - mx));
            for (int k = 0; k < K; k++) p[i * K + k] /= s;
        }
        for (int k = 0; k < K; k++) {
            for (size_t i = 0; i < n; i++) {
                r[i] = (y[i] == k) - p[i * K + k];
                node_of[i] = 0;
            }
            memset(tree_imp, 0, sizeof(double) * (size_t)d);
            int n_nodes = 1, level_start = 0, level_count = 1, split_any = 0;
            nodes[0].feature = -1;
            for (int lev = 0; lev < depth; lev++) {
                memset(hs, 0, sizeof(double) * (size_t)level_count * nb);
                memset(hc, 0, sizeof(double) * (size_t)level_count * nb);
                for (size_t i = 0; i < n; i++) {
                    int q = node_of[i] - level_start;
                    if (q < 0) continue; /* sits in a leaf of an earlier level */
                    double *hsq = hs + (size_t)q * nb, *hcq = hc + (size_t)q * nb;
                    const uint8_t *bi = bx + i * d;
                    for (int j = 0; j < d; j++) {
                        hsq[(size_t)j * B + bi[j]] += r[i];
                        hcq[(size_t)j * B + bi[j]] += 1;
                    }
                }
                int next_start = n_nodes, next_count = 0;
                for (int q = 0; q < level_count; q++) {
                    int id = level_start + q;
                    const double *hsq = hs + (size_t)q * nb, *hcq = hc + (size_t)q * nb;
                    double S = 0, N = 0;
                    for (int b = 0; b < B; b++) {
                        S += hsq[b];
                        N += hcq[b];
                    }
                    double best = 1e-12 * (N > 0 ? N : 1), base = N > 0 ? S * S / N : 0;
                    int bf = -1, bthr = 0;
                    if (N >= 2)
                        for (int j = 0; j < d; j++) {
                            double SL = 0, NL = 0;
                            for (int b = 0; b < nes[j]; b++) {
                                SL += hsq[(size_t)j * B + b];
                                NL += hcq[(size_t)j * B + b];
                                double NR = N - NL;
                                if (NL < 1 || NR < 1) continue;
                                double SR = S - SL, gain = SL * SL / NL + SR * SR / NR - base;
                                if (gain > best) {
                                    best = gain;
                                    bf = j;
                                    bthr = b;
                                }
                            }
                        }
                    nodes[id].feature = bf;
                    if (bf >= 0) {
                        nodes[id].thr = bthr;
                        nodes[id].left = next_start + next_count;
                        nodes[nodes[id].left].feature = -1;
                        nodes[nodes[id].left + 1].feature = -1;
                        next_count += 2;
                        tree_imp[bf] += best / (double)n;
                        split_any = 1;
                    }
                }
                if (!next_count) break;
                /* route the samples of split nodes */
                for (size_t i = 0; i < n; i++) {
                    int id = node_of[i];
                    if (id < level_start || nodes[id].feature < 0) {
                        if (id >= level_start) node_of[i] = -1 - id; /* finished leaf */
                        continue;
                    }
                    node_of[i] = nodes[id].left + (bx[i * d + nodes[id].feature] > nodes[id].thr);
                }
                n_nodes += next_count;
                level_start = next_start;
                level_count = next_count;
            }
            /* Newton leaf values */
            for (int id = 0; id < n_nodes; id++) num[2 * id] = num[2 * id + 1] = 0;
            for (size_t i = 0; i < n; i++) {
                int id = node_of[i] < 0 ? -1 - node_of[i] : node_of[i];
                double pk = p[i * K + k];
                num[2 * id] += r[i];
                num[2 * id + 1] += pk * (1 - pk);
                node_of[i] = id;
            }
            for (int id = 0; id < n_nodes; id++)
                if (nodes[id].feature < 0)
                    nodes[id].value = num[2 * id + 1] < 1e-150 ? 0.0
                                                               : (double)(K - 1) / K * num[2 * id] / num[2 * id + 1];
            for (size_t i = 0; i < n; i++) raw[i * K + k] += o->lr * nodes[node_of[i]].value;
            for (size_t i = 0; i < m; i++) {
                int id = 0;
                while (nodes[id].feature >= 0) id = nodes[id].left + (bt[i * d + nodes[id].feature] > nodes[id].thr);
                raw[(n + i) * K + k] += o->lr * nodes[id].value;
            }
            if (split_any) {
                relevant++;
                for (int j = 0; j < d; j++) imp[j] += tree_imp[j];
            }
        }
    }
    double tot = 0;
    for (int j = 0; j < d; j++) tot += imp[j];
    for (int j = 0; j < d; j++) importance[j] = tot > 0 ? imp[j] / tot : 0.0;
    (void)relevant; /* the mean over relevant trees cancels in the normalisation */
    if (accuracy) {
        size_t hit = 0;
        for (size_t i = 0; i < m; i++) {
            const double *ri = raw + (n + i) * K;
            int best = 0;
            for (int k = 1; k < K; k++)
                if (ri[k] > ri[best]) best = k;
            hit += best == yt[i];
        }
        *accuracy = m ? (double)hit / (double)m : 0.0;
    }
done:
    dsi_free(bx); dsi_free(edges); dsi_free(col); dsi_free(raw); dsi_free(p); dsi_free(r);
    dsi_free(hs); dsi_free(hc); dsi_free(nes); dsi_free(node_of); dsi_free(nodes); dsi_free(imp);
    dsi_free(tree_imp); dsi_free(num);
    return st;
}

/* ---- ROC-AUC -------------------------------------------------------------------- */

typedef struct auc_item {
    float s;
    uint8_t pos;
} auc_item;

static int cmp_auc(const void *a, const void *b)
{
    float x = ((const auc_item *)a)->s, y = ((const auc_item *)b)->s;
    return (x > y) - (x < y);
}

double dsi_roc_auc(const float *s, const uint8_t *pos, size_t n)
{
    size_t np = 0;
    for (size_t i = 0; i < n; i++) np += pos[i] != 0;
    if (np == 0 || np == n) return -1.0;
    auc_item *it = dsi_malloc(sizeof(auc_item) * n);
    if (!it) return -2.0;
    for (size_t i = 0; i < n; i++) it[i] = (auc_item){s[i], pos[i] != 0};
    qsort(it, n, sizeof(auc_item), cmp_auc);
    double rank_sum = 0; /* Mann-Whitney U with mid-ranks for ties */
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b + 1 < n && it[b + 1].s == it[a].s) b++;
        double mid = 0.5 * ((double)a + (double)b) + 1.0;
        for (size_t t = a; t <= b; t++)
            if (it[t].pos) rank_sum += mid;
        a = b + 1;
    }
    dsi_free(it);
    double nn = (double)(n - np);
    return (rank_sum - (double)np * ((double)np + 1) / 2.0) / ((double)np * nn);
}

/* ---- the metrics ------------------------------------------------------------------ */

static double entropy_base(const double *v, int n, size_t stride, int base)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += v[(size_t)i * stride];
    if (!(s > 0) || base < 2) return 0.0;
    double h = 0;
    for (int i = 0; i < n; i++) {
        double q = v[(size_t)i * stride] / s;
        if (q > 0) h -= q * log(q);
    }
    return h / log((double)base);
}

/* top-1 minus top-2 of column j of a [d][F] matrix (second = 0 with d = 1) */
static double gap(const double *a, int d, int F, int j)
{
    double t1 = -INFINITY, t2 = -INFINITY;
    for (int i = 0; i < d; i++) {
        double v = a[(size_t)i * F + j];
        if (v > t1) {
            t2 = t1;
            t1 = v;
        } else if (v > t2) {
            t2 = v;
        }
    }
    return d == 1 ? t1 : t1 - t2;
}

dsn_status dsi_disentangle(const float *z, size_t n, int d, const float *f, int F, const dsi_dis_opts *o,
                           const int *want, double *out, dsi_dis_detail *detail)
{
    for (int k = 0; k < DSI_DIS_COUNT; k++) out[k] = 0.0;
    if (n < 2 || d < 1 || F < 1) return dsi_error(DSN_E_SHAPE, "need at least 2 samples, 1 latent and 1 factor (got %zu, %d, %d)", n, d, F);
    if (o->bins < 2 || o->factor_bins < 2 || o->factor_bins > 4096 || o->max_classes < 2 || o->depth < 1 ||
        o->depth > 8 || o->trees < 1 || !(o->lr > 0) || !(o->train_fraction > 0 && o->train_fraction < 1))
        return dsi_error(DSN_E_OPTION, "metric options out of range");
    for (size_t i = 0; i < n * (size_t)d; i++)
        if (!isfinite(z[i])) return dsi_error(DSN_E_NUMERIC, "latent %zu of sample %zu is not finite", i % (size_t)d, i / (size_t)d);
    for (size_t i = 0; i < n * (size_t)F; i++)
        if (!isfinite(f[i])) return dsi_error(DSN_E_NUMERIC, "factor %zu of sample %zu is not finite", i % (size_t)F, i / (size_t)F);
    const int need_split = want[DSI_DIS_DCI_D] || want[DSI_DIS_DCI_C] || want[DSI_DIS_DCI_I] || want[DSI_DIS_SAP] ||
                           want[DSI_DIS_EXPLICITNESS];
    dsn_status st = DSN_OK;
    int32_t *fc = dsi_malloc(sizeof(int32_t) * n * (size_t)F);
    double *scratch = dsi_malloc(sizeof(double) * n);
    int *K = dsi_malloc(sizeof(int) * (size_t)F);
    int8_t *kind = dsi_malloc((size_t)F);
    double *H = dsi_malloc(sizeof(double) * (size_t)F), *mi = dsi_calloc((size_t)d * F, sizeof(double));
    double *R = NULL, *S = NULL, *perf = dsi_calloc((size_t)DSI_DIS_COUNT * F, sizeof(double));
    int *perm = NULL;
    float *ztr = NULL, *zte = NULL, *col = NULL, *scores = NULL;
    int32_t *ytr = NULL, *yte = NULL, *pred = NULL;
    uint8_t *posv = NULL;
    if (!fc || !scratch || !K || !kind || !H || !mi || !perf) {
        st = dsi_error(DSN_E_NOMEM, "cannot allocate the metrics' scratch for %zu samples", n);
        goto done;
    }
    /* factors */
    for (int j = 0; j < F; j++) {
        int32_t *cj = dsi_malloc(sizeof(int32_t) * n);
        if (!cj) {
            st = dsi_error(DSN_E_NOMEM, "out of memory");
            goto done;
        }
        st = code_factor(f, n, F, j, o->kind ? o->kind[j] : DSI_FACTOR_AUTO, o, cj, &K[j], &kind[j], scratch);
        for (size_t i = 0; i < n && st == DSN_OK; i++) fc[i * F + j] = cj[i];
        if (st == DSN_OK) H[j] = entropy_of(cj, K[j], n);
        dsi_free(cj);
        if (st != DSN_OK) goto done;
    }
    /* MI between binned latents and factors (column-major scratch) */
    {
        int32_t *a = dsi_malloc(sizeof(int32_t) * n), *b = dsi_malloc(sizeof(int32_t) * n);
        if (!a || !b) {
            dsi_free(a);
            dsi_free(b);
            st = dsi_error(DSN_E_NOMEM, "out of memory");
            goto done;
        }
        for (int i = 0; i < d; i++) {
            dsi_histogram_codes(z + i, n, (size_t)d, o->bins, a);
            for (int j = 0; j < F; j++) {
                for (size_t s = 0; s < n; s++) b[s] = fc[s * F + j];
                mi[(size_t)i * F + j] = dsi_mutual_info(a, o->bins, b, K[j], n);
            }
        }
        dsi_free(a);
        dsi_free(b);
    }
    if (want[DSI_DIS_MIG]) {
        double s = 0;
        for (int j = 0; j < F; j++) s += (perf[DSI_DIS_MIG * F + j] = gap(mi, d, F, j) / H[j]);
        out[DSI_DIS_MIG] = s / F;
    }
    if (want[DSI_DIS_MODULARITY]) {
        double s = 0;
        for (int i = 0; i < d; i++) {
            double mx = 0, sum = 0;
            for (int j = 0; j < F; j++) {
                double q = mi[(size_t)i * F + j] * mi[(size_t)i * F + j];
                sum += q;
                mx = q > mx ? q : mx;
            }
            s += mx > 0 ? 1.0 - (F > 1 ? (sum - mx) / (mx * (F - 1)) : 0.0) : 0.0;
        }
        out[DSI_DIS_MODULARITY] = s / d;
    }
    if (need_split) {
        size_t ntr = (size_t)llround((double)o->train_fraction * (double)n);
        if (ntr < 1) ntr = 1;
        if (ntr > n - 1) ntr = n - 1;
        size_t nte = n - ntr;
        perm = dsi_malloc(sizeof(int) * n);
        ztr = dsi_malloc(sizeof(float) * n * (size_t)d);
        col = dsi_malloc(sizeof(float) * n);
        ytr = dsi_malloc(sizeof(int32_t) * n);
        pred = dsi_malloc(sizeof(int32_t) * n);
        posv = dsi_malloc(n);
        if (!perm || !ztr || !col || !ytr || !pred || !posv) {
            st = dsi_error(DSN_E_NOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n; i++) perm[i] = (int)i;
        dsi_rng rng;
        dsi_rng_seed(&rng, o->seed);
        dsi_rng_shuffle(&rng, perm, n);
        for (size_t i = 0; i < n; i++) memcpy(ztr + i * d, z + (size_t)perm[i] * d, sizeof(float) * (size_t)d);
        zte = ztr + ntr * d;
        yte = ytr + ntr;
        for (int j = 0; j < F; j++) {
            size_t present = 0;
            for (size_t i = 0; i < n; i++) ytr[i] = fc[(size_t)perm[i] * F + j];
            for (int k = 0; k < K[j]; k++)
                for (size_t i = 0; i < ntr; i++)
                    if (ytr[i] == k) {
                        present++;
                        break;
                    }
            if (present < 2)
                st = dsi_error(DSN_E_SHAPE, "factor %d: the %zu training samples hold %zu class(es); at least 2 are needed (more samples or a larger train_fraction)", j, ntr, present);
            if (st != DSN_OK) goto done;
        }
        if (want[DSI_DIS_DCI_D] || want[DSI_DIS_DCI_C] || want[DSI_DIS_DCI_I]) {
            R = dsi_calloc((size_t)d * F, sizeof(double));
            double *col_imp = dsi_malloc(sizeof(double) * (size_t)d);
            if (!R || !col_imp) {
                dsi_free(col_imp);
                st = dsi_error(DSN_E_NOMEM, "out of memory");
                goto done;
            }
            double acc_sum = 0;
            for (int j = 0; j < F && st == DSN_OK; j++) {
                for (size_t i = 0; i < n; i++) ytr[i] = fc[(size_t)perm[i] * F + j];
                double acc = 0;
                st = dsi_gbt_importance(ztr, ytr, ntr, d, K[j], zte, yte, nte, o, col_imp, &acc);
                for (int i = 0; i < d; i++) R[(size_t)i * F + j] = col_imp[i];
                perf[DSI_DIS_DCI_I * F + j] = acc;
                acc_sum += acc;
            }
            dsi_free(col_imp);
            if (st != DSN_OK) goto done;
            double tot = 0;
            for (size_t q = 0; q < (size_t)d * F; q++) tot += R[q];
            double dis = 0, com = 0;
            if (tot > 0) {
                for (int i = 0; i < d; i++) {
                    double ri = 0;
                    for (int j = 0; j < F; j++) ri += R[(size_t)i * F + j];
                    dis += ri / tot * (1.0 - (F > 1 ? entropy_base(R + (size_t)i * F, F, 1, F) : 0.0));
                }
                for (int j = 0; j < F; j++) {
                    double rj = 0;
                    for (int i = 0; i < d; i++) rj += R[(size_t)i * F + j];
                    com += rj / tot * (1.0 - (d > 1 ? entropy_base(R + j, d, (size_t)F, d) : 0.0));
                }
            }
            out[DSI_DIS_DCI_D] = want[DSI_DIS_DCI_D] ? dis : 0.0;
            out[DSI_DIS_DCI_C] = want[DSI_DIS_DCI_C] ? com : 0.0;
            out[DSI_DIS_DCI_I] = want[DSI_DIS_DCI_I] ? acc_sum / F : 0.0;
        }
        if (want[DSI_DIS_SAP] || want[DSI_DIS_EXPLICITNESS]) {
            int maxK = 2;
            for (int j = 0; j < F; j++) maxK = K[j] > maxK ? K[j] : maxK;
            scores = dsi_malloc(sizeof(float) * n * (size_t)maxK);
            if (!scores) {
                st = dsi_error(DSN_E_NOMEM, "out of memory");
                goto done;
            }
        }
        if (want[DSI_DIS_SAP]) {
            S = dsi_calloc((size_t)d * F, sizeof(double));
            if (!S) {
                st = dsi_error(DSN_E_NOMEM, "out of memory");
                goto done;
            }
            double sap = 0;
            for (int j = 0; j < F && st == DSN_OK; j++) {
                for (size_t i = 0; i < n; i++) ytr[i] = fc[(size_t)perm[i] * F + j];
                for (int i = 0; i < d && st == DSN_OK; i++) {
                    for (size_t s = 0; s < n; s++) col[s] = ztr[s * d + i];
                    double sc = 0;
                    if (kind[j] == DSI_FACTOR_CONTINUOUS) {
                        /* squared correlation with the factor's value on the training part */
                        double mz = 0, mf = 0, czz = 0, cff = 0, czf = 0;
                        for (size_t s = 0; s < ntr; s++) {
                            mz += col[s];
                            mf += f[(size_t)perm[s] * F + j];
                        }
                        mz /= (double)ntr;
                        mf /= (double)ntr;
                        for (size_t s = 0; s < ntr; s++) {
                            double a = col[s] - mz, b = f[(size_t)perm[s] * F + j] - mf;
                            czz += a * a;
                            cff += b * b;
                            czf += a * b;
                        }
                        sc = czz > 1e-12 * (double)ntr && cff > 0 ? czf * czf / (czz * cff) : 0.0;
                    } else {
                        dsi_clf c;
                        dsi_clf_opts co;
                        dsi_clf_opts_default(&co, DSI_CLF_LOGREG);
                        st = dsi_clf_init(&c, &co);
                        if (st == DSN_OK) st = dsi_clf_fit(&c, col, (int)ntr, 1, ytr);
                        if (st == DSN_OK) st = dsi_clf_predict(&c, col + ntr, (int)nte, 1, pred);
                        if (st == DSN_OK) {
                            size_t hit = 0;
                            for (size_t s = 0; s < nte; s++) hit += pred[s] == yte[s];
                            sc = (double)hit / (double)nte;
                        }
                        dsi_clf_free(&c);
                    }
                    S[(size_t)i * F + j] = sc;
                }
                if (st == DSN_OK) sap += (perf[DSI_DIS_SAP * F + j] = gap(S, d, F, j));
            }
            if (st != DSN_OK) goto done;
            out[DSI_DIS_SAP] = sap / F;
        }
        if (want[DSI_DIS_EXPLICITNESS]) {
            double ex = 0;
            for (int j = 0; j < F && st == DSN_OK; j++) {
                for (size_t i = 0; i < n; i++) ytr[i] = fc[(size_t)perm[i] * F + j];
                dsi_clf c;
                dsi_clf_opts co;
                dsi_clf_opts_default(&co, DSI_CLF_LOGREG);
                co.l2 = 1.0 / (double)ntr;
                st = dsi_clf_init(&c, &co);
                if (st == DSN_OK) st = dsi_clf_fit(&c, ztr, (int)ntr, d, ytr);
                if (st == DSN_OK) st = dsi_clf_scores(&c, zte, (int)nte, d, scores);
                if (st == DSN_OK) {
                    /* macro AUC over the fitted classes; softmax is monotone per
                     * row but not per column, so rank the probabilities */
                    const int Kc = c.K;
                    for (size_t s = 0; s < nte; s++) {
                        float *row = scores + s * Kc, mx = row[0];
                        double sum = 0;
                        for (int k = 1; k < Kc; k++) mx = row[k] > mx ? row[k] : mx;
                        for (int k = 0; k < Kc; k++) sum += (row[k] = expf(row[k] - mx));
                        for (int k = 0; k < Kc; k++) row[k] = (float)(row[k] / sum);
                    }
                    double auc_sum = 0;
                    int used = 0;
                    for (int k = 0; k < Kc; k++) {
                        for (size_t s = 0; s < nte; s++) {
                            posv[s] = yte[s] == c.classes[k];
                            col[s] = scores[s * Kc + k];
                        }
                        double a = dsi_roc_auc(col, posv, nte);
                        if (a < -1.5) {
                            st = dsi_error(DSN_E_NOMEM, "out of memory");
                            break;
                        }
                        if (a >= 0) {
                            auc_sum += a;
                            used++;
                        }
                    }
                    double e = used ? auc_sum / used : 0.5;
                    perf[DSI_DIS_EXPLICITNESS * F + j] = e;
                    ex += e;
                }
                dsi_clf_free(&c);
            }
            if (st != DSN_OK) goto done;
            out[DSI_DIS_EXPLICITNESS] = ex / F;
        }
    }
    if (detail) {
        memset(detail, 0, sizeof *detail);
        detail->d = d;
        detail->F = F;
        detail->continuous = kind;
        detail->classes = K;
        detail->entropy = H;
        detail->mi = mi;
        detail->importance = R;
        detail->sap_matrix = S;
        detail->per_factor = perf;
        kind = NULL;
        K = NULL;
        H = mi = R = S = perf = NULL;
    }
done:
    if (st != DSN_OK)
        for (int k = 0; k < DSI_DIS_COUNT; k++) out[k] = 0.0;
    dsi_free(fc); dsi_free(scratch); dsi_free(K); dsi_free(kind); dsi_free(H); dsi_free(mi);
    dsi_free(R); dsi_free(S); dsi_free(perf); dsi_free(perm); dsi_free(ztr); dsi_free(col); dsi_free(scores);
    dsi_free(ytr); dsi_free(pred); dsi_free(posv);
    return st;
}
