/* dataset.h - audio datasets: clips -> log-mel features -> fixed windows (internal).
 *
 * Sources: a folder of audio files (sorted by name, no labels) or a CSV
 * manifest with a header row: the column named "path" (or "file"/"filename";
 * else the first column) holds the audio path, relative paths are taken from
 * the manifest's folder, and every other column is a label column. Labels are
 * strings; each column gets a vocabulary (sorted: numerically when all values
 * are integers, else by strcmp) and the set stores class indices (-1 for an
 * empty cell).
 *
 * Windows: a clip of L frames gives windows starting at 0, hop, 2 hop, ...
 * up to the first window that reaches the clip's end; frames past the end are
 * zero with mask 0. A window after the first that would hold fewer than
 * min_tail valid frames (default T / 2) is not made: a 251-frame clip with
 * T = 250 gives one window, not a full one and a 1-frame one; the frames left
 * out are counted in n_dropped_frames (n_short_clips counts clips shorter
 * than T, whose single window is padded and masked). T = 0 makes one window
 * per clip of the longest clip's length.
 *
 * Cache: per-clip features are kept in one file keyed on the feature settings
 * (dsi_feat_cfg_hash) and, per clip, on the resolved path, size and mtime
 * (ns). A second run reads the features back instead of recomputing; changed
 * settings or files are recomputed and the cache rewritten atomically. The
 * file has a magic, a version and a CRC-32; a damaged cache is ignored
 * (recomputed), never fatal.
 *
 * The struct below is plain data meant to be wrapped by the public dataset
 * handle: x [n][T][n_mels], mask [n][T], lengths [n], labels [n][n_label_cols]. */
#ifndef DSI_AUDIO_DATASET_H
#define DSI_AUDIO_DATASET_H

#include "audio/mel.h"
#include "core/status.h"

typedef struct dsi_audio_set_opts {
    dsi_feat_cfg feat;      /* feature settings (dsi_feat_cfg_default) */
    int T;                  /* window length in frames; 0: whole clips */
    int hop;                /* window hop in frames; 0: T (no overlap) */
    int min_tail;           /* fewest valid frames of a window after a clip's first; -1 (default): T / 2 */
    const char *cache_path; /* feature cache file, NULL: none */
    int threads;            /* feature workers (1..64; 0 = 1) */
    int bad_clips;          /* silent or clipped clips: DSI_BAD_CLIPS_KEEP (default: kept, counted),
                             * _ERROR (fail naming the first), _SKIP (left out, counted) */
} dsi_audio_set_opts;
enum { DSI_BAD_CLIPS_KEEP = 0, DSI_BAD_CLIPS_ERROR = 1, DSI_BAD_CLIPS_SKIP = 2 };

void dsi_audio_set_opts_default(dsi_audio_set_opts *o);

typedef struct dsi_audio_set {
    int n;               /* windows */
    int T, n_mels;
    float *x;            /* [n][T][n_mels] features, 0 in padding */
    float *mask;         /* [n][T] 1 valid, 0 padding */
    int *lengths;        /* [n] valid frames of each window */
    int *clip;           /* [n] clip index of each window */
    int *start;          /* [n] first frame of the window in its clip */
    int n_clips;
    char **clip_ids;     /* [n_clips] path as written in the manifest (or file name) */
    int *clip_frames;    /* [n_clips] frames of each clip */
    int n_label_cols;
    char **label_names;  /* [n_label_cols] */
    int *labels;         /* [n][n_label_cols] class index, -1 = missing */
    int *vocab_size;     /* [n_label_cols] */
    char ***vocab;       /* [n_label_cols][vocab_size] */
    dsi_feat_cfg feat;   /* settings the features were made with */
    int n_computed;      /* clips whose features were computed in this load */
    int n_cached;        /* clips read back from the cache */
    size_t n_dropped_frames; /* frames of clip tails shorter than min_tail, in no window (not saved) */
    int n_short_clips;   /* clips shorter than T (one padded, masked window each; not saved) */
    size_t n_masked_frames; /* padded frames (mask 0) of those windows (not saved) */
    int n_silent_clips, n_clipped_clips; /* dsi_audio_check of the clips, skipped ones too (not saved) */
    int n_skipped_clips;  /* silent or clipped clips left out (bad_clips skip; not saved) */
} dsi_audio_set;

dsn_status dsi_audio_set_from_dir(dsi_audio_set *s, const char *dir, const dsi_audio_set_opts *o);
dsn_status dsi_audio_set_from_csv(dsi_audio_set *s, const char *csv, const dsi_audio_set_opts *o);
void dsi_audio_set_free(dsi_audio_set *s);

/* Whole set to one file (magic, version, CRC) and back. */
dsn_status dsi_audio_set_save(const dsi_audio_set *s, const char *path);
dsn_status dsi_audio_set_load(dsi_audio_set *s, const char *path);

/* Column index of a label column by name, -1 if absent. */
int dsi_audio_set_label_col(const dsi_audio_set *s, const char *name);

#endif
