// test_arc_grid.c: ARC grids: JSON, the dihedral transforms against hand-written numpy
// results, colour maps and their inverse, the name format, the canvas and the crop,
// and the grid hash against Python's hashlib.
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "tasks/arc_grid.h"
#include "test.h"

static ArcGrid grid_of(int h, int w, const int *cells) {
    ArcGrid g;
    memset(&g, 0, sizeof g);
    g.h = h;
    g.w = w;
    for (int i = 0; i < h * w; i++) g.c[i] = (uint8_t)cells[i];
    return g;
}

// The 2 x 3 grid [[1,2,3],[4,5,6]] under each transform, worked out from numpy's
// definitions: rot90 turns counter-clockwise, so the last column becomes the first row.
static void test_dihedral_known(void) {
    const int in[6] = {1, 2, 3, 4, 5, 6};
    const int want[8][6] = {
        {1, 2, 3, 4, 5, 6},     // identity
        {3, 6, 2, 5, 1, 4},     // rot90 k=1: [[3,6],[2,5],[1,4]]
        {6, 5, 4, 3, 2, 1},     // rot90 k=2
        {4, 1, 5, 2, 6, 3},     // rot90 k=3: [[4,1],[5,2],[6,3]]
        {3, 2, 1, 6, 5, 4},     // fliplr
        {4, 5, 6, 1, 2, 3},     // flipud
        {1, 4, 2, 5, 3, 6},     // transpose
        {6, 3, 5, 2, 4, 1},     // fliplr(rot90): [[6,3],[5,2],[4,1]]
    };
    const int want_h[8] = {2, 3, 2, 3, 2, 2, 3, 3};
    ArcGrid g = grid_of(2, 3, in), out;
    for (int k = 0; k < 8; k++) {
        arc_dihedral(&g, k, &out);
        ArcGrid w = grid_of(want_h[k], 6 / want_h[k], want[k]);
        CHECK(arc_grid_equal(&out, &w), "dihedral %d of the 2x3 grid", k);
    }
}

static void random_grid(Rng *rng, int h, int w, ArcGrid *g) {
    g->h = h;
    g->w = w;
    for (int i = 0; i < h * w; i++) g->c[i] = (uint8_t)rng_below(rng, 10);
}

static void test_dihedral_inverse(void) {
    Rng rng;
    rng_seed(&rng, 7);
    ArcGrid g, t, back;
    random_grid(&rng, 5, 7, &g);
    for (int k = 0; k < 8; k++) {
        arc_dihedral(&g, k, &t);
        arc_dihedral(&t, ARC_DIHEDRAL_INVERSE[k], &back);
        CHECK(arc_grid_equal(&g, &back), "dihedral %d then its inverse %d is the identity", k,
              ARC_DIHEDRAL_INVERSE[k]);
    }
    // rot90 four times is the identity; an unknown id is the identity too.
    ArcGrid a = g, b;
    for (int i = 0; i < 4; i++) {
        arc_dihedral(&a, 1, &b);
        a = b;
    }
    CHECK(arc_grid_equal(&a, &g), "rot90 four times");
    arc_dihedral(&g, 9, &t);
    CHECK(arc_grid_equal(&t, &g), "unknown dihedral id is the identity");
}

// The builder maps colours, then transforms; arc_unaugment undoes both.
static void test_unaugment(void) {
    Rng rng;
    rng_seed(&rng, 11);
    const uint8_t map[10] = {0, 3, 9, 1, 7, 2, 8, 6, 4, 5};
    for (int k = 0; k < 8; k++) {
        ArcGrid g, aug, back;
        random_grid(&rng, 4, 6, &g);
        ArcGrid mapped = g;
        arc_map_colours(&mapped, map);
        arc_dihedral(&mapped, k, &aug);
        back = aug;
        arc_unaugment(&back, k, map);
        CHECK(arc_grid_equal(&back, &g), "unaugment t%d with a colour map", k);
    }
    // One cell by hand: colour 2 became map[2] = 9; back to 2.
    ArcGrid one = grid_of(1, 1, (const int[]){9});
    arc_unaugment(&one, 0, map);
    CHECK(one.c[0] == 2, "inverse colour of 9 is 2, got %d", one.c[0]);
    // A permutation that also moves 0 (parsed names may carry one).
    const uint8_t perm[10] = {5, 0, 1, 2, 3, 4, 9, 8, 7, 6};
    ArcGrid z = grid_of(1, 3, (const int[]){5, 0, 6});
    arc_unaugment(&z, 0, perm);
    ArcGrid zw = grid_of(1, 3, (const int[]){0, 1, 9});
    CHECK(arc_grid_equal(&z, &zw), "inverse of a map that moves 0");
}

