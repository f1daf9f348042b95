/*-------------------------------------------------------------------------
 *
 * gen_gallery.c
 *		  Deterministic generator of test/data/gallery.json, the seed records
 *		  of the sample container iCloud.com.example.Gallery.
 *
 * A fixed-seed PRNG (splitmix64) drives every choice, and every timestamp is
 * a fixed millisecond value, so two runs write identical bytes.  The output
 * is ckemu's seed format, one record per line so that diffs stay readable:
 *
 *	 {"seeds":[{"container":..., "environment":..., "database":...,
 *				"zone":..., ["owner":...,] "records":[ {...}, ... ]}, ...]}
 *
 * Asset values use the seed-only form {"ckemuData": "<base64>"}.  The field
 * list of each record type matches gallery.ckdb; README.md describes them.
 *
 * Build and run (from the repository root):
 *	 cc -O2 -Wall -I/usr/include/json-c -o /tmp/gen_gallery \
 *		 test/data/gen_gallery.c -ljson-c
 *	 /tmp/gen_gallery > test/data/gallery.json
 *
 * test/data/gen_gallery.c
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#define CONTAINER		"iCloud.com.example.Gallery"
#define ENVIRONMENT		"development"

#define N_ARTISTS		300
#define N_ARTWORKS		3000
#define N_EXHIBITIONS	60
#define N_VISITS		1000
#define N_TICKETS		10000
#define N_LOANS			40
#define N_FAVORITES		25

/* The private-database owner of the Favorite records. */
#define PRIVATE_OWNER	"_0d1e2a3b4c5d6e7f8091a2b3c4d5e6f7"

/* 2015-06-01T00:00:00Z, a base for "recent" timestamps */
#define BASE_MS			INT64_C(1433116800000)
#define DAY_MS			INT64_C(86400000)
#define YEAR_MS			(365 * DAY_MS)

static uint64_t rng_state = UINT64_C(0x67616c6c657279);	/* "gallery" */

