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

#endif
