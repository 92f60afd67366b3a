/* draw.h - a small RGB canvas for the figures of `disent` (loss curves,
 * labelled spectrogram and image grids): filled rectangles, lines, text in a
 * built-in 5x7 pixel font (printable ASCII), a perceptual colour map, axes
 * with "nice" ticks, and PNG output through the library's writer
 * (dsn_image_save_png). Every figure of the program draws with this one
 * file; nothing here allocates after cli_canvas_init. */
#ifndef DISENT_DRAW_H
#define DISENT_DRAW_H

#include <stddef.h>

typedef struct cli_rgb {
    unsigned char r, g, b;
} cli_rgb;

typedef struct cli_canvas {
    int w, h;
    unsigned char *pix; /* w * h * 3 bytes, rows top to bottom */
} cli_canvas;

#define CLI_WHITE ((cli_rgb){255, 255, 255})
#define CLI_BLACK ((cli_rgb){0, 0, 0})
#define CLI_GREY ((cli_rgb){128, 128, 128})
#define CLI_LIGHT ((cli_rgb){225, 225, 225})

/* A w x h canvas filled with bg; 0, or -1 (with a message) out of memory. */
int cli_canvas_init(cli_canvas *c, int w, int h, cli_rgb bg);
void cli_canvas_free(cli_canvas *c);
/* Write the canvas as an RGB PNG (prints the library's message on failure). */
int cli_canvas_png(const cli_canvas *c, const char *path);

void cli_pixel(cli_canvas *c, int x, int y, cli_rgb col);
/* [x0, x1) x [y0, y1), clipped */
void cli_fill(cli_canvas *c, int x0, int y0, int x1, int y1, cli_rgb col);
/* the outline of [x0, x1] x [y0, y1] */
void cli_frame(cli_canvas *c, int x0, int y0, int x1, int y1, cli_rgb col);
/* A line of the given width (1-3 pixels); dash > 0: dash pixels on, dash off. */
void cli_line(cli_canvas *c, double x0, double y0, double x1, double y1, cli_rgb col, int width, int dash);

/* Text in the 5x7 font with pixels of size scale (a cell is 6 x 8 * scale);
 * '\n' is not special. Returns the width in pixels. */
int cli_text(cli_canvas *c, int x, int y, int scale, const char *text, cli_rgb col);
int cli_text_width(const char *text, int scale);
/* Text turned 90 degrees counter-clockwise (read bottom to top), its first
 * character at the bottom, left edge at x, bottom at y. */
void cli_text_up(cli_canvas *c, int x, int y, int scale, const char *text, cli_rgb col);
/* text centred on x */
void cli_text_centred(cli_canvas *c, int x, int y, int scale, const char *text, cli_rgb col);

/* Colour of t in [0, 1] on a dark-blue -> green -> yellow map (like
 * viridis; monotone in lightness, so it reads in grey too). */
cli_rgb cli_colormap(double t);
/* The i-th colour of a qualitative palette for lines (cycles after 10). */
cli_rgb cli_palette(int i);

/* "Nice" tick values (1, 2, 5 x 10^k) covering [lo, hi]: at most max
 * values into ticks, returns the count; *step gets the spacing. */
int cli_nice_ticks(double lo, double hi, int max, double *ticks, double *step);
/* A tick label: the shortest of %g-like forms that shows the spacing step. */
void cli_tick_label(char *buf, size_t cap, double v, double step);

/* A plot area (pixels x0..x1, y0..y1 with y0 at the top) and its data
 * range; logy: log10 scale on y (lo, hi > 0). */
typedef struct cli_axes {
    int x0, y0, x1, y1;
    double xlo, xhi, ylo, yhi;
    int logy;
} cli_axes;

double cli_axes_x(const cli_axes *a, double x);
double cli_axes_y(const cli_axes *a, double y);
/* Frame, grid lines, ticks with labels and the axis labels (xlabel under
 * the x axis, ylabel up the left side; either may be NULL). */
void cli_axes_draw(cli_canvas *c, const cli_axes *a, const char *xlabel, const char *ylabel, int scale);

#endif
