// Browser test: the window at a place's own Samhand (`samhand edge`) while the
// link to the central server is down.
//
// The Rust side (crates/cli/tests/browser.rs) starts central with the demo,
// issues the place's edge credential, starts `samhand edge`, waits for its first
// sync and then kills central. Here, at the edge: dispensing staff log in with
// their own password, the banner says the place is offline since when and when it
// was last updated, the list is there, a dose is recorded, corrections are said to
// be made centrally; axe-core checks the list at tablet and phone width.
//
//   BASE_URL=http://127.0.0.1:8081 node tests/browser/edge.mjs

import { mkdirSync } from "node:fs";

import { harness, SCREENSHOT_MS } from "./harness.mjs";

const t = await harness("edge");
const { baseUrl, step, check, logIn, run, resultsDir, screenshotPath } = t;
const tablet = { width: 1024, height: 768 };
const phone = { width: 390, height: 844 };

await run(async () => {
  step("log in at the edge as utdeler, on a tablet");
  const page = await logIn("utdeler", { viewport: tablet });
  check(new URL(page.url()).pathname === "/utlevering", `after login: ${page.url()}`);

  step("the banner says the place is offline, since when and when last updated");
  const banner = page.locator("[data-testid=edge-link]");
  let text = "";
  for (let i = 0; i < 20; i++) {
    text = (await banner.textContent()) || "";
    if (text.startsWith("Frakoblet")) break;
    await page.waitForTimeout(250);
    await page.reload();
  }
  check(/^Frakoblet siden \d\d:\d\d – sist oppdatert \d\d:\d\d/.test(text.trim()), `banner: ${JSON.stringify(text)}`);

  step("the list is there, and corrections are made centrally");
  const rows = page.locator("article[data-testid=list-row]");
  check((await rows.count()) > 0, "no rows on the edge's list");
  const hint = (await page.locator("main").textContent()) || "";
  check(hint.includes("Korrigering av en registrering gjøres i sentral Samhand"), "no word on corrections");
  await t.accessible(page, "the edge's list (tablet)");

  step("record a dose offline");
  let patientId = null;
  const count = await rows.count();
  for (let i = 0; i < count; i++) {
    const row = rows.nth(i);
    if ((await row.locator("[data-testid=row-done]").count()) > 0) continue;
    const button = row.locator("[data-testid=dispense]");
    if ((await button.count()) === 0 || (await button.isDisabled())) continue;
    patientId = await row.getAttribute("data-patient");
    break;
  }
  check(patientId, "no patient left to dispense to");
  const row = page.locator(`article[data-testid=list-row][data-patient="${patientId}"]`);
  await row.locator("[data-testid=identity]").check();
  await Promise.all([
    page.waitForURL((url) => url.searchParams.get("registrert") === patientId),
    row.locator("[data-testid=dispense]").click(),
  ]);
  const done = page.locator(`article[data-testid=list-row][data-patient="${patientId}"] [data-testid=row-done]`);
  check((await done.count()) === 1, "the row is not done after recording offline");
  const pending = (await page.locator("[data-testid=edge-link]").textContent()) || "";
  check(/venter på sending/.test(pending) || pending.startsWith("Frakoblet"), `banner after recording: ${pending}`);

  step("the list at phone width");
  await page.setViewportSize(phone);
  await page.goto(baseUrl + "/utlevering");
  await t.accessible(page, "the edge's list (phone)");
  mkdirSync(resultsDir, { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: false, timeout: SCREENSHOT_MS });
  console.log(`edge: OK in ${t.seconds()} s (axe: ${t.checked.join(", ")})`);
});
