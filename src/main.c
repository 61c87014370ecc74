/* main.c: the lyapdiag command line. Reads as a table of contents: parse the
 * command, load the deck on every rank, open the output, sweep, close.
 * Only main prints errors and chooses exit codes (STYLE.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "lyapdiag/deck.h"
#include "lyapdiag/error.h"
#include "lyapdiag/ncout.h"
#include "lyapdiag/propagate.h"
#include "lyapdiag/sched.h"
#include "lyapdiag/theory.h"

/* Exit statuses: 3 means "stopped early, finished work kept: --resume". */
enum { EXIT_RUN_FAILED = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 3 };

static const char usage_text[] =
    "Usage:\n"
    "  lyapdiag run DECK [--output FILE] [--resume] [--threads N] [--quiet]\n"
    "      Sweep the deck's grid (run under mpirun/srun for several ranks) and\n"
    "      write the NetCDF phase diagram ([output] file, or FILE). Finished\n"
    "      tasks are checkpointed to FILE.partial; SIGTERM, SIGINT or SIGUSR1\n"
    "      stop the run with exit status 3, and --resume computes only the\n"
    "      tasks still missing (the deck must match). --threads: BLAS threads\n"
    "      per rank for hybrid MPI x threads runs (default 1).\n"
    "  lyapdiag theory --width D --slope A [--family F] [--variance S2]\n"
    "      Exact lambda, CLT variance v and critical variance s2_crit (Lyapunov\n"
    "      initialization) for family F (gaussian, orthogonal, uniform,\n"
    "      looks-linear, looks-linear-orthogonal; default:\n"
    "      gaussian and orthogonal) at S2 (default: He / orthogonal gain 2/(1+a^2)).\n"
    "  lyapdiag --help | --help-deck | --version\n"
    "\n"
    "Example: mpirun -np 2 ./lyapdiag run inputs/quick.ini\n"
    "(as root, Open MPI also needs OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "lyapdiag: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "; see 'lyapdiag --help'\n");
    return EXIT_USAGE;
}

/* Strict number arguments for `theory`. */
static int parse_double_arg(const char *option, const char *text, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(*out)) {
        fprintf(stderr, "lyapdiag: %s: '%s' is not a number\n", option, text);
        return -1;
    }
    return 0;
}

/* ---- lyapdiag theory ------------------------------------------------------------ */

static int print_theory_row(lyap_family f, int d, double a, double s2, const char *label)
{
    double lambda, v, s2_crit;
    int status = lyap_theory_exact(f, d, a, s2, &lambda, &v, &s2_crit);
    if (status != LYAP_OK)
        return status;
    printf("%-23s %-10s %12.6f %14.8f %14.8f %14.8f\n", lyap_family_name(f), label, s2, lambda, v, s2_crit);
    return LYAP_OK;
}

