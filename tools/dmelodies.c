/* dmelodies - render dMelodies clips with FluidSynth.
 *
 *   dmelodies --count 3000 --instruments 40,56 --subset C4major --ts-filter \
 *             --seed 1 --out data/dmelodies [--threads 2] [--soundfont PATH]
 *             [--all-instruments] [--valid-fraction F] [--flac] [--quiet]
 *
 * Melodies (lib/audio/dmelodies.c) are drawn without replacement from the
 * subset in an order fixed by --seed; clip i is played by instrument
 * i mod (number of instruments), or, with --all-instruments, every melody is
 * played by every instrument. Each clip is rendered in-process at 16 kHz,
 * mixed to mono, cut to exactly 4.0 s and peak-normalised; DIR/factors.csv
 * lists the factors. Each worker thread keeps one synth per instrument whose
 * program is set once; reverb and chorus are off and all voices are killed
 * between clips, so a clip depends only on its melody and instrument: the same
 * seed gives the same files whatever the thread count.
 *
 * factors.csv also carries, after the dMelodies factors and the instrument:
 * `melody` (the melody's dMelodies index: clips with the same value play the
 * same notes, so the clip with clip i's melody and clip j's instrument is the
 * rendered truth of a global swap dec(z_i, v_j)), `split` (train / valid,
 * whole melodies, seeded; --valid-fraction, 0.2) and `notes` (the 12 notes as
 * space-separated onset:duration:midi, seconds). */
#include "audio/dmelodies.h"
#include "audio/io.h"
#include "core/alloc.h"

#include <errno.h>
#include <fluidsynth.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SR 16000
#define CLIP_SAMPLES ((int)(DSI_DMEL_SECONDS * SR))
#define MAX_INST 32

static const char *default_sf = "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3";

typedef struct job {
    const dsi_dmel *mel;   /* per clip */
    const int *inst;       /* per clip: GM program */
    int n_clips;
    const char *out;
    const char *sf;
    int flac;
    float peak;
    int id, stride;
    int failed;
    char msg[512];
} job;

static void silent_log(int level, const char *message, void *data) { (void)level; (void)message; (void)data; }

/* Synth creation (soundfont load, preset selection, which loads the preset's
 * samples with dynamic sample loading) and deletion go through FluidSynth's
 * process-wide sample cache; they are serialised so that two workers never
 * load or free the same soundfont's samples at once. A CI run under ASan on a
 * loaded machine once rendered a clip differently with 2 threads than with 1;
 * rendering itself (one synth per worker) needs no lock. */
static pthread_mutex_t synth_lock = PTHREAD_MUTEX_INITIALIZER;

static fluid_synth_t *make_synth(fluid_settings_t **set_out, const char *sf, int program, char *msg, size_t msz)
{
    fluid_settings_t *set = new_fluid_settings();
    if (!set) return NULL;
    fluid_settings_setnum(set, "synth.sample-rate", SR);
    fluid_settings_setint(set, "synth.reverb.active", 0);
    fluid_settings_setint(set, "synth.chorus.active", 0);
    fluid_settings_setint(set, "synth.cpu-cores", 1);
    fluid_settings_setint(set, "synth.dynamic-sample-loading", 1);
    fluid_settings_setnum(set, "synth.gain", 0.5);
    fluid_synth_t *syn = new_fluid_synth(set);
    if (!syn) {
        delete_fluid_settings(set);
        snprintf(msg, msz, "cannot create a FluidSynth synthesizer");
        return NULL;
    }
    if (fluid_synth_sfload(syn, sf, 1) == FLUID_FAILED) {
        snprintf(msg, msz, "cannot load soundfont '%s'", sf);
        delete_fluid_synth(syn);
        delete_fluid_settings(set);
        return NULL;
    }
    if (fluid_synth_program_change(syn, 0, program) != FLUID_OK) {
        snprintf(msg, msz, "soundfont has no GM program %d", program);
        delete_fluid_synth(syn);
        delete_fluid_settings(set);
        return NULL;
    }
    *set_out = set;
    return syn;
}

