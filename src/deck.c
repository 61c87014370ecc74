/* deck.c: input deck parsing and validation (see include/lyapdiag/deck.h).
 *
 * libinih does the INI syntax; we feed it through a reader that counts lines
 * (Debian's libinih is built without INI_HANDLER_LINENO), so every message can
 * say FILE:LINE. One table, deck_keys[], defines every key: its section,
 * parser, default and meaning. It drives parsing, defaults and --help-deck.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lyapdiag/deck.h"
#include "lyapdiag/error.h"
#include "lyapdiag/traindeck.h"

#define MAX_AXIS_POINTS 100000 /* per grid axis: far beyond any useful diagram */
#define MAX_TASKS 10000000L

struct key_spec;
typedef int (*key_parser)(lyap_deck *deck, const char *value, const char *where);

/* Whether a key may change between a run and its --resume: every row
 * says it, and lyap_deck_first_difference compares every RESUME_MUST_MATCH
 * key's parsed value, so no key can be forgotten there. */
enum { RESUME_MUST_MATCH = 0, RESUME_MAY_CHANGE };

struct key_spec {
    const char *section;
    const char *name;
    key_parser parse;
    const char *default_value; /* NULL: the key is required */
    const char *meaning;       /* unit and range, for --help-deck */
    const char *(*choices)(void); /* NULL, or the allowed values, printed after MEANING */
    const char *example;       /* another valid value (docs; the tests try every key with it) */
    int resume;                /* RESUME_MUST_MATCH or RESUME_MAY_CHANGE */
};

/* ---- value parsers ------------------------------------------------------ */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* Next SEP-separated item of *CURSOR (modified in place), or NULL at the
 * end. Unlike strtok, empty items are returned, so "2,,4" is an error. */
static char *next_item(char **cursor, char sep)
{
    char *item = *cursor;
    if (!item)
        return NULL;
    char *end = strchr(item, sep);
    if (end)
        *end++ = '\0';
    *cursor = end;
    return item;
}

/* Strict number: the whole token, finite. */
static int parse_number(const char *token, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(token, &end);
    if (end == token || *end != '\0' || errno == ERANGE || !isfinite(x))
        return -1;
    *out = x;
    return 0;
}

/* Whole number written in decimal, optionally with a fraction and an
 * exponent ("10000", "1e4", "1.5e3", "2.0"): *OUT gets its exact value
 * (digit arithmetic, no rounding through a double) and *NEGATIVE its sign.
 * Returns 0, -1 when TOKEN is not such a number or not whole ("1.5",
 * "1e4.5", "abc"), -2 when it is whole but above MAX. */
static int parse_whole(const char *token, unsigned long long max, unsigned long long *out, int *negative)
{
    const char *p = token;
    char digits[32]; /* significant digits, leading zeros dropped */
    int ndigits = 0, overflow = 0, any = 0;
    long exponent = 0; /* value = digits * 10^exponent */
    *negative = 0;
    if (*p == '+' || *p == '-')
        *negative = *p++ == '-';
    for (int fraction = 0;; p++) {
        if (*p == '.' && !fraction) {
            fraction = 1;
            continue;
        }
        if (!isdigit((unsigned char)*p))
            break;
        any = 1;
        if (fraction)
            exponent--;
        if (ndigits == 0 && *p == '0')
            continue;
        if (ndigits < (int)sizeof digits)
            digits[ndigits++] = *p;
        else if (*p != '0')
            overflow = 1; /* beyond 32 significant digits: not a 64-bit integer */
        else
            exponent++;
    }
    if (!any)
        return -1;
    if (*p == 'e' || *p == 'E') {
        int sign = 1;
        long e = 0;
        p++;
        if (*p == '+' || *p == '-')
            sign = *p++ == '-' ? -1 : 1;
        if (!isdigit((unsigned char)*p))
            return -1;
        for (; isdigit((unsigned char)*p); p++)
            if (e < 100000)
                e = 10 * e + (*p - '0');
        exponent += sign * e;
    }
    if (*p != '\0')
        return -1;
    while (ndigits > 0 && digits[ndigits - 1] == '0') {
        ndigits--;
        exponent++;
    }
    if (ndigits == 0) {
        *out = 0;
        return 0;
    }
    if (exponent < 0)
        return -1; /* a fraction remains */
    if (overflow || ndigits + exponent > 20)
        return -2;
    unsigned long long x = 0;
    for (int i = 0; i < ndigits + exponent; i++) {
        unsigned d = i < ndigits ? (unsigned)(digits[i] - '0') : 0;
        if (x > (ULLONG_MAX - d) / 10)
            return -2;
        x = 10 * x + d;
    }
    if (x > max)
        return -2;
    *out = x;
    return 0;
}

/* The key's name: the last word of WHERE ("deck.ini:3: [grid] slopes"). */
static const char *key_of(const char *where)
{
    const char *space = strrchr(where, ' ');
    return space ? space + 1 : where;
}

/* Whether TOKEN is a number or a range item (start:stop:count, log:...). */
static int looks_like_item(const char *token)
{
    double x;
    return strchr(token, ':') != NULL || parse_number(token, &x) == 0;
}

/* The words of VALUE (split at blanks and commas) joined by ", " into BUF
 * of SIZE >= 3 strlen(VALUE) + 1. */
static const char *join_words(const char *value, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (const char *p = value; *p;) {
        size_t len = strcspn(p, " \t,");
        if (len > 0) {
            n += (size_t)snprintf(buf + n, size - n, "%s%.*s", n ? ", " : "", (int)len, p);
            p += len;
        } else {
            p++;
        }
    }
    return buf;
}

/* VALUE with its items separated by ", ": the list the user meant when
 * writing "0 0.01 0.1" (into BUF of SIZE), or NULL when TOKEN, the
 * offending item, is not numbers separated by blanks. */
static const char *comma_separated(const char *token, const char *value, char *buf, size_t size)
{
    char words[256];
    int nwords = 0;
    if (!strpbrk(token, " \t") || strlen(token) >= sizeof words || 3 * strlen(value) >= size)
        return NULL;
    strcpy(words, token);
    char *save = NULL;
    for (char *w = strtok_r(words, " \t", &save); w; w = strtok_r(NULL, " \t", &save), nwords++)
        if (!looks_like_item(w))
            return NULL;
    return nwords >= 2 ? join_words(value, buf, size) : NULL;
}

/* "0.5-4" or "0.5..4" (also with blanks): START and STOP of what was meant
 * as a range, or -1 when TOKEN is not two numbers joined that way. */
static int dash_range(const char *token, double *start, double *stop)
{
    char text[128];
    size_t n = 0;
    for (const char *p = token; *p && n + 1 < sizeof text; p++)
        if (!isspace((unsigned char)*p))
            text[n++] = *p;
    text[n] = '\0';
    for (size_t i = 1; i < n; i++) {
        size_t skip = text[i] == '-' ? 1 : strncmp(text + i, "..", 2) == 0 ? 2 : 0;
        if (skip == 0 || (skip == 1 && (text[i - 1] == 'e' || text[i - 1] == 'E')))
            continue;
        char left[128];
        memcpy(left, text, i);
        left[i] = '\0';
        if (parse_number(left, start) == 0 && parse_number(text + i + skip, stop) == 0 && *start < *stop)
            return 0;
    }
    return -1;
}

/* TOKEN, an item of the list VALUE (NULL inside a range), is not a number:
 * says so with the likely fix (a comment, blanks for commas, a dash for a
 * range). INTEGER: the key takes whole numbers. */
