//! Properties of the webhook target policy over generated URLs: schemes, userinfo,
//! ports (0 too), IPv4 in every form the URL standard reads (decimal, octal, hex,
//! fewer than four parts), IPv6 (mapped, compatible, NAT64, private, link-local,
//! multicast, documentation) and `localhost` names. A URL is refused, or every address
//! it leads to is one the policy allows by an oracle written here from the address
//! registries, apart from the code under test. No external DNS: names are
//! `localhost` and addresses written as names.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::str::FromStr;
use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::sample::Index;
use reqwest::dns::{Name, Resolve};
use url::{Host, Url};
use waplify_api::webhooks::target::target_url;
use waplify_shared::webhooks::target::AllowedNetworks;
use waplify_worker::webhooks::guarded_dns::GuardedResolver;

static RT: LazyLock<tokio::runtime::Runtime> =
    LazyLock::new(|| tokio::runtime::Runtime::new().unwrap());

/// Whether `policy` may send to `ip`: public unicast always; loopback, private
/// (RFC 1918, CGNAT, unique local) and link-local when opened; anything else never.
fn allowed(policy: AllowedNetworks, ip: IpAddr) -> bool {
    let v4 = |ip: Ipv4Addr| {
        let n = u32::from(ip);
        let within =
            |net: [u8; 4], len: u32| (n ^ u32::from(Ipv4Addr::from(net))) >> (32 - len) == 0;
        if within([127, 0, 0, 0], 8) {
            policy.loopback
        } else if [
            ([10, 0, 0, 0], 8),
            ([172, 16, 0, 0], 12),
            ([192, 168, 0, 0], 16),
            ([100, 64, 0, 0], 10),
        ]
        .iter()
        .any(|&(net, len)| within(net, len))
        {
            policy.private
        } else if within([169, 254, 0, 0], 16) {
            policy.link_local
        } else {
            // This host, IETF, documentation, benchmarking, multicast, reserved.
            ![
                ([0, 0, 0, 0], 8),
                ([192, 0, 0, 0], 24),
                ([192, 0, 2, 0], 24),
                ([198, 18, 0, 0], 15),
                ([198, 51, 100, 0], 24),
                ([203, 0, 113, 0], 24),
                ([224, 0, 0, 0], 4),
                ([240, 0, 0, 0], 4),
            ]
            .iter()
            .any(|&(net, len)| within(net, len))
        }
    };
    match ip {
        IpAddr::V4(ip) => v4(ip),
        IpAddr::V6(ip) => {
            let s = ip.segments();
            if let Some(inner) = ip.to_ipv4_mapped() {
                v4(inner)
            } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                v4(Ipv4Addr::from(u128::from(ip) as u32))
            } else if ip == Ipv6Addr::LOCALHOST {
                policy.loopback
            } else if ip.is_unique_local() {
                policy.private
            } else if ip.is_unicast_link_local() {
                policy.link_local
            } else {
                // Global unicast (2000::/3), less documentation.
                s[0] >> 13 == 1 && !(s[0] == 0x2001 && s[1] == 0x0db8)
            }
        }
    }
}

fn policy() -> impl Strategy<Value = AllowedNetworks> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(loopback, private, link_local)| {
        AllowedNetworks {
            loopback,
            private,
            link_local,
        }
    })
}

/// An address from `base/len` with random low bits.
fn in_net(nets: &'static [(u128, u32)], bits: u32) -> impl Strategy<Value = u128> {
    (prop::sample::select(nets), any::<u128>()).prop_map(move |((base, len), r)| {
        let host = if len >= bits {
            0
        } else {
            r & (u128::MAX >> (128 - (bits - len)))
        };
        base | host
    })
}

const V4_NETS: &[(u128, u32)] = &[
    (0x7f00_0000, 8),
    (0x0a00_0000, 8),
    (0xac10_0000, 12),
    (0xac20_0000, 12),
    (0xc0a8_0000, 16),
    (0x6440_0000, 10),
    (0x6480_0000, 10),
    (0xa9fe_0000, 16),
    (0, 8),
    (0xe000_0000, 4),
    (0xf000_0000, 4),
    (0xc000_0000, 24),
    (0xc000_0200, 24),
    (0xc612_0000, 15),
    (0xc633_6400, 24),
    (0xcb00_7100, 24),
    (0x0808_0800, 24),
    (0x5db8_d822, 32),
];

fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![any::<u32>().prop_map(u128::from), in_net(V4_NETS, 32)]
        .prop_map(|n| Ipv4Addr::from(n as u32))
}

fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
    const P: &[(u128, u32)] = &[
        (0, 128),
        (1, 128),
        (0, 96),
        (0xffff << 32, 96),
        (0xffff << 48, 96),
        (0x0064_ff9b << 96, 96),
        (0x0064_ff9b_0001 << 80, 48),
        (0xfe80 << 112, 10),
        (0xfc00 << 112, 7),
        (0xfec0 << 112, 10),
        (0xff00 << 112, 8),
        (0x2001_0db8 << 96, 32),
        (0x2000 << 112, 3),
        (0x0100 << 112, 64),
        (0x4000 << 112, 2),
    ];
    prop_oneof![
        any::<u128>(),
        in_net(P, 128),
        ipv4().prop_map(|v4| u128::from(v4.to_ipv6_mapped())),
        ipv4().prop_map(|v4| (0x0064_ff9b << 96) | u128::from(u32::from(v4))),
    ]
    .prop_map(Ipv6Addr::from)
}

