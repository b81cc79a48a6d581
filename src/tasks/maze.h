// maze.h: Maze-Hard as the official TRM builder reads it (trm-reference.md 7.4;
// dataset/build_maze_dataset.py), and a generator of mazes of that kind.
//
// A maze is an n x n grid, row-major: '#' wall, ' ' open, 'S' start, 'G' goal, and in the
// answer 'o' on the cells of a shortest path between them (S and G keep their letters).
// Tokens: CHARSET "# SGo" -> 1..5, PAD 0, vocabulary 6, sequence n * n (900 for the
// official 30 x 30); one shared puzzle embedding. Path lengths count steps: a path of
// length d marks d - 1 cells. An answer is correct when its 'o' cells with S and G form a
// path of open cells from S to G as short as the shortest one, and no other cell changed
// (when several shortest paths exist, each is correct).
//
// Text format (solve, .txt data): n * n characters, open as ' ' or '.'; written with '.',
// since the .txt files separate input and label by a space. The sapientinc CSV keeps ' '.
//
// Sizes other than 30 (CPU-scale runs) are tasks of their own, "maze-N" (N x N), so a
// model file names its grid; `trm train --task maze` picks the member from the data.
#ifndef TRM_MAZE_H
#define TRM_MAZE_H

#include "rng.h"
#include "task.h"

#define MAZE_MIN 4
#define MAZE_MAX 30
#define MAZE_VOCAB 6
enum { MAZE_PAD = 0, MAZE_WALL = 1, MAZE_OPEN = 2, MAZE_START = 3, MAZE_GOAL = 4, MAZE_PATH = 5 };

extern const Task TASK_MAZE;          // "maze": 30 x 30, as Maze-Hard
// The task of n x n mazes ("maze" for 30, "maze-N" otherwise); NULL outside MAZE_MIN..MAZE_MAX.
const Task *maze_task(int n);
// "maze-N" by name (task_find's fallback); NULL for any other name.
const Task *maze_task_named(const char *name);

// Steps of the shortest path from S to G through non-wall cells (-1: none, or no S or G);
// dist (optional, n * n) gets every cell's distance from S (-1 unreachable).
int maze_shortest(const uint8_t *grid, int n, int *dist);
// One shortest path marked in answer (a copy of input); -1 if G cannot be reached.
int maze_solve(const uint8_t *input, int n, uint8_t *answer);
// Is answer a correct solution of input? With err, what is wrong with it.
int maze_explain(const uint8_t *input, const uint8_t *answer, int n, char *err);
// The path cells of answer in the order they are reached from S (the solver targets).
int maze_path_order(const uint8_t *input, const uint8_t *answer, int n, int *order);

// The generator: a random spanning tree of rooms (cells at every other row and column,
// joined through the walls between them: long winding corridors), a few walls more
// opened (MAZE_LOOPS: loops, so several shortest paths may exist), then S and G drawn
// on open cells with a shortest path longer than min_path steps. An impossible min_path
// (longer than the tree of rooms allows) or MAZE_ATTEMPTS failed mazes is an error.
#define MAZE_LOOPS 0.04
#define MAZE_ATTEMPTS 1000
int maze_generate(Rng *r, int n, int min_path, uint8_t *input, uint8_t *label, char *err);
// The longest shortest path the generator can make on an n x n grid.
int maze_max_path(int n);

typedef struct {
    // From the sapientinc CSV (csv set) or generated (size, min_path, counts, seed).
    const char *csv, *test_csv;
    long subsample;              // CSV: keep this many training mazes (numpy's choice)
    int size, min_path;
    long count, test_count, valid_count;
    uint64_t seed;
    bool aug;                    // training mazes as 8 dihedral copies (the official aug=True)
} MazeBuildOptions;

// Builds the splits (train; test and valid when asked, else empty) and the grid side
// (from the data for CSV input). Nothing is written.
int maze_build(const MazeBuildOptions *o, Dataset *train, Dataset *test, Dataset *valid, int *size, char *err);
// The first copy of every group of ds as a sapientinc CSV (open as ' '), rating = the
// shortest path length.
int maze_csv_save(const char *path, const Dataset *ds, int n, char *err);

#endif