static int bad_number(const char *where, const char *token, const char *value, int integer)
{
    char list[1024];
    double start, stop;
    if (strchr(token, '#'))
        return lyap_fail(LYAP_EDECK, "%s: '%s' is not a number; inline comments start with ';'", where, token);
    if (value && comma_separated(token, value, list, sizeof list))
        return lyap_fail(LYAP_EDECK, "%s: '%s' is not a number; lists are comma-separated: write %s = %s",
                         where, token, key_of(where), list);
    if (value && dash_range(token, &start, &stop) == 0) {
        int count = 8;
        if (integer && start == floor(start) && stop == floor(stop) && stop - start < 1e9) {
            long span = (long)(stop - start);
            for (count = 9; count > 2 && span % (count - 1) != 0; count--)
                ;
        }
        return lyap_fail(LYAP_EDECK, "%s: '%s' is not a number; a range is start:stop:count (count points, "
                         "both ends included) or log:start:stop:count (geometric): write e.g. %s = %.17g:%.17g:%d",
                         where, token, key_of(where), start, stop, count);
    }
    return lyap_fail(LYAP_EDECK, "%s: '%s' is not a number; write e.g. %s", where, token,
                     integer ? "8 or 1e3" : "0.5 or 1e-3");
}

/* X rounded to 15 significant digits: an interior range point computed as
 * start + t (stop - start) is off by an ulp or two from the decimal the
 * user means (1:4:31 gave 2.0999999999999996 for 2.1), and a coordinate
 * one ulp off cannot be selected by its value in xarray or NCO. 15 digits
 * are below the rounding error of the formula and above any grid's
 * resolution. */
static double nearest_short_decimal(double x)
{
    char text[32];
    snprintf(text, sizeof text, "%.15g", x);
    return strtod(text, NULL);
}

/* Appends N points of START:STOP (linear, or geometric when LOG) to LIST. */
static int expand_range(const char *where, char *spec, double **list, int *n)
{
    int log_spacing = 0;
    if (strncmp(spec, "log:", 4) == 0) {
        log_spacing = 1;
        spec += 4;
    }
    char *parts[3];
    int nparts = 0;
    for (char *tok = next_item(&spec, ':'); tok; tok = next_item(&spec, ':')) {
        if (nparts == 3)
            return lyap_fail(LYAP_EDECK, "%s: a range is start:stop:count or log:start:stop:count", where);
        parts[nparts++] = trim(tok);
    }
    double start, stop, count;
    if (nparts != 3)
        return lyap_fail(LYAP_EDECK, "%s: a range is start:stop:count or log:start:stop:count", where);
    if (parse_number(parts[0], &start))
        return bad_number(where, parts[0], NULL, 0);
    if (parse_number(parts[1], &stop))
        return bad_number(where, parts[1], NULL, 0);
    if (parse_number(parts[2], &count) || count != floor(count) || count < 2 || count > MAX_AXIS_POINTS)
        return lyap_fail(LYAP_EDECK, "%s: range count '%s' must be a whole number from 2 to %d",
                         where, parts[2], MAX_AXIS_POINTS);
    if (log_spacing && (start <= 0 || stop <= 0))
        return lyap_fail(LYAP_EDECK, "%s: log:%s:%s needs positive start and stop", where, parts[0], parts[1]);
    int m = (int)count;
    if (*n + m > MAX_AXIS_POINTS)
        return lyap_fail(LYAP_EDECK, "%s: more than %d points", where, MAX_AXIS_POINTS);
    double *grown = realloc(*list, sizeof **list * (size_t)(*n + m));
    if (!grown)
        return lyap_fail(LYAP_ENOMEM, "%s: out of memory", where);
    *list = grown;
    for (int i = 0; i < m; i++) {
        double t = (double)i / (m - 1);
        double x = log_spacing ? exp(log(start) + t * (log(stop) - log(start)))
                               : start + t * (stop - start);
        if (i == 0 || i == m - 1)
            x = i == 0 ? start : stop; /* the end points as written */
        else
            x = nearest_short_decimal(x);
        (*list)[(*n)++] = x;
    }
    return LYAP_OK;
}

/* Parses "x, y, a:b:n, log:a:b:n" into a new array; checks that every point
 * lies in [LO, HI] (LO excluded when LO_OPEN), is whole when INTEGER (log
 * ranges are rounded), and that the points strictly increase. */
static int parse_axis(const char *where, const char *value, int integer, double lo, int lo_open,
                      double hi, const char *range_text, double **out, int *nout)
{
    char *copy = strdup(value);
    double *list = NULL;
    int n = 0, status = LYAP_OK;
    if (!copy)
        return lyap_fail(LYAP_ENOMEM, "%s: out of memory", where);
    char *cursor = copy;
    for (char *item = next_item(&cursor, ','); item && status == LYAP_OK; item = next_item(&cursor, ',')) {
        item = trim(item);
        if (*item == '\0') {
            status = lyap_fail(LYAP_EDECK, "%s: empty list item; separate values with single commas", where);
        } else if (strchr(item, ':')) {
            int first = n;
            status = expand_range(where, item, &list, &n);
            for (int i = first; status == LYAP_OK && integer && i < n; i++) {
                double r = round(list[i]);
                if (strncmp(item, "log:", 4) != 0 && fabs(list[i] - r) > 1e-9 * fmax(1, fabs(r)))
                    status = lyap_fail(LYAP_EDECK, "%s: range %s gives %g, not a whole number; "
                                       "choose count so that (stop - start)/(count - 1) is whole",
                                       where, value, list[i]);
                list[i] = r;
            }
        } else {
            double x;
            double *grown = realloc(list, sizeof *list * (size_t)(n + 1));
            if (!grown) {
                status = lyap_fail(LYAP_ENOMEM, "%s: out of memory", where);
            } else if (parse_number(item, &x)) {
                list = grown;
                status = bad_number(where, item, value, integer);
            } else if (integer && x != floor(x)) {
                list = grown;
                status = lyap_fail(LYAP_EDECK, "%s: '%s' must be a whole number", where, item);
            } else {
                list = grown;
                list[n++] = x;
            }
        }
    }
    for (int i = 0; status == LYAP_OK && i < n; i++) {
        if (list[i] < lo || (lo_open && list[i] == lo) || list[i] > hi)
            status = lyap_fail(LYAP_EDECK, "%s: %g is out of range; allowed: %s", where, list[i], range_text);
        else if (i > 0 && list[i] <= list[i - 1])
            status = lyap_fail(LYAP_EDECK, "%s: %g after %g: list each value once, in increasing order",
                               where, list[i], list[i - 1]);
    }
    if (status == LYAP_OK && n == 0)
        status = lyap_fail(LYAP_EDECK, "%s: empty list; give at least one value", where);
    free(copy);
    if (status != LYAP_OK) {
        free(list);
        return status;
    }
    *out = list;
    *nout = n;
    return LYAP_OK;
}

static int parse_int_axis(const char *where, const char *value, double lo, double hi,
                          const char *range_text, int **out, int *nout)
{
    double *list;
    int n;
    LYAP_CALL(parse_axis(where, value, 1, lo, 0, hi, range_text, &list, &n));
    int *ints = malloc(sizeof *ints * (size_t)n);
    if (!ints) {
        free(list);
        return lyap_fail(LYAP_ENOMEM, "%s: out of memory", where);
    }
    for (int i = 0; i < n; i++)
        ints[i] = (int)list[i];
    free(list);
    free(*out);
    *out = ints;
    *nout = n;
    return LYAP_OK;
}

/* The deck's whole-number keys and every whole-number option of the
 * command line (main.c) read through this one function (deck.h). */
int lyap_deck_whole(const char *text, unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
    unsigned long long x;
    int negative;
    int status = parse_whole(text, hi, &x, &negative);
    if (status == 0 && ((negative && x != 0) || x < lo))
        status = -2;
    if (status == 0)
        *out = x;
    return status;
}

