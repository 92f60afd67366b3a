/* check.h - argument checks shared by the training and inference calls
 * (internal), so dsn_train_step, dsn_encode* and friends accept and refuse
 * the same inputs with the same messages. */
#ifndef DSI_API_CHECK_H
#define DSI_API_CHECK_H

#include "disent.h"

#include <stddef.h>

struct dsn_model;

/* DSN_E_NUMERIC naming the first observation (and element of it) of the
 * [n, obs_size] batch x that is NaN or infinite; messages start "where: ". */
dsn_status dsi_check_obs(const float *x, size_t n, size_t obs_size, const char *where);

/* A frame mask ([n, T], values in [0, 1]) is only for sequence models;
 * NULL is always fine. DSN_E_INVALID with a message otherwise. */
dsn_status dsi_check_mask(const struct dsn_model *m, const float *mask, size_t n, const char *where);

/* The arguments of a per-model object's create call (dsn_session_create,
 * dsn_encoding_create; the caller has set *out = NULL when out is not NULL):
 * out and m not NULL, max_items in [1, 2^28]. DSN_E_INVALID with a message
 * starting "where: " otherwise. */
dsn_status dsi_check_create(const void *out, const struct dsn_model *m, size_t max_items, const char *where);

/* Sized structs (disent.h conventions): the bytes of a caller's struct the
 * library may read or write. struct_size 0 counts as `first` (the size of
 * the struct's first version); less than that, or NULL where one is needed,
 * gives DSN_E_INVALID. Writing: fill a whole local struct, then copy
 * min(have, sizeof) bytes out; reading: copy that many into a zeroed local. */
dsn_status dsi_sized(size_t *have, size_t struct_size, size_t first, const char *where);
void dsi_sized_out(void *dst, const void *src, size_t have, size_t size);
/* A call that fills the caller's sized struct *out (its first member is
 * size_t struct_size) through a local of size bytes: begin checks out's
 * struct_size (dsi_sized against first) and zeroes the local with its
 * struct_size set to the bytes the caller has; end copies those bytes (at
 * most size) out. */
dsn_status dsi_sized_begin(void *local, size_t size, const void *out, size_t first, const char *where);
void dsi_sized_end(void *out, const void *local, size_t size);
/* The caller's dsn_batch_args (may be NULL: all defaults) into a full local copy. */
dsn_status dsi_batch_args_read(dsn_batch_args *out, const dsn_batch_args *in, const char *where);

#endif
