/*
 * disent.h - libdisent, a C library for disentangled representation learning.
 *
 * This header is the reference documentation of the public API. It is valid
 * C99 and C++; it includes only standard headers and never changes with the
 * build flags of the library.
 *
 * Quick tour
 * ----------
 *
 *     #include <disent.h>
 *     if (dsn_version_number() / 10000 != DSN_VERSION_MAJOR) { ... mismatch ... }
 *     dsn_status st = some_dsn_call(...);
 *     if (st != DSN_OK)
 *         fprintf(stderr, "%s: %s\n", dsn_status_string(st), dsn_last_error());
 *
 * Conventions (hold for every function below unless its comment says otherwise;
 * ----------- new public functions must follow them, see docs/api-changes.md)
 *  - Names: every exported symbol starts with dsn_ / DSN_; functions are
 *    dsn_<object>_<verb> (dsn_model_save, dsn_encoding_get), except the few
 *    verbs of the inference and training loop (dsn_encode, dsn_decode,
 *    dsn_swap, dsn_sample, dsn_fit, dsn_train_step). No public name, option
 *    or type names a model family: family-specific behaviour goes through
 *    generic calls (stages, named statistics, options, part kinds).
 *  - Status: fallible functions return a dsn_status (DSN_NODISCARD); results
 *    come back through pointer arguments, which are left untouched on
 *    failure. Queries that cannot fail return their value directly and give
 *    0 / NULL for a NULL handle.
 *  - Argument order, always:
 *        1. the handle acted on (the session for encode/decode/sample; a
 *           constructor has no handle and starts with its `**out`),
 *        2. outputs,
 *        3. inputs, with the options bag (const dsn_options *, may be NULL =
 *           defaults) last and a callback followed by its `void *user` after it.
 *    Every array is followed at once by its length in elements (size_t;
 *    `len` for an output buffer's capacity); several arrays sharing one
 *    length (x and labels of n items) take it after the last of them.
 *    Two-call sizing: an output array may be NULL to only query the size
 *    through its size out-parameter.
 *  - Optional per-call inputs travel in a struct whose first field is
 *    `size_t struct_size` (set it to sizeof the struct; a zero-initialised
 *    struct, or a NULL pointer, means every default). The library reads only
 *    the fields that exist in the caller's struct_size, so fields can be
 *    added at the end without breaking old callers (DSN_E_INVALID for a
 *    struct_size smaller than the first version of the struct).
 *  - Structs are either opaque handles or such sized structs; figures that
 *    may grow (statistics, loss terms) are named key/value lists, never a
 *    fixed struct.
 *  - Objects are opaque handles made by dsn_X_create (or _load / _from_...)
 *    and released by dsn_X_free; dsn_X_free(NULL) does nothing. A handle
 *    that refers to another (optimizer -> model, session -> model) must be
 *    freed before it.
 *  - The library never aborts, exits or prints on behalf of the host. A failed
 *    call sets a thread-local message, read with dsn_last_error().
 *  - Threads: distinct handles may be used from distinct threads at once. A
 *    const handle argument may be shared by several threads at once; a
 *    non-const one must not be used by another thread during the call.
 *  - Every function's comment states ownership of what it returns, what NULL
 *    means for each pointer, and whether it allocates.
 */
#ifndef DISENT_H
#define DISENT_H

#include <stddef.h>
#include <stdint.h>

/* ---- version: the single source of truth for both build systems ---------- */
#define DSN_VERSION_MAJOR 0 /* major version: changes break the ABI */
#define DSN_VERSION_MINOR 1 /* minor version: additions */
#define DSN_VERSION_PATCH 0 /* patch version: fixes */
/* the version as one number, major * 10000 + minor * 100 + patch */
#define DSN_VERSION_NUMBER \
    (DSN_VERSION_MAJOR * 10000 + DSN_VERSION_MINOR * 100 + DSN_VERSION_PATCH)
#define DSN__STR2(x) #x
#define DSN__STR(x) DSN__STR2(x)
/* the version as text, "major.minor.patch" */
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

/* marks a function whose dsn_status must not be ignored (a warning with GCC
 * and Clang) */
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
    void *(*alloc)(void *ctx, size_t size); /* size bytes, 16-byte aligned, or NULL */
    void (*free)(void *ctx, void *ptr);     /* ptr from alloc, or NULL */
    void *ctx;                              /* passed to both */
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

/* ---- threads --------------------------------------------------------------- */
/* Threads the library uses for its own work: the gemms, element-wise kernels,
 * LSTM steps, losses and optimizer updates of a training step, batched
 * encode/decode, and the audio front end. One pool for all of it (pthreads,
 * created here once; the calling thread is one of the n); the BLAS is kept
 * single-threaded and called on partitioned work. n >= 1, or 0 for the number
 * of online CPUs (at most 64). Until the first call the count is the
 * environment variable DSN_THREADS (0 = the CPUs) or 1.
 * The work is split by its size and n only, never by timing: the same seed
 * and the same n give the same result; results with different n agree to
 * rounding. A real-time path (dsn_stream_process, the LV2 plugin) never uses
 * the pool. Calls from several application threads at once are allowed
 * (one at a time uses the pool, the others run alone, with the same result).
 * Not thread-safe itself: call it when no other library call is running.
 * Returns DSN_E_INVALID for n < 0 or n > 64, DSN_E_INTERNAL if a thread
 * cannot be created (the pool keeps the threads it had). Allocates only the
 * threads (not through the allocator hook). */
DSN_API dsn_status dsn_set_threads(int n);

/* The pool's thread count (>= 1; see dsn_set_threads). Thread-safe, no
 * allocation (the first call may create the DSN_THREADS threads). */
DSN_API int dsn_get_threads(void);

/* The value of OPENBLAS_CORETYPE this process should have been started with,
 * or NULL when there is nothing better to ask for: the BLAS is not OpenBLAS,
 * OPENBLAS_CORETYPE is set already, or OpenBLAS runs kernels that use the
 * CPU's widest vectors. OpenBLAS 0.3.21 (Debian 12) does not know some newer
 * CPUs (Intel family 6 model 207, for one) and falls back to its SSE3
 * "Prescott" kernels, about 4x slower for the gemms; it reads the variable
 * once, when it is loaded, so a program has to set it and start again (the
 * `disent` tool re-executes itself with it; other hosts can do the same or
 * set it in their environment). Returns a static string, "SkylakeX" (AVX-512)
 * or "Haswell" (AVX2 + FMA), or NULL. Thread-safe, no allocation. */
DSN_API const char *dsn_blas_coretype_hint(void);


/* ==== handles: opaque objects, made by _create/_load and released by _free == */
typedef struct dsn_options dsn_options;     /* key/value options */
typedef struct dsn_model dsn_model;         /* a model: family, options, weights */
typedef struct dsn_optimizer dsn_optimizer; /* optimizer state bound to one model */
typedef struct dsn_encoding dsn_encoding;   /* latent parts of a batch of observations */
typedef struct dsn_session dsn_session;     /* per-thread scratch for encode/decode/sample */
typedef struct dsn_dataset dsn_dataset;     /* observations with optional labels/groups and masks */
/* Thread rules per handle (tests/test_threads.c, run under ThreadSanitizer by
 * `make tsan`; docs/reliability.md):
 *  - dsn_options: any number of threads may read one bag (calls taking it
 *    const: _get, _count, _key, create/fit calls that consume it); none may
 *    change it (_set, _parse, _load) meanwhile.
 *  - dsn_model: calls taking it const (describe, save, session/encoding
 *    create, and through sessions encode/decode/sample) from any number of
 *    threads at once; training (dsn_train_step, dsn_fit), stage and sampling
 *    changes, and dsn_model_free from one thread, with no reader meanwhile.
 *  - dsn_optimizer: one thread at a time, the one training its model.
 *  - dsn_session: one thread at a time (one session per thread).
 *  - dsn_encoding: one thread while it is written (encode, swap, set,
 *    prepare, sample); readers (decode, get) may share it when nobody writes.
 *  - dsn_dataset: read-only once made; any number of threads at once.
 *  - dsn_classifier: fit from one thread; predict and scores from any number
 *    of threads once fitted.
 *  - Loads and saves of distinct files run on distinct threads at once; two
 *    saves of one path may race (each completes, the last rename wins, the
 *    file is always whole). The last-error message is per thread.
 *    dsn_set_allocator is not thread-safe: call it once before anything else. */

/* ==== options =================================================================
 * A bag of string key/value pairs. Models, optimizers and dsn_fit read the keys
 * they know; an unknown key, or a value that does not parse or is out of range,
 * makes the consuming call fail with DSN_E_OPTION and a message naming the key.
 * Numbers use the C locale ("0.001", "1e-3"); booleans are 0/1/true/false. */

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
 * List values use ':' ("hidden = 500:500").
 * On failure nothing is added and the message names the line. Allocates. */
DSN_API DSN_NODISCARD dsn_status dsn_options_parse(dsn_options *opts, const char *text);
/* dsn_options_parse on the contents of a file (at most 1 MiB). */
DSN_API DSN_NODISCARD dsn_status dsn_options_load(dsn_options *opts, const char *path);
/* The value for key, or NULL if absent. The pointer is owned by the bag and
 * valid until the key is set again or the bag is freed. No allocation. */
DSN_API const char *dsn_options_get(const dsn_options *opts, const char *key);
/* Number of keys, and the key at index i (0 <= i < count), or NULL. */
DSN_API size_t dsn_options_count(const dsn_options *opts);
/* The key at index i (0 <= i < dsn_options_count), or NULL. */
DSN_API const char *dsn_options_key(const dsn_options *opts, size_t i);

/* ---- option keys: what each reader accepts ------------------------------------
 * `what` is a model family ("ml-vae", ...; see dsn_model_families), "fit"
 * (dsn_fit) or an optimizer kind ("sgd", "adam", "adamw"). The keys listed
 * are those the library reads: with no options, and with each other value of
 * every enum and bool option (such a key says so in `requires`). */
