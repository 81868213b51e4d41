//! Query answers made from compact entries, so that the query cache can hold a whole registry
//! of 100,000 entries in a few tens of megabytes and a cached answer costs no copy.
//!
//! An [`Entry`] keeps what only it has (id, URI, security, metadata, version, timestamps) and
//! shares the rest: the definition with the other entries of its definition, the provider and
//! the interfaces with every entry of the same provider or interface ([`Interner`]). An
//! [`Answer`] is a list of indexes into a definition's entries and serializes them in place,
//! byte for byte as `ServiceQueryResult` would (the tests compare both), instead of cloning
//! every entry into a `ServiceRegistryResponse` first. What is shared is also shared as JSON
//! ([`Rendered`]): a provider's JSON, most of an answer's bytes (its public key), is escaped
//! once when loaded, not again for every entry of every answer.

use common::db::registry_read::{CachedEntry, SecurityType, ValidQuery};
use common::dto::{ServiceDefinitionResponse, ServiceInterfaceResponse, SystemResponse};
use common::names::AddressType;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One registry entry as the query cache holds it: about 250 bytes in four allocations (the
/// entry, its text, where the text's parts end, its interface list), where the full form takes
/// 1–2 KiB in fifteen or more (a metadata map alone is a 540-byte B-tree node); what it shares
/// is counted once.
#[derive(Debug)]
pub struct Entry {
    id: i64,
    definition: Arc<Rendered<ServiceDefinitionResponse>>,
    provider: Arc<Rendered<SystemResponse>>,
    interfaces: Box<[Arc<Rendered<ServiceInterfaceResponse>>]>,
    /// URI, security, creation and update time, end of validity, then the metadata's keys and
    /// values in key order, one after the other.
    text: Box<str>,
    /// Where each part of `text` ends.
    ends: Box<[u32]>,
    version: i32,
    address_type: Option<AddressType>,
    has_end_of_validity: bool,
    has_metadata: bool,
}

/// The parts of `Entry::text` before the metadata.
const FIXED_PARTS: usize = 5;

/// The entries of one definition, in id order.
pub type Entries = Arc<Vec<Entry>>;

/// A value and its JSON, rendered once and written as is by every answer it is part of.
#[derive(Debug)]
pub struct Rendered<T> {
    value: T,
    /// `None` only if the value could not be rendered (it then serializes itself each time).
    json: Option<Box<RawValue>>,
}

impl<T: Serialize> Rendered<T> {
    fn new(value: T) -> Self {
        let json = serde_json::value::to_raw_value(&value).ok();
        Self { value, json }
    }
}

impl<T: Serialize> Serialize for Rendered<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.json {
            Some(json) => json.serialize(s),
            None => self.value.serialize(s),
        }
    }
}

impl<T> std::ops::Deref for Rendered<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> Rendered<T> {
    /// The length of the JSON (an estimate when not rendered).
    fn json_len(&self) -> usize {
        self.json.as_ref().map_or(256, |j| j.get().len())
    }
}

/// Shares equal values by id. A value is reused only when it is equal to the one just loaded,
/// so sharing never changes an answer, whatever generation either was read at. Bounded: past
/// `max` values, those no entry uses any more are dropped, and all of them if that is not enough
/// (entries keep theirs alive; later loads share anew).
pub struct Interner<T> {
    max: usize,
    map: Mutex<HashMap<i64, Arc<Rendered<T>>>>,
}

