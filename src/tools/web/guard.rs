//! SSRF guard: which addresses the web tools may connect to.
//!
//! Every address is put in a [`Class`]:
//! - [`Class::Forbidden`] addresses are never reached, whatever the
//!   configuration: link-local (where cloud metadata services live), the
//!   metadata addresses themselves, "this network", multicast, broadcast and
//!   reserved ranges.
//! - [`Class::Private`] addresses (loopback, RFC 1918, carrier-grade NAT,
//!   unique-local IPv6, …) are reached only when the server runs with
//!   `allow_private`.
//! - Everything else is [`Class::Public`].
//!
//! IPv6 addresses that embed an IPv4 address (IPv4-mapped, IPv4-compatible,
//! NAT64, 6to4) are judged by the IPv4 address they carry.
//!
//! The check runs on the *resolved* address of every connection: the HTTP
//! client resolves names through [`GuardedResolver`], which refuses a name
//! when any of its addresses is refused (so DNS rebinding between addresses
//! of one answer cannot pick a forbidden one), and the fetcher follows
//! redirects itself, checking each hop's URL (literal IP hosts never reach a
//! resolver, so [`Guard::check_url`] judges them).

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// The verdict on one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A globally routable address.
    Public,
    /// A private-network address, reachable only with `allow_private`; the
    /// string names the rule.
    Private(&'static str),
    /// An address never reached; the string names the rule.
    Forbidden(&'static str),
}

/// Classify an IPv4 address.
pub fn classify_v4(ip: Ipv4Addr) -> Class {
    let o = ip.octets();
    let in_net = |net: [u8; 4], bits: u32| {
        let mask = if bits == 0 {
            0
        } else {
            u32::MAX << (32 - bits)
        };
        u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
    };
    if in_net([169, 254, 0, 0], 16) {
        return Class::Forbidden("link-local / cloud metadata range 169.254.0.0/16");
    }
    if ip == Ipv4Addr::new(100, 100, 100, 200) {
        return Class::Forbidden("cloud metadata address 100.100.100.200");
    }
    if o[0] == 0 {
        return Class::Forbidden("\"this network\" range 0.0.0.0/8");
    }
    if ip.is_broadcast() {
        return Class::Forbidden("broadcast address 255.255.255.255");
    }
    if ip.is_multicast() {
        return Class::Forbidden("multicast range 224.0.0.0/4");
    }
    if o[0] >= 240 {
        return Class::Forbidden("reserved range 240.0.0.0/4");
    }
    if ip.is_loopback() {
        return Class::Private("loopback range 127.0.0.0/8");
    }
    if in_net([10, 0, 0, 0], 8) || in_net([172, 16, 0, 0], 12) || in_net([192, 168, 0, 0], 16) {
        return Class::Private("private range (10/8, 172.16/12, 192.168/16)");
    }
    if in_net([100, 64, 0, 0], 10) {
        return Class::Private("carrier-grade NAT range 100.64.0.0/10");
    }
    if in_net([192, 0, 0, 0], 24) || in_net([198, 18, 0, 0], 15) {
        return Class::Private("special-purpose range (192.0.0.0/24, 198.18.0.0/15)");
    }
    if in_net([192, 0, 2, 0], 24) || in_net([198, 51, 100, 0], 24) || in_net([203, 0, 113, 0], 24) {
        return Class::Forbidden("documentation range (TEST-NET)");
    }
    Class::Public
}

/// The IPv4 address an IPv6 address carries, if it is one of the embedding
/// forms (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64
/// `64:ff9b::/96`, 6to4 `2002::/16`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return Some(tail());
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail());
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

