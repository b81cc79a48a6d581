#include "torch_ckpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool starts_with(const char *path, const char *magic) {
    FILE *f = fopen(path, "rb");
    uint8_t m[4];
    bool yes = f && fread(m, 1, 4, f) == 4 && !memcmp(m, magic, 4);
    if (f) fclose(f);
    return yes;
}

bool torch_is_zip(const char *path) { return starts_with(path, "PK\3\4"); }
bool torch_is_legacy(const char *path) { return starts_with(path, "\x80\x02\x8a\x0a"); }

// ===================================================================== zip archive

#define EOCD_SIZE 22   // end of central directory record
#define CDH_SIZE 46    // central directory header
#define LFH_SIZE 30    // local file header

uint32_t zip_crc32(const uint8_t *p, size_t n) {
    uint32_t table[256], c;   // rebuilt per call: 2k operations, no shared state
    for (uint32_t i = 0; i < 256; i++) {
        c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

// The record whose comment ends exactly at the end of the file (torch writes no comment;
// PyTorch's ZIP64 end records, when present, sit before it and are not needed).
static long find_eocd(const uint8_t *b, size_t size) {
    if (size < EOCD_SIZE) return -1;
    size_t lo = size > EOCD_SIZE + 65535 ? size - EOCD_SIZE - 65535 : 0;
    for (size_t i = size - EOCD_SIZE + 1; i-- > lo;)
        if (rd32(b + i) == 0x06054b50 && i + EOCD_SIZE + rd16(b + i + 20) == size) return (long)i;
    return -1;
}

// One central directory entry at *q, its local header and its data; the data must lie
// before the central directory (cd_off). Advances *q.
static int read_entry(const uint8_t *b, size_t cd_off, size_t cd_end, size_t *q, ZipEntry *z, char *msg) {
    const uint8_t *c = b + *q;
    if (*q + CDH_SIZE > cd_end || rd32(c) != 0x02014b50)
        return err_set(msg, "zip central directory entry at offset %zu is malformed", *q);
    uint16_t flags = rd16(c + 8), method = rd16(c + 10), nlen = rd16(c + 28);
    uint32_t crc = rd32(c + 16), csize = rd32(c + 20), usize = rd32(c + 24), loff = rd32(c + 42);
    size_t next = *q + CDH_SIZE + nlen + rd16(c + 30) + rd16(c + 32);
    if (next > cd_end) return err_set(msg, "zip central directory entry at offset %zu is malformed", *q);
    if (memchr(c + CDH_SIZE, 0, nlen)) return err_set(msg, "zip entry name with a NUL byte");
    z->name = xmalloc((size_t)nlen + 1);
    memcpy(z->name, c + CDH_SIZE, nlen);
    z->name[nlen] = 0;
    *q = next;
    if (csize == 0xFFFFFFFFu || usize == 0xFFFFFFFFu || loff == 0xFFFFFFFFu)
        return err_set(msg, "zip entry '%s' needs ZIP64 (over 4 GB): not supported", z->name);
    if (flags & 1) return err_set(msg, "zip entry '%s' is encrypted", z->name);
    if (method != 0 || csize != usize)
        return err_set(msg, "zip entry '%s' is compressed (method %u): only STORED entries are supported "
                       "(as torch.save writes them)", z->name, method);
    const uint8_t *l = b + loff;
    if ((uint64_t)loff + LFH_SIZE > cd_off || rd32(l) != 0x04034b50 || rd16(l + 8) != 0 ||
        rd16(l + 26) != nlen || memcmp(l + LFH_SIZE, c + CDH_SIZE, nlen))
        return err_set(msg, "zip entry '%s': local header missing or inconsistent", z->name);
    uint64_t data = (uint64_t)loff + LFH_SIZE + nlen + rd16(l + 28);
    if (data + usize > cd_off) return err_set(msg, "zip entry '%s' runs past its space (truncated?)", z->name);
    z->data = b + data;
    z->size = usize;
    if (zip_crc32(z->data, z->size) != crc) return err_set(msg, "zip entry '%s' fails its CRC-32 check", z->name);
    return 0;
}

int zip_entries(const uint8_t *b, size_t size, ZipEntry **out, int *nout, char *msg) {
    *out = NULL;
    *nout = 0;
    long e = find_eocd(b, size);
    if (e < 0) return err_set(msg, "no zip end-of-central-directory record (truncated?)");
    const uint8_t *p = b + e;
    uint32_t count = rd16(p + 10), cd_size = rd32(p + 12), cd_off = rd32(p + 16);
    if (count == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu)
        return err_set(msg, "ZIP64 archive (over 4 GB or 65535 entries): not supported");
    if (rd16(p + 4) || rd16(p + 6) || rd16(p + 8) != count) return err_set(msg, "multi-disk zip archive");
    if ((uint64_t)cd_off + cd_size > (uint64_t)e || (uint64_t)count * CDH_SIZE > cd_size)
        return err_set(msg, "zip central directory does not fit the file (truncated?)");
    ZipEntry *z = xcalloc(count ? count : 1, sizeof *z);
    size_t q = cd_off;
    int rc = 0, n = 0;
    while (n < (int)count && !rc) rc = read_entry(b, cd_off, (size_t)cd_off + cd_size, &q, &z[n++], msg);
    if (rc) {
        zip_entries_free(z, n);
        return -1;
    }
    *out = z;
    *nout = n;
    return 0;
}

void zip_entries_free(ZipEntry *z, int n) {
    for (int i = 0; z && i < n; i++) free(z[i].name);
    free(z);
}

// ===================================================================== unpickler
//
// Values live in an arena freed at the end; the memo and the stack hold pointers into it,
// so shared objects (a storage used by several views, the OrderedDict global) are shared.

typedef enum { V_NONE, V_BOOL, V_INT, V_STR, V_TUPLE, V_DICT, V_GLOBAL, V_STORAGE, V_TENSOR } VKind;
enum { G_ORDERED_DICT, G_REBUILD_TENSOR, G_STORAGE };   // V_GLOBAL.i; storages carry their dtype

typedef struct Value {
    VKind kind;
    int64_t i;              // INT, BOOL, GLOBAL id, STORAGE numel, TENSOR index
    StDtype dtype;          // GLOBAL storage type, STORAGE
    char *s;                // STR
    const uint8_t *data;    // STORAGE
    struct Value **item;    // TUPLE items; DICT keys and values, alternating
    int n, cap;
} Value;

typedef struct {
    const uint8_t *p;
    size_t n, pos;
    Value **arena, **stack, **memo;
    int n_arena, cap_arena, sp, cap_stack, *marks, n_marks, cap_marks;
    size_t cap_memo;
    const ZipEntry *zip;    // the archive, for persistent ids
    int n_zip;
    const char *root;       // "<root>/"
    StTensor *tensors;      // rebuilt tensors, unnamed until the final dict names them
    int n_tensors, cap_tensors;
    TorchCkpt *tc;          // owns gathered copies
    char *msg;
} Unpickler;

#define GROW(ptr, n, cap) do { if ((n) == (cap)) { (cap) = (cap) ? 2 * (cap) : 16; \
        (ptr) = xrealloc((ptr), sizeof *(ptr) * (size_t)(cap)); } } while (0)

