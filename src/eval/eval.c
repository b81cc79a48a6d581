#include "eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/loss.h"

int feed_parse(const char *s, FeedKind *f) {
    if (!strcmp(s, "input")) *f = FEED_INPUT;
    else if (!strcmp(s, "pred")) *f = FEED_PRED;
    else return -1;
    return 0;
}

const char *feed_name(FeedKind f) { return f == FEED_PRED ? "pred" : "input"; }

void infer_defaults(InferOptions *o, const TRMConfig *c) {
    o->batch = 256;
    o->steps = c->N_sup;
    o->feed = FEED_INPUT;
    o->guidance = 1.0;
}

static void log_softmax(double *out, const real *x, int V) {
    double mx = x[0], s = 0;
    for (int v = 1; v < V; v++) mx = fmax(mx, x[v]);
    for (int v = 0; v < V; v++) s += exp(x[v] - mx);
    double lse = mx + log(s);
    for (int v = 0; v < V; v++) out[v] = x[v] - lse;
}

// Decode one step: guided log-policy log pi_w = log pi_ref + w (log pi_t - log pi_ref)
// (w = 1 is the plain argmax), and accumulate the step's diagnostics.
static void decode_step(const real *logits, const real *ref_logits, const int32_t *labels,
                        const int32_t *prev, int32_t *pred, int B, int L, int V, double w,
                        StepStats *st) {
    double *lp = xmalloc(sizeof(double) * V), *lr = xmalloc(sizeof(double) * V);
    for (size_t i = 0; i < (size_t)B * L; i++) {
        log_softmax(lp, logits + i * V, V);
        log_softmax(lr, ref_logits + i * V, V);
        int best = 0;
        double best_v = -INFINITY;
        for (int v = 0; v < V; v++) {
            double g = lr[v] + w * (lp[v] - lr[v]);
            if (g > best_v) { best_v = g; best = v; }
        }
        pred[i] = best;
        st->changed_cells += pred[i] != prev[i];
        int y = labels ? labels[i] : -1;
        if (y > 0 && y < V) {     // label 0 = PAD = no target
            st->token_valid++;
            st->token_correct += pred[i] == y;
            double expect = 0;
            for (int v = 0; v < V; v++) expect += exp(lr[v]) * (lp[v] - lr[v]);
            st->margin_sum += (lp[y] - lr[y]) - expect;
            st->margin_cells++;
        }
    }
    free(lp);
    free(lr);
}

void evaluate(Model *m, const Task *task, const Dataset *ds, const InferOptions *o,
              EvalResult *r, int32_t *preds_final, TraceOut *trace) {
    const TRMConfig *c = &m->cfg;
    int L = c->seq_len, V = c->vocab, S = o->steps, Bmax = MIN(o->batch, MAX(ds->n, 1));
    memset(r, 0, sizeof *r);
    r->n = ds->n;
    r->seq_len = L;
    r->steps = S;
    r->num_groups = task->num_groups;
    r->step = xcalloc(S, sizeof(StepStats));
    r->group_n = xcalloc(task->num_groups, sizeof(long));
    r->group_exact = xcalloc(task->num_groups, sizeof(double));
    r->group_valid = xcalloc(task->num_groups, sizeof(double));
    r->calls_per_puzzle = (long)S * c->T * (c->n + 1);
    if (m->B < Bmax) model_plan(m, Bmax, m->planned_grad);
    Carry *carry = model_infer_carry(m, Bmax);
    size_t BL = (size_t)Bmax * L;
    int32_t *tokens = xmalloc(sizeof(int32_t) * BL), *input = xmalloc(sizeof(int32_t) * BL);
    int32_t *labels = xmalloc(sizeof(int32_t) * BL), *pred = xmalloc(sizeof(int32_t) * BL);
    int32_t *prev = xmalloc(sizeof(int32_t) * BL), *ids = xmalloc(sizeof(int32_t) * Bmax);
    real *ref = xmalloc(sizeof(real) * BL * V);
    uint8_t *answer = xmalloc(L);
    double t0 = now_seconds();
    for (int64_t start = 0; start < ds->n; start += Bmax) {
        int B = (int)MIN((int64_t)Bmax, ds->n - start);
        carry->B = B;
        carry_reset(m, carry, NULL);
        for (size_t i = 0; i < (size_t)B * L; i++) {
            input[i] = ds->inputs[(size_t)start * L + i];
            labels[i] = ds->labels[(size_t)start * L + i];
        }
        for (int b = 0; b < B; b++) ids[b] = ds->puzzle_ids ? ds->puzzle_ids[start + b] : 0;
        memcpy(tokens, input, sizeof(int32_t) * B * L);
        memcpy(prev, input, sizeof(int32_t) * B * L);
        model_heads(m, carry->y, B);                  // pi_ref of step 1: the initial answer
        memcpy(ref, m->logits, sizeof(real) * B * L * V);
        for (int s = 0; s < S; s++) {
            model_forward(m, carry, tokens, ids, s + 1, false);
            decode_step(m->logits, ref, labels, prev, pred, B, L, V, o->guidance, &r->step[s]);
            for (int b = 0; b < B; b++) {
                const int32_t *p = pred + (size_t)b * L;
                bool exact = true, known = false;
                for (int i = 0; i < L; i++) {
                    answer[i] = (uint8_t)p[i];
                    known |= labels[(size_t)b * L + i] != 0;
                    exact &= labels[(size_t)b * L + i] == 0 || p[i] == labels[(size_t)b * L + i];
                }
                // Tasks with one answer per puzzle (ARC) have no check: valid = exact.
                bool valid = task->check ? task->check(ds->inputs + (size_t)(start + b) * L, answer) : known && exact;
                r->step[s].exact += known && exact;
                r->step[s].valid += valid;
                if (s == S - 1 && task->group) {
                    int g = task->group(ds->inputs + (size_t)(start + b) * L);
                    if (g >= 0 && g < task->num_groups) {
                        r->group_n[g]++;
                        r->group_exact[g] += known && exact;
                        r->group_valid[g] += valid;
                    }
                }
            }
            if (trace) {
                if (trace->logits)
                    memcpy(trace->logits + ((size_t)s * ds->n + start) * L * V, m->logits, sizeof(real) * B * L * V);
                if (trace->preds)
                    memcpy(trace->preds + ((size_t)s * ds->n + start) * L, pred, sizeof(int32_t) * B * L);
                if (trace->q_halt && s == S - 1)
                    for (int b = 0; b < B; b++) trace->q_halt[start + b] = m->q[2 * b];
            }
            memcpy(ref, m->logits, sizeof(real) * B * L * V);
            memcpy(prev, pred, sizeof(int32_t) * B * L);
            if (o->feed == FEED_PRED) memcpy(tokens, pred, sizeof(int32_t) * B * L);
        }
        if (preds_final) memcpy(preds_final + (size_t)start * L, pred, sizeof(int32_t) * B * L);
    }
    r->seconds = now_seconds() - t0;
    free(tokens); free(input); free(labels); free(pred); free(prev); free(ids); free(ref); free(answer);
}

