// trm bench: placeholder until the benchmark lands.
#include "cli.h"
int cmd_bench(int argc, char **argv) { (void)argc; (void)argv; return fail("bench: not implemented yet"); }
