/* biaslaw.c: the exact law of y_l = log q_l for a network with biases and
 * gaussian weights (THEORY.md "Biases"), layer by layer on a moving grid;
 * see biaslaw.h.
 *
 * The law of Z = log S is depthlaw's law of one bias-free layer at grid
 * variance s2 = d, where log r = 0.5 log S: its bins (exact CDF differences,
 * mean exactly E log S) scaled by 2, so dy = 2 dx. At a = 0 they are
 * conditional on survival and carry mass 1 - 2^-d here.
 *
 * One layer, y -> G(y) + Z:
 *  - Push through G by the change of variables in CDF form: target bin j
 *    gets F(G^-1(upper edge)) - F(G^-1(lower edge)), F the source CDF with
 *    each bin's mass spread over the bin. This conserves mass, needs no
 *    density (G' -> 0 far left, where whole tails pile into a few bins), and
 *    is exact wherever G is a shift: the target grid is the source grid
 *    moved by log(s2/d), and G(y) = y + log(s2/d) + log1p(sb2 d e^-y/s2),
 *    so in bin units target edge j comes from source coordinate
 *    j + log1p(-sb2 e^-e)/dy, = j when sb2 e^-e underflows (or sb2 = 0).
 *    The grid origin is a double that moves by a non-integer number of bins.
 *  - Convolve with Z by FFT: zero padding to an FFT length (depthlaw's
 *    7-smooth sizes) of at least the output, so nothing wraps; the length
 *    only grows (by >= 25% at a time, so O(log) plans), and Z's spectrum is
 *    redone with it. FFTW_ESTIMATE plans: the same arithmetic on every run.
 *  - Cut the tails below TRIM per side into lost_lo / lost_hi; FFT rounding
 *    leaves ~1e-17 of either sign in empty bins: negatives become 0.
 */
#include <complex.h> /* before fftw3.h: fftw_complex is then double complex */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "lyapdiag/biaslaw.h"
#include "lyapdiag/depthlaw.h"
#include "lyapdiag/error.h"

static const double TRIM = 1e-16;    /* tail mass cut per side and layer (also Z's own tails) */
static const double FFT_GROWTH = 1.25; /* a new FFT length is at least this times the last */
static const int64_t MAX_POINTS = INT64_C(1) << 22;

/* A law of y on the grid: bin i centred at first + i dy, plus the mass off it. */
typedef struct {
    int depth;
    double first;
    int64_t n;
    double *p;                    /* n masses */
    double *cum;                  /* n + 1 partial sums (recorded laws) */
    double dead, lost_lo, lost_hi;
} grid_law;

struct lyap_biaslaw {
    int d, nrec;
    double a, s2, sb2;
    double log_shift;      /* log(s2/d): G(y) = y + log_shift + log1p(e^(log_ratio - y)) */
    double log_ratio;      /* log(sb2 d/s2) (-inf without biases) */
    double log_sb2;        /* G(-inf) */
    double dy, death;      /* spacing; P(S = 0) per layer */
    double z_first;        /* Z: bin i at z_first + i dy, alive part */
    int64_t nz;
    double *z, z_lost_lo, z_lost_hi;
    int64_t nfft;          /* FFT length (0 before the first) */
    double *real;          /* nfft: FFT input and output */
    fftw_complex *spec, *zspec; /* nfft/2 + 1 */
    fftw_plan forward, inverse;
    grid_law now;          /* the current layer; now.p holds nfft */
    grid_law *rec;         /* the recorded depths */
    int64_t peak_fft;
};

/* ---- arguments ----------------------------------------------------------------- */

static int check_args(int d, double a, double s2, double sb2, double m0, const int *depths, int ndepths)
{
    if (d < 1)
        return lyap_fail(LYAP_EDECK, "biaslaw: width d = %d must be >= 1", d);
    if (!(a >= 0.0 && a <= 1.0))
        return lyap_fail(LYAP_EDECK, "biaslaw: slope a = %g must be in [0, 1]", a);
    if (!(s2 > 0.0 && isfinite(s2)))
        return lyap_fail(LYAP_EDECK, "biaslaw: variance s2 = %g must be finite and > 0", s2);
    if (!(sb2 >= 0.0 && isfinite(sb2)))
        return lyap_fail(LYAP_EDECK, "biaslaw: bias variance sb2 = %g must be finite and >= 0", sb2);
    if (!(m0 >= 0.0 && isfinite(m0)) || !(s2 * m0 + sb2 > 0.0))
        return lyap_fail(LYAP_EDECK, "biaslaw: input m0 = %g must be finite, >= 0, and > 0 without biases", m0);
    if (ndepths < 1)
        return lyap_fail(LYAP_EDECK, "biaslaw: no recorded depth");
    for (int i = 0; i < ndepths; i++)
        if (depths[i] < 1 || (i > 0 && depths[i] <= depths[i - 1]))
            return lyap_fail(LYAP_EDECK, "biaslaw: recorded depths must be ascending and >= 1 (%d after %d)",
                             depths[i], i > 0 ? depths[i - 1] : 0);
    return LYAP_OK;
}

