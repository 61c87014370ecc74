/* main.c: the lyapdiag command line. Reads as a table of contents: parse the
 * command, load the deck on every rank, open the output, sweep, close.
 * Only main prints errors and chooses exit codes (doc/DESIGN.md,
 * Principles); sched alone also prints, when one rank must abort all. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "lyapdiag/deck.h"
#include "lyapdiag/error.h"
#include "lyapdiag/estimate.h"
#include "lyapdiag/grid.h"
#include "lyapdiag/initnet.h"
#include "lyapdiag/ncout.h"
#include "lyapdiag/propagate.h"
#include "lyapdiag/result.h"
#include "lyapdiag/sched.h"
#include "lyapdiag/depthlaw.h"
#include "lyapdiag/theory.h"
#include "lyapdiag/traindeck.h"
#include "lyapdiag/trainout.h"
#include "lyapdiag/trainsched.h"

/* Exit statuses: 3 means "stopped early, finished work kept: --resume";
 * 4 means stopped in a restart that finished no block of replicas (one
 * block outlasts the time slot): the work is kept, but requeueing would loop forever. */
enum { EXIT_RUN_FAILED = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 3, EXIT_NO_PROGRESS = 4 };

/* --help is these sections in order; `lyapdiag COMMAND --help` prints its own. */
static const char usage_run[] =
    "  lyapdiag run DECK [--output FILE] [--resume | --overwrite] [--threads N] [--quiet]\n"
    "      Sweep the deck's grid (run under mpirun/srun for several ranks) and\n"
    "      write the NetCDF phase diagram ([output] file, or FILE). Any number\n"
    "      of ranks works: tasks run as blocks of replicas. Finished tasks and\n"
    "      blocks are checkpointed to FILE.partial; SIGTERM, SIGINT or SIGUSR1\n"
    "      stop the run with exit status 3, and --resume computes only the\n"
    "      blocks still missing (the deck must match). A run refuses to start\n"
    "      over an existing FILE.partial unless given --resume (continue it)\n"
    "      or --overwrite (discard it), and over a finished FILE of another\n"
    "      deck unless given --overwrite; while a run writes FILE it holds\n"
    "      FILE.lock, and a second run on FILE is refused. The space FILE and\n"
    "      its checkpoints need is checked before any work. Every numeric\n"
    "      variable carries a checksum: --resume refuses a damaged checkpoint,\n"
    "      naming the variable, and keeps it for inspection. --threads: BLAS\n"
    "      threads per rank for hybrid MPI x threads runs (default 1).\n"
    "      Exit status: 0 done; 1 error (one line says why and what to do);\n"
    "      2 bad command line; 3 stopped by a signal, finished tasks kept:\n"
    "      rerun with --resume; 4 stopped by a signal in a restart that\n"
    "      finished no block (a block needs more time than the run gets):\n"
    "      work kept, but do not requeue; give the job more time.\n";
static const char usage_theory[] =
    "  lyapdiag theory --width D --slope A [--family F] [--variance S2]\n"
    "                  [--depth L] [--eps E] [--format table|csv|json]\n"
    "                  [--seed S] [--replicas N]\n"
    "      Exact lambda, CLT variance v and critical variance s2_crit (Lyapunov\n"
    "      initialization) for family F (one of FAMILIES below; default:\n"
    "      gaussian and orthogonal) at S2 (default: He / orthogonal gain 2/(1+a^2)).\n"
    "      S2 is d times the variance of one weight entry; entry_std = sqrt(S2/d).\n"
    "      With --depth L, also the exact law of |x_L|/|x_0| at depth L (FFT;\n"
    "      gaussian and orthogonal): p_vanish = P(|x_L| < E |x_0|), p_explode =\n"
    "      P(|x_L| > |x_0|/E) (E default 1e-3) and its 5/50/95% quantiles.\n"
    "      --format csv or json: the same rows at full precision, for scripts\n"
    "      (json keys: family, scale, method, variance, lambda, v, s2_crit,\n"
    "      entry_std; with --depth p_vanish, p_explode, q05, median, q95).\n"
    "      Families without a closed form (uniform, rademacher) get a Monte\n"
    "      Carlo answer in about a second, labelled so, with stderrs (json:\n"
    "      lambda_stderr, v_stderr, s2_crit_stderr); --seed S (default 1) and\n"
    "      --replicas N (more for a smaller stderr) set it.\n";
static const char usage_init[] =
    "  lyapdiag init --width D --slope A --depth L --output W.nc [--family F]\n"
    "                [--candidates N] [--inputs B] [--seed S] [--variance S2]\n"
    "      Lyapunov initialization: draw the L weight matrices (D x D) of a Leaky\n"
    "      ReLU network at the critical variance s2_crit (lambda = 0; families\n"
    "      without a closed form, and slope 0 where a family dies, need\n"
    "      --variance) and write them, scale included, to W.nc as\n"
    "      weights(layer, row, col): x_l = phi(W_l x_{l-1}). With N candidates\n"
    "      (default 1) it keeps the network whose mean log(|x_L|/|x_0|) over B\n"
    "      random unit inputs (default 16) is closest to 0. Seed default 1.\n"
    "      (--out is a deprecated name of --output.)\n"
    "      Load it in Python: postproc/load_init_weights.py W.nc\n";
static const char usage_info[] =
    "  lyapdiag info FILE [--format table|csv|json]\n"
    "      Summarize a phase diagram written by lyapdiag run (FILE, or its\n"
    "      checkpoint FILE.partial): the deck (its file name and text, as\n"
    "      stored), the grid (families, widths, slopes, variances, depths,\n"
    "      bias variances if any, replicas, seed), the tasks done, and the\n"
    "      boundary per family, width and slope: variance_crit +- stderr and\n"
    "      variance_crit_theory. --format csv: the boundary, one row per task;\n"
    "      json: everything (keys: file, deck_file, deck, families, widths,\n"
    "      slopes, variances, [bias_variances,] depths, replicas, seed, tasks,\n"
    "      tasks_done, boundary: [{family, width, slope, done, variance_crit,\n"
    "      variance_crit_stderr, variance_crit_theory}]; null for nan, inf).\n"
    "      A file of lyapdiag train (or its FILE.partial): the deck, the grid,\n"
    "      tasks done and diverged, and per configuration (method, width,\n"
    "      depth, slope, optimizer, learning rate) the median and quartiles of\n"
    "      final_test_loss over the finished seeds that did not diverge\n"
    "      (numpy's percentiles); csv: one row per configuration; json: keys\n"
    "      file, kind (\"training\"), deck_file, deck, task, steps, record_every,\n"
    "      methods, widths, depths, slopes, optimizers, learning_rates, seeds,\n"
    "      tasks, tasks_done, diverged, final_test_loss: [{method, width,\n"
    "      depth, slope, optimizer, learning_rate, finished, diverged, median,\n"
    "      q25, q75}].\n";
static const char usage_misc[] =
    "  lyapdiag --help | --help-deck | --help-output | --version\n"
    "      This text; every deck key with its default and meaning (the run\n"
    "      deck's, then the training deck's [train]); every variable of the\n"
    "      phase-diagram file (dimensions, units, meaning); the version and\n"
    "      the OpenBLAS kernels in use (jobs/openblas-core.sh reads them).\n"
    "  Options are long: --name VALUE or --name=VALUE; COMMAND --help prints\n"
    "  that command's part of this text. Whole-number options take the deck's\n"
    "  spellings: --replicas=1e4 is 10000, --seed=1.5e3 is 1500.\n";

/* After the families (listed from their table, src/family.c). */
static const char usage_footer[] =
    "Example: mpirun -np 2 ./lyapdiag run inputs/quick.ini\n"
    "(as root, Open MPI also needs OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)\n";

static void print_families(void)
{
    printf("\nFAMILIES (weight families, doc/THEORY.md): %s\n", lyap_family_choices());
}

/* A bad command line outside any command (no command, unknown command). */
static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "lyapdiag: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "; see 'lyapdiag --help'\n");
    return EXIT_USAGE;
}

/* A bad command line of COMMAND, its cause recorded by lyap_fail(LYAP_EUSAGE):
 * one line naming the command, the option and the fix; exit status 2. */
static int usage_failed(const char *command)
{
    fprintf(stderr, "lyapdiag: %s: %s (see 'lyapdiag %s --help')\n", command, lyap_error_message(), command);
    return EXIT_USAGE;
}

/* ---- options: one style for every command ----------------------------------------
 * Long options only, "--name VALUE" or "--name=VALUE"; flags take no value;
 * --help (or -h) on every command. Each command lists its options in a
 * table, so a mistyped name gets the nearest known one, as a mistyped deck
 * key does (the deck parser's edit distance). */
typedef struct {
    const char *name;    /* "--width" */
    const char *example; /* an example value ("8"), for messages; NULL for a flag */
    const char *renamed; /* a deprecated alias: the option to use instead */
} cli_option;

typedef struct {
    const char *command;       /* "run", "theory", "init" */
    const char *usage;         /* its section of --help */
    int families;              /* its --help lists the families */
    const cli_option *options; /* ends with {NULL} */
    int argc, next;
    char **argv;
    char name[64];             /* the option just read, without its "=VALUE" */
} cli_args;

/* What cli_next read: the end, an option (and its value), an operand (a
 * word without dashes), or --help (printed). Errors: LYAP_EUSAGE. */
enum { CLI_END = 0, CLI_OPTION, CLI_OPERAND, CLI_HELP };

static const cli_option *find_option(const cli_option *options, const char *name)
{
    for (const cli_option *o = options; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

/* Unknown option: the nearest name (a prefix counts as near: --out for
 * --output), else the list of them. */
static int unknown_option(const cli_args *a)
{
    const cli_option *best = NULL;
    int best_distance = 3;
    char names[512] = "";
    size_t n = 0, len = strlen(a->name);
    for (const cli_option *o = a->options; o->name; o++) {
        if (o->renamed)
            continue; /* suggest the current names only */
        int d = lyap_deck_edit_distance(a->name, o->name);
        if (len > 3 && strncmp(o->name, a->name, len) == 0)
            d = 1;
        if (d < best_distance) {
            best_distance = d;
            best = o;
        }
        if (n < sizeof names)
            n += (size_t)snprintf(names + n, sizeof names - n, "%s, ", o->name);
    }
    if (best)
        return lyap_fail(LYAP_EUSAGE, "unknown option '%s'; did you mean '%s'?", a->name, best->name);
    return lyap_fail(LYAP_EUSAGE, "unknown option '%s'; the options are %s--help", a->name, names);
}

static void print_command_help(const cli_args *a)
{
    printf("Usage:\n%s", a->usage);
    if (a->families)
        print_families();
}

/* Reads the next argument of A into *OPT and *VALUE (the value of an
 * option, or the operand); see CLI_*. A deprecated alias reads as its new
 * name, with a note on stderr. */
static int cli_next(cli_args *a, const cli_option **opt, const char **value)
{
    if (a->next >= a->argc)
        return CLI_END;
    const char *arg = a->argv[a->next++];
    *opt = NULL;
    *value = arg;
    if (arg[0] != '-' || arg[1] == '\0')
        return CLI_OPERAND;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        print_command_help(a);
        return CLI_HELP;
    }
    const char *eq = strchr(arg, '=');
    snprintf(a->name, sizeof a->name, "%.*s", (int)(eq ? eq - arg : (long)strlen(arg)), arg);
    *opt = find_option(a->options, a->name);
    if (!*opt)
        return unknown_option(a);
    if ((*opt)->renamed) {
        fprintf(stderr, "lyapdiag: %s: %s is deprecated and will go; use %s\n", a->command, a->name,
                (*opt)->renamed);
        *opt = find_option(a->options, (*opt)->renamed);
    }
    if (!(*opt)->example) {
        *value = NULL;
        return eq ? lyap_fail(LYAP_EUSAGE, "%s takes no value; give %s alone", a->name, a->name) : CLI_OPTION;
    }
    if (eq)
        *value = eq + 1;
    else if (a->next < a->argc && strncmp(a->argv[a->next], "--", 2) != 0)
        *value = a->argv[a->next++];
    else
        *value = "";
    if (!**value)
        return lyap_fail(LYAP_EUSAGE, "%s needs a value, e.g. %s %s", a->name, (*opt)->name, (*opt)->example);
    return CLI_OPTION;
}

/* ---- option values: the same checks and words in every command ------------------ */

static int parse_number(const char *option, const char *text, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(*out))
        return lyap_fail(LYAP_EUSAGE, "%s: '%s' is not a number", option, text);
    return LYAP_OK;
}

