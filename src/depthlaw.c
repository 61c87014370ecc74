/* depthlaw.c: the exact law of S_L = log(|x_L|/|x_0|) at finite depth for
 * gaussian and orthogonal weights (THEORY.md "Finite depth"), by FFT
 * convolution powers of the binned law of one layer.
 *
 * One layer (THEORY.md "Exact values"): log r = c0 + A (+ B for gaussian),
 *   A = 0.5 h = 0.5 log(a^2 + (1 - a^2) T_K)  in [log a, 0]  (the slope part),
 *   B = 0.5 log chi2_d, independent of A      (gaussian only),
 * c0 = 0.5 log(s2/d) (gaussian) or 0.5 log s2 (orthogonal). Each part is
 * binned on centres j*dx from its CDFs, never from density samples: the
 * Beta(k/2, (d-k)/2) densities of T have integrable endpoint singularities
 * at k = 1 and k = d-1, and A has atoms at log a (K = 0) and 0 (K = d),
 * which dx puts exactly on bin centres (unless A spans under half a bin). The parts combine by multiplying
 * spectra. The binned law sits at c0 + J*dx; shifting it by
 * mean_shift = lambda - (c0 + mu*dx), mu its mean index, makes its mean
 * exactly lambda, so S_L's mean is L*lambda however deep (without the shift
 * a per-layer binning bias would grow like L). Index J of S_L therefore sits
 * at L*lambda + (J - L*mu)*dx: s2 enters only through lambda (homogeneity,
 * THEORY.md "The sharp boundary"), the grid and spectrum do not depend on it.
 *
 * The circular window (FFT length n) covers L*mu - left .. L*mu + right bins
 * at every depth up to max_depth, with left and right from a Chernoff bound
 * on the binned law: the mass folded back is below 1e-15 per side (the
 * header promises 1e-14). The sizes are 7-smooth, planned once per workspace with
 * FFTW_ESTIMATE (microseconds, no measuring runs), and the per-layer
 * spectrum is kept: a depth costs one complex power and one inverse FFT.
 */
#include <complex.h> /* before fftw3.h: fftw_complex is then double complex */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>

#include "lyapdiag/depthlaw.h"
#include "lyapdiag/error.h"
#include "lyapdiag/theory.h"

static const double BINS_PER_SD = 32.0; /* dx <= sqrt(v)/32: binning adds <= v/12288 per part */
static const double WEIGHT_MIN = 1e-18; /* binomial weights below: dropped (THEORY.md) */
static const double TAIL_CUT = 1e-20;   /* per-layer tail mass a bin scan leaves out */
static const double WRAP_EPS = 1e-15;   /* Chernoff bound on folded mass, per side */
static const double THETA_STEP = 1.15;  /* geometric grid of the Chernoff minimisation */
static const int64_t PAD_BINS = 8;      /* beyond the Chernoff reach, each side */
static const int64_t MAX_POINTS = INT64_C(1) << 22;

struct lyap_depthlaw {
    lyap_family f;
    int d, max_depth;
    double a, s2;
    double lambda, v;    /* per layer, conditional on survival at a = 0 */
    double death;        /* per-layer death probability: 2^-d at a = 0, else 0 */
    double dx;           /* grid spacing (natural log units); 0 for a point mass */
    double mu;           /* mean grid index of one layer (binned law) */
    double mean_shift;   /* lambda - (c0 + mu*dx): see the file comment */
    int64_t jc;          /* one layer's index offset in the circular array (~ mu) */
    int64_t left;        /* window bins left of L*mu */
    int64_t n;           /* FFT length = window bins; 0 for a point mass */
    double *real;        /* n reals: FFT input/output */
    fftw_complex *work;  /* n/2+1: spectrum of S_L (c2r destroys it) */
    fftw_complex *layer; /* n/2+1: spectrum of one layer */
    fftw_plan forward, inverse;
    /* The law at the cached depth (0: none), conditional on survival. */
    int depth;
    double first;            /* centre of window bin 0; the atom for a point mass */
    double mass, mean, variance; /* of the discrete law */
    double *pmf, *cum, *tail; /* n, n+1, n+1: bin masses, sums below and from bin i */
};

/* ---- arguments and per-layer moments ------------------------------------------ */

