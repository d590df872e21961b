//! Enums that travel as text: each value has one code, its column text in the
//! database and its value on the wire, and every value is in `ALL`. Declared with
//! [`coded!`](crate::coded), which writes the enum, `ALL`, `code` and `from_code`
//! from one list, so `ALL` cannot leave a value out and no code is typed twice.

/// A value with a code, and the list of every value.
pub trait Code: Copy + Eq + std::fmt::Debug + 'static {
    /// Every value, in declaration order.
    const ALL: &'static [Self];
    /// The name of the type, for messages and schemas.
    const NAME: &'static str;

    fn code(self) -> &'static str;

    fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|value| value.code() == code)
    }

    /// Every code, in declaration order.
    fn codes() -> Vec<&'static str> {
        Self::ALL.iter().map(|value| value.code()).collect()
    }
}

/// Declares a unit enum whose values have codes: `Variant = "code"`. Doc comments
/// and attributes on the enum and its variants are kept. Also gives the inherent
/// `ALL`, `code` and `from_code`, so callers need not import [`Code`].
#[macro_export]
macro_rules! coded {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $code:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$variant_meta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$($code),+].len()] = [$($name::$variant),+];

            /// The value's code: its text in the database and on the wire.
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|value| value.code() == code)
            }
        }

        impl $crate::code::Code for $name {
            const ALL: &'static [Self] = &$name::ALL;
            const NAME: &'static str = stringify!($name);

            fn code(self) -> &'static str {
                $name::code(self)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::Code;

    /// Every code of a type is distinct and reads back as its value.
    fn holds<T: Code>() {
        let codes = T::codes();
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), codes.len(), "{}: a code used twice", T::NAME);
        for value in T::ALL {
            assert_eq!(T::from_code(value.code()), Some(*value), "{}", T::NAME);
            assert!(!value.code().is_empty());
        }
        assert_eq!(T::from_code("no such code"), None);
    }

    #[test]
    fn every_coded_type_has_distinct_codes_that_read_back() {
        use crate::*;
        holds::<access::Action>();
        holds::<category::DataCategory>();
        holds::<care::LifeDomain>();
        holds::<care::PatientRequestKind>();
        holds::<care::PlanStatus>();
        holds::<status::Occasion>();
        holds::<status::StatusField>();
        holds::<status_report::RecordSource>();
        holds::<status_report::RecordField>();
        holds::<care::TaskStatus>();
        holds::<dispensing::OutcomeKind>();
        holds::<health::HealthConditionKind>();
        holds::<message::MessageKind>();
        holds::<message::Party>();
        holds::<organisation::OrganisationKind>();
        holds::<organisation::Role>();
        holds::<overdose::OverdoseOutcome>();
        holds::<patient::EndReason>();
        holds::<patient::Phase>();
        holds::<privacy::PersonRelation>();
        holds::<privacy::TeamRole>();
        holds::<schedule::IntakeMode>();
        holds::<stay::BundleItem>();
        holds::<stay::StayKind>();
        holds::<stock::DeviationKind>();
        holds::<stock::StockMovement>();
        holds::<stock::Unit>();
        holds::<substance::Form>();
        holds::<substance::Substance>();
    }
}
