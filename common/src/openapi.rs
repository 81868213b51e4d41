//! The finishing pass every system's OpenAPI document goes through, so all of them are valid
//! OpenAPI 3.1 and say the same things the same way: the `mutualTLS` security scheme, who may
//! call each operation, a description on every response, the Arrowhead error JSON on every error
//! response, and no Rust type names. The derive macros cannot express these across a whole
//! document; one pass over the serialised document can, and the systems only add what is theirs
//! (the caller rule of each operation).

use serde_json::{json, Map, Value};
use utoipa::openapi::OpenApi;

/// Who may call an operation, by HTTP method (lowercase) and path (as documented, with its
/// `{id}` placeholders). `None` leaves the operation without the sentence, which the systems'
/// tests refuse.
pub type CallerRule = fn(&str, &str) -> Option<&'static str>;

/// The description of the `mutualTLS` scheme every operation requires.
const MUTUAL_TLS: &str = "Every call needs a client certificate of this local cloud (`<system>.<cloud>.<operator>.arrowhead.eu`, \
issued by the cloud certificate). The caller is the certificate's system name; management operations need the `sysop` \
certificate. In a browser, import `sysop.p12` as your personal certificate.";

/// The phrase marking the caller rule in an operation's description (tests look for it).
pub const WHO_MAY_CALL: &str = "**Who may call:**";

/// What a response with this status means, for responses documented without a description.
fn default_description(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "204" => "No content",
        "400" => "Invalid request: a field is missing, malformed or refers to nothing (Arrowhead error JSON).",
        "401" => "The caller's certificate may not call this operation (Arrowhead error JSON).",
        "403" => "Forbidden (Arrowhead error JSON).",
        "404" => "Not found (Arrowhead error JSON).",
        "500" => "Unexpected failure, for example of the database (Arrowhead error JSON).",
        "503" => "A system or database this operation needs is not available now (Arrowhead error JSON).",
        s if s.starts_with('4') => "The request was refused (Arrowhead error JSON).",
        s if s.starts_with('5') => "The system failed (Arrowhead error JSON).",
        _ => "Answer",
    }
}

/// Finishes `doc`: `title` (e.g. "Service Registry") names the document and the Swagger page.
pub fn finish(doc: OpenApi, title: &str, who: CallerRule) -> OpenApi {
    let Ok(mut v) = serde_json::to_value(&doc) else {
        return doc;
    };
    finish_value(&mut v, title, who);
    serde_json::from_value(v).unwrap_or(doc)
}

fn finish_value(v: &mut Value, title: &str, who: CallerRule) {
    v["info"]["title"] = json!(format!("Arrowhead {title}"));
    v["security"] = json!([{ "mutualTLS": [] }]);
    let components = object(v, "components");
    object_in(components, "securitySchemes").insert(
        "mutualTLS".into(),
        json!({ "type": "mutualTLS", "description": MUTUAL_TLS }),
    );
    let schemas = object_in(components, "schemas");
    schemas
        .entry("ErrorMessage")
        .or_insert_with(error_message_schema);
    // Maps of text (metadata) are documented as such, not under a Rust type name.
    schemas.remove("BTreeMap");
    let error_ref = json!({ "$ref": "#/components/schemas/ErrorMessage" });
    if let Some(paths) = v.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                let Some(op) = op.as_object_mut() else {
                    continue;
                };
                if let Some(rule) = who(method, path) {
                    let text = match op.get("description").and_then(Value::as_str) {
                        Some(d) if !d.is_empty() => format!("{d}\n\n{WHO_MAY_CALL} {rule}"),
                        _ => format!("{WHO_MAY_CALL} {rule}"),
                    };
                    op.insert("description".into(), json!(text));
                }
                let responses = object_in(op, "responses");
                // Every operation can be refused by the access rules or fail on bad input.
                for status in ["400", "401"] {
                    responses.entry(status).or_insert_with(|| json!({}));
                }
                for (status, resp) in responses.iter_mut() {
                    let Some(resp) = resp.as_object_mut() else {
                        continue;
                    };
                    if resp.contains_key("$ref") {
                        continue;
                    }
                    let described = resp
                        .get("description")
                        .and_then(Value::as_str)
                        .is_some_and(|d| !d.is_empty());
                    if !described {
                        resp.insert("description".into(), json!(default_description(status)));
                    }
                    if status.starts_with('4') || status.starts_with('5') {
                        resp.insert(
                            "content".into(),
                            json!({ "application/json": { "schema": error_ref } }),
                        );
                    }
                }
            }
        }
    }
    replace_rust_maps(v);
}

