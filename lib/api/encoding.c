/* encoding.c - dsn_encoding: named latent parts a host can hold, read, write
 * and swap. Every buffer is sized for max_items at creation, so nothing here
 * allocates afterwards (real-time safe). */
#include "api/check.h"
#include "core/alloc.h"
#include "core/error.h"
#include "api/encoding.h"

#include <string.h>

static size_t max_rows(const dsi_part_desc *p, size_t max_items)
{
    /* a GROUP-scoped part never has more rows than there are items */
    return dsi_part_rows(p, max_items, max_items);
}

dsn_status dsn_encoding_create(dsn_encoding **out, const dsn_model *m, size_t max_items)
{
    if (out) *out = NULL;
    dsn_status st = dsi_check_create(out, m, max_items, "dsn_encoding_create");
    if (st != DSN_OK) return st;
    dsn_encoding *e = dsi_calloc(1, sizeof *e);
    if (!e) return dsi_error(DSN_E_NOMEM, "dsn_encoding_create: out of memory");
    e->model = m;
    e->lat.max_items = max_items;
    e->lat.n_parts = m->n_parts;
    e->lat.group_of = dsi_calloc(max_items, sizeof *e->lat.group_of);
    e->scratch = dsi_calloc(max_items, sizeof *e->scratch);
    int ok = e->lat.group_of != NULL && e->scratch != NULL;
    for (int p = 0; ok && p < m->n_parts; p++) {
        const dsi_part_desc *d = &m->parts[p];
        dsi_part_data *pd = &e->lat.parts[p];
        pd->max_rows = max_rows(d, max_items);
        size_t nf = pd->max_rows * (size_t)d->dim;
        pd->value = dsi_aligned_alloc(nf * sizeof(float) + 1);
        ok = pd->value != NULL;
        if (ok && d->kind == DSI_PART_GAUSSIAN) {
            pd->mean = dsi_aligned_alloc(nf * sizeof(float) + 1);
            pd->logvar = dsi_aligned_alloc(nf * sizeof(float) + 1);
            ok = pd->mean && pd->logvar;
        }
        if (ok && d->kind == DSI_PART_CODES) {
            pd->codes = dsi_calloc(pd->max_rows + 1, sizeof(int32_t));
            ok = pd->codes != NULL;
        }
    }
    if (!ok) {
        dsn_encoding_free(e);
        return dsi_error(DSN_E_NOMEM, "dsn_encoding_create: out of memory for %zu items", max_items);
    }
    *out = e;
    return DSN_OK;
}

void dsn_encoding_free(dsn_encoding *e)
{
    if (!e) return;
    for (int p = 0; p < DSI_MAX_PARTS; p++) {
        dsi_aligned_free(e->lat.parts[p].mean);
        dsi_aligned_free(e->lat.parts[p].logvar);
        dsi_aligned_free(e->lat.parts[p].value);
        dsi_free(e->lat.parts[p].codes);
    }
    dsi_free(e->lat.group_of);
    dsi_free(e->scratch);
    dsi_free(e);
}

dsn_status dsn_encoding_groups(const dsn_encoding *e, int32_t *groups, size_t len, size_t *n_items, size_t *n_groups)
{
    DSI_CHECK_NULL(e, "dsn_encoding_groups: encoding");
    if (n_items) *n_items = e->lat.n_items;
    if (n_groups) *n_groups = e->lat.n_groups;
    if (!groups) return DSN_OK; /* size query */
    if (len < e->lat.n_items)
        return dsi_error(DSN_E_SHAPE, "dsn_encoding_groups: groups holds %zu, the encoding has %zu items", len, e->lat.n_items);
    memcpy(groups, e->lat.group_of, e->lat.n_items * sizeof(int32_t));
    return DSN_OK;
}

static int find_part(const dsn_encoding *e, const char *part)
{
    return e ? dsi_model_part_index(e->model, part) : -1;
}

static float *field_ptr(dsi_part_data *pd, const char *field)
{
    if (!field || !strcmp(field, "value")) return pd->value;
    if (!strcmp(field, "mean")) return pd->mean;
    if (!strcmp(field, "logvar")) return pd->logvar;
    return NULL;
}

