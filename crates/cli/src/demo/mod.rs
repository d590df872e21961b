//! The demo world: a fictional health trust's LAR unit, municipal LAR centres,
//! pharmacies, a home service and an institution, staff with demo logins, and
//! synthetic patients with signed dose orders, dispensing arrangements, ten weeks of
//! dispensing history, stock ledgers and deviations. Written straight through
//! `samhand_store` in a few large transactions; the schedule and the missed-dose rule
//! from `samhand_domain` decide what was due and check the result. Creating the demo
//! is a system action, not a person reading a record, so it writes no audit entries.
//!
//! The rooms: [`world`] (organisations, places, users, groups), [`generator`]
//! (patients, arrangements, covers) with [`orders`] (their dose orders),
//! [`history`] (the dispensing history and its missed-dose check), [`stock`] (the
//! stock plan and ledger) and [`write`] (everything to the store); [`names`] and
//! [`png`] supply names and photos.

mod discharges;
mod drug_tests;
mod edi;
mod generator;
mod history;
mod names;
mod orders;
mod png;
mod referrals;
mod status;
mod stock;
mod world;
mod write;

use std::collections::HashSet;
use std::fmt;

use anyhow::ensure;
use jiff::civil::Date;
use jiff::{Span, Timestamp};
use samhand_domain::arrangement::effective_arrangement;
use samhand_domain::ids::PatientId;
use samhand_domain::time::{Clock, oslo_timestamp};
use samhand_store::{Store, organisations};

use crate::rng::Rng;
use generator::{Generator, PatientPlan};
use stock::StockPlan;
use world::World;
use write::{
    hash_passwords, write_collaboration, write_organisations_and_users, write_patients, write_privacy,
    write_stay, write_stock,
};

/// How big a world to make. The default is a realistic municipality-sized service; a
/// benchmark can ask for more patients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSize {
    pub patients: usize,
    /// Days of dispensing history up to yesterday. Ten weeks: the missed-dose rule
    /// looks 60 days back (service.rs), and a day in that window without a recorded
    /// dose counts as missed, so the history covers the window and the week of
    /// take-home doses handed over just before it.
    pub history_days: i64,
}

impl Default for DemoSize {
    fn default() -> Self {
        Self {
            patients: 300,
            history_days: 70,
        }
    }
}

impl DemoSize {
    pub fn with_patients(patients: usize) -> Self {
        Self {
            patients,
            ..Self::default()
        }
    }
}

/// What was created.
#[derive(Debug, Clone)]
pub struct Summary {
    pub organisations: usize,
    pub users: usize,
    pub logins: Vec<(String, String, String)>,
    pub patients: usize,
    pub first_centre: String,
    pub patients_at_first_centre: usize,
    pub dose_orders: usize,
    pub arrangements: usize,
    pub overdue_reviews: usize,
    /// Days covered by an earlier hand-over or the holiday place because the place is
    /// closed.
    pub covers: usize,
    pub dispensing_events: usize,
    pub dispensed_doses: usize,
    pub stock_entries: usize,
    pub deviations: usize,
    pub history_from: Date,
    pub history_to: Date,
    pub blocked_patient: String,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let date = samhand_domain::format::date_nb;
        writeln!(
            f,
            "{} organisations, {} users, {} patients ({} at {})",
            self.organisations, self.users, self.patients, self.patients_at_first_centre, self.first_centre
        )?;
        writeln!(
            f,
            "{} signed dose order versions, {} arrangement versions ({} with the review overdue), {} closed days covered",
            self.dose_orders, self.arrangements, self.overdue_reviews, self.covers
        )?;
        writeln!(
            f,
            "{} dispensings covering {} doses, {}–{}",
            self.dispensing_events,
            self.dispensed_doses,
            date(self.history_from),
            date(self.history_to)
        )?;
        writeln!(
            f,
            "{} stock ledger entries, {} deviations",
            self.stock_entries, self.deviations
        )?;
        writeln!(
            f,
            "blocked after missed doses (må revurderes av lege): {}",
            self.blocked_patient
        )?;
        writeln!(f, "demo logins:")?;
        for (username, role, organisation) in &self.logins {
            writeln!(f, "  {username:<11} {role:<17} {organisation}")?;
        }
        Ok(())
    }
}

