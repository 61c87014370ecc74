/* traindeck.c: the [train] keys of a training deck and its task grid
 * (traindeck.h). deck.c's key table lists these parsers; its INI pass
 * gives them "FILE:LINE: [train] key" as WHERE, so every message is one
 * line naming the key and the fix, as for the run deck. */
#include "lyapdiag/traindeck.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lyapdiag/error.h"

static const char *const optimizer_names[LYAP_TRAIN_NOPTIMIZERS] = {"adam", "sgd"};
/* train.c's names (lyap_train_method_name; the deck test checks they agree),
 * here too so that the deck parser links without the training code. */
static const char *const method_names[LYAP_TRAIN_NMETHODS] = {
    "he", "orthogonal", "lyapunov-gaussian", "lyapunov-orthogonal", "lyapunov-sampling", "looks-linear", "lsuv"};

const char *lyap_train_optimizer_name(lyap_optim_kind kind)
{
    return kind == LYAP_OPTIM_SGD ? "sgd" : "adam";
}

const char *lyap_traindeck_method_choices(void)
{
    static char text[256];
    if (!text[0])
        for (int m = 0; m < LYAP_TRAIN_NMETHODS; m++) {
            if (m)
                strcat(text, ", ");
            strcat(text, method_names[m]);
        }
    return text;
}

int lyap_train_deck_new(lyap_deck *deck)
{
    return lyap_alloc(&deck->train, 1, sizeof *deck->train, "training deck");
}

void lyap_train_deck_free(lyap_deck *deck)
{
    if (!deck->train)
        return;
    free(deck->train->widths);
    free(deck->train->depths);
    free(deck->train->slopes);
    free(deck->train->learning_rates);
    free(deck->train);
    deck->train = NULL;
}

/* ---- list helpers ----------------------------------------------------- */

/* The comma-separated words of VALUE, trimmed, into WORDS (at most MAX);
 * an empty item is an error. COPY owns the text (caller frees). */