static Value *new_value(Unpickler *u, VKind kind) {
    Value *v = xcalloc(1, sizeof *v);
    v->kind = kind;
    GROW(u->arena, u->n_arena, u->cap_arena);
    u->arena[u->n_arena++] = v;
    return v;
}

static void add_item(Value *c, Value *x) {
    GROW(c->item, c->n, c->cap);
    c->item[c->n++] = x;
}

static void push(Unpickler *u, Value *v) {
    GROW(u->stack, u->sp, u->cap_stack);
    u->stack[u->sp++] = v;
}

// Pops one value above the innermost mark.
static Value *pop(Unpickler *u) {
    int floor = u->n_marks ? u->marks[u->n_marks - 1] : 0;
    if (u->sp <= floor) {
        err_set(u->msg, "pickle stack underflow at offset %zu", u->pos);
        return NULL;
    }
    return u->stack[--u->sp];
}

// The stack position of the innermost mark, which is removed (items above it stay).
static int pop_mark(Unpickler *u) {
    if (!u->n_marks) return err_set(u->msg, "pickle MARK missing at offset %zu", u->pos);
    return u->marks[--u->n_marks];
}

static const uint8_t *take(Unpickler *u, size_t k) {
    if (k > u->n - u->pos) {
        err_set(u->msg, "pickle truncated at offset %zu", u->pos);
        return NULL;
    }
    const uint8_t *r = u->p + u->pos;
    u->pos += k;
    return r;
}

