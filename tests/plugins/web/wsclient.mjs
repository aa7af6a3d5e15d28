// SPDX-License-Identifier: MIT
// A tiny WebSocket client over node:net for the tests and the benchmark:
// unlike a browser's WebSocket it can send any Origin and Cookie, which is
// what the security tests need. Text frames only (RFC 6455).
import net from 'node:net';
import crypto from 'node:crypto';

export function connectWs(port, { path = '/api/v1/ws', origin, cookie, host } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const key = crypto.randomBytes(16).toString('base64');
    let buf = Buffer.alloc(0);
    let open = false;
    const ws = {
      messages: [], waiters: [], closed: false, sock,
      onmessage: null,
      send(obj) {
        const payload = Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj));
        const mask = crypto.randomBytes(4);
        let head;
        if (payload.length < 126) head = Buffer.from([0x81, 0x80 | payload.length]);
        else if (payload.length < 65536) {
          head = Buffer.alloc(4); head[0] = 0x81; head[1] = 0x80 | 126; head.writeUInt16BE(payload.length, 2);
        } else {
          head = Buffer.alloc(10); head[0] = 0x81; head[1] = 0x80 | 127; head.writeBigUInt64BE(BigInt(payload.length), 2);
        }
        const masked = Buffer.alloc(payload.length);
        for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ mask[i & 3];
        sock.write(Buffer.concat([head, mask, masked]));
      },
      // Resolves with the next message matching pred (or rejects on close/timeout).
      next(pred = () => true, ms = 5000) {
        const i = this.messages.findIndex(pred);
        if (i >= 0) return Promise.resolve(this.messages.splice(i, 1)[0]);
        return new Promise((res, rej) => {
          const w = { pred, res, rej };
          w.timer = setTimeout(() => { this.waiters.splice(this.waiters.indexOf(w), 1); rej(new Error('timeout waiting for a message')); }, ms);
          this.waiters.push(w);
        });
      },
      close() { sock.destroy(); },
      closedPromise: null,
    };
    ws.closedPromise = new Promise((res) => sock.on('close', () => {
      ws.closed = true;
      for (const w of ws.waiters.splice(0)) { clearTimeout(w.timer); w.rej(new Error('closed')); }
      res();
    }));
    const deliver = (text) => {
      let msg; try { msg = JSON.parse(text); } catch { msg = text; }
      if (ws.onmessage) { ws.onmessage(msg); return; }
      const i = ws.waiters.findIndex((w) => w.pred(msg));
      if (i >= 0) { const [w] = ws.waiters.splice(i, 1); clearTimeout(w.timer); w.res(msg); }
      else ws.messages.push(msg);
    };
    sock.on('error', (e) => { if (!open) reject(e); });
    sock.on('close', () => { if (!open) reject(new Error('refused')); });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!open) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString();
        buf = buf.subarray(end + 4);
        if (!/^HTTP\/1\.1 101/.test(head)) { sock.destroy(); reject(new Error('refused: ' + head.split('\r\n')[0])); return; }
        open = true;
        resolve(ws);
      }
      for (;;) {
        if (buf.length < 2) return;
        const op = buf[0] & 0x0f;
        let len = buf[1] & 0x7f, off = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
        else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
        if (buf.length < off + len) return;
        const payload = buf.subarray(off, off + len);
        buf = buf.subarray(off + len);
        if (op === 1) deliver(payload.toString());
        else if (op === 8) sock.end();
        else if (op === 9) { /* ping: pong */ const m = crypto.randomBytes(4); sock.write(Buffer.concat([Buffer.from([0x8a, 0x80]), m])); }
      }
    });
    const lines = [
      `GET ${path} HTTP/1.1`, `Host: ${host || '127.0.0.1:' + port}`, 'Upgrade: websocket', 'Connection: Upgrade',
      `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13'];
    if (origin !== undefined && origin !== null) lines.push(`Origin: ${origin}`);
    if (cookie) lines.push(`Cookie: ${cookie}`);
    sock.write(lines.join('\r\n') + '\r\n\r\n');
  });
}
