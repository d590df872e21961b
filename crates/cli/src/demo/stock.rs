//! The stock plan of the demo world: which products each dispensing took from the
//! place's shelf, fortnightly deliveries, a spill, an evening count of every product
//! signed by two (one short, the open deviation), and a near miss followed up and
//! closed.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;
use samhand_domain::dose::Dose;
use samhand_domain::ids::{DeviationId, OrganisationId, UserId};
use samhand_domain::organisation::OrganisationKind;
use samhand_domain::stock::{Product, Quantity, StockMovement, balance, products_for_dose};
use samhand_domain::substance::Substance;
use samhand_store::stock::{Deviation, FollowUp, StockCount};

use super::generator::PatientPlan;
use super::world::{Place, World};
use super::{at, plus};

pub(super) struct PlannedEntry {
    pub(super) place: OrganisationId,
    pub(super) product: &'static Product,
    pub(super) movement: StockMovement,
    pub(super) quantity: Quantity,
    pub(super) note: String,
    /// The count a counted line belongs to.
    pub(super) count: Option<String>,
    pub(super) by: UserId,
    pub(super) at: Timestamp,
}

pub(super) struct StockPlan {
    pub(super) entries: Vec<PlannedEntry>,
    pub(super) counts: Vec<StockCount>,
    pub(super) deviations: Vec<Deviation>,
    pub(super) follow_ups: Vec<FollowUp>,
}

/// What a demo place keeps of a substance: pharmacies dispense methadone from the
/// 5 mg/ml solution, the others from 1 mg/ml; tablets in two or three strengths;
/// depot syringes and capsules in every strength. Balances are nominal: the choice
/// only needs to know what is there.
fn demo_shelf(kind: OrganisationKind, substance: Substance) -> Vec<(&'static Product, Quantity)> {
    let codes: &[&str] = match (kind, substance) {
        (OrganisationKind::Pharmacy, Substance::MethadoneOralSolution) => &["methadone_solution_5mg_ml"],
        (_, Substance::MethadoneOralSolution) => &["methadone_solution_1mg_ml"],
        (OrganisationKind::MunicipalLarCentre, Substance::BuprenorphineNaloxone) => &[
            "buprenorphine_naloxone_tablet_2mg",
            "buprenorphine_naloxone_tablet_8mg",
            "buprenorphine_naloxone_tablet_16mg",
        ],
        (_, Substance::BuprenorphineNaloxone) => &[
            "buprenorphine_naloxone_tablet_2mg",
            "buprenorphine_naloxone_tablet_8mg",
        ],
        (_, Substance::BuprenorphineSublingual) => &["buprenorphine_tablet_2mg", "buprenorphine_tablet_8mg"],
        _ => &[],
    };
    let products: Vec<&'static Product> = if codes.is_empty() {
        Product::of(substance).collect()
    } else {
        codes.iter().filter_map(|c| Product::from_code(c)).collect()
    };
    products
        .into_iter()
        .map(|p| (p, Quantity::whole(1_000_000)))
        .collect()
}

/// How a delivery is rounded up: whole litre bottles of solution, packs of 28
/// tablets, 30 capsules, syringes in fives.
fn pack(product: &Product) -> i64 {
    match product.unit {
        samhand_domain::stock::Unit::Millilitre => 1_000_000,
        samhand_domain::stock::Unit::Tablet => 28_000,
        samhand_domain::stock::Unit::Capsule => 30_000,
        samhand_domain::stock::Unit::Syringe => 5_000,
    }
}

impl StockPlan {
    /// Which products each recorded dose was taken from, as the server's
    /// `take_for_dispensing` decides it from what the place keeps.
    pub(super) fn take_from_shelves(world: &World, plans: &mut [PatientPlan]) {
        let kinds: HashMap<OrganisationId, OrganisationKind> =
            world.places.iter().map(|p| (p.org.id, p.org.kind)).collect();
        for plan in plans {
            for e in &mut plan.events {
                let shelf = demo_shelf(kinds[&e.event.place_id], e.substance);
                e.takes = products_for_dose(e.substance, e.given(), &shelf);
            }
        }
    }

