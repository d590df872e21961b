// Browser test: the LAR doctor finds the patients whose drug-test samples are not
// delivered on the reviews page at tablet size, opens one patient's regime, sees
// expected against delivered week by week, and changes the regime; the overview
// shows the summary on a phone. Every page passes axe-core.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/drug_test_regime.mjs
//
// Env: BASE_URL (required), SAMHAND_DEMO_PASSWORD (default samhand-demo),
// SAMHAND_CHROMIUM. Usually run by `cargo test -p samhand-cli --test browser`.

import { mkdirSync } from "node:fs";

import { harness, SCREENSHOT_MS } from "./harness.mjs";

const t = await harness("drug_test_regime");
const { browser, resultsDir, screenshotPath, step, check, logIn, run } = t;

await run(async () => {
  step("log in as lege at tablet size and open the reviews from «Mer»");
  const page = await logIn("lege", { viewport: { width: 1024, height: 768 } });
  await page.locator("header.top details.more > summary").click();
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/revurderinger"),
    page.locator("header.top details.more a[href='/revurderinger']").click(),
  ]);
  await t.accessible(page, "the reviews with the drug-test follow-up");
  const rows = page.locator("table[data-testid=drug-test-follow-up] tbody tr");
  check((await rows.count()) >= 2, "the demo's missing sample and overdue regime are not listed");
  const listed = (await rows.allTextContents()).join(" | ");
  check(listed.includes("ikke levert"), `no sample not delivered is listed: ${listed}`);
  check(listed.includes("Forfalt"), `no regime past its review is listed: ${listed}`);

  step("open the first listed patient's regime");
  const link = rows.first().locator("th a");
  const name = ((await link.textContent()) || "").trim();
  await Promise.all([page.waitForURL((url) => url.pathname.endsWith("/proveregime")), link.click()]);
  await t.accessible(page, "the drug-test regime");
  const windows = page.locator("table[data-testid=sample-windows] tbody tr");
  check((await windows.count()) >= 5, "the weeks of expected samples are not shown");
  const patientPath = new URL(page.url()).pathname.replace(/\/proveregime$/, "");

  step("change the regime to twice a week");
  await page.locator("select#frequency").selectOption("twice_a_week");
  await page.locator("input#valid_from").fill(t.today);
  await Promise.all([
    page.waitForURL((url) => url.pathname.endsWith("/proveregime")),
    page.getByRole("button", { name: "Lagre prøveregimet" }).click(),
  ]);
  const summary = (await page.locator("section.card").first().textContent()) || "";
  check(summary.includes("To ganger i uka"), `the new version is not in force: ${summary}`);
  await t.accessible(page, "the changed regime");
  mkdirSync(resultsDir, { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true, timeout: SCREENSHOT_MS });

  step("the overview shows the regime on a phone");
  const phone = await logIn("lege", { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await phone.goto(t.baseUrl + patientPath);
  const section = (await phone.locator("[data-testid=drug-tests]").textContent()) || "";
  check(section.includes("Prøveregime") && section.includes("To ganger i uka"), `the overview has no regime: ${section}`);
  await t.accessible(phone, "the overview with the regime on a phone");

  console.log(
    `drug_test_regime: ok: lege found ${name} on the follow-up list, changed the regime, saw it on a phone; ` +
      `Chromium ${browser.version()}; ${t.seconds()} s`,
  );
});