/* Gaussian theory: log r has a chi2_d part beside the slope part (THEORY.md). */
static int chi2_norm(const lyap_depthlaw *law)
{
    return lyap_family_info_of(law->f)->theory == LYAP_THEORY_GAUSSIAN;
}

static int check_args(lyap_family f, int d, double a, double s2, int max_depth)
{
    const lyap_family_info *info = lyap_family_info_of(f);
    if (!info || !info->exact_law)
        return lyap_fail(LYAP_EDECK, "depthlaw: no exact law for %s; only rotation-invariant families "
                         "have i.i.d. layers (THEORY.md \"Finite depth\")", lyap_family_name(f));
    if (d < 1)
        return lyap_fail(LYAP_EDECK, "depthlaw: width d = %d must be >= 1", d);
    if (!(a >= 0.0 && a <= 1.0))
        return lyap_fail(LYAP_EDECK, "depthlaw: slope a = %g must be in [0, 1]", a);
    if (!(s2 > 0.0 && isfinite(s2)))
        return lyap_fail(LYAP_EDECK, "depthlaw: variance s2 = %g must be finite and > 0", s2);
    if (max_depth < 1)
        return lyap_fail(LYAP_EDECK, "depthlaw: largest depth %d must be >= 1", max_depth);
    return LYAP_OK;
}

static int gsl_ok(int status, const char *what, double x)
{
    if (status == GSL_SUCCESS)
        return LYAP_OK;
    return lyap_fail(LYAP_EMATH, "depthlaw: %s(%g) failed: %s", what, x, gsl_strerror(status));
}

static int psi_and_trigamma(double x, double *psi, double *psi1)
{
    gsl_sf_result r;
    LYAP_CALL(gsl_ok(gsl_sf_psi_e(x, &r), "gsl_sf_psi", x));
    *psi = r.val;
    LYAP_CALL(gsl_ok(gsl_sf_psi_1_e(x, &r), "gsl_sf_psi_1", x));
    *psi1 = r.val;
    return LYAP_OK;
}

/* C(d, k) 2^-d, or 0 below WEIGHT_MIN (dropped; the parts are renormalised). */
static int binomial_weight(int d, int k, double *w)
{
    gsl_sf_result r;
    LYAP_CALL(gsl_ok(gsl_sf_lnchoose_e((unsigned)d, (unsigned)k, &r), "gsl_sf_lnchoose", k));
    *w = exp(r.val - d * M_LN2);
    if (*w < WEIGHT_MIN)
        *w = 0.0;
    return LYAP_OK;
}

/* ReLU: lambda and v of one layer given that it survives (K >= 1). Then
 * h = log T_K with E log T_k = psi(k/2) - psi(d/2) and
 * Var log T_k = psi_1(k/2) - psi_1(d/2) (Beta(k/2, (d-k)/2); both 0 at k = d). */
static int relu_moments(lyap_depthlaw *law)
{
    int d = law->d;
    double psi_d, psi1_d, sum_w = 0.0, sum_e = 0.0, sum_sq = 0.0;
    LYAP_CALL(psi_and_trigamma(0.5 * d, &psi_d, &psi1_d));
    for (int pass = 0; pass < 2; pass++) /* the mean, then the centred second moment */
        for (int k = 1; k <= d; k++) {
            double w, psi_k, psi1_k;
            LYAP_CALL(binomial_weight(d, k, &w));
            if (w == 0.0)
                continue;
            LYAP_CALL(psi_and_trigamma(0.5 * k, &psi_k, &psi1_k));
            double e = psi_k - psi_d;
            if (pass == 0) {
                sum_w += w;
                sum_e += w * e;
            } else {
                double c = e - sum_e / sum_w;
                sum_sq += w * ((psi1_k - psi1_d) + c * c);
            }
        }
    double m_h = sum_e / sum_w, v_h = sum_sq / sum_w;
    if (chi2_norm(law)) { /* as theory.c: psi(d/2) - log(d/2) keeps digits */
        law->lambda = 0.5 * (log(law->s2) + (psi_d - log(0.5 * d)) + m_h);
        law->v = 0.25 * (psi1_d + v_h);
    } else {
        law->lambda = 0.5 * (log(law->s2) + m_h);
        law->v = 0.25 * v_h;
    }
    return LYAP_OK;
}

