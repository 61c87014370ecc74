/* family.c: the weight families (THEORY.md, "Weight families"), one row
 * each. Every module asks this table, never a specific family, whether a
 * property holds; lists of names for messages and --help come from it. */
#include <string.h>

#include "lyapdiag/family.h"

static const lyap_family_info families[LYAP_FAMILY_COUNT] = {
    [LYAP_FAMILY_GAUSSIAN] = {
        .name = "gaussian", .entries = LYAP_ENTRIES_NORMAL, .exact_law = 1, .looks_linear = 0,
        .block = LYAP_FAMILY_GAUSSIAN, .theory = LYAP_THEORY_GAUSSIAN, .standard_scale = "He",
        .dies_at_every_slope = 0, .limit_theorems = 1, .single_precision = 1,
        .lattice = 0},
    [LYAP_FAMILY_ORTHOGONAL] = {
        .name = "orthogonal", .entries = LYAP_ENTRIES_HAAR, .exact_law = 1, .looks_linear = 0,
        .block = LYAP_FAMILY_ORTHOGONAL, .theory = LYAP_THEORY_ORTHOGONAL, .standard_scale = "gain",
        .dies_at_every_slope = 0, .limit_theorems = 1, .single_precision = 0,
        .lattice = 0},
    [LYAP_FAMILY_UNIFORM] = {
        .name = "uniform", .entries = LYAP_ENTRIES_UNIFORM, .exact_law = 0, .looks_linear = 0,
        .block = LYAP_FAMILY_UNIFORM, .theory = LYAP_THEORY_NONE, .standard_scale = "He",
        .dies_at_every_slope = 0, .limit_theorems = 1, .single_precision = 1,
        .lattice = 0},
    /* Looks-linear rows describe their block A in entries and theory. */
    [LYAP_FAMILY_LOOKS_LINEAR] = {
        .name = "looks-linear", .entries = LYAP_ENTRIES_NORMAL, .exact_law = 0, .looks_linear = 1,
        .block = LYAP_FAMILY_GAUSSIAN, .theory = LYAP_THEORY_GAUSSIAN, .standard_scale = "He",
        .dies_at_every_slope = 0, .limit_theorems = 1, .single_precision = 0,
        .lattice = 0},
    [LYAP_FAMILY_LOOKS_LINEAR_ORTHOGONAL] = {
        .name = "looks-linear-orthogonal", .entries = LYAP_ENTRIES_HAAR, .exact_law = 0, .looks_linear = 1,
        .block = LYAP_FAMILY_ORTHOGONAL, .theory = LYAP_THEORY_ORTHOGONAL, .standard_scale = "gain",
        .dies_at_every_slope = 0, .limit_theorems = 1, .single_precision = 0,
        .lattice = 0},
    /* No density, and equal rows cancel (W x = 0) at any slope: in exact
     * arithmetic 0.0647 deaths per layer at d = 2, 5 in 6.4e6 layers at
     * d = 3, a = 0.05 (tests/rademacher_exact_deaths.py). */
    [LYAP_FAMILY_RADEMACHER] = {
        .name = "rademacher", .entries = LYAP_ENTRIES_SIGN, .exact_law = 0, .looks_linear = 0,
        .block = LYAP_FAMILY_RADEMACHER, .theory = LYAP_THEORY_NONE, .standard_scale = "He",
        .dies_at_every_slope = 1, .limit_theorems = 0, .single_precision = 0,
        .lattice = 1},
};

const lyap_family_info *lyap_family_info_of(lyap_family f)
{
    return (f >= 0 && f < LYAP_FAMILY_COUNT) ? &families[f] : NULL;
}

const char *lyap_family_name(lyap_family f)
{
    return (f >= 0 && f < LYAP_FAMILY_COUNT) ? families[f].name : "?";
}

int lyap_family_parse(const char *name, lyap_family *f)
{
    for (int i = 0; i < LYAP_FAMILY_COUNT; i++)
        if (strcmp(name, families[i].name) == 0) {
            *f = (lyap_family)i;
            return 0;
        }
    return -1;
}

const char *lyap_family_choices(void)
{
    /* Built on first use; the same bytes every time, so a repeated build is harmless. */
    static char choices[256];
    if (choices[0] == '\0') {
        size_t used = 0;
        for (int i = 0; i < LYAP_FAMILY_COUNT; i++) {
            const char *sep = i ? ", " : "";
            size_t need = strlen(sep) + strlen(families[i].name);
            if (used + need >= sizeof choices) /* cannot happen with these names; cut, never overflow */
                break;
            memcpy(choices + used, sep, strlen(sep));
            memcpy(choices + used + strlen(sep), families[i].name, strlen(families[i].name));
            used += need;
        }
        choices[used] = '\0';
    }
    return choices;
}
