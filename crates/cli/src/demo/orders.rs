//! The signed dose order versions of each demo patient: a start regime for
//! methadone or buprenorphine, a settled dose, and for some a later change, a move to
//! depot injections or slow-release morphine.

use jiff::SignedDuration;
use jiff::civil::Date;
use samhand_domain::dose::Dose;
use samhand_domain::dose_order::{
    DailyDose, DoseOrder, DoseOrderContent, Signature, SignedDoseOrder, TitrationStep,
};
use samhand_domain::ids::DoseOrderId;
use samhand_domain::patient::Episode;
use samhand_domain::substance::{Form, Substance};

use super::generator::{Generator, Stage};
use super::{at, plus};

fn mg(amount: u64) -> Dose {
    Dose::from_mg(amount)
}

fn daily(parts_mg: &[u64]) -> DailyDose {
    DailyDose::new(parts_mg.iter().map(|m| mg(*m)).collect()).expect("demo doses are valid")
}

impl Generator<'_> {
    #[allow(clippy::too_many_arguments)]
    fn order(
        &mut self,
        episode: &Episode,
        version: u32,
        substance: Substance,
        form: Form,
        dose: DailyDose,
        effective_from: Date,
        titration: Vec<(Date, u64)>,
        reason: &str,
        warnings_confirmed: Option<&str>,
    ) -> SignedDoseOrder {
        let signed_on = if version == 1 {
            plus(effective_from, -1)
        } else {
            plus(effective_from, -self.rng.between(1, 3))
        };
        let signed_at = at(signed_on, 13, self.rng.between(0, 59) as i8);
        let order = DoseOrder {
            id: DoseOrderId::new(),
            patient_id: episode.patient_id,
            episode_id: episode.id,
            content: DoseOrderContent {
                substance,
                form,
                dose,
                effective_from,
                titration: titration
                    .into_iter()
                    .map(|(from, amount)| TitrationStep {
                        from,
                        dose: daily(&[amount]),
                    })
                    .collect(),
                reason: reason.to_string(),
            },
            created_by: episode.doctor,
            created_at: signed_at - SignedDuration::from_mins(25),
            signature: Some(Signature {
                version,
                signed_by: episode.doctor,
                signed_at,
                warnings_confirmed: warnings_confirmed.map(str::to_string),
            }),
            discard: None,
        };
        SignedDoseOrder::from_stored(order).expect("the order carries a signature")
    }

    /// The signed versions of the patient's dose order, oldest first.
    pub(super) fn orders(
        &mut self,
        episode: &Episode,
        stage: Stage,
        may_have_depot: bool,
    ) -> Vec<SignedDoseOrder> {
        let roll = self.rng.below(100);
        if stage == Stage::Start {
            let order = if roll < 45 {
                let target = 60 + 10 * self.rng.below(3);
                self.methadone_start(episode, target)
            } else {
                self.buprenorphine_start(episode, Substance::BuprenorphineNaloxone)
            };
            return vec![order];
        }
        let long = stage == Stage::Continuation;
        let settle = plus(
            episode.started_on,
            if long { self.rng.between(60, 150) } else { 60 },
        );
        if may_have_depot && roll < 8 {
            self.depot_orders(episode, settle, long, roll)
        } else if roll < 11 {
            self.morphine_orders(episode, settle)
        } else if roll < 51 {
            self.methadone_orders(episode, settle, long)
        } else {
            self.buprenorphine_orders(episode, settle, long, roll)
        }
    }

    /// The first methadone order: the 2010 start regime, 30 mg, then 10 mg more every
    /// 14 days up to the target.
    fn methadone_start(&mut self, episode: &Episode, target: u64) -> SignedDoseOrder {
        let start = episode.started_on;
        let steps: Vec<(Date, u64)> = (1..)
            .map(|k| (plus(start, 14 * k), 30 + 10 * k as u64))
            .take_while(|(_, dose)| *dose <= target.max(40))
            .collect();
        self.order(
            episode,
            1,
            Substance::MethadoneOralSolution,
            Form::OralSolution,
            daily(&[30]),
            start,
            steps,
            "Oppstart i LAR med metadon etter vurdering av rusmiddelbruk og tidligere behandling. Opptrapping etter plan.",
            None,
        )
    }

    /// The first buprenorphine order, built up over the first days.
    fn buprenorphine_start(&mut self, episode: &Episode, substance: Substance) -> SignedDoseOrder {
        let start = episode.started_on;
        let form = if substance == Substance::BuprenorphineNaloxone {
            Form::SublingualFilm
        } else {
            Form::SublingualTablet
        };
        self.order(
            episode,
            1,
            substance,
            form,
            daily(&[8]),
            start,
            vec![(plus(start, 1), 12), (plus(start, 3), 16)],
            "Oppstart i LAR med buprenorfin. Opptrapping over de første dagene.",
            None,
        )
    }

    /// Buprenorphine first, then depot injections given at the centre.
    fn depot_orders(
        &mut self,
        episode: &Episode,
        settle: Date,
        long: bool,
        roll: u64,
    ) -> Vec<SignedDoseOrder> {
        let mut versions = vec![self.buprenorphine_start(episode, Substance::BuprenorphineNaloxone)];
        let depot_from = if long {
            plus(self.today, -self.rng.between(90, 400)).max(plus(settle, 14))
        } else {
            settle
        };
        let weekly = roll < 5;
        let (substance, amount) = if weekly {
            (
                Substance::DepotBuprenorphineWeekly,
                8 * self.rng.between(2, 4) as u64,
            )
        } else {
            (
                Substance::DepotBuprenorphineMonthly,
                *self.rng.pick(&[96, 128, 160]),
            )
        };
        let order = self.order(
            episode,
            2,
            substance,
            Form::Injection,
            daily(&[amount]),
            depot_from,
            Vec::new(),
            "Overgang til depotinjeksjon etter pasientens ønske; settes av helsepersonell ved LAR-senteret.",
            None,
        );
        versions.push(order);
        versions
    }

    /// Slow-release morphine where methadone and buprenorphine did not suit.
    fn morphine_orders(&mut self, episode: &Episode, settle: Date) -> Vec<SignedDoseOrder> {
        let mut versions = Vec::new();
        let order = self.order(
            episode,
            1,
            Substance::SlowReleaseMorphine,
            Form::ExtendedReleaseCapsule,
            daily(&[300]),
            episode.started_on,
            Vec::new(),
            "Oppstart med depotmorfin etter bivirkninger av metadon i tidligere behandling.",
            None,
        );
        versions.push(order);
        let dose = 100 * self.rng.between(4, 8) as u64;
        let order = self.order(
            episode,
            2,
            Substance::SlowReleaseMorphine,
            Form::ExtendedReleaseCapsule,
            daily(&[dose]),
            settle,
            Vec::new(),
            "Dosejustering etter stabilisering.",
            Some("Gradvis opptrapping gjennomført; pasienten er tolerant for dosen."),
        );
        versions.push(order);
        versions
    }

    /// Methadone: the start regime, a stable dose (now and then split in two), and for
    /// some in long treatment a later change.
    fn methadone_orders(&mut self, episode: &Episode, settle: Date, long: bool) -> Vec<SignedDoseOrder> {
        let target = 5 * self.rng.between(12, 24) as u64;
        let mut versions = vec![self.methadone_start(episode, target)];
        let split = self.rng.chance(0.08) && target >= 80;
        let dose = if split {
            let morning = (target * 3 / 5) / 5 * 5;
            daily(&[morning, target - morning])
        } else {
            daily(&[target])
        };
        let order = self.order(
            episode,
            2,
            Substance::MethadoneOralSolution,
            Form::OralSolution,
            dose,
            settle,
            Vec::new(),
            if split {
                "Stabil dose, delt i morgen- og ettermiddagsdose pga. rask metabolisme."
            } else {
                "Stabil dose etter opptrapping; god effekt uten sedasjon."
            },
            None,
        );
        versions.push(order);
        if long && self.rng.chance(0.35) {
            let changed = if self.rng.chance(0.5) {
                target + 10
            } else {
                target - 10
            };
            let from = plus(self.today, -self.rng.between(20, 300));
            let from = from.max(plus(settle, 30));
            let order = self.order(
                episode,
                3,
                Substance::MethadoneOralSolution,
                Form::OralSolution,
                daily(&[changed]),
                from,
                Vec::new(),
                if changed > target {
                    "Økt dose etter abstinensplager og sug."
                } else {
                    "Redusert dose etter pasientens ønske om nedtrapping på sikt."
                },
                None,
            );
            versions.push(order);
        }
        versions
    }

    /// Buprenorphine (with naloxone for most): the start, a settled dose, and for some
    /// in long treatment a later adjustment.
    fn buprenorphine_orders(
        &mut self,
        episode: &Episode,
        settle: Date,
        long: bool,
        roll: u64,
    ) -> Vec<SignedDoseOrder> {
        let substance = if roll < 85 {
            Substance::BuprenorphineNaloxone
        } else {
            Substance::BuprenorphineSublingual
        };
        let mut versions = vec![self.buprenorphine_start(episode, substance)];
        let target = 2 * self.rng.between(4, 12) as u64;
        let form = versions[0].content().form;
        let order = self.order(
            episode,
            2,
            substance,
            form,
            daily(&[target]),
            settle,
            Vec::new(),
            "Dosejustering etter stabilisering.",
            None,
        );
        versions.push(order);
        if long && self.rng.chance(0.25) {
            let changed = if target >= 12 { target - 2 } else { target + 2 };
            let from = plus(self.today, -self.rng.between(20, 300)).max(plus(settle, 30));
            let order = self.order(
                episode,
                3,
                substance,
                form,
                daily(&[changed]),
                from,
                Vec::new(),
                "Justert dose etter samtale om søvn og sug.",
                None,
            );
            versions.push(order);
        }
        versions
    }
}
