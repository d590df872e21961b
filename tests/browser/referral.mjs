// Browser test: the LAR unit's doctor reads the waiting list (both kinds of breach,
// who was offered a quick start), assesses a referral with a latest start date and
// opens the decision letter at tablet width; at phone width a refused assessment
// shows its Norwegian error; the leader's overview names the breaches; the GP
// (fastlege) sends a referral to the LAR unit from Samhand and sees its status,
// and the unit finds it on its waiting list. Every page passes axe-core and no
// console error is let through.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/referral.mjs
//
// Env: BASE_URL (required), SAMHAND_DEMO_PASSWORD (default samhand-demo),
// SAMHAND_CHROMIUM. Usually run by `cargo test -p samhand-cli --test browser`.

import { mkdirSync } from "node:fs";

import { harness, SCREENSHOT_MS } from "./harness.mjs";

const t = await harness("referral");
const { browser, resultsDir, screenshotPath, step, check, logIn, run } = t;

const TABLET = { viewport: { width: 1024, height: 768 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

/// A day `days` after today, yyyy-mm-dd.
function plusDays(days) {
  const d = new Date(`${t.today}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/// A valid fødselsnummer born on 15.06.1990 (the check digits by mod 11).
function nationalId() {
  const w1 = [3, 7, 6, 1, 8, 9, 4, 5, 2];
  const w2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
  for (let i = 101; i < 500; i++) {
    const digits = `150690${String(i).padStart(3, "0")}`.split("").map(Number);
    const check = (weights, ds) => {
      const r = 11 - (weights.reduce((sum, w, n) => sum + w * ds[n], 0) % 11);
      return r === 11 ? 0 : r;
    };
    const k1 = check(w1, digits);
    if (k1 === 10) continue;
    const k2 = check(w2, [...digits, k1]);
    if (k2 === 10) continue;
    return digits.join("") + k1 + k2;
  }
  throw new Error("no valid number");
}

await run(async () => {
  step("the doctor opens the waiting list at tablet width");
  const page = await logIn("lege", TABLET);
  await page.goto(t.baseUrl + "/venteliste");
  await t.accessible(page, "the waiting list (tablet)");
  const alert = (await page.locator("[data-testid=breaches]").textContent()) || "";
  check(alert.includes("fristen for vurdering"), `no assessment breach: ${alert}`);
  check(alert.includes("fristen for oppstart"), `no start breach: ${alert}`);
  const awaiting = (await page.locator("table[data-testid=awaiting-start]").textContent()) || "";
  check(awaiting.includes("Takket nei"), "the declined quick-start offer is not shown");
  const unassessed = page.locator("table[data-testid=waiting] tbody tr");
  const before = await unassessed.count();
  check(before >= 2, `too few unassessed referrals: ${before}`);

  step("assess the first unassessed referral with a right and a latest start");
  const link = unassessed.first().locator("td a").first();
  const name = ((await link.textContent()) || "").trim();
  await Promise.all([page.waitForURL((url) => /^\/venteliste\/[0-9a-f-]{36}$/.test(url.pathname)), link.click()]);
  await t.accessible(page, "a referral with its forms");
  await page.locator("[data-testid=assessment-form] select[name=decision]").selectOption("right");
  await page.locator("[data-testid=assessment-form] input[name=latest_start]").fill(plusDays(21));
  await page.locator("[data-testid=assessment-form] textarea[name=reason]").fill("Oppfyller kriteriene for LAR");
  await Promise.all([
    page.waitForURL((url) => /^\/venteliste\/[0-9a-f-]{36}$/.test(url.pathname)),
    page.getByRole("button", { name: "Lagre vurdering" }).click(),
  ]);
  const assessments = (await page.locator("[data-testid=assessments]").textContent()) || "";
  check(assessments.includes("Rett til nødvendig helsehjelp"), `the assessment is not shown: ${assessments}`);
  await t.accessible(page, "an assessed referral");

  step("open the decision letter");
  await Promise.all([
    page.waitForURL((url) => url.pathname.endsWith("/brev")),
    page.locator("[data-testid=letter-link]").click(),
  ]);
  const letter = (await page.locator("[data-testid=letter]").textContent()) || "";
  check(letter.includes(name), "the letter does not name the patient");
  check(letter.includes("Statsforvalteren"), "the letter does not tell of the right to complain");
  await t.accessible(page, "the decision letter");

  step("the patient's overview shows the planning checklist with the assessment");
  await page.goBack();
  await Promise.all([
    page.waitForURL((url) => /^\/pasienter\/[0-9a-f-]{36}$/.test(url.pathname)),
    page.getByRole("link", { name: "Pasientens oversikt" }).click(),
  ]);
  const planning = (await page.locator("[data-testid=planning-checklist]").textContent()) || "";
  check(planning.includes("seneste oppstart"), `the checklist does not name the latest start: ${planning}`);
  check(planning.includes("Valg av legemiddel"), "the checklist has no medicine item");
  await t.accessible(page, "the overview with the planning checklist");

  step("the waiting list has one fewer unassessed referral");
  await page.goto(t.baseUrl + "/venteliste");
  const after = await page.locator("table[data-testid=waiting] tbody tr").count();
  check(after === before - 1, `unassessed ${before} → ${after}`);
  mkdirSync(resultsDir, { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true, timeout: SCREENSHOT_MS });

  step("at phone width a latest start missing is refused in Norwegian");
  const phone = await logIn("lege", PHONE);
  await phone.goto(t.baseUrl + "/venteliste");
  await t.accessible(phone, "the waiting list (phone)");
  const next = phone.locator("table[data-testid=waiting] tbody tr td a").first();
  await Promise.all([phone.waitForURL((url) => /^\/venteliste\/[0-9a-f-]{36}$/.test(url.pathname)), next.click()]);
  t.expectConsoleError(/\/vurdering: .*422/);
  await phone.locator("[data-testid=assessment-form] select[name=decision]").selectOption("right");
  await phone.locator("[data-testid=assessment-form] input[name=latest_start]").evaluate((el) => el.removeAttribute("required"));
  await Promise.all([
    phone.waitForURL((url) => url.pathname.endsWith("/vurdering")),
    phone.getByRole("button", { name: "Lagre vurdering" }).click(),
  ]);
  const error = (await phone.locator("div.error[role=alert]").first().textContent()) || "";
  check(error.includes("seneste oppstart"), `no Norwegian error: ${error}`);
  await t.accessible(phone, "a refused assessment (phone)");

  step("the GP sends a referral to the LAR unit and sees its status");
  const gp = await logIn("fastlege", TABLET);
  await gp.goto(t.baseUrl + "/henvisninger");
  const sentBefore = (await gp.locator("table[data-testid=sent-referrals]").textContent()) || "";
  check(sentBefore.includes("Venteberg"), `the demo GP's referral is not listed: ${sentBefore}`);
  await t.accessible(gp, "the GP's referrals");
  await Promise.all([
    gp.waitForURL((url) => url.pathname === "/henvisninger/ny"),
    gp.getByRole("link", { name: "Send ny henvisning" }).click(),
  ]);
  await t.accessible(gp, "the GP's referral form");
  const form = gp.locator("[data-testid=sent-referral-form]");
  await form.locator("select[name=lar_unit_id]").selectOption({ index: 1 });
  await form.locator("input[name=national_id]").fill(nationalId());
  await form.locator("input[name=given_name]").fill("Gunn");
  await form.locator("input[name=family_name]").fill("Henvisdal");
  await form.locator("textarea[name=reason]").fill("Opioidavhengighet, ønsker LAR");
  await form.locator("textarea[name=referrer_assessment]").fill("Motivert; trenger rask vurdering");
  await Promise.all([
    gp.waitForURL((url) => url.pathname === "/henvisninger"),
    gp.getByRole("button", { name: "Send henvisning" }).click(),
  ]);
  const sentAfter = (await gp.locator("table[data-testid=sent-referrals]").textContent()) || "";
  check(sentAfter.includes("Gunn Henvisdal") && sentAfter.includes("Mottatt"), `the sent referral is not listed: ${sentAfter}`);
  await t.accessible(gp, "the GP's referrals after sending");
  await page.goto(t.baseUrl + "/venteliste");
  const received = (await page.locator("table[data-testid=waiting]").textContent()) || "";
  check(received.includes("Gunn Henvisdal"), "the unit does not find the GP's referral on its waiting list");

  step("the leader's overview names the breaches");
  const leader = await logIn("leder", TABLET);
  await leader.goto(t.baseUrl + "/leder");
  const card = (await leader.locator("[data-testid=waiting-breaches]").textContent()) || "";
  check(card.includes("venter etter fristen"), `no breaches on the leader's overview: ${card}`);
  await t.accessible(leader, "the leader's overview");

  console.log(
    `referral: ok: lege assessed ${name} and printed the letter; phone refusal in Norwegian; the GP sent a referral ` +
      `the unit received; leader sees breaches; ` +
      `Chromium ${browser.version()}; ${t.seconds()} s; screenshot ${screenshotPath}`,
  );
});
