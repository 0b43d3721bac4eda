//! The client's IP address: the TCP peer, or the last untrusted hop of `X-Forwarded-For`
//! when the peer is a trusted proxy (`DANGKE_TRUSTED_PROXIES`).

use std::net::IpAddr;

use actix_web::HttpRequest;

use crate::config::IpNet;

/// The address rate limits and the audit log attribute a request to.
pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip())?;
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter_map(|s| s.parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    // Walk from the nearest hop back; the first address not ours is the client.
    Some(
        forwarded
            .iter()
            .rev()
            .copied()
            .find(|ip| !is_trusted(*ip))
            .or_else(|| forwarded.first().copied())
            .unwrap_or(peer),
    )
}
