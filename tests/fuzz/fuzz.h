// fuzz.h: what the fuzz targets share. Each tests/fuzz/fuzz_<parser>.c is one
// LLVMFuzzerTestOneInput that gives its input to one of the library's file readers and
// frees everything it got back. libFuzzer drives them (make fuzz, clang, ASan + UBSan);
// replay.c drives the same code in the normal build (make test), one file at a time.
//
// The readers take paths, so an input becomes a file in a scratch folder of this process
// (on /dev/shm when there is one: a run writes no disk), removed at exit. Readers of
// several files (a dataset folder; a challenges file and its solutions) get one input
// cut at FUZZ_SEP lines, one part per file, in a fixed order.
#ifndef TRM_FUZZ_H
#define TRM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define FUZZ_SEP "\n--8<--\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// The scratch folder, created on first use and removed (with all in it) at exit.
const char *fuzz_dir(void);
// Writes data to <scratch>/<name>, creating the folders of name; data NULL removes the
// file instead (a part the input does not have). Returns the path (the caller frees it).
char *fuzz_file(const char *name, const void *data, size_t n);
// Cuts data at FUZZ_SEP into at most max parts; the last takes the rest. Returns the count.
int fuzz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len, int max);
// A NUL-terminated copy (for the readers of a string); the caller frees it.
char *fuzz_text(const uint8_t *data, size_t size);

// Every reader call goes through here. A refusal (rc != 0) must come with one line of
// message that names the file (names: a string it must contain, NULL when the reader is
// given no file): anything else aborts, which both libFuzzer and make test report.
void fuzz_result(int rc, const char *err, const char *names);

// Counts for the replay driver: reader calls that refused or accepted the current input,
// and the last refusal's message.
extern long fuzz_refused, fuzz_accepted;
extern char fuzz_last_err[ERR_LEN];

#endif
