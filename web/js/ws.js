// The one WebSocket of this browser tab: pushed events in, live commands
// out. It reconnects by itself (backoff up to 10 s) after a network drop
// or a server restart; on every (re)connection the 'open' listeners run so
// that pages reload their state from the server, which keeps it (calls and
// agent states live in Plateau, not in the tab).

const listeners = new Map();
let sock = null;
let seq = 0;
let pending = new Map();
let backoff = 500;
let wanted = false;
let timer = null;

export function on(type, fn) {
  if (!listeners.has(type)) listeners.set(type, new Set());
  listeners.get(type).add(fn);
  return () => listeners.get(type)?.delete(fn);
}

function emit(type, data) {
  for (const fn of listeners.get(type) || []) {
    try { fn(data, type); } catch (e) { console.error(e); }
  }
  if (type !== '*' && !['open', 'close'].includes(type)) {
    for (const fn of listeners.get('*') || []) fn(data, type);
  }
}

export function connected() { return sock && sock.readyState === WebSocket.OPEN; }

function dispatch(msg) {
  if (!msg || typeof msg.type !== 'string') return;
  if (msg.type === 'reply' && pending.has(msg.id)) {
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) p.reject(msg.error); else p.resolve(msg.data);
    return;
  }
  if (msg.type === 'bye') { if (sock) sock.close(); return; }
  emit(msg.type, msg.data || {});
}

export function connect() {
  wanted = true;
  if (sock && sock.readyState <= WebSocket.OPEN) return;
  // batch=1: messages waiting for this browser arrive as one frame
  // {type: 'batch', data: [...]}, which keeps a supervisor's view smooth
  // when a large site sends hundreds of events a second.
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/v1/ws?batch=1';
  sock = new WebSocket(url, 'plateau');
  sock.onopen = () => { backoff = 500; emit('open', {}); };
  sock.onmessage = (m) => {
    let msg;
    try { msg = JSON.parse(m.data); } catch { return; }
    if (msg.type === 'batch' && Array.isArray(msg.data)) msg.data.forEach(dispatch);
    else dispatch(msg);
  };
  sock.onclose = () => {
    for (const p of pending.values()) p.reject({ code: 'network', message: 'closed' });
    pending = new Map();
    emit('close', {});
    sock = null;
    if (wanted) {
      clearTimeout(timer);
      timer = setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    }
  };
}

export function disconnect() {
  wanted = false;
  clearTimeout(timer);
  if (sock) sock.close();
  sock = null;
}

// A live command: {type, id, data} → the reply's data (or throws its error).
export function send(type, data) {
  return new Promise((resolve, reject) => {
    if (!connected()) { reject({ code: 'network', message: 'not connected' }); return; }
    const id = 'c' + (++seq);
    pending.set(id, { resolve, reject });
    sock.send(JSON.stringify({ type, id, data: data || {} }));
  });
}

// Reconnect at once when the network comes back or the tab wakes up.
window.addEventListener('online', () => { if (wanted && !connected()) { backoff = 500; connect(); } });