void eval_result_free(EvalResult *r) {
    free(r->step); free(r->group_n); free(r->group_exact); free(r->group_valid);
    cJSON_Delete(r->extra);
    memset(r, 0, sizeof *r);
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0; }

cJSON *eval_result_json(const EvalResult *r) {
    cJSON *o = cJSON_CreateObject();
    const StepStats *last = &r->step[r->steps - 1];
    cJSON_AddNumberToObject(o, "puzzles", r->n);
    cJSON_AddNumberToObject(o, "exact", ratio(last->exact, r->n));
    cJSON_AddNumberToObject(o, "valid", ratio(last->valid, r->n));
    cJSON_AddNumberToObject(o, "token_accuracy", ratio(last->token_correct, last->token_valid));
    cJSON_AddNumberToObject(o, "network_calls_per_puzzle", r->calls_per_puzzle);
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    cJSON_AddNumberToObject(o, "puzzles_per_s", ratio(r->n, r->seconds));
    cJSON *steps = cJSON_AddArrayToObject(o, "per_step");
    for (int s = 0; s < r->steps; s++) {
        const StepStats *st = &r->step[s];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "step", s + 1);
        cJSON_AddNumberToObject(e, "exact", ratio(st->exact, r->n));
        cJSON_AddNumberToObject(e, "valid", ratio(st->valid, r->n));
        cJSON_AddNumberToObject(e, "token_accuracy", ratio(st->token_correct, st->token_valid));
        cJSON_AddNumberToObject(e, "changed_cells", ratio(st->changed_cells, (double)r->n * r->seq_len));
        cJSON_AddNumberToObject(e, "advantage_margin", ratio(st->margin_sum, st->margin_cells));
        cJSON_AddItemToArray(steps, e);
    }
    for (const cJSON *x = r->extra ? r->extra->child : NULL; x; x = x->next)
        cJSON_AddItemToObject(o, x->string, cJSON_Duplicate(x, true));
    cJSON *groups = cJSON_AddArrayToObject(o, "per_group");
    for (int g = 0; g < r->num_groups; g++) {
        if (!r->group_n[g]) continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "group", g);
        cJSON_AddNumberToObject(e, "puzzles", r->group_n[g]);
        cJSON_AddNumberToObject(e, "exact", ratio(r->group_exact[g], r->group_n[g]));
        cJSON_AddNumberToObject(e, "valid", ratio(r->group_valid[g], r->group_n[g]));
        cJSON_AddItemToArray(groups, e);
    }
    return o;
}

void eval_print_table(FILE *f, const EvalResult *r, const char *group_name) {
    const StepStats *last = &r->step[r->steps - 1];
    fprintf(f, "%lld puzzles, %ld network calls per puzzle, %.1f puzzles/s\n", (long long)r->n, r->calls_per_puzzle,
            ratio(r->n, r->seconds));
    fprintf(f, "exact %.3f   valid %.3f   token accuracy %.4f\n\n", ratio(last->exact, r->n),
            ratio(last->valid, r->n), ratio(last->token_correct, last->token_valid));
    fprintf(f, "%-14s %8s %7s %7s\n", group_name, "puzzles", "exact", "valid");
    for (int g = 0; g < r->num_groups; g++)
        if (r->group_n[g])
            fprintf(f, "%-14d %8ld %7.3f %7.3f\n", g, r->group_n[g], ratio(r->group_exact[g], r->group_n[g]),
                    ratio(r->group_valid[g], r->group_n[g]));
    fprintf(f, "\n%-5s %7s %7s %10s %8s %11s\n", "step", "exact", "valid", "token_acc", "changed", "adv_margin");
    for (int s = 0; s < r->steps; s++) {
        const StepStats *st = &r->step[s];
        fprintf(f, "%-5d %7.3f %7.3f %10.4f %8.4f %11.4f\n", s + 1, ratio(st->exact, r->n), ratio(st->valid, r->n),
                ratio(st->token_correct, st->token_valid), ratio(st->changed_cells, (double)r->n * r->seq_len),
                ratio(st->margin_sum, st->margin_cells));
    }
}
