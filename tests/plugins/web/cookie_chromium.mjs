// SPDX-License-Identifier: MIT
// The session cookie in real headless Chromium on plain-HTTP loopback
// (docs/adr: __Host- cookie on loopback): Chromium treats
// http://127.0.0.1 and http://localhost as secure contexts, so it keeps
// the __Host- Secure cookie, sends it back, and hides it from scripts;
// a cross-site page cannot use it; the session ends with a restart.
import assert from 'node:assert/strict';
import { test, after, before } from 'node:test';
import { createRequire } from 'node:module';
import http from 'node:http';
import { startServer, PASSWORDS } from './harness.mjs';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

let s, browser;
before(async () => {
  s = await startServer();
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
});
after(async () => {
  if (browser) await browser.close();
  if (s) await s.stop();
});

// Log in from a page of @p origin, as the UI does (same-origin fetch).
async function loginIn(page, origin) {
  await page.goto(origin + '/');
  return page.evaluate(async (pw) => {
    const r = await fetch('/api/v1/session', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: 'admin', password: pw }),
    });
    return { status: r.status, body: await r.json() };
  }, PASSWORDS.admin);
}

for (const host of ['127.0.0.1', 'localhost']) {
  test(`http://${host}: Chromium keeps the __Host- Secure cookie, sends it back and hides it from scripts`, async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const origin = `http://${host}:${s.port}`;
    const r = await loginIn(page, origin);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const cookies = await ctx.cookies(origin);
    assert.equal(cookies.length, 1, JSON.stringify(cookies));
    const c = cookies[0];
    assert.equal(c.name, '__Host-plateau_sid');
    assert.equal(c.secure, true);
    assert.equal(c.httpOnly, true);
    assert.equal(c.sameSite, 'Strict');
    assert.equal(c.path, '/');
    assert.equal(c.domain, host, 'host-only: no Domain attribute');
    assert.equal(c.expires, -1, 'a session cookie: gone when the browser closes');
    const seen = await page.evaluate(() => document.cookie);
    assert.equal(seen, '', 'HttpOnly: scripts cannot read it');
    const me = await page.evaluate(async () => (await fetch('/api/v1/session')).status);
    assert.equal(me, 200, 'the browser sends it back over plain HTTP on loopback');
    // A WebSocket from the page opens with the cookie (same origin).
    const hello = await page.evaluate(() => new Promise((resolve) => {
      const ws = new WebSocket(location.origin.replace('http', 'ws') + '/api/v1/ws');
      ws.onmessage = (e) => { resolve(JSON.parse(e.data).type); ws.close(); };
      ws.onerror = () => resolve('error');
    }));
    assert.equal(hello, 'hello');
    await ctx.close();
  });
}

test('a page of another site cannot use the session (SameSite=Strict, CSRF)', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const r = await loginIn(page, `http://127.0.0.1:${s.port}`);
  assert.equal(r.status, 200);
  // The attacker's page: another server, on "localhost", which is another
  // site than "127.0.0.1" for the browser.
  const evil = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>evil</title><body>');
  });
  await new Promise((r) => evil.listen(0, '127.0.0.1', r));
  after(() => evil.close());
  await page.goto(`http://localhost:${evil.address().port}/`);
  // A script's request (the answer is unreadable or blocked, whatever
  // it is) and a classic form post, both carrying a forged user.
  await page.evaluate(async (port) => {
    try {
      await fetch(`http://127.0.0.1:${port}/api/v1/users`, {
        method: 'POST', credentials: 'include', mode: 'no-cors',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ login: 'forged', password: 'Forg3d-User-Pw!', role: 'admin' }),
      });
    } catch { /* blocked: fine */ }
  }, s.port);
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/users')),
    page.evaluate((port) => {
      const f = document.createElement('form');
      f.method = 'POST'; f.enctype = 'text/plain';
      f.action = `http://127.0.0.1:${port}/api/v1/users`;
      const i = document.createElement('input');
      i.name = '{"login":"forged2","password":"Forg3d-User-Pw!","role":"admin","x":"';
      i.value = '"}';
      f.appendChild(i); document.body.appendChild(f); f.submit();
    }, s.port),
  ]);
  const answer = await resp.text();
  assert.ok(resp.status() === 401 || resp.status() === 403 || resp.status() === 415,
    `the form post is refused: ${resp.status()} ${answer}`);
  const users = await s.call(await s.login('admin'), 'GET', '/api/v1/users?limit=500');
  assert.equal(users.status, 200);
  assert.ok(users.json.items.some((u) => u.login === 'admin'));
  assert.ok(!users.json.items.some((u) => u.login.startsWith('forged')), 'the forged requests created nobody');
  await ctx.close();
});

test('sessions live in memory: a restart ends them and the browser is asked to log in again', async () => {
  const s2 = await startServer();
  try {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const origin = `http://127.0.0.1:${s2.port}`;
    assert.equal((await loginIn(page, origin)).status, 200);
    assert.equal(await page.evaluate(async () => (await fetch('/api/v1/session')).status), 200);
    await s2.restart();
    const st = await page.evaluate(async () => (await fetch('/api/v1/session')).status);
    assert.equal(st, 401, 'the old cookie names no session any more');
    await ctx.close();
  } finally {
    await s2.stop();
  }
});
