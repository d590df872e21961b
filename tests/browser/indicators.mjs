// Browser test: the LAR unit's leader opens the indicators from the overview at a
// tablet's and a phone's width, sees the charts (SVG images with their summaries)
// and the tables (missed doses, discharges with the bundle and samples expected
// among them, not all zero in the demo), downloads the CSV; a prescriber's patient overview shows the dose
// history chart. Every page passes axe-core; any console error fails the test.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/indicators.mjs
//
// Env: BASE_URL (required), SAMHAND_DEMO_PASSWORD (default samhand-demo),
// SAMHAND_CHROMIUM. Usually run by `cargo test -p samhand-cli --test browser`.

import { mkdirSync, readFileSync } from "node:fs";

import { harness, SCREENSHOT_MS } from "./harness.mjs";

const t = await harness("indicators");
const { browser, resultsDir, screenshotPath, step, check, logIn, run } = t;

async function chartsAndTables(page, width) {
  const charts = page.locator("figure.chart svg[role=img]");
  const count = await charts.count();
  check(count === 4, `${count} charts at ${width} px, not 4`);
  for (let i = 0; i < count; i += 1) {
    const chart = charts.nth(i);
    const label = (await chart.getAttribute("aria-label")) || "";
    check(label.length > 20, `chart ${i} has no summary`);
    const title = (await chart.locator("title").textContent()) || "";
    check(title === label, `chart ${i}'s title differs from its label`);
    const box = await chart.boundingBox();
    check(box && box.width > 100 && box.width <= width, `chart ${i} is ${box?.width} px wide at ${width} px`);
  }
  const tables = page.locator("[data-testid=indicator-table] table");
  check((await tables.count()) >= 2, "the unit's and the places' tables are missing");
  const unit = (await tables.first().textContent()) || "";
  check(unit.includes("Pasienter i behandling"), "the unit's table has no patients in treatment");
  const summary = (await page.locator("[data-testid=chart-load] p.summary").textContent()) || "";
  check(/Enheten: \d+ i behandling/.test(summary), `the load summary: ${summary}`);
  check(!/Enheten: 0 i behandling i \S+, 0 i/.test(summary), `the demo's indicators are empty: ${summary}`);
  // The follow-up: discharges beside bundles completed, samples expected beside
  // delivered, in the chart's summary and as rows of the unit's table.
  const followUp = (await page.locator("[data-testid=chart-follow-up] p.summary").textContent()) || "";
  check(/tiltakspakken fullført ved \d+ av \d+ utskrivninger, \d+ urinprøver levert av \d+ forventet/.test(followUp), `the follow-up summary: ${followUp}`);
  for (const row of ["Uteblitte doser", "Utskrivninger fra opphold", "Utskrivninger med tiltakspakken fullført", "Urinprøver forventet"]) {
    const cells = await tables.first().locator("tr", { has: page.locator("th", { hasText: row }) }).locator("td").allTextContents();
    check(cells.length > 0, `the unit's table has no row «${row}»`);
    check(cells.some((c) => Number(c) > 0), `the demo's «${row}» is 0 every month: ${cells.join(" ")}`);
  }
}

await run(async () => {
  step("log in as leder at a tablet's width and open the indicators from the overview");
  const page = await logIn("leder", { viewport: { width: 1024, height: 768 } });
  await page.goto(new URL("/leder", page.url()).href);
  const card = page.locator("[data-testid=indicators]");
  check((await card.locator("table tbody tr").count()) >= 3, "the overview has no key figures");
  await t.accessible(page, "the leader's overview with key figures");
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/indikatorer"),
    card.getByRole("link", { name: "Alle indikatorer med diagrammer" }).click(),
  ]);
  await chartsAndTables(page, 1024);
  await t.accessible(page, "the indicators at a tablet's width");

  step("download the CSV");
  const [csv] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Last ned som CSV" }).click()]);
  const text = readFileSync(await csv.path(), "utf8");
  check(text.startsWith("place,month,in_treatment,capacity,"), `the CSV has no header: ${text.slice(0, 60)}`);
  const rows = text.trim().split("\r\n");
  check(rows.length > 12 && rows[1].startsWith("unit,"), `the CSV has ${rows.length} lines`);
  mkdirSync(resultsDir, { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true, timeout: SCREENSHOT_MS });

  step("the indicators at a phone's width");
  const phone = await logIn("leder", { viewport: { width: 390, height: 844 } });
  await phone.goto(new URL("/indikatorer", phone.url()).href);
  await chartsAndTables(phone, 390);
  await t.accessible(phone, "the indicators at a phone's width");

  step("a prescriber's patient overview shows the dose history chart");
  const lege = await logIn("lege", { viewport: { width: 1024, height: 768 } });
  const href = (await lege.locator("main a[href^='/pasienter/']").first().getAttribute("href")) || "";
  await lege.goto(new URL(href.split("/").slice(0, 3).join("/"), lege.url()).href);
  const history = lege.locator("[data-testid=dose-history]");
  const chart = history.locator("svg[role=img]");
  check((await chart.count()) === 1, "no dose chart on the overview");
  const label = (await chart.getAttribute("aria-label")) || "";
  check(label.startsWith("Døgndose de siste 90 dagene"), `the dose chart's summary: ${label}`);
  await history.locator("details > summary").click();
  check((await history.locator("table tbody tr").count()) >= 1, "the dose table is empty");
  await t.accessible(lege, "the patient overview with the dose chart");

  console.log(
    `indicators: ok: leder saw 4 charts with tables at 1024 and 390 px, downloaded ${rows.length - 1} CSV rows; ` +
      `the overview's dose chart: ${label.slice(0, 60)}…; Chromium ${browser.version()}; ${t.seconds()} s; screenshot ${screenshotPath}`,
  );
});
