//! Typed identifiers: one newtype over a UUIDv7 per kind of record, so that a
//! patient id can never be passed where a dose order id is expected.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered identifier.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self)
            }
        }
    )*};
}

// Modules that own a kind of record may declare its id beside it.
pub(crate) use id_type;

id_type!(
    PatientId,
    OrganisationId,
    UserId,
    EpisodeId,
    DoseOrderId,
    DrugTestId,
    StayId,
    ArrangementId,
    PatientGroupId,
    DispensingId,
    StockEntryId,
    DeviationId,
    CoverId,
    BlockReassessmentId,
    ConsentId,
    CareTeamMemberId,
    MeetingId,
    TaskId,
    TaskStatusId,
    PlanVersionId,
    HealthNoteId,
    MessageId,
    NamedPersonId,
    EmergencyAccessId,
);
