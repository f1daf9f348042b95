/*
 * export_js.js: the export a script would write with Apple's CloudKit JS
 * (npm tsl-apple-cloudkit, as test/ckemu/js/check.js uses it): page through
 * a record type with performQuery (pages of 200, every field), and write
 * every record as a line of JSON to /dev/null.  The benchmark compares
 * ckfdw's COPY (SELECT * ...) TO '/dev/null' with it.
 *
 * Environment: CKEMU_URL, CK_KEY_ID, CK_KEY_FILE, RECORD_TYPE, RUNS.
 * After one untimed warm-up (users/caller, the first page), one line per
 * timed run:  run 1 records 100000 ms 5123.4 cpu_ms 6010
 * (cpu_ms: Node's own user + system CPU time during the run).
 */
'use strict';

const fs = require('fs');
const path = require('path');
const CloudKit = require(path.join(__dirname, '../ckemu/js/node_modules/tsl-apple-cloudkit'));

const APPLE = 'https://api.apple-cloudkit.com';
const { CKEMU_URL, CK_KEY_ID, CK_KEY_FILE } = process.env;
const RECORD_TYPE = process.env.RECORD_TYPE || 'AllTypes';
const RUNS = Number(process.env.RUNS || 3);

function ckemuFetch(url, options) {
	const target = String(url);

	if (!target.startsWith(APPLE))
		return Promise.reject(new Error(`unexpected URL ${target}`));
	return fetch(CKEMU_URL + target.slice(APPLE.length), options);
}

const quiet = { info() {}, log() {}, warn() {}, error() {} };

async function exportAll(db, out, limit) {
	let n = 0;
	let r = await db.performQuery({ recordType: RECORD_TYPE }, { resultsLimit: 200 });

	for (;;) {
		if (r.hasErrors)
			throw new Error(`query failed: ${JSON.stringify(r.errors[0])}`);
		for (const rec of r.records) {
			fs.writeSync(out, JSON.stringify({ recordName: rec.recordName, fields: rec.fields }) + '\n');
			n++;
		}
		if (!r.moreComing || (limit && n >= limit))
			return n;
		r = await db.performQuery(r);
	}
}

async function main() {
	CloudKit.configure({
		services: { fetch: ckemuFetch, logger: quiet },
		containers: [{
			containerIdentifier: 'iCloud.com.example.Gallery',
			environment: 'development',
			serverToServerKeyAuth: { keyID: CK_KEY_ID, privateKeyFile: CK_KEY_FILE },
		}],
	});
	const container = CloudKit.getDefaultContainer();
	const db = container.publicCloudDatabase;
	const out = fs.openSync('/dev/null', 'w');

	await container.setUpAuth();
	await exportAll(db, out, 1);
	for (let run = 1; run <= RUNS; run++) {
		const cpu0 = process.cpuUsage();
		const t0 = process.hrtime.bigint();
		const n = await exportAll(db, out, 0);
		const ms = Number(process.hrtime.bigint() - t0) / 1e6;
		const cpu = process.cpuUsage(cpu0);

		console.log(`run ${run} records ${n} ms ${ms.toFixed(1)} cpu_ms ${((cpu.user + cpu.system) / 1000).toFixed(0)}`);
	}
}

/* CloudKit JS keeps timers and connections alive: end when done */
main().then(() => process.exit(0), (err) => {
	console.error(`export_js.js: ${err && err.stack ? err.stack : err}`);
	process.exit(1);
});
