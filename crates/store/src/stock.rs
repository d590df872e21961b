//! The stock ledger per place and product (`stock_ledger`, append-only), counts
//! signed by two, deviations (avvik) with their follow-up notes, and the policy
//! table.

use jiff::Timestamp;
use samhand_domain::ids::{DispensingId, OrganisationId, UserId};
use samhand_domain::stock::{Product, Quantity, StockMovement};
use samhand_domain::substance::Substance;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::codec::{corrupt, instant, int, micros, parsed, parsed_opt, text};
use crate::db::Result;
use crate::native::{Fetch, FetchOn};

/// One line of a product's ledger.
#[derive(Debug, Clone)]
pub struct StockLine {
    pub id: String,
    pub place_id: OrganisationId,
    pub product: &'static Product,
    pub movement: StockMovement,
    pub quantity: Quantity,
    /// The mg equivalent when it was written, in micrograms.
    pub amount_ug: i64,
    pub note: String,
    pub dispensing_event_id: Option<DispensingId>,
    pub correction_id: Option<DispensingId>,
    pub reverses_line_id: Option<String>,
    pub count_id: Option<String>,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
}

/// A line to write; the mg equivalent follows from the product.
#[derive(Debug, Clone)]
pub struct NewStockLine<'a> {
    pub place: OrganisationId,
    pub product: &'static Product,
    pub movement: StockMovement,
    pub quantity: Quantity,
    pub note: &'a str,
    pub dispensing: Option<DispensingId>,
    pub correction: Option<DispensingId>,
    pub reverses: Option<&'a str>,
    pub count: Option<&'a str>,
    pub by: UserId,
    pub at: Timestamp,
}

impl<'a> NewStockLine<'a> {
    /// A plain line: no dispensing, correction or count.
    pub fn new(
        place: OrganisationId,
        product: &'static Product,
        movement: StockMovement,
        quantity: Quantity,
        note: &'a str,
        by: UserId,
        at: Timestamp,
    ) -> Self {
        Self {
            place,
            product,
            movement,
            quantity,
            note,
            dispensing: None,
            correction: None,
            reverses: None,
            count: None,
            by,
            at,
        }
    }
}

/// Writes one ledger line and returns its id. A second reversal of the same line is
/// the `stock_ledger_reversed_once` conflict.
pub async fn insert_line(conn: &mut impl Fetch, line: &NewStockLine<'_>) -> Result<String> {
    let mut ids = insert_lines(conn, std::slice::from_ref(line)).await?;
    Ok(ids.remove(0))
}