/// Refused: the database already holds organisations, so it is not a fresh database.
#[derive(Debug)]
pub struct NotEmpty;

impl fmt::Display for NotEmpty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the database already has organisations; the demo world is only created in an empty database",
        )
    }
}

impl std::error::Error for NotEmpty {}

/// Creates the demo world when the database has no organisations yet; `None` when it
/// has (so that a second `serve --demo` neither fails nor duplicates).
pub async fn create_demo_world_if_empty(
    store: &Store,
    clock: &dyn Clock,
    password: &str,
    size: DemoSize,
) -> anyhow::Result<Option<Summary>> {
    match create_demo_world(store, clock, password, size).await {
        Ok(summary) => Ok(Some(summary)),
        Err(error) if error.is::<NotEmpty>() => Ok(None),
        Err(error) => Err(error),
    }
}

/// Creates the demo world in an empty database; fails with [`NotEmpty`] otherwise.
pub async fn create_demo_world(
    store: &Store,
    clock: &dyn Clock,
    password: &str,
    size: DemoSize,
) -> anyhow::Result<Summary> {
    ensure!(
        size.history_days >= 14,
        "the demo needs at least 14 days of history"
    );
    ensure!(size.patients >= 3, "the demo needs at least 3 patients");
    let today = clock.today();
    let history_from = plus(today, -size.history_days);
    let yesterday = plus(today, -1);
    {
        let mut conn = store.read().await?;
        if !organisations::all(&mut conn).await?.is_empty() {
            return Err(NotEmpty.into());
        }
    }

    // Everything is computed in memory and checked against the missed-dose rule
    // before anything is written.
    let started = std::time::Instant::now();
    let world = World::new();
    let mut generator = Generator {
        rng: Rng::new(0x5A4D_4841_4E44),
        world: &world,
        today,
        yesterday,
        history_from,
        used_numbers: HashSet::new(),
    };
    let plans = generator.patients(size.patients)?;
    let blocked: Vec<&PatientPlan> = plans.iter().filter(|p| p.blocked).collect();
    ensure!(
        blocked.len() == 1,
        "the demo should have exactly one blocked patient, found {}",
        blocked.len()
    );
    let blocked_patient = format!(
        "{} {} at {}",
        blocked[0].patient.given_name, blocked[0].patient.family_name, world.places[0].org.name
    );
    let mut plans = plans;
    StockPlan::take_from_shelves(&world, &mut plans);
    let stock_plan = StockPlan::from_patients(&world, &plans, history_from, yesterday);
    let hashes = hash_passwords(password, world.users.iter().filter(|u| u.login).count()).await?;
    tracing::debug!(elapsed = ?started.elapsed(), "demo: planned, passwords hashed");

    write_organisations_and_users(store, &world, &hashes, history_from).await?;
    let summary = Summary::of(
        &world,
        &plans,
        &stock_plan,
        today,
        (history_from, yesterday),
        blocked_patient,
    );

    let privacy_patients: Vec<PatientId> = plans
        .iter()
        .filter(|p| p.place == 0 && !p.blocked)
        .map(|p| p.id)
        .take(6)
        .collect();
    // Status assessments for the first patients (see `status`).
    let assessed: Vec<(PatientId, jiff::civil::Date)> = plans
        .iter()
        .take(30)
        .map(|p| (p.id, p.episode.started_on))
        .collect();
    write_patients(store, &world.actor(world.user_named("lege")?), plans).await?;
    status::write_status_assessments(store, &world, &assessed, today).await?;
    drug_tests::write_drug_tests(
        store,
        &world,
        &privacy_patients[..privacy_patients.len().min(4)],
        today,
    )
    .await?;
    referrals::write_referrals(store, &world, today).await?;
    write_privacy(store, &world, &privacy_patients, today).await?;
    if let Some(first) = privacy_patients.first() {
        edi::write_edi(store, &world, *first, today).await?;
    }
    write_collaboration(store, &world, &privacy_patients, today).await?;
    if let Some(admitted) = privacy_patients.last() {
        write_stay(store, &world, *admitted, today).await?;
    }
    if privacy_patients.len() > 3 {
        discharges::write_discharged_stays(store, &world, &privacy_patients[1..3], today).await?;
    }
    tracing::debug!(elapsed = ?started.elapsed(), "demo: patients written");
    write_stock(store, &stock_plan).await?;
    Ok(summary)
}

