//! Rule ports (`80`, `"8000:8080"`, `http`) and protocols (`TCP`, `6`), decoded as Calico's
//! `numorstring` package decodes them (spec §2.3, §2.4).

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Port {
    /// `min..=max`; a single port has `min == max`. Decoding guarantees `min <= max`; `0` is
    /// representable (the validator rejects it).
    Range {
        min: u16,
        max: u16,
    },
    Named(String),
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Port::Range { min, max } if min == max => write!(f, "{min}"),
            Port::Range { min, max } => write!(f, "{min}:{max}"),
            Port::Named(n) => f.write_str(n),
        }
    }
}

/// Decode a port given as a YAML integer.
pub fn port_from_int(n: i64) -> Result<Port, String> {
    u16::try_from(n)
        .map(|p| Port::Range { min: p, max: p })
        .map_err(|_| format!("port {n} is out of range (0-65535)"))
}

/// Decode a port given as a string: digits, `min:max`, or a port name.
pub fn port_from_str(s: &str) -> Result<Port, String> {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if digits(s) {
        return s
            .parse::<u16>()
            .map(|p| Port::Range { min: p, max: p })
            .map_err(|_| format!("port {s} is out of range (0-65535)"));
    }
    if let Some((a, b)) = s.split_once(':') {
        if digits(a) && digits(b) {
            let (Ok(min), Ok(max)) = (a.parse::<u16>(), b.parse::<u16>()) else {
                return Err(format!("port range `{s}` is out of range (0-65535)"));
            };
            if min > max {
                return Err(format!(
                    "minimum port number ({min}) is greater than maximum port number ({max}) in port range `{s}`"
                ));
            }
            return Ok(Port::Range { min, max });
        }
    }
    let name_ok = (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if name_ok {
        Ok(Port::Named(s.to_string()))
    } else {
        Err(format!(
            "invalid port `{s}`: expected a number, a range `min:max`, or a port name"
        ))
    }
}

/// Kubernetes `IsValidPortName` (IANA service name): 1-15 chars of `[-a-z0-9]`, at least one
/// letter, no leading/trailing `-`, no `--`.
pub fn is_valid_port_name(s: &str) -> bool {
    (1..=15).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// A rule protocol: a number 1-255 or one of the names Calico knows (kept verbatim).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Number(u8),
    Name(String),
}

/// The protocol names Calico knows and their IANA numbers: the one table of protocol names
/// (decoding rules here, naming protocols in witnesses and answers through [`protocol_name`]).
pub const PROTOCOL_NAMES: [(&str, u8); 6] = [
    ("TCP", 6),
    ("UDP", 17),
    ("ICMP", 1),
    ("ICMPv6", 58),
    ("SCTP", 132),
    ("UDPLite", 136),
];

impl Protocol {
    pub fn from_int(n: i64) -> Result<Protocol, String> {
        u8::try_from(n)
            .map(Protocol::Number)
            .map_err(|_| format!("protocol number {n} is out of range (1-255)"))
    }

    /// Strings that parse as an unsigned 8-bit number become numbers (`"6"` ≡ `6`). Infallible,
    /// unlike `FromStr`: unknown names are kept and rejected by validation.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(s: &str) -> Protocol {
        match s.parse::<u8>() {
            Ok(n) if s.bytes().all(|b| b.is_ascii_digit()) => Protocol::Number(n),
            _ => Protocol::Name(s.to_string()),
        }
    }

    /// The IANA protocol number, when the protocol is valid.
    pub fn number(&self) -> Option<u8> {
        match self {
            Protocol::Number(n) => Some(*n),
            Protocol::Name(name) => PROTOCOL_NAMES
                .iter()
                .find(|(known, _)| known == name)
                .map(|(_, n)| *n),
        }
    }

    /// Valid per Calico's validator: number 1-255 or an exact known name.
    pub fn is_valid(&self) -> bool {
        match self {
            Protocol::Number(n) => *n >= 1,
            Protocol::Name(_) => self.number().is_some(),
        }
    }

    /// TCP, UDP, SCTP (or 6, 17, 132): the protocols whose rules may use ports.
    pub fn supports_ports(&self) -> bool {
        matches!(self.number(), Some(6 | 17 | 132))
    }

    pub fn is_name(&self, name: &str) -> bool {
        matches!(self, Protocol::Name(n) if n == name)
    }
}

