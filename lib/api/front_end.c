/* front_end.c - a model's audio front end (front_end.h), a dataset's, and
 * the dataset counters of dsn_dataset_from_audio. */
#include "api/front_end.h"
#include "api/bank.h"
#include "api/dataset.h"
#include "core/error.h"
#include "core/options.h"
#include "io/options.h"
#include "models/model.h"

#include <stdio.h>
#include <string.h>

/* frames and feature size of a sequence model, 0 for another */
static int seq_shape(const dsn_model *m, int *T, int *D)
{
    if (!m || m->obs_nd != 2) return 0;
    *T = m->obs_shape[0];
    *D = m->obs_shape[1];
    return 1;
}

/* c from a stored bag (the model's front end or a bank's audio settings) */
static dsn_status from_bag(const dsn_options *o, dsi_feat_cfg *c, int D, const char *context)
{
    return dsi_feat_cfg_from(c, o, context, D, dsi_audio_dataset_keys);
}

/* the first feature key whose value differs between a and b ("" if none), with both values */
static const char *first_difference(const dsi_feat_cfg *a, const dsi_feat_cfg *b, char *va, char *vb, size_t len)
{
    static const char *keys[] = {"sample_rate", "n_fft", "hop_length", "win_length", "window", "power", "n_mels",
                                 "fmin", "fmax", "scale", "norm", "log", "eps", "amin", "top_db", NULL};
    dsn_options *x = dsi_options_new(), *y = dsi_options_new();
    const char *out = "";
    if (x && y && dsi_feat_cfg_write(a, 0, x) == DSN_OK && dsi_feat_cfg_write(b, 0, y) == DSN_OK) {
        for (int i = 0; keys[i]; i++) {
            const char *p = dsi_options_get(x, keys[i]), *q = dsi_options_get(y, keys[i]);
            if (p && q && strcmp(p, q)) {
                /* eps / amin / top_db only matter for their log mode */
                if (!strcmp(keys[i], "eps") && a->log != DSI_FEAT_LOG) continue;
                if ((!strcmp(keys[i], "amin") || !strcmp(keys[i], "top_db")) && a->log != DSI_FEAT_DB) continue;
                snprintf(va, len, "%s", p);
                snprintf(vb, len, "%s", q);
                out = keys[i];
                break;
            }
        }
    }
    dsi_options_free(x);
    dsi_options_free(y);
    return out;
}

dsn_status dsi_front_end_load(dsn_model *m, dsi_reader *r, const char *path)
{
    dsn_options *o = NULL;
    dsn_status st = dsi_options_read(r, &o);
    if (st != DSN_OK) return dsi_error(DSN_E_FORMAT, "'%s': bad audio front-end section", path);
    int T, D;
    dsi_feat_cfg c;
    if (!seq_shape(m, &T, &D)) st = dsi_error(DSN_E_FORMAT, "'%s': an audio front end for a model of non-sequence observations", path);
    else if ((st = from_bag(o, &c, D, path)) != DSN_OK) dsi_error_prefix(path);
    else if (c.n_mels != D) st = dsi_error(DSN_E_FORMAT, "'%s': audio front end of %d mels for frames of %d", path, c.n_mels, D);
    if (st != DSN_OK) {
        dsn_options_free(o);
        return st;
    }
    m->audio = o;
    return DSN_OK;
}

dsn_status dsi_front_end_base(const dsn_model *m, dsi_feat_cfg *c, int *stored)
{
    int T = 0, D = 80;
    seq_shape(m, &T, &D);
    if (stored) *stored = 0;
    if (m && m->audio) {
        if (stored) *stored = 1;
        return from_bag(m->audio, c, D, "the model's audio front end");
    }
    const dsn_options *bank = dsn_model_bank_audio(m);
    if (bank) return from_bag(bank, c, D, "the timbre bank's audio settings");
    dsi_feat_cfg_default(c);
    c->n_mels = D;
    return DSN_OK;
}

void dsi_front_end_read(dsi_optr *r, const dsn_model *m, dsi_feat_cfg *c)
{
    int stored = 0, T = 0, D = 0;
    dsn_status st = dsi_front_end_base(m, c, &stored);
    if (st != DSN_OK) {
        if (r->status == DSN_OK) r->status = st;
        return;
    }
    dsi_feat_cfg base = *c;
    dsi_feat_cfg_read(r, c);
    if (r->status != DSN_OK) return;
    char va[64], vb[64];
    const char *k = stored ? first_difference(&base, c, va, vb, sizeof va) : "";
    if (k[0])
        r->status = dsi_error(DSN_E_OPTION,
                              "option %s = %s differs from the model's audio front end (%s = %s, saved in the model "
                              "file; leave the key out)",
                              k, vb, k, va);
    else if (seq_shape(m, &T, &D) && c->n_mels != D)
        r->status = dsi_error(DSN_E_OPTION, "option 'n_mels' = %d: the model's frames have %d mel bands", c->n_mels, D);
}

