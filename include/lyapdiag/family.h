/* family.h: the weight families of THEORY.md and their names in decks and
 * output. One table (src/family.c) is the single source of these names. */
#ifndef LYAPDIAG_FAMILY_H
#define LYAPDIAG_FAMILY_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LYAP_FAMILY_GAUSSIAN = 0,   /* W_ij ~ N(0, s2/d) */
    LYAP_FAMILY_ORTHOGONAL = 1, /* W = eta O, O Haar; grid value eta^2 */
    LYAP_FAMILY_UNIFORM = 2,    /* W_ij ~ U(-c, c), c = sqrt(3 s2/d) */
    LYAP_FAMILY_LOOKS_LINEAR = 3,            /* W = [[A,-A],[-A,A]], A gaussian h x h, h = d/2 */
    LYAP_FAMILY_LOOKS_LINEAR_ORTHOGONAL = 4, /* the same with A = eta O, O Haar */
    LYAP_FAMILY_COUNT
} lyap_family;

/* Deck/output name of F ("gaussian", ...); "?" for an invalid F. */
const char *lyap_family_name(lyap_family f);

/* Parses NAME (exact, lower case) into *F. Returns 0 on success, -1 if NAME
 * is not a family (the caller names the choices: lyap_family_choices()). */
int lyap_family_parse(const char *name, lyap_family *f);

/* "gaussian, orthogonal, uniform": for error messages and --help. */
const char *lyap_family_choices(void);

/* 1 if the family is rotation invariant (exact theory of THEORY.md). */
int lyap_family_is_rotation_invariant(lyap_family f);

/* 1 for the looks-linear (parameter sharing) families: even widths only. */
int lyap_family_is_looks_linear(lyap_family f);

/* The family of a looks-linear family's block A (gaussian or orthogonal);
 * F itself for the others. */
lyap_family lyap_family_block(lyap_family f);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_FAMILY_H */
