/* options.c - the public dsn_options calls: thin wrappers over the option bag
 * of lib/core/options.c, plus the text parser and the file loader. */
#include "core/alloc.h"
#include "core/error.h"
#include "core/fileio.h"
#include "core/options.h"

#include <string.h>

dsn_status dsn_options_create(dsn_options **out)
{
    DSI_CHECK_NULL(out, "dsn_options_create: out");
    *out = dsi_options_new();
    if (!*out) return dsi_error(DSN_E_NOMEM, "dsn_options_create: out of memory");
    return DSN_OK;
}

void dsn_options_free(dsn_options *o) { dsi_options_free(o); }

dsn_status dsn_options_set(dsn_options *o, const char *key, const char *value)
{
    DSI_CHECK_NULL(o, "dsn_options_set: opts");
    DSI_CHECK_NULL(key, "dsn_options_set: key");
    DSI_CHECK_NULL(value, "dsn_options_set: value");
    dsn_status st = dsi_options_set(o, key, value);
    if (st != DSN_OK) dsi_error_prefix("dsn_options_set");
    return st;
}

dsn_status dsn_options_parse(dsn_options *o, const char *text)
{
    DSI_CHECK_NULL(o, "dsn_options_parse: opts");
    DSI_CHECK_NULL(text, "dsn_options_parse: text");
    /* parse into a scratch bag first so a failure adds nothing */
    dsn_options tmp = {0};
    size_t len = strlen(text);
    char *buf = dsi_malloc(len + 1);
    if (!buf) return dsi_error(DSN_E_NOMEM, "dsn_options_parse: out of memory");
    memcpy(buf, text, len + 1);
    dsn_status st = DSN_OK;
    int line = 1;
    char *p = buf;
    while (*p && st == DSN_OK) {
        char *end = p;
        while (*end && *end != '\n' && *end != ';' && *end != ',') end++;
        char sep = *end;
        *end = '\0';
        char *hash = strchr(p, '#');
        if (hash) *hash = '\0';
        char *item = dsi_trim(p);
        if (*item) {
            char *eq = strchr(item, '=');
            if (!eq) {
                st = dsi_error(DSN_E_OPTION, "dsn_options_parse: line %d: '%.80s' is not key = value", line, item);
                break;
            }
            *eq = '\0';
            char *k = dsi_trim(item), *v = dsi_trim(eq + 1);
            st = dsn_options_set(&tmp, k, v);
            if (st != DSN_OK) dsi_error(st, "dsn_options_parse: line %d: %s", line, dsn_last_error());
        }
        if (sep == '\n') line++;
        p = sep ? end + 1 : end;
        /* a '#' comment runs to the end of the line, across ';' and ',' */
        if (hash && sep && sep != '\n') {
            while (*p && *p != '\n') p++;
        }
    }
    if (st == DSN_OK)
        for (size_t i = 0; i < tmp.count && st == DSN_OK; i++) st = dsn_options_set(o, tmp.items[i].key, tmp.items[i].value);
    dsi_options_clear(&tmp);
    dsi_free(buf);
    return st;
}

dsn_status dsn_options_load(dsn_options *o, const char *path)
{
    DSI_CHECK_NULL(o, "dsn_options_load: opts");
    unsigned char *data;
    size_t len;
    dsn_status st = dsi_read_file(path, (size_t)1 << 20, &data, &len);
    if (st != DSN_OK) {
        dsi_error_prefix("dsn_options_load");
        return st;
    }
    if (memchr(data, 0, len)) {
        dsi_free(data);
        return dsi_error(DSN_E_FORMAT, "dsn_options_load: '%s' is not a text file", path);
    }
    char *text = dsi_realloc(data, len, len + 1);
    if (!text) {
        dsi_free(data);
        return dsi_error(DSN_E_NOMEM, "dsn_options_load: out of memory");
    }
    text[len] = '\0';
    st = dsn_options_parse(o, text);
    dsi_free(text);
    return st;
}

const char *dsn_options_get(const dsn_options *o, const char *key) { return dsi_options_get(o, key); }

size_t dsn_options_count(const dsn_options *o) { return o ? o->count : 0; }

const char *dsn_options_key(const dsn_options *o, size_t i) { return o && i < o->count ? o->items[i].key : NULL; }
