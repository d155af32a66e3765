//! Who is asking: the client IP, the user agent and the device cookie, for
//! the limits and the audit trail.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use ipnet::IpNet;

use super::device;
use crate::audit::RequestMeta;
use crate::domain::DeviceToken;
use crate::state::AppState;

const MAX_USER_AGENT_CHARS: usize = 256;

#[derive(Debug)]
pub(super) struct Meta(pub(super) RequestMeta);

impl FromRequestParts<AppState> for Meta {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let ip = peer
            .map(|peer| client_ip(peer, &parts.headers, &state.trusted_proxies))
            .map(|ip| ip.to_canonical().to_string());
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|agent| {
                agent
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_USER_AGENT_CHARS)
                    .collect()
            });
        let jar = CookieJar::from_headers(&parts.headers);
        let device = jar
            .get(device::cookie_name(state))
            .and_then(|cookie| DeviceToken::parse(cookie.value()).ok())
            .map(|token| token.digest());
        Ok(Self(RequestMeta {
            ip,
            user_agent,
            device,
        }))
    }
}

/// The socket's address, unless it is a trusted proxy: then the nearest
/// address in `X-Forwarded-For` that is not one (the entries further left
/// were written by the client and prove nothing).
fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&ip.to_canonical()));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for entry in forwarded.iter().rev() {
        let Ok(hop) = entry.parse::<IpAddr>() else {
            break;
        };
        client = hop;
        if !is_trusted(&hop) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_header_is_ignored_without_a_trusted_proxy() {
        let forged = headers(&["203.0.113.9"]);
        assert_eq!(
            client_ip(ip("198.51.100.1"), &forged, &[]),
            ip("198.51.100.1")
        );
        let proxies = ["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            client_ip(ip("198.51.100.1"), &forged, &proxies),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_hop_is_the_client() {
        let proxies = [
            "10.0.0.0/8".parse().unwrap(),
            "192.0.2.7/32".parse().unwrap(),
        ];
        let chain = headers(&["6.6.6.6, 203.0.113.9", "192.0.2.7"]);
        assert_eq!(
            client_ip(ip("10.1.2.3"), &chain, &proxies),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn garbage_stops_the_walk() {
        let proxies = ["10.0.0.0/8".parse().unwrap()];
        let chain = headers(&["203.0.113.9, not-an-ip, 10.0.0.2"]);
        assert_eq!(client_ip(ip("10.1.2.3"), &chain, &proxies), ip("10.0.0.2"));
        assert_eq!(
            client_ip(ip("10.1.2.3"), &HeaderMap::new(), &proxies),
            ip("10.1.2.3")
        );
    }
}
