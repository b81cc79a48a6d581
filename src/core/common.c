#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <time.h>

int err_set(char *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, ERR_LEN, fmt, ap);
        va_end(ap);
        // Messages may quote names and bytes from a file; an error stays one line.
        for (char *p = err; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    }
    return -1;
}

void error_vprint(const char *fmt, va_list ap) {
    fprintf(stderr, "trm: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
}

void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    error_vprint(fmt, ap);
    va_end(ap);
    exit(1);
}

void *xmalloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p) die("out of memory allocating %zu bytes", size);
    return p;
}

void *xcalloc(size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) die("allocation of %zu x %zu bytes overflows", count, size);
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) die("out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *xrealloc(void *ptr, size_t size) {
    void *p = realloc(ptr, size ? size : 1);
    if (!p) die("out of memory reallocating %zu bytes", size);
    return p;
}

void *xcalloc_huge(size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) die("allocation of %zu x %zu bytes overflows", count, size);
    size_t bytes = count * size;
    const size_t huge = (size_t)2 << 20;
    if (bytes < 2 * huge) return xcalloc(count, size);
    // Large buffers in 2 MiB pages: a first touch of a fresh 4 KiB page costs a fault, and
    // on the virtual machines this runs on faults are expensive (about 35x the cost of
    // rewriting the page); transparent huge pages cut their number 512-fold.
    size_t rounded = (bytes + huge - 1) / huge * huge;
    void *p = aligned_alloc(huge, rounded);
    if (!p) die("out of memory allocating %zu bytes", bytes);
#ifdef MADV_HUGEPAGE
    madvise(p, rounded, MADV_HUGEPAGE);
#endif
    memset(p, 0, bytes);
    return p;
}

char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int write_file_atomic(const char *path, const void *data, size_t n, char *err) {
    size_t len = strlen(path) + 32;
    char *tmp = xmalloc(len);
    snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int rc = 0;
    if (!f) rc = err_set(err, "%s: cannot create: %s", path, strerror(errno));
    else {
        errno = 0;
        int e = fwrite(data, 1, n, f) == n && fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : errno ? errno : EIO;
        if (fclose(f) != 0 && !e) e = errno;
        if (!e && rename(tmp, path) != 0) e = errno;
        if (e) {
            remove(tmp);
            rc = err_set(err, "%s: cannot write: %s", path, strerror(e));
        } else {
            sync_dir_of(path);
        }
    }
    free(tmp);
    return rc;
}

int append_file(const char *path, const void *data, size_t n, char *err) {
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return err_set(err, "%s: cannot open for appending: %s", path, strerror(errno));
    struct stat sb;
    int e = fstat(fd, &sb) ? errno : 0;
    size_t done = 0;
    while (!e && done < n) {   // a full disk takes part of a write, then refuses the rest
        ssize_t w = write(fd, (const char *)data + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) e = w < 0 ? errno : EIO;
        else done += (size_t)w;
    }
    if (!e && fsync(fd) != 0) e = errno;
    int cut = e && done ? ftruncate(fd, sb.st_size) : 0;   // best effort; e says what went wrong
    (void)cut;
    close(fd);
    return e ? err_set(err, "%s: cannot append: %s", path, strerror(e)) : 0;
}

void sync_dir_of(const char *path) {
    char *dir = xstrdup(path), *slash = strrchr(dir, '/');
    if (slash) slash[1] = 0;
    int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

char *read_file(const char *path, size_t *n, char *err) {
    // O_NONBLOCK: opening a FIFO by mistake must not hang; it is refused just below.
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        err_set(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        err_set(err, "%s: not a regular file", path);
        return NULL;
    }
    size_t size = (size_t)sb.st_size, got = 0;
    char *p = xmalloc(size + 1);
    while (got < size) {
        ssize_t r = read(fd, p + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {   // r == 0: the file shrank under us
            int e = r < 0 ? errno : EIO;
            close(fd);
            free(p);
            err_set(err, "%s: read failed after %zu of %zu bytes: %s", path, got, size, strerror(e));
            return NULL;
        }
        got += (size_t)r;
    }
    close(fd);
    p[size] = 0;
    if (n) *n = size;
    return p;
}

char *path_join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

cJSON *read_json_file(const char *path, char *err) {
    char *text = read_file(path, NULL, err);
    if (!text) return NULL;
    // Nothing but white space may follow the value (as json.load): cJSON_Parse alone would
    // read "{} garbage" as {}, and a truncated or concatenated file as its first part.
    cJSON *j = cJSON_ParseWithOpts(text, NULL, true);
    free(text);
    if (!j) err_set(err, "%s: not valid JSON", path);
    return j;
}