static int layer_moments(lyap_depthlaw *law)
{
    law->death = lyap_theory_death_probability(law->f, law->d, law->a);
    if (law->a == 0.0)
        return relu_moments(law);
    return lyap_theory_exact(law->f, law->d, law->a, law->s2, &law->lambda, &law->v, NULL);
}

/* sqrt(v)/BINS_PER_SD, made to divide |log a| when the slope part spans at
 * least half a bin: its atoms at log a and 0 then sit on bin centres, so
 * they carry no binning error (d = 1 is all atoms). */
static double grid_spacing(double v, double a)
{
    double dx = sqrt(v) / BINS_PER_SD, range = -log(a);
    if (a > 0.0 && range >= 0.5 * dx)
        dx = range / ceil(range / dx);
    return dx;
}

/* ---- binned parts of one layer ------------------------------------------------ */

/* Masses on grid indices: p[j - lo] for j in [lo, hi), grown on demand. */
typedef struct {
    double *p;
    int64_t lo, hi;
    int64_t first, last; /* nonzero range */
    double mean;         /* mean index once normalised */
} part;

static int part_add(part *c, int64_t j, double mass)
{
    if (!(mass > 0.0)) /* a difference of CDFs: 0 or rounding below it */
        return LYAP_OK;
    if (!c->p || j < c->lo || j >= c->hi) {
        int64_t lo = c->p ? c->lo : j, hi = c->p ? c->hi : j + 1, grow = hi - lo + 64;
        int64_t nlo = j < lo ? j - grow : lo, nhi = j >= hi ? j + 1 + grow : hi;
        if (nhi - nlo > MAX_POINTS)
            return lyap_fail(LYAP_EDECK, "depthlaw: one layer's law spans more than 2^22 bins "
                             "(slope too close to 0?)");
        double *p;
        LYAP_CALL(lyap_alloc(&p, (size_t)(nhi - nlo), sizeof *p, "depthlaw: binned layer"));
        if (c->p)
            memcpy(p + (lo - nlo), c->p, (size_t)(hi - lo) * sizeof *p);
        else
            c->first = c->last = j;
        free(c->p);
        c->p = p;
        c->lo = nlo;
        c->hi = nhi;
    }
    c->p[j - c->lo] += mass;
    c->first = j < c->first ? j : c->first;
    c->last = j > c->last ? j : c->last;
    return LYAP_OK;
}

/* A continuous law of Y binned on centres j*dx: lower(y) = P(Y <= y) and
 * upper(y) = P(Y > y), each accurate (relatively) in its own tail. */
typedef struct {
    double (*lower)(double y, const void *ctx);
    double (*upper)(double y, const void *ctx);
    const void *ctx;
} cdf_pair;

static int finite_cdf(double p, double y)
{
    if (isfinite(p))
        return LYAP_OK;
    return lyap_fail(LYAP_EMATH, "depthlaw: a GSL CDF returned %g at %g", p, y);
}

/* Adds WEIGHT times the law of Y to C: the bin JC first, then outward until
 * the weighted tail beyond is below TAIL_CUT (that remainder is dropped). */
static int part_add_law(part *c, const cdf_pair *law, int64_t jc, double weight, double dx)
{
    double below = law->lower((jc - 0.5) * dx, law->ctx);
    double above = law->upper((jc + 0.5) * dx, law->ctx);
    LYAP_CALL(finite_cdf(below + above, jc * dx));
    LYAP_CALL(part_add(c, jc, weight * (1.0 - below - above)));
    for (int64_t j = jc - 1; weight * below > TAIL_CUT; j--) {
        double next = law->lower((j - 0.5) * dx, law->ctx);
        LYAP_CALL(finite_cdf(next, (j - 0.5) * dx));
        LYAP_CALL(part_add(c, j, weight * (below - next)));
        below = next;
    }
    for (int64_t j = jc + 1; weight * above > TAIL_CUT; j++) {
        double next = law->upper((j + 0.5) * dx, law->ctx);
        LYAP_CALL(finite_cdf(next, (j + 0.5) * dx));
        LYAP_CALL(part_add(c, j, weight * (above - next)));
        above = next;
    }
    return LYAP_OK;
}

