#ifndef OPENCLAW_CCRYPTO_SHIM_H
#define OPENCLAW_CCRYPTO_SHIM_H
#include <stddef.h>
#include <openssl/sha.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>

/* The digests of the whole tool, from the libcrypto libssh2 is built on: SHA-256 (environment digests,
   host-key fingerprints) and HMAC-SHA1 (hashed known_hosts entries). */
static inline void openclaw_sha256(const unsigned char *data, size_t length, unsigned char *out32) {
    SHA256(data, length, out32);
}

static inline int openclaw_hmac_sha1(const unsigned char *key, int keyLength, const unsigned char *data, size_t length,
                                     unsigned char *out20) {
    unsigned int outLength = 20;
    return HMAC(EVP_sha1(), key, keyLength, data, length, out20, &outLength) != NULL;
}

#endif
