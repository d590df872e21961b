//! The stock of controlled substances per place and product: the product catalogue
//! (oral solutions by strength in ml, sublingual tablets by strength and count, depot
//! syringes by strength), quantities in the product's own unit with their mg
//! equivalent, the ledger balance, which products a dispensed dose is taken from, and
//! when a count's difference is a deviation (avvik) that needs a follow-up.

use crate::dose::Dose;
use crate::substance::{Form, Substance};

crate::coded! {
    /// The unit a product is kept in.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Unit {
        Millilitre = "ml",
        Tablet = "tablet",
        Capsule = "capsule",
        /// A prefilled syringe of a depot injection.
        Syringe = "syringe",
    }
}

impl Unit {
    /// The unit's Norwegian name, in the singular or the plural.
    pub fn name_nb(self, plural: bool) -> &'static str {
        match (self, plural) {
            (Self::Millilitre, _) => "ml",
            (Self::Tablet, false) => "tablett",
            (Self::Tablet, true) => "tabletter",
            (Self::Capsule, false) => "kapsel",
            (Self::Capsule, true) => "kapsler",
            (Self::Syringe, false) => "sprøyte",
            (Self::Syringe, true) => "sprøyter",
        }
    }

    /// A liquid is measured (to a thousandth of a ml); tablets, capsules and syringes
    /// are counted in whole units.
    pub fn is_measured(self) -> bool {
        matches!(self, Self::Millilitre)
    }

    /// What people may type after the number for this unit.
    fn suffixes(self) -> &'static [&'static str] {
        match self {
            Self::Millilitre => &["ml"],
            Self::Tablet => &["stk", "tablett", "tabletter", "tabl", "tbl"],
            Self::Capsule => &["stk", "kapsel", "kapsler", "kaps"],
            Self::Syringe => &["stk", "sprøyte", "sprøyter"],
        }
    }
}

/// One product on the shelf: a substance in a form and strength, kept in a unit.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Product {
    /// Stored in the ledger; never changed once in use.
    pub code: &'static str,
    pub substance: Substance,
    pub form: Form,
    /// Micrograms of the dosed substance per unit (per ml, tablet or syringe); for
    /// buprenorphine-naloxone the buprenorphine, which is what doses are written in.
    pub strength_ug: u64,
    /// The strength as the package says it ("5 mg/ml", "8 mg/2 mg").
    pub strength_nb: &'static str,
    pub unit: Unit,
    pub name_nb: &'static str,
}

const fn product(
    code: &'static str,
    substance: Substance,
    form: Form,
    strength_ug: u64,
    strength_nb: &'static str,
    unit: Unit,
    name_nb: &'static str,
) -> Product {
    Product {
        code,
        substance,
        form,
        strength_ug,
        strength_nb,
        unit,
        name_nb,
    }
}

use Substance::*;

