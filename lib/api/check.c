/* check.c - argument checks shared by training and inference. */
#include "api/check.h"
#include "core/error.h"
#include "core/finite.h"
#include "models/model.h"

#include <math.h>

dsn_status dsi_check_obs(const float *x, size_t n, size_t obs_size, const char *where)
{
    size_t total = n * obs_size, i = dsi_find_nonfinite(x, total);
    if (i < total)
        return dsi_error(DSN_E_NUMERIC, "%s: observation %zu (element %zu of it, x[%zu]) is %s", where,
                         i / obs_size, i % obs_size, i, isnan(x[i]) ? "NaN" : "infinite");
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