const char *lyap_deck_whole_hint(const char *text, int status)
{
    return status == -1 && strpbrk(text, "eE") ? " (exponent forms are fine when whole: 1e4, 1.5e3)" : "";
}

/* Whole number in [LO, HI], also in exponent form when whole (1e4, 1.5e3). */
static int parse_count(const char *where, const char *value, long lo, long hi, int *out)
{
    unsigned long long x;
    int status = lyap_deck_whole(value, (unsigned long long)lo, (unsigned long long)hi, &x);
    if (status != 0)
        return lyap_fail(LYAP_EDECK, "%s: '%s' must be a whole number from %ld to %ld%s", where, value, lo, hi,
                         strchr(value, '#') ? "; inline comments start with ';'" : lyap_deck_whole_hint(value, status));
    *out = (int)x;
    return LYAP_OK;
}

/* VALUE with ", " between its words when ITEM is family names separated
 * by blanks ("gaussian orthogonal"), into BUF; else NULL. */
static const char *blank_separated_families(const char *item, const char *value, char *buf, size_t size)
{
    char words[256];
    int nwords = 0;
    lyap_family f;
    if (!strpbrk(item, " \t") || strlen(item) >= sizeof words || 3 * strlen(value) >= size)
        return NULL;
    strcpy(words, item);
    char *save = NULL;
    for (char *w = strtok_r(words, " \t", &save); w; w = strtok_r(NULL, " \t", &save), nwords++)
        if (lyap_family_parse(w, &f) != 0)
            return NULL;
    return nwords >= 2 ? join_words(value, buf, size) : NULL;
}

static int parse_families(lyap_deck *deck, const char *value, const char *where)
{
    char *copy = strdup(value), *cursor = copy;
    int status = LYAP_OK;
    if (!copy)
        return lyap_fail(LYAP_ENOMEM, "%s: out of memory", where);
    deck->nfamilies = 0;
    for (char *item = next_item(&cursor, ','); item && status == LYAP_OK; item = next_item(&cursor, ',')) {
        lyap_family f;
        item = trim(item);
        if (lyap_family_parse(item, &f) != 0) {
            char list[1024];
            if (blank_separated_families(item, value, list, sizeof list))
                status = lyap_fail(LYAP_EDECK, "%s: unknown family '%s'; lists are comma-separated: write "
                                   "families = %s", where, item, list);
            else
                status = lyap_fail(LYAP_EDECK, "%s: unknown family '%s'; choose from %s", where, item,
                                   lyap_family_choices());
            break;
        }
        for (int i = 0; i < deck->nfamilies; i++)
            if (deck->families[i] == f)
                status = lyap_fail(LYAP_EDECK, "%s: family '%s' listed twice; list each once", where, item);
        if (status == LYAP_OK)
            deck->families[deck->nfamilies++] = f;
    }
    if (status == LYAP_OK && deck->nfamilies == 0)
        status = lyap_fail(LYAP_EDECK, "%s: empty list; choose from %s", where, lyap_family_choices());
    free(copy);
    return status;
}

static int parse_widths(lyap_deck *deck, const char *value, const char *where)
{
    return parse_int_axis(where, value, 1, LYAP_DECK_MAX_WIDTH, "whole numbers 1 to 65536",
                          &deck->widths, &deck->nwidths);
}

static int parse_depths(lyap_deck *deck, const char *value, const char *where)
{
    LYAP_CALL(parse_int_axis(where, value, 1, LYAP_DECK_MAX_DEPTH, "whole numbers 1 to 1e9",
                             &deck->depths, &deck->ndepths));
    if (deck->depths[deck->ndepths - 1] < LYAP_DECK_MIN_MAX_DEPTH)
        return lyap_fail(LYAP_EDECK, "%s: the largest depth is %d; it must be at least %d "
                         "(the simulated depth; the CLT variance needs a long series)",
                         where, deck->depths[deck->ndepths - 1], LYAP_DECK_MIN_MAX_DEPTH);
    return LYAP_OK;
}

static int parse_slopes(lyap_deck *deck, const char *value, const char *where)
{
    free(deck->slopes);
    deck->slopes = NULL;
    return parse_axis(where, value, 0, 0.0, 0, 1.0, "0 <= a <= 1 (0 = ReLU, 1 = linear)",
                      &deck->slopes, &deck->nslopes);
}

static int parse_variances(lyap_deck *deck, const char *value, const char *where)
{
    free(deck->variances);
    deck->variances = NULL;
    return parse_axis(where, value, 0, 0.0, 1, 1e300, "s2 > 0 (weight variance times width)",
                      &deck->variances, &deck->nvariances);
}

static int parse_bias_variances(lyap_deck *deck, const char *value, const char *where)
{
    free(deck->bias_variances);
    deck->bias_variances = NULL;
    return parse_axis(where, value, 0, 0.0, 0, 1e300, "sb2 >= 0 (bias variance per coordinate; 0 = no biases)",
                      &deck->bias_variances, &deck->nbias_variances);
}

static int parse_seed(lyap_deck *deck, const char *value, const char *where)
{
    unsigned long long x;
    int status = lyap_deck_whole(value, 0, ULLONG_MAX, &x);
    if (status != 0)
        return lyap_fail(LYAP_EDECK, "%s: '%s' must be a whole number from 0 to 2^64-1%s", where, value,
                         lyap_deck_whole_hint(value, status));
    deck->seed = (uint64_t)x;
    return LYAP_OK;
}

static int parse_replicas(lyap_deck *deck, const char *value, const char *where)
{
    return parse_count(where, value, 2, 1000000000L, &deck->replicas);
}

static int parse_batch(lyap_deck *deck, const char *value, const char *where)
{
    return parse_count(where, value, 1, 65536, &deck->batch);
}

static int parse_target_stderr(lyap_deck *deck, const char *value, const char *where)
{
    double x;
    if (parse_number(value, &x) || x < 0)
        return lyap_fail(LYAP_EDECK, "%s: '%s' must be a number >= 0 (0 = run all replicas)", where, value);
    deck->target_stderr = x;
    return LYAP_OK;
}

static int parse_verify(lyap_deck *deck, const char *value, const char *where)
{
    if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
        deck->verify_homogeneity = 1;
    else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
        deck->verify_homogeneity = 0;
    else
        return lyap_fail(LYAP_EDECK, "%s: '%s' must be yes or no (true/false and 1/0 work too)", where, value);
    return LYAP_OK;
}

static int parse_method(lyap_deck *deck, const char *value, const char *where)
{
    for (lyap_method m = LYAP_METHOD_AUTO; m <= LYAP_METHOD_MATRIX; m++)
        if (strcmp(value, lyap_method_name(m)) == 0) {
            deck->method = m;
            return LYAP_OK;
        }
    return lyap_fail(LYAP_EDECK, "%s: '%s' must be auto, exact or matrix", where, value);
}

static int parse_precision(lyap_deck *deck, const char *value, const char *where)
{
    if (strcmp(value, "double") == 0)
        deck->precision = LYAP_PRECISION_DOUBLE;
    else if (strcmp(value, "single") == 0)
        deck->precision = LYAP_PRECISION_SINGLE;
    else
        return lyap_fail(LYAP_EDECK, "%s: '%s' must be double or single", where, value);
    return LYAP_OK;
}

static int parse_spectrum(lyap_deck *deck, const char *value, const char *where)
{
    if (strcmp(value, "all") == 0) {
        deck->spectrum = LYAP_SPECTRUM_ALL;
        return LYAP_OK;
    }
    int k;
    if (parse_count(where, value, 0, LYAP_DECK_MAX_WIDTH, &k) != LYAP_OK)
        return lyap_fail(LYAP_EDECK, "%s: '%s' must be 0 (off), a number of exponents K >= 1, or all",
                         where, value);
    deck->spectrum = k;
    return LYAP_OK;
}

