/* io.c - libsndfile reading/writing, libsamplerate resampling, normalisation. */
#include "audio/io.h"
#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <math.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define READ_BLOCK 4096 /* frames per sf_readf_float call */

/* libsndfile accepts a RIFF/AIFF data chunk that claims more bytes than the
 * file holds and silently reads what is there; its log then shows
 * "data : <claimed> (should be <actual>)". A claim of 0xFFFFFFFF (or 0) is
 * the streaming convention for "unknown length" and is accepted. */
static int data_chunk_truncated(SNDFILE *f)
{
    char log[4096];
    log[0] = '\0';
    sf_command(f, SFC_GET_LOG_INFO, log, (int)sizeof log);
    log[sizeof log - 1] = '\0';
    for (const char *p = log; (p = strstr(p, "\ndata")) != NULL; p++) {
        const char *eol = strchr(p + 1, '\n');
        const char *sb = strstr(p, "(should be");
        if (!sb || (eol && sb > eol)) continue;
        const char *colon = strchr(p, ':');
        if (!colon || colon > sb) continue;
        unsigned long long claimed = strtoull(colon + 1, NULL, 10);
        unsigned long long actual = strtoull(sb + 10, NULL, 10);
        if (claimed > actual && claimed != 0xFFFFFFFFull) return 1;
    }
    return 0;
}

/* The header's frame count is exact for PCM containers; for MPEG (MP3)
 * libsndfile estimates it from the file size and the first frame's bitrate,
 * which a constant-bitrate file without a Xing/Info tag (or with ID3 tags)
 * overshoots by a few frames: there only what decodes counts. */
static int header_count_exact(const SF_INFO *info) { return (info->format & SF_FORMAT_TYPEMASK) != SF_FORMAT_MPEG; }

static dsn_status read_file(const char *path, int target_sr, int mono, float **x, size_t *n, int *channels, int *sr);

dsn_status dsi_audio_read(const char *path, int target_sr, float **x, size_t *n, int *sr)
{
    return read_file(path, target_sr, 1, x, n, NULL, sr);
}

dsn_status dsi_audio_read_channels(const char *path, int target_sr, float **x, size_t *n, int *channels, int *sr)
{
    DSI_CHECK_NULL(channels, "channels");
    return read_file(path, target_sr, 0, x, n, channels, sr);
}

static dsn_status read_file(const char *path, int target_sr, int mono, float **x, size_t *n, int *channels, int *sr)
{
    DSI_CHECK_NULL(path, "path");
    DSI_CHECK_NULL(x, "x");
    DSI_CHECK_NULL(n, "n");
    if (target_sr < 0 || target_sr > DSI_AUDIO_MAX_RATE)
        return dsi_error(DSN_E_INVALID, "target sample rate %d out of range", target_sr);
    struct stat st;
    if (stat(path, &st) != 0) return dsi_error(DSN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return dsi_error(DSN_E_IO, "'%s' is not a regular file", path);
    if (st.st_size == 0) return dsi_error(DSN_E_FORMAT, "'%s' is empty", path);

    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) return dsi_error(DSN_E_FORMAT, "'%s': cannot read audio: %s", path, sf_strerror(NULL));
    dsn_status status = DSN_OK;
    float *buf = NULL, *out = NULL;
    size_t cap = 0, len = 0;
    if (info.channels < 1 || info.channels > DSI_AUDIO_MAX_CHANNELS) {
        status = dsi_error(DSN_E_FORMAT, "'%s': bad channel count %d", path, info.channels);
        goto done;
    }
    if (info.samplerate < 1 || info.samplerate > DSI_AUDIO_MAX_RATE) {
        status = dsi_error(DSN_E_FORMAT, "'%s': bad sample rate %d", path, info.samplerate);
        goto done;
    }
    int ch = info.channels, och = mono ? 1 : ch;
    buf = dsi_malloc(sizeof(float) * READ_BLOCK * (size_t)ch);
    if (!buf) {
        status = dsi_error(DSN_E_NOMEM, "'%s': cannot allocate a read buffer", path);
        goto done;
    }
    for (;;) {
        sf_count_t got = sf_readf_float(f, buf, READ_BLOCK);
        if (got <= 0) break;
        if ((len + (size_t)got) * (size_t)och > DSI_AUDIO_MAX_SAMPLES) {
            status = dsi_error(DSN_E_FORMAT, "'%s': longer than %zu samples", path, DSI_AUDIO_MAX_SAMPLES);
            goto done;
        }
        if ((len + (size_t)got) * (size_t)och > cap) {
            size_t nc = cap ? cap * 2 : 65536;
            while (nc < (len + (size_t)got) * (size_t)och) nc *= 2;
            float *t = dsi_realloc(out, cap * sizeof(float), nc * sizeof(float));
            if (!t) {
                status = dsi_error(DSN_E_NOMEM, "'%s': cannot allocate %zu samples", path, nc);
                goto done;
            }
            out = t;
            cap = nc;
        }
        const float inv = 1.0f / (float)ch;
        for (sf_count_t i = 0; i < got; i++) {
            const float *fr = buf + (size_t)i * (size_t)ch;
            float s = 0.0f;
            for (int c = 0; c < ch; c++) s += fr[c];
            if (!isfinite(s)) {
                status = dsi_error(DSN_E_NUMERIC, "'%s': non-finite sample at frame %zu", path,
                                   len + (size_t)i);
                goto done;
            }
            if (mono) out[len + (size_t)i] = ch == 1 ? s : s * inv;
            else memcpy(out + (len + (size_t)i) * (size_t)ch, fr, sizeof(float) * (size_t)ch);
        }
        len += (size_t)got;
    }
    if (sf_error(f) != SF_ERR_NO_ERROR) {
        status = dsi_error(DSN_E_FORMAT, "'%s': error while decoding: %s", path, sf_strerror(f));
        goto done;
    }
    if (len == 0) {
        status = dsi_error(DSN_E_FORMAT, "'%s': contains no audio samples", path);
        goto done;
    }
    if (header_count_exact(&info) && info.frames > 0 && (sf_count_t)len < info.frames) {
        status = dsi_error(DSN_E_FORMAT, "'%s': truncated (header promises %lld frames, %zu present)", path,
                           (long long)info.frames, len);
        goto done;
    }
    if (data_chunk_truncated(f)) {
        status = dsi_error(DSN_E_FORMAT, "'%s': truncated (the data chunk is larger than the file)", path);
        goto done;
    }
    int rate = info.samplerate;
    if (target_sr && target_sr != rate) {
        float *y = NULL;
        size_t ny = 0;
        status = dsi_audio_resample_channels(out, len, och, rate, target_sr, DSI_RESAMPLE_MEDIUM, &y, &ny);
        if (status != DSN_OK) goto done;
        dsi_free(out);
        out = y;
        len = ny;
        rate = target_sr;
    }
    *x = out;
    *n = len;
    if (channels) *channels = och;
    if (sr) *sr = rate;
    out = NULL;
done:
    sf_close(f);
    dsi_free(buf);
    dsi_free(out);
    return status;
}

