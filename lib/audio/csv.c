/* csv.c - the CSV record parser of the audio manifests. */
#include "audio/csv.h"
#include "core/alloc.h"

#include <string.h>

/* Parse one CSV record starting at *p (RFC 4180 quoting). Fields are copied
 * into fresh strings. Returns the number of fields, -1 on memory failure. */
int dsi_csv_record(const char **pp, const char *end, char ***out)
{
    const char *p = *pp;
    int n = 0, cap = 0;
    char **f = NULL;
    for (;;) {
        /* one field */
        size_t cap_s = 16, len = 0;
        char *s = dsi_malloc(cap_s);
        if (!s) goto oom;
        int quoted = p < end && *p == '"';
        if (quoted) p++;
        while (p < end) {
            char ch = *p;
            if (quoted) {
                if (ch == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        p += 2;
                    } else {
                        p++;
                        quoted = 0;
                        continue;
                    }
                } else {
                    p++;
                }
            } else {
                if (ch == ',' || ch == '\n' || ch == '\r') break;
                p++;
            }
            if (len + 2 > cap_s) {
                char *t = dsi_realloc(s, cap_s, cap_s * 2);
                if (!t) {
                    dsi_free(s);
                    goto oom;
                }
                s = t;
                cap_s *= 2;
            }
            s[len++] = ch;
        }
        s[len] = '\0';
        if (n == cap) {
            int nc = cap ? cap * 2 : 8;
            char **t = dsi_realloc(f, sizeof(char *) * (size_t)cap, sizeof(char *) * (size_t)nc);
            if (!t) {
                dsi_free(s);
                goto oom;
            }
            f = t;
            cap = nc;
        }
        f[n++] = s;
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        break;
    }
    while (p < end && (*p == '\r' || *p == '\n')) p++;
    *pp = p;
    *out = f;
    return n;
oom:
    for (int i = 0; i < n; i++) dsi_free(f[i]);
    dsi_free(f);
    return -1;
}

void dsi_csv_free(char **f, int n)
{
    for (int i = 0; i < n; i++) dsi_free(f[i]);
    dsi_free(f);
}
