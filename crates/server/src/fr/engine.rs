//! The face engine and the photo repository index as the server holds them: loaded lazily on the
//! first use (server start stays fast when the models are absent), one per data directory, rebuilt
//! from the stored templates when the database holds a different number of them (an import by the
//! CLI). A missing model directory is a 503 naming the fix.
//!
//! The database says which algorithm version is active (FR-23, `probity_store::algorithms`), not a
//! constant. The engine and its index are one [`Fr`] snapshot behind an `Arc`: a search takes one
//! snapshot and templates its probe, searches the index and records the version from that same
//! snapshot, so no search mixes versions. When the active version changes (a switch after
//! re-templating, a rollback, or another node's switch seen in the database) the next [`get`]
//! replaces the snapshot at once; searches already running finish on the one they hold.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use probity_face::{
    AlgorithmSpec, FaceEngine, GalleryIndex, RecordId, RepositoryTemplate, SearchMode,
    SearchRequest,
};
use probity_store::{algorithms, gallery, Store};

use crate::error::ApiError;
use crate::state::AppState;

/// Default size of the candidate pool (FR-08); `PROBITY_FR_POOL_SIZE` overrides.
pub const DEFAULT_POOL_SIZE: usize = 50;
/// Largest pool a search may ask for.
pub const MAX_POOL_SIZE: usize = 200;

/// The configured candidate pool size.
pub fn pool_size() -> usize {
    std::env::var("PROBITY_FR_POOL_SIZE")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| (1..=MAX_POOL_SIZE).contains(n))
        .unwrap_or(DEFAULT_POOL_SIZE)
}

/// The engine and index of one server (one data directory).
pub struct Fr {
    pub spec: &'static AlgorithmSpec,
    pub engine: Mutex<FaceEngine>,
    pub index: RwLock<GalleryIndex>,
    /// The last repository index change (`probity_store::gallery::index_version`) the index
    /// holds; changed only under the index's write lock.
    pub version: std::sync::atomic::AtomicI64,
}

/// More changes than this since the held version and the index is rebuilt, not patched.
const MAX_INCREMENTAL_CHANGES: u32 = 10_000;

type Registry = Mutex<HashMap<PathBuf, Arc<Fr>>>;

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The message of the 503 when the models are absent.
pub const MODELS_MISSING: &str = "face models not installed: run scripts/setup";

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "face-models-missing",
        format!("{MODELS_MISSING} ({e})"),
    )
}

/// The algorithm version the database records as active (FR-23).
pub async fn active_spec(store: &Store) -> Result<&'static AlgorithmSpec, ApiError> {
    let mut tx = store.begin_read().await.map_err(crate::store_error)?;
    let state = algorithms::state(&mut tx)
        .await
        .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    spec_of(&state.active)
}

/// The registered algorithm of a stored id (`name@version`); one this release does not know is
/// a 503 naming FR-23.
pub fn spec_of(id: &str) -> Result<&'static AlgorithmSpec, ApiError> {
    probity_face::registered()
        .into_iter()
        .find(|s| s.id().to_string() == id)
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "unknown-algorithm",
                format!(
                    "FR-23: the active algorithm {id} is not registered in this release; roll back or install a release that has it"
                ),
            )
            .with_rule("FR-23")
        })
}

/// Opens an algorithm's engine (blocking: loads model files).
pub fn open_engine(spec: &'static AlgorithmSpec) -> Result<FaceEngine, ApiError> {
    let dir = probity_face::model_dir();
    if !dir.is_dir() {
        return Err(unavailable(format!("no folder {}", dir.display())));
    }
    FaceEngine::open(spec, &dir).map_err(unavailable)
}

/// Builds the index from the stored templates of `spec` (sealed records are sealed in it).
pub async fn load_index(
    store: &Store,
    spec: &'static AlgorithmSpec,
) -> Result<GalleryIndex, ApiError> {
    Ok(load_index_at(store, spec).await?.0)
}

/// [`load_index`] with the index change version it holds at least: read before the templates,
/// so a change that commits in between is applied again later (applying one twice is harmless),
/// never lost.
async fn load_index_at(
    store: &Store,
    spec: &'static AlgorithmSpec,
) -> Result<(GalleryIndex, i64), ApiError> {
    let algorithm = spec.id().to_string();
    let mut tx = store.begin_read().await.map_err(crate::store_error)?;
    let version = gallery::index_version(&mut tx)
        .await
        .map_err(crate::store_error)?;
    // Page by page: with millions of templates, only the index and one page of rows are held.
    let mut index = GalleryIndex::new(spec);
    let mut after = i64::MIN;
    loop {
        let page = gallery::templates_after(&mut tx, &algorithm, after, 10_000)
            .await
            .map_err(crate::store_error)?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.record_no;
        for t in page {
            let record = RecordId(t.record_no as u64);
            let template = RepositoryTemplate::from_stored(record, spec, &t.template)
                .map_err(ApiError::internal)?;
            index.add(template).map_err(ApiError::internal)?;
            if t.sealed {
                index.seal(record);
            }
        }
    }
    tx.commit().await.map_err(crate::store_error)?;
    Ok((index, version))
}

