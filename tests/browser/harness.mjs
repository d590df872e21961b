// What every browser test shares: its configuration from the environment,
// Chromium launched as smoke.mjs does (launch() makes its own temporary profile,
// so no --user-data-dir), the current step for the failure message, pages with a
// few seconds per step, a staff login, and the failure report with a screenshot
// of the page last opened. Every page it opens is watched: a console error (a CSP
// refusal, a failed script) or an uncaught page error fails the test at the end,
// with the list, unless the test said it expects that one (`t.expectConsoleError`).
//
// Env: BASE_URL (required), SAMHAND_DEMO_PASSWORD (default samhand-demo),
// SAMHAND_CHROMIUM (default /usr/bin/chromium).

import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

// axe-core is evaluated through the DevTools protocol, which a page's CSP does not
// govern: pages keep their real policy, so a blocked inline style still shows.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

// Each step gets a few seconds; a broken page fails fast instead of hanging.
export const STEP_MS = 5000;
// A full-page screenshot of a long page (every patient of the status report) is
// evidence, not a step: on a loaded machine it took over five seconds.
export const SCREENSHOT_MS = 30000;

/// Starts the test called `name`: exits 2 without BASE_URL, 1 when Chromium does not start.
export async function harness(name) {
  const started = Date.now();
  const baseUrl = (process.env.BASE_URL || "").replace(/\/+$/, "");
  if (!baseUrl) {
    console.error(`${name}: FAILED: set BASE_URL, e.g. BASE_URL=http://127.0.0.1:8080`);
    process.exit(2);
  }
  const password = process.env.SAMHAND_DEMO_PASSWORD || "samhand-demo";
  const executablePath = process.env.SAMHAND_CHROMIUM || "/usr/bin/chromium";
  const resultsDir = join(dirname(fileURLToPath(import.meta.url)), "test-results");
  let currentStep = "launch Chromium";
  let lastPage;
  // Console errors and page errors of every page, with the step they came in.
  const consoleErrors = [];
  // Patterns of console errors a step causes on purpose (say a refused form's 4xx).
  const expectedErrors = [];
  const watch = (page) => {
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const where = message.location()?.url || page.url();
      const text = `${where}: ${message.text()}`;
      if (expectedErrors.some((pattern) => pattern.test(text))) return;
      consoleErrors.push(`[${currentStep}] console error on ${text}`);
    });
    page.on("pageerror", (error) => {
      consoleErrors.push(`[${currentStep}] page error on ${page.url()}: ${error.message}`);
    });
  };
  const browser = await chromium
    .launch({
      executablePath,
      headless: true,
      timeout: 30000,
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
    })
    .catch((error) => {
      console.error(`${name}: FAILED to launch Chromium at ${executablePath}: ${error.message}`);
      process.exit(1);
    });

  const t = {
    started,
    baseUrl,
    password,
    browser,
    resultsDir,
    screenshotPath: join(resultsDir, `${name}.png`),
    // Today in Oslo, as the server counts days: yyyy-mm-dd.
    today: new Intl.DateTimeFormat("sv-SE", { timeZone: "Europe/Oslo" }).format(new Date()),
    step(stepName) {
      currentStep = stepName;
    },
    check(condition, message) {
      if (!condition) throw new Error(message);
    },
    /// Lets console errors matching `pattern` ("<url>: <message>") pass, from now
    /// on: for a step that provokes one on purpose, such as a refused form's 422.
    expectConsoleError(pattern) {
      expectedErrors.push(pattern);
    },
    /// The pages axe-core checked, by name.
    checked: [],
    /// Runs axe-core (WCAG 2.1 A and AA) on the page; fails with every violation.
    async accessible(page, name) {
      await page.evaluate(axeSource);
      const result = await page.evaluate(async () =>
        // eslint-disable-next-line no-undef
        axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
      );
      const problems = result.violations.map(
        (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`,
      );
      t.check(problems.length === 0, `${name} is not accessible:\n  ${problems.join("\n  ")}`);
      t.checked.push(name);
    },
    /// The console and page errors so far.
    consoleErrors() {
      return [...consoleErrors];
    },
    seconds() {
      return ((Date.now() - started) / 1000).toFixed(1);
    },
    /// A page in a fresh context (its own cookies); `options` go to the context.
    async newPage(viewport = { width: 1280, height: 900 }, options = {}) {
      const context = await browser.newContext({ viewport, ...options });
      // Every page of the context is watched, this one and any the test opens later.
      context.on("page", watch);
      const page = await context.newPage();
      page.setDefaultTimeout(STEP_MS);
      page.setDefaultNavigationTimeout(STEP_MS * 2);
      lastPage = page;
      return page;
    },
    /// A staff member logged in through the login form, in a fresh context
    /// (`options` go to the context).
    async logIn(username, options = {}) {
      const page = await t.newPage(undefined, options);
      await page.goto(baseUrl + "/login");
      await page.locator("input[name=username]").fill(username);
      await page.locator("input[name=password]").fill(password);
      await Promise.all([
        page.waitForURL((url) => url.pathname !== "/login"),
        page.locator("form[action='/login'] button[type=submit]").click(),
      ]);
      return page;
    },
    /// Runs the test's steps, reports a failure with the step and a screenshot,
    /// closes the browser and exits 0 or 1.
    async run(steps) {
      let exitCode = 0;
      try {
        await steps();
        currentStep = "no console errors";
        if (consoleErrors.length > 0) {
          throw new Error(
            `${consoleErrors.length} console or page error(s):\n  ${consoleErrors.join("\n  ")}`,
          );
        }
      } catch (error) {
        exitCode = 1;
        console.error(`${name}: FAILED at step "${currentStep}": ${error.message}`);
        if (lastPage) {
          console.error(`${name}: page was ${lastPage.url()}`);
          try {
            mkdirSync(resultsDir, { recursive: true });
            const failurePath = join(resultsDir, `${name}-failure.png`);
            await lastPage.screenshot({ path: failurePath, fullPage: true, timeout: SCREENSHOT_MS });
            console.error(`${name}: screenshot of the failure in ${failurePath}`);
          } catch {
            // The failure message above is what matters.
          }
        }
      } finally {
        await browser.close();
      }
      process.exit(exitCode);
    },
  };
  return t;
}
