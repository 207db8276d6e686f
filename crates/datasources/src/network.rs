//! The network policy every network connector obeys (SSRF).
//!
//! A host is resolved here, every address it resolves to is checked, and the connector then
//! connects to a checked address, never to the name again: DNS cannot answer differently
//! between the check and the connect. Refused by default: link-local addresses (which hold the
//! cloud metadata services, `169.254.169.254`), `fe80::/10`, AWS's IPv6 metadata address
//! `fd00:ec2::254`, Alibaba's `100.100.100.200`, and `0.0.0.0/8` (which reaches the local host).
//! IPv4-mapped IPv6 addresses (`::ffff:169.254.169.254`) are checked as the IPv4 address they
//! map. Operators add ranges with `JET_NETWORK_DENY` and carve exceptions out of the denied ones
//! with `JET_NETWORK_ALLOW` (a hosted set-up denies the private ranges: see
//! `docs/datasources.md`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use crate::Error;

/// An address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("`{text}` is not an address or CIDR range"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}`: the prefix length is 0 to {max}"))?,
        };
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Cidr {
    /// Whether `ip` is in the range (IPv4 against IPv4 ranges, IPv6 against IPv6).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(net)), 32, self.prefix)
                    == masked(u128::from(u32::from(ip)), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), 128, self.prefix)
                    == masked(u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn masked(bits: u128, width: u8, prefix: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let shift = u32::from(width - prefix);
    (bits >> shift) << shift
}

/// Ranges refused unless an operator allows them.
pub const DEFAULT_DENY: &[&str] = &[
    "169.254.0.0/16",
    "0.0.0.0/8",
    "100.100.100.200/32",
    "fe80::/10",
    "fd00:ec2::254/128",
];

/// Which addresses connectors may reach.
#[derive(Debug, Clone)]
pub struct NetworkPolicy {
    deny: Vec<Cidr>,
    allow: Vec<Cidr>,
}

impl Default for NetworkPolicy {
    fn default() -> Self {
        Self::new(&[], &[])
    }
}

impl NetworkPolicy {
    /// The default denials plus `deny`, with `allow` as exceptions.
    pub fn new(deny: &[Cidr], allow: &[Cidr]) -> Self {
        let mut all: Vec<Cidr> = DEFAULT_DENY.iter().filter_map(|c| c.parse().ok()).collect();
        all.extend_from_slice(deny);
        NetworkPolicy {
            deny: all,
            allow: allow.to_vec(),
        }
    }

    /// Parses a comma-separated list of ranges (`JET_NETWORK_DENY`).
    pub fn parse_list(text: &str) -> Result<Vec<Cidr>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::parse)
            .collect()
    }

    /// Whether `ip` may be reached.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        let denied = self.deny.iter().any(|range| range.contains(ip));
        !denied || self.allow.iter().any(|range| range.contains(ip))
    }

    /// Resolves `host` and checks every address; refused if any is denied (a name that mixes
    /// allowed and denied addresses is refused whole). The addresses to connect to.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((host, port))
                .await
                .map_err(|_| Error::Connection(format!("cannot resolve host `{host}`")))?
                .collect(),
        };
        if addresses.is_empty() {
            return Err(Error::Connection(format!("host `{host}` has no address")));
        }
        if let Some(refused) = addresses.iter().find(|a| !self.permits(a.ip())) {
            return Err(Error::NetworkDenied(format!(
                "`{host}` resolves to {}, which the server's network policy refuses",
                refused.ip()
            )));
        }
        Ok(addresses)
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it maps; anything else as it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// The loopback addresses, for tests and documentation.
pub const LOOPBACK: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::LOCALHOST),
    IpAddr::V6(Ipv6Addr::LOCALHOST),
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn metadata_addresses_are_refused_in_every_spelling() {
        let policy = NetworkPolicy::default();
        for refused in [
            "169.254.169.254",
            "::ffff:169.254.169.254",
            "fd00:ec2::254",
            "100.100.100.200",
            "::ffff:100.100.100.200",
            "fe80::1",
            "0.0.0.0",
        ] {
            assert!(!policy.permits(ip(refused)), "{refused}");
        }
        for allowed in ["127.0.0.1", "::1", "10.1.2.3", "93.184.216.34"] {
            assert!(policy.permits(ip(allowed)), "{allowed}");
        }
    }

    #[test]
    fn operators_deny_ranges_and_carve_exceptions() {
        let deny = NetworkPolicy::parse_list("10.0.0.0/8, 127.0.0.0/8,::1").unwrap();
        let allow = NetworkPolicy::parse_list("10.9.0.0/16").unwrap();
        let policy = NetworkPolicy::new(&deny, &allow);
        assert!(!policy.permits(ip("10.1.2.3")));
        assert!(!policy.permits(ip("::ffff:127.0.0.1")));
        assert!(!policy.permits(ip("::1")));
        assert!(policy.permits(ip("10.9.1.1")));
        assert!(NetworkPolicy::parse_list("10.0.0.0/33").is_err());
        assert!(NetworkPolicy::parse_list("nope").is_err());
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("8.8.8.8")));
    }

    #[tokio::test]
    async fn resolution_checks_every_address() {
        let policy = NetworkPolicy::default();
        assert!(policy.resolve("localhost", 5432).await.is_ok());
        let refused = policy.resolve("169.254.169.254", 80).await.unwrap_err();
        assert!(matches!(refused, Error::NetworkDenied(_)));
        let mapped = policy
            .resolve("[::ffff:169.254.169.254]", 80)
            .await
            .unwrap_err();
        assert!(matches!(mapped, Error::NetworkDenied(_)));
    }
}