/* Normalises C to total mass 1 (the dropped weights and tails, and at
 * a = 0 the dead mass: the law is then conditional on survival) and sets
 * its mean index. */
static int part_finish(part *c)
{
    double total = 0.0, mean = 0.0;
    if (!c->p)
        return lyap_fail(LYAP_EINTERNAL, "depthlaw: a binned part has no mass");
    for (int64_t j = c->first; j <= c->last; j++)
        total += c->p[j - c->lo];
    for (int64_t j = c->first; j <= c->last; j++) {
        c->p[j - c->lo] /= total;
        mean += (double)j * c->p[j - c->lo];
    }
    c->mean = mean;
    return LYAP_OK;
}

/* The slope part A = 0.5 h given K = k (0 < k < d): T ~ Beta(k/2, (d-k)/2)
 * and h = log(a^2 + (1 - a^2) T) increasing in T. T and 1 - T at an edge
 * are formed without cancellation: a^2 expm1(h - log a^2) near the bottom. */
typedef struct {
    double alpha, beta;      /* k/2, (d-k)/2 */
    double a2, log_a2, span; /* a^2, log a^2 (-inf at a = 0), 1 - a^2 */
} slope_ctx;

static double slope_t(double h, const slope_ctx *s)
{
    if (h - s->log_a2 > 1.0) /* e^h > e a^2: the difference loses < 2 bits */
        return (exp(h) - s->a2) / s->span;
    return s->a2 * expm1(h - s->log_a2) / s->span;
}

static double slope_lower(double y, const void *ctx)
{
    const slope_ctx *s = ctx;
    double h = 2.0 * y;
    if (h <= s->log_a2)
        return 0.0;
    if (h >= 0.0)
        return 1.0;
    return gsl_cdf_beta_P(slope_t(h, s), s->alpha, s->beta);
}

static double slope_upper(double y, const void *ctx) /* P(T > t) = P(1 - T < 1 - t) */
{
    const slope_ctx *s = ctx;
    double h = 2.0 * y;
    if (h <= s->log_a2)
        return 1.0;
    if (h >= 0.0)
        return 0.0;
    return gsl_cdf_beta_P(-expm1(h) / s->span, s->beta, s->alpha);
}

static int bin_slope_part(const lyap_depthlaw *law, part *c)
{
    int d = law->d;
    double a = law->a, dx = law->dx;
    if (a == 1.0) { /* h = 0 */
        LYAP_CALL(part_add(c, 0, 1.0));
        return part_finish(c);
    }
    slope_ctx s = {0.0, 0.0, a * a, 2.0 * log(a), (1.0 - a) * (1.0 + a)};
    cdf_pair pair = {slope_lower, slope_upper, &s};
    for (int k = 0; k <= d; k++) {
        double w;
        LYAP_CALL(binomial_weight(d, k, &w));
        if (w == 0.0 || (k == 0 && a == 0.0)) /* a = 0, K = 0: the dead mass */
            continue;
        if (k == 0 || k == d) { /* atoms at h = log a^2 and h = 0 */
            LYAP_CALL(part_add(c, k == 0 ? lround(log(a) / dx) : 0, w));
            continue;
        }
        s.alpha = 0.5 * k;
        s.beta = 0.5 * (d - k);
        int64_t jc = lround(0.5 * log(s.a2 + s.span * k / d) / dx); /* at T = E T */
        LYAP_CALL(part_add_law(c, &pair, jc, w, dx));
    }
    return part_finish(c);
}

/* The chi-square part B = 0.5 log chi2_d (gaussian). */
static double chisq_lower(double y, const void *ctx)
{
    return gsl_cdf_chisq_P(exp(2.0 * y), *(const double *)ctx);
}

static double chisq_upper(double y, const void *ctx)
{
    return gsl_cdf_chisq_Q(exp(2.0 * y), *(const double *)ctx);
}

static int bin_chisq_part(const lyap_depthlaw *law, part *c)
{
    double nu = law->d;
    cdf_pair pair = {chisq_lower, chisq_upper, &nu};
    LYAP_CALL(part_add_law(c, &pair, lround(0.5 * log(nu) / law->dx), 1.0, law->dx));
    return part_finish(c);
}

/* ---- window and spectrum -------------------------------------------------------- */

