/* deck.h: the input deck (INI, parsed with libinih) and its validation.
 *
 * Every rejection is one line, "FILE:LINE: [section] key: cause; fix", so a
 * user can correct a deck without reading the source. Nothing is clamped:
 * a value outside its range is an error. Key names are part of the file
 * format and keep their meaning across versions.
 */
#ifndef LYAPDIAG_DECK_H
#define LYAPDIAG_DECK_H

#include <stdint.h>
#include <stdio.h>

#include "lyapdiag/family.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LYAP_DECK_MAX_WIDTH 65536
#define LYAP_DECK_MAX_DEPTH 1000000000
#define LYAP_DECK_MIN_MAX_DEPTH 10 /* the CLT variance needs a series */
/* Replicas per round of the adaptive stopping rule (target_stderr > 0),
 * and its minimum, so that the stderr it tests is itself reliable. */
#define LYAP_ADAPTIVE_ROUND 16
/* The adaptive rule tests its stderr from this many replicas on: an
 * estimate from 16 alone would often stop too early (optional stopping). */
#define LYAP_ADAPTIVE_MIN_REPLICAS 64
/* [sampling] spectrum = all: every exponent, K = width. */
#define LYAP_SPECTRUM_ALL (-1)

/* How the Monte Carlo draws a layer ([sampling] method). */
typedef enum {
    LYAP_METHOD_AUTO = 0, /* exact where THEORY.md gives the law, else matrix */
    LYAP_METHOD_EXACT,    /* i.i.d. increments from their exact law (gaussian, orthogonal) */
    LYAP_METHOD_MATRIX    /* weight matrices and GEMM (every family) */
} lyap_method;

/* Floating point of the matrix path ([sampling] precision); log-norms are
 * always accumulated in double. */
typedef enum { LYAP_PRECISION_DOUBLE = 0, LYAP_PRECISION_SINGLE } lyap_precision;

/* The method a task of family F runs under the deck's METHOD: auto
 * resolves to exact for rotation-invariant families, else matrix. */
lyap_method lyap_method_resolve(lyap_method method, lyap_family f);

/* "exact" or "matrix" (or "auto"). */
const char *lyap_method_name(lyap_method method);

typedef struct {
    int nfamilies;
    lyap_family families[LYAP_FAMILY_COUNT]; /* [grid] families, in deck order */
    int nwidths;
    int *widths;              /* [grid] widths d, strictly increasing */
    int nslopes;
    double *slopes;           /* [grid] slopes a in [0, 1], strictly increasing */
    int nvariances;
    double *variances;        /* [grid] variances s2 > 0 (eta^2 for orthogonal) */
    int nbias_variances;
    double *bias_variances;   /* [grid] bias variances sb2 >= 0 per coordinate, strictly increasing */
    int ndepths;
    int *depths;              /* [grid] recorded depths L, strictly increasing */
    uint64_t seed;            /* [sampling] seed of all random streams */
    int replicas;             /* [sampling] independent networks per task */
    int batch;                /* [sampling] inputs per network */
    double target_stderr;     /* [sampling] 0 = fixed replicas, else stop at this lambda stderr */
    int verify_homogeneity;   /* [sampling] 1 = simulate every variance */
    lyap_method method;       /* [sampling] method, as given (may be auto) */
    lyap_method methods[LYAP_FAMILY_COUNT]; /* the method each of families[] runs: resolved once, here */
    lyap_precision precision; /* [sampling] precision of the matrix path */
    int spectrum;             /* [sampling] top exponents wanted: 0 = off, LYAP_SPECTRUM_ALL = width */
    double input_m0;          /* [sampling] |x_0|^2/d of the inputs (> 0; matters only with biases) */
    int input_cosine_on;      /* [sampling] input_cosine given: pairs of inputs at cosine input_cosine */
    double input_cosine;      /* [sampling] cosine of the two inputs, in [-1, 1] (when input_cosine_on) */
    double eps;               /* [sampling] p_vanish = P(|x_L| < eps |x_0|), p_explode = P(|x_L| > |x_0|/eps) */
    char *output;             /* [output] file: NetCDF path */
    double checkpoint_seconds; /* [output] seconds between checkpoints */
    char *name;               /* deck file name, for messages */
    char *text;               /* the deck verbatim (stored in the output) */
    char *canonical;          /* every key's value, defaults included: "[section] key = value" lines in
                                 table order, numbers as %.17g (what resume compares) */
    struct lyap_train_deck *train; /* a training deck's [train] (traindeck.h); NULL for a run deck */
} lyap_deck;

