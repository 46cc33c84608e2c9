//! The face engine and the photo repository index as the server holds them: loaded lazily on the
//! first use (server start stays fast when the models are absent), one per data directory, rebuilt
//! from the stored templates when the database holds a different number of them (an import by the
//! CLI). A missing model directory is a 503 naming the fix.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use probity_face::{
    AlgorithmSpec, FaceEngine, GalleryIndex, RecordId, RepositoryTemplate, SearchMode,
    SearchRequest,
};
use probity_store::{gallery, Store};

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

/// Opens the active algorithm's engine (blocking: loads model files).
pub fn open_engine() -> Result<FaceEngine, ApiError> {
    let spec = probity_face::default_algorithm();
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

/// The engine and index of this server, loading them on first use.
pub async fn get(state: &AppState) -> Result<Arc<Fr>, ApiError> {
    let key = state.config.data_dir.clone();
    let existing = registry()
        .lock()
        .map_err(|_| ApiError::internal("face engine registry poisoned"))?
        .get(&key)
        .cloned();
    if let Some(fr) = existing {
        refresh(state, &fr).await?;
        return Ok(fr);
    }
    let engine = tokio::task::spawn_blocking(open_engine)
        .await
        .map_err(ApiError::internal)??;
    let spec = engine.algorithm();
    let index = load_index(&state.store, spec).await?;
    let fr = Arc::new(Fr {
        spec,
        engine: Mutex::new(engine),
        index: RwLock::new(index),
    });
    let mut reg = registry()
        .lock()
        .map_err(|_| ApiError::internal("face engine registry poisoned"))?;
    Ok(reg.entry(key).or_insert(fr).clone())
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