/* log E exp(theta (Y - E Y)) of a binned part, by a shifted log-sum-exp. */
static double part_cgf(const part *c, double theta, double dx)
{
    double top = theta * ((theta > 0.0 ? c->last : c->first) - c->mean) * dx, s = 0.0;
    for (int64_t j = c->first; j <= c->last; j++)
        s += c->p[j - c->lo] * exp(theta * (j - c->mean) * dx - top);
    return top + log(s);
}

/* A distance t with P(sign (S_L - L lambda) >= t) <= WRAP_EPS for the binned
 * law at depth L: Chernoff, min over theta > 0 of (L K(sign theta) - log eps)
 * / theta, K the sum of the parts' cumulant generating functions. Any theta
 * gives a valid bound; the geometric grid from 0.1/sqrt(L v) (far below the
 * Gaussian optimum ~8/sqrt(L v)) to 1e3/sqrt(v) (bounded-support limit) is
 * within a few per cent of the best. */
static double chernoff_reach(const part *parts, int nparts, double dx, double v, int L, int sign)
{
    double best = INFINITY, sd = sqrt(v);
    for (double theta = 0.1 / (sd * sqrt((double)L)); theta <= 1e3 / sd; theta *= THETA_STEP) {
        double k = 0.0;
        for (int i = 0; i < nparts; i++)
            k += part_cgf(&parts[i], sign * theta, dx);
        best = fmin(best, (L * k - log(WRAP_EPS)) / theta);
    }
    return best;
}

static int is_7_smooth(int64_t m)
{
    static const int primes[] = {2, 3, 5, 7};
    for (int i = 0; i < 4; i++)
        while (m % primes[i] == 0)
            m /= primes[i];
    return m == 1;
}

int64_t lyap_depthlaw_fft_length(int64_t need)
{
    int64_t n = need + (need & 1);
    while (!is_7_smooth(n))
        n += 2;
    return n;
}

/* Sizes the window for max_depth: n >= left + right + 1 and >= one layer's
 * extent (so the layer itself never folds), n an FFT length. */
static int size_window(lyap_depthlaw *law, const part *parts, int nparts)
{
    double dx = law->dx;
    double t_left = chernoff_reach(parts, nparts, dx, law->v, law->max_depth, -1);
    double t_right = chernoff_reach(parts, nparts, dx, law->v, law->max_depth, +1);
    double need = ceil(t_left / dx) + ceil(t_right / dx) + 2 * PAD_BINS + 1, extent = 1.0;
    for (int i = 0; i < nparts; i++)
        extent += (double)(parts[i].last - parts[i].first);
    need = fmax(need, extent);
    if (!(need <= (double)MAX_POINTS))
        return lyap_fail(LYAP_EDECK, "depthlaw: the law of S_L at depth %d needs %.3g grid points "
                         "(> 2^22) at d = %d, a = %g; lower the largest depth", law->max_depth,
                         need, law->d, law->a);
    int64_t n = lyap_depthlaw_fft_length((int64_t)need);
    law->n = n;
    /* Centre the spare bins: left is counted from L*mu, right follows. */
    law->left = (int64_t)ceil(t_left / dx) + PAD_BINS + (n - (int64_t)need) / 2;
    return LYAP_OK;
}

static int make_plans(lyap_depthlaw *law)
{
    int64_t n = law->n, nc = n / 2 + 1;
    law->real = fftw_alloc_real((size_t)n);
    law->work = fftw_alloc_complex((size_t)nc);
    law->layer = fftw_alloc_complex((size_t)nc);
    if (!law->real || !law->work || !law->layer)
        return lyap_fail(LYAP_ENOMEM, "depthlaw: cannot allocate FFTW arrays of %lld points",
                         (long long)n);
    law->forward = fftw_plan_dft_r2c_1d((int)n, law->real, law->work, FFTW_ESTIMATE);
    law->inverse = fftw_plan_dft_c2r_1d((int)n, law->work, law->real, FFTW_ESTIMATE);
    if (!law->forward || !law->inverse)
        return lyap_fail(LYAP_EMATH, "depthlaw: FFTW cannot plan a transform of %lld points",
                         (long long)n);
    LYAP_CALL(lyap_alloc(&law->pmf, (size_t)n, sizeof *law->pmf, "depthlaw: law of S_L"));
    LYAP_CALL(lyap_alloc(&law->cum, (size_t)n + 1, sizeof *law->cum, "depthlaw: CDF of S_L"));
    LYAP_CALL(lyap_alloc(&law->tail, (size_t)n + 1, sizeof *law->tail, "depthlaw: tail of S_L"));
    return LYAP_OK;
}