fn held(state: &AppState) -> Result<Option<Arc<Fr>>, ApiError> {
    Ok(registry()
        .lock()
        .map_err(|_| ApiError::internal("face engine registry poisoned"))?
        .get(&state.config.data_dir)
        .cloned())
}

/// One load at a time: callers that find the snapshot out of date wait here, then find the one
/// the first of them loaded.
fn load_lock() -> &'static tokio::sync::Mutex<()> {
    static L: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    L.get_or_init(|| tokio::sync::Mutex::new(()))
}

/// The engine and index of this server's active algorithm version: the snapshot held, or a new
/// one when there is none yet or the database's active version changed.
pub async fn get(state: &AppState) -> Result<Arc<Fr>, ApiError> {
    let active = active_spec(&state.store).await?;
    if let Some(fr) = held(state)?.filter(|f| f.spec.id() == active.id()) {
        refresh(state, &fr).await?;
        return Ok(fr);
    }
    let _one = load_lock().lock().await;
    if let Some(fr) = held(state)?.filter(|f| f.spec.id() == active.id()) {
        return Ok(fr);
    }
    let engine = tokio::task::spawn_blocking(move || open_engine(active))
        .await
        .map_err(ApiError::internal)??;
    install(state, engine).await
}

/// Makes `engine` (with an index of its algorithm's stored templates) this server's snapshot,
/// replacing the one held: searches that took the old one finish on it.
pub async fn install(state: &AppState, engine: FaceEngine) -> Result<Arc<Fr>, ApiError> {
    let spec = engine.algorithm();
    let (index, version) = load_index_at(&state.store, spec).await?;
    let fr = Arc::new(Fr {
        spec,
        engine: Mutex::new(engine),
        index: RwLock::new(index),
        version: std::sync::atomic::AtomicI64::new(version),
    });
    metrics::gauge!("probity_fr_index_version").set(version as f64);
    registry()
        .lock()
        .map_err(|_| ApiError::internal("face engine registry poisoned"))?
        .insert(state.config.data_dir.clone(), fr.clone());
    tracing::info!(algorithm = %spec.id(), "face engine snapshot installed");
    Ok(fr)
}

/// The loaded index if any (sealing updates it at once; nothing to do when not loaded yet).
pub fn loaded(state: &AppState) -> Option<Arc<Fr>> {
    registry()
        .lock()
        .ok()
        .and_then(|r| r.get(&state.config.data_dir).cloned())
}

