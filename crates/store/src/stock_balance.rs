//! The kept stock balance of each product at each place (`stock_balances`; H104):
//! what the ledger holds by the product's last count and the lines after it, with
//! the instant and id of the latest line applied. Every ledger line is applied in
//! the transaction that writes it ([`apply`], called by `stock::insert_lines`), so
//! a dispensing reads one row per product where it summed the lines since the last
//! count, inside the write batch. A line that does not come after the latest one
//! applied (an edge's recording taken later, a count entered for an earlier
//! instant) derives the product's row from the ledger again, as the ledger orders
//! its lines by instant and id. The rows are a cache of the ledger: always
//! derivable ([`derived_of_place`], `samhand verify-state`).

use std::collections::HashMap;

use samhand_domain::ids::OrganisationId;
use samhand_domain::stock::{Product, Quantity, StockMovement};
use sqlx::AnyConnection;

use crate::codec::{corrupt, int, micros, parsed, text};
use crate::db::{Result, classify};
use crate::stock::NewStockLine;

/// One product's kept balance at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptBalance {
    pub place: OrganisationId,
    pub product: &'static Product,
    pub quantity: Quantity,
    /// The latest line applied, as the ledger orders them: its instant (µs) and id.
    pub last_at: i64,
    pub last_id: String,
}

impl std::fmt::Display for KeptBalance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} thousandths, latest line {} at {}",
            self.quantity.milli(),
            self.last_id,
            self.last_at
        )
    }
}

fn product_of(code: &str) -> Result<&'static Product> {
    Product::from_code(code).ok_or_else(|| corrupt(format!("product {code}")))
}

/// The kept balances of a place, in catalogue order: each product it has a ledger for.
pub async fn of_place(conn: &mut AnyConnection, place: OrganisationId) -> Result<Vec<KeptBalance>> {
    let rows = sqlx::query(
        "SELECT place_id, product, quantity_milli, last_at, last_id FROM stock_balances WHERE place_id = $1",
    )
    .bind(place.to_string())
    .fetch_all(conn)
    .await?;
    let mut kept = rows
        .iter()
        .map(|row| {
            Ok(KeptBalance {
                place: parsed(row, "place_id")?,
                product: product_of(&text(row, "product")?)?,
                quantity: Quantity::from_milli(int(row, "quantity_milli")?),
                last_at: int(row, "last_at")?,
                last_id: text(row, "last_id")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    kept.sort_by_key(|k| catalogue_position(k.product));
    Ok(kept)
}

fn catalogue_position(product: &Product) -> Option<usize> {
    Product::ALL.iter().position(|c| c.code == product.code)
}

/// What one write's lines of one product do to its balance, in the ledger's
/// order: set it (a count among them, and what came after the count) or move it.
struct Effect {
    place: OrganisationId,
    product: &'static Product,
    /// The balance after the lines when they hold a count; otherwise how far they
    /// move it.
    quantity: Quantity,
    sets: bool,
    first: (i64, String),
    last: (i64, String),
}

/// A line written: its instant (µs), its id, the line.
type Written<'a> = (i64, &'a str, &'a NewStockLine<'a>);

fn effects<'a>(lines: &[(&'a str, &'a NewStockLine<'a>)]) -> Vec<Effect> {
    let mut groups: Vec<((OrganisationId, &'static str), Vec<Written<'a>>)> = Vec::new();
    for (id, line) in lines {
        let key = (line.place, line.product.code);
        let entry = (micros(line.at), *id, *line);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, group)) => group.push(entry),
            None => groups.push((key, vec![entry])),
        }
    }
    groups
        .into_iter()
        .map(|(_, mut group)| {
            group.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
            let entries: Vec<(StockMovement, Quantity)> =
                group.iter().map(|(_, _, l)| (l.movement, l.quantity)).collect();
            let (first, last) = (&group[0], &group[group.len() - 1]);
            Effect {
                place: first.2.place,
                product: first.2.product,
                // From zero, the fold is the net movement, or with a count the
                // balance from the count on.
                quantity: samhand_domain::stock::balance(&entries),
                sets: entries.iter().any(|(m, _)| *m == StockMovement::Counted),
                first: (first.0, first.1.to_string()),
                last: (last.0, last.1.to_string()),
            }
        })
        .collect()
}

