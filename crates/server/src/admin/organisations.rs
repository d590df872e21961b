//! Registering organisations and setting up dispensing places.

use samhand_domain::arrangement::{PatientGroup, TimeWindow};
use samhand_domain::ids::{OrganisationId, PatientGroupId};
use samhand_domain::organisation::{
    HerId, OrgNumber, Organisation, OrganisationKind, Registration, StaffUser, check_responsible_unit,
};
use samhand_domain::validation::{FieldErrors, parse_date, parse_time};
use samhand_store::organisations;

use super::{AppResult, check_administrator, find_organisation, optional};
use crate::AppState;
use crate::error::AppError;
use samhand_store::native::Fetch;

/// An organisation as typed in a form, a request or on the command line.
#[derive(Debug, Clone, Default)]
pub struct OrganisationInput {
    pub name: String,
    /// The kind's code (`municipal_lar_centre`, …).
    pub kind: String,
    pub municipality: String,
    pub org_number: String,
    pub her_id: String,
    pub address: String,
    pub phone: String,
    /// The responsible LAR unit's id or exact name; empty for none.
    pub responsible_unit: String,
}

/// The registration of an organisation of `kind`, checked field by field into
/// `errors`.
async fn checked_registration(
    conn: &mut impl Fetch,
    kind: Option<OrganisationKind>,
    input: &OrganisationInput,
    errors: &mut FieldErrors,
) -> AppResult<Registration> {
    let org_number = optional(&input.org_number)
        .map(OrgNumber::parse)
        .transpose()
        .unwrap_or_else(|e| {
            errors.push("org_number", e);
            None
        });
    let her_id = optional(&input.her_id)
        .map(HerId::parse)
        .transpose()
        .unwrap_or_else(|e| {
            errors.push("her_id", e);
            None
        });
    let unit = match optional(&input.responsible_unit) {
        Some(key) => {
            let found = find_organisation(conn, key).await?;
            if found.is_none() {
                errors.push(
                    "responsible_unit",
                    format!("Fant ingen organisasjon som heter «{key}»."),
                );
            }
            found
        }
        None => None,
    };
    if let Some(kind) = kind
        && let Err(problem) = check_responsible_unit(kind, unit.as_ref())
    {
        errors.push("responsible_unit", problem);
    }
    Ok(Registration {
        org_number,
        her_id,
        address: input.address.trim().to_string(),
        phone: input.phone.trim().to_string(),
        responsible_unit: unit.map(|u| u.id),
    })
}

/// The organisation and its registration, checked field by field; every problem is
/// named at once.
async fn checked_organisation(
    conn: &mut impl Fetch,
    input: &OrganisationInput,
) -> AppResult<(Organisation, Registration)> {
    let mut errors = FieldErrors::default();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push("name", "Skriv navnet (høyst 200 tegn).");
    }
    let kind = OrganisationKind::from_code(input.kind.trim());
    if kind.is_none() {
        errors.push("kind", "Velg hva slags organisasjon det er.");
    }
    let registration = checked_registration(conn, kind, input, &mut errors).await?;
    let Some(kind) = kind.filter(|_| errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let organisation = Organisation {
        id: OrganisationId::new(),
        name: name.to_string(),
        kind,
        municipality: input.municipality.trim().to_string(),
        open_on_public_holidays: false,
        open_weekdays: [true; 7],
        closed_days: Vec::new(),
    };
    Ok((organisation, registration))
}

fn number_taken(error: samhand_store::StoreError) -> AppError {
    match error {
        samhand_store::StoreError::Conflict("organisations_her_id_unique") => {
            AppError::Conflict("Det finnes allerede en organisasjon med denne HER-id-en.".into())
        }
        error => AppError::from(error)
            .conflict_as("Det finnes allerede en organisasjon med dette organisasjonsnummeret."),
    }
}

/// Registers an organisation. A dispensing place opens every day until its opening
/// days are set.
pub async fn add_organisation(
    state: &AppState,
    by: Option<&StaffUser>,
    input: &OrganisationInput,
) -> AppResult<(Organisation, Registration)> {
    check_administrator(by)?;
    let mut tx = state.store.write().await?;
    let added = insert_organisation(&mut tx, input, state.clock.now()).await?;
    tx.commit().await?;
    tracing::info!(
        organisation = added.0.name.as_str(),
        kind = added.0.kind.code(),
        by = by.map(|u| u.username.as_str()).unwrap_or("command line"),
        "organisation registered"
    );
    Ok(added)
}

