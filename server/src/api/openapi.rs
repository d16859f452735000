//! The OpenAPI 3 document of the JSON API, at `/api/openapi.json`. The application schema is
//! generated from the feature set (ranges, enums, optional fields), the same definition the
//! request parser validates against.

use std::sync::OnceLock;

use axum::Json;
use lendscope_model::features::{input, PROTECTED};
use lendscope_service::scoring::request::{FIELD_PATHS, MAX_BODY_BYTES};
use serde_json::{json, Map, Value};

pub async fn document() -> Json<Value> {
    static SPEC: OnceLock<Value> = OnceLock::new();
    Json(SPEC.get_or_init(spec).clone())
}

fn object(properties: Map<String, Value>, required: Vec<String>) -> Value {
    json!({ "type": "object", "additionalProperties": false, "properties": properties, "required": required })
}

/// The application request schema, from the feature set.
fn application_schema() -> Value {
    // Group the fields by their parent path.
    let mut tree: Map<String, Value> = Map::new();
    fn insert(node: &mut Map<String, Value>, path: &[&str], schema: Value, required: bool) {
        if path.len() == 1 {
            node.insert(
                path[0].to_owned(),
                json!({ "schema": schema, "required": required }),
            );
            return;
        }
        let child = node
            .entry(path[0].to_owned())
            .or_insert_with(|| json!({ "children": {} }));
        if let Some(children) = child.get_mut("children").and_then(Value::as_object_mut) {
            insert(children, &path[1..], schema, required);
        }
    }
    insert(
        &mut tree,
        &["applicant", "id"],
        json!({ "type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$", "description": "The lender's applicant id; routing is sticky by it" }),
        true,
    );
    for (column, path) in FIELD_PATHS {
        let Some(def) = input(column) else { continue };
        let schema = match (def.categories, *column) {
            (Some(c), _) => json!({ "type": "string", "enum": c, "description": def.label }),
            (None, "income_verified") => json!({ "type": "boolean", "description": def.label }),
            (None, _) => {
                let mut s = json!({ "type": "number", "minimum": def.min, "maximum": def.max, "description": def.label });
                if def.min <= 0.0 && *column == "loan_amount" {
                    s["exclusiveMinimum"] = json!(0);
                }
                if def.integer {
                    s["multipleOf"] = json!(1);
                }
                if def.optional {
                    s["nullable"] = json!(true);
                }
                s
            }
        };
        let parts: Vec<&str> = path.split('.').collect();
        insert(&mut tree, &parts, schema, !def.optional);
    }
    fn build(node: &Map<String, Value>) -> Value {
        let mut props = Map::new();
        let mut required = Vec::new();
        for (name, entry) in node {
            if let Some(children) = entry.get("children").and_then(Value::as_object) {
                props.insert(name.clone(), build(children));
                // An object group is required when any of its fields is.
                let needed = children.values().any(|c| {
                    c.get("required") == Some(&json!(true)) || c.get("children").is_some()
                });
                if needed && !matches!(name.as_str(), "digital" | "banking") {
                    required.push(name.clone());
                }
            } else {
                props.insert(name.clone(), entry["schema"].clone());
                if entry["required"] == json!(true) {
                    required.push(name.clone());
                }
            }
        }
        object(props, required)
    }
    let mut schema = build(&tree);
    let protected: Map<String, Value> = PROTECTED
        .iter()
        .map(|(name, values)| {
            ((*name).to_owned(), {
                // `nullable` does not extend an `enum`: null is listed too.
                let mut options: Vec<Value> = values.iter().map(|v| json!(v)).collect();
                options.push(Value::Null);
                json!({ "type": "string", "nullable": true, "enum": options })
            })
        })
        .collect();
    schema["properties"]["protected"] = json!({
        "type": "object", "nullable": true, "additionalProperties": false, "properties": protected,
        "description": "Protected attributes, kept for fairness monitoring only; never scored (null or absent: none given)"
    });
    schema
}

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn spec() -> Value {
    let errors = |codes: &[(&str, &str)]| -> Map<String, Value> {
        codes
            .iter()
            .map(|(c, d)| ((*c).to_owned(), error_response(d)))
            .collect()
    };
    let id_param = json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } });
    let mut create_responses = errors(&[
        ("401", "Missing or unknown API key"),
        (
            "409",
            "A request with this Idempotency-Key is being processed",
        ),
        ("413", "Body larger than 64 KiB"),
        ("415", "Body is not application/json"),
        ("422", "Invalid application; `field` names the problem"),
        (
            "503",
            "Temporarily unavailable (no champion model, database unreachable); retry later",
        ),
    ]);
    let decision = json!({ "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Decision" } } } });
    let mut created = decision.clone();
    created["description"] = json!("Scored, decided and durably recorded");
    created["headers"] = json!({ "Location": { "schema": { "type": "string" } } });
    let mut replayed = decision.clone();
    replayed["description"] = json!("The stored response for a repeated Idempotency-Key and body");
    create_responses.insert("201".into(), created);
    create_responses.insert("200".into(), replayed);
    let mut read_responses = errors(&[
        ("401", "Missing or unknown API key"),
        ("404", "No such application for this client"),
        ("503", "Temporarily unavailable"),
    ]);
    let mut view = decision;
    view["description"] = json!("The decision, with its outcome once recorded");
    read_responses.insert("200".into(), view);
    let mut notice_responses = read_responses.clone();
    notice_responses.insert(
        "200".into(),
        json!({ "description": "The applicant notice", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Notice" } } } }),
    );
    let mut outcome_responses = errors(&[
        ("401", "Missing or unknown API key"),
        ("404", "No such application for this client"),
        (
            "409",
            "A different outcome is recorded already, or the application is not an approved loan (the message names why; nothing is stored)",
        ),
        ("413", "Body too large"),
        ("415", "Body is not application/json"),
        ("422", "Invalid outcome; `field` names the problem"),
        ("503", "Temporarily unavailable"),
    ]);
    let outcome_ok = json!({ "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Outcome" } } } });
    let mut o201 = outcome_ok.clone();
    o201["description"] = json!("Recorded");
    let mut o200 = outcome_ok;
    o200["description"] = json!("The same outcome was recorded before");
    outcome_responses.insert("201".into(), o201);
    outcome_responses.insert("200".into(), o200);

    let counteroffer_schema = json!({ "nullable": true, "type": "object",
        "description": "For a request not approved: the largest amount (multiples of $50 below the request, down to $500), then the term (3-36 months) closest to the one asked for, that the model and policy in force approve; re-scored. Null when none is approvable or the request was approved. Absent in decisions made before counteroffers were searched.",
        "required": ["amount", "term_months", "probability_of_default", "score"],
        "properties": {
            "amount": { "type": "number" }, "term_months": { "type": "integer" },
            "probability_of_default": { "type": "number", "minimum": 0, "maximum": 1 },
            "score": { "type": "integer" } } });
    let recourse_schema = json!({ "type": "array", "maxItems": 3,
        "description": "For a request not approved: the smallest change of one actionable input (else of two) that the model and policy would approve, re-scored; favourable direction and plausible range only.",
        "items": { "type": "object", "required": ["changes", "probability_of_default", "statement"], "properties": {
            "changes": { "type": "array", "items": { "type": "object", "required": ["feature", "from", "to"], "properties": {
                "feature": { "type": "string" }, "from": { "type": "number" }, "to": { "type": "number" } } } },
            "probability_of_default": { "type": "number", "minimum": 0, "maximum": 1 },
            "statement": { "type": "string" } } } });
    let offered_schema = json!({ "type": "object", "required": ["amount", "term_months", "text", "decided_by_officer"], "properties": {
        "amount": { "type": "string" }, "term_months": { "type": "integer" },
        "text": { "type": "string" }, "decided_by_officer": { "type": "boolean" } } });
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Lendscope scoring API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Real-time, explained credit decisions for small loans from alternative data."
        },
        "servers": [{ "url": "/" }],
        "components": {
            "securitySchemes": { "apiKey": { "type": "http", "scheme": "bearer", "description": "An API key from `lendscope apikey create`" } },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": { "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": { "type": "string" },
                            "message": { "type": "string" },
                            "field": { "type": "string" }
                        }
                    } }
                },
                "Application": application_schema(),
                "Reason": {
                    "type": "object",
                    "required": ["code", "feature", "text", "contribution"],
                    "properties": {
                        "code": { "type": "string" }, "feature": { "type": "string" },
                        "text": { "type": "string" }, "contribution": { "type": "number" }
                    }
                },
                "Decision": {
                    "type": "object",
                    "required": ["application_id", "created_at", "decision", "probability_of_default", "score", "risk_band", "model", "policy", "reasons", "explanation", "notice_url"],
                    "properties": {
                        "application_id": { "type": "string", "format": "uuid" },
                        "created_at": { "type": "string", "format": "date-time" },
                        "decision": { "type": "string", "enum": ["approve", "manual_review", "reject"] },
                        "probability_of_default": { "type": "number", "minimum": 0, "maximum": 1 },
                        "score": { "type": "integer" },
                        "risk_band": { "type": "string" },
                        "model": { "type": "object", "required": ["name", "version", "role"], "properties": {
                            "name": { "type": "string" }, "version": { "type": "integer" },
                            "role": { "type": "string", "enum": ["champion", "challenger"] } } },
                        "policy": { "type": "object", "required": ["version", "rule"], "properties": {
                            "version": { "type": "string" }, "rule": { "type": "string" } } },
                        "reasons": { "type": "array", "maxItems": 4, "items": { "$ref": "#/components/schemas/Reason" } },
                        "explanation": { "type": "object", "required": ["base_value", "contributions", "margin"], "properties": {
                            "base_value": { "type": "number" },
                            "contributions": { "type": "object", "additionalProperties": { "type": "number" } },
                            "margin": { "type": "number" } } },
                        "notice_url": { "type": "string" },
                        "counteroffer": counteroffer_schema,
                        "recourse": recourse_schema,
                        "outcome": { "nullable": true, "type": "object", "properties": {
                            "outcome": { "type": "string", "enum": ["repaid", "defaulted"] },
                            "observed_at": { "type": "string", "format": "date-time" } } }
                    }
                },
                "Notice": {
                    "type": "object",
                    "required": ["application_id", "decided_at", "decision", "headline", "reasons", "next_steps", "notice_url"],
                    "properties": {
                        "application_id": { "type": "string" }, "decided_at": { "type": "string" },
                        "decision": { "type": "string", "enum": ["approve", "manual_review", "reject"] },
                        "creditor": { "type": "string" },
                        "headline": { "type": "string" },
                        "counteroffer": offered_schema,
                        "reasons": { "type": "array", "maxItems": 4, "items": { "type": "string" } },
                        "recourse": { "type": "array", "items": { "type": "string" } },
                        "recourse_disclaimer": { "type": "string" },
                        "next_steps": { "type": "array", "items": { "type": "string" } },
                        "ecoa_statement": { "type": "string", "nullable": true },
                        "notice_url": { "type": "string" }
                    }
                },
                "OutcomeRequest": {
                    "type": "object", "additionalProperties": false, "required": ["outcome", "observed_at"],
                    "properties": {
                        "outcome": { "type": "string", "enum": ["repaid", "defaulted"] },
                        "observed_at": { "type": "string", "format": "date-time" }
                    }
                },
                "Outcome": {
                    "type": "object", "required": ["application_id", "outcome", "observed_at", "recorded_at"],
                    "properties": {
                        "application_id": { "type": "string" },
                        "outcome": { "type": "string", "enum": ["repaid", "defaulted"] },
                        "observed_at": { "type": "string", "format": "date-time" },
                        "recorded_at": { "type": "string", "format": "date-time" }
                    }
                }
            }
        },
        "paths": {
            "/api/v1/applications": { "post": {
                "summary": "Score an application and decide",
                "security": [{ "apiKey": [] }],
                "parameters": [{ "name": "Idempotency-Key", "in": "header", "required": false,
                    "schema": { "type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$" } }],
                "requestBody": { "required": true, "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/Application" } } },
                    "description": format!("At most {MAX_BODY_BYTES} bytes") },
                "responses": create_responses
            } },
            "/api/v1/applications/{id}": { "get": {
                "summary": "Read a decision", "security": [{ "apiKey": [] }],
                "parameters": [id_param], "responses": read_responses
            } },
            "/api/v1/applications/{id}/notice": { "get": {
                "summary": "The applicant notice and its public link", "security": [{ "apiKey": [] }],
                "parameters": [id_param], "responses": notice_responses
            } },
            "/api/v1/applications/{id}/outcome": { "post": {
                "summary": "Record the loan's outcome (the label)", "security": [{ "apiKey": [] }],
                "parameters": [id_param],
                "requestBody": { "required": true, "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/OutcomeRequest" } } } },
                "responses": outcome_responses
            } },
            "/api/v1/whoami": { "get": {
                "summary": "The client an API key belongs to", "security": [{ "apiKey": [] }],
                "responses": {
                    "200": { "description": "The client", "content": { "application/json": { "schema": {
                        "type": "object", "required": ["client", "kind"],
                        "properties": { "client": { "type": "string" }, "kind": { "type": "string" } } } } } },
                    "401": error_response("Missing or unknown API key")
                }
            } },
            "/health/live": { "get": { "summary": "Liveness", "responses": {
                "200": { "description": "Serving", "content": { "application/json": { "schema": { "type": "object" } } } } } } },
            "/health/ready": { "get": { "summary": "Readiness: database reachable, migrations applied", "responses": {
                "200": { "description": "Ready", "content": { "application/json": { "schema": { "type": "object" } } } },
                "503": { "description": "Not ready", "content": { "application/json": { "schema": { "type": "object" } } } } } } },
            "/metrics": { "get": { "summary": "Prometheus metrics", "responses": {
                "200": { "description": "Text exposition format", "content": { "text/plain": { "schema": { "type": "string" } } } } } } }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_application_schema_covers_every_input_and_refuses_extras() {
        let s = application_schema();
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(
            s["properties"]["loan"]["properties"]["purpose"]["enum"]
                .as_array()
                .unwrap()
                .len(),
            8
        );
        let payments = &s["properties"]["alternative_data"]["properties"]["payments"];
        assert_eq!(payments["properties"]["rent_on_time_ratio"]["maximum"], 1.0);
        assert!(payments["required"]
            .as_array()
            .unwrap()
            .contains(&json!("late_payments_12m")));
        assert!(!payments["required"]
            .as_array()
            .unwrap()
            .contains(&json!("rent_on_time_ratio")));
        let text = s.to_string();
        for (column, path) in FIELD_PATHS {
            let leaf = path.rsplit('.').next().unwrap();
            assert!(text.contains(&format!("\"{leaf}\"")), "{column}");
        }
        let required = s["required"].as_array().unwrap();
        assert!(required.contains(&json!("applicant")) && required.contains(&json!("loan")));
    }
}
