/* The two-input chain (twoinput.h) against an independent route and the
 * closed forms (THEORY.md "Two inputs"):
 *   - the law of the cosine at depths 5 and 20 equals that of a network
 *     simulated with explicit gaussian weight matrices and bias vectors
 *     (GSL's generator, d = 3 and 8, Leaky ReLU and ReLU): the means, the
 *     fractions below 0, 0.5, 0.9, 0.99 and the fraction undefined (an
 *     input exactly 0: ReLU) within 4 standard errors;
 *   - at d = 2048 the mean cosine follows the mean-field iteration
 *     (biastheory.h) within 4 stderr + 4/d (mean field is the d -> inf limit);
 *   - equal inputs stay equal (cosine 1 to 1e-12), with and without biases;
 *   - without biases the cosine does not depend on the inputs' scale;
 *   - an exploding chain (s2 = 20, 3000 layers) stays finite. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "lyapdiag/biastheory.h"
#include "lyapdiag/error.h"
#include "lyapdiag/rng.h"
#include "lyapdiag/twoinput.h"

enum { NDEPTHS = 2 };
static const int depths[NDEPTHS] = {5, 20};

enum { NCUTS = 4 };
static const double cuts[NCUTS] = {0, 0.5, 0.9, 0.99};

/* Per depth: the defined cosines' moments, how many fall below each cut,
 * and the undefined ones (NaN). */
typedef struct {
    double n[NDEPTHS], sum[NDEPTHS], sum2[NDEPTHS], below[NDEPTHS][NCUTS], undefined[NDEPTHS], all;
} moments;

static void add(moments *m, const double *c)
{
    m->all++;
    for (int k = 0; k < NDEPTHS; k++) {
        if (isnan(c[k])) {
            m->undefined[k]++;
            continue;
        }
        m->n[k]++, m->sum[k] += c[k], m->sum2[k] += c[k] * c[k];
        for (int j = 0; j < NCUTS; j++)
            m->below[k][j] += c[k] < cuts[j];
    }
}

static double mean(const moments *m, int k)
{
    return m->sum[k] / m->n[k];
}

static double sd(const moments *m, int k)
{
    double mu = mean(m, k);
    return sqrt(fmax(0.0, m->sum2[k] / m->n[k] - mu * mu) * m->n[k] / (m->n[k] - 1));
}

/* Two binomial fractions X/N and Y/M agree within 4 standard errors (of
 * the pooled fraction; at least one count's worth). */
static void check_fractions(const char *what, double x, double n, double y, double m)
{
    double pooled = (x + y) / (n + m), se = sqrt(fmax(pooled * (1 - pooled), 1 / (n + m)) * (1 / n + 1 / m));
    check(fabs(x / n - y / m) <= 4 * se, "  %s: chain %.4f, network %.4f (4 stderr %.4f)", what, x / n, y / m, 4 * se);
}

/* One network: two inputs of squared norm d m0 at cosine c0, through
 * explicit weights N(0, s2/d) and biases N(0, sb2); the cosine at DEPTHS. */
static void network(gsl_rng *r, const lyap_twoinput_spec *s, double *cosine)
{
    int d = s->width;
    double x[16], y[16], hx[16], hy[16];
    for (int i = 0; i < d; i++)
        x[i] = gsl_ran_gaussian(r, 1.0), y[i] = gsl_ran_gaussian(r, 1.0);
    /* y = c0 x/|x| + sqrt(1 - c0^2) (the part of y orthogonal to x), scaled */
    double xx = 0, xy = 0;
    for (int i = 0; i < d; i++)
        xx += x[i] * x[i], xy += x[i] * y[i];
    double yy = 0;
    for (int i = 0; i < d; i++)
        y[i] -= xy / xx * x[i], yy += y[i] * y[i];
    double norm = sqrt(d * s->m0), c0 = s->cosine0;
    for (int i = 0; i < d; i++) {
        double ux = x[i] / sqrt(xx), uy = d > 1 ? y[i] / sqrt(yy) : 0;
        x[i] = norm * ux, y[i] = norm * (c0 * ux + sqrt(1 - c0 * c0) * uy);
    }
    for (int l = 1, k = 0; k < NDEPTHS; l++) {
        for (int i = 0; i < d; i++) {
            double b = gsl_ran_gaussian(r, sqrt(s->bias_variance));
            hx[i] = b, hy[i] = b;
            for (int j = 0; j < d; j++) {
                double w = gsl_ran_gaussian(r, sqrt(s->variance / d));
                hx[i] += w * x[j], hy[i] += w * y[j];
            }
        }
        double qx = 0, qy = 0, p = 0;
        for (int i = 0; i < d; i++) {
            x[i] = hx[i] > 0 ? hx[i] : s->slope * hx[i];
            y[i] = hy[i] > 0 ? hy[i] : s->slope * hy[i];
            qx += x[i] * x[i], qy += y[i] * y[i], p += x[i] * y[i];
        }
        if (l == depths[k])
            cosine[k++] = p / sqrt(qx * qy);
    }
}

