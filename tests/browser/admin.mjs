// Browser test: the administrator sets up a dispensing place and a user, and cuts
// the user off.
//
// Drives the real web UI of a running `samhand serve --demo` in Chromium (see
// harness.mjs): logs in as `admin` on a tablet, registers a municipal LAR centre
// under the demo's LAR unit, sets its opening days and hours, adds a patient group,
// invites a new dispensing-staff user by a one-time link; the user, in a fresh
// context on a phone, chooses a password with the link and logs in; the
// administrator deactivates the user; the user's open page goes to the login page
// on the next click. Every admin page passes axe-core; refused forms are checked
// to keep what was typed. Screenshot in tests/browser/test-results/admin.png.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/admin.mjs

import { mkdirSync } from "node:fs";

import { harness, SCREENSHOT_MS } from "./harness.mjs";

const t = await harness("admin");
const { baseUrl, browser, resultsDir, screenshotPath, step, check, logIn, run } = t;
const stamp = Date.now().toString().slice(-6);
const placeName = `LAR-senteret Testvik ${stamp}`;
const username = `ny.utdeler.${stamp}`;
const newPassword = "et-passord-for-testen";

await run(async () => {
  step("log in as admin on a tablet: the front page is Administrasjon");
  const page = await logIn("admin", { viewport: { width: 1024, height: 768 } });
  await page.waitForURL((url) => url.pathname === "/admin");
  check((await page.locator("nav a[href='/pasienter']").count()) === 0, "the administrator is offered patient search");
  await t.accessible(page, "admin home");

  step("a wrong organisation number is refused and the form keeps what was typed");
  await page.locator("a[href='/admin/organisasjoner']").first().click();
  await page.waitForURL((url) => url.pathname === "/admin/organisasjoner");
  await t.accessible(page, "organisations");
  const form = page.locator("form[action='/admin/organisasjoner']");
  await form.locator("input[name=name]").fill(placeName);
  await form.locator("select[name=kind]").selectOption("municipal_lar_centre");
  await form.locator("input[name=municipality]").fill("Testvik");
  await form.locator("input[name=org_number]").fill("974760674");
  const unitOptions = await form.locator("select[name=responsible_unit] option").allTextContents();
  const unit = unitOptions.find((o) => o.startsWith("LAR"));
  check(unit, `no LAR unit to choose: ${unitOptions.join(", ")}`);
  await form.locator("select[name=responsible_unit]").selectOption({ label: unit });
  t.expectConsoleError(/admin\/organisasjoner: Failed to load resource: .* 422/);
  await form.locator("button[type=submit]").click();
  await page.locator(".error[role=alert]").waitFor();
  check(
    (await page.locator("#org_number-error").textContent()).includes("kontrollsifferet"),
    "the organisation number's error is not shown next to it",
  );
  check((await page.locator("input[name=name]").inputValue()) === placeName, "the name was not kept");
  await t.accessible(page, "organisations with an error");

  step("register the place with a valid number");
  await page.locator("input[name=org_number]").fill("");
  await Promise.all([
    page.waitForURL((url) => /\/admin\/organisasjoner\/[0-9a-f-]{36}/.test(url.pathname)),
    page.locator("form[action='/admin/organisasjoner'] button[type=submit]").click(),
  ]);
  check((await page.locator("h1").textContent()).includes(placeName), "the new place's page is not shown");
  await t.accessible(page, "the place's page");

  step("opening days Monday to Friday, 08.00 to 15.00, capacity 30");
  const hours = page.locator("form:has(input[name=form][value=place])");
  for (const day of ["Lørdag", "Søndag"]) await hours.getByLabel(day).uncheck();
  await hours.locator("input[name=opens_at]").fill("08.00");
  await hours.locator("input[name=closes_at]").fill("15.00");
  await hours.locator("input[name=capacity]").fill("30");
  await hours.locator("button[type=submit]").click();
  await page.locator("p.notice[role=status]").filter({ hasText: "Åpningstidene er lagret" }).waitFor();
  check(!(await page.getByLabel("Lørdag").isChecked()), "Saturday is still open");

  step("a patient group with its time window");
  const group = page.locator("form:has(input[name=form][value=group])");
  await group.locator("input[name=group_name]").fill("Morgengruppe");
  await group.locator("input[name=window_start]").fill("08.00");
  await group.locator("input[name=window_end]").fill("09.30");
  await group.locator("button[type=submit]").click();
  await page.locator("p.notice[role=status]").filter({ hasText: "Gruppen er lagt til" }).waitFor();
  check((await page.locator("main").textContent()).includes("Morgengruppe: 08.00–09.30"), "the group is not listed");

  step("a CSV import is tried first: a report per row, nothing changed");
  await page.goto(baseUrl + "/admin/import");
  await t.accessible(page, "import");
  const csv = `type;name;kind;municipality\norganisation;Apotek Import ${stamp};pharmacy;Testvik\nuser;Uten Brukernavn;;`;
  await page.locator("textarea[name=csv]").fill(csv);
  await page.getByRole("button", { name: "Prøv (ingen endringer)" }).click();
  const report = page.locator("[data-testid=import-report]");
  await report.waitFor();
  check((await report.textContent()).includes("1 kan opprettes, 1 avvises"), `the dry run's report: ${await report.textContent()}`);
  check((await page.locator("[data-testid=import-rows] tbody tr").count()) === 2, "a row per line");
  await t.accessible(page, "the import's report");

  step("invite a user at the new place");
  await page.goto(baseUrl + "/admin/brukere");
  await t.accessible(page, "users");
  const userForm = page.locator("form[action='/admin/brukere']");
  await userForm.locator("input[name=name]").fill(`Ny Utdeler ${stamp}`);
  await userForm.locator("input[name=username]").fill(username);
  await userForm.locator("select[name=role]").selectOption("dispensing_staff");
  await userForm.locator("select[name=organisation]").selectOption({ label: placeName });
  await userForm.getByLabel("Engangslenke: brukeren velger selv").check();
  await userForm.locator("button[type=submit]").click();
  const link = ((await page.locator("[data-testid=invitation-link]").textContent()) || "").trim();
  check(link.startsWith("/invitasjon/"), `no invitation link shown: ${link}`);

  step("the user opens the link on a phone and chooses a password");
  const phone = await t.newPage({ width: 390, height: 844 });
  await phone.goto(baseUrl + link);
  await t.accessible(phone, "the invitation");
  await phone.locator("input[name=password]").fill(newPassword);
  await phone.locator("input[name=repeated]").fill(newPassword);
  await phone.locator("button[type=submit]").click();
  await phone.locator("h1").filter({ hasText: "Passordet er lagret" }).waitFor();
  await phone.locator("a[href='/login']").click();
  await phone.locator("input[name=username]").fill(username);
  await phone.locator("input[name=password]").fill(newPassword);
  await Promise.all([
    phone.waitForURL((url) => url.pathname === "/utlevering"),
    phone.locator("form[action='/login'] button[type=submit]").click(),
  ]);
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 390, `the list scrolls sideways on a phone: ${width} px`);

  step("the administrator deactivates the user");
  await page.locator("table tbody tr").filter({ hasText: username }).locator("a").first().click();
  await page.waitForURL((url) => url.pathname.startsWith("/admin/brukere/"));
  await t.accessible(page, "the user's page");
  await page.locator("textarea[name=reason]").fill("Sluttet i stillingen");
  await page.getByRole("button", { name: /^Deaktiver/ }).click();
  await page.locator("p.notice[role=status]").filter({ hasText: "er deaktivert" }).waitFor();
  check((await page.locator("ul.log").textContent()).includes("Sluttet i stillingen"), "the history lacks the reason");
  mkdirSync(resultsDir, { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true, timeout: SCREENSHOT_MS });

  step("the user's next click goes to the login page");
  await Promise.all([
    phone.waitForURL((url) => url.pathname === "/login"),
    phone.locator("nav a[href='/utlevering']").first().click(),
  ]);

  console.log(
    `admin: ok: registered ${placeName} with hours and a group, invited ${username}, who logged in and was cut off; ` +
      `axe on ${t.checked.length} pages; Chromium ${browser.version()}; ${t.seconds()} s`,
  );
});
