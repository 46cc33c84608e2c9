//! What each API operation takes and answers, keyed by (method, path) of the route table.
//!
//! Input and output types are described by their Rust types (`utoipa::ToSchema` on the handler's
//! body and response types); ad-hoc JSON answers by the shapes in [`super::shapes`]. A route missing
//! here still appears in the document, marked `x-probity-undocumented`, and the test
//! `openapi_describes_every_api_route` fails until it is added.

use serde_json::{json, Value};

use super::shapes;
use super::Registry;
use crate::{
    access_changes, account, api, cases, disclosures, evidence, focused_audit, fr, holds,
    inspections, misuse, oversight_report, people, records, thermal,
};

/// The shape of one page of a list ([`crate::listing::Paged`]) whose items are `item`.
fn paged(item: Value) -> Value {
    json!({
        "type": "object",
        "required": ["items", "total", "total_exact", "limit", "offset", "sort", "order", "base"],
        "properties": {
            "items": {"type": "array", "items": item},
            "total": {"type": "integer", "minimum": 0},
            "total_exact": {"type": "boolean"},
            "limit": {"type": "integer", "minimum": 1},
            "offset": {"type": "integer", "minimum": 0},
            "sort": {"type": "string"},
            "order": {"type": "string", "enum": ["asc", "desc"]},
            "next": {"type": ["string", "null"]},
            "prev": {"type": ["string", "null"]},
            "base": {"type": "string"},
        }
    })
}

/// A request body.
pub enum Body {
    /// `application/json` with a schema.
    Json {
        schema: Value,
        required: bool,
        description: &'static str,
    },
    /// `multipart/form-data` with its parts.
    Multipart {
        schema: Value,
        description: &'static str,
    },
    /// Raw bytes in one of the media types.
    Raw {
        media_types: &'static [&'static str],
        description: &'static str,
    },
}

/// The content of a success response.
pub enum Content {
    Json(Value),
    /// Bytes in one of these media types.
    Media(&'static [&'static str]),
    Empty,
}

/// One success response.
pub struct Success {
    pub status: u16,
    pub description: &'static str,
    pub content: Content,
    pub headers: Vec<(&'static str, &'static str)>,
    /// OpenAPI links to the operations the answer names (stateful fuzzing follows them).
    pub links: Vec<(String, Value)>,
    /// The same status can also be a problem (a refusal before the operation's own report).
    pub or_problem: bool,
}

/// Everything the document says about one operation besides what the route table gives.
pub struct Operation {
    pub body: Option<Body>,
    /// Inline object schema of the query string: each property is a query parameter.
    pub query: Option<Value>,
    pub responses: Vec<Success>,
    /// Problem statuses besides the common ones (see `common_problems`).
    pub problems: Vec<u16>,
}

impl Operation {
    fn new() -> Self {
        Operation {
            body: None,
            query: None,
            responses: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// A route with no entry in [`describe`]: an answer of any shape.
    pub fn undocumented() -> Self {
        Operation::new().ok(200, "Success (not yet described)", Content::Json(json!({})))
    }

    fn json(mut self, schema: Value, description: &'static str) -> Self {
        self.body = Some(Body::Json {
            schema,
            required: true,
            description,
        });
        self
    }

    fn optional_json(mut self, schema: Value, description: &'static str) -> Self {
        self.body = Some(Body::Json {
            schema,
            required: false,
            description,
        });
        self
    }

    fn multipart(mut self, schema: Value, description: &'static str) -> Self {
        self.body = Some(Body::Multipart {
            schema,
            description,
        });
        self
    }

    fn raw(mut self, media_types: &'static [&'static str], description: &'static str) -> Self {
        self.body = Some(Body::Raw {
            media_types,
            description,
        });
        self
    }

    fn query(mut self, schema: Value) -> Self {
        self.query = Some(schema);
        self
    }

    fn ok(mut self, status: u16, description: &'static str, content: Content) -> Self {
        self.responses.push(Success {
            status,
            description,
            content,
            headers: Vec::new(),
            links: Vec::new(),
            or_problem: false,
        });
        self
    }

    /// The last success response's status can also come as a problem.
    fn or_problem(mut self) -> Self {
        if let Some(last) = self.responses.last_mut() {
            last.or_problem = true;
        }
        self
    }

    /// A header on the last success response.
    fn header(mut self, name: &'static str, description: &'static str) -> Self {
        if let Some(last) = self.responses.last_mut() {
            last.headers.push((name, description));
        }
        self
    }

    /// A link from the last success response to `operation_id`, its path parameter `param` taken
    /// from the answer's field `pointer` (a JSON pointer).
    fn link(mut self, name: &str, operation_id: &str, param: &str, pointer: &str) -> Self {
        if let Some(last) = self.responses.last_mut() {
            last.links.push((
                name.to_string(),
                json!({
                    "operationId": operation_id,
                    "parameters": { param: format!("$response.body#{pointer}") },
                }),
            ));
        }
        self
    }

    fn problems(mut self, statuses: &[u16]) -> Self {
        self.problems.extend_from_slice(statuses);
        self
    }
}

fn op() -> Operation {
    Operation::new()
}

use Content::{Empty, Json, Media};

const PNG: &[&str] = &["image/png"];
const JPEG: &[&str] = &["image/jpeg"];
/// What a stored camera original or repository photo can be (sniffed from its content).
const PHOTO: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/heic",
    "image/x-nikon-nef",
    "image/tiff",
    "application/octet-stream",
];

/// Links from an answer naming a case (`case_number`) to the case's operations.
fn case_links(o: Operation) -> Operation {
    o.link("GetCase", "get_cases_case", "case", "/case_number")
        .link("CloseCase", "post_cases_case_close", "case", "/case_number")
        .link(
            "ListEvidence",
            "get_cases_case_evidence",
            "case",
            "/case_number",
        )
        .link(
            "ListIntakes",
            "get_cases_case_intakes",
            "case",
            "/case_number",
        )
}

/// Links from an answer naming an account (`username`, or `pointer`) to its operations.
fn user_links(o: Operation, pointer: &str) -> Operation {
    o.link("GetUser", "get_users_username", "username", pointer)
        .link(
            "AddAssignment",
            "post_users_username_assignments",
            "username",
            pointer,
        )
        .link(
            "AddTraining",
            "post_users_username_training",
            "username",
            pointer,
        )
        .link(
            "AddContract",
            "post_users_username_contracts",
            "username",
            pointer,
        )
        .link(
            "IssueToken",
            "post_users_username_tokens",
            "username",
            pointer,
        )
}

/// Links from an answer describing a camera (`id`) to its operations.
fn device_links(o: Operation) -> Operation {
    o.link(
        "AssignDevice",
        "post_devices_device_assignment",
        "device",
        "/id",
    )
    .link(
        "InspectDevice",
        "post_devices_device_inspections",
        "device",
        "/id",
    )
    .link(
        "DeviceInterval",
        "post_devices_device_interval",
        "device",
        "/id",
    )
}

