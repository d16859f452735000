// Browser tests of monitoring: the demo's run (a later, drifted population) with its alerts,
// drift table and charts, performance estimated before outcomes per version; a run started from the page; compliance reads the same runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { BASE, launch, hydrated, signedInPage } from '../lib/browser.mjs';

const PASSWORD = process.env.E2E_PASSWORD;
assert.ok(PASSWORD, 'E2E_PASSWORD must be set by end2end/run.sh');
const ARTIFACTS = process.env.E2E_ARTIFACTS ?? new URL('../artifacts/', import.meta.url).pathname;

let browser;
before(async () => {
  browser = await launch();
  await mkdir(ARTIFACTS, { recursive: true });
});
after(async () => { await browser?.close(); });

const signedIn = (name) => signedInPage(browser, name, PASSWORD);

test('an admin reads the demo run, starts a run from the page; compliance reads it', { timeout: 120000 }, async () => {
  const { context, page } = await signedIn('admin');
  await page.goto(`${BASE}/monitoring`);
  await hydrated(page);
  const verdict = await page.getByTestId('dataset-verdict').innerText();
  assert.match(verdict, /of 23 inputs drifted/);
  const drifted = await page.getByTestId('drift-table').first().locator('.pill-reject').count();
  assert.ok(drifted >= 3, `${drifted} drifted inputs in the demo's later population`);
  assert.ok(await page.getByTestId('alerts').locator('li').count() > 0);
  for (const chart of ['psi-chart', 'prediction-chart']) {
    assert.equal(await page.getByTestId(chart).locator('svg').count(), 1, chart);
  }
  assert.ok(await page.getByTestId('histogram').count() > 0);
  assert.equal(await page.getByTestId('fairness-gender').count(), 1);
  // The final decisions (officer, else automated) beside the recommendations.
  assert.match(await page.getByTestId('fairness-gender').getByTestId('final-parity').innerText(), /on [1-9]\d* decided/);
  assert.match(await page.getByTestId('fairness-gender').innerText(), /Final approval \(decided\)/);
  assert.ok(await page.getByTestId('performance-table').locator('tbody tr').count() >= 2);
  // Performance estimated before outcomes (CBPE): a chart and a table per version.
  const estimated = page.getByTestId('estimated');
  assert.equal(await estimated.count(), 2);
  assert.equal(await page.getByTestId('estimated-chart').locator('svg').count(), 2);
  assert.ok(await estimated.first().getByTestId('estimated-table').locator('tbody tr').count() >= 3);
  assert.match(await estimated.first().innerText(), /fitted on the oldest \d+ labelled scores/);
  await estimated.first().screenshot({ path: `${ARTIFACTS}/monitoring-estimated.png` });
  const runs = page.getByTestId('runs-table').locator('tbody tr');
  const before = await runs.count();

  await page.getByRole('button', { name: 'Run monitoring now' }).click();
  await page.waitForURL(/\/monitoring\?run=\d+&done=1$/);
  await page.getByRole('status').filter({ hasText: 'monitoring run finished' }).waitFor();
  await page.getByTestId('runs-table').locator('tbody tr').nth(before).waitFor();
  assert.equal(await runs.count(), before + 1);
  assert.match(await page.getByTestId('run').locator('dd').first().innerText(), /by admin/);
  await page.screenshot({ path: `${ARTIFACTS}/monitoring-page.png`, fullPage: true });
  await context.close();

  const c = await signedIn('compliance');
  await c.page.goto(`${BASE}/monitoring`);
  assert.equal(await c.page.getByTestId('runs-table').locator('tbody tr').count(), before + 1);
  assert.match(await c.page.getByTestId('dataset-verdict').innerText(), /inputs drifted/);
  // Compliance reads a version's validation report: ten sections, and its PDF.
  await c.page.goto(`${BASE}/validation`);
  await hydrated(c.page);
  await c.page.getByTestId('validation-versions').getByRole('link', { name: 'Report' }).first().click();
  await c.page.waitForURL(/\/validation\/\d+$/);
  await c.page.getByTestId('report-section').nth(9).waitFor();
  assert.equal(await c.page.getByTestId('report-section').count(), 10);
  assert.match(await c.page.getByTestId('report-section').first().innerText(), /Purpose, intended use and limits/);
  const pdfHref = await c.page.getByTestId('report-pdf').getAttribute('href');
  const pdf = await c.page.request.get(`${BASE}${pdfHref}`);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  const again = await c.page.request.get(`${BASE}${pdfHref}`);
  assert.ok(Buffer.compare(await pdf.body(), await again.body()) === 0, 'the PDF regenerates byte-identical');
  await c.page.screenshot({ path: `${ARTIFACTS}/validation-report.png`, fullPage: true });
  await c.context.close();
});
