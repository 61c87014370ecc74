/* mlp.c: forward pass and backpropagation of the trained network (mlp.h).
 * Small kernels along the batch rather than BLAS: at the widths trained
 * (2-64) a GEMM call costs more than its arithmetic, and fixed loops keep
 * every network's summation order its own. */
#include "lyapdiag/mlp.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lyapdiag/error.h"
#include "variates.h"

/* The vector helpers below are always inlined into the ISA builds: no call
 * crosses an ABI boundary, so the psabi note does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"

struct lyap_mlp_workspace {
    int batch, layers;   /* layers = L + 2 */
    const double *input; /* the last forward pass's x */
    double **act;        /* [layers]: layer i's outputs, rows x batch */
    double *delta, *back; /* width-or-n_out x batch each: gradients of the current and previous layer */
    double *wz;           /* one layer's weights as the combine kernel reads them (broadcast) */
    double *lanes;        /* one layer's gradient sums before their folds */
};

lyap_mlp_layer lyap_mlp_layer_of(const lyap_mlp_shape *s, int i)
{
    size_t d = (size_t)s->width, first = d * s->n_in + d, hidden = d * d + d;
    if (i == 0)
        return (lyap_mlp_layer){0, d * s->n_in, s->width, s->n_in};
    if (i <= s->depth)
        return (lyap_mlp_layer){first + (i - 1) * hidden, first + (i - 1) * hidden + d * d, s->width, s->width};
    size_t at = first + (size_t)s->depth * hidden;
    return (lyap_mlp_layer){at, at + (size_t)s->n_out * d, s->n_out, s->width};
}

size_t lyap_mlp_parameter_count(const lyap_mlp_shape *s)
{
    lyap_mlp_layer out = lyap_mlp_layer_of(s, s->depth + 1);
    return out.b + (size_t)s->n_out;
}

/* N zeroed doubles from a 64-byte boundary (calloc's 16 would make most
 * 64-byte vector loads straddle two cache lines, which costs the
 * weight-gradient kernel, nothing but loads and FMAs, about a third). */
static int alloc_lines(double **out, size_t n, const char *what)
{
    size_t bytes = n * sizeof **out;
    *out = NULL;
    if (n > (SIZE_MAX - 63) / sizeof **out)
        return lyap_fail(LYAP_ENOMEM, "%s: %zu doubles overflow size_t", what, n);
    bytes = (bytes + 63) / 64 * 64;
    *out = aligned_alloc(64, bytes ? bytes : 64);
    if (!*out)
        return lyap_fail(LYAP_ENOMEM, "%s: cannot allocate %zu bytes", what, bytes);
    memset(*out, 0, bytes);
    return LYAP_OK;
}

/* The kernels' scratch, in doubles: the largest layer's weights broadcast,
 * d x max(n_in, d, n_out) vectors of 8 (wz), and the weight gradients'
 * lane sums, rows x (cols + 1) vectors of 8 (lanes). */
static size_t broadcast_weights_doubles(const lyap_mlp_shape *s)
{
    int rows = s->width > s->n_out ? s->width : s->n_out;
    return (size_t)s->width * (size_t)(s->n_in > rows ? s->n_in : rows) * 8;
}

static size_t lane_sums_doubles(const lyap_mlp_shape *s)
{
    size_t rows = (size_t)(s->width > s->n_out ? s->width : s->n_out);
    return rows * (size_t)((s->n_in > s->width ? s->n_in : s->width) + 1) * 8;
}

double lyap_mlp_workspace_bytes(const lyap_mlp_shape *s, int batch)
{
    double rows = s->width > s->n_out ? s->width : s->n_out, activations = 0;
    for (int i = 0; i < s->depth + 2; i++)
        activations += (double)lyap_mlp_layer_of(s, i).rows * batch;
    return sizeof(double) * (activations + 2 * rows * batch + (double)broadcast_weights_doubles(s) +
                             (double)lane_sums_doubles(s));
}

int lyap_mlp_workspace_create(const lyap_mlp_shape *s, int batch, lyap_mlp_workspace **out)
{
    *out = NULL;
    if (s->n_in < 1 || s->width < 1 || s->depth < 0 || s->n_out < 1 || batch < 1 || !(s->slope >= 0 && s->slope <= 1))
        return lyap_fail(LYAP_EINTERNAL, "mlp: bad shape (n_in %d, width %d, depth %d, n_out %d, slope %g, batch %d)",
                         s->n_in, s->width, s->depth, s->n_out, s->slope, batch);
    lyap_mlp_workspace *ws;
    LYAP_CALL(lyap_alloc(&ws, 1, sizeof *ws, "network workspace"));
    ws->batch = batch;
    ws->layers = s->depth + 2;
    size_t rows = (size_t)(s->width > s->n_out ? s->width : s->n_out);
    int status = lyap_alloc(&ws->act, (size_t)ws->layers, sizeof *ws->act, "activations");
    for (int i = 0; status == LYAP_OK && i < ws->layers; i++)
        status = alloc_lines(&ws->act[i], (size_t)lyap_mlp_layer_of(s, i).rows * batch, "activations");
    if (status == LYAP_OK)
        status = alloc_lines(&ws->delta, rows * batch, "gradients");
    if (status == LYAP_OK)
        status = alloc_lines(&ws->back, rows * batch, "gradients");
    if (status == LYAP_OK)
        status = alloc_lines(&ws->wz, broadcast_weights_doubles(s), "weights");
    if (status == LYAP_OK)
        status = alloc_lines(&ws->lanes, lane_sums_doubles(s), "gradient sums");
    if (status != LYAP_OK)
        lyap_mlp_workspace_destroy(&ws);
    *out = ws;
    return status;
}