impl<T: PartialEq + Serialize> Interner<T> {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn share(
        map: &mut HashMap<i64, Arc<Rendered<T>>>,
        max: usize,
        id: i64,
        value: T,
    ) -> Arc<Rendered<T>> {
        if let Some(held) = map.get(&id) {
            if held.value == value {
                return held.clone();
            }
        }
        if map.len() >= max {
            map.retain(|_, v| Arc::strong_count(v) > 1);
            if map.len() >= max {
                map.clear();
            }
        }
        let shared = Arc::new(Rendered::new(value));
        map.insert(id, shared.clone());
        shared
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Rendered<T>>>> {
        // Nothing a panic could leave half-done: keep going.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The interners of the registry's query answers.
pub struct Shared {
    providers: Interner<SystemResponse>,
    interfaces: Interner<ServiceInterfaceResponse>,
}

impl Shared {
    /// Holds at most `max` providers (interfaces are few).
    pub fn new(max: usize) -> Self {
        Self {
            providers: Interner::new(max),
            interfaces: Interner::new(max),
        }
    }

    /// Makes compact entries of loaded ones (all of one definition).
    pub fn compact(&self, loaded: Vec<CachedEntry>) -> Entries {
        let mut definition: Option<Arc<Rendered<ServiceDefinitionResponse>>> = None;
        let mut providers = self.providers.lock();
        let mut interfaces = self.interfaces.lock();
        let out = loaded.into_iter().map(|c| {
            let e = c.entry;
            let def = match &definition {
                Some(d) if d.value == e.service_definition => d.clone(),
                _ => {
                    let d = Arc::new(Rendered::new(e.service_definition));
                    definition = Some(d.clone());
                    d
                }
            };
            let provider_id = e.provider.id;
            let fixed = [
                e.service_uri.as_str(),
                &e.secure,
                &e.created_at,
                &e.updated_at,
                e.end_of_validity.as_deref().unwrap_or_default(),
            ];
            let pairs = e.metadata.iter().flatten();
            let (text, ends) = pack(
                fixed
                    .into_iter()
                    .chain(pairs.flat_map(|(k, v)| [k.as_str(), v.as_str()])),
            );
            Entry {
                id: e.id,
                definition: def,
                provider: Interner::share(
                    &mut providers,
                    self.providers.max,
                    provider_id,
                    e.provider,
                ),
                address_type: c.address_type,
                text,
                ends,
                has_end_of_validity: e.end_of_validity.is_some(),
                has_metadata: e.metadata.is_some(),
                version: e.version,
                interfaces: e
                    .interfaces
                    .into_iter()
                    .map(|i| Interner::share(&mut interfaces, self.interfaces.max, i.id, i))
                    .collect(),
            }
        });
        // Not `collect()`: collecting a `Vec` into a `Vec` of smaller items reuses the source's
        // allocation, which would keep the size of the full entries alive in the cache.
        let mut compact = Vec::with_capacity(out.len());
        compact.extend(out);
        Arc::new(compact)
    }

    /// How many providers are held for sharing (what the tests bound).
    #[cfg(test)]
    fn providers(&self) -> usize {
        self.providers.lock().len()
    }
}

/// The strings of an entry in one allocation, with where each ends. Registry strings are far
/// below 4 GiB (the columns are at most MEDIUMTEXT); a longer one would be cut at a character
/// boundary rather than misplace the others.
fn pack<'a>(parts: impl Iterator<Item = &'a str> + Clone) -> (Box<str>, Box<[u32]>) {
    let mut text = String::with_capacity(parts.clone().map(str::len).sum());
    let mut ends = Vec::with_capacity(parts.clone().count());
    for part in parts {
        let room = (u32::MAX as usize).saturating_sub(text.len());
        let mut cut = part.len().min(room);
        while !part.is_char_boundary(cut) {
            cut -= 1;
        }
        text.push_str(&part[..cut]);
        ends.push(text.len() as u32);
    }
    (text.into_boxed_str(), ends.into_boxed_slice())
}

impl Entry {
    fn part(&self, i: usize) -> &str {
        let start = i
            .checked_sub(1)
            .and_then(|p| self.ends.get(p))
            .map_or(0, |&e| e as usize);
        let end = self.ends.get(i).map_or(start, |&e| e as usize);
        self.text.get(start..end).unwrap_or_default()
    }
    fn service_uri(&self) -> &str {
        self.part(0)
    }
    fn secure(&self) -> &str {
        self.part(1)
    }
    fn created_at(&self) -> &str {
        self.part(2)
    }
    fn updated_at(&self) -> &str {
        self.part(3)
    }
    fn end_of_validity(&self) -> Option<&str> {
        self.has_end_of_validity.then(|| self.part(4))
    }
    /// The metadata pairs in key order (as the map they were made of).
    fn metadata(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        (FIXED_PARTS..self.ends.len())
            .step_by(2)
            .map(|i| (self.part(i), self.part(i + 1)))
    }

    /// Java's query filters (see `registry_read::filter`): address type, at least one of the
    /// requested interfaces, security, version, every requested metadata pair.
    fn matches(&self, q: &ValidQuery) -> bool {
        (q.address_types.is_empty()
            || self
                .address_type
                .is_some_and(|t| q.address_types.contains(&t)))
            && (q.interfaces.is_empty()
                || self
                    .interfaces
                    .iter()
                    .any(|i| q.interfaces.contains(&i.interface_name)))
            && (q.security.is_empty()
                || SecurityType::parse(self.secure()).is_some_and(|s| q.security.contains(&s)))
            && match q.version {
                Some(v) => self.version == v,
                None => self.version >= q.min_version && self.version <= q.max_version,
            }
            && (q.metadata.is_empty()
                || q.metadata.iter().all(|(k, v)| {
                    self.metadata()
                        .any(|(key, value)| key == k.as_str() && value == v.as_str())
                }))
    }

    pub fn provider(&self) -> &SystemResponse {
        &self.provider.value
    }

    /// About the length of the entry's JSON (its shared parts exactly, the rest roughly).
    fn json_len(&self) -> usize {
        let interfaces: usize = self.interfaces.iter().map(|i| i.json_len() + 1).sum();
        self.definition.json_len()
            + self.provider.json_len()
            + interfaces
            + self.text.len() * 2
            + 256
    }
}

/// A query's answer: the matching entries of a definition, shown with only the requested
/// interfaces. Serializes as Java's `ServiceQueryResultDTO`.
pub struct Answer {
    entries: Entries,
    selected: Vec<usize>,
    interfaces: Vec<String>,
}

impl Answer {
    pub fn new(entries: Entries, q: ValidQuery) -> Self {
        let selected = (0..entries.len())
            .filter(|&i| entries[i].matches(&q))
            .collect();
        Self {
            entries,
            selected,
            interfaces: q.interfaces,
        }
    }

    /// The selected entries.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.selected.iter().map(|&i| &self.entries[i])
    }

    /// Keeps the selected entries for which `keep` (one flag per entry, in order) is true.
    pub fn retain(&mut self, keep: &[bool]) {
        let mut flags = keep.iter();
        self.selected
            .retain(|_| flags.next().copied().unwrap_or(false));
    }
}

/// Written by hand rather than through serde: an answer is most of a query's cost, and serde
/// escapes every key and value of every entry again; here keys are literals, the shared parts
/// are written as rendered, and a value is escaped only when it holds a character that needs it.
/// Byte for byte `ServiceQueryResult`'s serde output (the tests compare both).
impl Answer {
    /// The answer as JSON, in a buffer sized for it up front (grown by doubling, it copied a
    /// typical answer's bytes several times).
    pub fn to_json(&self) -> Vec<u8> {
        let size = 64 + self.entries().map(Entry::json_len).sum::<usize>();
        let mut out = Vec::with_capacity(size);
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"serviceQueryData\":[");
        for (n, e) in self.entries().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            e.write_json(out, &self.interfaces);
        }
        out.extend_from_slice(b"],\"unfilteredHits\":");
        put_int(out, self.entries.len() as i64);
        out.push(b'}');
    }
}

