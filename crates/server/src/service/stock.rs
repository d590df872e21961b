//! Stock of controlled substances per place and product: the stock page's view,
//! receipts and waste, counts signed by a counter and a witness, deviations with
//! their follow-up notes and who oversees them, and the two ledger operations the
//! dispensing code runs in its own transaction ([`take_for_dispensing`],
//! [`return_for_correction`]).
//!
//! Who oversees a place's deviations: the place's own leader, and the leader of
//! every LAR unit with a patient in treatment whose arrangement today is at the
//! place (the place where the unit's patients collect their medicine).

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use samhand_domain::access::{Action, DataCategory};
use samhand_domain::arrangement::effective_arrangement;
use samhand_domain::dose::Dose;
use samhand_domain::ids::{DeviationId, DispensingId, OrganisationId, UserId};
use samhand_domain::organisation::{Organisation, Role, StaffUser};
use samhand_domain::stock::{Product, Quantity, StockMovement, is_deviation, products_for_dose};
use samhand_domain::substance::Substance;
use samhand_domain::validation::FieldErrors;
use samhand_store::stock::{self as stock_store, Deviation, FollowUp, NewStockLine, StockCount, StockLine};
use samhand_store::{StoreError, orders as order_store, patients};

use super::Service;
use crate::auth::check_password;
use crate::error::{AppError, AppResult};
use samhand_store::native::Fetch;

/// How many ledger lines the stock page shows.
const RECENT_LINES: i64 = 50;

/// The kind of deviation a count opens.

#[derive(Debug, Clone)]
pub struct StockView {
    pub place: Organisation,
    /// What the ledger says each product holds.
    pub balances: Vec<(&'static Product, Quantity)>,
    /// The latest ledger lines, newest first.
    pub lines: Vec<StockLine>,
    /// The counts, newest first.
    pub counts: Vec<StockCount>,
    /// Every deviation at the place, newest first.
    pub deviations: Vec<DeviationView>,
    pub names: HashMap<UserId, String>,
}

/// A deviation with its follow-up notes.
#[derive(Debug, Clone)]
pub struct DeviationView {
    pub deviation: Deviation,
    pub place_name: String,
    /// Oldest first.
    pub follow_ups: Vec<FollowUp>,
}

impl DeviationView {
    /// The note that closed it, if one has.
    pub fn closed_by(&self) -> Option<&FollowUp> {
        self.follow_ups.iter().find(|f| f.closes)
    }

    pub fn is_open(&self) -> bool {
        self.closed_by().is_none()
    }
}

/// A receipt or waste, as typed.
#[derive(Debug, Clone, Default)]
pub struct StockInput {
    pub product: String,
    /// "received" or "wasted".
    pub movement: String,
    pub quantity: String,
    pub note: String,
}

/// A count, as typed, with the witness's username and password.
#[derive(Debug, Clone)]
pub struct CountInput {
    pub product: String,
    pub quantity: String,
    pub note: String,
    pub witness_username: String,
    pub witness_password: String,
    /// The client address the count is sent from: the witness's password is
    /// checked with the login's limits and lockout from there.
    pub client: std::net::IpAddr,
}

#[derive(Debug, Clone)]
pub struct CountResult {
    pub count: StockCount,
    /// The deviation the count opened, when its difference is beyond the policy's.
    pub deviation: Option<Deviation>,
    pub names: HashMap<UserId, String>,
}

#[derive(Debug, Clone, Default)]
pub struct FollowUpInput {
    pub note: String,
    pub close: bool,
}

/// The product a form names, or a field error.
fn product_field(code: &str, errors: &mut FieldErrors) -> Option<&'static Product> {
    let product = Product::from_code(code.trim());
    if product.is_none() {
        errors.push("product", "Velg produkt.");
    }
    product
}