void lyap_mlp_workspace_destroy(lyap_mlp_workspace **ws)
{
    if (!ws || !*ws)
        return;
    for (int i = 0; (*ws)->act && i < (*ws)->layers; i++)
        free((*ws)->act[i]);
    free((*ws)->act);
    free((*ws)->delta);
    free((*ws)->back);
    free((*ws)->wz);
    free((*ws)->lanes);
    free(*ws);
    *ws = NULL;
}

/* ---- kernels ------------------------------------------------------------------
 * Every output element is an ordered sum (init + sum over the inner index
 * ascending, or 8 fixed lanes j mod 8 for the sums over the batch), so the
 * blocking and the vector width change speed only: the ISA builds give
 * the same bits (variates.h). Blocks of 4, 2 or 1 outputs x 16 batch
 * entries run in GCC vector types (one AVX-512 register, or four SSE2
 * ones, the same lane-wise IEEE arithmetic); the edges run the same sums
 * in scalars. The AVX2 build runs the same sums in 4-wide blocks (below). */
enum { LANES = 8 };
typedef double v8 __attribute__((vector_size(LANES * sizeof(double))));
typedef double v8u __attribute__((vector_size(LANES * sizeof(double)), aligned(sizeof(double)), may_alias));
typedef long long m8 __attribute__((vector_size(LANES * sizeof(double))));

static inline __attribute__((always_inline)) v8 load(const double *p)
{
    return *(const v8u *)p;
}

static inline __attribute__((always_inline)) void store(double *p, v8 v)
{
    *(v8u *)p = v;
}

/* Lane-wise TRUE_ where MASK, else FALSE_. */
static inline __attribute__((always_inline)) v8 select8(m8 mask, v8 true_, v8 false_)
{
    return (v8)((mask & (m8)true_) | (~mask & (m8)false_));
}

/* a b + c rounded once (a fused multiply-add), lane-wise, in every build:
 * the AVX builds (with FMA) vectorize fma() into their FMA instruction,
 * the SSE2 build calls C's fma(), which rounds the same (correctly) in
 * software; so the builds keep one set of bits, and the AVX ones do half
 * the additions' work. */
static inline __attribute__((always_inline)) v8 madd(v8 a, v8 b, v8 c)
{
    v8 r;
    for (int t = 0; t < LANES; t++)
        r[t] = __builtin_fma(a[t], b[t], c[t]);
    return r;
}

/* phi, or the factor phi' of a post-activation, lane-wise: a select of v
 * and slope v (v 1 = v exactly), one compare and one multiply. */
static inline __attribute__((always_inline)) v8 finish8(v8 v, const double *gate, int activate, double slope)
{
    if (activate)
        v = select8(v > 0, v, slope * v);
    if (gate)
        v = select8(load(gate) > 0, v, slope * v);
    return v;
}

static inline __attribute__((always_inline)) double finish1(double v, const double *gate, int activate, double slope)
{
    if (activate)
        v = v > 0 ? v : slope * v;
    if (gate)
        v *= *gate > 0 ? 1.0 : slope;
    return v;
}

/* R (1, 2 or 4) outputs from O on x C vectors (1, 2 or 4: 8 to 32 batch
 * entries from J on), R C independent chains of additions in registers
 * (constant R, C and fully unrolled loops: the arrays become registers).
 * WZ holds the weights broadcast, vector i NOUT + o (combine_body). */
static inline __attribute__((always_inline)) void combine_block(int r, int c, int o, int j, int nin, int nout,
                                                                const double *wz, const double *init,
                                                                const double *in, int batch, double *out,
                                                                int activate, const double *gate, double slope)
{
    v8 acc[4][4];
#pragma GCC unroll 4
    for (int k = 0; k < r; k++)
#pragma GCC unroll 4
        for (int q = 0; q < c; q++)
            acc[k][q] = (v8){0} + (init ? init[o + k] : 0.0);
    for (int i = 0; i < nin; i++) {
        const double *xi = in + (size_t)i * batch + j, *wi = wz + ((size_t)i * nout + o) * LANES;
        v8 x[4];
#pragma GCC unroll 4
        for (int q = 0; q < c; q++)
            x[q] = load(xi + q * LANES);
#pragma GCC unroll 4
        for (int k = 0; k < r; k++) {
            v8 w = load(wi + k * LANES);
#pragma GCC unroll 4
            for (int q = 0; q < c; q++)
                acc[k][q] = madd(w, x[q], acc[k][q]);
        }
    }
#pragma GCC unroll 4
    for (int k = 0; k < r; k++)
#pragma GCC unroll 4
        for (int q = 0; q < c; q++) {
            size_t at = (size_t)(o + k) * batch + j + (size_t)q * LANES;
            store(out + at, finish8(acc[k][q], gate ? gate + at : NULL, activate, slope));
        }
}

