/* error.c - status strings and the thread-local last-error message. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DSI_ERRMSG_SIZE 1024

static _Thread_local char errmsg[DSI_ERRMSG_SIZE];

static const char *const status_text[DSN_STATUS_COUNT_] = {
    [DSN_OK] = "ok",
    [DSN_E_INVALID] = "invalid argument",
    [DSN_E_SHAPE] = "shape mismatch",
    [DSN_E_NOMEM] = "out of memory",
    [DSN_E_IO] = "input/output error",
    [DSN_E_FORMAT] = "bad file format",
    [DSN_E_OPTION] = "bad option",
    [DSN_E_NUMERIC] = "numerical error (NaN or infinity)",
    [DSN_E_STATE] = "invalid state",
    [DSN_E_UNSUPPORTED] = "unsupported",
    [DSN_E_INTERNAL] = "internal error",
};

const char *dsn_status_string(dsn_status status)
{
    if ((int)status < 0 || (int)status >= DSN_STATUS_COUNT_) return "unknown status";
    return status_text[status];
}

const char *dsn_last_error(void) { return errmsg; }

void dsn_clear_error(void) { errmsg[0] = '\0'; }

int dsn_version_number(void) { return DSN_VERSION_NUMBER; }

const char *dsn_version_string(void) { return DSN_VERSION_STRING; }

dsn_status dsi_error(dsn_status status, const char *fmt, ...)
{
    /* format into a scratch buffer first: an argument may be dsn_last_error()
     * itself (a caller wrapping the message of the call that failed) */
    char tmp[DSI_ERRMSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(errmsg, tmp, strlen(tmp) + 1);
    return status;
}

void dsi_error_prefix(const char *where)
{
    size_t wl = strlen(where), ml = strlen(errmsg);
    if (wl + 2 >= sizeof errmsg) return;
    /* avoid prefixing twice when nested API calls report the same failure */
    if (strncmp(errmsg, where, wl) == 0 && errmsg[wl] == ':') return;
    if (wl + 2 + ml >= sizeof errmsg) ml = sizeof errmsg - wl - 3;
    memmove(errmsg + wl + 2, errmsg, ml);
    memcpy(errmsg, where, wl);
    errmsg[wl] = ':';
    errmsg[wl + 1] = ' ';
    errmsg[wl + 2 + ml] = '\0';
}

dsn_status dsi_fail(dsn_status status, const char *where)
{
    dsi_error_prefix(where);
    return status;
}