static int parse_eps(lyap_deck *deck, const char *value, const char *where)
{
    double x;
    if (parse_number(value, &x) || !(x > 0 && x < 1))
        return lyap_fail(LYAP_EDECK, "%s: '%s' must be a number between 0 and 1 (exclusive), e.g. 1e-3",
                         where, value);
    deck->eps = x;
    return LYAP_OK;
}

static int parse_input_m0(lyap_deck *deck, const char *value, const char *where)
{
    double x;
    if (parse_number(value, &x) || !(x > 0))
        return lyap_fail(LYAP_EDECK, "%s: '%s' must be a number > 0 (|x_0|^2/d of the inputs), e.g. 1", where,
                         value);
    deck->input_m0 = x;
    return LYAP_OK;
}

static int parse_input_cosine(lyap_deck *deck, const char *value, const char *where)
{
    double x;
    if (strcmp(value, "off") == 0) {
        deck->input_cosine_on = 0;
        return LYAP_OK;
    }
    if (parse_number(value, &x) || x < -1 || x > 1)
        return lyap_fail(LYAP_EDECK, "%s: '%s' must be off or a cosine from -1 to 1, e.g. 0.5", where, value);
    deck->input_cosine_on = 1;
    deck->input_cosine = x;
    return LYAP_OK;
}

lyap_method lyap_method_resolve(lyap_method method, lyap_family f)
{
    if (method == LYAP_METHOD_AUTO)
        return lyap_family_info_of(f)->exact_law ? LYAP_METHOD_EXACT : LYAP_METHOD_MATRIX;
    return method;
}

const char *lyap_method_name(lyap_method method)
{
    return method == LYAP_METHOD_EXACT ? "exact" : method == LYAP_METHOD_MATRIX ? "matrix" : "auto";
}

static int parse_output_file(lyap_deck *deck, const char *value, const char *where)
{
    if (*value == '\0')
        return lyap_fail(LYAP_EDECK, "%s: empty file name; write e.g. file = phase.nc", where);
    char *copy = strdup(value);
    if (!copy)
        return lyap_fail(LYAP_ENOMEM, "%s: out of memory", where);
    free(deck->output);
    deck->output = copy;
    return LYAP_OK;
}

static int parse_checkpoint(lyap_deck *deck, const char *value, const char *where)
{
    double x;
    if (parse_number(value, &x) || x < 0 || x > 1e9)
        return lyap_fail(LYAP_EDECK, "%s: '%s' must be a number of seconds from 0 to 1e9 "
                         "(0 = after every task)", where, value);
    deck->checkpoint_seconds = x;
    return LYAP_OK;
}

static const struct key_spec deck_keys[] = {
    {"grid", "families", parse_families, "gaussian, orthogonal", "weight families, a list of:",
     lyap_family_choices, "uniform", RESUME_MUST_MATCH},
    {"grid", "widths", parse_widths, NULL,
     "network widths d (1..65536): list, start:stop:count or log:start:stop:count",
     NULL, "2, 4, 8", RESUME_MUST_MATCH},
    {"grid", "slopes", parse_slopes, NULL, "Leaky ReLU slopes a, 0 <= a <= 1 (0 = ReLU, 1 = linear)",
     NULL, "0.01, 0.1", RESUME_MUST_MATCH},
    {"grid", "variances", parse_variances, NULL,
     "weight variance s2 (entries N(0, s2/d); eta^2 for orthogonal), > 0; He = 2/(1+a^2)",
     NULL, "log:0.5:4:7", RESUME_MUST_MATCH},
    {"grid", "bias_variances", parse_bias_variances, "0",
     "bias variance sb2 per coordinate (biases N(0, sb2), fresh each layer), >= 0; 0 = no biases; "
     "list or range like variances",
     NULL, "0, 0.05", RESUME_MUST_MATCH},
    {"grid", "depths", parse_depths, NULL,
     "recorded depths L in layers; the largest (>= 10) is simulated, the others recorded on the way",
     NULL, "10, 100", RESUME_MUST_MATCH},
    {"sampling", "seed", parse_seed, "1", "seed of all random streams (0..2^64-1)",
     NULL, "7", RESUME_MUST_MATCH},
    {"sampling", "replicas", parse_replicas, "64", "independent networks per task (>= 2)",
     NULL, "256", RESUME_MUST_MATCH},
    {"sampling", "batch", parse_batch, "16", "unit inputs pushed through each network (>= 1)",
     NULL, "4", RESUME_MUST_MATCH},
    {"sampling", "target_stderr", parse_target_stderr, "0",
     "0 = run all replicas; > 0 = stop each task once lambda's stderr is at most this (replicas in "
     "rounds of 16, at least 64; `replicas` is then the cap; slope 0 runs the cap)",
     NULL, "1e-3", RESUME_MUST_MATCH},
    {"sampling", "verify_homogeneity", parse_verify, "no",
     "yes = simulate every variance instead of the exact homogeneity shift (slow; for checks)",
     NULL, "yes", RESUME_MUST_MATCH},
    {"sampling", "method", parse_method, "auto",
     "auto, exact or matrix: exact samples each layer's log-norm increment from its exact law (THEORY.md; "
     "gaussian and orthogonal only, O(1) per step); matrix draws weight matrices (GEMM; every family); "
     "auto = exact where it exists",
     NULL, "matrix", RESUME_MUST_MATCH},
    {"sampling", "precision", parse_precision, "double",
     "double or single: single runs the matrix path's weights and GEMM in float (SGEMM; log-norms stay "
     "double), about 2x faster; gaussian and uniform weights only",
     NULL, "single", RESUME_MUST_MATCH},
    {"sampling", "spectrum", parse_spectrum, "0",
     "Lyapunov spectrum of the input-output Jacobian (QR/Benettin): 0 = off, K = the top K exponents "
     "(all of them for widths below K; K <= the largest width), all = every exponent",
     NULL, "all", RESUME_MUST_MATCH},
    {"sampling", "eps", parse_eps, "1e-3",
     "threshold of the finite-depth tail probabilities: p_vanish = P(|x_L| < eps |x_0|), "
     "p_explode = P(|x_L| > |x_0| / eps); 0 < eps < 1",
     NULL, "1e-6", RESUME_MUST_MATCH},
    {"sampling", "input_m0", parse_input_m0, "1",
     "|x_0|^2/d of the inputs, > 0; changes nothing without biases (positive homogeneity)",
     NULL, "2", RESUME_MUST_MATCH},
    {"sampling", "input_cosine", parse_input_cosine, "off",
     "off, or the cosine c0 in [-1, 1] of pairs of inputs (equal norms, input_m0) for the two-input outputs",
     NULL, "0.5", RESUME_MUST_MATCH},
    /* A training deck (`lyapdiag train`, traindeck.c): [train] and [output] only. */
    {"train", "task", lyap_traindeck_task, "polynomial",
     "polynomial (regression on inputs U(-1, 1)) or score (denoising score matching, 8 gaussians in 2-D)",
     NULL, "score", RESUME_MUST_MATCH},
    {"train", "coefficients", lyap_traindeck_coefficients, "0, 0.5, 0, -1, 0, 1",
     "polynomial: coefficients of ascending powers (at most 16)", NULL, "1, 0, 2", RESUME_MUST_MATCH},
    {"train", "train_points", lyap_traindeck_train_points, "256", "training points (>= 1; drawn per seed)",
     NULL, "128", RESUME_MUST_MATCH},
    {"train", "test_points", lyap_traindeck_test_points, "1024", "test points (>= 1; drawn per seed)",
     NULL, "512", RESUME_MUST_MATCH},
    {"train", "noise", lyap_traindeck_noise, "0", "polynomial: sd of gaussian label noise, >= 0",
     NULL, "0.1", RESUME_MUST_MATCH},
    {"train", "score_sigma", lyap_traindeck_score_sigma, "0.1",
     "score: noise level sigma of denoising score matching (input x + sigma e, target -e/sigma), > 0",
     NULL, "0.2", RESUME_MUST_MATCH},
    {"train", "methods", lyap_traindeck_methods,
     "he, orthogonal, lyapunov-gaussian, lyapunov-orthogonal, lyapunov-sampling, looks-linear, lsuv",
     "initializations of the hidden layers (THEORY.md \"Training\"), a list of:", lyap_traindeck_method_choices,
     "he, lsuv", RESUME_MUST_MATCH},
    {"train", "widths", lyap_traindeck_widths, "2, 8",
     "network widths d (1..4096; even for looks-linear): list or start:stop:count", NULL, "4", RESUME_MUST_MATCH},
    {"train", "depths", lyap_traindeck_depths, "40", "hidden d x d layers L (1..100000)", NULL, "10, 20",
     RESUME_MUST_MATCH},
    {"train", "slopes", lyap_traindeck_slopes, "0.01",
     "Leaky ReLU slopes a, 0 <= a <= 1 (0 only without the lyapunov methods)", NULL, "0.1", RESUME_MUST_MATCH},
    {"train", "learning_rates", lyap_traindeck_learning_rates, "1e-4, 1e-3, 1e-2", "learning rates, > 0",
     NULL, "1e-3", RESUME_MUST_MATCH},
    {"train", "optimizers", lyap_traindeck_optimizers, "adam",
     "adam and/or sgd: a grid axis like learning_rates (the optimizer decides which initialization wins)",
     NULL, "adam, sgd", RESUME_MUST_MATCH},
    {"train", "momentum", lyap_traindeck_momentum, "0", "sgd: heavy-ball momentum mu, 0 <= mu < 1",
     NULL, "0.9", RESUME_MUST_MATCH},
    {"train", "seeds", lyap_traindeck_seeds, "100",
     "seeds 0..N-1 per configuration: networks and data draws (every method sees the same data)",
     NULL, "8", RESUME_MUST_MATCH},
    {"train", "steps", lyap_traindeck_steps, "2000", "optimizer steps per task (>= 1)", NULL, "500",
     RESUME_MUST_MATCH},
    {"train", "batch", lyap_traindeck_batch, "0", "minibatch size (0 = full batch; <= train_points)",
     NULL, "32", RESUME_MUST_MATCH},
    {"train", "record_every", lyap_traindeck_record_every, "50",
     "steps between recorded losses (must divide steps)", NULL, "100", RESUME_MUST_MATCH},
    {"train", "biases", lyap_traindeck_biases, "yes",
     "yes = trained biases, initialized to 0; no = none (a bias-free Leaky ReLU net is positively homogeneous: "
     "with a 1-D input it cannot fit a polynomial)", NULL, "no", RESUME_MUST_MATCH},
    {"train", "candidates", lyap_traindeck_candidates, "8",
     "lyapunov-sampling: candidate networks at s2_crit, the best kept (as `lyapdiag init`)", NULL, "4",
     RESUME_MUST_MATCH},
    {"output", "file", parse_output_file, "phase.nc", "NetCDF output path (--output overrides)",
     NULL, "results/phase.nc", RESUME_MAY_CHANGE},
    {"output", "checkpoint_seconds", parse_checkpoint, "60",
     "seconds between checkpoints of finished tasks to FILE.partial (0 = after every task)",
     NULL, "600", RESUME_MAY_CHANGE},
};
#define NKEYS ((int)(sizeof deck_keys / sizeof deck_keys[0]))