impl Summary {
    /// What the world and the plans hold, counted.
    fn of(
        world: &World,
        plans: &[PatientPlan],
        stock_plan: &StockPlan,
        today: Date,
        (history_from, history_to): (Date, Date),
        blocked_patient: String,
    ) -> Self {
        Self {
            organisations: world.all_organisations().count(),
            users: world.users.len(),
            logins: world
                .users
                .iter()
                .filter(|u| u.login)
                .map(|u| {
                    (
                        u.username.clone(),
                        u.role.code().to_string(),
                        world.organisation_name(u.organisation).to_string(),
                    )
                })
                .collect(),
            patients: plans.len(),
            first_centre: world.places[0].org.name.clone(),
            patients_at_first_centre: plans.iter().filter(|p| p.place == 0).count(),
            dose_orders: plans.iter().map(|p| p.orders.len()).sum(),
            arrangements: plans.iter().map(|p| p.arrangements.len()).sum(),
            overdue_reviews: plans
                .iter()
                .filter(|p| {
                    effective_arrangement(&p.arrangements, today).is_some_and(|a| a.review_overdue(today))
                })
                .count(),
            covers: plans.iter().map(|p| p.covers.len()).sum(),
            dispensing_events: plans.iter().map(|p| p.events.len()).sum(),
            dispensed_doses: plans.iter().flat_map(|p| &p.events).map(|e| e.doses.len()).sum(),
            stock_entries: plans
                .iter()
                .flat_map(|p| &p.events)
                .map(|e| e.takes.len())
                .sum::<usize>()
                + stock_plan.entries.len(),
            deviations: stock_plan.deviations.len(),
            history_from,
            history_to,
            blocked_patient,
        }
    }
}

fn plus(date: Date, days: i64) -> Date {
    date.checked_add(Span::new().days(days))
        .expect("demo dates are within the supported range")
}

