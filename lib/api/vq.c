/* vq.c - public calls of the VQ-VAE family: codebook statistics, stages,
 * sampling settings, prior bits per code, and int32 code access on
 * encodings. The only API file that names a family: these calls exist for
 * models with discrete codes, and fail with DSN_E_UNSUPPORTED on others. */
#include "api/dataset.h"
#include "core/alloc.h"
#include "core/error.h"
#include "models/vq_vae.h"

#include <math.h>
#include <string.h>

#define VQ_BATCH 64

static dsn_status need_vq(const dsn_model *m, const char *fn)
{
    if (!m) return dsi_error(DSN_E_INVALID, "%s: model must not be NULL", fn);
    if (!dsi_vqvae_is(m))
        return dsi_error(DSN_E_UNSUPPORTED, "%s: model '%s' has no codebook (vq-vae only)", fn, m->vt->name);
    return DSN_OK;
}

static void fill_stats(const dsi_vq_stats *s, int K, dsn_codebook_stats *out)
{
    memset(out, 0, sizeof *out);
    out->num_codes = K;
    out->perplexity = s->perplexity;
    out->used_fraction = s->used_frac;
    out->used = s->used;
    out->dead = s->dead;
    out->total_perplexity = s->acc_perplexity;
    out->total_used_fraction = s->acc_used_frac;
    out->steps = s->steps;
    out->restarts = s->restarts;
}

dsn_status dsn_model_codebook_stats(const dsn_model *m, dsn_codebook_stats *out)
{
    dsn_status st = need_vq(m, "dsn_model_codebook_stats");
    if (st != DSN_OK) return st;
    DSI_CHECK_NULL(out, "dsn_model_codebook_stats: out");
    dsi_vq_stats s;
    dsi_vqvae_stats(m, &s);
    fill_stats(&s, dsi_vqvae_num_codes(m), out);
    return DSN_OK;
}

/* Encode ds in batches; per batch call fn(codes, n). */
typedef dsn_status (*batch_fn)(const dsn_model *m, dsi_tape *t, const int32_t *codes, size_t n, void *ctx);

static dsn_status over_dataset(const dsn_model *m, const dsn_dataset *ds, batch_fn fn, void *ctx, const char *name)
{
    DSI_CHECK_NULL(ds, "dataset");
    const dsi_dataset *d = ds->d;
    if (d->obs_size != m->obs_size)
        return dsi_error(DSN_E_SHAPE, "%s: observations of %zu floats, the model wants %zu", name, d->obs_size,
                         m->obs_size);
    size_t P = (size_t)dsi_vqvae_positions(m);
    int32_t *codes = dsi_malloc(sizeof(int32_t) * VQ_BATCH * P);
    dsi_tape t;
    dsi_tape_init(&t);
    dsi_tape_set_recording(&t, 0);
    dsn_status st = codes ? DSN_OK : dsi_error(DSN_E_NOMEM, "%s: out of memory", name);
    for (size_t i = 0; st == DSN_OK && i < d->n; i += VQ_BATCH) {
        size_t n = d->n - i < VQ_BATCH ? d->n - i : VQ_BATCH;
        dsi_tape_reset(&t);
        st = dsi_vqvae_encode_codes(m, &t, d->x + i * d->obs_size, n, codes);
        if (st == DSN_OK) st = fn(m, &t, codes, n, ctx);
    }
    dsi_tape_release(&t);
    dsi_free(codes);
    return st;
}

static dsn_status count_codes(const dsn_model *m, dsi_tape *t, const int32_t *codes, size_t n, void *ctx)
{
    (void)t;
    double *hist = ctx;
    size_t R = n * (size_t)dsi_vqvae_positions(m);
    for (size_t i = 0; i < R; i++) hist[codes[i]] += 1.0;
    return DSN_OK;
}

dsn_status dsn_model_code_usage(const dsn_model *m, const dsn_dataset *ds, dsn_codebook_stats *out)
{
    dsn_status st = need_vq(m, "dsn_model_code_usage");
    if (st != DSN_OK) return st;
    DSI_CHECK_NULL(out, "dsn_model_code_usage: out");
    DSI_CHECK_NULL(ds, "dsn_model_code_usage: dataset");
    int K = dsi_vqvae_num_codes(m);
    double *hist = dsi_calloc((size_t)K, sizeof(double));
    if (!hist) return dsi_error(DSN_E_NOMEM, "dsn_model_code_usage: out of memory");
    st = over_dataset(m, ds, count_codes, hist, "dsn_model_code_usage");
    if (st == DSN_OK) {
        dsi_vq_stats s;
        dsi_vqvae_stats(m, &s);
        int used = 0;
        for (int k = 0; k < K; k++) used += hist[k] > 0.0;
        fill_stats(&s, K, out);
        out->perplexity = out->total_perplexity = dsi_vq_perplexity(hist, K);
        out->used = used;
        out->used_fraction = out->total_used_fraction = (double)used / K;
        out->dead = 0;
    }
    dsi_free(hist);
    if (st != DSN_OK) dsi_error_prefix("dsn_model_code_usage");
    return st;
}

typedef struct nll_acc {
    double sum;
    size_t n;
} nll_acc;