static void against_network(lyap_twoinput_spec s, int n)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 20261129);
    double *work = malloc(2 * (size_t)s.width * sizeof *work), c[NDEPTHS];
    moments chain = {0}, net = {0};
    int ok = 1;
    for (int i = 0; i < n; i++) {
        ok &= lyap_twoinput_chain(&s, i, depths, NDEPTHS, work, c) == LYAP_OK;
        add(&chain, c);
        network(r, &s, c);
        add(&net, c);
    }
    for (int k = 0; k < NDEPTHS; k++) {
        double se = sqrt(sd(&chain, k) * sd(&chain, k) / chain.n[k] + sd(&net, k) * sd(&net, k) / net.n[k]);
        check(ok && fabs(mean(&chain, k) - mean(&net, k)) <= 4 * se,
              "d = %d, a = %g, s2 = %g, sb2 = %g, c0 = %g, depth %d: mean cosine chain %.5f, network %.5f, "
              "|diff| %.5f <= 4 stderr %.5f", s.width, s.slope, s.variance, s.bias_variance, s.cosine0, depths[k],
              mean(&chain, k), mean(&net, k), fabs(mean(&chain, k) - mean(&net, k)), 4 * se);
        char what[64];
        for (int j = 0; j < NCUTS; j++) {
            snprintf(what, sizeof what, "P(cosine < %g)", cuts[j]);
            check_fractions(what, chain.below[k][j], chain.n[k], net.below[k][j], net.n[k]);
        }
        check_fractions("P(undefined)", chain.undefined[k], chain.all, net.undefined[k], net.all);
    }
    free(work);
    gsl_rng_free(r);
}

int main(void)
{
    lyap_twoinput_spec s = {.width = 3, .slope = 0.2, .variance = 1.8, .bias_variance = 0.1, .m0 = 1,
                            .cosine0 = 0.3, .seed = 5, .task_key = 17};
    against_network(s, 20000);
    s.width = 8, s.slope = 0, s.variance = 2.2, s.bias_variance = 0.05, s.cosine0 = -0.4;
    against_network(s, 20000);

    /* Mean field at d = 2048 */
    enum { WIDE = 2048, NWIDE = 400, DEEP = 20 };
    lyap_twoinput_spec w = {.width = WIDE, .slope = 0.1, .variance = 2 / 1.01, .bias_variance = 0.05, .m0 = 1,
                            .cosine0 = 0.2, .seed = 9, .task_key = 3};
    double mf[DEEP + 1], *work = malloc(2 * WIDE * sizeof *work), c[NDEPTHS];
    int status = lyap_biastheory_meanfield_cosine(w.slope, w.variance, w.bias_variance, w.m0, w.m0, w.cosine0, DEEP,
                                                  mf);
    moments wide = {0};
    for (int i = 0; i < NWIDE; i++) {
        status |= lyap_twoinput_chain(&w, i, depths, NDEPTHS, work, c);
        add(&wide, c);
    }
    for (int k = 0; k < NDEPTHS; k++) {
        double tol = 4 * sd(&wide, k) / sqrt(wide.n[k]) + 4.0 / WIDE;
        check(status == LYAP_OK && fabs(mean(&wide, k) - mf[depths[k]]) <= tol,
              "d = %d, depth %d: mean cosine %.5f vs mean field %.5f, |diff| %.5f <= %.5f", WIDE, depths[k],
              mean(&wide, k), mf[depths[k]], fabs(mean(&wide, k) - mf[depths[k]]), tol);
    }

    /* Equal inputs stay equal; scale does not matter without biases. */
    lyap_twoinput_spec e = {.width = 16, .slope = 0.1, .variance = 1.9, .bias_variance = 0.2, .m0 = 2.5,
                            .cosine0 = 1, .seed = 1, .task_key = 2};
    int equal = 1;
    for (int b = 0; b < 2; b++, e.bias_variance = 0)
        for (int i = 0; i < 50; i++) {
            equal &= lyap_twoinput_chain(&e, i, depths, NDEPTHS, work, c) == LYAP_OK;
            equal &= fabs(c[0] - 1) < 1e-12 && fabs(c[1] - 1) < 1e-12;
        }
    check(equal, "equal inputs (c0 = 1) keep cosine 1 to 1e-12, with and without biases");
    lyap_twoinput_spec u = {.width = 16, .slope = 0.3, .variance = 1.7, .bias_variance = 0, .m0 = 1,
                            .cosine0 = 0.5, .seed = 4, .task_key = 8}, v = u;
    v.m0 = 1e6;
    double cu[NDEPTHS], cv[NDEPTHS];
    double worst = 0;
    for (int i = 0; i < 50; i++) {
        lyap_twoinput_chain(&u, i, depths, NDEPTHS, work, cu);
        lyap_twoinput_chain(&v, i, depths, NDEPTHS, work, cv);
        for (int k = 0; k < NDEPTHS; k++)
            worst = fmax(worst, fabs(cu[k] - cv[k]));
    }
    check(worst < 1e-12, "without biases the cosine ignores the inputs' scale (m0 1 vs 1e6): max |diff| %.2g", worst);

    lyap_twoinput_spec x = {.width = 4, .slope = 0.5, .variance = 20, .bias_variance = 0.1, .m0 = 1,
                            .cosine0 = 0.1, .seed = 6, .task_key = 7};
    int far[1] = {3000};
    double cx = NAN;
    status = lyap_twoinput_chain(&x, 0, far, 1, work, &cx);
    check(status == LYAP_OK && isfinite(cx) && fabs(cx) <= 1, "an exploding chain (s2 = 20, 3000 layers): cosine %g",
          cx);
    lyap_twoinput_spec bad = x;
    bad.cosine0 = 1.5;
    check(lyap_twoinput_chain(&bad, 0, far, 1, work, &cx) == LYAP_EINTERNAL, "a cosine outside [-1, 1] is refused");
    free(work);
    return check_status();
}
