//! Request validation and normalization for the Service Registry (Java `ServiceRegistryController`
//! checks plus the DB services' normalization). Produces validated values the data layer can
//! store without further checks; every failure is a 400 BAD_PAYLOAD naming the endpoint.

use common::dto::{parse_instant, ServiceQueryForm, ServiceRegistryRequest, SystemRequest};
use common::names::{
    normalize_interface, normalize_metadata, normalize_name, validate_interface,
    validate_service_definition, validate_system_name, verify_address, AddressPolicy, AddressType,
};
use common::ArrowheadError;
use std::collections::BTreeMap;

/// The deployment's validation settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    pub strict_definitions: bool,
    pub strict_interfaces: bool,
    pub address: AddressPolicy,
    /// The registry runs with TLS (secured services allowed).
    pub secure: bool,
}

pub use common::db::registry_read::{SecurityType, ValidQuery};

/// A validated, normalized system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSystem {
    pub name: String,
    pub address: String,
    pub address_type: AddressType,
    pub port: i32,
    pub authentication_info: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// A validated, normalized registry entry.
#[derive(Debug, Clone)]
pub struct ValidEntry {
    pub definition: String,
    pub provider: ValidSystem,
    pub service_uri: String,
    pub end_of_validity: Option<chrono::NaiveDateTime>,
    pub secure: SecurityType,
    pub metadata: BTreeMap<String, String>,
    pub version: i32,
    pub interfaces: Vec<String>,
}

fn bad(msg: impl Into<String>, origin: &str) -> ArrowheadError {
    ArrowheadError::bad_payload(msg).with_origin(origin)
}

pub use common::names::{fits, MAX_VARCHAR};
pub const MAX_AUTHENTICATION_INFO: usize = 2047;

fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|v| v.trim().is_empty())
}

pub fn system(
    req: &SystemRequest,
    policy: &Policy,
    origin: &str,
) -> Result<ValidSystem, ArrowheadError> {
    if blank(&req.system_name) {
        return Err(bad("System name is null or blank.", origin));
    }
    if blank(&req.address) {
        return Err(bad("System address is null or blank.", origin));
    }
    let port = common::names::validate_port(req.port).map_err(|e| e.with_origin(origin))?;
    let name = req.system_name.as_deref().unwrap_or_default();
    validate_system_name(name).map_err(|e| e.with_origin(origin))?;
    let (address, address_type) =
        verify_address(req.address.as_deref().unwrap_or_default(), policy.address)
            .map_err(|e| e.with_origin(origin))?;
    fits(&address, MAX_VARCHAR, "System address", origin)?;
    if let Some(info) = &req.authentication_info {
        fits(
            info.trim(),
            MAX_AUTHENTICATION_INFO,
            "Authentication info",
            origin,
        )?;
    }
    Ok(ValidSystem {
        name: normalize_name(name),
        address,
        address_type,
        port: i32::from(port),
        authentication_info: req
            .authentication_info
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        metadata: normalize_metadata(req.metadata.as_ref()).map_err(|e| e.with_origin(origin))?,
    })
}

/// Rejects core-system names for systems the operator creates by hand (`/mgmt` POST and PUT).
pub fn not_reserved_system(name: &str, origin: &str) -> Result<(), ArrowheadError> {
    if common::identity::CoreSystem::from_system_name(name).is_some() {
        Err(bad(
            format!(
                "System name '{}' is a reserved arrowhead core system name.",
                name.trim().to_lowercase()
            ),
            origin,
        ))
    } else {
        Ok(())
    }
}

pub fn definition(
    def: Option<&str>,
    policy: &Policy,
    origin: &str,
) -> Result<String, ArrowheadError> {
    let d = def.unwrap_or_default();
    validate_service_definition(d, policy.strict_definitions).map_err(|e| e.with_origin(origin))?;
    fits(d.trim(), MAX_VARCHAR, "Service definition", origin)?;
    Ok(normalize_name(d))
}

