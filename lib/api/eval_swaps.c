/* eval_swaps.c - dsn_eval_swaps: what a listener hears from a sequence
 * model's swaps (DSAE / TS-DSAE), measured on a clip manifest.
 *
 * Built only on the public calls (encode, decode, classifiers, F1, pitch,
 * mel inversion) plus the audio-set loader, so a host that wants a variant
 * can follow the same steps (docs/evaluation.md). */
#include "api/check.h"
#include "api/front_end.h"
#include "core/options.h"
#include "audio/dataset.h"
#include "audio/feat_opts.h"
#include "audio/io.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 64

typedef struct ev {
    /* inputs */
    dsn_model *model;
    dsi_audio_set s;
    char dir[1024];
    size_t T, F, obs, dv, dz;
    int label_col, split_col, truth_col, notes_col;
    int *use;      /* [n windows] 0 unused, 1 train, 2 eval */
    size_t *ev;    /* eval window indices */
    size_t n_ev, n_tr;
    /* model work */
    dsn_session *ses;
    dsn_encoding *enc;
    float *v_ev, *z_ev; /* [n_ev][dv], [n_ev][T][dz] */
    size_t *partner;    /* [n_ev] index into ev */
    long *truth_g, *truth_l; /* [n_ev] window index of the rendered truth, -1 none */
    float *dec;         /* [CHUNK][T][F] */
    float *vbuf, *zbuf, *mbuf;
} ev;

/* ---- small helpers ---- */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static const char *cell(const ev *e, size_t w, int col)
{
    int k = e->s.labels[w * (size_t)e->s.n_label_cols + (size_t)col];
    return k < 0 ? "" : e->s.vocab[col][k];
}

static int cls(const ev *e, size_t w) { return e->s.labels[w * (size_t)e->s.n_label_cols + (size_t)e->label_col]; }

static const float *xw(const ev *e, size_t w) { return e->s.x + w * e->obs; }
static const float *mw(const ev *e, size_t w) { return e->s.mask + w * e->T; }

/* mean squared error over the frames valid in mask (and in mask2 if given) */
static void mse_acc(const float *a, const float *b, const float *mask, const float *mask2, size_t T, size_t F,
                    double *sum, double *cnt)
{
    for (size_t t = 0; t < T; t++) {
        if (mask[t] <= 0 || (mask2 && mask2[t] <= 0)) continue;
        double s = 0;
        for (size_t f = 0; f < F; f++) {
            double d = (double)a[t * F + f] - (double)b[t * F + f];
            s += d * d;
        }
        *sum += s;
        *cnt += (double)F;
    }
}

static dsn_status column(const dsi_audio_set *s, const char *name, int required, int *out, const char *what)
{
    *out = dsi_audio_set_label_col(s, name);
    if (*out >= 0 || !required) return DSN_OK;
    char cols[512] = "";
    for (int k = 0; k < s->n_label_cols; k++) {
        size_t l = strlen(cols);
        snprintf(cols + l, sizeof cols - l, "%s%s", k ? ", " : "", s->label_names[k]);
    }
    return dsi_error(DSN_E_OPTION, "the manifest has no %s column '%s' (columns: %s)", what, name, cols);
}

/* encode the `global` v means of n windows given by index (masked) */
static dsn_status v_of_windows(ev *e, const size_t *idx, size_t n, float *v)
{
    for (size_t o = 0; o < n; o += CHUNK) {
        size_t m = n - o < CHUNK ? n - o : CHUNK;
        for (size_t k = 0; k < m; k++) {
            memcpy(e->dec + k * e->obs, xw(e, idx[o + k]), e->obs * sizeof(float));
            memcpy(e->mbuf + k * e->T, mw(e, idx[o + k]), e->T * sizeof(float));
        }
        dsn_status st = dsn_encode(e->ses, e->enc, e->dec, m, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, e->mbuf, "global"});
        if (st == DSN_OK) st = dsn_encoding_get(e->enc, v + o * e->dv, m * e->dv, NULL, NULL, "global", "mean");
        if (st != DSN_OK) return st;
    }
    return DSN_OK;
}

