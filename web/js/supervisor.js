// The supervisor's live view: agents by state with time in state (click a
// state to list its agents, force a state), calls in progress, queues
// (waiting, longest wait, service level), campaigns ON/OFF and the
// dialer's pacing figures. Loaded once, then kept up to date only by
// pushed events; rows are patched in place and redrawn at most once per
// animation frame, so a site of 200 agents costs a few DOM writes a second.

import { get, post } from './api.js';
import { h, clear, toast } from './dom.js';
import { t, tErr, tState, tReason, fmtDuration } from './i18n.js';
import * as ws from './ws.js';

const STATES = ['available', 'reserved', 'in_call', 'outbound', 'wrap_up', 'pause', 'connecting'];
const FORCIBLE = ['available', 'pause', 'wrap_up', 'logged_out'];

export function mount(main) {
  const agents = new Map(); // login -> info
  const rows = new Map();   // login -> {tr, state, time}
  let queues = [];
  const campaigns = new Map();
  const pacing = new Map();
  let filter = null;
  let reasons = []; // pause reasons a supervisor may give
  let dirty = false;

  const el = {
    tiles: h('div.tiles#state-tiles'),
    agents: h('tbody#agents-body'),
    calls: h('tbody#calls-body'),
    queues: h('tbody#queues-body'),
    campaigns: h('div#campaigns'),
    pacing: h('tbody#pacing-body'),
    pacingLog: h('div#pacing-log'),
    banner: h('div.banner.warn', { hidden: true, role: 'alert' }, t('agent.offline')),
  };
  main.append(h('div.sup',
    el.banner,
    h('section.card.wide', h('h2', t('sup.agents')), el.tiles,
      h('table.grid#agents-table', h('thead', h('tr', h('th', t('sup.agent')), h('th', t('sup.state')),
        h('th', t('sup.time_in_state')), h('th', t('agent.number')), h('th', t('sup.force')))), el.agents)),
    h('section.card', h('h2', t('sup.calls')),
      h('table.grid', h('thead', h('tr', h('th', t('sup.agent')), h('th', t('agent.number')), h('th', t('sup.time_in_state')))), el.calls)),
    h('section.card', h('h2', t('sup.queues')),
      h('table.grid#queues-table', h('thead', h('tr', h('th', t('sup.queue')), h('th', t('sup.waiting')),
        h('th', t('sup.longest')), h('th', t('sup.sl')), h('th', t('sup.available')))), el.queues)),
    h('section.card', h('h2', t('sup.campaigns')), el.campaigns),
    h('section.card', h('h2', t('sup.pacing')),
      h('table.grid', h('thead', h('tr', h('th', t('nav.campaigns')), h('th', t('sup.dialing')),
        h('th', t('sup.available')), h('th', t('sup.abandon')), h('th', 'mode'), h('th', t('sup.why')))), el.pacing),
      el.pacingLog)));

  function schedule() {
    if (dirty) return;
    dirty = true;
    requestAnimationFrame(() => { dirty = false; draw(); });
  }

  function row(login) {
    let r = rows.get(login);
    if (r) return r;
    const state = h('td.state');
    const time = h('td.time');
    const num = h('td');
    const sel = h('select.force-state', { 'aria-label': t('sup.force') + ' ' + login },
      FORCIBLE.map((s) => h('option', { value: s }, tState(s))));
    // The reason of a forced pause, from the agents plugin's list.
    const why = h('select.force-reason', { 'aria-label': t('sup.reason') + ' ' + login },
      reasons.map((r) => h('option', { value: r }, tReason(r))));
    const showWhy = () => { why.hidden = sel.value !== 'pause'; };
    sel.addEventListener('change', showWhy);
    showWhy();
    const btn = h('button', { type: 'button', onclick: () => force(login, sel.value, why.value) }, t('sup.force'));
    const tr = h('tr', { dataset: { agent: login } }, h('td', login), state, time, num, h('td', sel, ' ', why, ' ', btn));
    r = { tr, state, time, num };
    rows.set(login, r);
    return r;
  }

  async function force(login, state, reason) {
    try {
      await post(`/agents/${encodeURIComponent(login)}/state`,
        { state, reason: state === 'pause' ? reason || undefined : undefined });
      toast(t('sup.forced'));
    } catch (e) { toast(tErr(e), 'error'); }
  }

  function draw() {
    const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
    for (const a of agents.values()) counts[a.state] = (counts[a.state] || 0) + 1;
    clear(el.tiles,
      h('button.tile', { type: 'button', 'aria-pressed': String(!filter), onclick: () => { filter = null; schedule(); } },
        h('b', String(agents.size)), t('sup.all')),
      STATES.map((s) => h('button.tile', {
        type: 'button', dataset: { state: s }, 'aria-pressed': String(filter === s),
        onclick: () => { filter = filter === s ? null : s; schedule(); },
      }, h('b', { id: 'count-' + s }, String(counts[s])), tState(s))));
    const logins = [...agents.keys()].sort();
    const wanted = [];
    for (const login of logins) {
      const a = agents.get(login);
      const r = row(login);
      r.state.textContent = tState(a.state, a.reason);
      r.state.dataset.state = a.state;
      r.num.textContent = a.call?.number || '';
      if (!filter || a.state === filter) wanted.push(r.tr);
    }
    for (const [login, r] of rows) if (!agents.has(login)) { r.tr.remove(); rows.delete(login); }
    el.agents.replaceChildren(...wanted);
    if (!agents.size) el.agents.append(h('tr', h('td', { colSpan: 5 }, t('sup.no_agents'))));
    const inCall = logins.map((l) => agents.get(l)).filter((a) => ['in_call', 'outbound'].includes(a.state));
    clear(el.calls, inCall.length ? inCall.map((a) => h('tr', h('td', a.agent), h('td', a.call?.number || ''),
      h('td.time', { dataset: { since: a.since } }, fmtDuration(Date.now() - a.since))))
      : h('tr', h('td', { colSpan: 3 }, t('sup.no_calls'))));
    clear(el.queues, queues.map((q) => h('tr', { dataset: { queue: q.queue } }, h('td', q.queue), h('td.num', String(q.waiting)),
      h('td.num', fmtDuration(q.longest_wait_ms)), h('td.num', Math.round((q.service_level ?? 1) * 100) + ' %'),
      h('td.num', `${q.agents_available}/${q.agents_logged_in}`))));
    clear(el.campaigns, campaigns.size ? [...campaigns.values()].map((c) => h('label.switch', { dataset: { campaign: c.name } },
      h('input', { type: 'checkbox', checked: !!c.enabled, onchange: (e) => toggle(c, e.target.checked) }),
      ' ', c.label || c.name, ' — ', c.enabled ? t('sup.on') : t('sup.off'))) : h('p.muted', t('camp.none')));
    clear(el.pacing, [...pacing.values()].map((p) => h('tr', { dataset: { campaign: p.campaign } },
      h('td', h('button.link', { type: 'button', title: t('sup.pacing_log'), onclick: () => showLog(p.campaign) }, p.campaign)), h('td.num', String(p.in_flight ?? p.lines ?? 0)),
      h('td.num', `${p.agents_available ?? 0}${p.agents_logged_in != null ? '/' + p.agents_logged_in : ''}`),
      h('td.num', ((p.abandon_rate ?? 0) * 100).toFixed(1) + ' %'), h('td', p.mode || ''),
      // "Why N lines now", as the dialer explained its last decision.
      h('td.why', p.reason || ''))));
    tick();
  }

  function tick() {
    const now = Date.now();
    for (const [login, r] of rows) {
      const a = agents.get(login);
      if (a) r.time.textContent = fmtDuration(now - a.since);
    }
    for (const td of el.calls.querySelectorAll('td.time')) td.textContent = fmtDuration(now - Number(td.dataset.since));
  }

  // The dialer's last decisions for one campaign: "why N lines then".
  async function showLog(name) {
    try {
      const r = await get(`/campaigns/${encodeURIComponent(name)}/pacing?limit=10`);
      clear(el.pacingLog, h('h3', t('sup.pacing_log'), ' — ', name),
        (r.items || []).length ? h('table.grid', h('tbody', r.items.map((e) => h('tr',
          h('td', new Date(e.at).toLocaleTimeString()), h('td.num', String(e.lines)),
          h('td', e.explain?.reason || ''))))) : h('p.muted', t('sup.no_pacing_log')));
    } catch (e) { toast(tErr(e), 'error'); }
  }

  async function toggle(c, on) {
    try {
      await post(`/campaigns/${encodeURIComponent(c.name)}/${on ? 'start' : 'stop'}`, {});
      c.enabled = on;
    } catch (e) { toast(tErr(e), 'error'); }
    schedule();
  }

  // A campaign's figures as the pacing table shows them.
  const figures = (c) => ({ campaign: c.campaign, mode: c.mode, in_flight: c.lines_in_flight,
    agents_available: c.agents_available, abandon_rate: c.abandon_rate });

  async function load() {
    if (!reasons.length) {
      try {
        reasons = (await get('/agents/me')).pause_reasons || [];
        for (const r of rows.values()) r.tr.remove();
        rows.clear();
      } catch { /* the default reason then */ }
    }
    try {
      const r = await get('/agents');
      agents.clear();
      for (const a of r.items || []) agents.set(a.agent, a);
    } catch (e) { toast(tErr(e), 'error'); }
    try { queues = (await get('/queues')).items || []; } catch { queues = []; }
    try {
      const r = await get('/campaigns');
      campaigns.clear();
      for (const c of r.items || []) {
        campaigns.set(c.name, c);
        if (c.enabled || pacing.has(c.name)) pacing.set(c.name, { ...pacing.get(c.name), ...figures({ ...c, campaign: c.name }) });
      }
    } catch { /* no dialer */ }
    schedule();
  }

  const off = [
    ws.on('open', () => { el.banner.hidden = true; load(); }),
    ws.on('close', () => { el.banner.hidden = false; }),
    ws.on('agent.state_changed', (d) => {
      if (d.to === 'logged_out') agents.delete(d.agent);
      else {
        const a = agents.get(d.agent) || { agent: d.agent };
        a.state = d.to;
        a.reason = d.reason || null;
        a.since = Date.now();
        if (!['in_call', 'outbound'].includes(d.to)) a.call = null;
        agents.set(d.agent, a);
        if (['in_call', 'outbound'].includes(d.to)) {
          // The number of the call: one small read, only for calls.
          get('/agents/' + encodeURIComponent(d.agent)).then((x) => {
            if (agents.has(d.agent)) { agents.get(d.agent).call = x.call; schedule(); }
          }).catch(() => {});
        }
      }
      schedule();
    }),
    ws.on('acd.queue_stats', (d) => { queues = d.queues || []; schedule(); }),
    ws.on('dialer.pacing', (d) => { pacing.set(d.campaign, { ...pacing.get(d.campaign), ...d }); schedule(); }),
    // Every mode's live figures, pushed when its attempts change.
    ws.on('dialer.stats', (d) => { pacing.set(d.campaign, { ...pacing.get(d.campaign), ...figures(d) }); schedule(); }),
    ws.on('dialer.campaign.changed', (d) => {
      const c = campaigns.get(d.campaign);
      if (c) { c.enabled = !!d.enabled; schedule(); }
    }),
  ];
  const timer = setInterval(tick, 1000);
  load();
  return () => { clearInterval(timer); off.forEach((f) => f()); };
}
