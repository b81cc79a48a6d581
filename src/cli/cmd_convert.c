// trm convert: a PyTorch checkpoint of the official code (torch.save of the state_dict,
// with the Hydra all_config.yaml beside it) written as a trm model file, which then needs
// neither the yaml nor the data folder, and names its task. The reverse direction is
// tools/to_torch.py.
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "io/checkpoint.h"

#define CONVERT_USAGE "usage: trm convert CKPT [--config all_config.yaml] [--task T] --out M.safetensors"

// The train_state to write: the reader's (source, method, feed, identifiers) with the task.
static char *state_with_task(const char *ts, const Task *task, const char *in) {
    cJSON *o = cJSON_Parse(ts ? ts : "{}");
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        o = cJSON_CreateObject();
    }
    cJSON_DeleteItemFromObject(o, "task");
    cJSON_AddStringToObject(o, "task", task->name);
    cJSON_DeleteItemFromObject(o, "converted_from");
    cJSON_AddStringToObject(o, "converted_from", in);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

// --task, else the file's own, else the one its shape fits; NULL after fail().
static const Task *choose_task(const char *name, const char *ts, const Model *m, const char *in) {
    const Task *t = NULL;
    cJSON *o = cJSON_Parse(ts ? ts : "{}");
    const cJSON *own = cJSON_GetObjectItem(o, "task");
    if (name && !(t = task_find(name))) fail("--task: unknown task '%s'", name);
    else if (!name && cJSON_IsString(own) && !(t = task_find(own->valuestring)))
        fail("%s: train_state names an unknown task '%s'", in, own->valuestring);
    else if (!name && !cJSON_IsString(own) && !(t = task_infer(&m->cfg)))
        fail("%s: no task fits its shape (seq_len %d, vocab %d): give --task", in, m->cfg.seq_len, m->cfg.vocab);
    else if (!task_fits(t, &m->cfg)) {
        fail("%s: model shape (seq_len %d, vocab %d) does not fit task %s", in, m->cfg.seq_len, m->cfg.vocab, t->name);
        t = NULL;
    }
    cJSON_Delete(o);
    return t;
}

int cmd_convert(int argc, char **argv) {
    const char *in = NULL, *config = NULL, *out = NULL, *task_name = NULL;
    ArgSpec spec[] = {
        { "", ARG_STR, &in, "the checkpoint: a torch.save file (or a trm model file)", 0, 0 },
        { "config", ARG_STR, &config, "its all_config.yaml (default: the one in the checkpoint's folder)", 0, 0 },
        { "task", ARG_STR, &task_name, "the task to record (default: the one the shape fits)", 0, 0 },
        { "out", ARG_STR, &out, "the model file to write (safetensors)", 0, 0 },
    };
    int rc = parse_or_help(argc, argv, CONVERT_USAGE, spec, sizeof spec / sizeof *spec);
    if (rc) return rc;
    if (!in) return fail("no checkpoint given (%s)", CONVERT_USAGE);
    if (!out) return fail("--out FILE is required");
    if (check_out_path(out)) return 1;
    char err[ERR_LEN], *ts = NULL;
    Model m;
    if (checkpoint_load_config(&m, in, config, &ts, err)) return fail("%s", err);
    const Task *task = choose_task(task_name, ts, &m, in);
    rc = 1;
    if (task) {
        char *state = state_with_task(ts, task, in);
        rc = checkpoint_save(&m, NULL, state, out, err) ? fail("%s", err) : 0;   // atomic: all or nothing
        if (!rc) printf("%s: task %s, %zu parameters, %d tensors (from %s)\n", out, task->name, m.table.n_dense,
                        m.table.count, in);
        free(state);
    }
    free(ts);
    model_free(&m);
    return rc;
}
