// Browser test: dispensing staff record a dose from today's list.
//
// Drives the real web UI of a running `samhand serve --demo` in Debian's
// Chromium (SAMHAND_CHROMIUM, default /usr/bin/chromium) with playwright-core:
// logs in as `utdeler`, opens today's list, checks the identity photo, checks
// that the browser refuses to submit "Utlever" before "Identitet bekreftet" is
// ticked, records the dose, and checks that the row is done, also after a
// reload. A blocked patient ("Må revurderes av lege") must have a disabled
// button. Screenshot in tests/browser/test-results/dispense.png.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/dispense.mjs
//
// Env: BASE_URL (required), SAMHAND_DEMO_PASSWORD (default samhand-demo),
// SAMHAND_CHROMIUM. Exits 1 with the failing step on any failure; prints one
// summary line on success. Usually run by `cargo test -p samhand-cli --test browser`.

import { mkdirSync } from "node:fs";

import { harness, SCREENSHOT_MS } from "./harness.mjs";

const t = await harness("dispense");
const { baseUrl, password, browser, resultsDir, screenshotPath, step, check, newPage, run } = t;
const username = "utdeler";

await run(async () => {
  let page;
  page = await newPage();
  const context = page.context();
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));

  step("open / and expect the login page");
  await page.goto(baseUrl + "/");
  check(
    new URL(page.url()).pathname === "/login",
    `expected a redirect to /login, got ${page.url()}`,
  );
  await page.locator("input[name=csrf]").waitFor({ state: "attached" });

  step("log in as utdeler");
  await page.locator("input[name=username]").fill(username);
  await page.locator("input[name=password]").fill(password);
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/utlevering"),
    page.locator("form[action='/login'] button[type=submit]").click(),
  ]);
  const cookies = await context.cookies(baseUrl);
  // Served with SAMHAND_COOKIE_SECURE=true: the session is a __Host- cookie, Secure,
  // HttpOnly, SameSite=Strict, for the whole host.
  const session = cookies.find((c) => c.name === "__Host-samhand_session");
  check(session, `no __Host-samhand_session cookie after login; cookies: ${cookies.map((c) => c.name).join(", ") || "none"}`);
  check(session.secure && session.httpOnly && session.sameSite === "Strict" && session.path === "/",
    `the session cookie is not Secure, HttpOnly, SameSite=Strict, Path=/: ${JSON.stringify(session)}`);

  step("today's list is shown");
  const heading = (await page.locator("h1").first().textContent()) || "";
  check(heading.includes("Utlevering"), `h1 is ${JSON.stringify(heading)}, expected it to contain "Utlevering"`);
  const rows = page.locator("article[data-testid=list-row]");
  const rowCount = await rows.count();
  check(rowCount > 0, "today's list has no rows");

  step("the blocked patient cannot be given a dose");
  const blocked = rows.filter({ hasText: "Må revurderes av lege" });
  const blockedCount = await blocked.count();
  for (let i = 0; i < blockedCount; i++) {
    const button = blocked.nth(i).locator("[data-testid=dispense]");
    if ((await button.count()) > 0) {
      check(await button.isDisabled(), `blocked patient ${await blocked.nth(i).getAttribute("data-patient")} has an enabled Utlever button`);
    }
  }

  step("pick the first row still to dispense");
  let patientId = null;
  for (let i = 0; i < rowCount; i++) {
    const row = rows.nth(i);
    if ((await row.locator("[data-testid=row-done]").count()) > 0) continue;
    const button = row.locator("[data-testid=dispense]");
    if ((await button.count()) === 0 || (await button.isDisabled())) continue;
    patientId = await row.getAttribute("data-patient");
    break;
  }
  check(patientId, `none of the ${rowCount} rows has an enabled Utlever button`);
  const row = page.locator(`article[data-testid=list-row][data-patient="${patientId}"]`);
  const patientName = ((await row.locator("h2").textContent()) || "").trim();

  step(`identity photo of ${patientName}`);
  const photo = row.locator("img.photo");
  check((await photo.count()) === 1, "the row has no identity photo (img.photo)");
  await photo.scrollIntoViewIfNeeded();
  const photoWidth = await photo.evaluate(async (img) => {
    if (!img.complete) await new Promise((done) => img.addEventListener("load", done, { once: true }));
    return img.naturalWidth;
  });
  check(photoWidth > 0, "the identity photo did not load (naturalWidth 0)");

  // The dispense form is the one with the Utlever button; the row's "Holdt
  // tilbake / redusert" form has its own identity checkbox.
  const form = row.locator("form:has([data-testid=dispense])");
  const identity = form.getByLabel("Identitet bekreftet");
  const dispense = form.locator("[data-testid=dispense]");

  step("Utlever without identity confirmed is stopped by the browser");
  check(!(await identity.isChecked()), "identity checkbox is ticked before anyone ticked it");
  const posts = [];
  const countPost = (request) => {
    if (request.method() === "POST") posts.push(request.url());
  };
  page.on("request", countPost);
  await dispense.click();
  await page.waitForTimeout(700);
  page.off("request", countPost);
  check(posts.length === 0, `the form was submitted without identity confirmed: POST ${posts.join(", ")}`);
  check(
    await identity.evaluate((el) => el.validity.valueMissing),
    "the identity checkbox is not reported as missing by the browser",
  );
  check((await row.locator("[data-testid=row-done]").count()) === 0, "the row is done although nothing was submitted");

  step("tick Identitet bekreftet and Utlever");
  await identity.check();
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/utlevering" && url.searchParams.get("registrert") === patientId),
    dispense.click(),
  ]);

  step("the row shows the dose as recorded");
  await row.locator("[data-testid=row-done]").waitFor();
  const done = ((await row.locator("[data-testid=row-done]").textContent()) || "").trim();
  check(done === "Ferdig for i dag", `row-done says ${JSON.stringify(done)}`);
  const message = ((await row.locator("[data-testid=row-message]").textContent()) || "").trim();
  check(message === "Registrert.", `row-message says ${JSON.stringify(message)}`);
  check((await row.locator("[data-testid=dispense]").count()) === 0, "the Utlever button is still there after recording");

  step("after a reload the row is still done");
  await page.reload();
  await row.locator("[data-testid=row-done]").waitFor();
  await row.scrollIntoViewIfNeeded();

  step("screenshot");
  mkdirSync(resultsDir, { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: false, timeout: SCREENSHOT_MS });

  check(pageErrors.length === 0, `script errors on the page: ${pageErrors.join("; ")}`);
  const seconds = t.seconds();
  console.log(
    `dispense: ok: ${username} recorded a dose for patient ${patientId} (${patientName}) ` +
      `from ${rowCount} rows, ${blockedCount} blocked; session cookie Secure=${session.secure}; ` +
      `Chromium ${browser.version()}; ${seconds} s; screenshot ${screenshotPath}`,
  );
});