/* ---- grids ------------------------------------------------------------------------ */

/* log(1 + e^x) without overflow (x = -inf gives 0). */
static double softplus(double x)
{
    return x > 30.0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* Cuts the tails of P[0..*N) that hold at most TRIM on each side (negatives
 * from rounding count as 0 and become 0), adding them to *LO and *HI;
 * returns the index of the first bin kept. */
static int64_t trim(double *p, int64_t *n, double *lo, double *hi)
{
    int64_t first = 0, last = *n - 1;
    double cut = 0.0;
    for (; first <= last && cut + (p[first] > 0.0 ? p[first] : 0.0) <= TRIM; first++)
        cut += p[first] > 0.0 ? p[first] : 0.0;
    *lo += cut;
    cut = 0.0;
    for (; last >= first && cut + (p[last] > 0.0 ? p[last] : 0.0) <= TRIM; last--)
        cut += p[last] > 0.0 ? p[last] : 0.0;
    *hi += cut;
    for (int64_t i = first; i <= last; i++)
        p[i] = p[i] > 0.0 ? p[i] : 0.0;
    *n = last - first + 1;
    return first;
}

static double total(const double *p, int64_t n)
{
    double s = 0.0;
    for (int64_t i = 0; i < n; i++)
        s += p[i];
    return s;
}

/* Z = log S: depthlaw's one layer at s2 = d is 0.5 Z (header). */
static int make_z(lyap_biaslaw *law)
{
    lyap_depthlaw *one = NULL;
    lyap_depthlaw_summary s;
    double first, dx;
    const double *pmf;
    int64_t n;
    LYAP_CALL(lyap_depthlaw_create(LYAP_FAMILY_GAUSSIAN, law->d, law->a, (double)law->d, 1, &one));
    int status = lyap_depthlaw_summarize(one, 1, &s);
    if (status == LYAP_OK)
        status = lyap_depthlaw_bins(one, 1, &first, &dx, &n, &pmf);
    if (status == LYAP_OK && n == 0)
        status = lyap_fail(LYAP_EINTERNAL, "biaslaw: depthlaw gave a point mass for gaussian weights");
    if (status == LYAP_OK)
        status = lyap_alloc(&law->z, (size_t)n, sizeof *law->z, "biaslaw: law of one layer");
    if (status == LYAP_OK) {
        law->death = 1.0 - s.survival;
        for (int64_t i = 0; i < n; i++)
            law->z[i] = s.survival * pmf[i];
        int64_t skip = trim(law->z, &n, &law->z_lost_lo, &law->z_lost_hi);
        memmove(law->z, law->z + skip, (size_t)n * sizeof *law->z);
        law->nz = n;
        law->dy = 2.0 * dx;
        law->z_first = 2.0 * (first + (double)skip * dx);
    }
    lyap_depthlaw_destroy(&one);
    return status;
}

/* Makes the FFT length at least NEED: new arrays and plans, Z's spectrum,
 * and the current law moved into a buffer of the new length. */
static int ensure_fft(lyap_biaslaw *law, int64_t need)
{
    if (need <= law->nfft)
        return LYAP_OK;
    if (need > MAX_POINTS)
        return lyap_fail(LYAP_EDECK, "biaslaw: the law needs %lld grid points (> 2^22) at d = %d, a = %g, "
                         "s2 = %g, sb2 = %g; lower the largest depth", (long long)need, law->d, law->a,
                         law->s2, law->sb2);
    int64_t n = lyap_depthlaw_fft_length((int64_t)fmax((double)need, ceil(FFT_GROWTH * law->nfft)));
    int64_t nc = n / 2 + 1;
    double *p;
    LYAP_CALL(lyap_alloc(&p, (size_t)n, sizeof *p, "biaslaw: law of one depth"));
    if (law->now.p)
        memcpy(p, law->now.p, (size_t)law->now.n * sizeof *p);
    free(law->now.p);
    law->now.p = p;
    if (law->forward)
        fftw_destroy_plan(law->forward);
    if (law->inverse)
        fftw_destroy_plan(law->inverse);
    law->forward = law->inverse = NULL;
    fftw_free(law->real);
    fftw_free(law->spec);
    fftw_free(law->zspec);
    law->nfft = n;
    law->real = fftw_alloc_real((size_t)n);
    law->spec = fftw_alloc_complex((size_t)nc);
    law->zspec = fftw_alloc_complex((size_t)nc);
    if (!law->real || !law->spec || !law->zspec)
        return lyap_fail(LYAP_ENOMEM, "biaslaw: cannot allocate FFTW arrays of %lld points", (long long)n);
    law->forward = fftw_plan_dft_r2c_1d((int)n, law->real, law->spec, FFTW_ESTIMATE);
    law->inverse = fftw_plan_dft_c2r_1d((int)n, law->spec, law->real, FFTW_ESTIMATE);
    if (!law->forward || !law->inverse)
        return lyap_fail(LYAP_EMATH, "biaslaw: FFTW cannot plan a transform of %lld points", (long long)n);
    memset(law->real, 0, (size_t)n * sizeof *law->real);
    memcpy(law->real, law->z, (size_t)law->nz * sizeof *law->real);
    fftw_execute(law->forward);
    for (int64_t k = 0; k < nc; k++) /* with FFTW's factor n of a round trip divided out */
        law->zspec[k] = law->spec[k] / (double)n;
    law->peak_fft = n;
    return LYAP_OK;
}

/* ---- one layer -------------------------------------------------------------------- */

/* The source law read left to right in bin coordinates (bin i spans
 * [i, i+1), its mass spread evenly): each call returns the mass between
 * the previous position and U. Masses are summed bin by bin, never taken
 * as differences of a CDF, so small right tails keep their digits, and a
 * target edge at a whole number takes whole bins (exact where G is a shift). */
typedef struct {
    const double *p;
    int64_t n;
    double at; /* position reached, in [0, n] */
} mass_sweep;

static double mass_to(mass_sweep *c, double u)
{
    double mass = 0.0;
    u = u < (double)c->n ? u : (double)c->n;
    while (c->at < u) { /* nothing for u <= at (-inf included) */
        int64_t i = (int64_t)c->at;
        double end = u < (double)(i + 1) ? u : (double)(i + 1);
        mass += c->p[i] * (end - c->at);
        c->at = end;
    }
    return mass;
}

/* Pushes the current law through G into law->real[0..*m) (target bin j at
 * *base + j dy), the dead mass revived at log sb2 included when it is kept;
 * returns LYAP_OK after sizing the FFT for the convolution. *PUSHED is the
 * mass pushed. */
static int push(lyap_biaslaw *law, double *base, int64_t *m, double *pushed)
{
    grid_law *s = &law->now;
    double dy = law->dy, b = s->first + law->log_shift;
    /* G(y) - (y + log_shift), at the source's bottom and top edges */
    double d_lo = softplus(law->log_ratio - (s->first - 0.5 * dy));
    double d_hi = softplus(law->log_ratio - (s->first + ((double)s->n - 0.5) * dy));
    int64_t j0 = (int64_t)floor(d_lo / dy) - 1, j1 = s->n + (int64_t)ceil(d_hi / dy) + 1;
    j0 = j0 < 0 ? 0 : j0;
    double revive = law->sb2 > 0.0 ? s->dead : 0.0, x_dead = 0.0;
    if (revive > TRIM) { /* at log sb2, below everything G maps to */
        x_dead = (law->log_sb2 - b) / dy;
        j0 = (int64_t)floor(x_dead) < j0 ? (int64_t)floor(x_dead) : j0;
    } else {
        s->lost_lo += revive;
        revive = 0.0;
    }
    *m = j1 - j0;
    LYAP_CALL(ensure_fft(law, *m + law->nz - 1));
    double *t = law->real;
    memset(t, 0, (size_t)law->nfft * sizeof *t);
    mass_sweep c = {law->now.p, law->now.n, 0.0};
    /* Target edge e takes source coordinate j + 1 + log1p(-t)/dy, t = sb2 e^-e
     * (G^-1(e) = -inf for t >= 1), t falling by e^-dy a bin. Below WHOLE the
     * correction is under half an ulp of j + 1: from there on G is a shift
     * and bins map onto bins. */
    double shrink = exp(-dy), inv_dy = 1.0 / dy, whole = 0x1p-54 * dy, t_e = INFINITY;
    *pushed = revive;
    for (int64_t j = j0; j < j1; j++) {
        t_e = t_e >= 1.0 ? exp(law->log_sb2 - (b + ((double)j + 0.5) * dy)) : t_e * shrink;
        double u = (double)j + 1.0 + (t_e < whole ? 0.0 : log1p(-t_e) * inv_dy);
        t[j - j0] = t_e >= 1.0 ? 0.0 : mass_to(&c, u);
        *pushed += t[j - j0];
        if (t_e < whole && j + 1 < s->n) {
            memcpy(t + (j + 1 - j0), s->p + j + 1, (size_t)(s->n - j - 1) * sizeof *t);
            *pushed += total(s->p + j + 1, s->n - j - 1);
            break;
        }
    }
    if (revive > 0.0) { /* split between the two nearest bins: the mean stays exact */
        int64_t k = (int64_t)floor(x_dead) - j0;
        double frac = x_dead - floor(x_dead);
        t[k] += (1.0 - frac) * revive;
        t[k + 1] += frac * revive;
    }
    *base = b + (double)j0 * dy;
    return LYAP_OK;
}

static int step(lyap_biaslaw *law)
{
    grid_law *s = &law->now;
    double base, pushed, alive = total(s->p, s->n);
    int64_t m;
    LYAP_CALL(push(law, &base, &m, &pushed));
    /* A layer with S = 0 kills what it receives: with biases that is all
     * of it (the dead revive first), without them the living only. */
    s->dead = law->sb2 > 0.0 ? law->death * pushed : s->dead + law->death * alive;
    s->lost_lo += pushed * law->z_lost_lo;
    s->lost_hi += pushed * law->z_lost_hi;
    int64_t nc = law->nfft / 2 + 1, nout = m + law->nz - 1;
    fftw_execute(law->forward);
    for (int64_t k = 0; k < nc; k++)
        law->spec[k] *= law->zspec[k];
    fftw_execute(law->inverse);
    int64_t skip = trim(law->real, &nout, &s->lost_lo, &s->lost_hi);
    memcpy(s->p, law->real + skip, (size_t)nout * sizeof *s->p);
    s->n = nout;
    s->first = base + law->z_first + (double)skip * law->dy;
    return LYAP_OK;
}

/* Law of y_1 = log(s2 m0 + sb2) + Z: Z moved, no binning. */
static int first_layer(lyap_biaslaw *law, double m0)
{
    LYAP_CALL(ensure_fft(law, law->nz));
    grid_law *s = &law->now;
    memcpy(s->p, law->z, (size_t)law->nz * sizeof *s->p);
    s->n = law->nz;
    s->first = log(law->s2 * m0 + law->sb2) + law->z_first;
    s->dead = law->death;
    s->lost_lo = law->z_lost_lo;
    s->lost_hi = law->z_lost_hi;
    return LYAP_OK;
}

static int record(lyap_biaslaw *law, grid_law *r, int depth)
{
    const grid_law *s = &law->now;
    *r = *s;
    r->depth = depth;
    r->p = NULL;
    LYAP_CALL(lyap_alloc(&r->p, (size_t)s->n, sizeof *r->p, "biaslaw: recorded law"));
    LYAP_CALL(lyap_alloc(&r->cum, (size_t)s->n + 1, sizeof *r->cum, "biaslaw: recorded CDF"));
    memcpy(r->p, s->p, (size_t)s->n * sizeof *r->p);
    for (int64_t i = 0; i < s->n; i++)
        r->cum[i + 1] = r->cum[i] + r->p[i];
    return LYAP_OK;
}

static int build(lyap_biaslaw *law, double m0, const int *depths, int ndepths)
{
    LYAP_CALL(make_z(law));
    LYAP_CALL(lyap_alloc(&law->rec, (size_t)ndepths, sizeof *law->rec, "biaslaw: recorded depths"));
    LYAP_CALL(first_layer(law, m0));
    for (int l = 1, r = 0; r < ndepths; l++) {
        if (l > 1)
            LYAP_CALL(step(law));
        if (l == depths[r]) {
            law->nrec = r + 1; /* before record: destroy frees what it allocated */
            LYAP_CALL(record(law, &law->rec[r++], l));
        }
    }
    return LYAP_OK;
}

/* ---- queries ------------------------------------------------------------------------ */

/* The recorded law at DEPTH, or NULL with the message recorded. */
static const grid_law *find(const lyap_biaslaw *law, int depth)
{
    for (int r = 0; r < law->nrec; r++)
        if (law->rec[r].depth == depth)
            return &law->rec[r];
    lyap_fail(LYAP_EDECK, "biaslaw: depth %d was not recorded", depth);
    return NULL;
}

int lyap_biaslaw_create(int d, double a, double s2, double sb2, double m0, const int *depths, int ndepths,
                        lyap_biaslaw **out)
{
    lyap_biaslaw *law;
    *out = NULL;
    LYAP_CALL(check_args(d, a, s2, sb2, m0, depths, ndepths));
    LYAP_CALL(lyap_alloc(&law, 1, sizeof *law, "biaslaw: workspace"));
    law->d = d;
    law->a = a;
    law->s2 = s2;
    law->sb2 = sb2;
    law->log_shift = log(s2 / d);
    law->log_sb2 = log(sb2);
    law->log_ratio = law->log_sb2 - law->log_shift;
    int status = build(law, m0, depths, ndepths);
    if (status != LYAP_OK) {
        lyap_biaslaw_destroy(&law);
        return status;
    }
    *out = law;
    return LYAP_OK;
}

int lyap_biaslaw_quantile(const lyap_biaslaw *law, int depth, double q, double *m, double *log_m)
{
    if (!(q >= 0.0 && q <= 1.0))
        return lyap_fail(LYAP_EDECK, "biaslaw: quantile level q = %g must be in [0, 1]", q);
    const grid_law *r = find(law, depth);
    if (!r)
        return LYAP_EDECK;
    double y, left = r->first - 0.5 * law->dy, target = q - r->dead - r->lost_lo;
    int64_t lo = 0, hi = r->n; /* invariant: cum[lo] <= target < cum[hi] */
    if (q <= r->dead && r->dead > 0.0)
        y = -INFINITY;
    else if (target <= 0.0)
        y = left;
    else if (target >= r->cum[hi])
        y = left + (double)hi * law->dy;
    else {
        while (hi - lo > 1) {
            int64_t mid = lo + (hi - lo) / 2;
            if (r->cum[mid] <= target)
                lo = mid;
            else
                hi = mid;
        }
        y = left + ((double)lo + (target - r->cum[lo]) / (r->cum[lo + 1] - r->cum[lo])) * law->dy;
    }
    if (log_m)
        *log_m = y - log((double)law->d);
    if (m)
        *m = exp(y - log((double)law->d));
    return LYAP_OK;
}

int lyap_biaslaw_cdf(const lyap_biaslaw *law, int depth, double log_m, double *p)
{
    if (isnan(log_m))
        return lyap_fail(LYAP_EDECK, "biaslaw: CDF at NaN");
    const grid_law *r = find(law, depth);
    if (!r)
        return LYAP_EDECK;
    double u = (log_m + log((double)law->d) - r->first) / law->dy + 0.5; /* bin i spans [i, i+1) */
    double below = r->dead;
    if (u > 0.0) {
        below += r->lost_lo;
        if (u >= (double)r->n)
            below += r->cum[r->n];
        else {
            int64_t i = (int64_t)u;
            below += r->cum[i] + r->p[i] * (u - (double)i);
        }
    }
    *p = fmin(1.0, fmax(0.0, below));
    return LYAP_OK;
}

int lyap_biaslaw_summarize(const lyap_biaslaw *law, int depth, lyap_biaslaw_summary *out)
{
    const grid_law *r = find(law, depth);
    if (!r)
        return LYAP_EDECK;
    double mean = 0.0, log_d = log((double)law->d);
    for (int64_t i = 0; i < r->n; i++)
        mean += r->p[i] * (double)i;
    out->dead = r->dead;
    out->mass = r->cum[r->n];
    out->lost_lo = r->lost_lo;
    out->lost_hi = r->lost_hi;
    out->mean_log_m = r->first + mean / out->mass * law->dy - log_d;
    out->lo = r->first - 0.5 * law->dy - log_d;
    out->hi = out->lo + (double)r->n * law->dy;
    out->dy = law->dy;
    out->points = r->n;
    out->fft_points = law->peak_fft;
    return LYAP_OK;
}

void lyap_biaslaw_destroy(lyap_biaslaw **law)
{
    if (!law || !*law)
        return;
    lyap_biaslaw *w = *law;
    if (w->forward)
        fftw_destroy_plan(w->forward);
    if (w->inverse)
        fftw_destroy_plan(w->inverse);
    fftw_free(w->real);
    fftw_free(w->spec);
    fftw_free(w->zspec);
    free(w->z);
    free(w->now.p);
    for (int r = 0; w->rec && r < w->nrec; r++) {
        free(w->rec[r].p);
        free(w->rec[r].cum);
    }
    free(w->rec);
    free(w);
    *law = NULL;
}