static int split_words(const char *where, const char *value, char **copy, char **words, int max, int *n)
{
    *n = 0;
    *copy = strdup(value);
    if (!*copy)
        return lyap_fail(LYAP_ENOMEM, "%s: out of memory", where);
    char *cursor = *copy;
    while (cursor) {
        char *item = cursor, *comma = strchr(cursor, ',');
        if (comma)
            *comma++ = '\0';
        cursor = comma;
        while (isspace((unsigned char)*item))
            item++;
        char *end = item + strlen(item);
        while (end > item && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (*item == '\0')
            return lyap_fail(LYAP_EDECK, "%s: empty list item; separate values with single commas", where);
        if (*n == max)
            return lyap_fail(LYAP_EDECK, "%s: more than %d items; list each value once", where, max);
        words[(*n)++] = item;
    }
    return LYAP_OK;
}

/* Index of WORD among NAMES (N of them), or -1; *NEAR the closest name. */
static int find_name(const char *word, const char *const *names, int n, const char **near)
{
    int best = 4;
    *near = NULL;
    for (int i = 0; i < n; i++) {
        if (strcmp(word, names[i]) == 0)
            return i;
        int d = lyap_deck_edit_distance(word, names[i]);
        if (d < best) {
            best = d;
            *near = names[i];
        }
    }
    return -1;
}

static int parse_number_in(const char *where, const char *value, double lo, int lo_open, double hi, int hi_open,
                           const char *what, double *out)
{
    double x;
    if (lyap_deck_number_(value, &x) || x < lo || (lo_open && x == lo) || x > hi || (hi_open && x == hi))
        return lyap_fail(LYAP_EDECK, "%s: '%s' must be %s%s", where, value, what,
                         strchr(value, '#') ? "; inline comments start with ';'" : "");
    *out = x;
    return LYAP_OK;
}

/* ---- the [train] keys --------------------------------------------------- */

int lyap_traindeck_task(lyap_deck *deck, const char *value, const char *where)
{
    if (strcmp(value, "polynomial") == 0)
        deck->train->setup.problem = LYAP_TRAIN_POLYNOMIAL;
    else if (strcmp(value, "score") == 0)
        deck->train->setup.problem = LYAP_TRAIN_SCORE;
    else
        return lyap_fail(LYAP_EDECK, "%s: '%s' must be polynomial (regression of a polynomial on U(-1, 1)) or "
                         "score (denoising score matching on 8 gaussians in 2-D)", where, value);
    return LYAP_OK;
}

int lyap_traindeck_coefficients(lyap_deck *deck, const char *value, const char *where)
{
    char *copy, *words[LYAP_TRAIN_MAX_COEFFICIENTS + 1];
    int n, status = split_words(where, value, &copy, words, LYAP_TRAIN_MAX_COEFFICIENTS + 1, &n);
    if (status == LYAP_OK && n > LYAP_TRAIN_MAX_COEFFICIENTS)
        status = lyap_fail(LYAP_EDECK, "%s: %d coefficients; at most %d (degree %d)", where, n,
                           LYAP_TRAIN_MAX_COEFFICIENTS, LYAP_TRAIN_MAX_COEFFICIENTS - 1);
    for (int i = 0; status == LYAP_OK && i < n; i++)
        if (lyap_deck_number_(words[i], &deck->train->setup.coefficients[i]))
            status = lyap_fail(LYAP_EDECK, "%s: '%s' is not a number; list the coefficients of ascending powers, "
                               "e.g. 0, 0.5, 0, -1", where, words[i]);
    free(copy);
    if (status == LYAP_OK)
        deck->train->setup.ncoefficients = n;
    return status;
}

int lyap_traindeck_train_points(lyap_deck *deck, const char *value, const char *where)
{
    return lyap_deck_count_(where, value, 1, 10000000, &deck->train->setup.train_points);
}

int lyap_traindeck_test_points(lyap_deck *deck, const char *value, const char *where)
{
    return lyap_deck_count_(where, value, 1, 10000000, &deck->train->setup.test_points);
}

int lyap_traindeck_noise(lyap_deck *deck, const char *value, const char *where)
{
    return parse_number_in(where, value, 0, 0, 1e300, 0, "a number >= 0 (sd of the label noise; 0 = none)",
                           &deck->train->setup.noise);
}

int lyap_traindeck_score_sigma(lyap_deck *deck, const char *value, const char *where)
{
    return parse_number_in(where, value, 0, 1, 1e300, 0, "a number > 0 (noise level of score matching), e.g. 0.1",
                           &deck->train->setup.score_sigma);
}

int lyap_traindeck_methods(lyap_deck *deck, const char *value, const char *where)
{
    const char *const *names = method_names, *near;
    char *copy, *words[LYAP_TRAIN_NMETHODS + 1];
    int n, status = split_words(where, value, &copy, words, LYAP_TRAIN_NMETHODS + 1, &n);
    lyap_train_deck *t = deck->train;
    t->nmethods = 0;
    for (int i = 0; status == LYAP_OK && i < n; i++) {
        int m = find_name(words[i], names, LYAP_TRAIN_NMETHODS, &near);
        if (m < 0 && near)
            status = lyap_fail(LYAP_EDECK, "%s: unknown method '%s'; did you mean '%s'? (choose from %s)", where,
                               words[i], near, lyap_traindeck_method_choices());
        else if (m < 0)
            status = lyap_fail(LYAP_EDECK, "%s: unknown method '%s'; choose from %s", where, words[i],
                               lyap_traindeck_method_choices());
        for (int j = 0; status == LYAP_OK && j < t->nmethods; j++)
            if ((int)t->methods[j] == m)
                status = lyap_fail(LYAP_EDECK, "%s: method '%s' listed twice; list each once", where, words[i]);
        if (status == LYAP_OK)
            t->methods[t->nmethods++] = (lyap_train_method)m;
    }
    free(copy);
    return status;
}

int lyap_traindeck_widths(lyap_deck *deck, const char *value, const char *where)
{
    return lyap_deck_int_axis_(where, value, 1, 4096, "whole numbers 1 to 4096", &deck->train->widths,
                               &deck->train->nwidths);
}

int lyap_traindeck_depths(lyap_deck *deck, const char *value, const char *where)
{
    return lyap_deck_int_axis_(where, value, 1, 100000, "whole numbers 1 to 100000 (hidden d x d layers)",
                               &deck->train->depths, &deck->train->ndepths);
}

int lyap_traindeck_slopes(lyap_deck *deck, const char *value, const char *where)
{
    free(deck->train->slopes);
    deck->train->slopes = NULL;
    return lyap_deck_axis_(where, value, 0, 0.0, 0, 1.0, "0 <= a <= 1 (0 = ReLU, 1 = linear)", &deck->train->slopes,
                           &deck->train->nslopes);
}

int lyap_traindeck_learning_rates(lyap_deck *deck, const char *value, const char *where)
{
    free(deck->train->learning_rates);
    deck->train->learning_rates = NULL;
    return lyap_deck_axis_(where, value, 0, 0.0, 1, 1e6, "0 < lr <= 1e6", &deck->train->learning_rates,
                           &deck->train->nlearning_rates);
}

int lyap_traindeck_optimizers(lyap_deck *deck, const char *value, const char *where)
{
    char *copy, *words[LYAP_TRAIN_NOPTIMIZERS + 1];
    const char *near;
    int n, status = split_words(where, value, &copy, words, LYAP_TRAIN_NOPTIMIZERS + 1, &n);
    lyap_train_deck *t = deck->train;
    t->noptimizers = 0;
    for (int i = 0; status == LYAP_OK && i < n; i++) {
        int k = find_name(words[i], optimizer_names, LYAP_TRAIN_NOPTIMIZERS, &near);
        if (k < 0)
            status = lyap_fail(LYAP_EDECK, "%s: unknown optimizer '%s'; choose adam or sgd (or both: adam, sgd)",
                               where, words[i]);
        for (int j = 0; status == LYAP_OK && j < t->noptimizers; j++)
            if ((int)t->optimizers[j] == k)
                status = lyap_fail(LYAP_EDECK, "%s: optimizer '%s' listed twice; list each once", where, words[i]);
        if (status == LYAP_OK)
            t->optimizers[t->noptimizers++] = k == 1 ? LYAP_OPTIM_SGD : LYAP_OPTIM_ADAM;
    }
    free(copy);
    return status;
}

int lyap_traindeck_momentum(lyap_deck *deck, const char *value, const char *where)
{
    return parse_number_in(where, value, 0, 0, 1, 1, "a number from 0 to below 1 (heavy-ball mu; 0 = plain SGD)",
                           &deck->train->setup.momentum);
}

int lyap_traindeck_seeds(lyap_deck *deck, const char *value, const char *where)
{
    return lyap_deck_count_(where, value, 1, 1000000, &deck->train->nseeds);
}

int lyap_traindeck_steps(lyap_deck *deck, const char *value, const char *where)
{
    return lyap_deck_count_(where, value, 1, 1000000000, &deck->train->setup.steps);
}

int lyap_traindeck_batch(lyap_deck *deck, const char *value, const char *where)
{
    return lyap_deck_count_(where, value, 0, 10000000, &deck->train->setup.batch);
}

int lyap_traindeck_record_every(lyap_deck *deck, const char *value, const char *where)
{
    return lyap_deck_count_(where, value, 1, 1000000000, &deck->train->setup.record_every);
}

int lyap_traindeck_biases(lyap_deck *deck, const char *value, const char *where)
{
    if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
        deck->train->setup.biases = 1;
    else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
        deck->train->setup.biases = 0;
    else
        return lyap_fail(LYAP_EDECK, "%s: '%s' must be yes or no (true/false and 1/0 work too)", where, value);
    return LYAP_OK;
}

int lyap_traindeck_candidates(lyap_deck *deck, const char *value, const char *where)
{
    return lyap_deck_count_(where, value, 1, 100000, &deck->train->setup.candidates);
}

/* ---- whole-deck checks ---------------------------------------------------- */

int lyap_train_deck_check(const lyap_deck *deck, const char *name)
{
    const lyap_train_deck *t = deck->train;
    const lyap_train_setup *s = &t->setup;
    for (int m = 0; m < t->nmethods; m++) {
        if (t->methods[m] == LYAP_TRAIN_LOOKS_LINEAR)
            for (int w = 0; w < t->nwidths; w++)
                if (t->widths[w] % 2 != 0)
                    return lyap_fail(LYAP_EDECK, "%s: [train] widths: method looks-linear (W = [[A, -A], [-A, A]]) "
                                     "needs even widths; %d is odd: use even widths, or put looks-linear in "
                                     "another deck", name, t->widths[w]);
        int lyapunov = t->methods[m] == LYAP_TRAIN_LYAPUNOV_GAUSSIAN ||
                       t->methods[m] == LYAP_TRAIN_LYAPUNOV_ORTHOGONAL ||
                       t->methods[m] == LYAP_TRAIN_LYAPUNOV_SAMPLING;
        if (lyapunov && t->slopes[0] == 0)
            return lyap_fail(LYAP_EDECK, "%s: [train] slopes: method %s needs the critical variance s2_crit, which "
                             "is infinite at slope 0 (ReLU); use slopes > 0, or leave the lyapunov methods out",
                             name, method_names[t->methods[m]]);
    }
    if (s->steps % s->record_every != 0)
        return lyap_fail(LYAP_EDECK, "%s: [train] record_every = %d does not divide steps = %d; the last record "
                         "must be the last step: choose a divisor of steps", name, s->record_every, s->steps);
    if (s->batch > s->train_points)
        return lyap_fail(LYAP_EDECK, "%s: [train] batch = %d exceeds train_points = %d; use a batch up to "
                         "train_points, or 0 for the full batch", name, s->batch, s->train_points);
    if (s->problem == LYAP_TRAIN_POLYNOMIAL && s->ncoefficients == 0)
        return lyap_fail(LYAP_EDECK, "%s: [train] coefficients: none given; list the polynomial's coefficients",
                         name);
    long records = s->steps / s->record_every + 1;
    if (records > LYAP_TRAIN_MAX_RECORDS)
        return lyap_fail(LYAP_EDECK, "%s: [train] record_every = %d gives %ld records of %d steps, more than %d; "
                         "record less often (a larger record_every)", name, s->record_every, records, s->steps,
                         LYAP_TRAIN_MAX_RECORDS);
    /* in double: the product of the axes may not fit a long */
    double tasks = (double)t->nmethods * t->nwidths * t->ndepths * t->nslopes * t->noptimizers * t->nlearning_rates *
                   t->nseeds;
    if (tasks > LYAP_TRAIN_MAX_TASKS)
        return lyap_fail(LYAP_EDECK, "%s: [train] has %.0f tasks (methods x widths x depths x slopes x optimizers x "
                         "learning_rates x seeds), more than %ld; split the deck", name, tasks, LYAP_TRAIN_MAX_TASKS);
    if ((double)records * (double)lyap_train_task_count(t) > LYAP_TRAIN_MAX_VALUES)
        return lyap_fail(LYAP_EDECK, "%s: [train] %ld tasks x %ld records = %.3g losses per variable, more than "
                         "%.0e (rank 0 keeps them in memory); record less often or split the deck", name,
                         lyap_train_task_count(t), records, (double)records * (double)lyap_train_task_count(t),
                         (double)LYAP_TRAIN_MAX_VALUES);
    return LYAP_OK;
}

/* ---- the task grid -------------------------------------------------------- */

long lyap_train_task_count(const lyap_train_deck *t)
{
    return (long)t->nmethods * t->nwidths * t->ndepths * t->nslopes * t->noptimizers * t->nlearning_rates *
           t->nseeds;
}

lyap_train_task lyap_train_task_at(const lyap_train_deck *t, long i)
{
    lyap_train_task task;
    task.seed = (uint64_t)(i % t->nseeds);
    i /= t->nseeds;
    task.learning_rate = t->learning_rates[i % t->nlearning_rates];
    i /= t->nlearning_rates;
    task.optimizer = t->optimizers[i % t->noptimizers];
    i /= t->noptimizers;
    task.slope = t->slopes[i % t->nslopes];
    i /= t->nslopes;
    task.depth = t->depths[i % t->ndepths];
    i /= t->ndepths;
    task.width = t->widths[i % t->nwidths];
    i /= t->nwidths;
    task.method = t->methods[i];
    return task;
}

