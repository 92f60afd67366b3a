/* image.c - dsn_image_save_png, the public face of lib/io/png.c. */
#include "core/error.h"
#include "io/png.h"

dsn_status dsn_image_save_png(const char *path, const uint8_t *pixels, size_t width, size_t height, int channels)
{
    DSI_CHECK_NULL(path, "dsn_image_save_png: path");
    DSI_CHECK_NULL(pixels, "dsn_image_save_png: pixels");
    dsn_status st = dsi_png_save(path, pixels, width, height, channels);
    if (st != DSN_OK) dsi_error_prefix("dsn_image_save_png");
    return st;
}