typedef struct dsn_option_info {
    size_t struct_size;        /* set by the caller: sizeof(dsn_option_info) */
    const char *key;           /* e.g. "content_dim" */
    const char *type;          /* "int", "int64", "uint64", "float", "bool", "enum", "string", "ints" */
    const char *default_value; /* as text, as dsn_options_set takes it ("" for an empty list) */
    double min, max;           /* accepted range (of each entry for "ints"; the longest length for
                                * "string"); 0, 0 for "bool" and "enum" */
    const char *choices;       /* "enum": the names, '|'-separated; NULL otherwise */
    const char *doc;           /* one line of documentation */
    const char *requires;      /* NULL, or "key=value": the key is read only under that option */
} dsn_option_info;
/* an initialiser of dsn_option_info for this header's version (struct_size set) */
#define DSN_OPTION_INFO_INIT {sizeof(dsn_option_info), NULL, NULL, NULL, 0, 0, NULL, NULL, NULL}
/* The number of keys of `what` into *count. DSN_E_INVALID for an unknown
 * `what`. The first call for a `what` builds its table (it creates a model
 * with the defaults, and frees it); later calls only read it. Any thread.
 * All strings are static: valid until the library is unloaded. */
DSN_API DSN_NODISCARD dsn_status dsn_option_count(size_t *count, const char *what);
/* Key `index` (0 .. count-1, in the order the library reads them) of
 * `what` into *info; info->struct_size must be set (fields beyond it are
 * not written). DSN_E_INVALID for an unknown `what`, an index out of range
 * or a struct_size smaller than the first version of the struct. */
DSN_API DSN_NODISCARD dsn_status dsn_option_describe(dsn_option_info *info, const char *what, size_t index);

/* ==== models ===================================================================
 * A model is created by family name and options:
 *   "ml-vae"   grouped observations: parts "content" (per group) and "style" (per item)
 *   "dsae", "ts-dsae"  sequences [T, D] (log-mel frames): parts "global" (per
 *              item) and "local" (per frame)
 *   "vq-vae"   images [C, H, W] or sequences: part "codes" (per code position)
 * Options common to all families: seed (default 1): initial weights and
 * training noise. Each family documents its own keys in docs/mlvae.md,
 * docs/dsae.md and docs/vqvae.md; unknown keys fail with DSN_E_OPTION naming
 * the key.
 *
 * Threads: a model may be read by several sessions at once (encode/decode take
 * it const) but must not be trained while it is read. */
/* Latent part scopes: how many rows a part has for a batch of n items. */
typedef enum dsn_scope {
    DSN_SCOPE_GROUP = 0,    /* one row per group */
    DSN_SCOPE_ITEM = 1,     /* one row per observation */
    DSN_SCOPE_FRAME = 2,    /* one row per frame of each observation */
    DSN_SCOPE_POSITION = 3  /* one row per code position of each observation */
} dsn_scope;

/* What a latent part holds. */
typedef enum dsn_part_kind {
    DSN_PART_GAUSSIAN = 0,  /* fields "mean", "logvar" and "value" (what decode uses) */
    DSN_PART_CODES = 1      /* int32 codes (dsn_encoding_get_codes) and their vectors, field "value" */
} dsn_part_kind;

/* Maximum number of observation dimensions (dsn_model_info, dsn_dataset_info). */
#define DSN_MAX_DIMS 4

/* What a model is: filled by dsn_model_describe. Set struct_size = sizeof
 * (dsn_model_info) before the call (0 counts as the first version's size);
 * the library writes only the fields that fit in struct_size, so fields
 * added at the end in later versions never break an older caller. */
typedef struct dsn_model_info {
    size_t struct_size;             /* set by the caller: sizeof the struct */
    const char *family;             /* "ml-vae", ...: static text */
    const char *stage;              /* current training stage (static text), NULL without stages */
    size_t num_params;              /* trainable floats (weights only, not training state) */
    int epoch;                      /* epochs completed (dsn_fit counts them; saved in model files) */
    int obs_ndim;                   /* observation dimensions (1 to DSN_MAX_DIMS) */
    size_t obs_shape[DSN_MAX_DIMS]; /* e.g. {1, 28, 28}; unused dims 0 */
    size_t obs_size;                /* floats per observation: the product of obs_shape */
    int num_parts;                  /* latent parts: dsn_model_part(model, &info, 0 .. num_parts - 1) */
} dsn_model_info;
/* an initialiser of dsn_model_info for this header's version (struct_size set) */
#define DSN_MODEL_INFO_INIT {sizeof(dsn_model_info), NULL, NULL, 0, 0, 0, {0, 0, 0, 0}, 0, 0}

/* One latent part: filled by dsn_model_part (struct_size as for dsn_model_info). */
typedef struct dsn_part_info {
    size_t struct_size;             /* set by the caller: sizeof the struct */
    const char *name;               /* "content", "global", "codes", ...: owned by the model */
    int dim;                        /* floats per row */
    dsn_scope scope;                /* how many rows for a batch */
    dsn_part_kind kind;             /* Gaussian (mean, logvar, value) or discrete codes */
} dsn_part_info;
/* an initialiser of dsn_part_info for this header's version (struct_size set) */
#define DSN_PART_INFO_INIT {sizeof(dsn_part_info), NULL, 0, DSN_SCOPE_ITEM, DSN_PART_GAUSSIAN}

/* Build a model of family `name` with options (opts may be NULL for all
 * defaults; it is copied, not kept). *out is NULL on failure; an unknown
 * family gives DSN_E_INVALID naming the known ones. Allocates. */
DSN_API DSN_NODISCARD dsn_status dsn_model_create(dsn_model **out, const char *name, const dsn_options *opts);
/* Release a model; NULL is a no-op. Sessions, encodings, optimizers and
 * streams made from it must be freed first. */
DSN_API void dsn_model_free(dsn_model *model);
/* The model families built into this library, comma-separated
 * ("ml-vae, vq-vae, dsae, ts-dsae"): static text, never NULL. Thread-safe. */
DSN_API const char *dsn_model_families(void);
/* The options the model was created with, plus those changed since
 * (dsn_model_set_option, the stage): owned by the model, valid until the
 * model is freed or its options change. NULL for a NULL model. No allocation. */
DSN_API const dsn_options *dsn_model_options(const dsn_model *model);
/* Describe the model into *out (see dsn_model_info). DSN_E_INVALID for a
 * NULL argument or a struct_size below the first version's. Strings are
 * static or owned by the model. No allocation; thread-safe with readers. */
DSN_API DSN_NODISCARD dsn_status dsn_model_describe(const dsn_model *model, dsn_model_info *out);
/* Describe latent part i (0 <= i < num_parts, else DSN_E_INVALID) into
 * *out. No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_model_part(const dsn_model *model, dsn_part_info *out, int i);

/* Save the model (family, options, weights, training state) to path,
 * atomically (a temp file in the same folder, fsync, rename): an existing
 * file is replaced only by a complete new one. The model's RNG, epoch count,
 * stage and the family's training state (e.g. a VQ-VAE's EMA codebook
 * statistics) are always saved; if opt (may be NULL) is not NULL its state is
 * saved too, so training resumes exactly. DSN_E_IO on a write failure (the
 * old file is then untouched). Allocates the file image for the call. */
DSN_API DSN_NODISCARD dsn_status dsn_model_save(const dsn_model *model, const dsn_optimizer *opt, const char *path);
/* Load a model saved by dsn_model_save. Damaged, truncated, foreign or newer
 * files fail with DSN_E_FORMAT and a message (every stored value is checked;
 * nothing is allocated for a size the file does not actually hold); a
 * missing file gives DSN_E_IO. *out is NULL on failure. Allocates. */
DSN_API DSN_NODISCARD dsn_status dsn_model_load(dsn_model **out, const char *path);

/* ==== optimizers ===============================================================
 * kind: "adam" (default), "adamw" or "sgd". Option keys:
 *   lr (1e-3; sgd 0.01; a family may set its own: DSAE and TS-DSAE 2e-3),
 *   beta1 (0.9), beta2 (0.999), eps (1e-8),
 *   weight_decay (0; adamw 0.01), momentum (sgd, 0), nesterov (0), amsgrad (0),
 *   clip_norm (0 = off): scale gradients to this global L2 norm at most,
 *   schedule: constant (default) | step | cosine, with step_size and gamma
 *   (step), warmup, total_steps and min_ratio (cosine).
 * The optimizer keeps a pointer to the model: free it before the model.
 * Frozen parameter groups (a stage's frozen parts) are skipped. An optimizer
 * is used by one thread at a time, with its model. */

/* Create an optimizer for model (kind may be NULL = "adam"; opts may be NULL
 * = defaults, read here and kept). *out is NULL on failure. Allocates its
 * state (2 floats per parameter for Adam) once. */
DSN_API DSN_NODISCARD dsn_status dsn_optimizer_create(dsn_optimizer **out, dsn_model *model, const char *kind,
                                                      const dsn_options *opts);
/* Create an optimizer for model from the state saved in a checkpoint written
 * by dsn_model_save(model, opt, path) (DSN_E_FORMAT if it holds none or its
 * state does not fit the model). *out is NULL on failure. Allocates. */
DSN_API DSN_NODISCARD dsn_status dsn_optimizer_load(dsn_optimizer **out, dsn_model *model, const char *path);
/* Release; NULL is a no-op. */
DSN_API void dsn_optimizer_free(dsn_optimizer *opt);
/* Change the base learning rate: in (0, 1000], the bounds of the "lr"
 * option; anything else gives DSN_E_INVALID and leaves the rate as it was.
 * No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_optimizer_set_lr(dsn_optimizer *opt, float lr);
/* Number of updates taken so far (0 for NULL). No allocation. */
DSN_API int64_t dsn_optimizer_steps(const dsn_optimizer *opt);

/* ==== training and encoding: per-batch arguments ================================ */

/* Optional inputs of a batch for dsn_train_step and dsn_encode. Pass NULL,
 * or a struct with struct_size = sizeof(dsn_batch_args) (0 counts as the
 * first version's size, so `dsn_batch_args a = {0};` plus the fields you
 * need works) and fields left zero for their defaults. */
