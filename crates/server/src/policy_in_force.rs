//! The policy engine in force, built from the pack revisions in the store (OVR-02).
//!
//! Every pack text the system has applied is a row of `policy_revisions`: the text shipped with
//! the software is recorded when a release first starts ([`record_release`]), and revisions
//! proposed in the application take effect when the policy owner approves them, at once or at
//! a recorded later time. For each pack, the revision in force is the one that took effect
//! last. [`PolicyInForce`] holds the engine built from those texts, and the engines approved for
//! a later time, which it swaps in when their time comes without a database round trip.
//!
//! Engines are leaked on purpose: one per policy change that takes effect in the life of the
//! process (a handful a year). A request keeps the `&'static` engine it read for as long as it
//! needs it, with no counting and no lock held.

use std::collections::BTreeMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use probity_policy::{embedded_sources, PackSource, PolicyEngine};
use probity_store::policy_revisions::{self, PolicyRevision, RELEASE};
use probity_store::Store;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// An engine with the revision of each pack it was built from.
#[derive(Debug, Clone, Copy)]
pub struct Engine {
    pub engine: &'static PolicyEngine,
    /// Pack id → id of the revision in force (empty for the embedded fallback).
    pub revisions: &'static BTreeMap<String, Uuid>,
}

tokio::task_local! {
    /// The engine in force when the request being served began.
    static REQUEST: Engine;
}

/// Runs one request with the engine in force when it began, so that all its decisions come from
/// one set of pack texts even if a revision takes effect meanwhile, and every audit entry it
/// writes after a decision names the revision that made it (OVR-02).
pub async fn request_scope<F: std::future::Future>(engine: Engine, f: F) -> F::Output {
    REQUEST
        .scope(engine, probity_store::audit::decisions_scope(f))
        .await
}

/// The engine of the request being served, when inside [`request_scope`].
pub fn request_engine() -> Option<Engine> {
    REQUEST.try_with(|e| *e).ok()
}

/// The engine in force and those approved to take effect later.
#[derive(Debug)]
pub struct PolicyInForce {
    loaded: RwLock<Loaded>,
}

/// Engines approved to take effect later, soonest first.
type Scheduled = Vec<(DateTime<Utc>, Engine)>;

#[derive(Debug)]
struct Loaded {
    current: Engine,
    scheduled: Scheduled,
}

fn leak(engine: PolicyEngine, revisions: BTreeMap<String, Uuid>) -> Engine {
    Engine {
        engine: Box::leak(Box::new(engine)),
        revisions: Box::leak(Box::new(revisions)),
    }
}

/// SHA-256 of a pack's two texts, hex: how a recorded text is recognised.
pub fn text_hash(toml: &str, cedar: &str) -> String {
    let mut h = Sha256::new();
    h.update(toml.as_bytes());
    h.update([0u8]);
    h.update(cedar.as_bytes());
    hex::encode(h.finalize())
}

impl PolicyInForce {
    /// The packs embedded in the binary, before the store is read.
    pub fn embedded() -> Result<PolicyInForce, probity_policy::PolicyError> {
        Ok(PolicyInForce {
            loaded: RwLock::new(Loaded {
                current: leak(PolicyEngine::load()?, BTreeMap::new()),
                scheduled: Vec::new(),
            }),
        })
    }

    /// The engine in force at `now`; an approved revision whose time has come replaces the
    /// previous engine here.
    pub fn at(&self, now: DateTime<Utc>) -> Engine {
        {
            let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
            if loaded.scheduled.first().is_none_or(|(t, _)| *t > now) {
                return loaded.current;
            }
        }
        let mut loaded = self.loaded.write().unwrap_or_else(|p| p.into_inner());
        while loaded.scheduled.first().is_some_and(|(t, _)| *t <= now) {
            let (_, next) = loaded.scheduled.remove(0);
            tracing::info!(revisions = ?next.revisions, "a policy revision took effect");
            loaded.current = next;
        }
        loaded.current
    }

    /// Rebuilds from the store: the engine in force at `now` and one per later effective time.
    pub async fn reload(&self, store: &Store, now: DateTime<Utc>) -> anyhow::Result<()> {
        let mut tx = store.begin_read().await?;
        let rows = policy_revisions::in_force(&mut tx).await?;
        tx.commit().await?;
        let (current, scheduled) = build(&rows, now)?;
        let mut loaded = self.loaded.write().unwrap_or_else(|p| p.into_inner());
        *loaded = Loaded { current, scheduled };
        Ok(())
    }
}

