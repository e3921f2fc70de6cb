//! Host names, normalised: the one place federation compares hosts.
//!
//! Comparing hosts as the remote side spelled them lets `Example.COM.`,
//! `example.com:443` and `example.com` pass for three servers, or one
//! (Mastodon's CVE-2023-42451 was such a comparison). Every host federation
//! compares goes through [`normalize_host`] or [`origin_host`] first:
//! - lower case, internationalised names in their ASCII (punycode) form, by
//!   the `url` crate's IDNA (UTS #46) processing — the same the URL parser
//!   applies, so a host from a parsed [`Url`] and one typed by a person agree;
//! - one trailing dot (the DNS root) removed;
//! - the port kept unless it is the scheme's default (`localhost:3001` is an
//!   instance of its own; `example.com:443` is `example.com`);
//! - IPv4 addresses in their dotted form, IPv6 in brackets (`[::1]`).
//!
//! Refused outright, rather than cleaned up: userinfo (`user@host`), empty
//! labels (`a..b`, `.a`), percent-encoding, whitespace and control
//! characters, backslashes, paths, queries and fragments.

use url::{Host, Url};

use crate::FetchError;

/// The normalised form of `input`, a host with an optional port as found in
/// an instance domain, a WebFinger resource or a domain block
/// (`Example.COM.`, `bücher.example`, `localhost:3001`, `[::1]:8080`).
///
/// The port is dropped when it is 443 (https's default: federation speaks
/// https; a URL's own scheme is taken into account by [`origin_host`]).
pub fn normalize_host(input: &str) -> Result<String, FetchError> {
    let refuse = |why: &str| Err(FetchError::InvalidHost(format!("{input:?}: {why}")));
    if input.is_empty() {
        return refuse("empty");
    }
    if let Some(c) = input.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return refuse(&format!("contains {c:?}"));
    }
    for (c, why) in [
        ('@', "userinfo"),
        ('%', "percent-encoding"),
        ('\\', "backslash"),
        ('/', "path"),
        ('?', "query"),
        ('#', "fragment"),
    ] {
        if input.contains(c) {
            return refuse(why);
        }
    }
    if input.ends_with(':') {
        return refuse("empty port");
    }
    let url = match Url::parse(&format!("https://{input}/")) {
        Ok(url) => url,
        Err(e) => return refuse(&e.to_string()),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("userinfo");
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return refuse("not a host");
    }
    host_of(&url).ok_or_else(|| FetchError::InvalidHost(format!("{input:?}: empty label")))
}

/// The normalised `host[:port]` of a URL (the port only when it is not the
/// scheme's default); empty for a URL without a host (`data:`, `mailto:`).
pub fn origin_host(url: &Url) -> String {
    host_of(url).unwrap_or_default()
}

