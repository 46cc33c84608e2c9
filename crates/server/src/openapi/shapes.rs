//! Schemas of the answers that handlers build as ad-hoc JSON values (`serde_json::json!`), written
//! with the fields those values have, and of the multipart forms, which have no Rust type. Each
//! lists the fields every answer carries as `required` and leaves other fields open, so a new field
//! is not a contradiction but a changed or missing one is.

use std::collections::BTreeMap;

use probity_domain::fr_request::{FacialFeature, FeatureFinding, Judgement, StillSource};
use probity_domain::retention::HoldSubjectKind;
use probity_domain::{
    ClosureReason, Course, DcPurpose, ExigencyStatute, FrAuthorizedUse, OffenceClassification,
    PersonKind, Rank, Role, ThermalBasis,
};
use serde_json::{json, Value};

use super::Registry;
use crate::{cases, evidence, fr, people};

/// The names of a closed list of the domain.
fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| name(*v)).collect()
}

/// Input fields whose values come from a closed list of the domain, by (schema, property). The
/// Rust input types carry them as text; the document names the values the handler accepts, so that
/// a client (and the fuzzer) knows them.
fn closed_lists() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    let offence = names(OffenceClassification::ALL, OffenceClassification::as_str);
    vec![
        ("NewCaseInput", "offence_classification", offence.clone()),
        ("CloseInput", "final_classification", offence),
        (
            "CloseInput",
            "closure_reason",
            names(ClosureReason::ALL, ClosureReason::as_str),
        ),
        ("NewUserInput", "rank", names(Rank::ALL, Rank::as_str)),
        (
            "NewUserInput",
            "kind",
            names(PersonKind::ALL, PersonKind::as_str),
        ),
        ("AssignmentInput", "role", names(Role::ALL, Role::as_str)),
        (
            "TrainingInput",
            "course",
            names(Course::ALL, Course::as_str),
        ),
        (
            "ComparisonInput",
            "judgement",
            names(Judgement::ALL, Judgement::as_str),
        ),
        (
            "FeatureInput",
            "finding",
            names(FeatureFinding::ALL, FeatureFinding::as_str),
        ),
        (
            "AuthorizeInput",
            "basis",
            names(ThermalBasis::ALL, ThermalBasis::as_str),
        ),
        (
            "PlaceInput",
            "subject_kind",
            HoldSubjectKind::ALL.iter().map(|k| k.as_str()).collect(),
        ),
        (
            "AuthorizeInput",
            "source_kind",
            crate::thermal::SourceKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect(),
        ),
    ]
}

/// Adds the closed lists to the input schemas present; returns the (schema, property) pairs that
/// no longer exist, so that a renamed field is noticed.
pub fn refine(schemas: &mut BTreeMap<String, Value>) -> Vec<String> {
    let mut missing = Vec::new();
    for (schema, property, values) in closed_lists() {
        let Some(s) = schemas.get_mut(schema) else {
            continue;
        };
        let Some(p) = s.pointer_mut(&format!("/properties/{property}")) else {
            missing.push(format!("{schema}.{property}"));
            continue;
        };
        let nullable = p["type"]
            .as_array()
            .is_some_and(|t| t.iter().any(|x| x == "null"));
        let mut e: Vec<Value> = values.into_iter().map(Value::from).collect();
        if nullable {
            e.push(Value::Null);
        }
        p["enum"] = Value::Array(e);
    }
    if let Some(features) = schemas
        .get_mut("ComparisonInput")
        .and_then(|s| s.pointer_mut("/properties/features"))
    {
        features["propertyNames"] =
            json!({ "enum": names(FacialFeature::ALL, FacialFeature::as_str) });
    }
    missing
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties })
}

fn nullable(t: &str) -> Value {
    json!({ "type": [t, "null"] })
}

/// RFC 9457 problem details as `crate::error::ApiError` writes them.
pub fn problem() -> Value {
    json!({
        "type": "object",
        "description": "RFC 9457 problem details",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "description": "https://probity.invalid/problems/CODE: a stable code"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string", "description": "what went wrong and what to do"},
            "field": {"type": "string", "description": "the request field at fault"},
            "rule": {"type": "string", "description": "the policy rule that refused the request"},
            "missing": {"type": "array", "items": {"type": "string"}, "description": "what is missing (FR-04)"}
        }
    })
}

