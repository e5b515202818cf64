//! `Idempotency-Key` support: the first response to a POST with a key is stored and
//! replayed for the same key (within its scope) for 24 h; the same key with a different
//! body is refused. A key whose first request is still running answers 409, so a retry
//! storm cannot run a use case twice.

use super::store::guards;

use crate::{App, AppError, AppResult};

/// Longest key accepted; the common gateway schemes use ≤ 255.
pub const MAX_KEY_LEN: usize = 255;

/// What to do with a request that carries a key.
#[derive(Debug)]
pub enum Begin {
    /// First time: run the request, then call [`App::idempotency_finish`].
    Fresh,
    /// Seen before with the same body: send this stored response.
    Replay {
        status: u16,
        content_type: Option<String>,
        body: Vec<u8>,
    },
}

pub fn validate_key(key: &str) -> AppResult<()> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::invalid(
            "Idempotency-Key",
            format!("must be 1–{MAX_KEY_LEN} visible ASCII characters"),
        ));
    }
    Ok(())
}

impl App {
    /// Claims `key` in `scope` (the caller's account, or the client address when anonymous)
    /// for a request whose method, path and body hash to `request_hash`.
    pub async fn idempotency_begin(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
    ) -> AppResult<Begin> {
        validate_key(key)?;
        let now = self.now_ms();
        let expires = now + self.config.idempotency_ttl_secs * 1000;
        let (scope, key, hash) = (scope.to_owned(), key.to_owned(), request_hash.to_owned());
        self.db
            .write(move |c| {
                guards::drop_expired_key(c, &scope, &key, now)?;
                if guards::claim_key(c, &scope, &key, &hash, now, expires)? {
                    return Ok(Begin::Fresh);
                }
                let r = guards::held_key(c, &scope, &key)?;
                if r.request_hash != hash {
                    return Err(AppError::invalid(
                        "Idempotency-Key",
                        "was already used with a different request",
                    ));
                }
                match r.status {
                    None => Err(AppError::state(
                        "a request with this Idempotency-Key is still in progress",
                    )),
                    Some(status) => Ok(Begin::Replay {
                        status: u16::try_from(status).unwrap_or(500),
                        content_type: r.content_type,
                        body: r.body.unwrap_or_default(),
                    }),
                }
            })
            .await
    }

    /// Stores the response of a fresh request. Server errors are not stored: the key is
    /// released so the client may retry.
    pub async fn idempotency_finish(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        content_type: Option<String>,
        body: Vec<u8>,
    ) -> AppResult<()> {
        let (scope, key) = (scope.to_owned(), key.to_owned());
        self.db
            .write(move |c| {
                if status >= 500 {
                    guards::release_key(c, &scope, &key)?;
                } else {
                    guards::store_response(
                        c,
                        &scope,
                        &key,
                        status,
                        content_type.as_deref(),
                        body.clone(),
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// Removes expired keys; run periodically by the worker.
    pub async fn idempotency_sweep(&self) -> AppResult<u64> {
        let now = self.now_ms();
        self.db.write(move |c| guards::sweep_keys(c, now)).await
    }
}
