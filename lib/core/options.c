/* options.c - the option bag behind dsn_options (an ordered key/value list)
 * and the typed readers that consume its keys (internal). The public calls
 * (lib/api/options.c) are thin wrappers over these. */
#include "core/options.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/fileio.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the bag ---- */

struct dsn_options *dsi_options_new(void) { return dsi_calloc(1, sizeof(struct dsn_options)); }

void dsi_options_free(struct dsn_options *o)
{
    if (!o) return;
    for (size_t i = 0; i < o->count; i++) dsi_free(o->items[i].value);
    dsi_free(o->items);
    dsi_free(o);
}

dsn_status dsi_options_copy(struct dsn_options **out, const struct dsn_options *src)
{
    struct dsn_options *o = dsi_options_new();
    dsn_status st = o ? DSN_OK : dsi_error(DSN_E_NOMEM, "out of memory");
    for (size_t i = 0; st == DSN_OK && src && i < src->count; i++) st = dsi_options_set(o, src->items[i].key, src->items[i].value);
    if (st != DSN_OK) {
        dsi_options_free(o);
        o = NULL;
    }
    *out = o;
    return st;
}

void dsi_options_clear(struct dsn_options *o)
{
    for (size_t i = 0; i < o->count; i++) dsi_free(o->items[i].value);
    dsi_free(o->items);
    memset(o, 0, sizeof *o);
}

static int valid_key(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n >= DSI_OPT_KEY) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (!(islower(c) || isdigit(c) || c == '_' || c == '.' || c == '-')) return 0;
    }
    return 1;
}

dsn_status dsi_options_set(struct dsn_options *o, const char *key, const char *value)
{
    if (!valid_key(key))
        return dsi_error(DSN_E_OPTION, "bad key '%.80s' (want [a-z0-9_.-], 1..63 bytes)", key);
    if (strlen(value) >= DSI_OPT_VALUE)
        return dsi_error(DSN_E_OPTION, "value of '%s' is longer than %d bytes", key, DSI_OPT_VALUE - 1);
    char *v = dsi_strdup(value);
    if (!v) return dsi_error(DSN_E_NOMEM, "out of memory");
    for (size_t i = 0; i < o->count; i++)
        if (strcmp(o->items[i].key, key) == 0) {
            dsi_free(o->items[i].value);
            o->items[i].value = v;
            return DSN_OK;
        }
    if (o->count == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 16;
        dsi_opt_entry *it = dsi_realloc(o->items, o->cap * sizeof *it, cap * sizeof *it);
        if (!it) {
            dsi_free(v);
            return dsi_error(DSN_E_NOMEM, "out of memory");
        }
        o->items = it;
        o->cap = cap;
    }
    strcpy(o->items[o->count].key, key);
    o->items[o->count].value = v;
    o->count++;
    return DSN_OK;
}

const char *dsi_options_get(const struct dsn_options *o, const char *key)
{
    if (!o || !key) return NULL;
    for (size_t i = 0; i < o->count; i++)
        if (strcmp(o->items[i].key, key) == 0) return o->items[i].value;
    return NULL;
}

char *dsi_trim(char *s)
{
    while (*s && isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

/* ---- introspection ---- */

static _Thread_local dsi_opt_sink *g_sink;

void dsi_opt_sink_set(dsi_opt_sink *sink) { g_sink = sink; }
dsi_opt_sink *dsi_opt_sink_get(void) { return g_sink; }

static dsi_opt_info *record(const char *key, const char *type, double lo, double hi)
{
    dsi_opt_sink *s = g_sink;
    if (!s) return NULL;
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->items[i].key, key)) return NULL; /* the first read defines it */
    if (s->n == DSI_OPT_INFO_MAX) {
        s->overflow = 1;
        return NULL;
    }
    dsi_opt_info *it = &s->items[s->n++];
    memset(it, 0, sizeof *it);
    it->key = key;
    it->type = type;
    it->lo = lo;
    it->hi = hi;
    return it;
}

/* ---- typed readers ---- */

dsn_status dsi_optr_init(dsi_optr *r, const struct dsn_options *opts, const char *context)
{
    memset(r, 0, sizeof *r);
    r->opts = opts;
    r->context = context ? context : "options";
    if (opts && opts->count > sizeof r->used)
        return r->status = dsi_error(DSN_E_OPTION, "%s: too many options (%zu)", r->context, opts->count);
    return DSN_OK;
}

static const char *lookup(dsi_optr *r, const char *key)
{
    if (!r->opts) return NULL;
    for (size_t i = 0; i < r->opts->count; i++)
        if (strcmp(r->opts->items[i].key, key) == 0) {
            r->used[i] = 1;
            return r->opts->items[i].value;
        }
    return NULL;
}

static void bad(dsi_optr *r, const char *key, const char *val, const char *want)
{
    if (r->status != DSN_OK) return;
    r->status = dsi_error(DSN_E_OPTION, "%s: option '%s' = '%.80s': %s", r->context, key, val, want);
}

static void i64_read(dsi_optr *r, const char *key, int64_t *out, int64_t lo, int64_t hi);

void dsi_opt_i64(dsi_optr *r, const char *key, int64_t *out, int64_t lo, int64_t hi)
{
    dsi_opt_info *it = record(key, "int64", (double)lo, (double)hi);
    if (it) snprintf(it->def, sizeof it->def, "%lld", (long long)*out);
    i64_read(r, key, out, lo, hi);
}

