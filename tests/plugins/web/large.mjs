// SPDX-License-Identifier: MIT
// Large bodies in bounded memory against a real Plateau on loopback: a
// 50 MB CSV upload (import preview) and a 50 MB file download leave the
// server's peak resident memory (VmHWM) far below the file's size, and
// the bytes arrive intact. An upload without a session is refused before
// its body is read.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test, after, before } from 'node:test';
import { startServer } from './harness.mjs';

const MB = 1024 * 1024;
const SIZE = 50 * MB;
let s;

function hwmKiB(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}

// A CSV of SIZE bytes: a header, then contacts.
function csv() {
  const b = Buffer.alloc(SIZE);
  let o = b.write('first_name,last_name,phone,city,note\n');
  for (let i = 0; o < SIZE; i++) {
    const line = `Jean${i},Dupont${i},+3361${String(i % 100000000).padStart(8, '0')},Lyon,` +
      'x'.repeat(40) + '\n';
    o += b.write(line, o);
  }
  return b;
}

before(async () => {
  s = await startServer({ plugins: ['leads', 'import_csv'], web: `max_upload: ${80 * MB}\nmax_static: ${80 * MB}` });
});
after(async () => { if (s) { const r = await s.stop(); assert.equal(r.code, 0, 'clean exit (no leak, no sanitizer report)\n' + s.log); } });

test('an upload without a session or token is refused before its body is read', async () => {
  const r = await s.call(null, 'POST', '/api/v1/imports/preview', 'a,b\n1,2\n', { 'content-type': 'text/csv' });
  assert.equal(r.status, 401);
  assert.equal(r.json.error.code, 'unauthenticated');
});

test('an upload refused after its body (no CSRF token) leaves no file behind', async () => {
  const adm = await s.login('admin');
  const body = Buffer.alloc(3 * MB, 'a');
  const r = await s.call({ cookie: adm.cookie }, 'POST', '/api/v1/imports/preview', body,
    { 'content-type': 'text/csv' });
  assert.equal(r.status, 403);
  await new Promise((res) => setTimeout(res, 200));
  const left = fs.readdirSync(path.join(s.dir, 'data')).filter((f) => f.startsWith('web-upload-'));
  assert.deepEqual(left, []);
});

test('a 50 MB CSV upload is spooled to disk: peak memory stays far below its size', async () => {
  const adm = await s.login('admin');
  // Warm up (first allocations of every part on the way).
  let r = await s.call(adm, 'POST', '/api/v1/imports/preview', 'phone\n+33612345678\n',
    { 'content-type': 'text/csv', 'x-file-name': 'small.csv' });
  assert.equal(r.status, 200, r.text);
  const body = csv();
  const before = hwmKiB(s.pid);
  r = await s.call(adm, 'POST', '/api/v1/imports/preview', body,
    { 'content-type': 'text/csv', 'x-file-name': encodeURIComponent('gros fichier.csv') });
  assert.equal(r.status, 200, r.text);
  const grew = (hwmKiB(s.pid) - before) / 1024;
  console.log(`upload of ${SIZE / MB} MB: server peak RSS grew by ${grew.toFixed(1)} MB`);
  assert.ok(grew < 20, `peak RSS grew by ${grew.toFixed(1)} MB for a ${SIZE / MB} MB upload`);
  // The whole file reached the disk.
  const up = path.join(s.dir, 'data', 'imports', 'uploads');
  const sizes = fs.readdirSync(up).map((f) => fs.statSync(path.join(up, f)).size);
  assert.ok(sizes.includes(SIZE), `no upload of ${SIZE} bytes in ${sizes}`);
  // No spool file is left behind once the replies are out.
  await new Promise((res) => setTimeout(res, 200));
  const left = fs.readdirSync(path.join(s.dir, 'data')).filter((f) => f.startsWith('web-upload-'));
  assert.deepEqual(left, []);
});

test('a 50 MB file is sent chunk by chunk: intact, peak memory far below its size', async () => {
  const file = path.join(s.dir, 'www', 'big.bin');
  const data = crypto.randomBytes(SIZE);
  fs.writeFileSync(file, data);
  const before = hwmKiB(s.pid);
  const r = await fetch(s.base + '/big.bin');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-length'), String(SIZE));
  const got = Buffer.from(await r.arrayBuffer());
  const grew = (hwmKiB(s.pid) - before) / 1024;
  console.log(`download of ${SIZE / MB} MB: server peak RSS grew by ${grew.toFixed(1)} MB`);
  assert.equal(got.length, SIZE);
  assert.ok(got.equals(data), 'the bytes arrive intact');
  assert.ok(grew < 20, `peak RSS grew by ${grew.toFixed(1)} MB for a ${SIZE / MB} MB download`);
  // A client that leaves halfway does not disturb the next one.
  const ac = new AbortController();
  const r2 = await fetch(s.base + '/big.bin', { signal: ac.signal });
  const rd = r2.body.getReader();
  await rd.read();
  ac.abort();
  const r3 = await fetch(s.base + '/index.html');
  assert.equal(r3.status, 200);
});