/// The pack ids in the order the engine loads them (core first), from the embedded packs.
fn pack_order() -> Vec<String> {
    embedded_sources()
        .iter()
        .filter_map(|s| pack_id_of(&s.toml))
        .collect()
}

/// The stem of a pack's files (`core` for `probity-core`, `facial_recognition` for
/// `facial-recognition`): the name the pack's TOML gives its Cedar file, and errors cite.
pub fn file_stem(pack_id: &str) -> String {
    match pack_id {
        "probity-core" => "core".into(),
        other => other.replace('-', "_"),
    }
}

/// `[pack] id` of a pack's TOML text, if it has one.
pub fn pack_id_of(toml_text: &str) -> Option<String> {
    let v: toml::Value = toml::from_str(toml_text).ok()?;
    v.get("pack")?.get("id")?.as_str().map(str::to_string)
}

/// The engine the packs make at `at`, from rows in force ordered by effective time.
fn engine_at(
    rows: &[PolicyRevision],
    order: &[String],
    at: DateTime<Utc>,
) -> anyhow::Result<Option<(PolicyEngine, BTreeMap<String, Uuid>)>> {
    let mut sources = Vec::new();
    let mut revisions = BTreeMap::new();
    for pack in order {
        let Some(row) = rows
            .iter()
            .rfind(|r| &r.pack_id == pack && r.effective_at.is_some_and(|t| t <= at))
        else {
            return Ok(None);
        };
        sources.push(PackSource {
            name: file_stem(&row.pack_id),
            toml: row.pack_toml.clone(),
            cedar: row.cedar.clone(),
        });
        revisions.insert(row.pack_id.clone(), row.id);
    }
    let engine = PolicyEngine::from_packs(&sources).map_err(|e| {
        anyhow::anyhow!(
            "the policy revisions in force do not load with this release ({e}); \
             revisions: {revisions:?}"
        )
    })?;
    Ok(Some((engine, revisions)))
}

fn build(rows: &[PolicyRevision], now: DateTime<Utc>) -> anyhow::Result<(Engine, Scheduled)> {
    let order = pack_order();
    let current = match engine_at(rows, &order, now)? {
        Some((e, r)) => leak(e, r),
        None => leak(PolicyEngine::load()?, BTreeMap::new()),
    };
    let mut later: Vec<DateTime<Utc>> = rows
        .iter()
        .filter_map(|r| r.effective_at)
        .filter(|t| *t > now)
        .collect();
    later.sort();
    later.dedup();
    let mut scheduled = Vec::new();
    for t in later {
        if let Some((e, r)) = engine_at(rows, &order, t)? {
            scheduled.push((t, leak(e, r)));
        }
    }
    Ok((current, scheduled))
}

/// Records the packs shipped with this release as the revisions in force from `now`, unless
/// this very text was recorded before (a restart). A release's text takes effect when the
/// release first starts; revisions approved in the application earlier stay in the history.
pub async fn record_release(store: &Store, now: DateTime<Utc>) -> anyhow::Result<()> {
    let engine = PolicyEngine::load()?;
    let mut tx = store.begin().await?;
    // `load` keeps the packs in the order of their sources.
    for (src, pack) in embedded_sources().into_iter().zip(engine.packs()) {
        let pack_id = pack.id.clone();
        let version = pack.version.clone();
        let (kind, description) = pack.revisions.last().map_or_else(
            || ("pack".to_string(), String::new()),
            |r| (r.kind.as_str().to_string(), r.description.clone()),
        );
        let sha = text_hash(&src.toml, &src.cedar);
        if policy_revisions::find_text(&mut tx, &pack_id, &version, &sha)
            .await?
            .is_some()
        {
            continue;
        }
        policy_revisions::insert(
            &mut tx,
            &PolicyRevision {
                id: Uuid::new_v4(),
                pack_id,
                version,
                kind,
                description,
                pack_toml: src.toml.clone(),
                cedar: src.cedar.clone(),
                sha256: sha,
                covers: None,
                status: "in_force".into(),
                proposed_by: RELEASE.into(),
                proposed_at: now,
                reason: "shipped with this release of Probity".into(),
                decided_by: Some(RELEASE.into()),
                decided_at: Some(now),
                decision_reason: None,
                effective_at: Some(now),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
