/* audio_dataset.c - dsn_dataset from audio: a folder or CSV manifest of clips
 * cut into log-mel windows, or a dataset file written by tools/features. The
 * dataset keeps its front end (dsn_dataset_audio) and how it was built
 * (dsn_dataset_counter). */
#include "api/dataset.h"
#include "api/front_end.h"
#include "audio/dataset.h"
#include "audio/feat_opts.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/options.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* "a, b, c" of the label columns into buf */
static const char *columns(const dsi_audio_set *s, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = 0;
    for (int c = 0; c < s->n_label_cols && k + 1 < len; c++)
        k += (size_t)snprintf(buf + k, len - k, "%s%s", c ? ", " : "", s->label_names[c]);
    if (!s->n_label_cols) snprintf(buf, len, "none");
    return buf;
}

/* Windows [n, T, n_mels] with their frame mask; labels from one manifest
 * column: the named one (strict: every clip labelled, two classes or more),
 * else the first (none when a window lacks one: counted). */
static dsn_status to_dataset(const dsi_audio_set *s, const char *label_col, int counts, dsn_dataset **out)
{
    int col = -1, named = label_col && label_col[0];
    char cols[512];
    if (named) {
        col = dsi_audio_set_label_col(s, label_col);
        if (col < 0)
            return dsi_error(DSN_E_OPTION, "no label column '%s' in the manifest (its label columns: %s)", label_col,
                             columns(s, cols, sizeof cols));
    } else if (s->n_label_cols > 0) {
        col = 0;
    }
    int32_t *labels = NULL;
    if (col >= 0 && s->n > 0) {
        labels = dsi_malloc(sizeof(int32_t) * (size_t)s->n);
        if (!labels) return dsi_error(DSN_E_NOMEM, "out of memory");
        int lo = -1, hi = -1;
        for (int i = 0; i < s->n; i++) {
            labels[i] = s->labels[(size_t)i * s->n_label_cols + col];
            if (labels[i] < 0 && named) {
                dsi_free(labels);
                return dsi_error(DSN_E_INVALID, "clip '%s' has no value in the label column '%s'",
                                 s->clip_ids[s->clip[i]], label_col);
            }
            if (labels[i] < 0) {
                dsi_free(labels);
                labels = NULL;
                break;
            }
            if (lo < 0 || labels[i] < lo) lo = labels[i];
            if (labels[i] > hi) hi = labels[i];
        }
        if (labels && named && lo == hi) {
            dsi_free(labels);
            return dsi_error(DSN_E_INVALID,
                             "the label column '%s' has a single class ('%s') among the %d clips: a static factor "
                             "needs two or more (give another column, or no label)",
                             label_col, s->vocab[col][lo], s->n_clips);
        }
    }
    int shape[2] = {s->T, s->n_mels};
    dsi_dataset *d = NULL;
    dsn_status st = dsi_dataset_from_memory(&d, s->x, (size_t)s->n, 2, shape, labels, s->mask);
    dsi_free(labels);
    if (st != DSN_OK) return st;
    dsn_dataset *w = dsi_calloc(1, sizeof *w);
    if (!w || !(w->audio = dsi_options_new()) || (st = dsi_feat_cfg_write(&s->feat, s->T, w->audio)) != DSN_OK) {
        if (w) dsi_options_free(w->audio);
        dsi_free(w);
        dsi_dataset_free(d);
        return st != DSN_OK ? st : dsi_error(DSN_E_NOMEM, "out of memory");
    }
    w->d = d;
    uint64_t *c = w->counters;
    c[DSI_DS_CLIPS] = (uint64_t)s->n_clips;
    c[DSI_DS_WINDOWS] = (uint64_t)s->n;
    if (counts) { /* what a load from audio measured (a dataset file does not keep it) */
        c[DSI_DS_SHORT_CLIPS] = (uint64_t)s->n_short_clips;
        c[DSI_DS_MASKED_FRAMES] = s->n_masked_frames;
        c[DSI_DS_DROPPED_FRAMES] = s->n_dropped_frames;
        c[DSI_DS_SILENT_CLIPS] = (uint64_t)s->n_silent_clips;
        c[DSI_DS_CLIPPED_CLIPS] = (uint64_t)s->n_clipped_clips;
        c[DSI_DS_SKIPPED_CLIPS] = (uint64_t)s->n_skipped_clips;
        c[DSI_DS_COMPUTED_CLIPS] = (uint64_t)s->n_computed;
        c[DSI_DS_CACHED_CLIPS] = (uint64_t)s->n_cached;
    }
    *out = w;
    return DSN_OK;
}