static int64_t wrap(int64_t j, int64_t n)
{
    int64_t r = j % n;
    return r < 0 ? r + n : r;
}

/* The spectrum of one layer: each part placed around index 0 (index j at
 * j - round(mean), so the phases stay small), transformed, multiplied. */
static void layer_spectrum(lyap_depthlaw *law, const part *parts, int nparts)
{
    int64_t n = law->n, nc = n / 2 + 1;
    law->jc = 0;
    for (int i = 0; i < nparts; i++) {
        const part *c = &parts[i];
        int64_t centre = (int64_t)llround(c->mean);
        memset(law->real, 0, (size_t)n * sizeof *law->real);
        for (int64_t j = c->first; j <= c->last; j++)
            law->real[wrap(j - centre, n)] += c->p[j - c->lo];
        fftw_execute(law->forward);
        for (int64_t k = 0; k < nc; k++)
            law->layer[k] = i == 0 ? law->work[k] : law->layer[k] * law->work[k];
        law->jc += centre;
    }
    law->layer[0] = 1.0; /* the parts' total, 1 by normalisation: its rounding would grow as L eps */
}

static int build(lyap_depthlaw *law)
{
    LYAP_CALL(layer_moments(law));
    if (law->v == 0.0) /* a point mass: S_L = L lambda (orthogonal a = 1; d = 1 at a = 0) */
        return LYAP_OK;
    law->dx = grid_spacing(law->v, law->a);
    part parts[2];
    memset(parts, 0, sizeof parts);
    int nparts = chi2_norm(law) ? 2 : 1;
    int status = bin_slope_part(law, &parts[0]);
    if (status == LYAP_OK && nparts == 2)
        status = bin_chisq_part(law, &parts[1]);
    if (status == LYAP_OK) {
        law->mu = parts[0].mean + (nparts == 2 ? parts[1].mean : 0.0);
        double c0 = 0.5 * log(chi2_norm(law) ? law->s2 / law->d : law->s2);
        law->mean_shift = law->lambda - (c0 + law->mu * law->dx);
        status = size_window(law, parts, nparts);
    }
    if (status == LYAP_OK)
        status = make_plans(law);
    if (status == LYAP_OK)
        layer_spectrum(law, parts, nparts);
    for (int i = 0; i < nparts; i++)
        free(parts[i].p);
    return status;
}

/* ---- the law at one depth --------------------------------------------------------- */

/* z^L in polar form: relative error ~ L eps, and no overflow for |z| <= 1.
 * Below 1e-30 it is 0: far under the FFT's rounding (the DC term is 1);
 * this skips most exp/sin/cos calls and keeps subnormals out of the FFT. */
static fftw_complex power(fftw_complex z, int L)
{
    static const double LOG_NEGLIGIBLE = -69.0; /* log 1e-30 */
    double r = cabs(z), log_mag = L * log(r);
    if (!(log_mag > LOG_NEGLIGIBLE))
        return 0.0;
    double phase = L * carg(z);
    return exp(log_mag) * (cos(phase) + I * sin(phase));
}