/// Classify an IPv6 address.
pub fn classify_v6(ip: Ipv6Addr) -> Class {
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return Class::Forbidden("cloud metadata address fd00:ec2::254");
    }
    if ip.is_unspecified() {
        return Class::Forbidden("unspecified address ::");
    }
    if ip.is_loopback() {
        return Class::Private("loopback address ::1");
    }
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let s0 = ip.segments()[0];
    if s0 & 0xffc0 == 0xfe80 {
        return Class::Forbidden("link-local range fe80::/10");
    }
    if s0 & 0xff00 == 0xff00 {
        return Class::Forbidden("multicast range ff00::/8");
    }
    if s0 == 0x2001 && ip.segments()[1] == 0x0db8 {
        return Class::Forbidden("documentation range 2001:db8::/32");
    }
    if s0 & 0xfe00 == 0xfc00 {
        return Class::Private("unique-local range fc00::/7");
    }
    if s0 & 0xffc0 == 0xfec0 {
        return Class::Private("site-local range fec0::/10");
    }
    Class::Public
}

/// Classify any IP address.
pub fn classify(ip: IpAddr) -> Class {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// Why the guard refused a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardError {
    /// The host that was asked for.
    pub host: String,
    /// The address that was refused, if one was.
    pub addr: Option<IpAddr>,
    /// The rule that refused it.
    pub rule: String,
    /// Whether `allow_private` would have allowed it.
    pub private: bool,
}

impl fmt::Display for GuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused to connect to {}", self.host)?;
        if let Some(addr) = self.addr {
            if addr.to_string() != self.host.trim_matches(['[', ']']) {
                write!(f, " ({addr})")?;
            }
        }
        write!(f, ": {}", self.rule)?;
        if self.private {
            write!(
                f,
                " is a private network; the server operator can allow it with --fetch-allow-private"
            )
        } else {
            write!(f, " is never allowed")
        }
    }
}

impl std::error::Error for GuardError {}

/// The address policy of one HTTP client.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    /// Reach private (but never forbidden) addresses.
    pub allow_private: bool,
    /// Host names (lower case) whose private addresses are allowed anyway,
    /// because the operator named them: the configured search backends (in
    /// the search client's guard) or, in the guard of the connection to a
    /// proxy only, the proxies. Never the proxies in a guard judging targets.
    pub exempt_hosts: Vec<String>,
}

impl Guard {
    /// Judge `addr`, reached through the name `host`.
    pub fn check_ip(&self, host: &str, addr: IpAddr) -> Result<(), GuardError> {
        let refuse = |rule: &str, private| GuardError {
            host: host.to_owned(),
            addr: Some(addr),
            rule: rule.to_owned(),
            private,
        };
        match classify(addr) {
            Class::Public => Ok(()),
            Class::Forbidden(rule) => Err(refuse(rule, false)),
            Class::Private(rule) => {
                let host_lc = host.to_ascii_lowercase();
                if self.allow_private || self.exempt_hosts.contains(&host_lc) {
                    Ok(())
                } else {
                    Err(refuse(rule, true))
                }
            }
        }
    }

    /// Judge a URL before connecting: the scheme must be http or https, and
    /// a literal IP host is judged here (it never reaches the resolver).
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), GuardError> {
        let host = url.host_str().unwrap_or_default();
        let refuse = |rule: &str| GuardError {
            host: host.to_owned(),
            addr: None,
            rule: rule.to_owned(),
            private: false,
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refuse(&format!(
                "the scheme {:?} (only http and https)",
                url.scheme()
            )));
        }
        match url.host() {
            None => Err(refuse("a URL without a host")),
            Some(url::Host::Ipv4(ip)) => self.check_ip(host, IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check_ip(host, IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
        }
    }

    /// Judge every address of a resolved name: one refused address refuses
    /// the name.
    pub fn check_addrs(&self, host: &str, addrs: &[SocketAddr]) -> Result<(), GuardError> {
        addrs.iter().try_for_each(|a| self.check_ip(host, a.ip()))
    }
}

/// A DNS resolver for reqwest that resolves with the system resolver, then
/// refuses names with any address the [`Guard`] refuses.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    guard: Arc<Guard>,
}

impl GuardedResolver {
    /// A resolver applying `guard`.
    pub fn new(guard: Arc<Guard>) -> Self {
        GuardedResolver { guard }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no addresses").into());
            }
            guard.check_addrs(&host, &addrs)?;
            log::debug!("web: {host} resolved to {addrs:?}");
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Find a [`GuardError`] in an error's source chain.
pub fn find_guard_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a GuardError> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(g) = e.downcast_ref::<GuardError>() {
            return Some(g);
        }
        cur = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Class {
        classify(s.parse().unwrap())
    }
    fn forbidden(s: &str) -> bool {
        matches!(c(s), Class::Forbidden(_))
    }
    fn private(s: &str) -> bool {
        matches!(c(s), Class::Private(_))
    }

