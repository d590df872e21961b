//! Referrals to LAR (henvisning): who referred, why, the referring service's own
//! assessment and the day the referral was received; and the assessment deadline,
//! counted in Norwegian working days from that day (pasient- og
//! brukerrettighetsloven § 2-2; policy `referral.assessment_working_days`).

use jiff::ToSpan;
use jiff::civil::{Date, Weekday};

use crate::calendar::public_holiday;
use crate::ids::{EpisodeId, OrganisationId, PatientId, UserId};
use crate::organisation::{OrganisationKind, Role, StaffUser};
use crate::validation::{FieldErrors, parse_date, required_text};

/// Whether a date is a Norwegian working day: Monday to Friday and not a public
/// holiday (Maundy Thursday, Good Friday, Easter Monday, 1 and 17 May, Ascension
/// Day, Whit Monday, Christmas and Boxing Day, New Year's Day).
pub fn is_working_day(date: Date) -> bool {
    !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) && public_holiday(date).is_none()
}

/// The day `working_days` working days after `from` (the day of receipt itself is
/// not counted: a referral received on a Monday with 10 working days is due on the
/// Monday two weeks later when no holiday falls between).
pub fn add_working_days(from: Date, working_days: i64) -> Date {
    let mut date = from;
    let mut left = working_days.max(0);
    while left > 0 {
        date = date.saturating_add(1.day());
        if is_working_day(date) {
            left -= 1;
        }
    }
    date
}

/// The last day on which a referral received on `received_on` is assessed in time.
pub fn assessment_deadline(received_on: Date, working_days: i64) -> Date {
    add_working_days(received_on, working_days)
}

/// Whether a staff member may send a referral to a LAR unit from Samhand: a
/// referring service's health personnel, at a GP office (the fastlege) or a
/// municipal health and care service (LAR centre, home service, prison health
/// service); not an administrator, not NAV (not a health service) and not a LAR
/// unit (whose staff register the referrals they receive).
pub fn may_refer(staff: &StaffUser) -> bool {
    matches!(
        staff.organisation_kind,
        OrganisationKind::GpOffice
            | OrganisationKind::MunicipalLarCentre
            | OrganisationKind::HomeService
            | OrganisationKind::PrisonHealthService
    ) && staff.role != Role::Administrator
}

/// A referral as typed by staff or a referring service.
#[derive(Debug, Clone, Default)]
pub struct ReferralInput {
    pub referrer_name: String,
    pub referrer_service: String,
    pub reason: String,
    pub referrer_assessment: String,
    pub received_on: String,
}

/// A referral's details, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralDetails {
    pub referrer_name: String,
    pub referrer_service: String,
    pub reason: String,
    pub referrer_assessment: String,
    pub received_on: Date,
}

const MAX_TEXT: usize = 4000;

impl ReferralDetails {
    /// Checks a referral's details; the day received may not lie after `today`.
    pub fn parse(input: &ReferralInput, today: Date, errors: &mut FieldErrors) -> Option<Self> {
        let before = errors.0.len();
        let referrer_name = required_text(
            errors,
            "referrer_name",
            &input.referrer_name,
            "Skriv inn hvem som henviste.",
        );
        let referrer_service = required_text(
            errors,
            "referrer_service",
            &input.referrer_service,
            "Skriv inn den henvisende tjenesten (f.eks. fastlegekontor eller NAV-kontor).",
        );
        let reason = required_text(
            errors,
            "reason",
            &input.reason,
            "Skriv inn årsaken til henvisningen.",
        );
        let referrer_assessment = required_text(
            errors,
            "referrer_assessment",
            &input.referrer_assessment,
            "Skriv inn den henvisende tjenestens vurdering.",
        );
        for (field, value) in [
            ("referrer_name", &referrer_name),
            ("referrer_service", &referrer_service),
            ("reason", &reason),
            ("referrer_assessment", &referrer_assessment),
        ] {
            if value.chars().count() > MAX_TEXT {
                errors.push(field, format!("Teksten kan være høyst {MAX_TEXT} tegn."));
            }
        }
        let received_on = parse_date(&input.received_on);
        match received_on {
            None => errors.push(
                "received_on",
                "Skriv inn en gyldig dato for når henvisningen kom (dd.mm.åååå).",
            ),
            Some(day) if day > today => {
                errors.push("received_on", "Mottaksdatoen kan ikke være i framtiden.")
            }
            Some(_) => {}
        }
        let received_on = received_on?;
        (errors.0.len() == before).then_some(Self {
            referrer_name,
            referrer_service,
            reason,
            referrer_assessment,
            received_on,
        })
    }
}

/// A registered referral; never changed (the assessment is its own record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referral {
    pub id: String,
    pub patient_id: PatientId,
    pub episode_id: EpisodeId,
    pub details: ReferralDetails,
    /// The Samhand user of the referring service, when it referred in Samhand.
    pub referred_by_user: Option<UserId>,
    /// The referring service as a registered organisation, when it is one (in
    /// Samhand, or outside it with a HER-id): told of the assessment decision.
    pub referrer_organisation: Option<OrganisationId>,
    pub registered_by: UserId,
    pub registered_at: jiff::Timestamp,
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn ten_working_days_skip_weekends() {
        // Monday 2 March 2026: two full weeks later, no holiday between.
        assert_eq!(assessment_deadline(date(2026, 3, 2), 10), date(2026, 3, 16));
        // Received on a Saturday: the count starts on Monday.
        assert_eq!(assessment_deadline(date(2026, 3, 7), 1), date(2026, 3, 9));
    }

    #[test]
    fn easter_moves_the_deadline() {
        // Easter 2026: Maundy Thursday 2 April, Good Friday 3 April, Easter Monday 6 April.
        // Received Monday 30 March: working days 31.3, 1.4, 7.4, 8.4, 9.4, 10.4,
        // 13.4, 14.4, 15.4, 16.4.
        assert_eq!(assessment_deadline(date(2026, 3, 30), 10), date(2026, 4, 16));
    }

    #[test]
    fn may_holidays_move_the_deadline() {
        // 2027: 1 May is a Saturday, Ascension Day 6 May, 17 May a Monday,
        // Whit Monday also 17 May. Received Friday 30 April 2027: working days
        // 3, 4, 5, 7, 10, 11, 12, 13, 14, 18 May.
        assert_eq!(assessment_deadline(date(2027, 4, 30), 10), date(2027, 5, 18));
        assert!(!is_working_day(date(2027, 5, 17)));
        assert!(!is_working_day(date(2027, 5, 6)));
    }

    #[test]
    fn details_are_checked() {
        let today = date(2026, 3, 10);
        let mut errors = FieldErrors::default();
        let input = ReferralInput {
            referrer_name: "Lege Test".into(),
            referrer_service: "Testbyen legekontor".into(),
            reason: "Opioidavhengighet".into(),
            referrer_assessment: "Trenger LAR".into(),
            received_on: "11.03.2026".into(),
        };
        assert!(ReferralDetails::parse(&input, today, &mut errors).is_none());
        assert!(errors.for_field("received_on").is_some());
        let mut errors = FieldErrors::default();
        let ok = ReferralInput {
            received_on: "2026-03-09".into(),
            ..input.clone()
        };
        let details = ReferralDetails::parse(&ok, today, &mut errors).expect("valid");
        assert_eq!(details.received_on, date(2026, 3, 9));
        let mut errors = FieldErrors::default();
        let empty = ReferralInput {
            reason: " ".into(),
            ..ok
        };
        assert!(ReferralDetails::parse(&empty, today, &mut errors).is_none());
        assert!(errors.for_field("reason").is_some());
    }
}
