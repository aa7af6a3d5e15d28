// SPDX-License-Identifier: MIT
// Security of the web plugin, end to end against a real Plateau over
// loopback: the role x endpoint matrix (no unexpected success), CSRF and
// cross-site refusals, WebSocket Origin and session checks, lockout after
// 6 wrong passwords, login rate limiting, forced password change, API
// tokens, logout and disabling ending sessions (with a bye on the
// WebSocket, then a working reconnect), malformed and oversized requests
// answered clearly while the server keeps serving, path traversal, and
// who may read /metrics.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test, after, before } from 'node:test';
import { startServer, PASSWORDS } from './harness.mjs';
import { connectWs } from './wsclient.mjs';

let s;
before(async () => {
  s = await startServer({
    web: 'max_body: 4096\nlogin_per_minute: 40',
    users: [
      { login: 'carol', role: 'agent', pw: 'Car0l-Secret-Pw' },
      { login: 'dave', role: 'agent', pw: 'Dav3-First-Pw!', mustChange: true },
      { login: 'erin', role: 'agent', pw: 'Er1n-Secret-Pw' },
    ],
  });
});
after(async () => { if (s) { const r = await s.stop(); assert.equal(r.code, 0, 'clean exit\n' + s.log); } });

function raw(port, text) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let out = '';
    sock.on('data', (d) => { out += d; });
    sock.on('close', () => resolve(out));
    sock.on('error', () => resolve(out));
    sock.write(text);
    setTimeout(() => sock.end(), 500);
  });
}

test('login sets a __Host- Secure HttpOnly SameSite=Strict cookie on loopback', async () => {
  const a = await s.login('admin');
  assert.equal(a.status, 200);
  assert.match(a.setCookie, /^__Host-plateau_sid=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
  assert.equal(a.body.role, 'admin');
  assert.equal(a.body.must_change_password, false);
  const b = await s.login('admin');
  assert.notEqual(a.cookie, b.cookie, 'a new session id at every login');
  const me = await s.call(a, 'GET', '/api/v1/session');
  assert.equal(me.status, 200);
  assert.equal(me.json.login, 'admin');
  assert.equal(me.headers.get('cache-control'), 'no-store');
});

test('wrong passwords are refused without saying whether the login exists', async () => {
  const r1 = await s.login('nobody', 'Whatever-123');
  const r2 = await s.login('erin', 'Whatever-123');
  assert.equal(r1.status, 401);
  assert.deepEqual(r1.body, r2.body);
});

test('role x endpoint matrix: no unexpected success', async () => {
  const sess = { admin: await s.login('admin'), supervisor: await s.login('sup'), agent: await s.login('agent') };
  const api = (await s.call(sess.admin, 'GET', '/api/v1/openapi.json')).json;
  assert.ok(api && api.paths['/users'], 'openapi lists the routes');
  let checked = 0;
  for (const [p, ops] of Object.entries(api.paths)) {
    for (const [m, op] of Object.entries(ops)) {
      const method = m.toUpperCase();
      const url = '/api/v1' + p.replace(/\{[^}]+\}/g, 'zz-probe');
      const roles = op['x-roles'];
      if (roles.includes('public')) continue;
      const anon = await s.call(null, method, url, method === 'GET' ? undefined : {});
      assert.equal(anon.status, 401, `anonymous ${method} ${url} -> ${anon.status}`);
      for (const [role, se] of Object.entries(sess)) {
        if (roles.includes(role)) continue;
        const r = await s.call(se, method, url, method === 'GET' ? undefined : {});
        assert.equal(r.status, 403, `${role} ${method} ${url} -> ${r.status} ${r.text}`);
        assert.equal(r.json.error.code, 'forbidden');
        checked++;
      }
    }
  }
  assert.ok(checked >= 15, `checked ${checked} forbidden combinations`);
  // The admin can do what the agent cannot.
  assert.equal((await s.call(sess.admin, 'GET', '/api/v1/users')).status, 200);
  assert.equal((await s.call(sess.agent, 'GET', '/api/v1/users')).status, 403);
});