/// `host[:port]` of a parsed URL (already lower case and ASCII), the
/// trailing dot removed; `None` when there is no host or a label is empty.
fn host_of(url: &Url) -> Option<String> {
    let host = match url.host()? {
        Host::Domain(d) => {
            let d = d.strip_suffix('.').unwrap_or(d);
            if d.split('.').any(str::is_empty) {
                return None;
            }
            d.to_owned()
        }
        Host::Ipv4(v4) => v4.to_string(),
        Host::Ipv6(v6) => format!("[{v6}]"),
    };
    // `Url::port` is `None` for the scheme's default port.
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// Whether two hosts are the same once normalised (ports included); `false`
/// when either is not a valid host.
pub fn same_host(a: &str, b: &str) -> bool {
    match (normalize_host(a), normalize_host(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Whether two URLs name the same host and port (scheme defaults applied);
/// `false` when either has no host.
pub fn same_url_host(a: &Url, b: &Url) -> bool {
    let (a, b) = (origin_host(a), origin_host(b));
    !a.is_empty() && a == b
}

/// Whether `host` is `domain` or one of its subdomains, as domain blocks
/// match: `evil.example.com` and `example.com` fall under `example.com`,
/// `notexample.com` does not. A `domain` without a port covers every port of
/// its hosts; with a port, only that port. An IP address matches only
/// itself. `false` when either is not a valid host.
pub fn is_same_or_subdomain(host: &str, domain: &str) -> bool {
    let (Ok(host), Ok(domain)) = (normalize_host(host), normalize_host(domain)) else {
        return false;
    };
    if host == domain {
        return true;
    }
    let (host_name, host_port) = split_port(&host);
    let (domain_name, domain_port) = split_port(&domain);
    if domain_port.is_some() && domain_port != host_port {
        return false;
    }
    if host_name == domain_name {
        return true;
    }
    if is_ip(domain_name) || is_ip(host_name) {
        return false;
    }
    host_name
        .strip_suffix(domain_name)
        .is_some_and(|rest| rest.ends_with('.'))
}

/// `("example.com", Some("3001"))` from a normalised `example.com:3001`.
fn split_port(host: &str) -> (&str, Option<&str>) {
    // A normalised IPv6 host is bracketed; its colons are inside.
    let after_brackets = host.rfind(']').map_or(0, |i| i + 1);
    match host[after_brackets..].rfind(':') {
        Some(i) => (
            &host[..after_brackets + i],
            Some(&host[after_brackets + i + 1..]),
        ),
        None => (host, None),
    }
}

fn is_ip(name: &str) -> bool {
    name.starts_with('[') || name.parse::<std::net::Ipv4Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Result<String, FetchError> {
        normalize_host(s)
    }

    #[test]
    fn spellings_of_one_host_agree() -> Result<(), FetchError> {
        for s in [
            "example.com",
            "EXAMPLE.com",
            "Example.Com.",
            "example.com:443",
            "EXAMPLE.COM.:443",
        ] {
            assert_eq!(n(s)?, "example.com", "{s}");
        }
        assert_eq!(n("bücher.example")?, "xn--bcher-kva.example");
        assert_eq!(n("BÜCHER.example.")?, "xn--bcher-kva.example");
        assert_eq!(n("XN--BCHER-KVA.example")?, "xn--bcher-kva.example");
        // Full-width dots are dots under IDNA.
        assert_eq!(n("example\u{ff0e}com")?, "example.com");
        assert!(same_host("bücher.example", "xn--bcher-kva.example."));
        Ok(())
    }

    #[test]
    fn ports_are_part_of_the_host() -> Result<(), FetchError> {
        assert_eq!(n("localhost:3001")?, "localhost:3001");
        assert_eq!(n("LocalHost.:3001")?, "localhost:3001");
        assert_eq!(n("example.com:80")?, "example.com:80");
        assert!(!same_host("localhost:3001", "localhost:3002"));
        assert!(!same_host("localhost:3001", "localhost"));
        assert_eq!(n("[::1]:8080")?, "[::1]:8080");
        assert_eq!(n("[0:0::1]")?, "[::1]");
        assert_eq!(n("127.1")?, "127.0.0.1");
        Ok(())
    }

    #[test]
    fn malformed_hosts_are_refused() {
        for s in [
            "",
            ".",
            "..",
            "a..b",
            ".example.com",
            "example.com..",
            "user@example.com",
            "user:pw@example.com",
            "example.com@evil.com",
            "ex%61mple.com",
            "exa mple.com",
            " example.com",
            "example.com\n",
            "example.com\t",
            "example\\com",
            "example.com\\@evil.com",
            "example.com/path",
            "example.com?q",
            "example.com#f",
            "example.com:",
            "example.com:99999",
            "example.com:abc",
            "[::1",
            "xn--a.example",
        ] {
            assert!(n(s).is_err(), "{s:?} must be refused: {:?}", n(s));
        }
    }

    #[test]
    fn url_hosts_follow_the_scheme_default() -> Result<(), url::ParseError> {
        let u = |s: &str| Url::parse(s);
        assert_eq!(
            origin_host(&u("https://Example.COM.:443/x")?),
            "example.com"
        );
        assert_eq!(origin_host(&u("http://example.com:80/")?), "example.com");
        assert_eq!(
            origin_host(&u("http://example.com:443/")?),
            "example.com:443"
        );
        assert_eq!(
            origin_host(&u("https://localhost:3001/")?),
            "localhost:3001"
        );
        assert_eq!(
            origin_host(&u("https://bücher.example/")?),
            "xn--bcher-kva.example"
        );
        assert_eq!(origin_host(&u("mailto:a@example.com")?), "");
        assert!(same_url_host(
            &u("https://EXAMPLE.com./users/a")?,
            &u("https://example.com:443/inbox")?
        ));
        assert!(!same_url_host(
            &u("https://example.com/")?,
            &u("https://example.com.evil.com/")?
        ));
        assert!(!same_url_host(&u("data:,x")?, &u("data:,x")?));
        Ok(())
    }

    #[test]
    fn subdomains_fall_under_their_domain() {
        assert!(is_same_or_subdomain("example.com", "example.com"));
        assert!(is_same_or_subdomain("evil.example.com", "example.com"));
        assert!(is_same_or_subdomain("a.b.EXAMPLE.com.", "Example.com"));
        assert!(is_same_or_subdomain("evil.example.com:8443", "example.com"));
        assert!(is_same_or_subdomain(
            "xn--bcher-kva.example",
            "bücher.example"
        ));
        assert!(!is_same_or_subdomain("notexample.com", "example.com"));
        assert!(!is_same_or_subdomain("example.com.evil", "example.com"));
        assert!(!is_same_or_subdomain("example.com", "evil.example.com"));
        assert!(is_same_or_subdomain("a.localhost:3001", "localhost:3001"));
        assert!(!is_same_or_subdomain("a.localhost:3002", "localhost:3001"));
        assert!(!is_same_or_subdomain("localhost", "localhost:3001"));
        assert!(is_same_or_subdomain("10.0.0.1", "10.0.0.1"));
        assert!(!is_same_or_subdomain("10.0.0.1", "0.0.1"));
        assert!(!is_same_or_subdomain("a..example.com", "example.com"));
        assert!(!is_same_or_subdomain("example.com", ""));
    }

    #[test]
    fn ports_split_off() {
        assert_eq!(split_port("a.b:1"), ("a.b", Some("1")));
        assert_eq!(split_port("a.b"), ("a.b", None));
        assert_eq!(split_port("[::1]"), ("[::1]", None));
        assert_eq!(split_port("[::1]:80"), ("[::1]", Some("80")));
    }
}
