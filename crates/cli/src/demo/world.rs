//! The demo's world: the organisations and dispensing places with their opening
//! days, patient groups and staff.

use super::*;

// ------------------------------------------------------------------ the world

pub(super) struct DemoUser {
    pub(super) id: UserId,
    pub(super) username: String,
    pub(super) display_name: String,
    pub(super) role: Role,
    pub(super) organisation: OrganisationId,
    /// One of the demo logins, with the demo password; other staff cannot log in.
    pub(super) login: bool,
}

pub(super) struct Place {
    pub(super) org: Organisation,
    pub(super) groups: Vec<PatientGroup>,
    /// Dispensing staff who record at this place.
    pub(super) staff: Vec<UserId>,
    /// A second staff member, who witnesses the counts.
    pub(super) witness: UserId,
    /// Share of the patients who collect here.
    pub(super) share: f64,
    /// The patient's own time window when not in a group.
    pub(super) own_window: (Time, Time),
    pub(super) postcode: &'static str,
}

pub(super) struct World {
    pub(super) unit: Organisation,
    pub(super) others: Vec<Organisation>,
    pub(super) places: Vec<Place>,
    pub(super) users: Vec<DemoUser>,
    pub(super) prescribers: Vec<UserId>,
    pub(super) consultants: Vec<UserId>,
}

pub(super) const EVERY_DAY: [bool; 7] = [true; 7];
pub(super) const MONDAY_TO_SATURDAY: [bool; 7] = [true, true, true, true, true, true, false];
pub(super) const WEEKDAYS: [bool; 7] = [true, true, true, true, true, false, false];

pub(super) fn organisation(
    name: &str,
    kind: OrganisationKind,
    municipality: &str,
    open_weekdays: [bool; 7],
    open_on_public_holidays: bool,
) -> Organisation {
    Organisation {
        id: OrganisationId::new(),
        name: name.to_string(),
        kind,
        municipality: municipality.to_string(),
        open_on_public_holidays,
        open_weekdays,
    }
}

pub(super) fn time(hour: i8, minute: i8) -> Time {
    Time::constant(hour, minute, 0, 0)
}