/* splitmix64: tiny, fast, and identical everywhere */
static uint64_t
rng_next(void)
{
	uint64_t	z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Uniform integer in [lo, hi]. */
static int64_t
rng_range(int64_t lo, int64_t hi)
{
	return lo + (int64_t) (rng_next() % (uint64_t) (hi - lo + 1));
}

/* True with probability pct percent. */
static int
rng_pct(int pct)
{
	return rng_range(0, 99) < pct;
}

#define PICK(arr) ((arr)[rng_range(0, (int64_t) (sizeof(arr) / sizeof((arr)[0])) - 1)])
#define LEN(arr) ((int) (sizeof(arr) / sizeof((arr)[0])))

/*
 * A millisecond timestamp in [lo, hi] whose millisecond part is never zero,
 * so that code truncating to seconds is caught.
 */
static int64_t
rng_ts(int64_t lo, int64_t hi)
{
	int64_t		t = rng_range(lo, hi);

	if (t % 1000 == 0)
		t += rng_range(1, 999);
	return t;
}

/* ----------------------------------------------------------------
 *		Value builders
 * ----------------------------------------------------------------
 */

static const char b64chars[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *
base64(const unsigned char *data, size_t len)
{
	char	   *out = malloc(((len + 2) / 3) * 4 + 1);
	char	   *o = out;
	size_t		i;

	if (out == NULL)
	{
		fprintf(stderr, "gen_gallery: out of memory\n");
		exit(1);
	}
	for (i = 0; i + 2 < len; i += 3)
	{
		*o++ = b64chars[data[i] >> 2];
		*o++ = b64chars[((data[i] & 3) << 4) | (data[i + 1] >> 4)];
		*o++ = b64chars[((data[i + 1] & 15) << 2) | (data[i + 2] >> 6)];
		*o++ = b64chars[data[i + 2] & 63];
	}
	if (i < len)
	{
		*o++ = b64chars[data[i] >> 2];
		if (i + 1 < len)
		{
			*o++ = b64chars[((data[i] & 3) << 4) | (data[i + 1] >> 4)];
			*o++ = b64chars[(data[i + 1] & 15) << 2];
		}
		else
		{
			*o++ = b64chars[(data[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/* A double printed with a fixed number of decimals, so output is stable. */
static json_object *
fixed_double(double v, int decimals)
{
	char		buf[64];

	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	return json_object_new_double_s(strtod(buf, NULL), buf);
}

static void
put_field(json_object *fields, const char *name, json_object *value, const char *type)
{
	json_object *f = json_object_new_object();

	json_object_object_add(f, "value", value);
	json_object_object_add(f, "type", json_object_new_string(type));
	json_object_object_add(fields, name, f);
}

static void
put_string(json_object *fields, const char *name, const char *s)
{
	put_field(fields, name, json_object_new_string(s), "STRING");
}

static void
put_int64(json_object *fields, const char *name, int64_t v)
{
	put_field(fields, name, json_object_new_int64(v), "INT64");
}

static void
put_double(json_object *fields, const char *name, double v, int decimals)
{
	put_field(fields, name, fixed_double(v, decimals), "DOUBLE");
}

static void
put_timestamp(json_object *fields, const char *name, int64_t ms)
{
	put_field(fields, name, json_object_new_int64(ms), "TIMESTAMP");
}

static json_object *
random_bytes_b64(int minlen, int maxlen)
{
	unsigned char buf[256];
	int			len = (int) rng_range(minlen, maxlen);
	int			i;
	char	   *b;
	json_object *o;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char) rng_range(0, 255);
	b = base64(buf, len);
	o = json_object_new_string(b);
	free(b);
	return o;
}

static json_object *
reference(const char *record_name, const char *action)
{
	json_object *r = json_object_new_object();

	json_object_object_add(r, "recordName", json_object_new_string(record_name));
	json_object_object_add(r, "action", json_object_new_string(action));
	return r;
}

typedef struct Place
{
	const char *name;
	double		latitude;
	double		longitude;
	double		altitude;
} Place;

static const Place places[] = {
	{"Paris", 48.860611, 2.337644, 35.0},
	{"London", 51.519413, -0.126957, 22.0},
	{"New York", 40.779437, -73.963244, 25.0},
	{"Tokyo", 35.715298, 139.775593, 17.0},
	{"São Paulo", -23.561414, -46.655881, 760.0},
	{"Reykjavík", 64.147209, -21.942400, 15.0},
	{"Cape Town", -33.907242, 18.420780, 10.0},
	{"Sydney", -33.868820, 151.209296, 30.0},
	{"Mexico City", 19.426216, -99.186381, 2240.0},
	{"Kraków", 50.061947, 19.936856, 219.0},
};

/* A location near a place; full dictionaries on some, lat/long only on others. */
static json_object *
location(const Place *place, int full)
{
	json_object *l = json_object_new_object();

	json_object_object_add(l, "latitude",
						   fixed_double(place->latitude + rng_range(-500, 500) / 1e6, 6));
	json_object_object_add(l, "longitude",
						   fixed_double(place->longitude + rng_range(-500, 500) / 1e6, 6));
	if (full)
	{
		json_object_object_add(l, "horizontalAccuracy", fixed_double(rng_range(5, 50), 1));
		json_object_object_add(l, "verticalAccuracy", fixed_double(rng_range(3, 20), 1));
		json_object_object_add(l, "altitude", fixed_double(place->altitude, 1));
		json_object_object_add(l, "speed", fixed_double(0, 1));
		json_object_object_add(l, "course", fixed_double(0, 1));
		json_object_object_add(l, "timestamp",
							   json_object_new_int64(rng_ts(BASE_MS, BASE_MS + 8 * YEAR_MS)));
	}
	return l;
}

/* A small SVG image as a seed asset: {"ckemuData": base64}. */
static json_object *
svg_asset(const char *label)
{
	char		svg[512];
	char	   *b;
	json_object *a = json_object_new_object();

	snprintf(svg, sizeof(svg),
			 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\">"
			 "<rect width=\"64\" height=\"64\" fill=\"#%06" PRIx64 "\"/>"
			 "<text x=\"4\" y=\"36\" font-size=\"10\">%s</text></svg>\n",
			 rng_range(0, 0xffffff), label);
	b = base64((const unsigned char *) svg, strlen(svg));
	json_object_object_add(a, "ckemuData", json_object_new_string(b));
	free(b);
	return a;
}

static json_object *
new_record(json_object **fields, const char *prefix, int n, int width,
		   const char *type)
{
	char		name[64];
	json_object *rec = json_object_new_object();

	snprintf(name, sizeof(name), "%s-%0*d", prefix, width, n);
	json_object_object_add(rec, "recordName", json_object_new_string(name));
	json_object_object_add(rec, "recordType", json_object_new_string(type));
	*fields = json_object_new_object();
	json_object_object_add(rec, "fields", *fields);
	return rec;
}

static void
record_name(char *buf, size_t len, const char *prefix, int n, int width)
{
	snprintf(buf, len, "%s-%0*d", prefix, width, n);
}

/* ----------------------------------------------------------------
 *		Output: one record per line
 * ----------------------------------------------------------------
 */

static int	seeds_written = 0;
static int	records_in_seed = 0;

static void
begin_seed(FILE *out, const char *database, const char *zone, const char *owner)
{
	fprintf(out, "%s\n{\"container\":\"%s\",\"environment\":\"%s\",\"database\":\"%s\",\"zone\":\"%s\"",
			seeds_written++ ? "]}," : "", CONTAINER, ENVIRONMENT, database, zone);
	if (owner)
		fprintf(out, ",\"owner\":\"%s\"", owner);
	fprintf(out, ",\"records\":[");
	records_in_seed = 0;
}

static void
emit(FILE *out, json_object *rec)
{
	fprintf(out, "%s\n%s", records_in_seed++ ? "," : "",
			json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN |
										   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(rec);
}

/* ----------------------------------------------------------------
 *		Record types
 * ----------------------------------------------------------------
 */

static const char *const first_names[] = {
	"Ada", "Bruno", "Camille", "Dmitri", "Elena", "Farid", "Greta", "Hiroshi",
	"Inès", "Jonas", "Kwame", "Lucía", "Marek", "Nadia", "Oskar", "Paloma",
	"Quentin", "Rosa", "Søren", "Tomás", "Ursula", "Viktor", "Wanjiru", "Xiomara",
	"Yusuf", "Zoë", "Ólafur", "Chloé", "Björn", "Małgorzata",
};

static const char *const last_names[] = {
	"Abbott", "Bergström", "Castellanos", "Dubois", "Eriksen", "Fontaine",
	"García", "Haddad", "Ivanova", "Jansen", "Kowalski", "Lindqvist",
	"Moreau", "Novák", "O'Neill", "Petrović",
};

/* A few artists with names outside Latin script. */
static const char *const special_artists[] = {
	"葛飾 北斎", "Frida Kahlo", "Илья Репин", "Zoë \"Zed\" Ångström",
	"Ōkubo Shōtarō", "محمد الخطاط", "Back\\slash Collective", "Ēmīls Dārziņš",
};

static const char *const nationalities[] = {
	"French", "British", "American", "Japanese", "Brazilian", "Icelandic",
	"South African", "Australian", "Mexican", "Polish", "Norwegian", "Spanish",
};

static const char *const movements[] = {
	"Impressionism", "Cubism", "Surrealism", "Abstract Expressionism",
	"Pop Art", "Minimalism", "Fauvism", "Dada", "Bauhaus", "Art Nouveau",
	"Ukiyo-e", "Conceptual Art",
};

static const char *const media[] = {
	"Oil on canvas", "Watercolour", "Bronze", "Marble", "Charcoal on paper",
	"Woodblock print", "Photograph", "Mixed media", "Acrylic on board",
	"Installation",
};

static const char *const tags[] = {
	"portrait", "landscape", "still life", "abstract", "nude", "seascape",
	"urban", "religious", "self-portrait", "animals", "night", "🎨 colourful",
	"monochrome", "large", "fragile",
};

static const char *const title_words1[] = {
	"Study", "Portrait", "View", "Composition", "Nocturne", "Fragment",
	"Garden", "Harbour", "Étude", "Memory", "Reflection", "Window",
};

static const char *const title_words2[] = {
	"in Blue", "of a Woman", "at Dawn", "No. %d", "with Lilies", "by the Sea",
	"under Snow", "in Red and Gold", "of the Artist's Mother", "in Motion",
	"at Kraków", "über Berlin",
};

static const char *const curators[] = {
	"Amélie Laurent", "Ben Okafor", "Chen Wei", "Dorota Zielińska",
	"Eamon Byrne", "Fatima Zahra",
};

static void
gen_artists(FILE *out)
{
	int			i;

	for (i = 1; i <= N_ARTISTS; i++)
	{
		json_object *fields;
		json_object *rec = new_record(&fields, "artist", i, 4, "Artist");
		char		name[128];
		int64_t		born;
		int			living;
		int			j,
					n;
		json_object *list;
		const Place *home = &PICK(places);

		if (i % 37 == 1)
			snprintf(name, sizeof(name), "%s", special_artists[(i / 37) % LEN(special_artists)]);
		else
			snprintf(name, sizeof(name), "%s %s",
					 first_names[(i * 7) % LEN(first_names)],
					 last_names[(i * 11 + i / LEN(first_names)) % LEN(last_names)]);
		put_string(fields, "name", name);

		/* 1820 .. 2000: most birth dates are before the epoch */
		born = rng_ts(INT64_C(-4733510400000), INT64_C(946684800000));
		put_timestamp(fields, "born", born);
		/* born after 1960: living; 1930-1960: maybe; deaths are all past */
		living = born > INT64_C(-315619200000) ||
			(born > INT64_C(-1262304000000) && rng_pct(60));
		if (!living)
		{
			int64_t		span = BASE_MS - born;

			put_timestamp(fields, "died",
						  born + rng_ts(25 * YEAR_MS, span < 90 * YEAR_MS ? span : 90 * YEAR_MS));
		}
		put_int64(fields, "living", living);
		put_string(fields, "nationality", PICK(nationalities));
		if (i % 10 != 3)		/* some artists are unrated */
			put_double(fields, "rating", rng_range(10, 50) / 10.0, 1);

		list = json_object_new_array();
		n = (int) rng_range(0, 3);
		for (j = 0; j < n; j++)
			json_object_array_add(list, json_object_new_string(movements[(i + j * 5) % LEN(movements)]));
		put_field(fields, "movements", list, "STRING_LIST");

		if (i % 4 != 0)
		{
			list = json_object_new_array();
			n = (int) rng_range(0, 4);
			for (j = 0; j < n; j++)
				json_object_array_add(list, json_object_new_int64(1950 + rng_range(0, 73)));
			put_field(fields, "awardYears", list, "INT64_LIST");
		}

		put_field(fields, "studio", location(home, i % 3 == 0), "LOCATION");

		/* mentors are earlier artists, so seeds load in order */
		if (i > 10 && i % 6 == 0)
		{
			char		mentor[32];

			record_name(mentor, sizeof(mentor), "artist", (int) rng_range(1, i - 1), 4);
			put_field(fields, "mentor", reference(mentor, "NONE"), "REFERENCE");
		}
		if (i % 5 == 0)
			put_field(fields, "signature", random_bytes_b64(8, 48), "BYTES");
		if (i <= 10)
			put_field(fields, "portrait", svg_asset(name), "ASSETID");
		if (i % 3 != 2)
		{
			char		bio[512];

			snprintf(bio, sizeof(bio),
					 "%s is a %s artist associated with %s.\nWorks in %s; "
					 "studio in %s.",
					 name, nationalities[i % LEN(nationalities)],
					 movements[i % LEN(movements)], media[i % LEN(media)],
					 home->name);
			put_string(fields, "bio", bio);
		}
		if (i % 8 == 0)
		{
			char		url[128];

			snprintf(url, sizeof(url), "https://artists.example.com/a/%d?ref=gallery&lang=fr", i);
			put_string(fields, "website", url);
		}
		emit(out, rec);
	}
}

static void
gen_artworks(FILE *out)
{
	int			i;

	for (i = 1; i <= N_ARTWORKS; i++)
	{
		json_object *fields;
		json_object *rec = new_record(&fields, "artwork", i, 5, "Artwork");
		char		title[160];
		char		tail[64];
		char		ref[32];
		int			artist = (int) rng_range(1, N_ARTISTS);
		const char *action;
		json_object *list;
		int			j,
					n;

		snprintf(tail, sizeof(tail), PICK(title_words2), i);
		snprintf(title, sizeof(title), "%s %s", PICK(title_words1), tail);
		put_string(fields, "title", title);

		/* the artist's number decides the action, so cascades are predictable */
		record_name(ref, sizeof(ref), "artist", artist, 4);
		action = artist % 3 == 0 ? "DELETE_SELF" : artist % 3 == 1 ? "VALIDATE" : "NONE";
		put_field(fields, "artist", reference(ref, action), "REFERENCE");

		put_int64(fields, "year", rng_range(1830, 2023));
		if (i % 9 != 4)
			put_double(fields, "price", rng_range(50000, 250000000) / 100.0, 2);
		put_int64(fields, "onDisplay", rng_pct(40));
		put_timestamp(fields, "acquired", rng_ts(BASE_MS - 35 * YEAR_MS, BASE_MS + 8 * YEAR_MS));
		put_string(fields, "medium", PICK(media));
		snprintf(tail, sizeof(tail), "GAL-%06d", i * 7 + 100000);
		put_string(fields, "inventoryCode", tail);

		list = json_object_new_array();
		n = (int) rng_range(0, 4);
		for (j = 0; j < n; j++)
			json_object_array_add(list, json_object_new_string(tags[(i * 3 + j * 4) % LEN(tags)]));
		put_field(fields, "tags", list, "STRING_LIST");

		if (i % 7 != 0)
		{
			list = json_object_new_array();
			n = i % 5 == 0 ? 3 : 2;
			for (j = 0; j < n; j++)
				json_object_array_add(list, fixed_double(rng_range(50, 30000) / 10.0, 1));
			put_field(fields, "dimensions", list, "DOUBLE_LIST");
		}

		list = json_object_new_array();
		n = (int) rng_range(0, 3);
		for (j = 0; j < n; j++)
			json_object_array_add(list, json_object_new_int64(rng_ts(BASE_MS, BASE_MS + 8 * YEAR_MS)));
		put_field(fields, "exhibitedOn", list, "TIMESTAMP_LIST");

		if (i > 1 && i % 4 == 0)
		{
			list = json_object_new_array();
			n = (int) rng_range(1, 2);
			for (j = 0; j < n; j++)
			{
				record_name(ref, sizeof(ref), "artwork", (int) rng_range(1, i - 1), 5);
				json_object_array_add(list, reference(ref, "NONE"));
			}
			put_field(fields, "relatedWorks", list, "REFERENCE_LIST");
		}

		put_field(fields, "heldAt", location(&places[i % 4], i % 2), "LOCATION");
		if (i % 10 == 0)
			put_field(fields, "thumbnail", random_bytes_b64(16, 64), "BYTES");
		if (i % 150 == 1)
			put_field(fields, "image", svg_asset(title), "ASSETID");
		if (i % 13 == 0)
			put_string(fields, "notes", i % 26 == 0 ? "Restauré en 2019 — vernis d'origine conservé." :
					   "Frame needs attention; see conservator's report.");
		emit(out, rec);
	}
}

static void
gen_exhibitions(FILE *out)
{
	int			i;

	for (i = 1; i <= N_EXHIBITIONS; i++)
	{
		json_object *fields;
		json_object *rec = new_record(&fields, "exhibition", i, 3, "Exhibition");
		char		title[160];
		char		ref[32];
		int64_t		opens = rng_ts(BASE_MS - 2 * YEAR_MS, BASE_MS + 8 * YEAR_MS);
		json_object *list;
		int			j,
					n;

		snprintf(title, sizeof(title), "%s: %s", movements[i % LEN(movements)],
				 i % 11 == 0 ? "Lumière et Ombre" : i % 7 == 0 ? "光と影" : "Light and Shadow");
		if (i > 12)
			snprintf(title + strlen(title), sizeof(title) - strlen(title), " (%d)", i);
		put_string(fields, "title", title);
		put_timestamp(fields, "opens", opens);
		if (i % 10 != 0)		/* open-ended exhibitions have no end */
			put_timestamp(fields, "closes", opens + rng_ts(30 * DAY_MS, 200 * DAY_MS));
		put_string(fields, "curator", curators[i % LEN(curators)]);
		put_field(fields, "venue", location(&places[i % LEN(places)], 1), "LOCATION");

		list = json_object_new_array();
		n = i % 15 == 0 ? 0 : (int) rng_range(10, 40);
		for (j = 0; j < n; j++)
		{
			record_name(ref, sizeof(ref), "artwork", (int) rng_range(1, N_ARTWORKS), 5);
			json_object_array_add(list, reference(ref, "NONE"));
		}
		put_field(fields, "artworks", list, "REFERENCE_LIST");

		list = json_object_new_array();
		n = (int) rng_range(0, 3);
		for (j = 0; j < n; j++)
			json_object_array_add(list, location(&places[(i + j + 1) % LEN(places)], j == 0));
		put_field(fields, "tourStops", list, "LOCATION_LIST");

		list = json_object_new_array();
		n = (int) rng_range(0, 7);
		for (j = 0; j < n; j++)
			json_object_array_add(list, json_object_new_int64(rng_range(0, 5000)));
		put_field(fields, "dailyVisitors", list, "INT64_LIST");

		list = json_object_new_array();
		n = i % 4 == 0 ? 0 : 3;
		for (j = 0; j < n; j++)
			json_object_array_add(list, fixed_double(8.5 + 4 * j + (i % 3), 2));
		put_field(fields, "ticketPrices", list, "DOUBLE_LIST");

		list = json_object_new_array();
		n = (int) rng_range(1, 3);
		for (j = 0; j < n; j++)
			json_object_array_add(list, json_object_new_int64(opens - rng_ts(DAY_MS, 30 * DAY_MS)));
		put_field(fields, "pressDates", list, "TIMESTAMP_LIST");

		if (i % 3 == 0)
		{
			list = json_object_new_array();
			n = (int) rng_range(1, 3);
			for (j = 0; j < n; j++)
				json_object_array_add(list, random_bytes_b64(4, 20));
			put_field(fields, "stamps", list, "BYTES_LIST");
		}
		if (i <= 5)
			put_field(fields, "poster", svg_asset(title), "ASSETID");
		put_string(fields, "summary", i % 2 ? "A survey of the movement's major works, with loans from private collections." :
				   "Une exposition consacrée aux maîtres du mouvement.");
		put_int64(fields, "free", i % 5 == 0);
		emit(out, rec);
	}
}

static void
gen_visits(FILE *out)
{
	int			i;

	for (i = 1; i <= N_VISITS; i++)
	{
		json_object *fields;
		json_object *rec = new_record(&fields, "visit", i, 4, "Visit");
		char		ref[32];
		char		visitor[32];

		record_name(ref, sizeof(ref), "exhibition", (int) rng_range(1, N_EXHIBITIONS), 3);
		put_field(fields, "exhibition", reference(ref, "NONE"), "REFERENCE");
		snprintf(visitor, sizeof(visitor), "visitor-%03d", (int) rng_range(1, 400));
		put_string(fields, "visitor", visitor);
		put_timestamp(fields, "visitedAt", BASE_MS + (int64_t) i * 3 * 3600 * 1000 + rng_range(1, 999));
		put_int64(fields, "partySize", rng_range(1, 6));
		put_int64(fields, "member", rng_pct(30));
		if (i % 5 != 0)
			put_double(fields, "spent", rng_range(0, 20000) / 100.0, 2);
		emit(out, rec);
	}
}

static void
gen_tickets(FILE *out)
{
	int			i;

	for (i = 0; i < N_TICKETS; i++)
	{
		json_object *fields;
		json_object *rec = new_record(&fields, "ticket", i, 5, "Ticket");

		put_int64(fields, "serial", i);
		put_int64(fields, "batch", i % 100);
		put_double(fields, "price", 12.5 + (i % 4) * 2.5, 1);
		put_timestamp(fields, "sold", BASE_MS + (int64_t) i * 600000 + 1 + i % 997);
		emit(out, rec);
	}
}

static void
gen_loans(FILE *out)
{
	static const char *const borrowers[] = {
		"Musée d'Orsay", "Tate Modern", "MoMA", "Museo del Prado", "Rijksmuseum",
	};
	int			i;

	for (i = 1; i <= N_LOANS; i++)
	{
		json_object *fields;
		json_object *rec = new_record(&fields, "loan", i, 3, "Loan");
		char		ref[32];
		int64_t		starts = rng_ts(BASE_MS, BASE_MS + 8 * YEAR_MS);

		record_name(ref, sizeof(ref), "artwork", (int) rng_range(1, N_ARTWORKS), 5);
		put_field(fields, "artwork", reference(ref, "DELETE_SELF"), "REFERENCE");
		put_string(fields, "borrower", borrowers[i % LEN(borrowers)]);
		put_timestamp(fields, "starts", starts);
		put_timestamp(fields, "ends", starts + rng_ts(30 * DAY_MS, 365 * DAY_MS));
		put_double(fields, "insuredValue", rng_range(100000, 90000000) / 100.0, 2);
		emit(out, rec);
	}
}

static void
gen_favorites(FILE *out)
{
	int			i;

	for (i = 1; i <= N_FAVORITES; i++)
	{
		json_object *fields;
		json_object *rec = new_record(&fields, "favorite", i, 3, "Favorite");
		char		name[64];

		snprintf(name, sizeof(name), "%s %s", PICK(title_words1), "in Blue");
		put_string(fields, "artworkName", name);
		if (i % 3 == 0)
			put_string(fields, "note", "à revoir ✓");
		put_timestamp(fields, "added", BASE_MS + 8 * YEAR_MS + i * DAY_MS + 123);
		put_int64(fields, "stars", rng_range(1, 5));
		emit(out, rec);
	}
}

int
main(int argc, char **argv)
{
	FILE	   *out = stdout;

	if (argc > 2)
	{
		fprintf(stderr, "usage: %s [OUTPUT.json]\n", argv[0]);
		return 2;
	}
	if (argc == 2 && (out = fopen(argv[1], "w")) == NULL)
	{
		perror(argv[1]);
		return 1;
	}

	fprintf(out, "{\"seeds\":[");
	begin_seed(out, "public", "_defaultZone", NULL);
	gen_artists(out);
	gen_artworks(out);
	gen_exhibitions(out);
	gen_visits(out);
	gen_tickets(out);
	gen_loans(out);
	begin_seed(out, "private", "Wishlist", PRIVATE_OWNER);
	gen_favorites(out);
	fprintf(out, "]}\n]}\n");

	if (ferror(out) || (out != stdout && fclose(out) != 0))
	{
		fprintf(stderr, "gen_gallery: write failed\n");
		return 1;
	}
	return 0;
}
