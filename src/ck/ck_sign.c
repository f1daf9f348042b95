/*-------------------------------------------------------------------------
 *
 * ck_sign.c
 *		  CloudKit server-to-server request signing and verification.
 *
 * The signature is ECDSA P-256 with SHA-256 over
 * "date:base64(sha256(body)):subpath", DER-encoded and base64'd.
 * EVP_DigestSign produces DER directly, which is what CloudKit expects
 * (raw r||s is a known wrong variant).
 *
 * Error messages never include key material: OpenSSL's own error strings
 * name the failing routine, not the data, but we still prefer our own words
 * and clear OpenSSL's error queue so callers start clean.
 *
 * src/ck/ck_sign.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "ck/ck_sign.h"
#include "ck/ck_util.h"

static void
ck_sign_errmsg(char *err, size_t errlen, const char *msg)
{
	if (err && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

/*
 * PEM password callback: never prompt (PEM_read_bio_* would otherwise read
 * a passphrase from the controlling terminal).  Encrypted keys are refused.
 */
static int
ck_no_password_cb(char *buf, int size, int rwflag, void *userdata)
{
	*(bool *) userdata = true;
	return -1;
}

/* Check that pkey is an EC key on prime256v1 (secp256r1, NIST P-256). */
static bool
ck_key_check_p256(EVP_PKEY *pkey, char *err, size_t errlen)
{
	char		group[80];
	size_t		glen = 0;
	int			nid;

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC)
	{
		ck_sign_errmsg(err, errlen,
					   "the key is not an elliptic-curve (EC) key; CloudKit needs an EC key on curve prime256v1 (P-256)");
		return false;
	}
	if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
										group, sizeof(group), &glen))
	{
		ERR_clear_error();
		ck_sign_errmsg(err, errlen,
					   "the EC key has no named curve; CloudKit needs curve prime256v1 (P-256)");
		return false;
	}
	nid = OBJ_txt2nid(group);
	if (nid == NID_undef)
		nid = EC_curve_nist2nid(group);
	if (nid != NID_X9_62_prime256v1)
	{
		char		msg[200];

		snprintf(msg, sizeof(msg),
				 "the EC key is on curve %s; CloudKit needs curve prime256v1 (P-256)",
				 group);
		ck_sign_errmsg(err, errlen, msg);
		return false;
	}
	return true;
}

