#include "strmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

static size_t strmap_slot(const StrMap *m, const char *key) {
    size_t i = (size_t)fnv1a(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key) != 0) i = (i + 1) & (m->cap - 1);
    return i;
}

int64_t strmap_get(const StrMap *m, const char *key) {
    if (!m->cap) return -1;
    size_t i = strmap_slot(m, key);
    return m->keys[i] ? m->vals[i] : -1;
}

static void strmap_grow(StrMap *m) {
    size_t cap = m->cap ? 2 * m->cap : 1024;
    StrMap big = { xcalloc(cap, sizeof(char *)), xcalloc(cap, sizeof(int64_t)), cap, m->n };
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = strmap_slot(&big, m->keys[i]);
        big.keys[j] = m->keys[i];
        big.vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    *m = big;
}

int64_t strmap_intern(StrMap *m, const char *key, int64_t val) {
    if (2 * (m->n + 1) > m->cap) strmap_grow(m);
    size_t i = strmap_slot(m, key);
    if (m->keys[i]) return m->vals[i];
    m->keys[i] = xstrdup(key);
    m->vals[i] = val;
    m->n++;
    return val;
}

void strmap_free(StrMap *m) {
    for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