impl Product {
    /// The catalogue, in the order the stock page lists it. Each substance's first
    /// product is its default (see [`Product::default_for`]).
    pub const ALL: &'static [Product] = &[
        product(
            "methadone_solution_1mg_ml",
            MethadoneOralSolution,
            Form::OralSolution,
            1_000,
            "1 mg/ml",
            Unit::Millilitre,
            "Metadon mikstur 1 mg/ml",
        ),
        product(
            "methadone_solution_5mg_ml",
            MethadoneOralSolution,
            Form::OralSolution,
            5_000,
            "5 mg/ml",
            Unit::Millilitre,
            "Metadon mikstur 5 mg/ml",
        ),
        product(
            "levomethadone_solution_5mg_ml",
            Levomethadone,
            Form::OralSolution,
            5_000,
            "5 mg/ml",
            Unit::Millilitre,
            "Levometadon mikstur 5 mg/ml",
        ),
        product(
            "buprenorphine_tablet_2mg",
            BuprenorphineSublingual,
            Form::SublingualTablet,
            2_000,
            "2 mg",
            Unit::Tablet,
            "Buprenorfin sublingvaltablett 2 mg",
        ),
        product(
            "buprenorphine_tablet_0_4mg",
            BuprenorphineSublingual,
            Form::SublingualTablet,
            400,
            "0,4 mg",
            Unit::Tablet,
            "Buprenorfin sublingvaltablett 0,4 mg",
        ),
        product(
            "buprenorphine_tablet_8mg",
            BuprenorphineSublingual,
            Form::SublingualTablet,
            8_000,
            "8 mg",
            Unit::Tablet,
            "Buprenorfin sublingvaltablett 8 mg",
        ),
        product(
            "buprenorphine_naloxone_tablet_2mg",
            BuprenorphineNaloxone,
            Form::SublingualTablet,
            2_000,
            "2 mg/0,5 mg",
            Unit::Tablet,
            "Buprenorfin/nalokson sublingvaltablett 2 mg/0,5 mg",
        ),
        product(
            "buprenorphine_naloxone_tablet_8mg",
            BuprenorphineNaloxone,
            Form::SublingualTablet,
            8_000,
            "8 mg/2 mg",
            Unit::Tablet,
            "Buprenorfin/nalokson sublingvaltablett 8 mg/2 mg",
        ),
        product(
            "buprenorphine_naloxone_tablet_16mg",
            BuprenorphineNaloxone,
            Form::SublingualTablet,
            16_000,
            "16 mg/4 mg",
            Unit::Tablet,
            "Buprenorfin/nalokson sublingvaltablett 16 mg/4 mg",
        ),
        product(
            "depot_weekly_8mg",
            DepotBuprenorphineWeekly,
            Form::Injection,
            8_000,
            "8 mg",
            Unit::Syringe,
            "Depot-buprenorfin ukentlig 8 mg, ferdigfylt sprøyte",
        ),
        product(
            "depot_weekly_16mg",
            DepotBuprenorphineWeekly,
            Form::Injection,
            16_000,
            "16 mg",
            Unit::Syringe,
            "Depot-buprenorfin ukentlig 16 mg, ferdigfylt sprøyte",
        ),
        product(
            "depot_weekly_24mg",
            DepotBuprenorphineWeekly,
            Form::Injection,
            24_000,
            "24 mg",
            Unit::Syringe,
            "Depot-buprenorfin ukentlig 24 mg, ferdigfylt sprøyte",
        ),
        product(
            "depot_weekly_32mg",
            DepotBuprenorphineWeekly,
            Form::Injection,
            32_000,
            "32 mg",
            Unit::Syringe,
            "Depot-buprenorfin ukentlig 32 mg, ferdigfylt sprøyte",
        ),
        product(
            "depot_monthly_64mg",
            DepotBuprenorphineMonthly,
            Form::Injection,
            64_000,
            "64 mg",
            Unit::Syringe,
            "Depot-buprenorfin månedlig 64 mg, ferdigfylt sprøyte",
        ),
        product(
            "depot_monthly_96mg",
            DepotBuprenorphineMonthly,
            Form::Injection,
            96_000,
            "96 mg",
            Unit::Syringe,
            "Depot-buprenorfin månedlig 96 mg, ferdigfylt sprøyte",
        ),
        product(
            "depot_monthly_128mg",
            DepotBuprenorphineMonthly,
            Form::Injection,
            128_000,
            "128 mg",
            Unit::Syringe,
            "Depot-buprenorfin månedlig 128 mg, ferdigfylt sprøyte",
        ),
        product(
            "depot_monthly_160mg",
            DepotBuprenorphineMonthly,
            Form::Injection,
            160_000,
            "160 mg",
            Unit::Syringe,
            "Depot-buprenorfin månedlig 160 mg, ferdigfylt sprøyte",
        ),
        product(
            "morphine_capsule_120mg",
            SlowReleaseMorphine,
            Form::ExtendedReleaseCapsule,
            120_000,
            "120 mg",
            Unit::Capsule,
            "Morfin depotkapsel 120 mg",
        ),
        product(
            "morphine_capsule_200mg",
            SlowReleaseMorphine,
            Form::ExtendedReleaseCapsule,
            200_000,
            "200 mg",
            Unit::Capsule,
            "Morfin depotkapsel 200 mg",
        ),
    ];

    pub fn from_code(code: &str) -> Option<&'static Product> {
        Self::ALL.iter().find(|p| p.code == code)
    }

    /// The products of a substance, in catalogue order.
    pub fn of(substance: Substance) -> impl Iterator<Item = &'static Product> {
        Self::ALL.iter().filter(move |p| p.substance == substance)
    }

    /// The product a substance's amounts in mg are kept in when nothing says which:
    /// the ledger lines from before products (migration 0017 maps them the same way).
    pub fn default_for(substance: Substance) -> &'static Product {
        Self::of(substance).next().expect("every substance has a product")
    }

    /// The mg equivalent of a quantity, in micrograms (rounded to the microgram).
    pub fn micrograms(&self, quantity: Quantity) -> i64 {
        let ug = i128::from(quantity.milli()) * i128::from(self.strength_ug);
        (ug.signum() * ((ug.abs() + 500) / 1000)) as i64
    }

    /// The quantity of this product that holds `amount` (rounded to a thousandth of
    /// the unit).
    pub fn quantity_of(&self, amount: Dose) -> Quantity {
        let milli = (u128::from(amount.micrograms()) * 1000 + u128::from(self.strength_ug) / 2)
            / u128::from(self.strength_ug);
        Quantity::from_milli(milli as i64)
    }

    /// "12 000 ml", "1 tablett", "3 sprøyter", "-0,5 tablett".
    pub fn quantity_nb(&self, quantity: Quantity) -> String {
        let plural = quantity.milli() == 0 || quantity.milli().abs() > 1000;
        format!("{} {}", number_nb(quantity.milli()), self.unit.name_nb(plural))
    }

    /// The quantity with its mg equivalent: "12 000 ml (12 000 mg)".
    pub fn quantity_with_mg_nb(&self, quantity: Quantity) -> String {
        format!(
            "{} ({})",
            self.quantity_nb(quantity),
            mg_nb(self.micrograms(quantity))
        )
    }
}

