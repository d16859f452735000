// Browser tests of signing in, roles and signing out, in Debian's Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage as openPage, signIn as signInAs } from '../lib/browser.mjs';

const PASSWORD = process.env.E2E_PASSWORD;
assert.ok(PASSWORD, 'E2E_PASSWORD must be set by end2end/run.sh');

let browser;
before(async () => {
  browser = await launch();
});
after(async () => { await browser?.close(); });

const newPage = () => openPage(browser);
const signIn = (page, username, password) => signInAs(page, username, password);

test('an officer signs in and sees the role-aware shell', async () => {
  const { context, page, problems } = await newPage();
  await signIn(page, 'officer', PASSWORD);
  await page.waitForURL(`${BASE}/`);
  const badge = page.getByTestId('whoami');
  await badge.waitFor();
  assert.match(await badge.innerText(), /officer/);
  const nav = page.getByRole('navigation', { name: 'Main' });
  assert.equal(await nav.getByRole('link', { name: 'Review queue' }).count(), 1);
  assert.equal(await nav.getByRole('link', { name: 'Users' }).count(), 0, 'no admin links for officers');
  assert.equal(await nav.getByRole('link', { name: 'Audit' }).count(), 0);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'lendscope_session');
  assert.ok(session, 'session cookie set');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Lax');
  assert.deepEqual(problems, [], `no console errors: ${problems.join('\n')}`);
  await context.close();
});

test('a wrong password is rejected', async () => {
  const { context, page } = await newPage();
  await signIn(page, 'officer', 'not the password at all');
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /Invalid user name or password/);
  assert.ok(page.url().startsWith(`${BASE}/login`));
  const cookies = await context.cookies();
  assert.equal(cookies.find((c) => c.name === 'lendscope_session' && c.value), undefined);
  await context.close();
});

test('an officer cannot open an admin page', async () => {
  const { context, page } = await newPage();
  await signIn(page, 'officer', PASSWORD);
  await page.waitForURL(`${BASE}/`);
  const res = await page.goto(`${BASE}/admin/users`);
  assert.equal(res.status(), 403);
  assert.match(await page.locator('h1').innerText(), /Access denied/);
  await context.close();
});

test('an admin opens the users page and creates a user', async () => {
  const { context, page, problems } = await newPage();
  await signIn(page, 'admin', PASSWORD);
  await page.waitForURL(`${BASE}/`);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
  await page.waitForURL(`${BASE}/admin/users`);
  await page.getByLabel('User name').fill('e2e.officer');
  await page.getByLabel('Role').selectOption('officer');
  await page.getByLabel(/Initial password/).fill('a password for e2e tests');
  await page.getByRole('button', { name: 'Create user' }).click();
  await page.getByRole('status').waitFor();
  await page.getByRole('cell', { name: 'e2e.officer' }).waitFor();
  assert.deepEqual(problems, [], `no console errors: ${problems.join('\n')}`);
  await context.close();
});

test('signing out ends the session', async () => {
  const { context, page } = await newPage();
  await signIn(page, 'officer', PASSWORD);
  await page.waitForURL(`${BASE}/`);
  const before = (await context.cookies()).find((c) => c.name === 'lendscope_session');
  assert.ok(before);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${BASE}/login`);
  const res = await page.goto(`${BASE}/queue`);
  assert.ok(page.url().startsWith(`${BASE}/login?next=`), `redirected to sign-in, got ${page.url()}`);
  assert.equal(res.status(), 200);
  // The old cookie value no longer opens anything, even if replayed.
  const replay = await browser.newContext();
  await replay.addCookies([{ ...before }]);
  const p2 = await replay.newPage();
  await p2.goto(`${BASE}/queue`);
  assert.ok(p2.url().startsWith(`${BASE}/login`));
  await replay.close();
  await context.close();
});

test('pages work without JavaScript: sign-in by plain form post', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${BASE}/login?next=%2Fqueue`);
  await page.getByLabel('User name').fill('officer');
  await page.getByLabel('Password').fill('wrong password here');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /Invalid user name or password/);
  await page.getByLabel('User name').fill('officer');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${BASE}/queue`);
  assert.match(await page.locator('h1').innerText(), /Review queue/);
  await context.close();
});
