// common.c: the scratch folder, input splitting and the result check of the fuzz targets.
#define _GNU_SOURCE   // memmem, nftw
#include "fuzz.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

long fuzz_refused, fuzz_accepted;
char fuzz_last_err[ERR_LEN];

static char scratch[256];

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void remove_scratch(void) {
    if (scratch[0]) nftw(scratch, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_dir(void) {
    if (scratch[0]) return scratch;
    // tmpfs: libFuzzer runs thousands of inputs a second, each written as a file.
    // TRM_FUZZ_TMP (tools/fuzz.sh): a folder to use instead, removed even after a crash.
    const char *base = getenv("TRM_FUZZ_TMP") ? getenv("TRM_FUZZ_TMP")
                     : access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(scratch, sizeof scratch, "%s/trm-fuzz-%ld", base, (long)getpid());
    if (mkdir(scratch, 0700) && errno != EEXIST) die("fuzz: cannot create %s: %s", scratch, strerror(errno));
    atexit(remove_scratch);
    return scratch;
}

char *fuzz_file(const char *name, const void *data, size_t n) {
    char *path = path_join(fuzz_dir(), name);
    for (char *p = path + strlen(scratch) + 1; (p = strchr(p, '/')); p++) {   // the folders of name
        *p = 0;
        if (mkdir(path, 0700) && errno != EEXIST) die("fuzz: cannot create %s: %s", path, strerror(errno));
        *p = '/';
    }
    if (!data) {
        if (remove(path) && errno != ENOENT) die("fuzz: cannot remove %s: %s", path, strerror(errno));
        return path;
    }
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) die("fuzz: cannot write %s", path);
    return path;
}

int fuzz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len, int max) {
    const size_t k = strlen(FUZZ_SEP);
    int n = 0;
    const uint8_t *p = data, *end = data + size;
    while (n < max - 1) {
        const uint8_t *s = memmem(p, (size_t)(end - p), FUZZ_SEP, k);
        if (!s) break;
        part[n] = p, len[n++] = (size_t)(s - p);
        p = s + k;
    }
    part[n] = p, len[n++] = (size_t)(end - p);
    return n;
}

char *fuzz_text(const uint8_t *data, size_t size) {
    char *s = xmalloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

void fuzz_result(int rc, const char *err, const char *names) {
    if (rc == 0) {
        fuzz_accepted++;
        return;
    }
    fuzz_refused++;
    snprintf(fuzz_last_err, sizeof fuzz_last_err, "%s", err);
    const char *why = !*err ? "an empty message"
                    : strpbrk(err, "\n\r") ? "a message of several lines"
                    : names && !strstr(err, names) ? "a message that does not name the file"
                    : NULL;
    if (why) {
        fprintf(stderr, "fuzz: the reader refused the input (rc %d) with %s: '%s'\n", rc, why, err);
        abort();
    }
}
