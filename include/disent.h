/*
 * disent.h - libdisent, a C library for disentangled representation learning.
 *
 * This header is the reference documentation of the public API. It is valid
 * C99 and C++; it includes only standard headers and never changes with the
 * build flags of the library.
 *
 * Quick tour
 * ----------
 *     #include <disent.h>
 *     if (dsn_version_number() / 10000 != DSN_VERSION_MAJOR) { ... mismatch ... }
 *     dsn_status st = some_dsn_call(...);
 *     if (st != DSN_OK)
 *         fprintf(stderr, "%s: %s\n", dsn_status_string(st), dsn_last_error());
 *
 * Conventions (hold for every function below unless its comment says otherwise)
 * -----------
 *  - Every exported symbol starts with dsn_ / DSN_.
 *  - Fallible functions return a dsn_status; results come back through pointer
 *    arguments, which are left untouched on failure.
 *  - Argument order: the object acted on, then outputs, then inputs; a length
 *    follows right after its array.
 *  - Objects are opaque handles made by dsn_X_create (or _load) and released by
 *    dsn_X_free; dsn_X_free(NULL) does nothing.
 *  - The library never aborts, exits or prints on behalf of the host. A failed
 *    call sets a thread-local message, read with dsn_last_error().
 *  - Threads: distinct handles may be used from distinct threads at once. A
 *    const handle argument may be shared by several threads at once.
 */
#ifndef DISENT_H
#define DISENT_H

#include <stddef.h>
#include <stdint.h>

/* ---- version: the single source of truth for both build systems ---------- */
#define DSN_VERSION_MAJOR 0
#define DSN_VERSION_MINOR 1
#define DSN_VERSION_PATCH 0
#define DSN_VERSION_NUMBER \
    (DSN_VERSION_MAJOR * 10000 + DSN_VERSION_MINOR * 100 + DSN_VERSION_PATCH)
#define DSN__STR2(x) #x
#define DSN__STR(x) DSN__STR2(x)
#define DSN_VERSION_STRING \
    DSN__STR(DSN_VERSION_MAJOR) "." DSN__STR(DSN_VERSION_MINOR) "." DSN__STR(DSN_VERSION_PATCH)

/* ---- export macro ---------------------------------------------------------- */
#if defined(_WIN32) && defined(DSN_BUILDING_DLL)
#define DSN_API __declspec(dllexport)
#elif defined(__GNUC__) && defined(DSN_BUILDING_LIBRARY)
#define DSN_API __attribute__((visibility("default")))
#else
#define DSN_API
#endif

#if defined(__GNUC__)
#define DSN_NODISCARD __attribute__((warn_unused_result))
#else
#define DSN_NODISCARD
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes: values are frozen once released ------------------------- */
typedef enum dsn_status {
    DSN_OK = 0,              /* success */
    DSN_E_INVALID = 1,       /* a bad argument: NULL where an object is needed, out of range */
    DSN_E_SHAPE = 2,         /* array sizes or shapes that do not fit together */
    DSN_E_NOMEM = 3,         /* an allocation failed */
    DSN_E_IO = 4,            /* a file could not be opened, read or written */
    DSN_E_FORMAT = 5,        /* a file is damaged, truncated, foreign or of an unknown version */
    DSN_E_OPTION = 6,        /* an unknown option key or a bad option value */
    DSN_E_NUMERIC = 7,       /* NaN or infinity in the input or during training */
    DSN_E_STATE = 8,         /* the object is not in a state that allows the call */
    DSN_E_UNSUPPORTED = 9,   /* the call is valid but this build or model cannot do it */
    DSN_E_INTERNAL = 10,     /* a library bug: please report it with dsn_last_error() */
    DSN_STATUS_COUNT_ = 11   /* not a status; the number of codes in this version */
} dsn_status;

/* Version of the library actually linked, as MAJOR*10000 + MINOR*100 + PATCH.
 * Compare with DSN_VERSION_NUMBER to detect a header/library mismatch.
 * Thread-safe, never fails, no allocation. */
