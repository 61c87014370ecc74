/* Every class of bad deck is rejected with a one-line message that names
 * file:line, the key and the fix; a good deck parses to the right values. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lyapdiag/deck.h"
#include "lyapdiag/error.h"

#define GRID_OK "[grid]\nwidths = 2, 4\nslopes = 0.1\nvariances = 1, 2\ndepths = 10, 100\n"

static const struct {
    const char *deck;
    const char *expected; /* substring of the message */
} bad_decks[] = {
    {"[grid]\nwidths = 2\nslopes = 1.5\nvariances = 1\ndepths = 100\n", "deck.ini:3: [grid] slopes: 1.5 is out of range"},
    {"[grid]\nwidths = 2\nslopes = -0.1\nvariances = 1\ndepths = 100\n", "slopes: -0.1 is out of range"},
    {"[grid]\nwidths = 0, 4\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "deck.ini:2: [grid] widths: 0 is out of range"},
    {"[grid]\nwidths = 2.5\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "'2.5' must be a whole number"},
    {"[grid]\nwidths = 2:9:3\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "not a whole number; choose count"},
    {"[grid]\nwidths = 4, 2\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "in increasing order"},
    {"[grid]\nwidths = 2, 2\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "list each value once"},
    {"[grid]\nwidth = 2\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "deck.ini:2: [grid] width: unknown key; did you mean 'widths'"},
    {"[grid]\nwidths = 2\nslopes = 0.1\nvariances = 0\ndepths = 100\n", "variances: 0 is out of range; allowed: s2 > 0"},
    {"[grid]\nwidths = 2\nslopes = 0.1\nvariances = 1\ndepths = 5\n", "the largest depth is 5; it must be at least 10"},
    {"[grid]\nwidths = 2\nslopes = 0.1, abc\nvariances = 1\ndepths = 100\n", "'abc' is not a number"},
    {"[grid]\nwidths = 2 # two\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "inline comments start with ';'"},
    {"[grid]\nwidths = 2,\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "empty list item"},
    {"[grid]\nwidths = 2\nwidths = 4\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "deck.ini:3: [grid] widths: given twice (first at line 2)"},
    {"[grid]\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "[grid] widths: missing"},
    {"[grid]\nfamilies = gauss\n" "widths = 2\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "unknown family 'gauss'; choose from gaussian"},
    {"[grid]\nfamilies = gaussian, gaussian\n" "widths = 2\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "listed twice"},
    {GRID_OK "[sample]\nseed = 1\n", "deck.ini:7: [sample]: unknown section; did you mean [sampling]?"},
    {GRID_OK "[physics]\nseed = 1\n", "[physics]: unknown section; sections are [grid], [sampling], [output]"},
    {GRID_OK "[outptu]\n; file = x.nc\n", "deck.ini:6: [outptu]: unknown section; did you mean [output]?"},
    {GRID_OK "[sampling]\nreplicas = 1\n", "deck.ini:7: [sampling] replicas: '1' must be a whole number from 2"},
    {GRID_OK "[sampling]\nbatch = 0\n", "[sampling] batch: '0' must be a whole number from 1"},
    {GRID_OK "[sampling]\nseed = -3\n", "[sampling] seed: '-3' must be a whole number"},
    {GRID_OK "[sampling]\ntarget_stderr = -0.01\n", "[sampling] target_stderr: '-0.01' must be a number >= 0"},
    {GRID_OK "[sampling]\nverify_homogeneity = maybe\n", "must be yes or no"},
    {GRID_OK "[sampling]\nreplicas = 32 # comment\n", "inline comments start with ';'"},
    {GRID_OK "[sampling]\nmethod = fast\n", "[sampling] method: 'fast' must be auto, exact or matrix"},
    {"[grid]\nfamilies = gaussian, uniform\n" "widths = 2\nslopes = 0.1\nvariances = 1\ndepths = 100\n"
     "[sampling]\nmethod = exact\n", "family uniform has no exact law; use method = auto"},
    {GRID_OK "[output]\ncheckpoint_seconds = -1\n", "[output] checkpoint_seconds: '-1' must be a number of seconds"},
    {GRID_OK "[output]\nfile =\n", "[output] file: empty file name"},
    {"widths = 2\n" GRID_OK, "deck.ini:1: widths: key outside any section"},
    {GRID_OK "this line has no equals sign\n", "deck.ini:6: syntax error"},
    {"[grid]\nwidths = log:0:10:3\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "needs positive start and stop"},
    {"[grid]\nwidths = 2, , 4\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "empty list item"},
    {"[grid]\nwidths = 2::4\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "is not a number"},
    {"[grid]\nfamilies = gaussian,\nwidths = 2\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "unknown family ''"},
    {"[grid]\nwidths = 2:4\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "a range is start:stop:count"},
    {GRID_OK "[sampling]\nspectrum = some\n", "[sampling] spectrum: 'some' must be 0 (off), a number of exponents"},
    {GRID_OK "[sampling]\nspectrum = -1\n", "[sampling] spectrum: '-1' must be 0 (off)"},
    {GRID_OK "[sampling]\nspectrum = 5\n", "spectrum = 5 exceeds the largest width 4; use K <= 4, or spectrum = all"},
    {GRID_OK "[sampling]\neps = 1\n", "[sampling] eps: '1' must be a number between 0 and 1"},
    {GRID_OK "[sampling]\neps = 0\n", "[sampling] eps: '0' must be a number between 0 and 1"},
    {GRID_OK "bias_variances = -0.1\n", "deck.ini:6: [grid] bias_variances: -0.1 is out of range; allowed: sb2 >= 0"},
    {GRID_OK "bias_variances = 0.1, 0\n", "[grid] bias_variances: 0 after 0.1: list each value once, in increasing"},
    {GRID_OK "bias_variances = small\n", "[grid] bias_variances: 'small' is not a number"},
    {GRID_OK "[sampling]\ninput_m0 = 0\n", "deck.ini:7: [sampling] input_m0: '0' must be a number > 0"},
    {GRID_OK "[sampling]\ninput_m0 = -1\n", "[sampling] input_m0: '-1' must be a number > 0"},
    {GRID_OK "[sampling]\ninput_cosine = 1.5\n", "[sampling] input_cosine: '1.5' must be off or a cosine from -1 to 1"},
    {GRID_OK "[sampling]\ninput_cosine = on\n", "[sampling] input_cosine: 'on' must be off or a cosine"},
    /* The two common slips get the fix spelled out: blanks for commas, a dash for a range. */
    {"[grid]\nwidths = 2\nslopes = 0 0.01 0.1\nvariances = 1\ndepths = 100\n",
     "deck.ini:3: [grid] slopes: '0 0.01 0.1' is not a number; lists are comma-separated: write slopes = 0, 0.01, 0.1"},
    {"[grid]\nwidths = 2 4, 8\nslopes = 0.1\nvariances = 1\ndepths = 100\n",
     "[grid] widths: '2 4' is not a number; lists are comma-separated: write widths = 2, 4, 8"},
    {"[grid]\nfamilies = gaussian orthogonal\nwidths = 2\nslopes = 0.1\nvariances = 1\ndepths = 100\n",
     "[grid] families: unknown family 'gaussian orthogonal'; lists are comma-separated: write families = gaussian, orthogonal"},
    {"[grid]\nwidths = 2\nslopes = 0.1\nvariances = 0.5-4\ndepths = 100\n",
     "deck.ini:4: [grid] variances: '0.5-4' is not a number; a range is start:stop:count (count points, both ends "
     "included) or log:start:stop:count (geometric): write e.g. variances = 0.5:4:8"},
    {"[grid]\nwidths = 2\nslopes = 0.1\nvariances = 0.5 .. 4\ndepths = 100\n",
     "variances: '0.5 .. 4' is not a number; a range is start:stop:count"},
    {"[grid]\nwidths = 2-16\nslopes = 0.1\nvariances = 1\ndepths = 100\n",
     "[grid] widths: '2-16' is not a number; a range is start:stop:count (count points, both ends included) or "
     "log:start:stop:count (geometric): write e.g. widths = 2:16:8"},
    {"[grid]\nwidths = 1e4.5\nslopes = 0.1\nvariances = 1\ndepths = 100\n", "[grid] widths: '1e4.5' is not a number; write e.g. 8 or 1e3"},
    {"[grid]\nwidths = 2\nslopes = 0.1\nvariances = 1\ndepths = 1.055e2\n", "[grid] depths: '1.055e2' must be a whole number"},
    /* Whole-number keys take exponent forms only when the value is whole and in range. */
    {GRID_OK "[sampling]\nreplicas = 1e4.5\n",
     "[sampling] replicas: '1e4.5' must be a whole number from 2 to 1000000000 (exponent forms are fine when whole: 1e4, 1.5e3)"},
    {GRID_OK "[sampling]\nreplicas = 1.5\n", "[sampling] replicas: '1.5' must be a whole number from 2 to 1000000000"},
    {GRID_OK "[sampling]\nreplicas = 2e9\n", "[sampling] replicas: '2e9' must be a whole number from 2 to 1000000000"},
    {GRID_OK "[sampling]\nreplicas = 1e-4\n", "[sampling] replicas: '1e-4' must be a whole number"},
    {GRID_OK "[sampling]\nreplicas = -1e3\n", "[sampling] replicas: '-1e3' must be a whole number"},
    {GRID_OK "[sampling]\nreplicas = 1e99999999999\n", "[sampling] replicas: '1e99999999999' must be a whole number"},
    {GRID_OK "[sampling]\nbatch = 1.5e5\n", "[sampling] batch: '1.5e5' must be a whole number from 1 to 65536"},
    {GRID_OK "[sampling]\nseed = 2e19\n", "[sampling] seed: '2e19' must be a whole number from 0 to 2^64-1"},
    {GRID_OK "[sampling]\nseed = 1.5\n", "[sampling] seed: '1.5' must be a whole number"},
    {GRID_OK "[sampling]\nseed = e5\n", "[sampling] seed: 'e5' must be a whole number"},
    {GRID_OK "[sampling]\nseed = 1e\n", "[sampling] seed: '1e' must be a whole number"},
    {"[grid]\nwidths = 2\nslopes = 0.1\nvariances = 1:2:1000\nbias_variances = 0:1:1001\ndepths = 10:1000:100\n",
     "[grid] variances x bias_variances x depths = 1000 x 1001 x 100 values per task, more than 1e8"},
};

static void test_bad_decks(void)
{
    for (size_t i = 0; i < sizeof bad_decks / sizeof bad_decks[0]; i++) {
        lyap_deck deck;
        int status = lyap_deck_parse(bad_decks[i].deck, "deck.ini", &deck);
        const char *msg = lyap_error_message();
        check(status == LYAP_EDECK && strstr(msg, bad_decks[i].expected) && !strchr(msg, '\n'),
              "bad deck %zu rejected: status %d, message '%s', expected '%s'", i, status, msg,
              bad_decks[i].expected);
    }
}

static void test_good_deck(void)
{
    const char *text = "; quick deck\n[grid]\nfamilies = gaussian, orthogonal ; list\n"
                       "widths = 2, 4:16:4 ; mixed\nslopes = 0.01, 0.1, 0.5\nvariances = 1.0:4.0:31\n"
                       "depths = log:10:1000:3\n[sampling]\nseed = 18446744073709551615\nreplicas = 8\n"
                       "[output]\nfile = out.nc\n";
    lyap_deck deck;
    int status = lyap_deck_parse(text, "good.ini", &deck);
    check(status == LYAP_OK, "good deck parses: status %d (%s)", status, status ? lyap_error_message() : "ok");
    if (status != LYAP_OK)
        return;
    check(deck.nfamilies == 2 && deck.families[1] == LYAP_FAMILY_ORTHOGONAL, "families: %d", deck.nfamilies);
    check(deck.nwidths == 5 && deck.widths[0] == 2 && deck.widths[1] == 4 && deck.widths[2] == 8 &&
              deck.widths[4] == 16, "widths 2, 4:16:4 -> 2 4 8 12 16 (n = %d)", deck.nwidths);
    int decimal = deck.nvariances == 31;
    for (int i = 0; decimal && i < 31; i++) /* the decimals meant, each the nearest double: selectable by value */
        decimal = deck.variances[i] == (10 + i) / 10.0; /* one rounding: the double nearest (10 + i)/10 */
    check(deck.nvariances == 31 && decimal, "variances 1:4:31 are the doubles nearest 1.0, 1.1, ..., 4.0 "
          "(n = %d, [11] = %.17g)", deck.nvariances, deck.nvariances > 11 ? deck.variances[11] : 0.0);
    check(deck.ndepths == 3 && deck.depths[1] == 100 && deck.depths[2] == 1000, "log depths 10, 100, 1000");
    check(deck.seed == 18446744073709551615ULL && deck.replicas == 8 && deck.batch == 16,
          "seed max, replicas 8, batch default 16");
    check(strcmp(deck.output, "out.nc") == 0 && strcmp(deck.text, text) == 0, "output and verbatim text kept");
    check(lyap_deck_task_count(&deck) == 30, "2 x 5 x 3 = 30 tasks (%ld)", lyap_deck_task_count(&deck));
    check(deck.spectrum == 0 && lyap_deck_spectrum_axis(&deck) == 0 && deck.eps == 1e-3,
          "spectrum off and eps 1e-3 by default");
    check(deck.nbias_variances == 1 && deck.bias_variances[0] == 0 && !lyap_deck_has_biases(&deck) &&
              deck.input_m0 == 1 && !deck.input_cosine_on,
          "no biases, input_m0 = 1 and input_cosine off by default");
    lyap_deck_free(&deck);
}

/* Bias variances are an axis like the variances (0 allowed); input_m0
 * and input_cosine take their values; -1 and 1 are valid cosines. */
static void test_bias_keys(void)
{
    lyap_deck deck;
    if (lyap_deck_parse(GRID_OK "bias_variances = 0, 0.01:0.05:5\n[sampling]\ninput_m0 = 2.5\ninput_cosine = -1\n",
                        "b.ini", &deck) != LYAP_OK) {
        check(0, "deck with biases parses: %s", lyap_error_message());
        return;
    }
    check(deck.nbias_variances == 6 && deck.bias_variances[0] == 0 && deck.bias_variances[5] == 0.05 &&
              fabs(deck.bias_variances[2] - 0.02) < 1e-15 && lyap_deck_has_biases(&deck),
          "bias_variances 0, 0.01:0.05:5 -> 6 points, has biases (n = %d)", deck.nbias_variances);
    check(deck.input_m0 == 2.5 && deck.input_cosine_on && deck.input_cosine == -1, "input_m0 2.5, input_cosine -1");
    lyap_deck_free(&deck);
    if (lyap_deck_parse(GRID_OK "bias_variances = 0\n[sampling]\ninput_cosine = 1\n", "z.ini", &deck) != LYAP_OK) {
        check(0, "bias_variances = 0 parses: %s", lyap_error_message());
        return;
    }
    check(!lyap_deck_has_biases(&deck) && deck.input_cosine_on && deck.input_cosine == 1,
          "bias_variances = 0: no biases; input_cosine = 1 is on");
    lyap_deck_free(&deck);
}

/* A whole number written in exponent form is that number in every
 * whole-number key (replicas = 1e4 is 10000; 1.5e3 is 1500), exactly
 * (the seed's 64 bits too), and resume sees the two spellings as one. */
static void test_exponent_forms(void)
{
    const char *text = "[grid]\nwidths = 2, 1.6e1\nslopes = 0.1\nvariances = 1\ndepths = 1e1, 1E2\n"
                       "[sampling]\nreplicas = 1e4\nbatch = 1.5e3\nseed = 1.8446744073709551615e19\nspectrum = 2.0e0\n";
    lyap_deck a, b;
    if (lyap_deck_parse(text, "e.ini", &a) != LYAP_OK) {
        check(0, "exponent forms parse: %s", lyap_error_message());
        return;
    }
    check(a.replicas == 10000 && a.batch == 1500 && a.seed == 18446744073709551615ULL && a.spectrum == 2 &&
              a.nwidths == 2 && a.widths[1] == 16 && a.ndepths == 2 && a.depths[0] == 10 && a.depths[1] == 100,
          "replicas = 1e4 -> %d, batch = 1.5e3 -> %d, seed 1.8446744073709551615e19 -> %llu, spectrum 2.0e0 -> %d, "
          "widths 2, 1.6e1, depths 1e1, 1E2",
          a.replicas, a.batch, (unsigned long long)a.seed, a.spectrum);
    if (lyap_deck_parse("[grid]\nwidths = 2, 16\nslopes = 0.1\nvariances = 1\ndepths = 10, 100\n"
                        "[sampling]\nreplicas = 10000\nbatch = 1500\nseed = 18446744073709551615\nspectrum = 2\n",
                        "plain.ini", &b) != LYAP_OK) {
        check(0, "plain spelling parses: %s", lyap_error_message());
        lyap_deck_free(&a);
        return;
    }
    const char *diff = lyap_deck_first_difference(&a, &b);
    check(diff == NULL, "resume: 1e4 and 10000 (and the others) are the same values (first difference %s)",
          diff ? diff : "none");
    lyap_deck_free(&a);
    lyap_deck_free(&b);
}

/* spectrum = K computes min(K, d) exponents per width; all = d. */
static void test_spectrum_counts(void)
{
    lyap_deck deck;
    if (lyap_deck_parse(GRID_OK "[sampling]\nspectrum = 3\neps = 0.01\n", "k.ini", &deck) != LYAP_OK) {
        check(0, "spectrum = 3 parses: %s", lyap_error_message());
        return;
    }
    check(lyap_deck_spectrum_count(&deck, 2) == 2 && lyap_deck_spectrum_count(&deck, 4) == 3 &&
          lyap_deck_spectrum_axis(&deck) == 3 && deck.eps == 0.01, "spectrum = 3: 2 at d = 2, 3 at d = 4, axis 3");
    lyap_deck_free(&deck);
    if (lyap_deck_parse(GRID_OK "[sampling]\nspectrum = all\n", "all.ini", &deck) != LYAP_OK) {
        check(0, "spectrum = all parses: %s", lyap_error_message());
        return;
    }
    check(lyap_deck_spectrum_count(&deck, 2) == 2 && lyap_deck_spectrum_axis(&deck) == 4,
          "spectrum = all: d exponents, axis = largest width");
    lyap_deck_free(&deck);
}

int main(void)
{
    test_bad_decks();
    test_good_deck();
    test_spectrum_counts();
    test_bias_keys();
    test_exponent_forms();
    return check_status();
}
