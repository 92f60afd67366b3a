/* dataset.c - an audio dataset: clips (clips.c) -> features (feature_pool.c,
 * feature_cache.c) -> fixed windows with masks and labels; dataset files. */
#include "audio/dataset.h"
#include "audio/clips.h"
#include "audio/feature_cache.h"
#include "audio/feature_pool.h"
#include "audio/io.h"
#include "core/alloc.h"
#include "core/endian.h"
#include "core/error.h"
#include "core/fileio.h"
#include "core/sort.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SET_MAGIC "DSNASET\n"
#define SET_VERSION 1u
#define MAX_BIG_FILE ((size_t)1 << 40)
#define MAX_STR 65536u

void dsi_audio_set_opts_default(dsi_audio_set_opts *o)
{
    memset(o, 0, sizeof *o);
    dsi_feat_cfg_default(&o->feat);
    o->threads = 0; /* the library's thread count (dsn_set_threads) */
    o->min_tail = -1;
}

/* ---- assembling the set ------------------------------------------------------ */

static int all_ints(char **v, int n)
{
    for (int i = 0; i < n; i++) {
        char *e;
        errno = 0;
        strtol(v[i], &e, 10);
        if (!v[i][0] || *e || errno) return 0;
    }
    return 1;
}

static int cmp_num(const void *a, const void *b)
{
    long x = strtol(*(char *const *)a, NULL, 10), y = strtol(*(char *const *)b, NULL, 10);
    return (x > y) - (x < y);
}

static dsn_status build_labels(dsi_audio_set *s, dsi_clip_list *l)
{
    const int C = l->n_cols;
    s->n_label_cols = C;
    if (!C) return DSN_OK;
    s->label_names = dsi_calloc((size_t)C, sizeof(char *));
    s->vocab_size = dsi_calloc((size_t)C, sizeof(int));
    s->vocab = dsi_calloc((size_t)C, sizeof(char **));
    s->labels = dsi_malloc(sizeof(int) * (size_t)s->n * C);
    int *cls = dsi_malloc(sizeof(int) * (size_t)l->n);
    char **tmp = dsi_malloc(sizeof(char *) * (size_t)l->n);
    if (!s->label_names || !s->vocab_size || !s->vocab || !s->labels || !cls || !tmp) {
        dsi_free(cls);
        dsi_free(tmp);
        return dsi_error(DSN_E_NOMEM, "out of memory building label vocabularies");
    }
    dsn_status st = DSN_OK;
    for (int k = 0; k < C && st == DSN_OK; k++) {
        s->label_names[k] = l->col_names[k];
        l->col_names[k] = NULL;
        int m = 0;
        for (int i = 0; i < l->n; i++)
            if (l->c[i].cells[k][0]) tmp[m++] = l->c[i].cells[k];
        qsort(tmp, (size_t)m, sizeof *tmp, all_ints(tmp, m) ? cmp_num : dsi_str_cmp);
        int u = 0;
        for (int i = 0; i < m; i++)
            if (!u || strcmp(tmp[i], tmp[u - 1])) tmp[u++] = tmp[i];
        s->vocab_size[k] = u;
        s->vocab[k] = dsi_calloc((size_t)(u ? u : 1), sizeof(char *));
        if (!s->vocab[k]) {
            st = dsi_error(DSN_E_NOMEM, "out of memory");
            break;
        }
        for (int i = 0; i < u; i++)
            if (!(s->vocab[k][i] = dsi_strdup(tmp[i]))) st = dsi_error(DSN_E_NOMEM, "out of memory");
        for (int i = 0; i < l->n; i++) {
            cls[i] = -1;
            const char *v = l->c[i].cells[k];
            if (!v[0]) continue;
            for (int j = 0; j < u; j++) /* vocabularies are small (classes) */
                if (s->vocab[k][j] && !strcmp(s->vocab[k][j], v)) {
                    cls[i] = j;
                    break;
                }
        }
        for (int w = 0; w < s->n; w++) s->labels[(size_t)w * C + k] = cls[s->clip[w]];
    }
    dsi_free(cls);
    dsi_free(tmp);
    return st;
}

