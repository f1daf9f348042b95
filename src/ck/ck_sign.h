/*-------------------------------------------------------------------------
 *
 * ck_sign.h
 *		Server-to-server request signing (ECDSA P-256 / SHA-256, DER, base64)
 *		and its verification, as CloudKit Web Services define them:
 *
 *		message   = date ":" base64(sha256(body)) ":" subpath
 *		signature = base64(DER(ECDSA-P256-SHA256(message)))
 *
 * subpath is the request target as sent, from "/database/" on, including
 * "?query" when there is one.  No PostgreSQL headers.
 *
 * src/ck/ck_sign.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CK_SIGN_H
#define CK_SIGN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct evp_pkey_st CkKey;	/* an OpenSSL EVP_PKEY */

/*
 * Load an EC P-256 private key from PEM text (SEC1 "BEGIN EC PRIVATE KEY" or
 * PKCS#8 "BEGIN PRIVATE KEY").  On failure returns NULL and writes a message
 * for the user into err (never the key material itself): not PEM, not an EC
 * key, wrong curve.
 */
extern CkKey *ck_key_load_private_pem(const char *pem, char *err, size_t errlen);

/* Same for a public key ("BEGIN PUBLIC KEY"), used by the emulator. */
extern CkKey *ck_key_load_public_pem(const char *pem, char *err, size_t errlen);

extern void ck_key_free(CkKey *key);

/*
 * Build the signed message for date/body/subpath into a malloc'd string.
 */
extern char *ck_sign_message(const char *date, const void *body, size_t body_len,
							 const char *subpath);

/*
 * Sign: returns the malloc'd base64 of the DER signature, or NULL on an
 * OpenSSL failure (message in err).
 */
extern char *ck_sign_request(CkKey *key, const char *date,
							 const void *body, size_t body_len,
							 const char *subpath, char *err, size_t errlen);

/* Verify a base64 DER signature against date/body/subpath. */
extern bool ck_verify_request(CkKey *key, const char *date,
							  const void *body, size_t body_len,
							  const char *subpath, const char *signature_b64);

#endif							/* CK_SIGN_H */