/// An amount of a product in thousandths of its unit (microlitres of a solution, a
/// thousandth of a tablet), exact. Signed: a ledger's balance or a count's
/// difference can be negative; what people enter never is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity(i64);

/// Why a typed stock quantity was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantityError {
    Empty,
    NotANumber,
    Negative,
    NotPositive,
    TooPrecise,
    /// A fraction of a tablet, capsule or syringe.
    NotWhole,
    TooLarge,
    /// "12.000" or "12,000": twelve, or twelve thousand?
    Ambiguous,
    /// A unit after the number that is not the product's ("mg" for a solution in ml).
    WrongUnit,
}

/// No shelf holds more than this many units (ten tonnes of solution); more is a
/// typing error.
const MAX_UNITS: i64 = 10_000_000;

impl QuantityError {
    /// The sentence staff see next to the field.
    pub fn message_nb(self, product: &Product) -> String {
        let unit = product.unit.name_nb(true);
        match self {
            Self::Empty if product.unit.is_measured() => format!("Skriv inn mengden i {unit}."),
            Self::Empty => format!("Skriv inn antall {unit}."),
            Self::NotANumber => format!(
                "Mengden må være et tall i {unit}, for eksempel 12 000 eller 12,5."
            ),
            Self::Negative => "Mengden kan ikke være negativ.".into(),
            Self::NotPositive => "Mengden må være mer enn null.".into(),
            Self::TooPrecise => "Mengden kan ha høyst tre desimaler.".into(),
            Self::NotWhole => format!("Antall {unit} må være et helt tall."),
            Self::TooLarge => "Mengden er urimelig stor. Sjekk tallet.".into(),
            Self::Ambiguous => {
                "Skriv tusener med mellomrom (12 000) og desimaler med komma (12,5), så tallet ikke kan misforstås."
                    .into()
            }
            Self::WrongUnit => format!(
                "{} telles i {unit}. Skriv mengden i {unit}; mg regnes ut av styrken ({}).",
                product.name_nb, product.strength_nb
            ),
        }
    }
}

impl Quantity {
    pub const ZERO: Quantity = Quantity(0);

    pub fn from_milli(milli: i64) -> Self {
        Self(milli)
    }

    pub fn whole(units: i64) -> Self {
        Self(units * 1000)
    }

