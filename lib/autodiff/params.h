/* params.h - all trainable parameters of a model in one flat buffer (internal).
 *
 * Values live in `data`, gradients in `grad`, both of length n and 64-byte
 * aligned; each parameter is a named, shaped slice of them and belongs to a
 * group. Optimizers, clipping and saving are plain loops over the flat
 * buffers. A frozen group's vars have g == NULL, so no gradient is computed
 * for them, and optimizers skip them.
 *
 * Use: add every parameter (dsi_params_add), then dsi_params_finalize once;
 * only then are the vars' pointers valid and stable. */
#ifndef DSI_AUTODIFF_PARAMS_H
#define DSI_AUTODIFF_PARAMS_H

#include "autodiff/var.h"
#include "core/rng.h"
#include "core/status.h"

#define DSI_PARAM_NAME 64
#define DSI_MAX_GROUPS 16

typedef struct dsi_param {
    char name[DSI_PARAM_NAME];
    int group;
    size_t offset;      /* in floats, into data/grad */
    dsi_var var;        /* x = data + offset, g = grad + offset (or NULL if frozen) */
} dsi_param;

typedef struct dsi_params {
    float *data, *grad;
    size_t n;
    dsi_param *list;
    int count, cap;
    char group_names[DSI_MAX_GROUPS][32];
    unsigned char frozen[DSI_MAX_GROUPS];
    int n_groups;
    int finalized;
    size_t limit;       /* if > 0: finalize refuses more values than this (set
                         * by the model loader to what the file holds, before
                         * any parameter memory is allocated) */
} dsi_params;

void dsi_params_init(dsi_params *ps);
void dsi_params_release(dsi_params *ps);
/* Group id for a name, created on first use; -1 (with message) when full. */
int dsi_params_group(dsi_params *ps, const char *name);
/* Declare a parameter; returns its index or -1 with a message. */
int dsi_params_add(dsi_params *ps, const char *name, int group, int nd, const int *shape);
/* Allocate the flat buffers (values zeroed) and point every var into them.
 * DSN_E_FORMAT, allocating nothing, when limit is set and the parameters
 * hold more values than it. */
dsn_status dsi_params_finalize(dsi_params *ps);
dsi_var *dsi_params_var(dsi_params *ps, int index);
/* Index of a parameter by name, or -1 */
int dsi_params_find(const dsi_params *ps, const char *name);
void dsi_params_set_frozen(dsi_params *ps, int group, int frozen);
int dsi_params_is_frozen(const dsi_params *ps, int group);
void dsi_params_zero_grad(dsi_params *ps);

/* Initialisers for one parameter (by index). */
/* uniform(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot) */
void dsi_params_init_glorot(dsi_params *ps, int index, int fan_in, int fan_out, float gain, dsi_rng *rng);
/* uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's default for linear and LSTM) */
void dsi_params_init_fanin(dsi_params *ps, int index, int fan_in, dsi_rng *rng);
void dsi_params_init_const(dsi_params *ps, int index, float value);

/* Global L2 norm of the unfrozen gradients (computed in double). */
double dsi_params_grad_norm(const dsi_params *ps);
/* Scale unfrozen gradients so their global norm is at most max_norm; returns the norm before. */
double dsi_params_clip_grad(dsi_params *ps, double max_norm);
/* 1 if every value (and gradient of unfrozen params) is finite */
int dsi_params_all_finite(const dsi_params *ps);

#endif
