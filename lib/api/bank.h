/* bank.h - timbre banks: named static latents stored with a model (internal).
 *
 * A bank holds named rows of the model's static part (e.g. the "global" v of
 * DSAE / TS-DSAE, the mean over reference clips of an instrument) and the
 * audio front-end settings they were computed with. It is saved in the model
 * file's "BANK" section:
 *   u32 count, u32 dim, count x (str name, f32 v[dim]), options (audio settings)
 * and older readers skip it. */
#ifndef DSI_API_BANK_H
#define DSI_API_BANK_H

#include "core/fileio.h"
#include "disent.h"

#define DSI_BANK_NAME 64
#define DSI_BANK_MAX 4096

typedef struct dsi_bank {
    size_t count, cap;
    int dim;
    char (*names)[DSI_BANK_NAME];
    float *v;               /* [cap][dim] */
    dsn_options *audio;     /* front-end settings of the reference clips, or NULL */
} dsi_bank;

void dsi_bank_free(dsi_bank *b);
/* Write the section payload (nothing to do for an empty bank: the caller skips it). */
void dsi_bank_write(dsi_writer *w, const dsi_bank *b);
/* Read a payload for a model whose static part has `dim` floats. */
dsn_status dsi_bank_read(dsi_reader *r, int dim, dsi_bank **out, const char *path);
/* The model's static part (the first item-scoped part), or -1. */
int dsi_model_static_part(const dsn_model *m);

#endif
