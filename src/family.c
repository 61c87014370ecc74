/* family.c: names of the weight families (THEORY.md, "Weight families"). */
#include <string.h>

#include "lyapdiag/family.h"

static const char *const family_names[LYAP_FAMILY_COUNT] = {
    [LYAP_FAMILY_GAUSSIAN] = "gaussian",
    [LYAP_FAMILY_ORTHOGONAL] = "orthogonal",
    [LYAP_FAMILY_UNIFORM] = "uniform",
    [LYAP_FAMILY_LOOKS_LINEAR] = "looks-linear",
    [LYAP_FAMILY_LOOKS_LINEAR_ORTHOGONAL] = "looks-linear-orthogonal",
};

const char *lyap_family_name(lyap_family f)
{
    return (f >= 0 && f < LYAP_FAMILY_COUNT) ? family_names[f] : "?";
}

int lyap_family_parse(const char *name, lyap_family *f)
{
    for (int i = 0; i < LYAP_FAMILY_COUNT; i++)
        if (strcmp(name, family_names[i]) == 0) {
            *f = (lyap_family)i;
            return 0;
        }
    return -1;
}

const char *lyap_family_choices(void)
{
    return "gaussian, orthogonal, uniform, looks-linear, looks-linear-orthogonal";
}

int lyap_family_is_rotation_invariant(lyap_family f)
{
    return f == LYAP_FAMILY_GAUSSIAN || f == LYAP_FAMILY_ORTHOGONAL;
}

int lyap_family_is_looks_linear(lyap_family f)
{
    return f == LYAP_FAMILY_LOOKS_LINEAR || f == LYAP_FAMILY_LOOKS_LINEAR_ORTHOGONAL;
}

lyap_family lyap_family_block(lyap_family f)
{
    if (f == LYAP_FAMILY_LOOKS_LINEAR)
        return LYAP_FAMILY_GAUSSIAN;
    return f == LYAP_FAMILY_LOOKS_LINEAR_ORTHOGONAL ? LYAP_FAMILY_ORTHOGONAL : f;
}
