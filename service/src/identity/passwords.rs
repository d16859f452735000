//! Password hashing: Argon2id with OWASP's minimum parameters (m = 19456 KiB, t = 2, p = 1).
//! Hashes are PHC strings, so each records its own parameters; weaker ones are re-hashed at the
//! next successful sign-in.

use std::sync::{Arc, OnceLock};

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

/// Runs password work (hashing, verification) on blocking threads, at most `slots` at once.
/// Each Argon2id check takes 19 MiB and a core for tens of milliseconds by design; without a
/// bound, a burst of sign-in attempts would allocate memory without limit and starve the rest
/// of the server. Callers past the bound wait (their request's time-out still applies).
#[derive(Debug, Clone)]
pub struct PasswordPool {
    slots: Arc<tokio::sync::Semaphore>,
}

impl PasswordPool {
    pub fn new(slots: usize) -> Self {
        Self {
            slots: Arc::new(tokio::sync::Semaphore::new(slots.max(1))),
        }
    }

    /// One slot per core.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get))
    }

    /// Runs `f` on a blocking thread once a slot is free. The slot is held by the work itself,
    /// so a caller that gives up early does not free it while the work still runs.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> ServiceResult<T> {
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ServiceError::Internal(format!("password pool closed: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let result = f();
            drop(permit);
            result
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("password task failed: {e}")))
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
mod pool_tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::PasswordPool;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_slots_run_at_once() {
        let pool = PasswordPool::new(3);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    pool.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        running.fetch_sub(1, Ordering::SeqCst);
                        i
                    })
                    .await
                })
            })
            .collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap().unwrap();
        }
        assert_eq!(sum, (0..40).sum::<i32>(), "every task ran once");
        assert_eq!(
            most.load(Ordering::SeqCst),
            3,
            "bounded, and the bound was used"
        );
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_does_not_free_the_slot_early() {
        let pool = PasswordPool::new(1);
        let running = Arc::new(AtomicUsize::new(0));
        let r = running.clone();
        let slow = pool.run(move || {
            r.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(200));
            r.fetch_sub(1, Ordering::SeqCst);
        });
        // The first caller times out while its work still runs.
        let _ = tokio::time::timeout(std::time::Duration::from_millis(50), slow).await;
        let r = running.clone();
        let seen = pool.run(move || r.load(Ordering::SeqCst)).await.unwrap();
        assert_eq!(
            seen, 0,
            "the second check started only after the first finished"
        );
    }
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