typedef struct dsn_batch_args {
    size_t struct_size;     /* sizeof(dsn_batch_args), or 0 for the first version */
    const int32_t *groups;  /* [n] any int32 group id per item, or NULL: every item its own
                             * group (ML-VAE: items with the same id share content; encode
                             * accumulates the evidence of a group, also for unseen groups) */
    const float *mask;      /* [n, T] frame validity in [0, 1] for sequence models (T = the first
                             * observation dimension; 0 = padding), or NULL: all valid. A mask
                             * for a model whose observations are not sequences, or a value
                             * outside [0, 1], gives DSN_E_INVALID */
    const char *part;       /* dsn_encode only (train_step: must be NULL): fill only this part;
                             * every other part of the encoding reads as zeros and a model may
                             * skip their work (DSAE / TS-DSAE skip the local encoder for
                             * "global"). NULL: every part */
} dsn_batch_args;
/* an initialiser of dsn_batch_args for this header's version (struct_size set) */
#define DSN_BATCH_ARGS_INIT {sizeof(dsn_batch_args), NULL, NULL, NULL}

/* One optimizer update on a caller-given batch: x holds n observations
 * (n * obs_size floats, finite), args (may be NULL) its groups and mask.
 * *loss (may be NULL) gets the batch objective. After the first call with a
 * given batch shape no heap allocation happens. The model and optimizer
 * must not be used by another thread meanwhile. NaN or infinity in x gives
 * DSN_E_NUMERIC naming the first bad observation. A step whose loss or
 * gradient is not finite is skipped: DSN_E_NUMERIC ("step skipped (k in a
 * row, ...)"), and nothing changes - weights, optimizer moments and step
 * count, the model's own state (VQ-VAE's EMA codebook, restarts) - except
 * the count of skipped steps (dsn_model_stats "training.skipped_steps"). */
DSN_API DSN_NODISCARD dsn_status dsn_train_step(dsn_model *model, dsn_optimizer *opt, float *loss, const float *x,
                                                size_t n, const dsn_batch_args *args);
/* Named loss terms of the last training step ("loss", "rec", ...): writes up
 * to len names (static text) and values (either may be NULL); returns how
 * many terms there are (0 for NULL or before a step). No allocation. */
DSN_API int dsn_train_terms(const dsn_model *model, const char **names, float *values, int len);

/* ==== inference: sessions and encodings =========================================
 * A host creates, once, a session and encodings sized for the most items it
 * will pass; afterwards encode / swap / decode / sample do not allocate, lock,
 * log or do I/O (the session's scratch grows during the first call of each
 * kind and is then reused), so they can run on a real-time thread.
 * One session per thread; a model may be shared by many sessions. An
 * encoding is used by one thread at a time. */

/* Scratch for up to max_items observations per call (1 .. 2^28, else
 * DSN_E_INVALID). The session keeps a pointer to the model: free it first.
 * Allocates. */
DSN_API DSN_NODISCARD dsn_status dsn_session_create(dsn_session **out, const dsn_model *model, size_t max_items);
/* Release a session; NULL is a no-op. */
DSN_API void dsn_session_free(dsn_session *session);

/* An encoding with room for max_items observations (and as many groups,
 * frames or positions as the model's parts need). Keeps a pointer to the
 * model: free it first. Allocates every buffer here, none later. */
DSN_API DSN_NODISCARD dsn_status dsn_encoding_create(dsn_encoding **out, const dsn_model *model, size_t max_items);
/* Release an encoding; NULL is a no-op. */
DSN_API void dsn_encoding_free(dsn_encoding *enc);
/* The group row of each item currently held (dense ids 0..n_groups-1, in
 * order of first appearance, as dsn_encode assigned them) into groups (len
 * >= n_items, else DSN_E_SHAPE; groups may be NULL to ask the sizes);
 * *n_items and *n_groups (either may be NULL) get the counts. No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_encoding_groups(const dsn_encoding *enc, int32_t *groups, size_t len,
                                                     size_t *n_items, size_t *n_groups);

/* Encode n observations (x as in dsn_train_step; args may be NULL: see
 * dsn_batch_args for groups, mask and part) into enc. Values are set to the
 * posterior means. n must fit the session and the encoding (DSN_E_SHAPE);
 * non-finite x gives DSN_E_NUMERIC. No allocation after the session's first
 * call; the session and enc must not be used by another thread meanwhile. */
DSN_API DSN_NODISCARD dsn_status dsn_encode(dsn_session *session, dsn_encoding *enc, const float *x, size_t n,
                                            const dsn_batch_args *args);
/* Observations from enc's values: n_items * obs_size floats into out (len
 * floats, else DSN_E_SHAPE; ML-VAE Bernoulli: pixel probabilities).
 * DSN_E_STATE for an empty encoding. No allocation after the first call. */
DSN_API DSN_NODISCARD dsn_status dsn_decode(dsn_session *session, float *out, size_t len, const dsn_encoding *enc);
/* Exchange one part ("content", "style", ...) between two encodings of the
 * same model whose part has the same number of rows. No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_swap(dsn_encoding *a, dsn_encoding *b, const char *part);
/* Copy one item's row(s) of a part from src to dst (a group-scoped part
 * copies the item's group row). No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_encoding_copy_item(dsn_encoding *dst, size_t dst_item, const dsn_encoding *src,
                                                        size_t src_item, const char *part);
/* Size an encoding for n items (groups may be NULL, as in dsn_batch_args)
 * without encoding, zeroing every part: for sampling from scratch. No
 * allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_encoding_prepare(dsn_encoding *enc, size_t n_items, const int32_t *groups);
/* Replace a part's values by draws from the prior (seeded; same seed, same
 * draws), e.g. fresh styles for fixed contents, or codes from a VQ-VAE's
 * prior. DSN_E_STATE for an empty encoding. No allocation after the first
 * call. */
DSN_API DSN_NODISCARD dsn_status dsn_sample(dsn_session *session, dsn_encoding *enc, const char *part, uint64_t seed);
/* Copy a part's field ("value", "mean" or "logvar", NULL = "value"; parts
 * of codes have "value" only) into out (len floats, else DSN_E_SHAPE); *rows and *dim
 * (may be NULL) get its size; out may be NULL to ask the size. No
 * allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_encoding_get(const dsn_encoding *enc, float *out, size_t len, size_t *rows,
                                                  size_t *dim, const char *part, const char *field);
/* Overwrite a part's field (NULL = "value") with rows x dim finite floats (rows must match
 * the part's current rows, else DSN_E_SHAPE; non-finite: DSN_E_NUMERIC).
 * No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_encoding_set(dsn_encoding *enc, const char *part, const char *field,
                                                  const float *data, size_t rows);
/* Copy a part of discrete codes' int32 indices ("vq-vae": part "codes", rows
 * = items x positions, item-major) into out (len values, else DSN_E_SHAPE);
 * *rows (may be NULL) gets the count; out may be NULL to ask the size.
 * DSN_E_INVALID for a part without codes. No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_encoding_get_codes(const dsn_encoding *enc, int32_t *out, size_t len,
                                                        size_t *rows, const char *part);
/* Overwrite a part of discrete codes with rows indices in [0, K) (rows must
 * match the part: encode or dsn_encoding_prepare first) and refresh its
 * vectors from the model's codebook, so dsn_decode decodes them.
 * DSN_E_INVALID for a code out of range (nothing changed). No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_encoding_set_codes(dsn_encoding *enc, const char *part, const int32_t *codes,
                                                        size_t rows);

/* ==== timbre banks ============================================================
 * Named rows of a model's static latent (the first item-scoped Gaussian part,
 * e.g. DSAE / TS-DSAE "global" v), saved in the model file with
 * dsn_model_save and read back by dsn_model_load; e.g. the mean v of some
 * reference clips of each instrument (`disent bank`). A bank also keeps the
 * audio front-end settings its clips were analysed with (the keys of
 * dsn_audio_features), which dsn_stream_create uses by default. A model's bank
 * must not change while a stream made from the model exists. */

/* Add (or replace, for an existing name) the timbre `name` (1 to 63 bytes)
 * with v [len] (len = the static part's dim, else DSN_E_SHAPE; finite, else
 * DSN_E_NUMERIC). audio (may be NULL: keep the stored settings) replaces the
 * bank's audio settings. DSN_E_UNSUPPORTED for a model without a static
 * latent. Allocates. */
DSN_API DSN_NODISCARD dsn_status dsn_model_bank_add(dsn_model *model, const char *name, const float *v, size_t len,
                                                    const dsn_options *audio);
/* Remove the timbre `name` (later entries move down by one). DSN_E_INVALID if
 * absent. No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_model_bank_remove(dsn_model *model, const char *name);
/* Number of timbres (0 for NULL or none), and the name of entry i (NULL if out
 * of range; owned by the model, valid until the bank changes). */
DSN_API size_t dsn_model_bank_count(const dsn_model *model);
/* The name of entry i, or NULL (owned by the model, valid until the bank changes). */
DSN_API const char *dsn_model_bank_name(const dsn_model *model, size_t i);
/* Index of the timbre `name` into *index; DSN_E_INVALID (message with the
 * bank size) if absent. No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_model_bank_find(const dsn_model *model, size_t *index, const char *name);
/* Copy entry index's latent into v (len >= dim, else DSN_E_SHAPE). No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_model_bank_get(const dsn_model *model, float *v, size_t len, size_t index);
/* The bank's audio settings (owned by the model), or NULL. */
DSN_API const dsn_options *dsn_model_bank_audio(const dsn_model *model);

/* ==== a model's audio front end ================================================
 * A sequence model trained on log-mel windows keeps the front end they were
 * made with: every feature key of dsn_option_describe("audio") (sample_rate,
 * n_fft, hop_length, win_length, window, power, n_mels, fmin, fmax, scale,
 * norm, log, eps, amin, top_db) with its value, and frames. dsn_fit records
 * the training set's (dsn_dataset_audio) in a model that has none, and fails
 * with DSN_E_INVALID naming the key when a training or validation set was
 * made with other settings; dsn_model_save writes it and dsn_model_load reads
 * it back (files written before it existed have none). The bag is a
 * ready-made options argument of dsn_audio_features and dsn_mel_to_audio
 * (audio at another rate is resampled to its sample_rate); dsn_stream_create
 * and dsn_eval_swaps start from it, and an option there that contradicts it
 * fails with DSN_E_OPTION naming both values. */

/* The model's front end (owned by the model, valid until it is set again,
 * dsn_fit records one, or the model is freed), or NULL (none, or a NULL
 * model). No allocation; any thread, while no other thread changes the model. */
