// common.h: the few things every module needs: the scalar type, errors, checked allocation.
#ifndef TRM_COMMON_H
#define TRM_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

// The network runs in fp32. The gradient-check tests compile the same sources with
// -DTRM_DOUBLE so finite differences are meaningful (fp32 central differences have
// ~1e-3 relative noise; double gives ~1e-8).
#ifdef TRM_DOUBLE
typedef double real;
#else
typedef float real;
#endif

// Math on `real` in the precision of `real`.
#ifdef TRM_DOUBLE
#define r_exp exp
#define r_log log
#define r_sqrt sqrt
#else
#define r_exp expf
#define r_log logf
#define r_sqrt sqrtf
#endif

// Recoverable errors (bad files, bad arguments) travel as a message in a caller-owned
// buffer of ERR_LEN bytes; functions return 0 on success and -1 on failure. Only the
// CLI turns a message into "trm: error: ..." and a non-zero exit. Control bytes in a
// message (quoted from a file) become '?', so an error is always one line.
#define ERR_LEN 512
int err_set(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Print "trm: error: <message>" as one line on stderr.
void error_vprint(const char *fmt, va_list ap);
// Unrecoverable errors (out of memory, broken invariants): print and exit(1).
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);   // checks count*size for overflow
void *xrealloc(void *ptr, size_t size);
void *xcalloc_huge(size_t count, size_t size);   // zeroed, in huge pages when large; free()
char *xstrdup(const char *s);

double now_seconds(void);                   // monotonic clock
// Write n bytes to path through a temporary file (path.tmp.<pid>), fsynced, renamed over
// path, then the folder fsynced: readers and crashes never see half a file. On failure
// the temp file is removed and path is left as it was.
int write_file_atomic(const char *path, const void *data, size_t n, char *err);
// Append n bytes to path (created if absent) and fsync it. A failed append is cut back
// off, so the file never ends in part of what was appended.
int append_file(const char *path, const void *data, size_t n, char *err);
// Best effort: fsync the folder holding path, so that a rename into it survives a crash.
void sync_dir_of(const char *path);

// The whole file, NUL-terminated (n: its length without the NUL); NULL and err on failure.
char *read_file(const char *path, size_t *n, char *err);
// A whole file parsed as JSON (caller cJSON_Delete()s it); NULL with "path: not valid JSON"
// or read_file's message in err.
struct cJSON;
struct cJSON *read_json_file(const char *path, char *err);
// "dir/name", freshly allocated.
char *path_join(const char *dir, const char *name);

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
