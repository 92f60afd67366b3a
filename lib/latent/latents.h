/* latents.h - the latent values of a batch of observations as the models
 * read and write them (internal). A public dsn_encoding (lib/api/encoding.h)
 * wraps one of these; models see only this struct, never the public handle. */
#ifndef DSI_LATENT_LATENTS_H
#define DSI_LATENT_LATENTS_H

#include <stddef.h>
#include <stdint.h>

#define DSI_MAX_PARTS 4

/* Storage of one part: rows x dim floats per field. */
typedef struct dsi_part_data {
    float *mean, *logvar, *value; /* value: what decode uses (mean after encode) */
    int32_t *codes;               /* [rows] for parts of discrete codes, else NULL */
    size_t rows, max_rows;
} dsi_part_data;

typedef struct dsi_latents {
    size_t n_items, max_items;
    size_t n_groups;
    int32_t *group_of;            /* [max_items] group row of each item */
    int n_parts;
    dsi_part_data parts[DSI_MAX_PARTS];
} dsi_latents;

#endif
