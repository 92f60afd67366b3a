/* registry.c - the model families built into the library. */
#include "models/model.h"

#include <string.h>

extern const dsi_model_vt dsi_ml_vae_vt;
extern const dsi_model_vt dsi_vq_vae_vt;
extern const dsi_model_vt dsi_dsae_vt, dsi_ts_dsae_vt;

static const dsi_model_vt *const families[] = {
    &dsi_ml_vae_vt,
    &dsi_vq_vae_vt,
    &dsi_dsae_vt, &dsi_ts_dsae_vt,
};

const dsi_model_vt *dsi_model_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof families / sizeof *families; i++)
        if (strcmp(families[i]->name, name) == 0) return families[i];
    return NULL;
}

const char *dsi_model_names(void) { return "ml-vae, vq-vae, dsae, ts-dsae"; }

int dsi_model_part_index(const struct dsn_model *m, const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < m->n_parts; i++)
        if (strcmp(m->parts[i].name, name) == 0) return i;
    return -1;
}

size_t dsi_part_rows(const dsi_part_desc *p, size_t n_items, size_t n_groups)
{
    switch (p->scope) {
    case DSI_SCOPE_GROUP: return n_groups;
    case DSI_SCOPE_ITEM: return n_items;
    default: return n_items * (size_t)p->per_item;
    }
}
