/* check_init_file: reads a `lyapdiag init` network back and checks it.
 *
 *   check_init_file FILE.nc DEPTH WIDTH
 *     - dimensions layer = DEPTH, row = col = WIDTH, candidate = candidates;
 *       layer coordinate 1..L; every documented attribute present;
 *     - variance_kind critical: variance = s2_crit of the theory module to
 *       1e-12 (relative);
 *     - entries: mean 0 and mean square s2/d (s2/h for looks-linear, whose
 *       blocks A are h x h) within 4 stderr, over the L independent blocks;
 *     - orthogonal blocks: A^T A = s2 I to 1e-12 s2; looks-linear: W is
 *       exactly [[A, -A], [-A, A]];
 *     - the choice: mean_log_gain = the candidate score of smallest |.|
 *       (first one), chosen_candidate its index, _min/_max the extremes;
 *       re-scored by an independent forward pass (plain loops) of the stored
 *       weights on the same inputs, to 1e-9;
 *     - with >= 100 candidates of a rotation-invariant family, the mean
 *       candidate score = L lambda(s2) (0 at s2_crit) within 4 stderr.
 *   check_init_file --compare A.nc B.nc [FACTOR]
 *     exit 0 if B's weights are bit for bit FACTOR (default 1) times A's,
 *     1 if not.
 * Exit 99 if a file cannot be read. */
#include <string.h>

#include "check.h"
#include "lyapdiag/error.h"
#include "lyapdiag/initnet.h"
#include "lyapdiag/theory.h"
#include "ncread.h"

static int ncid;

static double attr_double(const char *name)
{
    double x;
    nc_or_die(nc_get_att_double(ncid, NC_GLOBAL, name, &x), name);
    return x;
}

static int attr_int(const char *name)
{
    int x;
    nc_or_die(nc_get_att_int(ncid, NC_GLOBAL, name, &x), name);
    return x;
}

/* The text attribute NAME (a new string). */
static char *attr_text(const char *name)
{
    size_t len;
    nc_or_die(nc_inq_attlen(ncid, NC_GLOBAL, name, &len), name);
    char *text = calloc(len + 1, 1);
    nc_or_die(nc_get_att_text(ncid, NC_GLOBAL, name, text), name);
    return text;
}

static size_t dim_length(const char *name)
{
    int dim;
    size_t len;
    nc_or_die(nc_inq_dimid(ncid, name, &dim), name);
    nc_or_die(nc_inq_dimlen(ncid, dim, &len), name);
    return len;
}

static int compare_files(const char *a, const char *b, double factor)
{
    size_t na, nb;
    nc_or_die(nc_open(a, NC_NOWRITE, &ncid), a);
    double *x = nc_read_doubles(ncid, "weights", &na);
    nc_close(ncid);
    nc_or_die(nc_open(b, NC_NOWRITE, &ncid), b);
    double *y = nc_read_doubles(ncid, "weights", &nb);
    nc_close(ncid);
    int same = na == nb;
    for (size_t i = 0; same && i < na; i++)
        same = factor * x[i] == y[i];
    printf("%s and %s: %zu and %zu weights, %s%s%g\n", a, b, na, nb, same ? "" : "not ",
           "bit for bit the first times ", factor);
    return same ? 0 : 1;
}

/* The spec as stored in the file (for the theory and the scoring inputs). */
static lyap_initnet_spec stored_spec(void)
{
    lyap_initnet_spec spec = {.variance = attr_double("variance")};
    char *family = attr_text("family"), *seed = attr_text("seed");
    if (lyap_family_parse(family, &spec.family) != 0) {
        fprintf(stderr, "ERROR: unknown family '%s'\n", family);
        exit(99);
    }
    spec.width = attr_int("width");
    spec.slope = attr_double("slope");
    spec.depth = (int)dim_length("layer");
    spec.seed = strtoull(seed, NULL, 10);
    spec.candidates = attr_int("candidates");
    spec.inputs = attr_int("inputs");
    free(family);
    free(seed);
    return spec;
}

