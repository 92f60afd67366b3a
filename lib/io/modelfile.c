/* modelfile.c - writing and validating the sectioned model file. */
#include "io/modelfile.h"
#include "core/alloc.h"
#include "core/endian.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

void dsi_mfile_out_init(dsi_mfile_out *f)
{
    memset(f, 0, sizeof *f);
    dsi_writer_init(&f->body);
}

void dsi_mfile_out_free(dsi_mfile_out *f) { dsi_writer_free(&f->body); }

void dsi_mfile_begin_section(dsi_mfile_out *f, const char tag[4])
{
    dsi_write_bytes(&f->body, tag, 4);
    f->open_at = f->body.len;
    dsi_write_u64(&f->body, 0); /* patched by end_section */
    f->n_sections++;
}

dsi_writer *dsi_mfile_payload(dsi_mfile_out *f) { return &f->body; }

void dsi_mfile_end_section(dsi_mfile_out *f)
{
    if (f->body.failed || !f->open_at) return;
    uint64_t len = f->body.len - f->open_at - 8;
    dsi_put_u64(f->body.buf + f->open_at, len);
    f->open_at = 0;
}

dsn_status dsi_mfile_save(dsi_mfile_out *f, const char *path)
{
    if (f->body.failed) return dsi_error(DSN_E_NOMEM, "out of memory while serialising the model");
    if (f->open_at) return dsi_error(DSN_E_INTERNAL, "model file section left open");
    dsi_writer all;
    dsi_writer_init(&all);
    dsi_write_bytes(&all, DSI_MFILE_MAGIC, 8);
    dsi_write_u32(&all, DSI_MFILE_VERSION);
    dsi_write_u32(&all, f->n_sections);
    dsi_write_bytes(&all, f->body.buf, f->body.len);
    if (all.failed) {
        dsi_writer_free(&all);
        return dsi_error(DSN_E_NOMEM, "out of memory while serialising the model");
    }
    dsi_write_u32(&all, dsi_crc32(0, all.buf, all.len));
    dsn_status st = all.failed ? dsi_error(DSN_E_NOMEM, "out of memory while serialising the model")
                               : dsi_write_atomic(path, all.buf, all.len);
    dsi_writer_free(&all);
    return st;
}

dsn_status dsi_mfile_open(dsi_mfile_in *f, const char *path)
{
    memset(f, 0, sizeof *f);
    if (!path) return dsi_error(DSN_E_INVALID, "model path must not be NULL");
    snprintf(f->path, sizeof f->path, "%s", path);
    dsn_status st = dsi_read_file(path, DSI_MFILE_MAX_BYTES, &f->data, &f->len);
    if (st != DSN_OK) return st;
    const char *why = NULL;
    if (f->len < 8 || memcmp(f->data, DSI_MFILE_MAGIC, 8) != 0) why = "not a libdisent model file (bad magic)";
    else if (f->len < 8 + 4 + 4 + 4) why = "truncated header";
    if (!why) {
        f->version = dsi_get_u32(f->data + 8);
        if (f->version == 0 || f->version > DSI_MFILE_VERSION) {
            uint32_t v = f->version;
            dsi_free(f->data);
            memset(f, 0, sizeof *f);
            return dsi_error(DSN_E_FORMAT, "'%s': file format version %u is not supported (this library reads up to %u)",
                             path, v, DSI_MFILE_VERSION);
        }
        uint32_t want = dsi_get_u32(f->data + f->len - 4);
        if (dsi_crc32(0, f->data, f->len - 4) != want) why = "checksum mismatch (file damaged or truncated)";
    }
    if (!why) {
        dsi_reader r;
        dsi_reader_init(&r, f->data + 16, f->len - 16 - 4, path);
        f->n_sections = dsi_get_u32(f->data + 12);
        if (f->n_sections > DSI_MFILE_MAX_SECTIONS) why = "too many sections";
        for (uint32_t i = 0; !why && i < f->n_sections; i++) {
            dsi_mfile_section *s = &f->sections[i];
            uint64_t len;
            if (dsi_read_bytes(&r, s->tag, 4) || dsi_read_u64(&r, &len)) why = "truncated section header";
            else if (len > dsi_reader_left(&r)) why = "section longer than the file";
            else {
                s->tag[4] = '\0';
                s->len = (size_t)len;
                s->data = dsi_read_view(&r, s->len);
            }
        }
        if (!why && dsi_reader_left(&r) != 0) why = "trailing bytes after the last section";
    }
    if (why) {
        dsi_free(f->data);
        memset(f, 0, sizeof *f);
        return dsi_error(DSN_E_FORMAT, "'%s': %s", path, why);
    }
    return DSN_OK;
}