/* All outputs at batch entries J..J+8C-1, in blocks of 4, 2, 1 rows. */
static inline __attribute__((always_inline)) void combine_cols(int c, int j, int nout, int nin, const double *wz,
                                                               const double *init, const double *in, int batch,
                                                               double *out, int activate, const double *gate,
                                                               double slope)
{
    int o = 0;
    for (; o + 4 <= nout; o += 4)
        combine_block(4, c, o, j, nin, nout, wz, init, in, batch, out, activate, gate, slope);
    for (; o + 2 <= nout; o += 2)
        combine_block(2, c, o, j, nin, nout, wz, init, in, batch, out, activate, gate, slope);
    for (; o < nout; o++)
        combine_block(1, c, o, j, nin, nout, wz, init, in, batch, out, activate, gate, slope);
}

/* OUT[o][j] = INIT[o] (or 0 without INIT) + sum_i W(o, i) IN[i][j], i
 * ascending, W(o, i) = w[o SO + i SI]; then, if ACTIVATE, phi with SLOPE,
 * or, if GATE, times phi'(GATE[o][j]) (1 where > 0, else SLOPE).
 * The batch entries below the last multiple of 16 run in vectors, the
 * rest in scalars. The vectors multiply by W(o, i) broadcast as
 * (v8){0} + W(o, i) (so a -0 weight counts as +0 there, as in the
 * kernels before), done once per call into WZ (nout nin vectors, input
 * by input): the inner loops then only load and multiply-add (a scalar
 * broadcast in the loop became shuffles). */
static inline __attribute__((always_inline)) void combine_body(int nout, int nin, const double *w, int so, int si,
                                                               const double *init, const double *in, int batch,
                                                               double *out, int activate, const double *gate,
                                                               double slope, double *wz)
{
    int full_j = batch - batch % (2 * LANES), j = 0;
    if (full_j > 0)
        for (int i = 0; i < nin; i++)
            for (int o = 0; o < nout; o++)
                store(wz + ((size_t)i * nout + o) * LANES, (v8){0} + w[(size_t)o * so + (size_t)i * si]);
    for (; j + 4 * LANES <= full_j; j += 4 * LANES)
        combine_cols(4, j, nout, nin, wz, init, in, batch, out, activate, gate, slope);
    for (; j < full_j; j += 2 * LANES)
        combine_cols(2, j, nout, nin, wz, init, in, batch, out, activate, gate, slope);
    for (int o = 0; o < nout; o++) /* the batch entries past the last full chunk */
        for (j = full_j; j < batch; j++) {
            double acc = init ? init[o] : 0.0;
            for (int i = 0; i < nin; i++)
                acc = __builtin_fma(w[(size_t)o * so + (size_t)i * si], in[(size_t)i * batch + j], acc);
            size_t at = (size_t)o * batch + j;
            out[at] = finish1(acc, gate ? gate + at : NULL, activate, slope);
        }
}

/* G[r][c] = sum_j A[r][j] B[c][j] and, if GB, GB[r] = sum_j A[r][j] (or 0
 * if ZERO_B): each sum in 8 lanes j mod 8, then folded
 * ((0+1)+(2+3))+((4+5)+(6+7)). For G's columns below cols - cols % 4
 * the even and odd chunks of 8 go to separate lanes, added before the
 * fold; the last cols % 4 columns and GB sum every chunk into one set. */
