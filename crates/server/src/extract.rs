//! Request body extractors whose failures are problem+json with the field at fault.

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// JSON body; a malformed body names the field at fault (400), an oversized one gives 413.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(e) => Err(json_rejection(e)),
        }
    }
}

fn json_rejection(e: JsonRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", e.body_text());
    }
    match e {
        JsonRejection::JsonDataError(err) => {
            // serde_path_to_error style message: "field: reason"; keep the field when we can.
            let text = err.body_text();
            let field = field_of(&text);
            let mut api = ApiError::bad_request(format!("the request body is invalid: {text}"));
            api.field = field;
            api.code = "invalid-field";
            api
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send the body as JSON with Content-Type: application/json",
        ),
        other => ApiError::bad_request(format!(
            "the request body is not valid JSON: {}",
            other.body_text()
        )),
    }
}

/// Pulls the field name out of serde's messages ("missing field `x`", "...: at `x`").
fn field_of(text: &str) -> Option<String> {
    let start = text.find('`')?;
    let rest = &text[start + 1..];
    let end = rest.find('`')?;
    Some(rest[..end].to_string())
}

/// URL-encoded form body with the same error shape.
pub struct FormBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for FormBody<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(FormBody(v)),
            Err(e) => Err(form_rejection(e)),
        }
    }
}

fn form_rejection(e: FormRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", e.body_text());
    }
    let text = e.body_text();
    let mut api = ApiError::bad_request(format!("the form is incomplete or invalid: {text}"));
    api.field = field_of(&text);
    api
}

#[cfg(test)]
mod tests {
    #[test]
    fn field_is_taken_from_serde_messages() {
        assert_eq!(
            super::field_of("missing field `case_number` at line 1 column 2").as_deref(),
            Some("case_number")
        );
        assert_eq!(super::field_of("no backticks"), None);
    }
}
