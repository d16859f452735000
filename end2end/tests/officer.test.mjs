// Browser tests of the officer's work: the queue, the application page with its SHAP
// waterfall, decisions (with notes, overrides, conflicts), and what the applicant then sees.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { BASE, launch, newPage, hydrated, signedInPage } from '../lib/browser.mjs';

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

/** Scores an application through the API with a few changes to the example. */
async function score(change) {
  const body = JSON.parse(await readFile(new URL('../../examples/application.json', import.meta.url), 'utf8'));
  body.applicant.id = `E2E-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  change(body);
  const res = await fetch(`${BASE}/api/v1/applications`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 201);
  return res.json();
}

/** An officer's signed-in page. */
const officer = (name = 'officer', options = {}) => signedInPage(browser, name, PASSWORD, options);

const openCount = async (page) => Number(await page.getByTestId('open-count').innerText());

test('an officer opens the top of the queue, reads the waterfall, approves with a note, and the case leaves the queue', async () => {
  const { context, page, problems } = await officer();
  await page.goto(`${BASE}/queue`);
  await hydrated(page);
  const before = await openCount(page);
  assert.ok(before > 0, 'the demo data fills the queue');
  const rows = page.getByTestId('queue').locator('tbody tr');
  // Manual review first.
  const first = await rows.first().getAttribute('data-recommended');
  const recs = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.recommended));
  const firstOther = recs.findIndex((r) => r !== 'manual_review');
  if (firstOther >= 0) assert.ok(recs.slice(firstOther).every((r) => r !== 'manual_review'), recs.join(','));
  assert.equal(first, recs[0]);
  await rows.first().locator('a').click();
  await page.waitForURL(/\/queue\/[0-9a-f-]{36}$/);
  const id = page.url().split('/').pop();
  await page.getByTestId('waterfall').locator('svg').waitFor();
  // Base, the ten largest factors, one "other factors" bar, the final score (+ the background).
  assert.equal(await page.getByTestId('waterfall').locator('svg rect').count(), 1 + 1 + 10 + 1 + 1);
  const svg = await page.getByTestId('waterfall').innerHTML();
  assert.match(svg, /Base value/);
  assert.match(svg, /other factors/);
  assert.match(svg, /This application/);
  assert.match(await page.getByTestId('pd').innerText(), /%$/);
  await page.screenshot({ path: `${ARTIFACTS}/application-page.png`, fullPage: true });

  const recommended = await page.getByTestId('recommendation').innerText();
  await page.getByRole('button', { name: 'Claim this case' }).click();
  await page.getByTestId('case-state').filter({ hasText: 'claimed by officer' }).waitFor();
  await page.getByLabel('Approve').check();
  await page.getByLabel('Note').fill(`Checked bank statements (recommendation was ${recommended}).`);
  await page.getByRole('button', { name: 'Record decision' }).click();
  await page.waitForURL(`${BASE}/queue?done=approve`);
  await page.getByRole('status').filter({ hasText: 'Decision recorded: approved' }).waitFor();
  assert.equal(await openCount(page), before - 1);
  assert.equal(await page.locator(`a[href="/queue/${id}"]`).count(), 0);

  await page.goto(`${BASE}/queue/${id}`);
  const history = page.getByTestId('history');
  await history.waitFor();
  assert.match(await history.locator('li[data-action="approve"]').innerText(), /Approve by officer[\s\S]*Checked bank statements/);
  assert.match(await page.getByTestId('case-state').innerText(), /Decided: Approve/);
  assert.deepEqual(problems, [], problems.join('\n'));
  await context.close();
});

test('a reject sends the applicant the reasons shown to the officer', async () => {
  const decision = await score((b) => {
    b.alternative_data.payments.late_payments_12m = 6;
    b.alternative_data.banking.overdrafts_90d = 8;
    b.alternative_data.payments.rent_on_time_ratio = 0.5;
  });
  const { context, page } = await officer();
  await page.goto(`${BASE}/queue/${decision.application_id}`);
  await hydrated(page);
  const reasons = await page.getByTestId('case-reasons').locator('li').allInnerTexts();
  assert.ok(reasons.length >= 1 && reasons.length <= 4, reasons.join('|'));
  await page.getByLabel('Reject').check();
  await page.getByLabel('Note').fill('Repeated overdrafts confirmed.');
  await page.getByRole('button', { name: 'Record decision' }).click();
  await page.waitForURL(`${BASE}/queue?done=reject`);

  const applicant = await newPage(browser);
  await applicant.page.goto(`${BASE}${decision.notice_url}`);
  assert.match(await applicant.page.locator('h1').innerText(), /unable to approve/);
  assert.deepEqual(await applicant.page.getByTestId('notice-reasons').locator('li').allInnerTexts(), reasons);
  await applicant.context.close();
  await context.close();
});

test('an officer rejecting against an approval states their own reasons, and the notice says exactly those', async () => {
  const decision = await score((b) => {
    b.alternative_data.payments.late_payments_12m = 0;
    b.alternative_data.banking.avg_monthly_balance = 1500;
  });
  assert.equal(decision.decision, 'approve', JSON.stringify(decision));
  const { context, page } = await officer();
  await page.goto(`${BASE}/queue/${decision.application_id}`);
  await hydrated(page);
  await page.getByLabel('Reject').check();
  await page.getByLabel('Note').fill('Payslips do not match the stated income.');
  for (const k of [1, 2, 3, 4]) await page.getByTestId(`reason-${k}`).selectOption('');
  // A rejection without a reason is refused: the applicant must be told why.
  await page.getByRole('button', { name: 'Record decision' }).click();
  await page.getByRole('alert').filter({ hasText: /reason/i }).waitFor();
  assert.equal(page.url(), `${BASE}/queue/${decision.application_id}`);
  await page.getByTestId('reason-1').selectOption({ label: 'Unable to verify income' });
  await page.getByTestId('reason-2').selectOption({ label: 'Incomplete application' });
  await page.screenshot({ path: `${ARTIFACTS}/officer-reasons.png`, fullPage: true });
  await page.getByRole('button', { name: 'Record decision' }).click();
  await page.waitForURL(`${BASE}/queue?done=reject`);

  const applicant = await newPage(browser);
  await applicant.page.goto(`${BASE}${decision.notice_url}`);
  assert.match(await applicant.page.locator('h1').innerText(), /unable to approve/);
  assert.deepEqual(await applicant.page.getByTestId('notice-reasons').locator('li').allInnerTexts(),
    ['Unable to verify income', 'Incomplete application']);
  await applicant.context.close();
  await context.close();
});

test('an override without a note is refused and nothing is recorded', async () => {
  // Outside the product's amount range: recommended reject by rule, so approving overrides.
  const decision = await score((b) => { b.loan.amount = 9000; });
  assert.equal(decision.decision, 'reject');
  const { context, page } = await officer();
  await page.goto(`${BASE}/queue/${decision.application_id}`);
  await hydrated(page);
  await page.getByLabel('Approve').check();
  await page.getByRole('button', { name: 'Record decision' }).click();
  await page.getByRole('alert').filter({ hasText: /note is required/ }).waitFor();
  assert.match(await page.getByTestId('case-state').innerText(), /^Open/);
  assert.equal(await page.getByTestId('history').locator('li[data-action]').count(), 0);
  await context.close();
});

test('two officers deciding at once: the second gets a clear message, one decision is recorded', async () => {
  const decision = await score(() => {});
  const a = await officer('officer');
  const b = await officer('officer2');
  for (const s of [a, b]) {
    await s.page.goto(`${BASE}/queue/${decision.application_id}`);
    await hydrated(s.page);
    await s.page.getByLabel('Send to manual review').check();
  }
  await a.page.getByRole('button', { name: 'Record decision' }).click();
  await a.page.waitForURL(`${BASE}/queue?done=escalate`);
  await b.page.getByRole('button', { name: 'Record decision' }).click();
  await b.page.getByRole('alert').filter({ hasText: /changed while you were looking at it/ }).waitFor();
  await b.page.reload();
  assert.equal(await b.page.getByTestId('history').locator('li[data-action]').count(), 1);
  await a.context.close();
  await b.context.close();
});

test('without JavaScript an officer filters the queue and decides by plain form posts', async () => {
  const decision = await score(() => {});
  const { context, page } = await officer('officer', { javaScriptEnabled: false });
  await page.goto(`${BASE}/queue`);
  await page.getByLabel('Recommendation').selectOption('approve');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/recommended=approve/);
  const recs = await page.getByTestId('queue').locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => tr.dataset.recommended));
  assert.ok(recs.length > 0 && recs.every((r) => r === 'approve'), recs.join(','));
  await page.goto(`${BASE}/queue/${decision.application_id}`);
  assert.equal(await page.getByTestId('waterfall').locator('svg rect').count(), 14);
  await page.getByLabel('Send to manual review').check();
  await page.getByRole('button', { name: 'Record decision' }).click();
  await page.waitForURL(`${BASE}/queue?done=escalate`);
  assert.match(await page.getByRole('status').innerText(), /manual review/);
  await page.goto(`${BASE}/queue/${decision.application_id}`);
  assert.match(await page.getByTestId('case-state').innerText(), /^Open, not claimed/);
  assert.match(await page.getByTestId('history').innerText(), /Sent to manual review by officer/);
  await context.close();
});

test('an officer cannot reach admin or compliance pages', async () => {
  const { context, page } = await officer();
  for (const path of ['/admin/users', '/models', '/monitoring', '/audit', '/statistics']) {
    const res = await page.goto(`${BASE}${path}`);
    assert.equal(res.status(), 403, path);
    assert.match(await page.locator('h1').innerText(), /Access denied/);
  }
  await page.goto(`${BASE}/queue`);
  const nav = await page.getByRole('navigation', { name: 'Main' }).innerText();
  assert.doesNotMatch(nav, /Users|Models|Audit|statistics/);
  await context.close();
});

test('an admin reads the officer statistics', async () => {
  const { context, page } = await officer('admin');
  await page.goto(`${BASE}/statistics`);
  const table = page.getByTestId('officer-stats');
  await table.waitFor();
  assert.match(await table.innerText(), /officer\s+\d+/);
  assert.match(await page.getByTestId('aided-share').innerText(), /^\d+\.\d%$/);
  await context.close();
});

test('an applicant applies through the web form and lands on their notice', async () => {
  for (const js of [true, false]) {
    const { context, page, problems } = await newPage(browser, { javaScriptEnabled: js });
    await page.goto(`${BASE}/apply`);
    if (js) await hydrated(page);
    const fill = (label, value) => page.getByLabel(label, { exact: true }).fill(value);
    await fill('Your applicant reference', `WEB-${js}-${Date.now()}`);
    await fill('Loan amount', '1200');
    await fill('Loan term (months)', '12');
    await page.getByLabel('Loan purpose', { exact: true }).selectOption('education');
    await fill('Stated monthly income', '2100');
    await page.getByLabel('Employment status', { exact: true }).selectOption('part_time');
    await fill('Employer changes in 24 months', '1');
    await page.getByLabel('Income verified (1 = yes)', { exact: true }).selectOption('yes');
    await fill('Late payments in 12 months', '0');
    await fill('Length of payment history (months)', '30');
    await page.getByRole('button', { name: 'Submit application' }).click();
    await page.waitForURL(/\/notice\/[A-Za-z0-9_-]{43}$/);
    assert.match(await page.locator('h1').innerText(), /approved|reviewed|unable to approve/);
    assert.doesNotMatch(await page.locator('main').innerText(), /probability|log-odds/i);
    assert.deepEqual(problems, [], problems.join('\n'));
    await context.close();
  }
});
