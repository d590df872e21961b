//! Samhand's own key as an OpenID client, for `private_key_jwt` (RFC 7523), the
//! client authentication HelseID requires: at the token endpoint Samhand sends a
//! short-lived JWT signed with its private key instead of a shared secret. The key
//! is an RSA key in a JWK file (`{prefix}_CLIENT_JWK_FILE`), signed RS256 with
//! *ring*; the public half is registered with the provider.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use ring::rsa::{KeyPairComponents, PublicKeyComponents};
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

/// How long a client assertion is valid.
const ASSERTION_SECONDS: i64 = 60;

/// The client's RSA key pair, and its key id when the JWK names one.
pub struct ClientKey {
    kid: Option<String>,
    pair: RsaKeyPair,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key itself.
        f.debug_struct("ClientKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl ClientKey {
    /// Reads a private RSA key from a JWK (`kty` RSA with `n`, `e`, `d`, `p`, `q`,
    /// `dp`, `dq`, `qi`), or says what is wrong with it.
    pub fn from_jwk(text: &str) -> Result<Self, String> {
        let jwk: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if jwk["kty"] != "RSA" {
            return Err("not an RSA key (kty must be RSA)".into());
        }
        let part = |name: &str| -> Result<Vec<u8>, String> {
            let value = jwk[name]
                .as_str()
                .ok_or_else(|| format!("the private key lacks `{name}` (a public key alone cannot sign)"))?;
            URL_SAFE_NO_PAD
                .decode(value.trim_end_matches('='))
                .map_err(|e| format!("`{name}` is not base64url: {e}"))
        };
        let components = KeyPairComponents {
            public_key: PublicKeyComponents {
                n: part("n")?,
                e: part("e")?,
            },
            d: part("d")?,
            p: part("p")?,
            q: part("q")?,
            dP: part("dp")?,
            dQ: part("dq")?,
            qInv: part("qi")?,
        };
        let pair =
            RsaKeyPair::from_components(&components).map_err(|e| format!("not a usable RSA key: {e}"))?;
        Ok(Self {
            kid: jwk["kid"].as_str().map(str::to_string),
            pair,
        })
    }

    /// A client assertion for the token endpoint `audience`: issuer and subject
    /// the client id, valid for a minute, with a fresh `jti`.
    pub fn assertion(&self, client_id: &str, audience: &str, now: Timestamp) -> Result<String, String> {
        let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.kid {
            header["kid"] = serde_json::json!(kid);
        }
        let issued = now.as_second();
        let claims = serde_json::json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + ASSERTION_SECONDS,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "the key could not sign".to_string())?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_key_or_something_else_is_refused_with_the_reason() {
        assert!(ClientKey::from_jwk("not json").unwrap_err().contains("JSON"));
        assert!(
            ClientKey::from_jwk(r#"{"kty":"EC"}"#)
                .unwrap_err()
                .contains("RSA")
        );
        let public_only = r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#;
        assert!(ClientKey::from_jwk(public_only).unwrap_err().contains("`d`"));
    }
}
