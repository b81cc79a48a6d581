#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int set_value(const ArgSpec *s, const char *v, char *err) {
    char *end = NULL;
    errno = 0;
    double num = 0;
    switch (s->type) {
    case ARG_STR:
        *(const char **)s->dst = v;
        return 0;
    case ARG_FLAG:
        *(bool *)s->dst = true;
        return 0;
    case ARG_DOUBLE:
        num = strtod(v, &end);
        break;
    case ARG_INT: case ARG_LONG: case ARG_U64:
        num = (double)strtoll(v, &end, 10);
        break;
    }
    if (!*v || *end || errno || !isfinite(num))
        return err_set(err, "--%s: '%s' is not a valid %s", s->name, v, s->type == ARG_DOUBLE ? "number" : "integer");
    if ((s->lo != 0 || s->hi != 0) && (num < s->lo || num > s->hi))
        return err_set(err, "--%s: %s is out of range [%g, %g]", s->name, v, s->lo, s->hi);
    if (s->type == ARG_DOUBLE) *(double *)s->dst = num;
    else if (s->type == ARG_INT) {
        if (num < -2147483648.0 || num > 2147483647.0) return err_set(err, "--%s: %s is too large", s->name, v);
        *(int *)s->dst = (int)num;
    } else if (s->type == ARG_LONG) *(long *)s->dst = (long)num;
    else {
        if (num < 0) return err_set(err, "--%s: %s must not be negative", s->name, v);
        *(uint64_t *)s->dst = (uint64_t)strtoull(v, NULL, 10);
    }
    return 0;
}

int args_parse(int argc, char **argv, const ArgSpec *spec, int n, char *err) {
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2)) {      // a positional argument: the spec entry named ""
            const ArgSpec *p = NULL;
            for (int k = 0; k < n && !p; k++)
                if (!spec[k].name[0] && !*(const char **)spec[k].dst) p = &spec[k];
            if (!p) return err_set(err, "unexpected argument '%s'", a);
            *(const char **)p->dst = a;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const ArgSpec *s = NULL;
        for (int k = 0; k < n; k++)
            if (spec[k].name[0] && strlen(spec[k].name) == len && !strncmp(spec[k].name, name, len)) s = &spec[k];
        if (!s) return err_set(err, "unknown option '--%.*s' (see --help)", (int)len, name);
        const char *v = eq ? eq + 1 : NULL;
        if (s->type == ARG_FLAG) {
            if (v) return err_set(err, "--%s takes no value", s->name);
        } else if (!v) {
            if (i + 1 >= argc) return err_set(err, "--%s needs a value", s->name);
            v = argv[++i];
        }
        if (set_value(s, v ? v : "", err)) return -1;
    }
    return 0;
}

void args_help(FILE *f, const char *usage, const ArgSpec *spec, int n) {
    fprintf(f, "%s\n\noptions:\n", usage);
    for (int k = 0; k < n; k++) {
        const ArgSpec *s = &spec[k];
        if (!s->name[0]) continue;      // the positional argument: the usage line names it
        char def[64] = "";
        switch (s->type) {
        case ARG_INT: snprintf(def, sizeof def, "%d", *(int *)s->dst); break;
        case ARG_LONG: snprintf(def, sizeof def, "%ld", *(long *)s->dst); break;
        case ARG_U64: snprintf(def, sizeof def, "%llu", (unsigned long long)*(uint64_t *)s->dst); break;
        case ARG_DOUBLE: snprintf(def, sizeof def, "%g", *(double *)s->dst); break;
        case ARG_STR: snprintf(def, sizeof def, "%s", *(const char **)s->dst ? *(const char **)s->dst : "-"); break;
        case ARG_FLAG: break;
        }
        fprintf(f, "  --%-16s %s%s%s%s\n", s->name, s->help, s->type == ARG_FLAG ? "" : " [", def,
                s->type == ARG_FLAG ? "" : "]");
    }
}

bool args_wants_help(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return true;
    return false;
}
