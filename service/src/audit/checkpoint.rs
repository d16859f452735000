//! Signed checkpoints of the hash chains, kept outside the database.
//!
//! A hash chain shows that records were changed, removed or reordered — unless whoever owns
//! the database rewrites a suffix and recomputes its hashes and the head: then the chain is
//! consistent again. A checkpoint anchors the chains outside the database: the heads' sequence
//! numbers and hashes (decisions, officer actions, outcomes), signed with an Ed25519 key read from a file named in the configuration
//! (never stored in the database), written as a small JSON file to a directory elsewhere (a
//! write-once bucket, another host). `audit verify --checkpoints DIR` checks every checkpoint's
//! signature against this deployment's key and that the chain still holds the hash each one
//! recorded: a rewritten suffix — even with recomputed hashes — fails at the first checkpoint
//! it covers, and a checkpoint signed by any other key is refused.

use std::path::{Path, PathBuf};

use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use crate::audit::records::RECORD_CHAINS;
use crate::audit::{self, Actor, AuditEvent, Outcome};
use crate::entity::{decision, record_link};
use crate::error::{ServiceError, ServiceResult};
use crate::scoring::chain::{chain_start, head_of, DECISIONS_CHAIN, GENESIS};
use crate::{RequestMeta, Services};

/// The format of checkpoint files and of the bytes their signature covers.
const FORMAT: u32 = 1;

/// The Ed25519 key that signs checkpoints: a file holding the 32-byte seed in hex.
pub struct CheckpointKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckpointKey({})", self.public_key_hex())
    }
}

fn key_error(path: &Path, why: impl std::fmt::Display) -> ServiceError {
    ServiceError::invalid("checkpoint key", format!("{}: {why}", path.display()))
}

impl CheckpointKey {
    /// Reads a key file (64 hex digits: the Ed25519 seed).
    pub fn load(path: &Path) -> ServiceResult<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| key_error(path, e))?;
        let seed = hex::decode(text.trim()).map_err(|e| key_error(path, e))?;
        Self::from_seed(&seed).map_err(|e| key_error(path, e))
    }

    fn from_seed(seed: &[u8]) -> Result<Self, String> {
        if seed.len() != 32 {
            return Err(format!(
                "holds {} bytes, not a 32-byte Ed25519 seed",
                seed.len()
            ));
        }
        Ed25519KeyPair::from_seed_unchecked(seed)
            .map(|pair| Self { pair })
            .map_err(|e| format!("not an Ed25519 seed: {e}"))
    }

    /// Makes a new key and writes its seed to `path` (readable by the owner only); refuses to
    /// overwrite an existing file.
    pub fn generate(path: &Path) -> ServiceResult<Self> {
        use rand::RngCore;
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let key = Self::from_seed(&seed).map_err(|e| key_error(path, e))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| key_error(path, e))?;
        std::io::Write::write_all(&mut file, format!("{}\n", hex::encode(seed)).as_bytes())
            .map_err(|e| key_error(path, e))?;
        Ok(key)
    }

    pub fn public_key_hex(&self) -> String {
        hex::encode(self.pair.public_key().as_ref())
    }
}

/// A chain's head: its last link's sequence number and hash (0 and the genesis hash when the
/// chain is empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    pub chain: String,
    pub seq: i64,
    pub hash: String,
}

/// One signed checkpoint: the heads of the decisions', officer actions' and outcomes' chains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub format: u32,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub heads: Vec<Head>,
    /// The signer's Ed25519 public key (hex).
    pub public_key: String,
    /// Ed25519 signature (hex) of [`Checkpoint::signed_bytes`].
    pub signature: String,
}

impl Checkpoint {
    /// What the signature covers: the format, the time and every head, one per line.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut text = format!(
            "lendscope-checkpoint/{}\n{}\n",
            self.format, self.created_at
        );
        for h in &self.heads {
            text.push_str(&format!("{} {} {}\n", h.chain, h.seq, h.hash));
        }
        text.into_bytes()
    }

    /// Whether `public_key` (raw 32 bytes) signed this checkpoint.
    pub fn signed_by(&self, public_key: &[u8]) -> bool {
        hex::decode(&self.signature).is_ok_and(|sig| {
            UnparsedPublicKey::new(&ED25519, public_key)
                .verify(&self.signed_bytes(), &sig)
                .is_ok()
        })
    }

    /// The head of `chain` in this checkpoint.
    pub fn head(&self, chain: &str) -> Option<&Head> {
        self.heads.iter().find(|h| h.chain == chain)
    }
}

