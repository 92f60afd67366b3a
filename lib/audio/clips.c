/* clips.c - listing the clips of an audio dataset (folder or CSV manifest). */
#include "audio/clips.h"
#include "audio/csv.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/fileio.h"
#include "core/sort.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MANIFEST ((size_t)256 << 20)

static void clip_free(dsi_clip *c, int n_cols)
{
    dsi_free(c->path);
    dsi_free(c->id);
    if (c->cells)
        for (int k = 0; k < n_cols; k++) dsi_free(c->cells[k]);
    dsi_free(c->cells);
    dsi_free(c->feat);
}

void dsi_clip_list_drop(dsi_clip_list *l, int i)
{
    if (i < 0 || i >= l->n) return;
    clip_free(&l->c[i], l->n_cols);
    memmove(&l->c[i], &l->c[i + 1], sizeof *l->c * (size_t)(l->n - i - 1));
    l->n--;
}

void dsi_clip_list_free(dsi_clip_list *l)
{
    for (int i = 0; i < l->n; i++) clip_free(&l->c[i], l->n_cols);
    dsi_free(l->c);
    for (int k = 0; k < l->n_cols; k++) dsi_free(l->col_names[k]);
    dsi_free(l->col_names);
    memset(l, 0, sizeof *l);
}

dsi_clip *dsi_clip_list_add(dsi_clip_list *l)
{
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 64;
        dsi_clip *t = dsi_realloc(l->c, sizeof(dsi_clip) * (size_t)l->cap, sizeof(dsi_clip) * (size_t)nc);
        if (!t) return NULL;
        l->c = t;
        l->cap = nc;
    }
    dsi_clip *c = &l->c[l->n++];
    memset(c, 0, sizeof *c);
    return c;
}

static char *join_path(const char *dir, const char *name)
{
    if (name[0] == '/' || !dir || !dir[0]) return dsi_strdup(name);
    size_t a = strlen(dir), b = strlen(name);
    char *p = dsi_malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

static int has_audio_ext(const char *name)
{
    static const char *const ext[] = {".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".au", ".mp3", ".opus", ".caf", ".w64"};
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        const char *a = dot, *b = ext[i];
        while (*a && *b) {
            char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
            if (ca != *b) break;
            a++;
            b++;
        }
        if (!*a && !*b) return 1;
    }
    return 0;
}

dsn_status dsi_clips_from_dir(dsi_clip_list *l, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return dsi_error(DSN_E_IO, "cannot open folder '%s': %s", dir, strerror(errno));
    char **names = NULL;
    int n = 0, cap = 0;
    dsn_status st = DSN_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !has_audio_ext(e->d_name)) continue;
        if (n == cap) {
            int nc = cap ? cap * 2 : 64;
            char **t = dsi_realloc(names, sizeof(char *) * (size_t)cap, sizeof(char *) * (size_t)nc);
            if (!t) {
                st = dsi_error(DSN_E_NOMEM, "out of memory listing '%s'", dir);
                break;
            }
            names = t;
            cap = nc;
        }
        if (!(names[n] = dsi_strdup(e->d_name))) {
            st = dsi_error(DSN_E_NOMEM, "out of memory listing '%s'", dir);
            break;
        }
        n++;
    }
    closedir(d);
    if (st == DSN_OK) {
        if (n > 1) qsort(names, (size_t)n, sizeof *names, dsi_str_cmp); /* names is NULL when n == 0 */
        for (int i = 0; i < n && st == DSN_OK; i++) {
            dsi_clip *c = dsi_clip_list_add(l);
            if (!c || !(c->id = dsi_strdup(names[i])) || !(c->path = join_path(dir, names[i])))
                st = dsi_error(DSN_E_NOMEM, "out of memory listing '%s'", dir);
        }
        if (st == DSN_OK && l->n == 0) st = dsi_error(DSN_E_INVALID, "folder '%s' holds no audio files", dir);
    }
    for (int i = 0; i < n; i++) dsi_free(names[i]);
    dsi_free(names);
    return st;
}

dsn_status dsi_clips_from_csv(dsi_clip_list *l, const char *csv)
{
    unsigned char *data;
    size_t len;
    dsn_status st = dsi_read_file(csv, MAX_MANIFEST, &data, &len);
    if (st != DSN_OK) return st;
    char *dir = dsi_strdup(csv);
    if (!dir) {
        dsi_free(data);
        return dsi_error(DSN_E_NOMEM, "out of memory");
    }
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else dir[0] = '\0';
    const char *p = (const char *)data, *end = p + len;
    if (len >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF) p += 3; /* UTF-8 BOM */
    while (p < end && (*p == '\r' || *p == '\n')) p++;
    char **hdr = NULL;
    int nh = p < end ? dsi_csv_record(&p, end, &hdr) : 0;
    int path_col = 0;
    if (nh < 0) {
        st = dsi_error(DSN_E_NOMEM, "out of memory reading '%s'", csv);
        goto done;
    }
    if (nh == 0) {
        st = dsi_error(DSN_E_FORMAT, "'%s': empty manifest", csv);
        goto done;
    }
    for (int i = 0; i < nh; i++)
        if (!strcmp(hdr[i], "path") || !strcmp(hdr[i], "file") || !strcmp(hdr[i], "filename")) {
            path_col = i;
            break;
        }
    l->n_cols = nh - 1;
    if (l->n_cols) {
        l->col_names = dsi_calloc((size_t)l->n_cols, sizeof(char *));
        if (!l->col_names) {
            l->n_cols = 0;
            st = dsi_error(DSN_E_NOMEM, "out of memory");
            goto done;
        }
        for (int i = 0, k = 0; i < nh; i++)
            if (i != path_col) {
                l->col_names[k++] = hdr[i];
                hdr[i] = NULL;
            }
    }
    int line = 1;
    while (p < end && st == DSN_OK) {
        char **f;
        line++;
        int nf = dsi_csv_record(&p, end, &f);
        if (nf < 0) {
            st = dsi_error(DSN_E_NOMEM, "out of memory reading '%s'", csv);
            break;
        }
        if (nf == 1 && !f[0][0]) { /* blank line */
            dsi_csv_free(f, nf);
            continue;
        }
        if (nf != nh) {
            st = dsi_error(DSN_E_FORMAT, "'%s' record %d: %d fields, the header has %d", csv, line, nf, nh);
            dsi_csv_free(f, nf);
            break;
        }
        if (!f[path_col][0]) {
            st = dsi_error(DSN_E_FORMAT, "'%s' record %d: empty path", csv, line);
            dsi_csv_free(f, nf);
            break;
        }
        dsi_clip *c = dsi_clip_list_add(l);
        if (!c || !(c->path = join_path(dir, f[path_col])) ||
            (l->n_cols && !(c->cells = dsi_calloc((size_t)l->n_cols, sizeof(char *))))) {
            st = dsi_error(DSN_E_NOMEM, "out of memory reading '%s'", csv);
            dsi_csv_free(f, nf);
            break;
        }
        c->id = f[path_col];
        f[path_col] = NULL;
        for (int i = 0, k = 0; i < nf; i++)
            if (i != path_col) {
                c->cells[k++] = f[i];
                f[i] = NULL;
            }
        dsi_csv_free(f, nf);
    }
    if (st == DSN_OK && l->n == 0) st = dsi_error(DSN_E_FORMAT, "'%s': manifest lists no files", csv);
done:
    if (nh > 0) dsi_csv_free(hdr, nh);
    dsi_free(dir);
    dsi_free(data);
    return st;
}
