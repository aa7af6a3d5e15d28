// The agent desk: connect my phone, Available / Pause / Back, the state and
// its timer always in sight, the screen pop (contact card with the
// campaign's fields, attempt history, script with the contact's values),
// call control, the result with note, products and callback, my callbacks,
// my last calls, preview and manual dial. Everything is pushed over the
// WebSocket; after a reconnection the page reloads its state from Plateau,
// which holds it (a network drop loses neither the call nor the state).

import { get, post } from './api.js';
import { h, clear, field, toast } from './dom.js';
import { t, tErr, tState, fmtDuration, fmtDateTime } from './i18n.js';
import * as ws from './ws.js';

const DEFAULT_DISPOSITIONS = [
  { code: 'OK', label: 'Intéressé / Interested', kind: 'success' },
  { code: 'REFUS', label: 'Pas intéressé / Not interested', kind: 'final' },
  { code: 'RAPPEL', label: 'Rappel / Callback', kind: 'callback' },
  { code: 'FAUX', label: 'Faux numéro / Wrong number', kind: 'final' },
  { code: 'NPA', label: 'Ne plus appeler / Do not call', kind: 'dnc' },
];

export function mount(main, { session }) {
  const st = {
    me: null, call: null, contact: null, history: [], campaign: null,
    callEnded: false, held: false, preview: null, offline: false,
  };
  const el = {};
  const off = [];

  // ---- layout ---------------------------------------------------------
  el.banner = h('div.banner.warn#offline', { hidden: true, role: 'alert' }, t('agent.offline'));
  el.state = h('div.state-big#agent-state', { 'aria-live': 'polite' });
  el.controls = h('div.controls');
  el.phone = h('section.card#phone-card');
  el.call = h('section.card#call-card', { 'aria-labelledby': 'call-title' });
  el.result = h('section.card#result-card', { hidden: true });
  el.callbacks = h('section.card#callbacks-card');
  el.recent = h('section.card#recent-card');
  el.dial = h('section.card#dial-card');
  el.preview = h('section.card#preview-card', { hidden: true });
  main.append(h('div.agent-desk',
    el.banner,
    h('div.col.left', h('section.card.state-card', el.state, el.controls), el.phone, el.dial, el.preview),
    h('div.col.center', el.call, el.result),
    h('div.col.right', el.callbacks, el.recent),
    h('p.hint', t('agent.shortcuts'))));

  // ---- data -----------------------------------------------------------
  async function refresh() {
    try {
      st.me = await get('/agents/me');
    } catch (e) {
      toast(tErr(e), 'error');
      return;
    }
    // A call whose result is saved does not pop again while it lasts.
    if (st.me.call && st.me.call.leg_id !== st.savedLeg && (!st.call || st.call.leg_id !== st.me.call.leg_id)) {
      await popCall(st.me.call);
    }
    if (!st.me.call_leg_id && !['wrap_up'].includes(st.me.state) && st.call && st.callEnded === false) {
      st.callEnded = true;
    }
    // A preview offered before this page was (re)loaded.
    if (!st.preview && st.me.state !== 'logged_out') {
      try { await showPreview(await get('/dialer/preview')); } catch { /* nothing previewed */ }
    }
    render();
    loadCallbacks();
  }

  // The card appears with its contact: a render while the record is on its
  // way must not show an empty preview.
  // A preview dialled or skipped meanwhile is not shown again (seq).
  let previewSeq = 0;
  async function showPreview(d) {
    const seq = ++previewSeq;
    let contact = null;
    try { contact = await get('/contacts/' + d.contact_id); } catch { /* number only */ }
    if (seq === previewSeq) st.preview = { ...d, contact };
  }

  async function popCall(call) {
    st.call = call;
    st.callEnded = false;
    st.held = false;
    st.contact = null;
    st.history = [];
    st.campaign = null;
    const vars = call.vars || {};
    try {
      if (vars.contact_id) {
        st.contact = await get('/contacts/' + encodeURIComponent(vars.contact_id));
      } else if (call.number) {
        const r = await get('/contacts?limit=1&phone=' + encodeURIComponent(call.number));
        st.contact = r.items?.[0] || null;
      }
      if (st.contact) st.history = (await get(`/contacts/${st.contact.id}/history`)).items || [];
    } catch { /* the pop still shows the number */ }
    const camp = vars.campaign_id || vars.campaign;
    if (camp) {
      try { st.campaign = await get('/campaigns/' + encodeURIComponent(camp)); } catch { st.campaign = null; }
    }
    renderCall();
    renderResult();
  }

  async function loadCallbacks() {
    let items = [];
    try { items = (await get('/callbacks/mine')).items || []; } catch { /* leads may be absent */ }
    clear(el.callbacks, h('h2', t('agent.my_callbacks')),
      items.length ? h('ul.list#callbacks', items.map((c) => {
        const when = h('input', { type: 'datetime-local', value: toLocalInput(c.callback_at), 'aria-label': t('agent.callback_at') });
        return h('li', h('span', contactName(c), ' — ', fmtDateTime(c.callback_at)), when,
          h('button', { type: 'button', onclick: () => reschedule(c, when.value) }, t('agent.reschedule')));
      })) : h('p.muted', t('agent.no_callbacks')));
  }

  async function reschedule(c, value) {
    const at = Date.parse(value);
    if (!at) return;
    try {
      await post(`/contacts/${c.id}/callback`, { callback_at: at, callback_for: 'me', campaign: c.campaign });
      loadCallbacks();
    } catch (e) { toast(tErr(e), 'error'); }
  }

  // ---- actions --------------------------------------------------------
  async function act(fn) {
    try { await fn(); } catch (e) { toast(tErr(e), 'error'); }
    refresh();
  }
  const setState = (state, reason) => act(() => post('/agents/me/state', { state, reason }));
  const callCmd = (what, body) => act(async () => {
    await post('/agents/me/call/' + what, body);
    if (what === 'hold') st.held = true;
    if (what === 'resume') st.held = false;
  });

  // ---- rendering ------------------------------------------------------
  function render() {
    const me = st.me || { state: 'logged_out' };
    el.state.dataset.state = me.state;
    renderState();
    const loggedIn = me.state !== 'logged_out';
    const reasons = me.pause_reasons || [];
    const reason = h('select#pause-reason', { 'aria-label': t('agent.reason') },
      reasons.map((r) => h('option', { value: r }, tState('pause', r).replace(/^[^(]*\(|\)$/g, ''))));
    clear(el.controls,
      h('button.primary#btn-ready', {
        type: 'button', disabled: !loggedIn || ['available', 'in_call', 'reserved', 'outbound', 'connecting'].includes(me.state),
        onclick: () => setState('available'),
      }, me.state === 'pause' ? t('agent.back') : t('agent.ready')),
      reason,
      h('button#btn-pause', {
        type: 'button', disabled: !loggedIn || me.state === 'connecting',
        onclick: () => setState('pause', reason.value),
      }, t('agent.pause')),
      me.pending_pause ? h('p.muted', t('agent.pending_pause', { r: me.pending_pause })) : null);

    if (!loggedIn) {
      const phone = h('input#phone', { name: 'phone', required: true, placeholder: '200', autocomplete: 'off',
        value: localStorage.getItem('plateau.phone') || '' });
      clear(el.phone, h('form#phone-form', {
        onsubmit: (e) => {
          e.preventDefault();
          localStorage.setItem('plateau.phone', phone.value.trim());
          act(() => post('/agents/me/login', { phone: phone.value.trim() }));
        },
      }, h('h2', t('agent.phone')), field(t('agent.phone'), phone, t('agent.phone_help')),
      h('button.primary', { type: 'submit' }, t('agent.connect'))));
    } else {
      clear(el.phone, h('h2', t('agent.phone')), h('p#phone-now', me.phone || ''),
        h('button#btn-logout-agent', { type: 'button', onclick: () => act(() => post('/agents/me/logout', {})) },
          t('agent.disconnect')));
    }
    const num = h('input#dial-number', { type: 'tel', placeholder: '+33…', 'aria-label': t('agent.number') });
    clear(el.dial, h('form', {
      onsubmit: (e) => { e.preventDefault(); if (num.value.trim()) act(() => post('/agents/me/dial', { number: num.value.trim() })); },
    }, h('h2', t('agent.manual_dial')), num, h('button', { type: 'submit', disabled: !loggedIn }, t('agent.dial'))));
    renderRecent();
    renderCall();
    renderPreview();
  }

  function renderState() {
    const me = st.me || { state: 'logged_out' };
    const since = me.since || Date.now();
    const text = tState(me.state, me.reason);
    const timer = me.state === 'logged_out' ? '' : fmtDuration(Date.now() - since);
    clear(el.state, h('span.badge', { dataset: { state: me.state } }, text), h('span.timer#state-timer', timer));
    const bar = document.getElementById('statebar');
    if (bar) clear(bar, h('span.badge', { dataset: { state: me.state } }, text), ' ', timer);
  }

  function renderRecent() {
    const rec = st.me?.recent_calls || [];
    clear(el.recent, h('h2', t('agent.recent')),
      rec.length ? h('ul.list#recent', rec.map((c) => h('li',
        h('span', c.number || ''), ' ', h('span.muted', fmtDateTime(c.ended_at)), ' ',
        h('span.muted', fmtDuration(c.talk_ms))))) : h('p.muted', t('agent.no_recent')));
  }

  function renderCall() {
    const c = st.call;
    if (!c) { clear(el.call, h('h2#call-title', t('agent.call')), h('p.muted', t('agent.no_call'))); return; }
    const live = !st.callEnded && ['in_call', 'outbound'].includes(st.me?.state);
    const dest = h('input#transfer-to', { 'aria-label': t('agent.transfer_to'), placeholder: t('agent.transfer_to') });
    const contact = st.contact;
    const shown = st.campaign?.fields_shown?.length ? st.campaign.fields_shown : Object.keys(contact?.fields || {});
    clear(el.call,
      h('h2#call-title', t('agent.call'), ' ', h('span.number#pop-number', c.number || '')),
      live ? h('div.controls',
        h('button.danger#btn-hangup', { type: 'button', onclick: () => callCmd('hangup') }, t('agent.hangup')),
        st.held ? h('button#btn-resume', { type: 'button', onclick: () => callCmd('resume') }, t('agent.resume'))
          : h('button#btn-hold', { type: 'button', onclick: () => callCmd('hold') }, t('agent.hold')),
        dest, h('button', { type: 'button', onclick: () => dest.value && callCmd('transfer', { destination: dest.value }) },
          t('agent.transfer'))) : null,
      h('div.pop#screen-pop',
        h('h3', contact ? t('agent.contact') : t('agent.unknown_contact')),
        contact ? h('dl.fields', shown.map((k) => [h('dt', t('field.' + k) === 'field.' + k ? k : t('field.' + k)), h('dd', contact.fields?.[k] ?? '')])) : null,
        contact ? h('p.muted', contact.phones?.map((p) => p.e164).join(', ')) : null),
      scriptBlock(),
      h('div.history', h('h3', t('agent.history')),
        st.history.length ? h('table.grid', h('tbody', st.history.map((e) => h('tr',
          h('td', fmtDateTime(e.at)), h('td', e.kind || ''), h('td', e.disposition || e.outcome || ''),
          h('td', e.agent || ''), h('td', e.note || ''))))) : h('p.muted', t('agent.no_history'))));
  }

  function scriptBlock() {
    const text = st.campaign?.script;
    if (!text) return null;
    const fields = st.contact?.fields || {};
    const vars = { ...fields, agent: session.user.name, numero: st.call?.number, number: st.call?.number };
    // Text nodes only: a contact's values never become markup.
    const parts = text.split(/(\{\{\s*[\w.]+\s*\}\})/g).map((p) => {
      const m = /^\{\{\s*([\w.]+)\s*\}\}$/.exec(p);
      return m ? h('mark', vars[m[1]] ?? '') : p;
    });
    return h('div.script#script', h('h3', t('agent.script')), h('p', parts));
  }

  function renderResult() {
    el.result.hidden = !st.call;
    if (!st.call) return;
    const disp = st.campaign?.dispositions?.length ? st.campaign.dispositions : DEFAULT_DISPOSITIONS;
    const code = h('select#result-code', { required: true },
      disp.map((d) => h('option', { value: d.code, dataset: { kind: d.kind || '' } }, d.label || d.code)));
    const note = h('textarea#result-note', { rows: 3 });
    const products = (st.campaign?.products || []).map((p) =>
      h('label.check', h('input', { type: 'checkbox', value: p.code || p.name || p }), ' ', p.label || p.name || p));
    const at = h('input#callback-at', { type: 'datetime-local' });
    const forWho = h('select#callback-for', h('option', { value: 'me' }, t('agent.callback_me')),
      h('option', { value: 'anyone' }, t('agent.callback_anyone')));
    clear(el.result, h('form#result-form', {
      onsubmit: async (e) => {
        e.preventDefault();
        const body = {
          code: code.value, note: note.value,
          campaign: st.campaign?.name || st.call?.vars?.campaign_id || null,
          products: products.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
        };
        if (at.value) { body.callback_at = Date.parse(at.value); body.callback_for = forWho.value; }
        try {
          if (st.contact) {
            const camp = st.campaign?.name;
            if (camp && st.campaign.source) {
              await post(`/campaigns/${encodeURIComponent(camp)}/results`, { ...body, contact_id: st.contact.id });
            } else {
              await post(`/contacts/${st.contact.id}/disposition`, body);
            }
          }
          toast(t('agent.saved'));
          st.savedLeg = st.call?.leg_id;
          st.call = null;
          st.contact = null;
          renderCall();
          renderResult();
          if (st.me?.state === 'wrap_up') await post('/agents/me/state', { state: 'available' });
        } catch (err) { toast(tErr(err), 'error'); }
        refresh();
      },
    },
    h('h2', t('agent.result')), field(t('agent.result'), code), field(t('agent.note'), note),
    products.length ? h('fieldset', h('legend', t('agent.products')), products) : null,
    h('fieldset', h('legend', t('agent.callback')), field(t('agent.callback_at'), at), field(t('agent.callback_for'), forWho)),
    h('button.primary#btn-save-result', { type: 'submit' }, t('agent.save_result'))));
  }

  function renderPreview() {
    const p = st.preview;
    el.preview.hidden = !p;
    if (!p) return;
    clear(el.preview, h('h2', t('agent.preview')),
      h('p#preview-contact', contactName(p.contact || {}), ' ',
        h('span.number', p.contact?.phones ? p.contact.phones.map((x) => x.e164).join(', ') : (p.phone || ''))),
      h('button.primary#btn-preview-dial', { type: 'button', onclick: () => act(async () => { await post('/dialer/preview/dial', {}); previewSeq++; st.preview = null; }) },
        t('agent.dial')),
      h('button#btn-preview-skip', { type: 'button', onclick: () => act(async () => { await post('/dialer/preview/skip', {}); previewSeq++; st.preview = null; }) },
        t('agent.preview_skip')));
  }

  // ---- live events ----------------------------------------------------
  off.push(ws.on('open', () => { st.offline = false; el.banner.hidden = true; refresh(); }));
  off.push(ws.on('close', () => { st.offline = true; el.banner.hidden = false; }));
  off.push(ws.on('agent.state_changed', (d) => { if (d.agent === session.user.login) refresh(); }));
  off.push(ws.on('agent.call', (d) => popCall(d).then(refresh)));
  off.push(ws.on('call.ended', (d) => {
    if (st.call && d.leg_id === st.call.leg_id) { st.callEnded = true; renderCall(); }
  }));
  off.push(ws.on('call.held', (d) => { if (st.call && d.leg_id === st.call.leg_id) { st.held = true; renderCall(); } }));
  off.push(ws.on('call.resumed', (d) => { if (st.call && d.leg_id === st.call.leg_id) { st.held = false; renderCall(); } }));
  off.push(ws.on('dialer.preview.offered', async (d) => {
    await showPreview(d);
    renderPreview();
  }));

  const tick = setInterval(renderState, 1000);
  const keys = (e) => {
    if (!e.altKey) return;
    const k = e.key.toLowerCase();
    if (k === 'd') { e.preventDefault(); document.getElementById('btn-ready')?.click(); }
    if (k === 'p') { e.preventDefault(); document.getElementById('btn-pause')?.click(); }
    if (k === 'h') { e.preventDefault(); document.getElementById('btn-hangup')?.click(); }
    if (k === 'r') { e.preventDefault(); document.getElementById('result-code')?.focus(); }
  };
  document.addEventListener('keydown', keys);

  render();
  refresh();
  return () => {
    clearInterval(tick);
    document.removeEventListener('keydown', keys);
    off.forEach((f) => f());
  };
}

function contactName(c) {
  const f = c.fields || {};
  return [f.prenom || f.first_name, f.nom || f.name || f.last_name].filter(Boolean).join(' ') || (c.phones?.[0]?.e164 ?? '');
}

function toLocalInput(ms) {
  if (!ms) return '';
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}
