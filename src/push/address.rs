//! Where a webhook may point: HTTPS to public addresses only. A URL whose host resolves to a
//! loopback, private, shared (CGNAT), link-local (cloud metadata lives there), unspecified,
//! multicast or documentation address is refused — when the channel is saved and again at
//! every send (the name may resolve elsewhere by then), and the send then connects to the
//! address that was checked, so a second lookup cannot swap it. `DANGKE_PUSH_ALLOW_NETS`
//! lets chosen private networks through (plain `http://` is accepted only there).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::Url;

use crate::config::IpNet;

/// Why a webhook URL is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not an absolute http(s) URL with a host, or it carries a user name or password.
    Malformed,
    /// `http://` to an address outside the allowed networks.
    NotHttps,
    /// The host resolves to an address that is not public (and not allowed).
    Forbidden(IpAddr),
    /// The host does not resolve (now).
    Unresolved(String),
}

impl Refusal {
    /// A sentence for the organizer (Chinese, English).
    pub fn message(&self) -> (String, String) {
        match self {
            Refusal::Malformed => (
                "地址须为不含用户名和密码的完整 https 地址".into(),
                "must be an absolute https URL without user name or password".into(),
            ),
            Refusal::NotHttps => ("地址须使用 https".into(), "must use https".into()),
            Refusal::Forbidden(ip) => (
                format!("地址解析到内网或保留地址 {ip}，不允许推送"),
                format!("resolves to {ip}, a loopback, private or reserved address"),
            ),
            Refusal::Unresolved(why) => (
                format!("无法解析地址的主机名：{why}"),
                format!("the host name does not resolve: {why}"),
            ),
        }
    }
}

fn v4_forbidden(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10, shared address space
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24, protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15, benchmarking
        || o[0] >= 240 // reserved
}

fn v6_forbidden(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_forbidden(v4);
    }
    let s = ip.segments();
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local
        || (s[0] & 0xffc0) == 0xfe80 // fe80::/10 link-local
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 (may reach private v4)
        || s[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible
}

/// Whether a webhook may not be sent to `ip` (unless an allowed network holds it).
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_forbidden(v4),
        IpAddr::V6(v6) => v6_forbidden(v6),
    }
}

/// The host and port of an acceptable webhook URL (shape only, no lookup).
pub fn host_and_port(url: &str) -> Result<(Url, String, u16), Refusal> {
    let u = Url::parse(url).map_err(|_| Refusal::Malformed)?;
    if !matches!(u.scheme(), "http" | "https") || !u.username().is_empty() || u.password().is_some()
    {
        return Err(Refusal::Malformed);
    }
    let host = match u.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err(Refusal::Malformed),
    };
    let port = u.port_or_known_default().ok_or(Refusal::Malformed)?;
    Ok((u, host, port))
}

/// Resolves a webhook URL and checks every address it resolves to. Returns the URL, its host
/// and the checked addresses to connect to.
pub async fn check(url: &str, allow: &[IpNet]) -> Result<(Url, String, Vec<SocketAddr>), Refusal> {
    let (u, host, port) = host_and_port(url)?;
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| Refusal::Unresolved(e.to_string()))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(Refusal::Unresolved("no address".into()));
    }
    let allowed = |ip: IpAddr| allow.iter().any(|n| n.contains(ip));
    for a in &addrs {
        if is_forbidden(a.ip()) && !allowed(a.ip()) {
            return Err(Refusal::Forbidden(a.ip()));
        }
    }
    if u.scheme() == "http" && !addrs.iter().all(|a| allowed(a.ip())) {
        return Err(Refusal::NotHttps);
    }
    Ok((u, host, addrs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_and_reserved_addresses_are_forbidden() {
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_forbidden(ip(s)), "{s}");
        }
        for s in ["8.8.8.8", "203.119.1.1", "2400:3200::1", "::ffff:8.8.8.8"] {
            assert!(!is_forbidden(ip(s)), "{s}");
        }
    }

    #[tokio::test]
    async fn urls_are_checked_after_resolution() {
        assert_eq!(
            check("http://user:pw@example.org/", &[]).await.unwrap_err(),
            Refusal::Malformed
        );
        assert_eq!(
            check("ftp://example.org/", &[]).await.unwrap_err(),
            Refusal::Malformed
        );
        assert_eq!(
            check("https://127.0.0.1:8443/hook", &[]).await.unwrap_err(),
            Refusal::Forbidden(ip("127.0.0.1"))
        );
        assert_eq!(
            check("https://localhost/hook", &[]).await.unwrap_err(),
            Refusal::Forbidden(ip("127.0.0.1"))
        );
        assert_eq!(
            check("https://[::ffff:10.0.0.1]/", &[]).await.unwrap_err(),
            Refusal::Forbidden(ip("::ffff:10.0.0.1"))
        );
        assert_eq!(
            check("http://8.8.8.8/hook", &[]).await.unwrap_err(),
            Refusal::NotHttps
        );
        let allow = [IpNet::parse("127.0.0.0/8").unwrap()];
        let (_, host, addrs) = check("http://127.0.0.1:9/hook", &allow).await.unwrap();
        assert_eq!(host, "127.0.0.1");
        assert_eq!(addrs, vec!["127.0.0.1:9".parse().unwrap()]);
    }
}
