/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP client of keyrelease/ on libcurl: one request function with retries, and a parallel
 * variant (curl multi) for the release fan-out. Every request has connect and total timeouts, a
 * bounded response buffer (cfg max-response-bytes; exceeding it fails the request), TLS
 * verification always on (the system store, plus cfg ca-file as CURLOPT_CAINFO when set).
 *
 * Retry policy (cfg [module]): 429, 5xx, connection errors and timeouts are retried up to
 * retry-max times with exponential backoff (retry-base-ms · 2^n) plus jitter, honouring
 * Retry-After, while the stage's total budget (retry-budget-ms) lasts. Other 4xx are final.
 *
 * On final failure exactly ONE error line is logged (subsystem "kr"):
 *   "<stage>: <METHOD> <url without query> failed: HTTP <status> <code>: <message>
 *    (x-ms-request-id <id>)"   or   "<stage>: <METHOD> <url> failed: <curl error>"
 * unless the request sets `quiet` (the caller then logs). Bodies, bearer tokens and secrets are
 * never logged.
 *
 * Thread safety: a struct kr_http may be used from several threads at once. Each call takes an
 * easy handle from the client's idle list (preferring one whose kept-alive connection goes to the
 * same scheme://host:port) or makes one, and gives it back afterwards: connections are reused
 * from one request, phase and thread to the next. Handles are never shared across a fork.
 */
#ifndef SKR_KEYRELEASE_KR_HTTP_H
#define SKR_KEYRELEASE_KR_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/types.h>

#include "cfg.h"
#include "kr_err.h"
#include "u_secmem.h"

struct kr_http;

/** One request. Everything is borrowed for the duration of the call. */
struct kr_http_req {
    enum kr_stage stage;           /* for the failure log line */
    const char *method;            /* "GET" or "POST" */
    const char *url;               /* full URL; the query part is never logged */
    const char *const *headers;    /* NULL-terminated "Name: value" list, or NULL */
    const struct u_secbuf *bearer; /* if set: "Authorization: Bearer <bearer>" is built in a
                                      secure buffer and wiped after the transfer */
    const char *body;              /* request body (POST), may be NULL */
    size_t body_len;
    bool no_proxy;    /* IMDS: CURLOPT_NOPROXY "*" (never through a proxy) */
    bool secret_body; /* the response body carries a secret (a bearer token): it is stored in
                         resp->sbody (secure heap) instead of resp->body */
    bool quiet;       /* do not log the final failure (the caller logs its own line) */
};

/** Response. Initialise with `= {0}`; release with kr_http_resp_cleanup. */
struct kr_http_resp {
    long status; /* HTTP status of the last attempt; 0 if none received */
    char *body;  /* NUL-terminated response body (malloc), NULL with secret_body */
    size_t body_len;
    struct u_secbuf *sbody; /* secret_body: NUL-terminated body in the secure heap (len = text
                               length, data[len] == 0) */
    char request_id[128];   /* x-ms-request-id (or x-ms-keyvault-... / client-request-id), "" */
    long retry_after_ms;    /* Retry-After of the last attempt, -1 if absent */
    char err_code[128];     /* Azure error code: {"error":{"code"}}, {"Error":{"Code"}} or AAD
                               {"error": "<code>"}; "" if none */
    char err_msg[512];      /* the matching message / error_description, truncated; "" */
    char curl_err[256];     /* curl's error text for a transport failure, "" */
    unsigned attempts;      /* how many attempts were made */
};

/**
 * Whether the key release may start threads of its own (default yes). A PKCS#11 application that
 * sets CKF_LIBRARY_CANT_CREATE_OS_THREADS gets `false`: attestation, the HTTP requests and the
 * TPM unwraps then run one after the other in the calling thread. Process-wide; set it before
 * kr_release_all. (libcurl's threaded resolver may still use a short-lived thread for a DNS
 * lookup: that is inside libcurl and cannot be turned off per handle.)
 */
void kr_set_threads_allowed(bool allowed);
bool kr_threads_allowed(void);

