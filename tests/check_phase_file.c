/* check_phase_file FILE.nc: reads a lyapdiag phase diagram back and checks
 * it against the schema and THEORY.md. The grid comes from the deck stored
 * in the file, so any deck can be checked:
 *   - every schema variable exists with units and long_name; every task done;
 *   - lambda_theory, clt_variance_theory, variance_crit_theory equal the
 *     theory module; Monte Carlo within 4 stderr of them (gaussian,
 *     orthogonal, slope > 0, and replicas >= 16: with fewer, the stderr
 *     estimate itself is too rough for a 4-stderr rule);
 *   - the variance axis is the exact shift lambda(s2) = lambda(1) + 0.5 log s2;
 *     variance_crit = exp(-2 lambda(1)) with stderr 2 s2_crit se(lambda);
 *   - phase agrees with lambda and its stderr; logn_mean(L_max) = L_max lambda;
 *   - slope 0: lambda = -inf, phase -1, variance_crit = +inf.
 * Exit 0 if all pass. */
#include <string.h>

#include "check.h"
#include "lyapdiag/deck.h"
#include "lyapdiag/error.h"
#include "lyapdiag/ncout.h"
#include "lyapdiag/theory.h"
#include "ncread.h"

static int ncid;

static double *var(const char *name)
{
    size_t n;
    return nc_read_doubles(ncid, name, &n);
}

/* Every row of the schema table is in the file exactly as the table says
 * (dimensions in order, storage, units, long_name), or absent when one of
 * its axes is off. */
