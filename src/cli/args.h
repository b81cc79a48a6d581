// args.h: a small table-driven option parser ("--name value" or "--name=value").
#ifndef TRM_ARGS_H
#define TRM_ARGS_H

#include <stdio.h>

#include "common.h"

typedef enum { ARG_INT, ARG_LONG, ARG_U64, ARG_DOUBLE, ARG_STR, ARG_FLAG } ArgType;

typedef struct {
    const char *name;     // without the leading "--"
    ArgType type;
    void *dst;            // int*, long*, uint64_t*, double*, const char**, bool*
    const char *help;
    double lo, hi;        // inclusive range for numbers (ignored when lo == hi == 0)
} ArgSpec;

// Parses argv[0..argc). A positional argument goes to the (ARG_STR) entry named "", once;
// any other is refused, as are unknown options, missing or malformed values and
// out-of-range numbers.
int args_parse(int argc, char **argv, const ArgSpec *spec, int n, char *err);
void args_help(FILE *f, const char *usage, const ArgSpec *spec, int n);
bool args_wants_help(int argc, char **argv);

#endif
