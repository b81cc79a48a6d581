// trm info: the configuration and exact parameter count of a preset or a model file.
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "io/checkpoint.h"

static void print_info(const Model *m, const char *source) {
    const TRMConfig *c = &m->cfg;
    char *json = cfg_to_json(c);
    size_t fixed = 0, puzzle = 0;
    for (int i = 0; i < m->table.count; i++) {
        const ParamSpec *s = &m->table.spec[i];
        if (s->kind == PARAM_PUZZLE) puzzle += s->numel;
        if (s->kind == PARAM_FIXED) fixed += s->numel;
    }
    printf("model:        %s\n", source);
    printf("config:       %s\n", json);
    printf("network:      d %d, %d layer(s), %d heads, SwiGLU %d, %s, L %d + prefix %d\n", c->hidden,
           c->layers, c->heads, cfg_inter(c), c->mlp_t ? "MLP-mixer" : "attention", c->seq_len, c->puzzle_len);
    printf("recursion:    T %d, n %d, N_sup %d -> %ld network calls per puzzle\n", c->T, c->n, c->N_sup,
           cfg_calls_per_puzzle(c));
    printf("parameters:   %zu (trained by the optimizer; as PyTorch counts nn.Parameters)\n", m->table.n_dense);
    printf("puzzle table: %zu values (%d ids x %d), sign-SGD\n", puzzle, c->num_puzzle_ids, c->hidden);
    printf("fixed:        %zu values (H_init, L_init)\n", fixed);
    printf("tensors:\n");
    for (int i = 0; i < m->table.count; i++) {
        const ParamSpec *s = &m->table.spec[i];
        if (s->ndim == 2) printf("  %-48s [%lld, %lld]\n", s->name, (long long)s->shape[0], (long long)s->shape[1]);
        else printf("  %-48s [%lld]\n", s->name, (long long)s->shape[0]);
    }
    free(json);
}

int cmd_info(int argc, char **argv) {
    const char *preset = "compact", *method = "dis", *task_name = NULL, *model = NULL, *mixer = "attention";
    int vocab = 0, seq_len = 0, ids = 1;
    ArgSpec spec[] = {
        { "model", ARG_STR, &model, "a model file (instead of a preset)", 0, 0 },
        { "preset", ARG_STR, &preset, "compact | medium", 0, 0 },
        { "method", ARG_STR, &method, "dis | trm (sets the recursion)", 0, 0 },
        { "mixer", ARG_STR, &mixer, "token mixing: attention | mlp (TRM's mlp_t)", 0, 0 },
        { "task", ARG_STR, &task_name, "take vocab and seq-len from a task (nqueens)", 0, 0 },
        { "vocab", ARG_INT, &vocab, "vocabulary size (ARC: 12, Sudoku: 11, N-Queens: 3)", 2, 65536 },
        { "seq-len", ARG_INT, &seq_len, "tokens per puzzle (ARC: 900, Sudoku: 81, N-Queens: 64)", 1, 65536 },
        { "puzzle-ids", ARG_INT, &ids, "rows of the puzzle-embedding table", 1, 100000000 },
    };
    int rc = parse_or_help(argc, argv, "usage: trm info [--model FILE | --preset P --method M (--task T | --vocab V --seq-len L)]",
                           spec, sizeof spec / sizeof *spec);
    if (rc) return rc;
    char err[ERR_LEN];
    Model m;
    if (model) {
        if (checkpoint_load(&m, model, NULL, err)) return fail("%s", err);
        print_info(&m, model);
        model_free(&m);
        return 0;
    }
    if (task_name) {
        const Task *t = task_find(task_name);
        if (!t) return fail("unknown task '%s'", task_name);
        if (!vocab) vocab = t->vocab;
        if (!seq_len) seq_len = t->seq_len;
    }
    if (!vocab || !seq_len) return fail("give --model, --task, or both --vocab and --seq-len");
    TRMConfig c;
    if (cfg_preset(&c, preset, method, vocab, seq_len, ids, err)) return fail("%s", err);
    if (set_mixer(&c, mixer)) return 1;
    model_create(&m, &c, 0);
    char source[128];
    snprintf(source, sizeof source, "preset %s, method %s", preset, method);
    print_info(&m, source);
    model_free(&m);
    return 0;
}