static inline __attribute__((always_inline)) double fold(v8 lane)
{
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

/* Eight vectors folded at once: lane k of the result is fold(V[k]), the
 * same additions in the same order, in 7 vector additions and 14
 * shuffles (a transpose) rather than 56 scalar steps. */
static inline __attribute__((always_inline)) v8 fold8(const double *lanes)
{
    const m8 even = {0, 8, 2, 10, 4, 12, 6, 14}, odd = {1, 9, 3, 11, 5, 13, 7, 15};
    const m8 low2 = {0, 1, 8, 9, 4, 5, 12, 13}, high2 = {2, 3, 10, 11, 6, 7, 14, 15};
    const m8 low4 = {0, 1, 2, 3, 8, 9, 10, 11}, high4 = {4, 5, 6, 7, 12, 13, 14, 15};
    v8 v[8], p[4], q[2];
    for (int k = 0; k < 8; k++)
        v[k] = load(lanes + k * LANES);
    for (int k = 0; k < 4; k++) /* lanes (0+1), (2+3), (4+5), (6+7) of V[2k] and V[2k+1], interleaved */
        p[k] = __builtin_shuffle(v[2 * k], v[2 * k + 1], even) + __builtin_shuffle(v[2 * k], v[2 * k + 1], odd);
    for (int k = 0; k < 2; k++) /* (0+1)+(2+3) and (4+5)+(6+7) of four vectors */
        q[k] = __builtin_shuffle(p[2 * k], p[2 * k + 1], low2) + __builtin_shuffle(p[2 * k], p[2 * k + 1], high2);
    return __builtin_shuffle(q[0], q[1], low4) + __builtin_shuffle(q[0], q[1], high4);
}

/* The N < 8 doubles from P in lanes 0..N-1, zeros in the rest. */
static inline __attribute__((always_inline)) v8 load_tail(const double *p, int n)
{
    double t[LANES] = {0};
    for (int k = 0; k < n; k++)
        t[k] = p[k];
    return load(t);
}

/* The lane vectors of rows R0..R0+R-1 (R = 1 or 2) x C columns from C0
 * on into LANES_OUT[r cols + c] and, if WITH_B, the rows' bias lanes into
 * LANES_OUT[rows cols + r]: SPLIT (C = 4) keeps even and odd chunks
 * apart; otherwise (C = 1..3, the last columns) one set. All R C (x 2)
 * chains in registers at once (constant R, C: the arrays become
 * registers). */
static inline __attribute__((always_inline)) void outer_block(int rr, int cc, int split, int with_b, int r0, int c0,
                                                              int rows, int cols, const double *a, const double *b,
                                                              int batch, double *lanes_out)
{
    int full = batch - batch % LANES, tail = batch - full, j = 0;
    v8 l[2][4], m[2][4], s[2], x[2], y[2];
#pragma GCC unroll 2
    for (int r = 0; r < rr; r++) {
        s[r] = (v8){0};
#pragma GCC unroll 4
        for (int c = 0; c < cc; c++)
            l[r][c] = m[r][c] = (v8){0};
    }
    if (split)
        for (; j + 2 * LANES <= full; j += 2 * LANES) {
#pragma GCC unroll 2
            for (int r = 0; r < rr; r++) {
                x[r] = load(a + (size_t)(r0 + r) * batch + j), y[r] = load(a + (size_t)(r0 + r) * batch + j + LANES);
                if (with_b)
                    s[r] = (s[r] + x[r]) + y[r];
            }
#pragma GCC unroll 4
            for (int c = 0; c < cc; c++) { /* each B chunk loaded once for the R rows */
                const double *bc = b + (size_t)(c0 + c) * batch + j;
                v8 u = load(bc), w = load(bc + LANES);
#pragma GCC unroll 2
                for (int r = 0; r < rr; r++)
                    l[r][c] = madd(x[r], u, l[r][c]), m[r][c] = madd(y[r], w, m[r][c]);
            }
        }
    for (; j < full; j += LANES) {
#pragma GCC unroll 2
        for (int r = 0; r < rr; r++) {
            x[r] = load(a + (size_t)(r0 + r) * batch + j);
            if (with_b)
                s[r] += x[r];
        }
#pragma GCC unroll 4
        for (int c = 0; c < cc; c++) {
            v8 u = load(b + (size_t)(c0 + c) * batch + j);
#pragma GCC unroll 2
            for (int r = 0; r < rr; r++)
                l[r][c] = madd(x[r], u, l[r][c]);
        }
    }
    if (tail) { /* the last batch % 8 entries into lanes 0..tail-1, as one masked step */
        m8 in_tail = (m8){0, 1, 2, 3, 4, 5, 6, 7} < tail;
#pragma GCC unroll 2
        for (int r = 0; r < rr; r++) {
            x[r] = load_tail(a + (size_t)(r0 + r) * batch + full, tail);
            if (with_b)
                s[r] = select8(in_tail, s[r] + x[r], s[r]);
        }
#pragma GCC unroll 4
        for (int c = 0; c < cc; c++) {
            v8 u = load_tail(b + (size_t)(c0 + c) * batch + full, tail);
#pragma GCC unroll 2
            for (int r = 0; r < rr; r++)
                l[r][c] = select8(in_tail, madd(x[r], u, l[r][c]), l[r][c]);
        }
    }
#pragma GCC unroll 2
    for (int r = 0; r < rr; r++) {
#pragma GCC unroll 4
        for (int c = 0; c < cc; c++)
            store(lanes_out + ((size_t)(r0 + r) * cols + c0 + c) * LANES, split ? l[r][c] + m[r][c] : l[r][c]);
        if (with_b)
            store(lanes_out + ((size_t)rows * cols + r0 + r) * LANES, s[r]);
    }
}

/* Rows R0.. (R of them) across every column; the bias lanes ride along
 * with the first block. */
static inline __attribute__((always_inline)) void outer_rows(int rr, int r0, int rows, int cols, const double *a,
                                                             const double *b, int batch, int with_b, double *lanes_out)
{
    int full_c = cols - cols % 4, c = 0;
    for (; c < full_c; c += 4)
        if (c == 0 && with_b)
            outer_block(rr, 4, 1, 1, r0, c, rows, cols, a, b, batch, lanes_out);
        else
            outer_block(rr, 4, 1, 0, r0, c, rows, cols, a, b, batch, lanes_out);
    /* the last cols % 4 columns (constant counts), with the bias lanes if
     * no block above took them */
    switch ((cols - full_c) * 2 + (with_b && full_c == 0)) {
#define OUTER_TAIL(n)                                                                                             \
    case 2 * n:                                                                                                   \
        outer_block(rr, n, 0, 0, r0, full_c, rows, cols, a, b, batch, lanes_out);                                 \
        break;                                                                                                    \
    case 2 * n + 1:                                                                                               \
        outer_block(rr, n, 0, 1, r0, full_c, rows, cols, a, b, batch, lanes_out);                                 \
        break;
        OUTER_TAIL(1)
        OUTER_TAIL(2)
        OUTER_TAIL(3)
#undef OUTER_TAIL
    }
}

/* Folds N lane vectors into OUT, eight at a time. */
static inline __attribute__((always_inline)) void fold_all(const double *lanes, size_t n, double *out)
{
    size_t k = 0;
    for (; k + LANES <= n; k += LANES)
        store(out + k, fold8(lanes + k * LANES));
    for (; k < n; k++)
        out[k] = fold(load(lanes + k * LANES));
}

/* LANES: room for rows (cols + 1) vectors. */
static inline __attribute__((always_inline)) void outer_body(int rows, int cols, const double *a, const double *b,
                                                             int batch, double *g, double *gb, int zero_b,
                                                             double *lanes)
{
    int with_b = gb && !zero_b, r = 0;
    for (; r + 2 <= rows; r += 2)
        outer_rows(2, r, rows, cols, a, b, batch, with_b, lanes);
    for (; r < rows; r++)
        outer_rows(1, r, rows, cols, a, b, batch, with_b, lanes);
    fold_all(lanes, (size_t)rows * cols, g);
    if (with_b)
        fold_all(lanes + (size_t)rows * cols * LANES, (size_t)rows, gb);
    else if (gb)
        for (r = 0; r < rows; r++)
            gb[r] = 0.0;
}

/* ---- 4-wide kernels (the AVX2 build) -------------------------------------------
 * AVX2 has 16 registers of 4 doubles: there GCC lowers the 8-wide blocks
 * above through the stack (16 v8 accumulators are 32 registers), about 15x
 * slower than the AVX-512 build. These kernels run the same chains,
 * element by element, in 4-wide vectors and blocks that fit 16
 * registers:
 *   - combine: the batch entries below the last multiple of 16 in vectors
 *     (acc = 0 + init, the weights broadcast as 0 + W(o, i), FMAs with i
 *     ascending, then the same selects), the rest in the same scalars;
 *     blocks of 3, 2 or 1 outputs x 16 entries: 12, 8 or 4 chains (12
 *     accumulators and 4 inputs fill the 16 registers, the weights come
 *     from memory as the FMAs' operands);
 *   - outer: lanes 0-3 and 4-7 of the 8 lanes j mod 8 are independent
 *     chains, so each half runs on its own over the batch (one register per
 *     lane set), with the same even/odd split of chunks of 8 for the
 *     columns below cols - cols % 4, the same bias sums and the same masked
 *     tail; blocks of 2 rows x 2 columns (8 chains with the split);
 *   - the folds: the same pairs added in the same order, four vectors at a
 *     time. */
typedef double v4 __attribute__((vector_size(4 * sizeof(double))));
typedef double v4u __attribute__((vector_size(4 * sizeof(double)), aligned(sizeof(double)), may_alias));
typedef long long m4 __attribute__((vector_size(4 * sizeof(double))));

static inline __attribute__((always_inline)) v4 load4(const double *p)
{
    return *(const v4u *)p;
}

static inline __attribute__((always_inline)) void store4(double *p, v4 v)
{
    *(v4u *)p = v;
}

static inline __attribute__((always_inline)) v4 select4(m4 mask, v4 true_, v4 false_)
{
    return (v4)((mask & (m4)true_) | (~mask & (m4)false_));
}

static inline __attribute__((always_inline)) v4 madd4(v4 a, v4 b, v4 c)
{
    v4 r;
    for (int t = 0; t < 4; t++)
        r[t] = __builtin_fma(a[t], b[t], c[t]);
    return r;
}

static inline __attribute__((always_inline)) v4 finish4(v4 v, const double *gate, int activate, double slope)
{
    if (activate)
        v = select4(v > 0, v, slope * v);
    if (gate)
        v = select4(load4(gate) > 0, v, slope * v);
    return v;
}

/* combine_block in 4-wide vectors: R outputs from O on x C vectors of 4
 * from J on; WZ holds the weights broadcast, 4 doubles each. */
static inline __attribute__((always_inline)) void combine4_block(int r, int c, int o, int j, int nin, int nout,
                                                                 const double *wz, const double *init,
                                                                 const double *in, int batch, double *out,
                                                                 int activate, const double *gate, double slope)
{
    v4 acc[4][4];
#pragma GCC unroll 4
    for (int k = 0; k < r; k++)
#pragma GCC unroll 4
        for (int q = 0; q < c; q++)
            acc[k][q] = (v4){0} + (init ? init[o + k] : 0.0);
    for (int i = 0; i < nin; i++) {
        const double *xi = in + (size_t)i * batch + j, *wi = wz + ((size_t)i * nout + o) * 4;
        v4 x[4];
#pragma GCC unroll 4
        for (int q = 0; q < c; q++)
            x[q] = load4(xi + q * 4);
#pragma GCC unroll 4
        for (int k = 0; k < r; k++) {
            v4 w = load4(wi + k * 4);
#pragma GCC unroll 4
            for (int q = 0; q < c; q++)
                acc[k][q] = madd4(w, x[q], acc[k][q]);
        }
    }
#pragma GCC unroll 4
    for (int k = 0; k < r; k++)
#pragma GCC unroll 4
        for (int q = 0; q < c; q++) {
            size_t at = (size_t)(o + k) * batch + j + (size_t)q * 4;
            store4(out + at, finish4(acc[k][q], gate ? gate + at : NULL, activate, slope));
        }
}

/* combine_body's outputs, bit for bit, in 4-wide vectors. */
static inline __attribute__((always_inline)) void combine4_body(int nout, int nin, const double *w, int so, int si,
                                                                const double *init, const double *in, int batch,
                                                                double *out, int activate, const double *gate,
                                                                double slope, double *wz)
{
    int full_j = batch - batch % 16, o = 0;
    if (full_j > 0)
        for (int i = 0; i < nin; i++)
            for (int k = 0; k < nout; k++)
                store4(wz + ((size_t)i * nout + k) * 4, (v4){0} + w[(size_t)k * so + (size_t)i * si]);
    for (; o + 3 <= nout; o += 3)
        for (int j = 0; j < full_j; j += 16)
            combine4_block(3, 4, o, j, nin, nout, wz, init, in, batch, out, activate, gate, slope);
    for (; o + 2 <= nout; o += 2)
        for (int j = 0; j < full_j; j += 16)
            combine4_block(2, 4, o, j, nin, nout, wz, init, in, batch, out, activate, gate, slope);
    for (; o < nout; o++)
        for (int j = 0; j < full_j; j += 16)
            combine4_block(1, 4, o, j, nin, nout, wz, init, in, batch, out, activate, gate, slope);
    for (o = 0; o < nout; o++) /* the batch entries past the last multiple of 16, as combine_body */
        for (int j = full_j; j < batch; j++) {
            double acc = init ? init[o] : 0.0;
            for (int i = 0; i < nin; i++)
                acc = __builtin_fma(w[(size_t)o * so + (size_t)i * si], in[(size_t)i * batch + j], acc);
            size_t at = (size_t)o * batch + j;
            out[at] = finish1(acc, gate ? gate + at : NULL, activate, slope);
        }
}

/* The N <= 4 doubles from P in lanes 0..N-1, zeros in the rest. */
static inline __attribute__((always_inline)) v4 load4_tail(const double *p, int n)
{
    double t[4] = {0};
    for (int k = 0; k < n; k++)
        t[k] = p[k];
    return load4(t);
}

/* Half H (lanes 4H..4H+3) of what outer_block stores for rows R0..R0+RR-1
 * (RR = 1 or 2) x columns C0..C0+CC-1 (CC = 1..3; SPLIT: the even and odd
 * chunks of 8 in separate lanes, added at the end) and, if WITH_B, the
 * rows' bias lanes: the same FMAs and additions lane by lane. */
static inline __attribute__((always_inline)) void outer4_half(int rr, int cc, int split, int with_b, int h, int r0,
                                                              int c0, int rows, int cols, const double *a,
                                                              const double *b, int batch, double *lanes_out)
{
    int full = batch - batch % 8, nt = batch - full - 4 * h, j = 0;
    const double *ar[2], *bc[3];
    v4 l[2][3], m[2][3], s[2];
#pragma GCC unroll 2
    for (int r = 0; r < rr; r++) {
        ar[r] = a + (size_t)(r0 + r) * batch + 4 * h;
        s[r] = (v4){0};
#pragma GCC unroll 3
        for (int c = 0; c < cc; c++)
            l[r][c] = m[r][c] = (v4){0};
    }
#pragma GCC unroll 3
    for (int c = 0; c < cc; c++)
        bc[c] = b + (size_t)(c0 + c) * batch + 4 * h;
    if (split)
        for (; j + 16 <= full; j += 16) {
            v4 x[2], y[2];
#pragma GCC unroll 2
            for (int r = 0; r < rr; r++) {
                x[r] = load4(ar[r] + j), y[r] = load4(ar[r] + j + 8);
                if (with_b)
                    s[r] = (s[r] + x[r]) + y[r];
            }
#pragma GCC unroll 3
            for (int c = 0; c < cc; c++) {
                v4 u = load4(bc[c] + j), w = load4(bc[c] + j + 8);
#pragma GCC unroll 2
                for (int r = 0; r < rr; r++)
                    l[r][c] = madd4(x[r], u, l[r][c]), m[r][c] = madd4(y[r], w, m[r][c]);
            }
        }
    for (; j < full; j += 8) {
        v4 x[2];
#pragma GCC unroll 2
        for (int r = 0; r < rr; r++) {
            x[r] = load4(ar[r] + j);
            if (with_b)
                s[r] += x[r];
        }
#pragma GCC unroll 3
        for (int c = 0; c < cc; c++) {
            v4 u = load4(bc[c] + j);
#pragma GCC unroll 2
            for (int r = 0; r < rr; r++)
                l[r][c] = madd4(x[r], u, l[r][c]);
        }
    }
    if (nt > 0) { /* this half's share of the last batch % 8 entries, masked as outer_block's */
        nt = nt < 4 ? nt : 4;
        m4 in_tail = (m4){0, 1, 2, 3} < nt;
        v4 x[2];
#pragma GCC unroll 2
        for (int r = 0; r < rr; r++) {
            x[r] = load4_tail(ar[r] + full, nt);
            if (with_b)
                s[r] = select4(in_tail, s[r] + x[r], s[r]);
        }
#pragma GCC unroll 3
        for (int c = 0; c < cc; c++) {
            v4 u = load4_tail(bc[c] + full, nt);
#pragma GCC unroll 2
            for (int r = 0; r < rr; r++)
                l[r][c] = select4(in_tail, madd4(x[r], u, l[r][c]), l[r][c]);
        }
    }
#pragma GCC unroll 2
    for (int r = 0; r < rr; r++) {
#pragma GCC unroll 3
        for (int c = 0; c < cc; c++)
            store4(lanes_out + ((size_t)(r0 + r) * cols + c0 + c) * LANES + 4 * h,
                   split ? l[r][c] + m[r][c] : l[r][c]);
        if (with_b)
            store4(lanes_out + ((size_t)rows * cols + r0 + r) * LANES + 4 * h, s[r]);
    }
}

/* outer_rows' lane vectors in 4-wide halves: the columns below
 * cols - cols % 4 in split pairs, the bias lanes with the first block. */
static inline __attribute__((always_inline)) void outer4_rows(int rr, int r0, int rows, int cols, const double *a,
                                                              const double *b, int batch, int with_b,
                                                              double *lanes_out)
{
    int full_c = cols - cols % 4;
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        for (int c = 0; c < full_c; c += 2)
            if (c == 0 && with_b)
                outer4_half(rr, 2, 1, 1, h, r0, c, rows, cols, a, b, batch, lanes_out);
            else
                outer4_half(rr, 2, 1, 0, h, r0, c, rows, cols, a, b, batch, lanes_out);
        switch ((cols - full_c) * 2 + (with_b && full_c == 0)) {
#define OUTER4_TAIL(n)                                                                                            \
    case 2 * n:                                                                                                   \
        outer4_half(rr, n, 0, 0, h, r0, full_c, rows, cols, a, b, batch, lanes_out);                              \
        break;                                                                                                    \
    case 2 * n + 1:                                                                                               \
        outer4_half(rr, n, 0, 1, h, r0, full_c, rows, cols, a, b, batch, lanes_out);                              \
        break;
            OUTER4_TAIL(1)
            OUTER4_TAIL(2)
            OUTER4_TAIL(3)
#undef OUTER4_TAIL
        }
    }
}

