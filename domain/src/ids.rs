//! Numbers that arrive in form fields, typed: the registry's version and request ids and the
//! challenger's share. A value that does not parse fails to deserialize with a message naming
//! its field (`"model: 'abc' is not a model id"`, the form of [`crate::kinds::unknown_value`]),
//! which a server function answers as a 422 naming that field.

use serde::{Deserialize, Deserializer, Serialize};

/// What a form (text) or a JSON body (a number) carries.
#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Number(i64),
    Text(String),
}

/// Deserializes a field's value with `parse`, or fails naming `field` and saying `expected`.
fn from_field<'de, D, T>(
    d: D,
    field: &str,
    expected: &str,
    parse: impl FnOnce(i64) -> Option<T>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let (number, shown) = match Raw::deserialize(d)? {
        Raw::Number(n) => (Some(n), n.to_string()),
        Raw::Text(t) => (t.trim().parse::<i64>().ok(), t.chars().take(40).collect()),
    };
    number.and_then(parse).ok_or_else(|| {
        <D::Error as serde::de::Error>::custom(format!("{field}: '{shown}' {expected}"))
    })
}

/// A registered model version's id (form field `model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ModelId(i64);

/// A promotion request's id (form field `request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RequestId(i64);

/// A share of applicants in percent, 0 to 100 (form field `percent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SharePercent(u8);

impl ModelId {
    pub fn new(id: i64) -> Option<Self> {
        (id > 0).then_some(Self(id))
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

impl RequestId {
    pub fn new(id: i64) -> Option<Self> {
        (id > 0).then_some(Self(id))
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

impl SharePercent {
    pub fn new(percent: i64) -> Option<Self> {
        u8::try_from(percent).ok().filter(|p| *p <= 100).map(Self)
    }
    pub fn get(self) -> u8 {
        self.0
    }
}

impl<'de> Deserialize<'de> for ModelId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_field(d, "model", "is not a model id", Self::new)
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_field(d, "request", "is not a request id", Self::new)
    }
}

impl<'de> Deserialize<'de> for SharePercent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_field(
            d,
            "percent",
            "is not a whole number from 0 to 100",
            Self::new,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AppError;

    #[test]
    fn form_numbers_parse_from_text_and_json_and_name_their_field_when_wrong() {
        assert_eq!(serde_json::from_str::<ModelId>("\"12\"").unwrap().get(), 12);
        assert_eq!(serde_json::from_str::<RequestId>("7").unwrap().get(), 7);
        assert_eq!(
            serde_json::from_str::<SharePercent>("\" 100 \"")
                .unwrap()
                .get(),
            100
        );
        for (json, field) in [("\"abc\"", "model"), ("\"0\"", "model"), ("-3", "model")] {
            let e = serde_json::from_str::<ModelId>(json)
                .unwrap_err()
                .to_string();
            assert!(
                matches!(AppError::from_argument_message(e.clone()), AppError::Invalid { field: f, .. } if f == field),
                "{json}: {e}"
            );
        }
        let e = serde_json::from_str::<SharePercent>("\"150\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("percent: '150' is not a whole number from 0 to 100"),
            "{e}"
        );
        let e = serde_json::from_str::<RequestId>("\"\"")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("request: '' is not a request id"), "{e}");
        assert_eq!(serde_json::to_string(&ModelId(5)).unwrap(), "5");
    }
}
