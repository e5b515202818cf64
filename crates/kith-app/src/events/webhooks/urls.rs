//! Checks on what a merchant may make kith call: URLs (https, no loopback, private or
//! link-local address named literally, unless `webhook_allow_private`) and topic patterns.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{MAX_TOPIC_LEN, MAX_TOPICS, MAX_URL_LEN};
use crate::{AppError, AppResult};

// ---------------------------------------------------------------------------------------
// Validation

/// Parses and checks a webhook URL; returns it normalised (the form that will be called).
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
        let lower = host.to_ascii_lowercase();
        if lower == "localhost" || lower.ends_with(".localhost") {
            return bad("must not point at this machine");
        }
        // The URL parser keeps IPv6 literals in brackets and normalises every IPv4
        // spelling (`0x7f.1`, `2130706433`) to dotted decimal, so parsing the host string
        // sees every address literal.
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse::<IpAddr>()
            && !is_public(ip)
        {
            return bad("must not point at a loopback, private or link-local address");
        }
    }
    if url.as_str().len() > MAX_URL_LEN {
        return bad(&format!("must be at most {MAX_URL_LEN} characters"));
    }
    Ok(url.into())
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared_cgnat = a == 100 && (64..128).contains(&b);
    let this_network = a == 0;
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || shared_cgnat
        || this_network)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = (first & 0xfe00) == 0xfc00;
    let link_local = (first & 0xffc0) == 0xfe80;
    !(ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() || unique_local || link_local)
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