static dsn_status assemble(dsi_audio_set *s, dsi_clip_list *l, const dsi_audio_set_opts *o)
{
    const int M = o->feat.n_mels;
    int maxf = 0;
    for (int i = 0; i < l->n; i++)
        if (l->c[i].frames > maxf) maxf = l->c[i].frames;
    int T = o->T > 0 ? o->T : maxf, hop = o->hop > 0 ? o->hop : T;
    int min_tail = o->min_tail >= 0 ? o->min_tail : T / 2;
    if (min_tail > T) min_tail = T;
    size_t nw = 0;
    s->n_dropped_frames = 0;
    s->n_short_clips = 0;
    s->n_masked_frames = 0;
    for (int i = 0; i < l->n; i++) {
        int L = l->c[i].frames;
        if (L < T) s->n_short_clips++;
        for (int st = 0;; st += hop) { /* the windows the loop below makes */
            int len = L - st < T ? L - st : T;
            if (st > 0 && len < min_tail) {
                s->n_dropped_frames += (size_t)(L - (st - hop + T));
                break;
            }
            nw++;
            if (st + T >= L) break;
        }
    }
    if (nw > (size_t)1 << 30 || (double)nw * T * M > 4e9)
        return dsi_error(DSN_E_INVALID, "dataset too large (%zu windows of %d x %d)", nw, T, M);
    s->n = (int)nw;
    s->T = T;
    s->n_mels = M;
    s->feat = o->feat;
    s->x = dsi_aligned_alloc(sizeof(float) * nw * T * M);
    s->mask = dsi_malloc(sizeof(float) * nw * T);
    s->lengths = dsi_malloc(sizeof(int) * nw);
    s->clip = dsi_malloc(sizeof(int) * nw);
    s->start = dsi_malloc(sizeof(int) * nw);
    s->n_clips = l->n;
    s->clip_ids = dsi_calloc((size_t)l->n, sizeof(char *));
    s->clip_frames = dsi_malloc(sizeof(int) * (size_t)l->n);
    if (!s->x || !s->mask || !s->lengths || !s->clip || !s->start || !s->clip_ids || !s->clip_frames)
        return dsi_error(DSN_E_NOMEM, "cannot allocate a dataset of %zu windows of %d x %d", nw, T, M);
    memset(s->x, 0, sizeof(float) * nw * T * M);
    size_t w = 0;
    for (int i = 0; i < l->n; i++) {
        dsi_clip *c = &l->c[i];
        s->clip_ids[i] = c->id;
        c->id = NULL;
        s->clip_frames[i] = c->frames;
        for (int st = 0;; st += hop) {
            int len = c->frames - st < T ? c->frames - st : T;
            if (st > 0 && len < min_tail) break; /* a near-empty tail: counted in n_dropped_frames */
            memcpy(s->x + w * T * M, c->feat + (size_t)st * M, sizeof(float) * (size_t)len * M);
            for (int t = 0; t < T; t++) s->mask[w * T + t] = t < len ? 1.0f : 0.0f;
            s->n_masked_frames += (size_t)(T - len);
            s->lengths[w] = len;
            s->clip[w] = i;
            s->start[w] = st;
            w++;
            if (st + T >= c->frames) break;
        }
    }
    return build_labels(s, l);
}

