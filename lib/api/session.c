/* session.c - dsn_session: per-thread scratch for encode / decode / sample.
 * The session owns an inference tape (no gradients); its arena grows during
 * the first call of each kind and is then reused, so after warm-up these
 * calls do not allocate, lock or do I/O. */
#include "api/check.h"
#include "api/groups.h"
#include "core/alloc.h"
#include "core/error.h"
#include "api/encoding.h"

#include <math.h>
#include <string.h>

struct dsn_session {
    const dsn_model *model;
    size_t max_items;
    dsi_tape tape;
    int32_t *dense, *seen;   /* [max_items] group scratch */
    dsi_rng rng;
};

dsn_status dsn_session_create(dsn_session **out, const dsn_model *m, size_t max_items)
{
    if (out) *out = NULL;
    dsn_status st = dsi_check_create(out, m, max_items, "dsn_session_create");
    if (st != DSN_OK) return st;
    dsn_session *s = dsi_calloc(1, sizeof *s);
    if (!s) return dsi_error(DSN_E_NOMEM, "dsn_session_create: out of memory");
    s->model = m;
    s->max_items = max_items;
    dsi_tape_init(&s->tape);
    dsi_tape_set_recording(&s->tape, 0);
    s->dense = dsi_calloc(max_items, sizeof(int32_t));
    s->seen = dsi_calloc(max_items, sizeof(int32_t));
    dsi_rng_seed(&s->rng, m->seed ^ 0x5e5510aULL);
    if (!s->dense || !s->seen) {
        dsn_session_free(s);
        return dsi_error(DSN_E_NOMEM, "dsn_session_create: out of memory");
    }
    *out = s;
    return DSN_OK;
}

void dsn_session_free(dsn_session *s)
{
    if (!s) return;
    dsi_tape_release(&s->tape);
    dsi_free(s->dense);
    dsi_free(s->seen);
    dsi_free(s);
}

dsn_status dsn_encode(dsn_session *s, dsn_encoding *enc, const float *x, size_t n, const dsn_batch_args *args)
{
    const char *fn = "dsn_encode";
    dsn_batch_args a;
    dsn_status st = dsi_batch_args_read(&a, args, fn);
    if (st != DSN_OK) return st;
    const int32_t *groups = a.groups;
    const float *mask = a.mask;
    const char *part = a.part;
    if (!s || !enc || !x)
        return dsi_error(DSN_E_INVALID, "%s: %s must not be NULL", fn, !s ? "session" : !enc ? "encoding" : "x");
    const dsn_model *m = s->model;
    if (enc->model != m) return dsi_error(DSN_E_INVALID, "%s: the encoding belongs to another model", fn);
    if (n == 0 || n > s->max_items || n > enc->lat.max_items)
        return dsi_error(DSN_E_SHAPE, "%s: %zu items, session holds %zu and encoding %zu", fn, n, s->max_items,
                         enc->lat.max_items);
    int only = -1;
    if (part && (only = dsi_model_part_index(m, part)) < 0)
        return dsi_error(DSN_E_INVALID, "%s: the %s model has no part '%.64s'", fn, m->vt->name, part);
    st = dsi_check_obs(x, n, m->obs_size, fn);
    if (st == DSN_OK) st = dsi_check_mask(m, mask, n, fn);
    if (st != DSN_OK) return st;
    size_t g = dsi_dense_groups(groups, n, s->dense, s->seen);
    dsi_input in = {x, n, s->dense, g, mask, only + 1};
    dsi_tape_reset(&s->tape);
    enc->lat.n_items = n;
    enc->lat.n_groups = g;
    memcpy(enc->lat.group_of, s->dense, n * sizeof(int32_t));
    for (int p = 0; p < m->n_parts; p++) enc->lat.parts[p].rows = dsi_part_rows(&m->parts[p], n, g);
    st = m->vt->encode(m, &s->tape, &in, &enc->lat);
    if (st != DSN_OK) {
        dsi_error_prefix(fn);
        return st;
    }
    for (int p = 0; only >= 0 && p < m->n_parts; p++) {
        if (p == only) continue;
        /* parts not asked for read as zeros, whether the model skipped them or not */
        dsi_part_data *pd = &enc->lat.parts[p];
        size_t k = pd->rows * (size_t)m->parts[p].dim;
        memset(pd->mean, 0, k * sizeof(float));
        memset(pd->logvar, 0, k * sizeof(float));
        memset(pd->value, 0, k * sizeof(float));
        if (pd->codes) memset(pd->codes, 0, pd->rows * sizeof(int32_t));
    }
    return DSN_OK;
}