/// An object with one required property.
pub fn object_with(name: &str, schema: Value) -> Value {
    json!({ "type": "object", "required": [name], "properties": { name: schema } })
}

pub fn signed_in() -> Value {
    object(
        &["signed_in"],
        json!({
            "signed_in": {"type": "string", "description": "the username"},
            "remote_session": {"type": "boolean", "description": "signed in from outside the agency's networks"},
            "second_factor": {"type": "boolean", "description": "a second factor was presented"},
            "session": {"type": "string", "description": "the session token, only when the client asked for it (return_token)"}
        }),
    )
}

pub fn second_factor_required() -> Value {
    object(
        &["second_factor_required", "pending"],
        json!({
            "second_factor_required": {"type": "boolean"},
            "pending": {"type": "string", "description": "the pending sign-in to complete at /api/session/totp"},
            "detail": {"type": "string"}
        }),
    )
}

pub fn second_factor_accepted() -> Value {
    object(
        &["signed_in"],
        json!({
            "signed_in": {"type": "boolean"},
            "username": {"type": "string"},
            "remote_session": {"type": "boolean"},
            "second_factor": {"type": "boolean"},
            "session": {"type": "string", "description": "the new session token, only when the client asked for it (return_token)"}
        }),
    )
}

pub fn second_factor_reset() -> Value {
    object(
        &["username", "second_factor_enrolled", "sessions_ended"],
        json!({
            "username": {"type": "string"},
            "second_factor_enrolled": {"type": "boolean"},
            "sessions_ended": {"type": "integer", "minimum": 0}
        }),
    )
}

pub fn me(r: &mut Registry) -> Value {
    let access = r.of::<people::AccessView>();
    r.named(
        "Me",
        object(
            &["username", "display_name", "access"],
            json!({
                "username": {"type": "string"},
                "display_name": {"type": "string"},
                "rank": {"type": "string"},
                "command": nullable("string"),
                "access": access,
                "remote_session": {"type": "boolean"},
                "second_factor": {"type": "boolean", "description": "a second factor was presented in this session"},
                "second_factor_enrolled": {"type": "boolean"}
            }),
        ),
    )
}

pub fn case_with_retention(r: &mut Registry) -> Value {
    let case = r.of::<cases::CaseView>();
    r.named(
        "CaseDetail",
        json!({
            "allOf": [case, {
                "type": "object",
                "required": ["retention"],
                "properties": {
                    "retention": {"type": ["string", "null"], "description": "the retention schedule in words"}
                }
            }]
        }),
    )
}

pub fn contract() -> Value {
    object(
        &["contract_ref", "starts", "ends"],
        json!({
            "contract_ref": {"type": "string"},
            "starts": {"type": "string", "format": "date"},
            "ends": {"type": "string", "format": "date"}
        }),
    )
}

pub fn audit_verification() -> Value {
    object(
        &[
            "valid",
            "entries",
            "checkpoints",
            "head_seq",
            "first_bad_entry",
            "problem",
        ],
        json!({
            "valid": {"type": "boolean"},
            "entries": {"type": "integer", "minimum": 0},
            "checkpoints": {"type": "integer", "minimum": 0},
            "head_seq": {"type": "integer", "minimum": 0},
            "first_bad_entry": nullable("integer"),
            "problem": nullable("string")
        }),
    )
}

pub fn audit_entry() -> Value {
    object(
        &[
            "seq",
            "at",
            "actor",
            "action",
            "record_type",
            "record_id",
            "outcome",
            "hash",
        ],
        json!({
            "seq": {"type": "integer", "minimum": 0},
            "at": {"type": "string", "format": "date-time"},
            "actor": {"type": "string"},
            "action": {"type": "string"},
            "record_type": {"type": "string"},
            "record_id": {"type": "string"},
            "reason": nullable("string"),
            "outcome": {"type": "string"},
            "detail": {"description": "the audited detail as recorded"},
            "hash": {"type": "string"}
        }),
    )
}

// ------------------------------------------------------------------------------------ facial recognition

