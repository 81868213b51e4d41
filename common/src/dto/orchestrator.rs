//! The Orchestrator's wire types, shared with the Gatekeeper (which sends orchestration forms
//! for other clouds' consumers and passes results back across the relay).

use crate::dto::{
    CloudRequest, ServiceDefinitionResponse, ServiceInterfaceResponse, ServiceQueryForm,
    SystemRequest, SystemResponse,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Java `PreferredProviderDataDTO`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreferredProvider {
    pub provider_system: Option<SystemRequest>,
    /// Absent: a provider of this cloud.
    pub provider_cloud: Option<CloudRequest>,
}

/// Java `OrchestrationFormRequestDTO`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrchestrationForm {
    #[schema(required = true)]
    pub requester_system: Option<SystemRequest>,
    pub requester_cloud: Option<CloudRequest>,
    pub requested_service: Option<ServiceQueryForm>,
    /// Flag name → value; unknown names are ignored (and logged), missing ones are false.
    #[schema(value_type = Option<FlagsDoc>)]
    pub orchestration_flags: Option<BTreeMap<String, Option<bool>>>,
    pub preferred_providers: Option<Vec<PreferredProvider>>,
    pub commands: Option<BTreeMap<String, Option<String>>>,
    pub qos_requirements: Option<BTreeMap<String, Option<String>>>,
}

/// Java `OrchestrationResultDTO`. `authorizationTokens` is written as `null` when there are
/// none, as Java does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrchestrationResult {
    pub provider: SystemResponse,
    pub service: ServiceDefinitionResponse,
    pub service_uri: String,
    pub secure: String,
    pub metadata: BTreeMap<String, String>,
    pub interfaces: Vec<ServiceInterfaceResponse>,
    pub version: i32,
    pub authorization_tokens: Option<BTreeMap<String, String>>,
    pub warnings: Vec<String>,
}

/// Java `OrchestrationResponseDTO`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrchestrationResponse {
    pub response: Vec<OrchestrationResult>,
}

/// The orchestration flags as the OpenAPI document names them (the wire form is a map, read
/// into the Orchestrator's `Flags`); documentation only.
#[derive(Serialize, ToSchema)]
#[schema(as = OrchestrationFlags)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub struct FlagsDoc {
    /// One provider only: the first preferred one, else a random one.
    matchmaking: Option<bool>,
    /// Filter providers by `requestedService.metadataRequirements`.
    metadata_search: Option<bool>,
    /// Only the `preferredProviders` of this cloud.
    only_preferred: Option<bool>,
    /// The Service Registry checks that providers answer.
    ping_providers: Option<bool>,
    /// Dynamic orchestration (every allowed provider) instead of the Orchestrator Store.
    override_store: Option<bool>,
    /// Ask other clouds (needs a Gatekeeper).
    trigger_inter_cloud: Option<bool>,
    /// Set by the Gatekeeper for requests of other clouds.
    external_service_request: Option<bool>,
    /// Ask other clouds when nothing local matches (needs a Gatekeeper).
    enable_inter_cloud: Option<bool>,
    /// QoS-aware orchestration (not built; refused at startup when enabled).
    #[serde(rename = "enableQoS")]
    enable_qos: Option<bool>,
    /// Only providers whose address is an IP address.
    #[serde(rename = "onlyIPAddressResponse")]
    only_ip_address_response: Option<bool>,
    /// Only providers whose address is an IPv4 address.
    #[serde(rename = "onlyIPv4AddressResponse")]
    only_ipv4_address_response: Option<bool>,
    /// Only providers whose address is an IPv6 address.
    #[serde(rename = "onlyIPv6AddressResponse")]
    only_ipv6_address_response: Option<bool>,
}