test('CSRF: state changes need the token and a same-site origin', async () => {
  const a = await s.login('admin');
  const body = { login: 'csrfvictim', password: 'Csrf-Victim-Pw9', role: 'agent' };
  let r = await s.call(a, 'POST', '/api/v1/users', body, { 'x-csrf-token': '' });
  assert.equal(r.status, 403); assert.equal(r.json.error.code, 'csrf');
  r = await s.call(a, 'POST', '/api/v1/users', body, { 'x-csrf-token': 'A'.repeat(43) });
  assert.equal(r.status, 403); assert.equal(r.json.error.code, 'csrf');
  r = await s.call(a, 'POST', '/api/v1/users', body, { origin: 'https://evil.example' });
  assert.equal(r.status, 403); assert.equal(r.json.error.code, 'csrf');
  r = await s.call(a, 'POST', '/api/v1/users', body, { 'sec-fetch-site': 'cross-site' });
  assert.equal(r.status, 403);
  // A form post cannot send JSON: refused before the handler.
  r = await s.call(a, 'POST', '/api/v1/users', 'login=x', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(r.status, 415);
  const list = await s.call(a, 'GET', '/api/v1/users?limit=500');
  assert.ok(!list.json.items.some((u) => u.login === 'csrfvictim'), 'nothing was created');
  r = await s.call(a, 'POST', '/api/v1/users', body, { origin: s.base });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.login, 'csrfvictim');
});

test('WebSocket: bad or missing Origin and missing session are refused', async () => {
  const a = await s.login('agent');
  await assert.rejects(connectWs(s.port, { origin: 'https://evil.example', cookie: a.cookie }), /refused/);
  await assert.rejects(connectWs(s.port, { origin: 'null', cookie: a.cookie }), /refused/);
  await assert.rejects(connectWs(s.port, { cookie: a.cookie }), /refused/);
  await assert.rejects(connectWs(s.port, { origin: s.base }), /refused/);
  await assert.rejects(connectWs(s.port, { origin: s.base, cookie: a.cookie, path: '/other' }), /refused/);
  const ws = await connectWs(s.port, { origin: s.base, cookie: a.cookie });
  const hello = await ws.next((m) => m.type === 'hello');
  assert.equal(hello.data.login, 'agent');
  ws.send({ type: 'ping', id: 'p1' });
  const pong = await ws.next((m) => m.type === 'reply' && m.id === 'p1');
  assert.ok(pong.data.server_time > 0);
  ws.send({ type: 'admin.nothing', id: 7 });
  const unk = await ws.next((m) => m.type === 'reply' && m.id === 7);
  assert.equal(unk.error.code, 'unknown_type');
  ws.send('{not json');
  const bad = await ws.next((m) => m.type === 'reply' && m.error);
  assert.equal(bad.error.code, 'invalid_message');
  ws.close();
});

test('logout ends the session, says bye on the WebSocket, and a new login reconnects', async () => {
  const a = await s.login('erin', 'Er1n-Secret-Pw');
  const ws = await connectWs(s.port, { origin: s.base, cookie: a.cookie });
  await ws.next((m) => m.type === 'hello');
  const r = await s.call(a, 'DELETE', '/api/v1/session');
  assert.equal(r.status, 204);
  assert.match(r.headers.get('set-cookie'), /Max-Age=0/);
  const bye = await ws.next((m) => m.type === 'bye');
  assert.equal(bye.data.reason, 'logout');
  await ws.closedPromise;
  assert.equal((await s.call(a, 'GET', '/api/v1/session')).status, 401, 'old cookie is dead');
  await assert.rejects(connectWs(s.port, { origin: s.base, cookie: a.cookie }), /refused/);
  const b = await s.login('erin', 'Er1n-Secret-Pw');
  const ws2 = await connectWs(s.port, { origin: s.base, cookie: b.cookie });
  assert.equal((await ws2.next((m) => m.type === 'hello')).data.login, 'erin');
  ws2.close();
});

test('disabling a user ends their sessions at once', async () => {
  const adm = await s.login('admin');
  const c = await s.login('csrfvictim', 'Csrf-Victim-Pw9');
  assert.equal(c.status, 200, JSON.stringify(c.body));
  // Forced change at first login: only the session routes answer.
  assert.equal(c.body.must_change_password, true);
  let r = await s.call(c, 'POST', '/api/v1/session/password', { current_password: 'Csrf-Victim-Pw9', new_password: 'New-Victim-Pw77' });
  assert.equal(r.status, 200, r.text);
  const ws = await connectWs(s.port, { origin: s.base, cookie: c.cookie });
  await ws.next((m) => m.type === 'hello');
  r = await s.call(adm, 'POST', '/api/v1/users/csrfvictim/disable', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.disabled, true);
  const bye = await ws.next((m) => m.type === 'bye');
  assert.equal(bye.data.reason, 'disabled');
  assert.equal((await s.call(c, 'GET', '/api/v1/session')).status, 401);
  assert.equal((await s.login('csrfvictim', 'New-Victim-Pw77')).status, 401);
});

