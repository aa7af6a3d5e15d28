// Admin: campaigns ("opérations"), and the wizard that creates one in the
// order the manuals teach: type, dial mode and its settings, results with
// their meaning, products, agents, opening days and hours, fields shown
// and the script, hold music and abandon message, timers — then a summary.

import { get, post, put } from './api.js';
import { h, clear, field, toast } from './dom.js';
import { t, tErr } from './i18n.js';

const TYPES = ['sale', 'appointment', 'survey', 'other'];
const MODES = ['preview', 'progressive', 'predictive'];
const KINDS = [['success', 'success'], ['final', 'failure'], ['retry', 'retry'], ['callback', 'callback'], ['dnc', 'dnc']];
const DEFAULT_DISPOSITIONS = [
  { code: 'VENTE', label: 'Vente', kind: 'success' },
  { code: 'REFUS', label: 'Pas intéressé', kind: 'final' },
  { code: 'RAPPEL', label: 'À rappeler', kind: 'callback' },
  { code: 'FAUX', label: 'Faux numéro', kind: 'final' },
  { code: 'NPA', label: 'Ne plus appeler', kind: 'dnc' },
];

export function mount(main) {
  const listEl = h('div#campaign-list');
  const wizEl = h('section.card.wizard#wizard', { hidden: true });
  main.append(h('section.card', h('h1', t('camp.title')),
    h('button.primary#btn-new-campaign', { type: 'button', onclick: () => wizard(wizEl, () => { wizEl.hidden = true; load(); }) },
      t('camp.new')), listEl), wizEl);

  async function load() {
    let items = [];
    try { items = (await get('/campaigns')).items || []; } catch { items = []; }
    clear(listEl, items.length ? h('table.grid#campaigns-table', h('tbody', items.map((c) => h('tr', { dataset: { campaign: c.name } },
      h('td', c.label || c.name), h('td', t('camp.type.' + (c.type || 'other'))), h('td', t('camp.mode.' + (c.mode || 'progressive'))),
      h('td', c.enabled ? t('sup.on') : t('sup.off')),
      h('td', h('button', { type: 'button', onclick: async () => {
        try { await post(`/campaigns/${encodeURIComponent(c.name)}/${c.enabled ? 'stop' : 'start'}`, {}); load(); } catch (e) { toast(tErr(e), 'error'); }
      } }, c.enabled ? t('camp.stop') : t('camp.start')), ' ',
      h('button.edit', { type: 'button', onclick: async () => {
        try {
          const full = await get('/campaigns/' + encodeURIComponent(c.name));
          wizard(wizEl, () => { wizEl.hidden = true; load(); }, full);
        } catch (e) { toast(tErr(e), 'error'); }
      } }, t('camp.edit')))))))
      : h('p.muted', t('camp.none')));
  }
  load();
}