static void test_names(void) {
    char task[64], out[128];
    int k = -1;
    uint8_t map[10];
    CHECK(arc_name_parse("007bbfb7", task, sizeof task, &k, map) == 0, "plain name");
    CHECK(strcmp(task, "007bbfb7") == 0 && k == 0 && map[0] == 0 && map[9] == 9, "plain name: identity");
    CHECK(arc_name_parse("007bbfb7|||t3|||0918273645", task, sizeof task, &k, map) == 0, "augmented name");
    const uint8_t want[10] = {0, 9, 1, 8, 2, 7, 3, 6, 4, 5};
    CHECK(strcmp(task, "007bbfb7") == 0 && k == 3 && memcmp(map, want, 10) == 0, "augmented name parts");
    CHECK(arc_name_parse("abc|||t7|||9876543210", task, sizeof task, &k, map) == 0 && k == 7 && map[0] == 9,
          "a map that moves 0 parses");
    arc_name_format(out, sizeof out, "007bbfb7", 3, want);
    CHECK(strcmp(out, "007bbfb7|||t3|||0918273645") == 0, "format: %s", out);

    const char *bad[] = {
        "abc|||t8|||0123456789",     // dihedral id out of range
        "abc|||t|||0123456789",      // no id
        "abc|||t12|||0123456789",    // two digits
        "abc|||x3|||0123456789",     // no 't'
        "abc|||t3||0123456789",      // wrong separator
        "abc||t3|||0123456789",      // wrong first separator (then "|||" is not followed by t<k>)
        "abc|||t3|||012345678",      // 9 digits
        "abc|||t3|||01234567890",    // 11 digits
        "abc|||t3|||0123456788",     // not a permutation
        "abc|||t3|||012345678a",     // not a digit
        "|||t3|||0123456789",        // no task
        "abc|||t3|||0123456789|||x", // extra part
        "abc|||t3",                  // no map
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(arc_name_parse(bad[i], task, sizeof task, &k, map) == -1, "bad name accepted: %s", bad[i]);
    CHECK(arc_name_parse("0123456789abcdef", task, 8, &k, map) == -1, "a task id longer than cap");
}

static void test_canvas(void) {
    enum { G = ARC_MAX };
    uint8_t seq[G * G];
    const int cells[6] = {1, 2, 3, 4, 5, 6};
    ArcGrid g = grid_of(2, 3, cells), back;

    arc_encode(&g, G, 0, 0, seq);
    CHECK(seq[0] == 3 && seq[2] == 5 && seq[G] == 6 && seq[G + 2] == 8, "colours as c + 2");
    CHECK(seq[3] == ARC_EOS && seq[G + 3] == ARC_EOS, "EOS column after the grid");
    CHECK(seq[2 * G] == ARC_EOS && seq[2 * G + 2] == ARC_EOS, "EOS row below the grid");
    CHECK(seq[2 * G + 3] == ARC_PAD, "the corner stays PAD");
    CHECK(seq[4] == ARC_PAD && seq[3 * G] == ARC_PAD, "PAD beyond the EOS");
    arc_crop(seq, G, &back);
    CHECK(arc_grid_equal(&back, &g), "crop of an encoding at (0, 0)");

    // At an offset: EOS still frames the grid; the crop (which reads from (0, 0)) sees PAD first.
    arc_encode(&g, G, 4, 5, seq);
    CHECK(seq[4 * G + 5] == 3 && seq[5 * G + 7] == 8, "cells at the offset");
    CHECK(seq[6 * G + 5] == ARC_EOS && seq[6 * G + 7] == ARC_EOS && seq[6 * G + 4] == ARC_PAD, "EOS row at offset");
    CHECK(seq[4 * G + 8] == ARC_EOS && seq[5 * G + 8] == ARC_EOS && seq[3 * G + 8] == ARC_PAD, "EOS col at offset");
    CHECK(seq[6 * G + 8] == ARC_PAD, "corner at offset");
    int eos = 0;
    for (int i = 0; i < G * G; i++) eos += seq[i] == ARC_EOS;
    CHECK(eos == 3 + 2, "EOS count at offset: %d", eos);
    arc_crop(seq, G, &back);
    CHECK(back.h == 0 && back.w == 0, "crop of an offset encoding is empty");

    // Against the right and bottom edges: no EOS row / column.
    arc_encode(&g, G, G - 2, G - 3, seq);
    eos = 0;
    for (int i = 0; i < G * G; i++) eos += seq[i] == ARC_EOS;
    CHECK(eos == 0, "no EOS at the canvas edge");

    // The full 30 x 30 grid: no EOS anywhere, and the crop returns it.
    Rng rng;
    rng_seed(&rng, 3);
    ArcGrid full;
    random_grid(&rng, G, G, &full);
    arc_encode(&full, G, 0, 0, seq);
    eos = 0;
    for (int i = 0; i < G * G; i++) eos += seq[i] < 2;
    CHECK(eos == 0, "a full grid has no EOS or PAD");
    arc_crop(seq, G, &back);
    CHECK(arc_grid_equal(&back, &full), "crop of the full grid");
}

// The crop's rule on hand-made canvases (a 4 x 4 canvas, tokens: colours 2..11).
static void test_crop_rule(void) {
    ArcGrid out;
    // Row widths 4, 2, 2, 0: areas 4, 4, 6 -> 3 x 2.
    const uint8_t a[16] = {2, 3, 4, 5,  6, 7, 1, 9,  8, 9, 10, 11,  0, 0, 0, 0};
    arc_crop(a, 4, &out);
    CHECK(out.h == 3 && out.w == 2 && out.c[0] == 0 && out.c[5] == 7, "crop 3x2: %dx%d", out.h, out.w);
    // Widths 3, 1, 1, 1: areas 3, 2, 3, 4 -> 4 x 1; the equal area at row 3 does not replace row 1.
    const uint8_t b[16] = {2, 2, 2, 1,  3, 0, 2, 2,  4, 1, 1, 1,  5, 5, 5, 5};
    arc_crop(b, 4, &out);
    CHECK(out.h == 4 && out.w == 1 && out.c[3] == 3, "crop 4x1: %dx%d", out.h, out.w);
    // Widths 2, 1: 2, 2 (not strictly larger), rows below 0 -> 1 x 2.
    const uint8_t c[16] = {2, 2, 1, 0,  3, 1, 0, 0,  1, 0, 0, 0,  0, 0, 0, 0};
    arc_crop(c, 4, &out);
    CHECK(out.h == 1 && out.w == 2, "crop 1x2 on a tie: %dx%d", out.h, out.w);
    const uint8_t d[16] = {1};
    arc_crop(d, 4, &out);
    CHECK(out.h == 0 && out.w == 0, "crop empty when seq[0] is EOS");
    const uint8_t e[16] = {12, 2};
    arc_crop(e, 4, &out);
    CHECK(out.h == 0 && out.w == 0, "token 12 is not a colour");
}

static void test_json(void) {
    char err[ERR_LEN];
    ArcGrid g;
    cJSON *j = cJSON_Parse("[[1,2,3],[4,5,6]]");
    CHECK(arc_grid_from_json(j, &g, err) == 0 && g.h == 2 && g.w == 3 && g.c[5] == 6, "parse 2x3");
    cJSON *back = arc_grid_to_json(&g);
    char *s = cJSON_PrintUnformatted(back);
    CHECK(strcmp(s, "[[1,2,3],[4,5,6]]") == 0, "emit: %s", s);
    free(s);
    cJSON_Delete(back);
    cJSON_Delete(j);

    struct { const char *json, *msg; } bad[] = {
        {"{\"a\":1}", "not a list of rows"},
        {"[]", "empty grid"},
        {"[[]]", "empty grid"},
        {"[[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4,5]]", "row 3 has 5 cells, row 0 has 4"},
        {"[[0],[0],[1,12]]", "row 2 has 2 cells, row 0 has 1"},
        {"[[0,0],[0,0],[0,12]]", "colour 12 at row 2 column 1 (expected 0-9)"},
        {"[[0,-1]]", "colour -1 at row 0 column 1 (expected 0-9)"},
        {"[[0,1.5]]", "colour 1.5 at row 0 column 1"},
        {"[[0,\"1\"]]", "not a number"},
        {"[[0],3]", "row 1 is not a list"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        j = cJSON_Parse(bad[i].json);
        err[0] = '\0';
        CHECK(arc_grid_from_json(j, &g, err) == -1 && strstr(err, bad[i].msg), "%s: got '%s', want '%s'",
              bad[i].json, err, bad[i].msg);
        cJSON_Delete(j);
    }
    // 31 rows and 31 columns.
    cJSON *rows = cJSON_CreateArray();
    for (int r = 0; r < 31; r++) cJSON_AddItemToArray(rows, cJSON_CreateIntArray((const int[]){1}, 1));
    CHECK(arc_grid_from_json(rows, &g, err) == -1 && strstr(err, "grid of 31 rows (at most 30)"), "31 rows: %s", err);
    cJSON_Delete(rows);
    int wide[31] = {0};
    rows = cJSON_CreateArray();
    cJSON_AddItemToArray(rows, cJSON_CreateIntArray(wide, 31));
    CHECK(arc_grid_from_json(rows, &g, err) == -1 && strstr(err, "31 columns"), "31 columns: %s", err);
    cJSON_Delete(rows);
}

// Digests from python3: hashlib.sha256(bytes([2, 3, 1, 2, 3, 4, 5, 6])).hexdigest() etc.
static void test_hash(void) {
    char hex[65];
    ArcGrid g = grid_of(2, 3, (const int[]){1, 2, 3, 4, 5, 6});
    arc_grid_hash(&g, hex);
    CHECK(strcmp(hex, "8a85482c8c93e41992c7fef9efca7b25d8e75bcc87bedf3e5f203700a34e9a6a") == 0, "hash 2x3: %s", hex);
    g = grid_of(1, 1, (const int[]){7});
    arc_grid_hash(&g, hex);
    CHECK(strcmp(hex, "b44aeb3ea4489f5a532950e5ff789e718031e15cc04d6f00a26f627895b0ce08") == 0, "hash 1x1: %s", hex);
    g.h = g.w = 0;
    arc_grid_hash(&g, hex);
    CHECK(strcmp(hex, "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7") == 0, "hash empty: %s", hex);
}

int main(void) {
    test_dihedral_known();
    test_dihedral_inverse();
    test_unaugment();
    test_names();
    test_canvas();
    test_crop_rule();
    test_json();
    test_hash();
    return test_summary("arc_grid");
}