/// The request view of `fr::workflow::view`: FR staff get the whole record, the requester their view.
pub fn fr_request_view() -> Value {
    object(
        &["id", "case_number", "state"],
        json!({
            "id": {"type": "string"},
            "case_number": {"type": "string"},
            "state": {"type": "string"},
            "authorized_use": {
                "type": ["object", "null"],
                "description": "the basis with its policy wording",
                "properties": {
                    "key": {"type": "string"},
                    "number": {"type": "integer"},
                    "wording": {"type": "string"}
                }
            },
            "version": {"type": "integer", "description": "FR staff only"},
            "external_request": {"type": ["string", "null"], "description": "FR staff only (FR-20)"},
            "request": {"type": "object", "description": "the whole record (FR staff only)"},
            "edit_steps": {"type": "array", "description": "FR-07 edits with hashes (FR staff only)"},
            "stills": {"type": "integer", "description": "requester only"},
            "requester_view": {"type": "object", "description": "requester only (FR-15)"},
            "measured": {"description": "after a quality verdict: the measured quality"},
            "pool_size": {"type": "integer", "description": "after a search: candidates stored"}
        }),
    )
}

pub fn authorized_use() -> Value {
    object(
        &["key", "number", "wording"],
        json!({
            "key": {"type": "string"},
            "number": {"type": "integer"},
            "wording": {"type": "string"}
        }),
    )
}

pub fn fr_queue_row() -> Value {
    object(
        &[
            "id",
            "case_number",
            "state",
            "awaiting_officials",
            "submitted_at",
            "updated_at",
        ],
        json!({
            "id": {"type": "string"},
            "case_number": {"type": "string"},
            "state": {"type": "string"},
            "authorized_use": nullable("string"),
            "awaiting_officials": {"type": "boolean"},
            "submitted_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"}
        }),
    )
}

pub fn still_quality() -> Value {
    object(
        &["still", "faces_found", "faces"],
        json!({
            "still": {"type": "integer", "minimum": 0},
            "faces_found": {"type": "integer", "minimum": 0},
            "faces": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "box": {"description": "the face's bounding box"},
                    "score": {"type": "number"},
                    "quality": {"description": "measured quality"},
                    "reasons": {"type": "array", "items": {"type": "string"}}
                }
            }}
        }),
    )
}

pub fn candidates(r: &mut Registry) -> Value {
    let items = r.list::<fr::workflow::CandidateView>();
    r.named(
        "CandidatePool",
        object(
            &["request", "algorithm", "candidates"],
            json!({
                "request": {"type": "string"},
                "algorithm": nullable("string"),
                "candidates": items
            }),
        ),
    )
}

pub fn proposed() -> Value {
    object(
        &["request", "candidate", "approved", "notice", "photo"],
        json!({
            "request": {"type": "string"},
            "candidate": {"type": "string"},
            "approved": {"type": "boolean", "const": false},
            "notice": {"type": "string"},
            "subject_id": {"type": "string"},
            "source": {"type": "string"},
            "arrest_id": {"type": "string"},
            "photo_date": {"type": "string"},
            "photo": {"type": "string", "description": "path of the candidate's photo"}
        }),
    )
}

pub fn fr_report() -> Value {
    object(
        &["kind", "created_at", "pdf", "report"],
        json!({
            "kind": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "pdf": {"type": "string", "description": "path of the PDF"},
            "report": {"description": "the report as recorded"}
        }),
    )
}

pub fn case_entry() -> Value {
    object(
        &["id", "kind"],
        json!({ "id": {"type": "string"}, "kind": {"type": "string"} }),
    )
}

pub fn created_id() -> Value {
    object(&["id"], json!({ "id": {"type": "string"} }))
}

pub fn external_request() -> Value {
    object(
        &[
            "id",
            "agency",
            "contact",
            "investigation_reference",
            "documented_by",
            "received_at",
            "requests",
        ],
        json!({
            "id": {"type": "string"},
            "agency": {"type": "string"},
            "contact": {"type": "string"},
            "investigation_reference": {"type": "string"},
            "documented_by": {"type": "string"},
            "received_at": {"type": "string", "format": "date-time"},
            "requests": {"type": "array", "description": "requests for analysis run for it (members only)", "items": object(
                &["id", "case_number", "state"],
                json!({"id": {"type": "string"}, "case_number": {"type": "string"}, "state": {"type": "string"}}),
            )}
        }),
    )
}

