//! The demo world's organisations, places, users and patient groups: a health
//! trust's LAR unit, a GP office and a NAV office, twelve places that dispense
//! (municipal LAR centres, pharmacies, a home service, a treatment centre) with their
//! staff, and the demo logins.

use anyhow::anyhow;
use jiff::civil::Time;
use samhand_domain::arrangement::{PatientGroup, TimeWindow};
use samhand_domain::ids::{OrganisationId, PatientGroupId, UserId};
use samhand_domain::organisation::{Organisation, OrganisationKind, Role};

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

const EVERY_DAY: [bool; 7] = [true; 7];
const MONDAY_TO_SATURDAY: [bool; 7] = [true, true, true, true, true, true, false];
const WEEKDAYS: [bool; 7] = [true, true, true, true, true, false, false];

/// A place that dispenses: name, kind, municipality, open days, open on holidays,
/// share of the patients, postcode, username slug.
type PlaceSpec = (
    &'static str,
    OrganisationKind,
    &'static str,
    [bool; 7],
    bool,
    f64,
    &'static str,
    &'static str,
);

/// The places, the first centre first.
const PLACES: [PlaceSpec; 12] = {
    use OrganisationKind::*;
    [
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
    ]
};

const STAFF_NAMES: [&str; 12] = [
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

/// The second nurse at each place (the first centre's is Tone Aasland).
const WITNESS_NAMES: [&str; 12] = [
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

fn organisation(
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
        closed_days: Vec::new(),
    }
}

fn time(hour: i8, minute: i8) -> Time {
    Time::constant(hour, minute, 0, 0)
}

/// The staff as they are added, each with a new id.
struct Users(Vec<DemoUser>);

impl Users {
    fn add(
        &mut self,
        username: &str,
        display_name: &str,
        role: Role,
        organisation: OrganisationId,
        login: bool,
    ) -> UserId {
        let id = UserId::new();
        self.0.push(DemoUser {
            id,
            username: username.to_string(),
            display_name: display_name.to_string(),
            role,
            organisation,
            login,
        });
        id
    }
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
            // A GP office outside Samhand: nobody works in Samhand there, so its
            // patients' news reach it by EDI (a HER-id, the patients' consent).
            organisation("Torget legekontor", GpOffice, "Fjordvik", WEEKDAYS, false),
        ];
        let mut users = Users(Vec::new());
        let lege = users.add("lege", "Ingrid Solheim", Role::Prescriber, unit.id, true);
        let konsulent = users.add("konsulent", "Håkon Vik", Role::LarConsultant, unit.id, true);
        let places: Vec<Place> = PLACES
            .into_iter()
            .enumerate()
            .map(|(i, spec)| place(i, spec, &mut users))
            .collect();
        users.add(
            "koordinator",
            "Marte Lie Aasen",
            Role::Coordinator,
            places[0].org.id,
            true,
        );
        users.add("leder", "Tor Egil Brekke", Role::Leader, unit.id, true);
        // A doctor at the treatment centre, who admits and discharges.
        let institution = places
            .iter()
            .find(|p| p.org.kind == Institution)
            .map(|p| p.org.id)
            .expect("a treatment centre");
        users.add("institusjon", "Eva Lunde", Role::Prescriber, institution, true);
        users.add("fastlege", "Ingrid Solberg", Role::Prescriber, others[0].id, true);
        users.add("nav", "Eirik Haugland", Role::Coordinator, others[1].id, true);
        users.add("admin", "Systemadministrator", Role::Administrator, unit.id, true);
        let haug = users.add("lege.haug", "Anders Haug", Role::Prescriber, unit.id, false);
        let moe = users.add("lege.moe", "Kristin Moe", Role::Prescriber, unit.id, false);
        let dahl = users.add("konsulent.dahl", "Linn Dahl", Role::LarConsultant, unit.id, false);
        let eng = users.add("konsulent.eng", "Jonas Eng", Role::LarConsultant, unit.id, false);
        Self {
            unit,
            others,
            places,
            users: users.0,
            // The demo logins carry most of the caseload, so the demo shows a full list.
            prescribers: vec![lege, lege, lege, haug, moe],
            consultants: vec![konsulent, konsulent, konsulent, dahl, eng],
        }
    }

    /// A demo user as the actor of what the demo writes in their name.
    pub(super) fn actor(&self, user: &DemoUser) -> samhand_domain::access::Actor {
        let organisation_kind = self
            .all_organisations()
            .find(|o| o.id == user.organisation)
            .map_or(OrganisationKind::HealthTrustLarUnit, |o| o.kind);
        samhand_domain::access::Actor::Staff(samhand_domain::organisation::StaffUser {
            id: user.id,
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            role: user.role,
            organisation_id: user.organisation,
            organisation_kind,
        })
    }

    /// The demo user with this username.
    pub(super) fn user_named(&self, username: &str) -> anyhow::Result<&DemoUser> {
        self.users
            .iter()
            .find(|u| u.username == username)
            .ok_or_else(|| anyhow!("demo user {username}"))
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

/// The `i`th place of [`PLACES`] with its two staff members and its patient groups.
fn place(i: usize, spec: PlaceSpec, users: &mut Users) -> Place {
    let (name, kind, municipality, days, holidays, share, postcode, slug) = spec;
    let org = organisation(name, kind, municipality, days, holidays);
    let mut staff = Vec::new();
    let witness;
    if i == 0 {
        staff.push(users.add("utdeler", STAFF_NAMES[0], Role::DispensingStaff, org.id, true));
        // A login, so that a count at the first centre can be witnessed.
        witness = users.add(
            "sykepleier.fjordvik",
            "Tone Aasland",
            Role::DispensingStaff,
            org.id,
            true,
        );
        staff.push(witness);
    } else {
        // The first pharmacy's pharmacist logs in: the pharmacy's own count.
        staff.push(users.add(
            &format!("utdeler.{slug}"),
            STAFF_NAMES[i],
            Role::DispensingStaff,
            org.id,
            slug == "apotek.torg",
        ));
        // Not among the recorders, so that the history stays as it was.
        witness = users.add(
            &format!("sykepleier.{slug}"),
            WITNESS_NAMES[i],
            Role::DispensingStaff,
            org.id,
            false,
        );
    }
    let groups = if kind == OrganisationKind::MunicipalLarCentre {
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
        OrganisationKind::Pharmacy => (time(10, 0), time(15, 0)),
        OrganisationKind::HomeService => (time(8, 0), time(10, 0)),
        OrganisationKind::Institution => (time(8, 0), time(8, 30)),
        _ => (time(12, 0), time(12, 30)),
    };
    Place {
        org,
        groups,
        staff,
        witness,
        share,
        own_window,
        postcode,
    }
}