/* ---- the INI pass --------------------------------------------------------- */

struct parse_state {
    lyap_deck *deck;
    const char *name;
    const char *cursor; /* next unread character of the text */
    int line;           /* line number of the last line handed to inih */
    int line_too_long;
    int seen_line[NKEYS];
    char *canonical[NKEYS]; /* each key's value as lyap_deck_first_difference compares it */
    int status;
    int train;          /* a training deck: [train] and [output] keys only */
};

/* Whether key I belongs to a training deck (TRAIN) or a run deck: [train]
 * to the first, [grid] and [sampling] to the second, [output] to both. */
static int key_applies(int i, int train)
{
    if (strcmp(deck_keys[i].section, "output") == 0)
        return 1;
    return (strcmp(deck_keys[i].section, "train") == 0) == (train != 0);
}

/* fgets over a string, counting lines; refuses lines inih would truncate. */
static char *read_line(char *buf, int size, void *stream)
{
    struct parse_state *st = stream;
    if (*st->cursor == '\0')
        return NULL;
    const char *nl = strchr(st->cursor, '\n');
    size_t len = nl ? (size_t)(nl - st->cursor) + 1 : strlen(st->cursor);
    st->line++;
    if (len >= (size_t)size) {
        st->line_too_long = 1;
        return NULL;
    }
    memcpy(buf, st->cursor, len);
    buf[len] = '\0';
    st->cursor += len;
    return buf;
}

/* Edit distance, for "did you mean" (deck keys here, options in main). */
int lyap_deck_edit_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    int row[64];
    for (int j = 0; j <= lb; j++)
        row[j] = j;
    for (int i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = i;
        for (int j = 1; j <= lb; j++) {
            int up = row[j];
            int cost = diag + (a[i - 1] != b[j - 1]);
            int best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
            row[j] = cost < best ? cost : best;
            diag = up;
        }
    }
    return row[lb];
}

/* The section of either deck nearest to SECTION (edit distance up to 3),
 * or NULL: a typo of [train] in a run deck is a typo of [train], not of
 * [grid]. */
static const char *nearest_section(const char *section)
{
    static const char *const sections[] = {"grid", "sampling", "output", "train"};
    const char *near = NULL;
    int best = 4;
    for (size_t i = 0; i < sizeof sections / sizeof *sections; i++) {
        int d = lyap_deck_edit_distance(section, sections[i]);
        if (d < best)
            best = d, near = sections[i];
    }
    return near;
}

/* NAME:LINE's [SECTION] is no section of this deck (TRAIN: a training
 * deck): the nearest of both decks' sections, and the command it needs. */
static int unknown_section(const char *name, int line, const char *section, int train)
{
    const char *near = nearest_section(section);
    if (near && strcmp(near, section) == 0) /* [grid] or [sampling] in a training deck */
        return lyap_fail(LYAP_EDECK, "%s:%d: [%s]: a section of phase diagram decks (`lyapdiag run`); a training "
                         "deck has [train] and [output] only", name, line, section);
    int other = near && (strcmp(near, "train") == 0 ? !train : strcmp(near, "output") != 0 && train);
    if (near && other)
        return lyap_fail(LYAP_EDECK, "%s:%d: [%s]: unknown section; did you mean [%s]? (a %s deck: run it with "
                         "`lyapdiag %s %s`)", name, line, section, near, train ? "phase diagram" : "training",
                         train ? "run" : "train", name);
    if (near)
        return lyap_fail(LYAP_EDECK, "%s:%d: [%s]: unknown section; did you mean [%s]?", name, line, section, near);
    return lyap_fail(LYAP_EDECK, "%s:%d: [%s]: unknown section; sections are %s", name, line, section,
                     train ? "[train], [output] (a training deck)" : "[grid], [sampling], [output]");
}