static void check_layout(const lyap_initnet_spec *s, int depth, int width)
{
    const char *globals[] = {"title", "Conventions", "source", "history", "family", "width", "slope", "variance",
                             "variance_kind", "seed", "candidates", "inputs", "chosen_candidate", "mean_log_gain",
                             "mean_log_gain_min", "mean_log_gain_max"};
    for (size_t i = 0; i < sizeof globals / sizeof *globals; i++) {
        size_t len;
        check(nc_inq_attlen(ncid, NC_GLOBAL, globals[i], &len) == NC_NOERR && len > 0, "global attribute %s",
              globals[i]);
    }
    check(dim_length("layer") == (size_t)depth && dim_length("row") == (size_t)width &&
              dim_length("col") == (size_t)width && s->width == width &&
              dim_length("candidate") == (size_t)s->candidates,
          "dimensions layer %zu (want %d), row %zu, col %zu (want %d), candidate %zu (want %d)", dim_length("layer"),
          depth, dim_length("row"), dim_length("col"), width, dim_length("candidate"), s->candidates);
    size_t n;
    double *layer = nc_read_doubles(ncid, "layer", &n);
    check(n == (size_t)depth && layer[0] == 1 && layer[n - 1] == depth, "layer coordinate 1..%d", depth);
    free(layer);
}

static void check_variance(const lyap_initnet_spec *s)
{
    char *kind = attr_text("variance_kind");
    if (strcmp(kind, "critical (lambda = 0)") == 0) {
        double crit, lambda;
        if (lyap_theory_exact(s->family, s->width, s->slope, 1.0, NULL, NULL, &crit) != LYAP_OK ||
            lyap_theory_exact(s->family, s->width, s->slope, s->variance, &lambda, NULL, NULL) != LYAP_OK) {
            fprintf(stderr, "ERROR: theory: %s\n", lyap_error_message());
            exit(99);
        }
        check_near("variance attribute vs theory s2_crit (relative 1e-12)", s->variance, crit, 1e-12 * crit);
        check_near("lambda at the stored variance", lambda, 0, 1e-9);
    } else {
        check(strcmp(kind, "user") == 0 && s->variance > 0, "variance %.17g (%s)", s->variance, kind);
    }
    free(kind);
}

/* Entries of the L independent b x b blocks (b = h for looks-linear). */
static void check_entries(const lyap_initnet_spec *s, const double *w, int b)
{
    int d = s->width;
    double n = (double)s->depth * b * b, sum = 0, sum2 = 0, sum4 = 0;
    for (int l = 0; l < s->depth; l++)
        for (int i = 0; i < b; i++)
            for (int j = 0; j < b; j++) {
                double x = w[((size_t)l * d + i) * d + j];
                sum += x;
                sum2 += x * x;
                sum4 += x * x * x * x;
            }
    double mean2 = sum2 / n, want = s->variance / b;
    check_near("mean entry (4 stderr)", sum / n, 0, 4 * sqrt(mean2 / n));
    check_near("mean squared entry vs s2/d (s2/h looks-linear; 4 stderr)", mean2, want,
               4 * sqrt((sum4 / n - mean2 * mean2) / n) + 1e-12 * want);
}

/* max |A^T A - s2 I| over the layers' top-left b x b blocks. */
static double orthogonality_error(const lyap_initnet_spec *s, const double *w, int b)
{
    int d = s->width;
    double worst = 0;
    for (int l = 0; l < s->depth; l++) {
        const double *W = w + (size_t)l * d * d;
        for (int p = 0; p < b; p++)
            for (int q = 0; q < b; q++) {
                double dot = 0;
                for (int i = 0; i < b; i++)
                    dot += W[(size_t)i * d + p] * W[(size_t)i * d + q];
                worst = fmax(worst, fabs(dot - (p == q ? s->variance : 0)));
            }
    }
    return worst;
}

/* Number of entries of W that differ from [[A, -A], [-A, A]] (bitwise). */
static long looks_linear_mismatches(const lyap_initnet_spec *s, const double *w, int h)
{
    int d = s->width;
    long bad = 0;
    for (int l = 0; l < s->depth; l++)
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                const double *W = w + (size_t)l * d * d;
                double sign = (i < h) == (j < h) ? 1 : -1;
                bad += W[(size_t)i * d + j] != sign * W[(size_t)(i % h) * d + j % h];
            }
    return bad;
}

