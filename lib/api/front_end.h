/* front_end.h - the audio front end a model was trained with (internal).
 *
 * A model trained on log-mel windows keeps the settings they were made with
 * (every feature key of audio/feat_opts.h with its value, and "frames") in
 * m->audio, saved in the model file's "AUDF" section (an option bag; older
 * readers skip it, older files have none). dsn_fit takes it from the training
 * set (dsn_dataset_audio) when the model has none; every audio call that
 * gets a model starts from it. */
#ifndef DSI_API_FRONT_END_H
#define DSI_API_FRONT_END_H

#include "audio/dataset.h"
#include "audio/feat_opts.h"
#include "core/fileio.h"
#include "disent.h"

/* Read an "AUDF" payload into m->audio (checked against the model's frames). */
dsn_status dsi_front_end_load(dsn_model *m, dsi_reader *r, const char *path);
/* The settings to analyse audio for m with: its front end, else its timbre
 * bank's audio settings, else the defaults with n_mels = the frame size.
 * *stored (may be NULL) = 1 when they are the model's own front end. */
dsn_status dsi_front_end_base(const dsn_model *m, dsi_feat_cfg *c, int *stored);
/* The feature keys of r on top of dsi_front_end_base: a key that differs
 * from the model's own front end records DSN_E_OPTION on r naming both
 * values (the settings are given once, by the model). n_mels must equal
 * the model's frame size. */
void dsi_front_end_read(dsi_optr *r, const dsn_model *m, dsi_feat_cfg *c);
/* dsn_fit: the model takes the training set's front end when it has none;
 * a training or validation set made with other settings: DSN_E_INVALID. */
dsn_status dsi_front_end_adopt(dsn_model *m, const dsn_dataset *train, const dsn_dataset *valid);

/* Every key of dsn_dataset_from_audio into *o (cache, label: strings of
 * the lengths given); also run for dsn_option_describe("audio"). */
dsn_status dsi_audio_dataset_read(const dsn_options *opts, dsi_audio_set_opts *o, char *cache, size_t cache_len,
                                  char *label, size_t label_len);

#endif
