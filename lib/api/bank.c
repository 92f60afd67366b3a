/* bank.c - timbre banks: named static latents saved with the model. */
#include "api/bank.h"
#include "core/alloc.h"
#include "core/finite.h"
#include "core/options.h"
#include "core/error.h"
#include "io/modelfile.h"
#include "io/options.h"
#include "models/model.h"

#include <math.h>
#include <string.h>

int dsi_model_static_part(const dsn_model *m)
{
    for (int p = 0; m && p < m->n_parts; p++)
        if (m->parts[p].scope == DSI_SCOPE_ITEM && m->parts[p].kind == DSI_PART_GAUSSIAN) return p;
    return -1;
}

void dsi_bank_free(dsi_bank *b)
{
    if (!b) return;
    dsi_free(b->names);
    dsi_free(b->v);
    dsn_options_free(b->audio);
    dsi_free(b);
}

void dsi_bank_write(dsi_writer *w, const dsi_bank *b)
{
    dsi_write_u32(w, (uint32_t)b->count);
    dsi_write_u32(w, (uint32_t)b->dim);
    for (size_t i = 0; i < b->count; i++) {
        dsi_write_str(w, b->names[i]);
        dsi_write_f32s(w, b->v + i * (size_t)b->dim, (size_t)b->dim);
    }
    dsi_options_write(w, b->audio);
}

static dsn_status bank_reserve(dsi_bank *b, size_t n)
{
    if (n <= b->cap) return DSN_OK;
    size_t cap = b->cap ? 2 * b->cap : 8;
    if (cap < n) cap = n;
    char(*names)[DSI_BANK_NAME] = dsi_calloc(cap, DSI_BANK_NAME);
    float *v = dsi_calloc(cap * (size_t)b->dim, sizeof(float));
    if (!names || !v) {
        dsi_free(names);
        dsi_free(v);
        return dsi_error(DSN_E_NOMEM, "out of memory");
    }
    if (b->count) {
        memcpy(names, b->names, b->count * DSI_BANK_NAME);
        memcpy(v, b->v, b->count * (size_t)b->dim * sizeof(float));
    }
    dsi_free(b->names);
    dsi_free(b->v);
    b->names = names;
    b->v = v;
    b->cap = cap;
    return DSN_OK;
}

dsn_status dsi_bank_read(dsi_reader *r, int dim, dsi_bank **out, const char *path)
{
    *out = NULL;
    uint32_t count, d;
    if (dsi_read_u32(r, &count) || dsi_read_u32(r, &d))
        return dsi_error(DSN_E_FORMAT, "'%s': truncated timbre bank", path);
    if ((int)d != dim || count > DSI_BANK_MAX || (size_t)count * (4 + 4 * (size_t)d) > dsi_reader_left(r))
        return dsi_error(DSN_E_FORMAT, "'%s': bad timbre bank (%u entries of %u floats; the model's static part has %d)",
                         path, count, d, dim);
    dsi_bank *b = dsi_calloc(1, sizeof *b);
    if (!b) return dsi_error(DSN_E_NOMEM, "out of memory");
    b->dim = dim;
    dsn_status st = bank_reserve(b, count ? count : 1);
    for (uint32_t i = 0; st == DSN_OK && i < count; i++) {
        if (dsi_read_str(r, b->names[i], DSI_BANK_NAME) || !b->names[i][0] ||
            dsi_read_f32s(r, b->v + (size_t)i * dim, (size_t)dim)) {
            st = dsi_error(DSN_E_FORMAT, "'%s': bad timbre bank entry %u", path, i);
            break;
        }
        for (int k = 0; k < dim; k++)
            if (!isfinite(b->v[(size_t)i * dim + k])) st = dsi_error(DSN_E_FORMAT, "'%s': timbre '%s' is not finite", path, b->names[i]);
        for (uint32_t j = 0; st == DSN_OK && j < i; j++)
            if (!strcmp(b->names[i], b->names[j])) st = dsi_error(DSN_E_FORMAT, "'%s': timbre '%s' twice", path, b->names[i]);
        b->count = i + 1;
    }
    if (st == DSN_OK) st = dsi_options_read(r, &b->audio);
    if (st != DSN_OK) {
        dsi_bank_free(b);
        return st;
    }
    if (b->audio && b->audio->count == 0) {
        dsn_options_free(b->audio);
        b->audio = NULL;
    }
    *out = b;
    return DSN_OK;
}

/* ---- public ---- */

static dsn_status check_name(const char *name, const char *fn)
{
    if (!name) return dsi_error(DSN_E_INVALID, "%s: name must not be NULL", fn);
    size_t n = strlen(name);
    if (n == 0 || n >= DSI_BANK_NAME) return dsi_error(DSN_E_INVALID, "%s: a timbre name has 1 to %d bytes", fn, DSI_BANK_NAME - 1);
    return DSN_OK;
}

