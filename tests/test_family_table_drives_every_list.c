/* The family table (src/family.c) is the one source of the family names
 * and properties: every row's name round-trips through the parser, and
 * every list a user reads (lyap_family_choices, --help-deck, --help, the
 * README, DESIGN.md) names every family; a deck may list each family;
 * the rows are consistent with one another (a looks-linear family's
 * entries and theory are its block's; an exact law implies closed forms);
 * and the death probability is NaN exactly where rows can cancel. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lyapdiag/deck.h"
#include "lyapdiag/error.h"
#include "lyapdiag/family.h"
#include "lyapdiag/theory.h"

/* 1 if NAME is one of LIST's items, LIST "a, b, c" (ended by '\0' or '\n'):
 * whole items, so "looks-linear" is not found inside "looks-linear-orthogonal". */
static int lists(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p && *p != '\n';) {
        size_t item = strcspn(p, ",\n");
        if (item == n && strncmp(p, name, n) == 0)
            return 1;
        p += item;
        if (*p == ',')
            p++;
        while (*p == ' ')
            p++;
    }
    return 0;
}

/* The text after MARKER in TEXT (its line), or NULL. */
static const char *after(const char *text, const char *marker)
{
    const char *p = text ? strstr(text, marker) : NULL;
    return p ? p + strlen(marker) : NULL;
}

static char *read_stream(FILE *in)
{
    size_t len = 0, cap = 1 << 16;
    char *text = malloc(cap);
    size_t got;
    while (text && (got = fread(text + len, 1, cap - 1 - len, in)) > 0) {
        len += got;
        if (len + 1 == cap) {
            char *bigger = realloc(text, cap *= 2);
            if (!bigger) {
                free(text);
                return NULL;
            }
            text = bigger;
        }
    }
    if (text)
        text[len] = '\0';
    return text;
}

static char *read_path(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", file);
    FILE *in = fopen(path, "r");
    if (!in)
        return NULL;
    char *text = read_stream(in);
    fclose(in);
    return text;
}

