// sha256.h: SHA-256 (FIPS 180-4), for the grid and task hashes of the official ARC
// builder and evaluator (hashlib.sha256 in Python): bit-exact dataset builds and votes
// need the same digests.
#ifndef TRM_SHA256_H
#define TRM_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t len;          // bytes hashed so far
    uint8_t block[64];
    size_t fill;           // bytes in block
} Sha256;

void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *data, size_t n);
void sha256_final(Sha256 *s, uint8_t digest[32]);
// One call: digest of data[0..n).
void sha256(const void *data, size_t n, uint8_t digest[32]);
// The 64 lowercase hex digits of a digest plus a NUL (Python's hexdigest()).
void sha256_hex(const uint8_t digest[32], char hex[65]);

#endif
