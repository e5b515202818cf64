//! Checks on what a merchant may make kith call: URLs (https; no loopback, private,
//! link-local, shared, benchmark, documentation, reserved, multicast, NAT64 or
//! IPv4-mapped/compatible address, named literally or reached through a host name; unless
//! `webhook_allow_private`) and topic patterns. The address rules ([`is_public`]) are the
//! one list both checks use: registration resolves the host ([`check_resolved`]), and every
//! delivery resolves it again at connect time ([`PublicOnly`], the HTTP client's resolver),
//! so a name that changes its answer after registration (DNS rebinding) is still refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use super::{MAX_TOPIC_LEN, MAX_TOPICS, MAX_URL_LEN};
use crate::{AppError, AppResult};

// ---------------------------------------------------------------------------------------
// Validation

/// Names that mean this machine on common systems (`/etc/hosts`), whether or not this
/// machine's resolver knows them; `*.localhost` is refused as well (RFC 6761).
const LOOPBACK_NAMES: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "localhost4",
    "localhost4.localdomain4",
    "localhost6",
    "localhost6.localdomain6",
    "ip6-localhost",
    "ip6-loopback",
];

/// How long registration waits for a host name to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// Parses and checks a webhook URL; returns it normalised (the form that will be called).
/// Checks what the URL says literally; [`check_resolved`] checks where its name leads.
pub fn validate_url(input: &str, allow_private: bool) -> AppResult<String> {
    let bad = |reason: &str| Err(AppError::invalid("url", reason));
    if input.len() > MAX_URL_LEN {
        return bad(&format!("must be at most {MAX_URL_LEN} characters"));
    }
    let Ok(url) = reqwest::Url::parse(input.trim()) else {
        return bad("is not a valid absolute URL");
    };
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return bad("must use https"),
        _ => return bad("must be an https URL"),
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return bad("must name a host");
    };
    if !allow_private {
        // `localhost.` is `localhost`: a trailing dot only makes a name fully qualified.
        let lower = host.to_ascii_lowercase();
        let name = lower.trim_end_matches('.');
        if LOOPBACK_NAMES.contains(&name) || name.ends_with(".localhost") {
            return bad("must not point at this machine");
        }
        // The URL parser keeps IPv6 literals in brackets and normalises every IPv4
        // spelling (`0x7f.1`, `2130706433`, `127.0.0.1.`) to dotted decimal, so parsing the
        // host string sees every address literal.
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse::<IpAddr>()
            && !is_public(ip)
        {
            return bad("must not point at a loopback, private or reserved address");
        }
    }
    if url.as_str().len() > MAX_URL_LEN {
        return bad(&format!("must be at most {MAX_URL_LEN} characters"));
    }
    Ok(url.into())
}

/// Resolves the host of a URL that passed [`validate_url`] and refuses it (422 on `url`)
/// when any address it resolves to is not public, so a name cannot mix a public and a
/// private address. A name that does not resolve (yet) is accepted: every delivery
/// resolves it again and refuses it then if need be.
pub async fn check_resolved(url: &str, allow_private: bool) -> AppResult<()> {
    if allow_private {
        return Ok(());
    }
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Err(AppError::invalid("url", "is not a valid absolute URL"));
    };
    let Some(host) = parsed.host_str() else {
        return Ok(());
    };
    if host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok()
    {
        // Address literals were checked by `validate_url`.
        return Ok(());
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let lookup = tokio::net::lookup_host((host, port));
    let Ok(Ok(addrs)) = tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await else {
        return Ok(());
    };
    let addrs: Vec<SocketAddr> = addrs.collect();
    if addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(AppError::invalid(
            "url",
            "must not resolve to a loopback, private or reserved address",
        ));
    }
    Ok(())
}

