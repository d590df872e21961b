// Browser test: the discharge checklist. A doctor at the treatment centre opens
// the patient admitted there (demo data), tries a planned discharge while bundle
// items are open and is refused with the open items named, marks the discharge
// conversation done, registers «time i hånden», waives the rest with a reason,
// and completes the planned discharge.
//
// Drives the real web UI of a running `samhand serve --demo` in Debian's
// Chromium (SAMHAND_CHROMIUM, default /usr/bin/chromium) with playwright-core.
// Screenshot in tests/browser/test-results/discharge.png.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/discharge.mjs
//
// Env: BASE_URL (required), SAMHAND_DEMO_PASSWORD (default samhand-demo),
// SAMHAND_CHROMIUM. Exits 1 with the failing step on any failure; prints one
// summary line on success. Usually run by `cargo test -p samhand-cli --test browser`.

import { mkdirSync } from "node:fs";

import { harness, SCREENSHOT_MS } from "./harness.mjs";

const t = await harness("discharge");
const { baseUrl, browser, resultsDir, screenshotPath, today, step, check, logIn, run } = t;

await run(async () => {
  let page;
  step("log in as institusjon");
  page = await logIn("institusjon");
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));

  step("the centre's list of admitted patients");
  await page.locator("nav a[href='/innlagte']").click();
  await page.waitForURL((url) => url.pathname === "/innlagte");
  const rows = page.locator("table[data-testid=admitted] tbody tr");
  check((await rows.count()) > 0, "no admitted patients at the centre");
  const link = rows.first().locator("a");
  const patientName = ((await link.textContent()) || "").trim();

  step(`open the stay of ${patientName}`);
  await Promise.all([page.waitForURL((url) => url.pathname.startsWith("/opphold/")), link.click()]);
  const stayPath = new URL(page.url()).pathname;
  const checklist = page.locator("[data-testid=checklist]");
  await checklist.waitFor();
  check((await checklist.locator("li[data-item=admission_conversation]").textContent()).includes("Gjort"),
    "the admission conversation is not shown done");

  step("a planned discharge with items open is refused and names them");
  // The refusal answers 422, which Chromium logs as a failed load; that one is meant.
  t.expectConsoleError(/\/utskrivning: Failed to load resource: the server responded with a status of 422/);
  const discharge = page.locator("form[data-testid=discharge-form]");
  await discharge.locator("select[name=planned]").selectOption("ja");
  await discharge.locator("input[name=on]").fill(today);
  await discharge.locator("button[type=submit]").click();
  await page.locator(".error-summary, [role=alert]").first().waitFor();
  const refused = (await page.textContent("body")) || "";
  check(refused.includes("kan ikke fullføres"), "the refusal does not say the discharge cannot be completed");
  check(refused.includes("Kriseplan"), "the refusal does not name the open crisis plan");
  check((await page.locator("[data-testid=discharged]").count()) === 0, "the refused discharge was recorded");

  step("mark the discharge conversation done");
  await page.goto(baseUrl + stayPath);
  await Promise.all([
    page.waitForURL((url) => url.pathname === stayPath),
    page.locator("li[data-item=discharge_conversation]").getByRole("button", { name: "Merk som gjort" }).click(),
  ]);
  check((await page.locator("li[data-item=discharge_conversation]").textContent()).includes("Gjort"),
    "the discharge conversation is not done");

  step("register «time i hånden»");
  const appointment = page.locator(`form[action='${stayPath}/time']`);
  await appointment.locator("input[name=with_whom]").fill("Fastlege Ingrid Solberg");
  await appointment.locator("input[name=date]").fill(today);
  await appointment.locator("input[name=time]").fill("23:30");
  await appointment.locator("input[name=place]").fill("Fjordvik legekontor");
  await appointment.locator("select[name=owner]").selectOption({ index: 1 });
  await Promise.all([
    page.waitForURL((url) => url.pathname === stayPath),
    appointment.locator("button[type=submit]").click(),
  ]);
  check((await page.locator("li[data-item=follow_up_appointment]").textContent()).includes("Gjort"),
    "the appointment does not tick «time i hånden»");

  step("waive the remaining items with a reason");
  for (const item of ["naloxone_training", "naloxone_kit", "crisis_plan"]) {
    const row = page.locator(`li[data-item=${item}]`);
    if (((await row.textContent()) || "").includes("Åpent")) {
      await row.locator("input[name=note]").fill("Pasienten ønsket ikke dette nå, tilbys ved første time");
      await Promise.all([
        page.waitForURL((url) => url.pathname === stayPath),
        row.getByRole("button", { name: "Fravelg" }).click(),
      ]);
      check(((await page.locator(`li[data-item=${item}]`).textContent()) || "").includes("Fravalgt"), `${item} not waived`);
    }
  }

  step("the planned discharge is completed");
  const again = page.locator("form[data-testid=discharge-form]");
  await again.locator("select[name=planned]").selectOption("ja");
  await again.locator("input[name=on]").fill(today);
  await Promise.all([
    page.waitForURL((url) => url.pathname === stayPath),
    again.locator("button[type=submit]").click(),
  ]);
  const done = page.locator("[data-testid=discharged]");
  await done.waitFor();
  check(((await done.textContent()) || "").includes("Utskrevet"), "the discharge is not shown");
  mkdirSync(resultsDir, { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true, timeout: SCREENSHOT_MS });
  check(pageErrors.length === 0, `script errors on the page: ${pageErrors.join("; ")}`);

  const seconds = t.seconds();
  console.log(
    `discharge: ok: institusjon discharged ${patientName} after the checklist; Chromium ${browser.version()}; ` +
      `${seconds} s; screenshot ${screenshotPath}`,
  );
});