/// A protocol number as messages name it: its name from [`PROTOCOL_NAMES`] (`TCP`), else
/// `protocol 47`.
pub fn protocol_name(p: u8) -> String {
    match PROTOCOL_NAMES.iter().find(|(_, n)| *n == p) {
        Some((name, _)) => (*name).to_string(),
        None => format!("protocol {p}"),
    }
}

/// The protocol of an answer about flows (`reach`, `graph`, `exposure`, `paths`, `diff`,
/// CAL311): one protocol, or every protocol the question did not name, together. The analysis
/// carries it as it is; the reports name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowProtocol {
    Number(u8),
    /// Every protocol not named on its own.
    Other,
}

impl FlowProtocol {
    /// The analysis once carried [`FlowProtocol::Other`] as protocol code 0 (no protocol a rule
    /// can name: Calico accepts 1-255); the naming tests below still read such codes.
    #[cfg(test)]
    fn from_code(code: u8) -> FlowProtocol {
        match code {
            0 => FlowProtocol::Other,
            n => FlowProtocol::Number(n),
        }
    }

    /// The protocol number, for one protocol (`None`: every other protocol).
    pub fn number(self) -> Option<u8> {
        match self {
            FlowProtocol::Number(n) => Some(n),
            FlowProtocol::Other => None,
        }
    }

    /// For text: `TCP`, `protocol 47`, `other protocols`.
    pub fn label(self) -> String {
        match self {
            FlowProtocol::Number(n) => protocol_name(n),
            FlowProtocol::Other => "other protocols".to_string(),
        }
    }

    /// For JSON and `reach`'s answers: `TCP`, `protocol 47`, `other`.
    pub fn name(self) -> String {
        match self {
            FlowProtocol::Number(n) => protocol_name(n),
            FlowProtocol::Other => "other".to_string(),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Number(n) => write!(f, "{n}"),
            Protocol::Name(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_decoding() {
        assert_eq!(port_from_int(80), Ok(Port::Range { min: 80, max: 80 }));
        assert!(port_from_int(70000).is_err());
        assert_eq!(
            port_from_str("8000:8080"),
            Ok(Port::Range {
                min: 8000,
                max: 8080
            })
        );
        assert!(port_from_str("5:3").is_err());
        assert_eq!(port_from_str("http"), Ok(Port::Named("http".into())));
        // `80-90` decodes as a name and is then rejected by the port-name check.
        assert_eq!(port_from_str("80-90"), Ok(Port::Named("80-90".into())));
        assert!(!is_valid_port_name("80-90"));
        assert!(!is_valid_port_name("HTTP"));
        assert!(!is_valid_port_name("http-alternative-1"));
        assert!(is_valid_port_name("metrics"));
        assert!(port_from_str("a b").is_err());
    }

    #[test]
    fn protocol_decoding() {
        assert_eq!(Protocol::from_str("6"), Protocol::Number(6));
        assert!(Protocol::from_str("TCP").supports_ports());
        assert!(!Protocol::from_str("UDPLite").supports_ports());
        assert!(!Protocol::from_str("tcp").is_valid());
        assert!(!Protocol::Number(0).is_valid());
        assert!(Protocol::from_int(256).is_err());
    }

    #[test]
    fn protocol_names_for_messages() {
        for (name, n) in PROTOCOL_NAMES {
            assert_eq!(protocol_name(n), name);
        }
        assert_eq!(protocol_name(47), "protocol 47");
        assert_eq!(FlowProtocol::from_code(6).label(), "TCP");
        assert_eq!(FlowProtocol::from_code(0).label(), "other protocols");
        assert_eq!(FlowProtocol::from_code(0).name(), "other");
        assert_eq!(FlowProtocol::from_code(136).name(), "UDPLite");
    }
}
