/* embedding.c - learned vectors looked up by index. */
#include "nn/embedding.h"
#include "core/error.h"

dsn_status dsi_embedding_add(dsi_embedding *e, dsi_params *ps, const char *name, int group, int n, int dim)
{
    if (!e || !ps || !name) return dsi_error(DSN_E_INVALID, "embedding: NULL argument");
    if (n < 1 || dim < 1) return dsi_error(DSN_E_INVALID, "embedding %s: %d x %d", name, n, dim);
    int sh[2] = {n, dim};
    e->n = n;
    e->dim = dim;
    e->table = dsi_params_add(ps, name, group, 2, sh);
    return e->table < 0 ? DSN_E_INVALID : DSN_OK;
}

void dsi_embedding_init(const dsi_embedding *e, dsi_params *ps, dsi_rng *rng)
{
    dsi_params_init_fanin(ps, e->table, 1, rng);
}

dsi_var *dsi_embedding_forward(dsi_tape *t, const dsi_embedding *e, dsi_params *ps, const int *idx, int m)
{
    return dsi_gather_rows(t, dsi_params_var(ps, e->table), idx, m);
}