/// The result of checking a directory of checkpoints against the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointReport {
    /// Checkpoints whose signature and hash were checked.
    pub checked: usize,
    /// Checkpoints older than the retention anchor (their records were purged).
    pub purged: usize,
    /// The first failing checkpoint file and what is wrong, if any.
    pub broken: Option<(String, String)>,
}

impl Services {
    /// The heads of the decisions', officer actions' and outcomes' chains, in that order.
    pub async fn chain_heads(&self) -> ServiceResult<Vec<Head>> {
        let mut heads = Vec::with_capacity(1 + RECORD_CHAINS.len());
        for chain in std::iter::once(DECISIONS_CHAIN).chain(RECORD_CHAINS) {
            let (seq, hash) = head_of(self.db(), chain).await?;
            heads.push(Head {
                chain: chain.to_owned(),
                seq,
                hash,
            });
        }
        Ok(heads)
    }

    /// Signs the chains' current heads with `key` and writes the checkpoint to `dir`
    /// (created if missing) as `checkpoint-<decisions' seq>-<time>.json`. Audited.
    pub async fn write_checkpoint(
        &self,
        key: &CheckpointKey,
        dir: &Path,
    ) -> ServiceResult<(Checkpoint, PathBuf)> {
        let heads = self.chain_heads().await?;
        let seq = heads.first().map_or(0, |h| h.seq);
        let now = self.now();
        let mut checkpoint = Checkpoint {
            format: FORMAT,
            created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            heads,
            public_key: key.public_key_hex(),
            signature: String::new(),
        };
        checkpoint.signature = hex::encode(key.pair.sign(&checkpoint.signed_bytes()).as_ref());
        let io = |e: std::io::Error| {
            ServiceError::Internal(format!("writing a checkpoint to {}: {e}", dir.display()))
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let name = format!(
            "checkpoint-{seq:012}-{}.json",
            now.format("%Y%m%dT%H%M%S%6fZ")
        );
        let path = dir.join(&name);
        let text = serde_json::to_string_pretty(&checkpoint)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        // Written under a temporary name and renamed: a reader never sees half a file.
        let partial = dir.join(format!(".{name}.partial"));
        std::fs::write(&partial, text).map_err(io)?;
        std::fs::rename(&partial, &path).map_err(io)?;
        audit::append(
            self.db(),
            now,
            &RequestMeta::default(),
            AuditEvent::new(Actor::System, "audit.checkpoint", Outcome::Success)
                .target(name)
                .detail(serde_json::json!({
                    "heads": checkpoint.heads,
                    "public_key": checkpoint.public_key,
                })),
        )
        .await?;
        Ok((checkpoint, path))
    }

    /// Checks every checkpoint in `dir` (files ending in `.json`, in name order): signed by
    /// `public_key` (raw 32 bytes), and each chain still holds the hash the checkpoint recorded
    /// at its sequence number. Stops at the first failure.
    pub async fn verify_checkpoints(
        &self,
        dir: &Path,
        public_key: &[u8],
    ) -> ServiceResult<CheckpointReport> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| ServiceError::invalid("checkpoints", format!("{}: {e}", dir.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "json")
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        files.sort();
        let (first_kept, anchor_hash) = chain_start(self.db()).await?;
        let mut report = CheckpointReport {
            checked: 0,
            purged: 0,
            broken: None,
        };
        for path in files {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match self
                .check_one(&path, public_key, first_kept, &anchor_hash)
                .await?
            {
                Check::Holds => report.checked += 1,
                Check::Purged => report.purged += 1,
                Check::Broken(why) => {
                    report.broken = Some((name, why));
                    return Ok(report);
                }
            }
        }
        Ok(report)
    }

    async fn check_one(
        &self,
        path: &Path,
        public_key: &[u8],
        first_kept: i64,
        anchor_hash: &str,
    ) -> ServiceResult<Check> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return Ok(Check::Broken(format!("cannot be read: {e}"))),
        };
        let c: Checkpoint = match serde_json::from_str(&text) {
            Ok(c) => c,
            Err(e) => return Ok(Check::Broken(format!("is not a checkpoint: {e}"))),
        };
        if c.format != FORMAT || c.head(DECISIONS_CHAIN).is_none() {
            return Ok(Check::Broken(format!(
                "is a format {} checkpoint without the decisions' head",
                c.format
            )));
        }
        if !c.signed_by(public_key) {
            return Ok(Check::Broken(format!(
                "is not signed by this deployment's checkpoint key (it names key {})",
                c.public_key
            )));
        }
        let mut purged = false;
        for h in &c.heads {
            let held = if h.seq == 0 {
                Some(GENESIS.to_owned())
            } else if h.chain == DECISIONS_CHAIN {
                if h.seq == first_kept - 1 {
                    // The last purged link: the retention anchor holds its hash.
                    Some(anchor_hash.to_owned())
                } else if h.seq < first_kept {
                    purged = true;
                    continue;
                } else {
                    decision::Entity::find()
                        .filter(decision::Column::Seq.eq(h.seq))
                        .one(self.db())
                        .await?
                        .map(|d| d.hash)
                }
            } else {
                // Record links outlive purges: every link a checkpoint names must be there.
                record_link::Entity::find()
                    .filter(record_link::Column::Chain.eq(h.chain.as_str()))
                    .filter(record_link::Column::Seq.eq(h.seq))
                    .one(self.db())
                    .await?
                    .map(|l| l.hash)
            };
            match held {
                None => {
                    return Ok(Check::Broken(format!(
                        "records link {} of the {} chain ({}), which the chain no longer holds",
                        h.seq, h.chain, c.created_at
                    )))
                }
                Some(held) if held != h.hash => {
                    return Ok(Check::Broken(format!(
                        "records link {} of the {} chain with hash {} at {}; the chain now \
                         holds {held}: the records up to it were rewritten",
                        h.seq, h.chain, h.hash, c.created_at
                    )))
                }
                Some(_) => {}
            }
        }
        Ok(if purged { Check::Purged } else { Check::Holds })
    }
}

