/*-------------------------------------------------------------------------
 *
 * ck_seen.c
 *		  A set of strings seen before, kept as digests.
 *
 * Open addressing with linear probing over 128 bits of each string's
 * SHA-256: two different markers would have to collide in 128 bits for a
 * scan to be stopped wrongly, which no server can bring about by chance.
 * The table doubles at half load, so adding stays O(1).
 *
 * src/ck/ck_seen.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ck/ck_seen.h"

#define CK_SEEN_DIGEST_LEN	16
#define CK_SEEN_MIN_SLOTS	64

typedef struct CkSeenEntry
{
	unsigned char digest[CK_SEEN_DIGEST_LEN];
	long		tag;			/* 0 = empty slot */
} CkSeenEntry;

struct CkSeenSet
{
	CkSeenEntry *slots;
	size_t		nslots;			/* a power of two */
	size_t		count;
};

CkSeenSet *
ck_seen_new(void)
{
	CkSeenSet  *set = calloc(1, sizeof(CkSeenSet));

	if (set == NULL)
		return NULL;
	set->slots = calloc(CK_SEEN_MIN_SLOTS, sizeof(CkSeenEntry));
	if (set->slots == NULL)
	{
		free(set);
		return NULL;
	}
	set->nslots = CK_SEEN_MIN_SLOTS;
	return set;
}

void
ck_seen_free(CkSeenSet *set)
{
	if (set == NULL)
		return;
	free(set->slots);
	free(set);
}

void
ck_seen_clear(CkSeenSet *set)
{
	memset(set->slots, 0, set->nslots * sizeof(CkSeenEntry));
	set->count = 0;
}

size_t
ck_seen_count(const CkSeenSet *set)
{
	return set->count;
}

static size_t
ck_seen_home(const unsigned char *digest, size_t nslots)
{
	uint64_t	h;

	memcpy(&h, digest, sizeof(h));
	return (size_t) (h & (nslots - 1));
}

/* The slot holding digest, or the empty slot where it belongs. */
static CkSeenEntry *
ck_seen_slot(CkSeenEntry *slots, size_t nslots, const unsigned char *digest)
{
	size_t		i = ck_seen_home(digest, nslots);

	while (slots[i].tag != 0 &&
		   memcmp(slots[i].digest, digest, CK_SEEN_DIGEST_LEN) != 0)
		i = (i + 1) & (nslots - 1);
	return &slots[i];
}

static int
ck_seen_grow(CkSeenSet *set)
{
	size_t		nslots = set->nslots * 2;
	CkSeenEntry *slots = calloc(nslots, sizeof(CkSeenEntry));
	size_t		i;

	if (slots == NULL)
		return -1;
	for (i = 0; i < set->nslots; i++)
	{
		if (set->slots[i].tag != 0)
			*ck_seen_slot(slots, nslots, set->slots[i].digest) = set->slots[i];
	}
	free(set->slots);
	set->slots = slots;
	set->nslots = nslots;
	return 0;
}

long
ck_seen_add(CkSeenSet *set, const char *s, size_t len, long tag)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	CkSeenEntry *e;

	if (tag <= 0)
		tag = 1;
	if (!EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL) ||
		mdlen < CK_SEEN_DIGEST_LEN)
		return -1;
	e = ck_seen_slot(set->slots, set->nslots, md);
	if (e->tag != 0)
		return e->tag;
	if ((set->count + 1) * 2 > set->nslots)
	{
		if (ck_seen_grow(set) != 0)
			return -1;
		e = ck_seen_slot(set->slots, set->nslots, md);
	}
	memcpy(e->digest, md, CK_SEEN_DIGEST_LEN);
	e->tag = tag;
	set->count++;
	return 0;
}