/* A whole number from MIN to MAX, spelled as the deck spells them (1e4,
 * 1.5e3: lyap_deck_whole, the one reader of both). */
static int parse_whole(const char *option, const char *text, long min, long max, int *out)
{
    unsigned long long x;
    int status = lyap_deck_whole(text, (unsigned long long)min, (unsigned long long)max, &x);
    if (status != 0)
        return lyap_fail(LYAP_EUSAGE, "%s must be a whole number from %ld to %ld, not %s%s", option, min, max, text,
                         lyap_deck_whole_hint(text, status));
    *out = (int)x;
    return LYAP_OK;
}

static int parse_slope(const char *option, const char *text, double *out)
{
    LYAP_CALL(parse_number(option, text, out));
    if (*out < 0 || *out > 1)
        return lyap_fail(LYAP_EUSAGE, "%s must lie in [0, 1] (0 = ReLU, 1 = linear), not %s", option, text);
    return LYAP_OK;
}

static int parse_variance(const char *option, const char *text, double *out)
{
    LYAP_CALL(parse_number(option, text, out));
    return *out > 0 ? LYAP_OK : lyap_fail(LYAP_EUSAGE, "%s must be > 0, not %s", option, text);
}

static int parse_family(const char *option, const char *text, lyap_family *out)
{
    if (lyap_family_parse(text, out) == 0)
        return LYAP_OK;
    return lyap_fail(LYAP_EUSAGE, "%s: unknown family '%s'; choose from %s", option, text, lyap_family_choices());
}

static int parse_seed(const char *option, const char *text, uint64_t *out)
{
    unsigned long long x;
    int status = lyap_deck_whole(text, 0, UINT64_MAX, &x);
    if (status != 0)
        return lyap_fail(LYAP_EUSAGE, "%s must be a whole number from 0 to 2^64-1, not %s%s", option, text,
                         lyap_deck_whole_hint(text, status));
    *out = (uint64_t)x;
    return LYAP_OK;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + 1e-9 * (double)(now.tv_nsec - start->tv_nsec);
}

/* ---- lyapdiag theory ------------------------------------------------------------ */

/* The three formats of theory and info: a table for eyes, csv and json at
 * full precision for scripts. */
typedef enum { FORMAT_TABLE, FORMAT_CSV, FORMAT_JSON } output_format;

static const cli_option theory_options_table[] = {
    {"--width", "8", NULL}, {"--slope", "0.1", NULL}, {"--family", "gaussian", NULL},
    {"--variance", "2", NULL}, {"--depth", "60", NULL}, {"--eps", "1e-3", NULL}, {"--format", "json", NULL},
    {"--seed", "1", NULL}, {"--replicas", "1024", NULL}, {NULL, NULL, NULL}};

typedef struct {
    int width, depth; /* depth 0: no finite-depth law */
    double slope, variance, eps; /* variance NaN: the standard scale */
    int nfamilies;
    lyap_family families[2];
    output_format format;
    uint64_t seed; /* of the Monte Carlo answer (families without a closed form) */
    int replicas;  /* of the Monte Carlo answer; 0: as many as fit in about a second */
} theory_options;

static int parse_format(const char *option, const char *text, output_format *out)
{
    const char *names[] = {"table", "csv", "json"};
    for (int i = 0; i < 3; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = (output_format)i;
            return LYAP_OK;
        }
    return lyap_fail(LYAP_EUSAGE, "%s must be table, csv or json, not '%s'", option, text);
}

static int theory_option(const char *name, const char *value, theory_options *o)
{
    if (strcmp(name, "--width") == 0)
        return parse_whole(name, value, 1, LYAP_DECK_MAX_WIDTH, &o->width);
    if (strcmp(name, "--slope") == 0)
        return parse_slope(name, value, &o->slope);
    if (strcmp(name, "--variance") == 0)
        return parse_variance(name, value, &o->variance);
    if (strcmp(name, "--depth") == 0)
        return parse_whole(name, value, 1, LYAP_DECK_MAX_DEPTH, &o->depth);
    if (strcmp(name, "--format") == 0)
        return parse_format(name, value, &o->format);
    if (strcmp(name, "--seed") == 0)
        return parse_seed(name, value, &o->seed);
    if (strcmp(name, "--replicas") == 0)
        return parse_whole(name, value, 16, 100000000, &o->replicas); /* fewer: an unreliable stderr */
    if (strcmp(name, "--family") == 0) {
        o->nfamilies = 1;
        return parse_family(name, value, &o->families[0]);
    }
    LYAP_CALL(parse_number(name, value, &o->eps)); /* --eps */
    if (!(o->eps > 0 && o->eps < 1))
        return lyap_fail(LYAP_EUSAGE, "--eps must lie strictly between 0 and 1 (default 1e-3), not %s", value);
    return LYAP_OK;
}

/* LYAP_OK, CLI_HELP (printed) or LYAP_EUSAGE. */
static int parse_theory_options(int argc, char **argv, theory_options *o)
{
    *o = (theory_options){.slope = NAN, .variance = NAN, .eps = 1e-3, .nfamilies = 2, .seed = 1,
                          .families = {LYAP_FAMILY_GAUSSIAN, LYAP_FAMILY_ORTHOGONAL}};
    cli_args a = {.command = "theory", .usage = usage_theory, .families = 1, .options = theory_options_table,
                  .argc = argc, .next = 2, .argv = argv};
    const cli_option *opt;
    const char *value;
    int r;
    while ((r = cli_next(&a, &opt, &value)) == CLI_OPTION)
        LYAP_CALL(theory_option(opt->name, value, o));
    if (r == CLI_OPERAND)
        return lyap_fail(LYAP_EUSAGE, "unexpected argument '%s'; theory takes only options", value);
    if (r != CLI_END)
        return r;
    if (o->width == 0 || isnan(o->slope))
        return lyap_fail(LYAP_EUSAGE, "--width and --slope are required, e.g. --width 8 --slope 0.1");
    return LYAP_OK;
}

/* One row of the answer: a family at one variance, with everything any
 * format prints, so the table, csv and json show the same numbers. */
typedef struct {
    lyap_family family;
    const char *scale;                  /* He, gain, given or Lyapunov */
    int monte_carlo;                    /* no closed form: estimated, with stderrs */
    double variance, lambda, v, s2_crit, entry_std;
    double lambda_stderr, v_stderr, s2_crit_stderr; /* Monte Carlo rows only */
    int has_law;                        /* --depth and the family has the exact finite-depth law */
    double p_vanish, p_explode, q05, median, q95;
} theory_row;

/* lambda(1), v and s2_crit of a family without a closed form, estimated. */
typedef struct {
    double lambda, v, s2_crit, lambda_stderr, v_stderr, s2_crit_stderr;
    double deaths; /* exact deaths per live layer-step seen (lattice weights: rows cancel) */
    int replicas, depth;
    double seconds;
} monte_carlo_answer;

typedef struct {
    theory_options opt;
    int nrows;
    theory_row rows[4]; /* at most 2 families x (standard or given, Lyapunov) */
    int monte_carlo;    /* a family had no closed form: MC holds its estimate */
    monte_carlo_answer mc;
} theory_answer;

/* The keys of csv and json after family, scale and method (the json
 * contract), in the table's order, by when they are present. */
enum { FIELD_ALWAYS, FIELD_MONTE_CARLO, FIELD_DEPTH };
static const struct {
    const char *key;
    size_t offset;
    int when;
} row_fields[] = {
    {"variance", offsetof(theory_row, variance), FIELD_ALWAYS},
    {"lambda", offsetof(theory_row, lambda), FIELD_ALWAYS},
    {"v", offsetof(theory_row, v), FIELD_ALWAYS},
    {"s2_crit", offsetof(theory_row, s2_crit), FIELD_ALWAYS},
    {"entry_std", offsetof(theory_row, entry_std), FIELD_ALWAYS},
    {"lambda_stderr", offsetof(theory_row, lambda_stderr), FIELD_MONTE_CARLO},
    {"v_stderr", offsetof(theory_row, v_stderr), FIELD_MONTE_CARLO},
    {"s2_crit_stderr", offsetof(theory_row, s2_crit_stderr), FIELD_MONTE_CARLO},
    {"p_vanish", offsetof(theory_row, p_vanish), FIELD_DEPTH},
    {"p_explode", offsetof(theory_row, p_explode), FIELD_DEPTH},
    {"q05", offsetof(theory_row, q05), FIELD_DEPTH},
    {"median", offsetof(theory_row, median), FIELD_DEPTH},
    {"q95", offsetof(theory_row, q95), FIELD_DEPTH},
};
#define NFIELDS (sizeof row_fields / sizeof *row_fields)

static double field_value(const theory_row *row, size_t i)
{
    return *(const double *)((const char *)row + row_fields[i].offset);
}

/* Field I is shown for ROW (json), or for any row of T when ROW is NULL (csv). */
static int field_shown(const theory_answer *t, const theory_row *row, size_t i)
{
    if (row_fields[i].when == FIELD_DEPTH)
        return t->opt.depth > 0;
    if (row_fields[i].when == FIELD_ALWAYS)
        return 1;
    if (row)
        return row->monte_carlo;
    for (int r = 0; r < t->nrows; r++)
        if (t->rows[r].monte_carlo)
            return 1;
    return 0;
}

/* The standard deviation of one weight entry: s2 is n times its variance,
 * n = d (h = d/2 for a looks-linear block A). */
static double entry_std(lyap_family f, int d, double s2)
{
    return sqrt(s2 / (lyap_family_info_of(f)->looks_linear ? d / 2 : d));
}

/* The exact law of |x_L|/|x_0| at depth L (THEORY.md "Finite depth") in ROW. */
static int depth_law(const theory_options *o, theory_row *row)
{
    lyap_depthlaw *law;
    const double levels[3] = {0.05, 0.5, 0.95};
    double *q[3] = {&row->q05, &row->median, &row->q95};
    LYAP_CALL(lyap_depthlaw_create(row->family, o->width, o->slope, row->variance, o->depth, &law));
    int status = lyap_depthlaw_tails(law, o->depth, log(o->eps), &row->p_vanish, &row->p_explode);
    for (int i = 0; status == LYAP_OK && i < 3; i++) {
        status = lyap_depthlaw_quantile(law, o->depth, levels[i], q[i]);
        *q[i] = exp(*q[i]);
    }
    lyap_depthlaw_destroy(&law);
    row->has_law = status == LYAP_OK;
    return status;
}