enum Check {
    Holds,
    Purged,
    Broken(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_every_field_and_only_the_signer_verifies() {
        let key = CheckpointKey::from_seed(&[7u8; 32]).unwrap();
        let other = CheckpointKey::from_seed(&[8u8; 32]).unwrap();
        let mut c = Checkpoint {
            format: FORMAT,
            created_at: "2026-12-01T00:00:00.000000Z".into(),
            heads: vec![
                Head {
                    chain: DECISIONS_CHAIN.into(),
                    seq: 12,
                    hash: "ab".repeat(32),
                },
                Head {
                    chain: "outcomes".into(),
                    seq: 3,
                    hash: "ef".repeat(32),
                },
            ],
            public_key: key.public_key_hex(),
            signature: String::new(),
        };
        c.signature = hex::encode(key.pair.sign(&c.signed_bytes()).as_ref());
        let public = key.pair.public_key().as_ref().to_vec();
        assert!(c.signed_by(&public));
        assert!(!c.signed_by(other.pair.public_key().as_ref()));
        let mut later = c.clone();
        later.heads[0].seq = 13;
        let mut rehashed = c.clone();
        rehashed.heads[1].hash = "cd".repeat(32);
        let mut fewer = c.clone();
        fewer.heads.pop();
        for tampered in [
            later,
            rehashed,
            fewer,
            Checkpoint {
                created_at: "2026-12-02T00:00:00.000000Z".into(),
                ..c.clone()
            },
            Checkpoint {
                signature: "00".repeat(64),
                ..c
            },
        ] {
            assert!(!tampered.signed_by(&public), "{tampered:?}");
        }
        assert!(CheckpointKey::from_seed(&[1u8; 31]).is_err());
    }
}