/* dec(z of eval item zi[k], v of eval item vi[k]) for m <= CHUNK items into e->dec */
static dsn_status decode_pairs(ev *e, const size_t *zi, const size_t *vi, size_t m)
{
    for (size_t k = 0; k < m; k++) {
        memcpy(e->vbuf + k * e->dv, e->v_ev + vi[k] * e->dv, e->dv * sizeof(float));
        memcpy(e->zbuf + k * e->T * e->dz, e->z_ev + zi[k] * e->T * e->dz, e->T * e->dz * sizeof(float));
    }
    dsn_status st = dsn_encoding_prepare(e->enc, m, NULL);
    if (st == DSN_OK) st = dsn_encoding_set(e->enc, "global", "value", e->vbuf, m);
    if (st == DSN_OK) st = dsn_encoding_set(e->enc, "local", "value", e->zbuf, m * e->T);
    if (st == DSN_OK) st = dsn_decode(e->ses, e->dec, m * e->obs, e->enc);
    return st;
}

/* reference pitch of window w (MIDI, 0 = rest) at its T frames from the notes
 * cell "onset:duration:midi ..." (seconds) */
static int notes_track(const ev *e, size_t w, float *ref)
{
    const char *p = cell(e, w, e->notes_col);
    double hop_s = (double)e->s.feat.hop / e->s.feat.sr, t0 = e->s.start[w] * hop_s;
    for (size_t t = 0; t < e->T; t++) ref[t] = 0;
    int n = 0;
    while (*p) {
        char *end;
        double on = strtod(p, &end);
        if (end == p || *end != ':') return -1;
        double dur = strtod(end + 1, &end);
        if (*end != ':') return -1;
        double midi = strtod(end + 1, &end);
        if (!(dur > 0) || !(midi > 0 && midi < 140)) return -1;
        for (size_t t = 0; t < e->T; t++) {
            double tt = t0 + (double)t * hop_s;
            if (tt >= on && tt < on + dur) ref[t] = (float)midi;
        }
        n++;
        p = end;
        while (*p == ' ') p++;
    }
    return n > 0 ? 0 : -1;
}

static char *clip_path(const ev *e, int clip)
{
    const char *id = e->s.clip_ids[clip];
    size_t a = strlen(e->dir), b = strlen(id);
    char *p = dsi_malloc(a + b + 2);
    if (!p) return NULL;
    if (id[0] == '/' || !a) memcpy(p, id, b + 1);
    else {
        memcpy(p, e->dir, a);
        p[a] = '/';
        memcpy(p + a + 1, id, b + 1);
    }
    return p;
}

static void free_ev(ev *e)
{
    dsi_audio_set_free(&e->s);
    dsn_encoding_free(e->enc);
    dsn_session_free(e->ses);
    dsi_free(e->use), dsi_free(e->ev), dsi_free(e->v_ev), dsi_free(e->z_ev), dsi_free(e->partner);
    dsi_free(e->truth_g), dsi_free(e->truth_l), dsi_free(e->dec), dsi_free(e->vbuf), dsi_free(e->zbuf);
    dsi_free(e->mbuf);
}

typedef struct pitch_cfg {
    dsn_options *inv;   /* dsn_mel_to_audio options */
    int clips;
} pitch_cfg;

/* raw pitch accuracy of the audio of mel (L valid frames) against ref: adds hits and voiced frames */
static dsn_status rpa_of(const ev *e, const float *mel, size_t L, const float *ref, int midi, const dsn_options *inv,
                         float *audio, size_t cap, float *f0, double *hit, double *voiced)
{
    if (L < 2) return DSN_OK;
    size_t ns = 0, nf = 0;
    dsn_status st = dsn_mel_to_audio(audio, cap, &ns, mel, L, e->F, inv);
    if (st != DSN_OK) return st;
    st = dsn_pitch_track(f0, e->T + 1, &nf, audio, ns, e->s.feat.sr, NULL);
    if (st != DSN_OK) return st;
    if (nf > L) nf = L;
    double acc;
    size_t nv;
    st = dsn_raw_pitch_accuracy(&acc, NULL, &nv, f0, ref, nf, midi ? DSN_PITCH_MIDI : DSN_PITCH_HZ, 50.0);
    if (st != DSN_OK) return st;
    *hit += acc * (double)nv;
    *voiced += (double)nv;
    return DSN_OK;
}

