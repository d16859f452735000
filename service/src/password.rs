//! Password hashing: Argon2id with OWASP's minimum parameters (m = 19456 KiB, t = 2, p = 1).
//! Hashes are PHC strings, so each records its own parameters; weaker ones are re-hashed at the
//! next successful sign-in.

use std::sync::OnceLock;

use argon2::password_hash::{rand_core::OsRng, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

use crate::error::{ServiceError, ServiceResult};

/// Memory cost in KiB.
pub const MEMORY_KIB: u32 = 19_456;
/// Iterations.
pub const ITERATIONS: u32 = 2;
/// Parallelism.
pub const PARALLELISM: u32 = 1;

fn hasher() -> ServiceResult<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| ServiceError::Internal(format!("argon2 params: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with a fresh random salt. CPU-bound: call from a blocking thread.
pub fn hash(password: &str) -> ServiceResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(format!("argon2 hash: {e}")))
}

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Mismatch,
    Match { needs_rehash: bool },
}

/// Verifies `password` against a PHC string. A malformed stored hash never matches.
pub fn verify(stored: &str, password: &str) -> Verification {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verification::Mismatch;
    };
    // The verifier takes algorithm and parameters from the PHC string itself.
    if Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_err()
    {
        return Verification::Mismatch;
    }
    Verification::Match {
        needs_rehash: is_weaker_than_policy(&parsed),
    }
}

/// Spends the same work as a real verification, for unknown users, so that response time does
/// not reveal whether an account exists.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(stored) = DUMMY.get_or_init(|| hash("lendscope-dummy-password").ok()) {
        let _ = verify(stored, password);
    }
}

fn is_weaker_than_policy(parsed: &PasswordHash<'_>) -> bool {
    if parsed.algorithm.as_str() != "argon2id" {
        return true;
    }
    match Params::try_from(parsed) {
        Ok(p) => p.m_cost() < MEMORY_KIB || p.t_cost() < ITERATIONS || p.p_cost() < PARALLELISM,
        Err(_) => true,
    }
}

/// The parameters recorded in a PHC string: (algorithm, m, t, p). For tests and audits.
pub fn parameters(stored: &str) -> Option<(String, u32, u32, u32)> {
    let parsed = PasswordHash::new(stored).ok()?;
    let params = Params::try_from(&parsed).ok()?;
    Some((
        parsed.algorithm.as_str().to_owned(),
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_use_argon2id_with_owasp_parameters() {
        let h = hash("a long enough secret").unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert_eq!(parameters(&h), Some(("argon2id".into(), 19_456, 2, 1)));
        assert_eq!(
            verify(&h, "a long enough secret"),
            Verification::Match {
                needs_rehash: false
            }
        );
        assert_eq!(verify(&h, "a long enough secreT"), Verification::Mismatch);
    }

    #[test]
    fn weaker_hashes_match_but_ask_for_a_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).unwrap(),
        )
        .hash_password(b"old password", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert_eq!(
            verify(&weak, "old password"),
            Verification::Match { needs_rehash: true }
        );
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::default())
            .hash_password(b"old password", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert_eq!(
            verify(&argon2i, "old password"),
            Verification::Match { needs_rehash: true }
        );
    }

    #[test]
    fn garbage_hashes_never_match() {
        assert_eq!(verify("not a hash", "x"), Verification::Mismatch);
        assert_eq!(verify("", ""), Verification::Mismatch);
    }
}