dsn_status dsn_model_bank_add(dsn_model *m, const char *name, const float *v, size_t len, const dsn_options *audio)
{
    static const char fn[] = "dsn_model_bank_add";
    DSI_CHECK_NULL(m, "dsn_model_bank_add: model");
    DSI_CHECK_NULL(v, "dsn_model_bank_add: v");
    dsn_status st = check_name(name, fn);
    if (st != DSN_OK) return st;
    int p = dsi_model_static_part(m);
    if (p < 0) return dsi_error(DSN_E_UNSUPPORTED, "%s: the %s model has no static latent", fn, m->vt->name);
    const int dim = m->parts[p].dim;
    if (len != (size_t)dim) return dsi_error(DSN_E_SHAPE, "%s: v has %zu floats, the part '%s' %d", fn, len, m->parts[p].name, dim);
    size_t bad = dsi_find_nonfinite(v, len);
    if (bad < len) return dsi_error(DSN_E_NUMERIC, "%s: v[%zu] is not finite", fn, bad);
    dsn_options *copy = NULL;
    if (audio && (st = dsi_options_copy(&copy, audio)) != DSN_OK) return st;
    dsi_bank *b = m->bank;
    if (!b) {
        b = dsi_calloc(1, sizeof *b);
        if (!b) {
            dsn_options_free(copy);
            return dsi_error(DSN_E_NOMEM, "%s: out of memory", fn);
        }
        b->dim = dim;
        m->bank = b;
    }
    size_t i = 0;
    while (i < b->count && strcmp(b->names[i], name)) i++;
    if (i == b->count) {
        if (b->count >= DSI_BANK_MAX || (st = bank_reserve(b, b->count + 1)) != DSN_OK) {
            dsn_options_free(copy);
            return b->count >= DSI_BANK_MAX ? dsi_error(DSN_E_INVALID, "%s: a bank holds at most %d timbres", fn, DSI_BANK_MAX) : st;
        }
        b->count++;
    }
    memset(b->names[i], 0, DSI_BANK_NAME);
    memcpy(b->names[i], name, strlen(name));
    memcpy(b->v + i * (size_t)dim, v, (size_t)dim * sizeof(float));
    if (copy) {
        dsn_options_free(b->audio);
        b->audio = copy;
    }
    return DSN_OK;
}

dsn_status dsn_model_bank_remove(dsn_model *m, const char *name)
{
    size_t i;
    dsn_status st = dsn_model_bank_find(m, &i, name);
    if (st != DSN_OK) return st;
    dsi_bank *b = m->bank;
    const size_t d = (size_t)b->dim;
    memmove(b->names[i], b->names[i + 1], (b->count - i - 1) * DSI_BANK_NAME);
    memmove(b->v + i * d, b->v + (i + 1) * d, (b->count - i - 1) * d * sizeof(float));
    b->count--;
    return DSN_OK;
}

size_t dsn_model_bank_count(const dsn_model *m) { return m && m->bank ? m->bank->count : 0; }

const char *dsn_model_bank_name(const dsn_model *m, size_t i)
{
    return m && m->bank && i < m->bank->count ? m->bank->names[i] : NULL;
}

dsn_status dsn_model_bank_find(const dsn_model *m, size_t *index, const char *name)
{
    DSI_CHECK_NULL(m, "dsn_model_bank_find: model");
    DSI_CHECK_NULL(index, "dsn_model_bank_find: index");
    DSI_CHECK_NULL(name, "dsn_model_bank_find: name");
    for (size_t i = 0; m->bank && i < m->bank->count; i++)
        if (!strcmp(m->bank->names[i], name)) {
            *index = i;
            return DSN_OK;
        }
    return dsi_error(DSN_E_INVALID, "dsn_model_bank_find: no timbre '%.64s' in the bank (%zu entries)", name,
                     dsn_model_bank_count(m));
}

dsn_status dsn_model_bank_get(const dsn_model *m, float *v, size_t len, size_t index)
{
    DSI_CHECK_NULL(m, "dsn_model_bank_get: model");
    DSI_CHECK_NULL(v, "dsn_model_bank_get: v");
    if (index >= dsn_model_bank_count(m))
        return dsi_error(DSN_E_INVALID, "dsn_model_bank_get: index %zu, the bank has %zu entries", index, dsn_model_bank_count(m));
    if (len < (size_t)m->bank->dim)
        return dsi_error(DSN_E_SHAPE, "dsn_model_bank_get: v holds %zu floats, need %d", len, m->bank->dim);
    memcpy(v, m->bank->v + index * (size_t)m->bank->dim, (size_t)m->bank->dim * sizeof(float));
    return DSN_OK;
}

const dsn_options *dsn_model_bank_audio(const dsn_model *m) { return m && m->bank ? m->bank->audio : NULL; }
