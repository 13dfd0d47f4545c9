/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key-source seam: how token objects get their key material. A key source fills the tokens
 * whose config says `source = <its name>`; the module knows nothing about where keys come from.
 *
 *   source = file      mod_ks_file.c (only with SKR_TEST_KEYSOURCE): local PKCS#8/raw/X.509
 *   source = keyvault  mod_ks_keyvault.c (keyrelease/ issue): Azure Secure Key Release
 *
 * Flow inside C_Initialize (mod_keysource.c): the module makes one sink per token, groups the
 * sinks by source, and calls each source's load() ONCE with all of its tokens, without holding
 * any module lock. A source may work on all tokens and keys concurrently (the Key Vault source
 * releases everything in parallel); every mod_keysink_* function is thread-safe.
 *
 * Two phases per key, so public metadata can appear before (or without) a release:
 *   1. public part: st_import_public_spki() / st_import_certificate() → mod_keysink_add();
 *   2. private part: st_import_private_pkcs8(..., &priv, NULL) or st_import_secret() →
 *      mod_keysink_add().
 * A key that fails in phase 2 may keep its phase-1 objects; the source then reports it with
 * mod_keysink_fail(). After all loads return, C_Initialize fails with CKR_DEVICE_ERROR if any
 * failed key has `required = yes`; otherwise the failure stays a logged warning and the token
 * holds what was added. Objects are published to the slot only when C_Initialize succeeds.
 */
#ifndef SKR_MODULE_MOD_KEYSOURCE_H
#define SKR_MODULE_MOD_KEYSOURCE_H

#include <stddef.h>

#include "cfg.h"
#include "st.h"
#include "u_pkcs11.h"

/* One token being filled. Opaque; owned by the module; valid during load() only. */
struct mod_keysink;

struct mod_keysource_ops {
    const char *name;           /* "file", "keyvault": for logs */
    enum cfg_key_source source; /* the `source =` value it serves */
    /**
     * Load every key of every token in `sinks` (all tokens using this source; nsinks ≥ 1).
     * `cfg` and each sink's cfg_token are borrowed and stay valid during the call. No module
     * lock is held. Per-key problems are reported with mod_keysink_fail() and are NOT a reason
     * to return an error. Return CKR_OK when the source ran; any other CK_RV (e.g.
     * CKR_HOST_MEMORY, CKR_DEVICE_ERROR when the source as a whole could not run) fails every
     * key of these tokens, and C_Initialize returns it if a required key is among them.
     */
    CK_RV (*load)(const struct cfg *cfg, struct mod_keysink *const *sinks, size_t nsinks);
};

/** The token this sink fills (borrowed from the config). */
const struct cfg_token *mod_keysink_token(const struct mod_keysink *sink);

/**
 * Add a token object. Takes the caller's reference to `obj` whatever it returns (on error the
 * object is released). The object must be a token object (CKA_TOKEN TRUE, see key_meta below).
 * Thread-safe. CKR_OK, CKR_HOST_MEMORY, CKR_ARGUMENTS_BAD (NULL sink/obj).
 */
CK_RV mod_keysink_add(struct mod_keysink *sink, struct st_object *obj);

/**
 * Report that `key` (one of this token's cfg keys; NULL = the token as a whole) failed.
 * `rv` is the CK_RV it maps to (CKR_DEVICE_ERROR for network/attestation/release failures),
 * `reason` a one-line text without secrets. Logs one line (error if the key is required, else
 * warning). Thread-safe; may be called more than once per key (the first report is kept).
 */
void mod_keysink_fail(struct mod_keysink *sink, const struct cfg_key *key, CK_RV rv,
                      const char *reason);

/**
 * Fill `m` with the st_import_* metadata of `key` on this token: label (cfg label), id (cfg id,
 * or none → SHA-1 of the public key), secret_type from oct-type/key-type, token = true,
 * private_ = true when the token has a PIN. Pointers in `m` borrow from the config.
 */
void mod_keysink_key_meta(const struct mod_keysink *sink, const struct cfg_key *key,
                          struct st_key_meta *m);

/* The sources compiled in (mod_keysource.c picks by cfg_token.source). */
#ifdef SKR_TEST_KEYSOURCE
extern const struct mod_keysource_ops mod_ks_file;
#endif
#ifdef SKR_HAVE_KS_KEYVAULT
extern const struct mod_keysource_ops mod_ks_keyvault;
#endif

#endif /* SKR_MODULE_MOD_KEYSOURCE_H */
