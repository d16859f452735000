// Shared set-up of the browser tests: Debian's Chromium, headless, with nothing reaching out
// to the network, and the server under test.
import { chromium } from 'playwright-core';

export const BASE = process.env.LENDSCOPE_BASE_URL ?? 'http://127.0.0.1:3000';

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** A fresh browser context and page that records console errors (CSP violations show there). */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  const documents = [];
  page.on('response', async (r) => {
    if (r.request().resourceType() === 'document') {
      const csp = (await r.allHeaders())['content-security-policy'];
      documents.push(`${r.status()} ${r.url()} csp=${csp}`);
    }
  });
  pageProblems.set(page, { problems, documents });
  return { context, page, problems };
}

const pageProblems = new WeakMap();

/** Waits until the page has hydrated (the app marks <html> once its effects run); a failure
 * names the console errors of the page, where a hydration panic shows. */
export async function hydrated(page) {
  try {
    await page.waitForSelector('html[data-hydrated="true"]', { timeout: 30000 });
  } catch (e) {
    const { problems, documents } = pageProblems.get(page) ?? { problems: [], documents: [] };
    throw new Error(`${page.url()} did not hydrate: ${e.message}\nconsole: ${problems.join('\n')}\n`
      + `documents: ${documents.join('\n')}`);
  }
}

/** Signs in through the login form; `js: false` for a context without JavaScript. */
export async function signIn(page, username, password, { js = true } = {}) {
  await page.goto(`${BASE}/login`);
  if (js) await hydrated(page);
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** A new page (in its own context) signed in as `username`; resolves once past the login
 *  page. `options` are the context options of `newPage` (e.g. `javaScriptEnabled: false`). */
export async function signedInPage(browser, username, password, options = {}) {
  const session = await newPage(browser, options);
  await signIn(session.page, username, password, { js: options.javaScriptEnabled !== false });
  await session.page.waitForURL((url) => !url.pathname.startsWith('/login'));
  return session;
}
