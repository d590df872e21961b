//! Bulk writes for `samhand bench`: a year of history for a country-sized world in
//! multi-row inserts, and the raw durable-insert measurement's table. Not used by
//! the application itself.

use jiff::civil::{Date, Time};
use samhand_domain::dose::Dose;
use samhand_domain::ids::{DoseOrderId, OrganisationId, PatientId, UserId};
use samhand_domain::stock::{Product, Quantity, StockMovement, products_for_dose};
use samhand_domain::substance::Substance;

use crate::codec::{date_text, dose_ug, micros};
use crate::db::Result;
use crate::native::{Fetch, FetchOn};

/// One patient's daily supervised dose, for the history.
#[derive(Debug, Clone, Copy)]
pub struct DailyHistory {
    pub patient: PatientId,
    pub place: OrganisationId,
    pub staff: UserId,
    pub order: DoseOrderId,
    pub substance: Substance,
    pub dose: Dose,
}

/// Rows per multi-row INSERT (well under both databases' bind limits).
const ROWS_PER_STATEMENT: usize = 400;

/// Writes a dispensing event and its dose for every patient and day from `from` to
/// `to`, recorded at 09:00 Oslo time on the day.
pub async fn insert_history(
    conn: &mut impl Fetch,
    patients: &[DailyHistory],
    from: Date,
    to: Date,
) -> Result<()> {
    let days: Vec<Date> = samhand_domain::time::days_inclusive(from, to).collect();
    let rows: Vec<(&DailyHistory, Date, String)> = patients
        .iter()
        .flat_map(|p| {
            days.iter()
                .map(move |d| (p, *d, uuid::Uuid::now_v7().to_string()))
        })
        .collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO dispensing_events (id, idempotency_key, patient_id, place_id, day, outcome, identity_confirmed_by, recorded_by, recorded_at) VALUES {}",
            crate::db::row_placeholders(conn, chunk.len(), 9)
        );
        let mut query = sqlx::query(&sql);
        for (p, day, id) in chunk {
            let at = samhand_domain::time::oslo_timestamp(day.to_datetime(Time::constant(9, 0, 0, 0)));
            query = query
                .bind(id.clone())
                .bind(format!("history-{id}"))
                .bind(p.patient.to_string())
                .bind(p.place.to_string())
                .bind(date_text(*day))
                .bind("given")
                .bind(p.staff.to_string())
                .bind(p.staff.to_string())
                .bind(micros(at));
        }
        query.execute_on(&mut *conn).await?;

        let sql = format!(
            "INSERT INTO dispensed_doses (event_id, patient_id, dose_date, part, mode, substance, order_id, amount_ug, ordered_ug) VALUES {}",
            crate::db::row_placeholders(conn, chunk.len(), 9)
        );
        let mut query = sqlx::query(&sql);
        for (p, day, id) in chunk {
            query = query
                .bind(id.clone())
                .bind(p.patient.to_string())
                .bind(date_text(*day))
                .bind(1i64)
                .bind("supervised")
                .bind(p.substance.code())
                .bind(p.order.to_string())
                .bind(dose_ug(p.dose))
                .bind(dose_ug(p.dose));
        }
        query.execute_on(&mut *conn).await?;
        insert_taken(conn, chunk).await?;
    }
    // The kept dosing state of this history: every day from `from` to `to` dosed.
    let states: Vec<_> = patients
        .iter()
        .map(|p| {
            let state = crate::day_state::DoseDayState::of_history(days.iter().copied(), dose_ug(p.dose) > 0);
            (p.patient, state)
        })
        .collect();
    crate::day_state::put_many(conn, &states).await?;
    Ok(())
}

