/* modelfile.h - the libdisent model file container (internal).
 *
 * Layout (all integers little-endian):
 *   magic    8 bytes  "DSNMODEL"
 *   version  u32      DSI_MFILE_VERSION (readers refuse newer versions)
 *   count    u32      number of sections
 *   count x section:  tag 4 bytes (e.g. "META", "PARM", "OPTM", "RNGS", "TRNR")
 *                     length u64, then `length` bytes of payload
 *   crc      u32      CRC-32 of every byte before it
 * Unknown tags are skipped, so later versions can add sections that older
 * readers ignore. A file is written whole in memory and saved atomically
 * (temp file, fsync, rename), so an existing file is never half-overwritten.
 * The reader checks the magic, the version and the CRC before it looks at
 * any section, and every section length against the bytes that remain. */
#ifndef DSI_IO_MODELFILE_H
#define DSI_IO_MODELFILE_H

#include "autodiff/params.h"
#include "core/fileio.h"
#include "core/status.h"

#define DSI_MFILE_MAGIC "DSNMODEL"
#define DSI_MFILE_VERSION 1u
#define DSI_MFILE_MAX_SECTIONS 64
#define DSI_MFILE_MAX_BYTES ((size_t)1 << 34) /* 16 GiB */

typedef struct dsi_mfile_out {
    dsi_writer body;       /* sections, appended */
    uint32_t n_sections;
    size_t open_at;        /* offset of the open section's length field, or 0 */
} dsi_mfile_out;

void dsi_mfile_out_init(dsi_mfile_out *f);
void dsi_mfile_out_free(dsi_mfile_out *f);
/* Start a section; write its payload with the dsi_write_* functions on
 * dsi_mfile_payload(f); close it with dsi_mfile_end_section. */
void dsi_mfile_begin_section(dsi_mfile_out *f, const char tag[4]);
dsi_writer *dsi_mfile_payload(dsi_mfile_out *f);
void dsi_mfile_end_section(dsi_mfile_out *f);
/* Assemble header + sections + CRC and write atomically. */
dsn_status dsi_mfile_save(dsi_mfile_out *f, const char *path);

typedef struct dsi_mfile_section {
    char tag[5];
    const unsigned char *data;
    size_t len;
} dsi_mfile_section;

typedef struct dsi_mfile_in {
    unsigned char *data;   /* whole file */
    size_t len;
    dsi_mfile_section sections[DSI_MFILE_MAX_SECTIONS];
    uint32_t n_sections;
    uint32_t version;
    char path[256];
} dsi_mfile_in;

/* Read and validate a file; on failure nothing needs freeing. Damaged,
 * truncated or foreign files give DSN_E_FORMAT with a message. */
dsn_status dsi_mfile_open(dsi_mfile_in *f, const char *path);
void dsi_mfile_close(dsi_mfile_in *f);
/* Reader over a section's payload, or NULL data (and 0) if absent. */
int dsi_mfile_find(const dsi_mfile_in *f, const char tag[4], dsi_reader *r);

/* Strings: u32 length + bytes. Reading copies into out (max len-1 bytes +
 * NUL); longer strings fail the reader. */
int dsi_read_str(dsi_reader *r, char *out, size_t len);

/* All parameters: u32 count, then per parameter: name, u32 nd, u32 dims,
 * f32 values. */
void dsi_mfile_put_params(dsi_writer *w, const dsi_params *ps);
/* Fill an already-built parameter store from a payload: every parameter must
 * be present once with the same shape, and no extra ones. */
dsn_status dsi_mfile_get_params(dsi_reader *r, dsi_params *ps);

#endif
