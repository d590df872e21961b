//! Who is asking, as the network tells it: the client's address (for the login's
//! rate limits and lockout) and whether the request reached Samhand over TLS (for
//! HSTS). The address is the connection's peer. Only when the peer is one of the
//! trusted proxies (`SAMHAND_TRUSTED_PROXIES`) is `X-Forwarded-For` read, and then
//! its rightmost address that is not itself a trusted proxy; by default no header
//! is believed, so a client cannot pick the address it is counted under.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// One network: an address and how many leading bits must match (`10.0.0.0/8`,
/// `fd00::/8`; a bare address is the network of that address alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    /// Reads `address` or `address/prefix`, or says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or network (like 10.0.0.0/8)"))?;
        let address = address.to_canonical();
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("{text:?} has a prefix length that is not 0 to {bits}"))?,
        };
        Ok(Self { address, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => leading_bits_match(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => leading_bits_match(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

fn leading_bits_match(a: &[u8], b: &[u8], bits: u8) -> bool {
    let whole = usize::from(bits / 8);
    let rest = bits % 8;
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[whole] & mask == b[whole] & mask
    }
}

/// The reverse proxies whose `X-Forwarded-*` headers are believed; none by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    /// Reads a comma-separated list of addresses and networks.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(Network::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The client of one request, as [`identify`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// The address the login's rate limits and lockout count under.
    pub address: IpAddr,
    /// Whether the request reached Samhand over TLS (see [`resolve`]).
    pub over_tls: bool,
}

/// One hop of `X-Forwarded-For`: an address, perhaps with a port or in brackets.
fn hop(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| text.trim_start_matches('[').trim_end_matches(']').parse().ok())
        .map(|ip: IpAddr| ip.to_canonical())
}

/// The client behind `peer`. Through a trusted proxy: the rightmost address of
/// `X-Forwarded-For` that is not a trusted proxy (the hops to its left were written
/// by the client and prove nothing). Over TLS when `tls_configured` (the deployment
/// says it is served over HTTPS: `SAMHAND_COOKIE_SECURE`), or when a trusted proxy
/// says `X-Forwarded-Proto: https`.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies, tls_configured: bool) -> Client {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return Client {
            address: peer,
            over_tls: tls_configured,
        };
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut address = peer;
    for text in hops.iter().rev() {
        let Some(ip) = hop(text) else { break };
        address = ip;
        if !trusted.contains(ip) {
            break;
        }
    }
    let forwarded_https = headers
        .get_all("x-forwarded-proto")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    Client {
        address,
        over_tls: tls_configured || forwarded_https,
    }
}

/// How long browsers are told to use only HTTPS: a year.
const HSTS: &str = "max-age=31536000";

/// Finds the request's [`Client`] for the handlers, and sets the answer's headers
/// that depend on it or on the path: `Cache-Control: no-store` on every answer but
/// the static files (pages, the API and FHIR carry patient data, and nothing of it
/// may stay in a shared or browser cache), and `Strict-Transport-Security` over TLS.
/// Without a peer address (a router driven without a server) the client is the
/// unspecified address.
pub async fn identify(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
    let client = resolve(
        peer,
        request.headers(),
        &state.config.trusted_proxies,
        state.config.cookie_secure,
    );
    let static_file = request.uri().path().starts_with("/static/");
    request.extensions_mut().insert(client);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !static_file {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if client.over_tls {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    response
}

/// The request's client. Missing only when the router runs without [`identify`],
/// which `crate::router` never does; then it is the unspecified address, which
/// every such request shares.
impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Client>().copied().unwrap_or_else(|| {
            tracing::error!("the client was not identified: the identify layer is missing");
            Client {
                address: IpAddr::from([0, 0, 0, 0]),
                over_tls: false,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn networks_match_their_leading_bits_and_bad_ones_are_named() {
        let net = Network::parse("10.1.0.0/16").expect("net");
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(
            Network::parse("10.0.0.0/12")
                .expect("net")
                .contains(ip("10.15.0.1"))
        );
        assert!(
            !Network::parse("10.0.0.0/12")
                .expect("net")
                .contains(ip("10.16.0.1"))
        );
        assert!(
            Network::parse("127.0.0.1")
                .expect("one")
                .contains(ip("::ffff:127.0.0.1"))
        );
        assert!(Network::parse("fd00::/8").expect("v6").contains(ip("fd12::1")));
        assert!(!Network::parse("fd00::/8").expect("v6").contains(ip("10.0.0.1")));
        assert!(Network::parse("0.0.0.0/0").expect("all").contains(ip("8.8.8.8")));
        assert!(Network::parse("10.0.0.0/33").unwrap_err().contains("prefix"));
        assert!(
            TrustedProxies::parse("10.0.0.1, proxy")
                .unwrap_err()
                .contains("proxy")
        );
    }

    #[test]
    fn a_forwarded_address_counts_only_from_a_trusted_proxy_and_only_its_rightmost_untrusted_hop() {
        let none = TrustedProxies::default();
        let proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").expect("proxies");
        let forwarded = headers(&[("x-forwarded-for", "6.6.6.6, 192.0.2.7, 10.0.0.5")]);

        // By default no header is believed.
        let client = resolve(ip("127.0.0.1"), &forwarded, &none, false);
        assert_eq!(client.address, ip("127.0.0.1"));
        // Nor from a peer that is not a trusted proxy.
        let client = resolve(ip("192.0.2.99"), &forwarded, &proxies, false);
        assert_eq!(client.address, ip("192.0.2.99"));
        // Through trusted proxies: the first hop from the right that is not one;
        // the client's own claim to the left (6.6.6.6) is ignored.
        let client = resolve(ip("127.0.0.1"), &forwarded, &proxies, false);
        assert_eq!(client.address, ip("192.0.2.7"));
        // A header in two lines reads as one list; a port is dropped.
        let split = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "192.0.2.8:5000"),
        ]);
        assert_eq!(
            resolve(ip("10.1.1.1"), &split, &proxies, false).address,
            ip("192.0.2.8")
        );
        // Without the header the proxy itself is the client.
        assert_eq!(
            resolve(ip("10.1.1.1"), &HeaderMap::new(), &proxies, false).address,
            ip("10.1.1.1")
        );
    }

    #[test]
    fn tls_is_the_configuration_or_a_trusted_proxys_word() {
        let proxies = TrustedProxies::parse("127.0.0.1").expect("proxies");
        let https = headers(&[("x-forwarded-proto", "https")]);
        assert!(resolve(ip("192.0.2.1"), &HeaderMap::new(), &proxies, true).over_tls);
        assert!(
            !resolve(ip("192.0.2.1"), &https, &proxies, false).over_tls,
            "not a proxy"
        );
        assert!(resolve(ip("127.0.0.1"), &https, &proxies, false).over_tls);
        let http = headers(&[("x-forwarded-proto", "http")]);
        assert!(!resolve(ip("127.0.0.1"), &http, &proxies, false).over_tls);
    }
}
