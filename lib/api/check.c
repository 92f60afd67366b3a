/* check.c - argument checks shared by training and inference. */
#include "api/check.h"
#include "core/error.h"
#include "core/finite.h"
#include "models/model.h"

#include <math.h>
#include <string.h>

dsn_status dsi_check_obs(const float *x, size_t n, size_t obs_size, const char *where)
{
    size_t total = n * obs_size, i = dsi_find_nonfinite(x, total);
    if (i < total)
        return dsi_error(DSN_E_NUMERIC, "%s: observation %zu (element %zu of it, x[%zu]) is %s", where,
                         i / obs_size, i % obs_size, i, isnan(x[i]) ? "NaN" : "infinite");
    return DSN_OK;
}

dsn_status dsi_check_create(const void *out, const dsn_model *m, size_t max_items, const char *where)
{
    if (!out) return dsi_error(DSN_E_INVALID, "%s: out must not be NULL", where);
    if (!m) return dsi_error(DSN_E_INVALID, "%s: model must not be NULL", where);
    if (max_items == 0 || max_items > ((size_t)1 << 28))
        return dsi_error(DSN_E_INVALID, "%s: max_items %zu out of range [1, 2^28]", where, max_items);
    return DSN_OK;
}

dsn_status dsi_check_mask(const dsn_model *m, const float *mask, size_t n, const char *where)
{
    if (!mask) return DSN_OK;
    if (m->obs_nd < 2)
        return dsi_error(DSN_E_INVALID, "%s: a frame mask needs a sequence model (observations [T, D]); %s takes none",
                         where, m->vt->name);
    size_t T = (size_t)m->obs_shape[0], nm = n * T;
    for (size_t i = 0; i < nm; i++)
        if (!(mask[i] >= 0.0f && mask[i] <= 1.0f))
            return dsi_error(DSN_E_INVALID, "%s: mask value %g of item %zu, frame %zu, is not in [0, 1]", where,
                             (double)mask[i], i / T, i % T);
    return DSN_OK;
}

dsn_status dsi_sized(size_t *have, size_t struct_size, size_t first, const char *where)
{
    if (struct_size == 0) struct_size = first;
    if (struct_size < first)
        return dsi_error(DSN_E_INVALID, "%s: struct_size %zu is below the first version's %zu (set it to sizeof the struct)",
                         where, struct_size, first);
    *have = struct_size;
    return DSN_OK;
}

void dsi_sized_out(void *dst, const void *src, size_t have, size_t size)
{
    memcpy(dst, src, have < size ? have : size);
}

dsn_status dsi_sized_begin(void *local, size_t size, const void *out, size_t first, const char *where)
{
    size_t have;
    memcpy(&have, out, sizeof have);
    dsn_status st = dsi_sized(&have, have, first, where);
    if (st != DSN_OK) return st;
    memset(local, 0, size);
    memcpy(local, &have, sizeof have);
    return DSN_OK;
}

void dsi_sized_end(void *out, const void *local, size_t size)
{
    size_t have;
    memcpy(&have, local, sizeof have);
    dsi_sized_out(out, local, have, size);
}

dsn_status dsi_batch_args_read(dsn_batch_args *out, const dsn_batch_args *in, const char *where)
{
    memset(out, 0, sizeof *out);
    if (!in) return DSN_OK;
    size_t have;
    dsn_status st = dsi_sized(&have, in->struct_size, sizeof(dsn_batch_args), where);
    if (st == DSN_OK) memcpy(out, in, have < sizeof *out ? have : sizeof *out);
    return st;
}