/* every key of dsn_dataset_from_audio (also run under the option sink of
 * dsn_option_describe("audio")) */
dsn_status dsi_audio_dataset_read(const dsn_options *opts, dsi_audio_set_opts *o, char *cache, size_t cache_len,
                                  char *label, size_t label_len)
{
    static const char *const bad[] = {"error", "skip", "keep", NULL};
    static const int bad_mode[] = {DSI_BAD_CLIPS_ERROR, DSI_BAD_CLIPS_SKIP, DSI_BAD_CLIPS_KEEP};
    dsi_audio_set_opts_default(o);
    o->T = 250;
    cache[0] = label[0] = '\0'; /* the defaults: no cache, the first column */
    int b = 0;
    dsi_optr r;
    dsn_status st = dsi_optr_init(&r, opts, "dsn_dataset_from_audio");
    if (st != DSN_OK) return st;
    dsi_opt_int(&r, "frames", &o->T, 0, 1 << 20);
    dsi_opt_int(&r, "hop", &o->hop, 0, 1 << 20);
    dsi_opt_int(&r, "min_tail", &o->min_tail, -1, 1 << 20);
    dsi_opt_int(&r, "threads", &o->threads, 0, 64);
    dsi_opt_str(&r, "cache", cache, cache_len);
    dsi_opt_str(&r, "label", label, label_len);
    dsi_opt_enum(&r, "bad_clips", &b, bad);
    dsi_feat_cfg_read(&r, &o->feat);
    st = dsi_optr_finish(&r);
    o->bad_clips = bad_mode[b];
    return st != DSN_OK ? st : dsi_feat_cfg_validate(&o->feat);
}

dsn_status dsn_dataset_from_audio(dsn_dataset **out, const char *source, const dsn_options *opts)
{
    DSI_CHECK_NULL(out, "dsn_dataset_from_audio: out");
    *out = NULL;
    DSI_CHECK_NULL(source, "dsn_dataset_from_audio: source");
    dsi_audio_set_opts o;
    char cache[512] = "", label[64] = "";
    dsn_status st = dsi_audio_dataset_read(opts, &o, cache, sizeof cache, label, sizeof label);
    if (st != DSN_OK) {
        dsi_error_prefix("dsn_dataset_from_audio");
        return st;
    }
    o.cache_path = cache[0] ? cache : NULL;
    dsi_audio_set s;
    memset(&s, 0, sizeof s);
    struct stat sb;
    int is_dir = stat(source, &sb) == 0 && S_ISDIR(sb.st_mode);
    st = is_dir ? dsi_audio_set_from_dir(&s, source, &o) : dsi_audio_set_from_csv(&s, source, &o);
    if (st == DSN_OK && s.n == 0) st = dsi_error(DSN_E_INVALID, "'%s' holds no audio clip", source);
    if (st == DSN_OK) st = to_dataset(&s, label, 1, out);
    dsi_audio_set_free(&s);
    if (st != DSN_OK) dsi_error_prefix("dsn_dataset_from_audio");
    return st;
}

dsn_status dsn_dataset_load_audio(dsn_dataset **out, const char *path, const char *label_column)
{
    DSI_CHECK_NULL(out, "dsn_dataset_load_audio: out");
    *out = NULL;
    dsi_audio_set s;
    memset(&s, 0, sizeof s);
    dsn_status st = dsi_audio_set_load(&s, path);
    if (st == DSN_OK) st = to_dataset(&s, label_column, 0, out);
    dsi_audio_set_free(&s);
    if (st != DSN_OK) dsi_error_prefix("dsn_dataset_load_audio");
    return st;
}