/* Parses and validates TEXT (NUL-terminated INI) named NAME in messages into
 * *DECK, which owns copies of both. A deck with a [train] section is a
 * training deck (traindeck.h, lyap_deck_parse_train): refused here, naming
 * `lyapdiag train`. Returns LYAP_OK, LYAP_EDECK (message:
 * file:line, key, cause, fix) or LYAP_ENOMEM. On error *DECK holds nothing
 * to free. Deterministic: every MPI rank parsing the same text agrees. */
int lyap_deck_parse(const char *text, const char *name, lyap_deck *deck);

/* Reads the whole file PATH into a new NUL-terminated string *TEXT (caller
 * frees). LYAP_EIO names the file and the reason if it cannot be read. */
int lyap_deck_read_file(const char *path, char **text);

/* Frees what lyap_deck_parse allocated; safe on a zeroed or freed deck. */
void lyap_deck_free(lyap_deck *deck);

/* The first key, "[section] key", whose value differs between decks A and
 * B, or NULL if none does: a run may only be resumed with a deck that
 * matches. Every key of the table is compared (its canonical value) except
 * those marked as not changing results ([output] file and
 * checkpoint_seconds). The text is valid until the next call. */
const char *lyap_deck_first_difference(const lyap_deck *a, const lyap_deck *b);

/* Exponents of the Lyapunov spectrum a task of width D computes: the
 * deck's K, or D for `all` or a K above D; 0 when the spectrum is off. */
int lyap_deck_spectrum_count(const lyap_deck *deck, int d);

/* Length of the output's spectrum_index axis: the largest count over the
 * widths (0 when the spectrum is off). */
int lyap_deck_spectrum_axis(const lyap_deck *deck);

/* Whether the deck has biases: some bias variance > 0. A deck without
 * them runs and writes exactly what it did before biases existed. */
int lyap_deck_has_biases(const lyap_deck *deck);

/* Number of tasks (family, width, slope) of the grid. */
long lyap_deck_task_count(const lyap_deck *deck);

/* Writes the deck reference (every section, key, default, meaning) to OUT:
 * the text behind `lyapdiag --help-deck` and the README's deck table. */
void lyap_deck_print_reference(FILE *out);

/* Number of deck keys, and key I's section, name, an example value other
 * than its default, and whether it may change on --resume: for tests that
 * walk every key. */
int lyap_deck_key_count(void);
void lyap_deck_key(int i, const char **section, const char **name, const char **example, int *may_change_on_resume);

/* TEXT as a whole number from LO to HI into *OUT, in any decimal spelling:
 * "10000", "1e4", "1.5e3", "2.0", "+7" (read exactly by digit arithmetic,
 * so a 64-bit seed loses nothing). Returns 0; -1 when TEXT is not a whole
 * number ("1.5", "1e4.5", "abc", "0x10", " 8"; *OUT untouched); -2 when it
 * is whole but outside [LO, HI]. The one reader of whole numbers: the
 * deck's whole-number keys and every whole-number command-line option. */
int lyap_deck_whole(const char *text, unsigned long long lo, unsigned long long hi, unsigned long long *out);

/* What to add to a refusal of TEXT by lyap_deck_whole (its STATUS): the
 * exponent-form hint for "1e4.5", else "". */
const char *lyap_deck_whole_hint(const char *text, int status);

/* Levenshtein distance of two short strings (99 beyond 63 characters): the
 * "did you mean" of unknown deck keys and of unknown command-line options. */
int lyap_deck_edit_distance(const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_DECK_H */