static const char *kind_name(VKind k) {
    static const char *names[] = { "None", "bool", "int", "str", "tuple", "dict", "global", "storage", "tensor" };
    return names[k];
}

// ---------------------------------------------------------------- the globals

static const struct { const char *module, *name; int id; StDtype dtype; } GLOBALS[] = {
    { "collections", "OrderedDict", G_ORDERED_DICT, ST_F32 },
    { "torch._utils", "_rebuild_tensor_v2", G_REBUILD_TENSOR, ST_F32 },
    { "torch", "FloatStorage", G_STORAGE, ST_F32 },
    { "torch", "BFloat16Storage", G_STORAGE, ST_BF16 },
    { "torch", "HalfStorage", G_STORAGE, ST_F16 },
    { "torch", "DoubleStorage", G_STORAGE, ST_F64 },
};

// GLOBAL: "module\nname\n", looked up in the table; anything else is refused by name.
static int op_global(Unpickler *u) {
    const char *s = (const char *)u->p + u->pos, *end = (const char *)u->p + u->n;
    const char *nl1 = memchr(s, '\n', (size_t)(end - s));
    const char *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1)) : NULL;
    if (!nl2) return err_set(u->msg, "pickle GLOBAL truncated at offset %zu", u->pos);
    int ml = (int)(nl1 - s), nl = (int)(nl2 - nl1 - 1);
    u->pos = (size_t)(nl2 + 1 - (const char *)u->p);
    for (size_t i = 0; i < sizeof GLOBALS / sizeof *GLOBALS; i++)
        if ((int)strlen(GLOBALS[i].module) == ml && !memcmp(s, GLOBALS[i].module, ml) &&
            (int)strlen(GLOBALS[i].name) == nl && !memcmp(nl1 + 1, GLOBALS[i].name, nl)) {
            Value *v = new_value(u, V_GLOBAL);
            v->i = GLOBALS[i].id;
            v->dtype = GLOBALS[i].dtype;
            push(u, v);
            return 0;
        }
    return err_set(u->msg, "pickle global '%.*s.%.*s' is not allowed (a state_dict of float tensors needs "
                   "none but OrderedDict, _rebuild_tensor_v2 and the storage types)",
                   MIN(ml, 80), s, MIN(nl, 80), nl1 + 1);
}

// ---------------------------------------------------------------- tensors

static bool is_int(const Value *v) { return v && v->kind == V_INT; }

// BINPERSID: ('storage', <StorageType>, key, location, numel) -> the entry <root>/data/<key>,
// whose size must be exactly numel elements of that type.
static int op_persid(Unpickler *u) {
    Value *t = pop(u);
    if (!t) return -1;
    if (t->kind != V_TUPLE || t->n != 5 || t->item[0]->kind != V_STR || strcmp(t->item[0]->s, "storage") ||
        t->item[1]->kind != V_GLOBAL || t->item[1]->i != G_STORAGE || t->item[2]->kind != V_STR ||
        t->item[3]->kind != V_STR || !is_int(t->item[4]) || t->item[4]->i < 0)
        return err_set(u->msg, "pickle persistent id at offset %zu is not ('storage', type, key, location, numel)",
                       u->pos);
    const char *key = t->item[2]->s;
    char name[512];
    snprintf(name, sizeof name, "%sdata/%s", u->root, key);
    const ZipEntry *z = NULL;
    for (int i = 0; i < u->n_zip && !z; i++)
        if (!strcmp(u->zip[i].name, name)) z = &u->zip[i];
    if (!z || !*key || strchr(key, '/')) return err_set(u->msg, "storage '%.64s' has no entry %.200s", key, name);
    StDtype d = t->item[1]->dtype;
    int64_t numel = t->item[4]->i;
    size_t es = st_dtype_size(d);
    if ((uint64_t)numel > SIZE_MAX / es || z->size != (size_t)numel * es)
        return err_set(u->msg, "storage '%.64s' holds %zu bytes, its record says %lld %s values", key, z->size,
                       (long long)numel, st_dtype_name(d));
    Value *s = new_value(u, V_STORAGE);
    s->dtype = d;
    s->i = numel;
    s->data = z->data;
    push(u, s);
    return 0;
}