test('an admin ends a user\'s sessions: bye on their WebSocket, cookie dead, audited; own session kept', async () => {
  const adm = await s.login('admin');
  const c1 = await s.login('carol', 'Car0l-Secret-Pw');
  const c2 = await s.login('carol', 'Car0l-Secret-Pw');
  const ws = await connectWs(s.port, { origin: s.base, cookie: c1.cookie });
  await ws.next((m) => m.type === 'hello');
  let r = await s.call(c1, 'DELETE', '/api/v1/users/carol/sessions');
  assert.equal(r.status, 403, 'not for agents');
  r = await s.call(adm, 'DELETE', '/api/v1/users/carol/sessions');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ended, 2);
  const bye = await ws.next((m) => m.type === 'bye');
  assert.equal(bye.data.reason, 'ended_by_admin');
  assert.equal((await s.call(c1, 'GET', '/api/v1/session')).status, 401);
  assert.equal((await s.call(c2, 'GET', '/api/v1/session')).status, 401);
  // The account itself still works.
  assert.equal((await s.login('carol', 'Car0l-Secret-Pw')).status, 200);
  // An admin ending their own sessions keeps the one asking.
  const other = await s.login('admin');
  r = await s.call(adm, 'DELETE', '/api/v1/users/admin/sessions');
  assert.equal(r.status, 200);
  assert.ok(r.json.ended >= 1);
  assert.equal((await s.call(adm, 'GET', '/api/v1/session')).status, 200);
  assert.equal((await s.call(other, 'GET', '/api/v1/session')).status, 401);
  const audit = await s.call(adm, 'GET', '/api/v1/audit?limit=50');
  assert.ok(audit.json.items.some((e) => e.action === 'user.sessions_ended' && e.object === 'carol'
    && e.actor === 'user:admin'), JSON.stringify(audit.json.items.slice(0, 3)));
});

test('a WebSocket that floods is answered rate_limited, then closed; a calm one is not', async () => {
  const a = await s.login('sup');
  const calm = await connectWs(s.port, { origin: s.base, cookie: a.cookie });
  await calm.next((m) => m.type === 'hello');
  const ws = await connectWs(s.port, { origin: s.base, cookie: a.cookie });
  await ws.next((m) => m.type === 'hello');
  const replies = [];
  ws.onmessage = (m) => { if (m.type === 'reply') replies.push(m); };
  // 40 at once: within the burst (60), every one answered.
  for (let i = 0; i < 40; i++) ws.send({ type: 'ping', id: 'p' + i });
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(replies.filter((m) => !m.error).length, 40);
  // 70 more at once: past the burst, refusals (not yet enough to close).
  for (let i = 0; i < 70; i++) ws.send({ type: 'ping', id: 'q' + i });
  await new Promise((res) => setTimeout(res, 300));
  const limited = replies.filter((m) => m.error && m.error.code === 'rate_limited').length;
  assert.ok(limited >= 30, `${limited} rate_limited replies`);
  assert.equal(ws.closed, false);
  // Keeps flooding: closed.
  for (let i = 0; i < 100; i++) ws.send({ type: 'ping', id: 'r' + i });
  await ws.closedPromise;
  // The other socket of the same session is unaffected.
  calm.send({ type: 'ping', id: 'x' });
  const pong = await calm.next((m) => m.type === 'reply' && m.id === 'x');
  assert.ok(pong.data.server_time > 0);
  calm.close();
});