dsn_status dsi_audio_resample(const float *x, size_t n, int sr_in, int sr_out, dsi_resample_quality q,
                              float **y, size_t *ny)
{
    return dsi_audio_resample_channels(x, n, 1, sr_in, sr_out, q, y, ny);
}

dsn_status dsi_audio_resample_channels(const float *x, size_t n, int channels, int sr_in, int sr_out,
                                       dsi_resample_quality q, float **y, size_t *ny)
{
    DSI_CHECK_NULL(x, "x");
    DSI_CHECK_NULL(y, "y");
    DSI_CHECK_NULL(ny, "ny");
    if (sr_in < 1 || sr_out < 1 || sr_in > DSI_AUDIO_MAX_RATE || sr_out > DSI_AUDIO_MAX_RATE)
        return dsi_error(DSN_E_INVALID, "bad sample rates %d -> %d", sr_in, sr_out);
    if (n == 0 || n > DSI_AUDIO_MAX_SAMPLES) return dsi_error(DSN_E_INVALID, "bad signal length %zu", n);
    if ((int)q < 0 || (int)q > 2) return dsi_error(DSN_E_INVALID, "bad resampler quality %d", (int)q);
    if (channels < 1 || channels > DSI_AUDIO_MAX_CHANNELS || n * (size_t)channels > DSI_AUDIO_MAX_SAMPLES)
        return dsi_error(DSN_E_INVALID, "bad channel count %d for %zu frames", channels, n);
    const size_t C = (size_t)channels;
    double ratio = (double)sr_out / (double)sr_in;
    size_t m = (size_t)floor((double)n * ratio + 0.5);
    if (m == 0) m = 1;
    if (m * C > DSI_AUDIO_MAX_SAMPLES) return dsi_error(DSN_E_INVALID, "resampled signal too long (%zu)", m);
    float *out = dsi_malloc(sizeof(float) * (m + 16) * C);
    if (!out) return dsi_error(DSN_E_NOMEM, "cannot allocate %zu samples", m);
    if (sr_in == sr_out) {
        memcpy(out, x, n * C * sizeof(float));
        *y = out;
        *ny = n;
        return DSN_OK;
    }
    SRC_DATA d;
    memset(&d, 0, sizeof d);
    d.data_in = x;
    d.input_frames = (long)n;
    d.data_out = out;
    d.output_frames = (long)(m + 16);
    d.src_ratio = ratio;
    int err = src_simple(&d, (int)q, channels);
    if (err) {
        dsi_free(out);
        return dsi_error(DSN_E_INTERNAL, "libsamplerate: %s", src_strerror(err));
    }
    size_t got = (size_t)d.output_frames_gen;
    /* pad (rarely) or trim to exactly m samples */
    for (size_t i = got * C; i < m * C; i++) out[i] = 0.0f;
    *y = out;
    *ny = m;
    return DSN_OK;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    if (a < b) return 0;
    for (size_t i = 0; i < b; i++) {
        char c = s[a - b + i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != suf[i]) return 0;
    }
    return 1;
}

