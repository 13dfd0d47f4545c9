/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoding released PKCS#8 private keys without leaving copies of them on the normal heap.
 * OpenSSL 3.0's provider decoder (d2i_AutoPrivateKey*, OSSL_DECODER, EVP_PKCS82PKEY) reads the
 * whole DER into plain heap buffers and frees them without wiping; d2i_ECPrivateKey frees its
 * private-key octet string unwiped; a default RSA caches Montgomery contexts holding p and q after
 * its first private operation. docs/security.md ("What a core dump showed") has the findings.
 */
#ifndef SKR_COMMON_U_PKCS8_H
#define SKR_COMMON_U_PKCS8_H

#include <stddef.h>

#include <openssl/evp.h>

/** PKCS#8 PrivateKeyInfo DER (exactly `len` bytes) → EVP_PKEY. RSA: a legacy RSA (private
 *  BIGNUMs on the secure heap) whose method does not cache private Montgomery contexts; EC: built
 *  from the scalar (secure BIGNUM) and the public point with EVP_PKEY_fromdata in `libctx`; other
 *  types and EC keys without the public point: OpenSSL's decoder (not leak-free). NULL if the
 *  DER is not a valid private key. */
EVP_PKEY *u_pkcs8_decode(const unsigned char *der, size_t len, OSSL_LIB_CTX *libctx);

/** Next DER element in [*p, end): its tag, class and content (borrowed, nothing copied). *p
 *  moves past a primitive element and into a constructed one (to its first child). 1, or 0 when
 *  the header is malformed or the content runs past `end` (an indefinite length gives clen 0). */
int u_der_next(const unsigned char **p, const unsigned char *end, int *tag, int *cls,
               const unsigned char **content, long *clen);

#endif /* SKR_COMMON_U_PKCS8_H */