// Copies a strided view into a fresh row-major buffer (element by element: checkpoints
// store contiguous tensors; this is the rare case).
static uint8_t *gather(const uint8_t *base, size_t es, int nd, const int64_t *size, const int64_t *stride,
                       int64_t numel) {
    uint8_t *out = xmalloc((size_t)numel * es);
    int64_t idx[ST_MAX_DIMS] = { 0 };
    for (int64_t i = 0; i < numel; i++) {
        int64_t off = 0;
        for (int k = 0; k < nd; k++) off += idx[k] * stride[k];
        memcpy(out + (size_t)i * es, base + (size_t)off * es, es);
        for (int k = nd - 1; k >= 0 && ++idx[k] == size[k]; k--) idx[k] = 0;
    }
    return out;
}

// Reads a tuple of non-negative ints (a size or a stride) into out[0..nd).
static int int_tuple(Unpickler *u, const Value *t, int64_t *out, int *nd, const char *what) {
    if (t->kind != V_TUPLE || t->n > ST_MAX_DIMS)
        return err_set(u->msg, "tensor %s at offset %zu is not a tuple of at most %d ints", what, u->pos, ST_MAX_DIMS);
    for (int k = 0; k < t->n; k++) {
        if (!is_int(t->item[k]) || t->item[k]->i < 0 || t->item[k]->i > ((int64_t)1 << 40))
            return err_set(u->msg, "tensor %s at offset %zu has a bad entry", what, u->pos);
        out[k] = t->item[k]->i;
    }
    *nd = t->n;
    return 0;
}

// REDUCE of _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks): the
// view must lie inside its storage; a contiguous one points into it, others are gathered.
static int rebuild_tensor(Unpickler *u, const Value *a) {
    if (a->kind != V_TUPLE || a->n != 6 || a->item[0]->kind != V_STORAGE || !is_int(a->item[1]) ||
        a->item[4]->kind != V_BOOL || a->item[5]->kind != V_DICT || a->item[5]->n)
        return err_set(u->msg, "_rebuild_tensor_v2 at offset %zu: arguments are not (storage, offset, size, "
                       "stride, requires_grad, {})", u->pos);
    const Value *s = a->item[0];
    int64_t offset = a->item[1]->i, size[ST_MAX_DIMS], stride[ST_MAX_DIMS];
    int nd, nds;
    if (int_tuple(u, a->item[2], size, &nd, "size") || int_tuple(u, a->item[3], stride, &nds, "stride")) return -1;
    if (nds != nd) return err_set(u->msg, "tensor at offset %zu: %d sizes but %d strides", u->pos, nd, nds);
    // last: the highest element index the view reads. Each term is checked against the
    // storage before it is added, so nothing overflows; a view with more elements than its
    // storage (a broadcast) is refused, which also bounds the copy below.
    int64_t numel = 1, last = offset, want = 1;
    bool contiguous = true, inside = offset >= 0 && offset <= s->i;
    for (int k = nd - 1; k >= 0 && inside; k--) {
        if (size[k] > 1 && stride[k] > 0 && size[k] - 1 > (s->i - last) / stride[k]) inside = false;
        else if (size[k] > 1) last += (size[k] - 1) * stride[k];
        if (size[k] > 0 && numel > ((int64_t)1 << 40) / size[k]) {   // before the product overflows
            inside = false;
            break;
        }
        numel *= size[k];
        if (size[k] != 1 && stride[k] != want) contiguous = false;
        want *= size[k];
    }
    if (!inside || numel > s->i || (numel > 0 && last >= s->i))
        return err_set(u->msg, "tensor at offset %zu reads past its storage of %lld elements", u->pos,
                       (long long)s->i);
    size_t es = st_dtype_size(s->dtype);
    StTensor t = { .dtype = s->dtype, .ndim = nd, .numel = numel, .nbytes = (size_t)numel * es };
    memcpy(t.shape, size, sizeof(int64_t) * (size_t)nd);
    t.data = s->data + (size_t)offset * es;
    if (!contiguous && numel > 0) {
        TorchCkpt *tc = u->tc;
        uint8_t *copy = gather(t.data, es, nd, size, stride, numel);
        tc->owned = xrealloc(tc->owned, sizeof *tc->owned * (size_t)(tc->n_owned + 1));
        tc->owned[tc->n_owned++] = copy;
        t.data = copy;
    }
    GROW(u->tensors, u->n_tensors, u->cap_tensors);
    u->tensors[u->n_tensors] = t;
    Value *v = new_value(u, V_TENSOR);
    v->i = u->n_tensors++;
    push(u, v);
    return 0;
}

