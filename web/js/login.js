// The login page, and the forced password change (first login, expiry).

import { post } from './api.js';
import { h, field, toast } from './dom.js';
import { t, tErr } from './i18n.js';
import { setSession, homeOf } from './app.js';

export function mount(main, { session, go }) {
  if (session.user?.mustChange) return passwordForm(main, session, go);
  const login = h('input', { name: 'login', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const msg = h('p.error', { role: 'alert' });
  const form = h('form.card.narrow#login-form', {
    onsubmit: async (e) => {
      e.preventDefault();
      msg.textContent = '';
      try {
        const s = await post('/session', { login: login.value.trim(), password: password.value }, { quiet: true });
        setSession(s);
        password.value = '';
        if (session.user.mustChange) { mount(main.replaceChildren() || main, { session, go }); return; }
        go(homeOf(session.user.role));
      } catch (err) {
        msg.textContent = err.code === 'locked' || err.code === 'account_locked' || err.status === 423
          ? t('login.locked')
          : err.status === 401 || err.code === 'auth_failed' || err.code === 'unauthenticated'
            ? t('login.failed') : tErr(err);
        password.select();
      }
    },
  },
  h('h1', t('login.title')),
  field(t('login.user'), login),
  field(t('login.password'), password),
  msg,
  h('button.primary', { type: 'submit' }, t('login.submit')));
  main.append(form);
}

function passwordForm(main, session, go) {
  const old = h('input', { type: 'password', autocomplete: 'current-password', required: true, autofocus: true });
  const pw1 = h('input', { type: 'password', autocomplete: 'new-password', required: true });
  const pw2 = h('input', { type: 'password', autocomplete: 'new-password', required: true });
  const msg = h('p.error', { role: 'alert' });
  main.append(h('form.card.narrow#password-form', {
    onsubmit: async (e) => {
      e.preventDefault();
      if (pw1.value !== pw2.value) { msg.textContent = t('pw.mismatch'); return; }
      try {
        const s = await post('/session/password', { current_password: old.value, new_password: pw1.value });
        if (s && (s.login || s.user)) setSession(s); else session.user.mustChange = false;
        session.user.mustChange = false;
        toast(t('pw.done'));
        go(homeOf(session.user.role));
      } catch (err) {
        msg.textContent = err.message && ['invalid_argument', 'password_policy'].includes(err.code) ? err.message : tErr(err);
      }
    },
  },
  h('h1', t('pw.title')), h('p', t('pw.why')),
  field(t('pw.old'), old), field(t('pw.new'), pw1), field(t('pw.again'), pw2), msg,
  h('button.primary', { type: 'submit' }, t('pw.submit'))));
}
