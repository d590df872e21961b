// Browser test: a coordinator schedules a responsibility-group meeting, writes the
// minutes with a task, and the task's owner sees it under "Mine oppgaver" and
// marks it done.
//
// Drives the real web UI of a running `samhand serve --demo` in Debian's
// Chromium (SAMHAND_CHROMIUM, default /usr/bin/chromium) with playwright-core:
// logs in as `koordinator`, opens the coordinator overview, picks a patient,
// schedules a meeting for today (every member is invited), writes the minutes
// (the patient present, a decision, a task for the LAR consultant), then logs in
// as `konsulent` in a fresh context, finds the task and marks it done.
// Screenshot in tests/browser/test-results/meeting.png.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/meeting.mjs
//
// Env: BASE_URL (required), SAMHAND_DEMO_PASSWORD (default samhand-demo),
// SAMHAND_CHROMIUM. Exits 1 with the failing step on any failure; prints one
// summary line on success. Usually run by `cargo test -p samhand-cli --test browser`.

import { mkdirSync } from "node:fs";

import { harness, SCREENSHOT_MS } from "./harness.mjs";

const t = await harness("meeting");
const { browser, resultsDir, screenshotPath, today, step, check, logIn, run } = t;
const taskText = `Ringe boligkontoret (${Date.now()})`;

await run(async () => {
  let page;
  step("log in as koordinator");
  page = await logIn("koordinator");
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));

  step("on a 1024 px tablet the header is one line and «Mer» holds the rest");
  await page.setViewportSize({ width: 1024, height: 768 });
  const header = await page.evaluate(() => ({
    height: document.querySelector("header.top").getBoundingClientRect().height,
    scrollWidth: document.documentElement.scrollWidth,
  }));
  check(header.height <= 72, `the header wraps at 1024 px: ${header.height} px high`);
  check(header.scrollWidth <= 1024, `the page scrolls sideways at 1024 px: ${header.scrollWidth} px`);
  await page.locator("header.top details.more > summary").click();
  await page.locator("header.top details.more a[href='/revurderinger']").waitFor();
  await page.locator("header.top details.more > summary").click();

  step("the coordinator overview lists the coordinator's patients");
  await page.locator("nav a[href='/koordinator']").click();
  await page.waitForURL((url) => url.pathname === "/koordinator");
  const rows = page.locator("table[data-testid=coordinator] tbody tr");
  check((await rows.count()) > 0, "the coordinator overview has no patients");
  const patientLink = rows.first().locator("td").first().locator("a");
  const patientName = ((await patientLink.textContent()) || "").trim();

  step(`open the responsibility group of ${patientName}`);
  await Promise.all([page.waitForURL((url) => url.pathname.endsWith("/moter")), patientLink.click()]);

  step("schedule a meeting for today");
  const schedule = page.locator("form[action$='/moter']");
  await schedule.locator("input[name=date]").fill(today);
  await schedule.locator("input[name=time]").fill("10:00");
  await schedule.locator("input[name=place]").fill("LAR-senteret, møterom 2");
  await schedule.locator("textarea[name=agenda]").fill("Status i behandlingen\nBolig");
  await Promise.all([
    page.waitForURL((url) => url.pathname.startsWith("/moter/")),
    schedule.locator("button[type=submit]").click(),
  ]);
  const meetingPath = new URL(page.url()).pathname;

  step("every member is invited");
  const invitations = page.locator("table[data-testid=invitations] tbody tr");
  const invited = await invitations.count();
  check(invited > 0, "no invitations on the meeting page");
  check(
    (await invitations.filter({ hasText: "Invitert" }).count()) === invited,
    "an invitee is not marked Invitert",
  );

  step("write the minutes with a task for the LAR consultant");
  const minutes = page.locator(`form[action='${meetingPath}/referat']`);
  await minutes.getByLabel("Ja").check();
  const attended = minutes.locator("input[name=attended]");
  if ((await attended.count()) > 0) await attended.first().check();
  await minutes.locator("textarea[name=text]").fill("Pasienten møtte. Boligsøknaden er sendt.");
  await minutes.locator("textarea[name=decisions]").fill("Følge opp boligsøknaden");
  await minutes.locator("#task_description_0").fill(taskText);
  await minutes.locator("#task_owner_0").selectOption({ label: "Håkon Vik" });
  await minutes.locator("#task_due_on_0").fill(today);
  await Promise.all([
    page.waitForURL((url) => url.pathname === meetingPath),
    minutes.locator("button[type=submit]").click(),
  ]);

  step("the minutes show the patient present and the task");
  const record = page.locator("[data-testid=minutes]");
  await record.waitFor();
  const text = (await record.textContent()) || "";
  check(text.includes("til stede"), "the minutes do not say whether the patient was present");
  check(text.includes(taskText), "the task is not in the minutes");
  check((await page.locator("[data-testid=next-meeting]").count()) === 1, "no next meeting proposed");
  mkdirSync(resultsDir, { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true, timeout: SCREENSHOT_MS });
  check(pageErrors.length === 0, `script errors on the page: ${pageErrors.join("; ")}`);

  step("log in as konsulent, the task's owner");
  const owner = await logIn("konsulent");
  await owner.locator("nav a[href='/oppgaver']").click();
  await owner.waitForURL((url) => url.pathname === "/oppgaver");
  const taskRow = owner.locator("table[data-testid=my-tasks] tbody tr").filter({ hasText: taskText });
  check((await taskRow.count()) === 1, `the task "${taskText}" is not under Mine oppgaver`);
  check(((await taskRow.textContent()) || "").includes(patientName), "the task does not name the patient");

  step("mark the task done");
  await Promise.all([
    owner.waitForURL((url) => url.pathname === "/oppgaver"),
    taskRow.getByRole("button", { name: "Merk som utført" }).click(),
  ]);
  const after = owner.locator("table[data-testid=my-tasks] tbody tr").filter({ hasText: taskText });
  check(((await after.textContent()) || "").includes("Utført"), "the task is not shown as done");
  check((await after.getByRole("button", { name: "Merk som utført" }).count()) === 0, "the done task can still be marked done");

  const seconds = t.seconds();
  console.log(
    `meeting: ok: koordinator held a meeting for ${patientName} with ${invited} invited, ` +
      `konsulent marked the task done; Chromium ${browser.version()}; ${seconds} s; screenshot ${screenshotPath}`,
  );
});
