//! Login through an OpenID provider: staff through HelseID (or any OpenID Connect
//! provider), patients to the portal through ID-porten. One flow for both: the
//! authorization code flow with PKCE, `state` and `nonce`; the ID token verified
//! against the provider's keys, issuer, audience, expiry and nonce. What differs is
//! [`LoginKind`]: the identity it yields (a staff username from the configured
//! claim; a patient's fødselsnummer from ID-porten's `pid`, at a level of assurance
//! of substantial or high). Only this module talks to the provider; starting the
//! session is `auth`'s (staff) or `portal`'s (patients).

use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClientAuthMethod, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse,
    CoreTokenType, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthType, AuthorizationCode, ClaimsVerificationError, Client,
    ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdTokenClaims, IdTokenFields, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RequestTokenError, Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse, UserInfoError,
    reqwest,
};
use tokio::sync::Mutex;

use crate::auth::tokens_match;
use crate::config::{ClientAuth, OidcConfig, UsernameClaim};

/// Which login this provider is for, and so which identity it yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginKind {
    /// Staff through HelseID: the username from this claim.
    Staff(UsernameClaim),
    /// Patients to the portal through ID-porten: the fødselsnummer from `pid`.
    Patient,
}

impl LoginKind {
    /// The provider's name, as people know it.
    pub fn provider_name(self) -> &'static str {
        match self {
            Self::Staff(_) => "HelseID",
            Self::Patient => "ID-porten",
        }
    }

    /// The cookie that holds `state`, `nonce` and the PKCE verifier between the
    /// start of the login and its callback, one per login so the two never mix.
    pub fn flow_cookie_name(self) -> &'static str {
        match self {
            Self::Staff(_) => "samhand_oidc",
            Self::Patient => "samhand_portal_oidc",
        }
    }

    /// The paths the flow cookie is sent to: the start and the callback.
    pub fn flow_cookie_path(self) -> &'static str {
        match self {
            Self::Staff(_) => "/login/oidc",
            Self::Patient => "/portal/oidc",
        }
    }
}

/// RFC 7523's client assertion type, for private_key_jwt.
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The levels of assurance (`acr`) ID-porten may report that open the portal:
/// substantial (MinID, for instance) and high (BankID, Buypass, Commfides).
pub const PORTAL_ACCEPTED_ACR: [&str; 2] = ["idporten-loa-substantial", "idporten-loa-high"];

/// The level the portal asks ID-porten for; a higher one satisfies it.
const PORTAL_REQUESTED_ACR: &str = "idporten-loa-substantial";

/// The claims beyond the standard ones Samhand reads from an ID token: ID-porten's
/// `pid`, the person's fødselsnummer or D-nummer.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct SamhandClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
}

impl AdditionalClaims for SamhandClaims {}

type IdClaims = IdTokenClaims<SamhandClaims, CoreGenderClaim>;

type Tokens = StandardTokenResponse<
    IdTokenFields<
        SamhandClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;
use crate::error::AppError;

/// How long the provider's metadata and keys are used before they are fetched
/// again. A token signed with a key not yet seen fetches them at once.
const METADATA_MAX_AGE: Duration = Duration::from_secs(60 * 60);

/// The client built from the provider's metadata: the authorization endpoint is
/// always known, the token and userinfo endpoints only if the provider names them.
type ProviderClient = Client<
    SamhandClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The OpenID provider as Samhand knows it: the configuration, an HTTP client, and
/// the provider's metadata and keys once discovered (discovery waits for the first
/// login, so a provider that is down does not stop Samhand from starting).
pub struct OidcLogin {
    config: OidcConfig,
    kind: LoginKind,
    http: reqwest::Client,
    discovered: Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

/// What the callback must match, kept in the browser between the two requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    state: String,
    nonce: String,
    pkce_verifier: String,
}

impl PendingLogin {
    /// The cookie value: the three parts joined by dots.
    pub fn to_cookie_value(&self) -> String {
        format!("{}.{}.{}", self.state, self.nonce, self.pkce_verifier)
    }

    /// Reads a cookie value from [`Self::to_cookie_value`]; anything else is `None`.
    pub fn from_cookie_value(value: &str) -> Option<Self> {
        let url_safe = |part: &str| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        let mut parts = value.split('.');
        let (state, nonce, pkce_verifier) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || ![state, nonce, pkce_verifier].into_iter().all(url_safe) {
            return None;
        }
        Some(Self {
            state: state.into(),
            nonce: nonce.into(),
            pkce_verifier: pkce_verifier.into(),
        })
    }
}

