/* dmelodies.c - dMelodies factors, note lists, sampling. */
#include "audio/dmelodies.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"

#include <string.h>

static const int scales[DSI_DMEL_SCALES][9] = {
    {0, 2, 4, 5, 7, 9, 11, 12, 14}, /* major */
    {0, 2, 3, 5, 7, 8, 11, 12, 14}, /* harmonic minor */
    {0, 2, 3, 5, 6, 9, 10, 12, 14}, /* blues */
};
static const int chords[4][3] = {{0, 2, 4}, {3, 5, 7}, {4, 6, 8}, {0, 2, 4}};
static const char *const scale_names[DSI_DMEL_SCALES] = {"major", "harmonic_minor", "blues"};
static const char *const tonic_names[DSI_DMEL_TONICS] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};

void dsi_dmel_rhythm(int idx, int slots[6])
{
    /* walk the combinations in lexicographic order */
    int c[6] = {0, 1, 2, 3, 4, 5};
    for (int k = 0; k < idx; k++) {
        int i = 5;
        while (i >= 0 && c[i] == 8 - 6 + i) i--;
        if (i < 0) break;
        c[i]++;
        for (int j = i + 1; j < 6; j++) c[j] = c[j - 1] + 1;
    }
    memcpy(slots, c, sizeof c);
}

int dsi_dmel_valid(const dsi_dmel *m)
{
    if (!m || m->tonic < 0 || m->tonic >= DSI_DMEL_TONICS || m->octave < 4 || m->octave > 6 || m->scale < 0 ||
        m->scale >= DSI_DMEL_SCALES || m->rhythm1 < 0 || m->rhythm1 >= DSI_DMEL_RHYTHMS || m->rhythm2 < 0 ||
        m->rhythm2 >= DSI_DMEL_RHYTHMS)
        return 0;
    for (int i = 0; i < 4; i++)
        if (m->dir[i] != 0 && m->dir[i] != 1) return 0;
    return 1;
}

dsn_status dsi_dmel_notes(const dsi_dmel *m, dsi_dmel_note notes[DSI_DMEL_NOTES])
{
    DSI_CHECK_NULL(notes, "notes");
    if (!dsi_dmel_valid(m)) return dsi_error(DSN_E_INVALID, "dMelodies factors out of range");
    int r1[6], r2[6];
    dsi_dmel_rhythm(m->rhythm1, r1);
    dsi_dmel_rhythm(m->rhythm2, r2);
    const int root = 12 * (m->octave + 1) + m->tonic;
    for (int i = 0; i < DSI_DMEL_NOTES; i++) {
        int ch = i / 3, k = i % 3;
        int pos = chords[ch][m->dir[ch] ? 2 - k : k];
        notes[i].pitch = root + scales[m->scale][pos];
        notes[i].slot = i < 6 ? r1[i] : 8 + r2[i - 6];
        notes[i].onset = notes[i].slot * DSI_DMEL_SLOT_SECONDS;
        notes[i].duration = DSI_DMEL_SLOT_SECONDS;
    }
    return DSN_OK;
}

uint64_t dsi_dmel_index(const dsi_dmel *m)
{
    uint64_t i = (uint64_t)m->tonic;
    i = i * DSI_DMEL_OCTAVES + (uint64_t)(m->octave - 4);
    i = i * DSI_DMEL_SCALES + (uint64_t)m->scale;
    i = i * DSI_DMEL_RHYTHMS + (uint64_t)m->rhythm1;
    i = i * DSI_DMEL_RHYTHMS + (uint64_t)m->rhythm2;
    for (int k = 0; k < 4; k++) i = i * 2 + (uint64_t)m->dir[k];
    return i;
}

void dsi_dmel_from_index(uint64_t i, dsi_dmel *m)
{
    for (int k = 3; k >= 0; k--) {
        m->dir[k] = (int)(i % 2);
        i /= 2;
    }
    m->rhythm2 = (int)(i % DSI_DMEL_RHYTHMS);
    i /= DSI_DMEL_RHYTHMS;
    m->rhythm1 = (int)(i % DSI_DMEL_RHYTHMS);
    i /= DSI_DMEL_RHYTHMS;
    m->scale = (int)(i % DSI_DMEL_SCALES);
    i /= DSI_DMEL_SCALES;
    m->octave = 4 + (int)(i % DSI_DMEL_OCTAVES);
    i /= DSI_DMEL_OCTAVES;
    m->tonic = (int)(i % DSI_DMEL_TONICS);
}