/// Brings the index up to the database's last index change before it serves: the changes since
/// the version held (templates stored by any node or by the CLI, sealings and unsealings) are
/// applied in order, or the index is rebuilt when too many arrived. A node that missed a
/// notification, or just started, catches up here; the read-time check of every candidate
/// against the database (FR-02) stays in [`search`] all the same.
pub async fn refresh(state: &AppState, fr: &Fr) -> Result<(), ApiError> {
    use std::sync::atomic::Ordering;
    let algorithm = fr.spec.id().to_string();
    let held = fr.version.load(Ordering::SeqCst);
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let head = gallery::index_version(&mut tx)
        .await
        .map_err(crate::store_error)?;
    metrics::gauge!("probity_fr_index_head_version").set(head as f64);
    if head <= held {
        tx.commit().await.map_err(crate::store_error)?;
        return Ok(());
    }
    metrics::gauge!("probity_fr_index_lag").set((head - held) as f64);
    let changes =
        gallery::index_changes_since(&mut tx, held, &algorithm, MAX_INCREMENTAL_CHANGES + 1)
            .await
            .map_err(crate::store_error)?;
    // Changes this node needs may have been pruned (kept 7 days): then rebuild as well.
    let pruned = gallery::oldest_index_change(&mut tx)
        .await
        .map_err(crate::store_error)?
        .is_none_or(|oldest| oldest > held + 1);
    if pruned || changes.len() > MAX_INCREMENTAL_CHANGES as usize {
        tx.commit().await.map_err(crate::store_error)?;
        let (index, version) = load_index_at(&state.store, fr.spec).await?;
        let mut held = fr
            .index
            .write()
            .map_err(|_| ApiError::internal("index lock poisoned"))?;
        if version > fr.version.load(Ordering::SeqCst) {
            *held = index;
            fr.version.store(version, Ordering::SeqCst);
        }
        metrics::gauge!("probity_fr_index_version").set(version as f64);
        metrics::gauge!("probity_fr_index_lag").set(0.0);
        return Ok(());
    }
    let mut templates = HashMap::new();
    for c in &changes {
        if c.kind == gallery::IndexChangeKind::Template {
            if let Some(t) = gallery::template_of(&mut tx, c.record_no, &algorithm)
                .await
                .map_err(crate::store_error)?
            {
                templates.insert(c.record_no, t.template);
            }
        }
    }
    tx.commit().await.map_err(crate::store_error)?;
    let mut index = fr
        .index
        .write()
        .map_err(|_| ApiError::internal("index lock poisoned"))?;
    // Another refresh may have gone further while this one read: apply only what is newer.
    // Every version up to `head` is committed (the counter row is locked until its change
    // commits), so once this list is applied the index holds `head` at least.
    let applied = fr.version.load(Ordering::SeqCst);
    let mut last = applied.max(head);
    for c in changes.iter().filter(|c| c.version > applied) {
        let record = RecordId(c.record_no as u64);
        match c.kind {
            gallery::IndexChangeKind::Template => {
                if let Some(bytes) = templates.get(&c.record_no) {
                    let template = RepositoryTemplate::from_stored(record, fr.spec, bytes)
                        .map_err(ApiError::internal)?;
                    // A re-template replaces; the index keeps the record's sealing.
                    index.remove(record);
                    index.add(template).map_err(ApiError::internal)?;
                }
            }
            gallery::IndexChangeKind::Seal => index.seal(record),
            gallery::IndexChangeKind::Unseal => index.unseal(record),
        }
        last = last.max(c.version);
    }
    fr.version.store(last, Ordering::SeqCst);
    metrics::gauge!("probity_fr_index_version").set(last as f64);
    metrics::gauge!("probity_fr_index_lag").set(0.0);
    Ok(())
}

/// On PostgreSQL, follows the index changes other nodes commit (LISTEN on
/// [`gallery::INDEX_CHANNEL`]) and applies them to the loaded index as they arrive, so a node's
/// index is current before its next search needs it. Runs until the process ends; a lost
/// connection is retried, and a missed notification costs only latency: every search still
/// catches up from the database first ([`refresh`]).
pub async fn follow_changes(state: AppState, database_url: String) {
    loop {
        match gallery::IndexListener::connect(&database_url).await {
            Ok(mut listener) => {
                tracing::info!("face index: following changes of other nodes");
                // Catch up on what committed before the LISTEN took effect.
                apply_if_loaded(&state).await;
                loop {
                    match listener.recv().await {
                        Ok(version) => {
                            if let Some(v) = version {
                                metrics::gauge!("probity_fr_index_head_version").set(v as f64);
                            }
                            apply_if_loaded(&state).await;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "face index: notifications lost; reconnecting");
                            break;
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "face index: cannot listen for changes"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

async fn apply_if_loaded(state: &AppState) {
    if let Some(fr) = loaded(state) {
        if let Err(e) = refresh(state, &fr).await {
            tracing::warn!(error = %e.detail, "face index: applying changes failed");
        }
    }
}

/// Runs a search of the repository: the index's top K, every candidate re-checked against the
/// database's sealed/removed flags before anyone sees it (FR-02).
pub async fn search(
    store: &Store,
    fr: &Fr,
    probe: &probity_face::ProbeTemplate,
    top_k: usize,
) -> Result<Vec<(i64, f64)>, ApiError> {
    // A first pass without the callback gives the records to check; the database answers which
    // may be shown; the second pass keeps only those and refills the pool to K.
    let wide = top_k * 2 + 16;
    let first = {
        let index = fr
            .index
            .read()
            .map_err(|_| ApiError::internal("index lock poisoned"))?;
        index
            .search(
                probe,
                &SearchRequest {
                    top_k: wide,
                    mode: SearchMode::Exact,
                },
                &|_| true,
            )
            .map_err(ApiError::internal)?
    };
    let records: Vec<i64> = first.candidates.iter().map(|c| c.record.0 as i64).collect();
    let mut tx = store.begin_read().await.map_err(crate::store_error)?;
    let allowed = gallery::searchable(&mut tx, &records)
        .await
        .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    let index = fr
        .index
        .read()
        .map_err(|_| ApiError::internal("index lock poisoned"))?;
    let result = index
        .search(
            probe,
            &SearchRequest {
                top_k,
                mode: SearchMode::Exact,
            },
            &|r| allowed.contains(&(r.0 as i64)),
        )
        .map_err(ApiError::internal)?;
    Ok(result
        .candidates
        .iter()
        .map(|c| (c.record.0 as i64, f64::from(c.score)))
        .collect())
}