/* Bytes of memory this node has. */
static double physical_memory(void)
{
    return (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
}

/* Depth and replicas of the Monte Carlo answer, for about a second on one
 * core: a layer of the matrix path costs ~1.8 us + 2.5 ns per weight (one
 * input per network; measured at d = 4..1024, uniform and rademacher).
 * 200 layers per replica, so that the transient of the first layers (a
 * random unit input) weighs little in lambda, while 64 replicas fit; wider
 * networks (whose transient is smaller) get shorter replicas, at least 10
 * layers and 16 replicas. Returns the expected seconds. */
static double monte_carlo_budget(int d, int *depth, int *replicas)
{
    double layer_ns = 1800 + 2.5 * (double)d * d, layers = 1e9 / layer_ns;
    *depth = layers >= 64 * 200 ? 200 : (int)fmax(LYAP_DECK_MIN_MAX_DEPTH, layers / 64);
    *replicas = (int)fmin(1e6, fmax(16, layers / *depth));
    return 1e-9 * layer_ns * *depth * *replicas;
}

/* lambda, v and s2_crit at s2 = 1 of a family without a closed form, by
 * the deck's own estimator (one task: one input per network, the matrix
 * path); the other variances follow from the homogeneity shift. */
static int estimate_at_unit_variance(const theory_options *o, lyap_family f, monte_carlo_answer *mc)
{
    double one = 1.0;
    int depth, replicas;
    double seconds = monte_carlo_budget(o->width, &depth, &replicas);
    if (o->replicas) {
        seconds *= (double)o->replicas / replicas;
        replicas = o->replicas;
    } else if (seconds > 60) { /* the budget's floor (16 x 10 layers) is too long: let the user choose */
        return lyap_fail(LYAP_EUSAGE, "--family %s has no closed form, and its Monte Carlo answer at --width %d "
                         "needs about %.0f s: give --replicas N (16 or more) to run it anyway, or run a deck "
                         "(lyapdiag run) on several cores", lyap_family_name(f), o->width, seconds);
    }
    lyap_task_spec spec = {.family = f, .width = o->width, .slope = o->slope, .nvariances = 1, .variances = &one,
                           .ndepths = 1, .depths = &depth, .seed = o->seed, .replicas = replicas, .batch = 1,
                           .method = LYAP_METHOD_AUTO, .precision = LYAP_PRECISION_DOUBLE, .eps = o->eps};
    double bytes = lyap_estimate_task_bytes(&spec), node = physical_memory();
    if (bytes > 0.5 * node)
        return lyap_fail(LYAP_ENOMEM, "the Monte Carlo answer for %s weights at width %d needs about %.1f GB, but "
                         "this node has %.1f GB: choose a smaller --width", lyap_family_name(f), o->width,
                         bytes / 1e9, node / 1e9);
    lyap_task_result res;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    LYAP_CALL(lyap_task_result_init(&res, (lyap_result_dims){.nvariances = 1, .ndepths = 1}));
    int status = lyap_estimate_task(&spec, &res, NULL, NULL);
    if (status == LYAP_OK)
        *mc = (monte_carlo_answer){.lambda = *res.lambda, .v = *res.clt_variance, .s2_crit = *res.variance_crit,
                                   .lambda_stderr = *res.lambda_stderr, .v_stderr = *res.clt_variance_stderr,
                                   .s2_crit_stderr = *res.variance_crit_stderr, .deaths = *res.death_probability,
                                   .replicas = (int)*res.replicas_used,
                                   .depth = depth, .seconds = seconds_since(&start)};
    lyap_task_result_free(&res);
    return status;
}

/* Appends a row of family F at variance S2 to T: the exact values (NaN
 * where there is no closed form), or MC's estimate moved to S2. */
static int add_row(theory_answer *t, lyap_family f, double s2, const char *scale, const monte_carlo_answer *mc)
{
    const theory_options *o = &t->opt;
    theory_row *row = &t->rows[t->nrows++];
    *row = (theory_row){.family = f, .scale = scale, .variance = s2, .entry_std = entry_std(f, o->width, s2),
                        .lambda_stderr = NAN, .v_stderr = NAN, .s2_crit_stderr = NAN, .p_vanish = NAN,
                        .p_explode = NAN, .q05 = NAN, .median = NAN, .q95 = NAN};
    if (mc) {
        row->monte_carlo = 1;
        row->lambda = mc->lambda + lyap_theory_homogeneity_shift(s2, 1.0);
        row->v = mc->v;
        row->s2_crit = mc->s2_crit;
        row->lambda_stderr = mc->lambda_stderr; /* the shift is exact: the same stderr at every variance */
        row->v_stderr = mc->v_stderr;
        row->s2_crit_stderr = mc->s2_crit_stderr;
    } else {
        LYAP_CALL(lyap_theory_exact(f, o->width, o->slope, s2, &row->lambda, &row->v, &row->s2_crit));
    }
    if (strcmp(scale, "Lyapunov") == 0)
        row->lambda = 0; /* by definition; the quadratures' rounding would print -0.00000000 */
    if (o->depth && lyap_family_info_of(f)->exact_law)
        LYAP_CALL(depth_law(o, row));
    return LYAP_OK;
}

/* Every row: per family the standard (or the given) scale, then the
 * Lyapunov scale where it is finite. A family without a closed form gets
 * a Monte Carlo answer. Nothing is printed before all are computed, so a
 * failure leaves no partial table. */
static int compute_theory(theory_answer *t)
{
    const theory_options *o = &t->opt;
    for (int i = 0; i < o->nfamilies; i++) {
        lyap_family f = o->families[i];
        double lambda1, crit;
        LYAP_CALL(lyap_theory_exact(f, o->width, o->slope, 1.0, &lambda1, NULL, &crit));
        if (isnan(lambda1)) {
            LYAP_CALL(estimate_at_unit_variance(o, f, &t->mc));
            t->monte_carlo = 1;
            crit = t->mc.s2_crit;
        }
        const monte_carlo_answer *mc = isnan(lambda1) ? &t->mc : NULL;
        LYAP_CALL(add_row(t, f, isnan(o->variance) ? lyap_theory_standard_variance(f, o->slope) : o->variance,
                          isnan(o->variance) ? lyap_family_info_of(f)->standard_scale : "given", mc));
        if (isfinite(crit))
            LYAP_CALL(add_row(t, f, crit, "Lyapunov", mc));
    }
    return LYAP_OK;
}

/* ---- theory's notes: what the numbers mean, from what they are ---- */

#define NOTE_LENGTH 400
#define MAX_NOTES 12

static int family_has_nan(const theory_answer *t, lyap_family f)
{
    for (int r = 0; r < t->nrows; r++)
        if (t->rows[r].family == f && !t->rows[r].monte_carlo && isnan(t->rows[r].lambda))
            return 1;
    return 0;
}

/* The notes under the table (and json's "notes"); returns their number. */
static int theory_notes(const theory_answer *t, char notes[][NOTE_LENGTH])
{
    const theory_options *o = &t->opt;
    int n = 0, dies = 0;
    if (o->nfamilies == 1 && lyap_family_info_of(o->families[0])->looks_linear)
        snprintf(notes[n++], NOTE_LENGTH, "variance s2 is h = d/2 = %d times the variance of one entry of the "
                 "block A of W = [[A, -A], [-A, A]]: entry_std = sqrt(s2/h).", o->width / 2);
    else
        snprintf(notes[n++], NOTE_LENGTH, "variance s2 is d = %d times the variance of one weight entry: entry_std "
                 "= sqrt(s2/d) is the std torch.nn.init.normal_ takes (uniform_: bound sqrt(3) entry_std; "
                 "orthogonal_: gain sqrt(s2)).", o->width);
    if (t->monte_carlo)
        snprintf(notes[n++], NOTE_LENGTH, "Monte Carlo: no closed form, so lambda, v and s2_crit are estimated "
                 "(the deck's estimator, matrix path: %d networks of %d layers, one input each, seed %llu, %.1f s; "
                 "--replicas for more) at s2 = 1, and lambda(s2) = lambda(1) + log(s2)/2, s2_crit = "
                 "exp(-2 lambda(1)); the stderr rows give one standard error (s2_crit's by the delta method).",
                 t->mc.replicas, t->mc.depth, (unsigned long long)o->seed, t->mc.seconds);
    if (t->monte_carlo && t->mc.deaths > 0)
        snprintf(notes[n++], NOTE_LENGTH, "The Monte Carlo saw the signal killed exactly (W x = 0) at a rate of %.3g "
                 "per layer: so lambda = -inf at every variance and no variance reaches lambda = 0, as for ReLU.",
                 t->mc.deaths);
    for (int i = 0; i < o->nfamilies; i++) {
        const lyap_family_info *info = lyap_family_info_of(o->families[i]);
        if (family_has_nan(t, o->families[i]))
            snprintf(notes[n++], NOTE_LENGTH, "%s weights have no closed form (nan): estimate them with a deck "
                     "(lyapdiag run).", info->name);
        if (!info->limit_theorems)
            snprintf(notes[n++], NOTE_LENGTH, "%s weights have no density: outside the assumptions of the limit "
                     "theorems (doc/THEORY.md), so Monte Carlo lambda and v are estimates without that guarantee.",
                     info->name);
        if (info->dies_at_every_slope)
            snprintf(notes[n++], NOTE_LENGTH, "%s weights can kill the signal exactly (W x = 0: rows cancel) at "
                     "every slope, with a per-layer probability that is unknown in closed form and largest at "
                     "small widths.", info->name);
        dies |= lyap_theory_death_probability(o->families[i], o->width, o->slope) > 0;
    }
    if (dies)
        snprintf(notes[n++], NOTE_LENGTH, "slope 0 is ReLU: a layer kills the signal with probability 2^-%d, so "
                 "lambda = -inf at every variance.", o->width);
    snprintf(notes[n++], NOTE_LENGTH, "lambda < 0: activations vanish with depth; > 0: they explode; s2_crit gives "
             "lambda = 0.");
    return n;
}

/* ---- theory's formats ---- */

static void print_table_rows(const theory_answer *t)
{
    for (int r = 0; r < t->nrows; r++) {
        const theory_row *row = &t->rows[r];
        printf("%-23s %-10s %12.6f %14.8f %14.8f %14.8f %14.8f\n", lyap_family_name(row->family), row->scale,
               row->variance, row->lambda, row->v, row->s2_crit, row->entry_std);
        if (row->monte_carlo) /* one standard error under each estimate */
            printf("%-23s %-10s %12s %14.8f %14.8f %14.8f\n", lyap_family_name(row->family), "stderr", "",
                   row->lambda_stderr, row->v_stderr, row->s2_crit_stderr);
    }
}

/* Why a family has no depth-law rows: looks-linear families are exact per
 * layer from layer 2 on, but their first layer depends on the input. */
static void print_no_depth_law(lyap_family f)
{
    if (lyap_family_info_of(f)->looks_linear)
        printf("%-23s no finite-depth law in closed form (the first layer depends on how x_0 splits into u - v, "
               "doc/THEORY.md; lambda, v and s2_crit above are exact): run a deck (p_vanish, p_explode by Monte "
               "Carlo)\n", lyap_family_name(f));
    else
        printf("%-23s no exact finite-depth law (the increments are not independent): run a deck (p_vanish, "
               "p_explode by Monte Carlo)\n", lyap_family_name(f));
}

static void print_depth_table(const theory_answer *t)
{
    const theory_options *o = &t->opt;
    printf("\nExact law of |x_L|/|x_0| at depth L = %d (FFT convolution power of the per-layer law):\n", o->depth);
    printf("%-23s %-10s %12s %11s %11s %11s %11s %11s\n", "family", "scale", "variance s2", "p_vanish",
           "p_explode", "q05", "median", "q95");
    for (int i = 0; i < o->nfamilies; i++) {
        if (!lyap_family_info_of(o->families[i])->exact_law)
            print_no_depth_law(o->families[i]);
        for (int r = 0; r < t->nrows; r++) {
            const theory_row *row = &t->rows[r];
            if (row->family == o->families[i] && row->has_law)
                printf("%-23s %-10s %12.6f %11.4g %11.4g %11.4g %11.4g %11.4g\n", lyap_family_name(row->family),
                       row->scale, row->variance, row->p_vanish, row->p_explode, row->q05, row->median, row->q95);
        }
    }
    printf("p_vanish = P(|x_L| < %g |x_0|), p_explode = P(|x_L| > |x_0| / %g); q05, median, q95: quantiles "
           "of |x_L|/|x_0|.\n", o->eps, o->eps);
}

static void print_table(const theory_answer *t, int nnotes, char notes[][NOTE_LENGTH])
{
    printf("%s at width d = %d, slope a = %g; natural log, per layer\n",
           t->monte_carlo ? "Monte Carlo estimate (no closed form)" : "Exact theory (doc/THEORY.md)", t->opt.width,
           t->opt.slope);
    printf("%-23s %-10s %12s %14s %14s %14s %14s\n", "family", "scale", "variance s2", "lambda", "v", "s2_crit",
           "entry_std");
    print_table_rows(t);
    for (int i = 0; i < nnotes; i++)
        printf("%s\n", notes[i]);
    if (t->opt.depth)
        print_depth_table(t);
}

/* X at full precision in the fewest digits that read back as X: 0.1, not
 * %.17g's 0.10000000000000001 (%.15g, else %.16g, else %.17g). */
static void print_exact(double x)
{
    char text[32];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, x);
        if (strtod(text, NULL) == x)
            break;
    }
    fputs(text, stdout);
}