static dsn_status run(ev *e, dsn_swap_eval *out, const char *manifest, const dsn_options *opts)
{
    /* ---- options ---- */
    dsi_audio_set_opts so;
    dsi_audio_set_opts_default(&so);
    char label[64] = "", split[64] = "split", trs[64] = "train", evs[64] = "valid", truth[64] = "melody",
         notes[64] = "notes", kind[16] = "lda", cache[1024] = "", bad[16] = "error";
    int pitch_clips = 16, gl_iter = 32, nnls_iter = 100;
    float gl_mom = 0.99f;
    uint64_t seed = 1;
    dsi_optr r;
    dsn_status st = dsi_optr_init(&r, opts, "dsn_eval_swaps");
    if (st != DSN_OK) return st;
    dsi_opt_str(&r, "label", label, sizeof label);
    dsi_opt_str(&r, "split", split, sizeof split);
    dsi_opt_str(&r, "train", trs, sizeof trs);
    dsi_opt_str(&r, "eval", evs, sizeof evs);
    dsi_opt_str(&r, "truth", truth, sizeof truth);
    dsi_opt_str(&r, "notes", notes, sizeof notes);
    dsi_opt_str(&r, "classifier", kind, sizeof kind);
    dsi_opt_str(&r, "cache", cache, sizeof cache);
    dsi_opt_str(&r, "bad_clips", bad, sizeof bad);
    dsi_opt_int(&r, "pitch_clips", &pitch_clips, 0, 1 << 20);
    dsi_opt_int(&r, "gl_iter", &gl_iter, 0, 100000);
    dsi_opt_int(&r, "nnls_iter", &nnls_iter, 0, 100000);
    dsi_opt_float(&r, "gl_momentum", &gl_mom, 0.0, 1.5);
    dsi_opt_u64(&r, "seed", &seed);
    dsi_opt_int(&r, "threads", &so.threads, 0, 64);
    dsi_opt_int(&r, "min_tail", &so.min_tail, -1, 1 << 20);
    dsi_front_end_read(&r, e->model, &so.feat); /* the model's front end, the options on top */
    int split_given = opts && dsn_options_get(opts, "split") != NULL;
    int truth_given = opts && dsn_options_get(opts, "truth") != NULL;
    int notes_given = opts && dsn_options_get(opts, "notes") != NULL;
    st = dsi_optr_finish(&r);
    if (st != DSN_OK) return st;
    if (!label[0]) return dsi_error(DSN_E_OPTION, "option 'label' (the manifest column of the static factor) is required");
    if (strcmp(bad, "error") && strcmp(bad, "skip"))
        return dsi_error(DSN_E_OPTION, "option 'bad_clips' = '%s': error or skip", bad);
    if (strcmp(kind, "lda") && strcmp(kind, "logreg") && strcmp(kind, "centroid"))
        return dsi_error(DSN_E_OPTION, "option 'classifier' = '%s': lda, logreg or centroid", kind);

    /* ---- the model's window and the clips ---- */
    dsn_model_info mi = DSN_MODEL_INFO_INIT;
    dsn_part_info pi = DSN_PART_INFO_INIT, pg = DSN_PART_INFO_INIT, pl = DSN_PART_INFO_INIT;
    dsn_status st0 = dsn_model_describe(e->model, &mi);
    if (st0 != DSN_OK) return st0;
    const size_t *shape = mi.obs_shape;
    if (mi.obs_ndim != 2)
        return dsi_error(DSN_E_INVALID, "the model's observations are not sequences [frames, features]");
    int pv = -1, pz = -1;
    for (int p = 0; p < mi.num_parts; p++) {
        if (dsn_model_part(e->model, &pi, p) != DSN_OK) return DSN_E_INTERNAL;
        if (!strcmp(pi.name, "global")) pv = p, pg = pi;
        if (!strcmp(pi.name, "local")) pz = p, pl = pi;
    }
    if (pv < 0 || pz < 0) return dsi_error(DSN_E_INVALID, "the model has no 'global' and 'local' parts (DSAE, TS-DSAE)");
    e->T = shape[0], e->F = shape[1], e->obs = e->T * e->F;
    e->dv = (size_t)pg.dim, e->dz = (size_t)pl.dim;
    if ((size_t)so.feat.n_mels != e->F)
        return dsi_error(DSN_E_SHAPE, "the model reads %zu features per frame, n_mels is %d", e->F, so.feat.n_mels);
    so.T = (int)e->T;
    so.hop = 0;
    so.cache_path = cache[0] ? cache : NULL;
    st = dsi_audio_set_from_csv(&e->s, manifest, &so);
    if (st != DSN_OK) return st;
    {
        const char *sl = strrchr(manifest, '/');
        size_t dl = sl ? (size_t)(sl - manifest) : 0;
        if (dl >= sizeof e->dir) return dsi_error(DSN_E_INVALID, "manifest path too long");
        memcpy(e->dir, manifest, dl);
        e->dir[dl] = 0;
    }
    st = column(&e->s, label, 1, &e->label_col, "label");
    if (st == DSN_OK) st = column(&e->s, split, split_given, &e->split_col, "split");
    if (st == DSN_OK) st = column(&e->s, truth, truth_given && truth[0], &e->truth_col, "truth");
    if (st == DSN_OK) st = column(&e->s, notes, notes_given && notes[0], &e->notes_col, "notes");
    if (st != DSN_OK) return st;
    if (!truth[0]) e->truth_col = -1;
    if (!notes[0]) e->notes_col = -1;
    size_t n = (size_t)e->s.n;

    /* ---- which windows: split filter, bad clips ---- */
    e->use = dsi_calloc(n ? n : 1, sizeof(int));
    e->ev = dsi_malloc(sizeof(size_t) * (n ? n : 1));
    int *clip_bad = dsi_calloc((size_t)e->s.n_clips + 1, sizeof(int));
    if (!e->use || !e->ev || !clip_bad) {
        dsi_free(clip_bad);
        return dsi_error(DSN_E_NOMEM, "out of memory");
    }
    for (int c = 0; c < e->s.n_clips && st == DSN_OK; c++) {
        char *path = clip_path(e, c);
        float *x = NULL;
        size_t ns = 0;
        if (!path) st = dsi_error(DSN_E_NOMEM, "out of memory");
        else st = dsi_audio_read(path, 0, &x, &ns, NULL);
        if (st == DSN_OK) {
            const char *why = dsi_audio_check_reason(dsi_audio_check(x, ns));
            if (why && !strcmp(bad, "error"))
                st = dsi_error(DSN_E_INVALID, "clip '%s' is %s (bad_clips=skip leaves such clips out, counted)", path,
                               why);
            else if (why) {
                clip_bad[c] = 1;
                out->n_skipped_clips++;
            }
        }
        dsi_free(x);
        dsi_free(path);
    }
    if (st != DSN_OK) {
        dsi_free(clip_bad);
        return st;
    }
    for (size_t w = 0; w < n; w++) {
        if (clip_bad[e->s.clip[w]]) continue;
        if (cls(e, w) < 0)
            return dsi_free(clip_bad), dsi_error(DSN_E_INVALID, "clip '%s' has no value in the label column '%s'",
                                                 e->s.clip_ids[e->s.clip[w]], label);
        if (e->split_col < 0) e->use[w] = 3; /* no split column: every clip fits and is evaluated */
        else e->use[w] = (strcmp(cell(e, w, e->split_col), trs) == 0) | ((strcmp(cell(e, w, e->split_col), evs) == 0) << 1);
    }
    dsi_free(clip_bad);
    out->n_dropped_frames = e->s.n_dropped_frames;
    out->n_short_clips = (size_t)e->s.n_short_clips;
    for (size_t w = 0; w < n; w++) {
        if (e->use[w] & 1) e->n_tr++;
        if (e->use[w] & 2) e->ev[e->n_ev++] = w;
        if (e->use[w]) {
            for (size_t t = 0; t < e->T; t++) out->n_masked_frames += mw(e, w)[t] <= 0;
        }
    }
    if (e->n_tr == 0 || e->n_ev == 0)
        return dsi_error(DSN_E_INVALID, "no clips with %s = '%s' (to fit the classifier) or '%s' (to evaluate)", split,
                         trs, evs);
    out->n_train = e->n_tr, out->n_eval = e->n_ev;

    /* ---- encode: training v means, classifier ---- */
    e->dec = dsi_malloc(sizeof(float) * CHUNK * e->obs);
    e->vbuf = dsi_malloc(sizeof(float) * CHUNK * e->dv);
    e->zbuf = dsi_malloc(sizeof(float) * CHUNK * e->T * e->dz);
    e->mbuf = dsi_malloc(sizeof(float) * CHUNK * e->T);
    e->v_ev = dsi_malloc(sizeof(float) * e->n_ev * e->dv);
    e->z_ev = dsi_malloc(sizeof(float) * e->n_ev * e->T * e->dz);
    e->partner = dsi_malloc(sizeof(size_t) * e->n_ev);
    e->truth_g = dsi_malloc(sizeof(long) * e->n_ev);
    e->truth_l = dsi_malloc(sizeof(long) * e->n_ev);
    size_t *tr = dsi_malloc(sizeof(size_t) * e->n_tr);
    float *v_tr = dsi_malloc(sizeof(float) * e->n_tr * e->dv), *v_re = dsi_malloc(sizeof(float) * e->n_ev * e->dv);
    int32_t *l_tr = dsi_malloc(sizeof(int32_t) * e->n_tr), *truth_lab = dsi_malloc(sizeof(int32_t) * e->n_ev),
            *pred = dsi_malloc(sizeof(int32_t) * e->n_ev);
    size_t cap_audio = e->T * (size_t)so.feat.hop + 1;
    float *audio = dsi_malloc(sizeof(float) * cap_audio), *f0 = dsi_malloc(sizeof(float) * (e->T + 1)),
          *ref = dsi_malloc(sizeof(float) * (e->T + 1)), *src_f0 = dsi_malloc(sizeof(float) * (e->T + 1));
    dsn_classifier *clf = NULL;
    dsn_options *inv = NULL;
    if (!e->dec || !e->vbuf || !e->zbuf || !e->mbuf || !e->v_ev || !e->z_ev || !e->partner || !e->truth_g ||
        !e->truth_l || !tr || !v_tr || !v_re || !l_tr || !truth_lab || !pred || !audio || !f0 || !ref || !src_f0) {
        st = dsi_error(DSN_E_NOMEM, "out of memory");
        goto done;
    }
    {
        size_t k = 0;
        for (size_t w = 0; w < n; w++)
            if (e->use[w] & 1) tr[k] = w, l_tr[k++] = cls(e, w);
    }
    st = dsn_session_create(&e->ses, e->model, CHUNK);
    if (st == DSN_OK) st = dsn_encoding_create(&e->enc, e->model, CHUNK);
    if (st == DSN_OK) st = v_of_windows(e, tr, e->n_tr, v_tr);
    if (st == DSN_OK) st = dsn_classifier_create(&clf, kind, NULL);
    if (st == DSN_OK) st = dsn_classifier_fit(clf, v_tr, e->n_tr, e->dv, l_tr);
    if (st == DSN_E_INVALID)
        st = dsi_error(DSN_E_INVALID, "the label column '%s' has a single class among the %zu training clips", label,
                       e->n_tr);
    if (st != DSN_OK) goto done;
    out->n_classes = dsn_classifier_classes(clf, NULL, 0);
    /* eval: v and z means */
    for (size_t o = 0; o < e->n_ev && st == DSN_OK; o += CHUNK) {
        size_t m = e->n_ev - o < CHUNK ? e->n_ev - o : CHUNK;
        for (size_t k = 0; k < m; k++) {
            memcpy(e->dec + k * e->obs, xw(e, e->ev[o + k]), e->obs * sizeof(float));
            memcpy(e->mbuf + k * e->T, mw(e, e->ev[o + k]), e->T * sizeof(float));
        }
        st = dsn_encode(e->ses, e->enc, e->dec, m, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, e->mbuf, NULL});
        if (st == DSN_OK) st = dsn_encoding_get(e->enc, e->v_ev + o * e->dv, m * e->dv, NULL, NULL, "global", "mean");
        if (st == DSN_OK)
            st = dsn_encoding_get(e->enc, e->z_ev + o * e->T * e->dz, m * e->T * e->dz, NULL, NULL, "local", "mean");
    }
    if (st != DSN_OK) goto done;
    for (size_t i = 0; i < e->n_ev; i++) truth_lab[i] = cls(e, e->ev[i]);
    st = dsn_classifier_predict(clf, pred, e->v_ev, e->n_ev, e->dv);
    if (st == DSN_OK) st = dsn_macro_f1(&out->f1_direct, truth_lab, pred, e->n_ev);
    if (st != DSN_OK) goto done;

    /* ---- partners (another class; another content when known) and truths ---- */
    {
        uint64_t rs = seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
        for (size_t i = 0; i < e->n_ev; i++) {
            size_t wi = e->ev[i], j = i;
            int found = 0;
            for (int tries = 0; tries < 4096 && found < 2; tries++) {
                size_t c = (size_t)(rng_next(&rs) % e->n_ev), wc = e->ev[c];
                if (cls(e, wc) == cls(e, wi)) continue;
                if (e->truth_col < 0 || strcmp(cell(e, wc, e->truth_col), cell(e, wi, e->truth_col))) {
                    j = c, found = 2;
                } else if (!found) j = c, found = 1;
            }
            if (!found)
                for (size_t c = 0; c < e->n_ev && !found; c++)
                    if (cls(e, e->ev[c]) != cls(e, wi)) j = c, found = 1;
            if (!found) {
                st = dsi_error(DSN_E_INVALID, "the evaluated clips hold a single class of '%s'", label);
                goto done;
            }
            e->partner[i] = j;
        }
        /* the rendered truth of dec(z_a, v_b): the window with a's content, b's class, a's start */
        for (size_t i = 0; i < e->n_ev; i++) {
            e->truth_g[i] = e->truth_l[i] = -1;
            if (e->truth_col < 0) continue;
            size_t a = e->ev[i], b = e->ev[e->partner[i]];
            const char *ca = cell(e, a, e->truth_col), *cb = cell(e, b, e->truth_col);
            for (size_t w = 0; w < n && (e->truth_g[i] < 0 || e->truth_l[i] < 0); w++) {
                const char *cw = cell(e, w, e->truth_col);
                if (!cw[0]) continue;
                if (e->truth_g[i] < 0 && cls(e, w) == cls(e, b) && e->s.start[w] == e->s.start[a] && !strcmp(cw, ca))
                    e->truth_g[i] = (long)w;
                if (e->truth_l[i] < 0 && cls(e, w) == cls(e, a) && e->s.start[w] == e->s.start[b] && !strcmp(cw, cb))
                    e->truth_l[i] = (long)w;
            }
        }
    }

    /* ---- pre / global / local: decode, errors, re-encode, F1 ---- */
    {
        double rs[3] = {0}, rc[3] = {0}, tg = 0, tgc = 0, sg = 0, sgc = 0, xs = 0, xsc = 0, tl = 0, tlc = 0,
               xl = 0, xlc = 0;
        double *f1[3] = {&out->f1_pre, &out->f1_global, &out->f1_local};
        for (int s = 0; s < 3 && st == DSN_OK; s++) {
            for (size_t o = 0; o < e->n_ev && st == DSN_OK; o += CHUNK) {
                size_t m = e->n_ev - o < CHUNK ? e->n_ev - o : CHUNK, zi[CHUNK], vi[CHUNK];
                for (size_t k = 0; k < m; k++) {
                    size_t i = o + k, j = e->partner[i];
                    zi[k] = s == 2 ? j : i;
                    vi[k] = s == 1 ? j : i;
                }
                st = decode_pairs(e, zi, vi, m);
                for (size_t k = 0; k < m && st == DSN_OK; k++) {
                    size_t i = o + k, wz = e->ev[zi[k]];
                    const float *d = e->dec + k * e->obs, *mz = mw(e, wz);
                    memcpy(e->mbuf + k * e->T, mz, e->T * sizeof(float));
                    mse_acc(d, xw(e, wz), mz, NULL, e->T, e->F, &rs[s], &rc[s]);
                    if (s == 1 && e->truth_g[i] >= 0) {
                        const float *tx = xw(e, (size_t)e->truth_g[i]), *tm = mw(e, (size_t)e->truth_g[i]);
                        mse_acc(d, tx, mz, tm, e->T, e->F, &tg, &tgc);
                        mse_acc(xw(e, wz), tx, mz, tm, e->T, e->F, &xs, &xsc);
                        out->n_truth++;
                    }
                    if (s == 1) mse_acc(d, xw(e, wz), mz, NULL, e->T, e->F, &sg, &sgc);
                    if (s == 2 && e->truth_l[i] >= 0) {
                        const float *tx = xw(e, (size_t)e->truth_l[i]), *tm = mw(e, (size_t)e->truth_l[i]);
                        mse_acc(d, tx, mz, tm, e->T, e->F, &tl, &tlc);
                        mse_acc(xw(e, wz), tx, mz, tm, e->T, e->F, &xl, &xlc);
                    }
                }
                if (st == DSN_OK) st = dsn_encode(e->ses, e->enc, e->dec, m, &(dsn_batch_args){sizeof(dsn_batch_args), NULL, e->mbuf, "global"});
                if (st == DSN_OK)
                    st = dsn_encoding_get(e->enc, v_re + o * e->dv, m * e->dv, NULL, NULL, "global", "mean");
            }
            for (size_t i = 0; i < e->n_ev; i++) truth_lab[i] = cls(e, e->ev[s == 1 ? e->partner[i] : i]);
            if (st == DSN_OK) st = dsn_classifier_predict(clf, pred, v_re, e->n_ev, e->dv);
            if (st == DSN_OK) st = dsn_macro_f1(f1[s], truth_lab, pred, e->n_ev);
        }
        if (st != DSN_OK) goto done;
        out->mse_rec = rc[0] > 0 ? rs[0] / rc[0] : NAN;
        out->mse_source_global = sgc > 0 ? sg / sgc : NAN;
        out->mse_truth_global = tgc > 0 ? tg / tgc : NAN;
        out->mse_truth_source = xsc > 0 ? xs / xsc : NAN;
        out->mse_truth_local = tlc > 0 ? tl / tlc : NAN;
        out->mse_truth_local_source = xlc > 0 ? xl / xlc : NAN;
    }

    /* ---- pitch: ceiling, reconstruction, global and local swap ---- */
    out->rpa_ceiling = out->rpa_rec = out->rpa_global = out->rpa_local = NAN;
    if (pitch_clips > 0) {
        char b[32];
        st = dsn_options_create(&inv);
        snprintf(b, sizeof b, "%d", gl_iter);
        if (st == DSN_OK) st = dsn_options_set(inv, "gl_iter", b);
        snprintf(b, sizeof b, "%d", nnls_iter);
        if (st == DSN_OK) st = dsn_options_set(inv, "nnls_iter", b);
        snprintf(b, sizeof b, "%.9g", (double)gl_mom);
        if (st == DSN_OK) st = dsn_options_set(inv, "gl_momentum", b);
        if (st == DSN_OK) st = dsi_feat_cfg_write(&so.feat, 0, inv);
        if (st != DSN_OK) goto done;
        int midi = e->notes_col >= 0;
        out->pitch_reference = midi ? 1 : 2;
        size_t P = (size_t)pitch_clips < e->n_ev ? (size_t)pitch_clips : e->n_ev;
        double hit[4] = {0}, vo[4] = {0};
        for (size_t q = 0; q < P && st == DSN_OK; q++) {
            size_t i = q * e->n_ev / P, j = e->partner[i];
            /* references: window of i (ceiling, rec, global) and of j (local) */
            float *refs[2] = {ref, src_f0};
            for (int side = 0; side < 2 && st == DSN_OK; side++) {
                size_t w = e->ev[side ? j : i];
                if (midi) {
                    if (notes_track(e, w, refs[side]) != 0) {
                        st = dsi_error(DSN_E_FORMAT, "clip '%s': notes cell '%.60s' is not 'onset:duration:midi ...'",
                                       e->s.clip_ids[e->s.clip[w]], cell(e, w, e->notes_col));
                        break;
                    }
                } else { /* F0 of the source audio at the feature frames */
                    char *path = clip_path(e, e->s.clip[w]);
                    float *x = NULL, *tr_f0 = NULL;
                    size_t ns = 0, nf = 0;
                    st = path ? dsi_audio_read(path, so.feat.sr, &x, &ns, NULL) : dsi_error(DSN_E_NOMEM, "out of memory");
                    if (st == DSN_OK) st = dsn_pitch_track(NULL, 0, &nf, x, ns, so.feat.sr, NULL);
                    if (st == DSN_OK && !(tr_f0 = dsi_malloc(sizeof(float) * nf))) st = dsi_error(DSN_E_NOMEM, "oom");
                    if (st == DSN_OK) st = dsn_pitch_track(tr_f0, nf, &nf, x, ns, so.feat.sr, NULL);
                    for (size_t t = 0; t < e->T && st == DSN_OK; t++) {
                        size_t ft = (size_t)e->s.start[w] + t;
                        refs[side][t] = ft < nf ? tr_f0[ft] : 0.0f;
                    }
                    dsi_free(tr_f0), dsi_free(x), dsi_free(path);
                }
            }
            if (st != DSN_OK) break;
            size_t wi = e->ev[i], wj = e->ev[j];
            size_t Li = (size_t)e->s.lengths[wi], Lj = (size_t)e->s.lengths[wj];
            st = rpa_of(e, xw(e, wi), Li, ref, midi, inv, audio, cap_audio, f0, &hit[0], &vo[0]);
            size_t zi[3] = {i, i, j}, vi[3] = {i, j, i};
            if (st == DSN_OK) st = decode_pairs(e, zi, vi, 3);
            if (st == DSN_OK) st = rpa_of(e, e->dec, Li, ref, midi, inv, audio, cap_audio, f0, &hit[1], &vo[1]);
            if (st == DSN_OK)
                st = rpa_of(e, e->dec + e->obs, Li, ref, midi, inv, audio, cap_audio, f0, &hit[2], &vo[2]);
            if (st == DSN_OK)
                st = rpa_of(e, e->dec + 2 * e->obs, Lj, src_f0, midi, inv, audio, cap_audio, f0, &hit[3], &vo[3]);
        }
        if (st != DSN_OK) goto done;
        out->n_pitch = P;
        double *rp[4] = {&out->rpa_ceiling, &out->rpa_rec, &out->rpa_global, &out->rpa_local};
        for (int k = 0; k < 4; k++) *rp[k] = vo[k] > 0 ? hit[k] / vo[k] : NAN;
        out->n_pitch_frames = (size_t)vo[0];
    }