static void check_schema(const lyap_deck *deck)
{
    lyap_result_dims dims = lyap_result_dims_of_deck(deck);
    for (int v = 0; v < lyap_result_nvariables; v++) {
        const lyap_result_variable *row = &lyap_result_variables[v];
        int varid, ndims, dimids[NC_MAX_VAR_DIMS];
        nc_type type;
        size_t len;
        if (!lyap_result_is_present(row, dims)) {
            check(nc_inq_varid(ncid, row->name, &varid) == NC_ENOTVAR, "variable %s absent (an axis is off)",
                  row->name);
            continue;
        }
        int ok = nc_inq_varid(ncid, row->name, &varid) == NC_NOERR && nc_inq_attlen(ncid, varid, "units", &len) == NC_NOERR &&
                 nc_inq_attlen(ncid, varid, "long_name", &len) == NC_NOERR &&
                 nc_inq_var(ncid, varid, NULL, &type, &ndims, dimids, NULL) == NC_NOERR;
        check(ok, "variable %s present with units and long_name", row->name);
        if (!ok)
            continue;
        char expected[256] = "family,width,slope", got[256] = "";
        unsigned axes = lyap_result_axes_of(row, dims);
        for (int i = 0; i < LYAP_NAXES; i++)
            if (axes & (1u << i))
                snprintf(expected + strlen(expected), sizeof expected - strlen(expected), ",%s", lyap_result_axes[i].name);
        for (int i = 0; i < ndims; i++) {
            char name[NC_MAX_NAME + 1];
            nc_inq_dimname(ncid, dimids[i], name);
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? "," : "", name);
        }
        check(strcmp(expected, got) == 0, "%s(%s) as the table says (%s)", row->name, got, expected);
        check(type == (row->storage == LYAP_STORE_FLAG ? NC_BYTE : NC_DOUBLE), "%s stored as the table says", row->name);
    }
    const char *globals[] = {"title", "Conventions", "source", "history", "deck", "seed", "method", "precision"};
    for (size_t i = 0; i < sizeof globals / sizeof *globals; i++) {
        size_t len;
        check(nc_inq_attlen(ncid, NC_GLOBAL, globals[i], &len) == NC_NOERR && len > 0, "global attribute %s", globals[i]);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: check_phase_file FILE.nc\n");
        return 99;
    }
    nc_or_die(nc_open(argv[1], NC_NOWRITE, &ncid), argv[1]);
    size_t len;
    nc_or_die(nc_inq_attlen(ncid, NC_GLOBAL, "deck", &len), "deck attribute");
    char *text = calloc(len + 1, 1);
    nc_or_die(nc_get_att_text(ncid, NC_GLOBAL, "deck", text), "deck attribute");
    lyap_deck deck;
    int parsed = lyap_deck_parse(text, "stored deck", &deck);
    free(text);
    if (parsed != LYAP_OK) {
        fprintf(stderr, "ERROR: stored deck does not parse: %s\n", lyap_error_message());
        return 99;
    }
    check_schema(&deck);

    double *lambda = var("lambda"), *se = var("lambda_stderr"), *lambda_th = var("lambda_theory");
    double *v = var("clt_variance"), *v_se = var("clt_variance_stderr"), *v_th = var("clt_variance_theory");
    double *phase = var("phase"), *done = var("done"), *logn_mean = var("logn_mean");
    double *crit = var("variance_crit"), *crit_se = var("variance_crit_stderr"), *crit_th = var("variance_crit_theory");
    double *survival = var("survival"), *death = var("death_probability");
    int nv = deck.nvariances, nd = deck.ndepths, lmax = deck.depths[nd - 1];
    int mc_checked = 0, undone = 0, bad_theory = 0, bad_shift = 0, bad_phase = 0, bad_crit = 0, bad_logn = 0,
        bad_relu = 0, bad_survival = 0;

    for (long t = 0; t < lyap_deck_task_count(&deck); t++) {
        int si = (int)(t % deck.nslopes), wi = (int)(t / deck.nslopes % deck.nwidths),
            fi = (int)(t / deck.nslopes / deck.nwidths);
        lyap_family f = deck.families[fi];
        int d = deck.widths[wi];
        double a = deck.slopes[si], th_crit;
        undone += done[t] != 1;
        if (lyap_theory_exact(f, d, a, 1.0, NULL, NULL, &th_crit) != LYAP_OK) {
            fprintf(stderr, "ERROR: theory: %s\n", lyap_error_message());
            return 99;
        }
        bad_theory += memcmp(&th_crit, &crit_th[t], sizeof th_crit) != 0;
        double dies = lyap_theory_death_probability(f, d, a);
        bad_survival += dies == 0 && (survival[t * nd + nd - 1] != 1 || death[t] != 0);
        if (dies > 0) {
            bad_relu += crit[t] != INFINITY || death[t] != ldexp(1, -d);
            for (int i = 0; i < nv; i++)
                bad_relu += lambda[t * nv + i] != -INFINITY || phase[t * nv + i] != -1;
            continue;
        }
        double lambda1 = lambda[t * nv] - 0.5 * log(deck.variances[0]);
        double expect_crit = exp(-2 * lambda1);
        bad_crit += fabs(crit[t] - expect_crit) > 1e-12 * expect_crit ||
                    fabs(crit_se[t] - 2 * expect_crit * se[t * nv]) > 1e-12 * crit_se[t] + 1e-300;
        for (int i = 0; i < nv; i++) {
            long k = t * nv + i;
            double th_lambda, th_v, s2 = deck.variances[i];
            if (lyap_theory_exact(f, d, a, s2, &th_lambda, &th_v, NULL) != LYAP_OK) {
                fprintf(stderr, "ERROR: theory: %s\n", lyap_error_message());
                return 99;
            }
            bad_theory += memcmp(&th_lambda, &lambda_th[k], sizeof th_lambda) != 0 ||
                          memcmp(&th_v, &v_th[k], sizeof th_v) != 0;
            if (!deck.verify_homogeneity)
                bad_shift += fabs(lambda[k] - 0.5 * log(s2) - lambda1) > 1e-12 || se[k] != se[t * nv];
            double expect_phase = fabs(lambda[k]) < 3 * se[k] + LYAP_LAMBDA_ROUNDING ? 0 : (lambda[k] < 0 ? -1 : 1);
            bad_phase += phase[k] != expect_phase;
            /* Zero CLT variance (orthogonal, a = 1): lambda is exact, so the
             * phase must be the sign of the theory, 0 exactly at s2 = 1. */
            if (th_v == 0)
                bad_phase += phase[k] != (fabs(th_lambda) < LYAP_LAMBDA_ROUNDING ? 0 : (th_lambda < 0 ? -1 : 1));
            /* Looks-linear lambda excludes layer 1; after deaths at slope > 0
             * (rademacher) lambda averages whole replicas, logn_mean the survivors. */
            if (!lyap_family_info_of(f)->looks_linear && survival[t * nd + nd - 1] == 1)
                bad_logn += fabs(logn_mean[k * nd + nd - 1] / lmax - lambda[k]) > 1e-9;
            if (deck.spectrum && lyap_family_info_of(f)->exact_law && i == 0 && deck.replicas >= 16) {
                /* lambda_1 of the spectrum is the activation exponent */
                size_t nk = (size_t)lyap_deck_spectrum_axis(&deck), n;
                double *spec = nc_read_doubles(ncid, "spectrum", &n), *spec_se = nc_read_doubles(ncid, "spectrum_stderr", &n);
                char what[128];
                snprintf(what, sizeof what, "%s d=%d a=%g: spectrum lambda_1 vs lambda (4 combined stderr)",
                         lyap_family_name(f), d, a);
                check_near(what, spec[k * nk], lambda[k], 4 * hypot(spec_se[k * nk], se[k]));
                free(spec);
                free(spec_se);
            }
            if (lyap_family_info_of(f)->exact_law && i == 0 && deck.replicas >= 16) {
                /* the exact finite-depth tails beside the Monte Carlo ones */
                size_t n;
                double *pv = nc_read_doubles(ncid, "p_vanish", &n), *pv_th = nc_read_doubles(ncid, "p_vanish_theory", &n);
                for (int q = 0; q < nd; q++) {
                    double p = pv_th[k * nd + q], samples = deck.replicas * (double)deck.batch;
                    char what[128];
                    snprintf(what, sizeof what, "%s d=%d a=%g L=%d: p_vanish mc vs exact (4 binomial sd)",
                             lyap_family_name(f), d, a, deck.depths[q]);
                    /* exact path: the inputs are independent networks */
                    check_near(what, pv[k * nd + q], p, 4 * sqrt(p * (1 - p) / samples) + 1e-12);
                }
                free(pv);
                free(pv_th);
            }
            if (lyap_family_info_of(f)->exact_law && i == 0 && deck.replicas >= 16) { /* shifts repeat one estimate */
                char what[128];
                snprintf(what, sizeof what, "%s d=%d a=%g: lambda mc vs theory (4 stderr)", lyap_family_name(f), d, a);
                check_near(what, lambda[k], th_lambda, 4 * se[k]);
                snprintf(what, sizeof what, "%s d=%d a=%g: clt variance mc vs theory (4 stderr)", lyap_family_name(f), d, a);
                check_near(what, v[k], th_v, 4 * v_se[k] + 1e-12);
                mc_checked++;
            }
        }
    }
    check(undone == 0, "every task done (%d missing)", undone);
    check(bad_theory == 0, "theory variables equal the theory module (%d differ)", bad_theory);
    check(bad_shift == 0, "variance axis is the exact homogeneity shift (%d off)", bad_shift);
    check(bad_phase == 0, "phase agrees with lambda and 3 stderr (%d off)", bad_phase);
    check(bad_crit == 0, "variance_crit = exp(-2 lambda(1)) with delta-method stderr (%d off)", bad_crit);
    check(bad_logn == 0, "logn_mean(L_max) = L_max lambda (%d off)", bad_logn);
    check(bad_relu == 0, "slope 0: lambda -inf, phase -1, no finite boundary (%d off)", bad_relu);
    check(bad_survival == 0, "no deaths where none can happen: survival 1, death probability 0 (%d off)", bad_survival);
    printf("%d Monte Carlo tasks compared with theory\n", mc_checked);
    nc_close(ncid);
    lyap_deck_free(&deck);
    return check_status();
}
