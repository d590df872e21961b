// Browser test: the LAR unit's leader opens last month's pharmacy count at tablet
// size, approves one pharmacy's count and downloads the CSV; a pharmacist opens
// their own pharmacy's count on a phone. Every page passes axe-core.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/pharmacy_count.mjs
//
// Env: BASE_URL (required), SAMHAND_DEMO_PASSWORD (default samhand-demo),
// SAMHAND_CHROMIUM. Usually run by `cargo test -p samhand-cli --test browser`.

import { mkdirSync, readFileSync } from "node:fs";

import { harness, SCREENSHOT_MS } from "./harness.mjs";

const t = await harness("pharmacy_count");
const { browser, resultsDir, screenshotPath, step, check, logIn, run } = t;

await run(async () => {
  step("log in as leder at tablet size and open the pharmacy's count from «Mer»");
  const page = await logIn("leder", { viewport: { width: 1024, height: 768 } });
  await page.locator("header.top details.more > summary").click();
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/apotektelling"),
    page.locator("header.top details.more a[href='/apotektelling']").click(),
  ]);
  await t.accessible(page, "the pharmacy's count, the unit's view");
  const counts = page.locator("section[data-testid=pharmacy-count]");
  const pharmacies = await counts.count();
  check(pharmacies > 0, "no pharmacy handed out doses to the unit's patients last month");
  const first = counts.first();
  const title = ((await first.locator("h2").textContent()) || "").trim();
  const patients = await first.locator("tbody tr").count();
  check(patients > 0, `${title} has no patients`);

  step("approve the first pharmacy's count");
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/apotektelling"),
    first.getByRole("button", { name: /Godkjenn tellingen for/ }).click(),
  ]);
  const approved = (await page.locator("section[data-testid=pharmacy-count]").first().textContent()) || "";
  check(approved.includes("Godkjent (versjon 1)"), "the approval is not shown");
  await t.accessible(page, "the approved count");

  step("download the CSV");
  const [csv] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Last ned som CSV" }).click()]);
  const text = readFileSync(await csv.path(), "utf8");
  check(text.startsWith("month,pharmacy_id,pharmacy,patient_id,"), `the CSV has no header: ${text.slice(0, 60)}`);
  check(text.trim().split("\r\n").length > patients, "the CSV has fewer rows than the first pharmacy's patients");
  mkdirSync(resultsDir, { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true, timeout: SCREENSHOT_MS });

  step("a pharmacist opens their own count on a phone");
  const phone = await logIn("utdeler.apotek.torg", { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await phone.goto(t.baseUrl + "/apotektelling");
  await t.accessible(phone, "the pharmacy's own count on a phone");
  const own = phone.locator("section[data-testid=pharmacy-count] h2");
  const headings = await own.allTextContents();
  check(headings.length > 0, "the pharmacy sees no count");
  check(headings.every((h) => h.startsWith("Fjordvik Torg apotek")), `another pharmacy's count is shown: ${headings}`);

  console.log(
    `pharmacy_count: ok: leder saw ${pharmacies} pharmacies, approved ${title} (${patients} patients), downloaded the CSV; ` +
      `the pharmacist saw ${headings.length} counts on a phone; Chromium ${browser.version()}; ${t.seconds()} s`,
  );
});
