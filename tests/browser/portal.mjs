// Browser test: a patient sets up the portal with a one-time code and uses it on a
// phone-sized screen; every portal page passes the axe-core WCAG 2.1 A/AA checks.
//
// Drives the real web UI of a running `samhand serve --demo` in Debian's Chromium
// (SAMHAND_CHROMIUM, default /usr/bin/chromium) with playwright-core: logs in as
// `lege`, opens a patient, makes a one-time code on the privacy page, then, as the
// patient in a fresh phone-sized context, sets a password with the code, sees the
// medicine on the start page, shares health information with a service and stops
// again with the category's switch (its state in words, and a confirmation after
// each change), reads a message the doctor wrote from the staff side and answers it
// (the doctor then sees «Lest av pasienten»), reads who has read the record, and
// names a next of kin; the menu is one «Meny» button. axe-core (npm, pinned) checks
// each page, logged out and in, against WCAG 2.0/2.1 A and AA; every logged-in page
// (menu open and closed) is checked for sideways scrolling at 360 and 390 px; the
// browser's own message for a required field is Norwegian (/static/skjema.js, with
// the CSP enforced).
// Screenshot in tests/browser/test-results/portal.png.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/portal.mjs
//
// Env: BASE_URL (required), SAMHAND_DEMO_PASSWORD (default samhand-demo),
// SAMHAND_CHROMIUM. Exits 1 with the failing step on any failure; prints one
// summary line on success. Usually run by `cargo test -p samhand-cli --test browser`.

import { mkdirSync } from "node:fs";

import { harness, SCREENSHOT_MS } from "./harness.mjs";

const t = await harness("portal");
const { baseUrl, browser, resultsDir, screenshotPath, step, check, logIn, run } = t;
const patientPassword = "mitt-eget-passord-1";

// Pages with their real CSP: axe-core is evaluated, not injected as a script.
const newPage = (viewport) => t.newPage(viewport);

/// Opens the portal's menu and follows the link called `name`.
async function follow(page, name, path) {
  await page.locator("details.portal-menu > summary").click();
  await Promise.all([
    page.waitForURL((url) => url.pathname === path),
    page.locator("details.portal-menu nav").getByRole("link", { name, exact: true }).click(),
  ]);
}

/// Fails when the page is wider than the screen (it would scroll sideways).
async function fitsTheScreen(page, name) {
  const { scrollWidth, clientWidth, widest } = await page.evaluate(() => {
    const root = document.documentElement;
    // The element reaching furthest right, to say what overflows.
    let widest = "";
    let right = root.clientWidth;
    for (const element of document.body.querySelectorAll("*")) {
      const box = element.getBoundingClientRect();
      if (box.right > right + 0.5) {
        right = box.right;
        widest = `${element.tagName.toLowerCase()}${element.id ? "#" + element.id : ""}${element.className ? "." + String(element.className).split(" ").join(".") : ""} (${Math.round(box.right)} px)`;
      }
    }
    return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, widest };
  });
  check(
    scrollWidth <= clientWidth,
    `${name} scrolls sideways at ${clientWidth} px: ${scrollWidth} px wide; widest: ${widest}`,
  );
}

const checked = t.checked;
const accessible = (page, name) => t.accessible(page, name);

