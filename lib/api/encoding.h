/* encoding.h - the public dsn_encoding handle (internal): the latents the
 * models read and write (latent/latents.h) plus what the API layer needs. */
#ifndef DSI_API_ENCODING_H
#define DSI_API_ENCODING_H

#include "latent/latents.h"
#include "models/model.h"

struct dsn_encoding {
    dsi_latents lat;              /* what the model's encode/decode/sample see */
    const struct dsn_model *model;
    int32_t *scratch;             /* [max_items] for dsn_encoding_prepare */
};

#endif
