//! Which addresses a webhook may be sent to. Customers choose the URL, so without
//! this a webhook could probe our own network (a database port, a cloud metadata
//! service). Loopback, private and link-local targets are refused unless
//! `WEBHOOK_ALLOW_NETWORKS` names them; unspecified, multicast and reserved ones always.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// The address classes a deployment allows beyond the public internet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllowedNetworks {
    pub loopback: bool,
    pub private: bool,
    pub link_local: bool,
}

/// What kind of address a target is, when it is not plainly public.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Public,
    Loopback,
    Private,
    LinkLocal,
    /// Unspecified, broadcast, multicast, documentation and reserved ranges, and IPv6
    /// outside global unicast.
    Unroutable,
}

impl AllowedNetworks {
    /// Parses `loopback,private,link-local` (any subset, `none` or empty for none).
    pub fn parse(text: &str) -> Result<AllowedNetworks, String> {
        let mut out = AllowedNetworks::default();
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "loopback" => out.loopback = true,
                "private" => out.private = true,
                "link-local" => out.link_local = true,
                "none" => {}
                other => {
                    return Err(format!(
                        "unknown network '{other}' (use loopback, private, link-local)"
                    ));
                }
            }
        }
        Ok(out)
    }

    /// `Ok` when a webhook may be sent to `ip`, else why not.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        let refused = match classify(ip) {
            Class::Public => return Ok(()),
            Class::Loopback if self.loopback => return Ok(()),
            Class::Private if self.private => return Ok(()),
            Class::LinkLocal if self.link_local => return Ok(()),
            Class::Loopback => "a loopback",
            Class::Private => "a private",
            Class::LinkLocal => "a link-local",
            Class::Unroutable => "a non-routable",
        };
        Err(format!("{ip} is {refused} address"))
    }

    /// Checks what can be checked without DNS: scheme, host, and the address when the
    /// host is one (including `localhost`). Names are checked when they are resolved.
    pub fn check_url(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must be an http or https URL".into());
        }
        if url.port() == Some(0) {
            return Err("must not use port 0".into());
        }
        match url.host() {
            None => Err("must name a host".into()),
            Some(Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            Some(Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name == "localhost" || name.ends_with(".localhost") {
                    self.check_ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
                } else {
                    Ok(())
                }
            }
        }
    }
}

fn classify(ip: IpAddr) -> Class {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return classify_v4(v4);
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Class::Loopback
            } else if v6.is_unspecified()
                || v6.is_multicast()
                || first == 0x2001 && v6.segments()[1] == 0x0db8
            {
                Class::Unroutable
            } else if first & 0xffc0 == 0xfe80 {
                Class::LinkLocal
            } else if first & 0xfe00 == 0xfc00 {
                Class::Private
            } else if first & 0xe000 == 0x2000 {
                Class::Public
            } else {
                // Outside global unicast (2000::/3) nothing is on the internet, but
                // some of it reaches inside: IPv4-compatible `::a.b.c.d`, site-local
                // fec0::/10, local-use NAT64 64:ff9b:1::/48.
                Class::Unroutable
            }
        }
    }
}

fn classify_v4(ip: Ipv4Addr) -> Class {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Class::Loopback
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        // RFC 1918 and carrier-grade NAT space.
        Class::Private
    } else if ip.is_link_local() {
        Class::LinkLocal
    } else if a == 0
        || a >= 224
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        Class::Unroutable
    } else {
        Class::Public
    }
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`) or NAT64
/// (`64:ff9b::a.b.c.d`) address, which reach that IPv4 host.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0])
        .then(|| Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: AllowedNetworks, url: &str) -> Result<(), String> {
        policy.check_url(&Url::parse(url).unwrap())
    }

    #[test]
    fn refuses_port_zero() {
        let p = AllowedNetworks::default();
        assert_eq!(
            check(p, "https://example.com:0/h"),
            Err("must not use port 0".into())
        );
        assert_eq!(check(p, "https://example.com:8443/h"), Ok(()));
    }

    #[test]
    fn refuses_internal_targets_by_default() {
        let p = AllowedNetworks::default();
        for url in [
            "http://127.0.0.1/",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://localhost:8080/x",
            "http://api.localhost/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://100.64.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://0.0.0.0/",
            "http://[::]/",
            "http://224.0.0.1/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[::127.0.0.1]/",
            "http://[::ffff:0:7f00:1]/",
            "http://[fec0::1]/",
            "http://[64:ff9b:1::a9fe:a9fe]/",
            "http://[100::1]/",
            "http://[4000::]/",
        ] {
            assert!(check(p, url).is_err(), "{url} should be refused");
        }
        for url in ["ftp://example.com/", "file:///etc/passwd", "mailto:a@b.c"] {
            assert!(check(p, url).is_err(), "{url} should be refused");
        }
        for url in [
            "https://example.com/hook",
            "http://93.184.216.34/",
            "http://[2606:4700::1]/",
        ] {
            assert_eq!(check(p, url), Ok(()), "{url}");
        }
    }

    #[test]
    fn configuration_opens_classes_one_by_one() {
        let p = AllowedNetworks::parse("loopback").unwrap();
        assert_eq!(check(p, "http://127.0.0.1:9000/"), Ok(()));
        assert_eq!(check(p, "http://localhost/"), Ok(()));
        assert!(check(p, "http://10.0.0.1/").is_err());
        assert!(check(p, "http://169.254.169.254/").is_err());
        let p = AllowedNetworks::parse("private, link-local").unwrap();
        assert_eq!(check(p, "http://10.0.0.1/"), Ok(()));
        assert_eq!(check(p, "http://169.254.169.254/"), Ok(()));
        assert!(check(p, "http://127.0.0.1/").is_err());
        assert!(check(p, "http://0.0.0.0/").is_err());
        assert!(AllowedNetworks::parse("everything").is_err());
        assert_eq!(
            AllowedNetworks::parse("").unwrap(),
            AllowedNetworks::default()
        );
    }
}
