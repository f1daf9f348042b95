/*-------------------------------------------------------------------------
 *
 * test_sign.c
 *		  Unit tests of ck_sign.c, cross-checked with the openssl command
 *		  line tool, which shares no code with ours: keys come from
 *		  "openssl ecparam", our signatures are verified by "openssl dgst
 *		  -verify", and signatures made by "openssl dgst -sign" are verified
 *		  by ck_verify_request.
 *
 * test/unit/test_sign.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck/ck_sign.h"
#include "ck/ck_util.h"
#include "unit.h"

#define DATE	"2016-01-25T22:15:43Z"
#define SUBPATH "/database/1/iCloud.com.example.App/development/public/records/query"
#define BODY	"{\"query\":{\"recordType\":\"Note\"}}"

/* Make a file with openssl; returns its contents (malloc'd) or NULL. */
static char *
openssl_make(const char *name, const char *cmd_fmt)
{
	char		cmd[2048];

	snprintf(cmd, sizeof(cmd), cmd_fmt, unit_path(name));
	if (unit_run("%s >/dev/null 2>&1 </dev/null", cmd) != 0)
	{
		CHECK_MSG(false, "could not run: %s", cmd);
		return NULL;
	}
	return unit_read_file(unit_path(name), NULL);
}

/*
 * The signed message built without our code: the body hash comes from
 * "openssl dgst -sha256 -binary | openssl base64".  malloc'd.
 */
static char *
openssl_message(const char *date, const char *body, const char *subpath)
{
	char	   *hash;
	char	   *msg;
	size_t		len;

	if (!unit_write_file(unit_path("body.txt"), body, strlen(body)) ||
		unit_run("openssl dgst -sha256 -binary '%s' | openssl base64 -A > '%s'",
				 unit_path("body.txt"), unit_path("hash.txt")) != 0 ||
		(hash = unit_read_file(unit_path("hash.txt"), NULL)) == NULL)
	{
		CHECK_MSG(false, "openssl could not hash the body");
		return strdup("");
	}
	hash[strcspn(hash, "\r\n")] = '\0';
	len = strlen(date) + strlen(hash) + strlen(subpath) + 3;
	msg = malloc(len);
	snprintf(msg, len, "%s:%s:%s", date, hash, subpath);
	free(hash);
	return msg;
}

/* Our signature, checked by "openssl dgst -verify". */
static void
check_openssl_verifies(CkKey *key, const char *pubfile, const char *body)
{
	char		err[256] = "";
	char	   *sig;
	char	   *msg;
	unsigned char *der;
	size_t		derlen = 0;
	int			rc;

	sig = ck_sign_request(key, DATE, body, strlen(body), SUBPATH, err, sizeof(err));
	if (!CHECK_MSG(sig != NULL, "ck_sign_request failed: %s", err))
		return;
	der = ck_base64_decode(sig, strlen(sig), &derlen);
	/* DER SEQUENCE{INTEGER r, INTEGER s}: 0x30, usually 70-72 bytes */
	CHECK(der != NULL && derlen >= 8 && derlen <= 72 && der[0] == 0x30);
	msg = openssl_message(DATE, body, SUBPATH);
	CHECK(unit_write_file(unit_path("msg.txt"), msg, strlen(msg)));
	CHECK(der && unit_write_file(unit_path("sig.der"), der, derlen));

	rc = unit_run("openssl dgst -sha256 -verify '%s' -signature '%s' '%s' > '%s' 2>&1",
				  pubfile, unit_path("sig.der"), unit_path("msg.txt"),
				  unit_path("verify.out"));
	CHECK_INT(rc, 0);
	{
		char	   *out = unit_read_file(unit_path("verify.out"), NULL);

		CHECK_MSG(out && strstr(out, "Verified OK"), "openssl says: %s", out ? out : "(nothing)");
		free(out);
	}

	/* and openssl refuses it for another message: the check can fail */
	msg[strlen(msg) - 1] ^= 1;
	CHECK(unit_write_file(unit_path("msg2.txt"), msg, strlen(msg)));
	rc = unit_run("openssl dgst -sha256 -verify '%s' -signature '%s' '%s' >/dev/null 2>&1",
				  pubfile, unit_path("sig.der"), unit_path("msg2.txt"));
	CHECK(rc != 0);

	free(der);
	free(msg);
	free(sig);
}

