//! Normalization and validation of everything clients name: systems, service definitions,
//! interfaces, network addresses, metadata and list parameters. The rules are the Java
//! verifiers' (`NetworkAddressPreProcessor`, `NetworkAddressVerifier`, the name verifiers,
//! `Utilities.map2Text`), because stored data must compare equal whichever implementation wrote it.

use crate::error::ArrowheadError;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

pub const MAX_NAME_LENGTH: usize = 63;

/// `^[A-Za-z](?:[0-9A-Za-z-]*[0-9A-Za-z])?$` — the certificate-label rule Arrowhead uses for
/// system names, strict service definitions and host name labels.
pub fn is_cn_label(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphabetic()
                && l.is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        }
        _ => false,
    }
}

/// Lowercases and trims, as every Java DB service does before storing or comparing.
pub fn normalize_name(s: &str) -> String {
    s.trim().to_lowercase()
}

pub fn validate_system_name(name: &str) -> Result<(), ArrowheadError> {
    let n = name.trim();
    if n.is_empty() {
        return Err(ArrowheadError::bad_payload("System name is null or blank."));
    }
    if n.len() > MAX_NAME_LENGTH || !is_cn_label(n) {
        return Err(ArrowheadError::bad_payload(format!(
            "System name '{n}' has invalid format. System names only contain maximum {MAX_NAME_LENGTH} character of letters \
             (english alphabet), numbers and dash (-), and have to start with a letter (also cannot end with dash)."
        )));
    }
    Ok(())
}

/// Service definitions: always non-blank; the label rule only when
/// `use_strict_service_definition_verifier` is on.
pub fn validate_service_definition(def: &str, strict: bool) -> Result<(), ArrowheadError> {
    let d = def.trim();
    if d.is_empty() {
        return Err(ArrowheadError::bad_payload(
            "Service definition is null or blank",
        ));
    }
    if strict && (d.len() > MAX_NAME_LENGTH || !is_cn_label(d)) {
        return Err(ArrowheadError::bad_payload(format!(
            "Service definition '{d}' has invalid format. Service definition only contains maximum {MAX_NAME_LENGTH} character \
             of letters (english alphabet), numbers and dash (-), and has to start with a letter (also cannot end with dash)."
        )));
    }
    Ok(())
}

pub fn normalize_interface(s: &str) -> String {
    s.trim().to_uppercase()
}

/// `PROTOCOL-SECURE|INSECURE-FORMAT`; strict mode also limits protocol and format.
pub fn is_valid_interface(name: &str, strict: bool) -> bool {
    let n = normalize_interface(name);
    let parts: Vec<&str> = n.split('-').collect();
    let token_ok = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
    };
    match parts.as_slice() {
        [protocol, security, format]
            if token_ok(protocol)
                && token_ok(format)
                && (*security == "SECURE" || *security == "INSECURE") =>
        {
            !strict || (matches!(*protocol, "HTTP" | "HTTPS") && matches!(*format, "JSON" | "XML"))
        }
        _ => false,
    }
}

pub fn validate_interface(name: &str, strict: bool) -> Result<(), ArrowheadError> {
    if is_valid_interface(name, strict) {
        Ok(())
    } else {
        Err(ArrowheadError::bad_payload(format!(
            "Specified interface name is not valid: {}",
            name.trim()
        )))
    }
}

/// `system_.address_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressType {
    Hostname,
    Ipv4,
    Ipv6,
}

impl AddressType {
    pub fn as_str(self) -> &'static str {
        match self {
            AddressType::Hostname => "HOSTNAME",
            AddressType::Ipv4 => "IPV4",
            AddressType::Ipv6 => "IPV6",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "HOSTNAME" => Some(AddressType::Hostname),
            "IPV4" => Some(AddressType::Ipv4),
            "IPV6" => Some(AddressType::Ipv6),
            _ => None,
        }
    }
}

