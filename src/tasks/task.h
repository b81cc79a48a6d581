// task.h: what the trainer and the evaluator need to know about a puzzle family.
// A task fixes the token vocabulary and sequence length, reads and writes its
// community text format, and judges an answer by validity (not only by equality
// with one stored solution: N-Queens puzzles with few given queens have many).
#ifndef TRM_TASK_H
#define TRM_TASK_H

#include <stdio.h>

#include "common.h"

// A set of examples, tokens as the network sees them. Label token 0 (PAD) means
// "ignored by the loss", as in the official datasets (ignore_label_id 0).
//
// The official layout groups examples: a *puzzle* is one copy of a task (one puzzle
// identifier, one row of the puzzle-embedding table) and owns a run of examples; a
// *group* is an original puzzle with its augmented copies and owns a run of puzzles.
// Both are CSR offsets, as the .npy files store them. Text data sets (N-Queens) have
// one example per puzzle and one puzzle per group. inputs and labels may be mapped
// read-only from .npy files (a 4-million-row ARC build is never copied): never write
// through them after loading.
typedef struct {
    int64_t n;             // number of examples
    int seq_len;           // tokens per example
    uint8_t *inputs;       // [n, seq_len]
    uint8_t *labels;       // [n, seq_len]
    int32_t *puzzle_ids;   // [n] the puzzle identifier of each example (0 = shared/blank)
    int64_t num_puzzles, num_groups;
    int32_t *puzzle_index; // [num_puzzles + 1] first example of each puzzle
    int32_t *group_index;  // [num_groups + 1] first puzzle of each group
    int32_t *identifiers;  // [num_puzzles] identifier of each puzzle
    void *maps[4];         // private: mappings that own inputs/labels (dataset_free)
} Dataset;

typedef struct Task {
    const char *name;
    int seq_len;
    int vocab;
    // Parse one board of the text format (exactly `len` characters, no newline) into
    // seq_len tokens; on error fill err with what is wrong (without file or line: the
    // caller adds those) and return -1.
    int (*parse)(const char *text, size_t len, uint8_t *tokens, char *err);
    // Write seq_len tokens as text plus a terminating NUL (out holds seq_len + 1 bytes).
    void (*format)(const uint8_t *tokens, char *out);
    // Is `answer` a correct solution of the puzzle `input`? (valid and consistent)
    bool (*check)(const uint8_t *input, const uint8_t *answer);
    // A small integer describing the difficulty of an input (N-Queens: given queens),
    // used for per-group breakdowns; num_groups bounds it.
    int (*group)(const uint8_t *input);
    int num_groups;
    const char *group_name;   // what group() counts, for tables ("given queens")
    // Optional (NULL when a puzzle has one answer): every correct answer of `input`,
    // seq_len tokens each, at most max of them written; returns how many exist.
    // Training can then aim at the answer the model is closest to (--answer closest).
    int (*completions)(const uint8_t *input, uint8_t *out, int max);
    int max_completions;
    // Optional: the answer drawn for a terminal (solve; NULL: the one-line text format).
    void (*draw)(FILE *f, const uint8_t *tokens);
    // Optional, on the task that names a family of grid sizes ("maze"): the member whose
    // sequences have seq_len tokens, NULL if none. `trm train --task maze` on 12 x 12
    // data trains "maze-12"; the members themselves (maze-12) have none.
    const struct Task *(*sized)(int seq_len);
    // Optional (--targets solver): the cells where input and label differ, in the order a
    // solver fixes them (Sudoku: constraint propagation; maze: the path from S); writes
    // order[0..k) and returns k.
    int (*solver_order)(const uint8_t *input, const uint8_t *label, int *order);
} Task;

const Task *task_find(const char *name);      // NULL if unknown

Dataset dataset_alloc(int64_t n, int seq_len);   // zeroed, one example per puzzle and group
void    dataset_free(Dataset *ds);
// Give a data set without puzzle structure one example per puzzle and one puzzle per
// group (identifiers from puzzle_ids); replaces any index arrays it had.
void    dataset_index_trivial(Dataset *ds);
// Keep the first n examples of a data set without puzzle structure (one example per
// puzzle and group), re-indexed.
void    dataset_truncate(Dataset *ds, int64_t n);
// Text dataset files: one example per line, "<input> <label>" (a label-less line is
// accepted by solve). Errors name the file and the line.
int dataset_load(const Task *task, const char *path, Dataset *ds, char *err);
int dataset_save(const Task *task, const char *path, const Dataset *ds, char *err); // tmp + rename

#endif