DSN_API const dsn_options *dsn_model_audio(const dsn_model *model);
/* Set the front end from audio (NULL removes it): the keys above, any key
 * of dsn_dataset_from_audio accepted and ignored (the very bag given there
 * may be passed); absent keys take the defaults, n_mels and frames the
 * model's frame size and window. n_mels or frames other than the model's:
 * DSN_E_SHAPE; an unknown key or a value out of bounds: DSN_E_OPTION; a model
 * whose observations are not sequences: DSN_E_UNSUPPORTED. Stores every key
 * with its value (a later change of a default cannot change it). Allocates;
 * not while another thread uses the model. */
DSN_API DSN_NODISCARD dsn_status dsn_model_set_audio(dsn_model *model, const dsn_options *audio);

/* ==== streaming: a real-time timbre swap =======================================
 * A stream turns mono audio into the same audio with the static latent
 * (timbre) swapped for a target, block by block, for audio plugins
 * (docs/plugin.md): host-rate samples are resampled to the model's feature
 * rate (libsamplerate), cut into log-mel frames as they arrive, each frame is
 * encoded by the model's causal local encoder and decoded with the target
 * static latent, and the decoded frames are turned back into sound with the
 * input's own STFT phase and overlap-add (no Griffin-Lim), then resampled to
 * the host rate. The output is delayed by a constant dsn_stream_latency
 * samples whatever the block sizes.
 * Models: DSAE / TS-DSAE with local_encoder mlp or lstm and decoder mlp
 * (configurations that read the future fail with DSN_E_UNSUPPORTED naming
 * the option). Real-time rules: create and free allocate (call them off the
 * audio thread); process, reset, set_target, set_timbre, set_mix, latency
 * and counter never allocate, lock, log or do I/O and do work bounded by
 * max_block, so they may run on the audio thread. One thread at a
 * time per stream; the model must outlive its streams and not be trained or
 * have its bank changed meanwhile. */
typedef struct dsn_stream dsn_stream;

/* Create a stream for host audio at sample_rate Hz (the resampler accepts
 * rates in [1000, 768000] Hz: else DSN_E_UNSUPPORTED) taking at most
 * max_block (1 to 2^20) samples per process call. The target static latent is
 * target [target_len] (len = the static part's dim), or, with target NULL, the
 * bank entry named by the option timbre (a name or an index), or entry 0.
 * No target at all: DSN_E_INVALID; a model without a causal step or static
 * latent: DSN_E_UNSUPPORTED. Options (opts may be NULL): the front end
 * sample_rate (the feature rate, 16000), n_fft (2048), hop_length (256),
 * n_mels (must equal the model's frame size), fmin (0), fmax (0 = Nyquist),
 * each defaulting to the bank's audio settings when the model has them;
 * timbre; resampler (fast (default) | medium | best: libsamplerate's sinc
 * converters); nnls_iter (8: projected-gradient iterations per frame of the
 * mel inversion; 0 = the clamped pseudo-inverse); mix (1: wet fraction).
 * Allocates everything, including the model's scratch (one warm-up frame). */
DSN_API DSN_NODISCARD dsn_status dsn_stream_create(dsn_stream **out, const dsn_model *model, int sample_rate,
                                                   size_t max_block, const float *target, size_t target_len,
                                                   const dsn_options *opts);
/* Release a stream; NULL is a no-op. */
DSN_API void dsn_stream_free(dsn_stream *stream);
/* Process n samples (0 <= n <= max_block, else DSN_E_SHAPE and out is left
 * untouched): out [n] gets the output for in [n] (out may equal in). NaN,
 * infinite and denormal input samples are read as 0 (counter "bad_samples");
 * a frame the model cannot make is passed through unchanged ("model_errors",
 * "bad_frames"). The output is always finite. No allocation, lock or system
 * call. */
DSN_API DSN_NODISCARD dsn_status dsn_stream_process(dsn_stream *stream, float *out, const float *in, size_t n);
/* Delay of the output behind the input in host samples (constant for the
 * stream's life): front end (n_fft - 1 feature samples at most) plus the
 * resamplers' hold-back. 0 for NULL. */
DSN_API size_t dsn_stream_latency(const dsn_stream *stream);
/* The max_block the stream was created with (0 for NULL). */
DSN_API size_t dsn_stream_max_block(const dsn_stream *stream);
/* Back to the state after create (silence history, model state zeroed);
 * keeps the target and mix. No allocation. NULL is a no-op. */
DSN_API void dsn_stream_reset(dsn_stream *stream);
/* Swap in the static latent v [len] (len = dim, else DSN_E_SHAPE; finite,
 * else DSN_E_NUMERIC) from the next frame on. No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_stream_set_target(dsn_stream *stream, const float *v, size_t len);
/* Target (1 - t) bank[a] + t bank[b] (t in [0, 1]; a == b picks one entry);
 * DSN_E_INVALID for an index outside the model's bank. No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_stream_set_timbre(dsn_stream *stream, size_t a, size_t b, float t);
/* Output = (1 - wet) input delayed by the latency + wet swap (wet in [0, 1]).
 * wet 0 is a bypass that skips the model (the latency stays). No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_stream_set_mix(dsn_stream *stream, float wet);
/* Named counters since create: "frames" (model steps), "model_errors",
 * "bad_samples", "bad_frames", "xruns" (output FIFO underruns or overflows:
 * 0 unless the library has a bug), and the front end's "feature_rate",
 * "n_fft", "hop". Unknown names and NULL give 0. No allocation. */
DSN_API uint64_t dsn_stream_counter(const dsn_stream *stream, const char *name);

/* ==== datasets ==================================================================
 * n observations of one shape (1 to 3 dims, float32), optional int32 labels
 * (>= 0; they are also the groups for grouped training) and, for sequences
 * [T, D], an optional [n, T] frame mask. A dataset owns copies of its arrays
 * and is read-only once built: several threads may read one dataset. */

/* Every constructor below: *out is a new dataset (release it with
 * dsn_dataset_free), NULL on failure; it allocates and copies everything it
 * needs (nothing of the caller's memory is kept); unreadable files give
 * DSN_E_IO, damaged ones DSN_E_FORMAT with a message naming the file.
 *
 * Copy caller memory: x is n * prod(shape) floats (finite, else
 * DSN_E_NUMERIC) of ndim (1 .. 3) dims; labels [n] (>= 0) and mask
 * [n * shape[0]] may be NULL. */
DSN_API DSN_NODISCARD dsn_status dsn_dataset_from_memory(dsn_dataset **out, const float *x, size_t n,
                                                         const size_t *shape, int ndim, const int32_t *labels,
                                                         const float *mask);
/* MNIST-style IDX files (labels may be NULL: no labels); pixels scaled to [0, 1]. */
DSN_API DSN_NODISCARD dsn_status dsn_dataset_from_idx(dsn_dataset **out, const char *images, const char *labels);
/* The four standard MNIST files in dir: training set (test_set 0) or test set (1). */
DSN_API DSN_NODISCARD dsn_status dsn_dataset_from_mnist(dsn_dataset **out, const char *dir, int test_set);
/* NumPy .npy: x [N, ...] (float32/float64/uint8), labels [N] integers
 * (labels_path may be NULL: no labels). */
DSN_API DSN_NODISCARD dsn_status dsn_dataset_from_npy(dsn_dataset **out, const char *x_path, const char *labels_path);
/* Log-mel windows of audio clips, for the sequence models: source is a
 * folder of audio files (any format libsndfile reads) or a CSV manifest
 * (a "path" column plus label columns). Clips are mixed to mono, resampled,
 * turned into log-mel frames and cut into windows of `frames` frames; the last
 * window of a clip is padded and masked, unless it would hold fewer than
 * min_tail valid frames (default -1 = frames / 2) and is not the clip's first:
 * those tail frames are left out (a 251-frame clip gives one 250-frame
 * window, not a full one and a 1-frame one). Observations are [frames, n_mels].
 * Features are by default ln(mel power + 1e-6): the log floor is ln(1e-6) = -13.8.
 * Options (dsn_option_describe("audio") lists them with bounds): frames
 * (250), hop (0 = frames), min_tail, cache (path of a feature cache: a second
 * run reads features back; entries are invalidated when the settings or a
 * file's size or mtime change), threads (the feature computation's parts, run on
 * the library's threads; 0, the default: dsn_get_threads()), label (manifest column giving
 * the labels; default the first), bad_clips (error), and the front end:
 * sample_rate (16000), n_fft (2048), hop_length (256), win_length (0 =
 * n_fft), window (hann | hamming | rect), power (2; 1 = magnitude), n_mels
 * (80), fmin (0), fmax (0 = Nyquist; fmin < fmax <= Nyquist), scale (htk |
 * slaney), norm (none | slaney), log (log | db | linear), eps (1e-6: the
 * log floor), amin (1e-10, db), top_db (0 = off, db).
 * Unreadable, truncated or empty audio files fail with a message naming them. */
DSN_API DSN_NODISCARD dsn_status dsn_dataset_from_audio(dsn_dataset **out, const char *source,
                                                        const dsn_options *opts);
/* Bad input: a `label` column the manifest lacks fails with DSN_E_OPTION
 * listing its columns; with `label` given, a clip without a value in it or
 * a single class among the clips: DSN_E_INVALID naming them. bad_clips
 * (error | skip | keep): a silent clip (peak below 1e-4) or a clipped one (4
 * or more equal samples at |x| >= 0.999) fails naming it (error, the
 * default), is left out (skip) or kept (keep); either way counted. A clip
 * shorter than a window gives one padded window whose missing frames are
 * masked; a tail shorter than min_tail is left out; both counted
 * (dsn_dataset_counter). No clip at all: DSN_E_INVALID.
 * The dataset keeps its front end (dsn_dataset_audio). */
/* A dataset file written by the `features` tool; label_column may be NULL
 * (the first label column). */
DSN_API DSN_NODISCARD dsn_status dsn_dataset_load_audio(dsn_dataset **out, const char *path,
                                                        const char *label_column);
/* The front end of a dataset made by dsn_dataset_from_audio or
 * dsn_dataset_load_audio (every feature key with its value, and frames; kept
 * by dsn_dataset_split and dsn_dataset_select_labels), or NULL for other
 * datasets and NULL. Owned by the dataset. No allocation; thread-safe. */