static int unknown_key(const struct parse_state *st, const char *section, const char *name)
{
    int known_section = 0, best = -1, best_distance = 3;
    char keys[512] = "";
    for (int i = 0; i < NKEYS; i++) {
        if (!key_applies(i, st->train))
            continue;
        int d = lyap_deck_edit_distance(name, deck_keys[i].name);
        if (d < best_distance) {
            best_distance = d;
            best = i;
        }
        if (strcmp(section, deck_keys[i].section) == 0) {
            known_section = 1;
            size_t used = strlen(keys); /* bounded: [train] alone has 19 keys */
            snprintf(keys + used, sizeof keys - used, "%s%s", used ? ", " : "", deck_keys[i].name);
        }
    }
    if (!known_section)
        return unknown_section(st->name, st->line, section, st->train);
    if (best >= 0)
        return lyap_fail(LYAP_EDECK, "%s:%d: [%s] %s: unknown key; did you mean '%s' in [%s]?",
                         st->name, st->line, section, name, deck_keys[best].name, deck_keys[best].section);
    return lyap_fail(LYAP_EDECK, "%s:%d: [%s] %s: unknown key; keys in [%s]: %s",
                     st->name, st->line, section, name, section, keys);
}

/* Appends TEXT to the growing string *OUT (length *LEN, capacity *CAP). */
static int append_text(char **out, size_t *len, size_t *cap, const char *text, const char *where)
{
    size_t n = strlen(text);
    if (*len + n + 1 > *cap) {
        size_t grown_cap = 2 * (*cap + n + 1);
        char *grown = realloc(*out, grown_cap);
        if (!grown)
            return lyap_fail(LYAP_ENOMEM, "%s: out of memory", where);
        *out = grown;
        *cap = grown_cap;
    }
    memcpy(*out + *len, text, n + 1);
    *len += n;
    return LYAP_OK;
}

/* TOKEN as resume compares it, in BUF: whole numbers exactly, whatever
 * their spelling (a seed may need all 64 bits; 1e4 and 10000 agree), other
 * numbers as %.17g, anything else as written. */
static const char *canonical_token(const char *token, char *buf, size_t size)
{
    unsigned long long u;
    double x;
    if (lyap_deck_whole(token, 0, ULLONG_MAX, &u) == 0) {
        snprintf(buf, size, "%llu", u);
        return buf;
    }
    if (parse_number(token, &x) == 0) {
        snprintf(buf, size, "%.17g", x == 0 ? 0.0 : x);
        return buf;
    }
    return token;
}

/* VALUE as resume compares it: its comma-separated items trimmed, ranges
 * (start:stop:count, log:start:stop:count) expanded to their points, and
 * numbers canonical, so that two spellings of the same values agree
 * ("0.10" and "1e-1"; "2:4:2" and "2, 4"). Stored in ST for key I. */
static int set_canonical(struct parse_state *st, int i, const char *value, const char *where)
{
    size_t cap = 2 * strlen(value) + 64, len = 0;
    char *out = malloc(cap), *copy = strdup(value), *cursor = copy;
    int status = out && copy ? LYAP_OK : lyap_fail(LYAP_ENOMEM, "%s: out of memory", where);
    if (out)
        out[0] = '\0';
    for (char *item = next_item(&cursor, ','); status == LYAP_OK && item; item = next_item(&cursor, ',')) {
        char buf[64], *range = NULL;
        double *points = NULL;
        int npoints = 0;
        item = trim(item);
        if (len > 0)
            status = append_text(&out, &len, &cap, ",", where);
        if (strchr(item, ':') && (range = strdup(item)) && expand_range(where, range, &points, &npoints) == LYAP_OK) {
            for (int k = 0; status == LYAP_OK && k < npoints; k++) {
                snprintf(buf, sizeof buf, "%.17g", points[k]);
                status = append_text(&out, &len, &cap, k ? "," : "", where);
                if (status == LYAP_OK)
                    status = append_text(&out, &len, &cap, canonical_token(buf, buf, sizeof buf), where);
            }
        } else if (status == LYAP_OK) {
            status = append_text(&out, &len, &cap, canonical_token(item, buf, sizeof buf), where);
        }
        free(range);
        free(points);
    }
    free(copy);
    if (status != LYAP_OK) {
        free(out);
        return status;
    }
    free(st->canonical[i]);
    st->canonical[i] = out;
    return LYAP_OK;
}

static int on_key(void *user, const char *section, const char *name, const char *raw_value)
{
    struct parse_state *st = user;
    if (st->status != LYAP_OK)
        return 0;
    if (section[0] == '\0') {
        st->status = lyap_fail(LYAP_EDECK, "%s:%d: %s: key outside any section; put it under %s", st->name, st->line,
                               name, st->train ? "[train] or [output]" : "[grid], [sampling] or [output]");
        return 0;
    }
    for (int i = 0; i < NKEYS; i++) {
        if (strcmp(section, deck_keys[i].section) != 0 || strcmp(name, deck_keys[i].name) != 0)
            continue;
        char where[512];
        snprintf(where, sizeof where, "%s:%d: [%s] %s", st->name, st->line, section, name);
        if (!key_applies(i, st->train)) { /* only a training deck gets here: run decks have no [train] */
            int twin = -1;
            for (int k = 0; k < NKEYS; k++)
                if (strcmp(deck_keys[k].section, "train") == 0 && strcmp(deck_keys[k].name, name) == 0)
                    twin = k;
            if (twin >= 0)
                st->status = lyap_fail(LYAP_EDECK, "%s: not a key of a training deck (it has [train]); write it as "
                                       "[train] %s", where, name);
            else
                st->status = lyap_fail(LYAP_EDECK, "%s: not a key of a training deck (it has [train]); remove it, "
                                       "or run a phase diagram from another deck with `lyapdiag run`", where);
            return 0;
        }
        if (st->seen_line[i]) {
            st->status = lyap_fail(LYAP_EDECK, "%s: given twice (first at line %d); keep one",
                                   where, st->seen_line[i]);
            return 0;
        }
        st->seen_line[i] = st->line;
        char *value = strdup(raw_value);
        if (!value) {
            st->status = lyap_fail(LYAP_ENOMEM, "%s: out of memory", where);
            return 0;
        }
        st->status = deck_keys[i].parse(st->deck, trim(value), where);
        if (st->status == LYAP_OK)
            st->status = set_canonical(st, i, trim(value), where);
        free(value);
        return st->status == LYAP_OK;
    }
    st->status = unknown_key(st, section, name);
    return 0;
}

static int apply_defaults(struct parse_state *st)
{
    for (int i = 0; i < NKEYS; i++) {
        if (st->seen_line[i] || !key_applies(i, st->train))
            continue;
        char where[512];
        snprintf(where, sizeof where, "%s: [%s] %s", st->name, deck_keys[i].section, deck_keys[i].name);
        if (st->train && deck_keys[i].parse == parse_output_file) { /* a training deck's own default */
            LYAP_CALL(parse_output_file(st->deck, "train.nc", where));
            LYAP_CALL(set_canonical(st, i, "train.nc", where));
            continue;
        }
        if (!deck_keys[i].default_value)
            return lyap_fail(LYAP_EDECK, "%s: missing; add it to [%s] (%s%s%s)", where, deck_keys[i].section,
                             deck_keys[i].meaning, deck_keys[i].choices ? " " : "",
                             deck_keys[i].choices ? deck_keys[i].choices() : "");
        LYAP_CALL(deck_keys[i].parse(st->deck, deck_keys[i].default_value, where));
        LYAP_CALL(set_canonical(st, i, deck_keys[i].default_value, where));
    }
    return LYAP_OK;
}

/* Joins the canonical values of ST, one "[section] key = value" line per
 * key in table order, into DECK->canonical. */