static void
check_rejected_private(const char *pem, const char *what, const char *want_in_err)
{
	char		err[512] = "";
	CkKey	   *k = ck_key_load_private_pem(pem, err, sizeof(err));

	CHECK_MSG(k == NULL, "%s was accepted as a signing key", what);
	CHECK_MSG(err[0] != '\0', "%s: no error message", what);
	CHECK_MSG(want_in_err == NULL || strstr(err, want_in_err) != NULL,
			  "%s: message \"%s\" lacks \"%s\"", what, err, want_in_err);
	/* no key material in the message: no line of the PEM body appears */
	if (pem)
	{
		const char *p = pem;
		bool		leaked = false;

		while ((p = strchr(p, '\n')) != NULL)
		{
			char		line[80];
			size_t		n;

			p++;
			n = strcspn(p, "\n");
			if (n >= 16 && n < sizeof(line) && strncmp(p, "-----", 5) != 0)
			{
				memcpy(line, p, n);
				line[n] = '\0';
				leaked |= strstr(err, line) != NULL;
			}
		}
		CHECK_MSG(!leaked, "%s: message contains key material", what);
	}
	ck_key_free(k);
}

void
test_sign(void)
{
	char	   *sec1;
	char	   *pkcs8;
	char	   *pub;
	char		err[512];
	CkKey	   *key;
	CkKey	   *key8;
	CkKey	   *pubkey;
	char	   *msg;

	/* the message format, exactly as in the fact sheet's worked example */
	msg = ck_sign_message(DATE, BODY, strlen(BODY), SUBPATH);
	CHECK_STR(msg, DATE ":pHA+lOPYejRxN4Iswc9kV8pFFX5glteEnI4oFVFBk9M=:" SUBPATH);
	free(msg);
	msg = ck_sign_message(DATE, NULL, 0, "/database/1/c/development/public/zones/list");
	CHECK_STR(msg, DATE ":47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:/database/1/c/development/public/zones/list");
	free(msg);

	sec1 = openssl_make("ec.pem", "openssl ecparam -name prime256v1 -genkey -noout -out '%s'");
	if (sec1 == NULL)
		return;
	CHECK(strstr(sec1, "BEGIN EC PRIVATE KEY") != NULL);
	pkcs8 = openssl_make("ec8.pem", "openssl pkcs8 -topk8 -nocrypt -in \"$(dirname '%1$s')/ec.pem\" -out '%1$s'");
	pub = openssl_make("pub.pem", "openssl ec -in \"$(dirname '%1$s')/ec.pem\" -pubout -out '%1$s'");
	if (pkcs8 == NULL || pub == NULL)
		return;
	CHECK(strstr(pkcs8, "BEGIN PRIVATE KEY") != NULL);

	key = ck_key_load_private_pem(sec1, err, sizeof(err));
	CHECK_MSG(key != NULL, "SEC1 key rejected: %s", err);
	key8 = ck_key_load_private_pem(pkcs8, err, sizeof(err));
	CHECK_MSG(key8 != NULL, "PKCS#8 key rejected: %s", err);
	pubkey = ck_key_load_public_pem(pub, err, sizeof(err));
	CHECK_MSG(pubkey != NULL, "public key rejected: %s", err);
	if (!key || !key8 || !pubkey)
		goto done;

	/* "openssl ecparam" without -noout puts an EC PARAMETERS block first */
	{
		char	   *withparams = openssl_make("ecp.pem", "openssl ecparam -name prime256v1 -genkey -out '%s'");
		CkKey	   *kp = withparams ? ck_key_load_private_pem(withparams, err, sizeof(err)) : NULL;

		CHECK(withparams && strstr(withparams, "BEGIN EC PARAMETERS") != NULL);
		CHECK_MSG(kp != NULL, "key with a parameters block rejected: %s", err);
		ck_key_free(kp);
		free(withparams);
	}

	/* ours -> openssl, for both encodings of the private key and a GET */
	check_openssl_verifies(key, unit_path("pub.pem"), BODY);
	check_openssl_verifies(key8, unit_path("pub.pem"), BODY);
	check_openssl_verifies(key, unit_path("pub.pem"), "");

	/* ours -> ours, and what must not verify */
	{
		char	   *sig = ck_sign_request(key, DATE, BODY, strlen(BODY), SUBPATH, err, sizeof(err));
		char		tampered[] = BODY;
		char	   *sig2;

		CHECK(sig != NULL);
		CHECK(ck_verify_request(pubkey, DATE, BODY, strlen(BODY), SUBPATH, sig));
		tampered[10] ^= 0x20;	/* one body byte */
		CHECK(!ck_verify_request(pubkey, DATE, tampered, strlen(tampered), SUBPATH, sig));
		CHECK(!ck_verify_request(pubkey, DATE, BODY, strlen(BODY) - 1, SUBPATH, sig));
		CHECK(!ck_verify_request(pubkey, "2016-01-25T22:15:44Z", BODY, strlen(BODY), SUBPATH, sig));
		CHECK(!ck_verify_request(pubkey, DATE, BODY, strlen(BODY), SUBPATH "?x=1", sig));
		CHECK(!ck_verify_request(pubkey, DATE, BODY, strlen(BODY), SUBPATH, "not base64!"));
		CHECK(!ck_verify_request(pubkey, DATE, BODY, strlen(BODY), SUBPATH, "AAAA"));
		CHECK(!ck_verify_request(pubkey, DATE, BODY, strlen(BODY), SUBPATH, ""));
		CHECK(!ck_verify_request(NULL, DATE, BODY, strlen(BODY), SUBPATH, sig));
		/* ECDSA is randomised: two signatures differ, both verify */
		sig2 = ck_sign_request(key, DATE, BODY, strlen(BODY), SUBPATH, err, sizeof(err));
		CHECK(sig2 && strcmp(sig, sig2) != 0);
		CHECK(sig2 && ck_verify_request(pubkey, DATE, BODY, strlen(BODY), SUBPATH, sig2));
		free(sig);
		free(sig2);
	}

	/* openssl -> ours */
	msg = openssl_message(DATE, BODY, SUBPATH);
	CHECK(unit_write_file(unit_path("omsg.txt"), msg, strlen(msg)));
	if (CHECK(unit_run("openssl dgst -sha256 -sign '%s' -out '%s' '%s' 2>/dev/null",
					   unit_path("ec.pem"), unit_path("osig.der"), unit_path("omsg.txt")) == 0))
	{
		size_t		len = 0;
		char	   *der = unit_read_file(unit_path("osig.der"), &len);
		char	   *b64 = der ? ck_base64_encode((unsigned char *) der, len) : NULL;
		char		tampered[] = BODY;

		CHECK(b64 != NULL);
		CHECK(ck_verify_request(pubkey, DATE, BODY, strlen(BODY), SUBPATH, b64));
		tampered[strlen(tampered) - 2] = 'X';
		CHECK(!ck_verify_request(pubkey, DATE, tampered, strlen(tampered), SUBPATH, b64));
		free(der);
		free(b64);
	}
	free(msg);

	/* a GET signed by openssl over the empty-body hash */
	msg = openssl_message(DATE, "", "/database/1/c/development/public/zones/list");
	CHECK(unit_write_file(unit_path("gmsg.txt"), msg, strlen(msg)));
	if (CHECK(unit_run("openssl dgst -sha256 -sign '%s' -out '%s' '%s' 2>/dev/null",
					   unit_path("ec8.pem"), unit_path("gsig.der"), unit_path("gmsg.txt")) == 0))
	{
		size_t		len = 0;
		char	   *der = unit_read_file(unit_path("gsig.der"), &len);
		char	   *b64 = der ? ck_base64_encode((unsigned char *) der, len) : NULL;

		CHECK(ck_verify_request(pubkey, DATE, NULL, 0,
								"/database/1/c/development/public/zones/list", b64));
		free(der);
		free(b64);
	}
	free(msg);

	/* keys that must be refused, each with a message */
	{
		char	   *p384 = openssl_make("ec384.pem", "openssl ecparam -name secp384r1 -genkey -noout -out '%s'");
		char	   *rsa = openssl_make("rsa.pem", "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out '%s'");
		char	   *ed = openssl_make("ed.pem", "openssl genpkey -algorithm ed25519 -out '%s'");
		char	   *enc = openssl_make("enc.pem", "openssl ec -in \"$(dirname '%1$s')/ec.pem\" -aes256 -passout pass:secret -out '%1$s'");
		char	   *pub384 = openssl_make("pub384.pem", "openssl ec -in \"$(dirname '%1$s')/ec384.pem\" -pubout -out '%1$s'");
		CkKey	   *k;

		if (p384)
			check_rejected_private(p384, "a secp384r1 key", "prime256v1");
		if (p384)
			check_rejected_private(p384, "a secp384r1 key", "secp384r1");
		if (rsa)
			check_rejected_private(rsa, "an RSA key", "not an elliptic-curve");
		if (ed)
			check_rejected_private(ed, "an Ed25519 key", "not an elliptic-curve");
		if (enc)
			check_rejected_private(enc, "an encrypted key", "passphrase");
		check_rejected_private("-----BEGIN EC PRIVATE KEY-----\nAAAAgarbagegarbagegarbage\n-----END EC PRIVATE KEY-----\n",
							   "garbage PEM", "could not be parsed");
		check_rejected_private("hello", "a non-PEM string", "not in PEM format");
		check_rejected_private("", "an empty string", "not in PEM format");
		check_rejected_private(NULL, "NULL", "not in PEM format");
		check_rejected_private(pub, "a public key", "public key");

		/* the truncated SEC1 key */
		{
			char	   *half = strdup(sec1);

			half[strlen(half) / 2] = '\0';
			check_rejected_private(half, "half a key", NULL);
			free(half);
		}

		/* public keys: P-256 only, and not a private key */
		err[0] = '\0';
		k = pub384 ? ck_key_load_public_pem(pub384, err, sizeof(err)) : NULL;
		CHECK(k == NULL && strstr(err, "prime256v1") != NULL);
		ck_key_free(k);
		err[0] = '\0';
		k = ck_key_load_public_pem(sec1, err, sizeof(err));
		CHECK(k == NULL && err[0] != '\0');
		ck_key_free(k);
		err[0] = '\0';
		k = ck_key_load_public_pem("nope", err, sizeof(err));
		CHECK(k == NULL && strstr(err, "PEM") != NULL);
		ck_key_free(k);

		/* a signature by another P-256 key does not verify */
		{
			char	   *other = openssl_make("ec2.pem", "openssl ecparam -name prime256v1 -genkey -noout -out '%s'");
			CkKey	   *ok = other ? ck_key_load_private_pem(other, err, sizeof(err)) : NULL;
			char	   *sig = ok ? ck_sign_request(ok, DATE, BODY, strlen(BODY), SUBPATH, err, sizeof(err)) : NULL;

			CHECK(sig != NULL);
			CHECK(sig && !ck_verify_request(pubkey, DATE, BODY, strlen(BODY), SUBPATH, sig));
			free(sig);
			ck_key_free(ok);
			free(other);
		}

		free(p384);
		free(rsa);
		free(ed);
		free(enc);
		free(pub384);
	}

	/* signing with no key fails cleanly */
	err[0] = '\0';
	CHECK(ck_sign_request(NULL, DATE, BODY, strlen(BODY), SUBPATH, err, sizeof(err)) == NULL);
	CHECK(err[0] != '\0');

done:
	ck_key_free(key);
	ck_key_free(key8);
	ck_key_free(pubkey);
	free(sec1);
	free(pkcs8);
	free(pub);
}