DSN_API const dsn_options *dsn_dataset_audio(const dsn_dataset *ds);
/* How an audio dataset was built, by name: "clips", "windows",
 * "short_clips" (clips shorter than a window), "masked_frames" (their padded
 * frames), "dropped_frames" (tails shorter than min_tail), "silent_clips",
 * "clipped_clips", "skipped_clips" (left out by bad_clips=skip),
 * "computed_clips", "cached_clips" (features read from the cache). A split
 * (dsn_dataset_split, dsn_dataset_select_labels) reports the counts of the
 * set it came from. 0 for unknown names, NULL, other datasets, and for all
 * but clips and windows of a dataset file. No allocation; thread-safe. */
DSN_API uint64_t dsn_dataset_counter(const dsn_dataset *ds, const char *name);
/* Random split into two new datasets (*train, *valid; both must be
 * released): valid_fraction in (0, 1) of the rows go to *valid, stratified by
 * label if asked (and the dataset has labels). Same seed, same split.
 * Allocates. */
DSN_API DSN_NODISCARD dsn_status dsn_dataset_split(const dsn_dataset *ds, dsn_dataset **train, dsn_dataset **valid,
                                                   double valid_fraction, uint64_t seed, int stratified);
/* Rows whose label is in labels[0..n_labels-1] into *in, the others into
 * *rest (either may be NULL; those returned must be released): e.g. train on
 * digits 0-6, test on unseen 7-9. DSN_E_STATE for a dataset without labels.
 * Allocates. */
DSN_API DSN_NODISCARD dsn_status dsn_dataset_select_labels(const dsn_dataset *ds, dsn_dataset **in,
                                                           dsn_dataset **rest, const int32_t *labels,
                                                           size_t n_labels);
/* Shard `rank` of `size` of ds for data-parallel training (dsn_fit_mpi,
 * docs/scale-out.md): a new dataset (*shard, to be released) holding only
 * those rows, marked as that shard of ds. The shard follows the batches
 * dsn_fit would draw for model with fit_opts (NULL: defaults): a grouped
 * model (ML-VAE on a set with labels) gets whole groups, the others rows;
 * each global batch of G units is split [G r / size, G (r + 1) / size)
 * between the processes, and process r holds units [U g0 / G, U g1 / G) of
 * the set's U (g0, g1 the ends of its part; rows in order, groups in
 * ascending label order), so every shard passes over its data at the same
 * pace. A process of dsn_fit_mpi given its shard instead of the whole set
 * needs memory for that shard only; a shard of a shard, an empty shard or
 * bad options fail (DSN_E_INVALID / the option's error). Keeps the audio
 * front end. Allocates. */
DSN_API DSN_NODISCARD dsn_status dsn_dataset_shard(const dsn_dataset *ds, dsn_dataset **shard,
                                                   const dsn_model *model, const dsn_options *fit_opts, int rank,
                                                   int size);
/* A validation split made before sharding (the file loaders below):
 * valid_fraction in (0, 1) of the rows go to the validation part, chosen as
 * dsn_dataset_split(ds, ..., valid_fraction, seed, stratified) chooses them
 * (stratified by label when the set has labels); 0: no split. */
typedef struct dsn_shard_split {
    size_t struct_size;    /* set by the caller: sizeof the struct */
    double valid_fraction; /* in (0, 1): the validation part's share of the rows; 0: no split */
    uint64_t seed;         /* dsn_dataset_split's seed */
    int stratified;        /* 1: stratified by label, as dsn_dataset_split */
} dsn_shard_split;
/* an initialiser of dsn_shard_split for this header's version (no split) */
#define DSN_SHARD_SPLIT_INIT {sizeof(dsn_shard_split), 0.0, 0, 0}

/* Shard rank of size of the .npy set x_path (labels_path as for
 * dsn_dataset_from_npy, may be NULL), reading only the shard's rows from the
 * file: the same dataset as dsn_dataset_shard of dsn_dataset_from_npy's, in
 * the memory of the shard (plus the whole set's labels and row lists while
 * loading). split (NULL: none): the shard is one of the training part of
 * dsn_dataset_split, and *valid (needed then, else untouched but set to
 * NULL when given) the whole validation part, also read row by row. An empty
 * shard is DSN_E_INVALID; file errors as dsn_dataset_from_npy. Allocates. */
DSN_API DSN_NODISCARD dsn_status dsn_dataset_from_npy_shard(dsn_dataset **out, dsn_dataset **valid,
                                                            const char *x_path, const char *labels_path,
                                                            const dsn_model *model, const dsn_options *fit_opts,
                                                            int rank, int size, const dsn_shard_split *split);
/* The same for the MNIST files of dir (as dsn_dataset_from_mnist): only the
 * shard's images (and those of the validation part) are read. */
DSN_API DSN_NODISCARD dsn_status dsn_dataset_from_mnist_shard(dsn_dataset **out, dsn_dataset **valid,
                                                              const char *dir, int test_set, const dsn_model *model,
                                                              const dsn_options *fit_opts, int rank, int size,
                                                              const dsn_shard_split *split);
/* The rows dsn_dataset_shard would give shard rank of size, without making
 * it (0 for bad arguments, bad options or a shard given as ds). Allocates
 * scratch; thread-safe. */
DSN_API size_t dsn_dataset_shard_size(const dsn_dataset *ds, const dsn_model *model, const dsn_options *fit_opts,
                                      int rank, int size);
/* Pre-sharded data: mark ds (a host's own part of a set, e.g. its shard
 * file) as shard rank of size of a set of total_rows rows in total_groups
 * groups, split by whole groups (by_groups 1, grouped models) or rows (0).
 * It must hold exactly the rows dsn_dataset_shard would give (dsn_fit_mpi
 * checks the counts on every process, not the values). DSN_E_INVALID for a
 * shard that does not exist, a dataset already marked, or counts smaller
 * than ds's. Changes ds: not while another thread reads it. No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_dataset_mark_shard(dsn_dataset *ds, int rank, int size, size_t total_rows,
                                                        size_t total_groups, int by_groups);
/* Rows of the whole set ds is a shard of (dsn_dataset_shard,
 * dsn_dataset_mark_shard), or of ds itself (0 for NULL); *groups (may be
 * NULL) its groups. No allocation; thread-safe. */
DSN_API size_t dsn_dataset_total(const dsn_dataset *ds, size_t *groups);
/* Release a dataset; NULL is a no-op. */
DSN_API void dsn_dataset_free(dsn_dataset *ds);

/* What a dataset holds: filled by dsn_dataset_describe (struct_size as for
 * dsn_model_info). */
typedef struct dsn_dataset_info {
    size_t struct_size;             /* set by the caller: sizeof the struct */
    size_t size;                    /* observations */
    size_t obs_size;                /* floats per observation */
    int obs_ndim;                   /* 1 to DSN_MAX_DIMS */
    size_t obs_shape[DSN_MAX_DIMS]; /* unused dims 0 */
    size_t num_groups;              /* distinct labels (0 without labels) */
    int has_labels, has_mask;       /* 0 or 1 */
} dsn_dataset_info;
/* an initialiser of dsn_dataset_info for this header's version (struct_size set) */
#define DSN_DATASET_INFO_INIT {sizeof(dsn_dataset_info), 0, 0, 0, {0, 0, 0, 0}, 0, 0, 0}

/* Describe ds into *out. DSN_E_INVALID for a NULL argument or a struct_size
 * below the first version's. No allocation; thread-safe. */
DSN_API DSN_NODISCARD dsn_status dsn_dataset_describe(const dsn_dataset *ds, dsn_dataset_info *out);
/* Copy observation i (< size, else DSN_E_INVALID) into x (len >= obs_size
 * floats, else DSN_E_SHAPE; x may be NULL) and its label (-1 if none) into
 * *label (may be NULL). No allocation; thread-safe. */
DSN_API DSN_NODISCARD dsn_status dsn_dataset_get(const dsn_dataset *ds, float *x, size_t len, int32_t *label,
                                                 size_t i);

/* ==== the training loop =========================================================
 * Progress callback: called every log_every steps with the step's named loss
 * terms (epoch_end 0), and after each epoch (epoch_end 1) with "train_loss"
 * and, with a validation set, "valid_loss" and "best_valid_loss". valid_loss
 * has one definition through a whole run, so epochs of different stages
 * compare: the family's loss without stage terms or warm-up weights (TS-DSAE:
 * the constrained stage's objective, VQ-VAE: the autoencoder's, ML-VAE: the
 * final style weight); best_valid_loss is its lowest value so far. A family
 * whose training objective can change during a run (ml-vae, ts-dsae, vq-vae)
 * also reports "valid_objective", the current objective on the validation
 * set, and "best_valid_objective", the lowest since the latest stage switch:
 * keep_best and patience compare these. Return
 * non-zero to stop training after the current step (dsn_fit then returns
 * DSN_OK). A stop in the middle of an epoch ends that epoch early: it counts
 * as completed (the model's end-of-epoch hook, validation, the checkpoint
 * and the epoch_end callback still run), so a run resumed from that
 * checkpoint starts with the next epoch. Names are static text; values are valid during the call only. */
typedef int (*dsn_progress_fn)(void *user, int epoch, int64_t step, int epoch_end, int n_terms,
                               const char *const *names, const float *values);

/* The model family's own dsn_fit defaults as "key=value, ..." text (static,
 * never freed), read by dsn_fit before the caller's options; "" when the
 * family uses dsn_fit's defaults above. DSAE and TS-DSAE count fixed-size
 * epochs ("batch_size=32, steps_per_epoch=50, epochs=40"), so a schedule
 * trains for the same number of steps whatever the data set's size. NULL
 * model: "". No allocation; thread-safe. */
DSN_API const char *dsn_fit_defaults(const dsn_model *model);

