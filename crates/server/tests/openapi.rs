//! The OpenAPI document describes every API route of the route table: its method, path parameters,
//! access rule, request body, success responses and problem responses; and it is a well-formed
//! OpenAPI 3.1 document (every reference resolves, every link names an operation). The fuzzing run
//! (`scripts/test.d/60-api-fuzz.sh`) then holds the running server to it.

mod common;

use std::collections::{BTreeSet, HashSet};

use common::Backend;
use probity_server::routes::Access;
use reqwest::StatusCode;
use serde_json::Value;

/// POST routes that take no body at all: the path names everything they act on.
const NO_BODY: &[&str] = &[
    "/api/fr/requests/{id}/confirm-basis",
    "/api/thermal/robot/retention",
    "/api/me/second-factor",
    "/api/users/{username}/second-factor/reset",
    "/api/foil/requests/{foil}/records/{record}/detect",
    "/api/foil/requests/{foil}/records/{record}/boxes/{box}/remove",
];

/// Collects every `$ref` in `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    if let Some(s) = x.as_str() {
                        out.push(s);
                    }
                } else {
                    refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

fn path_params(path: &str) -> BTreeSet<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

#[tokio::test]
async fn openapi_describes_every_api_route() {
    let srv = common::start(Backend::Sqlite).await;
    let (s, doc) = srv.get(&common::client(), "/api/openapi.json").await;
    assert_eq!(s, StatusCode::OK, "{doc}");

    // A well-formed OpenAPI 3.1 document.
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "openapi version: {}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert!(
        doc["info"]["x-probity-document-problems"].is_null(),
        "{}",
        doc["info"]["x-probity-document-problems"]
    );
    let spec = oas3::from_json(doc.to_string())
        .unwrap_or_else(|e| panic!("not an OpenAPI 3.1 document: {e}"));
    spec.validate_version()
        .unwrap_or_else(|e| panic!("not an OpenAPI 3.1 document: {e}"));
    let parsed_operations = spec.operations().count();
    let schemas = doc["components"]["schemas"]
        .as_object()
        .expect("components.schemas");
    let problem = &schemas["Problem"];
    for field in ["type", "title", "status", "detail"] {
        assert!(
            problem["required"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == field)),
            "Problem requires {field}"
        );
    }
    let mut all_refs = Vec::new();
    refs(&doc, &mut all_refs);
    for r in &all_refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("reference outside components.schemas: {r}"));
        assert!(schemas.contains_key(name), "unresolved reference {r}");
    }
    let mut operation_ids = HashSet::new();
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            let id = op["operationId"].as_str().expect("operationId");
            assert!(operation_ids.insert(id.to_string()), "duplicate {id}");
            let declared: BTreeSet<&str> = op["parameters"]
                .as_array()
                .expect("parameters")
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| {
                    assert_eq!(
                        p["required"], true,
                        "{method} {path}: path parameters are required"
                    );
                    p["name"].as_str().expect("parameter name")
                })
                .collect();
            assert_eq!(
                declared,
                path_params(path),
                "{method} {path}: path parameters"
            );
        }
    }

    let routes: Vec<_> = srv.state.routes().iter().filter(|r| r.api).collect();
    assert!(routes.len() > 50, "only {} API routes", routes.len());
    let mut checked = 0;
    let mut undocumented = Vec::new();
    for spec in routes {
        let method = spec.method.as_str().to_ascii_lowercase();
        let what = format!("{} {}", spec.method, spec.path);
        let op = &doc["paths"][spec.path][&method];
        assert!(op.is_object(), "{what} missing from the OpenAPI document");
        if !op["x-probity-undocumented"].is_null() {
            undocumented.push(what);
            continue;
        }

        // Access rule.
        let security = op["security"].as_array().expect("security");
        if spec.access.needs_sign_in() {
            assert!(
                !security.is_empty(),
                "{what}: signed-in route documented as public"
            );
        } else {
            assert!(
                security.is_empty(),
                "{what}: public route documented as signed-in"
            );
        }
        if let Access::Action { action, .. } = spec.access {
            assert_eq!(op["x-probity-action"], action, "{what}");
        }

        // Request body.
        if matches!(method.as_str(), "post" | "put" | "patch") && !NO_BODY.contains(&spec.path) {
            let content = op["requestBody"]["content"]
                .as_object()
                .unwrap_or_else(|| panic!("{what}: the request body is not documented"));
            assert!(!content.is_empty(), "{what}: request body without content");
            for (media, m) in content {
                assert!(
                    m["schema"].is_object(),
                    "{what}: request body {media} without a schema"
                );
            }
        }

        // Responses: at least one success, and the problems.
        let responses = op["responses"].as_object().expect("responses");
        let successes: Vec<_> = responses
            .iter()
            .filter(|(code, _)| code.starts_with('2'))
            .collect();
        assert!(!successes.is_empty(), "{what}: no success response");
        for (code, r) in responses {
            assert!(r["description"].is_string(), "{what} {code}: description");
            if let Some(content) = r["content"].as_object() {
                for (media, m) in content {
                    assert!(
                        m["schema"].is_object(),
                        "{what} {code}: {media} without a schema"
                    );
                }
            }
            if code.starts_with('2') {
                for link in r["links"].as_object().into_iter().flat_map(|l| l.values()) {
                    let target = link["operationId"].as_str().expect("link operationId");
                    assert!(
                        operation_ids.contains(target),
                        "{what} {code}: link to unknown operation {target}"
                    );
                }
            }
        }
        let mut problems = vec![400, 503];
        if spec.access.needs_sign_in() {
            problems.extend([401, 403]);
        }
        if spec.path.contains('{') {
            problems.push(404);
        }
        if op["requestBody"].is_object() {
            problems.extend([413, 422]);
        }
        for status in problems {
            let r = &responses
                .get(&status.to_string())
                .unwrap_or_else(|| panic!("{what}: {status} is not documented"));
            // An operation may also answer 422 with its own report (an intake refused, an
            // import with every row refused); a problem must still be possible.
            assert_eq!(
                r["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{what}: {status} is not a problem"
            );
        }
        checked += 1;
    }
    assert!(
        undocumented.is_empty(),
        "no entry in crates/server/src/openapi/operations.rs for:\n{}",
        undocumented.join("\n")
    );
    assert_eq!(
        parsed_operations, checked,
        "the parsed document has another number of operations than the route table"
    );
    println!("{checked} API operations described");
}