    pub fn milli(self) -> i64 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses what staff type for a receipt, waste or count of `unit`: "12000",
    /// "12 000", "12 000 ml", "8,5", "14 stk". Generous about spaces, the unit and a
    /// decimal point, strict where a number could be read two ways: "12.000" and
    /// "12,000" are refused, since one reads it as twelve and another as twelve
    /// thousand. Zero is allowed (a count may find the shelf empty).
    pub fn parse(input: &str, unit: Unit) -> Result<Quantity, QuantityError> {
        let text = input.trim().to_lowercase();
        if text.is_empty() {
            return Err(QuantityError::Empty);
        }
        let split = text
            .char_indices()
            .find(|(_, c)| c.is_alphabetic())
            .map_or(text.len(), |(i, _)| i);
        let (number, suffix) = text.split_at(split);
        let suffix = suffix.trim().trim_end_matches('.');
        if !suffix.is_empty() && !unit.suffixes().contains(&suffix) {
            let known = [
                "mg",
                "g",
                "ml",
                "l",
                "stk",
                "tablett",
                "tabletter",
                "sprøyte",
                "sprøyter",
            ];
            return Err(if known.contains(&suffix) {
                QuantityError::WrongUnit
            } else {
                QuantityError::NotANumber
            });
        }
        let number = number.trim();
        if number.is_empty() {
            return Err(QuantityError::NotANumber);
        }
        if let Some(rest) = number.strip_prefix('-') {
            return Err(if rest.trim().chars().any(|c| c.is_ascii_digit()) {
                QuantityError::Negative
            } else {
                QuantityError::NotANumber
            });
        }
        let separators: Vec<char> = number.chars().filter(|c| matches!(c, ',' | '.')).collect();
        if separators.len() > 1 {
            return Err(QuantityError::Ambiguous);
        }
        let (whole, fraction) = match number.split_once([',', '.']) {
            Some((whole, fraction)) => (whole.trim_end(), fraction.trim_start()),
            None => (number, ""),
        };
        let groups: Vec<&str> = whole
            .split(|c: char| c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}')
            .filter(|g| !g.is_empty())
            .collect();
        let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
        if !groups.iter().all(|g| digits(g)) || !(fraction.is_empty() || digits(fraction)) {
            return Err(QuantityError::NotANumber);
        }
        if groups.len() > 1 && (groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3)) {
            return Err(QuantityError::NotANumber);
        }
        let whole: String = groups.concat();
        if !separators.is_empty()
            && fraction.len() == 3
            && groups.len() == 1
            && !whole.trim_start_matches('0').is_empty()
        {
            return Err(QuantityError::Ambiguous);
        }
        if whole.is_empty() && fraction.is_empty() {
            return Err(QuantityError::NotANumber);
        }
        let fraction = fraction.trim_end_matches('0');
        if fraction.len() > 3 {
            return Err(QuantityError::TooPrecise);
        }
        if !fraction.is_empty() && !unit.is_measured() {
            return Err(QuantityError::NotWhole);
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() > 8 {
            return Err(QuantityError::TooLarge);
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| QuantityError::NotANumber)?
        };
        if whole > MAX_UNITS {
            return Err(QuantityError::TooLarge);
        }
        let fraction: i64 = format!("{fraction:0<3}")
            .parse()
            .map_err(|_| QuantityError::NotANumber)?;
        Ok(Self(whole * 1000 + fraction))
    }

    /// As [`Quantity::parse`], for a receipt or waste, which must be more than zero.
    pub fn parse_positive(input: &str, unit: Unit) -> Result<Quantity, QuantityError> {
        match Self::parse(input, unit)? {
            q if q.is_zero() => Err(QuantityError::NotPositive),
            q => Ok(q),
        }
    }
}

impl std::ops::Add for Quantity {
    type Output = Quantity;
    fn add(self, other: Quantity) -> Quantity {
        Quantity(self.0 + other.0)
    }
}

impl std::ops::Sub for Quantity {
    type Output = Quantity;
    fn sub(self, other: Quantity) -> Quantity {
        Quantity(self.0 - other.0)
    }
}

/// A number of thousandths written the Norwegian way: "12 000", "8,5", "-0,25".
pub fn number_nb(milli: i64) -> String {
    let sign = if milli < 0 { "-" } else { "" };
    let milli = milli.unsigned_abs();
    let whole = (milli / 1000).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    let fraction = milli % 1000;
    if fraction == 0 {
        format!("{sign}{grouped}")
    } else {
        let digits = format!("{fraction:03}");
        format!("{sign}{grouped},{}", digits.trim_end_matches('0'))
    }
}

/// A signed amount in mg with thousands grouped: "12 000 mg", "-15 mg", "12,5 mg".
pub fn mg_nb(micrograms: i64) -> String {
    format!("{} mg", number_nb(micrograms))
}