pub fn fr_oversight() -> Value {
    let count = json!({"type": "integer", "minimum": 0});
    object(
        &[
            "requests",
            "by_authorized_use_and_outcome",
            "time_in_state",
            "outside_repository_approvals",
            "unforeseen_uses",
            "external_agency_requests",
            "requests_run_for_external_agencies",
        ],
        json!({
            "requests": count,
            "by_authorized_use_and_outcome": {
                "type": "object",
                "description": "authorized use → outcome → count",
                "additionalProperties": {"type": "object", "additionalProperties": count}
            },
            "time_in_state": {
                "type": "object",
                "description": "state → transitions out of it and mean time spent",
                "additionalProperties": object(
                    &["transitions", "mean_seconds"],
                    json!({"transitions": count, "mean_seconds": {"type": "number"}}),
                )
            },
            "outside_repository_approvals": count,
            "unforeseen_uses": object(
                &["requested", "approved_by_three_officials"],
                json!({"requested": count, "approved_by_three_officials": count}),
            ),
            "external_agency_requests": count,
            "requests_run_for_external_agencies": count
        }),
    )
}

pub fn gallery_figures() -> Value {
    object(
        &[
            "records",
            "sealed",
            "templates",
            "algorithm",
            "models_installed",
        ],
        json!({
            "records": {"type": "integer"},
            "sealed": {"type": "integer"},
            "templates": {"type": "integer"},
            "algorithm": {"type": "string"},
            "models_installed": {"type": "boolean"}
        }),
    )
}

pub fn gallery_import(r: &mut Registry) -> Value {
    let refusal = r.list::<fr::gallery::Refusal>();
    r.named(
        "GalleryImport",
        object(
            &["imported", "records", "refused", "rule"],
            json!({
                "imported": {"type": "integer", "minimum": 0},
                "records": {"type": "array", "items": {"type": "integer"}, "description": "record numbers imported"},
                "refused": refusal,
                "rule": {"type": ["string", "null"], "description": "FR-01 or FR-03 when rows were refused"}
            }),
        ),
    )
}

pub fn seal_result() -> Value {
    object(
        &["arrest_id", "sealed", "records"],
        json!({
            "arrest_id": {"type": "string"},
            "sealed": {"type": "boolean"},
            "records": {"type": "array", "items": {"type": "integer"}}
        }),
    )
}

/// FR-07: the only adjustments of a probe (`probity_imaging::ProbeEdit`, tagged by `op`).
pub fn probe_edit() -> Value {
    json!({
        "description": "One FR-07 adjustment; there is no other operation",
        "oneOf": [
            {
                "type": "object", "title": "brightness",
                "required": ["op", "gain", "delta"],
                "properties": {"op": {"const": "brightness"}, "gain": {"type": "number"}, "delta": {"type": "number"}},
                "additionalProperties": false
            },
            {
                "type": "object", "title": "crop",
                "required": ["op", "x", "y", "width", "height"],
                "properties": {
                    "op": {"const": "crop"},
                    "x": {"type": "integer", "minimum": 0}, "y": {"type": "integer", "minimum": 0},
                    "width": {"type": "integer", "minimum": 0}, "height": {"type": "integer", "minimum": 0}
                },
                "additionalProperties": false
            },
            {
                "type": "object", "title": "rotate",
                "required": ["op", "degrees"],
                "properties": {"op": {"const": "rotate"}, "degrees": {"type": "number"}},
                "additionalProperties": false
            }
        ]
    })
}

fn binary(description: &str) -> Value {
    json!({"type": "string", "format": "binary", "description": description})
}

/// The parts of one still (N from 1 to 12; the document lists the first).
fn still_parts() -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert(
        "still_1".into(),
        binary("a still (JPEG, PNG or HEIC); further ones as still_2 … still_12"),
    );
    m.insert(
        "source_1".into(),
        json!({
            "type": "string",
            "enum": names(StillSource::ALL, StillSource::as_str),
            "description": "where still_N comes from (FR-04); body-worn camera stills need bwc_* parts (FR-16)"
        }),
    );
    m.insert("bwc_witnessed_1".into(), json!({"type": "string"}));
    m.insert("bwc_unable_1".into(), json!({"type": "string"}));
    m.insert("bwc_narrative_1".into(), json!({"type": "string"}));
    m
}

