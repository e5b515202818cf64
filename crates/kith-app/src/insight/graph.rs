//! The graph snapshot the influence figures run on: rows read in one transaction, the CSR
//! arrays built off the async runtime, cached per window in [`GraphCache`] and swapped whole.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use kith_graph::{Graph, GraphBuilder, NodeId};
use kith_store::Conn;

use crate::{App, AppError, AppResult, rfc3339};

use super::store::{EdgeLists, edge_lists};
use super::*;

/// A platform-wide graph at one moment, for one window length.
#[derive(Debug)]
pub struct Snapshot {
    pub window_days: i64,
    pub built_at_ms: i64,
    /// Account id of each node.
    pub ids: Vec<String>,
    pub index: HashMap<String, NodeId>,
    pub graph: Graph,
    pub edges_by_kind: BTreeMap<String, i64>,
    pub build_ms: i64,
}

impl Snapshot {
    pub fn info(&self) -> SnapshotInfo {
        SnapshotInfo {
            window_days: self.window_days,
            built_at: rfc3339(self.built_at_ms),
            nodes: self.ids.len() as i64,
            edges: self.graph.edge_count() as i64,
            edges_by_kind: self.edges_by_kind.clone(),
            build_ms: self.build_ms,
        }
    }

    pub(super) fn node(&self, id: &str) -> Option<NodeId> {
        self.index.get(id).copied()
    }
}

/// Snapshots by window length, each swapped whole; and which windows are being rebuilt.
#[derive(Debug, Default)]
pub struct GraphCache {
    snapshots: Mutex<HashMap<i64, Arc<Snapshot>>>,
    building: Mutex<HashSet<i64>>,
    /// Serialises builds, so two requests never build the same graph twice at once.
    build_lock: tokio::sync::Mutex<()>,
}

impl GraphCache {
    pub(super) fn get(&self, days: i64) -> Option<Arc<Snapshot>> {
        self.snapshots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&days)
            .cloned()
    }

    fn put(&self, s: Arc<Snapshot>) {
        self.snapshots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(s.window_days, s);
    }
}

impl App {
    /// Builds the snapshot for `window` now and swaps it in: rows in one read, arrays on
    /// the blocking pool. Unless `force`, a snapshot another request built while this one
    /// waited for the build lock is taken instead of building a second.
    async fn build_graph(&self, window: Window, force: bool) -> AppResult<Arc<Snapshot>> {
        let _guard = self.insight.build_lock.lock().await;
        if !force && let Some(s) = self.insight.get(window.days) {
            return Ok(s);
        }
        let now = self.now_ms();
        let since = window.since(now);
        let rows = self.db.read(move |c| load_edge_rows(c, since)).await?;
        let snap = tokio::task::spawn_blocking(move || build_snapshot(rows, window.days, now))
            .await
            .map_err(|e| AppError::Internal(format!("graph build: {e}")))?;
        let snap = Arc::new(snap);
        self.insight.put(snap.clone());
        tracing::debug!(
            window_days = window.days,
            nodes = snap.ids.len(),
            edges = snap.graph.edge_count(),
            build_ms = snap.build_ms,
            "insight graph rebuilt"
        );
        Ok(snap)
    }

    /// The snapshot for `window`: the cached one (a stale one starts a background
    /// rebuild), or a fresh build when there is none.
    pub(super) async fn graph(&self, window: Window) -> AppResult<Arc<Snapshot>> {
        let Some(s) = self.insight.get(window.days) else {
            return self.build_graph(window, false).await;
        };
        if self.now_ms() - s.built_at_ms > SNAPSHOT_MAX_AGE_MS {
            let first = self
                .insight
                .building
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(window.days);
            if first {
                let app = self.clone();
                tokio::spawn(async move {
                    if let Err(e) = app.build_graph(window, true).await {
                        tracing::warn!(error = %e, "insight graph rebuild failed");
                    }
                    app.insight
                        .building
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&window.days);
                });
            }
        }
        Ok(s)
    }
}

// Access

/// One kind of edge: its name, its weight, and `(from, to)` account ids.
pub(super) type EdgeKind = (&'static str, f32, Vec<(String, String)>);

/// The rows a snapshot is built from.
pub(super) struct EdgeRows {
    pub(super) accounts: Vec<String>,
    pub(super) kinds: Vec<EdgeKind>,
}

pub(super) fn load_edge_rows(c: &mut dyn Conn, since: i64) -> AppResult<EdgeRows> {
    let EdgeLists {
        accounts,
        follows,
        likes,
        comments,
        invites,
        visits,
        referred,
    } = edge_lists(c, since)?;
    Ok(EdgeRows {
        accounts,
        kinds: vec![
            ("follow", W_FOLLOW, follows),
            ("like", W_LIKE, likes),
            ("comment", W_COMMENT, comments),
            ("invite", W_INVITE, invites),
            ("share_visit", W_SHARE_VISIT, visits),
            ("referred_purchase", W_REFERRED_PURCHASE, referred),
        ],
    })
}

pub(super) fn build_snapshot(rows: EdgeRows, window_days: i64, built_at_ms: i64) -> Snapshot {
    let started = std::time::Instant::now();
    let mut index = HashMap::with_capacity(rows.accounts.len());
    for (i, id) in rows.accounts.iter().enumerate() {
        index.insert(id.clone(), i as NodeId);
    }
    let total: usize = rows.kinds.iter().map(|k| k.2.len()).sum();
    let mut b = GraphBuilder::with_capacity(rows.accounts.len(), total);
    let mut edges_by_kind = BTreeMap::new();
    for (kind, w, list) in &rows.kinds {
        edges_by_kind.insert((*kind).to_owned(), list.len() as i64);
        for (u, v) in list {
            if let (Some(&u), Some(&v)) = (index.get(u), index.get(v)) {
                b.add_edge(u, v, *w);
            }
        }
    }
    let graph = b.build();
    Snapshot {
        window_days,
        built_at_ms,
        ids: rows.accounts,
        index,
        graph,
        edges_by_kind,
        build_ms: started.elapsed().as_millis() as i64,
    }
}

impl App {
    /// Rebuilds the graph snapshot for `window` now and describes it. Staff of the
    /// merchant (any merchant: the graph is the platform's), or the operator.
    pub async fn refresh_insight_graph(
        &self,
        who: InsightAccess,
        merchant_id: &MerchantId,
        window: Window,
    ) -> AppResult<SnapshotInfo> {
        self.check_insight_access(who, merchant_id, None).await?;
        Ok(self.build_graph(window, true).await?.info())
    }
}