impl Entry {
    /// The entry as `ServiceRegistryResponse` (same fields, order and omissions), its
    /// interfaces narrowed to the `wanted` ones (all when none is asked for).
    fn write_json(&self, out: &mut Vec<u8>, wanted: &[String]) {
        out.extend_from_slice(b"{\"id\":");
        put_int(out, self.id);
        out.extend_from_slice(b",\"serviceDefinition\":");
        self.definition.write_json(out);
        out.extend_from_slice(b",\"provider\":");
        self.provider.write_json(out);
        out.extend_from_slice(b",\"serviceUri\":");
        put_str(out, self.service_uri());
        if let Some(v) = self.end_of_validity() {
            out.extend_from_slice(b",\"endOfValidity\":");
            put_str(out, v);
        }
        out.extend_from_slice(b",\"secure\":");
        put_str(out, self.secure());
        if self.has_metadata {
            out.extend_from_slice(b",\"metadata\":{");
            for (n, (k, v)) in self.metadata().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                put_str(out, k);
                out.push(b':');
                put_str(out, v);
            }
            out.push(b'}');
        }
        out.extend_from_slice(b",\"version\":");
        put_int(out, i64::from(self.version));
        out.extend_from_slice(b",\"interfaces\":[");
        let shown = self
            .interfaces
            .iter()
            .filter(|i| wanted.is_empty() || wanted.contains(&i.interface_name));
        for (n, i) in shown.enumerate() {
            if n > 0 {
                out.push(b',');
            }
            i.write_json(out);
        }
        out.extend_from_slice(b"],\"createdAt\":");
        put_str(out, self.created_at());
        out.extend_from_slice(b",\"updatedAt\":");
        put_str(out, self.updated_at());
        out.push(b'}');
    }
}