dsn_status dsi_audio_write(const char *path, const float *x, size_t n, int sr, dsi_audio_format fmt)
{
    return dsi_audio_write_channels(path, x, n, 1, sr, fmt);
}

dsn_status dsi_audio_write_channels(const char *path, const float *x, size_t n, int channels, int sr,
                                    dsi_audio_format fmt)
{
    DSI_CHECK_NULL(path, "path");
    DSI_CHECK_NULL(x, "x");
    if (sr < 1 || sr > DSI_AUDIO_MAX_RATE) return dsi_error(DSN_E_INVALID, "bad sample rate %d", sr);
    if (channels < 1 || channels > DSI_AUDIO_MAX_CHANNELS)
        return dsi_error(DSN_E_INVALID, "bad channel count %d (1 .. %d)", channels, DSI_AUDIO_MAX_CHANNELS);
    if (n > DSI_AUDIO_MAX_SAMPLES / (size_t)channels) return dsi_error(DSN_E_INVALID, "signal too long (%zu)", n);
    if (fmt == DSI_AUDIO_AUTO) fmt = ends_with(path, ".flac") ? DSI_AUDIO_FLAC_PCM16 : DSI_AUDIO_WAV_PCM16;
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = sr;
    info.channels = channels;
    switch (fmt) {
    case DSI_AUDIO_WAV_PCM16: info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16; break;
    case DSI_AUDIO_WAV_FLOAT: info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT; break;
    case DSI_AUDIO_FLAC_PCM16: info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16; break;
    case DSI_AUDIO_FLAC_PCM24: info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_24; break;
    default: return dsi_error(DSN_E_INVALID, "unknown audio format %d", (int)fmt);
    }
    if (fmt == DSI_AUDIO_FLAC_PCM16 || fmt == DSI_AUDIO_FLAC_PCM24) {
        if (sr > 655350) return dsi_error(DSN_E_INVALID, "FLAC cannot store sample rate %d", sr);
        if (channels > 8) return dsi_error(DSN_E_UNSUPPORTED, "FLAC stores at most 8 channels, not %d", channels);
    }
    if (!sf_format_check(&info)) return dsi_error(DSN_E_UNSUPPORTED, "libsndfile cannot write this format");
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f) return dsi_error(DSN_E_IO, "cannot create '%s': %s", path, sf_strerror(NULL));
    if (fmt != DSI_AUDIO_WAV_FLOAT) sf_command(f, SFC_SET_CLIPPING, NULL, SF_TRUE);
    sf_count_t w = sf_writef_float(f, x, (sf_count_t)n);
    dsn_status st = DSN_OK;
    if (w != (sf_count_t)n)
        st = dsi_error(DSN_E_IO, "cannot write '%s': %s", path, sf_strerror(f));
    if (sf_close(f) != 0 && st == DSN_OK) st = dsi_error(DSN_E_IO, "cannot close '%s'", path);
    return st;
}

unsigned dsi_audio_check(const float *x, size_t n)
{
    float peak = 0.0f;
    size_t run = 0, worst = 0;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > peak) peak = a;
        run = a >= 0.999f && (run == 0 || x[i] == x[i - 1]) ? run + 1 : (a >= 0.999f ? 1 : 0);
        if (run > worst) worst = run;
    }
    unsigned flags = 0;
    if (!(peak >= DSI_AUDIO_SILENT_PEAK)) flags |= DSI_AUDIO_SILENT;
    if (worst >= DSI_AUDIO_CLIP_RUN) flags |= DSI_AUDIO_CLIPPED;
    return flags;
}

const char *dsi_audio_check_reason(unsigned flags)
{
    if (flags & DSI_AUDIO_SILENT) return "silent (peak below 1e-4)";
    if (flags & DSI_AUDIO_CLIPPED) return "clipped (4 or more consecutive equal samples at full scale, |x| >= 0.999)";
    return NULL;
}

float dsi_audio_peak_normalize(float *x, size_t n, float peak)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > m) m = a;
    }
    if (!(m > 0.0f) || !isfinite(m)) return 1.0f;
    float g = peak / m;
    for (size_t i = 0; i < n; i++) x[i] *= g;
    return g;
}

float dsi_audio_rms_normalize(float *x, size_t n, float rms)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    if (n == 0 || !(s > 0.0) || !isfinite(s)) return 1.0f;
    float g = (float)(rms / sqrt(s / (double)n));
    for (size_t i = 0; i < n; i++) x[i] *= g;
    return g;
}
