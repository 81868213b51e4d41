//! Wire DTOs shared by the systems, with the Java field names. Request DTOs keep every field
//! optional so that a missing field is answered with the Java validation message instead of a
//! generic deserialization error; response DTOs leave out what Java's `NON_NULL` leaves out.

pub mod device;
pub mod gatekeeper;
pub mod gateway;
pub mod onboarding;
pub mod orchestrator;

use crate::db::models::{Cloud, ServiceDefinition, ServiceInterface, System};
use crate::names::text_to_metadata;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Metadata as clients send it: values may be JSON null (dropped on normalization).
pub type RequestMetadata = BTreeMap<String, Option<String>>;

/// Java's `ISO_INSTANT` for second-precision timestamps: `2024-03-19T10:31:17Z`.
pub fn format_instant(t: &NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    // Written out instead of `format("%Y-…")`: strftime parsing showed up in request profiles.
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Whether a MySQL/MariaDB `TIMESTAMP` column (the Java schema's type for every date) can hold
/// `t`: 1970-01-01T00:00:01Z to 2038-01-19T03:14:07Z. Later dates must be refused rather than
/// stored as something else.
pub fn storable(t: &NaiveDateTime) -> bool {
    (1..=i64::from(i32::MAX)).contains(&t.and_utc().timestamp())
}

/// Parses an ISO-8601 instant (`2030-01-01T00:00:00Z`, with offset, or without zone = UTC).
pub fn parse_instant(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc).naive_utc());
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

fn bad_payload(message: &str, origin: &str) -> crate::ArrowheadError {
    crate::ArrowheadError::bad_payload(message).with_origin(origin)
}

/// A registry entry's end of validity (Device and System Registry): an ISO-8601 instant a `TIMESTAMP` column can hold, or none.
pub fn end_of_validity_of(
    raw: Option<&str>,
    origin: &str,
) -> Result<Option<NaiveDateTime>, crate::ArrowheadError> {
    let Some(v) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let t = crate::dto::parse_instant(v).ok_or_else(|| {
        bad_payload("End of validity is specified in the wrong format. Please provide UTC time using ISO-8601 format.", origin)
    })?;
    if !crate::dto::storable(&t) {
        return Err(bad_payload("End of validity is out of the storable range (1970-01-01T00:00:01Z to 2038-01-19T03:14:07Z).", origin));
    }
    Ok(Some(t))
}

/// A registry entry's version: it must fit the Java `int` column.
pub fn version_of(v: Option<i64>, origin: &str) -> Result<Option<i32>, crate::ArrowheadError> {
    v.map(|v| i32::try_from(v).map_err(|_| bad_payload("Version is out of range.", origin)))
        .transpose()
}

/// Java `SystemRequestDTO`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemRequest {
    #[schema(required = true)]
    pub system_name: Option<String>,
    #[schema(required = true)]
    pub address: Option<String>,
    #[schema(required = true)]
    pub port: Option<i64>,
    pub authentication_info: Option<String>,
    pub metadata: Option<RequestMetadata>,
}

impl SystemRequest {
    /// Whether this names `system` (name in any case, address as given, port): how preferred
    /// providers are matched against results.
    pub fn names(&self, system: &SystemResponse) -> bool {
        self.system_name
            .as_deref()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case(&system.system_name))
            && self
                .address
                .as_deref()
                .is_some_and(|a| a.trim().eq_ignore_ascii_case(&system.address))
            && self.port == Some(i64::from(system.port))
    }

    /// The name, address and port, checked and normalized as stored (400 naming `what`, with
    /// `origin`).
    pub fn key(
        &self,
        what: &str,
        origin: &str,
    ) -> Result<(String, String, i32), crate::ArrowheadError> {
        let bad = |m: String| crate::ArrowheadError::bad_payload(m).with_origin(origin);
        let name = self
            .system_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| bad(format!("{what} system name is null or blank.")))?;
        let address = self
            .address
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| bad(format!("{what} system address is null or blank.")))?;
        let port = crate::names::validate_port(self.port).map_err(|e| e.with_origin(origin))?;
        Ok((
            crate::names::normalize_name(name),
            crate::names::normalize_address(address),
            i32::from(port),
        ))
    }
}

/// Java `SystemResponseDTO`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemResponse {
    pub id: i64,
    pub system_name: String,
    pub address: String,
    pub port: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&System> for SystemResponse {
    fn from(s: &System) -> Self {
        Self {
            id: s.id,
            system_name: s.system_name.clone(),
            address: s.address.clone(),
            port: s.port,
            authentication_info: s.authentication_info.clone(),
            metadata: text_to_metadata(s.metadata.as_deref()),
            created_at: format_instant(&s.created_at),
            updated_at: format_instant(&s.updated_at),
        }
    }
}

