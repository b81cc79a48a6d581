// version.h: what produced a result: the version, the git commit and the build flags of
// this binary (recorded in every model file and metrics.jsonl), and the CPU it runs on.
#ifndef TRM_VERSION_H
#define TRM_VERSION_H

#define TRM_VERSION "0.4.0"

const char *trm_commit(void);        // short hash, "+dirty" when built from a modified tree
const char *trm_build_flags(void);   // compiler and flags
// "\"version\":\"...\",\"commit\":\"...\",\"build\":\"...\"": fields for a JSON object.
const char *trm_version_json(void);
// "AMD EPYC 9B14, AVX-512 (BF16)" or "..., AVX2 (no AVX-512)": model name and vector ISA.
const char *cpu_description(void);

// The vector instructions this binary was compiled to use (the -march of its build), as a
// mask of ISA_* bits; src/cli/cpu_check.c refuses to run on a CPU that lacks one.
enum { ISA_AVX2 = 1, ISA_FMA = 2, ISA_AVX512F = 4, ISA_AVX512BW = 8, ISA_AVX512VL = 16, ISA_AVX512BF16 = 32 };
extern const unsigned trm_isa_required;

#endif