/* Render one melody into mono x[CLIP_SAMPLES]. */
static int render(fluid_synth_t *syn, const dsi_dmel *m, float *x, float *l, float *r)
{
    dsi_dmel_note notes[DSI_DMEL_NOTES];
    if (dsi_dmel_notes(m, notes) != DSN_OK) return -1;
    /* events: (sample, on/off, pitch), offs before ons at the same sample */
    struct { int t, on, pitch; } ev[2 * DSI_DMEL_NOTES];
    int ne = 0;
    for (int i = 0; i < DSI_DMEL_NOTES; i++) {
        int on = (int)(notes[i].onset * SR + 0.5), off = (int)((notes[i].onset + notes[i].duration) * SR + 0.5);
        ev[ne].t = on, ev[ne].on = 1, ev[ne++].pitch = notes[i].pitch;
        ev[ne].t = off, ev[ne].on = 0, ev[ne++].pitch = notes[i].pitch;
    }
    for (int i = 1; i < ne; i++) /* insertion sort by (t, on) */
        for (int j = i; j > 0 && (ev[j].t < ev[j - 1].t || (ev[j].t == ev[j - 1].t && ev[j].on < ev[j - 1].on)); j--) {
            __typeof__(ev[0]) tmp = ev[j];
            ev[j] = ev[j - 1];
            ev[j - 1] = tmp;
        }
    fluid_synth_all_sounds_off(syn, -1);
    int t = 0, e = 0;
    while (t < CLIP_SAMPLES) {
        while (e < ne && ev[e].t <= t) {
            if (ev[e].on) fluid_synth_noteon(syn, 0, ev[e].pitch, 100);
            else fluid_synth_noteoff(syn, 0, ev[e].pitch);
            e++;
        }
        int until = e < ne && ev[e].t < CLIP_SAMPLES ? ev[e].t : CLIP_SAMPLES;
        int len = until - t;
        if (fluid_synth_write_float(syn, len, l, 0, 1, r, 0, 1) != FLUID_OK) return -1;
        for (int i = 0; i < len; i++) x[t + i] = 0.5f * (l[i] + r[i]);
        t = until;
    }
    fluid_synth_all_sounds_off(syn, -1);
    return 0;
}

static void *worker(void *arg)
{
    job *jb = arg;
    fluid_synth_t *syn[MAX_INST] = {0};
    fluid_settings_t *set[MAX_INST] = {0};
    int prog[MAX_INST], ns = 0;
    float *x = malloc(sizeof(float) * CLIP_SAMPLES), *l = malloc(sizeof(float) * CLIP_SAMPLES),
          *r = malloc(sizeof(float) * CLIP_SAMPLES);
    if (!x || !l || !r) {
        jb->failed = 1;
        snprintf(jb->msg, sizeof jb->msg, "out of memory");
    }
    for (int i = jb->id; i < jb->n_clips && !jb->failed; i += jb->stride) {
        int s = 0;
        while (s < ns && prog[s] != jb->inst[i]) s++;
        if (s == ns) {
            pthread_mutex_lock(&synth_lock);
            syn[s] = make_synth(&set[s], jb->sf, jb->inst[i], jb->msg, sizeof jb->msg);
            pthread_mutex_unlock(&synth_lock);
            if (!syn[s]) {
                jb->failed = 1;
                break;
            }
            prog[s] = jb->inst[i];
            ns++;
        }
        if (render(syn[s], &jb->mel[i], x, l, r) != 0) {
            jb->failed = 1;
            snprintf(jb->msg, sizeof jb->msg, "rendering clip %d failed", i);
            break;
        }
        dsi_audio_peak_normalize(x, CLIP_SAMPLES, jb->peak);
        char path[4096];
        snprintf(path, sizeof path, "%s/clip_%05d.%s", jb->out, i, jb->flac ? "flac" : "wav");
        if (dsi_audio_write(path, x, CLIP_SAMPLES, SR, jb->flac ? DSI_AUDIO_FLAC_PCM16 : DSI_AUDIO_WAV_PCM16) != DSN_OK) {
            jb->failed = 1;
            snprintf(jb->msg, sizeof jb->msg, "%s", dsn_last_error());
        }
    }
    pthread_mutex_lock(&synth_lock);
    for (int s = 0; s < ns; s++) {
        delete_fluid_synth(syn[s]);
        delete_fluid_settings(set[s]);
    }
    pthread_mutex_unlock(&synth_lock);
    free(x);
    free(l);
    free(r);
    return NULL;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: dmelodies [options]\n"
            "  --count N            clips to render (3000)\n"
            "  --instruments LIST   GM programs, comma-separated (40,56 = violin, trumpet)\n"
            "  --subset S           e.g. C4major, C4, major, D#5blues, all (C4major)\n"
            "  --ts-filter          keep bar-1 rhythms starting on slot 0 and bar-2 rhythms ending on slot 7\n"
            "  --all-instruments    render every melody with every instrument (count = clips in total)\n"
            "  --seed N             melody draw and train/valid split (1)\n"
            "  --valid-fraction F   fraction of the melodies marked split=valid (0.2)\n"
            "  --out DIR            output folder (dmelodies)\n"
            "  --threads N          worker threads (2)\n"
            "  --soundfont PATH     (%s)\n"
            "  --peak P             peak level after normalisation (1.0)\n"
            "  --flac               write FLAC instead of WAV\n"
            "  --quiet              print nothing but errors\n",
            default_sf);
}

