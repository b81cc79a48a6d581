// arc_grid.h: ARC grids and the official TRM pipeline's operations on them
// (trm-reference.md 7.5 and 8; arc-pipeline.md): JSON grids, the 8 dihedral transforms
// and their inverses, colour maps, the grid hash, the G x G token canvas with EOS, the
// evaluator's crop, and the augmentation names "<task>|||t<k>|||<10-digit map>".
#ifndef TRM_ARC_GRID_H
#define TRM_ARC_GRID_H

#include <cjson/cJSON.h>

#include "common.h"

#define ARC_MAX 30            // the official canvas: 30 x 30 = 900 tokens
#define ARC_PAD 0
#define ARC_EOS 1             // colour c is token c + 2 (2..11); vocabulary 12
#define ARC_VOCAB 12

// h x w colours 0..9, row-major. A crop may yield an empty grid (h = w = 0).
typedef struct {
    int h, w;
    uint8_t c[ARC_MAX * ARC_MAX];
} ArcGrid;

// A JSON list of h rows, each a list of w integers 0..9, 1 <= h, w <= 30, every row the
// same length. On error: -1 and a message without file or task (the caller adds them).
int arc_grid_from_json(const cJSON *j, ArcGrid *g, char *err);
cJSON *arc_grid_to_json(const ArcGrid *g);

// A demonstration or test pair; out.h = 0 when no output is known.
typedef struct { ArcGrid in, out; } ArcPair;
// Appends the pairs of a JSON list of {"input": grid, "output": grid} (the "train" or
// "test" list of a task, named by `what`) to (*pairs)[*n...]. Outputs are required unless
// optional_output. On error: -1 and a message without file or task ("test 1 input: ...").
int arc_pairs_from_json(const cJSON *list, const char *what, bool optional_output, ArcPair **pairs, int *n,
                        char *err);
bool arc_grid_equal(const ArcGrid *a, const ArcGrid *b);
// The first key a JSON object holds twice, or NULL. cJSON keeps both members (Python's
// json keeps the last), so a task id listed twice is refused rather than read twice.
const char *arc_json_duplicate_key(const cJSON *obj);

// Dihedral transform k (numpy conventions, dataset/common.py): 0 identity, 1-3 rot90 by
// k (counter-clockwise), 4 fliplr, 5 flipud, 6 transpose, 7 fliplr(rot90). out != in.
void arc_dihedral(const ArcGrid *in, int k, ArcGrid *out);
extern const int ARC_DIHEDRAL_INVERSE[8];          // {0, 3, 2, 1, 4, 5, 6, 7}
// Colour c becomes map[c] (the builder maps colours first, then transforms).
void arc_map_colours(ArcGrid *g, const uint8_t map[10]);
// An augmented copy of a grid as the builder makes it: colours mapped, then dihedral k.
void arc_augment(const ArcGrid *in, int k, const uint8_t map[10], ArcGrid *out);

// grid_hash: sha256 of (h, w as one byte each) followed by the cells; 64 hex digits.
void arc_grid_hash(const ArcGrid *g, char hex[65]);

// The grid at (r0, c0) of a G x G canvas of tokens (G*G bytes), colours as c + 2; EOS
// fills row r0 + h over columns c0..c0+w-1 (if r0 + h < G) and column c0 + w over rows
// r0..r0+h-1 (if c0 + w < G); everything else PAD. Needs r0 + h <= G, c0 + w <= G.
void arc_encode(const ArcGrid *g, int G, int r0, int c0, uint8_t *seq);
// The evaluator's crop of a G x G canvas: the largest top-left rectangle of colour
// tokens (2..11), scanning rows and shrinking the width at the first non-colour token;
// colours minus 2. Empty when seq[0] is not a colour.
void arc_crop(const uint8_t *seq, int G, ArcGrid *out);

// Augmentation names. A name without "|||" is an original task (k 0, identity map).
// Otherwise "<task>|||t<k>|||<d0..d9>": the task id is copied into task (cap bytes), the
// transform and the colour map returned. -1 for a malformed name.
int arc_name_parse(const char *name, char *task, size_t cap, int *k, uint8_t map[10]);
// "<task>|||t<k>|||<map digits>" into out (cap bytes).
void arc_name_format(char *out, size_t cap, const char *task, int k, const uint8_t map[10]);
// Undo an augmentation: inverse dihedral, then the inverse colour map (the evaluator's
// order), in place.
void arc_unaugment(ArcGrid *g, int k, const uint8_t map[10]);

#endif