void dsi_mfile_close(dsi_mfile_in *f)
{
    dsi_free(f->data);
    memset(f, 0, sizeof *f);
}

int dsi_mfile_find(const dsi_mfile_in *f, const char tag[4], dsi_reader *r)
{
    for (uint32_t i = 0; i < f->n_sections; i++)
        if (memcmp(f->sections[i].tag, tag, 4) == 0) {
            dsi_reader_init(r, f->sections[i].data, f->sections[i].len, f->path);
            return 1;
        }
    dsi_reader_init(r, NULL, 0, f->path);
    return 0;
}

int dsi_read_str(dsi_reader *r, char *out, size_t len)
{
    uint32_t n;
    out[0] = '\0';
    if (dsi_read_u32(r, &n)) return -1;
    if (n >= len) {
        r->failed = 1;
        dsi_error(DSN_E_FORMAT, "'%s': string of %u bytes is longer than the limit %zu", r->what, n, len - 1);
        return -1;
    }
    if (dsi_read_bytes(r, out, n)) return -1;
    out[n] = '\0';
    if (memchr(out, 0, n)) {
        r->failed = 1;
        dsi_error(DSN_E_FORMAT, "'%s': string with an embedded NUL", r->what);
        return -1;
    }
    return 0;
}

void dsi_mfile_put_params(dsi_writer *w, const dsi_params *ps)
{
    dsi_write_u32(w, (uint32_t)ps->count);
    for (int i = 0; i < ps->count; i++) {
        const dsi_param *p = &ps->list[i];
        dsi_write_str(w, p->name);
        dsi_write_u32(w, (uint32_t)p->var.nd);
        for (int d = 0; d < p->var.nd; d++) dsi_write_u32(w, (uint32_t)p->var.shape[d]);
        dsi_write_f32s(w, ps->data + p->offset, p->var.n);
    }
}

dsn_status dsi_mfile_get_params(dsi_reader *r, dsi_params *ps)
{
    uint32_t count;
    if (dsi_read_u32(r, &count)) return DSN_E_FORMAT;
    if (count != (uint32_t)ps->count)
        return dsi_error(DSN_E_FORMAT, "'%s': file has %u parameter tensors, the model has %d", r->what, count,
                         ps->count);
    unsigned char seen[4096] = {0};
    if (ps->count > (int)sizeof seen) return dsi_error(DSN_E_UNSUPPORTED, "too many parameter tensors");
    for (uint32_t k = 0; k < count; k++) {
        char name[DSI_PARAM_NAME];
        uint32_t nd, dims[DSI_MAXDIM];
        if (dsi_read_str(r, name, sizeof name) || dsi_read_u32(r, &nd)) return DSN_E_FORMAT;
        int idx = dsi_params_find(ps, name);
        if (idx < 0 || seen[idx])
            return dsi_error(DSN_E_FORMAT, "'%s': unexpected or repeated parameter '%s'", r->what, name);
        seen[idx] = 1;
        dsi_param *p = &ps->list[idx];
        if (nd != (uint32_t)p->var.nd)
            return dsi_error(DSN_E_FORMAT, "'%s': parameter '%s' has %u dims, want %d", r->what, name, nd, p->var.nd);
        for (uint32_t d = 0; d < nd; d++) {
            if (dsi_read_u32(r, &dims[d])) return DSN_E_FORMAT;
            if (dims[d] != (uint32_t)p->var.shape[d])
                return dsi_error(DSN_E_FORMAT, "'%s': parameter '%s' dim %u is %u, want %d", r->what, name, d,
                                 dims[d], p->var.shape[d]);
        }
        if (dsi_read_f32s(r, ps->data + p->offset, p->var.n)) return DSN_E_FORMAT;
    }
    return DSN_OK;
}
