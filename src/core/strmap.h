// strmap.h: a string -> integer table (open addressing, linear probing, FNV-1a), for
// puzzle names and vote keys. Keys are copied. Only looked up, never iterated, so no
// output depends on the table's layout.
#ifndef TRM_STRMAP_H
#define TRM_STRMAP_H

#include "common.h"

typedef struct {
    char **keys;     // [cap], NULL = empty; owned
    int64_t *vals;
    size_t cap, n;
} StrMap;

int64_t strmap_get(const StrMap *m, const char *key);                 // -1 when absent
// The value of key, inserting val when absent.
int64_t strmap_intern(StrMap *m, const char *key, int64_t val);
void strmap_free(StrMap *m);

#endif
