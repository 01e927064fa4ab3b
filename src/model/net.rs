//! CIDRs and IP addresses, parsed the way Go's `net` package (and so Calico) parses them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpFamily {
    V4,
    V6,
}

impl IpFamily {
    pub fn bits(self) -> u8 {
        match self {
            IpFamily::V4 => 32,
            IpFamily::V6 => 128,
        }
    }

    pub fn version(self) -> u8 {
        match self {
            IpFamily::V4 => 4,
            IpFamily::V6 => 6,
        }
    }
}

/// An address with a prefix length. `addr` holds the address as written (host bits may be set);
/// IPv4 addresses live in the low 32 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    pub family: IpFamily,
    pub addr: u128,
    pub prefix: u8,
}

impl Cidr {
    fn host_mask(self) -> u128 {
        let host_bits = u32::from(self.family.bits() - self.prefix);
        if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        }
    }

    /// First address of the network.
    pub fn first(self) -> u128 {
        self.addr & !self.host_mask()
    }

    /// Last address of the network.
    pub fn last(self) -> u128 {
        self.first() | self.host_mask()
    }

    pub fn has_host_bits(self) -> bool {
        self.addr != self.first()
    }

    /// The same prefix with host bits cleared.
    pub fn network(self) -> Cidr {
        Cidr {
            addr: self.first(),
            ..self
        }
    }

    pub fn is_catch_all(self) -> bool {
        self.prefix == 0
    }

    pub fn contains(self, other: Cidr) -> bool {
        self.family == other.family && self.first() <= other.first() && other.last() <= self.last()
    }

    pub fn contains_addr(self, family: IpFamily, addr: u128) -> bool {
        self.family == family && self.first() <= addr && addr <= self.last()
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.family {
            IpFamily::V4 => write!(f, "{}/{}", Ipv4Addr::from(self.addr as u32), self.prefix),
            IpFamily::V6 => write!(f, "{}/{}", Ipv6Addr::from(self.addr), self.prefix),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetError(pub String);

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parse an IP address as Go's `net.ParseIP` does (dotted-quad IPv4 without leading zeros, or
/// IPv6; no zones).
pub fn parse_ip(s: &str) -> Option<(IpFamily, u128)> {
    match s.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => Some((IpFamily::V4, u128::from(u32::from(a)))),
        IpAddr::V6(a) => Some((IpFamily::V6, u128::from(a))),
    }
}

/// Parse `ADDR/PREFIX` as Go's `net.ParseCIDR` does. Host bits are kept (see
/// [`Cidr::has_host_bits`]); callers decide whether they are an error.
pub fn parse_cidr(s: &str) -> Result<Cidr, NetError> {
    let Some((addr, prefix)) = s.split_once('/') else {
        return Err(NetError(match parse_ip(s) {
            Some((family, _)) => format!(
                "invalid CIDR `{s}`: missing prefix length (a single address is `{s}/{}`)",
                family.bits()
            ),
            None => format!("invalid CIDR `{s}`: not an address with a prefix length"),
        }));
    };
    let (family, addr) = parse_ip(addr)
        .ok_or_else(|| NetError(format!("invalid CIDR `{s}`: `{addr}` is not an IP address")))?;
    let prefix_ok =
        !prefix.is_empty() && prefix.len() <= 3 && prefix.bytes().all(|b| b.is_ascii_digit());
    let prefix_len = if prefix_ok {
        prefix.parse::<u8>().ok()
    } else {
        None
    };
    match prefix_len {
        Some(p) if p <= family.bits() => Ok(Cidr {
            family,
            addr,
            prefix: p,
        }),
        _ => Err(NetError(format!(
            "invalid CIDR `{s}`: prefix length must be 0-{} for IPv{}",
            family.bits(),
            family.version()
        ))),
    }
}

/// Parse a CIDR or a bare IP (taken as /32 or /128), as NetworkSets and HostEndpoint
/// `expectedIPs` accept.
pub fn parse_ip_or_cidr(s: &str) -> Result<Cidr, NetError> {
    if s.contains('/') {
        parse_cidr(s)
    } else {
        let (family, addr) =
            parse_ip(s).ok_or_else(|| NetError(format!("invalid IP address or CIDR `{s}`")))?;
        Ok(Cidr {
            family,
            addr,
            prefix: family.bits(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_go() {
        let c = parse_cidr("10.0.0.0/8").unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert!(!c.has_host_bits());
        let h = parse_cidr("10.0.0.1/8").unwrap();
        assert!(h.has_host_bits());
        assert_eq!(h.network().to_string(), "10.0.0.0/8");
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("300.1.1.1/8").is_err());
        assert!(parse_cidr("010.0.0.0/8").is_err());
        assert!(parse_cidr("::/129").is_err());
        assert!(parse_cidr("10.0.0.1").is_err());
        assert!(parse_cidr("10.0.0.0/").is_err());
        assert!(parse_cidr("10.0.0.0/-1").is_err());
        assert!(parse_cidr("fe80::1%eth0/64").is_err());
        let v6 = parse_cidr("2001:db8::/32").unwrap();
        assert_eq!(v6.family, IpFamily::V6);
        assert!(parse_cidr("::0/0").unwrap().is_catch_all());
        assert_eq!(parse_ip_or_cidr("10.1.2.3").unwrap().prefix, 32);
    }

    #[test]
    fn containment() {
        let a = parse_cidr("10.0.0.0/8").unwrap();
        let b = parse_cidr("10.1.0.0/16").unwrap();
        assert!(a.contains(b));
        assert!(!b.contains(a));
        assert!(parse_cidr("0.0.0.0/0").unwrap().contains(b));
        assert!(!parse_cidr("::/0").unwrap().contains(b));
    }
}
