//! Local versus remote peers: remote sessions need a second factor (SEC-01).
//!
//! The peer address must be the TCP peer of the connection, or the address a configured,
//! trusted reverse proxy reports ([`client_address`]); never a client-supplied header taken at
//! face value.
//! IPv4-mapped IPv6 addresses (`::ffff:10.1.2.3`) are matched as the IPv4 address they carry.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::AuthError;

/// Which networks count as local.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// Networks whose peers may sign in with a password alone.
    pub local_networks: Vec<IpNet>,
}

impl Default for NetworkConfig {
    /// Only the loopback networks are local: everything else needs a second factor.
    fn default() -> Self {
        NetworkConfig {
            local_networks: vec![
                IpNet::V4(ipnet::Ipv4Net::new_assert(
                    std::net::Ipv4Addr::new(127, 0, 0, 0),
                    8,
                )),
                IpNet::V6(ipnet::Ipv6Net::new_assert(
                    std::net::Ipv6Addr::LOCALHOST,
                    128,
                )),
            ],
        }
    }
}

impl NetworkConfig {
    /// Parses a list of CIDR blocks such as `["10.0.0.0/8", "127.0.0.0/8", "::1/128"]`. A bare
    /// address is taken as a single host. The error names the entry at fault.
    pub fn from_cidrs<S: AsRef<str>>(cidrs: &[S]) -> Result<Self, AuthError> {
        let mut local_networks = Vec::with_capacity(cidrs.len());
        for raw in cidrs {
            let text = raw.as_ref().trim();
            let net = match text.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => match text.parse::<IpAddr>() {
                    Ok(addr) => IpNet::from(addr),
                    Err(_) => {
                        return Err(AuthError::InvalidInput(format!(
                            "network {text:?} is not a CIDR block like 10.0.0.0/8 or ::1/128"
                        )))
                    }
                },
            };
            local_networks.push(net.trunc());
        }
        Ok(NetworkConfig { local_networks })
    }

    /// True when `peer` lies in one of the local networks.
    pub fn is_local(&self, peer: IpAddr) -> bool {
        let peer = canonical(peer);
        self.local_networks.iter().any(|net| net.contains(&peer))
    }
}

fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// SEC-01: does a session from `peer` need a TOTP code?
pub fn requires_second_factor(peer: IpAddr, config: &NetworkConfig) -> bool {
    !config.is_local(peer)
}