CkKey *
ck_key_load_private_pem(const char *pem, char *err, size_t errlen)
{
	BIO		   *bio;
	EVP_PKEY   *pkey;
	bool		wanted_password = false;

	if (pem == NULL || strstr(pem, "-----BEGIN ") == NULL)
	{
		ck_sign_errmsg(err, errlen,
					   "the private key is not in PEM format (expected \"-----BEGIN EC PRIVATE KEY-----\" or \"-----BEGIN PRIVATE KEY-----\")");
		return NULL;
	}
	if (strstr(pem, "-----BEGIN PUBLIC KEY-----") != NULL &&
		strstr(pem, "PRIVATE KEY-----") == NULL)
	{
		ck_sign_errmsg(err, errlen,
					   "a public key was given where the private key is needed (the public key goes into CloudKit Console; sign with the private key)");
		return NULL;
	}

	ERR_clear_error();
	bio = BIO_new_mem_buf(pem, -1);
	if (bio == NULL)
	{
		ck_sign_errmsg(err, errlen, "out of memory reading the private key");
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, ck_no_password_cb, &wanted_password);
	BIO_free(bio);
	ERR_clear_error();

	if (pkey == NULL)
	{
		if (wanted_password || strstr(pem, "ENCRYPTED") != NULL)
			ck_sign_errmsg(err, errlen,
						   "the private key is encrypted with a passphrase, which is not supported; decrypt it with \"openssl ec -in KEY -out KEY_PLAIN\"");
		else
			ck_sign_errmsg(err, errlen,
						   "the private key PEM could not be parsed (expected an EC P-256 key as made by \"openssl ecparam -name prime256v1 -genkey -noout\")");
		return NULL;
	}
	if (!ck_key_check_p256(pkey, err, errlen))
	{
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

CkKey *
ck_key_load_public_pem(const char *pem, char *err, size_t errlen)
{
	BIO		   *bio;
	EVP_PKEY   *pkey;

	if (pem == NULL || strstr(pem, "-----BEGIN ") == NULL)
	{
		ck_sign_errmsg(err, errlen,
					   "the public key is not in PEM format (expected \"-----BEGIN PUBLIC KEY-----\")");
		return NULL;
	}
	ERR_clear_error();
	bio = BIO_new_mem_buf(pem, -1);
	if (bio == NULL)
	{
		ck_sign_errmsg(err, errlen, "out of memory reading the public key");
		return NULL;
	}
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL)
	{
		ck_sign_errmsg(err, errlen,
					   "the public key PEM could not be parsed (expected \"-----BEGIN PUBLIC KEY-----\" as made by \"openssl ec -in KEY -pubout\")");
		return NULL;
	}
	if (!ck_key_check_p256(pkey, err, errlen))
	{
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

void
ck_key_free(CkKey *key)
{
	if (key)
		EVP_PKEY_free(key);
}

char *
ck_sign_message(const char *date, const void *body, size_t body_len,
				const char *subpath)
{
	char		hash[45];
	size_t		len;
	char	   *msg;

	ck_sha256_base64(body, body_len, hash);
	len = strlen(date) + 1 + strlen(hash) + 1 + strlen(subpath) + 1;
	msg = malloc(len);
	if (msg == NULL)
		return NULL;
	snprintf(msg, len, "%s:%s:%s", date, hash, subpath);
	return msg;
}

char *
ck_sign_request(CkKey *key, const char *date,
				const void *body, size_t body_len,
				const char *subpath, char *err, size_t errlen)
{
	char	   *msg;
	EVP_MD_CTX *ctx = NULL;
	unsigned char *sig = NULL;
	size_t		siglen = 0;
	char	   *result = NULL;

	if (key == NULL)
	{
		ck_sign_errmsg(err, errlen, "no signing key");
		return NULL;
	}
	msg = ck_sign_message(date, body, body_len, subpath);
	if (msg == NULL)
	{
		ck_sign_errmsg(err, errlen, "out of memory building the signed message");
		return NULL;
	}

	ERR_clear_error();
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL ||
		EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
		EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *) msg,
					   strlen(msg)) != 1 ||
		(sig = malloc(siglen)) == NULL ||
		EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *) msg,
					   strlen(msg)) != 1)
	{
		unsigned long e = ERR_peek_last_error();
		char		buf[160];
		char		full[256];

		if (e != 0)
		{
			ERR_error_string_n(e, buf, sizeof(buf));
			snprintf(full, sizeof(full), "could not sign the request: %s", buf);
		}
		else
			snprintf(full, sizeof(full), "could not sign the request");
		ck_sign_errmsg(err, errlen, full);
		goto done;
	}
	result = ck_base64_encode(sig, siglen);
	if (result == NULL)
		ck_sign_errmsg(err, errlen, "out of memory encoding the signature");

done:
	ERR_clear_error();
	free(sig);
	EVP_MD_CTX_free(ctx);
	free(msg);
	return result;
}

bool
ck_verify_request(CkKey *key, const char *date,
				  const void *body, size_t body_len,
				  const char *subpath, const char *signature_b64)
{
	char	   *msg;
	unsigned char *sig;
	size_t		siglen;
	EVP_MD_CTX *ctx;
	bool		ok = false;

	if (key == NULL || date == NULL || subpath == NULL || signature_b64 == NULL)
		return false;
	sig = ck_base64_decode(signature_b64, strlen(signature_b64), &siglen);
	if (sig == NULL)
		return false;
	msg = ck_sign_message(date, body, body_len, subpath);
	if (msg == NULL)
	{
		free(sig);
		return false;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx != NULL &&
		EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
		EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *) msg,
						 strlen(msg)) == 1)
		ok = true;
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	free(msg);
	free(sig);
	return ok;
}
