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

#endif
