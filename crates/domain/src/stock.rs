//! The stock ledger of controlled substances per place: received, dispensed, wasted
//! and counted. A count that does not match the ledger opens a deviation.

use crate::dose::Dose;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockMovement {
    Received,
    Dispensed,
    Wasted,
    /// A physical count; it sets the balance to what was counted.
    Counted,
}

impl StockMovement {
    pub fn code(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Dispensed => "dispensed",
            Self::Wasted => "wasted",
            Self::Counted => "counted",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Received, Self::Dispensed, Self::Wasted, Self::Counted]
            .into_iter()
            .find(|m| m.code() == code)
    }
}

/// The balance the ledger gives, in micrograms (signed: a ledger can run negative if
/// more was dispensed than received, which is itself a discrepancy to find).
pub fn balance(entries: &[(StockMovement, Dose)]) -> i64 {
    entries.iter().fold(0i64, |balance, (movement, amount)| {
        let amount = amount.micrograms() as i64;
        match movement {
            StockMovement::Received => balance + amount,
            StockMovement::Dispensed | StockMovement::Wasted => balance - amount,
            StockMovement::Counted => amount,
        }
    })
}

/// What a count found: `None` when it matches, else the difference counted − expected.
pub fn count_discrepancy(expected: i64, counted: Dose) -> Option<i64> {
    let difference = counted.micrograms() as i64 - expected;
    (difference != 0).then_some(difference)
}

/// A signed amount in mg, written the Norwegian way ("-12,5 mg").
pub fn signed_mg_nb(micrograms: i64) -> String {
    let sign = if micrograms < 0 { "-" } else { "" };
    format!("{sign}{}", Dose::from_micrograms(micrograms.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use StockMovement::*;

    #[test]
    fn the_balance_follows_the_ledger_and_a_count_resets_it() {
        let mg = Dose::from_mg;
        let cases: &[(&[(StockMovement, Dose)], i64)] = &[
            (&[], 0),
            (
                &[(Received, mg(1000)), (Dispensed, mg(60)), (Wasted, mg(5))],
                935_000,
            ),
            (
                &[(Received, mg(1000)), (Counted, mg(900)), (Dispensed, mg(100))],
                800_000,
            ),
            (&[(Dispensed, mg(60))], -60_000),
        ];
        for (entries, expected) in cases {
            assert_eq!(balance(entries), *expected, "{entries:?}");
        }
    }

    #[test]
    fn a_count_that_differs_from_the_ledger_is_a_discrepancy() {
        assert_eq!(count_discrepancy(935_000, Dose::from_mg(935)), None);
        assert_eq!(count_discrepancy(935_000, Dose::from_mg(925)), Some(-10_000));
        assert_eq!(signed_mg_nb(-10_500), "-10,5 mg");
        assert_eq!(signed_mg_nb(2_000), "2 mg");
    }
}
