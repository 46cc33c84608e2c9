//! The OpenAPI 3.1 document at `/api/openapi.json`.
//!
//! The list of operations comes from the route table: every API route appears with its method, its
//! path parameters, its access rule (`security`) and the policy action deciding it
//! (`x-probity-action`, or `x-probity-handler-actions` when the handler decides on the resource it
//! parses). What each operation takes and answers comes from [`operations::describe`], a table keyed
//! by (method, path) kept beside this file, so that route declarations need not change: request
//! bodies and responses are the Rust input and output types' schemas (`utoipa::ToSchema`), or, where
//! a handler answers with an ad-hoc JSON value, a schema written here with the fields it has.
//! Every failure is `application/problem+json` with the [`Problem`](crate::error::ApiError) schema.
//!
//! The document is what `scripts/test.d/60-api-fuzz.sh` fuzzes the running server against
//! (schemathesis): a response that contradicts it fails the run.

mod operations;
mod shapes;

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use utoipa::{PartialSchema, ToSchema};

use crate::routes::{Access, RouteSpec};

pub use operations::{describe, Body, Content, Operation};

/// The component schemas an operation refers to, gathered while the paths are described.
#[derive(Default)]
pub struct Registry {
    schemas: BTreeMap<String, Value>,
    /// Names registered twice with different schemas (two Rust types of the same name).
    collisions: Vec<String>,
}

impl Registry {
    /// A reference to `T`'s schema; `T` and every schema it refers to become components.
    pub fn of<T: ToSchema>(&mut self) -> Value {
        let name = T::name().into_owned();
        let mut all = vec![(name.clone(), T::schema())];
        T::schemas(&mut all);
        for (n, s) in all {
            let s = serde_json::to_value(s).unwrap_or(Value::Null);
            self.insert(n, s);
        }
        reference(&name)
    }

    /// An array of `T`.
    pub fn list<T: ToSchema>(&mut self) -> Value {
        json!({ "type": "array", "items": self.of::<T>() })
    }

    /// `T`'s schema written in place (query strings: each property becomes a parameter).
    pub fn inline<T: PartialSchema>() -> Value {
        serde_json::to_value(T::schema()).unwrap_or(Value::Null)
    }

    /// A hand-written component (the shape of an ad-hoc JSON answer).
    pub fn named(&mut self, name: &str, schema: Value) -> Value {
        self.insert(name.to_string(), schema);
        reference(name)
    }

    fn insert(&mut self, name: String, schema: Value) {
        match self.schemas.get(&name) {
            Some(existing) if *existing != schema => {
                if !self.collisions.contains(&name) {
                    self.collisions.push(name);
                }
            }
            Some(_) => {}
            None => {
                self.schemas.insert(name, schema);
            }
        }
    }
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// Problem statuses every operation of a kind can answer, besides the ones its entry lists.
fn common_problems(spec: &RouteSpec, op: &Operation) -> Vec<u16> {
    let mut s = vec![400, 503];
    if spec.access.needs_sign_in() {
        s.extend([401, 403]);
    }
    if spec.path.contains('{') {
        s.push(404);
    }
    if let Some(body) = &op.body {
        s.extend([413, 422]);
        if matches!(body, Body::Json { .. }) {
            s.push(415);
        }
    }
    s
}

fn problem_description(status: u16) -> &'static str {
    match status {
        400 => "The request is malformed or a field is invalid (`field` names it)",
        401 => "Not signed in: send the session cookie or an API token",
        403 => "Refused by the policy (`rule` names the rule that refused it)",
        404 => "Not found, or not visible to the caller (answered alike)",
        409 => "Conflicts with the current state (already exists, changed meanwhile)",
        410 => "Destroyed under the retention schedule",
        413 => "The request body is larger than the server accepts",
        415 => "The body is not of the media type the operation takes",
        422 => {
            "The request is well formed but cannot be processed (`missing` lists what is missing)"
        }
        503 => "A dependency is unavailable (database, face models); retry later",
        _ => "Refused",
    }
}

/// The security requirement of an access rule: public, or a session cookie or API token.
fn security(access: &Access) -> Value {
    if access.needs_sign_in() {
        json!([{ "session": [] }, { "session_plain": [] }, { "token": [] }])
    } else {
        json!([])
    }
}