/// Checks and writes an organisation in the caller's transaction.
pub(crate) async fn insert_organisation(
    tx: &mut impl Fetch,
    input: &OrganisationInput,
    now: jiff::Timestamp,
) -> AppResult<(Organisation, Registration)> {
    let (organisation, registration) = checked_organisation(tx, input).await?;
    organisations::insert(tx, &organisation, now).await.map_err(|e| {
        AppError::from(e).conflict_as("Det finnes allerede en organisasjon med dette navnet.")
    })?;
    organisations::set_registration(tx, organisation.id, &registration, now)
        .await
        .map_err(number_taken)?;
    Ok((organisation, registration))
}

/// Changes what the register and the address book know of an organisation (its
/// name and kind stay).
pub async fn update_registration(
    state: &AppState,
    by: Option<&StaffUser>,
    id: OrganisationId,
    input: &OrganisationInput,
) -> AppResult<Registration> {
    check_administrator(by)?;
    let mut conn = state.store.read().await?;
    let organisation = organisations::get(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::NotFound("organisasjonen".into()))?;
    let mut errors = FieldErrors::default();
    let registration = checked_registration(&mut conn, Some(organisation.kind), input, &mut errors).await?;
    drop(conn);
    if registration.responsible_unit == Some(id) {
        errors.push(
            "responsible_unit",
            "En organisasjon kan ikke være ansvarlig for seg selv.",
        );
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let mut tx = state.store.write().await?;
    organisations::set_registration(&mut tx, id, &registration, state.clock.now())
        .await
        .map_err(number_taken)?;
    tx.commit().await?;
    Ok(registration)
}

/// A dispensing place's opening days and hours and capacity, as typed.
#[derive(Debug, Clone, Default)]
pub struct PlaceInput {
    /// Monday first.
    pub open_weekdays: [bool; 7],
    pub open_on_public_holidays: bool,
    pub opens_at: String,
    pub closes_at: String,
    pub capacity: String,
}

/// Sets a dispensing place's opening days and hours and its capacity.
pub async fn set_place(
    state: &AppState,
    by: Option<&StaffUser>,
    id: OrganisationId,
    input: &PlaceInput,
) -> AppResult<()> {
    check_administrator(by)?;
    let place = dispensing_place(state, id).await?;
    let mut errors = FieldErrors::default();
    let time = |text: &str, field: &'static str, errors: &mut FieldErrors| {
        optional(text).and_then(|t| {
            let parsed = parse_time(t);
            if parsed.is_none() {
                errors.push(field, "Skriv klokkeslettet som tt.mm, for eksempel 08.00.");
            }
            parsed
        })
    };
    let opens_at = time(&input.opens_at, "opens_at", &mut errors);
    let closes_at = time(&input.closes_at, "closes_at", &mut errors);
    if opens_at.is_some() != closes_at.is_some() {
        errors.push(
            "closes_at",
            "Skriv både når stedet åpner og når det stenger, eller ingen av dem.",
        );
    }
    if let (Some(opens), Some(closes)) = (opens_at, closes_at)
        && opens >= closes
    {
        errors.push("closes_at", "Stedet må stenge etter at det åpner.");
    }
    let capacity = optional(&input.capacity).and_then(|c| match c.parse::<i64>() {
        Ok(n) if (1..=100_000).contains(&n) => Some(n),
        _ => {
            errors.push("capacity", "Kapasiteten er et helt tall fra 1 og oppover.");
            None
        }
    });
    if !input.open_weekdays.iter().any(|open| *open) {
        errors.push("open_weekdays", "Et utleveringssted må ha minst én åpen ukedag.");
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let settings = organisations::PlaceSettings {
        opens_at,
        closes_at,
        capacity,
    };
    let mut tx = state.store.write().await?;
    organisations::set_place(
        &mut tx,
        place.id,
        input.open_weekdays,
        input.open_on_public_holidays,
        &settings,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn dispensing_place(state: &AppState, id: OrganisationId) -> AppResult<Organisation> {
    let mut conn = state.store.read().await?;
    let place = organisations::get(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::NotFound("organisasjonen".into()))?;
    if !place.kind.can_dispense() {
        return Err(AppError::Conflict(format!(
            "{} deler ikke ut legemidler.",
            place.name
        )));
    }
    Ok(place)
}

/// Closes a place on a day beyond the public holidays, with the reason.
pub async fn add_closed_day(
    state: &AppState,
    by: Option<&StaffUser>,
    id: OrganisationId,
    date: &str,
    reason: &str,
) -> AppResult<()> {
    check_administrator(by)?;
    let place = dispensing_place(state, id).await?;
    let mut errors = FieldErrors::default();
    let date = parse_date(date);
    if date.is_none() {
        errors.push("date", "Skriv datoen som dd.mm.åååå.");
    }
    if date.is_some_and(|d| d < state.clock.today()) {
        errors.push("date", "Datoen har vært; et stengt døgn settes opp på forhånd.");
    }
    let reason = reason.trim();
    if reason.chars().count() < 3 {
        errors.push("reason", "Skriv hvorfor stedet er stengt.");
    }
    let Some(date) = date.filter(|_| errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let day = organisations::ClosedDay {
        place_id: place.id,
        date,
        reason: reason.to_string(),
    };
    let mut tx = state.store.write().await?;
    organisations::insert_closed_day(&mut tx, &day, by.map(|b| b.id), state.clock.now())
        .await
        .map_err(|e| AppError::from(e).conflict_as("Stedet er allerede stengt denne dagen."))?;
    tx.commit().await?;
    Ok(())
}

/// Adds a patient group with its time window at a place.
pub async fn add_group(
    state: &AppState,
    by: Option<&StaffUser>,
    id: OrganisationId,
    name: &str,
    start: &str,
    end: &str,
) -> AppResult<PatientGroup> {
    check_administrator(by)?;
    let place = dispensing_place(state, id).await?;
    let mut errors = FieldErrors::default();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push("group_name", "Skriv navnet på gruppen (høyst 100 tegn).");
    }
    let start = parse_time(start);
    let end = parse_time(end);
    if start.is_none() {
        errors.push("window_start", "Skriv klokkeslettet som tt.mm.");
    }
    if end.is_none() {
        errors.push("window_end", "Skriv klokkeslettet som tt.mm.");
    }
    let window = start.zip(end).and_then(|(s, e)| TimeWindow::new(s, e));
    if start.is_some() && end.is_some() && window.is_none() {
        errors.push("window_end", "Tidsvinduet må slutte etter at det begynner.");
    }
    let Some(window) = window.filter(|_| errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    let group = PatientGroup {
        id: PatientGroupId::new(),
        place_id: place.id,
        name: name.to_string(),
        window,
    };
    let mut tx = state.store.write().await?;
    organisations::insert_group(&mut tx, &group).await?;
    tx.commit().await?;
    Ok(group)
}

/// An organisation as the administrator sees it.
#[derive(Debug, Clone)]
pub struct OrganisationView {
    pub organisation: Organisation,
    pub registration: Registration,
    pub place: organisations::PlaceSettings,
    pub closed_days: Vec<organisations::ClosedDay>,
    pub groups: Vec<PatientGroup>,
    pub responsible_unit_name: Option<String>,
}

/// Every organisation with what the administrator sets up.
pub async fn organisations_view(state: &AppState, by: &StaffUser) -> AppResult<Vec<OrganisationView>> {
    check_administrator(Some(by))?;
    let mut conn = state.store.read().await?;
    let all = organisations::all(&mut conn).await?;
    let closed = organisations::closed_days(&mut conn).await?;
    let groups = organisations::groups(&mut conn).await?;
    let mut views = Vec::with_capacity(all.len());
    for organisation in &all {
        let registration = organisations::registration(&mut conn, organisation.id)
            .await?
            .unwrap_or_default();
        let place = organisations::place_settings(&mut conn, organisation.id).await?;
        let responsible_unit_name = registration
            .responsible_unit
            .and_then(|u| all.iter().find(|o| o.id == u))
            .map(|o| o.name.clone());
        views.push(OrganisationView {
            organisation: organisation.clone(),
            registration,
            place,
            closed_days: closed
                .iter()
                .filter(|d| d.place_id == organisation.id)
                .cloned()
                .collect(),
            groups: groups
                .iter()
                .filter(|g| g.place_id == organisation.id)
                .cloned()
                .collect(),
            responsible_unit_name,
        });
    }
    Ok(views)
}
