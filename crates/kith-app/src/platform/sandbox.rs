//! The sandbox gateway's outgoing side: it signs a callback the way a real provider would
//! (`Kith-Signature` with the sandbox secret) and POSTs it to this server's own webhook, so a
//! sandbox payment or payout travels the same authenticated path as a provider's.

use kith_domain::signature;

use crate::{App, AppError, AppResult};

impl App {
    /// POSTs `body` signed with the sandbox secret to `path` on this server's public URL;
    /// the webhook's status and answer.
    pub(crate) async fn sandbox_call(&self, path: &str, body: Vec<u8>) -> AppResult<(u16, String)> {
        let ts = self.now_ms() / 1000;
        let sig = signature::sign(self.config.sandbox_secret.as_bytes(), ts, &body);
        let url = format!("{}{path}", self.config.public_url);
        let res = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/json")
            .header("kith-signature", sig)
            .body(body)
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| AppError::Internal(format!("sandbox could not reach {url}: {e}")))?;
        let status = res.status().as_u16();
        Ok((status, res.text().await.unwrap_or_default()))
    }
}
