// Smoke test: can playwright-core drive this machine's Chromium?
//
// Launches Debian's Chromium (SAMHAND_CHROMIUM, default /usr/bin/chromium)
// headless with a fresh profile, opens a data: URL, checks the page title and
// exits 0. Playwright's own browser download is never used.
//
//   node tests/browser/smoke.mjs

import { chromium } from "playwright-core";

const executablePath = process.env.SAMHAND_CHROMIUM || "/usr/bin/chromium";

// launch() itself starts Chromium with a new, empty, temporary profile
// (--user-data-dir) and removes it on close; passing --user-data-dir here is
// refused by playwright.
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

try {
  const page = await browser.newPage();
  const html = "<!doctype html><title>Samhand smoke</title><h1>ok</h1>";
  await page.goto("data:text/html," + encodeURIComponent(html));
  const title = await page.title();
  if (title !== "Samhand smoke") {
    throw new Error(`unexpected title: ${JSON.stringify(title)}`);
  }
  console.log(`smoke: ok (${browser.version()}, title ${JSON.stringify(title)})`);
} finally {
  await browser.close();
}