static int op_reduce(Unpickler *u) {
    Value *args = pop(u), *f = args ? pop(u) : NULL;
    if (!f) return -1;
    if (f->kind == V_GLOBAL && f->i == G_REBUILD_TENSOR) return rebuild_tensor(u, args);
    if (f->kind == V_GLOBAL && f->i == G_ORDERED_DICT && args->kind == V_TUPLE && args->n == 0) {
        push(u, new_value(u, V_DICT));
        return 0;
    }
    return err_set(u->msg, "pickle REDUCE at offset %zu calls a %s: only OrderedDict() and _rebuild_tensor_v2 "
                   "are allowed", u->pos, kind_name(f->kind));
}

// ---------------------------------------------------------------- containers

static int op_tuple(Unpickler *u, int k) {   // k < 0: TUPLE (down to the mark)
    int from = k < 0 ? pop_mark(u) : u->sp - k;
    if (k < 0 && from < 0) return -1;
    if (from < (u->n_marks ? u->marks[u->n_marks - 1] : 0))
        return err_set(u->msg, "pickle stack underflow at offset %zu", u->pos);
    Value *t = new_value(u, V_TUPLE);
    for (int i = from; i < u->sp; i++) add_item(t, u->stack[i]);
    u->sp = from;
    push(u, t);
    return 0;
}

// SETITEM(S): key/value pairs from the stack into the dict below them.
static int op_setitems(Unpickler *u, bool many) {
    int from = many ? pop_mark(u) : u->sp - 2;
    if (many && from < 0) return -1;
    int floor = u->n_marks ? u->marks[u->n_marks - 1] : 0;
    if (from - 1 < floor || (u->sp - from) % 2)
        return err_set(u->msg, "pickle SETITEMS at offset %zu: malformed", u->pos);
    Value *d = u->stack[from - 1];
    if (d->kind != V_DICT) return err_set(u->msg, "pickle SETITEMS at offset %zu on a %s", u->pos, kind_name(d->kind));
    for (int i = from; i < u->sp; i++) add_item(d, u->stack[i]);
    u->sp = from;
    return 0;
}

// BUILD sets the state of the object below: for the state_dict that is {'_metadata': ...}
// (module versions), read and dropped.
static int op_build(Unpickler *u) {
    Value *state = pop(u);
    if (!state) return -1;
    if (!u->sp || u->stack[u->sp - 1]->kind != V_DICT || state->kind != V_DICT)
        return err_set(u->msg, "pickle BUILD at offset %zu on something other than a dict", u->pos);
    return 0;
}

// BINPUT / LONG_BINPUT and BINGET / LONG_BINGET. Indices are bounded by the pickle's size
// (every memo entry costs at least two bytes of it), so a hostile index cannot allocate.
static int op_put(Unpickler *u, size_t idx) {
    if (!u->sp) return err_set(u->msg, "pickle PUT on an empty stack at offset %zu", u->pos);
    if (idx >= u->n) return err_set(u->msg, "pickle memo index %zu out of range", idx);
    if (idx >= u->cap_memo) {
        size_t cap = MAX(2 * u->cap_memo, idx + 1);
        u->memo = xrealloc(u->memo, sizeof *u->memo * cap);
        memset(u->memo + u->cap_memo, 0, sizeof *u->memo * (cap - u->cap_memo));
        u->cap_memo = cap;
    }
    u->memo[idx] = u->stack[u->sp - 1];
    return 0;
}

static int op_get(Unpickler *u, size_t idx) {
    if (idx >= u->cap_memo || !u->memo[idx]) return err_set(u->msg, "pickle memo index %zu is not set", idx);
    push(u, u->memo[idx]);
    return 0;
}