    /// Deliveries every fortnight sized to what was dispensed (the first centre's
    /// first methadone delivery is a round 12 000 ml on top), one spill, a count of
    /// every product at every place yesterday evening signed by two (one short,
    /// which is the open deviation), and a near miss followed up and closed.
    pub(super) fn from_patients(world: &World, plans: &[PatientPlan], from: Date, yesterday: Date) -> Self {
        let dispensed = dispensed_by_place_and_product(world, plans);
        let mut keys: Vec<(usize, &'static str)> = dispensed.keys().copied().collect();
        keys.sort_by_key(|(place, code)| (*place, Product::ALL.iter().position(|p| p.code == *code)));
        let mut entries = Vec::new();
        let mut counts = Vec::new();
        let mut deviations = Vec::new();
        let threshold = samhand_domain::policy::ClinicalPolicy::default().stock_count_deviation_threshold;
        for (place_index, code) in keys {
            let place = &world.places[place_index];
            let product = Product::from_code(code).expect("a catalogue product");
            let by = place.staff[0];
            let movements = &dispensed[&(place_index, code)];
            let mut ledger: Vec<(StockMovement, Quantity)> = Vec::new();
            for delivery in deliveries(place_index, place, product, movements, from, yesterday) {
                ledger.push((delivery.movement, delivery.quantity));
                entries.push(delivery);
            }
            ledger.extend(movements.iter().map(|(_, q)| (StockMovement::Dispensed, *q)));
            if place_index == 0 && code == "methadone_solution_1mg_ml" {
                let spill = PlannedEntry {
                    place: place.org.id,
                    product,
                    movement: StockMovement::Wasted,
                    quantity: Quantity::whole(5),
                    note: "Sølt under utmåling; kassert i påsyn av kollega.".into(),
                    count: None,
                    by,
                    at: at(plus(yesterday, -9), 9, 12),
                };
                ledger.push((spill.movement, spill.quantity));
                entries.push(spill);
            }
            let expected = balance(&ledger);
            let short = place_index == 1 && product.substance == Substance::MethadoneOralSolution;
            let counted = Quantity::from_milli((expected.milli() - if short { 30_000 } else { 0 }).max(0));
            let counted_at = at(yesterday, 20, 0);
            let count = StockCount {
                id: uuid::Uuid::now_v7().to_string(),
                place_id: place.org.id,
                product,
                counted,
                expected,
                note: "Ukentlig telling ved stengetid.".into(),
                counted_by: by,
                witnessed_by: place.witness,
                counted_at,
            };
            entries.push(PlannedEntry {
                place: place.org.id,
                product,
                movement: StockMovement::Counted,
                quantity: counted,
                note: count.note.clone(),
                count: Some(count.id.clone()),
                by,
                at: counted_at,
            });
            if let Some(deviation) = count_deviation(world, &count, threshold) {
                deviations.push(deviation);
            }
            counts.push(count);
        }
        let (near_miss, follow_ups) = near_miss(world, yesterday);
        deviations.push(near_miss);
        Self {
            entries,
            counts,
            deviations,
            follow_ups,
        }
    }
}

/// What each place dispensed of each product, by day.
fn dispensed_by_place_and_product(
    world: &World,
    plans: &[PatientPlan],
) -> HashMap<(usize, &'static str), Vec<(Date, Quantity)>> {
    let place_index: HashMap<OrganisationId, usize> = world
        .places
        .iter()
        .enumerate()
        .map(|(i, p)| (p.org.id, i))
        .collect();
    let mut dispensed: HashMap<(usize, &'static str), Vec<(Date, Quantity)>> = HashMap::new();
    for plan in plans {
        for e in &plan.events {
            for take in &e.takes {
                dispensed
                    .entry((place_index[&e.event.place_id], take.product.code))
                    .or_default()
                    .push((e.event.day, take.quantity));
            }
        }
    }
    dispensed
}

/// The fortnightly deliveries of one product to one place, each rounded up to whole
/// packs; the first also builds a buffer.
fn deliveries(
    place_index: usize,
    place: &Place,
    product: &'static Product,
    movements: &[(Date, Quantity)],
    from: Date,
    yesterday: Date,
) -> Vec<PlannedEntry> {
    let mut deliveries = Vec::new();
    let mut period_start = from;
    let mut first = true;
    while period_start <= yesterday {
        let period_end = plus(period_start, 14);
        let need: i64 = movements
            .iter()
            .filter(|(d, _)| *d >= period_start && *d < period_end)
            .map(|(_, q)| q.milli())
            .sum();
        // The first delivery also builds a buffer of a week's use.
        let wanted = need * if first { 16 } else { 11 } / 10;
        let mut milli = (wanted + pack(product) - 1) / pack(product) * pack(product);
        if first && place_index == 0 && product.code == "methadone_solution_1mg_ml" {
            milli += 12_000_000;
        }
        if milli > 0 {
            deliveries.push(PlannedEntry {
                place: place.org.id,
                product,
                movement: StockMovement::Received,
                quantity: Quantity::from_milli(milli),
                note: "Levert fra sykehusapoteket.".into(),
                count: None,
                by: place.staff[0],
                at: at(period_start, 7, 30),
            });
        }
        first = false;
        period_start = period_end;
    }
    deliveries
}

/// The deviation a count reports, as the server writes it, with the demo staff's
/// names.
fn count_deviation(world: &World, count: &StockCount, threshold: Dose) -> Option<Deviation> {
    let name = |id: UserId| {
        world
            .users
            .iter()
            .find(|u| u.id == id)
            .map_or("", |u| u.display_name.as_str())
    };
    samhand_server::service::count_deviation(
        count,
        threshold,
        name(count.counted_by),
        name(count.witnessed_by),
    )
}

/// A near miss at the first centre, followed up at the staff meeting and closed by
/// the leader.
fn near_miss(world: &World, yesterday: Date) -> (Deviation, Vec<FollowUp>) {
    let first = &world.places[0];
    let near_miss = Deviation {
        id: DeviationId::new().to_string(),
        place_id: first.org.id,
        kind: samhand_domain::stock::DeviationKind::NearMiss,
        substance: None,
        product: None,
        count_id: None,
        difference_ug: None,
        description: "Nestenhendelse: to pasienter med samme etternavn sto i kø samtidig, og feil dose ble \
                      tatt fram. Identiteten ble kontrollert mot bildet før utlevering, og riktig dose ble \
                      gitt."
            .into(),
        reported_by: first.staff[0],
        reported_at: at(plus(yesterday, -11), 10, 40),
    };
    let leader = world
        .users
        .iter()
        .find(|u| u.username == "leder")
        .map(|u| u.id)
        .expect("the demo has a leader");
    let follow_ups = vec![
        FollowUp {
            id: uuid::Uuid::now_v7().to_string(),
            deviation_id: near_miss.id.clone(),
            note: "Gjennomgått på personalmøtet samme uke.".into(),
            closes: false,
            written_by: first.staff[0],
            written_at: at(plus(yesterday, -10), 14, 0),
        },
        FollowUp {
            id: uuid::Uuid::now_v7().to_string(),
            deviation_id: near_miss.id.clone(),
            note: "Rutinen for opprop med fullt navn og fødselsdato er innskjerpet og lagt i \
                   internkontrollsystemet. Lukket."
                .into(),
            closes: true,
            written_by: leader,
            written_at: at(plus(yesterday, -8), 11, 15),
        },
    ];
    (near_miss, follow_ups)
}
