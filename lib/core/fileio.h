/* fileio.h - checked file input/output (internal).
 *
 * Reading: a file is read whole into memory (bounded by a caller limit) and
 * parsed through a dsi_reader that checks every length against what is left,
 * so a truncated or hostile file can never make us read out of bounds or
 * allocate more than the file could hold.
 * Writing: a dsi_writer collects bytes in memory; dsi_write_atomic writes them
 * to a fresh "path.tmp.XXXXXX" (mkstemp, locked while in use), fsyncs,
 * renames over the target and fsyncs the folder, so an existing file is never
 * left half-written, concurrent savers of one path never share a temporary
 * file, and temporary files of killed saves are removed by the next save. */
#ifndef DSI_CORE_FILEIO_H
#define DSI_CORE_FILEIO_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

/* Read a whole file. On success *data (dsi_free it) and *len are set.
 * Files larger than max_len give DSN_E_FORMAT. */
dsn_status dsi_read_file(const char *path, size_t max_len, unsigned char **data, size_t *len);

/* Parts of a file (a shard's rows): open it for reading (*size its
 * length; a regular file, else DSN_E_IO), read len bytes at offset (all of
 * them, else DSN_E_IO naming path), close it. */
dsn_status dsi_file_open(const char *path, int *fd, uint64_t *size);
dsn_status dsi_file_read_at(int fd, const char *path, uint64_t offset, void *buf, size_t len);
void dsi_file_close(int fd);

/* Write len bytes atomically (temp file, fsync, rename, fsync of the
 * folder). On failure the previous file at path is untouched (unless the
 * failure is in the final close or folder sync, which the message says) and
 * the message names the step and the file that failed. */
dsn_status dsi_write_atomic(const char *path, const void *data, size_t len);

/* Test hook for fault injection: when dsi_io_fault_hook is set, the
 * countdown-th I/O operation of dsi_write_atomic (counting from 1: create,
 * each write, fsync, rename, close, folder fsync) fails with errno err; with
 * short_write, a write at that point writes half its bytes and the next
 * operation fails with err. `seen` counts the operations reached. Not
 * thread-safe; for tests only (never set by the library). */
typedef struct dsi_io_fault {
    int countdown, err, short_write, seen;
} dsi_io_fault;
extern dsi_io_fault *dsi_io_fault_hook;

typedef struct dsi_reader {
    const unsigned char *p;
    size_t len, pos;
    int failed;         /* sticky: once set, every read returns zeros */
    const char *what;   /* file name for messages */
} dsi_reader;

void dsi_reader_init(dsi_reader *r, const void *data, size_t len, const char *what);
size_t dsi_reader_left(const dsi_reader *r);
/* Each returns 0 on success, -1 (and sets the error message, DSN_E_FORMAT)
 * when fewer than the needed bytes are left. */
int dsi_read_bytes(dsi_reader *r, void *out, size_t n);
int dsi_read_u32(dsi_reader *r, uint32_t *v);
int dsi_read_u64(dsi_reader *r, uint64_t *v);
int dsi_read_f32s(dsi_reader *r, float *out, size_t n);
/* Borrow n bytes in place (no copy). */
const unsigned char *dsi_read_view(dsi_reader *r, size_t n);

typedef struct dsi_writer {
    unsigned char *buf;
    size_t len, cap;
    int failed; /* sticky out-of-memory flag */
} dsi_writer;

void dsi_writer_init(dsi_writer *w);
void dsi_writer_free(dsi_writer *w);
void dsi_write_bytes(dsi_writer *w, const void *data, size_t n);
void dsi_write_u32(dsi_writer *w, uint32_t v);
void dsi_write_u64(dsi_writer *w, uint64_t v);
void dsi_write_f32s(dsi_writer *w, const float *x, size_t n);
/* A string as u32 length + bytes (no terminator). */
void dsi_write_str(dsi_writer *w, const char *s);
/* Such a string into a fresh dsi_malloc'd, terminated copy; NULL (and the
 * reader marked failed) when it is longer than max, truncated, or out of memory. */
char *dsi_read_str_dup(dsi_reader *r, uint32_t max);

/* CRC-32 (IEEE 802.3, reflected, as in zlib/PNG); chain with crc = previous. */
uint32_t dsi_crc32(uint32_t crc, const void *data, size_t len);

#endif
