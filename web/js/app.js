// The shell: who is logged in, the top bar (state always visible for
// agents, language switch, log out), and the hash router between the
// agent desk, the supervisor's live view and the admin pages.

import { get, del, setCsrf } from './api.js';
import { h, clear } from './dom.js';
import { t, getLang, setLang } from './i18n.js';
import * as ws from './ws.js';

const ROLE_NAMES = { 1: 'admin', 2: 'supervisor', 3: 'agent' };
export const session = { user: null };

function normalise(s) {
  const u = s.user || s;
  const role = typeof u.role === 'number' ? ROLE_NAMES[u.role] : u.role;
  return {
    login: u.login, name: u.name || u.login, role,
    mustChange: !!(u.must_change_password || s.must_change_password || u.password_expired),
    csrf: s.csrf || s.csrf_token || u.csrf,
  };
}

export function setSession(s) {
  session.user = s ? normalise(s) : null;
  if (session.user?.csrf) setCsrf(session.user.csrf);
}

const pages = {
  login: () => import('./login.js'),
  agent: () => import('./agent.js'),
  supervisor: () => import('./supervisor.js'),
  users: () => import('./admin_users.js'),
  campaigns: () => import('./admin_campaigns.js'),
  lists: () => import('./admin_lists.js'),
};

const allowed = {
  agent: ['admin', 'supervisor', 'agent'],
  supervisor: ['admin', 'supervisor'],
  users: ['admin'], campaigns: ['admin'], lists: ['admin'],
};

export function homeOf(role) {
  return role === 'agent' ? 'agent' : role === 'supervisor' ? 'supervisor' : 'supervisor';
}

let current = null;

export function go(page) {
  if (location.hash !== '#/' + page) location.hash = '#/' + page;
  else route();
}

function topBar() {
  const top = document.getElementById('top');
  const u = session.user;
  if (!u || u.mustChange) { top.hidden = true; return; }
  top.hidden = false;
  const link = (page, label) => allowed[page].includes(u.role)
    ? h('a', { href: '#/' + page, 'aria-current': current === page ? 'page' : null }, label) : null;
  clear(top,
    h('strong.brand', 'Plateau'),
    h('nav', { 'aria-label': 'main' },
      link('agent', t('nav.agent')), link('supervisor', t('nav.supervisor')),
      link('campaigns', t('nav.campaigns')), link('lists', t('nav.lists')), link('users', t('nav.users'))),
    h('span#statebar.statebar', { 'aria-live': 'polite' }),
    h('span.who', u.name),
    h('button.link#lang', { type: 'button', onclick: () => { setLang(getLang() === 'fr' ? 'en' : 'fr'); route(); } },
      t('lang.switch')),
    h('button.link#logout', { type: 'button', onclick: logout }, t('nav.logout')));
}

async function logout() {
  try { await del('/session'); } catch { /* already gone */ }
  setSession(null);
  setCsrf('');
  ws.disconnect();
  go('login');
}

let unmount = null;

export async function route() {
  const page = (location.hash.replace(/^#\/?/, '').split('/')[0]) || '';
  const u = session.user;
  let target = page;
  if (!u || u.mustChange) target = 'login';
  else if (!pages[page] || page === 'login' || !allowed[page]?.includes(u.role)) target = homeOf(u.role);
  if (target !== page) { location.hash = '#/' + target; return; }
  if (unmount) { try { unmount(); } catch (e) { console.error(e); } unmount = null; }
  current = target;
  topBar();
  const main = document.getElementById('main');
  clear(main, h('p.loading', t('common.loading')));
  if (u && !u.mustChange) ws.connect();
  const mod = await pages[target]();
  clear(main);
  unmount = (await mod.mount(main, { session, go, route })) || null;
  main.focus({ preventScroll: true });
}

async function boot() {
  window.addEventListener('hashchange', route);
  window.addEventListener('plateau:unauthenticated', () => { setSession(null); go('login'); });
  try {
    setSession(await get('/session', { quiet: true }));
  } catch {
    setSession(null);
  }
  route();
}

boot();