/// The deployment's addressing policy (`allow_self_addressing`, `allow_non_routable_addressing`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AddressPolicy {
    pub allow_self_addressing: bool,
    pub allow_non_routable_addressing: bool,
}

/// Lowercase and trim; IPv6 in full 8×4-hex form, so that one host has one spelling.
pub fn normalize_address(address: &str) -> String {
    let a = address.trim().to_lowercase();
    let inner = a
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(&a);
    if inner.contains(':') {
        if let Ok(ip) = inner.parse::<Ipv6Addr>() {
            return ip
                .segments()
                .iter()
                .map(|s| format!("{s:04x}"))
                .collect::<Vec<_>>()
                .join(":");
        }
    }
    a
}

/// Normalizes and verifies an address, returning the stored form and its type.
pub fn verify_address(
    address: &str,
    policy: AddressPolicy,
) -> Result<(String, AddressType), ArrowheadError> {
    let a = normalize_address(address);
    if a.is_empty() {
        return Err(ArrowheadError::bad_payload(
            "Network address is null or blank.",
        ));
    }
    if let Ok(ip) = a.parse::<Ipv4Addr>() {
        let o = ip.octets();
        let reason = if ip.is_unspecified() {
            Some("is a placeholder address (0.0.0.0)")
        } else if ip.is_broadcast() {
            Some("is a broadcast address")
        } else if (224..=239).contains(&o[0]) {
            Some("is a multicast address")
        } else if o[0] == 127 && !policy.allow_self_addressing {
            Some("is a loopback address and self-addressing is not allowed")
        } else if o[0] == 169 && o[1] == 254 && !policy.allow_non_routable_addressing {
            Some("is a link-local address and non-routable addressing is not allowed")
        } else {
            None
        };
        return match reason {
            Some(r) => Err(ArrowheadError::bad_payload(format!(
                "IPv4 network address '{a}' {r}."
            ))),
            None => Ok((a, AddressType::Ipv4)),
        };
    }
    if a.contains(':') {
        let ip: Ipv6Addr = a.parse().map_err(|_| {
            ArrowheadError::bad_payload(format!("IPv6 network address '{a}' is invalid."))
        })?;
        let seg = ip.segments();
        let reason = if ip.is_unspecified() {
            Some("is an unspecified address")
        } else if seg[0] & 0xff00 == 0xff00 {
            Some("is a multicast address")
        } else if ip.is_loopback() && !policy.allow_self_addressing {
            Some("is a loopback address and self-addressing is not allowed")
        } else if seg[0] & 0xffc0 == 0xfe80 && !policy.allow_non_routable_addressing {
            Some("is a link-local address and non-routable addressing is not allowed")
        } else {
            None
        };
        return match reason {
            Some(r) => Err(ArrowheadError::bad_payload(format!(
                "IPv6 network address '{a}' {r}."
            ))),
            None => Ok((a, AddressType::Ipv6)),
        };
    }
    if (a == "localhost" || a == "loopback") && !policy.allow_self_addressing {
        return Err(ArrowheadError::bad_payload(format!(
            "Network address '{a}' is a loopback name and self-addressing is not allowed."
        )));
    }
    if a.len() > 253
        || !a
            .split('.')
            .all(|label| label.len() <= 63 && is_cn_label(label))
    {
        return Err(ArrowheadError::bad_payload(format!(
            "Network address '{a}' is not a valid host name."
        )));
    }
    Ok((a, AddressType::Hostname))
}

pub fn validate_port(port: Option<i64>) -> Result<u16, ArrowheadError> {
    match port {
        None => Err(ArrowheadError::bad_payload("Port is null.")),
        Some(p) => u16::try_from(p)
            .map_err(|_| ArrowheadError::bad_payload("Port must be between 0 and 65535.")),
    }
}

