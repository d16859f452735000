// Browser tests of the staff member's own account: seeing where they are signed in, signing
// another browser out, and changing the password (which signs out everywhere else).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { BASE, launch, hydrated, newPage, signIn, signedInPage } from '../lib/browser.mjs';

const PASSWORD = process.env.E2E_PASSWORD;
assert.ok(PASSWORD, 'E2E_PASSWORD must be set by end2end/run.sh');
const ARTIFACTS = process.env.E2E_ARTIFACTS ?? new URL('../artifacts/', import.meta.url).pathname;
// A user of its own (run.sh creates it): its password changes here.
const USER = 'officer3';

let browser;
before(async () => {
  browser = await launch();
  await mkdir(ARTIFACTS, { recursive: true });
});
after(async () => { await browser?.close(); });

test('an officer signs another browser out and changes the password', { timeout: 120000 }, async () => {
  const laptop = await signedInPage(browser, USER, PASSWORD);
  const phone = await signedInPage(browser, USER, PASSWORD);
  const page = laptop.page;
  await hydrated(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'My account' }).click();
  await page.waitForURL(`${BASE}/account`);
  const rows = page.locator('#sessions tbody tr');
  await rows.nth(1).waitFor();
  assert.equal(await rows.count(), 2, 'both browsers listed');
  assert.equal(await page.getByText('This browser').count(), 1);
  await page.screenshot({ path: `${ARTIFACTS}/account-page.png`, fullPage: true });

  // Sign the phone out from the laptop.
  await page.locator('#sessions').getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('status').filter({ hasText: 'Signed out.' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('#sessions tbody tr').length === 1);
  await phone.page.goto(`${BASE}/queue`);
  assert.ok(phone.page.url().startsWith(`${BASE}/login`), `phone signed out: ${phone.page.url()}`);

  // A wrong current password is refused with a message; nothing changes.
  const fresh = 'a new passphrase for e2e';
  await page.getByLabel('Current password').fill('not the password at all');
  await page.getByLabel('New password (at least 12 characters)').fill(fresh);
  await page.getByLabel('New password again').fill(fresh);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByRole('alert').filter({ hasText: 'current_password' }).waitFor();

  // The right one: changed; this browser stays signed in with a new session.
  const before = (await laptop.context.cookies()).find((c) => c.name === 'lendscope_session');
  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel('New password (at least 12 characters)').fill(fresh);
  await page.getByLabel('New password again').fill(fresh);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByRole('status').filter({ hasText: 'Password changed' }).waitFor();
  const after = (await laptop.context.cookies()).find((c) => c.name === 'lendscope_session');
  assert.notEqual(after.value, before.value, 'a new session id');
  // The page's anti-CSRF token followed the new session: signing out works.
  await page.locator('.whoami').getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${BASE}/login`);

  // The old password no longer signs in; the new one does.
  const other = await newPage(browser);
  await signIn(other.page, USER, PASSWORD);
  await other.page.getByRole('alert').waitFor();
  assert.match(await other.page.getByRole('alert').innerText(), /Invalid user name or password/);
  await signIn(other.page, USER, fresh);
  await other.page.waitForURL(`${BASE}/`);
  // The refused wrong password shows as a failed (422) request in the console; nothing else may.
  const unexpected = laptop.problems.filter((p) => !/status of 422/.test(p));
  assert.deepEqual(unexpected, [], `no console errors: ${unexpected.join('\n')}`);
  await Promise.all([laptop.context.close(), phone.context.close(), other.context.close()]);
});
