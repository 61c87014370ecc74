/* A training deck ([train], `lyapdiag train`) goes through the run deck's
 * parser: every bad key is refused with one line naming file:line, the key
 * and the fix; whole-deck conflicts (looks-linear at odd widths, a
 * lyapunov method at slope 0, record_every not dividing steps, ...) are
 * refused naming the key; a good deck parses to the right values and task
 * grid; run decks and training decks refuse each other's command. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lyapdiag/deck.h"
#include "lyapdiag/error.h"
#include "lyapdiag/traindeck.h"

#define T "[train]\n"

static const struct {
    const char *deck;
    const char *expected; /* substring of the message */
} bad_decks[] = {
    {T "task = regression\n", "train.ini:2: [train] task: 'regression' must be polynomial"},
    {T "coefficients = 1, x\n", "train.ini:2: [train] coefficients: 'x' is not a number"},
    {T "coefficients = 1,,2\n", "[train] coefficients: empty list item"},
    {T "coefficients = 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1\n", "[train] coefficients: 17 coefficients; at most 16"},
    {T "train_points = 0\n", "[train] train_points: '0' must be a whole number from 1"},
    {T "test_points = many\n", "[train] test_points: 'many' must be a whole number"},
    {T "noise = -1\n", "[train] noise: '-1' must be a number >= 0"},
    {T "task = score\nscore_sigma = 0\n", "[train] score_sigma: '0' must be a number > 0"},
    {T "methods = he, lyapunov-gausian\n", "[train] methods: unknown method 'lyapunov-gausian'; did you mean 'lyapunov-gaussian'?"},
    {T "methods = glorot\n", "[train] methods: unknown method 'glorot'; choose from he, orthogonal"},
    {T "methods = he, he\n", "[train] methods: method 'he' listed twice"},
    {T "methods = he,\n", "[train] methods: empty list item"},
    {T "widths = 0\n", "train.ini:2: [train] widths: 0 is out of range"},
    {T "widths = 8, 4\n", "[train] widths: 4 after 8: list each value once, in increasing order"},
    {T "widths = 2.5\n", "[train] widths: '2.5' must be a whole number"},
    {T "depths = 0\n", "[train] depths: 0 is out of range"},
    {T "slopes = 1.5\n", "[train] slopes: 1.5 is out of range"},
    {T "learning_rates = 0\n", "[train] learning_rates: 0 is out of range; allowed: 0 < lr"},
    {T "learning_rates = 1e-3 # small\n", "inline comments start with ';'"},
    {T "optimizers = rmsprop\n", "[train] optimizers: unknown optimizer 'rmsprop'; choose adam or sgd"},
    {T "optimizers = sgd, sgd\n", "[train] optimizers: optimizer 'sgd' listed twice"},
    {T "momentum = 1\n", "[train] momentum: '1' must be a number from 0 to below 1"},
    {T "seeds = 0\n", "[train] seeds: '0' must be a whole number from 1"},
    {T "steps = 0\n", "[train] steps: '0' must be a whole number from 1"},
    {T "batch = -1\n", "[train] batch: '-1' must be a whole number from 0"},
    {T "record_every = 0\n", "[train] record_every: '0' must be a whole number from 1"},
    {T "biases = maybe\n", "[train] biases: 'maybe' must be yes or no"},
    {T "candidates = 0\n", "[train] candidates: '0' must be a whole number from 1"},
    {T "seed = 3\n", "train.ini:2: [train] seed: unknown key; did you mean 'seeds' in [train]?"},
    {T "steps = 10\nsteps = 20\n", "train.ini:3: [train] steps: given twice (first at line 2)"},
    /* whole-deck checks */
    {T "widths = 3, 8\n", "[train] widths: method looks-linear (W = [[A, -A], [-A, A]]) needs even widths; 3 is odd"},
    {T "methods = he\nwidths = 3\n", NULL}, /* odd widths are fine without looks-linear */
    {T "slopes = 0, 0.1\n", "[train] slopes: method lyapunov-gaussian needs the critical variance s2_crit, which "
                            "is infinite at slope 0"},
    {T "methods = he, lsuv, looks-linear\nslopes = 0\n", NULL}, /* slope 0 without lyapunov methods */
    {T "steps = 100\nrecord_every = 30\n", "[train] record_every = 30 does not divide steps = 100"},
    {T "train_points = 64\nbatch = 128\n", "[train] batch = 128 exceeds train_points = 64"},
    {T "coefficients = \n", "[train] coefficients: empty list item"},
    {T "seeds = 1000000\nwidths = 2:200:100\n", "tasks (methods x widths x depths x slopes x optimizers x "
                                                "learning_rates x seeds), more than 10000000; split the deck"},
    {T "steps = 10000000\nrecord_every = 1\n", "[train] record_every = 1 gives 10000001 records of 10000000 steps, "
                                               "more than 1000000"},
    {T "seeds = 100000\nsteps = 100000\nrecord_every = 100\n", "losses per variable, more than 1e+08"},
    /* a key of the other task: refused naming both keys */
    {T "task = score\ncoefficients = 0, 1\n", "train.ini:3: [train] coefficients: applies to task = polynomial only, "
                                           "but [train] task = score (line 2); remove coefficients, or set task = "
                                           "polynomial"},
    {T "noise = 0.1\ntask = score\n", "train.ini:2: [train] noise: applies to task = polynomial only, but [train] "
                                      "task = score (line 3)"},
    {T "score_sigma = 0.3\n", "train.ini:2: [train] score_sigma: applies to task = score only, but [train] task = "
                             "polynomial (the default); remove score_sigma, or set task = score"},
    {T "task = polynomial\nscore_sigma = 0.3\n", "[train] score_sigma: applies to task = score only, but [train] "
                                                 "task = polynomial (line 2)"},
    {T "task = score\nscore_sigma = 0.3\n", NULL},
    {T "task = polynomial\ncoefficients = 1, 2\nnoise = 0.1\n", NULL},
    /* sections and kinds */
    {T "[grid]\nwidths = 4\n", "train.ini:3: [grid] widths: not a key of a training deck (it has [train]); "
                               "write it as [train] widths"},
    {T "[sampling]\nreplicas = 4\n", "[sampling] replicas: not a key of a training deck (it has [train]); remove it"},
    {T "[trian]\nsteps = 4\n", "train.ini:3: [trian]: unknown section; did you mean [train]?"},
    {T "[physics]\nsteps = 4\n", "[physics]: unknown section; sections are [train], [output] (a training deck)"},
    /* a section without keys is still read: an empty misspelled one is no silent no-op */
    {T "steps = 4\n[outptu]\n; file = x.nc\n", "train.ini:3: [outptu]: unknown section; did you mean [output]?"},
    {T "steps = 4\n[grid]\n", "train.ini:3: [grid]: a section of phase diagram decks (`lyapdiag run`); a training "
                              "deck has [train] and [output] only"},
    {"steps = 4\n" T, "train.ini:1: steps: key outside any section; put it under [train] or [output]"},
    {T "[output]\ncheckpoint_seconds = -1\n", "[output] checkpoint_seconds: '-1' must be a number of seconds"},
    {T "[output]\nfile =\n", "[output] file: empty file name"},
    {"[grid]\nwidths = 4\nslopes = 0.1\nvariances = 1\ndepths = 100\n",
     "train.ini: no [train] section: not a training deck; add [train]"},
    /* a misspelled [train] is named as such, not as a missing section */
    {"; deck\n [ trian ]\nsteps = 4\n", "train.ini:2: [trian]: unknown section; did you mean [train]?"},
    {"[Train]\nsteps = 4\n[output]\nfile = x.nc\n", "train.ini:1: [Train]: unknown section; did you mean [train]?"},
};