// ---------------------------------------------------------------- the machine

static Value *int_value(Unpickler *u, int64_t x) {
    Value *v = new_value(u, V_INT);
    v->i = x;
    return v;
}

static int op_string(Unpickler *u) {
    const uint8_t *h = take(u, 4), *s = h ? take(u, rd32(h)) : NULL;
    if (!s) return -1;
    size_t k = rd32(h);
    if (memchr(s, 0, k)) return err_set(u->msg, "pickle string with a NUL byte at offset %zu", u->pos);
    Value *v = new_value(u, V_STR);
    v->s = xmalloc(k + 1);
    memcpy(v->s, s, k);
    v->s[k] = 0;
    push(u, v);
    return 0;
}

static int op_long1(Unpickler *u) {   // little-endian two's complement, up to 8 bytes
    const uint8_t *h = take(u, 1), *b = h ? take(u, *h) : NULL;
    if (!b) return -1;
    if (*h > 8) return err_set(u->msg, "pickle LONG1 of %d bytes at offset %zu", *h, u->pos);
    uint64_t x = 0;
    for (int k = 0; k < *h; k++) x |= (uint64_t)b[k] << (8 * k);
    if (*h && *h < 8 && (b[*h - 1] & 0x80)) x |= ~(uint64_t)0 << (8 * *h);   // sign-extend
    push(u, int_value(u, (int64_t)x));
    return 0;
}

// One opcode. Returns 1 at STOP, 0 to go on, -1 on error.
static int step(Unpickler *u) {
    const uint8_t *o = take(u, 1), *a;
    if (!o) return -1;
    Value *v;
    switch (*o) {
    case 0x80:   // PROTO
        if (!(a = take(u, 1))) return -1;
        if (*a != 2) return err_set(u->msg, "pickle protocol %d (torch.save writes 2)", *a);
        return 0;
    case '(':    // MARK
        GROW(u->marks, u->n_marks, u->cap_marks);
        u->marks[u->n_marks++] = u->sp;
        return 0;
    case '.':    // STOP
        return 1;
    case 'c': return op_global(u);
    case 'X': return op_string(u);
    case 'K': if (!(a = take(u, 1))) return -1; push(u, int_value(u, a[0])); return 0;            // BININT1
    case 'M': if (!(a = take(u, 2))) return -1; push(u, int_value(u, rd16(a))); return 0;         // BININT2
    case 'J': if (!(a = take(u, 4))) return -1; push(u, int_value(u, (int32_t)rd32(a))); return 0; // BININT
    case 0x8a: return op_long1(u);
    case 'N': push(u, new_value(u, V_NONE)); return 0;
    case 0x88: case 0x89:   // NEWTRUE, NEWFALSE
        v = new_value(u, V_BOOL);
        v->i = *o == 0x88;
        push(u, v);
        return 0;
    case ')': push(u, new_value(u, V_TUPLE)); return 0;   // EMPTY_TUPLE
    case '}': push(u, new_value(u, V_DICT)); return 0;    // EMPTY_DICT
    case 't': return op_tuple(u, -1);
    case 0x85: case 0x86: case 0x87: return op_tuple(u, *o - 0x84);   // TUPLE1..3
    case 's': return op_setitems(u, false);
    case 'u': return op_setitems(u, true);
    case 'b': return op_build(u);
    case 'R': return op_reduce(u);
    case 'Q': return op_persid(u);
    case 'q': if (!(a = take(u, 1))) return -1; return op_put(u, a[0]);
    case 'r': if (!(a = take(u, 4))) return -1; return op_put(u, rd32(a));
    case 'h': if (!(a = take(u, 1))) return -1; return op_get(u, a[0]);
    case 'j': if (!(a = take(u, 4))) return -1; return op_get(u, rd32(a));
    default:
        return err_set(u->msg, "pickle opcode 0x%02x at offset %zu is not allowed (not one a state_dict needs)",
                       *o, u->pos - 1);
    }
}

