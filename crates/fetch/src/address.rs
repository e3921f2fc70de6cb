//! Which IP addresses an outbound request may reach.
//!
//! A server fetching URLs that users (or remote servers) choose must not be
//! steered into the networks behind it: loopback, private ranges, link-local
//! (cloud metadata at 169.254.169.254), carrier-grade NAT, unique-local IPv6,
//! multicast, documentation and reserved blocks. [`is_public`] says whether an
//! address is on the public internet; [`AddressGuard`] adds the ranges an
//! operator chose to allow (`ALLOWED_PRIVATE_ADDRESSES`, as Mastodon).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Whether `ip` is a public unicast address. IPv4-mapped IPv6 addresses
/// (`::ffff:a.b.c.d`) and NAT64 addresses (`64:ff9b::a.b.c.d`) are judged by
/// the IPv4 address they carry.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let private = a == 0                                   // "this network", 0.0.0.0
        || a == 10                                         // private
        || (a == 100 && (64..128).contains(&b))            // carrier-grade NAT, 100.64.0.0/10
        || a == 127                                        // loopback
        || (a == 169 && b == 254)                          // link-local (cloud metadata)
        || (a == 172 && (16..32).contains(&b))             // private
        || (a == 192 && b == 0 && c == 0)                  // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)                  // TEST-NET-1
        || (a == 192 && b == 88 && c == 99)                // 6to4 relay anycast
        || (a == 192 && b == 168)                          // private
        || (a == 198 && (b == 18 || b == 19))              // benchmarking, 198.18.0.0/15
        || (a == 198 && b == 51 && c == 100)               // TEST-NET-2
        || (a == 203 && b == 0 && c == 113)                // TEST-NET-3
        || a >= 224; // multicast (224/4), reserved (240/4), broadcast
    !private
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // NAT64 well-known prefix 64:ff9b::/96: the IPv4 address it stands for.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [h, l] = [s[6], s[7]];
        return is_public_v4(Ipv4Addr::new(
            (h >> 8) as u8,
            h as u8,
            (l >> 8) as u8,
            l as u8,
        ));
    }
    // Only 2000::/3 is allocated as global unicast; everything else (::,
    // ::1, IPv4-compatible, 64:ff9b:1::/48, 100::/64, ULA fc00::/7,
    // link-local fe80::/10, site-local fec0::/10, multicast ff00::/8) is not.
    if s[0] & 0xe000 != 0x2000 {
        return false;
    }
    // IETF protocol assignments 2001::/23 (Teredo, ORCHID, …) and
    // documentation 2001:db8::/32.
    let special_2001 = s[0] == 0x2001 && (s[1] < 0x0200 || s[1] == 0x0db8);
    let special = special_2001
        || s[0] == 0x2002 // 6to4
        || (s[0] & 0xfff0) == 0x3ff0; // documentation 3fff::/20
    !special
}

/// The rule every outbound connection passes: public addresses (unless
/// turned off), plus the ranges the operator allowed.
#[derive(Debug, Clone)]
pub struct AddressGuard {
    allowed: Vec<IpNet>,
    public: bool,
}

impl Default for AddressGuard {
    fn default() -> Self {
        AddressGuard::new(Vec::new())
    }
}

impl AddressGuard {
    /// A guard letting through, besides public addresses, those in `allowed`.
    pub fn new(allowed: Vec<IpNet>) -> AddressGuard {
        AddressGuard {
            allowed,
            public: true,
        }
    }

    /// A guard letting through only `allowed`, no public address (an
    /// instance kept off the internet, such as a test instance).
    pub fn only(allowed: Vec<IpNet>) -> AddressGuard {
        AddressGuard {
            allowed,
            public: false,
        }
    }

    /// Whether a connection to `ip` is allowed.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        (self.public && is_public(ip)) || self.allowed.iter().any(|net| net.contains(&ip))
    }

    /// Whether no address at all may be reached (public ones off, none allowed).
    pub fn reaches_nothing(&self) -> bool {
        !self.public && self.allowed.is_empty()
    }

    /// The operator's allowed ranges.
    pub fn allowed(&self) -> &[IpNet] {
        &self.allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| panic!("bad test address {s}"))
    }

    #[test]
    fn private_and_special_ipv4_are_not_public() {
        for s in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.1.2.3",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!is_public(ip(s)), "{s} must not be public");
        }
    }

    #[test]
    fn public_ipv4_is_public() {
        for s in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
        ] {
            assert!(is_public(ip(s)), "{s} must be public");
        }
    }

    #[test]
    fn private_and_special_ipv6_are_not_public() {
        for s in [
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:10::1",
            "2001:20::1",
            "2001:db8::1",
            "2002:7f00:1::1",
            "3fff::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
        ] {
            assert!(!is_public(ip(s)), "{s} must not be public");
        }
    }

    #[test]
    fn public_ipv6_is_public() {
        for s in [
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip(s)), "{s} must be public");
        }
    }

    #[test]
    fn the_guard_adds_allowed_ranges() -> Result<(), String> {
        let nets = ["127.0.0.1/32", "10.1.0.0/16", "fd00::5/128"]
            .iter()
            .map(|n| n.parse::<IpNet>().map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let guard = AddressGuard::new(nets);
        assert!(guard.allows(ip("127.0.0.1")));
        assert!(guard.allows(ip("::ffff:127.0.0.1")), "mapped forms count");
        assert!(!guard.allows(ip("127.0.0.2")));
        assert!(guard.allows(ip("10.1.200.3")));
        assert!(!guard.allows(ip("10.2.0.1")));
        assert!(guard.allows(ip("fd00::5")));
        assert!(!guard.allows(ip("fd00::6")));
        assert!(!guard.allows(ip("::1")));
        assert!(guard.allows(ip("8.8.8.8")));
        assert!(!AddressGuard::default().allows(ip("127.0.0.1")));
        let only = AddressGuard::only(guard.allowed().to_vec());
        assert!(only.allows(ip("127.0.0.1")));
        assert!(!only.allows(ip("8.8.8.8")), "no public address");
        Ok(())
    }
}