done:
    dsn_options_free(inv);
    dsn_classifier_free(clf);
    dsi_free(tr), dsi_free(v_tr), dsi_free(v_re), dsi_free(l_tr), dsi_free(truth_lab), dsi_free(pred);
    dsi_free(audio), dsi_free(f0), dsi_free(ref), dsi_free(src_f0);
    return st;
}

dsn_status dsn_eval_swaps(dsn_swap_eval *out, dsn_model *model, const char *manifest, const dsn_options *opts)
{
    DSI_CHECK_NULL(out, "dsn_eval_swaps: out");
    DSI_CHECK_NULL(model, "dsn_eval_swaps: model");
    DSI_CHECK_NULL(manifest, "dsn_eval_swaps: manifest");
    dsn_swap_eval r;
    dsn_status st0 = dsi_sized_begin(&r, sizeof r, out, sizeof(dsn_swap_eval), "dsn_eval_swaps");
    if (st0 != DSN_OK) return st0;
    ev e;
    memset(&e, 0, sizeof e);
    e.model = model;
    dsn_status st = run(&e, &r, manifest, opts);
    free_ev(&e);
    if (st != DSN_OK) {
        dsi_error_prefix("dsn_eval_swaps");
        return st;
    }
    dsi_sized_end(out, &r, sizeof r);
    return DSN_OK;
}