impl<T: Serialize> Rendered<T> {
    fn write_json(&self, out: &mut Vec<u8>) {
        match &self.json {
            Some(json) => out.extend_from_slice(json.get().as_bytes()),
            // Writing into a Vec fails only if the value cannot be serialized, which rendering
            // found already; nothing better to write then than nothing.
            None => {
                let _ = serde_json::to_writer(&mut *out, &self.value);
            }
        }
    }
}

fn put_int(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// `s` as a JSON string, escaped as serde_json escapes (control characters, quote, backslash).
fn put_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // A string always serializes.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// For `/query/multi`, whose answers are a list of these.
impl Serialize for Answer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let json = String::from_utf8(self.to_json()).map_err(serde::ser::Error::custom)?;
        RawValue::from_string(json)
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::db::registry_read;
    use common::dto::{ServiceQueryResult, ServiceRegistryResponse};
    use std::collections::BTreeMap;

    fn interface(id: i64, name: &str) -> ServiceInterfaceResponse {
        ServiceInterfaceResponse {
            id,
            interface_name: name.into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-02T00:00:00Z".into(),
        }
    }

    fn provider(id: i64, name: &str) -> SystemResponse {
        SystemResponse {
            id,
            system_name: name.into(),
            address: format!("{name}.example"),
            port: 8000 + id as i32,
            authentication_info: (id % 2 == 0).then(|| "a2V5".into()),
            metadata: (id % 3 == 0).then(|| BTreeMap::from([("zone".into(), "a \"b\"".into())])),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-03T00:00:00Z".into(),
        }
    }

    /// Entries of every shape: with and without end of validity and metadata, one to three
    /// interfaces, three security types (one in lower case as a Java client may store it),
    /// several versions and address types.
    fn entries() -> Vec<CachedEntry> {
        let def = ServiceDefinitionResponse {
            id: 7,
            service_definition: "temperature".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
        };
        let all = [
            interface(1, "HTTP-SECURE-JSON"),
            interface(2, "HTTP-INSECURE-JSON"),
            interface(3, "COAP-SECURE-CBOR"),
        ];
        let secure = ["CERTIFICATE", "TOKEN", "NOT_SECURE", "token"];
        let types = [
            Some(AddressType::Hostname),
            Some(AddressType::Ipv4),
            Some(AddressType::Ipv6),
            None,
        ];
        (0..24)
            .map(|i: i64| CachedEntry {
                entry: ServiceRegistryResponse {
                    id: 100 + i,
                    service_definition: def.clone(),
                    provider: provider(i % 5, &format!("p{}", i % 5)),
                    service_uri: if i % 4 == 2 {
                        // Each kind of character serde_json escapes on its own (any one of them
                        // makes the string escaped), and DEL, which it does not escape.
                        match (i / 4) % 3 {
                            0 => format!("/t/\"{i}\"\u{7f}"),
                            1 => format!("/t/\\{i}"),
                            _ => format!("/t/{i}\t\u{1}\u{1f}"),
                        }
                    } else if i % 2 == 0 {
                        format!("/t/{i}")
                    } else {
                        format!("/t/{i}/ä€\u{1F600}")
                    },
                    end_of_validity: (i % 4 == 1).then(|| "2030-01-01T00:00:00Z".into()),
                    secure: secure[i as usize % 4].into(),
                    // None, empty, or pairs of which one key begins another and one value
                    // is empty (the packed parts must keep their boundaries).
                    metadata: match i % 6 {
                        0 => None,
                        3 => Some(BTreeMap::new()),
                        _ => Some(BTreeMap::from([
                            ("unit".into(), if i % 2 == 0 { "C" } else { "F" }.into()),
                            ("unit2".into(), String::new()),
                            ("é\n".into(), "ü\u{1F600}".into()),
                        ])),
                    },
                    version: (i % 3) as i32 + 1,
                    interfaces: all[(i as usize % 3)..].iter().rev().cloned().collect(),
                    created_at: format!("2026-02-{:02}T00:00:00Z", i + 1),
                    updated_at: "2026-03-01T00:00:00Z".into(),
                },
                // The provider's, so the same for every entry of a provider.
                address_type: types[(i % 5) as usize % 4],
            })
            .collect()
    }

    fn queries() -> Vec<ValidQuery> {
        let q = ValidQuery {
            definition: "temperature".into(),
            min_version: 1,
            max_version: i32::MAX,
            ..Default::default()
        };
        vec![
            q.clone(),
            ValidQuery {
                interfaces: vec!["HTTP-SECURE-JSON".into()],
                ..q.clone()
            },
            ValidQuery {
                interfaces: vec!["COAP-SECURE-CBOR".into(), "HTTP-INSECURE-JSON".into()],
                ..q.clone()
            },
            ValidQuery {
                interfaces: vec!["NONE".into()],
                ..q.clone()
            },
            ValidQuery {
                security: vec![SecurityType::Token],
                ..q.clone()
            },
            ValidQuery {
                security: vec![SecurityType::NotSecure, SecurityType::Certificate],
                version: Some(2),
                ..q.clone()
            },
            ValidQuery {
                min_version: 2,
                max_version: 2,
                ..q.clone()
            },
            ValidQuery {
                metadata: BTreeMap::from([("unit".into(), "C".into())]),
                ..q.clone()
            },
            ValidQuery {
                metadata: BTreeMap::from([
                    ("unit".into(), "F".into()),
                    ("é\n".into(), "ü\u{1F600}".into()),
                ]),
                address_types: vec![AddressType::Ipv4, AddressType::Hostname],
                ..q.clone()
            },
            ValidQuery {
                metadata: BTreeMap::from([("unit2".into(), String::new())]),
                ..q.clone()
            },
            ValidQuery {
                metadata: BTreeMap::from([
                    ("unit".into(), "C".into()),
                    ("unit2".into(), "C".into()),
                ]),
                ..q.clone()
            },
            ValidQuery {
                address_types: vec![AddressType::Ipv6],
                interfaces: vec!["HTTP-INSECURE-JSON".into()],
                ..q.clone()
            },
        ]
    }

    #[test]
    fn answers_are_byte_for_byte_those_of_the_full_entries() {
        let shared = Shared::new(100);
        let loaded = entries();
        let compact = shared.compact(loaded.clone());
        for q in queries() {
            let expected = ServiceQueryResult {
                service_query_data: registry_read::answer(&loaded, &q),
                unfiltered_hits: loaded.len() as i64,
            };
            let expected = serde_json::to_string(&expected).unwrap();
            let answer = Answer::new(compact.clone(), q.clone());
            assert_eq!(
                String::from_utf8(answer.to_json()).unwrap(),
                expected,
                "{q:?}"
            );
            // As one of `/query/multi`'s answers too.
            assert_eq!(serde_json::to_string(&answer).unwrap(), expected, "{q:?}");
        }
    }

    #[test]
    fn equal_values_are_shared_and_changed_ones_are_not() {
        let shared = Shared::new(100);
        let a = shared.compact(entries());
        let b = shared.compact(entries());
        // Five providers, three interfaces, shared by both loads.
        assert_eq!(shared.providers(), 5);
        assert!(Arc::ptr_eq(&a[0].provider, &b[0].provider));
        assert!(Arc::ptr_eq(&a[0].interfaces[0], &b[0].interfaces[0]));
        assert!(Arc::ptr_eq(&a[0].definition, &a[5].definition));
        // A provider changed meanwhile is not shared with the old one.
        let mut changed = entries();
        changed[0].entry.provider.address = "elsewhere.example".into();
        let c = shared.compact(changed);
        assert!(!Arc::ptr_eq(&a[0].provider, &c[0].provider));
        assert_eq!(c[0].provider.address, "elsewhere.example");
        assert_eq!(a[0].provider.address, "p0.example");
        assert!(Arc::ptr_eq(&a[1].provider, &c[1].provider));
    }

    #[test]
    fn the_interner_stays_bounded() {
        let shared = Shared::new(3);
        let held = shared.compact(entries());
        assert!(shared.providers() <= 3);
        drop(held);
        let _ = shared.compact(entries());
        assert!(shared.providers() <= 3);
    }

    #[test]
    fn retain_keeps_the_flagged_entries() {
        let shared = Shared::new(100);
        let mut a = Answer::new(shared.compact(entries()), queries()[1].clone());
        let ids: Vec<i64> = a.entries().map(|e| e.id).collect();
        let keep: Vec<bool> = (0..ids.len()).map(|i| i % 2 == 0).collect();
        a.retain(&keep);
        let kept: Vec<i64> = a.entries().map(|e| e.id).collect();
        assert_eq!(kept, ids.iter().step_by(2).copied().collect::<Vec<_>>());
    }
}
