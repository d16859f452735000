//! Staff identities: user names and passwords as validated values.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::FieldError;

/// A staff user name: 3–64 characters of lowercase letters, digits, `.`, `_` and `-`,
/// starting with a letter or digit. Input is trimmed and lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub const MIN_LEN: usize = 3;
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim().to_lowercase();
        let err = |m: &str| Err(FieldError::new("username", m));
        if name.chars().count() < Self::MIN_LEN {
            return err("must be at least 3 characters");
        }
        if name.chars().count() > Self::MAX_LEN {
            return err("must be at most 64 characters");
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        {
            return err("may contain only letters, digits, '.', '_' and '-'");
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return err("must start with a letter or digit");
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password chosen for a new account: 12 to 256 characters (OWASP: at least 8, 15
/// recommended, at least 64 allowed), not only white space. Deliberately neither `Serialize`
/// nor `Display`, and its `Debug` is redacted, so it cannot leak into logs or responses.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_LEN: usize = 12;
    pub const MAX_LEN: usize = 256;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let len = raw.chars().count();
        let err = |m: String| Err(FieldError::new("password", m));
        if len < Self::MIN_LEN {
            return err(format!("must be at least {} characters", Self::MIN_LEN));
        }
        if len > Self::MAX_LEN {
            return err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        if raw.trim().is_empty() {
            return err("must not be only white space".to_owned());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised() {
        assert_eq!(Username::parse("  Alice.B ").unwrap().as_str(), "alice.b");
    }

    #[test]
    fn bad_usernames_name_the_field() {
        for bad in ["", "ab", "-lead", "has space", "ünï", &"x".repeat(65)] {
            let err = Username::parse(bad).unwrap_err();
            assert_eq!(err.field, "username", "{bad}");
        }
    }

    #[test]
    fn passwords_have_bounds_and_never_print() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse(&" ".repeat(20)).is_err());
        assert!(NewPassword::parse(&"y".repeat(257)).is_err());
        let p = NewPassword::parse("correct horse battery").unwrap();
        assert_eq!(format!("{p:?}"), "NewPassword(<redacted>)");
        assert_eq!(p.expose(), "correct horse battery");
    }
}
