// SPDX-License-Identifier: MIT
// The web plugin on a simulated core clock (core.clock: simulated), as in
// a what-if run watched from a browser: an idle server does not spin (no
// timer lets virtual time race), logins, sessions, WebSockets and the
// login rate limit work, and time limits follow the core clock (which
// stands still here: nothing else has timers), so a session does not
// expire while real time passes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test, after, before } from 'node:test';
import { startServer } from './harness.mjs';
import { connectWs } from './wsclient.mjs';

let s;
before(async () => { s = await startServer({ core: 'clock: simulated', web: 'login_per_minute: 5' }); });
after(async () => { if (s) { const r = await s.stop(); assert.equal(r.code, 0, 'clean exit\n' + s.log); } });

function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('an idle server on a simulated clock does not spin, even with sessions open', async () => {
  const a = await s.login('admin');
  assert.equal(a.status, 200);
  await sleep(200);
  const c0 = cpuMs(s.pid);
  await sleep(2000);
  const used = cpuMs(s.pid) - c0;
  assert.ok(used < 200, `${used} ms of CPU in 2 s of idling`);
  // The session is still there: virtual time did not run ahead.
  const me = await s.call(a, 'GET', '/api/v1/session');
  assert.equal(me.status, 200);
  const ws = await connectWs(s.port, { origin: s.base, cookie: a.cookie });
  assert.equal((await ws.next((m) => m.type === 'hello')).data.login, 'admin');
  ws.send({ type: 'ping', id: 'p' });
  const pong = await ws.next((m) => m.type === 'reply' && m.id === 'p');
  assert.equal(typeof pong.data.server_time, 'number');
  ws.close();
});

test('the login rate limit counts on the core clock: no refill while virtual time stands still', async () => {
  const codes = [];
  for (let i = 0; i < 8; i++) codes.push((await s.login('nobody', 'Nope-Nope-123')).status);
  assert.ok(codes.includes(429), `no 429 in ${codes}`);
  await sleep(1500);
  assert.equal((await s.login('nobody', 'Nope-Nope-123')).status, 429,
    'real seconds do not refill a bucket on a simulated clock');
});