/* Train for epochs with batches drawn from train:
 *  - a dataset with labels/groups: batch_groups groups x group_size (16)
 *    members, sampled with a seeded RNG (groups smaller than group_size are
 *    drawn with replacement). batch_groups defaults to 16, or to the number
 *    of groups when the dataset has fewer (MNIST: 10 x 16); an explicit
 *    batch_groups larger than the number of groups is DSN_E_INVALID, never
 *    silently reduced;
 *  - otherwise (or when the model does not use groups: DSAE, TS-DSAE and
 *    VQ-VAE train without labels) shuffled batches of batch_size (256).
 * Options: epochs (10), steps_per_epoch (0 = one pass), seed (model seed),
 * patience (0 = no early stopping; else stop after that many epochs without a
 * better validation loss), keep_best (1: end with the weights of the best
 * validation epoch; a model whose objective changes at a stage switch, as
 * TS-DSAE's, only compares epochs after its latest switch), checkpoint (path; saved atomically with the optimizer
 * every checkpoint_every (1) epochs and at the end), log_every (10),
 * max_skipped_steps (10): a step with a non-finite loss or gradient is
 * skipped (as in dsn_train_step) and training goes on; one more than
 * max_skipped_steps skipped in a row stops it with DSN_E_NUMERIC and a
 * message giving the epoch, the step and the cause (the model keeps the
 * weights of its last good step; 0 stops at the first), log (path of a
 * training log, "" none: one JSON object per line for the start, every
 * step - loss terms, learning rate, stage, time - every skipped step, every
 * epoch with its validation figures and terms, and the end; plus its CSV
 * twin, the path with ".jsonl" replaced by ".csv" (else with ".csv"
 * appended), one row per figure; format in docs/logs.md), log_append (0:
 * replace the files, 1: append), data_shards (0 = 1): draw every batch
 * from that many shards of train (dsn_dataset_shard), each with its own
 * seeded sampler and its part of the batch - what as many processes of
 * dsn_fit_mpi draw, so a data-parallel run can be repeated in one process
 * (1: the whole set, one sampler, as always). A log that cannot be opened fails at the
 * start, before any step (DSN_E_IO); a failed write fails the run at the
 * next epoch end. In a data-parallel run only process 0 writes it.
 * Resuming: a model and optimizer loaded from a checkpoint continue from the
 * epoch after the saved one. Allocates its batch buffers once at the start;
 * no allocation per step after the first. valid may be NULL. */
DSN_API DSN_NODISCARD dsn_status dsn_fit(dsn_model *model, dsn_optimizer *opt, const dsn_dataset *train,
                                         const dsn_dataset *valid, const dsn_options *opts,
                                         dsn_progress_fn progress, void *user);

/* ==== evaluation ================================================================
 * Linear classifiers on feature matrices, classification metrics and pitch
 * metrics, for measuring what a latent space holds (docs/evaluation.md):
 * fit a classifier on training latent means, predict the labels of test or
 * swapped encodings, and report accuracy or macro-F1; compare an F0 track of
 * decoded audio with the source melody.
 * Everything here is offline work: fitting and predicting allocate, and none
 * of it is meant for a real-time thread. */
typedef struct dsn_classifier dsn_classifier; /* a linear classifier over float features */

/* Create an unfitted classifier of kind
 *   "logreg"   multinomial logistic regression with an L2 penalty, minimised
 *              deterministically by L-BFGS on standardised features;
 *   "lda"      linear discriminant analysis: Gaussian classes with one shared
 *              (optionally shrunk) covariance, solved by Cholesky;
 *   "centroid" nearest class mean in Euclidean distance (few-shot
 *              evaluation: fit on the k labelled examples of each class).
 * Options (opts may be NULL for all defaults; it is read here, not kept):
 *   standardize (1 for logreg and lda, 0 for centroid): z = (x - mean) / std
 *               with the training statistics before anything else;
 *   logreg: l2 (1e-4; penalty (l2/2)||W||^2 on the mean log loss, intercepts
 *           free), max_iter (500), tol (1e-5; stop when every gradient entry
 *           is at most this), history (10; L-BFGS memory);
 *   lda:    shrinkage (0): a value in [0, 1] blends the covariance with
 *           (trace/d) I, or "auto" for the Ledoit-Wolf estimate.
 * A key that the kind does not read is rejected with DSN_E_OPTION; an
 * unknown kind gives DSN_E_INVALID (like an unknown model family). *out is
 * NULL on failure. Allocates a small struct. */
DSN_API DSN_NODISCARD dsn_status dsn_classifier_create(dsn_classifier **out, const char *kind,
                                                       const dsn_options *opts);
/* Release a classifier; NULL is a no-op. */
DSN_API void dsn_classifier_free(dsn_classifier *clf);
/* Fit on x [n][dim] (row-major, finite: NaN/Inf give DSN_E_NUMERIC) with
 * labels [n], any int32 values with at least two distinct ones
 * (DSN_E_INVALID otherwise). A second fit replaces the first; on failure the
 * classifier is left unfitted. Allocates a standardised copy of x and solver
 * scratch (logreg: about n * (dim + 2 * classes) floats) for the duration of
 * the call. Deterministic: the same data give the same classifier.
 * Measured: logreg on 60000 x 20 with 10 classes fits in 0.2 - 1.3 s on one
 * core, depending on how correlated the features are (docs/evaluation.md).
 * Not thread-safe on the same handle. */
DSN_API DSN_NODISCARD dsn_status dsn_classifier_fit(dsn_classifier *clf, const float *x, size_t n, size_t dim,
                                                    const int32_t *labels);
/* Predicted label values (as given to fit) for x [n][dim] into labels [n].
 * dim must equal the fitted dim (DSN_E_SHAPE); DSN_E_STATE before a fit;
 * DSN_E_NUMERIC on non-finite input. n may be 0. Allocates a block of
 * scratch per call; several threads may predict with one fitted classifier
 * at once. */
DSN_API DSN_NODISCARD dsn_status dsn_classifier_predict(const dsn_classifier *clf, int32_t *labels, const float *x,
                                                        size_t n, size_t dim);
/* Decision scores [n][classes] for x [n][dim] into scores (len >= n *
 * classes floats, else DSN_E_SHAPE): logreg logits (softmax gives the class
 * probabilities), lda discriminants (log posterior up to a per-row
 * constant), centroid -||z - mean_k||^2 / 2 up to a per-row constant. Column
 * k belongs to the k-th value of dsn_classifier_classes. Same rules as
 * predict. */
DSN_API DSN_NODISCARD dsn_status dsn_classifier_scores(const dsn_classifier *clf, float *scores, size_t len,
                                                       const float *x, size_t n, size_t dim);
/* Number of classes of the fit (0 before a fit or for NULL); writes the
 * first min(count, max) class values, ascending, to classes (may be NULL). */
DSN_API size_t dsn_classifier_classes(const dsn_classifier *clf, int32_t *classes, size_t max);
/* Report of the last fit (each output may be NULL): solver iterations
 * (logreg; 0 for the others), whether the solver converged (tolerance met or
 * no further decrease at float precision; always 1 for lda and centroid) and
 * the final value (logreg: the penalised mean log loss; lda: the shrinkage
 * used; centroid: 0). DSN_E_STATE before a fit. No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_classifier_report(const dsn_classifier *clf, int *iterations, int *converged,
                                                       double *value);

/* Fraction of i < n with pred[i] == truth[i] into *out. n = 0 gives 0.
 * NULL arrays (with n > 0) or out give DSN_E_INVALID. No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_accuracy(double *out, const int32_t *truth, const int32_t *pred, size_t n);
/* Macro-averaged F1 into *out: the mean over every label value occurring in
 * truth or pred of F1_k = 2 TP_k / (2 TP_k + FP_k + FN_k) (scikit-learn's
 * f1_score(average="macro")). Labels are any int32 values. n = 0 gives 0.
 * Allocates scratch (about 20 bytes per item) for the call. */
DSN_API DSN_NODISCARD dsn_status dsn_macro_f1(double *out, const int32_t *truth, const int32_t *pred, size_t n);
/* Confusion matrix for labels in [0, n_classes): counts [n_classes][n_classes]
 * (len >= n_classes^2, else DSN_E_SHAPE), counts[a * n_classes + b] = number
 * of items with truth a predicted as b. A label outside the range gives
 * DSN_E_INVALID (counts then undefined). No allocation. */
DSN_API DSN_NODISCARD dsn_status dsn_confusion_matrix(uint64_t *counts, size_t len, const int32_t *truth,
                                                      const int32_t *pred, size_t n, int32_t n_classes);

/* Disentanglement metrics of latents against known factors of variation,
 * with disentanglement_lib's definitions and estimators (docs/metrics.md):
 * latents [n][dim] (e.g. posterior means from dsn_encoding_get), factors
 * [n][n_factors] (ground truth: class ids, positions, angles, ...).
 * metrics: a comma-separated list of names, each filling one entry of
 * scores (len >= the number of names, else DSN_E_SHAPE), in order:
 *   "mig"                  mutual information gap (latents binned)
 *   "dci_disentanglement", "dci_completeness", "dci_informativeness"
 *                          DCI from gradient boosted tree importances
 *                          (informativeness = mean test accuracy)
 *   "sap"                  separated attribute predictability
 *   "modularity", "explicitness"  (Ridgeway & Mozer; explicitness = ROC-AUC)
 * "dci" stands for its three names and "all" for all seven, in this order.
 * Factor kinds: a factor is discrete (its distinct values are its classes) or
 * continuous (binned into factor_bins equal-width bins for the MI-based and
 * classifier-based metrics; SAP uses its squared correlation). Options (opts
 * may be NULL; read here, not kept):
 *   continuous ("auto"): "auto" = continuous if some value is not an integer
 *     or there are more than max_classes (64) distinct values; "none"; "all";
 *     or a list of factor indices "0:3" (continuous; the others discrete);
 *   bins (20) latent histogram bins, factor_bins (20);
 *   train_fraction (0.8) and seed (0) of the split the fitted metrics
 *     (DCI, SAP, explicitness) train and test on;
 *   trees (100), depth (3), lr (0.1), split_bins (255): the DCI GBT.
 * Errors: NaN or infinity in latents or factors (DSN_E_NUMERIC); a constant
 * factor, a discrete factor with more than 1024 classes (DSN_E_INVALID);
 * fewer than two samples per class of a factor (n < 2 K), or a training part
 * with fewer than two classes of a factor (DSN_E_SHAPE); an unknown name (DSN_E_INVALID).
 * scores is untouched on failure. Deterministic for a seed. Allocates
 * scratch for the call (offline work: a few seconds for 10000 x 20 latents
 * and 6 factors). Thread-safe on distinct arrays. */
DSN_API DSN_NODISCARD dsn_status dsn_factor_metrics(double *scores, size_t len, const char *metrics,
                                                    const float *latents, size_t n, size_t dim,
                                                    const float *factors, size_t n_factors,
                                                    const dsn_options *opts);

/* Units of a reference pitch track. */
typedef enum dsn_pitch_unit {
    DSN_PITCH_HZ = 0,   /* frequency in Hz, 0 (or less) = unvoiced / rest */
    DSN_PITCH_MIDI = 1  /* MIDI note number (69 = A4 = 440 Hz, fractions allowed), 0 (or less) = rest */
} dsn_pitch_unit;

