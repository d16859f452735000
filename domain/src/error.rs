//! The error body clients see: of every server function and of the JSON API. It crosses the
//! wire as JSON, so the browser sees exactly what the server decided; internal causes are
//! replaced by a reference id. (With the `server-fn` feature it is also Leptos's server
//! function error type.)

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum AppError {
    #[error("Please sign in to continue.")]
    Unauthenticated,
    #[error("You do not have access to this.")]
    Forbidden,
    #[error("Invalid user name or password.")]
    InvalidCredentials,
    #[error("Too many attempts. Try again in {retry_after_secs} seconds.")]
    Throttled { retry_after_secs: u64 },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{message}")]
    Conflict { message: String },
    #[error("Not found.")]
    NotFound,
    #[error("The request could not be understood: {message}")]
    BadRequest { message: String },
    #[error("The request body is larger than {limit} bytes.")]
    PayloadTooLarge { limit: usize },
    #[error("The request must be sent as {expected}.")]
    UnsupportedMediaType { expected: String },
    #[error("Temporarily unavailable: {message}")]
    Unavailable { message: String },
    #[error("Something went wrong on our side (reference {reference}).")]
    Internal { reference: String },
}

impl AppError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => 401,
            AppError::Forbidden => 403,
            AppError::Throttled { .. } => 429,
            AppError::Invalid { .. } => 422,
            AppError::Conflict { .. } => 409,
            AppError::NotFound => 404,
            AppError::BadRequest { .. } => 400,
            AppError::PayloadTooLarge { .. } => 413,
            AppError::UnsupportedMediaType { .. } => 415,
            AppError::Unavailable { .. } => 503,
            AppError::Internal { .. } => 500,
        }
    }

    /// A short stable code, used in URLs when a form is posted without JavaScript.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::Throttled { .. } => "throttled",
            AppError::Invalid { .. } => "invalid",
            AppError::Conflict { .. } => "conflict",
            AppError::NotFound => "not_found",
            AppError::BadRequest { .. } => "bad_request",
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::UnsupportedMediaType { .. } => "unsupported_media_type",
            AppError::Unavailable { .. } => "unavailable",
            AppError::Internal { .. } => "internal",
        }
    }

    /// The generic message for a code found in a URL. Only fixed texts: a crafted link cannot
    /// make the page say something of the attacker's choosing.
    pub fn message_for_code(code: &str, field: Option<&str>) -> Option<String> {
        let field_ok = field
            .filter(|f| f.len() <= 32 && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        Some(match code {
            "unauthenticated" => AppError::Unauthenticated.to_string(),
            "forbidden" => AppError::Forbidden.to_string(),
            "invalid_credentials" => AppError::InvalidCredentials.to_string(),
            "throttled" => "Too many attempts. Try again later.".to_owned(),
            "invalid" => match field_ok {
                Some(f) => format!("Please check the field “{f}”."),
                None => "Please check your input.".to_owned(),
            },
            "conflict" => "That conflicts with existing data.".to_owned(),
            "not_found" => AppError::NotFound.to_string(),
            "bad_request" => "The request could not be understood.".to_owned(),
            "internal" => "Something went wrong on our side.".to_owned(),
            "unavailable" => {
                "The service is temporarily unavailable. Please try again shortly.".to_owned()
            }
            _ => return None,
        })
    }

    /// The error of a server function's arguments that did not deserialize. A typed argument
    /// that names its field in its message (`"action: 'x' is not one of …"`, as the
    /// [`crate::kinds`] vocabularies do) is a 422 naming that field; anything else (a missing
    /// field, a malformed body) is a 400 with serde's message.
    pub fn from_argument_message(message: String) -> Self {
        if let Some((field, rest)) = message.split_once(": ") {
            let is_field = !field.is_empty()
                && field
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if is_field {
                return AppError::Invalid {
                    field: field.to_owned(),
                    message: rest.to_owned(),
                };
            }
        }
        AppError::BadRequest { message }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

#[cfg(feature = "server-fn")]
impl server_fn::error::FromServerFnError for AppError {
    type Encoder = server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: server_fn::error::ServerFnErrorErr) -> Self {
        use server_fn::error::ServerFnErrorErr;
        match value {
            ServerFnErrorErr::Args(m) => AppError::from_argument_message(m),
            ServerFnErrorErr::MissingArg(m) | ServerFnErrorErr::Deserialization(m) => {
                AppError::BadRequest { message: m }
            }
            ServerFnErrorErr::Registration(_) => AppError::NotFound,
            other => AppError::Internal {
                reference: format!("transport: {other}"),
            },
        }
    }
}

impl From<crate::FieldError> for AppError {
    fn from(e: crate::FieldError) -> Self {
        AppError::Invalid {
            field: e.field,
            message: e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_errors_that_name_their_field_are_422s_naming_it() {
        let e: Result<crate::ReviewAction, _> = serde_json::from_str("\"explode\"");
        let message = e.unwrap_err().to_string();
        let AppError::Invalid { field, message } = AppError::from_argument_message(message) else {
            panic!("not an invalid-field error");
        };
        assert_eq!(field, "action");
        assert!(
            message.starts_with("'explode' is not one of claim, release"),
            "{message}"
        );
        assert_eq!(
            AppError::from_argument_message("missing field `csrf`".to_owned()),
            AppError::BadRequest {
                message: "missing field `csrf`".to_owned()
            }
        );
        assert!(matches!(
            AppError::from_argument_message("parsing failed with error: 'x' at position: 3".into()),
            AppError::BadRequest { .. }
        ));
    }

    #[test]
    fn errors_round_trip_as_tagged_json() {
        let e = AppError::Invalid {
            field: "username".into(),
            message: "too short".into(),
        };
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains("\"code\":\"invalid\""), "{json}");
        assert_eq!(serde_json::from_str::<AppError>(&json).unwrap(), e);
        assert_eq!(e.status(), 422);
    }

    #[test]
    fn url_codes_only_produce_fixed_texts() {
        assert_eq!(
            AppError::message_for_code("invalid", Some("<script>")),
            Some("Please check your input.".to_owned())
        );
        assert_eq!(AppError::message_for_code("anything else", None), None);
    }
}
