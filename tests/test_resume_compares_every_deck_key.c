/* --resume compares every deck key that changes results, by construction:
 * for EVERY key of the deck table (lyap_deck_key), a deck that differs from
 * a base deck in that key alone is named as differing in exactly that key,
 * unless the table marks the key as free to change on resume ([output]
 * file, checkpoint_seconds). A new key is covered here without editing this
 * test; one without a valid example value fails it. Two spellings of the
 * same numbers do not count as a difference. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "lyapdiag/deck.h"
#include "lyapdiag/error.h"
#include "lyapdiag/traindeck.h"

static const char *const base_grid[][2] = {
    {"widths", "4, 8"}, {"slopes", "0.1, 0.5"}, {"variances", "1, 2"}, {"depths", "20, 200"}};
#define NBASE (sizeof base_grid / sizeof base_grid[0])

/* The base deck, with SECTION's KEY set to VALUE (if KEY is non-NULL). */
static void make_deck(char *out, size_t size, const char *section, const char *key, const char *value)
{
    int n = snprintf(out, size, "[grid]\n");
    for (size_t i = 0; i < NBASE; i++)
        if (!key || strcmp(section, "grid") != 0 || strcmp(key, base_grid[i][0]) != 0)
            n += snprintf(out + n, size - (size_t)n, "%s = %s\n", base_grid[i][0], base_grid[i][1]);
    if (key)
        snprintf(out + n, size - (size_t)n, "[%s]\n%s = %s\n", section, key, value);
}

/* A key of the score task alone, refused with the default polynomial: its
 * deck and base set task = score. */
static int score_key(const char *key)
{
    return key && strcmp(key, "score_sigma") == 0;
}

/* The base training deck (every [train] key at its default), with
 * SECTION's KEY set to VALUE (if KEY is non-NULL). */
static void make_train_deck(char *out, size_t size, const char *section, const char *key, const char *value)
{
    if (score_key(key))
        snprintf(out, size, "[train]\ntask = score\n%s = %s\n", key, value);
    else if (!key || strcmp(section, "train") == 0)
        snprintf(out, size, "[train]\n%s%s%s\n", key ? key : "", key ? " = " : "", key ? value : "");
    else
        snprintf(out, size, "[train]\n[%s]\n%s = %s\n", section, key, value);
}

int main(void)
{
    char text[1024];
    lyap_deck base, changed;
    make_deck(text, sizeof text, NULL, NULL, NULL);
    if (lyap_deck_parse(text, "base.ini", &base) != LYAP_OK) {
        printf("FAIL: base deck: %s\n", lyap_error_message());
        return 1;
    }
    lyap_deck train_base;
    make_train_deck(text, sizeof text, NULL, NULL, NULL);
    if (lyap_deck_parse_train(text, "train.ini", &train_base) != LYAP_OK) {
        printf("FAIL: base training deck: %s\n", lyap_error_message());
        return 1;
    }
    lyap_deck score_base;
    if (lyap_deck_parse_train("[train]\ntask = score\n", "score.ini", &score_base) != LYAP_OK) {
        printf("FAIL: base score deck: %s\n", lyap_error_message());
        return 1;
    }
    check(lyap_deck_key_count() >= 16, "the table has %d keys", lyap_deck_key_count());
    /* Pass 0: every run-deck key against the run deck; pass 1: every
     * training-deck key ([train], [output]) against the training deck. */
    for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < lyap_deck_key_count(); i++) {
        const char *section, *name, *example;
        int may_change;
        lyap_deck_key(i, &section, &name, &example, &may_change);
        int is_train = strcmp(section, "train") == 0;
        if ((pass == 0 && is_train) || (pass == 1 && !is_train && strcmp(section, "output") != 0))
            continue;
        if (pass == 0)
            make_deck(text, sizeof text, section, name, example);
        else
            make_train_deck(text, sizeof text, section, name, example);
        int status = pass == 0 ? lyap_deck_parse(text, "changed.ini", &changed)
                               : lyap_deck_parse_train(text, "changed.ini", &changed);
        check(status == LYAP_OK, "[%s] %s = %s parses (%s)", section, name, example,
              status == LYAP_OK ? "ok" : lyap_error_message());
        if (status != LYAP_OK)
            continue;
        char expected[128];
        snprintf(expected, sizeof expected, "[%s] %s", section, name);
        const char *found = lyap_deck_first_difference(pass == 0 ? &base : score_key(name) ? &score_base : &train_base,
                                                       &changed);
        if (may_change)
            check(found == NULL, "[%s] %s may change on resume: no difference reported (got %s)", section, name,
                  found ? found : "none");
        else
            check(found && strcmp(found, expected) == 0, "[%s] %s = %s: resume names '%s' (got %s)", section, name,
                  example, expected, found ? found : "no difference");
        check(lyap_deck_first_difference(&changed, &changed) == NULL, "[%s] %s: a deck equals itself", section,
              name);
        lyap_deck_free(&changed);
    }
    /* Spellings of the same values are the same deck. */
    const char *same = "[grid]\nwidths = 4,8\nslopes = 1e-1, 0.50\nvariances = 1.0, 2e0\ndepths = 20, 200\n"
                       "[sampling]\nseed = 1\nreplicas = 64\neps = 0.001\n";
    check(lyap_deck_parse(same, "same.ini", &changed) == LYAP_OK, "respelled deck parses");
    const char *found = lyap_deck_first_difference(&base, &changed);
    check(found == NULL, "respelled numbers and explicit defaults are no difference (got %s)", found ? found : "none");
    lyap_deck_free(&changed);
    /* Ranges are compared as the points they give. */
    const char *ranges = "[grid]\nwidths = 4:8:2\nslopes = 0.1:0.5:2\nvariances = 1, 2\ndepths = 20, 200\n";
    check(lyap_deck_parse(ranges, "ranges.ini", &changed) == LYAP_OK, "deck with ranges parses");
    found = lyap_deck_first_difference(&base, &changed);
    check(found == NULL, "widths = 4:8:2 is widths = 4, 8 (got %s)", found ? found : "none");
    lyap_deck_free(&changed);
    /* Seeds differ in their last bit above 2^53, where doubles cannot tell. */
    lyap_deck a, b;
    const char *seed_a = "[grid]\nwidths = 4\nslopes = 0.1\nvariances = 1\ndepths = 20\n"
                         "[sampling]\nseed = 9007199254740993\n";
    const char *seed_b = "[grid]\nwidths = 4\nslopes = 0.1\nvariances = 1\ndepths = 20\n"
                         "[sampling]\nseed = 9007199254740992\n";
    if (lyap_deck_parse(seed_a, "a.ini", &a) == LYAP_OK && lyap_deck_parse(seed_b, "b.ini", &b) == LYAP_OK) {
        found = lyap_deck_first_difference(&a, &b);
        check(found && strcmp(found, "[sampling] seed") == 0, "seeds 2^53 + 1 and 2^53 differ (got %s)",
              found ? found : "no difference");
        lyap_deck_free(&a);
        lyap_deck_free(&b);
    } else {
        check(0, "seed decks parse: %s", lyap_error_message());
    }
    /* A training deck is no run deck, and the reverse. */
    check(lyap_deck_first_difference(&base, &train_base) != NULL, "a run deck differs from a training deck");
    lyap_deck_free(&train_base);
    lyap_deck_free(&score_base);
    lyap_deck_free(&base);
    return check_status();
}