static char *help_output(void)
{
    char command[4096];
    const char *dir = getenv("top_builddir");
    snprintf(command, sizeof command, "'%s/lyapdiag' --help", dir ? dir : ".");
    FILE *in = popen(command, "r");
    if (!in)
        return NULL;
    char *text = read_stream(in);
    int status = pclose(in);
    if (status != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static void check_rows(void)
{
    for (int i = 0; i < LYAP_FAMILY_COUNT; i++) {
        lyap_family f = (lyap_family)i, parsed = LYAP_FAMILY_COUNT;
        const lyap_family_info *info = lyap_family_info_of(f);
        if (!info || !info->name || !info->standard_scale) {
            check(0, "family %d: a complete row in the table", i);
            continue;
        }
        check(lyap_family_parse(info->name, &parsed) == 0 && parsed == f && strcmp(lyap_family_name(f), info->name) == 0,
              "%s: parse(name) = %d, reference %d; name() = %s", info->name, (int)parsed, i, lyap_family_name(f));
        const lyap_family_info *block = lyap_family_info_of(info->block);
        check(block && (info->looks_linear ? !block->looks_linear : info->block == f),
              "%s: block %s (a plain family for looks-linear, the family itself otherwise)", info->name,
              lyap_family_name(info->block));
        check(block && block->entries == info->entries && block->theory == info->theory &&
                  strcmp(block->standard_scale, info->standard_scale) == 0,
              "%s: entries %d, theory %d, scale %s; its block's: %d, %d, %s", info->name, (int)info->entries,
              (int)info->theory, info->standard_scale, block ? (int)block->entries : -1,
              block ? (int)block->theory : -1, block ? block->standard_scale : "?");
        check(!info->exact_law || (!info->looks_linear && info->theory != LYAP_THEORY_NONE),
              "%s: an exact law (%d) comes with closed forms (theory %d), not looks-linear (%d)", info->name,
              info->exact_law, (int)info->theory, info->looks_linear);
        check(!info->dies_at_every_slope || !info->looks_linear,
              "%s: looks-linear networks never die (dies_at_every_slope %d)", info->name, info->dies_at_every_slope);
        double p0 = lyap_theory_death_probability(f, 3, 0.0), p1 = lyap_theory_death_probability(f, 3, 0.5);
        double ref0 = info->looks_linear ? 0 : 0.125;
        if (info->dies_at_every_slope)
            check(isnan(p0) && isnan(p1), "%s d=3: death probability at slope 0 and 0.5: %g, %g; reference nan "
                  "(positive, no closed form)", info->name, p0, p1);
        else
            check(p0 == ref0 && p1 == 0, "%s d=3: death probability at slope 0 and 0.5: %g, %g; reference %g, 0",
                  info->name, p0, p1, ref0);
    }
    lyap_family f;
    check(lyap_family_info_of(LYAP_FAMILY_COUNT) == NULL && lyap_family_info_of((lyap_family)-1) == NULL &&
              strcmp(lyap_family_name(LYAP_FAMILY_COUNT), "?") == 0 && lyap_family_parse("gauss", &f) == -1 &&
              lyap_family_parse("Gaussian", &f) == -1,
          "no row for an invalid family; 'gauss' and 'Gaussian' are not names");
}

/* Every family's name is FOUND in TEXT (an item of a list, or a mention in
 * a document); WHAT names the text. */
static int mentions(const char *text, const char *name)
{
    return strstr(text, name) != NULL;
}

static void check_names(const char *what, const char *text, int (*found)(const char *, const char *))
{
    int missing = 0;
    for (int i = 0; text && i < LYAP_FAMILY_COUNT; i++)
        if (!found(text, lyap_family_name((lyap_family)i))) {
            check(0, "%s lacks '%s'", what, lyap_family_name((lyap_family)i));
            missing++;
        }
    check(text && missing == 0, "%s names all %d families%s", what, LYAP_FAMILY_COUNT, text ? "" : ": not found");
}

static void check_lists(void)
{
    check_names("lyap_family_choices()", lyap_family_choices(), lists);
    char *reference = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&reference, &size);
    if (mem) {
        lyap_deck_print_reference(mem);
        fclose(mem);
    }
    check_names("--help-deck, families", after(reference, "weight families, a list of: "), lists);
    free(reference);
    char *help = help_output();
    check_names("lyapdiag --help, FAMILIES", after(help, "FAMILIES (weight families, doc/THEORY.md): "), lists);
    free(help);
    char *readme = read_path(getenv("top_srcdir"), "README");
    check_names("README", readme, mentions);
    free(readme);
    char *design = read_path(getenv("top_srcdir"), "doc/DESIGN.md");
    check_names("doc/DESIGN.md, weights", after(design, "samplers for each weight family"), mentions);
    free(design);
}

/* Parses a deck of family F at width 4 with SAMPLING appended to its
 * [sampling] section; the status, the message in MESSAGE. */
static int parse_deck(lyap_family f, const char *sampling, char *message, size_t size)
{
    char text[512];
    lyap_deck deck;
    snprintf(text, sizeof text, "[grid]\nfamilies = %s\nwidths = 4\nslopes = 0.1\nvariances = 1\n"
             "depths = 100\n[sampling]\n%s\n", lyap_family_name(f), sampling);
    memset(&deck, 0, sizeof deck);
    int status = lyap_deck_parse(text, "deck.ini", &deck);
    int ok = status == LYAP_OK && deck.nfamilies == 1 && deck.families[0] == f;
    snprintf(message, size, "%s", status == LYAP_OK ? (ok ? "parsed" : "parsed wrong") : lyap_error_message());
    lyap_deck_free(&deck);
    return status == LYAP_OK && !ok ? LYAP_EINTERNAL : status;
}

/* A deck may list every family, and the method and precision checks ask
 * the table: method = exact needs an exact law, precision = single a
 * single-precision path. */
static void check_decks(void)
{
    for (int i = 0; i < LYAP_FAMILY_COUNT; i++) {
        lyap_family f = (lyap_family)i;
        const lyap_family_info *info = lyap_family_info_of(f);
        char message[512], expected[160];
        int status = parse_deck(f, "", message, sizeof message);
        check(status == LYAP_OK, "deck 'families = %s' parses: %s", info->name, message);
        status = parse_deck(f, "method = exact", message, sizeof message);
        snprintf(expected, sizeof expected, "family %s has no exact law", info->name);
        check(info->exact_law ? status == LYAP_OK : status == LYAP_EDECK && strstr(message, expected) != NULL,
              "%s, method = exact: %s; reference: %s", info->name, message, info->exact_law ? "parsed" : expected);
        status = parse_deck(f, "method = matrix\nprecision = single", message, sizeof message);
        snprintf(expected, sizeof expected, "the matrix path of family %s runs in double only", info->name);
        check(info->single_precision ? status == LYAP_OK : status == LYAP_EDECK && strstr(message, expected) != NULL,
              "%s, precision = single: %s; reference: %s", info->name, message,
              info->single_precision ? "parsed" : expected);
    }
}

int main(void)
{
    check_rows();
    check_lists();
    check_decks();
    return check_status();
}