// The wizard; with @p old (a campaign as GET /campaigns/{name} gives it)
// it edits that campaign: the whole definition when it is stored, only
// the desk profile when it comes from the configuration file.
function wizard(el, done, old) {
  el.hidden = false;
  const c = {
    name: '', label: '', type: 'sale', mode: 'progressive', power_ratio: 1.5, ring_timeout_s: 25, max_attempts: 5,
    retry_delay_min: 60, amd: false, amd_fp_pct: 0, caller_id: '', queue: '', dispositions: DEFAULT_DISPOSITIONS.map((d) => ({ ...d })),
    products: [], agents: [], days: [1, 2, 3, 4, 5], from: '09:00', to: '20:00', fields_shown: 'first_name, last_name, city',
    script: 'Bonjour {{first_name}} {{last_name}}, je suis {{agent}} de la société Démo…', hold_music: '', message: '',
    lists: '',
  };
  if (old) Object.assign(c, fromCampaign(old));
  const steps = [stepType, stepMode, stepResults, stepProducts, stepAgents, stepHours, stepScript, stepMedia, stepSummary];
  let i = 0;

  const input = (key, attrs = {}) => {
    const e = h('input', { value: c[key], ...attrs });
    e.addEventListener('input', () => { c[key] = attrs.type === 'number' ? Number(e.value) : e.value; });
    return e;
  };
  const select = (key, opts) => {
    const e = h('select', opts.map(([v, l]) => h('option', { value: v, selected: c[key] === v }, l)));
    e.addEventListener('change', () => { c[key] = e.value; });
    return e;
  };

  function stepType() {
    return [field(t('camp.name'), input('name', { id: 'camp-name', required: true, pattern: '[a-z0-9_-]{1,40}', readOnly: !!old }), 'a-z 0-9 _ -'),
      field(t('camp.disp_label'), input('label', { id: 'camp-label' })),
      field(t('camp.type'), select('type', TYPES.map((x) => [x, t('camp.type.' + x)])))];
  }
  function stepMode() {
    return [field(t('camp.mode'), select('mode', MODES.map((x) => [x, t('camp.mode.' + x)]))),
      h('div.row', field(t('camp.ratio'), input('power_ratio', { type: 'number', step: '0.1', min: '1' })),
        field(t('camp.ring_timeout'), input('ring_timeout_s', { type: 'number', min: '10', max: '60' })),
        field(t('camp.max_attempts'), input('max_attempts', { type: 'number', min: '1', max: '50' })),
        field(t('camp.retry_delay'), input('retry_delay_min', { type: 'number', min: '1' }))),
      h('div.row', field(t('camp.caller_id'), input('caller_id', { placeholder: '+331…' })),
        field(t('sup.queue'), input('queue', { id: 'camp-queue', placeholder: 'ventes' })),
        field(t('camp.lists'), input('lists', { id: 'camp-lists', placeholder: t('camp.lists_default') })),
        // The detector's false-positive share, from its audits: predictive charges it to the abandon budget.
        field(t('camp.amd_fp'), input('amd_fp_pct', { id: 'camp-amd-fp', type: 'number', step: '0.1', min: '0', max: '50' }))),
      h('label.check', h('input', { type: 'checkbox', id: 'camp-amd', checked: c.amd, onchange: (e) => { c.amd = e.target.checked; } }), ' ', t('camp.amd'))];
  }
  function rows(key, cols, blank) {
    const body = h('tbody');
    const draw = () => clear(body, c[key].map((r, n) => h('tr', cols.map(([k, label, opts]) => {
      const e = opts ? h('select', { 'aria-label': label }, opts.map(([v, l]) => h('option', { value: v, selected: r[k] === v }, l)))
        : h('input', { value: r[k] ?? '', 'aria-label': label });
      e.addEventListener('change', () => { r[k] = e.value; });
      return h('td', e);
    }), h('td', h('button', { type: 'button', onclick: () => { c[key].splice(n, 1); draw(); } }, t('camp.remove'))))));
    draw();
    return [h('table.grid', h('thead', h('tr', cols.map(([, l]) => h('th', l)), h('th'))), body),
      h('button', { type: 'button', onclick: () => { c[key].push({ ...blank }); draw(); } }, t('camp.add_row'))];
  }
  function stepResults() {
    return rows('dispositions', [['code', t('camp.disp_code')], ['label', t('camp.disp_label')],
      ['kind', t('camp.disp_meaning'), KINDS.map(([v, m]) => [v, t('camp.meaning.' + m)])]], { code: '', label: '', kind: 'final' });
  }
  function stepProducts() {
    return rows('products', [['code', t('camp.disp_code')], ['label', t('camp.disp_label')], ['price', t('camp.price')]],
      { code: '', label: '', price: '' });
  }
  function stepAgents() {
    const box = h('div#camp-agents', t('common.loading'));
    get('/users?limit=500').then((r) => clear(box, (r.items || []).filter((u) => [3, 'agent'].includes(u.role)).map((u) =>
      h('label.check', h('input', { type: 'checkbox', value: u.login, checked: c.agents.includes(u.login),
        onchange: (e) => { c.agents = e.target.checked ? [...c.agents, u.login] : c.agents.filter((a) => a !== u.login); } }),
      ' ', u.name || u.login)))).catch(() => clear(box, ''));
    return [h('h3', t('camp.agents')), box];
  }
  function stepHours() {
    return [h('fieldset', h('legend', t('camp.days')), [1, 2, 3, 4, 5, 6, 0].map((d) => h('label.check',
      h('input', { type: 'checkbox', checked: c.days.includes(d),
        onchange: (e) => { c.days = e.target.checked ? [...c.days, d] : c.days.filter((x) => x !== d); } }), ' ', t('day.' + d)))),
    h('div.row', field(t('camp.from'), input('from', { type: 'time' })), field(t('camp.to'), input('to', { type: 'time' })))];
  }
  function stepScript() {
    const ta = h('textarea#camp-script', { rows: 8, value: c.script });
    ta.addEventListener('input', () => { c.script = ta.value; });
    return [field(t('camp.fields'), input('fields_shown', { id: 'camp-fields' })), field(t('camp.script'), ta)];
  }
  function stepMedia() {
    return [field(t('camp.hold_music'), input('hold_music', { placeholder: 'moh.wav' })),
      // The dialer's abandon_message: part of the definition, read-only for a campaign of the configuration file.
      field(t('camp.message'), input('message', { placeholder: 'abandon.wav', disabled: old?.source === 'config' }))];
    // Wrap-up and offer timeouts belong to the campaign's ACD queue (its
    // wrap_up and offer_timeout settings), not to the desk profile.
  }
  const payload = () => ({
    name: c.name.trim(), label: c.label || c.name, type: c.type, mode: c.mode, power_ratio: c.power_ratio,
    ring_timeout_ms: c.ring_timeout_s * 1000, max_attempts: c.max_attempts, amd: c.amd,
    amd_false_positive_rate: c.amd ? Math.min(Math.max(c.amd_fp_pct || 0, 0), 50) / 100 : 0,
    retries: [{ on: 'no_answer', delay_ms: c.retry_delay_min * 60000 }, { on: 'busy', delay_ms: c.retry_delay_min * 60000 }],
    caller_id: c.caller_id || undefined, queue: c.queue || undefined,
    // Without a list named, the campaign's own (the next upload can fill it).
    lists: c.lists.split(',').map((s) => s.trim()).filter(Boolean).concat(c.lists.trim() ? [] : [c.name.trim()]),
    dispositions: c.dispositions.filter((d) => d.code), products: c.products.filter((p) => p.code),
    agents: c.agents, hours: [{ days: c.days, from: c.from, to: c.to }],
    fields_shown: c.fields_shown.split(',').map((s) => s.trim()).filter(Boolean), script: c.script,
    hold_music: c.hold_music || undefined, abandon_message: c.message || undefined,
  });
  function stepSummary() {
    return [h('pre.preview#camp-summary', JSON.stringify(payload(), null, 2))];
  }
  const titles = ['camp.type', 'camp.mode', 'camp.dispositions', 'camp.products', 'camp.agents', 'camp.hours', 'camp.script',
    'camp.media', 'camp.summary'];

  function draw() {
    const last = i === steps.length - 1;
    clear(el, h('h2', old ? old.label || old.name : t('camp.new'), ' — ', t('camp.step', { n: i + 1, m: steps.length })),
      h('ol.steps', titles.map((k, n) => h('li', { 'aria-current': n === i ? 'step' : null }, t(k).replace(/ \(.*$/, '')))),
      h('form#wizard-form', {
        onsubmit: async (e) => {
          e.preventDefault();
          if (!last) { i++; draw(); return; }
          try {
            const key = encodeURIComponent(c.name);
            if (!old) await post('/campaigns', payload());
            else if (old.source === 'config') await put(`/campaigns/${key}/desk`, payload());
            else await put(`/campaigns/${key}`, payload());
            toast(t(old ? 'camp.saved' : 'camp.created'));
            done();
          } catch (err) { toast(err.message && err.code === 'invalid_argument' ? err.message : tErr(err), 'error'); }
        },
      }, steps[i](),
      h('div.controls',
        h('button', { type: 'button', disabled: i === 0, onclick: () => { i--; draw(); } }, t('camp.prev')),
        h('button.primary#wizard-next', { type: 'submit' }, last ? t(old ? 'camp.save' : 'camp.create') : t('camp.next')),
        h('button', { type: 'button', onclick: done }, t('common.cancel')))));
    el.querySelector('input,select,textarea')?.focus();
  }
  draw();
}

// A campaign as the server gives it, in the wizard's terms.
function fromCampaign(o) {
  const h0 = (o.hours || [])[0];
  const retry = (o.retries || [])[0];
  return {
    name: o.name, label: o.label || '', type: o.type || 'other', mode: o.mode || 'progressive',
    power_ratio: o.power_ratio || 1.5, ring_timeout_s: Math.round((o.ring_timeout_ms || 25000) / 1000),
    max_attempts: o.max_attempts || 5, retry_delay_min: retry ? Math.round(retry.delay_ms / 60000) : 60,
    amd: !!o.amd, amd_fp_pct: Math.round((o.amd_false_positive_rate || 0) * 1000) / 10,
    caller_id: o.caller_id || '', queue: o.queue || '',
    dispositions: (o.dispositions || []).map((d) => ({ ...d })), products: (o.products || []).map((p) => ({ ...p })),
    agents: [...(o.agents || [])],
    ...(h0 ? { days: h0.days, from: h0.from, to: h0.to } : {}),
    fields_shown: (o.fields_shown || []).join(', '), script: o.script || '',
    hold_music: o.hold_music || '', message: o.message || o.abandon_message || '',
    lists: (o.lists || []).map((l) => l.list || l).join(', '),
  };
}
