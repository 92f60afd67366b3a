/* fit_log.c - dsn_fit's JSONL training log and its CSV twin (fit_log.h).
 *
 * Both files are written through one buffer each, allocated at the open,
 * with write(2): no allocation after the open (stdio would allocate its
 * buffer on the first write) and the records of every step, skipped step,
 * epoch and validation. Buffers go to the files when they fill, after every
 * epoch record and at the end, so a killed run loses at most the steps of
 * its current epoch. A failed write is remembered and reported by the next
 * flush (dsn_fit then fails), never dropped. */
#include "api/fit_log.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_BUF (64 * 1024)
#define LINE_MAX_BYTES (16 * 1024)

typedef struct log_file {
    int fd;
    char path[1024];
    char *buf;
    size_t len;
} log_file;

struct dsi_fit_log {
    log_file f[2]; /* 0: JSONL, 1: CSV */
    char line[LINE_MAX_BYTES];
    size_t n;      /* bytes in line */
    int err;       /* errno of the first failed write (0: none) */
    int err_file;
    double t0;
};

static void file_flush(dsi_fit_log *l, int k)
{
    log_file *f = &l->f[k];
    size_t off = 0;
    while (off < f->len && !l->err) {
        ssize_t w = write(f->fd, f->buf + off, f->len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            l->err = w < 0 ? errno : EIO;
            l->err_file = k;
            break;
        }
        off += (size_t)w;
    }
    f->len = 0;
}

/* the line built so far goes to file k */
static void emit(dsi_fit_log *l, int k)
{
    log_file *f = &l->f[k];
    if (f->len + l->n > LOG_BUF) file_flush(l, k);
    memcpy(f->buf + f->len, l->line, l->n);
    f->len += l->n;
    l->n = 0;
}

static void put(dsi_fit_log *l, const char *fmt, ...)
{
    if (l->n >= sizeof l->line - 1) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(l->line + l->n, sizeof l->line - l->n, fmt, ap);
    va_end(ap);
    if (w > 0) l->n += (size_t)w < sizeof l->line - l->n ? (size_t)w : sizeof l->line - l->n - 1;
}