/// Java `ServiceDefinitionResponseDTO`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDefinitionResponse {
    pub id: i64,
    pub service_definition: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&ServiceDefinition> for ServiceDefinitionResponse {
    fn from(d: &ServiceDefinition) -> Self {
        Self {
            id: d.id,
            service_definition: d.service_definition.clone(),
            created_at: format_instant(&d.created_at),
            updated_at: format_instant(&d.updated_at),
        }
    }
}

/// Java `ServiceInterfaceResponseDTO`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInterfaceResponse {
    pub id: i64,
    pub interface_name: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&ServiceInterface> for ServiceInterfaceResponse {
    fn from(i: &ServiceInterface) -> Self {
        Self {
            id: i.id,
            interface_name: i.interface_name.clone(),
            created_at: format_instant(&i.created_at),
            updated_at: format_instant(&i.updated_at),
        }
    }
}

/// Java `ServiceRegistryRequestDTO`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRegistryRequest {
    #[schema(required = true)]
    pub service_definition: Option<String>,
    #[schema(required = true)]
    pub provider_system: Option<SystemRequest>,
    pub service_uri: Option<String>,
    /// ISO-8601 UTC instant, e.g. `2030-01-01T00:00:00Z`.
    pub end_of_validity: Option<String>,
    /// `NOT_SECURE` (default), `CERTIFICATE` or `TOKEN`.
    pub secure: Option<String>,
    pub metadata: Option<RequestMetadata>,
    pub version: Option<i64>,
    #[schema(required = true)]
    pub interfaces: Option<Vec<String>>,
}

/// Java `ServiceRegistryResponseDTO`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRegistryResponse {
    pub id: i64,
    pub service_definition: ServiceDefinitionResponse,
    pub provider: SystemResponse,
    pub service_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_of_validity: Option<String>,
    pub secure: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    pub version: i32,
    pub interfaces: Vec<ServiceInterfaceResponse>,
    pub created_at: String,
    pub updated_at: String,
}

/// Java `ServiceQueryFormDTO`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceQueryForm {
    #[schema(required = true)]
    pub service_definition_requirement: Option<String>,
    pub interface_requirements: Option<Vec<String>>,
    pub security_requirements: Option<Vec<String>>,
    pub metadata_requirements: Option<RequestMetadata>,
    pub version_requirement: Option<i64>,
    pub max_version_requirement: Option<i64>,
    pub min_version_requirement: Option<i64>,
    pub provider_address_type_requirements: Option<Vec<String>>,
    #[serde(default)]
    pub ping_providers: bool,
}

/// Java `ServiceQueryResultDTO`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceQueryResult {
    pub service_query_data: Vec<ServiceRegistryResponse>,
    pub unfiltered_hits: i64,
}

/// The `{data, count}` envelope of every Java list response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListResponse<T> {
    pub data: Vec<T>,
    pub count: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants() {
        let t = parse_instant("2030-01-01T00:00:00Z").unwrap();
        assert_eq!(format_instant(&t), "2030-01-01T00:00:00Z");
        assert_eq!(
            format_instant(&parse_instant("2030-01-01T02:00:00+02:00").unwrap()),
            "2030-01-01T00:00:00Z"
        );
        assert_eq!(
            format_instant(&parse_instant("2030-01-01T00:00:00").unwrap()),
            "2030-01-01T00:00:00Z"
        );
        assert!(parse_instant("tomorrow").is_none());
        assert!(parse_instant("2030-13-01T00:00:00Z").is_none());
    }
}

/// Java `IdIdListDTO`: a provider id with interface ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdIdList {
    pub id: Option<i64>,
    pub id_list: Option<Vec<i64>>,
}

impl IdIdList {
    /// What an Authorization check is asked about: each provider once, with every interface it
    /// offers (`(provider id, interface ids)` per registry entry or orchestration result).
    pub fn offered(entries: impl IntoIterator<Item = (i64, Vec<i64>)>) -> Vec<IdIdList> {
        let mut out: Vec<IdIdList> = Vec::new();
        for (provider, interfaces) in entries {
            match out.iter_mut().find(|o| o.id == Some(provider)) {
                Some(o) => {
                    let list = o.id_list.get_or_insert_with(Vec::new);
                    for i in interfaces {
                        if !list.contains(&i) {
                            list.push(i);
                        }
                    }
                }
                None => out.push(IdIdList {
                    id: Some(provider),
                    id_list: Some(interfaces),
                }),
            }
        }
        out
    }

