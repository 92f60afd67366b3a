/* png.h - 8-bit grey / RGB / RGBA PNG files (internal; public as
 * dsn_image_save_png). Uncompressed ("stored") deflate blocks: the files are
 * larger than a compressor's but exact, and need no zlib. */
#ifndef DSI_IO_PNG_H
#define DSI_IO_PNG_H

#include "core/fileio.h"

#include <stddef.h>
#include <stdint.h>

/* Append the PNG of width x height pixels of `channels` bytes each (1 grey,
 * 3 RGB, 4 RGBA; rows top to bottom, no padding) to w. DSN_E_INVALID for a
 * zero size, an unknown channel count or a size PNG cannot hold; DSN_E_NOMEM. */
dsn_status dsi_png_encode(dsi_writer *w, const uint8_t *pixels, size_t width, size_t height, int channels);
/* dsi_png_encode, then an atomic save to path (DSN_E_IO). */
dsn_status dsi_png_save(const char *path, const uint8_t *pixels, size_t width, size_t height, int channels);

#endif
