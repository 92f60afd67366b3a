/* feature_cache.c - the feature cache file of audio datasets. */
#include "audio/feature_cache.h"
#include "core/alloc.h"
#include "core/endian.h"
#include "core/error.h"
#include "core/fileio.h"

#include <string.h>
#include <sys/stat.h>

#define CACHE_MAGIC "DSNAFC\r\n"
#define CACHE_VERSION 2u /* 2: u32 flags (silent / clipped) per entry */
#define MAX_BIG_FILE ((size_t)1 << 40)
#define MAX_STR 65536u

/* Fill clips whose key matches an entry of the cache. Any problem with the
 * cache file just means nothing is reused. */
void dsi_feature_cache_lookup(dsi_clip_list *l, const char *path, uint64_t hash, int n_mels)
{
    unsigned char *data;
    size_t len;
    struct stat st;
    if (stat(path, &st) != 0) return;
    if (dsi_read_file(path, MAX_BIG_FILE, &data, &len) != DSN_OK) return;
    if (len < 8 + 4 + 8 + 4 + 4 + 4 || memcmp(data, CACHE_MAGIC, 8) != 0 ||
        dsi_crc32(0, data, len - 4) != dsi_get_u32(data + len - 4)) {
        dsi_free(data);
        return;
    }
    dsi_reader r;
    dsi_reader_init(&r, data + 8, len - 12, path);
    uint32_t ver, mels, count;
    uint64_t h;
    dsi_read_u32(&r, &ver);
    dsi_read_u64(&r, &h);
    dsi_read_u32(&r, &mels);
    dsi_read_u32(&r, &count);
    if (r.failed || ver != CACHE_VERSION || h != hash || mels != (uint32_t)n_mels) {
        dsi_free(data);
        return;
    }
    for (uint32_t e = 0; e < count && !r.failed; e++) {
        char *p = dsi_read_str_dup(&r, MAX_STR);
        uint64_t size, ms;
        uint32_t mns, frames, flags;
        dsi_read_u64(&r, &size);
        dsi_read_u64(&r, &ms);
        dsi_read_u32(&r, &mns);
        dsi_read_u32(&r, &frames);
        dsi_read_u32(&r, &flags);
        if (r.failed || !p || frames == 0 || frames > (1u << 28) ||
            (uint64_t)frames * (uint64_t)mels * 4 > dsi_reader_left(&r)) {
            dsi_free(p);
            break;
        }
        const unsigned char *fv = dsi_read_view(&r, (size_t)frames * mels * 4);
        for (int i = 0; i < l->n && fv; i++) {
            dsi_clip *c = &l->c[i];
            if (c->feat || strcmp(c->path, p) || c->size != size || (uint64_t)c->mtime_s != ms || c->mtime_ns != mns)
                continue;
            c->feat = dsi_malloc(sizeof(float) * (size_t)frames * mels);
            if (!c->feat) break;
            for (size_t k = 0; k < (size_t)frames * mels; k++) c->feat[k] = dsi_get_f32(fv + 4 * k);
            c->frames = (int)frames;
            c->flags = flags;
        }
        dsi_free(p);
    }
    dsi_free(data);
}

dsn_status dsi_feature_cache_store(const dsi_clip_list *l, const char *path, uint64_t hash, int n_mels)
{
    dsi_writer w;
    dsi_writer_init(&w);
    dsi_write_bytes(&w, CACHE_MAGIC, 8);
    dsi_write_u32(&w, CACHE_VERSION);
    dsi_write_u64(&w, hash);
    dsi_write_u32(&w, (uint32_t)n_mels);
    dsi_write_u32(&w, (uint32_t)l->n);
    for (int i = 0; i < l->n; i++) {
        const dsi_clip *c = &l->c[i];
        dsi_write_str(&w, c->path);
        dsi_write_u64(&w, c->size);
        dsi_write_u64(&w, (uint64_t)c->mtime_s);
        dsi_write_u32(&w, c->mtime_ns);
        dsi_write_u32(&w, (uint32_t)c->frames);
        dsi_write_u32(&w, c->flags);
        dsi_write_f32s(&w, c->feat, (size_t)c->frames * n_mels);
    }
    dsn_status st;
    if (w.failed) {
        st = dsi_error(DSN_E_NOMEM, "out of memory writing the feature cache");
    } else {
        dsi_write_u32(&w, dsi_crc32(0, w.buf, w.len));
        st = w.failed ? dsi_error(DSN_E_NOMEM, "out of memory") : dsi_write_atomic(path, w.buf, w.len);
    }
    dsi_writer_free(&w);
    return st;
}