static void i64_read(dsi_optr *r, const char *key, int64_t *out, int64_t lo, int64_t hi)
{
    const char *v = lookup(r, key);
    if (!v) return;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *dsi_trim(end) != '\0') return bad(r, key, v, "not an integer");
    if (x < lo || x > hi) {
        char want[96];
        snprintf(want, sizeof want, "out of range [%lld, %lld]", (long long)lo, (long long)hi);
        return bad(r, key, v, want);
    }
    *out = x;
}

void dsi_opt_int(dsi_optr *r, const char *key, int *out, int lo, int hi)
{
    dsi_opt_info *it = record(key, "int", lo, hi);
    if (it) snprintf(it->def, sizeof it->def, "%d", *out);
    int64_t x = *out;
    i64_read(r, key, &x, lo, hi);
    *out = (int)x;
}

void dsi_opt_u64(dsi_optr *r, const char *key, uint64_t *out)
{
    dsi_opt_info *it = record(key, "uint64", 0.0, 18446744073709551615.0);
    if (it) snprintf(it->def, sizeof it->def, "%llu", (unsigned long long)*out);
    const char *v = lookup(r, key);
    if (!v) return;
    char *end;
    errno = 0;
    if (*v == '-') return bad(r, key, v, "must not be negative");
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end != '\0') return bad(r, key, v, "not an unsigned integer");
    *out = x;
}

void dsi_opt_float(dsi_optr *r, const char *key, float *out, double lo, double hi)
{
    dsi_opt_info *it = record(key, "float", lo, hi);
    if (it) snprintf(it->def, sizeof it->def, "%.9g", (double)*out);
    const char *v = lookup(r, key);
    if (!v) return;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end != '\0' || !isfinite(x)) return bad(r, key, v, "not a finite number");
    if (x < lo || x > hi) {
        char want[96];
        snprintf(want, sizeof want, "out of range [%g, %g]", lo, hi);
        return bad(r, key, v, want);
    }
    *out = (float)x;
}

void dsi_opt_bool(dsi_optr *r, const char *key, int *out)
{
    dsi_opt_info *it = record(key, "bool", 0.0, 0.0);
    if (it) snprintf(it->def, sizeof it->def, "%s", *out ? "true" : "false");
    const char *v = lookup(r, key);
    if (!v) return;
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on")) *out = 1;
    else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off")) *out = 0;
    else bad(r, key, v, "not a boolean (0/1/true/false)");
}

void dsi_opt_enum(dsi_optr *r, const char *key, int *out, const char *const *names)
{
    dsi_opt_info *it = record(key, "enum", 0.0, 0.0);
    if (it) {
        size_t k = 0;
        for (int i = 0; names[i]; i++) {
            if (i == *out) snprintf(it->def, sizeof it->def, "%s", names[i]);
            k += (size_t)snprintf(it->choices + k, k < sizeof it->choices ? sizeof it->choices - k : 0, "%s%s",
                                  i ? "|" : "", names[i]);
            if (k >= sizeof it->choices) k = sizeof it->choices - 1;
        }
    }
    const char *v = lookup(r, key);
    if (!v) return;
    char want[256] = "one of:";
    for (int i = 0; names[i]; i++) {
        if (!strcmp(v, names[i])) {
            *out = i;
            return;
        }
        size_t k = strlen(want);
        snprintf(want + k, sizeof want - k, " %s", names[i]);
    }
    bad(r, key, v, want);
}

void dsi_opt_str(dsi_optr *r, const char *key, char *out, size_t len)
{
    dsi_opt_info *it = record(key, "string", 0.0, (double)(len - 1));
    if (it) snprintf(it->def, sizeof it->def, "%s", out);
    const char *v = lookup(r, key);
    if (!v) return;
    if (strlen(v) >= len) return bad(r, key, v, "too long");
    strcpy(out, v);
}

void dsi_opt_ints(dsi_optr *r, const char *key, int *out, int max, int *n, int lo, int hi)
{
    dsi_opt_info *it = record(key, "ints", lo, hi);
    if (it)
        for (int i = 0, k = 0; i < *n && i < max && k < (int)sizeof it->def - 1; i++)
            k += snprintf(it->def + k, sizeof it->def - (size_t)k, "%s%d", i ? ":" : "", out[i]);
    const char *v = lookup(r, key);
    if (!v) return;
    int k = 0;
    const char *p = v;
    int tmp[64];
    if (max > 64) max = 64;
    while (*p) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (errno || end == p || x < lo || x > hi) return bad(r, key, v, "want a list of integers like 500:500 in range");
        if (k == max) return bad(r, key, v, "too many entries");
        tmp[k++] = (int)x;
        p = end;
        while (*p == ':' || *p == 'x' || *p == ' ' || *p == '/') p++;
    }
    if (k == 0) return bad(r, key, v, "empty list");
    memcpy(out, tmp, sizeof(int) * (size_t)k);
    *n = k;
}

dsn_status dsi_optr_finish(dsi_optr *r)
{
    if (r->status != DSN_OK) return r->status;
    if (r->opts)
        for (size_t i = 0; i < r->opts->count; i++)
            if (!r->used[i])
                return r->status = dsi_error(DSN_E_OPTION, "%s: unknown option '%s'", r->context, r->opts->items[i].key);
    return DSN_OK;
}