static int join_canonical(struct parse_state *st, lyap_deck *deck)
{
    size_t len = 1;
    for (int i = 0; i < NKEYS; i++)
        if (key_applies(i, st->train))
            len += strlen(deck_keys[i].section) + strlen(deck_keys[i].name) + strlen(st->canonical[i]) + 8;
    LYAP_CALL(lyap_alloc(&deck->canonical, len, 1, "canonical deck"));
    for (int i = 0, n = 0; i < NKEYS; i++)
        if (key_applies(i, st->train))
            n += sprintf(deck->canonical + n, "[%s] %s = %s\n", deck_keys[i].section, deck_keys[i].name,
                     st->canonical[i]);
    return LYAP_OK;
}

static int parse_deck(const char *text, const char *name, int train, lyap_deck *deck);
static int names_train(const char *section, int train);
static int section_line(const char *text, int (*wanted)(const char *section, int train), int train, char *section,
                        size_t size);
static int misspells_train(const char *section, int train);
static int unknown_here(const char *section, int train);

int lyap_deck_parse(const char *text, const char *name, lyap_deck *deck)
{
    return parse_deck(text, name, 0, deck);
}

/* The line of [train] NAME in ST, or 0 where the deck did not give it. */
static int train_key_line(const struct parse_state *st, const char *name)
{
    for (int i = 0; i < NKEYS; i++)
        if (strcmp(deck_keys[i].section, "train") == 0 && strcmp(deck_keys[i].name, name) == 0)
            return st->seen_line[i];
    return 0;
}

/* A [train] key of one task given with the other task: refused, naming
 * both keys (a score deck's coefficients would be silently unused). */
static int train_keys_apply(const struct parse_state *st)
{
    static const struct {
        const char *key;
        lyap_train_problem task;
    } only[] = {{"coefficients", LYAP_TRAIN_POLYNOMIAL}, {"noise", LYAP_TRAIN_POLYNOMIAL},
                {"score_sigma", LYAP_TRAIN_SCORE}};
    lyap_train_problem task = st->deck->train->setup.problem;
    const char *names[2] = {"polynomial", "score"};
    int task_line = train_key_line(st, "task");
    for (size_t i = 0; i < sizeof only / sizeof *only; i++) {
        int line = train_key_line(st, only[i].key);
        if (!line || only[i].task == task)
            continue;
        char where[32] = "the default";
        if (task_line)
            snprintf(where, sizeof where, "line %d", task_line);
        return lyap_fail(LYAP_EDECK, "%s:%d: [train] %s: applies to task = %s only, but [train] task = %s (%s); "
                         "remove %s, or set task = %s", st->name, line, only[i].key, names[only[i].task],
                         names[task], where, only[i].key, names[only[i].task]);
    }
    return LYAP_OK;
}

static int parse_deck(const char *text, const char *name, int train, lyap_deck *deck)
{
    struct parse_state st = {.deck = deck, .name = name, .cursor = text, .status = LYAP_OK, .train = train};
    memset(deck, 0, sizeof *deck);
    char section[64]; /* the name of the header section_line found */
    int train_line = section_line(text, names_train, train, section, sizeof section);
    if (train_line && !train)
        return lyap_fail(LYAP_EDECK, "%s:%d: [train]: a training deck; run it with `lyapdiag train %s` (a phase "
                         "diagram deck has [grid], [sampling], [output])", name, train_line, name);
    int misspelled_line = train && !train_line ? section_line(text, misspells_train, train, section,
                                                              sizeof section) : 0;
    if (misspelled_line)
        return unknown_section(name, misspelled_line, section, train);
    if (!train_line && train)
        return lyap_fail(LYAP_EDECK, "%s: no [train] section: not a training deck; add [train] (see `lyapdiag train "
                         "--help-deck`), or run a phase diagram deck with `lyapdiag run %s`", name, name);
    if (train && lyap_train_deck_new(deck) != LYAP_OK)
        return LYAP_ENOMEM;
    int rc = ini_parse_stream(read_line, &st, on_key, &st);
    if (st.status == LYAP_OK && st.line_too_long)
        st.status = lyap_fail(LYAP_EDECK, "%s:%d: line longer than %d characters; shorten it (use "
                              "start:stop:count ranges for long lists)", name, st.line, INI_MAX_LINE - 2);
    else if (st.status == LYAP_OK && rc > 0)
        st.status = lyap_fail(LYAP_EDECK, "%s:%d: syntax error; expected '[section]', 'key = value' or "
                              "a comment starting with ';' or '#'", name, rc);
    else if (st.status == LYAP_OK && rc != 0)
        st.status = lyap_fail(LYAP_ENOMEM, "%s: out of memory while parsing", name);
    int empty_line = st.status == LYAP_OK ? section_line(text, unknown_here, train, section, sizeof section) : 0;
    if (empty_line) /* a section with keys was refused key by key above; this one has none */
        st.status = unknown_section(name, empty_line, section, train);
    if (st.status == LYAP_OK)
        st.status = apply_defaults(&st);
    if (st.status == LYAP_OK && train)
        st.status = train_keys_apply(&st);
    if (st.status == LYAP_OK && train)
        st.status = lyap_train_deck_check(deck, name); /* the run deck's checks below find no run keys */
    for (int i = 0; st.status == LYAP_OK && i < deck->nfamilies; i++)
        for (int w = 0; st.status == LYAP_OK && lyap_family_info_of(deck->families[i])->looks_linear &&
                        w < deck->nwidths; w++)
            if (deck->widths[w] % 2 != 0)
                st.status = lyap_fail(LYAP_EDECK, "%s: [grid] widths: %s weights W = [[A, -A], [-A, A]] need even "
                                      "widths; %d is odd: use even widths, or put odd ones in another deck",
                                      name, lyap_family_name(deck->families[i]), deck->widths[w]);
    for (int i = 0; st.status == LYAP_OK && i < deck->nfamilies; i++)
        deck->methods[i] = lyap_method_resolve(deck->method, deck->families[i]);
    for (int i = 0; st.status == LYAP_OK && deck->method == LYAP_METHOD_EXACT && i < deck->nfamilies; i++)
        if (!lyap_family_info_of(deck->families[i])->exact_law)
            st.status = lyap_fail(LYAP_EDECK, "%s: [sampling] method = exact: family %s has no exact law; "
                                  "use method = auto (exact where possible) or matrix", name,
                                  lyap_family_name(deck->families[i]));
    for (int i = 0; st.status == LYAP_OK && deck->precision == LYAP_PRECISION_SINGLE && i < deck->nfamilies; i++)
        if (!lyap_family_info_of(deck->families[i])->single_precision && deck->methods[i] == LYAP_METHOD_MATRIX)
            st.status = lyap_fail(LYAP_EDECK, "%s: [sampling] precision = single: the matrix path of family %s "
                                  "runs in double only; use precision = double, or method = auto for orthogonal "
                                  "(exact path)", name, lyap_family_name(deck->families[i]));
    if (st.status == LYAP_OK && !train && deck->spectrum > deck->widths[deck->nwidths - 1])
        st.status = lyap_fail(LYAP_EDECK, "%s: [sampling] spectrum = %d exceeds the largest width %d; use "
                              "K <= %d, or spectrum = all", name, deck->spectrum, deck->widths[deck->nwidths - 1],
                              deck->widths[deck->nwidths - 1]);
    if (st.status == LYAP_OK && (double)deck->nvariances * deck->nbias_variances * deck->ndepths > 1e8)
        st.status = lyap_fail(LYAP_EDECK, "%s: [grid] variances x bias_variances x depths = %d x %d x %d values "
                              "per task, more than 1e8; use fewer variances, bias variances or recorded depths",
                              name, deck->nvariances, deck->nbias_variances, deck->ndepths);
    if (st.status == LYAP_OK && lyap_deck_task_count(deck) > MAX_TASKS)
        st.status = lyap_fail(LYAP_EDECK, "%s: [grid] has %ld (family, width, slope) tasks, more than %ld; "
                              "split the deck", name, lyap_deck_task_count(deck), MAX_TASKS);
    if (st.status == LYAP_OK)
        st.status = join_canonical(&st, deck);
    for (int i = 0; i < NKEYS; i++)
        free(st.canonical[i]);
    if (st.status == LYAP_OK) {
        deck->name = strdup(name);
        deck->text = strdup(text);
        if (!deck->name || !deck->text)
            st.status = lyap_fail(LYAP_ENOMEM, "%s: out of memory", name);
    }
    if (st.status != LYAP_OK)
        lyap_deck_free(deck);
    return st.status;
}

