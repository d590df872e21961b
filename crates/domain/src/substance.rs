//! The substance catalogue: the substitution medicines used in LAR, their unit,
//! allowed forms and usual dose range.

use crate::dose::Dose;

crate::coded! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Substance {
        MethadoneOralSolution = "methadone_oral_solution",
        BuprenorphineSublingual = "buprenorphine_sublingual",
        BuprenorphineNaloxone = "buprenorphine_naloxone",
        DepotBuprenorphineWeekly = "depot_buprenorphine_weekly",
        DepotBuprenorphineMonthly = "depot_buprenorphine_monthly",
        SlowReleaseMorphine = "slow_release_morphine",
        Levomethadone = "levomethadone",
    }
}

crate::coded! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Form {
        OralSolution = "oral_solution",
        SublingualTablet = "sublingual_tablet",
        SublingualFilm = "sublingual_film",
        Injection = "injection",
        ExtendedReleaseCapsule = "extended_release_capsule",
        ExtendedReleaseTablet = "extended_release_tablet",
    }
}

/// How often a substance is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DosingInterval {
    Daily,
    /// Depot injections: every so many days, given by health personnel.
    EveryDays(u8),
}

impl Substance {
    /// The name staff know it by.
    pub fn name(self) -> &'static str {
        match self {
            Self::MethadoneOralSolution => "Metadon mikstur",
            Self::BuprenorphineSublingual => "Buprenorfin sublingval",
            Self::BuprenorphineNaloxone => "Buprenorfin-nalokson",
            Self::DepotBuprenorphineWeekly => "Depot-buprenorfin (ukentlig)",
            Self::DepotBuprenorphineMonthly => "Depot-buprenorfin (månedlig)",
            Self::SlowReleaseMorphine => "Morfin depot",
            Self::Levomethadone => "Levometadon",
        }
    }

    /// Doses are always in milligrams of the active substance (methadone as mg of
    /// oral solution at the stated concentration).
    pub fn unit(self) -> &'static str {
        "mg"
    }

    pub fn allowed_forms(self) -> &'static [Form] {
        match self {
            Self::MethadoneOralSolution | Self::Levomethadone => &[Form::OralSolution],
            Self::BuprenorphineSublingual => &[Form::SublingualTablet],
            Self::BuprenorphineNaloxone => &[Form::SublingualTablet, Form::SublingualFilm],
            Self::DepotBuprenorphineWeekly | Self::DepotBuprenorphineMonthly => &[Form::Injection],
            Self::SlowReleaseMorphine => &[Form::ExtendedReleaseCapsule, Form::ExtendedReleaseTablet],
        }
    }

    /// The usual range of one day's (or one injection's) dose; above it the
    /// dose-safety check asks for a confirmed reason.
    pub fn usual_range(self) -> (Dose, Dose) {
        let mg = Dose::from_mg;
        match self {
            Self::MethadoneOralSolution => (mg(10), mg(150)),
            Self::Levomethadone => (mg(5), mg(75)),
            Self::BuprenorphineSublingual | Self::BuprenorphineNaloxone => (mg(2), mg(32)),
            Self::DepotBuprenorphineWeekly => (mg(8), mg(32)),
            Self::DepotBuprenorphineMonthly => (mg(64), mg(160)),
            Self::SlowReleaseMorphine => (mg(200), mg(1200)),
        }
    }

    pub fn interval(self) -> DosingInterval {
        match self {
            Self::DepotBuprenorphineWeekly => DosingInterval::EveryDays(7),
            Self::DepotBuprenorphineMonthly => DosingInterval::EveryDays(28),
            _ => DosingInterval::Daily,
        }
    }

    /// How many days before or after its scheduled day a depot injection may be given
    /// (the product information's window: ±2 days weekly, ±1 week monthly); a missed
    /// window is the depot's missed dose. None for daily substances.
    pub fn injection_window_days(self) -> Option<i64> {
        match self {
            Self::DepotBuprenorphineWeekly => Some(2),
            Self::DepotBuprenorphineMonthly => Some(7),
            _ => None,
        }
    }

    /// Depot injections are given by health personnel and never handed over.
    pub fn is_depot(self) -> bool {
        matches!(
            self,
            Self::DepotBuprenorphineWeekly | Self::DepotBuprenorphineMonthly
        )
    }

    pub fn is_methadone(self) -> bool {
        matches!(self, Self::MethadoneOralSolution | Self::Levomethadone)
    }
}