dsn_status dsn_encoding_get(const dsn_encoding *e, float *out, size_t len, size_t *rows, size_t *dim,
                            const char *part, const char *field)
{
    DSI_CHECK_NULL(e, "dsn_encoding_get: encoding");
    int p = find_part(e, part);
    if (p < 0) return dsi_error(DSN_E_INVALID, "dsn_encoding_get: model '%s' has no part '%.32s'", e->model->vt->name, part ? part : "(null)");
    dsi_part_data *pd = (dsi_part_data *)&e->lat.parts[p];
    const float *src = field_ptr(pd, field);
    if (!src) return dsi_error(DSN_E_INVALID, "dsn_encoding_get: part '%s' has no field '%.32s' (value, mean, logvar)", part, field);
    size_t d = (size_t)e->model->parts[p].dim, n = pd->rows * d;
    if (rows) *rows = pd->rows;
    if (dim) *dim = d;
    if (!out) return DSN_OK; /* size query */
    if (len < n) return dsi_error(DSN_E_SHAPE, "dsn_encoding_get: buffer holds %zu floats, part '%s' needs %zu", len, part, n);
    memcpy(out, src, n * sizeof(float));
    return DSN_OK;
}

dsn_status dsn_encoding_set(dsn_encoding *e, const char *part, const char *field, const float *data, size_t rows)
{
    DSI_CHECK_NULL(e, "dsn_encoding_set: encoding");
    DSI_CHECK_NULL(data, "dsn_encoding_set: data");
    int p = find_part(e, part);
    if (p < 0) return dsi_error(DSN_E_INVALID, "dsn_encoding_set: model '%s' has no part '%.32s'", e->model->vt->name, part ? part : "(null)");
    dsi_part_data *pd = &e->lat.parts[p];
    float *dst = field_ptr(pd, field);
    if (!dst) return dsi_error(DSN_E_INVALID, "dsn_encoding_set: part '%s' has no field '%.32s'", part, field);
    if (rows != pd->rows)
        return dsi_error(DSN_E_SHAPE, "dsn_encoding_set: part '%s' has %zu rows, got %zu", part, pd->rows, rows);
    size_t n = rows * (size_t)e->model->parts[p].dim;
    for (size_t i = 0; i < n; i++)
        if (!(data[i] == data[i]) || data[i] > 3.0e38f || data[i] < -3.0e38f)
            return dsi_error(DSN_E_NUMERIC, "dsn_encoding_set: value %zu is not finite", i);
    memcpy(dst, data, n * sizeof(float));
    return DSN_OK;
}