/// Java `URLEncoder.encode(s, UTF-8)`: `*-._` and alphanumerics kept, space as `+`.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Metadata as the Java systems store it (`Utilities.map2Text`): `k1=v1, k2=v2`, key and value
/// URL-encoded. `None` for an empty map, so the column stays NULL.
pub fn metadata_to_text(map: &BTreeMap<String, String>) -> Option<String> {
    if map.is_empty() {
        return None;
    }
    Some(
        map.iter()
            .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// Inverse of [`metadata_to_text`] (`Utilities.text2Map`); tolerant of hand-written rows.
pub fn text_to_metadata(text: Option<&str>) -> Option<BTreeMap<String, String>> {
    let text = text?.trim();
    if text.is_empty() {
        return None;
    }
    let mut map = BTreeMap::new();
    for pair in text.split(',') {
        if let Some((k, v)) = pair.split_once('=') {
            map.insert(url_decode(k.trim()), url_decode(v.trim()));
        }
    }
    Some(map)
}

/// Normalizes request metadata as the Java services do: keys and values trimmed, null values
/// dropped; two keys that trim to the same key are a client error.
pub fn normalize_metadata(
    map: Option<&BTreeMap<String, Option<String>>>,
) -> Result<BTreeMap<String, String>, ArrowheadError> {
    let mut out = BTreeMap::new();
    for (k, v) in map.into_iter().flatten() {
        let Some(v) = v else { continue };
        let key = k.trim().to_owned();
        if out.insert(key.clone(), v.trim().to_owned()).is_some() {
            return Err(ArrowheadError::bad_payload(format!(
                "Metadata key '{key}' is duplicated after trimming."
            )));
        }
    }
    Ok(out)
}

/// The longest text a Java `text` column (metadata, keys) holds: 65,535 bytes, i.e. this many
/// characters of the schema's three-byte `utf8`.
pub const MAX_TEXT: usize = 21_845;

/// Metadata as stored ([`metadata_to_text`]), refused with 400 when the column cannot hold it
/// (it would otherwise fail in the database as a 500).
pub fn metadata_column(
    map: &BTreeMap<String, String>,
    origin: &str,
) -> Result<Option<String>, ArrowheadError> {
    let text = metadata_to_text(map);
    if let Some(t) = &text {
        fits(t, MAX_TEXT, "Metadata", origin)?;
    }
    Ok(text)
}

/// Sort direction of list endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// Validated `page`, `item_per_page`, `direction`, `sort_field` (Java `CoreUtilities.calculatePageParameters`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageParams {
    /// `(page, size)`; `None` lists everything.
    pub page: Option<(i64, i64)>,
    pub direction: Direction,
    pub sort_field: String,
}

impl PageParams {
    /// Applies the direction and the page to rows already in id order (lists of a few rows
    /// read whole, such as one name's registry entries).
    pub fn apply<T>(&self, mut rows: Vec<T>) -> Vec<T> {
        if self.direction == Direction::Desc {
            rows.reverse();
        }
        match self.page {
            None => rows,
            Some((index, size)) => {
                let skip = usize::try_from(index.saturating_mul(size)).unwrap_or(usize::MAX);
                let take = usize::try_from(size).unwrap_or(usize::MAX);
                rows.into_iter().skip(skip).take(take).collect()
            }
        }
    }
}

/// The raw query parameters of a list endpoint.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// Zero-based page index; together with `item_per_page`.
    pub page: Option<i64>,
    /// Page size; together with `page`.
    pub item_per_page: Option<i64>,
    /// `ASC` (default) or `DESC`.
    pub direction: Option<String>,
    /// `id` (default), `createdAt` or `updatedAt`.
    pub sort_field: Option<String>,
}

