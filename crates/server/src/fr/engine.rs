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
}

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
    probity_face::REGISTRY
        .iter()
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
    let algorithm = spec.id().to_string();
    let mut tx = store.begin_read().await.map_err(crate::store_error)?;
    let stored = gallery::templates(&mut tx, &algorithm)
        .await
        .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    let mut index = GalleryIndex::new(spec);
    for t in stored {
        let record = RecordId(t.record_no as u64);
        let template = RepositoryTemplate::from_stored(record, spec, &t.template)
            .map_err(ApiError::internal)?;
        index.add(template).map_err(ApiError::internal)?;
        if t.sealed {
            index.seal(record);
        }
    }
    Ok(index)
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
    let index = load_index(&state.store, spec).await?;
    let fr = Arc::new(Fr {
        spec,
        engine: Mutex::new(engine),
        index: RwLock::new(index),
    });
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

/// Reloads the index when the database holds a different number of templates (records imported
/// by the CLI while the server runs).
async fn refresh(state: &AppState, fr: &Fr) -> Result<(), ApiError> {
    let algorithm = fr.spec.id().to_string();
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let (_, _, templates) = gallery::counts(&mut tx, &algorithm)
        .await
        .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    let held = fr
        .index
        .read()
        .map_err(|_| ApiError::internal("index lock poisoned"))?
        .len();
    if held as i64 != templates {
        let index = load_index(&state.store, fr.spec).await?;
        *fr.index
            .write()
            .map_err(|_| ApiError::internal("index lock poisoned"))? = index;
    }
    Ok(())
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