/// The place's stock lines of the history's doses, as a recording takes them:
/// each dose's product (the catalogue's first of its substance) and quantity.
async fn insert_taken(conn: &mut impl Fetch, doses: &[(&DailyHistory, Date, String)]) -> Result<()> {
    let sql = format!(
        "INSERT INTO stock_ledger (id, place_id, product, substance, movement, quantity_milli, amount_ug, note,
             dispensing_event_id, recorded_by, recorded_at) VALUES {}",
        crate::db::row_placeholders(conn, doses.len(), 11)
    );
    let mut query = sqlx::query(&sql);
    for (p, day, event) in doses {
        let take = products_for_dose(p.substance, p.dose, &[])
            .into_iter()
            .next()
            .ok_or_else(|| crate::codec::corrupt(format!("no product for {}", p.substance.code())))?;
        let at = samhand_domain::time::oslo_timestamp(day.to_datetime(Time::constant(9, 0, 0, 0)));
        query = query
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(p.place.to_string())
            .bind(take.product.code)
            .bind(p.substance.code())
            .bind(StockMovement::Dispensed.code())
            .bind(take.quantity.milli())
            .bind(take.product.micrograms(take.quantity))
            .bind("")
            .bind(event.clone())
            .bind(p.staff.to_string())
            .bind(micros(at));
    }
    query.execute_on(&mut *conn).await?;
    Ok(())
}

/// A stock count of every product at each place every seventh day from `from` to
/// `to`, at 08:00 before the day's doses, by the place's staff member and
/// witnessed by `witness`: the balance a recording reads starts at the last one,
/// and the place's ledger holds a year of lines before it (H101).
pub async fn insert_weekly_counts(
    conn: &mut impl Fetch,
    places: &[(OrganisationId, UserId)],
    witness: UserId,
    from: Date,
    to: Date,
) -> Result<()> {
    // Ten thousand units of each product: more than a week of doses takes.
    let counted = Quantity::from_milli(10_000_000);
    let mut counts = Vec::new();
    for (place, staff) in places {
        for day in samhand_domain::time::days_inclusive(from, to).step_by(7) {
            let at = samhand_domain::time::oslo_timestamp(day.to_datetime(Time::constant(8, 0, 0, 0)));
            for product in Product::ALL {
                counts.push((uuid::Uuid::now_v7().to_string(), *place, *staff, product, at));
            }
        }
    }
    for chunk in counts.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO stock_counts (id, place_id, product, counted_milli, expected_milli, note, counted_by, witnessed_by, counted_at) VALUES {}",
            crate::db::row_placeholders(conn, chunk.len(), 9)
        );
        let mut query = sqlx::query(&sql);
        for (id, place, staff, product, at) in chunk {
            query = query
                .bind(id.clone())
                .bind(place.to_string())
                .bind(product.code)
                .bind(counted.milli())
                .bind(counted.milli())
                .bind("")
                .bind(staff.to_string())
                .bind(witness.to_string())
                .bind(micros(*at));
        }
        query.execute_on(&mut *conn).await?;
        let sql = format!(
            "INSERT INTO stock_ledger (id, place_id, product, substance, movement, quantity_milli, amount_ug, note,
                 count_id, recorded_by, recorded_at) VALUES {}",
            crate::db::row_placeholders(conn, chunk.len(), 11)
        );
        let mut query = sqlx::query(&sql);
        for (id, place, staff, product, at) in chunk {
            query = query
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(place.to_string())
                .bind(product.code)
                .bind(product.substance.code())
                .bind(StockMovement::Counted.code())
                .bind(counted.milli())
                .bind(product.micrograms(counted))
                .bind("")
                .bind(id.clone())
                .bind(staff.to_string())
                .bind(micros(*at));
        }
        query.execute_on(&mut *conn).await?;
    }
    Ok(())
}

pub async fn create_raw_table(conn: &mut impl Fetch) -> Result<()> {
    sqlx::query("CREATE TABLE IF NOT EXISTS bench_raw (id TEXT PRIMARY KEY, value TEXT NOT NULL)")
        .execute_on(conn)
        .await?;
    Ok(())
}

/// Inserts one row in a transaction of its own on a connection of the pool: the
/// database's own durable-insert rate, outside Samhand's grouped writes.
pub async fn insert_raw(store: &crate::Store, id: &str, value: &str) -> Result<()> {
    let mut conn = store.read().await?;
    sqlx::query("INSERT INTO bench_raw (id, value) VALUES ($1, $2)")
        .bind(id)
        .bind(value)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