pub fn fr_request_form() -> Value {
    let mut props = still_parts();
    props.insert(
        "authorized_use".into(),
        json!({
            "type": "string",
            "enum": names(FrAuthorizedUse::ALL, FrAuthorizedUse::as_str),
            "description": "one key of GET /api/fr/authorized-uses"
        }),
    );
    props.insert(
        "unforeseen_use".into(),
        json!({"type": "string", "description": "a use not foreseen by policy, described, instead of authorized_use (FR-19)"}),
    );
    props.insert(
        "external_request".into(),
        json!({"type": "string", "description": "the documented outside agency request (FR-20)"}),
    );
    json!({ "type": "object", "properties": props })
}

pub fn fr_stills_form() -> Value {
    json!({ "type": "object", "properties": still_parts() })
}

pub fn gallery_import_form() -> Value {
    json!({
        "type": "object",
        "required": ["manifest"],
        "properties": {
            "manifest": {"type": "string", "description": "CSV: file,subject_id,source,arrest_id,photo_date"},
            "files": {"type": "array", "items": binary("a photo named as in the manifest's file column")}
        }
    })
}

pub fn evidence_upload_form() -> Value {
    let flag = json!({"type": "string", "description": "on, true or 1 when the finding was made"});
    json!({
        "type": "object",
        "required": ["file", "purpose"],
        "properties": {
            "file": binary("the camera original (JPEG, HEIC, NEF)"),
            "purpose": {
                "type": "string",
                "enum": names(DcPurpose::ALL, DcPurpose::as_str),
                "description": "the purpose of the capture (DC-01)"
            },
            "purpose_description": {"type": "string"},
            "basis": {"type": "string", "description": "the legal basis as JSON (DC-02), or the basis_* parts"},
            "basis_kind": {"type": "string", "enum": ["no_reasonable_expectation_of_privacy", "warrant", "exigency"]},
            "warrant_number": {"type": "string"},
            "issuing_judge": {"type": "string"},
            "probable_cause_finding": flag,
            "entry_authorized": flag,
            "prosecutor": {"type": "string"},
            "statute": {"type": "string", "enum": names(ExigencyStatute::ALL, ExigencyStatute::as_str)},
            "probable_cause_of_crime": flag,
            "emergency_from_conduct": flag,
            "imminent_danger": flag,
            "aimed_at_preventing_injury": flag,
            "flight_risk_cited": flag
        }
    })
}

// ------------------------------------------------------------------------------------ evidence

pub fn evidence_item(r: &mut Registry) -> Value {
    let item = r.of::<evidence::view::ItemView>();
    let custody = r.list::<evidence::view::CustodyView>();
    r.named(
        "EvidenceItemDetail",
        object(
            &["item", "custody"],
            json!({ "item": item, "custody": custody }),
        ),
    )
}

pub fn intake() -> Value {
    object(
        &[
            "id",
            "source_kind",
            "source",
            "importer",
            "purpose",
            "legal_basis",
            "started_at",
            "finished_at",
            "results",
            "safe_to_clear",
            "certificate",
            "certificate_signature",
            "device_flag",
        ],
        json!({
            "id": {"type": "string", "format": "uuid"},
            "source_kind": {"type": "string"},
            "source": {"type": "string"},
            "importer": {"type": "string"},
            "purpose": {"type": "string", "description": "DC-01 purpose in words"},
            "legal_basis": {"type": "string", "description": "DC-02 legal basis in words"},
            "started_at": {"type": "string", "format": "date-time"},
            "finished_at": {"type": ["string", "null"], "format": "date-time"},
            "results": {"description": "per-file results"},
            "safe_to_clear": {"type": "boolean"},
            "certificate": {"description": "the DC-05 certificate, when safe to clear"},
            "certificate_signature": nullable("string"),
            "device_flag": nullable("string")
        }),
    )
}

/// One exemption of Public Officers Law §87(2) (PUB-01).
pub fn foil_exemption() -> Value {
    json!({
        "type": "object",
        "required": ["letter", "citation", "wording"],
        "properties": {
            "letter": { "type": "string" },
            "citation": { "type": "string" },
            "wording": { "type": "string" },
        },
    })
}