/* Mean over the scoring inputs of log(|x_L|/|x_0|), by plain loops. */
static double rescore(const lyap_initnet_spec *s, const double *w)
{
    int d = s->width;
    double *x = malloc(sizeof *x * (size_t)d * s->inputs), *y = malloc(sizeof *y * d), total = 0;
    lyap_initnet_draw_inputs(s, x);
    for (int k = 0; k < s->inputs; k++) {
        double *v = x + (size_t)k * d;
        for (int l = 0; l < s->depth; l++) {
            double norm2 = 0;
            for (int i = 0; i < d; i++) {
                double z = 0;
                for (int j = 0; j < d; j++)
                    z += w[((size_t)l * d + i) * d + j] * v[j];
                y[i] = z > 0 ? z : s->slope * z;
                norm2 += y[i] * y[i];
            }
            total += 0.5 * log(norm2); /* v has unit norm */
            for (int i = 0; i < d; i++)
                v[i] = y[i] / sqrt(norm2);
        }
    }
    free(x);
    free(y);
    return total / s->inputs;
}

static void check_choice(const lyap_initnet_spec *s, const double *w)
{
    size_t n;
    double *score = nc_read_doubles(ncid, "candidate_mean_log_gain", &n);
    int best = 0, chosen = attr_int("chosen_candidate");
    double lo = score[0], hi = score[0], sum = 0, sum2 = 0;
    for (size_t c = 0; c < n; c++) {
        best = fabs(score[c]) < fabs(score[best]) ? (int)c : best;
        lo = fmin(lo, score[c]);
        hi = fmax(hi, score[c]);
        sum += score[c];
        sum2 += score[c] * score[c];
    }
    check(chosen == best && attr_double("mean_log_gain") == score[best],
          "chosen candidate %d (first smallest |score|: %d), mean_log_gain %.6f = its score %.6f", chosen, best,
          attr_double("mean_log_gain"), score[best]);
    check(attr_double("mean_log_gain_min") == lo && attr_double("mean_log_gain_max") == hi,
          "mean_log_gain_min/max %.6f/%.6f = extremes of the %zu scores", lo, hi, n);
    check_near("mean log gain re-scored from the stored weights", rescore(s, w), score[chosen], 1e-9);
    double mean = sum / n, sd = n > 1 ? sqrt((sum2 - n * mean * mean) / (n - 1)) : 0;
    printf("chosen |mean log gain| %.4f; candidates: mean %.4f, sd %.4f, over %zu\n", fabs(score[chosen]), mean, sd, n);
    if (n >= 100 && lyap_family_info_of(s->family)->exact_law) {
        double lambda;
        lyap_theory_exact(s->family, s->width, s->slope, s->variance, &lambda, NULL, NULL);
        check_near("mean candidate score vs L lambda(s2) (4 stderr)", mean, s->depth * lambda, 4 * sd / sqrt((double)n));
    }
    free(score);
}

int main(int argc, char **argv)
{
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "--compare") == 0)
        return compare_files(argv[2], argv[3], argc == 5 ? atof(argv[4]) : 1);
    if (argc != 4) {
        fprintf(stderr, "usage: check_init_file FILE.nc DEPTH WIDTH | --compare A.nc B.nc [FACTOR]\n");
        return 99;
    }
    nc_or_die(nc_open(argv[1], NC_NOWRITE, &ncid), argv[1]);
    lyap_initnet_spec spec = stored_spec();
    check_layout(&spec, atoi(argv[2]), atoi(argv[3]));
    size_t n;
    double *w = nc_read_doubles(ncid, "weights", &n);
    int b = lyap_family_info_of(spec.family)->looks_linear ? spec.width / 2 : spec.width;
    printf("%s: %s d = %d, a = %g, L = %d, s2 = %.12g, %d candidates\n", argv[1], lyap_family_name(spec.family),
           spec.width, spec.slope, spec.depth, spec.variance, spec.candidates);
    check_variance(&spec);
    check_entries(&spec, w, b);
    if (lyap_family_info_of(spec.family)->entries == LYAP_ENTRIES_HAAR)
        check_near("max |A^T A - s2 I| (orthogonal blocks)", orthogonality_error(&spec, w, b), 0, 1e-12 * spec.variance);
    if (lyap_family_info_of(spec.family)->looks_linear)
        check(looks_linear_mismatches(&spec, w, b) == 0, "W = [[A, -A], [-A, A]] exactly in every layer (%ld off)",
              looks_linear_mismatches(&spec, w, b));
    check_choice(&spec, w);
    free(w);
    nc_close(ncid);
    return check_status();
}