static dsn_status load_set(dsi_audio_set *s, dsi_clip_list *l, const dsi_audio_set_opts *o)
{
    dsn_status st = dsi_feat_cfg_check(&o->feat);
    if (st != DSN_OK) return st;
    if (o->T < 0 || o->hop < 0 || o->threads < 0 || o->threads > 64)
        return dsi_error(DSN_E_OPTION, "bad window options (T %d, hop %d, threads %d)", o->T, o->hop, o->threads);
    for (int i = 0; i < l->n; i++) {
        struct stat sb;
        dsi_clip *c = &l->c[i];
        if (stat(c->path, &sb) != 0) return dsi_error(DSN_E_IO, "cannot open '%s': %s", c->path, strerror(errno));
        c->size = (uint64_t)sb.st_size;
        c->mtime_s = (int64_t)sb.st_mtim.tv_sec;
        c->mtime_ns = (uint32_t)sb.st_mtim.tv_nsec;
    }
    const uint64_t hash = dsi_feat_cfg_hash(&o->feat);
    if (o->cache_path) dsi_feature_cache_lookup(l, o->cache_path, hash, o->feat.n_mels);
    int cached = 0;
    for (int i = 0; i < l->n; i++) cached += l->c[i].feat != NULL;
    int computed = 0;
    st = dsi_features_compute(l, &o->feat, o->threads, &computed);
    if (st != DSN_OK) return st;
    if (o->cache_path && computed > 0) {
        st = dsi_feature_cache_store(l, o->cache_path, hash, o->feat.n_mels);
        if (st != DSN_OK) return st;
    }
    /* silent or clipped clips: counted; an error or left out if asked */
    int silent = 0, clipped = 0, skipped = 0;
    for (int i = 0; i < l->n; i++) {
        dsi_clip *c = &l->c[i];
        silent += (c->flags & DSI_AUDIO_SILENT) != 0;
        clipped += (c->flags & DSI_AUDIO_CLIPPED) != 0;
        if (c->flags && o->bad_clips == DSI_BAD_CLIPS_ERROR)
            return dsi_error(DSN_E_INVALID, "clip '%s' is %s (bad_clips=skip leaves such clips out, counted; "
                                            "bad_clips=keep trains on them)",
                             c->path, dsi_audio_check_reason(c->flags));
        if (c->flags && o->bad_clips == DSI_BAD_CLIPS_SKIP) {
            dsi_clip_list_drop(l, i--);
            skipped++;
        }
    }
    if (l->n == 0 && skipped)
        return dsi_error(DSN_E_INVALID, "every clip is silent or clipped (%d silent, %d clipped): nothing to train on",
                         silent, clipped);
    memset(s, 0, sizeof *s);
    st = assemble(s, l, o);
    s->n_computed = computed;
    s->n_cached = cached;
    s->n_silent_clips = silent;
    s->n_clipped_clips = clipped;
    s->n_skipped_clips = skipped;
    if (st != DSN_OK) dsi_audio_set_free(s);
    return st;
}

/* List the clips with `lister`, then load them: shared by folder and manifest. */
static dsn_status load_listed(dsi_audio_set *s, const char *src, const dsi_audio_set_opts *o,
                              dsn_status (*lister)(dsi_clip_list *, const char *))
{
    dsi_audio_set_opts def;
    if (!o) {
        dsi_audio_set_opts_default(&def);
        o = &def;
    }
    dsi_clip_list l;
    memset(&l, 0, sizeof l);
    dsn_status st = lister(&l, src);
    if (st == DSN_OK) st = load_set(s, &l, o);
    dsi_clip_list_free(&l);
    return st;
}

dsn_status dsi_audio_set_from_dir(dsi_audio_set *s, const char *dir, const dsi_audio_set_opts *o)
{
    DSI_CHECK_NULL(s, "set");
    DSI_CHECK_NULL(dir, "dir");
    return load_listed(s, dir, o, dsi_clips_from_dir);
}

dsn_status dsi_audio_set_from_csv(dsi_audio_set *s, const char *csv, const dsi_audio_set_opts *o)
{
    DSI_CHECK_NULL(s, "set");
    DSI_CHECK_NULL(csv, "csv");
    return load_listed(s, csv, o, dsi_clips_from_csv);
}