static void swap_floats(float *a, float *b, size_t n)
{
    if (!a || !b) return;
    for (size_t i = 0; i < n; i++) {
        float t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
}

dsn_status dsn_swap(dsn_encoding *a, dsn_encoding *b, const char *part)
{
    DSI_CHECK_NULL(a, "dsn_swap: a");
    DSI_CHECK_NULL(b, "dsn_swap: b");
    if (a->model != b->model) return dsi_error(DSN_E_INVALID, "dsn_swap: encodings of different models");
    int p = find_part(a, part);
    if (p < 0) return dsi_error(DSN_E_INVALID, "dsn_swap: model '%s' has no part '%.32s'", a->model->vt->name, part ? part : "(null)");
    dsi_part_data *pa = &a->lat.parts[p], *pb = &b->lat.parts[p];
    if (pa->rows != pb->rows)
        return dsi_error(DSN_E_SHAPE, "dsn_swap: part '%s' has %zu rows in a and %zu in b", part, pa->rows, pb->rows);
    size_t n = pa->rows * (size_t)a->model->parts[p].dim;
    swap_floats(pa->value, pb->value, n);
    swap_floats(pa->mean, pb->mean, n);
    swap_floats(pa->logvar, pb->logvar, n);
    if (pa->codes)
        for (size_t i = 0; i < pa->rows; i++) {
            int32_t t = pa->codes[i];
            pa->codes[i] = pb->codes[i];
            pb->codes[i] = t;
        }
    return DSN_OK;
}

dsn_status dsn_encoding_copy_item(dsn_encoding *dst, size_t dst_item, const dsn_encoding *src, size_t src_item,
                                  const char *part)
{
    DSI_CHECK_NULL(dst, "dsn_encoding_copy_item: dst");
    DSI_CHECK_NULL(src, "dsn_encoding_copy_item: src");
    if (dst->model != src->model) return dsi_error(DSN_E_INVALID, "dsn_encoding_copy_item: encodings of different models");
    int p = find_part(dst, part);
    if (p < 0) return dsi_error(DSN_E_INVALID, "dsn_encoding_copy_item: no part '%.32s'", part ? part : "(null)");
    if (dst_item >= dst->lat.n_items || src_item >= src->lat.n_items)
        return dsi_error(DSN_E_INVALID, "dsn_encoding_copy_item: item %zu/%zu out of range (%zu/%zu items)", dst_item,
                         src_item, dst->lat.n_items, src->lat.n_items);
    const dsi_part_desc *d = &dst->model->parts[p];
    size_t per = d->scope == DSI_SCOPE_FRAME || d->scope == DSI_SCOPE_POSITION ? (size_t)d->per_item : 1;
    size_t rd = d->scope == DSI_SCOPE_GROUP ? (size_t)dst->lat.group_of[dst_item] : dst_item * per;
    size_t rs = d->scope == DSI_SCOPE_GROUP ? (size_t)src->lat.group_of[src_item] : src_item * per;
    size_t n = per * (size_t)d->dim, od = rd * (size_t)d->dim, os = rs * (size_t)d->dim;
    const dsi_part_data *ps = &src->lat.parts[p];
    dsi_part_data *pd = &dst->lat.parts[p];
    memcpy(pd->value + od, ps->value + os, n * sizeof(float));
    if (pd->mean) memcpy(pd->mean + od, ps->mean + os, n * sizeof(float));
    if (pd->logvar) memcpy(pd->logvar + od, ps->logvar + os, n * sizeof(float));
    if (pd->codes) memcpy(pd->codes + rd, ps->codes + rs, per * sizeof(int32_t));
    return DSN_OK;
}

/* ---- parts of discrete codes ---- */

static dsn_status codes_part(const dsn_encoding *e, const char *part, const char *fn, int *p)
{
    if (!e) return dsi_error(DSN_E_INVALID, "%s: encoding must not be NULL", fn);
    *p = dsi_model_part_index(e->model, part);
    if (*p < 0)
        return dsi_error(DSN_E_INVALID, "%s: model '%s' has no part '%.32s'", fn, e->model->vt->name,
                         part ? part : "(null)");
    if (e->model->parts[*p].kind != DSI_PART_CODES || !e->lat.parts[*p].codes)
        return dsi_error(DSN_E_INVALID, "%s: part '%s' has no codes", fn, part);
    return DSN_OK;
}

dsn_status dsn_encoding_get_codes(const dsn_encoding *e, int32_t *out, size_t len, size_t *rows, const char *part)
{
    int p;
    dsn_status st = codes_part(e, part, "dsn_encoding_get_codes", &p);
    if (st != DSN_OK) return st;
    const dsi_part_data *pd = &e->lat.parts[p];
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
    dsi_part_data *pd = &e->lat.parts[p];
    if (rows != pd->rows)
        return dsi_error(DSN_E_SHAPE, "dsn_encoding_set_codes: part '%s' has %zu rows, got %zu", part, pd->rows, rows);
    if (!e->model->vt->codes_to_values)
        return dsi_error(DSN_E_INTERNAL, "dsn_encoding_set_codes: the %s model has codes but no codebook", e->model->vt->name);
    st = e->model->vt->codes_to_values(e->model, p, codes, rows, pd->value);
    if (st != DSN_OK) {
        dsi_error_prefix("dsn_encoding_set_codes");
        return st;
    }
    memcpy(pd->codes, codes, rows * sizeof(int32_t));
    return DSN_OK;
}