static void test_bad_decks(void)
{
    for (size_t i = 0; i < sizeof bad_decks / sizeof bad_decks[0]; i++) {
        lyap_deck deck;
        int status = lyap_deck_parse_train(bad_decks[i].deck, "train.ini", &deck);
        const char *msg = status == LYAP_OK ? "ok" : lyap_error_message();
        if (!bad_decks[i].expected) {
            check(status == LYAP_OK, "deck %zu parses: %s", i, msg);
            if (status == LYAP_OK)
                lyap_deck_free(&deck);
            continue;
        }
        check(status == LYAP_EDECK && strstr(msg, bad_decks[i].expected) && !strchr(msg, '\n'),
              "bad training deck %zu rejected: status %d, message '%s', expected '%s'", i, status, msg,
              bad_decks[i].expected);
        if (status == LYAP_OK)
            lyap_deck_free(&deck);
    }
}

/* `lyapdiag run` refuses a training deck, naming `lyapdiag train`. */
static void test_run_refuses_training_deck(void)
{
    lyap_deck deck;
    int status = lyap_deck_parse("; comment\n  [ train ] ; the section\nsteps = 10\n", "t.ini", &deck);
    const char *msg = lyap_error_message();
    check(status == LYAP_EDECK && strstr(msg, "t.ini:2: [train]: a training deck; run it with `lyapdiag train t.ini`"),
          "lyap_deck_parse refuses a training deck: '%s'", msg);
    /* ... and a misspelled [train] in it: did you mean [train], not [grid] */
    status = lyap_deck_parse("[trian]\nsteps = 10\n", "t.ini", &deck);
    msg = lyap_error_message();
    check(status == LYAP_EDECK && strstr(msg, "t.ini:2: [trian]: unknown section; did you mean [train]? (a training "
                                              "deck: run it with `lyapdiag train t.ini`)"),
          "lyap_deck_parse names [train] for [trian]: '%s'", msg);
    /* a run deck's own typos keep their suggestion */
    status = lyap_deck_parse("[gird]\nwidths = 4\n", "t.ini", &deck);
    msg = lyap_error_message();
    check(status == LYAP_EDECK && strstr(msg, "t.ini:2: [gird]: unknown section; did you mean [grid]?") &&
              !strstr(msg, "lyapdiag train"),
          "lyap_deck_parse names [grid] for [gird]: '%s'", msg);
}

