/* audio_dataset.c - dsn_dataset from audio: a folder or CSV manifest of clips
 * cut into log-mel windows, or a dataset file written by tools/features. */
#include "api/dataset.h"
#include "core/options.h"
#include "audio/dataset.h"
#include "core/alloc.h"
#include "core/error.h"

#include <string.h>
#include <sys/stat.h>

/* Windows [n, T, n_mels] with their frame mask; labels from one manifest
 * column (by name, or the first column; none when any window lacks one). */
static dsn_status to_dataset(const dsi_audio_set *s, const char *label_col, dsn_dataset **out)
{
    int col = -1;
    if (label_col && label_col[0]) {
        col = dsi_audio_set_label_col(s, label_col);
        if (col < 0) return dsi_error(DSN_E_OPTION, "no label column '%s' in the manifest", label_col);
    } else if (s->n_label_cols > 0) {
        col = 0;
    }
    int32_t *labels = NULL;
    if (col >= 0 && s->n > 0) {
        labels = dsi_malloc(sizeof(int32_t) * (size_t)s->n);
        if (!labels) return dsi_error(DSN_E_NOMEM, "out of memory");
        for (int i = 0; i < s->n; i++) {
            labels[i] = s->labels[(size_t)i * s->n_label_cols + col];
            if (labels[i] < 0) {
                dsi_free(labels);
                labels = NULL;
                break;
            }
        }
    }
    int shape[2] = {s->T, s->n_mels};
    dsi_dataset *d = NULL;
    dsn_status st = dsi_dataset_from_memory(&d, s->x, (size_t)s->n, 2, shape, labels, s->mask);
    dsi_free(labels);
    if (st != DSN_OK) return st;
    dsn_dataset *w = dsi_calloc(1, sizeof *w);
    if (!w) {
        dsi_dataset_free(d);
        return dsi_error(DSN_E_NOMEM, "out of memory");
    }
    w->d = d;
    *out = w;
    return DSN_OK;
}

dsn_status dsn_dataset_from_audio(dsn_dataset **out, const char *source, const dsn_options *opts)
{
    DSI_CHECK_NULL(out, "dsn_dataset_from_audio: out");
    *out = NULL;
    DSI_CHECK_NULL(source, "dsn_dataset_from_audio: source");
    dsi_audio_set_opts o;
    dsi_audio_set_opts_default(&o);
    o.T = 250;
    char cache[512] = "", label[64] = "";
    dsi_optr r;
    dsn_status st = dsi_optr_init(&r, opts, "dsn_dataset_from_audio");
    if (st != DSN_OK) return st;
    dsi_opt_int(&r, "frames", &o.T, 0, 1 << 20);
    dsi_opt_int(&r, "hop", &o.hop, 0, 1 << 20);
    dsi_opt_int(&r, "min_tail", &o.min_tail, -1, 1 << 20);
    dsi_opt_int(&r, "threads", &o.threads, 0, 64);
    dsi_opt_str(&r, "cache", cache, sizeof cache);
    dsi_opt_str(&r, "label", label, sizeof label);
    dsi_opt_int(&r, "sample_rate", &o.feat.sr, 1000, 384000);
    dsi_opt_int(&r, "n_fft", &o.feat.n_fft, 16, 1 << 16);
    dsi_opt_int(&r, "hop_length", &o.feat.hop, 1, 1 << 16);
    dsi_opt_int(&r, "n_mels", &o.feat.n_mels, 1, 1024);
    dsi_opt_float(&r, "fmin", &o.feat.fmin, 0, 1e6);
    dsi_opt_float(&r, "fmax", &o.feat.fmax, 0, 1e6);
    st = dsi_optr_finish(&r);
    if (st != DSN_OK) return st;
    o.cache_path = cache[0] ? cache : NULL;
    dsi_audio_set s;
    memset(&s, 0, sizeof s);
    struct stat sb;
    int is_dir = stat(source, &sb) == 0 && S_ISDIR(sb.st_mode);
    st = is_dir ? dsi_audio_set_from_dir(&s, source, &o) : dsi_audio_set_from_csv(&s, source, &o);
    if (st == DSN_OK) st = to_dataset(&s, label, out);
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
    if (st == DSN_OK) st = to_dataset(&s, label_column, out);
    dsi_audio_set_free(&s);
    if (st != DSN_OK) dsi_error_prefix("dsn_dataset_load_audio");
    return st;
}
