#!/bin/bash
# Regenerate the seed corpora in test/fuzz/corpus/ from real answers of
# ckemu (the sample container) and from test/data/gallery.ckdb.  The
# committed corpus came from this script; uuids and timestamps differ
# between runs, nothing else.  Needs test/ckemu/ckemu ("make").
set -euo pipefail

cd "$(dirname "$0")/../.."
source test/lib.sh

C=test/fuzz/corpus
make_work_dir
trap 'stop_ckemus; rm -rf "$WORK_DIR"' EXIT
make_test_keys "$WORK_DIR"
start_ckemu corpus
start_ckemu rotating --rotate-web-auth-tokens
U=$CKEMU_URL_corpus
DB="$U/database/1/iCloud.com.example.Gallery/development/public"
TOK="ckAPIToken=$CKFDW_API_TOKEN&ckWebAuthToken=$CKFDW_WEB_AUTH_TOKEN"

mkdir -p "$C/records" "$C/response" "$C/schema"

# post NAME OP BODY: the body of the answer into records/, the whole HTTP
# answer (status line and headers too) into response/.  A truncated answer
# is what some of them are meant to be.
post()
{
	curl -s -o "$C/records/$1.json" "$DB/$2?$TOK" -H 'Content-Type: application/json' -d "$3" || true
	curl -si -o "$C/response/$1.http" "$DB/$2?$TOK" -H 'Content-Type: application/json' -d "$3" || true
}

modify='{"operations":[{"operationType":"create","record":{"recordName":"fuzz-all","recordType":"AllTypes","fields":{
"s":{"value":"text \u00e9\u4e2d\ud83d\ude00"},"i":{"value":-9223372036854775808},"d":{"value":-1.5e-300},
"t":{"value":1700000000123},"b":{"value":"AAECAwQF/+8="},"r":{"value":{"recordName":"artist-0001","action":"NONE"}},
"l":{"value":{"latitude":-33.86,"longitude":151.2,"horizontalAccuracy":5,"altitude":3}},
"sl":{"value":["a","",  "c"]},"il":{"value":[1,-2,9223372036854775807]},"dl":{"value":[0.1,2,-3e10]},
"tl":{"value":[0,1]},"rl":{"value":[{"recordName":"artwork-00001","action":"VALIDATE"}]},
"bl":{"value":["","QQ=="]},"ll":{"value":[{"latitude":0,"longitude":0}]},"plain":{"value":null}}}},
{"operationType":"update","record":{"recordName":"artist-0001","recordType":"Artist","recordChangeTag":"stale"}}]}'
post modify-alltypes records/modify "$modify"
post query-alltypes records/query '{"query":{"recordType":"AllTypes"}}'
post query-alltypes-strings records/query '{"query":{"recordType":"AllTypes"},"numbersAsStrings":true}'
post query-artist records/query '{"resultsLimit":2,"query":{"recordType":"Artist"}}'
post query-artwork records/query '{"resultsLimit":2,"query":{"recordType":"Artwork"}}'
post query-exhibition-keys records/query '{"resultsLimit":3,"desiredKeys":["title","opens"],"query":{"recordType":"Exhibition"}}'
post query-visit-page records/query '{"resultsLimit":3,"query":{"recordType":"Visit","sortBy":[{"fieldName":"___createTime"}]}}'
post query-ticket-filter records/query '{"resultsLimit":2,"query":{"recordType":"Ticket","filterBy":[{"fieldName":"batch","comparator":"EQUALS","fieldValue":{"value":7}}]}}'
post query-empty records/query '{"query":{"recordType":"Ticket","filterBy":[{"fieldName":"batch","comparator":"EQUALS","fieldValue":{"value":-1}}]}}'
post query-unindexed records/query '{"query":{"recordType":"Artist","filterBy":[{"fieldName":"website","comparator":"EQUALS","fieldValue":{"value":"x"}}]}}'
post query-loan-refused records/query '{"query":{"recordType":"Loan"}}'
post lookup-mixed records/lookup '{"records":[{"recordName":"artist-0002"},{"recordName":"no-such-record"}]}'
post modify-delete records/modify '{"operations":[{"operationType":"forceDelete","record":{"recordName":"fuzz-all"}}]}'
# a change feed with a tombstone, in a custom zone of the private database
P="${DB%/public}/private"
curl -s "$P/zones/modify?$TOK" -d '{"operations":[{"operationType":"create","zone":{"zoneID":{"zoneName":"FuzzZone"}}}]}' >/dev/null
curl -s "$P/records/modify?$TOK" -d '{"zoneID":{"zoneName":"FuzzZone"},"operations":[
{"operationType":"create","record":{"recordName":"fav-a","recordType":"Favorite","fields":{"stars":{"value":5},"note":{"value":"keep"}}}},
{"operationType":"create","record":{"recordName":"fav-b","recordType":"Favorite","fields":{"stars":{"value":1}}}}]}' >/dev/null
curl -s "$P/records/modify?$TOK" -d '{"zoneID":{"zoneName":"FuzzZone"},"operations":[{"operationType":"forceDelete","record":{"recordName":"fav-b"}}]}' >/dev/null
DB=$P post changes-zone changes/zone '{"zones":[{"zoneID":{"zoneName":"FuzzZone"},"resultsLimit":3}]}'
post zones-lookup zones/lookup '{"zones":[{"zoneName":"_defaultZone"},{"zoneName":"NoSuchZone"}]}'
post bad-json records/query '{"query":'