/* Every key at its default is the deck; the task grid's order. */
static void test_defaults_and_grid(void)
{
    lyap_deck deck;
    int status = lyap_deck_parse_train(T, "d.ini", &deck);
    check(status == LYAP_OK, "[train] alone parses: %s", status ? lyap_error_message() : "ok");
    if (status != LYAP_OK)
        return;
    const lyap_train_deck *t = deck.train;
    const lyap_train_setup *s = &t->setup;
    check(s->problem == LYAP_TRAIN_POLYNOMIAL && s->ncoefficients == 6 && s->coefficients[3] == -1 &&
              s->coefficients[5] == 1 && s->train_points == 256 && s->test_points == 1024 && s->noise == 0 &&
              s->score_sigma == 0.1,
          "defaults: polynomial 0, 0.5, 0, -1, 0, 1; 256/1024 points; noise 0; score_sigma 0.1");
    check(t->nmethods == LYAP_TRAIN_NMETHODS && t->methods[0] == LYAP_TRAIN_HE && t->methods[6] == LYAP_TRAIN_LSUV &&
              t->nwidths == 2 && t->widths[1] == 8 && t->ndepths == 1 && t->depths[0] == 40 && t->nslopes == 1 &&
              t->slopes[0] == 0.01 && t->nlearning_rates == 3 && t->learning_rates[0] == 1e-4 &&
              t->noptimizers == 1 && t->optimizers[0] == LYAP_OPTIM_ADAM && t->nseeds == 100,
          "defaults: 7 methods, widths 2, 8, depth 40, slope 0.01, 3 learning rates, adam, 100 seeds");
    check(s->momentum == 0 && s->steps == 2000 && s->batch == 0 && s->record_every == 50 && s->biases == 1 &&
              s->candidates == 8,
          "defaults: momentum 0, 2000 steps, full batch, record every 50, biases, 8 candidates");
    check(strcmp(deck.output, "train.nc") == 0 && deck.checkpoint_seconds == 60,
          "a training deck writes train.nc by default (%s), checkpoints every 60 s", deck.output);
    check(lyap_train_task_count(t) == 7L * 2 * 3 * 100, "4200 tasks (%ld)", lyap_train_task_count(t));
    lyap_train_task a = lyap_train_task_at(t, 0), b = lyap_train_task_at(t, 101),
                    c = lyap_train_task_at(t, lyap_train_task_count(t) - 1);
    check(a.method == LYAP_TRAIN_HE && a.width == 2 && a.learning_rate == 1e-4 && a.seed == 0,
          "task 0: he, width 2, lr 1e-4, seed 0");
    check(b.method == LYAP_TRAIN_HE && b.width == 2 && b.learning_rate == 1e-3 && b.seed == 1,
          "task 101: seed fastest, then learning rate (lr %g seed %llu)", b.learning_rate,
          (unsigned long long)b.seed);
    check(c.method == LYAP_TRAIN_LSUV && c.width == 8 && c.learning_rate == 1e-2 && c.seed == 99,
          "last task: lsuv, width 8, lr 1e-2, seed 99");
    lyap_deck_free(&deck);
}

