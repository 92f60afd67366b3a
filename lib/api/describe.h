/* describe.h - the option readers that the option introspection
 * (dsn_option_count / dsn_option_describe, lib/api/describe.c) runs with no
 * options while a sink (core/options.h) records what they read (internal). */
#ifndef DSI_API_DESCRIBE_H
#define DSI_API_DESCRIBE_H

#include "core/status.h"

/* dsn_fit's option reader over its defaults (fit.c). */
dsn_status dsi_fit_read_defaults(void);
/* The option reader of optimizer `kind` ("sgd", "adam", "adamw"; optimizer.c). */
dsn_status dsi_optimizer_read_defaults(const char *kind);
/* The one-line doc of a fit or optimizer key (option_docs.c), NULL if none. */
const char *dsi_api_option_doc(const char *what, const char *key);

#endif
