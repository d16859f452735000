//! Strict JSON reading (every error named by its field's path) and the check of a parsed
//! body against the feature set's inputs.

use lendscope_model::features::{INPUTS, PROTECTED};

use super::fields::Field;
use super::{path_of, ApplicationBody, ApplicationInput, InputValue};
use crate::error::{ServiceError, ServiceResult};

pub(super) fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::invalid(field, message)
}

/// The path of the first JSON array in `v`, if any.
fn first_array(v: &serde_json::Value, path: &str) -> Option<String> {
    match v {
        serde_json::Value::Array(_) => Some(if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }),
        serde_json::Value::Object(m) => m.iter().find_map(|(k, v)| {
            first_array(
                v,
                &if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                },
            )
        }),
        _ => None,
    }
}

/// Deserialises a JSON text into `T`, naming the offending field of any error by its path
/// (`loan.amount`, or `body` for the document as a whole). The request bodies have no list
/// anywhere, so an array is refused where serde would read it as a struct's fields in order.
pub fn strict_json<T: serde::de::DeserializeOwned>(text: &str) -> ServiceResult<T> {
    if text.contains('[') {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            if let Some(path) = first_array(&v, "") {
                return Err(invalid(
                    &path,
                    "must be a JSON object or value, not an array",
                ));
            }
        }
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(path_error)
}

/// Deserialises a JSON value built in memory (the web form builds one) into `T`, with the
/// same checks and error paths as [`strict_json`].
pub fn strict_value<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> ServiceResult<T> {
    if let Some(path) = first_array(&v, "") {
        return Err(invalid(
            &path,
            "must be a JSON object or value, not an array",
        ));
    }
    serde_path_to_error::deserialize(v).map_err(path_error)
}

/// A deserialisation error named by its field's path.
fn path_error(e: serde_path_to_error::Error<serde_json::Error>) -> ServiceError {
    let path = e.path().to_string();
    let message = e.into_inner().to_string();
    let root = path == "." || path.is_empty();
    // serde names a missing field in the message; put it into the path.
    let field = match message.split('`').nth(1) {
        Some(name) if message.starts_with("missing field") && root => name.to_owned(),
        Some(name) if message.starts_with("missing field") => format!("{path}.{name}"),
        _ if root => "body".to_owned(),
        _ => path,
    };
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_owned();
    invalid(&field, message)
}

pub(super) fn validate(body: ApplicationBody) -> ServiceResult<ApplicationInput> {
    let id = body.applicant.id.as_str();
    if id.is_empty() || id.len() > 128 {
        return Err(invalid("applicant.id", "must be 1 to 128 characters"));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    {
        return Err(invalid(
            "applicant.id",
            "may contain only letters, digits, '-', '_', '.' and ':'",
        ));
    }
    let mut values = Vec::with_capacity(INPUTS.len());
    for input in INPUTS {
        let path = path_of(input.name);
        let field = body.lookup(input.name).ok_or_else(|| {
            ServiceError::Internal(format!("no request field for {}", input.name))
        })?;
        let value = match (field, input.categories) {
            (Field::Text(t), Some(categories)) => {
                let known = categories.iter().find(|c| **c == t).ok_or_else(|| {
                    invalid(
                        path,
                        format!("'{t}' is not one of {}", categories.join(", ")),
                    )
                })?;
                InputValue::Category(known)
            }
            (Field::Number(x), None) => {
                if x < input.min || x > input.max {
                    return Err(invalid(
                        path,
                        format!("must be between {} and {}", input.min, input.max),
                    ));
                }
                if input.integer && x.fract() != 0.0 {
                    return Err(invalid(path, "must be a whole number"));
                }
                InputValue::Number(x)
            }
            (Field::Absent, None) if input.optional => InputValue::Missing,
            (Field::Absent, _) => return Err(invalid(path, "is required")),
            _ => {
                return Err(ServiceError::Internal(format!(
                    "type mismatch for {}",
                    input.name
                )))
            }
        };
        values.push(value);
    }
    if let Some(p) = &body.protected {
        for ((name, allowed), given) in PROTECTED.iter().zip([&p.gender, &p.age_band]) {
            if let Some(v) = given {
                if !allowed.contains(&v.as_str()) {
                    return Err(invalid(
                        &format!("protected.{name}"),
                        format!("'{v}' is not one of {}", allowed.join(", ")),
                    ));
                }
            }
        }
    }
    Ok(ApplicationInput {
        applicant_id: id.to_owned(),
        values,
        protected: body.protected.clone().unwrap_or_default(),
        body,
    })
}