/* fold8 four vectors at a time: lane k of the result is fold(V[k]). */
static inline __attribute__((always_inline)) v4 fold4(const double *lanes)
{
    const m4 even = {0, 4, 2, 6}, odd = {1, 5, 3, 7}, low = {0, 1, 4, 5}, high = {2, 3, 6, 7};
    v4 q[2];
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) { /* lanes 0-3, then 4-7 */
        v4 a = load4(lanes + 4 * h), b = load4(lanes + LANES + 4 * h);
        v4 c = load4(lanes + 2 * LANES + 4 * h), d = load4(lanes + 3 * LANES + 4 * h);
        v4 ab = __builtin_shuffle(a, b, even) + __builtin_shuffle(a, b, odd); /* (a01, b01, a23, b23) */
        v4 cd = __builtin_shuffle(c, d, even) + __builtin_shuffle(c, d, odd);
        q[h] = __builtin_shuffle(ab, cd, low) + __builtin_shuffle(ab, cd, high); /* a01 + a23, ... */
    }
    return q[0] + q[1];
}

static inline __attribute__((always_inline)) void fold4_all(const double *lanes, size_t n, double *out)
{
    size_t k = 0;
    for (; k + 4 <= n; k += 4)
        store4(out + k, fold4(lanes + k * LANES));
    for (; k < n; k++) {
        const double *l = lanes + k * LANES;
        out[k] = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
    }
}

