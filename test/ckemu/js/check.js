/*
 * check.js: drive ckemu with Apple's own CloudKit JS client.
 *
 * CloudKit JS (npm tsl-apple-cloudkit 0.2.34, which ships Apple's
 * cloudkit.js) signs every request itself: the path *with* its query string
 * (?ckjsBuildVersion=...&ckjsVersion=...), a text/plain body, and a
 * users/caller call first.  A fetch wrapper sends its requests to ckemu.
 *
 * Environment: CKEMU_URL (http://127.0.0.1:PORT), CK_KEY_ID, CK_KEY_FILE.
 * Run by run-check.sh, which starts and stops ckemu.  Prints one line per
 * failed check and ends with "cloudkit-js: N passed, M failed".
 */
'use strict';

const CloudKit = require('tsl-apple-cloudkit');

const APPLE = 'https://api.apple-cloudkit.com';
const CKEMU_URL = process.env.CKEMU_URL;
const KEY_ID = process.env.CK_KEY_ID;
const KEY_FILE = process.env.CK_KEY_FILE;

let passed = 0;
let failed = 0;
let requests = 0;

function check(name, ok, detail) {
	if (ok)
		passed++;
	else {
		failed++;
		console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`);
	}
	return ok;
}

/* Send CloudKit JS's requests to ckemu instead of Apple. */
function ckemuFetch(url, options) {
	const target = String(url);

	if (!target.startsWith(APPLE))
		return Promise.reject(new Error(`unexpected URL ${target}`));
	requests++;
	return fetch(CKEMU_URL + target.slice(APPLE.length), options);
}

const quiet = {
	info() {},
	log() {},
	warn() {},
	error(...args) { if (process.env.CKJS_DEBUG) console.error(...args); },
};

function errorCode(response) {
	if (!response || !response.hasErrors || !response.errors.length)
		return null;
	const e = response.errors[0];

	return e.ckErrorCode || e.serverErrorCode || null;
}

async function step(name, fn) {
	try {
		await fn();
	} catch (err) {
		const code = err && (err.ckErrorCode || err.serverErrorCode);

		check(name, false, `threw ${code ? code + ' ' : ''}${err && err.reason ? err.reason : err}`);
	}
}

async function main() {
	if (!CKEMU_URL || !KEY_ID || !KEY_FILE) {
		console.log('check.js: CKEMU_URL, CK_KEY_ID and CK_KEY_FILE must be set');
		process.exit(2);
	}

	CloudKit.configure({
		services: { fetch: ckemuFetch, logger: quiet },
		containers: [{
			containerIdentifier: 'iCloud.com.example.Gallery',
			environment: 'development',
			serverToServerKeyAuth: { keyID: KEY_ID, privateKeyFile: KEY_FILE },
		}],
	});
	const container = CloudKit.getDefaultContainer();
	const db = container.publicCloudDatabase;
	const name = `js-${process.pid}`;
	let tag1 = null;
	let tag2 = null;

	await step('setUpAuth (users/caller)', async () => {
		const user = await container.setUpAuth();
		/*
		 * CloudKit JS resolves with the response body as the UserIdentity;
		 * Apple's reference wraps it as {users: [identity]}.  Accept both.
		 */
		const identity = user && (user.userRecordName ? user : (user.users || [])[0]);

		check('setUpAuth (users/caller)', identity && /^_[0-9a-f]{32}$/.test(identity.userRecordName),
			`user ${JSON.stringify(user)}`);
	});

	await step('save', async () => {
		const r = await db.saveRecords([{
			recordType: 'AllTypes',
			recordName: name,
			fields: {
				s: { value: 'from CloudKit JS \u00e9' },
				i: { value: 42 },
				sl: { value: ['a', 'b'] },
				t: { value: 1700000000123 },
			},
		}]);

		if (check('save', !r.hasErrors && r.records.length === 1, `errors ${errorCode(r)}`)) {
			tag1 = r.records[0].recordChangeTag;
			check('save returns a change tag', typeof tag1 === 'string' && tag1.length > 0);
		}
	});

	await step('look up', async () => {
		const r = await db.fetchRecords([name, 'artist-0001']);

		if (check('look up', !r.hasErrors && r.records.length === 2, `errors ${errorCode(r)}`)) {
			const rec = r.records[0];

			check('look up: string', rec.fields.s && rec.fields.s.value === 'from CloudKit JS \u00e9',
				JSON.stringify(rec.fields.s));
			check('look up: int64', rec.fields.i && rec.fields.i.value === 42, JSON.stringify(rec.fields.i));
			check('look up: list', rec.fields.sl && JSON.stringify(rec.fields.sl.value) === '["a","b"]',
				JSON.stringify(rec.fields.sl));
			check('look up: timestamp', rec.fields.t && rec.fields.t.value === 1700000000123,
				JSON.stringify(rec.fields.t));
			check('look up: seed record', r.records[1].fields.name.value === '葛飾 北斎',
				JSON.stringify(r.records[1].fields.name));
		}
	});

	await step('query and page', async () => {
		const query = {
			recordType: 'Ticket',
			filterBy: [{ fieldName: 'batch', comparator: 'EQUALS', fieldValue: { value: 7 } }],
			sortBy: [{ fieldName: 'serial', ascending: true }],
		};
		const seen = new Set();
		let pages = 0;
		let serials = [];
		let r = await db.performQuery(query, { resultsLimit: 30 });

		for (;;) {
			pages++;
			if (!check('query page', !r.hasErrors, `errors ${errorCode(r)}`))
				return;
			for (const rec of r.records) {
				seen.add(rec.recordName);
				serials.push(rec.fields.serial.value);
			}
			if (!r.moreComing || pages > 10)
				break;
			r = await db.performQuery(r);
		}
		check('query: 100 records in 4 pages of 30', seen.size === 100 && pages === 4,
			`${seen.size} records in ${pages} pages`);
		check('query: sorted by serial', serials.every((s, i) => s === 7 + 100 * i),
			serials.slice(0, 5).join(','));
	});

	await step('update', async () => {
		const r = await db.saveRecords([{
			recordType: 'AllTypes',
			recordName: name,
			recordChangeTag: tag1,
			fields: { i: { value: 43 } },
		}]);

		if (check('update', !r.hasErrors && r.records.length === 1, `errors ${errorCode(r)}`)) {
			tag2 = r.records[0].recordChangeTag;
			check('update changes the tag', tag2 && tag2 !== tag1, `${tag1} -> ${tag2}`);
			check('update keeps other fields', r.records[0].fields.s &&
				r.records[0].fields.s.value === 'from CloudKit JS \u00e9');
		}
	});

	await step('conflict', async () => {
		const r = await db.saveRecords([{
			recordType: 'AllTypes',
			recordName: name,
			recordChangeTag: tag1,
			fields: { i: { value: 44 } },
		}]);

		check('stale tag is CONFLICT', errorCode(r) === 'CONFLICT', `got ${errorCode(r)}`);
		const l = await db.fetchRecords([name]);

		check('conflict changed nothing', !l.hasErrors && l.records[0].fields.i.value === 43 &&
			l.records[0].recordChangeTag === tag2);
	});

	await step('delete', async () => {
		const r = await db.deleteRecords([name]);

		check('delete', !r.hasErrors && r.records.length === 1 && r.records[0].deleted === true,
			`errors ${errorCode(r)}`);
		const l = await db.fetchRecords([name]);

		check('deleted record is NOT_FOUND', errorCode(l) === 'NOT_FOUND', `got ${errorCode(l)}`);
	});

	check('requests went to ckemu', requests >= 8, `${requests} requests`);
}

main()
	.catch(err => check('check.js', false, String(err && err.stack || err)))
	.finally(() => {
		console.log(`cloudkit-js: ${passed} passed, ${failed} failed`);
		process.exit(failed ? 1 : 0);
	});
