/* fit_log.h - the training log of dsn_fit (fit option `log`): one JSON
 * object per line (JSONL) and its CSV twin, written as the run goes
 * (internal). The record formats are documented in docs/logs.md. */
#ifndef DSI_API_FIT_LOG_H
#define DSI_API_FIT_LOG_H

#include "disent.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dsi_fit_log dsi_fit_log;

/* Open (append: keep what the files hold, else truncate) path and its CSV
 * twin (path with ".jsonl" replaced by ".csv", or path + ".csv"). Allocates
 * its buffer here, once; the writes below do not allocate. DSN_E_IO with the
 * file and the system's reason when a file cannot be opened. */
dsn_status dsi_fit_log_open(dsi_fit_log **out, const char *path, int append);
/* The first record of a run: what is trained on what (static text fields). */
void dsi_fit_log_start(dsi_fit_log *l, const char *family, const char *stage, size_t params, size_t n_train,
                       size_t n_valid, int first_epoch, int epochs, int64_t steps_per_epoch, size_t batch,
                       uint64_t seed, const char *optimizer, int64_t step);
/* After the start record, for a training set made from audio: how it was
 * built (the n counters of dsn_dataset_counter by name: short clips, masked
 * frames, skipped silent or clipped clips, ...) and its front end (NULL: none),
 * so what the data loader padded, left out or kept is in the log. */
void dsi_fit_log_data(dsi_fit_log *l, int epoch, int64_t step, const char *stage, int n, const char *const *names,
                      const uint64_t *values, const struct dsn_options *front_end);
/* One training step (epoch is 1-based: the epoch it belongs to). */
void dsi_fit_log_step(dsi_fit_log *l, int epoch, int64_t step, const char *stage, double lr, int n,
                      const char *const *names, const float *values);
/* A skipped step (non-finite loss or gradient) and why. */
void dsi_fit_log_skip(dsi_fit_log *l, int epoch, int64_t step, const char *stage, const char *why);
/* The end of an epoch: the epoch callback's figures, and the validation
 * terms (the run-long validation loss's named terms; n_valid 0 without). */
void dsi_fit_log_epoch(dsi_fit_log *l, int epoch, int64_t step, const char *stage, double lr, int n,
                       const char *const *names, const float *values, int n_valid,
                       const char *const *valid_names, const double *valid_values);
/* The last record: how the run ended (status name, the message on failure). */
void dsi_fit_log_end(dsi_fit_log *l, int epoch, int64_t step, dsn_status st, const char *message);
/* Write what is buffered; DSN_E_IO (message names the file) when a write
 * failed since the open. */
dsn_status dsi_fit_log_flush(dsi_fit_log *l);
/* Flush, close and free (NULL is fine); the first write error, if any. */
dsn_status dsi_fit_log_close(dsi_fit_log *l);

#endif