/* Raw pitch accuracy (mir_eval.melody): over the n frames whose reference is
 * voiced, the fraction whose estimate est_hz (Hz, <= 0 = unvoiced, which
 * counts as a miss) lies within `cents` (50 is the standard; > 0) of the
 * reference. *accuracy gets it; *chroma (may be NULL) the raw chroma
 * accuracy (the same with octave errors forgiven); *n_voiced (may be NULL)
 * the number of voiced reference frames. With no voiced frame both
 * accuracies are 0. Both tracks must have the same frame times (e.g. from
 * dsn_pitch_track with the hop the reference was made with). NaN in either
 * track gives DSN_E_NUMERIC. No allocation; thread-safe. */
DSN_API DSN_NODISCARD dsn_status dsn_raw_pitch_accuracy(double *accuracy, double *chroma, size_t *n_voiced,
                                                        const float *est_hz, const float *ref, size_t n,
                                                        dsn_pitch_unit ref_unit, double cents);
/* F0 track of mono samples x [n] at sample_rate by YIN (de Cheveigne &
 * Kawahara 2002): f0 [frames] in Hz, 0 for unvoiced or silent frames. Frame t
 * is centred on sample t * hop, so frames = 1 + n / hop, aligned with the
 * log-mel frames of dsn_audio_features when hop equals its hop_length.
 * Two-call use: f0 may be NULL to only set *n_frames; otherwise len must be
 * >= frames (DSN_E_SHAPE). Options (opts may be NULL): window (1024 samples),
 * hop (256), fmin (50 Hz), fmax (2000 Hz, at most sample_rate / 2),
 * threshold (0.15), max_aperiodicity (0.5: frames whose best normalised
 * difference is above it are unvoiced), silence (1e-4: frames with a lower
 * RMS are unvoiced). Unknown keys: DSN_E_OPTION. NaN samples: DSN_E_NUMERIC.
 * Allocates small scratch per call; thread-safe. */
DSN_API DSN_NODISCARD dsn_status dsn_pitch_track(float *f0, size_t len, size_t *n_frames, const float *x, size_t n,
                                                 int sample_rate, const dsn_options *opts);

/* What a listener hears from a sequence model's swaps (DSAE, TS-DSAE: parts
 * "global" v and "local" z_t), measured on the clips of a CSV manifest (the
 * format of dsn_dataset_from_audio; docs/evaluation.md gives the protocol):
 * a classifier fitted on the v means of the training clips labels the v
 * re-encoded from the reconstruction dec(z_i, v_i), the global swap
 * dec(z_i, v_j) (truth: j's class) and the local swap dec(z_j, v_i) (i's
 * class), j a seeded partner of another class (and other content when the
 * truth column is known); log-mel errors; and raw pitch accuracy (50 cents,
 * YIN on the NNLS + Griffin-Lim audio) of the input's own log-mel (the
 * ceiling of the inversion), of the reconstruction, of the global swap
 * (against i's pitch) and of the local swap (against j's). */
typedef struct dsn_swap_eval {
    size_t struct_size;       /* set by the caller to sizeof(dsn_swap_eval) (0: the first version) */
    size_t n_train, n_eval;   /* windows that fitted the classifier / were evaluated */
    size_t n_classes;         /* classes of the label column among the training windows */
    size_t n_truth;           /* evaluated global swaps that have a rendered truth */
    size_t n_pitch, n_pitch_frames; /* clips of the pitch check and their voiced reference frames */
    int pitch_reference;      /* 1: the notes column, 2: YIN F0 of the source audio, 0: no pitch check */
    size_t n_short_clips;     /* clips shorter than the model's window: padded, masked frames */
    size_t n_masked_frames;   /* padded (masked) frames among the used windows */
    size_t n_dropped_frames;  /* clip tails shorter than min_tail left out of every window */
    size_t n_skipped_clips;   /* silent or clipped clips left out (bad_clips = skip) */
    double f1_direct;         /* macro-F1 of the evaluated inputs' own v */
    double f1_pre, f1_global, f1_local; /* macro-F1 after reconstruction / global / local swap */
    double mse_rec;           /* log-mel MSE per element of dec(z_i, v_i) to x_i (valid frames) */
    double mse_source_global; /* of dec(z_i, v_j) to x_i */
    double mse_truth_global;  /* of dec(z_i, v_j) to the rendered truth (i's content by j's class); NaN: none */
    double mse_truth_source;  /* of x_i to that truth: what a swap that changes nothing scores */
    double mse_truth_local;   /* of dec(z_j, v_i) to j's content by i's class; NaN: none */
    double mse_truth_local_source; /* of x_j to that truth */
    double rpa_ceiling, rpa_rec, rpa_global, rpa_local; /* NaN without a pitch check */
} dsn_swap_eval;

/* Evaluate model on the clips of manifest; out->size must be set (a newer
 * library fills only what the caller's struct holds; DSN_E_INVALID if it
 * is too small). The clips are cut into the model's windows like
 * dsn_dataset_from_audio (same feature keys and min_tail; clips shorter
 * than a window are padded and masked, tails shorter than min_tail left
 * out: both counted in out). Options (opts may be NULL except for label):
 *   label (required)   manifest column of the static factor (any number of
 *                      classes, at least two among the training clips);
 *   split ("split"), train ("train"), eval ("valid"): windows whose split
 *                      cell is `train` fit the classifier, those with `eval`
 *                      are evaluated; without a split column (when the
 *                      option is not given) every clip does both;
 *   truth ("melody")   content column: the clip with i's content and j's
 *                      class is the rendered truth of dec(z_i, v_j) ("" or
 *                      an absent default column: no truth);
 *   notes ("notes")    per-clip notes "onset:duration:midi ..." (seconds)
 *                      as the pitch reference; absent: YIN F0 of the audio
 *                      of the clip whose pitch should survive;
 *   classifier (lda | logreg | centroid), pitch_clips (16, 0 = no pitch
 *   check), gl_iter (32), gl_momentum (0.99), nnls_iter (100), seed (1,
 *   partners), cache (feature cache path), threads, bad_clips (error |
 *   skip: a silent clip (peak < 1e-4) or a clipped one (4 consecutive
 *   samples at full scale) fails naming it, or is left out and counted).
 * A named column that is missing fails with DSN_E_OPTION listing the
 * manifest's columns; a single class, no train or no eval clip, or a clip
 * without a label give DSN_E_INVALID. Allocates (features, encodings, one
 * Griffin-Lim per pitch clip and decoding); reads every clip's audio. */
DSN_API DSN_NODISCARD dsn_status dsn_eval_swaps(dsn_swap_eval *out, dsn_model *model, const char *manifest,
                                                const dsn_options *opts);

/* ==== arrays in NumPy .npy files ==================================================
 * The library's one .npy reader and writer (the dataset loaders use the same
 * code): format versions 1.0-3.0, little-endian C-order arrays of float32,
 * float64, uint8, int8, int32 or int64; the header is parsed strictly and the
 * data size must match the shape exactly (DSN_E_FORMAT otherwise; a shape
 * whose element count overflows is refused). */
typedef enum dsn_dtype {
    DSN_DTYPE_FLOAT32 = 0,  /* float */
    DSN_DTYPE_INT32 = 1     /* int32_t */
} dsn_dtype;
/* Read the array at path, converted to `as`, into out (room for len
 * elements). out may be NULL to ask only the shape. shape gets the
 * dimensions (room for shape_len; DSN_E_SHAPE when the file has more), *ndim
 * their number and *is_integer 1 when the file stores integers (0 for
 * floats); each of the three may be NULL. Conversions: any dtype to float32
 * (float64 beyond the float range becomes an infinity); integer dtypes to
 * int32 (DSN_E_UNSUPPORTED for a float file, DSN_E_FORMAT for an int64 value
 * beyond int32). DSN_E_INVALID when len is smaller than the element count;
 * DSN_E_IO, DSN_E_FORMAT, DSN_E_NOMEM. Outputs are untouched on failure.
 * Any thread; allocates the file's bytes for the call. */
DSN_API DSN_NODISCARD dsn_status dsn_npy_read(void *out, size_t len, size_t *shape, size_t shape_len, int *ndim,
                                              int *is_integer, const char *path, dsn_dtype as);
/* Write a C-order array (data: the product of shape[0..ndim) elements of
 * dtype; ndim 0..32, shape may be NULL when ndim is 0) to path in format 1.0,
 * atomically, with the data 64-byte aligned in the file. DSN_E_INVALID for a
 * NULL argument or a bad ndim/dtype; DSN_E_IO; DSN_E_NOMEM. Any thread;
 * allocates the file's bytes for the call. */
DSN_API DSN_NODISCARD dsn_status dsn_npy_write(const char *path, const void *data, const size_t *shape, int ndim,
                                               dsn_dtype dtype);

/* ==== images =================================================================== */
/* Write width x height 8-bit pixels of `channels` bytes each (1 grey, 3 RGB,
 * 4 RGBA; rows top to bottom, no padding; pixels holds width*height*channels
 * bytes) as a PNG file at path, atomically (a temporary file renamed over
 * path, so an existing file is never half-written). Uncompressed deflate:
 * exact, larger than a compressor's output. DSN_E_INVALID for a NULL
 * argument, a zero size or another channel count; DSN_E_IO; DSN_E_NOMEM.
 * Any thread; allocates the file's bytes for the call. */
DSN_API DSN_NODISCARD dsn_status dsn_image_save_png(const char *path, const uint8_t *pixels, size_t width,
                                                    size_t height, int channels);

/* ==== audio for hosts ============================================================
 * File input/output and the feature front end of the audio datasets, so a
 * host can turn a clip into exactly the log-mel frames a model was trained
 * on, and decoded log-mel frames back into sound.
 * Real-time use: these calls allocate (file buffers, FFT plans, filterbanks,
 * scratch) and dsn_audio_read/write do I/O; call them from a worker thread,
 * not from an audio callback. They hold no global state: distinct calls may
 * run on distinct threads at once. */