pub fn interfaces(
    list: Option<&Vec<String>>,
    policy: &Policy,
    origin: &str,
) -> Result<Vec<String>, ArrowheadError> {
    let list = list
        .filter(|l| !l.is_empty())
        .ok_or_else(|| bad("Interfaces list is null or empty.", origin))?;
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for i in list {
        validate_interface(i, policy.strict_interfaces).map_err(|e| e.with_origin(origin))?;
        fits(i.trim(), MAX_VARCHAR, "Interface name", origin)?;
        let n = normalize_interface(i);
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

pub fn end_of_validity(
    value: Option<&str>,
    origin: &str,
) -> Result<Option<chrono::NaiveDateTime>, ArrowheadError> {
    match value.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => {
            let t = parse_instant(v).ok_or_else(|| bad("End of validity is specified in the wrong format. Please provide UTC time using ISO-8601 format.", origin))?;
            // The Java schema stores it in a TIMESTAMP column, which ends in January 2038;
            // a later date must be refused rather than stored as something else.
            if !common::dto::storable(&t) {
                return Err(bad("End of validity is out of the storable range (1970-01-01T00:00:01Z to 2038-01-19T03:14:07Z).", origin));
            }
            Ok(Some(t))
        }
    }
}

pub fn security(value: Option<&str>, origin: &str) -> Result<SecurityType, ArrowheadError> {
    match value.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(SecurityType::NotSecure),
        Some(v) => SecurityType::parse(v)
            .ok_or_else(|| bad(format!("Security type is not valid: {v}"), origin)),
    }
}

pub fn version(value: Option<i64>, origin: &str) -> Result<i32, ArrowheadError> {
    match value {
        None => Ok(1),
        Some(v) => i32::try_from(v).map_err(|_| bad("Version is out of range.", origin)),
    }
}

/// Full validation of a registration (`/register`, `/mgmt` POST and PUT).
pub fn entry(
    req: &ServiceRegistryRequest,
    policy: &Policy,
    origin: &str,
) -> Result<ValidEntry, ArrowheadError> {
    if blank(&req.service_definition) {
        return Err(bad("Service definition is null or blank", origin));
    }
    let definition = definition(req.service_definition.as_deref(), policy, origin)?;
    let provider = req
        .provider_system
        .as_ref()
        .ok_or_else(|| bad("Provider system is null.", origin))?;
    let provider = system(provider, policy, origin)?;
    let end_of_validity = end_of_validity(req.end_of_validity.as_deref(), origin)?;
    let secure = security(req.secure.as_deref(), origin)?;
    check_security(secure, &provider, policy, origin)?;
    let interfaces = interfaces(req.interfaces.as_ref(), policy, origin)?;
    if let Some(uri) = &req.service_uri {
        fits(uri.trim(), MAX_VARCHAR, "Service URI", origin)?;
    }
    Ok(ValidEntry {
        definition,
        provider,
        service_uri: req
            .service_uri
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned(),
        end_of_validity,
        secure,
        metadata: normalize_metadata(req.metadata.as_ref()).map_err(|e| e.with_origin(origin))?,
        version: version(req.version, origin)?,
        interfaces,
    })
}

pub fn check_security(
    secure: SecurityType,
    provider: &ValidSystem,
    policy: &Policy,
    origin: &str,
) -> Result<(), ArrowheadError> {
    if secure != SecurityType::NotSecure && !policy.secure {
        return Err(bad(
            "ServiceRegistry insecure mode can not handle secure services",
            origin,
        ));
    }
    if secure != SecurityType::NotSecure && provider.authentication_info.is_none() {
        return Err(bad(
            "Security type is in conflict with the availability of the authentication info.",
            origin,
        ));
    }
    // Tokens for a TOKEN provider are encrypted with this key: a value that is not one would
    // only surface at orchestration time as "Token generation failed" (Java accepts it).
    if secure == SecurityType::Token {
        let info = provider.authentication_info.as_deref().unwrap_or_default();
        if common::token::public_key_from_base64(info).is_err() {
            return Err(bad(
                "The authenticationInfo of a TOKEN provider must be its public key (base64 DER \
                 SubjectPublicKeyInfo, as arrowhead-certgen writes it to <name>.pub).",
                origin,
            ));
        }
    }
    Ok(())
}

/// A validated query form (shared with the Orchestrator's direct reads).
pub fn query(form: &ServiceQueryForm, origin: &str) -> Result<ValidQuery, ArrowheadError> {
    ValidQuery::from_form(form, origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_of_validity_must_fit_a_timestamp_column() {
        let ok = |v: &str| end_of_validity(Some(v), "o");
        assert!(ok("2038-01-19T03:14:07Z").unwrap().is_some());
        assert!(ok(" ").unwrap().is_none());
        for v in [
            "2038-01-19T03:14:08Z",
            "2099-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "soon",
        ] {
            let e = ok(v).unwrap_err();
            assert_eq!(
                (e.status().as_u16(), e.origin.as_deref()),
                (400, Some("o")),
                "{v}"
            );
        }
    }
}
