/* embedding.h - a table of learned vectors looked up by index (internal).
 *
 * Table "<prefix>" [n, dim]; forward y[i, :] = table[idx[i], :] (one gather
 * node; the gradient scatters back into the rows used). Default init:
 * uniform(-1, 1). */
#ifndef DSI_NN_EMBEDDING_H
#define DSI_NN_EMBEDDING_H

#include "nn/init.h"

typedef struct dsi_embedding {
    int table;     /* parameter index */
    int n, dim;
} dsi_embedding;

dsn_status dsi_embedding_add(dsi_embedding *e, dsi_params *ps, const char *name, int group, int n, int dim);
void dsi_embedding_init(const dsi_embedding *e, dsi_params *ps, dsi_rng *rng);
/* idx [m] in [0, n) (copied into the arena) -> [m, dim];
 * an index outside the table fails the tape. */
dsi_var *dsi_embedding_forward(dsi_tape *t, const dsi_embedding *e, dsi_params *ps, const int *idx, int m);

#endif
