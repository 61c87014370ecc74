/* family.h: the weight families of THEORY.md ("Weight families") and what
 * each one is: one descriptor table (src/family.c) answers every property
 * question (which sampler, which theory, which paths, which names), so a
 * family is added by adding a row, its sampler, tests and docs. */
#ifndef LYAPDIAG_FAMILY_H
#define LYAPDIAG_FAMILY_H

#ifdef __cplusplus
extern "C" {
#endif

/* The values enter every task's random-stream key (lyap_rng_task_key):
 * new families go at the end, so existing tasks keep their numbers. */
typedef enum {
    LYAP_FAMILY_GAUSSIAN = 0,   /* W_ij ~ N(0, s2/d) */
    LYAP_FAMILY_ORTHOGONAL = 1, /* W = eta O, O Haar; grid value eta^2 */
    LYAP_FAMILY_UNIFORM = 2,    /* W_ij ~ U(-c, c), c = sqrt(3 s2/d) */
    LYAP_FAMILY_LOOKS_LINEAR = 3,            /* W = [[A,-A],[-A,A]], A gaussian h x h, h = d/2 */
    LYAP_FAMILY_LOOKS_LINEAR_ORTHOGONAL = 4, /* the same with A = eta O, O Haar */
    LYAP_FAMILY_RADEMACHER = 5, /* W_ij = +-sqrt(s2/d), each sign with probability 1/2 */
    LYAP_FAMILY_COUNT
} lyap_family;

/* The law of the entries a sampler draws (lyap_weights_draw) before its
 * scale, for an n x n matrix (n = d, or h = d/2 for a looks-linear block). */
typedef enum {
    LYAP_ENTRIES_NORMAL,  /* i.i.d. N(0, 1), scale sqrt(s2/n) */
    LYAP_ENTRIES_HAAR,    /* Haar orthogonal, scale sqrt(s2) */
    LYAP_ENTRIES_UNIFORM, /* i.i.d. U(-1, 1), scale sqrt(3 s2/n) */
    LYAP_ENTRIES_SIGN     /* i.i.d. +-1, each with probability 1/2, scale sqrt(s2/n) */
} lyap_entry_law;

/* The closed forms of THEORY.md that hold (for a looks-linear family: the
 * formulas of its block, "Looks-linear: exact for every slope"). */
typedef enum {
    LYAP_THEORY_NONE,      /* no closed form: lambda, v, s2_crit are NaN at slope > 0 */
    LYAP_THEORY_GAUSSIAN,  /* the gaussian formulas: the chi2_d norm of W u enters */
    LYAP_THEORY_ORTHOGONAL /* the orthogonal formulas: W preserves norms */
} lyap_theory_kind;

typedef struct {
    const char *name;             /* in decks, on the command line and in output files */
    lyap_entry_law entries;       /* what the sampler draws (a looks-linear family: its block A) */
    int exact_law;                /* rotation invariant: i.i.d. per-layer ratios with an exact law
                                   * (the exact path, the finite-depth law, exact tails) */
    int looks_linear;             /* W = [[A, -A], [-A, A]]: even widths, h = d/2 */
    lyap_family block;            /* the family of A for a looks-linear family, else the family itself */
    lyap_theory_kind theory;      /* which closed forms give lambda, v, s2_crit and spectra */
    const char *standard_scale;   /* label of 2/(1+a^2) in `lyapdiag theory`: "He" or "gain" */
    int dies_at_every_slope;      /* rows can cancel exactly (W x = 0): death with positive
                                   * probability at every slope, not only at ReLU */
    int limit_theorems;           /* meets the assumptions of the limit theorems (entries have a
                                   * density); 0: allowed, but flagged */
    int single_precision;         /* the matrix path has a float version (precision = single) */
    int lattice;                  /* entries on a lattice (+-c): sums cancel exactly, so pre-activations
                                   * at the rounding level of 0 are 0, and products lose rank exactly,
                                   * which leaves the QR spectrum's lower exponents undefined */
} lyap_family_info;

/* The descriptor of F, or NULL if F is not a family. Static storage. */
const lyap_family_info *lyap_family_info_of(lyap_family f);

/* Deck/output name of F ("gaussian", ...); "?" for an invalid F. */
const char *lyap_family_name(lyap_family f);

/* Parses NAME (exact, lower case) into *F. Returns 0 on success, -1 if NAME
 * is not a family (the caller names the choices: lyap_family_choices()). */
int lyap_family_parse(const char *name, lyap_family *f);

/* Every family's name in table order, comma separated ("gaussian,
 * orthogonal, ..."), for error messages and --help. Static storage. */
const char *lyap_family_choices(void);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_FAMILY_H */