static int cmd_theory(int argc, char **argv)
{
    double width = NAN, slope = NAN, variance = NAN;
    int nfamilies = 2;
    lyap_family families[2] = {LYAP_FAMILY_GAUSSIAN, LYAP_FAMILY_ORTHOGONAL};
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "--width") && strcmp(opt, "--slope") && strcmp(opt, "--family") && strcmp(opt, "--variance"))
            return usage_error("theory: unknown option '%s'", opt);
        if (!val)
            return usage_error("theory: %s needs a value", opt);
        i++;
        if (strcmp(opt, "--family") == 0) {
            nfamilies = 1;
            if (lyap_family_parse(val, &families[0]) != 0) {
                fprintf(stderr, "lyapdiag: --family: unknown family '%s'; choose from %s\n", val,
                        lyap_family_choices());
                return EXIT_USAGE;
            }
        } else if (parse_double_arg(opt, val, strcmp(opt, "--width") == 0   ? &width
                                              : strcmp(opt, "--slope") == 0 ? &slope
                                                                            : &variance)) {
            return EXIT_USAGE;
        }
    }
    if (isnan(width) || isnan(slope))
        return usage_error("theory: %s", "--width and --slope are required");
    if (width != floor(width) || width < 1 || width > LYAP_DECK_MAX_WIDTH)
        return usage_error("theory: --width must be a whole number from 1 to 65536%s", "");
    if (slope < 0 || slope > 1)
        return usage_error("theory: --slope must lie in [0, 1] (0 = ReLU, 1 = linear)%s", "");
    if (!isnan(variance) && variance <= 0)
        return usage_error("theory: --variance must be > 0%s", "");

    int d = (int)width;
    printf("Exact theory (doc/THEORY.md) at width d = %d, slope a = %g; natural log, per layer\n", d, slope);
    printf("%-23s %-10s %12s %14s %14s %14s\n", "family", "scale", "variance s2", "lambda", "v", "s2_crit");
    for (int i = 0; i < nfamilies; i++) {
        lyap_family f = families[i];
        double standard = lyap_theory_standard_variance(f, slope), crit;
        int status = lyap_theory_exact(f, d, slope, 1.0, NULL, NULL, &crit);
        if (status == LYAP_OK)
            status = print_theory_row(f, d, slope, isnan(variance) ? standard : variance,
                                      isnan(variance) ? (lyap_family_block(f) == LYAP_FAMILY_ORTHOGONAL ? "gain" : "He") : "given");
        if (status == LYAP_OK && isfinite(crit))
            status = print_theory_row(f, d, slope, crit, "Lyapunov");
        if (status != LYAP_OK) {
            fprintf(stderr, "lyapdiag: error: %s\n", lyap_error_message());
            return EXIT_RUN_FAILED;
        }
    }
    for (int i = 0; i < nfamilies; i++)
        if (!lyap_family_is_rotation_invariant(families[i]) && slope > 0)
            printf("%s weights have no closed form (nan): estimate them with a deck (lyapdiag run).\n",
                   lyap_family_name(families[i]));
    int dies = 0;
    for (int i = 0; i < nfamilies; i++)
        dies |= lyap_theory_death_probability(families[i], d, slope) > 0;
    if (dies)
        printf("slope 0 is ReLU: a layer kills the signal with probability 2^-%d, so lambda = -inf at every "
               "variance.\n", d);
    printf("lambda < 0: activations vanish with depth; > 0: they explode; s2_crit gives lambda = 0.\n");
    return 0;
}

/* ---- lyapdiag run ----------------------------------------------------------- */

typedef struct {
    const char *deck_path, *output;
    int quiet, resume, threads;
} run_options;

static int parse_run_options(int argc, char **argv, run_options *opt)
{
    *opt = (run_options){.threads = 1};
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--quiet") == 0) {
            opt->quiet = 1;
        } else if (strcmp(argv[i], "--resume") == 0) {
            opt->resume = 1;
        } else if (strcmp(argv[i], "--threads") == 0) {
            char *end = NULL;
            long n = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
            if (!end || *end != '\0' || n < 1 || n > 256)
                return usage_error("run: --threads needs a whole number from 1 to 256%s", "");
            opt->threads = (int)n;
            i++;
        } else if (strcmp(argv[i], "--output") == 0) {
            if (i + 1 >= argc)
                return usage_error("run: %s needs a file name", argv[i]);
            opt->output = argv[++i];
        } else if (argv[i][0] == '-' || opt->deck_path) {
            return usage_error("run: unexpected argument '%s'", argv[i]);
        } else {
            opt->deck_path = argv[i];
        }
    }
    if (!opt->deck_path)
        return usage_error("run: %s", "missing DECK (e.g. lyapdiag run inputs/quick.ini)");
    return 0;
}

static int store_result(void *ctx, long task, const lyap_task_result *result)
{
    return lyap_ncout_store_task(ctx, task, result);
}

static int is_done(void *ctx, long task)
{
    return lyap_ncout_is_done(ctx, task);
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
    fprintf(stderr,
            "lyapdiag %s: %s: %d families x %d widths x %d slopes = %ld tasks on %d rank%s; %d variances, "
            "depths %d..%d, %d replicas x %d inputs, seed %llu -> %s\n",
            PACKAGE_VERSION, deck->name, deck->nfamilies, deck->nwidths, deck->nslopes,
            lyap_deck_task_count(deck), lyap_sched_size(), lyap_sched_size() > 1 ? "s" : "", deck->nvariances,
            deck->depths[0], deck->depths[deck->ndepths - 1], deck->replicas, deck->batch,
            (unsigned long long)deck->seed, deck->output);
}