/// `{"$ref": ".../BTreeMap"}` → an inline map of text values.
fn replace_rust_maps(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.get("$ref").and_then(Value::as_str) == Some("#/components/schemas/BTreeMap") {
                map.remove("$ref");
                map.insert("type".into(), json!("object"));
                map.insert("additionalProperties".into(), json!({ "type": "string" }));
                map.entry("description")
                    .or_insert_with(|| json!("Metadata: free key-value pairs of text."));
                return;
            }
            map.values_mut().for_each(replace_rust_maps);
        }
        Value::Array(items) => items.iter_mut().for_each(replace_rust_maps),
        _ => {}
    }
}

fn error_message_schema() -> Value {
    json!({
        "type": "object",
        "description": "The Arrowhead error JSON (Java `ErrorMessageDTO`).",
        "required": ["errorMessage", "errorCode", "exceptionType"],
        "properties": {
            "errorMessage": { "type": "string" },
            "errorCode": { "type": "integer" },
            "exceptionType": { "type": "string" },
            "origin": { "type": "string" }
        }
    })
}

/// The object under `key` of `v` (created, or replacing a non-object).
fn object<'a>(v: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !v[key].is_object() {
        v[key] = json!({});
    }
    match &mut v[key] {
        Value::Object(m) => m,
        _ => unreachable!("set to an object above"),
    }
}

fn object_in<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let entry = m.entry(key).or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    match entry {
        Value::Object(m) => m,
        _ => unreachable!("set to an object above"),
    }
}

/// What the systems' tests check of their finished document: every operation says who may
/// call it and every response is described. Returns the faults found.
pub fn faults(doc: &OpenApi) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(v) = serde_json::to_value(doc) else {
        return vec!["the document does not serialise".into()];
    };
    let Some(paths) = v.get("paths").and_then(Value::as_object) else {
        return vec!["no paths".into()];
    };
    for (path, item) in paths {
        for (method, op) in item.as_object().into_iter().flatten() {
            let described = op
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !described.contains(WHO_MAY_CALL) {
                out.push(format!("{method} {path}: no caller rule"));
            }
            for (status, resp) in op["responses"].as_object().into_iter().flatten() {
                if resp
                    .get("description")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    out.push(format!("{method} {path} {status}: no description"));
                }
            }
        }
    }
    if v.to_string().contains("BTreeMap") || v.to_string().contains("HashMap") {
        out.push("a Rust type name is in the document".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(method: &str, path: &str) -> Option<&'static str> {
        match (method, path) {
            ("get", "/x/echo") => Some("any system of the cloud."),
            _ => None,
        }
    }

    #[test]
    fn finishes_a_document() {
        let mut v = json!({
            "openapi": "3.1.0",
            "info": { "title": "t", "version": "1" },
            "paths": {
                "/x/echo": { "get": { "responses": { "200": { "content": {} } } } },
                "/x/other": { "post": { "description": "Does it.", "responses": {
                    "500": { "description": "broken" },
                    "200": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/BTreeMap" } } } }
                } } }
            },
            "components": { "schemas": { "BTreeMap": { "type": "object" } } }
        });
        finish_value(&mut v, "Thing", who);
        assert_eq!(v["info"]["title"], "Arrowhead Thing");
        assert_eq!(v["security"], json!([{ "mutualTLS": [] }]));
        assert_eq!(
            v["components"]["securitySchemes"]["mutualTLS"]["type"],
            "mutualTLS"
        );
        let echo = &v["paths"]["/x/echo"]["get"];
        assert_eq!(
            echo["description"],
            "**Who may call:** any system of the cloud."
        );
        assert_eq!(echo["responses"]["200"]["description"], "OK");
        assert_eq!(
            echo["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorMessage"
        );
        let other = &v["paths"]["/x/other"]["post"];
        assert_eq!(other["description"], "Does it.", "no rule, no sentence");
        assert_eq!(other["responses"]["500"]["description"], "broken", "kept");
        let schema = &other["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(schema["type"], "object");
        assert!(v["components"]["schemas"].get("BTreeMap").is_none());
        assert!(v["components"]["schemas"].get("ErrorMessage").is_some());
        let doc: OpenApi = serde_json::from_value(v).unwrap();
        assert_eq!(
            faults(&doc),
            vec!["post /x/other: no caller rule".to_owned()]
        );
    }
}
