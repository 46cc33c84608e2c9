//! Local versus remote peers: remote sessions need a second factor (SEC-01).
//!
//! The peer address must be the TCP peer of the connection, or the address a configured,
//! trusted reverse proxy reports; never a client-supplied header taken at face value.
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
                            "local network {text:?} is not a CIDR block like 10.0.0.0/8 or ::1/128"
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