/// Applies lines just written (each with its id) to the kept balances, in the
/// same transaction: one statement per product they touch. A product whose
/// latest applied line does not come before these is derived from the ledger
/// again. Without a row, the product had no line at the place, and the lines
/// are its whole ledger.
pub(crate) async fn apply(conn: &mut AnyConnection, lines: &[(&str, &NewStockLine<'_>)]) -> Result<()> {
    for effect in effects(lines) {
        // The row is locked by the upsert even where its condition leaves it
        // unchanged (PostgreSQL), so the derivation below sees every line
        // committed before it, and a later line's upsert waits for it.
        let applied = sqlx::query(
            "INSERT INTO stock_balances (place_id, product, quantity_milli, last_at, last_id)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (place_id, product) DO UPDATE SET
               quantity_milli = CASE WHEN $6 = 1 THEN $3 ELSE stock_balances.quantity_milli + $3 END,
               last_at = $4, last_id = $5
             WHERE stock_balances.last_at < $7 OR (stock_balances.last_at = $7 AND stock_balances.last_id < $8)
             RETURNING product",
        )
        .bind(effect.place.to_string())
        .bind(effect.product.code)
        .bind(effect.quantity.milli())
        .bind(effect.last.0)
        .bind(effect.last.1.clone())
        .bind(i64::from(effect.sets))
        .bind(effect.first.0)
        .bind(effect.first.1.clone())
        .fetch_optional(&mut *conn)
        .await
        .map_err(classify)?;
        if applied.is_none() {
            let derived = derived_of_place(conn, effect.place).await?;
            if let Some(row) = derived.iter().find(|k| k.product.code == effect.product.code) {
                put(conn, row).await?;
            }
        }
    }
    Ok(())
}

/// Sets a kept row as given.
async fn put(conn: &mut AnyConnection, row: &KeptBalance) -> Result<()> {
    sqlx::query(
        "INSERT INTO stock_balances (place_id, product, quantity_milli, last_at, last_id)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (place_id, product) DO UPDATE SET
           quantity_milli = $3, last_at = $4, last_id = $5",
    )
    .bind(row.place.to_string())
    .bind(row.product.code)
    .bind(row.quantity.milli())
    .bind(row.last_at)
    .bind(row.last_id.clone())
    .execute(conn)
    .await
    .map_err(classify)?;
    Ok(())
}

/// The balances of a place derived from its ledger alone, in catalogue order:
/// each product's sums from its last count on (`stock::ledger_balances`) and its
/// latest line.
pub async fn derived_of_place(conn: &mut AnyConnection, place: OrganisationId) -> Result<Vec<KeptBalance>> {
    let sums: HashMap<&str, Quantity> = crate::stock::ledger_balances(conn, place)
        .await?
        .into_iter()
        .map(|(p, q)| (p.code, q))
        .collect();
    let mut derived = Vec::new();
    for product in Product::ALL {
        let latest = sqlx::query(
            "SELECT recorded_at, id FROM stock_ledger WHERE place_id = $1 AND product = $2
             ORDER BY recorded_at DESC, id DESC LIMIT 1",
        )
        .bind(place.to_string())
        .bind(product.code)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(latest) = latest {
            derived.push(KeptBalance {
                place,
                product,
                quantity: sums.get(product.code).copied().unwrap_or(Quantity::ZERO),
                last_at: int(&latest, "recorded_at")?,
                last_id: text(&latest, "id")?,
            });
        }
    }
    Ok(derived)
}

/// The places with a ledger line or a kept row.
async fn places(conn: &mut AnyConnection) -> Result<Vec<OrganisationId>> {
    let rows = sqlx::query(
        "SELECT place_id FROM stock_ledger UNION SELECT place_id FROM stock_balances ORDER BY place_id",
    )
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| parsed(r, "place_id")).collect()
}

/// A product at a place whose kept row differs from its ledger.
#[derive(Debug, Clone)]
pub struct Mismatch {
    pub place: OrganisationId,
    pub product: &'static Product,
    pub kept: Option<KeptBalance>,
    pub derived: Option<KeptBalance>,
}

/// Compares every place's kept rows with the balances derived from its ledger.
/// Returns the places compared and the products that differ.
pub async fn verify(conn: &mut AnyConnection) -> Result<(usize, Vec<Mismatch>)> {
    let places = places(conn).await?;
    let mut mismatches = Vec::new();
    for place in &places {
        let kept = of_place(conn, *place).await?;
        let derived = derived_of_place(conn, *place).await?;
        for product in Product::ALL {
            let find = |rows: &[KeptBalance]| rows.iter().find(|k| k.product.code == product.code).cloned();
            let (kept, derived) = (find(&kept), find(&derived));
            if kept != derived {
                mismatches.push(Mismatch {
                    place: *place,
                    product,
                    kept,
                    derived,
                });
            }
        }
    }
    Ok((places.len(), mismatches))
}

/// Derives every place's rows from its ledger again, in the caller's
/// transaction (after an edge removed the lines of patients who left): rows of
/// products without a line go. Returns the places derived.
pub async fn rederive_all(conn: &mut AnyConnection) -> Result<usize> {
    let places = places(conn).await?;
    sqlx::query("DELETE FROM stock_balances")
        .execute(&mut *conn)
        .await?;
    for place in &places {
        for row in derived_of_place(conn, *place).await? {
            put(conn, &row).await?;
        }
    }
    Ok(places.len())
}

/// Builds the rows from the ledger once, when migration 0049 has left its mark
/// (`stock_balances_backfill`): the rows and the removal of the mark commit
/// together. Returns the places derived, or `None` when nothing was pending.
pub async fn backfill(store: &crate::Store) -> Result<Option<usize>> {
    let mut tx = store.write().await?;
    let pending = sqlx::query("SELECT COUNT(*) AS n FROM stock_balances_backfill")
        .fetch_one(&mut *tx)
        .await?;
    if int(&pending, "n")? == 0 {
        return Ok(None);
    }
    let places = rederive_all(&mut tx).await?;
    sqlx::query("DELETE FROM stock_balances_backfill")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(places))
}