impl PageQuery {
    pub fn validate(&self, sortable: &[&str], origin: &str) -> Result<PageParams, ArrowheadError> {
        let page = match (self.page, self.item_per_page) {
            (None, None) => None,
            // The offset (page × size) must fit the database's 64-bit range.
            (Some(p), Some(s)) if p >= 0 && s > 0 && p.checked_mul(s).is_some() => Some((p, s)),
            (Some(_), Some(_)) => {
                return Err(ArrowheadError::bad_payload(
                    "Page index must be at least 0 and page size at least 1 (and their product a 64-bit number).",
                )
                .with_origin(origin))
            }
            _ => {
                return Err(ArrowheadError::bad_payload(
                    "Defined page or size could not be with undefined size or page.",
                )
                .with_origin(origin))
            }
        };
        let direction = match self.direction.as_deref().map(str::trim) {
            None | Some("") => Direction::Asc,
            Some(d) if d.eq_ignore_ascii_case("ASC") => Direction::Asc,
            Some(d) if d.eq_ignore_ascii_case("DESC") => Direction::Desc,
            Some(_) => {
                return Err(
                    ArrowheadError::bad_payload("Invalid sort direction flag").with_origin(origin)
                )
            }
        };
        let sort_field = self
            .sort_field
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("id");
        if !sortable.contains(&sort_field) {
            return Err(ArrowheadError::bad_payload(format!(
                "Sortable field with reference '{sort_field}' is not available"
            ))
            .with_origin(origin));
        }
        Ok(PageParams {
            page,
            direction,
            sort_field: sort_field.to_owned(),
        })
    }
}

/// The size of the Java schema's `varchar(255)` columns (names, definitions, interfaces).
pub const MAX_VARCHAR: usize = 255;

/// Column sizes of the Java schema: a longer value is a client mistake (400 naming it), not a
/// failed insert (500).
pub fn fits(value: &str, max: usize, what: &str, origin: &str) -> Result<(), ArrowheadError> {
    if value.chars().count() > max {
        Err(
            ArrowheadError::bad_payload(format!("{what} is longer than {max} characters."))
                .with_origin(origin),
        )
    } else {
        Ok(())
    }
}

/// Path ids must be positive (Java `ID_NOT_VALID_ERROR_MESSAGE`).
pub fn validate_id(id: i64, origin: &str) -> Result<i64, ArrowheadError> {
    if id < 1 {
        Err(ArrowheadError::bad_payload("Id must be greater than 0. ").with_origin(origin))
    } else {
        Ok(id)
    }
}

