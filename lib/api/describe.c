/* describe.c - dsn_option_count / dsn_option_describe: the option keys of a
 * model family, of dsn_fit and of each optimizer, with types, defaults,
 * bounds and a doc line. The table of a `what` is made once by running its
 * option reader with no options under a sink (core/options.h), so it lists
 * what the code reads, not a copy that could drift; docs come from
 * lib/models (model keys) and lib/api/option_docs.c (fit, optimizers). */
#include "api/describe.h"
#include "api/front_end.h"
#include "core/error.h"
#include "core/options.h"
#include "models/model.h"
#include "models/option_docs.h"

#include <pthread.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

#define N_WHAT 16

typedef struct table {
    char what[32];
    int ready;
    dsi_opt_sink sink;
    const char *doc[DSI_OPT_INFO_MAX];
    char requires[DSI_OPT_INFO_MAX][DSI_OPT_KEY + 200]; /* "key=value" that makes the code read it, "" for none */
} table;

static table g_tables[N_WHAT];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static int is_optimizer(const char *w) { return !strcmp(w, "sgd") || !strcmp(w, "adam") || !strcmp(w, "adamw"); }
/* "fit", an optimizer or "audio" (dsn_dataset_from_audio's keys): docs from option_docs.c */
static int is_api(const char *w) { return !strcmp(w, "fit") || !strcmp(w, "audio") || is_optimizer(w); }

static dsn_status build(table *t, const char *what)
{
    memset(&t->sink, 0, sizeof t->sink);
    memset(t->requires, 0, sizeof t->requires);
    dsn_status st;
    dsi_opt_sink_set(&t->sink);
    if (!strcmp(what, "fit")) {
        st = dsi_fit_read_defaults();
    } else if (!strcmp(what, "audio")) {
        dsi_audio_set_opts o;
        char cache[512], label[64];
        st = dsi_audio_dataset_read(NULL, &o, cache, sizeof cache, label, sizeof label);
    } else if (is_optimizer(what)) {
        st = dsi_optimizer_read_defaults(what);
    } else {
        dsn_model *m = NULL;
        st = dsn_model_create(&m, what, NULL);
        dsn_model_free(m);
        /* keys read only under another choice: create once more with each
         * other value of every enum and bool read with the defaults (a
         * combination the family refuses just adds nothing) */
        int base = t->sink.n;
        for (int i = 0; st == DSN_OK && i < base; i++) {
            const dsi_opt_info *it = &t->sink.items[i];
            char alts[sizeof it->choices];
            if (!strcmp(it->type, "bool")) snprintf(alts, sizeof alts, "%s", !strcmp(it->def, "true") ? "false" : "true");
            else if (!strcmp(it->type, "enum")) snprintf(alts, sizeof alts, "%s", it->choices);
            else continue;
            for (char *v = alts, *next; v; v = next) {
                next = strchr(v, '|');
                if (next) *next++ = '\0';
                if (!strcmp(v, it->def)) continue;
                dsn_options *o = dsi_options_new();
                if (!o) break;
                int before = t->sink.n;
                if (dsi_options_set(o, it->key, v) == DSN_OK && dsn_model_create(&m, what, o) == DSN_OK) dsn_model_free(m);
                dsi_options_free(o);
                for (int k = before; k < t->sink.n; k++)
                    snprintf(t->requires[k], sizeof t->requires[k], "%s=%s", it->key, v);
            }
        }
        dsn_clear_error();
    }
    dsi_opt_sink_set(NULL);
    if (st != DSN_OK) return st;
    if (t->sink.overflow) return dsi_error(DSN_E_INTERNAL, "more than %d option keys", DSI_OPT_INFO_MAX);
    for (int i = 0; i < t->sink.n; i++) {
        const char *k = t->sink.items[i].key;
        const char *d = is_api(what) ? dsi_api_option_doc(what, k)
                                                                     : dsi_model_option_doc(what, k);
        t->doc[i] = d ? d : "(undocumented)";
    }
    return DSN_OK;
}

/* The table of `what`, built on first use; NULL with the error set. */
static const table *get(const char *what, const char *fn)
{
    if (!what) {
        dsi_error(DSN_E_INVALID, "%s: what must not be NULL", fn);
        return NULL;
    }
    if (!is_api(what) && !dsi_model_find(what)) {
        dsi_error(DSN_E_INVALID, "%s: '%.40s' is neither a model family (%s), fit, audio, nor an optimizer (sgd adam adamw)",
                  fn, what, dsi_model_names());
        return NULL;
    }
    pthread_mutex_lock(&g_lock);
    table *t = NULL;
    for (int i = 0; i < N_WHAT && !t; i++)
        if (g_tables[i].ready && !strcmp(g_tables[i].what, what)) t = &g_tables[i];
    for (int i = 0; i < N_WHAT && !t; i++)
        if (!g_tables[i].ready) {
            table *c = &g_tables[i];
            dsn_status st = build(c, what);
            if (st != DSN_OK) {
                dsi_error_prefix(fn);
                break;
            }
            snprintf(c->what, sizeof c->what, "%s", what);
            c->ready = 1;
            t = c;
        }
    pthread_mutex_unlock(&g_lock);
    if (!t && dsn_last_error()[0] == '\0') dsi_error(DSN_E_INTERNAL, "%s: no room for another table", fn);
    return t;
}

dsn_status dsn_option_count(size_t *count, const char *what)
{
    DSI_CHECK_NULL(count, "dsn_option_count: count");
    dsn_clear_error();
    const table *t = get(what, "dsn_option_count");
    if (!t) return DSN_E_INVALID;
    *count = (size_t)t->sink.n;
    return DSN_OK;
}

dsn_status dsn_option_describe(dsn_option_info *info, const char *what, size_t index)
{
    DSI_CHECK_NULL(info, "dsn_option_describe: info");
    if (info->struct_size < sizeof *info)
        return dsi_error(DSN_E_INVALID, "dsn_option_describe: info->struct_size %zu is smaller than the struct's "
                                        "first version (%zu)", info->struct_size,
                         sizeof *info);
    dsn_clear_error();
    const table *t = get(what, "dsn_option_describe");
    if (!t) return DSN_E_INVALID;
    if (index >= (size_t)t->sink.n)
        return dsi_error(DSN_E_INVALID, "dsn_option_describe: index %zu, '%s' has %d keys", index, what, t->sink.n);
    const dsi_opt_info *o = &t->sink.items[index];
    dsn_option_info v;
    memset(&v, 0, sizeof v);
    v.struct_size = info->struct_size;
    v.key = o->key;
    v.type = o->type;
    v.default_value = o->def;
    v.min = o->lo;
    v.max = o->hi;
    v.choices = o->choices[0] ? o->choices : NULL;
    v.doc = t->doc[index];
    v.requires = t->requires[index][0] ? t->requires[index] : NULL;
    size_t n = info->struct_size < sizeof v ? info->struct_size : sizeof v;
    memcpy(info, &v, n);
    return DSN_OK;
}