/// Derives every place's rows from the ledger again (`samhand verify-state
/// --rebuild`). Returns the places derived.
pub async fn rebuild(store: &crate::Store) -> Result<usize> {
    let mut tx = store.write().await?;
    let places = rederive_all(&mut tx).await?;
    tx.commit().await?;
    Ok(places)
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use samhand_domain::ids::UserId;
    use samhand_domain::organisation::{Organisation, OrganisationKind, Role};

    use super::*;
    use crate::users::{self, NewUser};
    use crate::{Store, organisations, stock};

    async fn place_with_staff(store: &Store, name: &str, at: Timestamp) -> (OrganisationId, UserId) {
        let place = Organisation {
            id: OrganisationId::new(),
            name: name.into(),
            kind: OrganisationKind::MunicipalLarCentre,
            municipality: "Fjordvik".into(),
            open_on_public_holidays: false,
            open_weekdays: [true; 7],
            closed_days: Vec::new(),
        };
        let staff = UserId::new();
        let mut tx = store.write().await.expect("tx");
        organisations::insert(&mut tx, &place, at).await.expect("place");
        let username = format!("utdeler-{}", place.id);
        let user = NewUser {
            id: staff,
            username: &username,
            display_name: "Utdeler",
            role: Role::DispensingStaff,
            organisation_id: place.id,
            password_hash: None,
        };
        users::insert(&mut tx, &user, at).await.expect("user");
        tx.commit().await.expect("commit");
        (place.id, staff)
    }

    /// A small deterministic generator (xorshift), so that a failure repeats.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    #[tokio::test]
    async fn the_kept_balances_equal_the_ledger_after_every_write_of_a_random_history() {
        // H104: a dispensing reads the kept row, not the ledger. Lines of every
        // movement, several products in one write, counts, and lines for an
        // instant before the latest applied (an edge's recording taken later, a
        // count entered afterwards), at two places: after each write the kept
        // rows must equal the balances derived from the ledger.
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::connect(&crate::testing::fresh_database_url(dir.path()).await, 2)
            .await
            .expect("store");
        let start = Timestamp::from_second(1_795_000_000).expect("instant");
        let places = [
            place_with_staff(&store, "LAR-senteret", start).await,
            place_with_staff(&store, "Apoteket", start).await,
        ];
        let products = &Product::ALL[..4];
        let movements = [
            StockMovement::Received,
            StockMovement::Dispensed,
            StockMovement::Dispensed,
            StockMovement::Wasted,
            StockMovement::Returned,
            StockMovement::Counted,
        ];
        let mut rng = Rng(0x5eed_cafe);
        let mut late = 0;
        for step in 0..150i64 {
            let (place, staff) = places[rng.below(2) as usize];
            // Mostly later than every line so far; one write in six an hour to
            // a day earlier.
            let back = if rng.below(6) == 0 {
                late += 1;
                3_600 * (1 + rng.below(24) as i64)
            } else {
                0
            };
            let at = start
                .checked_add(jiff::SignedDuration::from_secs(step * 600 - back))
                .expect("instant");
            let lines: Vec<NewStockLine<'_>> = (0..1 + rng.below(3))
                .map(|_| {
                    NewStockLine::new(
                        place,
                        &products[rng.below(products.len() as u64) as usize],
                        movements[rng.below(movements.len() as u64) as usize],
                        Quantity::from_milli(1 + rng.below(50_000) as i64),
                        "",
                        staff,
                        at,
                    )
                })
                .collect();
            let mut tx = store.write().await.expect("tx");
            stock::insert_lines(&mut tx, &lines).await.expect("lines");
            tx.commit().await.expect("commit");
            let mut conn = store.read().await.expect("conn");
            for (place, _) in places {
                assert_eq!(
                    of_place(&mut conn, place).await.expect("kept"),
                    derived_of_place(&mut conn, place).await.expect("derived"),
                    "after write {step}"
                );
            }
        }
        assert!(late >= 15, "{late} writes before the latest line");
        let mut conn = store.read().await.expect("conn");
        let (compared, mismatches) = verify(&mut conn).await.expect("verify");
        assert_eq!((compared, mismatches.len()), (2, 0));
        // A balance that leaves the ledger is named.
        sqlx::query("UPDATE stock_balances SET quantity_milli = quantity_milli + 1 WHERE place_id = $1")
            .bind(places[0].0.to_string())
            .execute(&mut *conn)
            .await
            .expect("tamper");
        let (_, mismatches) = verify(&mut conn).await.expect("verify");
        assert!(!mismatches.is_empty() && mismatches.iter().all(|m| m.place == places[0].0));
        drop(conn);
        assert_eq!(rebuild(&store).await.expect("rebuild"), 2);
        let mut conn = store.read().await.expect("conn");
        assert!(verify(&mut conn).await.expect("verify").1.is_empty());
    }

    #[tokio::test]
    async fn a_ledger_written_before_the_kept_balances_is_derived_once_at_the_next_start() {
        // Migration 0049 leaves its mark on a database whose ledger has lines:
        // the start after it derives each product's row, and removes the mark.
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::connect(&crate::testing::fresh_database_url(dir.path()).await, 2)
            .await
            .expect("store");
        let at = Timestamp::from_second(1_795_000_000).expect("instant");
        let (place, staff) = place_with_staff(&store, "LAR-senteret", at).await;
        let product = &Product::ALL[0];
        let mut tx = store.write().await.expect("tx");
        for (movement, milli) in [
            (StockMovement::Received, 500_000),
            (StockMovement::Counted, 400_000),
            (StockMovement::Dispensed, 60_000),
        ] {
            let line = NewStockLine::new(
                place,
                product,
                movement,
                Quantity::from_milli(milli),
                "",
                staff,
                at,
            );
            stock::insert_line(&mut tx, &line).await.expect("line");
        }
        // As the ledger stood before the migration: lines, no kept rows.
        sqlx::query("DELETE FROM stock_balances")
            .execute(&mut *tx)
            .await
            .expect("before 0049");
        sqlx::query("INSERT INTO stock_balances_backfill (pending) VALUES (1)")
            .execute(&mut *tx)
            .await
            .expect("the migration's mark");
        tx.commit().await.expect("commit");
        assert_eq!(backfill(&store).await.expect("backfill"), Some(1));
        assert_eq!(backfill(&store).await.expect("again"), None, "once");
        let mut conn = store.read().await.expect("conn");
        let kept = of_place(&mut conn, place).await.expect("kept");
        assert_eq!(
            kept.iter()
                .map(|k| (k.product.code, k.quantity.milli()))
                .collect::<Vec<_>>(),
            [(product.code, 340_000)]
        );
        assert!(verify(&mut conn).await.expect("verify").1.is_empty());
    }
}
