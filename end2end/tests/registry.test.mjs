// Browser tests of model governance: retraining a challenger from the registry page (it starts
// in shadow), a share of live decisions requested by one admin and approved by another, the
// promotion gate, four-eyes promotion by two admins, the new champion
// serving the next application, rollback, and the compliance trace of that application.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { BASE, launch, hydrated, signedInPage } from '../lib/browser.mjs';

const PASSWORD = process.env.E2E_PASSWORD;
const KEY = process.env.E2E_API_KEY;
assert.ok(PASSWORD && KEY, 'E2E_PASSWORD and E2E_API_KEY must be set by end2end/run.sh');
const ARTIFACTS = process.env.E2E_ARTIFACTS ?? new URL('../artifacts/', import.meta.url).pathname;

let browser;
before(async () => {
  browser = await launch();
  await mkdir(ARTIFACTS, { recursive: true });
});
after(async () => { await browser?.close(); });

const signedIn = (name) => signedInPage(browser, name, PASSWORD);

/** Scores the example application through the API; returns the decision. */
async function score() {
  const body = JSON.parse(await readFile(new URL('../../examples/application.json', import.meta.url), 'utf8'));
  body.applicant.id = `E2E-REG-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const res = await fetch(`${BASE}/api/v1/applications`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 201);
  return res.json();
}

/** The champion's version as the API reports it (scores until the champion serves one). */
async function championVersion() {
  for (let i = 0; i < 40; i++) {
    const d = await score();
    if (d.model.role === 'champion') return d.model.version;
  }
  throw new Error('no application was routed to the champion');
}

test('admin A retrains a challenger (in shadow), requests 20 % and promotion; admin B approves both; rollback restores', { timeout: 240000 }, async () => {
  const before = await championVersion();
  const a = await signedIn('admin');
  const { page } = a;
  await page.goto(`${BASE}/models`);
  await hydrated(page);
  await page.getByRole('button', { name: /Retrain a challenger/ }).click();
  await page.waitForURL(`${BASE}/models?done=retrain`);
  // The runs table refreshes itself while the job runs; wait for the retrain run to finish.
  const run = page.getByTestId('runs').locator('tbody tr').first();
  await run.getByTestId('run-state').filter({ hasText: 'succeeded' }).waitFor({ timeout: 180000 });
  assert.match(await run.innerText(), /retrain/);
  const challenger = (await page.getByTestId('challenger').innerText()).trim();
  assert.match(challenger, /^alt-credit v\d+$/);
  const newVersion = Number(challenger.split(' v')[1]);
  assert.ok(newVersion > before);

  // A new version starts in shadow: it scores every application and decides none.
  assert.match(await page.getByTestId('share').innerText(), /^0%/);
  // A share of live decisions is requested (the gate must pass) and waits for a second admin.
  await page.getByLabel('Live share for the challenger (%)').fill('20');
  await page.getByLabel(/Why let it decide/).fill('Shadow results on this quarter look good.');
  await page.getByRole('button', { name: 'Request share' }).click();
  await page.waitForURL(`${BASE}/models?done=share`);
  await page.getByTestId('open-request').waitFor();
  assert.match(await page.getByTestId('open-request').innerText(), /decide for 20 % of applicants/);
  assert.match(await page.getByTestId('share').innerText(), /^0%/, 'nothing changes before the approval');
  assert.equal(await page.getByRole('button', { name: 'Approve share' }).count(), 0);
  const b = await signedIn('admin2');
  await b.page.goto(`${BASE}/models`);
  await hydrated(b.page);
  await b.page.getByRole('button', { name: 'Approve share' }).click();
  await b.page.waitForURL(`${BASE}/models?done=approve`);
  assert.match(await b.page.getByTestId('share').innerText(), /^20%/);
  // The demo's set-up of its first pair was an emergency change, and the page says so.
  assert.match(await b.page.getByTestId('emergencies').innerText(), /demo set-up/);

  await page.getByRole('link', { name: /Compare champion and challenger/ }).click();
  await page.waitForURL(`${BASE}/models/compare`);
  await page.getByTestId('distributions').locator('svg').waitFor();
  await page.screenshot({ path: `${ARTIFACTS}/compare-page.png`, fullPage: true });
  // Fairness of the final decisions beside the challenger's recommendations.
  assert.match(await page.getByTestId('final-fairness').innerText(), /Fairness of the final decisions/);
  assert.equal((await page.getByTestId('gate').innerText()).trim(), 'passes',
    await page.locator('table').first().innerText());
  await page.getByLabel(/Why promote/).fill('Retrained on this quarter\'s outcomes.');
  await page.getByRole('button', { name: 'Request promotion' }).click();
  await page.waitForURL(`${BASE}/models?done=request`);
  await page.getByTestId('open-request').waitFor();
  assert.match(await page.getByTestId('open-request').innerText(), /Another admin must approve/);
  assert.equal(await page.getByRole('button', { name: 'Approve promotion' }).count(), 0);
  assert.equal(await championVersion(), before, 'nothing changes before the approval');

  await b.page.goto(`${BASE}/models`);
  await hydrated(b.page);
  await b.page.getByRole('button', { name: 'Approve promotion' }).click();
  await b.page.waitForURL(`${BASE}/models?done=approve`);
  assert.equal((await b.page.getByTestId('champion').innerText()).trim(), `alt-credit v${newVersion}`);
  assert.equal(await championVersion(), newVersion, 'the new champion serves the next application');

  // Compliance can tell which model, approved by whom, decided it.
  const decided = await score();
  const c = await signedIn('compliance');
  await c.page.goto(`${BASE}/audit/decisions/${decided.application_id}`);
  await c.page.getByTestId('trace-model').waitFor();
  assert.match(await c.page.getByTestId('trace-model').innerText(), new RegExp(`alt-credit v${newVersion}`));
  assert.match(await c.page.getByTestId('trace-authorised').innerText(), /requested by admin, approved by admin2/);
  assert.match(await c.page.getByTestId('trace-chain').innerText(), /intact/);

  // Rollback by one admin restores the previous champion.
  await page.goto(`${BASE}/models`);
  await hydrated(page);
  const row = page.getByTestId('versions').locator('tbody tr', { hasText: `alt-credit v${before}` });
  await row.getByLabel('Reason to rollback').fill('Rollback drill');
  await row.getByRole('button', { name: 'Roll back to this' }).click();
  await page.waitForURL(`${BASE}/models?done=rollback`);
  assert.equal((await page.getByTestId('champion').innerText()).trim(), `alt-credit v${before}`);
  assert.equal(await championVersion(), before);
  for (const s of [a, b, c]) assert.deepEqual(s.problems, []);
  for (const s of [a, b, c]) await s.context.close();
});
