//! The Java device DTOs and their validation, shared by the Device Registry and the System
//! Registry (whose entries name the device a system runs on).

use crate::db::device::{DeviceRow, NewDevice};
use crate::dto::format_instant;
use crate::names::fits;
use crate::ArrowheadError;
use serde::{Deserialize, Serialize};

fn bad(message: impl Into<String>, origin: &str) -> ArrowheadError {
    ArrowheadError::bad_payload(message).with_origin(origin)
}

/// Java `DeviceRequestDTO`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRequest {
    /// Letters, digits and `-`, no dots; stored lowercased.
    #[schema(required = true)]
    pub device_name: Option<String>,
    #[schema(required = true)]
    pub address: Option<String>,
    /// `aa:bb:cc:dd:ee:ff` (or with `-`).
    #[schema(required = true)]
    pub mac_address: Option<String>,
    pub authentication_info: Option<String>,
}

/// Java `DeviceResponseDTO`.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceResponse {
    pub id: i64,
    pub device_name: String,
    pub address: String,
    pub mac_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_info: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&DeviceRow> for DeviceResponse {
    fn from(d: &DeviceRow) -> Self {
        Self {
            id: d.id,
            device_name: d.device_name.clone(),
            address: d.address.clone(),
            mac_address: d.mac_address.clone(),
            authentication_info: d.authentication_info.clone(),
            created_at: format_instant(&d.created_at),
            updated_at: format_instant(&d.updated_at),
        }
    }
}

/// Java's MAC format: six pairs of hex digits separated by `:` or `-`.
pub fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
        && s.chars().filter(|c| *c == ':' || *c == '-').count() == 5
}

/// The trimmed, lowercased value, or 400 with `message` when absent or blank.
pub fn required(v: Option<&str>, message: &str, origin: &str) -> Result<String, ArrowheadError> {
    v.map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.to_lowercase())
        .ok_or_else(|| bad(message, origin))
}

/// A device of a request, checked and normalised as stored (the Device Registry's messages).
pub fn device_of(d: Option<&DeviceRequest>, origin: &str) -> Result<NewDevice, ArrowheadError> {
    checked_device(d, origin, "")
}

/// [`device_of`] with the messages padded by `pad` on both sides, as the Java System Registry
/// words them (" Device name must have value ").
pub fn checked_device(
    d: Option<&DeviceRequest>,
    origin: &str,
    pad: &str,
) -> Result<NewDevice, ArrowheadError> {
    let d = d.ok_or_else(|| bad("Device is null.", origin))?;
    let missing = |what: &str| format!("{pad}Device {what} must have value{pad}");
    let name = required(d.device_name.as_deref(), &missing("name"), origin)?;
    let address = required(d.address.as_deref(), &missing("address"), origin)?;
    let mac = required(d.mac_address.as_deref(), &missing("MAC address"), origin)?;
    if name.contains('.') {
        return Err(bad("Name can't contain dot (.)", origin));
    }
    if !is_mac(&mac) {
        return Err(bad("Unrecognized format of MAC Address", origin));
    }
    let too_long = [&name, &address, &mac]
        .iter()
        .any(|v| v.chars().count() > crate::names::MAX_VARCHAR);
    if too_long {
        return Err(bad(
            "Device name, address and MAC address are at most 255 characters.",
            origin,
        ));
    }
    if let Some(info) = &d.authentication_info {
        // The Java column is varchar(2047).
        fits(info.trim(), 2047, "Authentication info", origin)?;
    }
    Ok(NewDevice {
        name,
        address,
        mac,
        authentication_info: d
            .authentication_info
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned),
    })
}

/// Whether a PATCH carries nothing to change.
pub fn is_empty_patch(p: &DeviceRequest) -> bool {
    [
        &p.device_name,
        &p.address,
        &p.mac_address,
        &p.authentication_info,
    ]
    .iter()
    .all(|v| v.as_deref().is_none_or(|v| v.trim().is_empty()))
}

/// A PATCHed device: the fields given replace the stored ones, each into its own column (Java
/// put the name into the MAC), and the result is checked like a new device.
pub fn patched(
    stored: &DeviceRow,
    patch: Option<&DeviceRequest>,
    origin: &str,
) -> Result<NewDevice, ArrowheadError> {
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let p = patch.cloned().unwrap_or_default();
    let merged = DeviceRequest {
        device_name: given(&p.device_name).or(Some(stored.device_name.clone())),
        address: given(&p.address).or(Some(stored.address.clone())),
        mac_address: given(&p.mac_address).or(Some(stored.mac_address.clone())),
        authentication_info: given(&p.authentication_info)
            .or_else(|| stored.authentication_info.clone()),
    };
    device_of(Some(&merged), origin)
}

/// Java `DeviceRequestDTO` of a stored device (the payload of the registry events).
pub fn request_of(d: &DeviceRow) -> serde_json::Value {
    let mut v = serde_json::json!({
        "deviceName": d.device_name,
        "address": d.address,
        "macAddress": d.mac_address,
    });
    if let Some(info) = &d.authentication_info {
        v["authenticationInfo"] = info.clone().into();
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_addresses() {
        for ok in [
            "aa:bb:cc:dd:ee:ff",
            "AA-BB-CC-DD-EE-01",
            "00:11:22:33:44:55",
        ] {
            assert!(is_mac(ok), "{ok}");
        }
        for bad in [
            "aa:bb:cc:dd:ee",
            "aa:bb:cc:dd:ee:ff:00",
            "aabbccddeeff",
            "ga:bb:cc:dd:ee:ff",
            "a:bb:cc:dd:ee:fff",
            "",
        ] {
            assert!(!is_mac(bad), "{bad}");
        }
    }
}
