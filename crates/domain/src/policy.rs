//! The clinical policy table: every threshold DOMAIN.md names, with its default. An
//! organisation may change a value; the store keeps each change with who and when.

use crate::dose::Dose;
use crate::dose_order::DoseSafetyPolicy;
use crate::missed::MissedDosePolicy;

/// One setting: its key in the policy table, its default, and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicySetting {
    pub key: &'static str,
    pub default: i64,
    pub description_nb: &'static str,
}

pub const SETTINGS: &[PolicySetting] = &[
    PolicySetting {
        key: "missed_dose.alert_after_days",
        default: 1,
        description_nb: "Antall dager på rad uten dose før forskriver og koordinator varsles",
    },
    PolicySetting {
        key: "missed_dose.tolerated_days",
        default: 4,
        description_nb: "Antall dager på rad uten dose som tåles; én dag til sperrer ordinasjonen",
    },
    PolicySetting {
        key: "methadone.max_increase_mg",
        default: 10,
        description_nb: "Største metadonøkning i ett steg uten bekreftelse (mg)",
    },
    PolicySetting {
        key: "methadone.min_days_between_increases",
        default: 14,
        description_nb: "Minste antall dager mellom metadonøkninger i oppstartsfasen",
    },
    PolicySetting {
        key: "holiday.warning_days",
        default: 14,
        description_nb: "Hvor mange dager fram lista varsler om udekte helligdager",
    },
    PolicySetting {
        key: "messages.escalate_after_hours",
        default: 4,
        description_nb: "Timer før en viktig, ulest melding eskaleres til mottakerenhetens leder",
    },
    PolicySetting {
        key: "emergency_access.hours",
        default: 4,
        description_nb: "Hvor mange timer en akuttilgang varer før den må begrunnes på nytt",
    },
    PolicySetting {
        key: "care_team.meeting_interval_days",
        default: 42,
        description_nb: "Antall dager mellom ansvarsgruppemøter før neste møte er forfalt",
    },
    PolicySetting {
        key: "stays.planning_notice_days",
        default: 14,
        description_nb: "Antall dager før planlagt utskrivning kommune, koordinator og LAR-enhet varsles på nytt",
    },
    PolicySetting {
        key: "dispensing.correction_window_days",
        default: 0,
        description_nb: "Dager etter en registrering som den som registrerte eller en kollega ved stedet kan korrigere den (0: samme dag); deretter bare leder ved stedet eller lege",
    },
    PolicySetting {
        key: "stock.count_deviation_threshold_mg",
        default: 5,
        description_nb: "Største forskjell i mg mellom telling og lagerregnskap før tellingen blir et avvik som må følges opp (en hel tablett eller sprøyte er alltid avvik)",
    },
    PolicySetting {
        key: "referral.assessment_working_days",
        default: 10,
        description_nb: "Frist for vurdering av en henvisning, i virkedager etter mottak (pasient- og brukerrettighetsloven § 2-2)",
    },
    PolicySetting {
        key: "drug_tests.sample_grace_days",
        default: 2,
        description_nb: "Dager etter at en prøveperiode er over før en prøve som ikke er levert, vises som manglende",
    },
    PolicySetting {
        key: "edi.receipt_hours",
        default: 24,
        description_nb: "Timer etter at en EDI-melding er sendt uten kvittering (AppRec) før den vises som ubesvart",
    },
    PolicySetting {
        key: "edge.days_ahead",
        default: 3,
        description_nb: "Hvor mange dager fram et utleveringssted med lokal Samhand (edge) holder pasientenes data for drift uten forbindelse",
    },
    PolicySetting {
        key: "edge.offline_confirm_hours",
        default: 24,
        description_nb: "Timer uten forbindelse før hver utlevering ved et sted med lokal Samhand (edge) må bekreftes av en kollega",
    },
];