dsn_status dsi_front_end_adopt(dsn_model *m, const dsn_dataset *train, const dsn_dataset *valid)
{
    const dsn_options *ta = train ? train->audio : NULL, *va = valid ? valid->audio : NULL;
    int T, D;
    if (!ta && !va) return DSN_OK;
    if (!seq_shape(m, &T, &D)) return DSN_OK;
    dsi_feat_cfg a, b;
    char x[64], y[64];
    if (ta && va) {
        dsn_status st = from_bag(ta, &a, D, "the training set's front end");
        if (st == DSN_OK) st = from_bag(va, &b, D, "the validation set's front end");
        if (st != DSN_OK) return st;
        const char *k = first_difference(&a, &b, x, y, sizeof x);
        if (k[0])
            return dsi_error(DSN_E_INVALID, "the validation set was made with %s = %s, the training set with %s = %s",
                             k, y, k, x);
    }
    const dsn_options *d = ta ? ta : va;
    if (!m->audio) return dsn_model_set_audio(m, d);
    dsn_status st = from_bag(m->audio, &a, D, "the model's audio front end");
    if (st == DSN_OK) st = from_bag(d, &b, D, "the data set's front end");
    if (st != DSN_OK) return st;
    const char *k = first_difference(&a, &b, x, y, sizeof x);
    if (k[0])
        return dsi_error(DSN_E_INVALID,
                         "the data set was made with %s = %s, the model was trained with %s = %s (its audio front end)",
                         k, y, k, x);
    return DSN_OK;
}

/* ---- public ---- */

const dsn_options *dsn_model_audio(const dsn_model *m) { return m ? m->audio : NULL; }

dsn_status dsn_model_set_audio(dsn_model *m, const dsn_options *audio)
{
    static const char fn[] = "dsn_model_set_audio";
    DSI_CHECK_NULL(m, "dsn_model_set_audio: model");
    int T, D;
    if (!seq_shape(m, &T, &D))
        return dsi_error(DSN_E_UNSUPPORTED, "%s: the %s model's observations are not sequences [frames, features]", fn,
                         m->vt->name);
    if (!audio) {
        dsn_options_free(m->audio);
        m->audio = NULL;
        return DSN_OK;
    }
    dsi_feat_cfg c;
    dsi_feat_cfg_default(&c);
    c.n_mels = D;
    int frames = T;
    dsi_optr r;
    dsn_status st = dsi_optr_init(&r, audio, fn);
    if (st == DSN_OK) {
        dsi_feat_cfg_read(&r, &c);
        dsi_opt_int(&r, "frames", &frames, 0, 1 << 20);
        char ignored[DSI_OPT_VALUE];
        for (int i = 0; dsi_audio_dataset_keys[i]; i++) dsi_opt_str(&r, dsi_audio_dataset_keys[i], ignored, sizeof ignored);
        st = dsi_optr_finish(&r);
    }
    if (st == DSN_OK) st = dsi_feat_cfg_validate(&c);
    if (st == DSN_OK && c.n_mels != D)
        st = dsi_error(DSN_E_SHAPE, "n_mels %d, the model's frames have %d features", c.n_mels, D);
    if (st == DSN_OK && frames != T && frames != 0)
        st = dsi_error(DSN_E_SHAPE, "frames %d, the model's windows have %d frames", frames, T);
    dsn_options *o = NULL;
    if (st == DSN_OK) {
        o = dsi_options_new();
        st = o ? dsi_feat_cfg_write(&c, T, o) : dsi_error(DSN_E_NOMEM, "out of memory");
    }
    if (st != DSN_OK) {
        dsi_options_free(o);
        dsi_error_prefix(fn);
        return st;
    }
    dsn_options_free(m->audio);
    m->audio = o;
    return DSN_OK;
}

const dsn_options *dsn_dataset_audio(const dsn_dataset *ds) { return ds ? ds->audio : NULL; }

const char *const dsi_dataset_counter_names[DSI_DS_COUNTERS] = {
    "clips", "windows", "short_clips", "masked_frames", "dropped_frames", "silent_clips", "clipped_clips",
    "skipped_clips", "computed_clips", "cached_clips"};

uint64_t dsn_dataset_counter(const dsn_dataset *ds, const char *name)
{
    if (!ds || !name) return 0;
    for (int i = 0; i < DSI_DS_COUNTERS; i++)
        if (!strcmp(dsi_dataset_counter_names[i], name)) return ds->counters[i];
    return 0;
}
