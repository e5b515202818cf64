//! `kith reindex`: rebuilds this server's search index (`<data dir>/search`) from storage —
//! every post, product, community and person — and records the outbox position it is
//! current to, so a server started afterwards applies only what came later. The server
//! using that directory must be stopped (the index allows one writer; a running server
//! answers with "lock" in the error). With PostgreSQL, run it on each server's data
//! directory: every server keeps its own index.

use std::sync::Arc;

use crate::Settings;

/// Rebuilds the index; returns how many documents it holds.
pub async fn reindex(settings: &Settings) -> anyhow::Result<u64> {
    let app = crate::open_app(settings, Arc::new(kith_domain::SystemClock)).await?;
    let dir = settings.db.data_dir.join("search");
    let index = kith_app::discovery::search::open_index(&dir).map_err(|e| {
        anyhow::anyhow!(
            "{e} (is a kith server using {}? stop it first)",
            dir.display()
        )
    })?;
    let n = kith_app::discovery::search::rebuild(&app, index).await?;
    Ok(n)
}