/// `ip` as the URL standard and `inet_aton` read it: one to four parts, each in
/// decimal, octal (`0` first) or hex (`0x` first), the last part taking the rest.
fn v4_text(ip: Ipv4Addr, parts: usize, radix: &[u8]) -> String {
    let o = ip.octets().map(u32::from);
    let values: Vec<u32> = match parts {
        1 => vec![u32::from(ip)],
        2 => vec![o[0], u32::from(ip) & 0xff_ffff],
        3 => vec![o[0], o[1], u32::from(ip) & 0xffff],
        _ => o.to_vec(),
    };
    let text: Vec<String> = values
        .iter()
        .zip(radix)
        .map(|(v, r)| match r % 3 {
            0 => v.to_string(),
            1 => format!("0{v:o}"),
            _ => format!("0x{v:x}"),
        })
        .collect();
    text.join(".")
}

/// A host as written, and the address it names (`None` for a name).
fn host() -> impl Strategy<Value = (String, Option<IpAddr>)> {
    let v4 = (ipv4(), 1..=4usize, prop::collection::vec(any::<u8>(), 4))
        .prop_map(|(ip, n, r)| (v4_text(ip, n, &r), Some(IpAddr::V4(ip))));
    let v6 = (ipv6(), 0..3u8).prop_map(|(ip, form)| {
        let text = match (form, ip.segments()) {
            (0, _) => ip.to_string(),
            (1, s) => s.map(|x| format!("{x:X}")).join(":"),
            (_, s) => {
                let [a, b, c, d] = (u128::from(ip) as u32).to_be_bytes();
                format!(
                    "{}:{a}.{b}.{c}.{d}",
                    s[..6]
                        .iter()
                        .map(|x| format!("{x:x}"))
                        .collect::<Vec<_>>()
                        .join(":")
                )
            }
        };
        (format!("[{text}]"), Some(IpAddr::V6(ip)))
    });
    let names = prop::sample::select(vec![
        "localhost",
        "LOCALHOST",
        "%6c%6f%63%61%6c%68%6f%73%74",
        "local%68ost",
    ])
    .prop_map(|n| (n.to_owned(), None));
    prop_oneof![3 => v4, 3 => v6, 1 => names]
}

/// A URL around `host`: scheme, userinfo, port and path vary; a tab or newline
/// (which URL parsing drops) may sit inside the host.
fn url_text() -> impl Strategy<Value = (String, Option<IpAddr>)> {
    let scheme = prop::sample::select(vec![
        "http", "https", "HTTPS", "ftp", "ws", "file", "gopher",
    ]);
    let user = prop::sample::select(vec!["", "u:p@", "example.com@", "8.8.8.8@", "a%40b@"]);
    let port = prop::sample::select(vec![
        "", ":0", ":00", ":80", ":443", ":8080", ":65535", ":65536",
    ]);
    (scheme, user, host(), port, any::<Option<(Index, bool)>>()).prop_map(
        |(scheme, user, (mut host, ip), port, ws)| {
            if let Some((at, tab)) = ws {
                let i = at.index(host.len() + 1);
                if host.is_char_boundary(i) {
                    host.insert(i, if tab { '\t' } else { '\n' });
                }
            }
            (format!("{scheme}://{user}{host}{port}/hook?x=1"), ip)
        },
    )
}

/// What an accepted URL leads to, resolved here with the standard library.
fn destinations(url: &Url, named: Option<IpAddr>) -> Vec<IpAddr> {
    let found = match url.host() {
        Some(Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        Some(Host::Domain(name)) => (name, 443)
            .to_socket_addrs()
            .unwrap()
            .map(|a| a.ip())
            .collect(),
        None => vec![],
    };
    found.into_iter().chain(named).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn an_accepted_url_leads_only_to_allowed_addresses(
        p in policy(),
        (raw, named) in url_text(),
    ) {
        let Ok(url) = RT.block_on(target_url(p, &raw)) else { return Ok(()) };
        prop_assert!(matches!(url.scheme(), "http" | "https"), "{}", raw);
        prop_assert_ne!(url.port(), Some(0), "{}", raw);
        // Delivery checks the stored URL again, and must agree.
        prop_assert_eq!(p.check_url(&url), Ok(()), "{}", raw);
        if let (Some(Host::Ipv4(_) | Host::Ipv6(_)), Some(ip)) = (url.host(), named) {
            let text = url.host_str().unwrap().trim_matches(['[', ']']);
            prop_assert_eq!(text.parse::<IpAddr>().unwrap(), ip, "{}", raw);
        }
        let all = destinations(&url, named);
        prop_assert!(!all.is_empty(), "{}", raw);
        for ip in all {
            prop_assert!(allowed(p, ip), "{} accepted under {:?}, leads to {}", raw, p, ip);
        }
    }

    #[test]
    fn delivery_resolves_addresses_written_as_names_to_allowed_ones_only(
        p in policy(),
        ip in prop_oneof![ipv4().prop_map(IpAddr::V4), ipv6().prop_map(IpAddr::V6)],
        parts in 1..=4usize,
        radix in prop::collection::vec(any::<u8>(), 4),
    ) {
        let name = match ip {
            IpAddr::V4(v4) => v4_text(v4, parts, &radix),
            IpAddr::V6(v6) => v6.to_string(),
        };
        let resolved = RT.block_on(GuardedResolver(p).resolve(Name::from_str(&name).unwrap()));
        match resolved {
            Ok(addrs) => {
                let addrs: Vec<_> = addrs.map(|a| a.ip()).collect();
                prop_assert_eq!(&addrs, &vec![ip], "{}", name);
                prop_assert!(allowed(p, ip), "{} resolved under {:?}", name, p);
            }
            Err(e) => prop_assert!(!allowed(p, ip), "{} refused under {:?}: {}", name, p, e),
        }
    }
}
