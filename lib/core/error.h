/* error.h - status codes and the thread-local error message (internal). */
#ifndef DSI_CORE_ERROR_H
#define DSI_CORE_ERROR_H

#include "core/status.h"

#if defined(__GNUC__)
#define DSI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DSI_PRINTF(a, b)
#endif

/* Set the calling thread's message (printf-style) and return `status`, so a
 * failure path reads `return dsi_error(DSN_E_SHAPE, "...", ...);`. */
dsn_status dsi_error(dsn_status status, const char *fmt, ...) DSI_PRINTF(2, 3);

/* Prefix the current message with "where: " (used by the API layer so a
 * message names the public function that failed). */
void dsi_error_prefix(const char *where);
/* dsi_error_prefix(where), then return status: an API call's failure path
 * reads `return dsi_fail(st, "dsn_x");`. */
dsn_status dsi_fail(dsn_status status, const char *where);

/* Return DSN_E_INVALID with a message if p is NULL. */
#define DSI_CHECK_NULL(p, name)                                                \
    do {                                                                       \
        if (!(p)) return dsi_error(DSN_E_INVALID, "%s must not be NULL", name); \
    } while (0)

#endif