# error envelopes: injected faults (count 2: one for each copy), then
# authentication and unknown operations
fault()
{
	curl -s -X POST "$U/_ckemu/faults" -d "[$2]" >/dev/null
	post "fault-$1" records/query '{"resultsLimit":1,"query":{"recordType":"Artist"}}'
	curl -s -X DELETE "$U/_ckemu/faults" >/dev/null
}
fault throttled '{"action":"error","serverErrorCode":"THROTTLED","retryAfter":3,"count":2}'
fault internal '{"action":"error","serverErrorCode":"INTERNAL_ERROR","count":2}'
fault conflict '{"action":"error","serverErrorCode":"CONFLICT","reason":"changed","count":2}'
fault malformed '{"action":"malformed","count":2}'
fault truncated '{"action":"truncate","count":2}'
curl -si -o "$C/response/unauthenticated.http" "$DB/records/query" -d '{"query":{"recordType":"Artist"}}'
curl -si -o "$C/response/private-needs-user.http" \
	"${DB%/public}/private/records/query?ckAPIToken=$CKFDW_API_TOKEN" -d '{"query":{"recordType":"Favorite"}}'
curl -si -o "$C/response/web-token-rotated.http" \
	"$CKEMU_URL_rotating/database/1/iCloud.com.example.Gallery/development/private/users/caller?$TOK"
curl -si -o "$C/response/unknown-operation.http" "$DB/records/nosuch?$TOK" -d '{}'
curl -si -o "$C/response/zones-list.http" "$DB/zones/list?$TOK"
# what ckemu never sends: a Retry-After header, a body that is not JSON
printf 'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Type: text/html\r\n\r\n<html>busy</html>' \
	>"$C/response/retry-after-header.http"
printf 'HTTP/2 429 \r\nretry-after: 120\r\nx-apple-cloudkit-web-auth-token: 10__abc\r\n\r\n{"uuid":"u","serverErrorCode":"THROTTLED","reason":"slow down","retryAfter":"2.5"}' \
	>"$C/response/http2-lowercase.http"

# the schema: the whole file, each record type on its own, and odd corners
cp test/data/gallery.ckdb "$C/schema/gallery.ckdb"
awk -v dir="$C/schema" '
	/^    RECORD TYPE/ { name = $3; out = dir "/type-" name ".ckdb"; print "DEFINE SCHEMA" > out }
	name != "" { print > out }
	/^    \);/ { close(out); name = "" }
' test/data/gallery.ckdb
printf 'DEFINE SCHEMA\n    CREATE ROLE Editor;\n    RECORD TYPE T (\n        "___recordID" REFERENCE QUERYABLE,\n        secret ENCRYPTED STRING,\n        tags LIST<STRING> QUERYABLE SEARCHABLE,\n        GRANT READ, WRITE TO Editor,\n        GRANT READ TO "_world"\n    );\n' \
	>"$C/schema/encrypted-role.ckdb"
printf 'DEFINE SCHEMA\n' >"$C/schema/empty.ckdb"
printf '// only a comment\n-- and another\nDEFINE SCHEMA RECORD TYPE "Quoted Name" (x INT64);' >"$C/schema/quoted-oneline.ckdb"

ls "$C"/* | wc -l