/// The policy in force, as typed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClinicalPolicy {
    pub missed: MissedDosePolicy,
    pub dose_safety: DoseSafetyPolicy,
    pub holiday_warning_days: i64,
    /// How long an emergency access (akuttilgang) lasts.
    pub emergency_access_hours: i64,
    /// Hours before an important unread message escalates to the unit's leader.
    pub message_escalation_hours: i64,
    /// Days between meetings of the responsibility group (ansvarsgruppemøte).
    pub meeting_interval_days: i64,
    /// Days before a planned discharge that the units are told again.
    pub stay_planning_notice_days: i64,
    /// Days after a recording at the window that staff at the place may correct it
    /// (0: the same day); after that only the place's leader or a prescriber.
    pub correction_window_days: i64,
    /// A count that differs from the ledger by more than this is a deviation.
    pub stock_count_deviation_threshold: Dose,
    /// Working days after receipt within which a referral is assessed.
    pub referral_assessment_working_days: i64,
    /// Days after a drug-test window before a sample not delivered shows as missing.
    pub sample_grace_days: i64,
    /// Hours after an EDI message is sent before one without receipt is flagged.
    pub edi_receipt_hours: i64,
    /// Days ahead of today that a place's edge holds its patients' data for.
    pub edge_days_ahead: i64,
    /// Hours offline after which each recording at an edge needs a colleague's
    /// confirmation.
    pub edge_offline_confirm_hours: i64,
}

impl Default for ClinicalPolicy {
    fn default() -> Self {
        Self::from_values(&[])
    }
}

impl ClinicalPolicy {
    /// Builds the policy from stored (key, value) rows; keys not given keep their
    /// default, and values out of their sensible range fall back to the default.
    pub fn from_values(values: &[(String, i64)]) -> Self {
        let get = |key: &str| -> i64 {
            let default = SETTINGS
                .iter()
                .find(|s| s.key == key)
                .map(|s| s.default)
                .expect("known key");
            values
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| *v)
                .filter(|v| (0..=365).contains(v))
                .unwrap_or(default)
        };
        Self {
            missed: MissedDosePolicy {
                alert_after_days: get("missed_dose.alert_after_days") as u32,
                tolerated_days: get("missed_dose.tolerated_days") as u32,
            },
            dose_safety: DoseSafetyPolicy {
                methadone_max_increase: Dose::from_mg(get("methadone.max_increase_mg") as u64),
                methadone_min_days_between_increases: get("methadone.min_days_between_increases"),
            },
            holiday_warning_days: get("holiday.warning_days"),
            // An access of zero hours would be useless; one hour is the least.
            emergency_access_hours: get("emergency_access.hours").max(1),
            message_escalation_hours: get("messages.escalate_after_hours").max(1),
            // A group that meets every day is no cadence; one day is the least.
            meeting_interval_days: get("care_team.meeting_interval_days").max(1),
            stay_planning_notice_days: get("stays.planning_notice_days"),
            correction_window_days: get("dispensing.correction_window_days"),
            stock_count_deviation_threshold: Dose::from_mg(get("stock.count_deviation_threshold_mg") as u64),
            // A deadline of zero working days would be breached on arrival.
            referral_assessment_working_days: get("referral.assessment_working_days").max(1),
            sample_grace_days: get("drug_tests.sample_grace_days"),
            // A receipt cannot come back at once; an hour is the least.
            edi_receipt_hours: get("edi.receipt_hours").max(1),
            edge_days_ahead: get("edge.days_ahead"),
            // Offline for no time at all is not offline; an hour is the least.
            edge_offline_confirm_hours: get("edge.offline_confirm_hours").max(1),
        }
    }
}

/// Whether a key names a known setting.
pub fn is_known_setting(key: &str) -> bool {
    SETTINGS.iter().any(|s| s.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_override_defaults_and_the_latest_wins() {
        let policy = ClinicalPolicy::from_values(&[
            ("missed_dose.tolerated_days".into(), 3),
            ("missed_dose.tolerated_days".into(), 2),
            ("holiday.warning_days".into(), -5),
        ]);
        assert_eq!(policy.missed.tolerated_days, 2);
        assert_eq!(policy.missed.alert_after_days, 1);
        assert_eq!(policy.holiday_warning_days, 14, "out-of-range value falls back");
        assert_eq!(ClinicalPolicy::default().missed.tolerated_days, 4);
        assert_eq!(ClinicalPolicy::default().meeting_interval_days, 42);
        assert_eq!(
            ClinicalPolicy::default().stock_count_deviation_threshold,
            Dose::from_mg(5)
        );
    }
}