static dsn_status add_nll(const dsn_model *m, dsi_tape *t, const int32_t *codes, size_t n, void *ctx)
{
    nll_acc *a = ctx;
    double nats;
    dsn_status st = dsi_vqvae_prior_nll(m, t, codes, n, &nats);
    if (st != DSN_OK) return st;
    a->sum += nats * (double)n;
    a->n += n;
    return DSN_OK;
}

dsn_status dsn_model_prior_bits(const dsn_model *m, const dsn_dataset *ds, double *bits)
{
    dsn_status st = need_vq(m, "dsn_model_prior_bits");
    if (st != DSN_OK) return st;
    DSI_CHECK_NULL(ds, "dsn_model_prior_bits: dataset");
    DSI_CHECK_NULL(bits, "dsn_model_prior_bits: bits_per_code");
    if (dsn_dataset_size(ds) == 0) return dsi_error(DSN_E_INVALID, "dsn_model_prior_bits: empty dataset");
    nll_acc a = {0.0, 0};
    st = over_dataset(m, ds, add_nll, &a, "dsn_model_prior_bits");
    if (st != DSN_OK) {
        dsi_error_prefix("dsn_model_prior_bits");
        return st;
    }
    *bits = a.sum / (double)a.n / log(2.0);
    return DSN_OK;
}

dsn_status dsn_model_set_stage(dsn_model *m, const char *stage)
{
    dsn_status st = need_vq(m, "dsn_model_set_stage");
    if (st != DSN_OK) return st;
    DSI_CHECK_NULL(stage, "dsn_model_set_stage: stage");
    int s;
    if (!strcmp(stage, "autoencoder")) s = DSI_VQ_STAGE_AE;
    else if (!strcmp(stage, "prior")) s = DSI_VQ_STAGE_PRIOR;
    else return dsi_error(DSN_E_INVALID, "dsn_model_set_stage: unknown stage '%.32s' (autoencoder, prior)", stage);
    st = dsi_vqvae_set_stage(m, s);
    if (st != DSN_OK) dsi_error_prefix("dsn_model_set_stage");
    return st;
}

const char *dsn_model_stage(const dsn_model *m)
{
    if (!dsi_vqvae_is(m)) return NULL;
    return dsi_vqvae_stage(m) == DSI_VQ_STAGE_PRIOR ? "prior" : "autoencoder";
}

dsn_status dsn_model_set_sampling(dsn_model *m, float temperature, int top_k)
{
    dsn_status st = need_vq(m, "dsn_model_set_sampling");
    if (st != DSN_OK) return st;
    if (!(temperature >= 0.0f) || !isfinite(temperature) || top_k < 0)
        return dsi_error(DSN_E_INVALID, "dsn_model_set_sampling: temperature %g must be finite and >= 0, top_k %d >= 0",
                         (double)temperature, top_k);
    dsi_vqvae_set_sampling(m, temperature, top_k);
    return DSN_OK;
}

static dsn_status codes_part(const dsn_encoding *e, const char *part, const char *fn, int *p)
{
    if (!e) return dsi_error(DSN_E_INVALID, "%s: encoding must not be NULL", fn);
    *p = dsi_model_part_index(e->model, part);
    if (*p < 0)
        return dsi_error(DSN_E_INVALID, "%s: model '%s' has no part '%.32s'", fn, e->model->vt->name,
                         part ? part : "(null)");
    if (e->model->parts[*p].kind != DSI_PART_CODES || !e->parts[*p].codes)
        return dsi_error(DSN_E_INVALID, "%s: part '%s' has no codes", fn, part);
    return DSN_OK;
}

dsn_status dsn_encoding_get_codes(const dsn_encoding *e, const char *part, int32_t *out, size_t len, size_t *rows)
{
    int p;
    dsn_status st = codes_part(e, part, "dsn_encoding_get_codes", &p);
    if (st != DSN_OK) return st;
    const dsi_part_data *pd = &e->parts[p];
    if (rows) *rows = pd->rows;
    if (!out) return DSN_OK;
    if (len < pd->rows)
        return dsi_error(DSN_E_SHAPE, "dsn_encoding_get_codes: buffer holds %zu codes, part '%s' has %zu", len, part,
                         pd->rows);
    memcpy(out, pd->codes, pd->rows * sizeof(int32_t));
    return DSN_OK;
}

dsn_status dsn_encoding_set_codes(dsn_encoding *e, const char *part, const int32_t *codes, size_t rows)
{
    int p;
    dsn_status st = codes_part(e, part, "dsn_encoding_set_codes", &p);
    if (st != DSN_OK) return st;
    DSI_CHECK_NULL(codes, "dsn_encoding_set_codes: codes");
    dsi_part_data *pd = &e->parts[p];
    if (rows != pd->rows)
        return dsi_error(DSN_E_SHAPE, "dsn_encoding_set_codes: part '%s' has %zu rows, got %zu", part, pd->rows, rows);
    if (!dsi_vqvae_is(e->model))
        return dsi_error(DSN_E_UNSUPPORTED, "dsn_encoding_set_codes: model '%s' has no codebook", e->model->vt->name);
    st = dsi_vqvae_codes_to_values(e->model, codes, rows, pd->value);
    if (st != DSN_OK) {
        dsi_error_prefix("dsn_encoding_set_codes");
        return st;
    }
    memcpy(pd->codes, codes, rows * sizeof(int32_t));
    return DSN_OK;
}