/// Writes ledger lines in one statement (a dispensing taken from more than one
/// product) and returns their ids, in order.
pub async fn insert_lines(conn: &mut impl Fetch, lines: &[NewStockLine<'_>]) -> Result<Vec<String>> {
    if lines.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = lines.iter().map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let sql = format!(
        "INSERT INTO stock_ledger (id, place_id, product, substance, movement, quantity_milli, amount_ug, note,
             dispensing_event_id, correction_id, reverses_line_id, count_id, recorded_by, recorded_at)
         VALUES {}",
        crate::db::row_placeholders(conn, lines.len(), 14)
    );
    let mut query = sqlx::query(&sql);
    for (id, line) in ids.iter().zip(lines) {
        query = query
            .bind(id.clone())
            .bind(line.place.to_string())
            .bind(line.product.code)
            .bind(line.product.substance.code())
            .bind(line.movement.code())
            .bind(line.quantity.milli())
            .bind(line.product.micrograms(line.quantity))
            .bind(line.note)
            .bind(line.dispensing.map(|d| d.to_string()))
            .bind(line.correction.map(|d| d.to_string()))
            .bind(line.reverses)
            .bind(line.count)
            .bind(line.by.to_string())
            .bind(micros(line.at));
    }
    query.execute_on(&mut *conn).await?;
    let written: Vec<(&str, &NewStockLine<'_>)> = ids.iter().map(String::as_str).zip(lines).collect();
    crate::stock_balance::apply(conn, &written).await?;
    Ok(ids)
}

const LINE_COLUMNS: &str = "id, place_id, product, movement, quantity_milli, amount_ug, note, dispensing_event_id, \
     correction_id, reverses_line_id, count_id, recorded_by, recorded_at";

fn line_from_row(row: &AnyRow) -> Result<StockLine> {
    let product = text(row, "product")?;
    let movement = text(row, "movement")?;
    Ok(StockLine {
        id: text(row, "id")?,
        place_id: parsed(row, "place_id")?,
        product: Product::from_code(&product).ok_or_else(|| corrupt(format!("product {product}")))?,
        movement: StockMovement::from_code(&movement)
            .ok_or_else(|| corrupt(format!("movement {movement}")))?,
        quantity: Quantity::from_milli(int(row, "quantity_milli")?),
        amount_ug: int(row, "amount_ug")?,
        note: text(row, "note")?,
        dispensing_event_id: parsed_opt(row, "dispensing_event_id")?,
        correction_id: parsed_opt(row, "correction_id")?,
        reverses_line_id: sqlx::Row::try_get(row, "reverses_line_id")?,
        count_id: sqlx::Row::try_get(row, "count_id")?,
        recorded_by: parsed(row, "recorded_by")?,
        recorded_at: instant(row, "recorded_at")?,
    })
}

/// The ledger of a place, oldest first.
pub async fn ledger(conn: &mut AnyConnection, place: OrganisationId) -> Result<Vec<StockLine>> {
    let rows = sqlx::query(&format!(
        "SELECT {LINE_COLUMNS} FROM stock_ledger WHERE place_id = $1 ORDER BY recorded_at, id"
    ))
    .bind(place.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(line_from_row).collect()
}

/// The latest lines of a place's ledger, newest first.
pub async fn recent_lines(
    conn: &mut AnyConnection,
    place: OrganisationId,
    limit: i64,
) -> Result<Vec<StockLine>> {
    let rows = sqlx::query(&format!(
        "SELECT {LINE_COLUMNS} FROM stock_ledger WHERE place_id = $1 ORDER BY recorded_at DESC, id DESC LIMIT $2"
    ))
    .bind(place.to_string())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(line_from_row).collect()
}

/// What each product at a place holds, in catalogue order: the kept balances
/// (H104), one row per product the place has a ledger for.
pub async fn balances(
    conn: &mut impl Fetch,
    place: OrganisationId,
) -> Result<Vec<(&'static Product, Quantity)>> {
    Ok(quantities(crate::stock_balance::of_place(conn, place).await?))
}

/// As [`balances`], with the place's rows locked until the write transaction
/// ends on PostgreSQL: what a count compares with.
pub async fn balances_for_update(
    conn: &mut impl Fetch,
    place: OrganisationId,
) -> Result<Vec<(&'static Product, Quantity)>> {
    Ok(quantities(
        crate::stock_balance::of_place_for_update(conn, place).await?,
    ))
}

fn quantities(kept: Vec<crate::stock_balance::KeptBalance>) -> Vec<(&'static Product, Quantity)> {
    kept.into_iter().map(|k| (k.product, k.quantity)).collect()
}

/// The lines a dispensing took from the place's stock (movement `dispensed`).
pub async fn taken_by(
    conn: &mut impl Fetch,
    place: OrganisationId,
    event: DispensingId,
) -> Result<Vec<StockLine>> {
    let rows = sqlx::query(&format!(
        "SELECT {LINE_COLUMNS} FROM stock_ledger
         WHERE place_id = $1 AND dispensing_event_id = $2 AND movement = 'dispensed' ORDER BY recorded_at, id"
    ))
    .bind(place.to_string())
    .bind(event.to_string())
    .fetch_all_on(conn)
    .await?;
    rows.iter().map(line_from_row).collect()
}

/// A count of one product, signed by the counter and a witness.
#[derive(Debug, Clone)]
pub struct StockCount {
    pub id: String,
    pub place_id: OrganisationId,
    pub product: &'static Product,
    pub counted: Quantity,
    /// What the ledger said just before the count.
    pub expected: Quantity,
    pub note: String,
    pub counted_by: UserId,
    pub witnessed_by: UserId,
    pub counted_at: Timestamp,
}

pub async fn insert_count(conn: &mut impl Fetch, count: &StockCount) -> Result<()> {
    sqlx::query(
        "INSERT INTO stock_counts (id, place_id, product, counted_milli, expected_milli, note, counted_by, witnessed_by, counted_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&count.id)
    .bind(count.place_id.to_string())
    .bind(count.product.code)
    .bind(count.counted.milli())
    .bind(count.expected.milli())
    .bind(&count.note)
    .bind(count.counted_by.to_string())
    .bind(count.witnessed_by.to_string())
    .bind(micros(count.counted_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// The counts at a place, newest first.
pub async fn counts(conn: &mut AnyConnection, place: OrganisationId) -> Result<Vec<StockCount>> {
    let rows = sqlx::query(
        "SELECT id, place_id, product, counted_milli, expected_milli, note, counted_by, witnessed_by, counted_at
         FROM stock_counts WHERE place_id = $1 ORDER BY counted_at DESC, id DESC",
    )
    .bind(place.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let product = text(row, "product")?;
            Ok(StockCount {
                id: text(row, "id")?,
                place_id: parsed(row, "place_id")?,
                product: Product::from_code(&product).ok_or_else(|| corrupt(format!("product {product}")))?,
                counted: Quantity::from_milli(int(row, "counted_milli")?),
                expected: Quantity::from_milli(int(row, "expected_milli")?),
                note: text(row, "note")?,
                counted_by: parsed(row, "counted_by")?,
                witnessed_by: parsed(row, "witnessed_by")?,
                counted_at: instant(row, "counted_at")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct Deviation {
    pub id: String,
    pub place_id: OrganisationId,
    pub kind: samhand_domain::stock::DeviationKind,
    pub substance: Option<Substance>,
    pub product: Option<&'static Product>,
    /// The count that found it.
    pub count_id: Option<String>,
    /// Counted − expected, in micrograms of the mg equivalent.
    pub difference_ug: Option<i64>,
    pub description: String,
    pub reported_by: UserId,
    pub reported_at: Timestamp,
}

pub async fn insert_deviation(conn: &mut impl Fetch, d: &Deviation) -> Result<()> {
    sqlx::query(
        "INSERT INTO deviations (id, place_id, kind, substance, product, count_id, difference_ug, description, reported_by, reported_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&d.id)
    .bind(d.place_id.to_string())
    .bind(d.kind.code())
    .bind(d.substance.map(|s| s.code()))
    .bind(d.product.map(|p| p.code))
    .bind(d.count_id.clone())
    .bind(d.difference_ug)
    .bind(&d.description)
    .bind(d.reported_by.to_string())
    .bind(micros(d.reported_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

const DEVIATION_COLUMNS: &str =
    "id, place_id, kind, substance, product, count_id, difference_ug, description, reported_by, reported_at";

fn deviation_from_row(row: &AnyRow) -> Result<Deviation> {
    let substance: Option<String> = sqlx::Row::try_get(row, "substance")?;
    let product: Option<String> = sqlx::Row::try_get(row, "product")?;
    Ok(Deviation {
        id: text(row, "id")?,
        place_id: parsed(row, "place_id")?,
        kind: crate::codec::coded(row, "kind")?,
        substance: substance.and_then(|s| Substance::from_code(&s)),
        product: product.and_then(|p| Product::from_code(&p)),
        count_id: sqlx::Row::try_get(row, "count_id")?,
        difference_ug: sqlx::Row::try_get(row, "difference_ug")?,
        description: text(row, "description")?,
        reported_by: parsed(row, "reported_by")?,
        reported_at: instant(row, "reported_at")?,
    })
}

/// The deviations at a place, newest first.
pub async fn deviations(conn: &mut AnyConnection, place: OrganisationId) -> Result<Vec<Deviation>> {
    let rows = sqlx::query(&format!(
        "SELECT {DEVIATION_COLUMNS} FROM deviations WHERE place_id = $1 ORDER BY reported_at DESC, id DESC"
    ))
    .bind(place.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(deviation_from_row).collect()
}

pub async fn deviation(conn: &mut AnyConnection, id: &str) -> Result<Option<Deviation>> {
    let row = sqlx::query(&format!(
        "SELECT {DEVIATION_COLUMNS} FROM deviations WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(deviation_from_row).transpose()
}

/// A note on a deviation: what was found or done, and whether it closes it.
#[derive(Debug, Clone)]
pub struct FollowUp {
    pub id: String,
    pub deviation_id: String,
    pub note: String,
    pub closes: bool,
    pub written_by: UserId,
    pub written_at: Timestamp,
}

/// Writes a follow-up; a second closing note is the `deviation_closed_once` conflict.
pub async fn insert_follow_up(conn: &mut impl Fetch, f: &FollowUp) -> Result<()> {
    sqlx::query(
        "INSERT INTO deviation_follow_ups (id, deviation_id, note, closes, written_by, written_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&f.id)
    .bind(&f.deviation_id)
    .bind(&f.note)
    .bind(i64::from(f.closes))
    .bind(f.written_by.to_string())
    .bind(micros(f.written_at))
    .execute_on(conn)
    .await?;
    Ok(())
}

/// The follow-ups of the deviations at a place, oldest first.
pub async fn follow_ups(conn: &mut AnyConnection, place: OrganisationId) -> Result<Vec<FollowUp>> {
    let rows = sqlx::query(
        "SELECT f.id, f.deviation_id, f.note, f.closes, f.written_by, f.written_at
         FROM deviation_follow_ups f JOIN deviations d ON d.id = f.deviation_id
         WHERE d.place_id = $1 ORDER BY f.written_at, f.id",
    )
    .bind(place.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(FollowUp {
                id: text(row, "id")?,
                deviation_id: text(row, "deviation_id")?,
                note: text(row, "note")?,
                closes: int(row, "closes")? != 0,
                written_by: parsed(row, "written_by")?,
                written_at: instant(row, "written_at")?,
            })
        })
        .collect()
}

/// The stored policy values, oldest first (the latest per key wins).
pub async fn policy_values(conn: &mut impl Fetch) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT key, value FROM policy_settings ORDER BY set_at, id")
        .fetch_all_on(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((text(r, "key")?, crate::codec::int(r, "value")?)))
        .collect()
}

/// One change of a policy setting: what, to which value, by whom, when.
#[derive(Debug, Clone)]
pub struct PolicyChange {
    pub key: String,
    pub value: i64,
    pub set_by: Option<UserId>,
    pub set_at: Timestamp,
}

/// Every change of the policy settings, oldest first.
pub async fn policy_changes(conn: &mut AnyConnection) -> Result<Vec<PolicyChange>> {
    let rows = sqlx::query("SELECT key, value, set_by, set_at FROM policy_settings ORDER BY set_at, id")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(PolicyChange {
                key: text(r, "key")?,
                value: crate::codec::int(r, "value")?,
                set_by: crate::codec::parsed_opt(r, "set_by")?,
                set_at: crate::codec::instant(r, "set_at")?,
            })
        })
        .collect()
}

pub async fn set_policy_value(
    conn: &mut impl Fetch,
    key: &str,
    value: i64,
    by: Option<UserId>,
    at: Timestamp,
) -> Result<()> {
    sqlx::query("INSERT INTO policy_settings (id, key, value, set_by, set_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(key)
        .bind(value)
        .bind(by.map(|u| u.to_string()))
        .bind(micros(at))
        .execute_on(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use samhand_domain::organisation::{Organisation, OrganisationKind, Role};

    use super::*;
    use crate::users::{self, NewUser};
    use crate::{Backend, Store, organisations};

    /// The statement of migration 0017 that copies the old ledger, as it stands in
    /// the migration file of the backend.
    fn backfill(backend: Backend) -> String {
        let migration =
            crate::migrate::render(include_str!("../migrations/0017_stock_products.sql"), backend);
        let start = migration.find("INSERT INTO stock_ledger").expect("the copy");
        let end = migration[start..].find("FROM stock_entries;").expect("its end")
            + start
            + "FROM stock_entries".len();
        migration[start..end].to_string()
    }

    #[tokio::test]
    async fn migration_0017_carries_each_substances_mg_balance_over_to_its_default_product() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::connect(&crate::testing::fresh_database_url(dir.path()).await, 2)
            .await
            .expect("store");
        let at = Timestamp::from_second(1_795_000_000).expect("instant");
        let place = Organisation {
            id: OrganisationId::new(),
            name: "LAR-senteret".into(),
            kind: OrganisationKind::MunicipalLarCentre,
            municipality: "Fjordvik".into(),
            open_on_public_holidays: false,
            open_weekdays: [true; 7],
            closed_days: Vec::new(),
        };
        let nurse = UserId::new();
        let mut tx = store.write().await.expect("tx");
        organisations::insert(&mut tx, &place, at).await.expect("place");
        let user = NewUser {
            id: nurse,
            username: "utdeler",
            display_name: "Utdeler",
            role: Role::DispensingStaff,
            organisation_id: place.id,
            password_hash: None,
        };
        users::insert(&mut tx, &user, at).await.expect("user");
        // What the ledger held in mg before products.
        let old = [
            ("methadone_oral_solution", "received", 1_000_000),
            ("methadone_oral_solution", "dispensed", 60_000),
            ("buprenorphine_naloxone", "received", 56_000),
            ("buprenorphine_naloxone", "counted", 40_000),
            ("depot_buprenorphine_weekly", "dispensed", 16_000),
            ("levomethadone", "received", 12_500),
        ];
        for (i, (substance, movement, ug)) in old.into_iter().enumerate() {
            sqlx::query(
                "INSERT INTO stock_entries (id, place_id, substance, movement, amount_ug, note, recorded_by, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, '', $6, $7)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(place.id.to_string())
            .bind(substance)
            .bind(movement)
            .bind(ug as i64)
            .bind(nurse.to_string())
            .bind(micros(at) + i as i64)
            .execute_on(&mut tx)
            .await
            .expect("old entry");
        }
        tx.execute_script(&backfill(store.backend()))
            .await
            .expect("the migration's copy");
        tx.commit().await.expect("commit");

        let mut conn = store.read().await.expect("conn");
        let balances: Vec<(&str, i64, i64)> = crate::stock_balance::derived_of_place(&mut conn, place.id)
            .await
            .expect("balances")
            .into_iter()
            .map(|k| {
                (
                    k.product.code,
                    k.quantity.milli(),
                    k.product.micrograms(k.quantity),
                )
            })
            .collect();
        assert_eq!(
            balances,
            [
                ("methadone_solution_1mg_ml", 940_000, 940_000),
                ("levomethadone_solution_5mg_ml", 2_500, 12_500),
                ("buprenorphine_naloxone_tablet_2mg", 20_000, 40_000),
                ("depot_weekly_8mg", -2_000, -16_000),
            ]
        );
        let lines = ledger(&mut conn, place.id).await.expect("ledger");
        assert_eq!(lines.len(), 6);
        assert!(
            lines
                .iter()
                .all(|l| l.amount_ug == l.product.micrograms(l.quantity))
        );
    }
}