/// The query of the provider's redirect back to Samhand.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// RFC 9207: the issuer that answers, when the provider says.
    pub iss: Option<String>,
}

fn refused(message: &str) -> AppError {
    AppError::LoginFailed(message.into())
}

const TRY_AGAIN: &str = "Prøv å logge inn på nytt.";

impl OidcLogin {
    pub fn new(config: OidcConfig, kind: LoginKind) -> Self {
        let http = reqwest::Client::builder()
            // The library's advice: following redirects would let a provider's
            // answer send Samhand's requests anywhere.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .expect("an HTTP client with rustls and the bundled roots builds");
        Self {
            config,
            kind,
            http,
            discovered: Mutex::new(None),
        }
    }

    pub fn kind(&self) -> LoginKind {
        self.kind
    }

    /// The provider's metadata and keys: from the cache when fresh, else discovered.
    async fn metadata(&self, refresh: bool) -> Result<CoreProviderMetadata, AppError> {
        let mut discovered = self.discovered.lock().await;
        if let Some((at, metadata)) = discovered.as_ref()
            && !refresh
            && at.elapsed() < METADATA_MAX_AGE
        {
            return Ok(metadata.clone());
        }
        let metadata = CoreProviderMetadata::discover_async(self.config.issuer.clone(), &self.http)
            .await
            .map_err(|e| {
                AppError::Upstream(format!(
                    "OpenID discovery at {} failed: {}",
                    self.config.issuer.as_str(),
                    error_chain(&e)
                ))
            })?;
        tracing::info!(issuer = self.config.issuer.as_str(), "OpenID provider discovered");
        *discovered = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    fn client(&self, metadata: CoreProviderMetadata) -> ProviderClient {
        let client_id = ClientId::new(self.config.client_id.clone());
        let (secret, auth_type) = match &self.config.client_auth {
            // The assertion goes in the body with the client id (see `exchange`).
            ClientAuth::PrivateKeyJwt(_) => (None, AuthType::RequestBody),
            ClientAuth::Secret(secret) => {
                // client_secret_basic is the default when the provider does not say.
                let auth_type = match metadata.token_endpoint_auth_methods_supported() {
                    Some(methods)
                        if !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
                            && methods.contains(&CoreClientAuthMethod::ClientSecretPost) =>
                    {
                        AuthType::RequestBody
                    }
                    _ => AuthType::BasicAuth,
                };
                (Some(ClientSecret::new(secret.expose().to_string())), auth_type)
            }
        };
        ProviderClient::from_provider_metadata(metadata, client_id, secret)
            .set_redirect_uri(self.config.redirect_url.clone())
            .set_auth_type(auth_type)
    }

    /// Where to send the browser to log in, and what its callback must match.
    pub async fn begin(&self) -> Result<(openidconnect::url::Url, PendingLogin), AppError> {
        let client = self.client(self.metadata(false).await?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        match self.kind {
            LoginKind::Staff(UsernameClaim::PreferredUsername) => {
                request = request.add_scope(Scope::new("profile".into()));
            }
            LoginKind::Staff(UsernameClaim::Subject) => {}
            // As ID-porten asks: `profile` for `pid`, and the least level wanted.
            LoginKind::Patient => {
                request = request
                    .add_scope(Scope::new("profile".into()))
                    .add_extra_param("acr_values", PORTAL_REQUESTED_ACR);
            }
        }
        let (url, state, nonce) = request.url();
        let pending = PendingLogin {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        };
        Ok((url, pending))
    }

    /// Checks the provider's answer, exchanges the code, verifies the ID token and
    /// returns the identity it vouches for: a staff username, or a patient's
    /// fødselsnummer. Every refusal is logged here, with the reason and without
    /// tokens.
    pub async fn finish(
        &self,
        pending: Option<PendingLogin>,
        callback: &Callback,
    ) -> Result<String, AppError> {
        let Some(pending) = pending else {
            tracing::warn!("OIDC callback without the login's cookie (expired, or from another browser)");
            return Err(refused(
                "Innloggingen tok for lang tid, eller ble startet i en annen nettleser. Prøv å logge inn på nytt.",
            ));
        };
        let provider = self.kind.provider_name();
        if !tokens_match(callback.state.as_deref().unwrap_or_default(), &pending.state) {
            tracing::warn!("OIDC callback refused: its state is not the one this browser was given");
            return Err(refused(&format!(
                "Innloggingen kunne ikke bekreftes: svaret fra {provider} hørte ikke til denne innloggingen. {TRY_AGAIN}"
            )));
        }
        if let Some(error) = &callback.error {
            tracing::warn!(
                error,
                description = callback.error_description.as_deref().unwrap_or_default(),
                "the OpenID provider did not log the user in"
            );
            return Err(refused(&format!(
                "{provider} fullførte ikke innloggingen. {TRY_AGAIN}"
            )));
        }
        if let Some(iss) = &callback.iss
            && iss != self.config.issuer.as_str()
        {
            tracing::warn!(iss, "OIDC callback refused: it names another issuer");
            return Err(refused(&format!(
                "Svaret kom fra en annen innloggingstjeneste. {TRY_AGAIN}"
            )));
        }
        let Some(code) = callback.code.clone().filter(|c| !c.is_empty()) else {
            tracing::warn!("OIDC callback refused: no authorization code");
            return Err(refused(&format!(
                "Svaret fra {provider} manglet innloggingskoden. {TRY_AGAIN}"
            )));
        };
        let metadata = self.metadata(false).await?;
        let client = self.client(metadata);
        let tokens = self.exchange(&client, code, pending.pkce_verifier).await?;
        let nonce = Nonce::new(pending.nonce);
        let claims = match verified_claims(&client, &tokens, &nonce) {
            // The provider may have rotated its keys since they were fetched.
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                let client = self.client(self.metadata(true).await?);
                verified_claims(&client, &tokens, &nonce)
            }
            other => other,
        }
        .map_err(|e| {
            tracing::warn!(error = %e, "OIDC login refused: the ID token does not verify");
            refused(&format!(
                "Identiteten fra {provider} kunne ikke bekreftes. {TRY_AGAIN}"
            ))
        })?;
        match self.kind {
            LoginKind::Staff(claim) => self.username(claim, &client, &tokens, &claims).await,
            LoginKind::Patient => patient_national_id(&claims),
        }
    }

    async fn exchange(
        &self,
        client: &ProviderClient,
        code: String,
        pkce_verifier: String,
    ) -> Result<Tokens, AppError> {
        let mut request = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| AppError::Upstream(format!("the provider names no token endpoint: {e}")))?;
        if let ClientAuth::PrivateKeyJwt(key) = &self.config.client_auth {
            let audience = client
                .token_uri()
                .map(|u| u.as_str().to_string())
                .ok_or_else(|| AppError::Upstream("the provider names no token endpoint".into()))?;
            let assertion = key
                .assertion(&self.config.client_id, &audience, jiff::Timestamp::now())
                .map_err(|e| AppError::Internal(format!("private_key_jwt: {e}")))?;
            request = request
                .add_extra_param("client_assertion_type", CLIENT_ASSERTION_TYPE)
                .add_extra_param("client_assertion", assertion);
        }
        request
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(response) => {
                    tracing::warn!(
                        error = response.error().as_ref(),
                        description = response
                            .error_description()
                            .map(String::as_str)
                            .unwrap_or_default(),
                        "OIDC login refused: the token endpoint refused the code"
                    );
                    refused(&format!(
                        "{} godtok ikke innloggingen. {TRY_AGAIN}",
                        self.kind.provider_name()
                    ))
                }
                // The parser's message may quote the answer, and the answer holds tokens.
                RequestTokenError::Parse(e, _) => {
                    AppError::Upstream(format!("the token response does not parse (at {})", e.path()))
                }
                other => AppError::Upstream(format!("token request failed: {}", error_chain(&other))),
            })
    }

    /// The Samhand username: the configured claim of the ID token, or of the
    /// userinfo answer when the ID token leaves it out (as providers that keep ID
    /// tokens small do with profile claims).
    async fn username(
        &self,
        claim: UsernameClaim,
        client: &ProviderClient,
        tokens: &Tokens,
        claims: &IdClaims,
    ) -> Result<String, AppError> {
        let from_id_token = match claim {
            UsernameClaim::Subject => Some(claims.subject().to_string()),
            UsernameClaim::PreferredUsername => claims.preferred_username().map(|u| u.to_string()),
        };
        let username = match from_id_token {
            Some(username) => Some(username),
            None => {
                let request = client
                    .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
                    .map_err(|_| {
                        tracing::warn!(
                            claim = claim.name(),
                            "OIDC login refused: no such claim and no userinfo endpoint"
                        );
                        refused(&format!("HelseID oppga ikke brukernavnet ditt. {TRY_AGAIN}"))
                    })?;
                let info: CoreUserInfoClaims =
                    request.request_async(&self.http).await.map_err(|e| match e {
                        UserInfoError::Parse(e) => AppError::Upstream(format!(
                            "the userinfo response does not parse (at {})",
                            e.path()
                        )),
                        other => {
                            AppError::Upstream(format!("userinfo request failed: {}", error_chain(&other)))
                        }
                    })?;
                info.preferred_username().map(|u| u.to_string())
            }
        };
        username.filter(|u| !u.trim().is_empty()).ok_or_else(|| {
            tracing::warn!(
                claim = claim.name(),
                "OIDC login refused: the identity has no such claim"
            );
            refused(&format!("HelseID oppga ikke brukernavnet ditt. {TRY_AGAIN}"))
        })
    }
}