/* Collective errors: every rank has the same status; rank 0 says why. */
static int stop_all(int status)
{
    if (lyap_sched_rank() == 0)
        fprintf(stderr, "lyapdiag: error: %s\n", lyap_error_message());
    lyap_sched_finalize();
    return status == LYAP_EUSAGE ? EXIT_USAGE : EXIT_RUN_FAILED;
}

/* Rank 0 writes the complete file, or the checkpoint of a stopped run;
 * returns the exit status (the same on every rank). */
static int finish_run(const lyap_deck *deck, lyap_ncout **out, const run_options *opt, int status,
                      double elapsed)
{
    if (lyap_sched_rank() != 0)
        return status == LYAP_OK ? 0 : status == LYAP_EINTERRUPTED ? EXIT_INTERRUPTED : EXIT_RUN_FAILED;
    if (status == LYAP_EINTERRUPTED) {
        long done = lyap_ncout_done_count(*out);
        status = lyap_ncout_checkpoint(*out);
        if (status == LYAP_OK) {
            fprintf(stderr, "lyapdiag: stopped by a signal: %ld/%ld tasks kept in %s.partial; finish with: "
                    "lyapdiag run %s%s%s --resume\n", done, lyap_deck_task_count(deck), deck->output,
                    deck->name, opt->output ? " --output " : "", opt->output ? opt->output : "");
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
        printf("lyapdiag: wrote %s: %ld tasks on %d rank%s in %.2f s\n", deck->output, lyap_deck_task_count(deck),
               lyap_sched_size(), lyap_sched_size() == 1 ? "" : "s", elapsed);
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    run_options opt;
    lyap_deck deck;
    lyap_ncout *out = NULL;
    char history[2048];
    double elapsed = 0;

    int usage = parse_run_options(argc, argv, &opt);
    if (usage)
        return usage;
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
        if (!deck.output) /* this rank alone: the others would wait for it */
            lyap_sched_abort(lyap_fail(LYAP_ENOMEM, "out of memory"));
    }
    status = lyap_sched_check_ranks(&deck);
    if (status == LYAP_OK)
        status = lyap_sched_check_memory(&deck);
    if (status == LYAP_OK && lyap_sched_rank() == 0) {
        const char *resumed_from;
        make_history(argc, argv, history, sizeof history);
        status = lyap_ncout_open(deck.output, &deck, history, opt.resume, &resumed_from, &out);
        if (status == LYAP_OK && !opt.quiet)
            echo_settings(&deck);
        if (status == LYAP_OK && opt.resume && !opt.quiet && resumed_from)
            fprintf(stderr, "lyapdiag: resuming from %s: %ld/%ld tasks already done\n", resumed_from,
                    lyap_ncout_done_count(out), lyap_deck_task_count(&deck));
        else if (status == LYAP_OK && opt.resume && !opt.quiet)
            fprintf(stderr, "lyapdiag: --resume: no %s.partial or %s yet; starting from scratch\n",
                    deck.output, deck.output);
    }
    status = lyap_sched_agree(status);
    if (status != LYAP_OK) {
        lyap_deck_free(&deck);
        return stop_all(status);
    }

    status = lyap_sched_run(&deck, opt.quiet, is_done, store_result, out, &elapsed);
    if (status != LYAP_OK && status != LYAP_EINTERRUPTED) /* rank 0's own failure: workers wait on it */
        lyap_sched_abort(status);
    status = finish_run(&deck, &out, &opt, lyap_sched_agree(status), elapsed);
    lyap_deck_free(&deck);
    lyap_sched_finalize();
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("%s", "missing command (run or theory)");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--help-deck") == 0) {
        lyap_deck_print_reference(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc, argv);
    if (strcmp(argv[1], "theory") == 0)
        return cmd_theory(argc, argv);
    return usage_error("unknown command '%s' (run or theory)", argv[1]);
}
