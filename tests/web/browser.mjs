// The browser UI end to end in real headless Chromium (playwright-core,
// /usr/bin/chromium) against a running Plateau (see run.sh): six wrong
// passwords lock an account; an admin creates a campaign through the wizard
// and imports a list; an agent logs in, goes available, receives a
// simulated call, sees the screen pop and sets a result with a callback; a
// supervisor sees the agent's state change live and forces a pause; an
// agent cannot reach admin routes; a forged cross-site request is refused.
// A screenshot of each screen goes to $PLATEAU_ARTIFACTS.

import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const require = createRequire(process.env.NODE_PATH + '/');
const { chromium } = require('playwright-core');

const URL = process.env.PLATEAU_URL;
const ART = process.env.PLATEAU_ARTIFACTS;
const CSV = process.env.PLATEAU_CSV;
const started = Date.now();
const step = (m) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${m}`);

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const shot = (page, name) => page.screenshot({ path: `${ART}/${name}.png`, fullPage: true });

async function login(ctx, user, password) {
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  await page.goto(URL + '/');
  await page.fill('input[name=login]', user);
  await page.fill('input[name=password]', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#top:not([hidden])');
  return page;
}

let failed = 0;
async function test(name, fn) {
  try {
    const r = await fn();
    step((r === 'pending' ? 'pending - ' : 'ok - ') + name);
  } catch (e) {
    failed++;
    step('FAIL - ' + name + ': ' + (e.stack || e));
  }
}

await test('six wrong passwords lock the account', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(URL + '/');
  await shot(page, '01-login');
  for (let i = 0; i < 6; i++) {
    await page.fill('input[name=login]', 'victim');
    await page.fill('input[name=password]', 'Wrong-pass-' + i);
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#login-form .error').textContent.length > 0);
    await page.evaluate(() => { document.querySelector('#login-form .error').textContent = ''; });
  }
  // The right password is now refused too, with the lock message.
  await page.fill('input[name=login]', 'victim');
  await page.fill('input[name=password]', 'Cible-9-Demo');
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#login-form .error').textContent.length > 0);
  const msg = await page.textContent('#login-form .error');
  assert.match(msg, /verrouill|locked/i);
  assert.equal(await page.isVisible('#top'), false);
  await shot(page, '02-locked');
  await ctx.close();
});

await test('a first login asks for a new password, then opens the desk', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  await page.goto(URL + '/');
  await page.fill('input[name=login]', 'newbie');
  await page.fill('input[name=password]', 'Premier-3-Jour');
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#password-form');
  // Until it is changed, nothing else answers.
  const st = await page.evaluate(async () => (await fetch('/api/v1/agents/me')).status);
  assert.equal(st, 403);
  const pw = page.locator('#password-form input[type=password]');
  await pw.nth(0).fill('Premier-3-Jour');
  await pw.nth(1).fill('Nouveau-4-Mot');
  await pw.nth(2).fill('Nouveau-4-Mot');
  await shot(page, '02b-password-change');
  await page.click('#password-form button[type=submit]');
  await page.waitForSelector('#phone-form');
  const me = await page.evaluate(async () => (await fetch('/api/v1/session')).json());
  assert.equal(me.must_change_password, false);
  await ctx.close();
});

const adminCtx = await browser.newContext();
await test('admin creates a campaign through the wizard and imports a list', async () => {
  const page = await login(adminCtx, 'admin', 'Bureau-7-Demo');
  await page.goto(URL + '/#/campaigns');
  await page.click('#btn-new-campaign');
  await page.fill('#camp-name', 'essai');
  await page.fill('#camp-label', 'Essai navigateur');
  for (let i = 0; i < 8; i++) {
    // Step 2: answered calls go to the queue; the list is the campaign's own;
    // AMD with the detector's false-positive share (1.5 %).
    if (i === 1) {
      await page.fill('#camp-queue', 'sortant');
      await page.check('#camp-amd');
      await page.fill('#camp-amd-fp', '1.5');
    }
    // Step 4: one product; step 5: agent2 works the campaign.
    if (i === 3) {
      await page.click('#wizard-form button:has-text("Ajouter")');
      await page.locator('#wizard-form tbody tr input').nth(0).fill('fibre');
      await page.locator('#wizard-form tbody tr input').nth(0).dispatchEvent('change');
      await page.locator('#wizard-form tbody tr input').nth(1).fill('Fibre 1 Gb/s');
      await page.locator('#wizard-form tbody tr input').nth(1).dispatchEvent('change');
    }
    if (i === 4) await page.check('#camp-agents input[value=agent2]');
    // Step 6: open every day, all day, whenever the test runs.
    if (i === 5) {
      const days = page.locator('#wizard-form fieldset input[type=checkbox]');
      for (let d = 0; d < 7; d++) await days.nth(d).check();
      await page.locator('#wizard-form input[type=time]').nth(0).fill('00:00');
      await page.locator('#wizard-form input[type=time]').nth(1).fill('00:00');
    }
    await shot(page, `03-wizard-step-${i + 1}`);
    await page.click('#wizard-next');
  }
  await shot(page, '03-wizard-step-9');
  await page.click('#wizard-next');
  await page.waitForSelector('#campaigns-table tr[data-campaign=essai]');
  // The desk profile came back with the campaign.
  const camp = await page.evaluate(async () => (await fetch('/api/v1/campaigns/essai')).json());
  assert.equal(camp.label, 'Essai navigateur');
  // The import names the columns first_name, last_name, city: the wizard's
  // defaults show those and fill them into the script.
  assert.match(camp.script, /\{\{first_name\}\}/);
  assert.deepEqual(camp.fields_shown, ['first_name', 'last_name', 'city']);
  assert.equal(camp.products[0].code, 'fibre');
  assert.deepEqual(camp.agents, ['agent2']);
  assert.equal(camp.hours[0].days.length, 7);
  assert.equal(camp.amd, true);
  assert.ok(Math.abs(camp.amd_false_positive_rate - 0.015) < 1e-9);
  // Edited again through the wizard: a new script.
  await page.click('#campaigns-table tr[data-campaign=essai] button.edit');
  for (let i = 0; i < 6; i++) await page.click('#wizard-next');
  await page.fill('#camp-script', 'Bonjour {{first_name}} {{last_name}}, ici {{agent}} pour la fibre.');
  for (let i = 0; i < 2; i++) await page.click('#wizard-next');
  await shot(page, '04b-wizard-edit');
  await page.click('#wizard-next');
  await page.waitForSelector('#wizard', { state: 'hidden' });
  const edited = await page.evaluate(async () => (await fetch('/api/v1/campaigns/essai')).json());
  assert.match(edited.script, /pour la fibre/);
  assert.equal(edited.queue, 'sortant');
  assert.deepEqual(edited.agents, ['agent2']);
  await shot(page, '04-campaigns');

  await page.goto(URL + '/#/lists');
  await page.setInputFiles('#csv-file', CSV);
  await page.click('#upload-form button[type=submit]');
  await page.waitForSelector('#preview-table tbody tr');
  await page.fill('#list-name', 'navigateur');
  await page.fill('#list-campaign', 'essai');
  await shot(page, '05-import-preview');
  await page.click('#btn-import');
  await page.waitForSelector('#import-done', { timeout: 60000 });
  await shot(page, '06-import-report');
  const imported = await page.textContent('#report-table');
  assert.match(imported, /80/);
  await page.waitForSelector('#lists-table tr[data-list=navigateur]');
  // Every contact imported is available to dial.
  assert.match(await page.textContent('#lists-table tr[data-list=navigateur] td.available'), /^80 \(100 %\)$/);
  await shot(page, '07-lists');

  // A larger file: the progress bar moves while it is imported; stop it.
  await page.setInputFiles('#csv-file', process.env.PLATEAU_BIG_CSV);
  await page.click('#upload-form button[type=submit]');
  await page.waitForSelector('#preview-table tbody tr');
  await page.fill('#list-name', 'gros');
  await page.click('#btn-import');
  await page.waitForFunction(() => {
    const p = document.querySelector('#import-progress');
    return p && p.value > 0 && p.value < 100;
  }, null, { timeout: 60000, polling: 50 });
  await shot(page, '07b-import-progress');
  // Stopped half-way: what was committed stays, the rest is not read.
  await page.click('#btn-import-cancel');
  await page.waitForSelector('#import-done', { timeout: 120000 });
  assert.match(await page.textContent('#import-done'), /annulé/);
  await page.waitForSelector('#lists-table tr[data-list=gros]');
  const total = Number(await page.textContent('#lists-table tr[data-list=gros] td:nth-child(2)'));
  assert.ok(total > 0 && total < 50000, `${total} contacts kept`);
  await shot(page, '07c-import-cancelled');
});

let agent2Page = null;
const supCtx = await browser.newContext();
const agentCtx = await browser.newContext();
await test('agent takes a simulated call; supervisor sees it live and forces a pause', async () => {
  const sup = await login(supCtx, 'supervisor', 'Tableau-8-Demo');
  await sup.waitForSelector('#agents-table');
  const agent = await login(agentCtx, 'agent', 'Casque-2-Demo');
  await agent.waitForSelector('#phone-form');
  await shot(agent, '08-agent-logged-out');
  await agent.fill('#phone', '200');
  await agent.click('#phone-form button[type=submit]');
  await agent.waitForSelector('#agent-state .badge[data-state=pause]');
  await sup.waitForSelector('#agents-table tr[data-agent=agent] td.state[data-state=pause]');
  await agent.click('#btn-ready');
  // Live on the supervisor's screen: no reload.
  await sup.waitForSelector('#agents-table tr[data-agent=agent] td.state[data-state=available], ' +
    '#agents-table tr[data-agent=agent] td.state[data-state=in_call]');
  await shot(sup, '09-supervisor-live');
  // Simulated callers ring every few seconds: the screen pops.
  await agent.waitForFunction(() => (document.querySelector('#pop-number')?.textContent || '').startsWith('+'),
    null, { timeout: 60000 });
  await agent.waitForSelector('#screen-pop');
  await shot(agent, '10-screen-pop');
  await sup.waitForSelector('#agents-table tr[data-agent=agent] td.state[data-state=in_call]');
  await agent.selectOption('#result-code', { index: 2 });
  await agent.fill('#result-note', 'Rappeler demain matin');
  const tomorrow = new Date(Date.now() + 86400000 - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  await agent.fill('#callback-at', tomorrow);
  await shot(agent, '11-result');
  await agent.click('#btn-save-result');
  await agent.waitForSelector('#toast.show');
  await shot(agent, '12-result-saved');
  // The supervisor forces a pause; the agent's desk shows it by itself.
  const row = '#agents-table tr[data-agent=agent]';
  await sup.selectOption(`${row} select.force-state`, 'pause');
  await sup.selectOption(`${row} select.force-reason`, 'training');
  await sup.click(`${row} button`);
  await agent.waitForSelector('#agent-state .badge[data-state=pause]', { timeout: 30000 });
  // The reason the supervisor chose is the agent's.
  const me = await agent.evaluate(async () => (await fetch('/api/v1/agents/me')).json());
  assert.equal(me.reason, 'training');
  assert.match(await agent.textContent('#agent-state .badge'), /formation/);
  await sup.waitForSelector(`${row} td.state[data-state=pause]`);
  await shot(sup, '13-supervisor-forced');
  await shot(agent, '14-agent-paused');
});

await test('a campaign call pops the contact, the script filled in, the products; the sale is kept', async () => {
  const a2 = await login(await browser.newContext(), 'agent2', 'Casque-3-Demo');
  agent2Page = a2;
  await a2.waitForSelector('#phone-form');
  await a2.fill('#phone', '202');
  await a2.click('#phone-form button[type=submit]');
  await a2.waitForSelector('#agent-state .badge[data-state=pause]');
  await a2.click('#btn-ready');
  await a2.waitForSelector('#agent-state .badge[data-state=available]');
  // The supervisor switches the campaign ON from the live view.
  const sup = supCtx.pages()[0];
  await sup.check('#campaigns label[data-campaign=essai] input');
  await a2.waitForSelector('#script mark', { timeout: 60000 });
  await shot(a2, '16-campaign-call');
  // The supervisor sees the campaign's figures, pushed as it dials.
  await sup.waitForSelector('#pacing-body tr[data-campaign=essai]');
  assert.match(await sup.textContent('#pacing-body tr[data-campaign=essai]'), /progressive/);
  // Its stored decisions ("why N lines") on a click: none in progressive mode.
  await sup.click('#pacing-body tr[data-campaign=essai] button.link');
  await sup.waitForSelector('#pacing-log h3');
  await shot(sup, '16b-supervisor-campaign');
  const fields = await a2.textContent('#screen-pop');
  const script = await a2.textContent('#script');
  assert.doesNotMatch(script, /\{\{/);
  const who = (await a2.locator('#screen-pop dd').first().textContent()).trim();
  assert.ok(who.length > 0 && script.includes(who), `script names ${who}: ${script} / ${fields}`);
  await sup.uncheck('#campaigns label[data-campaign=essai] input');
  await a2.selectOption('#result-code', 'VENTE');
  await a2.check('#result-form input[value=fibre]');
  await a2.fill('#result-note', 'Fibre vendue');
  const number = (await a2.textContent('#pop-number')) || '';
  // Hang up, then the result: the agent is available again at once.
  await a2.click('#btn-hangup');
  await a2.waitForSelector('#agent-state .badge[data-state=wrap_up]');
  await a2.click('#btn-save-result');
  await a2.waitForSelector('#toast.show');
  const hist = await a2.evaluate(async (n) => {
    const c = (await (await fetch('/api/v1/contacts?limit=1&phone=' + encodeURIComponent(n))).json()).items[0];
    return (await (await fetch(`/api/v1/contacts/${c.id}/history`)).json()).items;
  }, number.trim());
  assert.ok(hist.some((e) => e.disposition === 'VENTE' && e.agent === 'agent2'), JSON.stringify(hist));
  await shot(a2, '17-sale-saved');
});

await test('preview mode: the agent sees the next contact, then dials it', async () => {
  // The admin creates a preview campaign on the same list and starts it.
  const admin = adminCtx.pages()[0];
  const r = await admin.evaluate(async () => {
    const hdr = { 'Content-Type': 'application/json', 'X-CSRF-Token': sessionStorage.getItem('plateau.csrf') };
    const body = { name: 'apercu', label: 'Aperçu', type: 'survey', mode: 'preview', lists: ['navigateur'], agents: ['agent2'],
      hours: [{ days: [0, 1, 2, 3, 4, 5, 6], from: '00:00', to: '00:00' }],
      dispositions: [{ code: 'OK', label: 'Répondu', kind: 'success' }, { code: 'NON', label: 'Refus', kind: 'final' }] };
    const c = await fetch('/api/v1/campaigns', { method: 'POST', headers: hdr, body: JSON.stringify(body) });
    const s = await fetch('/api/v1/campaigns/apercu/start', { method: 'POST', headers: hdr, body: '{}' });
    return [c.status, s.status];
  });
  assert.deepEqual(r, [201, 200]);
  const agent2 = agent2Page;
  // A call of the first campaign may still have been on its way when it was
  // switched off: finish it as an agent would, until agent2 is available.
  for (let n = 0; n < 10; n++) {
    const state = await agent2.getAttribute('#agent-state .badge', 'data-state');
    if (state === 'available') break;
    if (await agent2.locator('#btn-hangup').count()) await agent2.click('#btn-hangup');
    if (await agent2.locator('#btn-save-result').count()) {
      await agent2.selectOption('#result-code', { index: 1 });
      await agent2.click('#btn-save-result');
    }
    await agent2.waitForTimeout(1000);
  }
  await agent2.waitForSelector('#agent-state .badge[data-state=available]', { timeout: 30000 });
  await agent2.waitForSelector('#preview-card:not([hidden]) #btn-preview-dial', { timeout: 60000 });
  const who = await agent2.textContent('#preview-contact');
  assert.ok(who.trim().length > 0);
  await shot(agent2, '18-preview');
  await agent2.click('#btn-preview-dial');
  await agent2.waitForSelector('#script, #screen-pop dd', { timeout: 60000 });
  await agent2.waitForFunction(() => (document.querySelector('#pop-number')?.textContent || '').startsWith('+'));
  await shot(agent2, '19-preview-call');
  await admin.evaluate(async () => fetch('/api/v1/campaigns/apercu/stop', { method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': sessionStorage.getItem('plateau.csrf') }, body: '{}' }));
});

await test('an agent cannot reach admin routes', async () => {
  const page = agentCtx.pages()[0] || await login(agentCtx, 'agent', 'Casque-2-Demo');
  const st = await page.evaluate(async () => (await fetch('/api/v1/users')).status);
  assert.equal(st, 403);
  const st2 = await page.evaluate(async () => (await fetch('/api/v1/lists')).status);
  assert.equal(st2, 403);
  await page.goto(URL + '/#/users');
  await page.waitForFunction(() => location.hash === '#/agent');
  await shot(page, '15-agent-no-admin');
});

await test('a forged cross-site request is refused', async () => {
  // The agent's own cookie, sent from another site: no CSRF token, a
  // foreign Origin. Plateau must refuse it and change nothing.
  const r = await agentCtx.request.post(URL + '/api/v1/agents/me/state', {
    headers: { Origin: 'http://evil.example', 'Content-Type': 'application/json' },
    data: { state: 'available' },
  });
  assert.equal(r.status(), 403);
  const page = agentCtx.pages()[0];
  const me = await page.evaluate(async () => (await fetch('/api/v1/agents/me')).json());
  assert.equal(me.state, 'pause');
});

await browser.close();
step(failed ? `${failed} browser test(s) failed` : 'all browser tests passed');
process.exit(failed ? 1 : 0);