/// The client's address behind reverse proxies.
///
/// `X-Forwarded-For` is believed only when the TCP `peer` is one of the `trusted_proxies`; every
/// other caller could have written the header itself, so its TCP address is the client. From a
/// trusted proxy, the entries (all `X-Forwarded-For` headers in order, comma-separated) are read
/// from the right, the end each proxy appends to: the first entry that is not itself a trusted
/// proxy is the client. Entries further left were written by the client and are never believed.
/// When every entry is a trusted proxy, the leftmost one is the client; with no header, the proxy
/// itself is.
///
/// Returns `None` when the entry that would be the client is not an address (a misconfigured or
/// hostile proxy chain): the caller must then treat the client as remote, never as local.
pub fn client_address<'a>(
    peer: IpAddr,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    trusted_proxies: &NetworkConfig,
) -> Option<IpAddr> {
    let peer = canonical(peer);
    if !trusted_proxies.is_local(peer) {
        return Some(peer);
    }
    let entries: Vec<&str> = forwarded_for
        .into_iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        let addr = canonical(parse_forwarded_entry(entry)?);
        client = addr;
        if !trusted_proxies.is_local(addr) {
            break;
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`.
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = entry.parse::<std::net::SocketAddr>() {
        return Some(sock.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .and_then(|e| e.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn sec_01_remote_sessions_need_a_second_factor() {
        let cfg = NetworkConfig::from_cidrs(&["10.0.0.0/8", "127.0.0.0/8", "::1/128"]).unwrap();
        assert!(!requires_second_factor(ip("10.20.30.40"), &cfg));
        assert!(!requires_second_factor(ip("127.0.0.1"), &cfg));
        assert!(!requires_second_factor(ip("::1"), &cfg));
        assert!(!requires_second_factor(ip("::ffff:10.1.2.3"), &cfg));
        assert!(requires_second_factor(ip("11.0.0.1"), &cfg));
        assert!(requires_second_factor(ip("192.168.1.1"), &cfg));
        assert!(requires_second_factor(ip("::ffff:8.8.8.8"), &cfg));
        assert!(requires_second_factor(ip("2001:db8::1"), &cfg));
    }

    #[test]
    fn sec_01_default_treats_only_loopback_as_local() {
        let cfg = NetworkConfig::default();
        assert!(!requires_second_factor(ip("127.0.0.1"), &cfg));
        assert!(!requires_second_factor(ip("::1"), &cfg));
        assert!(requires_second_factor(ip("10.0.0.1"), &cfg));
        let empty = NetworkConfig::from_cidrs::<&str>(&[]).unwrap();
        assert!(requires_second_factor(ip("127.0.0.1"), &empty));
    }

    #[test]
    fn sec_01_forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies = NetworkConfig::from_cidrs(&["10.0.0.5/32", "10.0.0.6/32"]).unwrap();
        // Not a trusted proxy: the header is the caller's own words.
        assert_eq!(
            client_address(ip("203.0.113.9"), ["127.0.0.1"], &proxies),
            Some(ip("203.0.113.9"))
        );
        // A trusted proxy: the rightmost entry it appended is the client; what the client wrote
        // further left is ignored.
        assert_eq!(
            client_address(ip("10.0.0.5"), ["127.0.0.1, 198.51.100.7"], &proxies),
            Some(ip("198.51.100.7"))
        );
        // Two trusted proxies in a chain, over two headers.
        assert_eq!(
            client_address(ip("10.0.0.5"), ["10.1.2.3", "10.0.0.6"], &proxies),
            Some(ip("10.1.2.3"))
        );
        // Ports and brackets.
        assert_eq!(
            client_address(ip("10.0.0.5"), ["[2001:db8::1]:443"], &proxies),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), ["198.51.100.7:5678"], &proxies),
            Some(ip("198.51.100.7"))
        );
        // No header: the proxy itself.
        assert_eq!(
            client_address(ip("10.0.0.5"), [], &proxies),
            Some(ip("10.0.0.5"))
        );
        // Garbage where the client should be: unknown, so never local.
        assert_eq!(client_address(ip("10.0.0.5"), ["unknown"], &proxies), None);
        // Garbage to the left of the real client does not matter.
        assert_eq!(
            client_address(ip("10.0.0.5"), ["junk, 198.51.100.7"], &proxies),
            Some(ip("198.51.100.7"))
        );
        // No trusted proxies: the peer, always.
        let none = NetworkConfig::from_cidrs::<&str>(&[]).unwrap();
        assert_eq!(
            client_address(ip("127.0.0.1"), ["198.51.100.7"], &none),
            Some(ip("127.0.0.1"))
        );
    }

    #[test]
    fn sec_01_bad_cidr_is_named() {
        let err = NetworkConfig::from_cidrs(&["10.0.0.0/8", "10.0.0.0/33"]).unwrap_err();
        assert!(err.to_string().contains("10.0.0.0/33"), "{err}");
        let host = NetworkConfig::from_cidrs(&["192.0.2.7"]).unwrap();
        assert!(host.is_local(ip("192.0.2.7")));
        assert!(!host.is_local(ip("192.0.2.8")));
        // Host bits are cleared: 10.1.2.3/8 means 10.0.0.0/8.
        let trunc = NetworkConfig::from_cidrs(&["10.1.2.3/8"]).unwrap();
        assert!(trunc.is_local(ip("10.200.0.1")));
    }
}
