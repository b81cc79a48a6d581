// replay.c: a fuzz target without libFuzzer, linked into the normal build: runs
// LLVMFuzzerTestOneInput once on each file named on the command line and prints what the
// readers did with it. make test replays every regression input this way (and make test
// SAN=1 under ASan and UBSan), so a crash fixed in the library stays fixed.
//   --refused   every file must be refused by at least one reader call, with its message
//               (the inputs that once crashed a reader are all malformed)
// Ends with "<target>: N passed, N failed" (tests/run.sh); a crash ends the process.
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    bool want_refusal = false;
    int passed = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--refused")) {
            want_refusal = true;
            continue;
        }
        char err[ERR_LEN];
        size_t n;
        uint8_t *data = (uint8_t *)read_file(argv[i], &n, err);
        if (!data) {
            fprintf(stderr, "FAIL %s\n", err);
            failed++;
            continue;
        }
        fuzz_refused = fuzz_accepted = 0;
        fuzz_last_err[0] = 0;
        LLVMFuzzerTestOneInput(data, n);
        free(data);
        bool ok = !want_refusal || fuzz_refused > 0;
        printf("%s %s: %ld refused, %ld accepted%s%s\n", ok ? "ok" : "FAIL", argv[i], fuzz_refused, fuzz_accepted,
               fuzz_refused ? "; last: " : "", fuzz_last_err);
        if (ok) passed++;
        else failed++;
    }
    printf("%s: %d passed, %d failed\n", name, passed, failed);
    return failed ? 1 : 0;
}