/// The ID token's claims after checking its signature against the provider's keys,
/// its issuer, audience, expiry and nonce, and the access token's hash if it has one.
/// Expiry is judged by the system clock, the provider's clock, not by Samhand's
/// injected clock.
fn verified_claims(
    client: &ProviderClient,
    tokens: &Tokens,
    nonce: &Nonce,
) -> Result<IdClaims, ClaimsVerificationError> {
    let id_token = tokens
        .id_token()
        .ok_or_else(|| ClaimsVerificationError::Other("the token response has no ID token".into()))?;
    let verifier = client.id_token_verifier();
    let claims = id_token.claims(&verifier, nonce)?.clone();
    if let Some(expected) = claims.access_token_hash() {
        let algorithm = id_token
            .signing_alg()
            .map_err(|e| ClaimsVerificationError::Other(e.to_string()))?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(|e| ClaimsVerificationError::Other(e.to_string()))?;
        let actual = AccessTokenHash::from_token(tokens.access_token(), algorithm, key)
            .map_err(|e| ClaimsVerificationError::Other(e.to_string()))?;
        if actual != *expected {
            return Err(ClaimsVerificationError::Other(
                "the access token's hash does not match the ID token".into(),
            ));
        }
    }
    Ok(claims)
}

/// The patient's fødselsnummer from ID-porten's `pid`, when the login was at a
/// level of assurance the portal accepts. (Whether it names a patient with portal
/// access is `portal`'s to decide.)
fn patient_national_id(claims: &IdClaims) -> Result<String, AppError> {
    let acr = claims.auth_context_ref().map(|a| a.as_str().to_string());
    if !acr.as_deref().is_some_and(|a| PORTAL_ACCEPTED_ACR.contains(&a)) {
        tracing::warn!(
            acr = acr.as_deref().unwrap_or("(none)"),
            "portal OIDC login refused: the level of assurance is too low"
        );
        return Err(refused(
            "Innloggingen hos ID-porten hadde for lavt sikkerhetsnivå for pasientportalen. Logg inn med MinID, BankID, Buypass eller Commfides.",
        ));
    }
    claims
        .additional_claims()
        .pid
        .clone()
        .filter(|pid| !pid.trim().is_empty())
        .ok_or_else(|| {
            tracing::warn!("portal OIDC login refused: the ID token has no pid");
            refused(&format!("ID-porten oppga ikke fødselsnummeret ditt. {TRY_AGAIN}"))
        })
}

/// An error and its causes on one line, for the log.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flow_cookie_reads_back_what_was_written_and_nothing_else() {
        let pending = PendingLogin {
            state: "c3RhdGU".into(),
            nonce: "bm9uY2U-_".into(),
            pkce_verifier: "dmVyaWZpZXI".into(),
        };
        assert_eq!(
            PendingLogin::from_cookie_value(&pending.to_cookie_value()),
            Some(pending)
        );
        for bad in ["", "a.b", "a.b.c.d", "a..c", "a.b.c;d", "a.b.c d", "æ.b.c"] {
            assert_eq!(PendingLogin::from_cookie_value(bad), None, "{bad:?}");
        }
    }
}