/// The policy actions documented on an operation.
fn access_extensions(access: &Access, op: &mut Map<String, Value>) {
    if let Access::Action { action, .. } = access {
        op.insert("x-probity-action".into(), json!(action));
    }
    if let Access::Handler { actions } = access {
        op.insert("x-probity-handler-actions".into(), json!(actions));
    }
    if let Access::Rows { action } = access {
        op.insert("x-probity-row-action".into(), json!(action));
    }
}

fn path_parameter(name: &str) -> Value {
    let (schema, description) = match name {
        "case" => (json!({"type": "string"}), "Case number"),
        "username" => (json!({"type": "string"}), "Username of the account"),
        "id" => (
            json!({"type": "string", "format": "uuid"}),
            "Identifier of the record",
        ),
        "item" => (
            json!({"type": "string", "format": "uuid"}),
            "Evidence item id",
        ),
        "device" => (json!({"type": "string", "format": "uuid"}), "Camera id"),
        "n" => (
            json!({"type": "integer", "minimum": 0}),
            "Still number, from 0",
        ),
        "candidate" => (json!({"type": "string"}), "Candidate id in the pool"),
        "hold" => (json!({"type": "string", "format": "uuid"}), "Legal hold id"),
        "arrest" => (json!({"type": "string"}), "Arrest id of the photographs"),
        "source" => (
            json!({"type": "string"}),
            "Thermal source (its service account)",
        ),
        _ => (json!({"type": "string"}), ""),
    };
    let mut p = json!({"name": name, "in": "path", "required": true, "schema": schema});
    if !description.is_empty() {
        p["description"] = json!(description);
    }
    p
}

/// Query parameters from an inline object schema: one parameter per property.
fn query_parameters(schema: &Value) -> Vec<Value> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = schema["properties"].as_object() else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, s)| {
            let mut s = s.clone();
            let description = s.as_object_mut().and_then(|o| o.remove("description"));
            // An absent parameter is how a query string says "none": no null in the type.
            if let Some(types) = s["type"].as_array() {
                let types: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                s["type"] = match types.as_slice() {
                    [one] => one.clone(),
                    _ => Value::Array(types),
                };
            }
            let mut p = json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
                "schema": s,
            });
            if let Some(d) = description {
                p["description"] = d;
            }
            p
        })
        .collect()
}

fn content(c: &Content) -> Option<Value> {
    match c {
        Content::Json(schema) => Some(json!({ "application/json": { "schema": schema } })),
        Content::Media(types) => Some(Value::Object(
            types
                .iter()
                .map(|t| {
                    (
                        t.to_string(),
                        json!({ "schema": { "type": "string", "format": "binary" } }),
                    )
                })
                .collect(),
        )),
        Content::Empty => None,
    }
}

fn request_body(body: &Body) -> Value {
    match body {
        Body::Json {
            schema,
            required,
            description,
        } => json!({
            "description": description,
            "required": required,
            "content": { "application/json": { "schema": schema } },
        }),
        Body::Multipart {
            schema,
            description,
        } => json!({
            "description": description,
            "required": true,
            "content": { "multipart/form-data": { "schema": schema } },
        }),
        Body::Raw {
            media_types,
            description,
        } => json!({
            "description": description,
            "required": true,
            "content": Value::Object(media_types
                .iter()
                .map(|t| (t.to_string(), json!({ "schema": { "type": "string", "format": "binary" } })))
                .collect()),
        }),
    }
}

