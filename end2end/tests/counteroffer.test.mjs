// Issue 20 end to end: an applicant applies on /apply for more than the policy lends; the
// notice offers a counteroffer and says what would have changed the result; an officer makes
// the counteroffer the decision; the applicant's notice and its PDF follow. Screenshots of the
// three pages go to the test artifacts. The officer is 'officer' (the account test changes
// officer3's password).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { BASE, launch, newPage, hydrated, signedInPage } from '../lib/browser.mjs';

const PASSWORD = process.env.E2E_PASSWORD;
assert.ok(PASSWORD, 'E2E_PASSWORD must be set by end2end/run.sh');
const ARTIFACTS = process.env.E2E_ARTIFACTS ?? new URL('../artifacts/', import.meta.url).pathname;

let browser;
before(async () => {
  browser = await launch();
  await mkdir(ARTIFACTS, { recursive: true });
});
after(async () => { await browser?.close(); });

async function pdfOf(noticePath) {
  const res = await fetch(`${BASE}${noticePath}/notice.pdf`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/pdf');
  return Buffer.from(await res.arrayBuffer());
}

test('a request the policy declines gets a counteroffer and recourse; an officer takes the counteroffer; notice and PDF follow', async () => {
  // The applicant: a good payment record, asking for more than the largest loan.
  const { context, page, problems } = await newPage(browser);
  await page.goto(`${BASE}/apply`);
  await hydrated(page);
  const fill = (label, value) => page.getByLabel(label, { exact: true }).fill(value);
  await fill('Your applicant reference', `WEB-CO-${Date.now()}`);
  await fill('Loan amount', '9000');
  await fill('Loan term (months)', '12');
  await page.getByLabel('Loan purpose', { exact: true }).selectOption('education');
  await fill('Stated monthly income', '3200');
  await page.getByLabel('Employment status', { exact: true }).selectOption('full_time');
  await fill('Employer changes in 24 months', '0');
  await page.getByLabel('Income verified (1 = yes)', { exact: true }).selectOption('yes');
  await fill('Late payments in 12 months', '0');
  await fill('Length of payment history (months)', '48');
  await page.screenshot({ path: `${ARTIFACTS}/counteroffer-apply.png`, fullPage: true });
  await page.getByRole('button', { name: 'Submit application' }).click();
  await page.waitForURL(/\/notice\/[A-Za-z0-9_-]{43}$/);
  const noticePath = new URL(page.url()).pathname;
  await hydrated(page);
  assert.match(await page.locator('h1').innerText(), /unable to approve the loan you asked for\. We can offer you a loan of \$[\d,]+ repaid over \d+ months/);
  const offer = await page.getByTestId('notice-counteroffer').innerText();
  assert.match(offer, /\$[\d,]+ repaid over \d+ months/);
  const reasons = page.getByTestId('notice-reasons').locator('li');
  assert.match(await reasons.first().innerText(), /outside the range we lend/);
  const recourse = page.getByTestId('notice-recourse').locator('li');
  assert.ok(await recourse.count() >= 1, 'at least one recourse statement');
  assert.match(await recourse.first().innerText(), /^With .+, this application would have been approved by the model in use today\.$/);
  assert.match(await page.locator('main').innerText(), /not an offer or a promise of credit/);
  assert.ok(await page.getByTestId('notice-pdf').count() === 1, 'the PDF is linked');
  await page.screenshot({ path: `${ARTIFACTS}/counteroffer-notice.png`, fullPage: true });
  const before = await pdfOf(noticePath);
  assert.ok(before.subarray(0, 8).toString() === '%PDF-1.4');
  assert.ok(before.toString('latin1').includes('(Our offer)'), 'the PDF states the offer');
  const id = (await page.locator('main').innerText()).match(/Application ([0-9a-f-]{36})/)[1];
  assert.deepEqual(problems, [], problems.join('\n'));
  await context.close();

  // The officer sees the counteroffer on the case page and makes it the decision.
  const officer = await signedInPage(browser, 'officer', PASSWORD);
  await officer.page.goto(`${BASE}/queue/${id}`);
  await hydrated(officer.page);
  assert.match(await officer.page.getByTestId('case-counteroffer').innerText(), /approve a loan of \$[\d,]+ repaid over \d+ months/);
  assert.ok(await officer.page.getByTestId('case-recourse').locator('li').count() >= 1);
  await officer.page.screenshot({ path: `${ARTIFACTS}/counteroffer-case.png`, fullPage: true });
  await officer.page.getByLabel('Make the counteroffer').check();
  await officer.page.getByRole('button', { name: 'Record decision' }).click();
  await officer.page.waitForURL(`${BASE}/queue?done=counteroffer`);
  await officer.page.goto(`${BASE}/queue/${id}`);
  await officer.page.getByTestId('final-decision').waitFor();
  assert.equal(await officer.page.getByTestId('final-decision').innerText(), 'Counteroffer');
  assert.deepEqual(officer.problems, [], officer.problems.join('\n'));
  await officer.context.close();

  // The applicant's notice and PDF now state the officer's counteroffer.
  const after = await newPage(browser);
  await after.page.goto(`${BASE}${noticePath}`);
  await hydrated(after.page);
  assert.match(await after.page.locator('h1').innerText(), /We are offering you a loan of \$[\d,]+ repaid over \d+ months instead/);
  assert.equal(await after.page.getByTestId('notice-counteroffer').innerText(), offer);
  assert.match(await after.page.getByTestId('notice-reasons').locator('li').first().innerText(), /outside the range we lend/);
  await after.page.screenshot({ path: `${ARTIFACTS}/counteroffer-notice-after.png`, fullPage: true });
  const decided = await pdfOf(noticePath);
  assert.ok(!decided.equals(before), 'the PDF follows the decision');
  assert.ok(decided.equals(await pdfOf(noticePath)), 'and is the same bytes each time');
  await after.context.close();
});