/// An Oslo wall-clock time on a date, as an instant.
fn at(date: Date, hour: i8, minute: i8) -> Timestamp {
    oslo_timestamp(date.at(hour, minute, 0, 0))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use jiff::civil::Time;
    use samhand_domain::ids::OrganisationId;
    use samhand_domain::organisation::Organisation;
    use samhand_domain::stock::StockMovement;
    use samhand_store::{dispensing, orders, patients, stock};

    use super::*;
    use samhand_domain::policy::ClinicalPolicy;
    use samhand_domain::time::FixedClock;
    use samhand_server::service::{PatientData, missed_state, with_schedule};

    async fn demo_on(day: Date, size: DemoSize) -> (tempfile::TempDir, Store, FixedClock, Summary) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = Store::connect(&Store::sqlite_url(dir.path()), 4)
            .await
            .expect("open SQLite");
        let clock = FixedClock::at_oslo(day, Time::constant(12, 0, 0, 0));
        let summary = create_demo_world(&store, &clock, "demo-password-for-tests", size)
            .await
            .expect("demo world");
        (dir, store, clock, summary)
    }

    /// Every patient's data as the service loads it, and their recorded doses.
    async fn stored_patients(
        store: &Store,
        today: Date,
    ) -> Vec<(PatientId, PatientData, Vec<dispensing::DispensedDose>)> {
        let mut conn = store.read().await.expect("connection");
        let mut ids = Vec::new();
        for org in organisations::all(&mut conn).await.expect("organisations") {
            for id in orders::patients_at_place(&mut conn, org.id, plus(today, -400))
                .await
                .expect("patients")
            {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        let episodes = patients::episodes_of(&mut conn, &ids).await.expect("episodes");
        let signed = orders::signed_orders_of(&mut conn, &ids).await.expect("orders");
        let arrangements = orders::arrangements_of(&mut conn, &ids)
            .await
            .expect("arrangements");
        let covers = orders::covers_of(&mut conn, &ids).await.expect("covers");
        let doses = dispensing::doses_of(&mut conn, &ids, plus(today, -80), plus(today, 7))
            .await
            .expect("doses");
        ids.iter()
            .map(|id| {
                let data = PatientData {
                    episodes: episodes.iter().filter(|e| e.patient_id == *id).cloned().collect(),
                    orders: signed
                        .iter()
                        .filter(|o| o.order().patient_id == *id)
                        .cloned()
                        .collect(),
                    arrangements: arrangements
                        .iter()
                        .filter(|a| a.patient_id == *id)
                        .cloned()
                        .collect(),
                    covers: covers.iter().filter(|c| c.patient_id == *id).cloned().collect(),
                    privacy: Default::default(),
                };
                let recorded = doses.iter().filter(|d| d.patient_id == *id).cloned().collect();
                (*id, data, recorded)
            })
            .collect()
    }

    /// The LAR unit of the demo's referrals (the one the most of them are under).
    async fn stored_unit(conn: &mut sqlx::AnyConnection) -> samhand_domain::ids::OrganisationId {
        let row: (String,) = sqlx::query_as(
            "SELECT e.responsible_unit FROM referrals r JOIN episodes e ON e.id = r.episode_id LIMIT 1",
        )
        .fetch_one(conn)
        .await
        .expect("a referral");
        row.0.parse().expect("id")
    }

    #[tokio::test]
    async fn the_demo_world_blocks_exactly_one_patient_and_is_created_only_once() {
        let today = jiff::civil::date(2026, 11, 23);
        let (_dir, store, clock, summary) = demo_on(today, DemoSize::default()).await;
        assert_eq!(summary.patients, 300);
        assert!((60..=80).contains(&summary.patients_at_first_centre));
        assert_eq!(summary.logins.len(), 11);
        {
            // A message to the GP office outside Samhand waits for the outbox.
            let mut conn = store.read().await.expect("conn");
            let queued = samhand_store::edi::unwritten(&mut conn).await.expect("queued");
            assert_eq!(queued.len(), 1);
            assert!(queued[0].2.contains("Torget legekontor"));
        }

        let stored = stored_patients(&store, today).await;
        assert_eq!(stored.len(), 300);
        let blocked: Vec<PatientId> = stored
            .iter()
            .filter(|(_, data, recorded)| {
                missed_state(data, recorded, today, &ClinicalPolicy::default()).is_blocked()
            })
            .map(|(id, _, _)| *id)
            .collect();
        assert_eq!(blocked.len(), 1, "exactly one patient must be reassessed");

        // Five referrals wait at the LAR unit: three for assessment (one past its
        // deadline), two assessed with a right (one past the latest start).
        {
            let mut conn = store.read().await.expect("connection");
            let unit = stored_unit(&mut conn).await;
            let waiting = samhand_store::referrals::open_of_unit(&mut conn, unit)
                .await
                .expect("referrals");
            assert_eq!(waiting.len(), 5);
            let ids: Vec<String> = waiting.iter().map(|r| r.id.clone()).collect();
            let assessed = samhand_store::referral_assessments::assessments_of(&mut conn, &ids)
                .await
                .expect("assessments");
            let offers = samhand_store::referral_assessments::offers_of(&mut conn, &ids)
                .await
                .expect("offers");
            assert_eq!(offers.len(), 2, "two quick-start offers");
            let breached = waiting
                .iter()
                .filter(|r| !assessed.contains_key(&r.id))
                .filter(|r| samhand_domain::referral::assessment_deadline(r.details.received_on, 10) < today)
                .count();
            assert_eq!(breached, 1);
            let late_start = assessed
                .values()
                .filter_map(|v| v.last()?.content.latest_start)
                .filter(|latest| *latest < today)
                .count();
            assert_eq!((assessed.len(), late_start), (2, 1));
            // One was sent from Samhand by the demo GP, one names the GP office
            // outside Samhand as its registered referrer.
            let by_gp: Vec<_> = waiting.iter().filter(|r| r.referred_by_user.is_some()).collect();
            assert_eq!(by_gp.len(), 1);
            assert_eq!(by_gp[0].referrer_organisation.map(|_| ()), Some(()));
            assert_eq!(
                waiting
                    .iter()
                    .filter(|r| r.referrer_organisation.is_some() && r.referred_by_user.is_none())
                    .count(),
                1
            );
        }

        // Stock in real units: every count signed by two, one deviation open, and
        // the first centre's first methadone delivery above 12 000 mg.
        let mut conn = store.read().await.expect("connection");
        let mut open = 0;
        let mut largest_delivery = 0;
        for org in organisations::all(&mut conn).await.expect("organisations") {
            for count in stock::counts(&mut conn, org.id).await.expect("counts") {
                assert_ne!(count.counted_by, count.witnessed_by, "a count is signed by two");
            }
            let closed: Vec<String> = stock::follow_ups(&mut conn, org.id)
                .await
                .expect("follow-ups")
                .into_iter()
                .filter(|f| f.closes)
                .map(|f| f.deviation_id)
                .collect();
            open += stock::deviations(&mut conn, org.id)
                .await
                .expect("deviations")
                .iter()
                .filter(|d| !closed.contains(&d.id))
                .count();
            for line in stock::ledger(&mut conn, org.id).await.expect("ledger") {
                if line.movement == StockMovement::Received {
                    largest_delivery = largest_delivery.max(line.amount_ug);
                }
            }
        }
        drop(conn);
        assert_eq!(open, 1, "one open deviation");
        assert!(largest_delivery > 12_000_000, "{largest_delivery} µg");

        let again =
            create_demo_world_if_empty(&store, &clock, "demo-password-for-tests", DemoSize::default())
                .await
                .expect("second run");
        assert!(again.is_none(), "a second run changes nothing");
        assert_eq!(stored_patients(&store, today).await.len(), 300);
    }

    #[tokio::test]
    async fn the_demo_history_covers_every_day_a_place_was_closed_around_the_holidays() {
        // After Christmas, Easter Monday itself, after Easter, and after 17 May.
        for today in [
            jiff::civil::date(2026, 12, 28),
            jiff::civil::date(2027, 3, 29),
            jiff::civil::date(2027, 4, 6),
            jiff::civil::date(2027, 5, 18),
        ] {
            let (_dir, store, _clock, summary) = demo_on(today, DemoSize::with_patients(120)).await;
            let mut conn = store.read().await.expect("connection");
            let places: HashMap<OrganisationId, Organisation> = organisations::all(&mut conn)
                .await
                .expect("organisations")
                .into_iter()
                .map(|o| (o.id, o))
                .collect();
            drop(conn);
            let is_open = |p: OrganisationId, d: Date| places.get(&p).is_some_and(|o| o.is_open_on(d));
            assert!(summary.covers > 0, "{today}: some places were closed");
            let stored = stored_patients(&store, today).await;
            let mut blocked = 0;
            for (id, data, recorded) in &stored {
                let uncovered = with_schedule(data, plus(today, -1), |s| {
                    s.uncovered_days(summary.history_from, plus(today, -1), &is_open)
                })
                .unwrap_or_default();
                assert!(
                    uncovered
                        .iter()
                        .all(|u| u.dose_date < plus(summary.history_from, 7)),
                    "{today}: patient {id} has uncovered past days {uncovered:?}"
                );
                if missed_state(data, recorded, today, &ClinicalPolicy::default()).is_blocked() {
                    blocked += 1;
                }
            }
            assert_eq!(blocked, 1, "{today}: exactly one blocked patient");
        }
    }
}
