// dataset_dir.h: the official TRM dataset directory (trm-reference.md 7.1), read and
// written for every task:
//
//   DIR/identifiers.json                    ["<blank>", name of id 1, ...]
//   DIR/{train,test}/dataset.json           the metadata below
//   DIR/{train,test}/all__inputs.npy        uint8 [examples, seq_len]
//   DIR/{train,test}/all__labels.npy        uint8 [examples, seq_len]
//   DIR/{train,test}/all__puzzle_identifiers.npy  int32 [puzzles]
//   DIR/{train,test}/all__puzzle_indices.npy      int32 [puzzles + 1]  first example of each
//   DIR/{train,test}/all__group_indices.npy       int32 [groups + 1]   first puzzle of each
//
// Loading maps the token arrays (never parsed or copied) and validates everything: the
// metadata, every array's header and size, the CSR offsets (start at 0, monotone, end
// at the next level's count), every token below the vocabulary and every identifier
// below num_puzzle_identifiers. Each defect is one error naming the file.
#ifndef TRM_DATASET_DIR_H
#define TRM_DATASET_DIR_H

#include "io/npy.h"
#include "tasks/task.h"

// dataset.json (PuzzleDatasetMetadata), field for field.
typedef struct {
    int pad_id;
    int ignore_label_id;          // the builders write 0; null is refused on reading
    int blank_identifier_id;
    int vocab_size;
    int seq_len;
    int64_t num_puzzle_identifiers;
    int64_t total_groups;
    double mean_puzzle_examples;
    int64_t total_puzzles;
} DatasetMeta;

// Is DIR/SPLIT/dataset.json there? (How commands tell the official layout from text files.)
bool dataset_dir_exists(const char *dir, const char *split);
int dataset_dir_load(const char *dir, const char *split, Dataset *ds, DatasetMeta *meta, char *err);
// Writes the five arrays and dataset.json of one split (SPLIT/ is created). meta is
// written as given (the builder fills it; see dataset_meta_of for the usual values).
int dataset_dir_save(const char *dir, const char *split, const Dataset *ds, const DatasetMeta *meta,
                     char *err);
// The metadata the official builders write for ds: groups, puzzles and the mean
// examples per puzzle counted from ds.
DatasetMeta dataset_meta_of(const Dataset *ds, int vocab, int64_t num_puzzle_identifiers);
// dataset.json exactly as Python's json.dump writes the official builders' metadata.
int dataset_meta_write(const char *path, const DatasetMeta *meta, char *err);

// identifiers.json: names[0..n); names[0] is "<blank>".
int identifiers_load(const char *dir, char ***names, int64_t *n, char *err);
int identifiers_save(const char *dir, char *const *names, int64_t n, char *err);
void identifiers_free(char **names, int64_t n);

// Python's repr() of a double (the shortest string that reads back to the same value),
// as json.dump writes floats: 4.154166666666667, 1.0, 1e-05.
void py_float_repr(double x, char *out, size_t cap);
// A JSON string literal as json.dump writes it (ensure_ascii: non-ASCII as \uXXXX).
void py_json_string(FILE *f, const char *s);

#endif
