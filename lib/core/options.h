/* options.h - the key/value option bag behind dsn_options, and typed readers
 * that consume keys so that unknown keys can be reported (internal).
 *
 * The bag lives in core so that every layer that reads options (models,
 * optimizers, audio features, the trainer) can do so without seeing the API
 * layer; lib/api/options.c wraps it in the public dsn_options_* calls. The
 * struct keeps the public tag `dsn_options` so a handle needs no conversion. */
#ifndef DSI_CORE_OPTIONS_H
#define DSI_CORE_OPTIONS_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

#define DSI_OPT_KEY 64
#define DSI_OPT_VALUE 1024

typedef struct dsi_opt_entry {
    char key[DSI_OPT_KEY];
    char *value;
} dsi_opt_entry;

struct dsn_options {
    dsi_opt_entry *items;
    size_t count, cap;
};

/* A new empty bag (NULL when out of memory; no message); free with
 * dsi_options_free (NULL is a no-op). */
struct dsn_options *dsi_options_new(void);
void dsi_options_free(struct dsn_options *o);
/* *out = a new bag with src's pairs (src NULL: an empty one); NULL on failure. */
dsn_status dsi_options_copy(struct dsn_options **out, const struct dsn_options *src);
/* Free the entries of a bag that is not on the heap (e.g. a scratch bag on
 * the stack) and leave it empty. */
void dsi_options_clear(struct dsn_options *o);
/* Set key to a copy of value (replacing an earlier value). DSN_E_OPTION for a
 * key outside [a-z0-9_.-]{1,63} or a value of DSI_OPT_VALUE bytes or more,
 * DSN_E_NOMEM; the message does not name a function (callers prefix it). */
dsn_status dsi_options_set(struct dsn_options *o, const char *key, const char *value);
/* The value of key, or NULL (also for a NULL bag or key); owned by the bag. */
const char *dsi_options_get(const struct dsn_options *o, const char *key);
/* s without leading and trailing white space (trailing spaces are cut in place). */
char *dsi_trim(char *s);

/* A reader walks a bag (which may be NULL = empty), marking each key it reads,
 * so dsi_optr_finish can report the first key nobody asked for. */
typedef struct dsi_optr {
    const struct dsn_options *opts;
    unsigned char used[256];   /* bags with more keys than this are refused */
    const char *context;       /* e.g. "ml-vae" for messages */
    dsn_status status;         /* first failure */
} dsi_optr;

dsn_status dsi_optr_init(dsi_optr *r, const struct dsn_options *opts, const char *context);
/* Each reader sets *out to the key's value, or leaves the default already in
 * *out when the key is absent. On a bad value the reader records
 * DSN_E_OPTION (first failure wins) with a message naming the key. */
void dsi_opt_int(dsi_optr *r, const char *key, int *out, int lo, int hi);
void dsi_opt_i64(dsi_optr *r, const char *key, int64_t *out, int64_t lo, int64_t hi);
void dsi_opt_u64(dsi_optr *r, const char *key, uint64_t *out);
void dsi_opt_float(dsi_optr *r, const char *key, float *out, double lo, double hi);
void dsi_opt_bool(dsi_optr *r, const char *key, int *out);
/* One of a list of names (NULL-terminated); *out is the index. */
void dsi_opt_enum(dsi_optr *r, const char *key, int *out, const char *const *names);
/* A string (copied into out, at most len-1 bytes, else DSN_E_OPTION). */
void dsi_opt_str(dsi_optr *r, const char *key, char *out, size_t len);
/* A list of ints like "500:500" (or "500x500") into out[max]; *n set to the count. */
void dsi_opt_ints(dsi_optr *r, const char *key, int *out, int max, int *n, int lo, int hi);
/* ---- introspection: what a reader asks for ----
 * While a sink is installed on the calling thread, every typed read records
 * its key, type, the default it was called with (the value in *out), its
 * bounds and, for an enum, the choices; a key read twice is recorded once.
 * The API runs a model's creation (or fit's or an optimizer's option reader)
 * with no options and a sink, and so lists exactly the keys that code reads.
 * Keys read only under a condition on other options are listed only when the
 * defaults meet it. */
#define DSI_OPT_INFO_MAX 128
typedef struct dsi_opt_info {
    const char *key;       /* the literal the reader passed */
    const char *type;      /* "int", "int64", "uint64", "float", "bool", "enum", "string", "ints" */
    char def[96];
    double lo, hi;         /* 0, 0 for bool / enum / string */
    char choices[192];     /* enum: "a|b|c" */
} dsi_opt_info;
typedef struct dsi_opt_sink {
    int n, overflow;
    dsi_opt_info items[DSI_OPT_INFO_MAX];
} dsi_opt_sink;
/* Install (sink) or remove (NULL) the calling thread's sink. */
void dsi_opt_sink_set(dsi_opt_sink *sink);
/* The calling thread's sink, or NULL. */
dsi_opt_sink *dsi_opt_sink_get(void);

/* DSN_OK if every key was read and every value was good; otherwise the first
 * failure, or DSN_E_OPTION naming the first unknown key. */
dsn_status dsi_optr_finish(dsi_optr *r);

#endif