/* outer_body's sums, bit for bit, in 4-wide vectors. */
static inline __attribute__((always_inline)) void outer4_body(int rows, int cols, const double *a, const double *b,
                                                              int batch, double *g, double *gb, int zero_b,
                                                              double *lanes)
{
    int with_b = gb && !zero_b, r = 0;
    for (; r + 2 <= rows; r += 2)
        outer4_rows(2, r, rows, cols, a, b, batch, with_b, lanes);
    for (; r < rows; r++)
        outer4_rows(1, r, rows, cols, a, b, batch, with_b, lanes);
    fold4_all(lanes, (size_t)rows * cols, g);
    if (with_b)
        fold4_all(lanes + (size_t)rows * cols * LANES, (size_t)rows, gb);
    else if (gb)
        for (r = 0; r < rows; r++)
            gb[r] = 0.0;
}

#define COMBINE_PARAMS                                                                                            \
    (int nout, int nin, const double *w, int so, int si, const double *init, const double *in, int batch,          \
     double *out, int activate, const double *gate, double slope, double *wz)
/* AVX-512 and SSE2: the 8-wide kernels; AVX2: the 4-wide ones. SSE2
 * keeps the 8-wide ones: its lanes' FMAs are calls of fma() either way
 * (the 4-wide ones ran it no faster), and so the test of the builds' bits
 * compares the two kernel sets on every CPU with AVX2. */