dsn_status dsn_decode(dsn_session *s, float *out, size_t out_len, const dsn_encoding *enc)
{
    DSI_CHECK_NULL(s, "dsn_decode: session");
    DSI_CHECK_NULL(enc, "dsn_decode: encoding");
    DSI_CHECK_NULL(out, "dsn_decode: out");
    const dsn_model *m = s->model;
    if (enc->model != m) return dsi_error(DSN_E_INVALID, "dsn_decode: the encoding belongs to another model");
    if (enc->lat.n_items == 0) return dsi_error(DSN_E_STATE, "dsn_decode: the encoding is empty (encode or sample first)");
    if (enc->lat.n_items > s->max_items)
        return dsi_error(DSN_E_SHAPE, "dsn_decode: %zu items, session holds %zu", enc->lat.n_items, s->max_items);
    if (out_len < enc->lat.n_items * m->obs_size)
        return dsi_error(DSN_E_SHAPE, "dsn_decode: out holds %zu floats, need %zu", out_len, enc->lat.n_items * m->obs_size);
    dsi_tape_reset(&s->tape);
    dsn_status st = m->vt->decode(m, &s->tape, &enc->lat, out);
    if (st != DSN_OK) dsi_error_prefix("dsn_decode");
    return st;
}

dsn_status dsn_encoding_prepare(dsn_encoding *enc, size_t n_items, const int32_t *groups)
{
    DSI_CHECK_NULL(enc, "dsn_encoding_prepare: encoding");
    if (n_items == 0 || n_items > enc->lat.max_items)
        return dsi_error(DSN_E_SHAPE, "dsn_encoding_prepare: %zu items, encoding holds %zu", n_items, enc->lat.max_items);
    size_t g = dsi_dense_groups(groups, n_items, enc->lat.group_of, enc->scratch);
    enc->lat.n_items = n_items;
    enc->lat.n_groups = g;
    const dsn_model *m = enc->model;
    for (int p = 0; p < m->n_parts; p++) {
        dsi_part_data *pd = &enc->lat.parts[p];
        pd->rows = dsi_part_rows(&m->parts[p], n_items, g);
        size_t nf = pd->rows * (size_t)m->parts[p].dim;
        memset(pd->value, 0, nf * sizeof(float));
        if (pd->mean) memset(pd->mean, 0, nf * sizeof(float));
        if (pd->logvar) memset(pd->logvar, 0, nf * sizeof(float));
    }
    return DSN_OK;
}

dsn_status dsn_sample(dsn_session *s, dsn_encoding *enc, const char *part, uint64_t seed)
{
    DSI_CHECK_NULL(s, "dsn_sample: session");
    DSI_CHECK_NULL(enc, "dsn_sample: encoding");
    const dsn_model *m = s->model;
    if (enc->model != m) return dsi_error(DSN_E_INVALID, "dsn_sample: the encoding belongs to another model");
    int p = dsi_model_part_index(m, part);
    if (p < 0) return dsi_error(DSN_E_INVALID, "dsn_sample: model '%s' has no part '%.32s'", m->vt->name, part ? part : "(null)");
    if (enc->lat.n_items == 0) return dsi_error(DSN_E_STATE, "dsn_sample: the encoding is empty (encode or prepare it first)");
    if (!m->vt->sample) return dsi_error(DSN_E_UNSUPPORTED, "dsn_sample: model '%s' cannot sample", m->vt->name);
    dsi_rng_seed(&s->rng, seed);
    dsi_tape_reset(&s->tape);
    dsn_status st = m->vt->sample(m, &s->tape, &enc->lat, p, &s->rng);
    if (st != DSN_OK) dsi_error_prefix("dsn_sample");
    return st;
}
