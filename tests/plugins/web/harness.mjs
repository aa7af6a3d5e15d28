// SPDX-License-Identifier: MIT
// Starts a real Plateau (storage_sqlite, users, web) on 127.0.0.1 with a
// free port, in a temporary directory, with users created through
// `plateau user add`; stops it at the end. Used by the web plugin's
// security tests and by bench/ws.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BIN = process.env.PLATEAU_BIN ||
  path.join(process.env.PLATEAU_BUILD_DIR || 'build', 'bin', 'plateau');

export const PASSWORDS = {
  admin: 'Adm1n-Secret-Pw',
  sup: 'Overs33r-Pw!x',
  agent: 'Ag3nt-Secret-Pw',
};

export async function startServer({ web = '', users = [], plugins = [], extra = '', core = '', timeoutMs = 20000 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plateau-web-'));
  const conf = path.join(dir, 'plateau.yaml');
  const webRoot = path.join(dir, 'www');
  fs.mkdirSync(webRoot);
  fs.writeFileSync(path.join(webRoot, 'index.html'), '<!doctype html><title>Plateau</title>\n');
  fs.writeFileSync(path.join(webRoot, 'app.js'), 'export const ok = 1;\n');
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'TOP-SECRET\n');
  fs.writeFileSync(conf, `core:
  data_dir: ${dir}/data
  log_level: info
${core.split('\n').filter(Boolean).map((l) => '  ' + l).join('\n')}
plugins: [storage_sqlite, users, web${plugins.map((p) => ', ' + p).join('')}]
storage_sqlite:
  file: plateau.db
users:
  hash_ops: 1
  hash_memory: 65536
web:
  port: 0
  root: ${webRoot}
${web.split('\n').map((l) => '  ' + l).join('\n')}
${extra}
`);
  const all = [
    { login: 'admin', role: 'admin', pw: PASSWORDS.admin },
    { login: 'sup', role: 'supervisor', pw: PASSWORDS.sup },
    { login: 'agent', role: 'agent', pw: PASSWORDS.agent },
    ...users,
  ];
  for (const u of all) {
    const args = ['user', 'add', u.login, '--role', u.role, '--password-stdin', '-c', conf];
    if (!u.mustChange) args.splice(6, 0, '--no-force-change');
    const r = spawnSync(BIN, args, { input: u.pw + '\n', encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`user add ${u.login}: ${r.stderr}`);
  }
  let proc, log = '';
  // Start Plateau; resolves with the port it serves on.
  const launch = () => new Promise((resolve, reject) => {
    proc = spawn(BIN, ['run', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    log = '';
    const t = setTimeout(() => reject(new Error('plateau did not start:\n' + log)), timeoutMs);
    let up = false;
    const onExit = (code) => { clearTimeout(t); reject(new Error(`plateau exited ${code}:\n${log}`)); };
    const onData = (d) => {
      log += d;
      const m = up ? null : /serving https?:\/\/127\.0\.0\.1:(\d+)\//.exec(log);
      if (m) { up = true; clearTimeout(t); proc.off('exit', onExit); resolve(Number(m[1])); }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', onExit);
  });
  const halt = () => {
    const done = new Promise((res) => proc.on('exit', (code, sig) => res({ code, sig })));
    proc.kill('SIGTERM');
    return done;
  };
  const port = await launch();
  const base = `http://127.0.0.1:${port}`;
  const server = {
    dir, conf, port, base,
    get proc() { return proc; },
    get pid() { return proc.pid; },
    get log() { return log; },
    async stop() {
      const r = await halt();
      fs.rmSync(dir, { recursive: true, force: true });
      return r;
    },
    // Stop and start again on the same port and data.
    async restart() {
      await halt();
      fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace(/^  port: 0$/m, `  port: ${port}`));
      await launch();
    },
    async login(loginName, pw) {
      const r = await fetch(base + '/api/v1/session', {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ login: loginName, password: pw ?? PASSWORDS[loginName] }),
      });
      const body = await r.json();
      if (r.status !== 200) return { status: r.status, body };
      const sc = r.headers.get('set-cookie');
      const cookie = sc.split(';')[0];
      return { status: 200, body, cookie, csrf: body.csrf_token, setCookie: sc };
    },
    // fetch with a session: adds the cookie and (for state changes) the CSRF token.
    async call(sess, method, p, body, headers = {}) {
      const h = { ...headers };
      if (sess?.cookie) h.cookie = sess.cookie;
      if (sess?.csrf && method !== 'GET' && h['x-csrf-token'] === undefined) h['x-csrf-token'] = sess.csrf;
      if (body !== undefined && h['content-type'] === undefined) h['content-type'] = 'application/json';
      const r = await fetch(base + p, { method, headers: h, body: body === undefined ? undefined : (typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body)) });
      const text = await r.text();
      let json = null; try { json = JSON.parse(text); } catch { /* not JSON */ }
      return { status: r.status, json, text, headers: r.headers };
    },
  };
  return server;
}