int main(int argc, char **argv)
{
    int count = 3000, threads = 2, ts = 0, all_inst = 0, quiet = 0, flac = 0;
    unsigned long long seed = 1;
    float peak = 1.0f;
    double valid_fraction = 0.2;
    const char *out = "dmelodies", *sf = default_sf, *subset = "C4major", *inst_list = "40,56";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(a, name) && v && (i++, 1))
        if (ARG("--count")) count = atoi(v);
        else if (ARG("--instruments")) inst_list = v;
        else if (ARG("--subset")) subset = v;
        else if (ARG("--seed")) seed = strtoull(v, NULL, 10);
        else if (ARG("--out")) out = v;
        else if (ARG("--threads")) threads = atoi(v);
        else if (ARG("--soundfont")) sf = v;
        else if (ARG("--peak")) peak = (float)atof(v);
        else if (ARG("--valid-fraction")) valid_fraction = atof(v);
        else if (!strcmp(a, "--ts-filter")) ts = 1;
        else if (!strcmp(a, "--all-instruments")) all_inst = 1;
        else if (!strcmp(a, "--flac")) flac = 1;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else {
            usage();
            return 2;
        }
#undef ARG
    }
    int inst[MAX_INST], ni = 0;
    for (const char *p = inst_list; *p && ni < MAX_INST;) {
        char *e;
        long g = strtol(p, &e, 10);
        if (e == p || g < 0 || g > 127) {
            fprintf(stderr, "dmelodies: bad instrument list '%s' (GM programs 0..127)\n", inst_list);
            return 2;
        }
        inst[ni++] = (int)g;
        p = *e == ',' ? e + 1 : e;
        if (*e && *e != ',') {
            fprintf(stderr, "dmelodies: bad instrument list '%s'\n", inst_list);
            return 2;
        }
    }
    if (count < 1 || ni < 1 || threads < 1 || threads > 64 || !(peak > 0 && peak <= 1) ||
        !(valid_fraction >= 0 && valid_fraction < 1)) {
        usage();
        return 2;
    }
    dsi_dmel_filter f;
    if (dsi_dmel_parse_subset(subset, &f) != 0) {
        fprintf(stderr, "dmelodies: bad subset '%s'\n", subset);
        return 2;
    }
    f.ts_rhythm = ts;
    int n_mel = all_inst ? (count + ni - 1) / ni : count;
    dsi_dmel *mels = malloc(sizeof(dsi_dmel) * (size_t)n_mel);
    dsi_dmel *clip_mel = malloc(sizeof(dsi_dmel) * (size_t)count);
    int *clip_inst = malloc(sizeof(int) * (size_t)count);
    int avail = 0;
    if (!mels || !clip_mel || !clip_inst) {
        fprintf(stderr, "dmelodies: out of memory\n");
        return 1;
    }
    if (dsi_dmel_sample(&f, seed, n_mel, mels, &avail) != DSN_OK) {
        fprintf(stderr, "dmelodies: %s\n", dsn_last_error());
        return 1;
    }
    for (int i = 0; i < count; i++) {
        clip_mel[i] = mels[all_inst ? i / ni : i];
        clip_inst[i] = inst[i % ni];
    }
    /* split: a seeded shuffle of the melodies, the first round(F n_mel) to valid */
    unsigned char *mel_valid = calloc((size_t)n_mel, 1);
    int *order = malloc(sizeof(int) * (size_t)n_mel);
    if (!mel_valid || !order) {
        fprintf(stderr, "dmelodies: out of memory\n");
        return 1;
    }
    {
        uint64_t st = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
        for (int k = 0; k < n_mel; k++) order[k] = k;
        for (int k = n_mel - 1; k > 0; k--) {
            st ^= st >> 12, st ^= st << 25, st ^= st >> 27;
            int r = (int)((st * 2685821657736338717ULL) % (uint64_t)(k + 1)), t = order[k];
            order[k] = order[r], order[r] = t;
        }
        int nv = (int)(valid_fraction * n_mel + 0.5);
        for (int k = 0; k < nv; k++) mel_valid[order[k]] = 1;
    }
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "dmelodies: cannot create '%s': %s\n", out, strerror(errno));
        return 1;
    }
    fluid_set_log_function(FLUID_WARN, silent_log, NULL);
    fluid_set_log_function(FLUID_INFO, silent_log, NULL);
    fluid_set_log_function(FLUID_DBG, silent_log, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (threads > count) threads = count;
    job jobs[64];
    pthread_t th[64];
    for (int k = 0; k < threads; k++) {
        jobs[k] = (job){.mel = clip_mel, .inst = clip_inst, .n_clips = count, .out = out, .sf = sf, .flac = flac,
                        .peak = peak, .id = k, .stride = threads};
        if (pthread_create(&th[k], NULL, worker, &jobs[k]) != 0) {
            fprintf(stderr, "dmelodies: cannot start a thread\n");
            return 1;
        }
    }
    int failed = 0;
    for (int k = 0; k < threads; k++) {
        pthread_join(th[k], NULL);
        if (jobs[k].failed) {
            fprintf(stderr, "dmelodies: %s\n", jobs[k].msg);
            failed = 1;
        }
    }
    if (failed) return 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/factors.csv", out);
    FILE *csv = fopen(path, "w");
    if (!csv) {
        fprintf(stderr, "dmelodies: cannot write '%s': %s\n", path, strerror(errno));
        return 1;
    }
    fprintf(csv, "path,tonic,octave,scale,rhythm_bar1,rhythm_bar2,arp_dir1,arp_dir2,arp_dir3,arp_dir4,instrument,"
                 "melody,split,notes\n");
    for (int i = 0; i < count; i++) {
        const dsi_dmel *m = &clip_mel[i];
        dsi_dmel_note nt[DSI_DMEL_NOTES];
        if (dsi_dmel_notes(m, nt) != DSN_OK) {
            fprintf(stderr, "dmelodies: bad melody %d\n", i);
            return 1;
        }
        fprintf(csv, "clip_%05d.%s,%s,%d,%s,%d,%d,%s,%s,%s,%s,%d,%llu,%s,", i, flac ? "flac" : "wav",
                dsi_dmel_tonic_name(m->tonic), m->octave, dsi_dmel_scale_name(m->scale), m->rhythm1, m->rhythm2,
                m->dir[0] ? "down" : "up", m->dir[1] ? "down" : "up", m->dir[2] ? "down" : "up",
                m->dir[3] ? "down" : "up", clip_inst[i], (unsigned long long)dsi_dmel_index(m),
                mel_valid[all_inst ? i / ni : i] ? "valid" : "train");
        for (int k = 0; k < DSI_DMEL_NOTES; k++)
            fprintf(csv, "%s%.4f:%.4f:%d", k ? " " : "", nt[k].onset, nt[k].duration, nt[k].pitch);
        fputc('\n', csv);
    }
    if (fclose(csv) != 0) {
        fprintf(stderr, "dmelodies: cannot write '%s'\n", path);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!quiet)
        printf("dmelodies: %d clips (%d melodies of %d in the subset, %d instruments) in %s, %.2f s with %d threads\n",
               count, n_mel, avail, ni, out, (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec), threads);
    free(mels);
    free(mel_valid);
    free(order);
    free(clip_mel);
    free(clip_inst);
    return 0;
}