test('?batch=1: messages waiting together arrive as one batch frame, all of them, in order', async () => {
  const a = await s.login('sup');
  const ws = await connectWs(s.port, { origin: s.base, cookie: a.cookie, path: '/api/v1/ws?batch=1' });
  await ws.next((m) => m.type === 'hello');
  const got = [];
  let frames = 0;
  ws.onmessage = (m) => {
    frames++;
    if (m.type === 'batch') got.push(...m.data); else got.push(m);
  };
  for (let i = 0; i < 30; i++) ws.send({ type: 'ping', id: 'b' + i });
  for (let t = 0; t < 50 && got.length < 30; t++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(got.map((m) => m.id), Array.from({ length: 30 }, (_, i) => 'b' + i));
  assert.ok(got.every((m) => m.type === 'reply' && m.data.server_time > 0));
  assert.ok(frames < 30, `${frames} frames for 30 replies`);
  ws.close();
});

test('a forced password change gates every other route; the policy applies', async () => {
  const d = await s.login('dave', 'Dav3-First-Pw!');
  assert.equal(d.status, 200);
  assert.equal(d.body.must_change_password, true);
  let r = await s.call(d, 'GET', '/api/v1/openapi.json');
  assert.equal(r.status, 403); assert.equal(r.json.error.code, 'password_change_required');
  await assert.rejects(connectWs(s.port, { origin: s.base, cookie: d.cookie }), /refused/);
  r = await s.call(d, 'POST', '/api/v1/session/password', { current_password: 'Dav3-First-Pw!', new_password: 'short' });
  assert.equal(r.status, 400); assert.equal(r.json.error.code, 'password_policy');
  assert.match(r.json.error.message, /at least/);
  r = await s.call(d, 'POST', '/api/v1/session/password', { current_password: 'wrong-one-Pw1', new_password: 'Dav3-Second-Pw!' });
  assert.equal(r.status, 403);
  r = await s.call(d, 'POST', '/api/v1/session/password', { current_password: 'Dav3-First-Pw!', new_password: 'Dav3-Second-Pw!' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.must_change_password, false);
  assert.equal((await s.call(d, 'GET', '/api/v1/openapi.json')).status, 200);
});

test('API tokens: created by an admin, only on token routes, revocable', async () => {
  const adm = await s.login('admin');
  let r = await s.call(adm, 'POST', '/api/v1/tokens', { name: 'crm', role: 'supervisor' });
  assert.equal(r.status, 201, r.text);
  const tok = r.json.token, id = r.json.id;
  assert.match(tok, /^plt_/);
  const list = await s.call(adm, 'GET', '/api/v1/tokens');
  assert.ok(!list.text.includes(tok), 'the value is never listed');
  const bearer = { authorization: 'Bearer ' + tok };
  r = await s.call(null, 'GET', '/api/v1/users', undefined, bearer);
  assert.equal(r.status, 200);
  r = await s.call(null, 'GET', '/api/v1/session', undefined, bearer);
  assert.equal(r.status, 403); assert.equal(r.json.error.code, 'token_not_allowed');
  r = await s.call(null, 'POST', '/api/v1/users', { login: 'tk', password: 'Tok3n-User-Pw', role: 'agent' }, bearer);
  assert.equal(r.status, 403);
  r = await s.call(null, 'GET', '/api/v1/users', undefined, { authorization: 'Bearer plt_forged' });
  assert.equal(r.status, 401);
  r = await s.call(adm, 'DELETE', `/api/v1/tokens/${id}`);
  assert.equal(r.status, 204);
  r = await s.call(null, 'GET', '/api/v1/users', undefined, bearer);
  assert.equal(r.status, 401);
  const audit = await s.call(adm, 'GET', '/api/v1/audit?limit=50');
  assert.ok(audit.json.items.some((e) => e.action === 'token.created' && e.actor === 'user:admin'));
});

test('six wrong passwords lock the account', async () => {
  const codes = [];
  for (let i = 0; i < 6; i++) codes.push((await s.login('carol', 'Wrong-Password-' + i)).status);
  assert.deepEqual(codes, [401, 401, 401, 401, 401, 423]);
  const ok = await s.login('carol', 'Car0l-Secret-Pw');
  assert.equal(ok.status, 423, 'still locked with the right password');
  assert.equal(ok.body.error.code, 'account_locked');
  assert.ok(ok.body.error.locked_until > Date.now() - 1000);
});

test('malformed, oversized and unreadable requests get clear errors; the server keeps serving', async () => {
  const a = await s.login('admin');
  let r = await s.call(a, 'POST', '/api/v1/users', '{"login": ');
  assert.equal(r.status, 400); assert.equal(r.json.error.code, 'invalid_json');
  r = await s.call(a, 'POST', '/api/v1/users', '{"a":1,"a":2}');
  assert.equal(r.status, 400);
  r = await s.call(a, 'POST', '/api/v1/users', JSON.stringify({ pad: 'x'.repeat(5000) }));
  assert.equal(r.status, 413); assert.equal(r.json.error.code, 'too_large');
  r = await s.call(a, 'GET', '/api/v1/no/such/route');
  assert.equal(r.status, 404); assert.equal(r.json.error.code, 'not_found');
  r = await s.call(a, 'PUT', '/api/v1/users', {});
  assert.equal(r.status, 405);
  const garbage = await raw(s.port, 'GARBAGE \x01\x02 nonsense\r\n\r\n');
  assert.ok(!/^HTTP\/1\.1 2/.test(garbage));
  const nolen = await raw(s.port, 'POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n{}');
  assert.match(nolen, /^HTTP\/1\.1 411/);
  const huge = await raw(s.port, 'GET /' + 'a'.repeat(20000) + ' HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.ok(!/^HTTP\/1\.1 2/.test(huge));
  // Still serving.
  assert.equal((await s.call(a, 'GET', '/api/v1/session')).status, 200);
});

test('static files: types, caching, and no way out of the web root', async () => {
  let r = await fetch(s.base + '/');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  assert.match(r.headers.get('content-security-policy'), /default-src 'self'/);
  const etag = r.headers.get('etag');
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  r = await fetch(s.base + '/app.js');
  assert.match(r.headers.get('content-type'), /^text\/javascript/);
  r = await fetch(s.base + '/', { headers: { 'if-none-match': etag } });
  assert.equal(r.status, 304);
  for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%2e%2e%2fsecret.txt',
    '/app.js/../../secret.txt', '//etc/passwd', '/..\\secret.txt', '/.%2e/secret.txt']) {
    const out = await raw(s.port, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.ok(!out.includes('TOP-SECRET') && !out.includes('root:'), `${p} leaked: ${out.slice(0, 80)}`);
  }
  r = await fetch(s.base + '/', { method: 'POST', headers: { 'content-length': '0' } });
  assert.equal(r.status, 405);
});

test('metrics are served on loopback in Prometheus text format', async () => {
  const r = await fetch(s.base + '/metrics');
  assert.equal(r.status, 200);
  const t = await r.text();
  assert.match(t, /^# HELP plateau_http_requests_total /m);
  assert.match(t, /^plateau_logins_total\{outcome="locked"\} [1-9]/m);
  assert.match(t, /^plateau_events_total\{topic="users\.user\.locked"\} 1$/m);
});

test('metrics_allow: [] refuses loopback; staff sessions and tokens still read; a bad entry stops the start', async () => {
  const s2 = await startServer({ web: 'metrics_allow: []' });
  try {
    let r = await fetch(s2.base + '/metrics');
    assert.equal(r.status, 403);
    const ag = await s2.login('agent');
    r = await s2.call(ag, 'GET', '/metrics');
    assert.equal(r.status, 403, 'an agent session is not enough');
    const sup = await s2.login('sup');
    r = await s2.call(sup, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.text, /^plateau_web_sessions [1-9]/m);
    const adm = await s2.login('admin');
    const t = await s2.call(adm, 'POST', '/api/v1/tokens', { name: 'prom', role: 'supervisor' });
    assert.equal(t.status, 201, t.text);
    r = await s2.call(null, 'GET', '/metrics', undefined, { authorization: 'Bearer ' + t.json.token });
    assert.equal(r.status, 200);
    r = await s2.call(null, 'GET', '/metrics', undefined, { authorization: 'Bearer plt_forged' });
    assert.equal(r.status, 403);
  } finally {
    await s2.stop();
  }
  await assert.rejects(startServer({ web: 'metrics_allow: [metrics.example.com]' }),
    /metrics_allow: metrics\.example\.com is not an address/);
});

test('login attempts are rate limited per address', async () => {
  const codes = [];
  for (let i = 0; i < 60 && !codes.includes(429); i++) codes.push((await s.login('nobody', 'Nope-Nope-123')).status);
  assert.ok(codes.includes(429), `no 429 in ${codes}`);
  const r = await s.login('admin', PASSWORDS.admin);
  assert.equal(r.status, 429, 'the limit holds for good passwords too');
});
