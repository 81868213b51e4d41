//! The Gatekeeper's wire types: relays, and the messages of global service discovery (GSD) and
//! inter-cloud negotiation (ICN), both the HTTP forms the Orchestrator sends and the payloads
//! that cross the relay between Gatekeepers (Java `GSDPollRequestDTO`, `ICNProposalRequestDTO`,
//! ...). No `NON_NULL` in Java: nulls are written. Unknown fields are ignored when reading, so a
//! newer peer's additions do not break a conversation.

use crate::dto::orchestrator::OrchestrationResult;
use crate::dto::{CloudRequest, CloudResponse, RequestMetadata, ServiceQueryForm, SystemRequest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Java `RelayRequestDTO`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelayRequest {
    #[schema(required = true)]
    pub address: Option<String>,
    #[schema(required = true)]
    pub port: Option<i64>,
    /// The broker's public key (base64 DER), when known.
    pub authentication_info: Option<String>,
    #[serde(default)]
    pub secure: bool,
    /// Dedicated to one cloud pair (only `GATEWAY_RELAY` may be).
    #[serde(default)]
    pub exclusive: bool,
    /// `GATEKEEPER_RELAY`, `GATEWAY_RELAY` or `GENERAL_RELAY` (the default).
    #[serde(rename = "type")]
    pub relay_type: Option<String>,
}

/// Java `RelayResponseDTO`.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelayResponse {
    pub id: i64,
    pub address: String,
    pub port: i32,
    pub authentication_info: Option<String>,
    pub secure: bool,
    pub exclusive: bool,
    #[serde(rename = "type")]
    pub relay_type: String,
    pub created_at: String,
    pub updated_at: String,
}

/// Java `GSDQueryFormDTO` (Orchestrator → Gatekeeper `init_gsd`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GsdQueryForm {
    #[schema(required = true)]
    pub requested_service: Option<ServiceQueryForm>,
    pub preferred_clouds: Option<Vec<CloudRequest>>,
    #[serde(default)]
    pub need_qo_s_measurements: bool,
}

/// Java `GSDPollRequestDTO` (the `gsd_poll` payload).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GsdPollRequest {
    pub requested_service: Option<ServiceQueryForm>,
    pub requester_cloud: Option<CloudRequest>,
    #[serde(default)]
    pub gateway_is_present: bool,
    #[serde(default)]
    pub need_qo_s_measurements: bool,
}

/// Java `GSDPollResponseDTO` (the `gsd_poll` answer; an empty one means "nothing for you").
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GsdPollResponse {
    pub provider_cloud: Option<CloudResponse>,
    pub required_service_definition: Option<String>,
    pub available_interfaces: Option<Vec<String>>,
    pub num_of_providers: Option<i64>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub qos_measurements: Option<Vec<serde_json::Value>>,
    pub service_metadata: Option<RequestMetadata>,
    #[serde(default)]
    pub gateway_is_mandatory: bool,
    pub verified_relays: Option<Vec<RelayResponse>>,
}

impl GsdPollResponse {
    /// Java `GSDPollResponseDTO` with every field null: the provider cloud had nothing.
    pub fn is_empty(&self) -> bool {
        self.provider_cloud.is_none()
    }
}

/// Java `GSDQueryResultDTO`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GsdQueryResult {
    pub results: Vec<GsdPollResponse>,
    pub unsuccessful_requests: i64,
}

/// Java `GSDMultiQueryFormDTO` (`init_multi_gsd`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GsdMultiQueryForm {
    pub requested_services: Option<Vec<ServiceQueryForm>>,
    pub preferred_clouds: Option<Vec<CloudRequest>>,
}

/// Java `GSDMultiPollRequestDTO` (the `multi_gsd_poll` payload).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GsdMultiPollRequest {
    pub requested_services: Option<Vec<ServiceQueryForm>>,
    pub requester_cloud: Option<CloudRequest>,
    #[serde(default)]
    pub gateway_is_present: bool,
}

/// Java `GSDMultiPollResponseDTO`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GsdMultiPollResponse {
    pub provider_cloud: Option<CloudResponse>,
    pub provided_service_definitions: Option<Vec<String>>,
}

