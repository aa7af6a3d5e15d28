// Admin: users (add, edit role/name, disable, reset password, unlock),
// through the web plugin's /users routes.

import { get, post, patch } from './api.js';
import { h, clear, field, toast } from './dom.js';
import { t, tErr } from './i18n.js';

const ROLES = ['admin', 'supervisor', 'agent'];
const roleName = (r) => (typeof r === 'number' ? ROLES[r - 1] : r);

export function mount(main) {
  const body = h('tbody#users-body');
  const login = h('input#new-login', { required: true, pattern: '[a-z0-9._@-]{1,64}' });
  const name = h('input#new-name');
  const role = h('select#new-role', ROLES.map((r) => h('option', { value: r }, t('role.' + r))));
  const pw = h('input#new-password', { type: 'password', required: true, autocomplete: 'new-password' });
  main.append(h('section.card',
    h('h1', t('users.title')),
    h('form.row#user-form', {
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          await post('/users', { login: login.value.trim(), name: name.value || undefined, role: role.value,
            password: pw.value, must_change_password: true });
          login.value = name.value = pw.value = '';
          load();
        } catch (err) { toast(err.code === 'invalid_argument' && err.message ? err.message : tErr(err), 'error'); }
      },
    }, field(t('users.login'), login), field(t('users.name'), name), field(t('users.role'), role),
    field(t('users.temp_password'), pw), h('button.primary', { type: 'submit' }, t('users.add'))),
    h('table.grid#users-table', h('thead', h('tr', h('th', t('users.login')), h('th', t('users.name')),
      h('th', t('users.role')), h('th', t('users.disabled')), h('th', t('common.actions')))), body)));

  async function load() {
    let items = [];
    try { items = (await get('/users?limit=500')).items || []; } catch (e) { toast(tErr(e), 'error'); }
    clear(body, items.map((u) => {
      const r = h('select', { 'aria-label': t('users.role') + ' ' + u.login },
        ROLES.map((x) => h('option', { value: x, selected: roleName(u.role) === x }, t('role.' + x))));
      const dis = h('input', { type: 'checkbox', checked: !!u.disabled, 'aria-label': t('users.disabled') });
      const nm = h('input', { value: u.name || '', 'aria-label': t('users.name') });
      const act = async (fn) => { try { await fn(); toast(t('common.save')); load(); } catch (e) { toast(tErr(e), 'error'); } };
      return h('tr', { dataset: { login: u.login } }, h('td', u.login), h('td', nm), h('td', r), h('td', dis), h('td',
        h('button', { type: 'button', onclick: () => act(() => patch('/users/' + encodeURIComponent(u.login),
          { name: nm.value, role: r.value, disabled: dis.checked })) }, t('users.save')), ' ',
        h('button', { type: 'button', onclick: () => {
          const np = prompt(t('users.temp_password'));
          if (np) act(() => post(`/users/${encodeURIComponent(u.login)}/password`, { password: np, must_change_password: true }));
        } }, t('users.reset')), ' ',
        u.locked_until ? h('button', { type: 'button', onclick: () => act(() => post(`/users/${encodeURIComponent(u.login)}/unlock`, {})) },
          t('users.unlock')) : null));
    }));
  }
  load();
}