/* Law of S_L at DEPTH into pmf/cum/tail, unless cached. */
static int compute_depth(lyap_depthlaw *law, int depth)
{
    if (depth < 1 || depth > law->max_depth)
        return lyap_fail(LYAP_EDECK, "depthlaw: depth %d is outside 1..%d (the workspace's "
                         "largest depth)", depth, law->max_depth);
    if (law->depth == depth)
        return LYAP_OK;
    law->depth = depth;
    if (law->n == 0) {
        law->first = law->mean = depth * law->lambda;
        law->mass = 1.0;
        law->variance = 0.0;
        return LYAP_OK;
    }
    int64_t n = law->n, nc = n / 2 + 1;
    for (int64_t k = 0; k < nc; k++)
        law->work[k] = power(law->layer[k], depth);
    fftw_execute(law->inverse); /* unnormalised: n times the masses */
    /* Window bin i is index J = j0 + i of S_L, stored at (J - L jc) mod n,
     * centred at L lambda + (J - L mu) dx. */
    double lmu = depth * law->mu;
    int64_t j0 = (int64_t)floor(lmu) - law->left, at = wrap(j0 - depth * law->jc, n);
    double offset = (double)(j0 - (int64_t)floor(lmu)) - (lmu - floor(lmu)); /* j0 - L mu */
    double total = 0.0, m1 = 0.0, m2 = 0.0;
    for (int64_t i = 0; i < n; i++, at = at + 1 == n ? 0 : at + 1) {
        double p = law->real[at] / (double)n;
        law->pmf[i] = p;
        total += p;
        m1 += p * (offset + (double)i);
    }
    m1 /= total;
    for (int64_t i = 0; i < n; i++) {
        double u = offset + (double)i - m1;
        m2 += law->pmf[i] * u * u;
    }
    law->cum[0] = 0.0;
    for (int64_t i = 0; i < n; i++)
        law->cum[i + 1] = law->cum[i] + law->pmf[i];
    law->tail[n] = 0.0;
    for (int64_t i = n - 1; i >= 0; i--)
        law->tail[i] = law->tail[i + 1] + law->pmf[i];
    law->mass = total;
    law->first = depth * law->lambda + offset * law->dx;
    law->mean = depth * law->lambda + m1 * law->dx;
    law->variance = m2 / total * law->dx * law->dx;
    return LYAP_OK;
}

/* P(S_L < x | alive) with each bin's mass spread uniformly over the bin;
 * a point mass is a step. */
static double cond_below(const lyap_depthlaw *law, double x)
{
    if (law->n == 0)
        return x > law->first ? 1.0 : 0.0;
    double u = (x - law->first) / law->dx + 0.5; /* bin i covers u in [i, i+1) */
    if (!(u > 0.0))
        return 0.0;
    if (u >= (double)law->n)
        return law->cum[law->n];
    int64_t i = (int64_t)u;
    return law->cum[i] + law->pmf[i] * (u - (double)i);
}

/* P(S_L > x | alive), summed from the right: keeps right tails accurate. */
static double cond_above(const lyap_depthlaw *law, double x)
{
    if (law->n == 0)
        return law->first > x ? 1.0 : 0.0;
    double u = (x - law->first) / law->dx + 0.5;
    if (!(u > 0.0))
        return law->tail[0];
    if (u >= (double)law->n)
        return 0.0;
    int64_t i = (int64_t)u;
    return law->tail[i + 1] + law->pmf[i] * ((double)(i + 1) - u);
}

/* FFT rounding leaves ~1e-17 of either sign in every bin: a probability is
 * reported inside [0, 1]. */
static double probability(double p)
{
    return fmin(1.0, fmax(0.0, p));
}

static double survival(const lyap_depthlaw *law, int depth)
{
    return exp(depth * log1p(-law->death));
}

static double dead(const lyap_depthlaw *law, int depth)
{
    return -expm1(depth * log1p(-law->death));
}

/* ---- public API ------------------------------------------------------------------ */

int lyap_depthlaw_create(lyap_family f, int d, double a, double s2, int max_depth,
                         lyap_depthlaw **out)
{
    lyap_depthlaw *law;
    *out = NULL;
    LYAP_CALL(check_args(f, d, a, s2, max_depth));
    LYAP_CALL(lyap_alloc(&law, 1, sizeof *law, "depthlaw: workspace"));
    law->f = f;
    law->d = d;
    law->a = a;
    law->s2 = s2;
    law->max_depth = max_depth;
    gsl_error_handler_t *prev = gsl_set_error_handler_off();
    int status = build(law);
    gsl_set_error_handler(prev);
    if (status != LYAP_OK) {
        lyap_depthlaw_destroy(&law);
        return status;
    }
    *out = law;
    return LYAP_OK;
}

int lyap_depthlaw_summarize(lyap_depthlaw *law, int depth, lyap_depthlaw_summary *out)
{
    LYAP_CALL(compute_depth(law, depth));
    out->mass = law->mass;
    out->mean = law->mean;
    out->variance = law->variance;
    out->survival = survival(law, depth);
    out->lo = law->first - 0.5 * law->dx;
    out->hi = law->first + ((double)law->n - 0.5) * law->dx;
    if (law->n == 0)
        out->lo = out->hi = law->first;
    out->dx = law->dx;
    out->mean_shift = law->mean_shift;
    return LYAP_OK;
}

