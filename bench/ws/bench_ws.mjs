// SPDX-License-Identifier: MIT
// bench/ws: N WebSocket clients on loopback receive every bus event the
// web plugin forwards; prints p50/p99 latency from publish (the event's
// monotonic stamp) to each client's receive, and the server's CPU time,
// for a 10-client baseline and for 1,000 clients in the same run; then a
// supervisor view's steady flow: 200 clients receiving 1,000 events a
// second for 5 s (p50/p99/max, events late by more than 100 ms, drops).
//   PLATEAU_BUILD_DIR=build node bench/ws/bench_ws.mjs [clients] [rounds]
//     [flow clients] [flow events/s] [flow seconds]
import fs from 'node:fs';
import { startServer } from '../../tests/plugins/web/harness.mjs';
import { connectWs } from '../../tests/plugins/web/wsclient.mjs';

const N = Number(process.argv[2] || 1000);
const ROUNDS = Number(process.argv[3] || 50);
const BASE = 10;
const FLOW_CLIENTS = Number(process.argv[4] || 200);
const FLOW_RATE = Number(process.argv[5] || 1000);
const FLOW_SECONDS = Number(process.argv[6] || 5);

function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const tck = 100; // USER_HZ on Linux
  return ((Number(f[11]) + Number(f[12])) * 1000) / tck;
}
const pct = (a, p) => a[Math.min(a.length - 1, Math.floor((a.length * p) / 100))];

async function run(s, admin, clients) {
  const socks = [];
  for (let i = 0; i < clients; i++) {
    const ws = await connectWs(s.port, { origin: s.base, cookie: admin.cookie });
    socks.push(ws);
  }
  await Promise.all(socks.map((ws) => ws.next((m) => m.type === 'hello')));
  const lat = [];
  let got = 0, want = 0, wake = null;
  for (const ws of socks) {
    ws.onmessage = (m) => {
      if (m.type !== 'bench.tick.sent') return;
      lat.push(Number(process.hrtime.bigint() - BigInt(m.data.t_ns)) / 1e6);
      if (++got === want && wake) wake();
    };
  }
  const cpu0 = cpuMs(s.pid), t0 = process.hrtime.bigint();
  for (let r = 0; r < ROUNDS; r++) {
    want += clients;
    const done = new Promise((res) => { wake = res; });
    const resp = await s.call(admin, 'POST', '/api/v1/bench/fire', { n: 1 });
    if (resp.status !== 200) throw new Error('fire: ' + resp.text);
    await done;
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = cpuMs(s.pid) - cpu0;
  for (const ws of socks) ws.close();
  lat.sort((a, b) => a - b);
  return { clients, events: lat.length, p50: pct(lat, 50), p99: pct(lat, 99), max: lat[lat.length - 1], cpu, wall };
}

// A steady flow: `rate` events a second for `seconds`, every event to
// every client.
async function flow(s, admin, clients, rate, seconds) {
  const socks = [];
  // Batched frames (?batch=1): several queued events in one frame.
  for (let i = 0; i < clients; i++) {
    socks.push(await connectWs(s.port, { origin: s.base, cookie: admin.cookie, path: '/api/v1/ws?batch=1' }));
  }
  await Promise.all(socks.map((ws) => ws.next((m) => m.type === 'hello')));
  const lat = [];
  const want = clients * rate * seconds;
  let got = 0, wake = null;
  const one = (m, now) => {
    if (m.type !== 'bench.tick.sent') return;
    lat.push(Number(now - BigInt(m.data.t_ns)) / 1e6);
    if (++got === want && wake) wake();
  };
  for (const ws of socks) {
    ws.onmessage = (m) => {
      const now = process.hrtime.bigint();
      if (m.type === 'batch') for (const x of m.data) one(x, now);
      else one(m, now);
    };
  }
  const metric = async (name) => {
    const t = await (await fetch(s.base + '/metrics')).text();
    const m = new RegExp('^' + name + ' (\\S+)$', 'm').exec(t);
    return m ? Number(m[1]) : NaN;
  };
  const dropped0 = await metric('plateau_ws_dropped_total');
  const cpu0 = cpuMs(s.pid), t0 = process.hrtime.bigint();
  const done = new Promise((res) => { wake = res; });
  const r = await s.call(admin, 'POST', '/api/v1/bench/stream', { rate, seconds });
  if (r.status !== 200) throw new Error('stream: ' + r.text);
  await Promise.race([done, new Promise((res) => setTimeout(res, seconds * 1000 + 10000))]);
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = cpuMs(s.pid) - cpu0;
  const dropped = (await metric('plateau_ws_dropped_total')) - dropped0;
  for (const ws of socks) ws.close();
  const late = lat.filter((x) => x > 100).length;
  lat.sort((a, b) => a - b);
  return { clients, rate, seconds, want, events: lat.length, late, dropped, p50: pct(lat, 50), p99: pct(lat, 99),
    max: lat[lat.length - 1], cpu, wall };
}

const s = await startServer({
  plugins: ['bench_ticker'],
  web: 'ws_per_session: 5000\nrequests_per_second: 0',
});
try {
  const admin = await s.login('admin');
  const base = await run(s, admin, BASE);
  const big = await run(s, admin, N);
  const show = (r) => console.log(
    `${String(r.clients).padStart(5)} clients: ${r.events} deliveries, latency p50 ${r.p50.toFixed(2)} ms, ` +
    `p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(2)} ms; server CPU ${r.cpu.toFixed(0)} ms over ${r.wall.toFixed(0)} ms ` +
    `(${((r.cpu / r.events) * 1000).toFixed(1)} us per delivery)`);
  console.log(`bench/ws: ${ROUNDS} events fanned out, one at a time`);
  show(base);
  show(big);
  console.log(`ratio ${N}/${BASE} clients: p50 x${(big.p50 / base.p50).toFixed(1)}, p99 x${(big.p99 / base.p99).toFixed(1)}, ` +
    `CPU per delivery x${((big.cpu / big.events) / (base.cpu / base.events)).toFixed(2)}`);
  const f = await flow(s, admin, FLOW_CLIENTS, FLOW_RATE, FLOW_SECONDS);
  console.log(`bench/ws flow: ${f.clients} clients, ${f.rate} events/s for ${f.seconds} s: ` +
    `${f.events}/${f.want} deliveries, latency p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms, ` +
    `max ${f.max.toFixed(2)} ms, ${f.late} later than 100 ms, ${f.dropped} sockets dropped; ` +
    `server CPU ${f.cpu.toFixed(0)} ms over ${f.wall.toFixed(0)} ms ` +
    `(${((f.cpu / f.wall) * 100).toFixed(0)} % of one CPU, ${((f.cpu / f.events) * 1000).toFixed(1)} us per delivery)`);
} finally {
  await s.stop();
}