crate::coded! {
    /// What a deviation (avvik) at a place is about.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum DeviationKind {
        /// A count that differs from the ledger beyond the policy's threshold.
        StockCountMismatch = "stock_count_mismatch",
        /// Something that nearly went wrong, reported and followed up.
        NearMiss = "near_miss",
        /// A recording made at the place's edge while offline that the central
        /// record contradicts (a dose given elsewhere too, a new order, a block).
        EdgeConflict = "edge_conflict",
    }
}

impl DeviationKind {
    pub fn label_nb(self) -> &'static str {
        match self {
            Self::StockCountMismatch => "Telleavvik",
            Self::NearMiss => "Nestenulykke",
            Self::EdgeConflict => "Konflikt etter utlevering uten forbindelse",
        }
    }
}

crate::coded! {
    /// What moves stock in or out of a product's ledger.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum StockMovement {
        Received = "received",
        Dispensed = "dispensed",
        Wasted = "wasted",
        /// A physical count, signed by the counter and a witness; it sets the balance to
        /// what was counted.
        Counted = "counted",
        /// A dispensing corrected after the fact: what it took is put back.
        Returned = "returned",
    }
}

impl StockMovement {
    pub fn name_nb(self) -> &'static str {
        match self {
            Self::Received => "Mottatt",
            Self::Dispensed => "Utlevert",
            Self::Wasted => "Svinn/kassert",
            Self::Counted => "Telling",
            Self::Returned => "Korrigert utlevering",
        }
    }
}

/// The balance one product's ledger gives (signed: a ledger can run negative if more
/// went out than came in, which is itself a discrepancy to find).
pub fn balance(entries: &[(StockMovement, Quantity)]) -> Quantity {
    entries
        .iter()
        .fold(Quantity::ZERO, |balance, (movement, quantity)| match movement {
            StockMovement::Received | StockMovement::Returned => balance + *quantity,
            StockMovement::Dispensed | StockMovement::Wasted => balance - *quantity,
            StockMovement::Counted => *quantity,
        })
}

/// Whether a count's difference (counted − expected) is a deviation that the
/// leaders see and that needs a follow-up note to close: more than the policy's
/// threshold in mg, or, for tablets, capsules and syringes, a whole unit or more
/// (whatever its strength: a counted unit does not evaporate).
pub fn is_deviation(product: &Product, difference: Quantity, threshold: Dose) -> bool {
    let mg_beyond = product.micrograms(difference).unsigned_abs() > threshold.micrograms();
    let unit_missing = !product.unit.is_measured() && difference.milli().abs() >= 1000;
    mg_beyond || unit_missing
}

/// One product's part of a dispensed dose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Take {
    pub product: &'static Product,
    pub quantity: Quantity,
}