ISA_VARIANTS_EACH(combine, COMBINE_PARAMS,
                  combine_body(nout, nin, w, so, si, init, in, batch, out, activate, gate, slope, wz),
                  combine4_body(nout, nin, w, so, si, init, in, batch, out, activate, gate, slope, wz),
                  combine_body(nout, nin, w, so, si, init, in, batch, out, activate, gate, slope, wz))
ISA_VARIANTS_EACH(outer, (int rows, int cols, const double *a, const double *b, int batch, double *g, double *gb,
                          int zero_b, double *lanes),
                  outer_body(rows, cols, a, b, batch, g, gb, zero_b, lanes),
                  outer4_body(rows, cols, a, b, batch, g, gb, zero_b, lanes),
                  outer_body(rows, cols, a, b, batch, g, gb, zero_b, lanes))

typedef void(*combine_fn) COMBINE_PARAMS;
typedef void (*outer_fn)(int, int, const double *, const double *, int, double *, double *, int, double *);

/* The ISA the kernels run: the widest this CPU has, unless a test forces
 * one (lyap_mlp_force_isa, variates.h). */
static lyap_variates_isa forced_isa = LYAP_ISA_UNKNOWN;

void lyap_mlp_force_isa(lyap_variates_isa isa)
{
    forced_isa = isa;
}

