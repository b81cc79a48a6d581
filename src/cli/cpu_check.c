// cpu_check.c: refuses, before anything else runs, a binary built for instructions this
// CPU lacks. The default build is -march=native, and a tree built on an AVX-512 machine
// and run on an AVX2-only one would otherwise die of SIGILL somewhere in a kernel, or
// worse, in the middle of a run. The Makefile compiles this one file for baseline x86-64
// so that the check itself cannot fault; what the rest was built for comes from
// trm_isa_required (version.c, compiled with the build's own flags).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"

#if defined(__x86_64__) || defined(__i386__)
static int have_avx2(void) { return __builtin_cpu_supports("avx2"); }
static int have_fma(void) { return __builtin_cpu_supports("fma"); }
static int have_avx512f(void) { return __builtin_cpu_supports("avx512f"); }
static int have_avx512bw(void) { return __builtin_cpu_supports("avx512bw"); }
static int have_avx512vl(void) { return __builtin_cpu_supports("avx512vl"); }
static int have_avx512bf16(void) {
#if defined(__GNUC__) && __GNUC__ >= 12
    return __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

// Every feature a build can demand that changes the code of our hot loops.
static const struct { unsigned bit; const char *name; int (*have)(void); } features[] = {
    {ISA_AVX2, "avx2", have_avx2},          {ISA_FMA, "fma", have_fma},
    {ISA_AVX512F, "avx512f", have_avx512f}, {ISA_AVX512BW, "avx512bw", have_avx512bw},
    {ISA_AVX512VL, "avx512vl", have_avx512vl}, {ISA_AVX512BF16, "avx512bf16", have_avx512bf16},
};

// TRM_TEST_CPU_LACKS=name pretends the CPU lacks that feature (tests of this message).
static int cpu_has(int i) {
    const char *lacks = getenv("TRM_TEST_CPU_LACKS");
    if (lacks && !strcmp(lacks, features[i].name)) return 0;
    return features[i].have();
}

__attribute__((constructor)) static void cpu_check(void) {
    __builtin_cpu_init();
    for (int i = 0; i < (int)(sizeof features / sizeof features[0]); i++)
        if ((trm_isa_required & features[i].bit) && !cpu_has(i)) {
            // Nothing built with the build's flags may run before this line, hence no
            // cpu_description() here (only the trivial trm_build_flags()).
            fprintf(stderr, "trm: error: this binary was built (%s) for a CPU with %s, which this CPU lacks: "
                            "run make here to build for this one\n",
                    trm_build_flags(), features[i].name);
            exit(1);
        }
}
#endif