    /// An Authorization answer as provider id → allowed interface ids.
    pub fn allowed(answer: Vec<IdIdList>) -> BTreeMap<i64, Vec<i64>> {
        answer
            .into_iter()
            .filter_map(|a| Some((a.id?, a.id_list.unwrap_or_default())))
            .collect()
    }
}

/// Keeps the registry entries (and their interfaces) an Authorization answer allows.
pub fn keep_allowed(
    found: Vec<ServiceRegistryResponse>,
    allowed: &BTreeMap<i64, Vec<i64>>,
) -> Vec<ServiceRegistryResponse> {
    found
        .into_iter()
        .filter_map(|mut e| {
            let interfaces = allowed.get(&e.provider.id)?;
            e.interfaces.retain(|i| interfaces.contains(&i.id));
            (!e.interfaces.is_empty()).then_some(e)
        })
        .collect()
}

/// Java `AuthorizationIntraCloudCheckRequestDTO`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntraCloudCheckRequest {
    #[schema(required = true)]
    pub consumer: Option<SystemRequest>,
    #[schema(required = true)]
    pub service_definition_id: Option<i64>,
    #[schema(required = true)]
    pub provider_ids_with_interface_ids: Option<Vec<IdIdList>>,
}

/// Java `AuthorizationIntraCloudCheckResponseDTO`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntraCloudCheckResponse {
    pub consumer: SystemResponse,
    pub service_definition_id: i64,
    pub authorized_provider_ids_with_interface_ids: Vec<IdIdList>,
}

/// Java `CloudRequestDTO` (the fields token generation reads).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudRequest {
    #[schema(required = true)]
    pub operator: Option<String>,
    #[schema(required = true)]
    pub name: Option<String>,
    pub secure: Option<bool>,
    pub neighbor: Option<bool>,
    pub authentication_info: Option<String>,
    pub gatekeeper_relay_ids: Option<Vec<i64>>,
    pub gateway_relay_ids: Option<Vec<i64>>,
}

/// Java `TokenGenerationProviderDTO`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenGenerationProvider {
    pub provider: Option<SystemRequest>,
    pub service_interfaces: Option<Vec<String>>,
    /// Seconds; zero or less: the token does not expire.
    pub token_duration: Option<i64>,
}

/// Java `TokenGenerationRequestDTO`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenGenerationRequest {
    #[schema(required = true)]
    pub consumer: Option<SystemRequest>,
    pub consumer_cloud: Option<CloudRequest>,
    #[schema(required = true)]
    pub providers: Option<Vec<TokenGenerationProvider>>,
    #[schema(required = true)]
    pub service: Option<String>,
}

/// Java `TokenDataDTO`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenData {
    pub provider_name: String,
    pub provider_address: String,
    pub provider_port: i32,
    pub tokens: BTreeMap<String, String>,
}

/// Java `TokenGenerationResponseDTO`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenGenerationResponse {
    pub token_data: Vec<TokenData>,
}

/// Java `AuthorizationSubscriptionCheckRequestDTO`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionCheckRequest {
    #[schema(required = true)]
    pub consumer: Option<SystemRequest>,
    /// `None` or empty: every publisher the consumer may hear from.
    #[schema(required = true)]
    pub publishers: Option<Vec<SystemRequest>>,
}

/// Java `AuthorizationSubscriptionCheckResponseDTO`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionCheckResponse {
    pub consumer: SystemResponse,
    pub publishers: Vec<SystemResponse>,
}

/// Java `CloudResponseDTO`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudResponse {
    pub id: i64,
    pub operator: String,
    pub name: String,
    pub secure: bool,
    pub neighbor: bool,
    pub own_cloud: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_info: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Cloud> for CloudResponse {
    fn from(c: &Cloud) -> Self {
        Self {
            id: c.id,
            operator: c.operator.clone(),
            name: c.name.clone(),
            secure: c.secure != 0,
            neighbor: c.neighbor != 0,
            own_cloud: c.own_cloud != 0,
            authentication_info: c.authentication_info.clone(),
            created_at: format_instant(&c.created_at),
            updated_at: format_instant(&c.updated_at),
        }
    }
}

/// Java `AuthorizationInterCloudCheckRequestDTO`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InterCloudCheckRequest {
    pub cloud: Option<CloudRequest>,
    pub service_definition: Option<String>,
    pub provider_ids_with_interface_ids: Option<Vec<IdIdList>>,
}

/// Java `AuthorizationInterCloudCheckResponseDTO`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InterCloudCheckResponse {
    pub cloud: CloudResponse,
    pub service_definition: String,
    pub authorized_provider_ids_with_interface_ids: Vec<IdIdList>,
}