/* a number: JSON has no NaN or infinity (null); the CSV writes nan / inf */
static void num(dsi_fit_log *l, double v, int json)
{
    if (isfinite(v)) put(l, "%.9g", v);
    else if (json) put(l, "null");
    else put(l, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

/* a JSON string (quotes, backslashes and control characters escaped) */
static void str(dsi_fit_log *l, const char *s)
{
    put(l, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && l->n < sizeof l->line - 8; p++) {
        if (*p == '"' || *p == '\\') put(l, "\\%c", *p);
        else if (*p < 0x20) put(l, "\\u%04x", *p);
        else l->line[l->n++] = (char)*p;
    }
    put(l, "\"");
}

/* a CSV field: quoted when it holds a comma, quote or line break */
static void csv_str(dsi_fit_log *l, const char *s)
{
    s = s ? s : "";
    if (!strpbrk(s, ",\"\n\r")) {
        put(l, "%s", s);
        return;
    }
    put(l, "\"");
    for (const char *p = s; *p && l->n < sizeof l->line - 8; p++) {
        if (*p == '"') put(l, "\"\"");
        else l->line[l->n++] = *p == '\n' || *p == '\r' ? ' ' : *p;
    }
    put(l, "\"");
}

/* the JSON fields every record shares after its event name */
static void head(dsi_fit_log *l, const char *event, int epoch, int64_t step, const char *stage)
{
    put(l, "{\"event\":");
    str(l, event);
    put(l, ",\"epoch\":%d,\"step\":%lld,\"time\":%.6f,\"stage\":", epoch, (long long)step, dsi_wall_seconds() - l->t0);
    str(l, stage);
}

/* head of a record with a learning rate (step, epoch); returns the time for its CSV rows */
static double head_lr(dsi_fit_log *l, const char *event, int epoch, int64_t step, const char *stage, double lr)
{
    double t = dsi_wall_seconds() - l->t0;
    head(l, event, epoch, step, stage);
    put(l, ",\"lr\":");
    num(l, lr, 1);
    return t;
}

static void csv_row(dsi_fit_log *l, const char *event, int epoch, int64_t step, double t, const char *stage,
                    double lr, const char *name, double value)
{
    put(l, "%s,%d,%lld,%.6f,", event, epoch, (long long)step, t);
    csv_str(l, stage);
    put(l, ",");
    num(l, lr, 0);
    put(l, ",");
    csv_str(l, name);
    put(l, ",");
    num(l, value, 0);
    put(l, "\n");
    emit(l, 1);
}

static void csv_suffix(char *out, size_t cap, const char *path)
{
    size_t n = strlen(path);
    if (n > 6 && !strcmp(path + n - 6, ".jsonl")) snprintf(out, cap, "%.*s.csv", (int)(n - 6), path);
    else snprintf(out, cap, "%s.csv", path);
}

dsn_status dsi_fit_log_open(dsi_fit_log **out, const char *path, int append)
{
    *out = NULL;
    if (strlen(path) + 8 > sizeof((log_file *)0)->path)
        return dsi_error(DSN_E_INVALID, "log path of %zu bytes is too long", strlen(path));
    dsi_fit_log *l = dsi_calloc(1, sizeof *l);
    if (!l) return dsi_error(DSN_E_NOMEM, "out of memory for the training log");
    l->f[0].fd = l->f[1].fd = -1;
    snprintf(l->f[0].path, sizeof l->f[0].path, "%s", path);
    csv_suffix(l->f[1].path, sizeof l->f[1].path, path);
    for (int k = 0; k < 2; k++) {
        log_file *f = &l->f[k];
        f->buf = dsi_malloc(LOG_BUF);
        if (!f->buf) {
            dsi_fit_log_close(l);
            return dsi_error(DSN_E_NOMEM, "out of memory for the training log");
        }
        f->fd = open(f->path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
        if (f->fd < 0) {
            int e = errno;
            dsi_fit_log_close(l);
            return dsi_error(DSN_E_IO, "cannot open the training log '%s': %s", k ? l->f[1].path : path,
                             strerror(e));
        }
    }
    /* the CSV header, unless the file already has rows */
    if (lseek(l->f[1].fd, 0, SEEK_END) == 0) {
        put(l, "event,epoch,step,time,stage,lr,name,value\n");
        emit(l, 1);
    }
    l->t0 = dsi_wall_seconds();
    *out = l;
    return DSN_OK;
}

void dsi_fit_log_start(dsi_fit_log *l, const char *family, const char *stage, size_t params, size_t n_train,
                       size_t n_valid, int first_epoch, int epochs, int64_t steps_per_epoch, size_t batch,
                       uint64_t seed, const char *optimizer, int64_t step)
{
    if (!l) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    head(l, "start", first_epoch, step, stage);
    put(l, ",\"unix_time\":%.3f,\"family\":", (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
    str(l, family);
    put(l, ",\"optimizer\":");
    str(l, optimizer);
    put(l, ",\"params\":%zu,\"train_size\":%zu,\"valid_size\":%zu,\"epochs\":%d,\"steps_per_epoch\":%lld,"
           "\"batch\":%zu,\"seed\":%llu,\"version\":",
        params, n_train, n_valid, epochs, (long long)steps_per_epoch, batch, (unsigned long long)seed);
    str(l, dsn_version_string());
    put(l, "}\n");
    emit(l, 0);
}

void dsi_fit_log_data(dsi_fit_log *l, int epoch, int64_t step, const char *stage, int n, const char *const *names,
                      const uint64_t *values, const struct dsn_options *front_end)
{
    if (!l || n <= 0) return;
    double t = dsi_wall_seconds() - l->t0;
    head(l, "data", epoch, step, stage);
    put(l, ",\"counts\":{");
    for (int i = 0; i < n; i++) {
        put(l, i ? "," : "");
        str(l, names[i]);
        put(l, ":%llu", (unsigned long long)values[i]);
    }
    /* the front end as one "key=value, ..." string (what dsn_options_parse reads) */
    char fe[1024];
    size_t k = 0;
    fe[0] = '\0';
    for (size_t i = 0; front_end && i < dsn_options_count(front_end) && k + 1 < sizeof fe; i++) {
        const char *key = dsn_options_key(front_end, i);
        k += (size_t)snprintf(fe + k, sizeof fe - k, "%s%s=%s", i ? ", " : "", key, dsn_options_get(front_end, key));
    }
    put(l, "},\"front_end\":");
    str(l, fe);
    put(l, "}\n");
    emit(l, 0);
    for (int i = 0; i < n; i++) csv_row(l, "data", epoch, step, t, stage, 0.0, names[i], (double)values[i]);
}

/* "name":value of each term, comma-separated (a comma before the first too
 * when more), values from vf or, when it is NULL, vd */
static void terms(dsi_fit_log *l, int n, const char *const *names, const float *vf, const double *vd, int more)
{
    for (int i = 0; i < n; i++) {
        put(l, i || more ? "," : "");
        str(l, names[i]);
        put(l, ":");
        num(l, vf ? vf[i] : vd[i], 1);
    }
}

void dsi_fit_log_step(dsi_fit_log *l, int epoch, int64_t step, const char *stage, double lr, int n,
                      const char *const *names, const float *values)
{
    if (!l) return;
    double t = head_lr(l, "step", epoch, step, stage, lr);
    put(l, ",\"terms\":{");
    terms(l, n, names, values, NULL, 0);
    put(l, "}}\n");
    emit(l, 0);
    for (int i = 0; i < n; i++) csv_row(l, "step", epoch, step, t, stage, lr, names[i], values[i]);
}

void dsi_fit_log_skip(dsi_fit_log *l, int epoch, int64_t step, const char *stage, const char *why)
{
    if (!l) return;
    head(l, "skip", epoch, step, stage);
    put(l, ",\"reason\":");
    str(l, why);
    put(l, "}\n");
    emit(l, 0);
}

void dsi_fit_log_epoch(dsi_fit_log *l, int epoch, int64_t step, const char *stage, double lr, int n,
                       const char *const *names, const float *values, int n_valid,
                       const char *const *valid_names, const double *valid_values)
{
    if (!l) return;
    double t = head_lr(l, "epoch", epoch, step, stage, lr);
    terms(l, n, names, values, NULL, 1);
    if (n_valid) {
        put(l, ",\"valid_terms\":{");
        terms(l, n_valid, valid_names, NULL, valid_values, 0);
        put(l, "}");
    }
    put(l, "}\n");
    emit(l, 0);
    for (int i = 0; i < n; i++) csv_row(l, "epoch", epoch, step, t, stage, lr, names[i], values[i]);
    for (int i = 0; i < n_valid; i++) {
        char name[80];
        snprintf(name, sizeof name, "valid.%s", valid_names[i]);
        csv_row(l, "epoch", epoch, step, t, stage, lr, name, valid_values[i]);
    }
    file_flush(l, 0);
    file_flush(l, 1);
}

void dsi_fit_log_end(dsi_fit_log *l, int epoch, int64_t step, dsn_status st, const char *message)
{
    if (!l) return;
    head(l, "end", epoch, step, "");
    put(l, ",\"status\":");
    str(l, st == DSN_OK ? "ok" : dsn_status_string(st));
    if (st != DSN_OK) {
        put(l, ",\"message\":");
        str(l, message);
    }
    put(l, "}\n");
    emit(l, 0);
}

dsn_status dsi_fit_log_flush(dsi_fit_log *l)
{
    if (!l) return DSN_OK;
    file_flush(l, 0);
    file_flush(l, 1);
    if (l->err)
        return dsi_error(DSN_E_IO, "writing the training log '%s' failed: %s", l->f[l->err_file].path,
                         strerror(l->err));
    return DSN_OK;
}

dsn_status dsi_fit_log_close(dsi_fit_log *l)
{
    if (!l) return DSN_OK;
    dsn_status st = DSN_OK;
    if (l->f[0].fd >= 0 && l->f[1].fd >= 0) st = dsi_fit_log_flush(l);
    for (int k = 0; k < 2; k++) {
        if (l->f[k].fd >= 0 && close(l->f[k].fd) != 0 && st == DSN_OK)
            st = dsi_error(DSN_E_IO, "closing the training log '%s' failed: %s", l->f[k].path, strerror(errno));
        dsi_free(l->f[k].buf);
    }
    dsi_free(l);
    return st;
}
