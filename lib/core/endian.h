/* endian.h - little-endian encode/decode of fixed-size values (internal).
 * Files are always little-endian, whatever the host. */
#ifndef DSI_CORE_ENDIAN_H
#define DSI_CORE_ENDIAN_H

#include <stdint.h>
#include <string.h>

static inline void dsi_put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}
static inline uint32_t dsi_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void dsi_put_u64(unsigned char *p, uint64_t v)
{
    dsi_put_u32(p, (uint32_t)v);
    dsi_put_u32(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t dsi_get_u64(const unsigned char *p)
{
    return (uint64_t)dsi_get_u32(p) | (uint64_t)dsi_get_u32(p + 4) << 32;
}
static inline void dsi_put_f32(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    dsi_put_u32(p, u);
}
static inline float dsi_get_f32(const unsigned char *p)
{
    uint32_t u = dsi_get_u32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

#endif
