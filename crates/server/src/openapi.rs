//! The OpenAPI 3.1 document, generated from the route table so that it lists every API route and the
//! policy action guarding each one (`x-probity-action`).

use serde_json::{json, Map, Value};

use crate::routes::{Access, RouteSpec};

pub fn document(specs: &[RouteSpec]) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for spec in specs.iter().filter(|s| s.api) {
        let entry = paths
            .entry(spec.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        let params: Vec<Value> = path_params(spec.path)
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let (security, action) = match spec.access {
            Access::Public => (json!([]), Value::Null),
            Access::SignedIn => (json!([{"session": []}, {"token": []}]), Value::Null),
            Access::Action { action, .. } => (
                json!([{"session": []}, {"token": []}]),
                Value::String(action.to_string()),
            ),
        };
        let mut op = json!({
            "summary": spec.summary,
            "operationId": operation_id(spec),
            "parameters": params,
            "security": security,
            "responses": {
                "200": {"description": "success", "content": {"application/json": {}}},
                "400": {"$ref": "#/components/responses/Problem"},
                "401": {"$ref": "#/components/responses/Problem"},
                "403": {"$ref": "#/components/responses/Problem"},
                "413": {"$ref": "#/components/responses/Problem"},
                "503": {"$ref": "#/components/responses/Problem"}
            }
        });
        if !action.is_null() {
            op["x-probity-action"] = action;
        }
        if let Value::Object(m) = entry {
            m.insert(spec.method.as_str().to_ascii_lowercase(), op);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Probity API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Facial recognition, digital camera evidence and thermographic imaging under the published impact and use policies. Every operation is checked by the policy pack; refusals name the rule."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": crate::session::COOKIE_NAME},
                "token": {"type": "http", "scheme": "bearer"}
            },
            "responses": {
                "Problem": {
                    "description": "RFC 9457 problem details",
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
                }
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "field": {"type": "string", "description": "the request field at fault"},
                        "rule": {"type": "string", "description": "the policy rule that refused the request"},
                        "missing": {"type": "array", "items": {"type": "string"}}
                    }
                }
            }
        }
    })
}

fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

fn operation_id(spec: &RouteSpec) -> String {
    let mut id = spec.method.as_str().to_ascii_lowercase();
    for seg in spec.path.trim_start_matches("/api/").split('/') {
        let seg = seg.trim_start_matches('{').trim_end_matches('}');
        if seg.is_empty() {
            continue;
        }
        id.push('_');
        id.push_str(&seg.replace('-', "_"));
    }
    id
}