// The result must be a dict of str -> tensor; it names the rebuilt tensors, in order.
static int collect(Unpickler *u, TorchCkpt *tc) {
    if (u->sp != 1 || u->n_marks) return err_set(u->msg, "pickle ends with %d values on the stack", u->sp);
    const Value *d = u->stack[0];
    if (d->kind != V_DICT) return err_set(u->msg, "the pickle holds a %s, not a state_dict", kind_name(d->kind));
    tc->tensors = xcalloc((size_t)MAX(d->n / 2, 1), sizeof *tc->tensors);
    for (int i = 0; i < d->n; i += 2) {
        const Value *k = d->item[i], *x = d->item[i + 1];
        if (k->kind != V_STR) return err_set(u->msg, "state_dict key %d is a %s, not a string", i / 2, kind_name(k->kind));
        if (x->kind != V_TENSOR)
            return err_set(u->msg, "state_dict entry '%.200s' is a %s, not a tensor", k->s, kind_name(x->kind));
        for (int j = 0; j < tc->n; j++)
            if (!strcmp(tc->tensors[j].name, k->s)) return err_set(u->msg, "state_dict key '%.200s' appears twice", k->s);
        tc->tensors[tc->n] = u->tensors[x->i];
        tc->tensors[tc->n++].name = xstrdup(k->s);
    }
    return 0;
}

static int unpickle(const ZipEntry *pkl, const ZipEntry *zip, int n_zip, const char *root, TorchCkpt *tc,
                    char *msg) {
    Unpickler u = { .p = pkl->data, .n = pkl->size, .zip = zip, .n_zip = n_zip, .root = root, .tc = tc, .msg = msg };
    int rc = 0;
    while (!rc) rc = step(&u);
    if (rc > 0) rc = collect(&u, tc);
    for (int i = 0; i < u.n_arena; i++) {
        free(u.arena[i]->s);
        free(u.arena[i]->item);
        free(u.arena[i]);
    }
    free(u.arena);
    free(u.stack);
    free(u.marks);
    free(u.memo);
    free(u.tensors);
    return rc;
}

// ===================================================================== the checkpoint

// <root>/data.pkl, where root is the archive's one top-level folder.
static const ZipEntry *find_pickle(const ZipEntry *z, int n, char *root, size_t cap) {
    for (int i = 0; i < n; i++) {
        const char *slash = strchr(z[i].name, '/');
        if (slash && !strcmp(slash, "/data.pkl") && (size_t)(slash - z[i].name) + 2 <= cap) {
            snprintf(root, cap, "%.*s/", (int)(slash - z[i].name), z[i].name);
            return &z[i];
        }
    }
    return NULL;
}

static int check_byteorder(const ZipEntry *z, int n, const char *root, char *msg) {
    char name[512];
    snprintf(name, sizeof name, "%sbyteorder", root);
    for (int i = 0; i < n; i++)
        if (!strcmp(z[i].name, name) && !(z[i].size >= 6 && !memcmp(z[i].data, "little", 6)))
            return err_set(msg, "%s is not 'little': big-endian storages are not supported", name);
    return 0;
}

int torch_load(TorchCkpt *tc, const char *path, char *err) {
    memset(tc, 0, sizeof *tc);
    char msg[ERR_LEN], root[256];
    size_t size;
    uint8_t *buf = (uint8_t *)read_file(path, &size, err);
    if (!buf) return -1;
    ZipEntry *z = NULL;
    int n = 0, rc = zip_entries(buf, size, &z, &n, msg);
    const ZipEntry *pkl = rc ? NULL : find_pickle(z, n, root, sizeof root);
    if (!rc && !pkl) rc = err_set(msg, "no <archive>/data.pkl: not a torch.save file");
    if (!rc) rc = check_byteorder(z, n, root, msg);
    if (!rc && (rc = unpickle(pkl, z, n, root, tc, msg)))
        snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " (in %sdata.pkl)", root);
    zip_entries_free(z, n);
    tc->buf = buf;
    tc->size = size;
    if (rc) {
        torch_free(tc);
        return err_set(err, "%s: %s", path, msg);
    }
    tc->path = xstrdup(path);
    return 0;
}

void torch_free(TorchCkpt *tc) {
    if (!tc) return;
    for (int i = 0; i < tc->n; i++) free(tc->tensors[i].name);
    for (int i = 0; i < tc->n_owned; i++) free(tc->owned[i]);
    free(tc->tensors);
    free(tc->owned);
    free(tc->buf);
    free(tc->path);
    memset(tc, 0, sizeof *tc);
}
