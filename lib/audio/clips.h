/* clips.h - the list of audio clips an audio dataset is built from: listed
 * from a folder or from a CSV manifest with label columns (internal). */
#ifndef DSI_AUDIO_CLIPS_H
#define DSI_AUDIO_CLIPS_H

#include "core/status.h"

#include <stdint.h>

typedef struct dsi_clip {
    char *path;      /* resolved path */
    char *id;        /* as written */
    char **cells;    /* [n_cols] label strings */
    uint64_t size;
    int64_t mtime_s;
    uint32_t mtime_ns;
    float *feat;     /* [frames][n_mels] */
    int frames;
    unsigned flags;  /* dsi_audio_check of the samples (DSI_AUDIO_SILENT, DSI_AUDIO_CLIPPED) */
} dsi_clip;

typedef struct dsi_clip_list {
    dsi_clip *c;
    int n, cap;
    int n_cols;
    char **col_names;
} dsi_clip_list;

void dsi_clip_list_free(dsi_clip_list *l);
/* Remove clip i (its memory released; later clips move down by one). */
void dsi_clip_list_drop(dsi_clip_list *l, int i);
/* A new zeroed clip at the end (NULL when out of memory). */
dsi_clip *dsi_clip_list_add(dsi_clip_list *l);
/* The audio files of a folder (by extension, sorted by name), no labels. */
dsn_status dsi_clips_from_dir(dsi_clip_list *l, const char *dir);
/* A CSV manifest: a header row, a `path` column (relative to the manifest's
 * folder) and label columns. */
dsn_status dsi_clips_from_csv(dsi_clip_list *l, const char *csv);

#endif