/* Read an audio file (any format libsndfile reads: WAV, FLAC, OGG, ...), mix
 * all channels to mono (mean) and resample to sample_rate (0 keeps the
 * file's rate) with the same resampler as dsn_dataset_from_audio.
 * On success *samples is a new array of *n floats (release it with
 * dsn_audio_free) and *rate (may be NULL) the rate of the result. Missing or
 * unreadable files: DSN_E_IO; damaged, truncated or empty ones, or NaN
 * samples: DSN_E_FORMAT / DSN_E_NUMERIC with a message naming the file. */
DSN_API DSN_NODISCARD dsn_status dsn_audio_read(float **samples, size_t *n, int *rate, const char *path,
                                                int sample_rate);
/* Read an audio file keeping its channels: *samples gets *n_frames frames of
 * *channels interleaved floats (channel c of frame t at t * channels + c;
 * release with dsn_audio_free), resampled to sample_rate (0 keeps the file's
 * rate; *rate, may be NULL, gets the result's). NULL samples, n_frames,
 * channels or path: DSN_E_INVALID; other errors as dsn_audio_read; the
 * output pointers are untouched on failure. Allocates; any thread. */
DSN_API DSN_NODISCARD dsn_status dsn_audio_read_channels(float **samples, size_t *n_frames, int *channels, int *rate,
                                                         const char *path, int sample_rate);
/* Release samples returned by dsn_audio_read; NULL is a no-op. */
DSN_API void dsn_audio_free(float *samples);
/* Write n mono samples at sample_rate to path (replaced if it exists).
 * Option format: auto (default: FLAC 16-bit for a .flac name, else WAV
 * 16-bit), wav16, wav_float, flac16, flac24. Integer formats clip to [-1, 1].
 * NaN/Inf samples: DSN_E_NUMERIC (nothing written). Allocates inside
 * libsndfile. */
DSN_API DSN_NODISCARD dsn_status dsn_audio_write(const char *path, const float *samples, size_t n,
                                                 int sample_rate, const dsn_options *opts);
/* Write n_frames frames of `channels` interleaved samples (1 to 256; FLAC 1
 * to 8, else DSN_E_UNSUPPORTED) as one multichannel file; otherwise as
 * dsn_audio_write. Allocates inside libsndfile. */
DSN_API DSN_NODISCARD dsn_status dsn_audio_write_channels(const char *path, const float *samples, size_t n_frames,
                                                          int channels, int sample_rate, const dsn_options *opts);
/* Log-mel frames of mono samples x [n] recorded at sample_rate, with the
 * settings of dsn_dataset_from_audio: the samples are resampled to the
 * option sample_rate if it differs (same resampler), then
 * the front end's features (by default ln(mel(|STFT|^2) + 1e-6) with a
 * centred Hann STFT). out gets [frames][n_mels]
 * floats, frames = 1 + resampled_n / hop_length (the whole clip; cut and pad
 * windows of `frames` frames as the dataset does: zero frames, mask 0).
 * Two-call use: out may be NULL to only set *n_frames (and *n_mels, may be
 * NULL); otherwise len must be >= frames * n_mels (DSN_E_SHAPE).
 * Options: the front-end keys of dsn_dataset_from_audio; its other keys
 * (frames, hop, min_tail, cache, threads, label, bad_clips) are accepted and
 * ignored, so the very bag given to dsn_dataset_from_audio, or a model's
 * dsn_model_audio, can be passed. Unknown keys: DSN_E_OPTION. n = 0:
 * DSN_E_SHAPE. NaN input: DSN_E_NUMERIC.
 * Allocates (FFT plan, filterbank, resampled copy, spectrogram) per call. */
DSN_API DSN_NODISCARD dsn_status dsn_audio_features(float *out, size_t len, size_t *n_frames, size_t *n_mels,
                                                    const float *x, size_t n, int sample_rate,
                                                    const dsn_options *opts);
/* Audio from log-mel frames mel [frames][n_mels] made with the same
 * settings (e.g. a decoded encoding): undo the log, invert the mel
 * filterbank by non-negative least squares (projected gradient from the
 * clamped pseudo-inverse), take square roots, and run Griffin-Lim (fast
 * Griffin-Lim by default). out gets n_samples = (frames - 1) * hop_length
 * samples at the option sample_rate. Two-call use: out may be NULL to only
 * set *n_samples; otherwise len must be >= n_samples (DSN_E_SHAPE).
 * Options: the feature keys of dsn_audio_features (n_mels defaults to the
 * n_mels argument and must equal it), and gl_iter (32 Griffin-Lim
 * iterations), gl_momentum (0.99; 0 = classic Griffin-Lim), seed (for the
 * random initial phases, 1), mel_inversion (nnls (default) | pinv),
 * nnls_iter (100). NaN input: DSN_E_NUMERIC. Allocates per call; about
 * 0.5 s for a 4 s clip at the defaults on one core (docs/evaluation.md). */
DSN_API DSN_NODISCARD dsn_status dsn_mel_to_audio(float *out, size_t len, size_t *n_samples, const float *mel,
                                                  size_t n_frames, size_t n_mels, const dsn_options *opts);

typedef struct dsn_mel_inverter dsn_mel_inverter; /* set-up state of dsn_mel_inverter_run */
/* dsn_mel_to_audio without allocation after set-up, for hosts that invert
 * many clips or run on a thread that must not allocate: an inverter for up
 * to max_frames (>= 2) frames of n_mels mels, with the options of
 * dsn_mel_to_audio. Create allocates everything (the front end, the
 * filterbank's pseudo-inverse, all scratch, about (2 n_mels + 9 (n_fft/2 + 1))
 * max_frames floats); run allocates nothing and gives the same samples as
 * dsn_mel_to_audio with the same options. *out is set to NULL on failure.
 * Errors: NULL out; DSN_E_SHAPE for max_frames or n_mels out of range;
 * DSN_E_OPTION / DSN_E_SHAPE / DSN_E_UNSUPPORTED as dsn_mel_to_audio;
 * DSN_E_NOMEM. One thread at a time per inverter; distinct inverters on
 * distinct threads at once. */
DSN_API DSN_NODISCARD dsn_status dsn_mel_inverter_create(dsn_mel_inverter **out, size_t max_frames, size_t n_mels,
                                                         const dsn_options *opts);
/* Audio from mel [n_frames][n_mels] (2 <= n_frames <= max_frames): out gets
 * n_samples = (n_frames - 1) * hop_length samples; out NULL only sets
 * *n_samples; len < n_samples: DSN_E_SHAPE; NaN or infinity: DSN_E_NUMERIC.
 * NULL inv, n_samples or mel: DSN_E_INVALID. No allocation, no lock. */
DSN_API DSN_NODISCARD dsn_status dsn_mel_inverter_run(dsn_mel_inverter *inv, float *out, size_t len,
                                                      size_t *n_samples, const float *mel, size_t n_frames);
/* Release an inverter (NULL is ignored). */
DSN_API void dsn_mel_inverter_free(dsn_mel_inverter *inv);

/* ==== stages, statistics, options after creation, discrete codes ============
 * Family-specific behaviour through generic calls (each family's guide lists
 * its stages, statistics and changeable options: docs/mlvae.md,
 * docs/dsae.md, docs/vqvae.md). */

/* Training stages: "ts-dsae": "constrained" then "full" (dsn_fit switches
 * after constrained_epochs epochs). "vq-vae": "autoencoder" (the default)
 * then "prior", an autoregressive model over the codes (a gated PixelCNN for
 * images, an LSTM for sequences). ml-vae and dsae have none. The current
 * stage is dsn_model_info's stage. */
/* Switch the training stage by name. The stage is kept in the model (saved
 * by dsn_model_save). "vq-vae": "prior" freezes the encoder, decoder and
 * codebook and makes the training loss the prior's mean negative
 * log-likelihood of the batch's codes (nats per code; the term
 * "bits_per_code" is reported too); "autoencoder" freezes the prior.
 * "ts-dsae": "full" snapshots the global encoder (the informed prior) and
 * unfreezes the local encoder; going back gives DSN_E_STATE. A switch that
 * changes the objective ends dsn_fit's comparison of validation losses
 * across it. Create a new optimizer after a switch when the trainable
 * parameters change (its learning rate and step count are its own).
 * DSN_E_UNSUPPORTED for a model without stages, DSN_E_INVALID for an
 * unknown stage name. Allocates (the option bag); not while the model is in
 * use by another thread. */
DSN_API DSN_NODISCARD dsn_status dsn_model_set_stage(dsn_model *model, const char *stage);
/* Change an option that the family allows to change after creation
 * ("vq-vae": temperature (> 0 divides the sampling logits; 0 takes the most
 * likely code) and top_k (0 = all codes; else only the top_k most likely,
 * ties kept) used by dsn_sample). The value is recorded in the model's
 * options, so dsn_model_save keeps it. DSN_E_OPTION for any other key or a
 * bad value. Allocates (the option bag); not while a session uses the
 * model. */
DSN_API DSN_NODISCARD dsn_status dsn_model_set_option(dsn_model *model, const char *key, const char *value);
/* Named figures of a model: up to len names (static text) and values into
 * names[] and values[]; *count (may be NULL) gets how many there are (names
 * and values may be NULL when len is 0, to ask the count).
 *  - ds NULL: the training tracker since the model was created or loaded
 *    ("vq-vae": codebook.size, codebook.perplexity, codebook.used_fraction,
 *    codebook.used (last training step), codebook.dead, codebook.total_perplexity,
 *    codebook.total_used_fraction, codebook.steps, codebook.restarts);
 *    other families have none yet; every family: training.skipped_steps,
 *    steps skipped for a non-finite loss or gradient (dsn_train_step).
 *  - ds given: measured over every observation of ds (in batches, on the
 *    calling thread, without updates): the mean of every loss term over the
 *    dataset ("loss", "rec", the KL of each latent part, ...: the names of
 *    dsn_train_terms), plus the family's own ("vq-vae": codebook.size,
 *    codebook.perplexity, codebook.used_fraction, codebook.used and
 *    prior.bits_per_code, the prior's mean negative log-likelihood of the
 *    codes in bits; compare with log2 K).
 * Values are double; counts are whole numbers. The model's training RNG is
 * left unchanged. Allocates scratch for a dataset; the model must not be
 * trained or used by another thread meanwhile. */
DSN_API DSN_NODISCARD dsn_status dsn_model_stats(dsn_model *model, const char **names, double *values, size_t len,
                                                 size_t *count, const dsn_dataset *ds);
#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DISENT_H */