void dsi_audio_set_free(dsi_audio_set *s)
{
    if (!s) return;
    dsi_aligned_free(s->x);
    dsi_free(s->mask);
    dsi_free(s->lengths);
    dsi_free(s->clip);
    dsi_free(s->start);
    if (s->clip_ids)
        for (int i = 0; i < s->n_clips; i++) dsi_free(s->clip_ids[i]);
    dsi_free(s->clip_ids);
    dsi_free(s->clip_frames);
    for (int k = 0; k < s->n_label_cols; k++) {
        if (s->label_names) dsi_free(s->label_names[k]);
        if (s->vocab && s->vocab[k]) {
            for (int j = 0; j < s->vocab_size[k]; j++) dsi_free(s->vocab[k][j]);
            dsi_free(s->vocab[k]);
        }
    }
    dsi_free(s->label_names);
    dsi_free(s->vocab);
    dsi_free(s->vocab_size);
    dsi_free(s->labels);
    memset(s, 0, sizeof *s);
}

int dsi_audio_set_label_col(const dsi_audio_set *s, const char *name)
{
    if (!s || !name) return -1;
    for (int k = 0; k < s->n_label_cols; k++)
        if (!strcmp(s->label_names[k], name)) return k;
    return -1;
}

/* ---- dataset file ----------------------------------------------------------- */

static void write_cfg(dsi_writer *w, const dsi_feat_cfg *c)
{
    int32_t iv[] = {c->sr, c->n_fft, c->hop, c->win_length, (int)c->window, c->center, c->power,
                    c->n_mels, (int)c->scale, (int)c->norm, (int)c->log};
    for (size_t i = 0; i < sizeof iv / sizeof *iv; i++) dsi_write_u32(w, (uint32_t)iv[i]);
    float fv[] = {c->fmin, c->fmax, c->eps, c->amin, c->top_db};
    dsi_write_f32s(w, fv, 5);
}

static void read_cfg(dsi_reader *r, dsi_feat_cfg *c)
{
    uint32_t iv[11];
    for (int i = 0; i < 11; i++) dsi_read_u32(r, &iv[i]);
    c->sr = (int)iv[0];
    c->n_fft = (int)iv[1];
    c->hop = (int)iv[2];
    c->win_length = (int)iv[3];
    c->window = (dsi_window)iv[4];
    c->center = (int)iv[5];
    c->power = (int)iv[6];
    c->n_mels = (int)iv[7];
    c->scale = (dsi_mel_scale)iv[8];
    c->norm = (dsi_mel_norm)iv[9];
    c->log = (dsi_feat_log)iv[10];
    float fv[5];
    dsi_read_f32s(r, fv, 5);
    c->fmin = fv[0];
    c->fmax = fv[1];
    c->eps = fv[2];
    c->amin = fv[3];
    c->top_db = fv[4];
}

static void write_ints(dsi_writer *w, const int *v, size_t n)
{
    for (size_t i = 0; i < n; i++) dsi_write_u32(w, (uint32_t)v[i]);
}

static int read_ints(dsi_reader *r, int *v, size_t n)
{
    const unsigned char *p = dsi_read_view(r, n * 4);
    if (!p) return -1;
    for (size_t i = 0; i < n; i++) v[i] = (int)dsi_get_u32(p + 4 * i);
    return 0;
}