/// Links from an FR request view (`id`) to the reads of the request.
fn fr_links(o: Operation) -> Operation {
    o.link("ReadRequest", "get_fr_requests_id", "id", "/id")
        .link("Candidates", "get_fr_requests_id_candidates", "id", "/id")
        .link("Proposed", "get_fr_requests_id_proposed", "id", "/id")
        .link("Report", "get_fr_requests_id_report", "id", "/id")
}

/// The entry of (method, path), or `None` for a route this table does not know yet.
pub fn describe(method: &str, path: &str, r: &mut Registry) -> Option<Operation> {
    let fr_view = |r: &mut Registry| r.named("FrRequestView", shapes::fr_request_view());
    let o = match (method, path) {
        // ---------------------------------------------------------------- sign-in and session
        ("POST", "/api/session") => op()
            .json(r.of::<api::Credentials>(), "Username and password")
            .problems(&[401, 403])
            .ok(
                200,
                "Signed in; the session cookie is set",
                Json(r.named("SignedIn", shapes::signed_in())),
            )
            .header("Set-Cookie", "The session cookie")
            .ok(
                202,
                "Signing in from outside the agency's networks: send the one-time code to /api/session/totp (SEC-01)",
                Json(r.named("SecondFactorRequired", shapes::second_factor_required())),
            ),
        ("POST", "/api/session/totp") => op()
            .json(
                r.of::<api::SecondFactor>(),
                "The pending sign-in and the one-time code",
            )
            .problems(&[401, 403])
            .ok(
                200,
                "Signed in; the session cookie is set",
                Json(r.named("SecondFactorAccepted", shapes::second_factor_accepted())),
            )
            .header("Set-Cookie", "The session cookie"),
        ("DELETE", "/api/session") => op()
            .ok(204, "Signed out; the session cookie is cleared", Empty)
            .header("Set-Cookie", "Clears the session cookie"),
        ("GET", "/api/me") => op().ok(
            200,
            "The signed-in person and their current access",
            Json(shapes::me(r)),
        ),
        ("GET", "/api/me/second-factor") => op().ok(
            200,
            "Whether a second factor is enrolled, recovery codes left",
            Json(r.of::<account::Status>()),
        ),
        ("POST", "/api/me/second-factor") => op().problems(&[409]).ok(
            201,
            "A fresh secret, kept aside until a code confirms it",
            Json(r.of::<account::Offer>()),
        ),
        ("POST", "/api/me/second-factor/confirm") => op()
            .json(
                r.of::<account::ConfirmInput>(),
                "A code computed from the offered secret",
            )
            .problems(&[409])
            .ok(
                200,
                "Enrolled: the recovery codes, shown this once",
                Json(r.of::<account::Enrolled>()),
            ),
        ("POST", "/api/users/{username}/second-factor/reset") => op().problems(&[409]).ok(
            200,
            "The second factor removed and the person's sessions ended",
            Json(r.named("SecondFactorReset", shapes::second_factor_reset())),
        ),
        ("GET", "/api/openapi.json") => {
            op().ok(200, "This document", Json(json!({"type": "object"})))
        }

        // ---------------------------------------------------------------- cases
        ("GET", "/api/cases") => op()
            .query(Registry::inline::<cases::CaseListParams>())
            .ok(
                200,
                "One page of the cases the caller may see (decided case by case: the total is at least)",
                Json(paged(r.of::<cases::CaseView>())),
            ),
        ("POST", "/api/cases") => case_links(
            op().json(r.of::<cases::NewCaseInput>(), "The case to open")
                .problems(&[409])
                .ok(201, "The case, opened", Json(r.of::<cases::CaseView>())),
        ),
        ("GET", "/api/cases/{case}") => op().ok(
            200,
            "The case with its retention in words",
            Json(shapes::case_with_retention(r)),
        ),
        ("POST", "/api/cases/{case}/close") => op()
            .json(r.of::<cases::CloseInput>(), "The closure reason")
            .problems(&[409])
            .ok(200, "The case, closed", Json(r.of::<cases::CaseView>())),

        // ---------------------------------------------------------------- people and access
        ("GET", "/api/users") => op()
            .query(Registry::inline::<people::UserListParams>())
            .ok(200, "One page of people", Json(paged(r.of::<people::UserView>()))),
        ("POST", "/api/users") => user_links(
            op().json(
                r.of::<people::NewUserInput>(),
                "The person or service account",
            )
            .problems(&[409])
            .ok(201, "The account, created", Json(r.of::<people::UserView>())),
            "/username",
        ),
        ("GET", "/api/users/{username}") => op().ok(
            200,
            "The person with assignments, training and current access",
            Json(r.of::<people::UserDetail>()),
        ),
        ("POST", "/api/users/{username}/assignments") => op()
            .json(r.of::<people::AssignmentInput>(), "The role, command and period")
            .problems(&[409])
            .ok(
                201,
                "The assignment",
                Json(r.of::<people::AssignmentView>()),
            ),
        ("POST", "/api/users/{username}/training") => op()
            .json(r.of::<people::TrainingInput>(), "The course and its dates")
            .problems(&[409])
            .ok(201, "The training", Json(r.of::<people::TrainingView>())),
        ("POST", "/api/users/{username}/assignments/{assignment}/end") => op()
            .json(r.of::<access_changes::AccessChangeReason>(), "Why the assignment ends (audited)")
            .problems(&[409])
            .ok(
                200,
                "The assignment, ended now",
                Json(r.of::<people::AssignmentView>()),
            ),
        ("POST", "/api/users/{username}/training/{training}/revoke") => op()
            .json(r.of::<access_changes::AccessChangeReason>(), "Why the record is revoked (audited)")
            .problems(&[409])
            .ok(200, "The training record, revoked", Json(r.of::<people::TrainingView>())),
        ("POST", "/api/users/{username}/training/{training}/correct") => op()
            .json(
                r.of::<access_changes::CorrectTrainingInput>(),
                "The corrected dates and why (audited before and after)",
            )
            .problems(&[409])
            .ok(200, "The training record, corrected", Json(r.of::<people::TrainingView>())),
        ("POST", "/api/users/{username}/deactivate") => op()
            .json(r.of::<access_changes::AccessChangeReason>(), "Why the account is deactivated (audited)")
            .problems(&[409])
            .ok(200, "The account, deactivated", Json(r.of::<people::UserView>())),
        ("POST", "/api/users/{username}/reactivate") => op()
            .json(r.of::<access_changes::AccessChangeReason>(), "Why the account is reactivated (audited)")
            .problems(&[409])
            .ok(200, "The account, active again", Json(r.of::<people::UserView>())),
        ("POST", "/api/users/{username}/contracts") => op()
            .json(r.of::<people::ContractInput>(), "The contract and its period")
            .problems(&[409])
            .ok(
                201,
                "The contract",
                Json(r.named("ContractView", shapes::contract())),
            ),
        ("POST", "/api/users/{username}/tokens") => op()
            .json(r.of::<people::TokenInput>(), "Label and expiry")
            .problems(&[409])
            .ok(
                201,
                "The token, shown once",
                Json(r.of::<people::IssuedTokenView>()),
            ),

        // ---------------------------------------------------------------- audit
        ("GET", "/api/audit/verify") => {
            let v = r.named("AuditVerification", shapes::audit_verification());
            op().ok(200, "The chain is intact", Json(v.clone())).ok(
                409,
                "The chain is broken: the first bad entry and the problem",
                Json(v),
            )
        }
        ("GET", "/api/audit") => op()
            .query(Registry::inline::<api::AuditQueryParams>())
            .ok(
                200,
                "One page of the matching entries",
                Json(paged(r.named("AuditEntry", shapes::audit_entry()))),
            ),
        ("GET", "/api/search") => op()
            .query(Registry::inline::<crate::search::SearchParams>())
            .ok(
                200,
                "The records matching, each one the caller may read: the first of each kind, or one kind a page at a time, each kind with its pager",
                Json(r.of::<crate::search::SearchResults>()),
            ),

        // ---------------------------------------------------------------- breaches (EXT-05)
        ("POST", "/api/breaches/suspected") => op()
            .json(
                r.of::<crate::breach::BreachSuspicionInput>(),
                "What was seen: what may have been disclosed, to whom, when",
            )
            .ok(
                201,
                "The suspected breach, waiting for the Agency Privacy Officer",
                Json(r.of::<crate::breach::BreachSuspicionReceipt>()),
            ),
        ("GET", "/api/breaches") => op().ok(
            200,
            "Breaches and suspected breaches, newest first, with their clocks",
            Json(r.list::<crate::breach::BreachView>()),
        ),
        ("POST", "/api/breaches") => op()
            .json(
                r.of::<crate::breach::BreachRecordInput>(),
                "What was disclosed, to whom, and when it was discovered",
            )
            .problems(&[409])
            .ok(
                201,
                "The breach, recorded; its 24-hour clock runs",
                Json(r.of::<crate::breach::BreachView>()),
            ),
        ("GET", "/api/breaches/summary") => op()
            .query(Registry::inline::<crate::breach::BreachSummaryQuery>())
            .ok(
                200,
                "Counts by kind and outcome; no names",
                Json(r.of::<crate::breach::BreachSummaryView>()),
            ),
        ("GET", "/api/breaches/summary.csv") => op()
            .query(Registry::inline::<crate::breach::BreachSummaryQuery>())
            .ok(200, "The summary as CSV", Media(&["text/csv"])),
        ("GET", "/api/breaches/summary.pdf") => op()
            .query(Registry::inline::<crate::breach::BreachSummaryQuery>())
            .ok(200, "The summary as PDF", Media(&["application/pdf"])),
        ("GET", "/api/breaches/{breach}") => op().ok(
            200,
            "The breach, its escalations and letters",
            Json(r.of::<crate::breach::BreachDetailView>()),
        ),
        ("POST", "/api/breaches/{breach}/dismiss") => op()
            .json(
                r.of::<crate::breach::BreachDismissInput>(),
                "Why it is not a breach",
            )
            .problems(&[409])
            .ok(
                200,
                "The suspicion, dismissed",
                Json(r.of::<crate::breach::BreachView>()),
            ),
        ("POST", "/api/breaches/{breach}/cpo-report") => op()
            .json(
                r.of::<crate::breach::BreachCpoReportInput>(),
                "When and how the report was made",
            )
            .problems(&[409])
            .ok(
                200,
                "The breach, reported; the clock stops",
                Json(r.of::<crate::breach::BreachView>()),
            ),
        ("POST", "/api/breaches/{breach}/notification") => op()
            .json(
                r.of::<crate::breach::BreachNotificationInput>(),
                "The ground and the reason",
            )
            .problems(&[409])
            .ok(
                200,
                "The breach with the decision",
                Json(r.of::<crate::breach::BreachView>()),
            ),
        ("POST", "/api/breaches/{breach}/letters") => op()
            .json(
                r.of::<crate::breach::BreachLetterInput>(),
                "The recipient and the date sent",
            )
            .problems(&[409])
            .ok(
                201,
                "The letter, recorded",
                Json(r.of::<crate::breach::BreachLetterView>()),
            ),

        // ---------------------------------------------------------------- focused audits (SEC-05)
        ("GET", "/api/audit/focused") => op()
            .query(Registry::inline::<focused_audit::FocusedAuditQuery>())
            .problems(&[404])
            .ok(
                200,
                "The report: the scope, the entries and whether the chain verified",
                Json(r.of::<focused_audit::FocusedAuditReport>()),
            ),
        ("GET", "/api/audit/focused.csv") => op()
            .query(Registry::inline::<focused_audit::FocusedAuditQuery>())
            .problems(&[404])
            .ok(
                200,
                "The report as CSV: scope and chain statement rows, then the entries",
                Media(&["text/csv"]),
            ),
        ("GET", "/api/audit/focused.pdf") => op()
            .query(Registry::inline::<focused_audit::FocusedAuditQuery>())
            .problems(&[404])
            .ok(200, "The report as PDF", Media(&["application/pdf"])),

        // ---------------------------------------------------------------- oversight report (OVR-03)
        ("GET", "/api/oversight/report") => op()
            .query(Registry::inline::<oversight_report::OversightReportQuery>())
            .ok(
                200,
                "The report: every figure of the period by section",
                Json(r.of::<oversight_report::OversightReport>()),
            ),
        ("GET", "/api/oversight/report.csv") => op()
            .query(Registry::inline::<oversight_report::OversightReportQuery>())
            .ok(
                200,
                "The report as CSV: section, figure, breakdown, value",
                Media(&["text/csv"]),
            ),
        ("GET", "/api/oversight/report.pdf") => op()
            .query(Registry::inline::<oversight_report::OversightReportQuery>())
            .ok(200, "The report as PDF", Media(&["application/pdf"])),

        // ---------------------------------------------------------------- legal holds (RET-11)
        ("GET", "/api/holds") => op()
            .query(Registry::inline::<holds::SearchQuery>())
            .ok(
                200,
                "Legal holds, active and released",
                Json(r.list::<holds::HoldView>()),
            ),
        ("POST", "/api/holds") => op()
            .json(
                r.of::<holds::PlaceInput>(),
                "What the hold names, the matter and the reason",
            )
            .problems(&[409, 410])
            .ok(201, "The hold, in force", Json(r.of::<holds::HoldView>()))
            .link("GetHold", "get_holds_hold", "hold", "/id")
            .link("ReleaseHold", "post_holds_hold_release", "hold", "/id"),
        ("GET", "/api/holds/{hold}") => {
            op().ok(200, "The hold", Json(r.of::<holds::HoldView>()))
        }
        ("POST", "/api/holds/{hold}/release") => op()
            .json(r.of::<holds::ReleaseInput>(), "The reason for the release")
            .problems(&[409])
            .ok(200, "The hold, released", Json(r.of::<holds::HoldView>())),

        // ---------------------------------------------------------------- records lifecycle (RET)
        ("PUT", "/api/cases/{case}/retention-facts") => op()
            .json(
                r.of::<records::FactsInput>(),
                "The facts to record; a field left out keeps its value, an empty string clears it",
            )
            .ok(
                200,
                "The facts as they now stand and the case's recomputed place on the schedule",
                Json(json!({"type": "object"})),
            ),
        ("GET", "/api/retention/schedule") => op()
            .query(Registry::inline::<records::DueQuery>())
            .ok(
                200,
                "Every live record's rule and earliest disposition date",
                Json(r.list::<records::ScheduleEntry>()),
            ),
        ("GET", "/api/retention/due") => op()
            .query(Registry::inline::<records::DueQuery>())
            .ok(
                200,
                "The records due for disposition, with hold status and open proposal",
                Json(r.list::<records::ScheduleEntry>()),
            ),
        ("GET", "/api/dispositions") => op().ok(
            200,
            "Dispositions, newest first",
            Json(r.list::<records::DispositionView>()),
        ),
        ("POST", "/api/dispositions") => op()
            .json(
                r.of::<records::ProposeInput>(),
                "The record (case number or personal file id) and why it may go",
            )
            .problems(&[409])
            .ok(201, "The proposal", Json(r.of::<records::DispositionView>()))
            .link("GetDisposition", "get_dispositions_disposition", "disposition", "/id")
            .link(
                "ApproveDisposition",
                "post_dispositions_disposition_approve",
                "disposition",
                "/id",
            ),
        ("GET", "/api/dispositions/{disposition}") => op().ok(
            200,
            "The disposition",
            Json(r.of::<records::DispositionView>()),
        ),
        ("POST", "/api/dispositions/{disposition}/approve") => op()
            .json(r.of::<records::DecideInput>(), "An optional note")
            .problems(&[409])
            .ok(
                200,
                "The disposition, executed: content destroyed, certificate issued",
                Json(r.of::<records::DispositionView>()),
            ),
        ("POST", "/api/dispositions/{disposition}/reject") => op()
            .json(r.of::<records::DecideInput>(), "Why the proposal is rejected")
            .problems(&[409])
            .ok(
                200,
                "The disposition, rejected",
                Json(r.of::<records::DispositionView>()),
            ),
        ("GET", "/api/dispositions/{disposition}/certificate") => op()
            .problems(&[409])
            .ok(
                200,
                "The signed certificate",
                Json(r.of::<records::SignedCertificate>()),
            ),
        ("GET", "/api/personal-files") => op().ok(
            200,
            "Personal information files",
            Json(r.list::<records::PersonalFileView>()),
        ),
        ("POST", "/api/personal-files") => op()
            .json(r.of::<records::PersonalFileInput>(), "The person and the dates that keep the file")
            .ok(201, "The file", Json(r.of::<records::PersonalFileView>())),

        // ---------------------------------------------------------------- tour inspections (SEC-06)
        ("POST", "/api/commands/{command}/areas") => op()
            .json(r.of::<inspections::AreaInput>(), "The area's name")
            .problems(&[409])
            .ok(201, "The command's board", Json(r.of::<inspections::InspectionBoard>())),
        ("POST", "/api/commands/{command}/inspections") => op()
            .json(r.of::<inspections::InspectionInput>(), "The area and what was found")
            .problems(&[409])
            .ok(201, "The command's board", Json(r.of::<inspections::InspectionBoard>())),
        ("POST", "/api/commands/{command}/media-oversight") => op()
            .json(
                r.of::<inspections::MediaOversightInput>(),
                "Which media, what was checked, what was found",
            )
            .ok(201, "The command's board", Json(r.of::<inspections::InspectionBoard>())),
        ("GET", "/api/commands/{command}/inspections") => op()
            .query(Registry::inline::<inspections::BoardQuery>())
            .ok(
                200,
                "Areas, inspections and missed tours",
                Json(r.of::<inspections::InspectionBoard>()),
            ),

        // ---------------------------------------------------------------- published policy (OVR-02, OVR-04)
        ("GET", "/api/policy/packs") => op().ok(
            200,
            "The packs in force with the revision of each",
            Json(r.list::<crate::policy_packs::PackSummary>()),
        ),
        ("GET", "/api/policy/packs/{pack}") => op().ok(
            200,
            "The pack: rules beside their Cedar, data, history",
            Json(r.of::<crate::policy_packs::PackDetail>()),
        ),
        ("GET", "/api/policy/packs/{pack}/diff") => op()
            .query(Registry::inline::<crate::policy_packs::DiffQuery>())
            .ok(
                200,
                "Line diff of the TOML and Cedar texts",
                Json(r.of::<crate::policy_packs::PackDiff>()),
            ),
        ("POST", "/api/policy/packs/{pack}/revisions") => op()
            .json(
                r.of::<crate::policy_packs::ProposalInput>(),
                "The pack's whole new TOML and Cedar text, and why",
            )
            .problems(&[409])
            .ok(201, "The proposal", Json(r.of::<crate::policy_packs::RevisionSummary>())),
        ("POST", "/api/policy/addenda") => op()
            .json(
                r.of::<crate::policy_packs::AddendumInput>(),
                "The pack, the use it records, its text, and why",
            )
            .problems(&[409])
            .ok(201, "The addendum, proposed", Json(r.of::<crate::policy_packs::RevisionSummary>())),
        ("GET", "/api/policy/revisions/{revision}") => op().ok(
            200,
            "The revision with its full text",
            Json(r.of::<crate::policy_packs::RevisionDetail>()),
        ),
        ("POST", "/api/policy/revisions/{revision}/approve") => op()
            .json(
                r.of::<crate::policy_packs::RevisionDecisionInput>(),
                "Why, and when it takes effect",
            )
            .problems(&[409])
            .ok(200, "Approved", Json(r.of::<crate::policy_packs::RevisionSummary>())),
        ("POST", "/api/policy/revisions/{revision}/reject") => op()
            .json(r.of::<crate::policy_packs::RevisionDecisionInput>(), "Why")
            .problems(&[409])
            .ok(200, "Rejected", Json(r.of::<crate::policy_packs::RevisionSummary>())),

        // ---------------------------------------------------------------- misuse allegations (SEC-06)
        ("POST", "/api/misuse-allegations") => op()
            .json(
                r.of::<misuse::AllegationInput>(),
                "Who, what, when (a range) and which records",
            )
            .ok(201, "The allegation, received", Json(r.of::<misuse::AllegationView>())),
        ("GET", "/api/misuse-allegations") => op().ok(
            200,
            "Allegations, newest first",
            Json(r.list::<misuse::AllegationView>()),
        ),
        ("GET", "/api/misuse-allegations/{allegation}") => op().ok(
            200,
            "The allegation and the audit entries that bear on it",
            Json(r.of::<misuse::AllegationDetail>()),
        ),
        ("POST", "/api/misuse-allegations/{allegation}/assign") => op()
            .json(r.of::<misuse::MisuseAssignInput>(), "command or iab, and why")
            .problems(&[409])
            .ok(200, "Assigned", Json(r.of::<misuse::AllegationView>())),
        ("POST", "/api/misuse-allegations/{allegation}/close") => op()
            .json(r.of::<misuse::MisuseCloseInput>(), "The outcome and what was found")
            .problems(&[409])
            .ok(200, "Closed", Json(r.of::<misuse::AllegationView>())),

        // ---------------------------------------------------------------- disclosures (EXT)
        ("POST", "/api/cases/{case}/disclosures") => op()
            .json(
                r.of::<disclosures::DisclosureInput>(),
                "Recipient, purpose, basis and reference, identity confirmation, items",
            )
            .problems(&[409])
            .ok(201, "The proposal", Json(r.of::<disclosures::DisclosureView>())),
        ("GET", "/api/disclosures") => op().ok(
            200,
            "Disclosures the caller may read",
            Json(r.list::<disclosures::DisclosureView>()),
        ),
        ("GET", "/api/disclosures/{disclosure}") => op().ok(
            200,
            "The disclosure",
            Json(r.of::<disclosures::DisclosureView>()),
        ),
        ("POST", "/api/disclosures/{disclosure}/approve") => op()
            .json(r.of::<disclosures::DisclosureDecision>(), "A note (optional)")
            .problems(&[409])
            .ok(200, "Approved", Json(r.of::<disclosures::DisclosureView>())),
        ("POST", "/api/disclosures/{disclosure}/reject") => op()
            .json(r.of::<disclosures::DisclosureDecision>(), "Why (required)")
            .problems(&[409])
            .ok(200, "Rejected", Json(r.of::<disclosures::DisclosureView>())),
        ("POST", "/api/disclosures/{disclosure}/release") => op()
            .optional_json(
                json!({"type": "object", "description": "Nothing is needed; a body is ignored"}),
                "Nothing (the approval says everything)",
            )
            .problems(&[409])
            .ok(
                200,
                "Released: the manifest hash is the release log",
                Json(r.of::<disclosures::DisclosureView>()),
            ),
        ("GET", "/api/disclosures/{disclosure}/package") => op().problems(&[409]).ok(
            200,
            "The package (.tar): manifest.json, manifest.sig and the originals",
            Media(&["application/x-tar"]),
        ),

        // ---------------------------------------------------------------- scheduler (operations)
        ("GET", "/api/operations/runs") => op()
            .query(Registry::inline::<crate::scheduler::RunsQuery>())
            .ok(
                200,
                "Every scheduled job with its next run and lease, and the runs, newest first",
                Json(r.of::<crate::scheduler::OperationsView>()),
            ),
        ("POST", "/api/operations/jobs/{job}/run") => op()
            .optional_json(
                json!({"type": "object", "description": "Nothing is needed; a body is ignored"}),
                "Nothing (the job and the caller say everything)",
            )
            .problems(&[409])
            .ok(
                200,
                "The run, finished: outcome, summary or error",
                Json(r.of::<crate::scheduler::RunOutcome>()),
            ),

        // ---------------------------------------------------------------- facial recognition
        ("POST", "/api/cases/{case}/fr-requests") => fr_links(
            op().multipart(
                shapes::fr_request_form(),
                "The request for analysis: authorized use (or unforeseen use), stills and their sources (FR-04)",
            )
            .problems(&[409])
            .ok(201, "The request, submitted", Json(fr_view(r))),
        ),
        ("GET", "/api/fr/authorized-uses") => op().ok(
            200,
            "The closed list of authorized uses (FR-05)",
            Json(json!({"type": "array", "items": r.named("AuthorizedUse", shapes::authorized_use())})),
        ),
        ("GET", "/api/fr/queue") => op()
            .query(Registry::inline::<fr::api::QueueParams>())
            .ok(
                200,
                "One page of the requests the caller works (decided request by request: the total is at least)",
                Json(paged(r.named("FrQueueRow", shapes::fr_queue_row()))),
            ),
        ("GET", "/api/fr/requests/{id}") => {
            op().ok(200, "The request as the caller may see it", Json(fr_view(r)))
        }
        ("POST", "/api/fr/requests/{id}/stills") => op()
            .multipart(
                shapes::fr_stills_form(),
                "Further stills and their sources",
            )
            .problems(&[409])
            .ok(200, "The request, resubmitted", Json(fr_view(r))),
        ("POST", "/api/fr/requests/{id}/confirm-basis") => op()
            .problems(&[409])
            .ok(200, "The request, basis confirmed", Json(fr_view(r))),
        ("GET", "/api/fr/requests/{id}/stills/{n}/quality") => op().ok(
            200,
            "Faces found in the still and their measured quality",
            Json(r.named("StillQuality", shapes::still_quality())),
        ),
        ("GET", "/api/fr/requests/{id}/stills/{n}/image") => op()
            .query(Registry::inline::<fr::api::ImageQuery>())
            .ok(200, "The still (or the edited probe) as PNG", Media(PNG)),
        ("POST", "/api/fr/requests/{id}/quality") => op()
            .json(
                r.of::<fr::workflow::QualityInput>(),
                "The probe and the quality verdict",
            )
            .problems(&[409])
            .ok(200, "The request with the measured quality", Json(fr_view(r))),
        ("POST", "/api/fr/requests/{id}/edits") => op()
            .json(
                r.named("ProbeEdit", shapes::probe_edit()),
                "One adjustment: brightness, crop or rotate (FR-07)",
            )
            .problems(&[409])
            .ok(200, "The request with the edit recorded", Json(fr_view(r))),
        ("POST", "/api/fr/requests/{id}/discussion") => op()
            .json(r.of::<fr::api::NoteInput>(), "A note on the discussion")
            .problems(&[409])
            .ok(200, "The request", Json(fr_view(r))),
        ("POST", "/api/fr/requests/{id}/outside-repository/approvals")
        | ("POST", "/api/fr/requests/{id}/unforeseen-use/approvals") => op()
            .json(r.of::<fr::api::ReasonInput>(), "The official's reason")
            .problems(&[409])
            .ok(200, "The request with the approval", Json(fr_view(r))),
        ("POST", "/api/fr/requests/{id}/search") => op()
            .optional_json(
                r.of::<fr::workflow::SearchInput>(),
                "Search options (optional). Any other field is refused with 400 naming it; a field or value naming a protected trait is refused with 403 naming FR-24, and the attempt is audited",
            )
            .problems(&[409])
            .ok(
                200,
                "The request with the size of the stored pool",
                Json(fr_view(r)),
            ),
        ("GET", "/api/fr/requests/{id}/candidates") => op().ok(
            200,
            "The candidate pool (FR staff only)",
            Json(shapes::candidates(r)),
        ),
        ("GET", "/api/fr/requests/{id}/candidates/{candidate}/photo") => {
            op().ok(200, "The candidate's repository photo", Media(PHOTO))
        }
        ("POST", "/api/fr/requests/{id}/identification") => op()
            .json(
                r.of::<fr::workflow::IdentificationInput>(),
                "The comparison of each candidate (FR-09)",
            )
            .problems(&[409])
            .ok(200, "The request", Json(fr_view(r))),
        ("GET", "/api/fr/requests/{id}/proposed") => op().ok(
            200,
            "The proposed candidate, unapproved (FR-10)",
            Json(r.named("ProposedCandidate", shapes::proposed())),
        ),
        ("POST", "/api/fr/requests/{id}/background-check") => op()
            .json(r.of::<fr::api::BackgroundInput>(), "The background check")
            .problems(&[409])
            .ok(200, "The request", Json(fr_view(r))),
        ("POST", "/api/fr/requests/{id}/peer-review") => op()
            .json(r.of::<fr::api::PeerInput>(), "The peer review")
            .problems(&[409])
            .ok(200, "The request", Json(fr_view(r))),
        ("POST", "/api/fr/requests/{id}/supervisor-review") => op()
            .json(
                r.of::<fr::workflow::SupervisorInput>(),
                "The supervisor's decision",
            )
            .problems(&[409])
            .ok(200, "The request", Json(fr_view(r))),
        ("GET", "/api/fr/requests/{id}/report") => op().ok(
            200,
            "The report (FR-13, FR-14)",
            Json(r.named("FrReport", shapes::fr_report())),
        ),
        ("GET", "/api/fr/requests/{id}/report.pdf") => op().ok(
            200,
            "The report as PDF",
            Media(&["application/pdf"]),
        ),
        ("POST", "/api/cases/{case}/fr-entries") => op()
            .json(
                r.of::<fr::api::CaseEntryInput>(),
                "Corroborating evidence, or an arrest basis",
            )
            .problems(&[409])
            .ok(
                201,
                "The entry, recorded",
                Json(r.named("CaseEntry", shapes::case_entry())),
            ),
        ("POST", "/api/fr/external-requests") => op()
            .json(
                r.of::<fr::api::ExternalInput>(),
                "The outside agency's request",
            )
            .problems(&[409])
            .ok(
                201,
                "The request, documented",
                Json(r.named("CreatedId", shapes::created_id())),
            ),
        ("GET", "/api/fr/external-requests") => op().ok(
            200,
            "Outside agencies' requests, newest first",
            Json(json!({"type": "array", "items": r.named("ExternalRequest", shapes::external_request())})),
        ),
        ("GET", "/api/fr/oversight") => op().ok(
            200,
            "Aggregates for oversight",
            Json(r.named("FrOversight", shapes::fr_oversight())),
        ),
        ("GET", "/api/fr/gallery") => op().ok(
            200,
            "The photo repository in figures",
            Json(r.named("GalleryFigures", shapes::gallery_figures())),
        ),
        ("GET", "/api/fr/gallery/quality") => op()
            .query(Registry::inline::<fr::gallery_quality::QualityListParams>())
            .ok(
                200,
                "One page of the flagged repository photos awaiting review, oldest first",
                Json(r.of::<fr::gallery_quality::FlaggedPage>()),
            ),
        ("POST", "/api/fr/gallery/quality/{record}/review") => op()
            .json(
                r.of::<fr::gallery_quality::PhotoReviewInput>(),
                "What was decided about the photo",
            )
            .problems(&[404, 409])
            .ok(
                200,
                "The review recorded",
                Json(serde_json::json!({
                    "type": "object",
                    "required": ["record_no", "reviewed_by", "reviewed_at", "review_note", "issues"],
                    "properties": {
                        "record_no": {"type": "integer"},
                        "reviewed_by": {"type": "string"},
                        "reviewed_at": {"type": "string", "format": "date-time"},
                        "review_note": {"type": "string"},
                        "issues": {"type": "array", "items": {"type": "string"}}
                    }
                })),
            ),
        ("GET", "/api/fr/gallery/records") => op()
            .query(Registry::inline::<fr::api::RecordListParams>())
            .ok(
                200,
                "One page of the repository's records (one decision on the repository: the total is exact)",
                Json(paged(r.of::<fr::api::RepositoryRecordView>())),
            ),
        ("POST", "/api/fr/gallery/import") => {
            let report = shapes::gallery_import(r);
            op().multipart(
                shapes::gallery_import_form(),
                "The manifest CSV and the photo files it names",
            )
            .problems(&[409])
            .ok(200, "What was imported and what was refused", Json(report.clone()))
            .ok(
                422,
                "Nothing was imported: every row was refused (or a problem)",
                Json(report),
            )
            .or_problem()
        }
        ("POST", "/api/fr/gallery/arrests/{arrest}/seal") => op()
            .json(r.of::<fr::api::SealInput>(), "Seal or unseal, with a reason")
            .problems(&[409])
            .ok(
                200,
                "The records changed",
                Json(r.named("SealResult", shapes::seal_result())),
            ),

        // ---------------------------------------------------------------- algorithms (FR-23)
        ("GET", "/api/fr/algorithms") => op().ok(
            200,
            "Registered versions with their evaluation and the gate's verdict, the active and \
             previous version, proposals and re-templating progress",
            Json(r.of::<fr::algorithms::AlgorithmsView>()),
        ),
        ("POST", "/api/fr/algorithms/{algorithm}/evaluation") => op()
            .json(
                r.of::<fr::algorithms::AlgorithmEvaluationInput>(),
                "The evaluation record `probity eval` wrote (as `record`, or as the whole body), \
                 or the figures with the data set and the command",
            )
            .problems(&[404])
            .ok(
                201,
                "The evaluation, recorded, with the gate's verdict",
                Json(r.of::<fr::algorithms::AlgorithmEvaluationView>()),
            ),
        ("POST", "/api/fr/algorithms/{algorithm}/activation") => op()
            .json(
                r.of::<fr::algorithms::AlgorithmProposalInput>(),
                "Why the version should be activated",
            )
            .problems(&[404, 409, 422])
            .ok(
                201,
                "The proposal, awaiting a second person's approval",
                Json(r.of::<fr::algorithms::AlgorithmActivationView>()),
            ),
        ("POST", "/api/fr/algorithms/{algorithm}/activation/approve") => op()
            .json(
                r.of::<fr::algorithms::AlgorithmDecisionInput>(),
                "Approve (default) or refuse, with the reason",
            )
            .problems(&[404, 409, 422])
            .ok(
                200,
                "The decision; an approval starts re-templating",
                Json(r.of::<fr::algorithms::AlgorithmActivationView>()),
            ),
        ("POST", "/api/fr/algorithms/rollback") => op()
            .json(
                r.of::<fr::algorithms::AlgorithmRollbackInput>(),
                "Why the previous version returns",
            )
            .problems(&[409])
            .ok(
                200,
                "The rollback: switched at once, or re-templating the missing templates first",
                Json(r.of::<fr::algorithms::AlgorithmActivationView>()),
            ),

        // ---------------------------------------------------------------- digital camera evidence
        ("GET", "/api/cases/{case}/evidence") => op()
            .query(Registry::inline::<evidence::view::ItemListParams>())
            .ok(
                200,
                "One page of the case's items (one decision on the case's evidence: the total is exact)",
                Json(paged(r.of::<evidence::view::ItemView>())),
            ),
        ("POST", "/api/cases/{case}/evidence") => {
            let report = r.of::<evidence::IntakeReport>();
            op().multipart(
                shapes::evidence_upload_form(),
                "One camera original with its purpose and legal basis",
            )
            .problems(&[409])
            .ok(201, "Stored", Json(report.clone()))
            .ok(200, "Already in the case", Json(report.clone()))
            .ok(
                422,
                "Refused: the intake report says why per file, or a problem names what is missing (DC-01, DC-02)",
                Json(report),
            )
            .or_problem()
        }
        ("GET", "/api/cases/{case}/evidence/{item}") => op().ok(
            200,
            "The item and its custody history",
            Json(shapes::evidence_item(r)),
        ),
        ("GET", "/api/cases/{case}/evidence/{item}/original") => op()
            .ok(200, "The original, bit for bit", Media(PHOTO))
            .header("Content-Disposition", "attachment with the original file name"),
        ("GET", "/api/cases/{case}/evidence/{item}/thumbnail") => op()
            .ok(200, "The thumbnail", Media(JPEG))
            .header("ETag", "Stable: thumbnails never change")
            .ok(304, "Not modified (If-None-Match)", Empty),
        ("GET", "/api/cases/{case}/intakes") => op().ok(
            200,
            "The case's intakes, newest first",
            Json(shapes::object_with(
                "intakes",
                json!({"type": "array", "items": r.named("Intake", shapes::intake())}),
            )),
        ),
        ("POST", "/api/cases/{case}/discovery") => op()
            .json(
                r.of::<evidence::api::DiscoveryInput>(),
                "The items and the prosecutor",
            )
            .ok(
                200,
                "The discovery package",
                Media(&["application/x-tar"]),
            )
            .header("Content-Disposition", "attachment; discovery-CASE.tar"),
        ("GET", "/api/discovery/signing-key") => op().ok(
            200,
            "The key that signs discovery manifests",
            Json(r.of::<evidence::discovery::PublishedKey>()),
        ),
        ("GET", "/api/devices") => {
            let mut page = paged(r.of::<evidence::devices::DeviceView>());
            page["properties"]["flagged_intakes"] =
                r.list::<evidence::devices::FlaggedIntake>();
            if let Some(req) = page["required"].as_array_mut() {
                req.push(json!("flagged_intakes"));
            }
            op().query(Registry::inline::<evidence::devices::DeviceListParams>())
                .ok(
                    200,
                    "One page of the cameras the caller accounts for or holds (decided camera by camera: the total is at least), with the intakes flagged for review",
                    Json(page),
                )
        }
        ("POST", "/api/devices") => device_links(
            op().json(r.of::<evidence::devices::NewDeviceInput>(), "The camera")
                .problems(&[409])
                .ok(
                    201,
                    "The camera, inventoried",
                    Json(r.of::<evidence::devices::DeviceView>()),
                ),
        ),
        ("POST", "/api/devices/{device}/assignment") => op()
            .json(
                r.of::<evidence::devices::AssignInput>(),
                "The member, or none to end the assignment",
            )
            .problems(&[409])
            .ok(200, "The camera", Json(r.of::<evidence::devices::DeviceView>())),
        ("POST", "/api/devices/{device}/inspections") => op()
            .json(r.of::<evidence::devices::InspectInput>(), "The inspection")
            .problems(&[409])
            .ok(201, "The camera", Json(r.of::<evidence::devices::DeviceView>())),
        ("POST", "/api/devices/{device}/interval") => op()
            .json(r.of::<evidence::devices::IntervalInput>(), "The interval")
            .problems(&[409])
            .ok(200, "The camera", Json(r.of::<evidence::devices::DeviceView>())),

        // ---------------------------------------------------------------- thermal
        ("GET", "/api/thermal/authorizations") => op()
            .query(Registry::inline::<thermal::AuthorizationListParams>())
            .ok(
                200,
                "One page of the authorizations of the caller's commands (decided one by one: the total is at least)",
                Json(paged(r.of::<thermal::AuthorizationView>())),
            ),
        ("POST", "/api/thermal/authorizations") => op()
            .json(r.of::<thermal::AuthorizeInput>(), "The deployment")
            .problems(&[409])
            .ok(
                201,
                "The authorization",
                Json(r.of::<thermal::AuthorizationView>()),
            ),
        ("POST", "/api/thermal/live/{source}/frames") => op()
            .raw(
                &[
                    "image/jpeg",
                    "application/octet-stream",
                    "application/x-thermal-raw16",
                ],
                "One frame: FLIR radiometric JPEG, FFF, or raw 16-bit with width and height in the query",
            )
            .query(Registry::inline::<thermal::live::PushQuery>())
            .problems(&[409])
            .ok(
                202,
                "Published to the monitors (never any temperature or pixel back)",
                Json(r.of::<thermal::live::PushView>()),
            ),
        ("DELETE", "/api/thermal/live/{source}") => op().ok(204, "Session ended", Empty),
        ("GET", "/api/thermal/live/{source}/view") => op()
            .query(Registry::inline::<thermal::live::ViewQuery>())
            .ok(
                200,
                "The latest frame, rendered",
                Json(r.of::<thermal::live::FrameView>()),
            )
            .ok(204, "No newer frame within 10 s", Empty),
        ("GET", "/api/thermal/robot/frames") => op().ok(
            200,
            "Retained robot frames",
            Json(r.list::<thermal::robot::RobotFrameView>()),
        ),
        ("GET", "/api/thermal/robot/frames/{id}/image") => op()
            .query(Registry::inline::<thermal::robot::ImageQuery>())
            .problems(&[410])
            .ok(200, "The frame rendered with a palette", Media(PNG)),
        ("POST", "/api/cases/{case}/thermal/robot-frames") => op()
            .json(r.of::<thermal::robot::AttachInput>(), "The robot frame")
            .problems(&[409, 410])
            .ok(
                200,
                "The frame, now in the case",
                Json(r.of::<thermal::robot::RobotFrameView>()),
            ),
        ("POST", "/api/thermal/robot/retention") => op().problems(&[409]).ok(
            200,
            "Frames destroyed, with their certificates",
            Json(r.of::<thermal::robot::RetentionReport>()),
        ),
        ("GET", "/api/thermal/oversight") => op()
            .query(Registry::inline::<thermal::OversightQuery>())
            .ok(
                200,
                "Deployments by basis",
                Json(r.of::<thermal::OversightView>()),
            ),
        // ---------------------------------------------------------------- FOIL (PUB-01)
        ("GET", "/api/foil/requests") => op().ok(
            200,
            "Every request with its clock (overdue flags), and the counts",
            Json(r.of::<crate::foil::QueueView>()),
        ),
        ("POST", "/api/foil/requests") => op()
            .json(
                r.of::<crate::foil::IntakeInput>(),
                "Requester, contact, the records requested and the date received",
            )
            .problems(&[409])
            .ok(201, "The request, logged", Json(r.of::<crate::foil::DetailView>()))
            .link("GetFoil", "get_foil_requests_foil", "foil", "/request/id")
            .link("AcknowledgeFoil", "post_foil_requests_foil_acknowledge", "foil", "/request/id")
            .link("GatherFoil", "post_foil_requests_foil_records", "foil", "/request/id")
            .link("ReviewFoil", "post_foil_requests_foil_review", "foil", "/request/id")
            .link("DecideFoil", "post_foil_requests_foil_decision", "foil", "/request/id"),
        ("POST", "/api/foil/public-requests") => op()
            .json(
                r.of::<crate::foil::PublicInput>(),
                "Requester, contact and the records requested (no account needed)",
            )
            .problems(&[409, 429])
            .ok(201, "The receipt", Json(r.of::<crate::foil::ReceiptView>())),
        ("GET", "/api/foil/exemptions") => op().ok(
            200,
            "The exemptions of POL §87(2) (a)-(t)",
            Json(json!({"type": "array", "items": r.named("FoilExemption", shapes::foil_exemption())})),
        ),
        ("GET", "/api/foil/counts") | ("GET", "/api/foil/oversight") => op().ok(
            200,
            "FOIL counts",
            Json(r.of::<crate::foil::Counts>()),
        ),
        ("GET", "/api/foil/releases") => op().ok(
            200,
            "The release log, newest first",
            Json(r.list::<crate::foil::ReleaseView>()),
        ),
        ("GET", "/api/foil/releases/{release}/file") => {
            op().ok(200, "The released (redacted) copy", Media(JPEG))
        }
        ("GET", "/api/foil/requests/{foil}") => op().ok(
            200,
            "The request, its records, boxes, releases and appeals",
            Json(r.of::<crate::foil::DetailView>()),
        ),
        ("POST", "/api/foil/requests/{foil}/acknowledge") => op()
            .json(
                r.of::<crate::foil::AcknowledgeInput>(),
                "The acknowledgement date and the decision date",
            )
            .problems(&[409])
            .ok(200, "The request, acknowledged", Json(r.of::<crate::foil::DetailView>())),
        ("POST", "/api/foil/requests/{foil}/extend") => op()
            .json(
                r.of::<crate::foil::ExtendInput>(),
                "The new decision date and the reason",
            )
            .problems(&[409])
            .ok(200, "The request, extended", Json(r.of::<crate::foil::DetailView>())),
        ("POST", "/api/foil/requests/{foil}/records") => op()
            .json(
                r.of::<crate::foil::GatherInput>(),
                "The case (and optionally one item) whose evidence is responsive",
            )
            .problems(&[409, 410])
            .ok(200, "What was gathered and what was left out", Json(r.of::<crate::foil::GatherReport>())),
        ("POST", "/api/foil/requests/{foil}/records/{record}/detect") => op()
            .problems(&[409, 422])
            .ok(200, "The record with a box proposed for every face", Json(r.of::<crate::foil::RecordView>())),
        ("POST", "/api/foil/requests/{foil}/records/{record}/boxes") => op()
            .json(
                r.of::<crate::foil::BoxInput>(),
                "The box (inside the image) and what it covers",
            )
            .problems(&[409])
            .ok(201, "The record with the box", Json(r.of::<crate::foil::RecordView>())),
        ("POST", "/api/foil/requests/{foil}/records/{record}/boxes/{box}/remove") => op()
            .problems(&[409, 422])
            .ok(200, "The record, the box marked removed", Json(r.of::<crate::foil::RecordView>())),
        ("GET", "/api/foil/requests/{foil}/records/{record}/image") => op()
            .query(Registry::inline::<crate::foil::api::ImageQuery>())
            .problems(&[422])
            .ok(200, "The image, boxes outlined or filled", Media(JPEG)),
        ("POST", "/api/foil/requests/{foil}/review") => op()
            .json(r.of::<crate::foil::ReviewInput>(), "Review notes")
            .problems(&[409])
            .ok(200, "The request, reviewed", Json(r.of::<crate::foil::DetailView>())),
        ("POST", "/api/foil/requests/{foil}/decision") => op()
            .json(
                r.of::<crate::foil::DecisionInput>(),
                "Grant or deny, with the exemptions relied on",
            )
            .problems(&[409])
            .ok(200, "The request, decided (and the releases)", Json(r.of::<crate::foil::DetailView>())),
        ("POST", "/api/foil/requests/{foil}/appeals") => op()
            .json(r.of::<crate::foil::AppealInput>(), "The appeal's receipt date and grounds")
            .problems(&[409])
            .ok(201, "The request, appealed", Json(r.of::<crate::foil::DetailView>())),
        ("POST", "/api/foil/requests/{foil}/appeals/decision") => op()
            .json(
                r.of::<crate::foil::AppealDecisionInput>(),
                "Upheld or reversed, with the reason",
            )
            .problems(&[409])
            .ok(200, "The request, the appeal decided", Json(r.of::<crate::foil::DetailView>())),
        ("GET", "/api/me/worklist") => op().ok(
            200,
            "What waits for the caller, by urgency, each item decided on its own record",
            Json(r.of::<crate::worklist::Worklist>()),
        ),
        _ => return None,
    };
    Some(o)
}
