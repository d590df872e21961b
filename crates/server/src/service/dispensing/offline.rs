//! At a place's edge offline for longer than the policy allows
//! (`edge.offline_confirm_hours`, default 24): the list still shows what the edge
//! last knew, but doses, blocks and orders may have changed centrally, so each
//! recording needs a colleague at the place to confirm it with their own username
//! and password, and the list says why (H97). The colleague is kept as the one
//! who confirmed the identity and the dose (`identity_confirmed_by`).

use std::net::IpAddr;

use jiff::SignedDuration;

use super::*;
use crate::auth::check_password;

/// A colleague's confirmation of a recording, as typed.
#[derive(Debug, Clone)]
pub struct Confirmer {
    pub username: String,
    pub password: String,
    /// Where the request came from: the colleague's password counts towards the
    /// same lockout as a login from there.
    pub client: IpAddr,
}

impl Service<'_> {
    /// Why each recording here needs a colleague's confirmation now, if it does.
    pub async fn offline_confirmation_reason(&self) -> AppResult<Option<String>> {
        let Some(link) = &self.state.edge else {
            return Ok(None);
        };
        let Some(offline) = link.offline_for(self.now()) else {
            return Ok(None);
        };
        let hours = self.policy().await?.edge_offline_confirm_hours;
        if offline < SignedDuration::from_hours(hours) {
            return Ok(None);
        }
        Ok(Some(format!(
            "Stedet har vært uten forbindelse til sentral Samhand i {} timer (grensen er {hours}). Doser, sperrer og forordninger kan ha endret seg sentralt: en kollega ved stedet bekrefter hver utlevering med sitt brukernavn og passord.",
            offline.as_hours()
        )))
    }

    /// The colleague who confirmed the recording, when one must: an active staff
    /// member of the place other than the one recording, after their password.
    pub(super) async fn offline_confirmer(
        &self,
        place: &Organisation,
        request: &DispenseRequest,
    ) -> AppResult<Option<UserId>> {
        let Some(reason) = self.offline_confirmation_reason().await? else {
            return Ok(None);
        };
        let Some(confirmer) = request
            .confirmer
            .as_ref()
            .filter(|c| !c.username.trim().is_empty() && !c.password.is_empty())
        else {
            return Err(field("confirmer_username", reason));
        };
        let refused = |message: &str| field("confirmer_password", message.to_string());
        let colleague = match check_password(
            self.state,
            confirmer.client,
            &confirmer.username,
            &confirmer.password,
        )
        .await
        {
            Ok(colleague) => colleague,
            Err(AppError::Forbidden(message)) => return Err(refused(&message)),
            Err(other) => return Err(other),
        };
        if colleague.id == self.actor().id() {
            return Err(refused("En kollega må bekrefte, ikke den som utleverer."));
        }
        if colleague.organisation_id != place.id {
            return Err(refused(&format!("Kollegaen må arbeide ved {}.", place.name)));
        }
        Ok(Some(colleague.id))
    }
}