dsn_status dsi_audio_set_save(const dsi_audio_set *s, const char *path)
{
    DSI_CHECK_NULL(s, "set");
    DSI_CHECK_NULL(path, "path");
    const size_t n = (size_t)s->n, T = (size_t)s->T, M = (size_t)s->n_mels, C = (size_t)s->n_label_cols;
    dsi_writer w;
    dsi_writer_init(&w);
    dsi_write_bytes(&w, SET_MAGIC, 8);
    dsi_write_u32(&w, SET_VERSION);
    uint32_t dims[] = {(uint32_t)s->n, (uint32_t)s->T, (uint32_t)s->n_mels, (uint32_t)s->n_clips,
                       (uint32_t)s->n_label_cols};
    for (int i = 0; i < 5; i++) dsi_write_u32(&w, dims[i]);
    write_cfg(&w, &s->feat);
    dsi_write_f32s(&w, s->x, n * T * M);
    dsi_write_f32s(&w, s->mask, n * T);
    write_ints(&w, s->lengths, n);
    write_ints(&w, s->clip, n);
    write_ints(&w, s->start, n);
    for (int i = 0; i < s->n_clips; i++) dsi_write_str(&w, s->clip_ids[i]);
    write_ints(&w, s->clip_frames, (size_t)s->n_clips);
    for (size_t k = 0; k < C; k++) {
        dsi_write_str(&w, s->label_names[k]);
        dsi_write_u32(&w, (uint32_t)s->vocab_size[k]);
        for (int j = 0; j < s->vocab_size[k]; j++) dsi_write_str(&w, s->vocab[k][j]);
    }
    if (C) write_ints(&w, s->labels, n * C);
    dsn_status st;
    if (w.failed) {
        st = dsi_error(DSN_E_NOMEM, "out of memory writing '%s'", path);
    } else {
        dsi_write_u32(&w, dsi_crc32(0, w.buf, w.len));
        st = dsi_write_atomic(path, w.buf, w.len);
    }
    dsi_writer_free(&w);
    return st;
}