int lyap_deck_read_file(const char *path, char **text)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return lyap_fail(LYAP_EIO, "%s: cannot open deck: %s; check the path", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len - 1, f);
        if (ferror(f) || feof(f) || len + 1 < cap)
            break;
        char *grown = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
        if (!grown) {
            fclose(f);
            free(buf);
            return lyap_fail(LYAP_EIO, "%s: deck larger than 64 MiB or out of memory", path);
        }
        buf = grown;
        cap *= 2;
    }
    int failed = !buf || ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return lyap_fail(LYAP_EIO, "%s: cannot read deck", path);
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        free(buf);
        return lyap_fail(LYAP_EDECK, "%s: contains a NUL byte; a deck is a text file", path);
    }
    *text = buf;
    return LYAP_OK;
}

void lyap_deck_free(lyap_deck *deck)
{
    free(deck->widths);
    free(deck->slopes);
    free(deck->variances);
    free(deck->bias_variances);
    free(deck->depths);
    free(deck->output);
    free(deck->name);
    free(deck->text);
    free(deck->canonical);
    lyap_train_deck_free(deck);
    memset(deck, 0, sizeof *deck);
}

const char *lyap_deck_first_difference(const lyap_deck *a, const lyap_deck *b)
{
    static char key[128];
    const char *line_a = a->canonical, *line_b = b->canonical;
    if (!a->train != !b->train)
        return "[train]"; /* a training deck against a run deck */
    for (int i = 0; i < NKEYS; i++) {
        if (!key_applies(i, a->train != NULL))
            continue;
        size_t len_a = strcspn(line_a, "\n"), len_b = strcspn(line_b, "\n");
        if (deck_keys[i].resume == RESUME_MUST_MATCH && (len_a != len_b || memcmp(line_a, line_b, len_a) != 0)) {
            snprintf(key, sizeof key, "[%s] %s", deck_keys[i].section, deck_keys[i].name);
            return key;
        }
        line_a += len_a + 1;
        line_b += len_b + 1;
    }
    return NULL;
}

int lyap_deck_spectrum_count(const lyap_deck *deck, int d)
{
    if (deck->spectrum == LYAP_SPECTRUM_ALL || deck->spectrum > d)
        return d;
    return deck->spectrum;
}

int lyap_deck_spectrum_axis(const lyap_deck *deck)
{
    return lyap_deck_spectrum_count(deck, deck->widths[deck->nwidths - 1]);
}

int lyap_deck_has_biases(const lyap_deck *deck)
{
    return deck->bias_variances[deck->nbias_variances - 1] > 0; /* the list increases */
}

long lyap_deck_task_count(const lyap_deck *deck)
{
    return (long)deck->nfamilies * deck->nwidths * deck->nslopes;
}

static void print_reference(FILE *out, int train)
{
    const char *section = "";
    int printed = 0;
    for (int i = 0; i < NKEYS; i++) {
        if (!key_applies(i, train))
            continue;
        if (strcmp(section, deck_keys[i].section) != 0) {
            section = deck_keys[i].section;
            fprintf(out, "%s[%s]\n", printed ? "\n" : "", section);
        }
        printed = 1;
        const char *def = train && deck_keys[i].parse == parse_output_file ? "train.nc" : deck_keys[i].default_value;
        fprintf(out, "  %-19s %s%s%s\n  %-19s default: %s\n", deck_keys[i].name, deck_keys[i].meaning,
                deck_keys[i].choices ? " " : "", deck_keys[i].choices ? deck_keys[i].choices() : "", "",
                def ? def : "(required)");
    }
}

/* The run deck's keys ([grid], [sampling], [output]): `lyapdiag --help-deck`. */
void lyap_deck_print_reference(FILE *out)
{
    print_reference(out, 0);
}

int lyap_deck_key_count(void)
{
    return NKEYS;
}

void lyap_deck_key(int i, const char **section, const char **name, const char **example, int *may_change_on_resume)
{
    *section = deck_keys[i].section;
    *name = deck_keys[i].name;
    *example = deck_keys[i].example;
    *may_change_on_resume = deck_keys[i].resume == RESUME_MAY_CHANGE;
}

/* ---- shared with the training deck (traindeck.c) ----------------------------- */

/* A training deck's keys ([train], [output]): `lyapdiag train --help-deck`. */
void lyap_deck_print_train_reference(FILE *out)
{
    print_reference(out, 1);
}

int lyap_deck_parse_train(const char *text, const char *name, lyap_deck *deck)
{
    return parse_deck(text, name, 1, deck);
}

/* Whether [SECTION] is [train]: a training deck's mark. */
static int names_train(const char *section, int train)
{
    (void)train;
    return strcmp(section, "train") == 0;
}

/* Whether [SECTION] holds keys of this deck (TRAIN: a training deck). */
static int section_known(const char *section, int train)
{
    for (int i = 0; i < NKEYS; i++)
        if (key_applies(i, train) && strcmp(section, deck_keys[i].section) == 0)
            return 1;
    return 0;
}

/* Whether [SECTION] is a misspelling of [train]: no section of either deck,
 * and nearest to [train]. */
static int misspells_train(const char *section, int train)
{
    (void)train;
    const char *near = nearest_section(section);
    return near && strcmp(near, "train") == 0 && strcmp(section, "train") != 0;
}

static int unknown_here(const char *section, int train)
{
    return !section_known(section, train);
}

/* The line of TEXT's first section header whose name (in SECTION) meets
 * WANTED, or 0. A section without keys never reaches the INI parser's
 * handler, so an empty misspelled one is found here. */
static int section_line(const char *text, int (*wanted)(const char *section, int train), int train, char *section,
                        size_t size)
{
    int line = 1;
    for (const char *p = text; *p; line++) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *end = *p == '[' ? strchr(p, ']') : NULL, *eol = strchr(p, '\n');
        if (end && (!eol || end < eol)) {
            const char *a = p + 1, *b = end;
            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            snprintf(section, size, "%.*s", (int)(b - a), a);
            if (wanted(section, train))
                return line;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    return 0;
}

int lyap_deck_number_(const char *token, double *out)
{
    return parse_number(token, out);
}

int lyap_deck_axis_(const char *where, const char *value, int integer, double lo, int lo_open, double hi,
                    const char *range_text, double **out, int *nout)
{
    return parse_axis(where, value, integer, lo, lo_open, hi, range_text, out, nout);
}

int lyap_deck_int_axis_(const char *where, const char *value, double lo, double hi, const char *range_text,
                        int **out, int *nout)
{
    return parse_int_axis(where, value, lo, hi, range_text, out, nout);
}

int lyap_deck_count_(const char *where, const char *value, long lo, long hi, int *out)
{
    return parse_count(where, value, lo, hi, out);
}
