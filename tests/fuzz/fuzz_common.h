/* fuzz_common.h - shared by the libFuzzer harnesses in tests/fuzz/.
 *
 * Each harness feeds its input to a public reader through a file (the
 * readers take paths), kept on a RAM file system when one is there
 * (/dev/shm), one folder per process. The library's allocations go through
 * an allocator hook that refuses any single request above FUZZ_ALLOC_LIMIT,
 * so a reader that trusts a declared size gets NULL (and must report
 * DSN_E_NOMEM) instead of the fuzzer's out-of-memory abort; a reader must
 * never crash, leak or touch memory out of bounds (ASan + UBSan). */
#ifndef DSN_FUZZ_COMMON_H
#define DSN_FUZZ_COMMON_H

#include <disent.h>
#include "../support/describe.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef FUZZ_ALLOC_LIMIT
#define FUZZ_ALLOC_LIMIT ((size_t)64 << 20)
#endif

static void *fuzz_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return size > FUZZ_ALLOC_LIMIT ? NULL : malloc(size);
}
static void fuzz_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static char fuzz_dir_buf[256];

/* The per-process scratch folder (created on first use). */
static const char *fuzz_dir(void)
{
    if (!fuzz_dir_buf[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        snprintf(fuzz_dir_buf, sizeof fuzz_dir_buf, "%s/dsn-fuzz-%ld", base, (long)getpid());
        mkdir(fuzz_dir_buf, 0700);
        static const dsn_allocator a = {fuzz_alloc, fuzz_free, NULL};
        if (dsn_set_allocator(&a) != DSN_OK) abort();
    }
    return fuzz_dir_buf;
}

/* path = fuzz_dir()/name */
static const char *fuzz_path(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", fuzz_dir(), name);
    return buf;
}

/* Write data to fuzz_dir()/name; returns the path (static per name slot). */
static void fuzz_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(data, 1, n, f) != n) abort();
    if (fclose(f) != 0) abort();
}

/* Every failing call must leave a message. */
static void fuzz_check_status(dsn_status st)
{
    if (st != DSN_OK && dsn_last_error()[0] == '\0') {
        fprintf(stderr, "status %d (%s) without a message\n", (int)st, dsn_status_string(st));
        abort();
    }
    if ((int)st < 0 || (int)st >= 64) abort();
}

/* Replace the last 4 bytes by the CRC-32 of the rest when the input starts
 * with `magic` (8 bytes), so mutations get past the checksum. Returns a
 * malloc'd copy. */
#include "core/fileio.h"
static unsigned char *fuzz_fix_crc(const uint8_t *data, size_t size, const char *const *magics)
{
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) abort();
    memcpy(buf, data, size);
    for (int k = 0; magics[k]; k++)
        if (size >= 16 && memcmp(buf, magics[k], 8) == 0) {
            uint32_t c = dsi_crc32(0, buf, size - 4);
            for (int i = 0; i < 4; i++) buf[size - 4 + i] = (unsigned char)(c >> (8 * i));
        }
    return buf;
}

/* Small fixed clips in a folder whose path does not depend on the process
 * (feature-cache keys hold the clip's path, size and mtime, so seeds made by
 * make_seeds.c match): FUZZ_AUDIO_DIR/a.wav (0.1 s, 8 kHz) and b.wav (0.15 s),
 * mtime fixed. */
#include <sys/time.h>
#define FUZZ_AUDIO_DIR "/dev/shm/dsn-fuzz-audio"
#define FUZZ_FEAT_OPTS "frames=4, n_mels=8, n_fft=64, hop_length=32, sample_rate=8000"
static void fuzz_make_clips(void)
{
    mkdir(FUZZ_AUDIO_DIR, 0755);
    static const char *const names[2] = {"a.wav", "b.wav"};
    for (int c = 0; c < 2; c++) {
        char path[256], tmp[300];
        snprintf(path, sizeof path, "%s/%s", FUZZ_AUDIO_DIR, names[c]);
        size_t n = c ? 1200 : 800;
        float x[1200];
        for (size_t i = 0; i < n; i++) x[i] = 0.5f * (float)((i * (c ? 7 : 5)) % 40) / 40.0f - 0.25f;
        snprintf(tmp, sizeof tmp, "%s.%ld.wav", path, (long)getpid());
        if (dsn_audio_write(tmp, x, n, 8000, NULL) != DSN_OK) abort();
        struct timeval tv[2] = {{1700000000, 0}, {1700000000, 0}};
        if (utimes(tmp, tv) != 0 || rename(tmp, path) != 0) abort();
    }
}

/* FUZZ_AUDIO_DIR/clips (into dir, cap bytes) holding only links to the two
 * clips, so a manifest of fuzz_csv (another process may share
 * FUZZ_AUDIO_DIR) is not listed. 0, or -1 when a link is not there. */
static int fuzz_clips_dir(char *dir, size_t cap)
{
    fuzz_make_clips();
    snprintf(dir, cap, "%s/clips", FUZZ_AUDIO_DIR);
    mkdir(dir, 0755);
    static const char *const names[2] = {"a.wav", "b.wav"};
    for (int c = 0; c < 2; c++) {
        char a[600], b[300];
        snprintf(a, sizeof a, "%s/%s", dir, names[c]);
        snprintf(b, sizeof b, "%s/%s", FUZZ_AUDIO_DIR, names[c]);
        unlink(a);
        if (link(b, a) != 0 && access(a, F_OK) != 0) return -1;
    }
    return 0;
}

#endif