int lyap_depthlaw_tails(lyap_depthlaw *law, int depth, double log_eps, double *p_vanish,
                        double *p_explode)
{
    if (!(log_eps < 0.0))
        return lyap_fail(LYAP_EDECK, "depthlaw: log(eps) = %g must be < 0 (eps < 1)", log_eps);
    LYAP_CALL(compute_depth(law, depth));
    if (p_vanish)
        *p_vanish = probability(dead(law, depth) + survival(law, depth) * cond_below(law, log_eps));
    if (p_explode)
        *p_explode = probability(survival(law, depth) * cond_above(law, -log_eps));
    return LYAP_OK;
}

int lyap_depthlaw_quantile(lyap_depthlaw *law, int depth, double q, double *x)
{
    if (!(q >= 0.0 && q <= 1.0))
        return lyap_fail(LYAP_EDECK, "depthlaw: quantile level q = %g must be in [0, 1]", q);
    LYAP_CALL(compute_depth(law, depth));
    double p_dead = dead(law, depth);
    if (p_dead > 0.0 && q <= p_dead) {
        *x = -INFINITY;
        return LYAP_OK;
    }
    if (law->n == 0) {
        *x = law->first;
        return LYAP_OK;
    }
    double qc = (q - p_dead) / survival(law, depth), dx = law->dx, left = law->first - 0.5 * dx;
    const double *cum = law->cum;
    int64_t lo = 0, hi = law->n; /* invariant: cum[lo] <= qc < cum[hi] */
    if (qc <= 0.0) {
        *x = left;
        return LYAP_OK;
    }
    if (qc >= cum[hi]) {
        *x = left + (double)hi * dx;
        return LYAP_OK;
    }
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (cum[mid] <= qc)
            lo = mid;
        else
            hi = mid;
    }
    *x = left + ((double)lo + (qc - cum[lo]) / (cum[lo + 1] - cum[lo])) * dx;
    return LYAP_OK;
}

int lyap_depthlaw_mass(lyap_depthlaw *law, int depth, const double *edges, int nbins,
                       double *prob)
{
    if (nbins < 1)
        return lyap_fail(LYAP_EDECK, "depthlaw: %d bins; need at least 1", nbins);
    for (int k = 0; k < nbins; k++)
        if (!(edges[k] < edges[k + 1]))
            return lyap_fail(LYAP_EDECK, "depthlaw: bin edges %g, %g are not ascending",
                             edges[k], edges[k + 1]);
    LYAP_CALL(compute_depth(law, depth));
    double alive = survival(law, depth), half = 0.5 * (law->n ? law->cum[law->n] : 1.0);
    for (int k = 0; k < nbins; k++) {
        double lo = edges[k], hi = edges[k + 1], p;
        if (law->n == 0 || cond_below(law, hi) <= half) /* difference on the short side */
            p = cond_below(law, hi) - cond_below(law, lo);
        else
            p = cond_above(law, lo) - cond_above(law, hi);
        prob[k] = probability(alive * p + (k == 0 && lo == -INFINITY ? dead(law, depth) : 0.0));
    }
    return LYAP_OK;
}

int lyap_depthlaw_bins(lyap_depthlaw *law, int depth, double *first, double *dx, int64_t *n,
                       const double **pmf)
{
    LYAP_CALL(compute_depth(law, depth));
    *first = law->first;
    *dx = law->dx;
    *n = law->n;
    *pmf = law->pmf;
    return LYAP_OK;
}

void lyap_depthlaw_destroy(lyap_depthlaw **law)
{
    if (!law || !*law)
        return;
    lyap_depthlaw *w = *law;
    if (w->forward)
        fftw_destroy_plan(w->forward);
    if (w->inverse)
        fftw_destroy_plan(w->inverse);
    fftw_free(w->real);
    fftw_free(w->work);
    fftw_free(w->layer);
    free(w->pmf);
    free(w->cum);
    free(w->tail);
    free(w);
    *law = NULL;
}