/// Orders a boxed diesel query of `$table` by validated [`PageParams`] (`id`, `createdAt`,
/// `updatedAt`, plus any `"field" => column` pairs; ties broken by id so pages are stable) and
/// applies the page. A macro because diesel's column types differ per table.
#[macro_export]
macro_rules! sorted_page {
    ($q:expr, $table:ident, $page:expr $(, $field:literal => $col:ident)*) => {{
        let page: &$crate::names::PageParams = $page;
        use $crate::names::Direction;
        let q = match (page.sort_field.as_str(), page.direction) {
            ("createdAt", Direction::Asc) => $q.order(($table::created_at.asc(), $table::id.asc())),
            ("createdAt", Direction::Desc) => $q.order(($table::created_at.desc(), $table::id.desc())),
            ("updatedAt", Direction::Asc) => $q.order(($table::updated_at.asc(), $table::id.asc())),
            ("updatedAt", Direction::Desc) => $q.order(($table::updated_at.desc(), $table::id.desc())),
            $(
                ($field, Direction::Asc) => $q.order(($table::$col.asc(), $table::id.asc())),
                ($field, Direction::Desc) => $q.order(($table::$col.desc(), $table::id.desc())),
            )*
            (_, Direction::Desc) => $q.order($table::id.desc()),
            _ => $q.order($table::id.asc()),
        };
        match page.page {
            Some((index, size)) => q.offset(index * size).limit(size),
            None => q,
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_name_table() {
        let cases = [
            ("provider", true),
            ("Provider-1", true),
            ("a", true),
            ("1provider", false),
            ("provider-", false),
            ("pro_vider", false),
            ("pro.vider", false),
            ("", false),
            ("   ", false),
            (&"a".repeat(63), true),
            (&"a".repeat(64), false),
        ];
        for (name, ok) in cases {
            assert_eq!(validate_system_name(name).is_ok(), ok, "{name:?}");
        }
    }

    #[test]
    fn service_definition_table() {
        let cases = [
            ("temperature", false, true),
            ("temperature", true, true),
            ("temp_sensor", false, true),
            ("temp_sensor", true, false),
            ("-x", true, false),
            ("  ", false, false),
        ];
        for (def, strict, ok) in cases {
            assert_eq!(
                validate_service_definition(def, strict).is_ok(),
                ok,
                "{def:?} strict={strict}"
            );
        }
    }

    #[test]
    fn interface_table() {
        let cases = [
            ("HTTP-SECURE-JSON", false, true),
            ("http-secure-json", false, true),
            (" HTTP-INSECURE-XML ", true, true),
            ("COAP-SECURE-CBOR", false, true),
            ("COAP-SECURE-CBOR", true, false),
            ("HTTP-SECURE-CBOR", true, false),
            ("HTTP_2-SECURE-JSON", false, true),
            ("HTTP-SAFE-JSON", false, false),
            ("HTTP-SECURE", false, false),
            ("HTTP-SECURE-JSON-X", false, false),
            ("", false, false),
        ];
        for (name, strict, ok) in cases {
            assert_eq!(
                is_valid_interface(name, strict),
                ok,
                "{name:?} strict={strict}"
            );
        }
    }

    #[test]
    fn address_table() {
        let open = AddressPolicy {
            allow_self_addressing: true,
            allow_non_routable_addressing: true,
        };
        let closed = AddressPolicy::default();
        type Expected<'a> = Result<(&'a str, AddressType), ()>;
        let cases: &[(&str, AddressPolicy, Expected)] = &[
            (
                "192.168.0.1",
                closed,
                Ok(("192.168.0.1", AddressType::Ipv4)),
            ),
            (" 10.0.0.1 ", closed, Ok(("10.0.0.1", AddressType::Ipv4))),
            ("127.0.0.1", closed, Err(())),
            ("127.0.0.1", open, Ok(("127.0.0.1", AddressType::Ipv4))),
            ("169.254.1.1", closed, Err(())),
            ("169.254.1.1", open, Ok(("169.254.1.1", AddressType::Ipv4))),
            ("0.0.0.0", open, Err(())),
            ("255.255.255.255", open, Err(())),
            ("224.0.0.1", open, Err(())),
            ("localhost", closed, Err(())),
            ("LocalHost", open, Ok(("localhost", AddressType::Hostname))),
            (
                "My-Host.example.com",
                closed,
                Ok(("my-host.example.com", AddressType::Hostname)),
            ),
            ("my_host", closed, Err(())),
            ("1.2.3.999", closed, Err(())),
            (
                "2001:db8::1",
                closed,
                Ok(("2001:0db8:0000:0000:0000:0000:0000:0001", AddressType::Ipv6)),
            ),
            (
                "[2001:DB8::1]",
                closed,
                Ok(("2001:0db8:0000:0000:0000:0000:0000:0001", AddressType::Ipv6)),
            ),
            (
                "::ffff:192.168.0.1",
                closed,
                Ok(("0000:0000:0000:0000:0000:ffff:c0a8:0001", AddressType::Ipv6)),
            ),
            ("::1", closed, Err(())),
            (
                "::1",
                open,
                Ok(("0000:0000:0000:0000:0000:0000:0000:0001", AddressType::Ipv6)),
            ),
            ("::", open, Err(())),
            ("ff02::1", open, Err(())),
            ("fe80::1", closed, Err(())),
            (
                "fe80::1",
                open,
                Ok(("fe80:0000:0000:0000:0000:0000:0000:0001", AddressType::Ipv6)),
            ),
            ("2001:db8::g", open, Err(())),
            ("", open, Err(())),
        ];
        for (addr, policy, expected) in cases {
            let got = verify_address(addr, *policy);
            match (got, expected) {
                (Ok((a, t)), Ok((ea, et))) => assert_eq!((a.as_str(), t), (*ea, *et), "{addr}"),
                (Err(e), Err(())) => assert_eq!(e.status().as_u16(), 400),
                (got, _) => panic!("{addr}: {got:?}"),
            }
        }
    }

    #[test]
    fn metadata_round_trip_matches_java_encoding() {
        let mut m = BTreeMap::new();
        m.insert("unit".to_owned(), "celsius".to_owned());
        m.insert("a key".to_owned(), "x=y, z&ü".to_owned());
        let text = metadata_to_text(&m).unwrap();
        assert_eq!(text, "a+key=x%3Dy%2C+z%26%C3%BC, unit=celsius");
        assert_eq!(text_to_metadata(Some(&text)).unwrap(), m);
        assert_eq!(metadata_to_text(&BTreeMap::new()), None);
        assert_eq!(text_to_metadata(Some("  ")), None);
        assert_eq!(text_to_metadata(Some("k=v%")).unwrap()["k"], "v%");
        assert_eq!(text_to_metadata(Some("k=%4")).unwrap()["k"], "%4");
    }

    #[test]
    fn metadata_normalization() {
        let mut m = BTreeMap::new();
        m.insert(" k ".to_owned(), Some(" v ".to_owned()));
        m.insert("n".to_owned(), None);
        let out = normalize_metadata(Some(&m)).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out["k"], "v");
        m.insert("k".to_owned(), Some("w".to_owned()));
        assert!(normalize_metadata(Some(&m)).is_err());
    }

    #[test]
    fn page_parameters() {
        let sortable = ["id", "createdAt", "updatedAt"];
        let q = |p: Option<i64>, s: Option<i64>, d: Option<&str>, f: Option<&str>| PageQuery {
            page: p,
            item_per_page: s,
            direction: d.map(str::to_owned),
            sort_field: f.map(str::to_owned),
        };
        assert_eq!(
            q(None, None, None, None).validate(&sortable, "o").unwrap(),
            PageParams {
                page: None,
                direction: Direction::Asc,
                sort_field: "id".into()
            }
        );
        assert_eq!(
            q(Some(2), Some(10), Some("desc"), Some("updatedAt"))
                .validate(&sortable, "o")
                .unwrap()
                .page,
            Some((2, 10))
        );
        let err = q(Some(1), None, None, None)
            .validate(&sortable, "o")
            .unwrap_err();
        assert_eq!(
            err.message,
            "Defined page or size could not be with undefined size or page."
        );
        assert_eq!(
            q(None, None, Some("UP"), None)
                .validate(&sortable, "o")
                .unwrap_err()
                .message,
            "Invalid sort direction flag"
        );
        assert!(q(None, None, None, Some("name"))
            .validate(&sortable, "o")
            .is_err());
        assert!(q(Some(-1), Some(5), None, None)
            .validate(&sortable, "o")
            .is_err());
    }

    #[test]
    fn in_memory_pages() {
        let p = |page: Option<(i64, i64)>, direction: Direction| PageParams {
            page,
            direction,
            sort_field: "id".into(),
        };
        let rows = || vec![1, 2, 3, 4, 5];
        assert_eq!(p(None, Direction::Asc).apply(rows()), [1, 2, 3, 4, 5]);
        assert_eq!(p(Some((1, 2)), Direction::Asc).apply(rows()), [3, 4]);
        assert_eq!(p(Some((0, 2)), Direction::Desc).apply(rows()), [5, 4]);
        assert_eq!(
            p(Some((9, 2)), Direction::Asc).apply(rows()),
            Vec::<i32>::new()
        );
        assert_eq!(
            p(Some((i64::MAX, i64::MAX)), Direction::Asc).apply(rows()),
            Vec::<i32>::new()
        );
    }
}
