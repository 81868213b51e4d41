//! The Gateway's wire types (Java `GatewayProviderConnectionRequestDTO`,
//! `GatewayConsumerConnectionRequestDTO`, `ActiveSessionDTO`), shared with the Gatekeeper that
//! sends the connection requests.

use crate::dto::gatekeeper::RelayRequest;
use crate::dto::{CloudRequest, SystemRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Java `GatewayProviderConnectionRequestDTO` (provider cloud's Gatekeeper → its Gateway).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderConnectionRequest {
    pub relay: Option<RelayRequest>,
    pub consumer: Option<SystemRequest>,
    pub provider: Option<SystemRequest>,
    pub consumer_cloud: Option<CloudRequest>,
    pub provider_cloud: Option<CloudRequest>,
    pub service_definition: Option<String>,
    #[serde(rename = "consumerGWPublicKey")]
    pub consumer_gw_public_key: Option<String>,
}

/// Java `GatewayConsumerConnectionRequestDTO` (consumer cloud's Gatekeeper → its Gateway).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerConnectionRequest {
    pub relay: Option<RelayRequest>,
    pub queue_id: Option<String>,
    pub peer_name: Option<String>,
    #[serde(rename = "providerGWPublicKey")]
    pub provider_gw_public_key: Option<String>,
    pub consumer: Option<SystemRequest>,
    pub provider: Option<SystemRequest>,
    pub consumer_cloud: Option<CloudRequest>,
    pub provider_cloud: Option<CloudRequest>,
    pub service_definition: Option<String>,
}

/// Java `ActiveSessionDTO` (`NON_NULL`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActiveSession {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer: Option<SystemRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer_cloud: Option<CloudRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<SystemRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_cloud: Option<CloudRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_definition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay: Option<RelayRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_queue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_control_queue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_queue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_control_queue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer_server_socket_port: Option<i64>,
}

/// One failure of `close_sessions` (Java `GatewayCloseSessionsResponseDTO` entry).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct ClosePortError {
    pub port: i64,
    pub error: String,
}