/// Java `GSDMultiQueryResultDTO`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GsdMultiQueryResult {
    pub results: Vec<GsdMultiPollResponse>,
    pub unsuccessful_requests: i64,
}

/// Java `ICNRequestFormDTO` (Orchestrator → Gatekeeper `init_icn`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IcnRequestForm {
    #[schema(required = true)]
    pub requested_service: Option<ServiceQueryForm>,
    #[schema(required = true)]
    pub target_cloud_id: Option<i64>,
    #[schema(required = true)]
    pub requester_system: Option<SystemRequest>,
    pub preferred_systems: Option<Vec<SystemRequest>>,
    pub preferred_gateway_relays: Option<Vec<RelayRequest>>,
    pub negotiation_flags: Option<BTreeMap<String, Option<bool>>>,
    pub commands: Option<BTreeMap<String, Option<String>>>,
}

/// Java `ICNProposalRequestDTO` (the `icn_proposal` payload).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IcnProposalRequest {
    pub requested_service: Option<ServiceQueryForm>,
    pub requester_cloud: Option<CloudRequest>,
    pub requester_system: Option<SystemRequest>,
    pub preferred_systems: Option<Vec<SystemRequest>>,
    pub known_gateway_relays: Option<Vec<RelayRequest>>,
    pub preferred_gateway_relays: Option<Vec<RelayRequest>>,
    pub negotiation_flags: Option<BTreeMap<String, Option<bool>>>,
    pub commands: Option<BTreeMap<String, Option<String>>>,
    #[serde(default)]
    pub gateway_is_present: bool,
    pub consumer_gateway_public_key: Option<String>,
}

/// Java `GatewayProviderConnectionResponseDTO`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInfo {
    pub queue_id: Option<String>,
    pub peer_name: Option<String>,
    #[serde(rename = "providerGWPublicKey")]
    pub provider_gw_public_key: Option<String>,
}

/// Java `ICNProposalResponseDTO` (the `icn_proposal` answer).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IcnProposalResponse {
    #[serde(default)]
    pub response: Vec<OrchestrationResult>,
    #[serde(default)]
    pub use_gateway: bool,
    pub relay: Option<RelayResponse>,
    pub connection_info: Option<ConnectionInfo>,
}

/// Java `ICNResultDTO` (the `init_icn` answer).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct IcnResult {
    #[serde(default)]
    pub response: Vec<OrchestrationResult>,
}

/// Java `GeneralAdvertisementMessageDTO`: plain JSON on the relay's general topic, naming the
/// Gatekeeper asked (`recipientCN`) and carrying the session id sealed to it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneralAdvertisement {
    #[serde(rename = "senderCN")]
    pub sender_cn: Option<String>,
    pub sender_public_key: Option<String>,
    #[serde(rename = "recipientCN")]
    pub recipient_cn: Option<String>,
    pub session_id: Option<String>,
}

/// Java `GeneralRelayRequestDTO` (`access_type`, `system_address_list`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneralRelayRequest {
    pub message_type: Option<String>,
}

/// Java `AccessTypeRelayResponseDTO`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessTypeRelayResponse {
    #[serde(default)]
    pub direct_access: bool,
}

/// Java `CloudAccessResponseDTO` (one entry of `collect_access_types`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudAccessResponse {
    pub cloud_name: String,
    pub cloud_operator: String,
    pub direct_access: bool,
}

/// Java `SystemAddressSetRelayResponseDTO` (`collect_system_addresses`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct SystemAddressSet {
    #[serde(default)]
    pub addresses: Vec<String>,
}

/// The relay message types (`mst`) the Gatekeepers exchange.
pub mod message_type {
    pub const GSD_POLL: &str = "gsd_poll";
    pub const MULTI_GSD_POLL: &str = "multi_gsd_poll";
    pub const ICN_PROPOSAL: &str = "icn_proposal";
    pub const ACCESS_TYPE: &str = "access_type";
    pub const SYSTEM_ADDRESS_LIST: &str = "system_address_list";
    pub const QOS_RELAY_TEST: &str = "qos_relay_test";
    pub const ACK: &str = "ack";
}
