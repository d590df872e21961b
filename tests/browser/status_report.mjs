// Browser test: the LAR unit's leader opens the yearly status report, reads one
// patient's row with every value's source, signs the report off and downloads the
// CSV and the XLSX; every page passes axe-core.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/status_report.mjs
//
// Env: BASE_URL (required), SAMHAND_DEMO_PASSWORD (default samhand-demo),
// SAMHAND_CHROMIUM. Usually run by `cargo test -p samhand-cli --test browser`.

import { mkdirSync } from "node:fs";

import { harness, SCREENSHOT_MS } from "./harness.mjs";

const t = await harness("status_report");
const { browser, resultsDir, screenshotPath, step, check, logIn, run } = t;

await run(async () => {
  step("log in as leder and open the yearly status report from «Mer»");
  const page = await logIn("leder");
  await page.locator("header.top details.more > summary").click();
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/statusrapport"),
    page.locator("header.top details.more a[href='/statusrapport']").click(),
  ]);
  await t.accessible(page, "the yearly status report");
  const rows = page.locator("table[data-testid=report-rows] tbody tr");
  const count = await rows.count();
  check(count > 0, "the report has no patients");

  step("one patient's row shows every value with its source");
  const link = rows.first().locator("th a");
  const name = ((await link.textContent()) || "").trim();
  await Promise.all([page.waitForURL((url) => url.pathname.startsWith("/statusrapport/pasient/")), link.click()]);
  await t.accessible(page, "one patient's row");
  const row = (await page.locator("table[data-testid=report-row]").textContent()) || "";
  check(row.includes("Signert ordinasjon"), "the dose's source is not shown");
  check(row.includes("Statusvurdering") || row.includes("Mangler"), "the assessment's source is not shown");
  await page.getByRole("link", { name: "Tilbake til rapporten" }).click();
  await page.waitForURL((url) => url.pathname === "/statusrapport");

  step("sign the report off");
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/statusrapport"),
    page.getByRole("button", { name: /Godkjenn rapporten for/ }).click(),
  ]);
  const signoff = (await page.locator("[data-testid=signoff]").textContent()) || "";
  check(signoff.includes("Godkjent av"), "the sign-off is not shown");
  await t.accessible(page, "the signed-off report");

  step("download the CSV and the XLSX");
  const [csv] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Last ned som CSV" }).click()]);
  const csvPath = await csv.path();
  const { readFileSync } = await import("node:fs");
  const text = readFileSync(csvPath, "utf8");
  check(text.startsWith("unit,patient_id,"), `the CSV has no header: ${text.slice(0, 60)}`);
  check(text.trim().split("\r\n").length === count + 1, "the CSV does not have one row per patient");
  const [xlsx] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Last ned som Excel (XLSX)" }).click(),
  ]);
  check(readFileSync(await xlsx.path()).subarray(0, 2).toString() === "PK", "the XLSX is not a workbook");

  mkdirSync(resultsDir, { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true, timeout: SCREENSHOT_MS });
  console.log(
    `status_report: ok: leder read ${count} rows and ${name}'s sources, signed off, downloaded CSV and XLSX; ` +
      `Chromium ${browser.version()}; ${t.seconds()} s; screenshot ${screenshotPath}`,
  );
});
