/* dmelodies.h - the dMelodies factor space and melody generator (internal).
 *
 * dMelodies (Pati, Gururani & Lerch 2020): 2-bar melodies in 4/4 on 16
 * eighth-note slots. Factors: tonic (12), octave (4..6; root MIDI note
 * 12 (octave + 1) + tonic), scale (major, harmonic minor, blues), rhythm of
 * bar 1 and of bar 2 (index of one of the 28 ways to choose 6 of 8 slots, in
 * lexicographic order), and the direction of each of the 4 arpeggiated chords
 * I-IV-V-I (scale positions [0,2,4] [3,5,7] [4,6,8] [0,2,4]; "down" reverses
 * the three notes). The 12 notes fall in order on the 12 chosen slots, each an
 * eighth long, at 120 bpm (0.25 s per slot, 4.0 s per melody). The TS-DSAE
 * subset keeps bar-1 rhythms starting on slot 0 and bar-2 rhythms ending on
 * slot 7. */
#ifndef DSI_AUDIO_DMELODIES_H
#define DSI_AUDIO_DMELODIES_H

#include "core/status.h"

#include <stdint.h>

#define DSI_DMEL_TONICS 12
#define DSI_DMEL_OCTAVES 3 /* 4, 5, 6 */
#define DSI_DMEL_SCALES 3
#define DSI_DMEL_RHYTHMS 28
#define DSI_DMEL_NOTES 12
#define DSI_DMEL_SLOT_SECONDS 0.25
#define DSI_DMEL_SECONDS 4.0
/* 12 * 3 * 3 * 28 * 28 * 16 */
#define DSI_DMEL_COUNT ((uint64_t)1354752)

typedef struct dsi_dmel {
    int tonic;   /* 0..11, C = 0 */
    int octave;  /* 4..6 */
    int scale;   /* 0 major, 1 harmonic minor, 2 blues */
    int rhythm1, rhythm2; /* 0..27 */
    int dir[4];  /* 0 up, 1 down */
} dsi_dmel;

typedef struct dsi_dmel_note {
    int pitch;       /* MIDI note */
    int slot;        /* 0..15 */
    double onset;    /* seconds */
    double duration; /* seconds */
} dsi_dmel_note;

/* Slots (ascending, 0..7) of rhythm idx (lexicographic 6-of-8 combinations). */
void dsi_dmel_rhythm(int idx, int slots[6]);
int dsi_dmel_valid(const dsi_dmel *m);
/* The 12 notes in time order; DSN_E_INVALID for factors out of range. */
dsn_status dsi_dmel_notes(const dsi_dmel *m, dsi_dmel_note notes[DSI_DMEL_NOTES]);
/* Mixed-radix index in [0, DSI_DMEL_COUNT) and back. */
uint64_t dsi_dmel_index(const dsi_dmel *m);
void dsi_dmel_from_index(uint64_t i, dsi_dmel *m);
/* Rhythm pair kept by TS-DSAE: bar 1 starts on slot 0, bar 2 ends on slot 7. */
int dsi_dmel_ts_rhythm(const dsi_dmel *m);

typedef struct dsi_dmel_filter {
    int tonic, octave, scale; /* -1: any */
    int ts_rhythm;            /* 1: keep only the TS-DSAE rhythms */
} dsi_dmel_filter;

int dsi_dmel_matches(const dsi_dmel *m, const dsi_dmel_filter *f);
/* count distinct melodies matching f drawn without replacement in an order
 * fixed by seed. DSN_E_INVALID if fewer than count match; *available (may
 * be NULL) receives the number that match. */
dsn_status dsi_dmel_sample(const dsi_dmel_filter *f, uint64_t seed, int count, dsi_dmel *out, int *available);

const char *dsi_dmel_scale_name(int scale);  /* "major", "harmonic_minor", "blues" */
const char *dsi_dmel_tonic_name(int tonic);  /* "C", "C#", ... "B" */
/* Parse "C4major", "C#5blues", "A", "4", "minor", "all"; unspecified parts
 * become -1. Returns 0 on success, -1 on a bad string. */
int dsi_dmel_parse_subset(const char *s, dsi_dmel_filter *f);

#endif