impl World {
    pub(super) fn new() -> Self {
        use OrganisationKind::*;
        let unit = organisation(
            "LAR-enheten, Helse Fjordvik HF",
            HealthTrustLarUnit,
            "Fjordvik",
            WEEKDAYS,
            false,
        );
        let others = vec![
            organisation("Fjordvik legesenter", GpOffice, "Fjordvik", WEEKDAYS, false),
            organisation("NAV Fjordvik", NavOffice, "Fjordvik", WEEKDAYS, false),
        ];
        // (name, kind, municipality, open days, open on holidays, share, postcode, username slug)
        #[allow(clippy::type_complexity)]
        let specs: [(&str, OrganisationKind, &str, [bool; 7], bool, f64, &str, &str); 12] = [
            (
                "Fjordvik LAR-senter",
                MunicipalLarCentre,
                "Fjordvik",
                EVERY_DAY,
                true,
                0.23,
                "5090",
                "",
            ),
            (
                "Strandvik LAR-senter",
                MunicipalLarCentre,
                "Strandvik",
                EVERY_DAY,
                false,
                0.09,
                "5300",
                "strandvik",
            ),
            (
                "Nordhavn LAR-senter",
                MunicipalLarCentre,
                "Nordhavn",
                EVERY_DAY,
                true,
                0.09,
                "5380",
                "nordhavn",
            ),
            (
                "Åsbygd LAR-senter",
                MunicipalLarCentre,
                "Åsbygd",
                EVERY_DAY,
                false,
                0.09,
                "5640",
                "asbygd",
            ),
            (
                "Bjørkely LAR-senter",
                MunicipalLarCentre,
                "Bjørkely",
                EVERY_DAY,
                true,
                0.09,
                "5700",
                "bjorkely",
            ),
            (
                "Holmevåg LAR-senter",
                MunicipalLarCentre,
                "Holmevåg",
                EVERY_DAY,
                false,
                0.09,
                "5430",
                "holmevag",
            ),
            (
                "Elvetun LAR-senter",
                MunicipalLarCentre,
                "Elvetun",
                EVERY_DAY,
                false,
                0.09,
                "5580",
                "elvetun",
            ),
            (
                "Fjordvik Torg apotek",
                Pharmacy,
                "Fjordvik",
                MONDAY_TO_SATURDAY,
                false,
                0.05,
                "5091",
                "apotek.torg",
            ),
            (
                "Strandvik apotek",
                Pharmacy,
                "Strandvik",
                MONDAY_TO_SATURDAY,
                false,
                0.05,
                "5301",
                "apotek.strandvik",
            ),
            (
                "Nordhavn apotek",
                Pharmacy,
                "Nordhavn",
                MONDAY_TO_SATURDAY,
                false,
                0.05,
                "5381",
                "apotek.nordhavn",
            ),
            (
                "Hjemmetjenesten Fjordvik øst",
                HomeService,
                "Fjordvik",
                EVERY_DAY,
                true,
                0.04,
                "5092",
                "hjemmetjenesten",
            ),
            (
                "Fjordheim behandlingssenter",
                Institution,
                "Fjordvik",
                EVERY_DAY,
                true,
                0.04,
                "5093",
                "fjordheim",
            ),
        ];
        let mut users = Vec::new();
        let mut user =
            |username: &str, display_name: &str, role: Role, organisation: OrganisationId, login: bool| {
                let id = UserId::new();
                users.push(DemoUser {
                    id,
                    username: username.to_string(),
                    display_name: display_name.to_string(),
                    role,
                    organisation,
                    login,
                });
                id
            };
        let lege = user("lege", "Ingrid Solheim", Role::Prescriber, unit.id, true);
        let konsulent = user("konsulent", "Håkon Vik", Role::LarConsultant, unit.id, true);
        let mut places = Vec::new();
        let staff_names = [
            "Silje Nordvik",
            "Kari Fossheim",
            "Ola Bratland",
            "Nina Rognaldsen",
            "Sindre Hatlevik",
            "Mette Brekkå",
            "Ahmed Rahimi",
            "Lise Tveit",
            "Jorunn Eikeland",
            "Petter Myklebust",
            "Hanne Skjold",
            "Aud Vatne",
        ];
        // The second nurse at each place (the first centre's is Tone Aasland).
        let witness_names = [
            "Tone Aasland",
            "Eirik Sandvik",
            "Marit Holmen",
            "Jon Are Lid",
            "Randi Økland",
            "Bjørn Tveiten",
            "Sara Mjelde",
            "Knut Haldorsen",
            "Ingvild Rasmussen",
            "Trine Hjelle",
            "Arne Dyrnes",
            "Gunn Solbakken",
        ];
        let mut coordinator_place = None;
        for (i, (name, kind, municipality, days, holidays, share, postcode, slug)) in
            specs.into_iter().enumerate()
        {
            let org = organisation(name, kind, municipality, days, holidays);
            let mut staff = Vec::new();
            let witness;
            if i == 0 {
                staff.push(user(
                    "utdeler",
                    staff_names[0],
                    Role::DispensingStaff,
                    org.id,
                    true,
                ));
                // A login, so that a count at the first centre can be witnessed.
                witness = user(
                    "sykepleier.fjordvik",
                    "Tone Aasland",
                    Role::DispensingStaff,
                    org.id,
                    true,
                );
                staff.push(witness);
                coordinator_place = Some(org.id);
            } else {
                staff.push(user(
                    &format!("utdeler.{slug}"),
                    staff_names[i],
                    Role::DispensingStaff,
                    org.id,
                    false,
                ));
                // Not among the recorders, so that the history stays as it was.
                witness = user(
                    &format!("sykepleier.{slug}"),
                    witness_names[i],
                    Role::DispensingStaff,
                    org.id,
                    false,
                );
            }
            let groups = if kind == MunicipalLarCentre {
                let mut windows = vec![
                    ("Rehabilitering", time(8, 0), time(9, 30)),
                    ("Stabilisering", time(10, 0), time(11, 30)),
                ];
                if i == 0 {
                    windows.push(("Ettermiddag", time(14, 0), time(15, 0)));
                }
                windows
                    .into_iter()
                    .map(|(group, start, end)| PatientGroup {
                        id: PatientGroupId::new(),
                        place_id: org.id,
                        name: group.to_string(),
                        window: TimeWindow::new(start, end).expect("start before end"),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let own_window = match kind {
                Pharmacy => (time(10, 0), time(15, 0)),
                HomeService => (time(8, 0), time(10, 0)),
                Institution => (time(8, 0), time(8, 30)),
                _ => (time(12, 0), time(12, 30)),
            };
            places.push(Place {
                org,
                groups,
                staff,
                witness,
                share,
                own_window,
                postcode,
            });
        }
        user(
            "koordinator",
            "Marte Lie Aasen",
            Role::Coordinator,
            coordinator_place.expect("the first centre"),
            true,
        );
        user("leder", "Tor Egil Brekke", Role::Leader, unit.id, true);
        // A doctor at the treatment centre, who admits and discharges.
        let institution = places
            .iter()
            .find(|p| p.org.kind == Institution)
            .map(|p| p.org.id)
            .expect("a treatment centre");
        user("institusjon", "Eva Lunde", Role::Prescriber, institution, true);
        user("fastlege", "Ingrid Solberg", Role::Prescriber, others[0].id, true);
        user("nav", "Eirik Haugland", Role::Coordinator, others[1].id, true);
        user("admin", "Systemadministrator", Role::Administrator, unit.id, true);
        let haug = user("lege.haug", "Anders Haug", Role::Prescriber, unit.id, false);
        let moe = user("lege.moe", "Kristin Moe", Role::Prescriber, unit.id, false);
        let dahl = user("konsulent.dahl", "Linn Dahl", Role::LarConsultant, unit.id, false);
        let eng = user("konsulent.eng", "Jonas Eng", Role::LarConsultant, unit.id, false);
        Self {
            unit,
            others,
            places,
            users,
            // The demo logins carry most of the caseload, so the demo shows a full list.
            prescribers: vec![lege, lege, lege, haug, moe],
            consultants: vec![konsulent, konsulent, konsulent, dahl, eng],
        }
    }

    pub(super) fn all_organisations(&self) -> impl Iterator<Item = &Organisation> {
        std::iter::once(&self.unit)
            .chain(self.places.iter().map(|p| &p.org))
            .chain(self.others.iter())
    }

    pub(super) fn organisation_name(&self, id: OrganisationId) -> &str {
        self.all_organisations()
            .find(|o| o.id == id)
            .map(|o| o.name.as_str())
            .unwrap_or("")
    }
}