await run(async () => {
  let page;
  step("log in as lege");
  const staff = await logIn("lege");
  page = staff;

  step("open a patient from the start page");
  const link = staff.locator("main a[href^='/pasienter/']").first();
  const href = await link.getAttribute("href");
  const patientPath = href.split("/").slice(0, 3).join("/");
  await staff.goto(baseUrl + patientPath);
  const nationalId = ((await staff.locator("main p strong").first().textContent()) || "").trim();
  check(/^\d{11}$/.test(nationalId), `no national identity number on the overview: "${nationalId}"`);

  step("make a one-time code on the privacy page");
  await staff.goto(baseUrl + patientPath + "/personvern");
  await Promise.all([
    staff.waitForURL((url) => url.pathname.endsWith("/portalkode")),
    staff.getByRole("button", { name: "Lag engangskode for pasientportalen" }).click(),
  ]);
  const code = ((await staff.locator("[data-testid=portal-code] strong").textContent()) || "").trim();
  check(code.length === 8, `no code shown: "${code}"`);

  step("write to the patient from the staff side");
  await staff.goto(baseUrl + patientPath + "/meldinger/pasienten");
  await staff.getByLabel("Emne").fill("Ny time hos legen");
  await staff.getByLabel("Melding").fill("Du har time hos meg tirsdag kl. 10. Si fra om det ikke passer.");
  await Promise.all([
    staff.waitForURL((url) => url.pathname.endsWith("/meldinger/pasienten")),
    staff.getByRole("button", { name: "Send til pasienten" }).click(),
  ]);
  check(
    ((await staff.locator("main").textContent()) || "").includes("Ikke lest av pasienten ennå"),
    "the message to the patient is not shown as unread on the staff side",
  );

  step("the browser's own message for a required field is Norwegian, with the CSP enforced");
  const strict = await t.newPage({ width: 390, height: 844 });
  for (const [path, field] of [
    ["/portal/logg-inn", "national_id"],
    ["/login", "username"],
  ]) {
    await strict.goto(baseUrl + path);
    await strict.waitForFunction(() => document.readyState === "complete");
    const message = await strict.locator(`input[name=${field}]`).evaluate((input) => {
      input.value = "";
      input.checkValidity();
      return input.validationMessage;
    });
    check(message === "Fyll ut dette feltet.", `${path}: the message for an empty ${field} is "${message}"`);
  }
  await strict.close();

  step("the logged-out portal pages are accessible");
  const phone = await newPage({ width: 390, height: 844 });
  page = phone;
  await phone.goto(baseUrl + "/portal/logg-inn");
  await accessible(phone, "/portal/logg-inn");
  await phone.goto(baseUrl + "/portal/aktiver");
  await accessible(phone, "/portal/aktiver");

  step("set a password with the code, using the keyboard");
  await phone.getByLabel("Fødselsnummer (11 siffer)").fill(nationalId);
  await phone.getByLabel("Engangskode").fill(code.toLowerCase());
  await phone.getByLabel("Nytt passord (minst 10 tegn)").fill(patientPassword);
  await phone.getByLabel("Skriv passordet en gang til").fill(patientPassword);
  await Promise.all([
    phone.waitForURL((url) => url.pathname === "/portal"),
    phone.getByLabel("Skriv passordet en gang til").press("Enter"),
  ]);

  step("the start page shows the medicine and is accessible");
  await phone.getByRole("heading", { name: "Medisinen din" }).waitFor();
  await accessible(phone, "/portal");
  mkdirSync(resultsDir, { recursive: true });
  await phone.screenshot({ path: screenshotPath, fullPage: true, timeout: SCREENSHOT_MS });

  step("the start page counts the unread message; read it and answer");
  check(
    ((await phone.locator("[data-testid=unread]").textContent()) || "").includes("Du har 1 ulest melding"),
    "the unread message is not counted on the start page",
  );
  await follow(phone, "Meldinger", "/portal/meldinger");
  await accessible(phone, "/portal/meldinger");
  await Promise.all([
    phone.waitForURL((url) => /^\/portal\/meldinger\/[^/]+$/.test(url.pathname)),
    phone.getByRole("link", { name: "Ny time hos legen" }).click(),
  ]);
  check(
    ((await phone.locator("main").textContent()) || "").includes("Du har time hos meg tirsdag kl. 10."),
    "the message from the doctor is not shown",
  );
  await accessible(phone, "/portal/meldinger/{id}");
  await phone.getByLabel("Svaret ditt").fill("Det passer fint, jeg kommer.");
  // The answer posts back to the same address: wait for the page that has it.
  await Promise.all([
    phone.waitForResponse((response) => response.request().method() === "POST"),
    phone.getByRole("button", { name: "Send svaret" }).click(),
  ]);
  await phone.locator("[data-testid=thread-message]").nth(1).waitFor();
  check(
    (await phone.locator("[data-testid=thread-message]").count()) === 2,
    "the answer is not in the conversation",
  );
  await staff.goto(baseUrl + patientPath + "/meldinger/pasienten");
  const staffView = (await staff.locator("main").textContent()) || "";
  check(staffView.includes("Lest av pasienten"), "the staff side does not see that the patient read it");
  check(staffView.includes("Det passer fint, jeg kommer."), "the staff side does not see the answer");

  step("share health information with a service with its switch, then stop");
  await follow(phone, "Hvem ser hva", "/portal/samtykke");
  await accessible(phone, "/portal/samtykke");
  const first = phone.getByRole("switch", { name: /^Del Helseopplysninger med / }).first();
  const label = (await first.getAttribute("aria-label")) || "";
  const service = label.replace(/^Del Helseopplysninger med /, "");
  const toggle = () => phone.getByRole("switch", { name: `Del Helseopplysninger med ${service}` });
  const stateText = async () => {
    const id = await toggle().getAttribute("aria-describedby");
    return ((await phone.locator(`[id="${id}"]`).textContent()) || "").trim();
  };
  check((await toggle().getAttribute("aria-checked")) === "false", "health information starts unshared");
  check((await stateText()) === "Deles ikke", `the state in words is "${await stateText()}"`);
  await Promise.all([phone.waitForURL((url) => url.pathname === "/portal/samtykke"), toggle().click()]);
  check((await toggle().getAttribute("aria-checked")) === "true", `health information is not shared with ${service}`);
  check((await stateText()) === `Deles med ${service}`, `the state in words is "${await stateText()}"`);
  const shared = ((await phone.locator("[role=status]").textContent()) || "").trim();
  check(
    shared === `Lagret: Du deler nå helseopplysninger med ${service}.`,
    `no confirmation after sharing: "${shared}"`,
  );
  await accessible(phone, "/portal/samtykke (after a change)");
  await Promise.all([phone.waitForURL((url) => url.pathname === "/portal/samtykke"), toggle().click()]);
  check((await toggle().getAttribute("aria-checked")) === "false", "withdrawing did not take effect");
  check((await stateText()) === "Deles ikke", `the state in words is "${await stateText()}"`);
  const withdrawn = ((await phone.locator("[role=status]").textContent()) || "").trim();
  check(
    withdrawn === `Lagret: Du deler ikke lenger helseopplysninger med ${service}.`,
    `no confirmation after withdrawing: "${withdrawn}"`,
  );

  step("my goals in my own words");
  await follow(phone, "Mine mål", "/portal/mal");
  await accessible(phone, "/portal/mal");
  await phone.locator("#housing").fill("Egen leilighet før jul");
  await Promise.all([
    phone.waitForURL((url) => url.pathname === "/portal/mal"),
    phone.getByRole("button", { name: "Lagre målene mine" }).click(),
  ]);
  check((await phone.locator("#housing").inputValue()) === "Egen leilighet før jul", "the goal was not saved");

  step("the crisis plan page is accessible and saves the patient's plan");
  await follow(phone, "Kriseplan", "/portal/kriseplan");
  await accessible(phone, "/portal/kriseplan");
  await phone.getByLabel("Varseltegn").fill("Sover dårlig, svarer ikke på telefon");
  await phone.getByLabel("Dette hjelper meg").fill("Gå tur, ringe søster");
  await phone.getByLabel("Navn 1").fill("Søster Siri");
  await phone.getByLabel("Telefon 1").fill("+47 900 11 222");
  await Promise.all([
    phone.waitForURL((url) => url.pathname === "/portal/kriseplan"),
    phone.getByRole("button", { name: "Lagre kriseplanen" }).click(),
  ]);
  check(((await phone.locator("main").textContent()) || "").includes("av deg"), "the crisis plan was not saved by the patient");

  step("give my own status answers");
  await follow(phone, "Slik har jeg det", "/portal/status");
  await accessible(phone, "/portal/status");
  await phone.getByLabel("Bolig").selectOption("own");
  await Promise.all([
    phone.waitForURL((url) => url.pathname === "/portal/status"),
    phone.getByRole("button", { name: "Lagre svarene mine" }).click(),
  ]);
  check(((await phone.locator("main").textContent()) || "").includes("Du svarte sist"), "the status answers were not saved");

  step("who has read the record");
  await follow(phone, "Hvem har lest", "/portal/innsyn");
  check(((await phone.locator("main").textContent()) || "").includes("Lege"), "the doctor's reading is not in the log");
  await accessible(phone, "/portal/innsyn");

  step("name a next of kin");
  await follow(phone, "Pårørende", "/portal/parorende");
  await accessible(phone, "/portal/parorende");
  await phone.getByLabel("Navn").fill("Mor Berit");
  await phone.getByLabel("Hvem er det for deg").selectOption("next_of_kin");
  await phone.getByLabel("Hva kan personen få vite").fill("At jeg er i behandling.");
  await Promise.all([
    phone.waitForURL((url) => url.pathname === "/portal/parorende"),
    phone.getByRole("button", { name: "Legg til" }).click(),
  ]);
  await phone.getByRole("heading", { name: "Mor Berit" }).waitFor();

  step("no logged-in portal page scrolls sideways at 360 or 390 px, menu closed or open");
  const threadPath = await (async () => {
    await phone.goto(baseUrl + "/portal/meldinger");
    const href = await phone.locator("[data-testid=conversation-message] a").first().getAttribute("href");
    return href;
  })();
  const loggedIn = [
    "/portal",
    "/portal/meldinger",
    threadPath,
    "/portal/mal",
    "/portal/kriseplan",
    "/portal/status",
    "/portal/onsker",
    "/portal/samtykke",
    "/portal/innsyn",
    "/portal/parorende",
  ];
  let widthChecks = 0;
  for (const width of [360, 390]) {
    await phone.setViewportSize({ width, height: 800 });
    for (const path of loggedIn) {
      await phone.goto(baseUrl + path);
      await fitsTheScreen(phone, `${path} at ${width} px`);
      await phone.locator("details.portal-menu > summary").click();
      await fitsTheScreen(phone, `${path} at ${width} px with the menu open`);
      widthChecks += 2;
    }
  }

  const seconds = t.seconds();
  console.log(
    `portal: ok: patient ${nationalId.slice(0, 6)}***** set a password with the code, read and answered the ` +
      `doctor's message, shared and withdrew ` +
      `health information with ${service}, named a next of kin; axe-core WCAG 2.1 AA clean on ${checked.length} pages ` +
      `and no sideways scrolling in ${widthChecks} checks at 360 and 390 px ` +
      `(${checked.join(", ")}); Chromium ${browser.version()}; ${seconds} s; screenshot ${screenshotPath}`,
  );
});