lyap_variates_isa lyap_mlp_isa(void)
{
    static lyap_variates_isa best = LYAP_ISA_UNKNOWN;
    if (best == LYAP_ISA_UNKNOWN)
        best = lyap_variates_best_isa();
    return forced_isa != LYAP_ISA_UNKNOWN ? forced_isa : best;
}

static combine_fn combine_kernel(void)
{
    lyap_variates_isa isa = lyap_mlp_isa();
    return isa == LYAP_ISA_AVX512 ? combine_avx512 : isa == LYAP_ISA_AVX2 ? combine_avx2 : combine_sse2;
}

static outer_fn outer_kernel(void)
{
    lyap_variates_isa isa = lyap_mlp_isa();
    return isa == LYAP_ISA_AVX512 ? outer_avx512 : isa == LYAP_ISA_AVX2 ? outer_avx2 : outer_sse2;
}

/* ---- the network ------------------------------------------------------------- */

void lyap_mlp_forward(const lyap_mlp_shape *s, const double *params, const double *x, int batch,
                      lyap_mlp_workspace *ws, double *y)
{
    combine_fn combine = combine_kernel();
    ws->input = x;
    const double *in = x;
    for (int i = 0; i < ws->layers; i++) {
        lyap_mlp_layer l = lyap_mlp_layer_of(s, i);
        combine(l.rows, l.cols, params + l.w, l.cols, 1, params + l.b, in, batch, ws->act[i], i <= s->depth, NULL,
                s->slope, ws->wz);
        in = ws->act[i];
    }
    memcpy(y, ws->act[ws->layers - 1], sizeof *y * (size_t)s->n_out * batch);
}

double lyap_mlp_backward(const lyap_mlp_shape *s, const double *params, const double *t, int batch,
                         lyap_mlp_workspace *ws, double *grad)
{
    combine_fn combine = combine_kernel();
    outer_fn outer = outer_kernel();
    int last = ws->layers - 1;
    size_t outputs = (size_t)s->n_out * batch;
    const double *y = ws->act[last];
    double loss = 0, scale = 2.0 / (double)outputs;
    for (size_t j = 0; j < outputs; j++) {
        double e = y[j] - t[j];
        loss += e * e;
        ws->delta[j] = scale * e;
    }
    for (int i = last; i >= 0; i--) {
        lyap_mlp_layer l = lyap_mlp_layer_of(s, i);
        const double *in = i > 0 ? ws->act[i - 1] : ws->input;
        outer(l.rows, l.cols, ws->delta, in, batch, grad + l.w, grad + l.b, !s->biases, ws->lanes);
        if (i == 0)
            break;
        /* back = W^T delta (rows ascending), through phi' of layer i - 1 */
        combine(l.cols, l.rows, params + l.w, 1, l.cols, NULL, ws->delta, batch, ws->back, 0, in, s->slope, ws->wz);
        double *swap = ws->delta;
        ws->delta = ws->back;
        ws->back = swap;
    }
    return loss / (double)outputs;
}

static double column_norm(const double *a, int rows, int batch, int j)
{
    double q = 0;
    for (int r = 0; r < rows; r++)
        q += a[(size_t)r * batch + j] * a[(size_t)r * batch + j];
    return sqrt(q);
}

double lyap_mlp_log_gain(const lyap_mlp_shape *s, int batch, const lyap_mlp_workspace *ws)
{
    double total = 0;
    for (int j = 0; j < batch; j++)
        total += log(column_norm(ws->act[s->depth], s->width, batch, j) / column_norm(ws->act[0], s->width, batch, j));
    return total / batch;
}

const double *lyap_mlp_activations(const lyap_mlp_workspace *ws, int i)
{
    return ws->act[i];
}
