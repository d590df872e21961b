// Browser test: at tablet size (1024×768), dispensing staff record a stock count
// that a colleague at the same place witnesses on the same screen.
//
// Drives the real web UI of a running `samhand serve --demo` in Debian's Chromium
// (SAMHAND_CHROMIUM, default /usr/bin/chromium) with playwright-core: logs in as
// `utdeler` (first centre), reads the methadone 1 mg/ml balance on /lager, opens
// «Registrer telling med kontrollør», counts what the ledger says, and has
// `sykepleier.fjordvik` (Tone Aasland, same centre) confirm: first with a wrong
// password, which is refused and records nothing, then with the right one. The
// count is listed with both names. axe-core (npm, pinned) checks each page against
// WCAG 2.0/2.1 A and AA; no console errors. Screenshot in
// tests/browser/test-results/stock.png.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/stock.mjs
//
// Env: BASE_URL (required), SAMHAND_DEMO_PASSWORD (default samhand-demo),
// SAMHAND_CHROMIUM. Exits 1 with the failing step on any failure; prints one
// summary line on success. Usually run by `cargo test -p samhand-cli --test browser`.

import { mkdirSync } from "node:fs";

import { harness, SCREENSHOT_MS } from "./harness.mjs";

const t = await harness("stock");
const { baseUrl, resultsDir, screenshotPath, step, check, logIn, run } = t;
const tablet = { width: 1024, height: 768 };
const product = "Metadon mikstur 1 mg/ml";
const witness = "sykepleier.fjordvik";

const checked = t.checked;
const accessible = (page, name) => t.accessible(page, name);

/// The page fits the tablet's width: nothing scrolls sideways but the tables' own regions.
async function fitsTheTablet(page, name) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= tablet.width, `${name} is ${width}px wide on a ${tablet.width}px tablet`);
}

await run(async () => {
  step("log in as utdeler on a tablet");
  // The harness watches every page for console errors (a CSP refusal among them).
  const page = await logIn("utdeler", { viewport: tablet });

  step("the stock page shows the balance per product with the mg beside it");
  await page.goto(baseUrl + "/lager");
  const row = page.locator("[data-testid=balances] tr", { hasText: product });
  const cells = await row.locator("td").allTextContents();
  check(cells.length === 3, `no balance row for ${product}: ${JSON.stringify(cells)}`);
  const balance = cells[1].trim();
  check(/^[\d ]+(,\d+)? ml$/.test(balance), `the balance is not in ml: "${balance}"`);
  check(/ mg$/.test(cells[2].trim()), `the mg equivalent is missing: "${cells[2]}"`);
  const countsBefore = await page.locator("[data-testid=counts] tbody tr").count();
  await accessible(page, "/lager");
  await fitsTheTablet(page, "/lager");

  step("open the count form");
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/lager/telling"),
    page.getByRole("link", { name: "Registrer telling med kontrollør" }).click(),
  ]);
  await accessible(page, "/lager/telling");
  await fitsTheTablet(page, "/lager/telling");

  step("a wrong witness password is refused and records nothing");
  // Chromium logs the refused form's 422 answer as a failed load: asked for here.
  t.expectConsoleError(/status of 422/);
  await page.getByLabel("Produkt").selectOption({ label: product });
  await page.getByLabel("Talt mengde").fill(balance);
  await page.getByLabel("Kontrollørens brukernavn").fill(witness);
  await page.getByLabel("Kontrollørens passord").fill("ikke-passordet");
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/lager/telling"),
    page.getByRole("button", { name: "Registrer telling" }).click(),
  ]);
  const refused = (await page.locator("main").textContent()) || "";
  check(refused.includes("Feil brukernavn eller passord."), "the wrong password is not refused");
  check((await page.getByLabel("Kontrollørens passord").inputValue()) === "", "the password is shown again");
  await accessible(page, "/lager/telling with errors");

  step("the colleague confirms with the right password");
  await page.getByLabel("Kontrollørens passord").fill(t.password);
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/lager/telling"),
    page.getByRole("button", { name: "Registrer telling" }).click(),
  ]);
  const notice = (await page.locator("[role=status]").textContent()) || "";
  check(notice.includes("Telling registrert, kontrollert av Tone Aasland"), `no confirmation: "${notice}"`);

  step("the count is listed with both names");
  const counts = page.locator("[data-testid=counts] tbody tr");
  check((await counts.count()) === countsBefore + 1, "the count is not listed once");
  const newest = (await counts.first().textContent()) || "";
  check(
    newest.includes(product) && newest.includes("Silje Nordvik") && newest.includes("Tone Aasland"),
    `the newest count does not name the product, counter and witness: "${newest}"`,
  );
  await accessible(page, "/lager after the count");
  mkdirSync(resultsDir, { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true, timeout: SCREENSHOT_MS });

  console.log(`stock: OK in ${t.seconds()} s (axe: ${checked.join(", ")})`);
});