/* A number at full precision; json has no nan or inf: null there. */
static void print_number(double x, int json)
{
    if (isnan(x))
        printf(json ? "null" : "nan");
    else if (json && !isfinite(x))
        printf("null");
    else
        print_exact(x);
}

static const char *row_method(const theory_row *row)
{
    return row->monte_carlo ? "monte carlo" : "exact";
}

static void print_csv(const theory_answer *t)
{
    const theory_options *o = &t->opt;
    printf("family,scale,method,width,slope");
    for (size_t i = 0; i < NFIELDS; i++)
        if (field_shown(t, NULL, i))
            printf("%s%s", row_fields[i].when == FIELD_DEPTH && row_fields[i - 1].when != FIELD_DEPTH
                               ? ",depth,eps," : ",", row_fields[i].key);
    printf("\n");
    for (int r = 0; r < t->nrows; r++) {
        const theory_row *row = &t->rows[r];
        printf("%s,%s,%s,%d,", lyap_family_name(row->family), row->scale, row_method(row), o->width);
        print_exact(o->slope);
        for (size_t i = 0; i < NFIELDS; i++) {
            if (!field_shown(t, NULL, i))
                continue;
            if (row_fields[i].when == FIELD_DEPTH && row_fields[i - 1].when != FIELD_DEPTH) {
                printf(",%d,", o->depth);
                print_exact(o->eps);
            }
            printf(",");
            print_number(field_value(row, i), 0);
        }
        printf("\n");
    }
}

/* A json string: " and \ escaped, control characters (a deck's newlines
 * and tabs) as \n, \t or \u00XX; other bytes as they are. */