/// May kith call this address on a merchant's behalf? Only globally routable unicast
/// addresses: IPv6 forms that carry an IPv4 address (NAT64 `64:ff9b::/96`, 6to4
/// `2002::/16`) are judged by that address, and the forms that only exist to smuggle one
/// (IPv4-mapped, IPv4-compatible, local NAT64 `64:ff9b:1::/48`, Teredo) are refused.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let in_net = |net: [u8; 4], bits: u32| {
        let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
        (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
    };
    let this_network = a == 0; // 0.0.0.0/8
    let shared_cgnat = in_net([100, 64, 0, 0], 10);
    let ietf_protocol = a == 192 && b == 0 && c == 0; // 192.0.0.0/24
    let documentation =
        in_net([192, 0, 2, 0], 24) || in_net([198, 51, 100, 0], 24) || in_net([203, 0, 113, 0], 24);
    let relay_6to4 = in_net([192, 88, 99, 0], 24);
    let benchmarking = in_net([198, 18, 0, 0], 15);
    let reserved = a >= 240; // 240.0.0.0/4 and the broadcast address
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || this_network
        || shared_cgnat
        || ietf_protocol
        || documentation
        || relay_6to4
        || benchmarking
        || reserved)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    // ::/96 (IPv4-compatible, with :: and ::1) and ::ffff:0:0/96 (IPv4-mapped): a v6 way
    // of writing a v4 address, never needed to reach a receiver.
    if s[..5] == [0; 5] && (s[5] == 0 || s[5] == 0xffff) {
        return false;
    }
    // NAT64 (RFC 6052): the well-known prefix reaches the embedded IPv4 address.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded_v4(s[6], s[7]));
    }
    // 6to4 (RFC 3056): 2002:AABB:CCDD::/48 reaches AA.BB.CC.DD.
    if s[0] == 0x2002 {
        return is_public_v4(embedded_v4(s[1], s[2]));
    }
    let local_nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1; // 64:ff9b:1::/48
    let discard = s[..4] == [0x100, 0, 0, 0]; // 100::/64
    let ietf_protocol = s[0] == 0x2001 && s[1] < 0x200; // 2001::/23, Teredo among them
    let documentation = (s[0] == 0x2001 && s[1] == 0xdb8) || s[0] == 0x3fff; // + 3fff::/20
    let unique_local = (s[0] & 0xfe00) == 0xfc00;
    let link_local = (s[0] & 0xffc0) == 0xfe80;
    let site_local = (s[0] & 0xffc0) == 0xfec0;
    let multicast = (s[0] & 0xff00) == 0xff00;
    !(ip.is_loopback()
        || ip.is_unspecified()
        || multicast
        || local_nat64
        || discard
        || ietf_protocol
        || documentation
        || unique_local
        || link_local
        || site_local)
}

// ---------------------------------------------------------------------------------------
// Connect time

/// Why the delivery client refused a name before connecting. The attempt log shows only
/// its class; the detail goes to the server log.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refused {
    /// The name resolves to an address kith may not call (or to a mix).
    #[error("{host} resolves to {addr}, which is not a public address")]
    NotAllowed { host: String, addr: IpAddr },
    /// The name does not resolve.
    #[error("{host} does not resolve: {detail}")]
    Unresolvable { host: String, detail: String },
}

/// The resolver of the delivery client when private targets are not allowed: resolves the
/// name with the system resolver and refuses it unless **every** address is public, so the
/// socket can only ever be opened to an address that passed [`is_public`]. reqwest does not
/// call a resolver for address literals; [`validate_url`] checks those before each request.
#[derive(Debug, Default)]
pub(crate) struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let refuse = |r: Refused| -> Box<dyn std::error::Error + Send + Sync> { Box::new(r) };
            let looked_up = tokio::net::lookup_host(format!("{host}:0")).await;
            let addrs: Vec<SocketAddr> = match looked_up {
                Ok(addrs) => addrs.collect(),
                Err(e) => {
                    return Err(refuse(Refused::Unresolvable {
                        host,
                        detail: e.to_string(),
                    }));
                }
            };
            if addrs.is_empty() {
                return Err(refuse(Refused::Unresolvable {
                    host,
                    detail: "no addresses".into(),
                }));
            }
            if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
                return Err(refuse(Refused::NotAllowed {
                    host,
                    addr: bad.ip(),
                }));
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Checks the topic patterns; returns them without duplicates, in the order given.
pub fn validate_topics(topics: &[String]) -> AppResult<Vec<String>> {
    if topics.is_empty() || topics.len() > MAX_TOPICS {
        return Err(AppError::invalid(
            "topics",
            format!("must list 1–{MAX_TOPICS} topics"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(topics.len());
    for (i, t) in topics.iter().enumerate() {
        let t = t.trim();
        check_topic(t).map_err(|reason| AppError::invalid(format!("topics[{i}]"), reason))?;
        if !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    Ok(out)
}

fn check_topic(t: &str) -> Result<(), &'static str> {
    if t.is_empty() || t.len() > MAX_TOPIC_LEN {
        return Err("must be 1–64 characters");
    }
    let allowed =
        |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'*');
    if !t.bytes().all(allowed) {
        return Err("may contain only a–z, 0–9, '_', '.' and '*'");
    }
    if t == "*" {
        return Ok(());
    }
    let parts: Vec<&str> = t.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err("must be dot-separated names such as merchant.approved");
    }
    let last = parts.len() - 1;
    for (i, p) in parts.iter().enumerate() {
        // `*` stands for "everything under this prefix", so it can only end a pattern.
        if p.contains('*') && !(i == last && *p == "*") {
            return Err("may use '*' only as the whole last part, as in store.*");
        }
    }
    Ok(())
}

/// Does an endpoint subscribed to `pattern` receive `topic`? `*` matches everything,
/// `prefix.*` every topic that starts with `prefix.`, anything else only itself.
pub fn topic_matches(pattern: &str, topic: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix(".*") {
        Some(prefix) => topic
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.')),
        None => pattern == topic,
    }
}