/// A count's fields checked: the product, the quantity counted in its unit, and the
/// witness's username (someone other than the counter, with a password given).
fn count_fields<'a>(
    input: &'a CountInput,
    counter: &StaffUser,
) -> AppResult<(&'static Product, Quantity, &'a str)> {
    let mut errors = FieldErrors::default();
    let product = product_field(&input.product, &mut errors);
    let counted = product.and_then(|product| {
        Quantity::parse(&input.quantity, product.unit)
            .map_err(|e| errors.push("quantity", e.message_nb(product)))
            .ok()
    });
    let witness_name = input.witness_username.trim();
    if witness_name.is_empty() {
        errors.push(
            "witness_username",
            "Skriv brukernavnet til den som kontrollerer tellingen.",
        );
    } else if witness_name.eq_ignore_ascii_case(&counter.username) {
        errors.push(
            "witness_username",
            "Vitnet må være en annen enn den som teller. Be en kollega kontrollere tellingen.",
        );
    }
    if input.witness_password.is_empty() {
        errors.push("witness_password", "Vitnet skriver inn sitt eget passord.");
    }
    let (Some(product), Some(counted), true) = (product, counted, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    Ok((product, counted, witness_name))
}

/// The deviation a count opens when it differs from the ledger beyond the threshold,
/// naming who counted and who witnessed (the demo writes its counts' deviations with
/// it too).
pub fn count_deviation(
    count: &StockCount,
    threshold: Dose,
    counter: &str,
    witness: &str,
) -> Option<Deviation> {
    let product = count.product;
    let difference = count.counted - count.expected;
    is_deviation(product, difference, threshold).then(|| Deviation {
        id: DeviationId::new().to_string(),
        place_id: count.place_id,
        kind: samhand_domain::stock::DeviationKind::StockCountMismatch,
        substance: Some(product.substance),
        product: Some(product),
        count_id: Some(count.id.clone()),
        difference_ug: Some(product.micrograms(difference)),
        description: format!(
            "Telling av {}: talt {}, regnskapet sa {}. Differanse {}. Talt av {counter}, kontrollert av {witness}.",
            product.name_nb,
            product.quantity_with_mg_nb(count.counted),
            product.quantity_with_mg_nb(count.expected),
            product.quantity_with_mg_nb(difference),
        ),
        reported_by: count.counted_by,
        reported_at: count.counted_at,
    })
}

impl Service<'_> {
    /// The stock of the actor's place: balances per product, the latest ledger
    /// lines, the counts and the deviations with their follow-ups.
    pub async fn stock(&self) -> AppResult<StockView> {
        crate::auth::require(samhand_domain::access::may_keep_stock(self.staff()?))?;
        let place = self.own_place().await?;
        let (balances, lines, counts) = {
            let mut conn = self.state.store.read().await?;
            (
                stock_store::balances(&mut conn, place.id).await?,
                stock_store::recent_lines(&mut conn, place.id, RECENT_LINES).await?,
                stock_store::counts(&mut conn, place.id).await?,
            )
        };
        let deviations = self.deviations_at(&place).await?;
        let people: Vec<UserId> = lines
            .iter()
            .map(|l| l.recorded_by)
            .chain(counts.iter().flat_map(|c| [c.counted_by, c.witnessed_by]))
            .chain(deviations.iter().flat_map(|d| {
                std::iter::once(d.deviation.reported_by).chain(d.follow_ups.iter().map(|f| f.written_by))
            }))
            .collect();
        let names = self.names(people).await?;
        Ok(StockView {
            place,
            balances,
            lines,
            counts,
            deviations,
            names,
        })
    }

    async fn deviations_at(&self, place: &Organisation) -> AppResult<Vec<DeviationView>> {
        let mut conn = self.state.store.read().await?;
        let deviations = stock_store::deviations(&mut conn, place.id).await?;
        let follow_ups = stock_store::follow_ups(&mut conn, place.id).await?;
        Ok(deviations
            .into_iter()
            .map(|deviation| DeviationView {
                follow_ups: follow_ups
                    .iter()
                    .filter(|f| f.deviation_id == deviation.id)
                    .cloned()
                    .collect(),
                place_name: place.name.clone(),
                deviation,
            })
            .collect())
    }

    /// Records a receipt or waste of a product at the actor's place.
    pub async fn stock_movement(&self, input: &StockInput) -> AppResult<()> {
        crate::auth::require(samhand_domain::access::may_keep_stock(self.staff()?))?;
        let place = self.own_place().await?;
        let mut errors = FieldErrors::default();
        let product = product_field(&input.product, &mut errors);
        let movement = StockMovement::from_code(input.movement.trim())
            .filter(|m| matches!(m, StockMovement::Received | StockMovement::Wasted));
        if movement.is_none() {
            errors.push("movement", "Velg mottak eller svinn.");
        }
        let quantity = product.and_then(|product| {
            Quantity::parse_positive(&input.quantity, product.unit)
                .map_err(|e| errors.push("quantity", e.message_nb(product)))
                .ok()
        });
        if movement == Some(StockMovement::Wasted) && input.note.trim().is_empty() {
            errors.push("note", "Skriv hva som ble kassert og hvorfor.");
        }
        let (Some(product), Some(movement), Some(quantity), true) =
            (product, movement, quantity, errors.is_empty())
        else {
            return Err(AppError::Invalid(errors));
        };
        let mut tx = self.state.store.write().await?;
        stock_store::insert_line(
            &mut tx,
            &NewStockLine::new(
                place.id,
                product,
                movement,
                quantity,
                input.note.trim(),
                self.actor().id(),
                self.now(),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a count of one product, signed by the actor and a witness: another
    /// active staff member of the same place, who confirms with their own username
    /// and password on this screen. The password is checked as a login is (counted,
    /// with the same lockout); a refused witness is in the audit log and nothing is
    /// written. A difference beyond the policy's threshold opens a deviation.
    pub async fn stock_count(&self, input: &CountInput) -> AppResult<CountResult> {
        let counter = self.staff()?.clone();
        crate::auth::require(samhand_domain::access::may_keep_stock(&counter))?;
        let place = self.own_place().await?;
        let (product, counted, witness_name) = count_fields(input, &counter)?;
        let witness = self
            .confirm_witness(&place, input.client, witness_name, &input.witness_password)
            .await?;
        let policy = self.policy().await?;
        let now = self.now();
        let mut tx = self.state.store.write().await?;
        // The balance is read inside the write transaction, its rows locked, so
        // that a dispensing cannot slip in between the count and its comparison.
        let expected = stock_store::balances_for_update(&mut tx, place.id)
            .await?
            .into_iter()
            .find(|(p, _)| p.code == product.code)
            .map_or(Quantity::ZERO, |(_, balance)| balance);
        let count = StockCount {
            id: uuid::Uuid::now_v7().to_string(),
            place_id: place.id,
            product,
            counted,
            expected,
            note: input.note.trim().to_string(),
            counted_by: counter.id,
            witnessed_by: witness.id,
            counted_at: now,
        };
        stock_store::insert_count(&mut tx, &count).await?;
        stock_store::insert_line(
            &mut tx,
            &NewStockLine {
                count: Some(&count.id),
                ..NewStockLine::new(
                    place.id,
                    product,
                    StockMovement::Counted,
                    counted,
                    &count.note,
                    counter.id,
                    now,
                )
            },
        )
        .await?;
        let deviation = count_deviation(
            &count,
            policy.stock_count_deviation_threshold,
            &counter.display_name,
            &witness.display_name,
        );
        if let Some(deviation) = &deviation {
            stock_store::insert_deviation(&mut tx, deviation).await?;
        }
        tx.commit().await?;
        Ok(CountResult {
            count,
            deviation,
            names: HashMap::from([
                (counter.id, counter.display_name.clone()),
                (witness.id, witness.display_name.clone()),
            ]),
        })
    }

    /// The witness of a count, after their password: an active staff member of the
    /// place other than the counter. A refusal is audited and answers as a field
    /// error on the password, with the login's words (no hint whether the username
    /// exists).
    async fn confirm_witness(
        &self,
        place: &Organisation,
        client: std::net::IpAddr,
        username: &str,
        password: &str,
    ) -> AppResult<StaffUser> {
        let refused = |message: String| AppError::Invalid(FieldErrors::single("witness_password", message));
        let witness = match check_password(self.state, client, username, password).await {
            Ok(witness) => witness,
            Err(AppError::Forbidden(message)) => {
                self.audit_refused_witness(place, username, "wrong username or password, or locked")
                    .await?;
                return Err(refused(message));
            }
            Err(other) => return Err(other),
        };
        if witness.id == self.actor().id() {
            self.audit_refused_witness(place, username, "the witness is the counter")
                .await?;
            return Err(refused("Vitnet må være en annen enn den som teller.".into()));
        }
        if witness.organisation_id != place.id {
            self.audit_refused_witness(place, username, "the witness works elsewhere")
                .await?;
            return Err(refused(format!(
                "Vitnet må arbeide ved {}. Be en kollega her kontrollere tellingen.",
                place.name
            )));
        }
        Ok(witness)
    }

    async fn audit_refused_witness(&self, place: &Organisation, username: &str, why: &str) -> AppResult<()> {
        let detail = format!("stock count at {}: witness {username:?} refused: {why}", place.id);
        self.repo
            .record_denial(None, DataCategory::Dispensing, Action::Write, &detail)
            .await
    }

    /// The places whose deviations the actor sees as a leader: their own place, or
    /// for a LAR unit the places where the unit's patients in treatment have today's
    /// arrangement. Only the set of places leaves here, no patient's data.
    async fn places_overseen(&self, leader: &StaffUser) -> AppResult<Vec<Organisation>> {
        let organisations = self.organisations().await?;
        let Some(unit) = organisations.get(&leader.organisation_id) else {
            return Ok(Vec::new());
        };
        if !unit.kind.is_lar_unit() {
            return Ok(if unit.kind.can_dispense() {
                vec![unit.clone()]
            } else {
                Vec::new()
            });
        }
        let today = self.today();
        let mut conn = self.state.store.read().await?;
        let ids = patients::ids_of_unit(&mut conn, unit.id).await?;
        let episodes = patients::episodes_of(&mut conn, &ids).await?;
        let arrangements = order_store::arrangements_of(&mut conn, &ids).await?;
        let in_treatment: HashSet<_> = episodes
            .iter()
            .filter(|e| e.is_active_on(today))
            .map(|e| e.patient_id)
            .collect();
        let mut places: Vec<Organisation> = Vec::new();
        for id in &in_treatment {
            let theirs: Vec<_> = arrangements
                .iter()
                .filter(|a| a.patient_id == *id)
                .cloned()
                .collect();
            if let Some(arrangement) = effective_arrangement(&theirs, today)
                && let Some(place) = organisations.get(&arrangement.content.place_id)
                && !places.iter().any(|p| p.id == place.id)
            {
                places.push(place.clone());
            }
        }
        places.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(places)
    }

    /// The open deviations a leader oversees (for the leader's overview): those at
    /// their own place, or for a LAR unit's leader at the places it oversees.
    pub async fn open_deviations_overseen(&self) -> AppResult<Vec<DeviationView>> {
        let leader = self.staff()?.clone();
        if !samhand_domain::access::may_lead(&leader) {
            return Ok(Vec::new());
        }
        let mut open = Vec::new();
        for place in self.places_overseen(&leader).await? {
            open.extend(
                self.deviations_at(&place)
                    .await?
                    .into_iter()
                    .filter(DeviationView::is_open),
            );
        }
        open.sort_by_key(|d| std::cmp::Reverse(d.deviation.reported_at));
        Ok(open)
    }

    /// One deviation with its follow-ups, for staff of its place and the leaders who
    /// oversee it; `true` when the actor may close it.
    pub async fn deviation(&self, id: &str) -> AppResult<(DeviationView, bool, HashMap<UserId, String>)> {
        let staff = self.staff()?.clone();
        let deviation = {
            let mut conn = self.state.store.read().await?;
            stock_store::deviation(&mut conn, id)
                .await?
                .ok_or_else(|| AppError::NotFound("avviket".into()))?
        };
        let organisations = self.organisations().await?;
        let place = organisations
            .get(&deviation.place_id)
            .cloned()
            .ok_or_else(|| AppError::NotFound("stedet".into()))?;
        let at_the_place =
            staff.organisation_id == place.id && matches!(staff.role, Role::DispensingStaff | Role::Leader);
        let overseeing = staff.role == Role::Leader
            && self
                .places_overseen(&staff)
                .await?
                .iter()
                .any(|p| p.id == place.id);
        if !(at_the_place || overseeing) {
            return Err(AppError::Forbidden(
                "Avviket hører til et sted du ikke arbeider ved eller har ansvar for.".into(),
            ));
        }
        let view = self
            .deviations_at(&place)
            .await?
            .into_iter()
            .find(|d| d.deviation.id == deviation.id)
            .ok_or_else(|| AppError::NotFound("avviket".into()))?;
        let people =
            std::iter::once(view.deviation.reported_by).chain(view.follow_ups.iter().map(|f| f.written_by));
        let names = self.names(people).await?;
        Ok((view, overseeing, names))
    }

    /// Writes a follow-up note on a deviation. Staff of the place may write notes;
    /// a leader who oversees it may also close it, once. Notes are never changed.
    pub async fn follow_up_deviation(&self, id: &str, input: &FollowUpInput) -> AppResult<FollowUp> {
        let (view, may_close, _) = self.deviation(id).await?;
        let note = input.note.trim();
        if note.is_empty() {
            return Err(AppError::Invalid(FieldErrors::single(
                "note",
                "Skriv hva som er undersøkt eller gjort.",
            )));
        }
        if input.close && !may_close {
            return Err(AppError::Forbidden(
                "Bare stedets leder eller LAR-enhetens leder kan lukke avviket.".into(),
            ));
        }
        if !view.is_open() {
            return Err(AppError::Conflict("Avviket er allerede lukket.".into()));
        }
        let follow_up = FollowUp {
            id: uuid::Uuid::now_v7().to_string(),
            deviation_id: view.deviation.id.clone(),
            note: note.to_string(),
            closes: input.close,
            written_by: self.actor().id(),
            written_at: self.now(),
        };
        let mut tx = self.state.store.write().await?;
        match stock_store::insert_follow_up(&mut tx, &follow_up).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(AppError::Conflict("Avviket er allerede lukket.".into()));
            }
            Err(other) => return Err(other.into()),
        }
        tx.commit().await?;
        Ok(follow_up)
    }
}

/// Takes a dispensed dose from the place's stock, in the dispensing's write
/// transaction: one ledger line per product the dose came from, chosen by
/// [`products_for_dose`] from what the place's ledger holds, each tied to `event`.
/// Nothing is written for a dose of zero.
pub(crate) async fn take_for_dispensing(
    conn: &mut impl Fetch,
    place: OrganisationId,
    substance: Substance,
    amount: Dose,
    event: DispensingId,
    actor: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    if amount.is_zero() {
        return Ok(());
    }
    let shelf = stock_store::balances(conn, place).await?;
    let lines: Vec<NewStockLine<'_>> = products_for_dose(substance, amount, &shelf)
        .into_iter()
        .map(|take| NewStockLine {
            dispensing: Some(event),
            ..NewStockLine::new(
                place,
                take.product,
                StockMovement::Dispensed,
                take.quantity,
                "",
                actor,
                at,
            )
        })
        .collect();
    stock_store::insert_lines(conn, &lines).await?;
    Ok(())
}

/// Puts back what a corrected dispensing took, in the correction's write
/// transaction: for each line `original` took at `place`, a `returned` line of the
/// same product and quantity that names the line it reverses and the `correction`.
/// A line is reversed at most once (`stock_ledger_reversed_once`, a
/// [`StoreError::Conflict`]); a dispensing that took nothing writes nothing.
pub(crate) async fn return_for_correction(
    conn: &mut impl Fetch,
    place: OrganisationId,
    original: DispensingId,
    correction: DispensingId,
    actor: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    for taken in stock_store::taken_by(conn, place, original).await? {
        stock_store::insert_line(
            conn,
            &NewStockLine {
                dispensing: Some(original),
                correction: Some(correction),
                reverses: Some(&taken.id),
                ..NewStockLine::new(
                    place,
                    taken.product,
                    StockMovement::Returned,
                    taken.quantity,
                    "Korrigert utlevering",
                    actor,
                    at,
                )
            },
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use samhand_domain::ids::PatientId;
    use samhand_domain::national_id::NationalId;
    use samhand_domain::organisation::OrganisationKind;
    use samhand_domain::patient::NewPatient;
    use samhand_store::dispensing::{self, DispensingEvent};
    use samhand_store::users::NewUser;
    use samhand_store::{Store, organisations, users};

    use super::*;

    async fn dispensing_of(
        conn: &mut samhand_store::PatientWrite,
        place: OrganisationId,
        patient: PatientId,
        by: UserId,
        at: Timestamp,
    ) -> DispensingId {
        let event = DispensingEvent {
            id: DispensingId::new(),
            idempotency_key: uuid::Uuid::now_v7().to_string(),
            patient_id: patient,
            place_id: place,
            day: date(2026, 11, 23),
            outcome: samhand_domain::dispensing::OutcomeKind::Given,
            reason: None,
            identity_confirmed_by: by,
            recorded_by: by,
            recorded_at: at,
        };
        dispensing::insert(conn, &event, &[], Substance::MethadoneOralSolution, &[])
            .await
            .expect("event");
        event.id
    }

    #[tokio::test]
    async fn a_correction_returns_exactly_the_lines_its_dispensing_took_and_only_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = samhand_store::testing::fresh_database_url(dir.path()).await;
        let store = Store::connect(&url, 2).await.expect("store");
        let at = Timestamp::from_second(1_795_000_000).expect("instant");
        let place = Organisation {
            id: OrganisationId::new(),
            name: "LAR-senteret Sentrum".into(),
            kind: OrganisationKind::MunicipalLarCentre,
            municipality: "Fjordvik".into(),
            open_on_public_holidays: false,
            open_weekdays: [true; 7],
            closed_days: Vec::new(),
        };
        let nurse = UserId::new();
        let patient = PatientId::new();
        let actor = samhand_domain::access::Actor::Staff(samhand_domain::organisation::StaffUser {
            id: nurse,
            username: "utdeler".into(),
            display_name: "Utdeler Ulla".into(),
            role: Role::DispensingStaff,
            organisation_id: place.id,
            organisation_kind: place.kind,
        });
        let recorded = samhand_store::audit::AuditEntry {
            at,
            actor: &actor,
            patient: Some(patient),
            category: samhand_domain::access::DataCategory::Dispensing,
            action: samhand_domain::access::Action::Write,
            allowed: true,
            relation: "dispensing_place",
            detail: "dispensing recorded",
        };
        let mut tx = samhand_store::PatientWrite::begin(&store, &[recorded])
            .await
            .expect("tx");
        organisations::insert(&mut tx, &place, at).await.expect("place");
        users::insert(
            &mut tx,
            &NewUser {
                id: nurse,
                username: "utdeler",
                display_name: "Utdeler Ulla",
                role: Role::DispensingStaff,
                organisation_id: place.id,
                password_hash: None,
            },
            at,
        )
        .await
        .expect("user");
        let new_patient = NewPatient {
            national_id: NationalId::synthetic(date(1980, 5, 17), 123).expect("number"),
            given_name: "Kari".into(),
            family_name: "Nordmann".into(),
            phone: String::new(),
            address: String::new(),
        };
        samhand_store::patients::insert(&mut tx, patient, &new_patient, nurse, at)
            .await
            .expect("patient");
        let solution = Product::from_code("methadone_solution_1mg_ml").expect("product");
        stock_store::insert_line(
            &mut tx,
            &NewStockLine::new(
                place.id,
                solution,
                StockMovement::Received,
                Quantity::whole(12_000),
                "Levering",
                nurse,
                at,
            ),
        )
        .await
        .expect("receipt");

        // Tablets by strength: 26 mg is 16 + 8 + 2, three lines.
        let original = dispensing_of(&mut tx, place.id, patient, nurse, at).await;
        take_for_dispensing(
            &mut tx,
            place.id,
            Substance::BuprenorphineNaloxone,
            Dose::from_mg(26),
            original,
            nurse,
            at,
        )
        .await
        .expect("take tablets");
        let other = dispensing_of(&mut tx, place.id, patient, nurse, at).await;
        take_for_dispensing(
            &mut tx,
            place.id,
            Substance::MethadoneOralSolution,
            Dose::from_mg(60),
            other,
            nurse,
            at,
        )
        .await
        .expect("take solution");
        let before = stock_store::balances(&mut tx, place.id).await.expect("balances");
        let taken = stock_store::taken_by(&mut tx, place.id, original)
            .await
            .expect("taken");
        assert_eq!(taken.len(), 3, "{taken:?}");

        let correction = DispensingId::new();
        return_for_correction(&mut tx, place.id, original, correction, nurse, at)
            .await
            .expect("return");
        // A dispensing that took nothing gives nothing back.
        let nothing = dispensing_of(&mut tx, place.id, patient, nurse, at).await;
        return_for_correction(&mut tx, place.id, nothing, DispensingId::new(), nurse, at)
            .await
            .expect("nothing to return");
        tx.commit().await.expect("commit");

        let mut conn = store.read().await.expect("conn");
        let ledger = stock_store::ledger(&mut conn, place.id).await.expect("ledger");
        let returned: Vec<&StockLine> = ledger
            .iter()
            .filter(|l| l.movement == StockMovement::Returned)
            .collect();
        assert_eq!(returned.len(), 3, "exactly the original's lines: {returned:?}");
        for (line, back) in taken.iter().zip(&returned) {
            assert_eq!(back.product.code, line.product.code);
            assert_eq!(back.quantity, line.quantity);
            assert_eq!(back.reverses_line_id.as_deref(), Some(line.id.as_str()));
            assert_eq!(back.correction_id, Some(correction));
            assert_eq!(back.dispensing_event_id, Some(original));
        }
        let after = stock_store::balances(&mut conn, place.id)
            .await
            .expect("balances");
        let of = |balances: &[(&'static Product, Quantity)], code: &str| {
            balances
                .iter()
                .find(|(p, _)| p.code == code)
                .map(|(_, q)| q.milli())
        };
        assert_eq!(of(&before, "buprenorphine_naloxone_tablet_16mg"), Some(-1_000));
        assert_eq!(of(&after, "buprenorphine_naloxone_tablet_16mg"), Some(0));
        assert_eq!(of(&after, "buprenorphine_naloxone_tablet_2mg"), Some(0));
        assert_eq!(
            of(&after, "methadone_solution_1mg_ml"),
            Some(11_940_000),
            "the other dispensing stays taken"
        );
        drop(conn);

        let mut tx = store.write().await.expect("tx");
        let again = return_for_correction(&mut tx, place.id, original, DispensingId::new(), nurse, at).await;
        assert!(
            matches!(again, Err(StoreError::Conflict("stock_ledger_reversed_once"))),
            "a line is returned once: {again:?}"
        );
    }
}