static void test_good_deck(void)
{
    const char *text = "; quick\n[train]\ntask = score ; 2-D\nmethods = lsuv, he\nwidths = 2:8:4\ndepths = 10, 20\n"
                       "slopes = 0.1\nlearning_rates = 1e-3, 1e-2, 1e-1\noptimizers = sgd, adam\nmomentum = 0.9\n"
                       "seeds = 4\nsteps = 100\nbatch = 32\nrecord_every = 25\nbiases = no\n[output]\nfile = t.nc\n";
    lyap_deck deck;
    int status = lyap_deck_parse_train(text, "good.ini", &deck);
    check(status == LYAP_OK, "good training deck parses: %s", status ? lyap_error_message() : "ok");
    if (status != LYAP_OK)
        return;
    const lyap_train_deck *t = deck.train;
    check(t->setup.problem == LYAP_TRAIN_SCORE && t->nmethods == 2 && t->methods[0] == LYAP_TRAIN_LSUV &&
              t->nwidths == 4 && t->widths[3] == 8 && t->ndepths == 2 && t->nlearning_rates == 3 &&
              fabs(t->learning_rates[1] - 1e-2) < 1e-15 && t->noptimizers == 2 &&
              t->optimizers[0] == LYAP_OPTIM_SGD && t->setup.momentum == 0.9 && t->nseeds == 4 &&
              t->setup.batch == 32 && t->setup.biases == 0 && strcmp(deck.output, "t.nc") == 0 &&
              strcmp(deck.text, text) == 0,
          "score, methods in deck order, widths 2:8:4, learning rates, sgd before adam, no biases");
    check(lyap_train_task_count(t) == 2L * 4 * 2 * 1 * 2 * 3 * 4, "384 tasks (%ld)", lyap_train_task_count(t));
    /* Respelled values are the same deck; another value is named. */
    lyap_deck same, other;
    const char *respelled = "[train]\ntask = score\nmethods = lsuv,he\nwidths = 2, 4, 6, 8\ndepths = 10,20\n"
                            "slopes = 1e-1\nlearning_rates = 0.001, 0.01, 0.1\noptimizers = sgd,adam\n"
                            "momentum = 0.90\nseeds = 4\nsteps = 100\nbatch = 32\nrecord_every = 25\nbiases = no\n";
    if (lyap_deck_parse_train(respelled, "same.ini", &same) == LYAP_OK) {
        const char *found = lyap_deck_first_difference(&deck, &same);
        check(found == NULL, "respelled training deck is no difference (got %s)", found ? found : "none");
        lyap_deck_free(&same);
    } else {
        check(0, "respelled deck parses: %s", lyap_error_message());
    }
    if (lyap_deck_parse_train("[train]\ntask = score\nmethods = he, lsuv\n", "other.ini", &other) == LYAP_OK) {
        const char *found = lyap_deck_first_difference(&deck, &other);
        check(found && strcmp(found, "[train] methods") == 0, "methods in another order differ (got %s)",
              found ? found : "none");
        lyap_deck_free(&other);
    } else {
        check(0, "other deck parses: %s", lyap_error_message());
    }
    lyap_deck_free(&deck);
}

/* `lyapdiag train --help-deck` lists [train] and [output], not [grid]. */
static void test_reference(void)
{
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    lyap_deck_print_train_reference(mem);
    fclose(mem);
    check(text && strncmp(text, "[train]\n", 8) == 0 && strstr(text, "record_every") && strstr(text, "[output]") &&
              strstr(text, "default: train.nc") && !strstr(text, "[grid]"),
          "train reference: [train] then [output] (default train.nc), no [grid]");
    free(text);
    text = NULL;
    mem = open_memstream(&text, &size);
    lyap_deck_print_reference(mem);
    fclose(mem);
    check(text && strncmp(text, "[grid]\n", 7) == 0 && !strstr(text, "[train]") && strstr(text, "default: phase.nc"),
          "run reference unchanged: no [train]");
    free(text);
}

/* traindeck.c's method names are train.c's. */
static void test_method_names(void)
{
    lyap_deck deck;
    char text[256];
    for (int m = 0; m < LYAP_TRAIN_NMETHODS; m++) {
        snprintf(text, sizeof text, "[train]\nmethods = %s\nslopes = 0.1\n",
                 lyap_train_method_name((lyap_train_method)m));
        int ok = lyap_deck_parse_train(text, "m.ini", &deck) == LYAP_OK;
        check(ok && deck.train->nmethods == 1 && (int)deck.train->methods[0] == m, "method %s parses to itself",
              lyap_train_method_name((lyap_train_method)m));
        if (ok)
            lyap_deck_free(&deck);
    }
}

int main(void)
{
    test_method_names();
    test_bad_decks();
    test_run_refuses_training_deck();
    test_defaults_and_grid();
    test_good_deck();
    test_reference();
    return check_status();
}
