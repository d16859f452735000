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