    #[test]
    fn always_forbidden_v4() {
        for a in [
            "169.254.169.254",
            "169.254.0.1",
            "100.100.100.200",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.5",
            "198.51.100.7",
            "203.0.113.9",
        ] {
            assert!(forbidden(a), "{a} should be forbidden, got {:?}", c(a));
        }
    }

    #[test]
    fn always_forbidden_v6() {
        for a in [
            "fd00:ec2::254",
            "::",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
        ] {
            assert!(forbidden(a), "{a} should be forbidden, got {:?}", c(a));
        }
    }

    #[test]
    fn private_classes() {
        for a in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "192.0.0.8",
            "198.18.0.1",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fec0::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:c0a8:0101::1",
        ] {
            assert!(private(a), "{a} should be private, got {:?}", c(a));
        }
    }

    #[test]
    fn public_addresses() {
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.255.255",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(c(a), Class::Public, "{a}");
        }
    }

    #[test]
    fn guard_allow_private_and_exemptions() {
        let strict = Guard::default();
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let meta: IpAddr = "169.254.169.254".parse().unwrap();
        let e = strict.check_ip("localhost", lo).unwrap_err();
        assert!(e.private);
        let msg = e.to_string();
        assert!(
            msg.contains("loopback") && msg.contains("--fetch-allow-private"),
            "{msg}"
        );

        let open = Guard {
            allow_private: true,
            ..Guard::default()
        };
        assert!(open.check_ip("localhost", lo).is_ok());
        let e = open.check_ip("evil.example", meta).unwrap_err();
        assert!(!e.private);
        assert!(e.to_string().contains("169.254.0.0/16"), "{e}");
        assert!(e.to_string().contains("never allowed"), "{e}");

        let exempt = Guard {
            allow_private: false,
            exempt_hosts: vec!["searx.local".into()],
        };
        assert!(exempt.check_ip("SEARX.local", lo).is_ok());
        assert!(exempt.check_ip("other.local", lo).is_err());
        assert!(exempt.check_ip("searx.local", meta).is_err());
    }

    #[test]
    fn url_checks() {
        let g = Guard::default();
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(g.check_url(&u("https://example.com/")).is_ok());
        assert!(g.check_url(&u("http://93.184.216.34/")).is_ok());
        let e = g.check_url(&u("http://127.0.0.1:8080/")).unwrap_err();
        assert!(e.to_string().contains("loopback"), "{e}");
        assert!(g.check_url(&u("http://[::ffff:7f00:1]/")).is_err());
        assert!(g.check_url(&u("http://[fd00:ec2::254]/")).is_err());
        let e = g.check_url(&u("file:///etc/passwd")).unwrap_err();
        assert!(e.to_string().contains("only http and https"), "{e}");
        let e = g.check_url(&u("ftp://example.com/")).unwrap_err();
        assert!(e.to_string().contains("\"ftp\""), "{e}");
    }

    #[test]
    fn mixed_answer_refused() {
        let g = Guard::default();
        let addrs: Vec<SocketAddr> =
            vec!["8.8.8.8:0".parse().unwrap(), "10.0.0.1:0".parse().unwrap()];
        assert!(g.check_addrs("rebind.example", &addrs).is_err());
        assert!(g.check_addrs("ok.example", &addrs[..1]).is_ok());
    }

    #[tokio::test]
    async fn resolver_refuses_localhost_name() {
        let r = GuardedResolver::new(Arc::new(Guard::default()));
        let err = match r.resolve("localhost".parse().unwrap()).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e,
        };
        let g = find_guard_error(err.as_ref()).expect("a guard error");
        assert!(g.private);
        let r = GuardedResolver::new(Arc::new(Guard {
            allow_private: true,
            ..Guard::default()
        }));
        assert!(r.resolve("localhost".parse().unwrap()).await.is_ok());
    }
}
