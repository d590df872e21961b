//! The unit's reports measured right after the world is built: the yearly status
//! report as the prescriber, the unit indicators (twelve months) and the leader's
//! key figures as the leader, and the key figures' follow-up part alone.

use std::time::Instant;

use jiff::civil::Date;
use samhand_domain::organisation::{OrganisationKind, Role, StaffUser};
use samhand_server::AppState;

use super::BenchWorld;

/// The unit's yearly status report for this year (every patient, a year of
/// history), made as the unit's prescriber through the service: policy, audit and
/// the set-based reads, as the page and `samhand report status` make it.
pub(super) async fn measure_reports(state: &AppState, world: &BenchWorld, today: Date) -> anyhow::Result<()> {
    let prescriber = StaffUser {
        id: world.doctor,
        username: "bench.lege".into(),
        display_name: "bench.lege".into(),
        role: Role::Prescriber,
        organisation_id: world.unit,
        organisation_kind: OrganisationKind::HealthTrustLarUnit,
    };
    let started = Instant::now();
    let report = samhand_server::service::Service::new(state, &prescriber)
        .status_report(&today.year().to_string())
        .await
        .map_err(|e| anyhow::anyhow!("the status report: {e:?}"))?;
    println!(
        "yearly status report: {} patients in {:.2} s",
        report.rows.len(),
        started.elapsed().as_secs_f64()
    );
    // The unit's indicators over the last twelve months, as its leader: the
    // aggregated counts and the follow-up computed per patient from batched reads
    // (missed doses over the whole history, bundles, expected samples).
    let leader = StaffUser {
        role: Role::Leader,
        ..prescriber
    };
    let started = Instant::now();
    let found = samhand_server::service::Service::new(state, &leader)
        .indicators("", "", "")
        .await
        .map_err(|e| anyhow::anyhow!("the indicators: {e:?}"))?;
    let missed: u64 = found
        .unit
        .months
        .iter()
        .map(|m| m.count(samhand_domain::indicators::CountKind::MissedDoses))
        .sum();
    println!(
        "unit indicators: {} months, {missed} missed doses, in {:.2} s",
        found.months.len(),
        started.elapsed().as_secs_f64()
    );
    // The leader's overview card: the last full month and the one before.
    let started = Instant::now();
    samhand_server::service::Service::new(state, &leader)
        .indicator_summary()
        .await
        .map_err(|e| anyhow::anyhow!("the key figures: {e:?}"))?;
    println!(
        "the leader's key figures (two months): {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    {
        let current = samhand_domain::indicators::YearMonth::of(today);
        let mut conn = state.store.read().await?;
        samhand_store::indicators::followup_counts(
            &mut conn,
            world.unit,
            current.plus(-2).first_day(),
            current.plus(-1).last_day(),
            today,
        )
        .await?;
    }
    println!(
        "of which the follow-up (two months): {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
