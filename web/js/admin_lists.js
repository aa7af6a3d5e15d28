// Admin: contact lists. Upload a CSV → preview and column mapping →
// import with a progress bar (pushed import.job.* events) → report → the
// lists' state by status.

import { get, post } from './api.js';
import { h, clear, field, toast } from './dom.js';
import { t, tErr } from './i18n.js';
import * as ws from './ws.js';

const COUNTERS = ['rows_read', 'imported', 'duplicates', 'invalid_phones', 'dnc_refused', 'malformed', 'rejected'];

export function mount(main) {
  const state = h('tbody#lists-body');
  const step = h('div#import-step');
  const file = h('input#csv-file', { type: 'file', accept: '.csv,text/csv,text/plain', required: true });
  main.append(
    h('section.card', h('h1', t('lists.title')), h('h2', t('lists.upload')),
      h('form.row#upload-form', { onsubmit: (e) => { e.preventDefault(); upload(); } },
        field(t('lists.file'), file), h('button.primary', { type: 'submit' }, t('lists.preview'))), step),
    h('section.card', h('h2', t('lists.state')),
      h('table.grid#lists-table', h('thead', h('tr', h('th', t('lists.name')), h('th', t('lists.total')),
        h('th', t('lstat.1')), h('th', t('common.actions')))), state)));

  let job = null;
  const off = [];

  async function upload() {
    if (!file.files[0]) return;
    clear(step, h('p.muted', t('common.loading')));
    try {
      const p = await post('/imports/preview', file.files[0]);
      showPreview(p);
    } catch (e) { clear(step, h('p.error', tErr(e))); }
  }

  function showPreview(p) {
    const pv = p.preview || p;
    const kinds = (pv.mapping || []).map((m, i) => {
      const sel = h('select', { 'aria-label': (pv.header || [])[i] },
        h('option', { value: 'ignore' }, t('lists.ignore')), h('option', { value: 'phone' }, t('lists.phone')),
        h('option', { value: 'field' }, t('lists.field')));
      sel.value = m.kind || 'ignore';
      const name = h('input', { value: m.field || '', 'aria-label': t('lists.field') });
      return { column: m.column || (pv.header || [])[i], sel, name, ptype: m.phone_type || 0 };
    });
    const list = h('input#list-name', { required: true, value: (p.file_name || 'liste').replace(/\.[^.]*$/, '') });
    const country = h('input#list-country', { value: 'FR', size: 3 });
    const dedup = h('select#list-dedup', [0, 1, 2, 3].map((d) => h('option', { value: d, selected: d === 1 }, t('lists.dedup.' + d))));
    const camp = h('input#list-campaign', { placeholder: 'demo' });
    clear(step,
      h('p.muted', `${t('lists.encoding')}: ${pv.encoding_name || ''} — ${t('lists.separator')}: «${pv.separator || ''}»`),
      h('table.grid#preview-table', h('thead', h('tr', (pv.header || []).map((c) => h('th', c)))),
        h('tbody', (pv.rows || []).map((r) => h('tr', (r.fields || []).map((v) => h('td', v)))))),
      h('h3', t('lists.mapping')),
      h('table.grid#mapping-table', h('tbody', kinds.map((k) => h('tr', h('td', k.column), h('td', k.sel), h('td', k.name))))),
      h('form.row#import-form', {
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            const r = await post('/imports', {
              upload_id: p.upload_id, list: list.value.trim(), create: true, country: country.value,
              dedup: Number(dedup.value), campaign: camp.value.trim() || undefined,
              columns: kinds.map((k) => ({ column: k.column, kind: k.sel.value, phone_type: k.ptype, field: k.name.value || k.column })),
            });
            job = r.job_id;
            // A small file may be done before this reply: its events came first.
            const seen = early.get(job);
            if (seen?.finished) { showReport(seen.finished); return; }
            showProgress(seen?.progress || { bytes_done: 0, bytes_total: 1 });
            const now = await get('/imports/' + job).catch(() => null);
            if (now && now.status !== 'running' && job === r.job_id && !step.querySelector('#import-done')) showReport(now);
          } catch (err) { toast(tErr(err), 'error'); }
        },
      }, field(t('lists.new_list'), list), field(t('lists.country'), country), field(t('lists.dedup'), dedup),
      field(t('lists.campaign'), camp), h('button.primary#btn-import', { type: 'submit' }, t('lists.import'))));
  }

  function showProgress(d) {
    const pct = d.bytes_total ? Math.round((100 * d.bytes_done) / d.bytes_total) : 0;
    clear(step, h('h3', t('lists.progress')),
      h('progress#import-progress', { max: 100, value: pct, 'aria-label': t('lists.progress') }), h('span', ` ${pct} %`),
      h('p.muted', `${t('imp.rows_read')}: ${d.rows ?? 0} — ${t('imp.imported')}: ${d.imported ?? 0} — ${t('imp.rejected')}: ${d.rejected ?? 0}`),
      // Stops after the batch being written; what is committed stays.
      h('button#btn-import-cancel', { type: 'button', onclick: async () => {
        try { await post(`/imports/${job}/cancel`, {}); } catch (e) { toast(tErr(e), 'error'); }
      } }, t('lists.cancel')));
  }

  function showReport(d) {
    const msg = d.status === 'done' ? t('imp.done') : d.status === 'cancelled' ? t('imp.cancelled') : t('imp.failed', { e: d.error || '' });
    clear(step, h('h3#import-done', msg),
      h('progress', { max: 100, value: d.bytes_total ? Math.round((100 * d.bytes_done) / d.bytes_total) : 100 }),
      h('table.grid#report-table', h('tbody', COUNTERS.map((c) => h('tr', h('th', t('imp.' + c)), h('td.num', String(d[c] ?? 0)))))),
      (d.rejected ?? 0) > 0 ? h('a', { href: `/api/v1/imports/${d.job_id}/report`, download: 'rejets.csv' }, t('lists.download_report')) : null);
    loadLists();
  }

  const early = new Map(); // job id -> events that came before the job id
  const keep = (d, k) => { early.set(d.job_id, { ...early.get(d.job_id), [k]: d }); };
  off.push(ws.on('import.job.progressed', (d) => {
    if (d.job_id === job) { if (!step.querySelector('#import-done')) showProgress(d); } else keep(d, 'progress');
  }));
  off.push(ws.on('import.job.finished', (d) => { if (d.job_id === job) showReport(d); else keep(d, 'finished'); }));

  async function loadLists() {
    let items = [];
    try { items = (await get('/lists')).items || []; } catch (e) { toast(tErr(e), 'error'); }
    clear(state, items.length ? items.map((l) => h('tr', { dataset: { list: l.name } }, h('td', l.name),
      h('td.num', String(l.total)),
      h('td.num.available', `${l.available} (${l.total ? Math.round((100 * l.available) / l.total) : 0} %)`),
      h('td', h('button', { type: 'button', onclick: async (e) => {
        try {
          const s = await get('/lists/' + l.id);
          e.target.replaceWith(h('span', Object.entries(s.by_status || {}).filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join(' · ')));
        } catch (err) { toast(tErr(err), 'error'); }
      } }, '…')))) : h('tr', h('td', { colSpan: 4 }, t('lists.none'))));
  }
  loadLists();
  return () => off.forEach((f) => f());
}