DSN_API int dsn_version_number(void);

/* Same, as a static "MAJOR.MINOR.PATCH" string. Thread-safe, no allocation. */
DSN_API const char *dsn_version_string(void);

/* Static, human-readable name of a status code ("invalid argument", ...).
 * Unknown values give "unknown status". Thread-safe, no allocation; the
 * returned text must not be freed. */
DSN_API const char *dsn_status_string(dsn_status status);

/* Detailed message for the last failed call made by the calling thread, e.g.
 * "dsn_dataset_from_npy: 'x.npy': truncated data (wanted 3136 bytes, 12 left)".
 * Empty string if no call has failed on this thread. The text lives in
 * thread-local storage and stays valid until the next failing call on the
 * same thread; copy it to keep it. Never NULL, no allocation. */
DSN_API const char *dsn_last_error(void);

/* Clear the calling thread's last error message. */
DSN_API void dsn_clear_error(void);

/* ---- allocator hook -------------------------------------------------------- */
/* Functions the library uses for every heap allocation. alloc(ctx, size) must
 * return memory aligned to at least 16 bytes, or NULL; free(ctx, p) must accept
 * NULL. The library aligns its own large buffers on top of these. */
typedef struct dsn_allocator {
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr);
    void *ctx;
} dsn_allocator;

/* Install an allocator for all later allocations, or restore malloc/free with
 * NULL. Must be called before any object is created (memory is released with
 * the allocator that made it; swapping allocators while objects live is an
 * error the library cannot detect). Not thread-safe: call it once at start-up.
 * Returns DSN_E_INVALID if only one of alloc/free is set. */
DSN_API dsn_status dsn_set_allocator(const dsn_allocator *allocator);

/* Number of heap allocations the library has made since the process started
 * (all threads). Lets a host or a test verify that a real-time path does not
 * allocate: read it before and after. Thread-safe, no allocation. */
DSN_API uint64_t dsn_allocation_count(void);


/* ==== options =================================================================
 * A bag of string key/value pairs. Models, optimizers and dsn_fit read the keys
 * they know; an unknown key, or a value that does not parse or is out of range,
 * makes the consuming call fail with DSN_E_OPTION and a message naming the key.
 * Numbers use the C locale ("0.001", "1e-3"); booleans are 0/1/true/false. */
typedef struct dsn_options dsn_options;

/* Create an empty bag. *out is NULL on failure. Allocates. */
DSN_API DSN_NODISCARD dsn_status dsn_options_create(dsn_options **out);
/* Release a bag; NULL is a no-op. */
DSN_API void dsn_options_free(dsn_options *opts);
/* Set key to value (both copied; a later set of the same key replaces it).
 * Keys are [a-z0-9_.-]+ and at most 63 bytes; values at most 1023 bytes.
 * Allocates. */
DSN_API DSN_NODISCARD dsn_status dsn_options_set(dsn_options *opts, const char *key, const char *value);
/* Parse "key = value" pairs separated by newlines, ';' or ',' ('#' starts a
 * comment to the end of the line), e.g. "style_dim=10, content_dim=10".
 * On failure nothing is added and the message names the line. Allocates. */
DSN_API DSN_NODISCARD dsn_status dsn_options_parse(dsn_options *opts, const char *text);
/* dsn_options_parse on the contents of a file (at most 1 MiB). */
DSN_API DSN_NODISCARD dsn_status dsn_options_load(dsn_options *opts, const char *path);
/* The value for key, or NULL if absent. The pointer is owned by the bag and
 * valid until the key is set again or the bag is freed. No allocation. */
DSN_API const char *dsn_options_get(const dsn_options *opts, const char *key);
/* Number of keys, and the key at index i (0 <= i < count), or NULL. */
DSN_API size_t dsn_options_count(const dsn_options *opts);
DSN_API const char *dsn_options_key(const dsn_options *opts, size_t i);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DISENT_H */