/// Which products a dispensed dose of `substance` is taken from, given what the
/// place's ledger holds (`shelf`: product and balance). The candidates are the
/// substance's products the place has in stock; if none has a positive balance, those
/// it has a ledger for; if it has none, the catalogue's.
///
/// - A solution is taken from one bottle: the first candidate (in catalogue order)
///   whose balance covers the dose, else the fullest; ml = mg / strength.
/// - Tablets, capsules and syringes: the fewest units, largest strength first (the
///   exact syringe for a depot dose); a remainder no strength makes up exactly is a
///   part of the smallest unit (a split tablet).
pub fn products_for_dose(
    substance: Substance,
    amount: Dose,
    shelf: &[(&'static Product, Quantity)],
) -> Vec<Take> {
    if amount.is_zero() {
        return Vec::new();
    }
    let of_substance: Vec<(&'static Product, Quantity)> = shelf
        .iter()
        .copied()
        .filter(|(p, _)| p.substance == substance)
        .collect();
    let positive: Vec<(&'static Product, Quantity)> = of_substance
        .iter()
        .copied()
        .filter(|(_, balance)| balance.milli() > 0)
        .collect();
    let mut pool = if !positive.is_empty() {
        positive
    } else if !of_substance.is_empty() {
        of_substance
    } else {
        Product::of(substance).map(|p| (p, Quantity::ZERO)).collect()
    };
    let catalogue_order = |p: &Product| Product::ALL.iter().position(|c| c.code == p.code);
    pool.sort_by_key(|(p, _)| catalogue_order(p));
    pool.dedup_by_key(|(p, _)| p.code);
    let Some(&(first, _)) = pool.first() else {
        return Vec::new();
    };
    if first.unit.is_measured() {
        let covering = pool
            .iter()
            .find(|(p, balance)| p.micrograms(*balance) >= amount.micrograms() as i64);
        // The first of the fullest, in catalogue order (max_by_key keeps the last).
        let fullest = pool
            .iter()
            .rev()
            .max_by_key(|(p, balance)| p.micrograms(*balance));
        let product = covering.or(fullest).map_or(first, |(p, _)| *p);
        return vec![Take {
            product,
            quantity: product.quantity_of(amount),
        }];
    }
    let mut strengths: Vec<&'static Product> = pool.iter().map(|(p, _)| *p).collect();
    strengths.sort_by_key(|p| std::cmp::Reverse(p.strength_ug));
    let mut remaining = amount.micrograms();
    let mut takes: Vec<Take> = Vec::new();
    for product in &strengths {
        let units = remaining / product.strength_ug;
        if units > 0 {
            takes.push(Take {
                product,
                quantity: Quantity::whole(units as i64),
            });
            remaining -= units * product.strength_ug;
        }
    }
    if remaining > 0 {
        let smallest = *strengths.last().expect("a non-empty pool");
        let part = smallest.quantity_of(Dose::from_micrograms(remaining));
        match takes.iter_mut().find(|t| t.product.code == smallest.code) {
            Some(take) => take.quantity = take.quantity + part,
            None => takes.push(Take {
                product: smallest,
                quantity: part,
            }),
        }
    }
    takes
}

#[cfg(test)]
mod tests {
    use super::*;
    use StockMovement::*;

    fn p(code: &str) -> &'static Product {
        Product::from_code(code).expect(code)
    }

    #[test]
    fn every_substance_has_products_with_unique_codes_and_forms_it_allows() {
        for substance in Substance::ALL {
            let default = Product::default_for(substance);
            assert_eq!(default.substance, substance);
        }
        for (i, product) in Product::ALL.iter().enumerate() {
            assert!(
                Product::ALL[i + 1..]
                    .iter()
                    .all(|other| other.code != product.code),
                "{} twice",
                product.code
            );
            assert!(
                product.substance.allowed_forms().contains(&product.form),
                "{}",
                product.code
            );
            assert!(product.strength_ug > 0);
        }
    }

    #[test]
    fn stock_quantities_parse_from_what_staff_type() {
        use QuantityError::*;
        let ml = Unit::Millilitre;
        let tablet = Unit::Tablet;
        let cases: &[(&str, Unit, Result<i64, QuantityError>)] = &[
            ("12000", ml, Ok(12_000_000)),
            ("12 000", ml, Ok(12_000_000)),
            ("12\u{a0}000 ml", ml, Ok(12_000_000)),
            ("41 103", ml, Ok(41_103_000)),
            ("1 000 000", ml, Ok(1_000_000_000)),
            ("8,5", ml, Ok(8_500)),
            ("8.5 mL", ml, Ok(8_500)),
            ("0,250", ml, Ok(250)),
            ("12,50", ml, Ok(12_500)),
            ("0", ml, Ok(0)),
            ("14", tablet, Ok(14_000)),
            ("14 stk", tablet, Ok(14_000)),
            ("3 tabletter", tablet, Ok(3_000)),
            ("", ml, Err(Empty)),
            ("  ", ml, Err(Empty)),
            ("tolv", ml, Err(NotANumber)),
            ("12 00", ml, Err(NotANumber)),
            ("1 2000", ml, Err(NotANumber)),
            ("12 kg", ml, Err(NotANumber)),
            ("-5", ml, Err(Negative)),
            ("12.000", ml, Err(Ambiguous)),
            ("12,000", ml, Err(Ambiguous)),
            ("12.000,5", ml, Err(Ambiguous)),
            ("1,000,000", ml, Err(Ambiguous)),
            ("1,2345", ml, Err(TooPrecise)),
            ("2,5", tablet, Err(NotWhole)),
            ("12000 mg", ml, Err(WrongUnit)),
            ("14 ml", tablet, Err(WrongUnit)),
            ("20 000 000", ml, Err(TooLarge)),
            ("999999999999999999999", ml, Err(TooLarge)),
            (",", ml, Err(NotANumber)),
        ];
        for (input, unit, expected) in cases {
            assert_eq!(
                Quantity::parse(input, *unit).map(Quantity::milli),
                *expected,
                "input {input:?}"
            );
        }
        assert_eq!(Quantity::parse_positive("0", ml), Err(NotPositive));
    }

    #[test]
    fn refusals_are_norwegian_sentences_that_name_the_unit() {
        let solution = p("methadone_solution_1mg_ml");
        assert_eq!(
            QuantityError::Empty.message_nb(solution),
            "Skriv inn mengden i ml."
        );
        assert_eq!(
            QuantityError::NotWhole.message_nb(p("buprenorphine_tablet_8mg")),
            "Antall tabletter må være et helt tall."
        );
        assert!(QuantityError::WrongUnit.message_nb(solution).contains("1 mg/ml"));
    }

    #[test]
    fn quantities_show_in_the_unit_with_the_mg_equivalent() {
        let strong = p("methadone_solution_5mg_ml");
        assert_eq!(
            strong.quantity_with_mg_nb(Quantity::whole(2_400)),
            "2 400 ml (12 000 mg)"
        );
        let weak = p("methadone_solution_1mg_ml");
        assert_eq!(
            weak.quantity_with_mg_nb(Quantity::from_milli(-15_000)),
            "-15 ml (-15 mg)"
        );
        let tablet = p("buprenorphine_naloxone_tablet_8mg");
        assert_eq!(tablet.quantity_nb(Quantity::whole(1)), "1 tablett");
        assert_eq!(
            tablet.quantity_with_mg_nb(Quantity::whole(28)),
            "28 tabletter (224 mg)"
        );
        assert_eq!(mg_nb(41_103_500), "41 103,5 mg");
        assert_eq!(
            strong.quantity_of(Dose::from_micrograms(8_500)),
            Quantity::from_milli(1_700)
        );
    }

    #[test]
    fn the_balance_follows_the_ledger_and_a_count_resets_it() {
        let q = Quantity::whole;
        let cases: &[(&[(StockMovement, Quantity)], i64)] = &[
            (&[], 0),
            (&[(Received, q(1000)), (Dispensed, q(60)), (Wasted, q(5))], 935),
            (
                &[(Received, q(1000)), (Counted, q(900)), (Dispensed, q(100))],
                800,
            ),
            (&[(Dispensed, q(60))], -60),
            (&[(Received, q(100)), (Dispensed, q(60)), (Returned, q(60))], 100),
        ];
        for (entries, expected) in cases {
            assert_eq!(balance(entries), q(*expected), "{entries:?}");
        }
    }

    #[test]
    fn a_difference_beyond_the_threshold_or_a_missing_unit_is_a_deviation() {
        let threshold = Dose::from_mg(5);
        let solution = p("methadone_solution_1mg_ml");
        let strong = p("methadone_solution_5mg_ml");
        let tablet = p("buprenorphine_tablet_0_4mg");
        let cases = [
            (solution, Quantity::from_milli(-5_000), false),
            (solution, Quantity::from_milli(-5_001), true),
            (solution, Quantity::whole(15), true),
            (strong, Quantity::whole(-1), false),
            (strong, Quantity::from_milli(-1_200), true),
            (tablet, Quantity::whole(-1), true),
            (tablet, Quantity::from_milli(500), false),
            (solution, Quantity::ZERO, false),
        ];
        for (product, difference, expected) in cases {
            assert_eq!(
                is_deviation(product, difference, threshold),
                expected,
                "{} {difference:?}",
                product.code
            );
        }
    }

    #[test]
    fn a_dose_is_taken_from_the_products_the_place_holds() {
        let mg = Dose::from_mg;
        let q = Quantity::whole;
        let takes = |substance, amount, shelf: &[(&'static str, i64)]| -> Vec<(&'static str, i64)> {
            let shelf: Vec<(&'static Product, Quantity)> = shelf.iter().map(|(c, n)| (p(c), q(*n))).collect();
            products_for_dose(substance, amount, &shelf)
                .into_iter()
                .map(|t| (t.product.code, t.quantity.milli()))
                .collect()
        };
        type Shelf = Vec<(&'static str, i64)>;
        let cases: Vec<(Substance, Dose, Shelf, Shelf)> = vec![
            // Nothing recorded: the default strength.
            (
                MethadoneOralSolution,
                mg(60),
                vec![],
                vec![("methadone_solution_1mg_ml", 60_000)],
            ),
            // Only the strong solution at the place: ml = mg / 5.
            (
                MethadoneOralSolution,
                Dose::from_micrograms(62_500),
                vec![("methadone_solution_5mg_ml", 500)],
                vec![("methadone_solution_5mg_ml", 12_500)],
            ),
            // Both strengths: the first whose balance covers the dose.
            (
                MethadoneOralSolution,
                mg(60),
                vec![
                    ("methadone_solution_1mg_ml", 40),
                    ("methadone_solution_5mg_ml", 100),
                ],
                vec![("methadone_solution_5mg_ml", 12_000)],
            ),
            // The empty strength is passed over for the one with stock.
            (
                MethadoneOralSolution,
                mg(30),
                vec![
                    ("methadone_solution_1mg_ml", 0),
                    ("methadone_solution_5mg_ml", 100),
                ],
                vec![("methadone_solution_5mg_ml", 6_000)],
            ),
            // Tablets: fewest, largest first.
            (
                BuprenorphineNaloxone,
                mg(26),
                vec![
                    ("buprenorphine_naloxone_tablet_2mg", 100),
                    ("buprenorphine_naloxone_tablet_8mg", 100),
                    ("buprenorphine_naloxone_tablet_16mg", 100),
                ],
                vec![
                    ("buprenorphine_naloxone_tablet_16mg", 1_000),
                    ("buprenorphine_naloxone_tablet_8mg", 1_000),
                    ("buprenorphine_naloxone_tablet_2mg", 1_000),
                ],
            ),
            // Without the 16 mg the place holds 8 mg tablets.
            (
                BuprenorphineNaloxone,
                mg(16),
                vec![("buprenorphine_naloxone_tablet_8mg", 100)],
                vec![("buprenorphine_naloxone_tablet_8mg", 2_000)],
            ),
            // No catalogue strength makes 3 mg of 2 mg tablets: one and a half.
            (
                BuprenorphineSublingual,
                mg(3),
                vec![("buprenorphine_tablet_2mg", 50)],
                vec![("buprenorphine_tablet_2mg", 1_500)],
            ),
            // Nothing recorded for buprenorphine: the whole catalogue, 8 + 2 + 0,4 + 0,4.
            (
                BuprenorphineSublingual,
                Dose::from_micrograms(10_800),
                vec![],
                vec![
                    ("buprenorphine_tablet_8mg", 1_000),
                    ("buprenorphine_tablet_2mg", 1_000),
                    ("buprenorphine_tablet_0_4mg", 2_000),
                ],
            ),
            // A depot dose is one syringe of that strength.
            (
                DepotBuprenorphineWeekly,
                mg(24),
                vec![],
                vec![("depot_weekly_24mg", 1_000)],
            ),
            (
                DepotBuprenorphineMonthly,
                mg(96),
                vec![("depot_monthly_96mg", 3), ("depot_monthly_128mg", 2)],
                vec![("depot_monthly_96mg", 1_000)],
            ),
            // Other substances on the shelf do not count.
            (
                Levomethadone,
                mg(40),
                vec![("methadone_solution_1mg_ml", 1000)],
                vec![("levomethadone_solution_5mg_ml", 8_000)],
            ),
            (MethadoneOralSolution, Dose::default(), vec![], vec![]),
        ];
        for (substance, amount, shelf, expected) in cases {
            assert_eq!(
                takes(substance, amount, &shelf),
                expected,
                "{substance:?} {amount}"
            );
        }
    }

    #[test]
    fn what_is_taken_always_adds_up_to_the_dose() {
        for substance in Substance::ALL {
            // A part of a unit is kept to a thousandth of it.
            let tolerance =
                Product::of(substance).map(|p| p.strength_ug).max().unwrap_or(0) as i64 / 2000 + 1;
            for ug in (100..=200_000).step_by(700) {
                let amount = Dose::from_micrograms(ug);
                let taken: i64 = products_for_dose(substance, amount, &[])
                    .iter()
                    .map(|t| t.product.micrograms(t.quantity))
                    .sum();
                assert!(
                    (taken - ug as i64).abs() <= tolerance,
                    "{substance:?} {ug} µg: took {taken}"
                );
            }
        }
    }
}