static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            printf("\\n");
        else if (c == '\t')
            printf("\\t");
        else if (c < 0x20 || c == 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print_json(const theory_answer *t, int nnotes, char notes[][NOTE_LENGTH])
{
    const theory_options *o = &t->opt;
    printf("{\"width\": %d, \"slope\": ", o->width);
    print_exact(o->slope);
    if (o->depth) {
        printf(", \"depth\": %d, \"eps\": ", o->depth);
        print_exact(o->eps);
    }
    printf(",\n \"rows\": [");
    for (int r = 0; r < t->nrows; r++) {
        const theory_row *row = &t->rows[r];
        printf("%s\n  {\"family\": \"%s\", \"scale\": \"%s\", \"method\": \"%s\"", r ? "," : "",
               lyap_family_name(row->family), row->scale, row_method(row));
        for (size_t i = 0; i < NFIELDS; i++)
            if (field_shown(t, row, i)) {
                printf(", \"%s\": ", row_fields[i].key);
                print_number(field_value(row, i), 1);
            }
        printf("}");
    }
    printf("],\n \"notes\": [");
    for (int i = 0; i < nnotes; i++) {
        printf("%s\n  ", i ? "," : "");
        print_json_string(notes[i]);
    }
    printf("]}\n");
}

static int cmd_theory(int argc, char **argv)
{
    theory_answer t = {0};
    char notes[MAX_NOTES][NOTE_LENGTH];
    int status = parse_theory_options(argc, argv, &t.opt);
    if (status == CLI_HELP)
        return 0;
    if (status != LYAP_OK)
        return usage_failed("theory");
    status = compute_theory(&t);
    if (status == LYAP_EUSAGE)
        return usage_failed("theory");
    if (status != LYAP_OK) {
        fprintf(stderr, "lyapdiag: error: %s\n", lyap_error_message());
        return EXIT_RUN_FAILED;
    }
    int nnotes = theory_notes(&t, notes);
    if (t.opt.format == FORMAT_CSV)
        print_csv(&t);
    else if (t.opt.format == FORMAT_JSON)
        print_json(&t, nnotes, notes);
    else
        print_table(&t, nnotes, notes);
    return 0;
}

/* ---- lyapdiag info ---------------------------------------------------------------
 * A phase-diagram file summarized for eyes (table) and scripts (csv, json),
 * read by ncout; theory's option machinery, formats and number printing. */

static const cli_option info_options_table[] = {{"--format", "json", NULL}, {NULL, NULL, NULL}};

typedef struct {
    const char *file;
    output_format format;
} info_options;

/* LYAP_OK, CLI_HELP (printed) or LYAP_EUSAGE. */
static int parse_info_options(int argc, char **argv, info_options *o)
{
    *o = (info_options){0};
    cli_args a = {.command = "info", .usage = usage_info, .options = info_options_table, .argc = argc, .next = 2,
                  .argv = argv};
    const cli_option *opt;
    const char *value;
    int r;
    while ((r = cli_next(&a, &opt, &value)) == CLI_OPTION || r == CLI_OPERAND) {
        if (r == CLI_OPTION)
            LYAP_CALL(parse_format(opt->name, value, &o->format)); /* --format, its only option */
        else if (o->file)
            return lyap_fail(LYAP_EUSAGE, "unexpected argument '%s': one FILE only, and %s is the file", value,
                             o->file);
        else
            o->file = value;
    }
    if (r != CLI_END)
        return r;
    if (!o->file)
        return lyap_fail(LYAP_EUSAGE, "missing FILE (e.g. lyapdiag info phase.nc)");
    return LYAP_OK;
}

/* The deck stored in a file, indented, under the table info prints. */
static void print_stored_deck(const char *deck_file, const char *deck)
{
    printf("\ndeck %s, as stored in the file:\n", deck_file);
    while (*deck) {
        size_t len = strcspn(deck, "\n");
        printf("  %.*s\n", (int)len, deck);
        deck += len + (deck[len] == '\n');
    }
}

/* A per-task (or per-configuration) array of doubles in a summary struct,
 * by its key in csv and json: info prints every format from one table. */
typedef struct {
    const char *key;
    size_t offset; /* of the double * in the summary */
} info_field;

static double summary_value(const void *summary, const info_field *field, long i)
{
    return (*(double *const *)((const char *)summary + field->offset))[i];
}

/* The boundary's numbers per task. */
static const info_field boundary_fields[] = {
    {"variance_crit", offsetof(lyap_ncout_summary, variance_crit)},
    {"variance_crit_stderr", offsetof(lyap_ncout_summary, variance_crit_stderr)},
    {"variance_crit_theory", offsetof(lyap_ncout_summary, variance_crit_theory)},
};
#define NBOUNDARY (sizeof boundary_fields / sizeof *boundary_fields)

/* Task T's family, width and slope (family-major, slope fastest). */
static void task_point(const lyap_ncout_summary *s, long t, const char **family, int *width, double *slope)
{
    *family = s->families[t / (long)(s->nwidths * s->nslopes)];
    *width = s->widths[t / (long)s->nslopes % (long)s->nwidths];
    *slope = s->slopes[t % (long)s->nslopes];
}

/* A list of N numbers (ints if INTS, else doubles) at full precision. */
static void print_list(const char *open, const char *sep, const char *close, size_t n, const int *ints,
                       const double *doubles, int json)
{
    printf("%s", open);
    for (size_t i = 0; i < n; i++) {
        printf("%s", i ? sep : "");
        if (ints)
            printf("%d", ints[i]);
        else
            print_number(doubles[i], json);
    }
    printf("%s", close);
}

/* For eyes: %g, and a long list cut to its ends. */
static void print_short_list(const char *name, size_t n, const int *ints, const double *doubles)
{
    printf("  %-16s", name);
    for (size_t i = 0; i < n; i++) {
        if (n > 12 && i == 4) {
            printf(", ...");
            i = n - 3;
        }
        if (ints)
            printf("%s%d", i ? ", " : "", ints[i]);
        else
            printf("%s%g", i ? ", " : "", doubles[i]);
    }
    if (n > 12)
        printf(" (%zu values)", n);
    printf("\n");
}

static void print_info_table(const info_options *o, const lyap_ncout_summary *s)
{
    printf("%s: phase diagram by %s, ", o->file, s->source ? s->source : "lyapdiag");
    if (s->tasks_done == s->tasks)
        printf("complete: %ld/%ld task%s done\n", s->tasks_done, s->tasks, lyap_plural(s->tasks));
    else { /* FILE.partial continues as FILE */
        size_t n = strlen(o->file), suffix = strlen(".partial");
        int partial = n > suffix && strcmp(o->file + n - suffix, ".partial") == 0;
        printf("a checkpoint: %ld/%ld task%s done%s; continue it with: lyapdiag run %s --output %.*s --resume\n",
               s->tasks_done, s->tasks, lyap_plural(s->tasks),
               s->tasks_started ? " (and finished blocks of more kept)" : "", s->deck_file,
               (int)(partial ? n - suffix : n), o->file);
    }
    printf("deck: %s (as stored in the file, at the end)\n", s->deck_file);
    printf("grid: %zu famil%s x %zu width%s x %zu slope%s = %ld task%s\n", s->nfamilies,
           s->nfamilies == 1 ? "y" : "ies", s->nwidths, lyap_plural(s->nwidths), s->nslopes,
           lyap_plural(s->nslopes), s->tasks, lyap_plural(s->tasks));
    printf("  %-16s", "families");
    for (size_t i = 0; i < s->nfamilies; i++)
        printf("%s%s", i ? ", " : "", s->families[i]);
    printf("\n");
    print_short_list("widths", s->nwidths, s->widths, NULL);
    print_short_list("slopes", s->nslopes, NULL, s->slopes);
    print_short_list("variances", s->nvariances, NULL, s->variances);
    if (s->nbias)
        print_short_list("bias variances", s->nbias, NULL, s->bias_variances);
    print_short_list("depths", s->ndepths, s->depths, NULL);
    printf("  %-16s%d per task, seed %llu\n", "replicas", s->replicas, s->seed);
    printf("\nboundary: critical variance s2_crit (lambda = 0), Monte Carlo +- stderr, and exact\n");
    printf("%-23s %6s %10s %16s %12s %16s\n", "family", "width", "slope", "variance_crit", "stderr",
           "theory");
    for (long t = 0; t < s->tasks; t++) {
        const char *family;
        int width;
        double slope;
        task_point(s, t, &family, &width, &slope);
        printf("%-23s %6d %10g ", family, width, slope);
        if (s->done[t] == 1)
            printf("%16.8g %12.4g %16.8g\n", summary_value(s, &boundary_fields[0], t),
                   summary_value(s, &boundary_fields[1], t), summary_value(s, &boundary_fields[2], t));
        else
            printf("%16s %12s %16.8g\n", "(not done)", "", summary_value(s, &boundary_fields[2], t));
    }
    printf("inf: no finite variance reaches lambda = 0 (slope 0, ReLU); nan: no closed form (theory) or not "
           "computed.\n");
    print_stored_deck(s->deck_file, s->deck);
}

static void print_info_csv(const lyap_ncout_summary *s)
{
    printf("family,width,slope,done");
    for (size_t i = 0; i < NBOUNDARY; i++)
        printf(",%s", boundary_fields[i].key);
    printf("\n");
    for (long t = 0; t < s->tasks; t++) {
        const char *family;
        int width;
        double slope;
        task_point(s, t, &family, &width, &slope);
        printf("%s,%d,", family, width);
        print_exact(slope);
        printf(",%d", s->done[t] == 1);
        for (size_t i = 0; i < NBOUNDARY; i++) {
            printf(",");
            print_number(summary_value(s, &boundary_fields[i], t), 0);
        }
        printf("\n");
    }
}

/* The opening keys of info's JSON for either kind of file: file, kind
 * (KIND NULL: none, as phase diagrams have always been written), deck_file,
 * deck. */
static void print_json_opening(const char *file, const char *kind, const char *deck_file, const char *deck)
{
    printf("{\"file\": ");
    print_json_string(file);
    if (kind)
        printf(",\n \"kind\": \"%s\"", kind);
    printf(",\n \"deck_file\": ");
    print_json_string(deck_file);
    printf(",\n \"deck\": ");
    print_json_string(deck);
}

static void print_info_json(const info_options *o, const lyap_ncout_summary *s)
{
    print_json_opening(o->file, NULL, s->deck_file, s->deck);
    printf(",\n \"families\": [");
    for (size_t i = 0; i < s->nfamilies; i++) {
        printf("%s", i ? ", " : "");
        print_json_string(s->families[i]);
    }
    printf("],\n");
    print_list(" \"widths\": [", ", ", "],\n", s->nwidths, s->widths, NULL, 1);
    print_list(" \"slopes\": [", ", ", "],\n", s->nslopes, NULL, s->slopes, 1);
    print_list(" \"variances\": [", ", ", "],\n", s->nvariances, NULL, s->variances, 1);
    if (s->nbias)
        print_list(" \"bias_variances\": [", ", ", "],\n", s->nbias, NULL, s->bias_variances, 1);
    print_list(" \"depths\": [", ", ", "],\n", s->ndepths, s->depths, NULL, 1);
    printf(" \"replicas\": %d, \"seed\": %llu, \"tasks\": %ld, \"tasks_done\": %ld,\n \"boundary\": [", s->replicas,
           s->seed, s->tasks, s->tasks_done);
    for (long t = 0; t < s->tasks; t++) {
        const char *family;
        int width;
        double slope;
        task_point(s, t, &family, &width, &slope);
        printf("%s\n  {\"family\": ", t ? "," : "");
        print_json_string(family);
        printf(", \"width\": %d, \"slope\": ", width);
        print_exact(slope);
        printf(", \"done\": %s", s->done[t] == 1 ? "true" : "false");
        for (size_t i = 0; i < NBOUNDARY; i++) {
            printf(", \"%s\": ", boundary_fields[i].key);
            print_number(summary_value(s, &boundary_fields[i], t), 1);
        }
        printf("}");
    }
    printf("]}\n");
}

/* ---- info on a training file (trainout's summary), in the same formats ---- */

/* Configuration C's coordinates (learning rate fastest, as the file). */
typedef struct {
    const char *method, *optimizer;
    int width, depth;
    double slope, learning_rate;
} train_point;

static train_point train_configuration(const lyap_trainout_summary *s, long c)
{
    train_point p;
    p.learning_rate = s->learning_rates[c % (long)s->nlearning_rates];
    c /= (long)s->nlearning_rates;
    p.optimizer = s->optimizers[c % (long)s->noptimizers];
    c /= (long)s->noptimizers;
    p.slope = s->slopes[c % (long)s->nslopes];
    c /= (long)s->nslopes;
    p.depth = s->depths[c % (long)s->ndepths];
    c /= (long)s->ndepths;
    p.width = s->widths[c % (long)s->nwidths];
    p.method = s->methods[c / (long)s->nwidths];
    return p;
}

/* The final test loss per configuration. */
static const info_field train_fields[] = {
    {"median", offsetof(lyap_trainout_summary, median)},
    {"q25", offsetof(lyap_trainout_summary, q25)},
    {"q75", offsetof(lyap_trainout_summary, q75)},
};
#define NTRAIN_FIELDS (sizeof train_fields / sizeof *train_fields)

static void print_string_list(const char *open, const char *const *names, size_t n, int json)
{
    printf(json ? " \"%s\": [" : "  %-16s", open);
    for (size_t i = 0; i < n; i++) {
        printf("%s", i ? ", " : "");
        if (json)
            print_json_string(names[i]);
        else
            printf("%s", names[i]);
    }
    printf(json ? "],\n" : "\n");
}

static void print_train_info_table(const info_options *o, const lyap_trainout_summary *s)
{
    printf("%s: training runs by %s, ", o->file, s->source ? s->source : "lyapdiag train");
    if (s->tasks_done == s->tasks)
        printf("complete: %ld/%ld task%s done, %ld diverged\n", s->tasks_done, s->tasks, lyap_plural(s->tasks),
               s->diverged);
    else {
        size_t n = strlen(o->file), suffix = strlen(".partial");
        int partial = n > suffix && strcmp(o->file + n - suffix, ".partial") == 0;
        printf("a checkpoint: %ld/%ld task%s done, %ld diverged; continue it with: lyapdiag train %s --output %.*s "
               "--resume\n", s->tasks_done, s->tasks, lyap_plural(s->tasks), s->diverged, s->deck_file,
               (int)(partial ? n - suffix : n), o->file);
    }
    printf("deck: %s (as stored in the file, at the end); task %s, %d steps, losses every %d\n", s->deck_file,
           s->task, s->steps, s->record_every);
    printf("grid: %zu method%s x %zu width%s x %zu depth%s x %zu slope%s x %zu optimizer%s x %zu learning rate%s "
           "x %zu seed%s = %ld task%s\n", s->nmethods, lyap_plural(s->nmethods), s->nwidths,
           lyap_plural(s->nwidths), s->ndepths, lyap_plural(s->ndepths), s->nslopes, lyap_plural(s->nslopes),
           s->noptimizers, lyap_plural(s->noptimizers), s->nlearning_rates, lyap_plural(s->nlearning_rates),
           s->nseeds, lyap_plural(s->nseeds), s->tasks, lyap_plural(s->tasks));
    print_string_list("methods", (const char *const *)s->methods, s->nmethods, 0);
    print_short_list("widths", s->nwidths, s->widths, NULL);
    print_short_list("depths", s->ndepths, s->depths, NULL);
    print_short_list("slopes", s->nslopes, NULL, s->slopes);
    print_string_list("optimizers", (const char *const *)s->optimizers, s->noptimizers, 0);
    print_short_list("learning rates", s->nlearning_rates, NULL, s->learning_rates);
    printf("\nfinal test loss over the finished seeds, diverged ones left out (median, quartiles; plots: "
           "postproc/plot_training.py %s)\n", o->file);
    printf("%-20s %6s %6s %8s %-9s %10s %12s %12s %12s %9s %9s\n", "method", "width", "depth", "slope", "optimizer",
           "lr", "median", "q25", "q75", "finished", "diverged");
    for (long c = 0; c < s->configurations; c++) {
        train_point p = train_configuration(s, c);
        printf("%-20s %6d %6d %8g %-9s %10g %12.5g %12.5g %12.5g %5ld/%-3zu %9ld\n", p.method, p.width, p.depth,
               p.slope, p.optimizer, p.learning_rate, summary_value(s, &train_fields[0], c),
               summary_value(s, &train_fields[1], c), summary_value(s, &train_fields[2], c), s->finished[c], s->nseeds,
               s->config_diverged[c]);
    }
    printf("nan: no finished seed that did not diverge.\n");
    print_stored_deck(s->deck_file, s->deck);
}

static void print_train_info_csv(const lyap_trainout_summary *s)
{
    printf("method,width,depth,slope,optimizer,learning_rate,seeds,finished,diverged");
    for (size_t i = 0; i < NTRAIN_FIELDS; i++)
        printf(",%s", train_fields[i].key);
    printf("\n");
    for (long c = 0; c < s->configurations; c++) {
        train_point p = train_configuration(s, c);
        printf("%s,%d,%d,", p.method, p.width, p.depth);
        print_exact(p.slope);
        printf(",%s,", p.optimizer);
        print_exact(p.learning_rate);
        printf(",%zu,%ld,%ld", s->nseeds, s->finished[c], s->config_diverged[c]);
        for (size_t i = 0; i < NTRAIN_FIELDS; i++) {
            printf(",");
            print_number(summary_value(s, &train_fields[i], c), 0);
        }
        printf("\n");
    }
}

static void print_train_info_json(const info_options *o, const lyap_trainout_summary *s)
{
    print_json_opening(o->file, "training", s->deck_file, s->deck);
    printf(",\n \"task\": ");
    print_json_string(s->task);
    printf(",\n \"steps\": %d, \"record_every\": %d,\n", s->steps, s->record_every);
    print_string_list("methods", (const char *const *)s->methods, s->nmethods, 1);
    print_list(" \"widths\": [", ", ", "],\n", s->nwidths, s->widths, NULL, 1);
    print_list(" \"depths\": [", ", ", "],\n", s->ndepths, s->depths, NULL, 1);
    print_list(" \"slopes\": [", ", ", "],\n", s->nslopes, NULL, s->slopes, 1);
    print_string_list("optimizers", (const char *const *)s->optimizers, s->noptimizers, 1);
    print_list(" \"learning_rates\": [", ", ", "],\n", s->nlearning_rates, NULL, s->learning_rates, 1);
    printf(" \"seeds\": %zu, \"tasks\": %ld, \"tasks_done\": %ld, \"diverged\": %ld,\n \"final_test_loss\": [",
           s->nseeds, s->tasks, s->tasks_done, s->diverged);
    for (long c = 0; c < s->configurations; c++) {
        train_point p = train_configuration(s, c);
        printf("%s\n  {\"method\": ", c ? "," : "");
        print_json_string(p.method);
        printf(", \"width\": %d, \"depth\": %d, \"slope\": ", p.width, p.depth);
        print_exact(p.slope);
        printf(", \"optimizer\": ");
        print_json_string(p.optimizer);
        printf(", \"learning_rate\": ");
        print_exact(p.learning_rate);
        printf(", \"finished\": %ld, \"diverged\": %ld", s->finished[c], s->config_diverged[c]);
        for (size_t i = 0; i < NTRAIN_FIELDS; i++) {
            printf(", \"%s\": ", train_fields[i].key);
            print_number(summary_value(s, &train_fields[i], c), 1);
        }
        printf("}");
    }
    printf("]}\n");
}

/* info on a file of `lyapdiag train`: its summary in O's format. */
static int train_info(const info_options *o)
{
    lyap_trainout_summary s;
    if (lyap_trainout_read_summary(o->file, &s) != LYAP_OK) {
        fprintf(stderr, "lyapdiag: error: %s\n", lyap_error_message());
        return EXIT_RUN_FAILED;
    }
    if (o->format == FORMAT_CSV)
        print_train_info_csv(&s);
    else if (o->format == FORMAT_JSON)
        print_train_info_json(o, &s);
    else
        print_train_info_table(o, &s);
    lyap_trainout_summary_free(&s);
    return 0;
}

static int cmd_info(int argc, char **argv)
{
    info_options o;
    lyap_ncout_summary s;
    int status = parse_info_options(argc, argv, &o);
    if (status == CLI_HELP)
        return 0;
    if (status != LYAP_OK)
        return usage_failed("info");
    if (lyap_trainout_is_training_file(o.file))
        return train_info(&o);
    if (lyap_ncout_read_summary(o.file, &s) != LYAP_OK) {
        fprintf(stderr, "lyapdiag: error: %s\n", lyap_error_message());
        return EXIT_RUN_FAILED;
    }
    if (o.format == FORMAT_CSV)
        print_info_csv(&s);
    else if (o.format == FORMAT_JSON)
        print_info_json(&o, &s);
    else
        print_info_table(&o, &s);
    lyap_ncout_summary_free(&s);
    return 0;
}

/* ---- lyapdiag run ----------------------------------------------------------- */

typedef struct {
    const char *program, *deck_path, *output;
    int quiet, resume, overwrite, threads;
} run_options;

static const cli_option run_options_table[] = {
    {"--output", "phase.nc", NULL}, {"--resume", NULL, NULL}, {"--overwrite", NULL, NULL},
    {"--threads", "4", NULL}, {"--quiet", NULL, NULL}, {NULL, NULL, NULL}};

static int run_option(const char *name, const char *value, run_options *opt)
{
    if (strcmp(name, "--output") == 0)
        opt->output = value;
    else if (strcmp(name, "--threads") == 0)
        return parse_whole(name, value, 1, 256, &opt->threads);
    else
        *(strcmp(name, "--quiet") == 0 ? &opt->quiet : strcmp(name, "--resume") == 0 ? &opt->resume
                                                                                      : &opt->overwrite) = 1;
    return LYAP_OK;
}

/* LYAP_OK, CLI_HELP (printed) or LYAP_EUSAGE. */
static int parse_run_options(int argc, char **argv, run_options *opt)
{
    *opt = (run_options){.threads = 1, .program = argv[0]};
    cli_args a = {.command = "run", .usage = usage_run, .options = run_options_table, .argc = argc, .next = 2,
                  .argv = argv};
    const cli_option *o;
    const char *value;
    int r;
    while ((r = cli_next(&a, &o, &value)) == CLI_OPTION || r == CLI_OPERAND) {
        if (r == CLI_OPTION)
            LYAP_CALL(run_option(o->name, value, opt));
        else if (opt->deck_path)
            return lyap_fail(LYAP_EUSAGE, "unexpected argument '%s': one DECK only, and %s is the deck", value,
                             opt->deck_path);
        else
            opt->deck_path = value;
    }
    if (r != CLI_END)
        return r;
    if (!opt->deck_path)
        return lyap_fail(LYAP_EUSAGE, "missing DECK (e.g. lyapdiag run inputs/quick.ini)");
    if (opt->resume && opt->overwrite)
        return lyap_fail(LYAP_EUSAGE, "--resume keeps FILE.partial and --overwrite discards it: give one of them");
    return LYAP_OK;
}

static int store_result(void *ctx, long task, const lyap_task_result *result)
{
    return lyap_ncout_store_task(ctx, task, result);
}

static int is_done(void *ctx, long task)
{
    return lyap_ncout_is_done(ctx, task);
}

static int store_blocks(void *ctx, long task, int n, const lyap_block_state *states)
{
    return lyap_ncout_store_blocks(ctx, task, n, states);
}

static int adopt_blocks(void *ctx)
{
    return lyap_ncout_adopt_blocks(ctx);
}

static int saved_blocks(void *ctx, long task, int *n, const lyap_block_state **states)
{
    return lyap_ncout_saved_blocks(ctx, task, n, states);
}

static void make_history(int argc, char **argv, char *out, size_t size)
{
    time_t now = time(NULL);
    size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%SZ:", gmtime(&now));
    for (int i = 0; i < argc && n + 1 < size; i++)
        n += (size_t)snprintf(out + n, size - n, " %s", argv[i]);
}

static void echo_settings(const lyap_deck *deck)
{
    char biases[96] = "";
    if (lyap_deck_has_biases(deck))
        snprintf(biases, sizeof biases, " x %d bias variance%s (input m0 %g)", deck->nbias_variances,
                 lyap_plural(deck->nbias_variances), deck->input_m0);
    fprintf(stderr,
            "lyapdiag %s: %s: %d famil%s x %d width%s x %d slope%s = %ld task%s on %d rank%s; %d variances%s, "
            "depths %d..%d, %d replicas x %d inputs, seed %llu, BLAS core %s -> %s\n",
            PACKAGE_VERSION, deck->name, deck->nfamilies, deck->nfamilies == 1 ? "y" : "ies", deck->nwidths,
            lyap_plural(deck->nwidths), deck->nslopes, lyap_plural(deck->nslopes),
            lyap_deck_task_count(deck), lyap_plural(lyap_deck_task_count(deck)), lyap_sched_size(),
            lyap_sched_size() > 1 ? "s" : "", deck->nvariances,
            biases, deck->depths[0], deck->depths[deck->ndepths - 1], deck->replicas, deck->batch,
            (unsigned long long)deck->seed, lyap_propagate_blas_core(), deck->output);
}

/* Collective errors: every rank has the same status; rank 0 says why. */
static int stop_all(int status)
{
    if (lyap_sched_rank() == 0)
        fprintf(stderr, "lyapdiag: error: %s\n", lyap_error_message());
    lyap_sched_finalize();
    return status == LYAP_EUSAGE ? EXIT_USAGE : EXIT_RUN_FAILED;
}

/* The comparator that puts the task needing the most time first. */
static int by_need(const void *a, const void *b)
{
    double x = ((const lyap_sched_unfinished *)a)->needed, y = ((const lyap_sched_unfinished *)b)->needed;
    return (x < y) - (x > y);
}

/* One line for a restart that finished no block before its signal: which
 * work units were running, how far they got, and the time they need
 * against the time slot this run had. */
static void say_no_progress(const lyap_deck *deck, lyap_sched_report *r, long done)
{
    char running[1024] = "";
    size_t n = 0;
    int listed = r->nshown < 3 ? r->nshown : 3;
    qsort(r->shown, (size_t)r->nshown, sizeof *r->shown, by_need);
    for (int i = 0; i < listed && n < sizeof running; i++) {
        const lyap_sched_unfinished *u = &r->shown[i];
        int f, w, s;
        char need[64] = "more: not one replica finished";
        lyap_grid_task_position(deck, u->task, &f, &w, &s);
        if (isfinite(u->needed))
            snprintf(need, sizeof need, "needs about %.0f s", u->needed);
        n += (size_t)snprintf(running + n, sizeof running - n, "%s%s width %d slope %g (block %d of %d, %d "
                              "replica%s: %.0f%% done in %.0f s, %s)", i ? ", " : "",
                              lyap_family_name(deck->families[f]), deck->widths[w], deck->slopes[s], u->block + 1,
                              u->nblocks, u->replicas, lyap_plural(u->replicas), 100 * u->fraction, u->seconds,
                              need);
    }
    if (r->nunfinished > listed && n < sizeof running)
        snprintf(running + n, sizeof running - n, " and %d more", r->nunfinished - listed);
    fprintf(stderr, "lyapdiag: no progress: this restart finished no block of replicas in the %.0f s before its "
            "stop signal; running: %s; a time slot of %.0f s cannot finish %s (a block is the smallest piece a "
            "checkpoint keeps: an unfinished one restarts from zero), so requeueing would loop: give the job more "
            "time (e.g. sbatch --time) or make the blocks shorter (smaller depths or widths); %ld/%ld task%s stay in "
            "%s.partial for --resume (exit status 4)\n", r->slot, running[0] ? running : "none", r->slot,
            r->nunfinished == 1 ? "it" : "them", done, lyap_deck_task_count(deck),
            lyap_plural(lyap_deck_task_count(deck)), deck->output);
}

/* Rank 0 writes the complete file, or the checkpoint of a stopped run;
 * returns the exit status (the same on every rank). */
static int finish_run(const lyap_deck *deck, lyap_ncout **out, const run_options *opt, int status,
                      lyap_sched_report *report)
{
    if (lyap_sched_rank() != 0)
        return status == LYAP_OK ? 0 : status == LYAP_EINTERRUPTED ? EXIT_INTERRUPTED
                                   : status == LYAP_ENOPROGRESS   ? EXIT_NO_PROGRESS : EXIT_RUN_FAILED;
    if (status == LYAP_ENOPROGRESS) { /* nothing new: the checkpoint on disk holds it all */
        say_no_progress(deck, report, lyap_ncout_done_count(*out));
        lyap_ncout_close(out);
        return EXIT_NO_PROGRESS;
    }
    if (status == LYAP_EINTERRUPTED) {
        long done = lyap_ncout_done_count(*out), tasks_held = 0;
        long blocks_held = lyap_ncout_blocks_held(*out, &tasks_held);
        status = lyap_ncout_checkpoint(*out);
        if (status == LYAP_OK) {
            char ranks[32] = "", blocks[96] = "";
            if (lyap_sched_size() > 1)
                snprintf(ranks, sizeof ranks, "mpirun -np %d ", lyap_sched_size());
            if (blocks_held > 0)
                snprintf(blocks, sizeof blocks, ", with %ld finished block%s of %ld unfinished task%s", blocks_held,
                         lyap_plural(blocks_held), tasks_held, lyap_plural(tasks_held));
            fprintf(stderr, "lyapdiag: stopped by a signal: %ld/%ld task%s kept in %s.partial%s; finish with: "
                    "%s%s run %s%s%s --resume\n", done, lyap_deck_task_count(deck),
                    lyap_plural(lyap_deck_task_count(deck)), deck->output, blocks, ranks,
                    opt->program, deck->name, opt->output ? " --output " : "", opt->output ? opt->output : "");
            lyap_ncout_close(out);
            return EXIT_INTERRUPTED;
        }
    }
    if (status == LYAP_OK)
        status = lyap_ncout_finish(out);
    if (status != LYAP_OK) {
        fprintf(stderr, "lyapdiag: error: %s\n", lyap_error_message());
        lyap_ncout_close(out);
        return EXIT_RUN_FAILED;
    }
    if (!opt->quiet)
        printf("lyapdiag: wrote %s: %ld task%s on %d rank%s in %.2f s; rank 0 served %ld unit message%s, %.1f us "
               "each, and started and finished %ld task%s, %.1f us each\n",
               deck->output, lyap_deck_task_count(deck), lyap_plural(lyap_deck_task_count(deck)),
               lyap_sched_size(), lyap_plural(lyap_sched_size()), report->seconds, report->served,
               lyap_plural(report->served), report->served ? 1e6 * report->serve_seconds / report->served : 0.0,
               report->finished, lyap_plural(report->finished),
               report->finished ? 1e6 * report->task_seconds / report->finished : 0.0);
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    run_options opt;
    lyap_deck deck;
    lyap_ncout *out = NULL;
    char history[2048];
    lyap_sched_report report;
    const char *resumed_from = NULL;

    int usage = parse_run_options(argc, argv, &opt);
    if (usage == CLI_HELP)
        return 0;
    if (usage != LYAP_OK)
        return usage_failed("run");
    if (lyap_sched_init(&argc, &argv) != LYAP_OK) {
        fprintf(stderr, "lyapdiag: error: %s\n", lyap_error_message());
        return EXIT_RUN_FAILED;
    }
    lyap_propagate_set_blas_threads(opt.threads); /* one per rank unless asked: ranks fill the cores */
    int status = lyap_sched_load_deck(opt.deck_path, &deck);
    if (status != LYAP_OK)
        return stop_all(status);
    if (opt.output) {
        free(deck.output);
        deck.output = strdup(opt.output);
        if (!deck.output) { /* this rank alone: the others would wait for it */
            lyap_fail(LYAP_ENOMEM, "out of memory");
            lyap_sched_abort();
        }
    }
    status = lyap_sched_check_memory(&deck);
    if (status == LYAP_OK && lyap_sched_rank() == 0) {
        make_history(argc, argv, history, sizeof history);
        status = lyap_ncout_open(deck.output, &deck, history,
                                 opt.resume ? LYAP_NCOUT_RESUME : opt.overwrite ? LYAP_NCOUT_OVERWRITE : LYAP_NCOUT_NEW,
                                 &resumed_from, &out);
        if (status == LYAP_OK && !opt.quiet)
            echo_settings(&deck);
        long tasks_held = 0, blocks_held = status == LYAP_OK ? lyap_ncout_blocks_held(out, &tasks_held) : 0;
        char blocks[96] = "";
        if (blocks_held > 0)
            snprintf(blocks, sizeof blocks, ", and %ld finished block%s of %ld more", blocks_held,
                     lyap_plural(blocks_held), tasks_held);
        if (status == LYAP_OK && opt.resume && !opt.quiet && resumed_from)
            fprintf(stderr, "lyapdiag: resuming from %s: %ld/%ld task%s already done%s\n", resumed_from,
                    lyap_ncout_done_count(out), lyap_deck_task_count(&deck), lyap_plural(lyap_deck_task_count(&deck)),
                    blocks);
        else if (status == LYAP_OK && opt.resume && !opt.quiet)
            fprintf(stderr, "lyapdiag: --resume: no %s.partial or %s yet; starting from scratch\n",
                    deck.output, deck.output);
    }
    status = lyap_sched_agree(status);
    if (status != LYAP_OK) {
        lyap_deck_free(&deck);
        return stop_all(status);
    }

    lyap_sched_io io = {.ctx = out, .is_done = is_done, .sink = store_result, .store_blocks = store_blocks,
                        .adopt_blocks = adopt_blocks, .saved_blocks = saved_blocks};
    status = lyap_sched_run(&deck, opt.quiet, &io, &report);
    if (status != LYAP_OK && status != LYAP_EINTERRUPTED) { /* rank 0's own failure: workers wait on it */
        lyap_ncout_close(&out); /* the last checkpoint stays; the lock goes */
        lyap_sched_abort();
    }
    /* A restart that finished no block before its signal would do the same
     * again in the same time slot: stop the requeue loop (exit 4). A
     * finished block is progress: a task of any length finishes across
     * requeues as long as a slot can finish one of its blocks. */
    if (status == LYAP_EINTERRUPTED && resumed_from && report.finished == 0 && report.blocks == 0)
        status = LYAP_ENOPROGRESS;
    status = finish_run(&deck, &out, &opt, lyap_sched_agree(status), &report);
    lyap_deck_free(&deck);
    lyap_sched_finalize();
    return status;
}

/* ---- lyapdiag init ------------------------------------------------------------- */

static const cli_option init_options_table[] = {
    {"--width", "8", NULL}, {"--slope", "0.1", NULL}, {"--depth", "60", NULL}, {"--output", "W.nc", NULL},
    {"--family", "gaussian", NULL}, {"--candidates", "8", NULL}, {"--inputs", "16", NULL}, {"--seed", "1", NULL},
    {"--variance", "2", NULL}, {"--out", "W.nc", "--output"}, {NULL, NULL, NULL}};

/* One `init` option and its value into SPEC or *OUT. */
static int init_option(const char *name, const char *value, lyap_initnet_spec *spec, const char **out)
{
    if (strcmp(name, "--width") == 0)
        return parse_whole(name, value, 1, LYAP_DECK_MAX_WIDTH, &spec->width);
    if (strcmp(name, "--depth") == 0)
        return parse_whole(name, value, 1, LYAP_DECK_MAX_DEPTH, &spec->depth);
    if (strcmp(name, "--candidates") == 0)
        return parse_whole(name, value, 1, 1000000, &spec->candidates);
    if (strcmp(name, "--inputs") == 0)
        return parse_whole(name, value, 1, 1000000, &spec->inputs);
    if (strcmp(name, "--slope") == 0)
        return parse_slope(name, value, &spec->slope);
    if (strcmp(name, "--variance") == 0)
        return parse_variance(name, value, &spec->variance);
    if (strcmp(name, "--seed") == 0)
        return parse_seed(name, value, &spec->seed);
    if (strcmp(name, "--family") == 0)
        return parse_family(name, value, &spec->family);
    *out = value; /* --output */
    return LYAP_OK;
}

/* LYAP_OK, CLI_HELP (printed) or LYAP_EUSAGE. */
static int parse_init_options(int argc, char **argv, lyap_initnet_spec *spec, const char **out)
{
    cli_args a = {.command = "init", .usage = usage_init, .families = 1, .options = init_options_table,
                  .argc = argc, .next = 2, .argv = argv};
    const cli_option *opt;
    const char *value;
    int r;
    while ((r = cli_next(&a, &opt, &value)) == CLI_OPTION)
        LYAP_CALL(init_option(opt->name, value, spec, out));
    if (r == CLI_OPERAND)
        return lyap_fail(LYAP_EUSAGE, "unexpected argument '%s'; init takes only options", value);
    if (r != CLI_END)
        return r;
    if (spec->width == 0 || isnan(spec->slope) || spec->depth == 0)
        return lyap_fail(LYAP_EUSAGE, "--width, --slope and --depth are required");
    if (!*out)
        return lyap_fail(LYAP_EUSAGE, "--output FILE is required, e.g. --output W.nc");
    return LYAP_OK;
}

static void echo_init(const char *out, const lyap_initnet *net, double elapsed)
{
    const lyap_initnet_spec *s = &net->spec;
    double lo = net->scores[0], hi = net->scores[0];
    for (int c = 1; c < s->candidates; c++) {
        lo = fmin(lo, net->scores[c]);
        hi = fmax(hi, net->scores[c]);
    }
    printf("lyapdiag: wrote %s: %s d = %d, a = %g, L = %d at s2 = %.9g (%s); ", out, lyap_family_name(s->family),
           s->width, s->slope, s->depth, net->variance, net->variance_is_critical ? "critical" : "given");
    if (s->candidates > 1) /* numbered from 0, as the file's chosen_candidate */
        printf("kept candidate %d of 0..%d, mean log gain %.4f over %d inputs (all candidates: %.4f to %.4f)",
               net->chosen, s->candidates - 1, net->scores[net->chosen], s->inputs, lo, hi);
    else
        printf("one network, mean log gain %.4f over %d inputs", net->scores[0], s->inputs);
    printf(" in %.2f s\n", elapsed);
}


static int cmd_init(int argc, char **argv)
{
    lyap_initnet_spec spec = {.family = LYAP_FAMILY_GAUSSIAN, .slope = NAN, .variance = NAN, .seed = 1,
                              .candidates = 1, .inputs = 16};
    lyap_initnet net = {0};
    const char *out = NULL;
    char history[2048];
    struct timespec start;
    int status = parse_init_options(argc, argv, &spec, &out);
    if (status == CLI_HELP)
        return 0;
    if (status != LYAP_OK)
        return usage_failed("init");

    clock_gettime(CLOCK_MONOTONIC, &start);
    lyap_propagate_set_blas_threads(1); /* small GEMMs and QRs: threads cost more than they give (2x at d = 256) */
    status = lyap_initnet_check(&spec);
    if (status == LYAP_OK)
        status = lyap_initnet_check_output(out);
    if (status == LYAP_OK)
        status = lyap_initnet_create(&spec, &net);
    if (status == LYAP_OK) {
        make_history(argc, argv, history, sizeof history);
        status = lyap_ncout_write_init(out, &net, history);
    }
    if (status == LYAP_OK)
        echo_init(out, &net, seconds_since(&start));
    else if (status != LYAP_EUSAGE)
        fprintf(stderr, "lyapdiag: error: %s\n", lyap_error_message());
    lyap_initnet_free(&net);
    return status == LYAP_OK ? 0 : status == LYAP_EUSAGE ? usage_failed("init") : EXIT_RUN_FAILED;
}

/* ---- lyapdiag train (issue 13; the sweep: trainsched.c, the file: trainout.c) ---- */

static const char usage_train[] =
    "  lyapdiag train DECK [--output FILE] [--resume | --overwrite] [--quiet] [--help-deck]\n"
    "      Train deep narrow networks from each initialization of the deck's\n"
    "      [train] section (run under mpirun/srun for several ranks): one task\n"
    "      per (method, width, depth, slope, optimizer, learning rate, seed),\n"
    "      the same file for any number of ranks. Checkpoints, --resume,\n"
    "      --overwrite, the lock and the exit statuses are run's; a stop signal\n"
    "      stops every rank within 64 steps (an unfinished task restarts from\n"
    "      zero on --resume). --help-deck lists the keys.\n";

typedef struct {
    const char *program, *deck_path, *output;
    int quiet, resume, overwrite, help_deck;
} train_options;

static const cli_option train_options_table[] = {
    {"--output", "train.nc", NULL}, {"--resume", NULL, NULL}, {"--overwrite", NULL, NULL},
    {"--quiet", NULL, NULL}, {"--help-deck", NULL, NULL}, {NULL, NULL, NULL}};

/* LYAP_OK, CLI_HELP (printed) or LYAP_EUSAGE. */
static int parse_train_options(int argc, char **argv, train_options *opt)
{
    *opt = (train_options){.program = argv[0]};
    cli_args a = {.command = "train", .usage = usage_train, .options = train_options_table, .argc = argc,
                  .next = 2, .argv = argv};
    const cli_option *o;
    const char *value;
    int r;
    while ((r = cli_next(&a, &o, &value)) == CLI_OPTION || r == CLI_OPERAND) {
        if (r == CLI_OPERAND && opt->deck_path)
            return lyap_fail(LYAP_EUSAGE, "unexpected argument '%s': one DECK only, and %s is the deck", value,
                             opt->deck_path);
        if (r == CLI_OPERAND)
            opt->deck_path = value;
        else if (strcmp(o->name, "--output") == 0)
            opt->output = value;
        else
            *(strcmp(o->name, "--quiet") == 0    ? &opt->quiet
              : strcmp(o->name, "--resume") == 0 ? &opt->resume
              : strcmp(o->name, "--overwrite") == 0 ? &opt->overwrite
                                                    : &opt->help_deck) = 1;
    }
    if (r != CLI_END)
        return r;
    if (opt->help_deck)
        return LYAP_OK;
    if (!opt->deck_path)
        return lyap_fail(LYAP_EUSAGE, "missing DECK (e.g. lyapdiag train inputs/train_quick.ini)");
    if (opt->resume && opt->overwrite)
        return lyap_fail(LYAP_EUSAGE, "--resume keeps FILE.partial and --overwrite discards it: give one of them");
    return LYAP_OK;
}

static void echo_train_settings(const lyap_deck *deck)
{
    const lyap_train_deck *t = deck->train;
    const lyap_train_setup *s = &t->setup;
    char batch[32] = "full batch";
    if (s->batch > 0)
        snprintf(batch, sizeof batch, "batch %d", s->batch);
    fprintf(stderr,
            "lyapdiag %s: %s: %d method%s x %d width%s x %d depth%s x %d slope%s x %d optimizer%s x %d learning "
            "rate%s x %d seed%s = %ld task%s on %d rank%s; %s, %d/%d points, %d steps, %s, losses every %d, "
            "biases %s -> %s\n",
            PACKAGE_VERSION, deck->name, t->nmethods, lyap_plural(t->nmethods), t->nwidths,
            lyap_plural(t->nwidths), t->ndepths, lyap_plural(t->ndepths), t->nslopes, lyap_plural(t->nslopes),
            t->noptimizers, lyap_plural(t->noptimizers), t->nlearning_rates, lyap_plural(t->nlearning_rates),
            t->nseeds, lyap_plural(t->nseeds), lyap_train_task_count(t), lyap_plural(lyap_train_task_count(t)),
            lyap_sched_size(),
            lyap_plural(lyap_sched_size()), s->problem == LYAP_TRAIN_SCORE ? "score matching" : "polynomial",
            s->train_points, s->test_points, s->steps, batch, s->record_every, s->biases ? "yes" : "no",
            deck->output);
}

/* Rank 0 writes the complete file, or the checkpoint of a stopped run;
 * returns the exit status (the same on every rank). */
static int finish_train(const lyap_deck *deck, lyap_trainout **out, const train_options *opt, int status,
                        const lyap_train_report *report, const char *resumed_from)
{
    long total = lyap_train_task_count(deck->train);
    /* A restart that finished no task before its signal would do the
     * same again in the same time slot: exit 4, not 3. */
    int no_progress = status == LYAP_EINTERRUPTED && resumed_from && report->finished == 0;
    if (lyap_sched_rank() != 0)
        return status == LYAP_OK ? 0 : status != LYAP_EINTERRUPTED ? EXIT_RUN_FAILED
                                   : no_progress                   ? EXIT_NO_PROGRESS : EXIT_INTERRUPTED;
    if (status == LYAP_EINTERRUPTED) {
        long done = lyap_trainout_done_count(*out);
        status = lyap_trainout_checkpoint(*out);
        if (status == LYAP_OK) {
            char ranks[32] = "";
            if (lyap_sched_size() > 1)
                snprintf(ranks, sizeof ranks, "mpirun -np %d ", lyap_sched_size());
            if (no_progress)
                fprintf(stderr, "lyapdiag: no progress: this restart finished no task in the %.0f s before its stop "
                        "signal (a task is the smallest piece a checkpoint keeps, and one needs more time than the run gets), so requeueing would loop: give the job "
                        "more time (e.g. sbatch --time) or make the tasks shorter (fewer steps); %ld/%ld task%s stay in "
                        "%s.partial for --resume (exit status 4)\n", report->seconds, done, total,
                        lyap_plural(total), deck->output);
            else
                fprintf(stderr, "lyapdiag: stopped by a signal: %ld/%ld task%s kept in %s.partial; finish with: "
                        "%s%s train %s%s%s --resume\n", done, total, lyap_plural(total), deck->output, ranks,
                        opt->program, deck->name, opt->output ? " --output " : "", opt->output ? opt->output : "");
            lyap_trainout_close(out);
            return no_progress ? EXIT_NO_PROGRESS : EXIT_INTERRUPTED;
        }
    }
    if (status == LYAP_OK)
        status = lyap_trainout_finish(out);
    if (status != LYAP_OK) {
        fprintf(stderr, "lyapdiag: error: %s\n", lyap_error_message());
        lyap_trainout_close(out);
        return EXIT_RUN_FAILED;
    }
    if (!opt->quiet)
        printf("lyapdiag: wrote %s: %ld task%s (%ld trained in this run, %ld of them diverged) on %d rank%s in "
               "%.2f s; the ranks spent %.1f s in tasks (%.0f%% of %d x %.2f s; one rank %.1f to %.1f s)\n",
               deck->output, total, lyap_plural(total), report->finished, report->diverged, lyap_sched_size(),
               lyap_plural(lyap_sched_size()), report->seconds, report->task_seconds,
               100 * report->task_seconds / (lyap_sched_size() * (report->seconds > 0 ? report->seconds : 1)),
               lyap_sched_size(), report->seconds, report->least_busy, report->most_busy);
    return 0;
}

static int cmd_train(int argc, char **argv)
{
    train_options opt;
    lyap_deck deck;
    lyap_trainout *out = NULL;
    char history[2048];
    lyap_train_report report;
    const char *resumed_from = NULL;

    int usage = parse_train_options(argc, argv, &opt);
    if (usage == CLI_HELP)
        return 0;
    if (usage != LYAP_OK)
        return usage_failed("train");
    if (opt.help_deck) {
        lyap_deck_print_train_reference(stdout);
        return 0;
    }
    if (lyap_sched_init(&argc, &argv) != LYAP_OK) {
        fprintf(stderr, "lyapdiag: error: %s\n", lyap_error_message());
        return EXIT_RUN_FAILED;
    }
    lyap_propagate_set_blas_threads(1);
    int status = lyap_train_load_deck(opt.deck_path, &deck);
    if (status != LYAP_OK)
        return stop_all(status);
    if (opt.output) {
        free(deck.output);
        deck.output = strdup(opt.output);
        if (!deck.output) {
            lyap_fail(LYAP_ENOMEM, "out of memory");
            lyap_sched_abort();
        }
    }
    status = lyap_train_check_memory(&deck);
    if (status == LYAP_OK && lyap_sched_rank() == 0) {
        make_history(argc, argv, history, sizeof history);
        status = lyap_trainout_open(deck.output, &deck, history,
                                    opt.resume ? LYAP_NCOUT_RESUME : opt.overwrite ? LYAP_NCOUT_OVERWRITE
                                                                                  : LYAP_NCOUT_NEW,
                                    &resumed_from, &out);
        if (status == LYAP_OK && !opt.quiet)
            echo_train_settings(&deck);
        if (status == LYAP_OK && opt.resume && !opt.quiet && resumed_from)
            fprintf(stderr, "lyapdiag: resuming from %s: %ld/%ld task%s already done\n", resumed_from,
                    lyap_trainout_done_count(out), lyap_train_task_count(deck.train),
                    lyap_plural(lyap_train_task_count(deck.train)));
        else if (status == LYAP_OK && opt.resume && !opt.quiet)
            fprintf(stderr, "lyapdiag: --resume: no %s.partial or %s yet; starting from scratch\n", deck.output,
                    deck.output);
    }
    status = lyap_sched_agree(status);
    if (status != LYAP_OK) {
        lyap_deck_free(&deck);
        return stop_all(status);
    }
    /* Every rank must know whether rank 0 resumed (exit 4 is decided on all). */
    int resumed = resumed_from != NULL;
    if (lyap_sched_agree(-resumed) != 0)
        resumed_from = resumed_from ? resumed_from : "";
    status = lyap_train_sweep(&deck, opt.quiet, out, &report);
    if (status != LYAP_OK && status != LYAP_EINTERRUPTED) { /* rank 0's own failure: workers wait on it */
        lyap_trainout_close(&out);
        lyap_sched_abort();
    }
    status = finish_train(&deck, &out, &opt, lyap_sched_agree(status), &report, resumed_from);
    lyap_deck_free(&deck);
    lyap_sched_finalize();
    return status;
}

/* A mistyped command: the nearest one, as for options. */
static int unknown_command(const char *name)
{
    const char *commands[] = {"run", "theory", "info", "init", "train"};
    for (int i = 0; i < 5; i++)
        if (lyap_deck_edit_distance(name, commands[i]) <= 2) {
            fprintf(stderr, "lyapdiag: unknown command '%s'; did you mean '%s'? (see 'lyapdiag --help')\n", name,
                    commands[i]);
            return EXIT_USAGE;
        }
    return usage_error("unknown command '%s' (run, theory, info, init or train)", name);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("%s", "missing command (run, theory, info, init or train)");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf("Usage:\n%s%s%s%s%s%s", usage_run, usage_train, usage_theory, usage_info, usage_init, usage_misc);
        print_families();
        printf("\n");
        fputs(usage_footer, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--help-deck") == 0) { /* both decks, from deck.c's one key table */
        printf("A phase-diagram deck (lyapdiag run DECK): [grid], [sampling], [output]\n\n");
        lyap_deck_print_reference(stdout);
        printf("\nA training deck (lyapdiag train DECK; a deck with a [train] section): [train], [output]\n\n");
        lyap_deck_print_train_reference(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--help-output") == 0) {
        lyap_result_print_schema(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("%s %s\nBLAS core: %s\n", PACKAGE_NAME, PACKAGE_VERSION, lyap_propagate_blas_core());
        return 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc, argv);
    if (strcmp(argv[1], "theory") == 0)
        return cmd_theory(argc, argv);
    if (strcmp(argv[1], "info") == 0)
        return cmd_info(argc, argv);
    if (strcmp(argv[1], "init") == 0)
        return cmd_init(argc, argv);
    if (strcmp(argv[1], "train") == 0)
        return cmd_train(argc, argv);
    return unknown_command(argv[1]);
}