dsn_status dsi_audio_set_load(dsi_audio_set *out, const char *path)
{
    DSI_CHECK_NULL(out, "set");
    DSI_CHECK_NULL(path, "path");
    unsigned char *data;
    size_t len;
    dsn_status st = dsi_read_file(path, MAX_BIG_FILE, &data, &len);
    if (st != DSN_OK) return st;
    if (len < 16 || memcmp(data, SET_MAGIC, 8) != 0) {
        dsi_free(data);
        return dsi_error(DSN_E_FORMAT, "'%s' is not an audio dataset file", path);
    }
    if (dsi_crc32(0, data, len - 4) != dsi_get_u32(data + len - 4)) {
        dsi_free(data);
        return dsi_error(DSN_E_FORMAT, "'%s': checksum mismatch (damaged file)", path);
    }
    dsi_reader r;
    dsi_reader_init(&r, data + 8, len - 12, path);
    dsi_audio_set s;
    memset(&s, 0, sizeof s);
    uint32_t ver, dims[5];
    dsi_read_u32(&r, &ver);
    for (int i = 0; i < 5; i++) dsi_read_u32(&r, &dims[i]);
    read_cfg(&r, &s.feat);
    if (r.failed) {
        st = DSN_E_FORMAT;
        goto done;
    }
    if (ver != SET_VERSION) {
        st = dsi_error(DSN_E_FORMAT, "'%s': unsupported version %u", path, ver);
        goto done;
    }
    /* the stored front end settings, as an option reader would check them */
    if (dsi_feat_cfg_check(&s.feat) != DSN_OK) {
        st = dsi_error(DSN_E_FORMAT, "'%s': bad feature settings: %s", path, dsn_last_error());
        goto done;
    }
    const size_t n = dims[0], T = dims[1], M = dims[2], NC = dims[3], C = dims[4];
    /* every count is bounded by the bytes that must follow it */
    if (n == 0 || T == 0 || M == 0 || NC == 0 || C > 4096 || n > (1u << 30) || T > (1u << 24) || M > 4096 ||
        (double)n * T * M * 4 > (double)dsi_reader_left(&r) || NC * 4 > dsi_reader_left(&r)) {
        st = dsi_error(DSN_E_FORMAT, "'%s': bad sizes (n %zu, T %zu, n_mels %zu, clips %zu, labels %zu)", path, n,
                       T, M, NC, C);
        goto done;
    }
    s.n = (int)n;
    s.T = (int)T;
    s.n_mels = (int)M;
    s.n_clips = (int)NC;
    s.x = dsi_aligned_alloc(sizeof(float) * n * T * M);
    s.mask = dsi_malloc(sizeof(float) * n * T);
    s.lengths = dsi_malloc(sizeof(int) * n);
    s.clip = dsi_malloc(sizeof(int) * n);
    s.start = dsi_malloc(sizeof(int) * n);
    s.clip_ids = dsi_calloc(NC, sizeof(char *));
    s.clip_frames = dsi_malloc(sizeof(int) * NC);
    if (!s.x || !s.mask || !s.lengths || !s.clip || !s.start || !s.clip_ids || !s.clip_frames) {
        st = dsi_error(DSN_E_NOMEM, "cannot allocate the dataset of '%s'", path);
        goto done;
    }
    if (dsi_read_f32s(&r, s.x, n * T * M) || dsi_read_f32s(&r, s.mask, n * T) || read_ints(&r, s.lengths, n) ||
        read_ints(&r, s.clip, n) || read_ints(&r, s.start, n)) {
        st = DSN_E_FORMAT;
        goto done;
    }
    for (size_t i = 0; i < NC; i++)
        if (!(s.clip_ids[i] = dsi_read_str_dup(&r, MAX_STR))) {
            st = r.failed ? dsi_error(DSN_E_FORMAT, "'%s': bad clip id", path) : DSN_E_NOMEM;
            goto done;
        }
    if (read_ints(&r, s.clip_frames, NC)) {
        st = DSN_E_FORMAT;
        goto done;
    }
    if (C) {
        s.label_names = dsi_calloc(C, sizeof(char *));
        s.vocab_size = dsi_calloc(C, sizeof(int));
        s.vocab = dsi_calloc(C, sizeof(char **));
        if (!s.label_names || !s.vocab_size || !s.vocab || n * C > dsi_reader_left(&r)) {
            st = dsi_error(DSN_E_FORMAT, "'%s': bad label section", path);
            goto done;
        }
        s.n_label_cols = (int)C;
        for (size_t k = 0; k < C; k++) {
            uint32_t vs;
            s.label_names[k] = dsi_read_str_dup(&r, MAX_STR);
            dsi_read_u32(&r, &vs);
            if (r.failed || !s.label_names[k] || (size_t)vs * 4 > dsi_reader_left(&r)) {
                st = dsi_error(DSN_E_FORMAT, "'%s': bad label column %zu", path, k);
                goto done;
            }
            s.vocab[k] = dsi_calloc(vs ? vs : 1, sizeof(char *));
            if (!s.vocab[k]) {
                st = dsi_error(DSN_E_NOMEM, "out of memory");
                goto done;
            }
            s.vocab_size[k] = (int)vs;
            for (uint32_t j = 0; j < vs; j++)
                if (!(s.vocab[k][j] = dsi_read_str_dup(&r, MAX_STR))) {
                    st = dsi_error(DSN_E_FORMAT, "'%s': bad vocabulary", path);
                    goto done;
                }
        }
        s.labels = dsi_malloc(sizeof(int) * n * C);
        if (!s.labels || read_ints(&r, s.labels, n * C)) {
            st = s.labels ? DSN_E_FORMAT : dsi_error(DSN_E_NOMEM, "out of memory");
            goto done;
        }
    }
    /* indices must be in range */
    for (size_t i = 0; i < n; i++) {
        if (s.clip[i] < 0 || (size_t)s.clip[i] >= NC || s.lengths[i] < 0 || (size_t)s.lengths[i] > T) {
            st = dsi_error(DSN_E_FORMAT, "'%s': window %zu has bad clip/length", path, i);
            goto done;
        }
        for (size_t k = 0; k < C; k++) {
            int v = s.labels[i * C + k];
            if (v < -1 || v >= s.vocab_size[k]) {
                st = dsi_error(DSN_E_FORMAT, "'%s': label out of range", path);
                goto done;
            }
        }
    }
    if (dsi_reader_left(&r) != 0) {
        st = dsi_error(DSN_E_FORMAT, "'%s': %zu trailing bytes", path, dsi_reader_left(&r));
        goto done;
    }
done:
    dsi_free(data);
    if (st != DSN_OK) {
        dsi_audio_set_free(&s);
        return st;
    }
    *out = s;
    return DSN_OK;
}
