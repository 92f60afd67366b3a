/* options.h - reading and writing an option bag in a model file (internal). */
#ifndef DSI_IO_OPTIONS_H
#define DSI_IO_OPTIONS_H

#include "core/fileio.h"
#include "core/options.h"

/* Serialise a bag (u32 count, then key and value strings) and read it back
 * into a new bag (*out; DSN_E_FORMAT on damage, with a message). */
void dsi_options_write(dsi_writer *w, const struct dsn_options *opts);
dsn_status dsi_options_read(dsi_reader *r, struct dsn_options **out);

#endif
