// test_sha256.c: FIPS 180-4 example digests, digests from Python's hashlib (the ARC
// builder's hashes), and streaming in pieces equals hashing in one call.
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "test.h"

static void check_hex(const void *data, size_t n, const char *want, const char *what) {
    uint8_t d[32];
    char hex[65];
    sha256(data, n, d);
    sha256_hex(d, hex);
    CHECK(strcmp(hex, want) == 0, "%s: %s, want %s", what, hex, want);
}

static void test_fips(void) {
    check_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty");
    check_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "abc");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_hex(m448, strlen(m448),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "448 bits");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    check_hex(m896, strlen(m896),
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1", "896 bits");
    enum { MILLION = 1000000 };
    char *a = xmalloc(MILLION);
    memset(a, 'a', MILLION);
    check_hex(a, MILLION,
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "a x 10^6");
    free(a);
}

// hashlib.sha256(bytes(...)).hexdigest(), computed with Python 3.
static void test_hashlib(void) {
    // An ARC grid as the builder hashes it: rows, cols, then the cells row by row.
    const uint8_t grid[] = {3, 2, 1, 2, 3, 4, 5, 6};
    check_hex(grid, sizeof grid,
              "9080f5833d9ba7ab3a79780ac28ec568cb2514b16141a7b4a210ff0e0242ffee", "grid 3x2");
    const uint8_t tiny[] = {1, 1, 0};
    check_hex(tiny, sizeof tiny,
              "9f44ac6acb8a37b00b615dc89259d306035be82dee7db2b472e4c48326195440", "grid 1x1");
    // bytes([30, 30] + [(i * 7) % 10 for i in range(900)]): the largest ARC grid.
    uint8_t big[902] = {30, 30};
    for (int i = 0; i < 900; i++) big[2 + i] = (uint8_t)((i * 7) % 10);
    check_hex(big, sizeof big,
              "740518d57ec292909c96b614c168d169d39ca33d1c90720ddc0d49e5cf2ce514", "grid 30x30");
    // bytes(range(n)) at the padding edges: 55 fits the length in the block, 56 does not.
    static const struct { int n; const char *hex; } edges[] = {
        {55, "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59"},
        {56, "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562"},
        {64, "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108"},
        {119, "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6"},
        {256, "40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880"},
    };
    uint8_t seq[256];
    for (int i = 0; i < 256; i++) seq[i] = (uint8_t)i;
    for (size_t k = 0; k < sizeof edges / sizeof edges[0]; k++) {
        char what[32];
        snprintf(what, sizeof what, "range(%d)", edges[k].n);
        check_hex(seq, (size_t)edges[k].n, edges[k].hex, what);
    }
}

static void test_streaming(void) {
    // Any two-piece split of 300 bytes (block boundaries on either side) equals one call.
    uint8_t msg[300], one[32], two[32];
    for (int i = 0; i < 300; i++) msg[i] = (uint8_t)(i * 31 + 7);
    sha256(msg, sizeof msg, one);
    int bad = -1;
    for (size_t k = 0; k <= sizeof msg; k++) {
        Sha256 s;
        sha256_init(&s);
        sha256_update(&s, msg, k);
        sha256_update(&s, msg + k, sizeof msg - k);
        sha256_final(&s, two);
        if (memcmp(one, two, 32) && bad < 0) bad = (int)k;
    }
    CHECK(bad < 0, "split at %d differs from one call", bad);

    // A million 'a' in odd-sized pieces (1, 3, 7, ..., with empty updates mixed in).
    enum { MILLION = 1000000 };
    char *a = xmalloc(MILLION);
    memset(a, 'a', MILLION);
    static const size_t pieces[] = {1, 3, 0, 7, 63, 64, 65, 127, 1000, 4093, 55, 56};
    Sha256 s;
    sha256_init(&s);
    size_t off = 0;
    for (int i = 0; off < MILLION; i++) {
        size_t n = pieces[i % (int)(sizeof pieces / sizeof pieces[0])];
        if (n > MILLION - off) n = MILLION - off;
        sha256_update(&s, a + off, n);
        off += n;
    }
    CHECK(s.len == MILLION, "length counter %llu", (unsigned long long)s.len);
    uint8_t d[32];
    char hex[65];
    sha256_final(&s, d);
    sha256_hex(d, hex);
    CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
          "a x 10^6 in pieces: %s", hex);
    free(a);
}

static void test_hex(void) {
    uint8_t d[32];
    memset(d, 0x5a, sizeof d);
    d[0] = 0x00; d[1] = 0x0f; d[2] = 0xa5; d[31] = 0xff;   // leading zeros, letters, both nibbles
    char hex[65];
    memset(hex, 'X', sizeof hex);
    sha256_hex(d, hex);
    CHECK(hex[64] == '\0' && strlen(hex) == 64, "hex is 64 digits and a NUL");
    CHECK(!strncmp(hex, "000fa55a", 8), "hex digits: %.8s, want 000fa55a", hex);
    CHECK(!strcmp(hex + 62, "ff"), "last byte: %s, want ff", hex + 62);
}

int main(void) {
    test_fips();
    test_hashlib();
    test_streaming();
    test_hex();
    return test_summary("sha256");
}