int dsi_dmel_ts_rhythm(const dsi_dmel *m)
{
    int r1[6], r2[6];
    dsi_dmel_rhythm(m->rhythm1, r1);
    dsi_dmel_rhythm(m->rhythm2, r2);
    return r1[0] == 0 && r2[5] == 7;
}

int dsi_dmel_matches(const dsi_dmel *m, const dsi_dmel_filter *f)
{
    if (!f) return 1;
    if (f->tonic >= 0 && m->tonic != f->tonic) return 0;
    if (f->octave >= 0 && m->octave != f->octave) return 0;
    if (f->scale >= 0 && m->scale != f->scale) return 0;
    if (f->ts_rhythm && !dsi_dmel_ts_rhythm(m)) return 0;
    return 1;
}

dsn_status dsi_dmel_sample(const dsi_dmel_filter *f, uint64_t seed, int count, dsi_dmel *out, int *available)
{
    DSI_CHECK_NULL(out, "out");
    if (count < 0) return dsi_error(DSN_E_INVALID, "count must be >= 0");
    uint32_t *idx = dsi_malloc(sizeof(uint32_t) * (size_t)DSI_DMEL_COUNT);
    if (!idx) return dsi_error(DSN_E_NOMEM, "cannot allocate the melody index");
    size_t n = 0;
    for (uint64_t i = 0; i < DSI_DMEL_COUNT; i++) {
        dsi_dmel m;
        dsi_dmel_from_index(i, &m);
        if (dsi_dmel_matches(&m, f)) idx[n++] = (uint32_t)i;
    }
    if (available) *available = (int)n;
    if ((size_t)count > n) {
        dsi_free(idx);
        return dsi_error(DSN_E_INVALID, "only %zu melodies match the subset, %d requested", n, count);
    }
    dsi_rng r;
    dsi_rng_seed(&r, seed);
    for (int k = 0; k < count; k++) { /* partial Fisher-Yates */
        size_t j = (size_t)k + (size_t)dsi_rng_below(&r, n - (size_t)k);
        uint32_t t = idx[k];
        idx[k] = idx[j];
        idx[j] = t;
        dsi_dmel_from_index(idx[k], &out[k]);
    }
    dsi_free(idx);
    return DSN_OK;
}

const char *dsi_dmel_scale_name(int scale)
{
    return scale >= 0 && scale < DSI_DMEL_SCALES ? scale_names[scale] : "?";
}

const char *dsi_dmel_tonic_name(int tonic)
{
    return tonic >= 0 && tonic < DSI_DMEL_TONICS ? tonic_names[tonic] : "?";
}

int dsi_dmel_parse_subset(const char *s, dsi_dmel_filter *f)
{
    f->tonic = f->octave = f->scale = -1;
    if (!s || !*s || !strcmp(s, "all")) return 0;
    static const char letters[] = "CDEFGAB";
    static const int base[] = {0, 2, 4, 5, 7, 9, 11};
    char c = *s;
    if (c >= 'a' && c <= 'g' && s[1] != 'a' && s[1] != 'i' && s[1] != 'l') c = (char)(c - 'a' + 'A'); /* not "major"/"minor"/"blues" */
    const char *l = c ? strchr(letters, c) : NULL;
    if (l) {
        int t = base[l - letters];
        s++;
        if (*s == '#') {
            t++;
            s++;
        } else if (*s == 'b' && s[1] != 'l') {
            t += 11;
            s++;
        }
        f->tonic = t % 12;
    }
    if (*s >= '4' && *s <= '6') {
        f->octave = *s - '0';
        s++;
    }
    if (*s == '_' || *s == '-' || *s == ' ') s++;
    if (!*s) return 0;
    if (!strcmp(s, "major")) f->scale = 0;
    else if (!strcmp(s, "minor") || !strcmp(s, "harmonic_minor") || !strcmp(s, "harmonicminor")) f->scale = 1;
    else if (!strcmp(s, "blues")) f->scale = 2;
    else return -1;
    return 0;
}