fn operation(spec: &RouteSpec, r: &mut Registry) -> Value {
    let method = spec.method.as_str();
    let (op, documented) = match describe(method, spec.path, r) {
        Some(op) => (op, true),
        None => (Operation::undocumented(), false),
    };
    let mut parameters: Vec<Value> = path_params(spec.path).map(path_parameter).collect();
    if let Some(q) = &op.query {
        parameters.extend(query_parameters(q));
    }
    let mut responses = Map::new();
    for ok in &op.responses {
        let mut resp = json!({ "description": ok.description });
        if let Some(c) = content(&ok.content) {
            resp["content"] = c;
        }
        if ok.or_problem {
            resp["content"]["application/problem+json"] = json!({ "schema": reference("Problem") });
        }
        if !ok.headers.is_empty() {
            resp["headers"] = Value::Object(
                ok.headers
                    .iter()
                    .map(|(h, d)| {
                        (
                            h.to_string(),
                            json!({ "description": d, "schema": { "type": "string" } }),
                        )
                    })
                    .collect(),
            );
        }
        if !ok.links.is_empty() {
            resp["links"] = Value::Object(ok.links.clone().into_iter().collect());
        }
        responses.insert(ok.status.to_string(), resp);
    }
    let mut problems = common_problems(spec, &op);
    problems.extend(op.problems.iter().copied());
    problems.sort_unstable();
    problems.dedup();
    for status in problems {
        if responses.contains_key(&status.to_string()) {
            continue;
        }
        responses.insert(
            status.to_string(),
            json!({
                "description": problem_description(status),
                "content": { "application/problem+json": { "schema": reference("Problem") } },
            }),
        );
    }
    let mut out = Map::new();
    out.insert("summary".into(), json!(spec.summary));
    out.insert("operationId".into(), json!(operation_id(spec)));
    out.insert("tags".into(), json!([tag(spec.path)]));
    out.insert("parameters".into(), Value::Array(parameters));
    if let Some(body) = &op.body {
        out.insert("requestBody".into(), request_body(body));
    }
    out.insert("responses".into(), Value::Object(responses));
    out.insert("security".into(), security(&spec.access));
    access_extensions(&spec.access, &mut out);
    if !documented {
        out.insert("x-probity-undocumented".into(), json!(true));
    }
    Value::Object(out)
}

/// The whole document for the API routes of `specs`.
pub fn document(specs: &[RouteSpec]) -> Value {
    let mut registry = Registry::default();
    registry.named("Problem", shapes::problem());
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for spec in specs.iter().filter(|s| s.api) {
        let op = operation(spec, &mut registry);
        paths
            .entry(spec.path.to_string())
            .or_default()
            .insert(spec.method.as_str().to_ascii_lowercase(), op);
    }
    let mut info = json!({
        "title": "Probity API",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "Facial recognition, digital camera evidence and thermographic imaging under the published impact and use policies. Every operation is checked by the policy pack; refusals name the rule. Every failure is application/problem+json (RFC 9457)."
    });
    let mut problems: Vec<String> = registry
        .collisions
        .iter()
        .map(|n| format!("two Rust types give the schema name {n}"))
        .collect();
    problems.extend(
        shapes::refine(&mut registry.schemas)
            .into_iter()
            .map(|f| format!("closed list for {f}, a field that no longer exists")),
    );
    if !problems.is_empty() {
        info["x-probity-document-problems"] = json!(problems);
    }
    json!({
        "openapi": "3.1.0",
        "info": info,
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {
                    "type": "apiKey", "in": "cookie", "name": crate::session::COOKIE_NAME,
                    "description": "Session cookie set by POST /api/session (HTTPS)"
                },
                "session_plain": {
                    "type": "apiKey", "in": "cookie", "name": crate::session::COOKIE_NAME_PLAIN,
                    "description": "Session cookie when the server runs without TLS behind a TLS-terminating proxy"
                },
                "token": {
                    "type": "http", "scheme": "bearer",
                    "description": "API token of a service account (POST /api/users/{username}/tokens)"
                }
            },
            "schemas": registry.schemas,
        }
    })
}

fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

/// The concern an operation belongs to: the first path segment after `/api/`.
fn tag(path: &str) -> &str {
    let rest = path.trim_start_matches("/api/");
    let first = rest.split('/').next().unwrap_or(rest);
    // Case-scoped routes belong to their concern: /api/cases/{case}/evidence is evidence.
    let mut segs = rest.split('/');
    if first == "cases" {
        if let Some(concern) = segs.nth(2) {
            return match concern {
                "evidence" | "intakes" | "discovery" => "evidence",
                "fr-requests" | "fr-entries" => "fr",
                "thermal" => "thermal",
                _ => "cases",
            };
        }
    }
    match first {
        "devices" | "discovery" => "evidence",
        other => other,
    }
}

fn operation_id(spec: &RouteSpec) -> String {
    let mut id = spec.method.as_str().to_ascii_lowercase();
    for seg in spec.path.trim_start_matches("/api/").split('/') {
        let seg = seg.trim_start_matches('{').trim_end_matches('}');
        if seg.is_empty() {
            continue;
        }
        id.push('_');
        id.push_str(&seg.replace(['-', '.'], "_"));
    }
    id
}
