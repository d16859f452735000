// The applicant's notice page, reached through the link the scoring API returns.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { BASE, launch } from '../lib/browser.mjs';

const KEY = process.env.E2E_API_KEY;
assert.ok(KEY, 'E2E_API_KEY must be set by end2end/run.sh');

let browser;
before(async () => {
  browser = await launch();
});
after(async () => { await browser?.close(); });

async function score(body) {
  const res = await fetch(`${BASE}/api/v1/applications`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 201);
  return res.json();
}

test('a declined applicant reads the principal reasons at the notice link, without logging in', async () => {
  const example = JSON.parse(await readFile(new URL('../../examples/application.json', import.meta.url), 'utf8'));
  // Outside the product's amount range: declined by rule, whatever the model says.
  example.applicant.id = `E2E-${Date.now()}`;
  example.loan.amount = 9000;
  const decision = await score(example);
  assert.equal(decision.decision, 'reject');
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  const res = await page.goto(`${BASE}${decision.notice_url}`);
  assert.equal(res.status(), 200);
  await page.waitForSelector('html[data-hydrated="true"]', { timeout: 20000 });
  assert.match(await page.locator('h1').innerText(), /unable to approve/);
  const reasons = page.getByTestId('notice-reasons').locator('li');
  assert.ok(await reasons.count() >= 1 && await reasons.count() <= 4);
  assert.match(await reasons.first().innerText(), /outside the range we lend/);
  const text = await page.locator('main').innerText();
  assert.ok(!/probability|score|log-odds/i.test(text), 'no internal scores on the notice');
  assert.match(text, /reviewed by a person/);
  assert.deepEqual(problems, [], `no console errors: ${problems.join('\n')}`);
  await context.close();
});

test('an unknown notice link is a plain 404', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const res = await page.goto(`${BASE}/notice/${'A'.repeat(43)}`);
  assert.equal(res.status(), 404);
  assert.match(await page.locator('h1').innerText(), /not found/i);
  await context.close();
});