/**
 * Create a client from the [module] settings of `cfg` (borrowed; must outlive the client).
 * Takes a reference on curl_global_init (refcounted, released by kr_http_free).
 * KR_OK, KR_ERR_NOMEM, KR_ERR_INTERNAL (curl_global_init failed).
 */
enum kr_err kr_http_new(const struct cfg_http *cfg, struct kr_http **out);

/** Free; drops the curl_global reference. NULL-safe. */
void kr_http_free(struct kr_http *h);

/**
 * Verify every TLS peer against `store` (the client takes a reference), loaded once by the
 * caller, instead of letting libcurl load CA files for each new handle. Call before requests.
 * KR_OK, KR_ERR_INVALID.
 */
enum kr_err kr_http_set_trust(struct kr_http *h, X509_STORE *store);

/**
 * Perform `req` with the retry policy. Returns KR_OK for a 2xx answer (resp filled).
 * Otherwise resp still holds status, error code/message and request id of the last attempt:
 *   KR_ERR_NETWORK  transport failure (connect, TLS, timeout, response larger than the cap)
 *   KR_ERR_AUTH     401
 *   KR_ERR_FORBIDDEN 403 (callers refine with err_code/err_msg, e.g. to KR_ERR_POLICY)
 *   KR_ERR_NOT_FOUND 404
 *   KR_ERR_HTTP     any other non-2xx
 *   KR_ERR_NOMEM, KR_ERR_INTERNAL
 * The caller always calls kr_http_resp_cleanup(resp), whatever the result.
 */
enum kr_err kr_http_request(struct kr_http *h, const struct kr_http_req *req,
                            struct kr_http_resp *resp);

/**
 * Run `n` requests concurrently (a bounded pool of threads, each taking idle handles as in
 * kr_http_request, so their connections are reused), each with the same retry
 * policy as kr_http_request (a retry of one request does not delay the others). errs[i] and
 * resps[i] receive the result of reqs[i]. Returns KR_OK when all ran (individual failures are
 * in errs[]), or KR_ERR_NOMEM/KR_ERR_INTERNAL when the batch could not run at all (then every
 * errs[i] is set to that too). resps[] must be zero-initialised; clean each one up.
 */
enum kr_err kr_http_multi(struct kr_http *h, const struct kr_http_req *reqs,
                          struct kr_http_resp *resps, enum kr_err *errs, size_t n);

/**
 * kr_http_multi with a completion callback: `on_done(i, err, arg)` runs on a pool thread as soon
 * as request i has its final result (errs[i] and resps[i] are set), while other requests are
 * still in flight, so their answers can be processed (verified, unwrapped) in a pipeline. The
 * callback may run concurrently for different i; it must not touch other entries.
 */
typedef void (*kr_http_done_fn)(size_t i, enum kr_err err, void *arg);
enum kr_err kr_http_multi_cb(struct kr_http *h, const struct kr_http_req *reqs,
                             struct kr_http_resp *resps, enum kr_err *errs, size_t n,
                             kr_http_done_fn on_done, void *arg);

/** Free body/sbody (wiping sbody) and reset `resp` to zero. NULL-safe. */
void kr_http_resp_cleanup(struct kr_http_resp *resp);

/** Percent-encode `s` for a query value or form field (RFC 3986 unreserved kept). malloc'd
 *  result or NULL on OOM. Not for secrets (see kr_http_form_secret). */
char *kr_http_escape(const char *s);

/**
 * Build "k1=v1&k2=v2..." (values percent-encoded) into a secure buffer, for token requests that
 * carry a client secret or assertion. `pairs` is a NULL-terminated list k1, v1, k2, v2, ...;
 * `secret` (may be NULL) is appended as "&<secret_name>=<escaped secret>". KR_OK / KR_ERR_NOMEM.
 * The result's data is NUL-terminated, len excludes the NUL.
 */
enum kr_err kr_http_form_secret(const char *const *pairs, const char *secret_name,
                                const struct u_secbuf *secret, struct u_secbuf **out);

#endif /* SKR_KEYRELEASE_KR_HTTP_H */
