//! The unit indicators (issue 17) for the LAR unit's leader: per dispensing place
//! and for the unit, month by month. Counts over the unit's patients, no patient
//! named; the read is in the audit log as one entry for the unit (H81).

use samhand_domain::access::{AllowedBy, DataCategory, may_see_indicators};
use samhand_domain::ids::OrganisationId;
use samhand_domain::indicators::{self, Indicators, YearMonth, month_range};
use samhand_domain::validation::FieldErrors;
use samhand_store::indicators as store;

use super::Service;
use crate::error::{AppError, AppResult};

impl Service<'_> {
    /// The indicators of the actor's LAR unit from `from` to `to` («yyyy-mm»; the
    /// last twelve months when left empty), for the unit and each of its places, or
    /// for the one place asked for, which must be one of the unit's.
    pub async fn indicators(&self, from: &str, to: &str, place: &str) -> AppResult<Indicators> {
        let staff = self.staff()?.clone();
        if !may_see_indicators(&staff) {
            return Err(AppError::Forbidden(
                "Indikatorene er for lederen ved LAR-enheten.".into(),
            ));
        }
        let today = self.today();
        let months = month_range(from, to, today).map_err(AppError::Invalid)?;
        let place: Option<OrganisationId> =
            match place.trim() {
                "" => None,
                text => Some(text.parse().map_err(|_| {
                    AppError::Invalid(FieldErrors::single("place", "Ukjent utleveringssted."))
                })?),
            };
        let unit = staff.organisation_id;
        let (first, last) = (months[0], months[months.len() - 1]);
        let _permit = self.heavy_work().await?;
        let (places, episodes, counts) = {
            let mut conn = self.state.store.read().await?;
            let places = store::places(&mut conn, unit).await?;
            // Retention looks at episodes started up to 23 months before a month.
            let episodes = store::episodes(&mut conn, unit, first.plus(-23).first_day()).await?;
            let mut counts = store::counts(&mut conn, unit, first.first_day(), last.last_day()).await?;
            counts.extend(
                store::followup_counts(&mut conn, unit, first.first_day(), last.last_day(), today).await?,
            );
            (places, episodes, counts)
        };
        // Only the unit's own places are ever shown (H81).
        let shown: Vec<_> = match place {
            None => places,
            Some(id) => {
                let found: Vec<_> = places.into_iter().filter(|p| p.id == id).collect();
                if found.is_empty() {
                    return Err(AppError::Invalid(FieldErrors::single(
                        "place",
                        "Stedet er ikke et av enhetens utleveringssteder.",
                    )));
                }
                found
            }
        };
        let detail = format!(
            "unit indicators {}–{}{}",
            first.label(),
            last.label(),
            place.map(|p| format!(" place {p}")).unwrap_or_default()
        );
        self.repo
            .record_unnamed_read(AllowedBy::UnitIndicators, DataCategory::Dispensing, &detail)
            .await?;
        Ok(indicators::compute(&months, today, &shown, &episodes, &counts))
    }

    /// For the leader's overview: the unit's last full month and the month before,
    /// when the actor may see the indicators.
    pub async fn indicator_summary(&self) -> AppResult<Option<Indicators>> {
        if !self.staff().is_ok_and(may_see_indicators) {
            return Ok(None);
        }
        let current = YearMonth::of(self.today());
        let (from, to) = (current.plus(-2).label(), current.plus(-1).label());
        Ok(Some(self.indicators(&from, &to, "").await?))
    }
}
