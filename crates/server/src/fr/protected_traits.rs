//! No search by protected traits (FR-24), enforced where a search request enters the API.
//!
//! The search takes two documented options, `top_k` and `outside_repository`; the face engine has
//! no parameter for any trait at all. A body with any other field is refused rather than ignored,
//! so a client that believes it is filtering by a trait learns that it is not, and a body naming
//! a protected trait (as a field, anywhere inside one, or as the value of an undocumented field)
//! is refused naming FR-24 with the attempt written to the audit trail.

use probity_store::audit;
use serde_json::Value;

use super::workflow::SearchInput;
use crate::error::ApiError;
use crate::principal::Principal;
use crate::state::AppState;

/// The search options the API documents.
pub const SEARCH_FIELDS: [&str; 2] = ["top_k", "outside_repository"];

/// Words that name a protected trait (or a close stand-in for one), compared with whole words of
/// a field name or value after splitting on case changes and punctuation.
const PROTECTED: &[&str] = &[
    "race",
    "racial",
    "ethnic",
    "ethnicity",
    "colour",
    "color",
    "skin",
    "complexion",
    "religion",
    "religious",
    "faith",
    "creed",
    "gender",
    "sex",
    "sexual",
    "age",
    "birth",
    "dob",
    "nationality",
    "national",
    "citizenship",
    "immigration",
    "ancestry",
    "disability",
    "disabled",
    "pregnancy",
    "marital",
    "caste",
    "tribe",
    "political",
];

/// The words of a field name or value: `skinTone`, `skin_tone` and `skin-tone` are all "skin",
/// "tone".
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn names_trait(s: &str) -> Option<String> {
    words(s)
        .into_iter()
        .find(|w| PROTECTED.contains(&w.as_str()))
}

/// Every protected-trait word inside an undocumented field: its name, nested keys, and text
/// values (`{"filter": "race = x"}`), with the path where it was found.
fn traits_in(path: &str, v: &Value, found: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, inner) in map {
                let here = format!("{path}.{k}");
                if let Some(w) = names_trait(k) {
                    found.push(format!("{here} ({w})"));
                }
                traits_in(&here, inner, found);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                traits_in(&format!("{path}[{i}]"), inner, found);
            }
        }
        Value::String(s) => {
            if let Some(w) = names_trait(s) {
                found.push(format!("{path} = {s:?} ({w})"));
            }
        }
        _ => {}
    }
}

/// Checks a search body and turns it into the search options. An undocumented field is a 400
/// naming it; one that names a protected trait is a 403 naming FR-24, audited as a denied
/// `fr.search` on the request.
pub async fn search_input(
    state: &AppState,
    p: &Principal,
    request_id: &str,
    body: Option<Value>,
) -> Result<SearchInput, ApiError> {
    let body = match body {
        None | Some(Value::Null) => return Ok(SearchInput::default()),
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(ApiError::bad_request(
                "the search options are a JSON object: {\"top_k\": 50}",
            ))
        }
    };
    let mut traits = Vec::new();
    let mut unknown = Vec::new();
    for (k, v) in &body {
        if SEARCH_FIELDS.contains(&k.as_str()) {
            continue;
        }
        unknown.push(k.clone());
        if let Some(w) = names_trait(k) {
            traits.push(format!("{k} ({w})"));
        }
        traits_in(k, v, &mut traits);
    }
    if !traits.is_empty() {
        let mut tx = state.store.begin().await.map_err(crate::store_error)?;
        audit::append(
            &mut tx,
            &audit::AuditEvent {
                actor: p.actor(),
                action: "fr.search".to_string(),
                record_type: "fr_request".to_string(),
                record_id: request_id.to_string(),
                reason: None,
                outcome: audit::Outcome::Denied,
                detail: serde_json::json!({
                    "rule": "FR-24",
                    "protected_traits": traits,
                    "fields": unknown,
                }),
            },
        )
        .await
        .map_err(crate::store_error)?;
        tx.commit().await.map_err(crate::store_error)?;
        return Err(ApiError::forbidden(
            "FR-24",
            format!(
                "a search may not use any protected trait; refused and recorded: {}",
                traits.join(", ")
            ),
        ));
    }
    if let Some(first) = unknown.first() {
        return Err(ApiError::bad_field(
            first.clone(),
            format!(
                "the search takes only {}; {} {} not a search option",
                SEARCH_FIELDS.join(" and "),
                unknown.join(", "),
                if unknown.len() == 1 { "is" } else { "are" }
            ),
        ));
    }
    serde_json::from_value(Value::Object(body))
        .map_err(|e| ApiError::bad_request(format!("search options: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fr_24_trait_words_found_in_any_spelling_but_not_inside_other_words() {
        assert_eq!(names_trait("skinTone").as_deref(), Some("skin"));
        assert_eq!(names_trait("ethnic-group").as_deref(), Some("ethnic"));
        assert_eq!(names_trait("AGE_RANGE").as_deref(), Some("age"));
        assert_eq!(names_trait("sexual_orientation").as_deref(), Some("sexual"));
        // "page", "image", "stage" and "raceway" are not traits.
        assert_eq!(names_trait("page image stage raceway"), None);
        assert_eq!(names_trait("top_k"), None);
    }

    #[test]
    fn fr_24_traits_inside_nested_fields_and_values_are_found() {
        let mut found = Vec::new();
        let v = serde_json::json!({"where": [{"field": "Religion", "is": "x"}], "n": 3});
        traits_in("filter", &v, &mut found);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("filter.where[0].field"), "{found:?}");
    }
}
