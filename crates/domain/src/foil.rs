//! Public records requests under New York's Freedom of Information Law (PUB-01).
//!
//! - The business-day calendar: weekends, and the New York State and federal public holidays
//!   computed per year with their observed dates ([`holidays`], [`is_business_day`],
//!   [`add_business_days`]).
//! - The statutory clocks of Public Officers Law §89(3)(a) and §89(4)(a): acknowledgement within
//!   five business days of receipt; a decision by the date the acknowledgement gives, at most
//!   twenty business days after it unless an extension is recorded with its reason; an appeal
//!   within thirty days of a denial, decided within ten business days of its receipt.
//! - The exemptions of §87(2) (a)-(t), as data with their wording ([`EXEMPTIONS`]).
//! - The checks that refuse bad input with rule PUB-01: a release without a completed review, a
//!   reviewer who gathered the records (four eyes), a redaction box outside the image, a denial
//!   (or a redacted release) without an exemption.
//!
//! No clock: every function takes the dates it needs.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Serialize;

use crate::macros::text_enum;
use crate::DomainError;

/// The rule every refusal of this module names.
pub const RULE: &str = "PUB-01";

/// Business days after receipt to acknowledge a request (§89(3)(a)).
pub const ACKNOWLEDGE_BUSINESS_DAYS: u32 = 5;
/// Business days after the acknowledgement a decision may be promised without an extension.
pub const DECISION_BUSINESS_DAYS: u32 = 20;
/// Calendar days after a denial in which an appeal may be made (§89(4)(a)).
pub const APPEAL_WINDOW_DAYS: i64 = 30;
/// Business days after an appeal's receipt to decide it (§89(4)(a)).
pub const APPEAL_DECISION_BUSINESS_DAYS: u32 = 10;

// ------------------------------------------------------------------ holidays

/// Which calendar makes a day a holiday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HolidayCalendar {
    /// A public holiday of New York State (General Construction Law §24) and of the United States
    /// (5 U.S.C. §6103).
    StateAndFederal,
    /// A New York State public holiday only.
    State,
}

/// One holiday of a year, and the weekday on which it is observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Holiday {
    pub name: &'static str,
    /// The holiday's own date.
    pub date: NaiveDate,
    /// The weekday on which offices close for it: the date itself on a weekday; a Sunday
    /// holiday is observed on the Monday after (state and federal law); a Saturday holiday on
    /// the Friday before when it is a federal holiday (5 U.S.C. §6103(b)), not at all when it is
    /// a state holiday only. `None`: no weekday is lost.
    pub observed: Option<NaiveDate>,
    pub calendar: HolidayCalendar,
}

fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// The `n`-th (1-based) `weekday` of a month.
fn nth_weekday(y: i32, m: u32, weekday: Weekday, n: u32) -> Option<NaiveDate> {
    let first = ymd(y, m, 1)?;
    let offset = (7 + weekday.num_days_from_monday() - first.weekday().num_days_from_monday()) % 7;
    first.checked_add_signed(Duration::days(i64::from(offset + 7 * (n - 1))))
}

/// The last `weekday` of a month.
fn last_weekday(y: i32, m: u32, weekday: Weekday) -> Option<NaiveDate> {
    let next_first = if m == 12 {
        ymd(y + 1, 1, 1)?
    } else {
        ymd(y, m + 1, 1)?
    };
    let last = next_first.pred_opt()?;
    let back = (7 + last.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
    last.checked_sub_signed(Duration::days(i64::from(back)))
}

fn observed(date: NaiveDate, calendar: HolidayCalendar) -> Option<NaiveDate> {
    match date.weekday() {
        Weekday::Sun => date.succ_opt(),
        Weekday::Sat => match calendar {
            HolidayCalendar::StateAndFederal => date.pred_opt(),
            HolidayCalendar::State => None,
        },
        _ => Some(date),
    }
}

/// The New York State and federal public holidays of `year`, in date order.
///
/// New Year's Day, Martin Luther King Jr. Day (third Monday of January), Lincoln's Birthday
/// (February 12, state), Washington's Birthday (third Monday of February), Memorial Day (last
/// Monday of May), Juneteenth (June 19, from 2021 on both calendars; the state's from 2020),
/// Independence Day, Labor Day (first Monday of September), Columbus Day (second Monday of
/// October), Election Day (the Tuesday after the first Monday of November, state), Veterans Day
/// (November 11), Thanksgiving (fourth Thursday of November) and Christmas. Flag Day (the second
/// Sunday of June) is a state holiday that never moves to a weekday, so it is left out.
pub fn holidays(year: i32) -> Vec<Holiday> {
    use HolidayCalendar::{State, StateAndFederal};
    let candidates: [(&'static str, Option<NaiveDate>, HolidayCalendar); 13] = [
        ("New Year's Day", ymd(year, 1, 1), StateAndFederal),
        (
            "Martin Luther King Jr. Day",
            nth_weekday(year, 1, Weekday::Mon, 3),
            StateAndFederal,
        ),
        ("Lincoln's Birthday", ymd(year, 2, 12), State),
        (
            "Washington's Birthday",
            nth_weekday(year, 2, Weekday::Mon, 3),
            StateAndFederal,
        ),
        (
            "Memorial Day",
            last_weekday(year, 5, Weekday::Mon),
            StateAndFederal,
        ),
        (
            "Juneteenth",
            if year >= 2020 { ymd(year, 6, 19) } else { None },
            if year >= 2021 { StateAndFederal } else { State },
        ),
        ("Independence Day", ymd(year, 7, 4), StateAndFederal),
        (
            "Labor Day",
            nth_weekday(year, 9, Weekday::Mon, 1),
            StateAndFederal,
        ),
        (
            "Columbus Day",
            nth_weekday(year, 10, Weekday::Mon, 2),
            StateAndFederal,
        ),
        (
            "Election Day",
            nth_weekday(year, 11, Weekday::Mon, 1).and_then(|d| d.succ_opt()),
            State,
        ),
        ("Veterans Day", ymd(year, 11, 11), StateAndFederal),
        (
            "Thanksgiving Day",
            nth_weekday(year, 11, Weekday::Thu, 4),
            StateAndFederal,
        ),
        ("Christmas Day", ymd(year, 12, 25), StateAndFederal),
    ];
    candidates
        .into_iter()
        .filter_map(|(name, date, calendar)| {
            date.map(|date| Holiday {
                name,
                date,
                observed: observed(date, calendar),
                calendar,
            })
        })
        .collect()
}

/// The holiday for which offices are closed on `d` (a weekday), if any. New Year's Day falling
/// on a Saturday is observed on December 31 of the year before, so the next year is looked at
/// too.
pub fn holiday_on(d: NaiveDate) -> Option<&'static str> {
    [d.year(), d.year() + 1]
        .into_iter()
        .flat_map(holidays)
        .find(|h| h.observed == Some(d))
        .map(|h| h.name)
}

/// A business day: Monday to Friday and not a (observed) state or federal holiday.
pub fn is_business_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && holiday_on(d).is_none()
}

/// The `n`-th business day after `from` (`from` itself never counts: the day of receipt is day
/// zero). `n == 0` gives `from`.
pub fn add_business_days(from: NaiveDate, n: u32) -> NaiveDate {
    let mut d = from;
    let mut left = n;
    while left > 0 {
        match d.succ_opt() {
            Some(next) => d = next,
            None => return d,
        }
        if is_business_day(d) {
            left -= 1;
        }
    }
    d
}

/// Business days in `(from, to]`: how many business days `to` lies after `from` (0 when `to` is
/// not after `from`).
pub fn business_days_between(from: NaiveDate, to: NaiveDate) -> u32 {
    let mut n = 0;
    let mut d = from;
    while d < to {
        match d.succ_opt() {
            Some(next) => d = next,
            None => break,
        }
        if is_business_day(d) {
            n += 1;
        }
    }
    n
}

// ------------------------------------------------------------------ clocks

/// The calendar date in New York at the instant `now` (Eastern time: UTC-5, and UTC-4 from the
/// second Sunday of March at 2:00 to the first Sunday of November at 2:00). The statute counts
/// New York business days, so "today" is New York's.
pub fn new_york_date(now: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    let year = now.year();
    let at = |d: Option<NaiveDate>, utc_hour: u32| {
        d.and_then(|d| d.and_hms_opt(utc_hour, 0, 0))
            .map(|t| t.and_utc())
    };
    // 2:00 EST = 7:00 UTC; 2:00 EDT = 6:00 UTC.
    let dst_start = at(nth_weekday(year, 3, Weekday::Sun, 2), 7);
    let dst_end = at(nth_weekday(year, 11, Weekday::Sun, 1), 6);
    let summer = matches!((dst_start, dst_end), (Some(s), Some(e)) if now >= s && now < e);
    let offset = if summer { 4 } else { 5 };
    (now - Duration::hours(offset)).date_naive()
}

/// The acknowledgement deadline of a request received on `received` (§89(3)(a)).
pub fn acknowledge_by(received: NaiveDate) -> NaiveDate {
    add_business_days(received, ACKNOWLEDGE_BUSINESS_DAYS)
}

/// The latest decision date an acknowledgement on `acknowledged` may give without an extension.
pub fn latest_decision_without_extension(acknowledged: NaiveDate) -> NaiveDate {
    add_business_days(acknowledged, DECISION_BUSINESS_DAYS)
}

/// The last day of the appeal window after a denial on `denied`.
pub fn appeal_by(denied: NaiveDate) -> NaiveDate {
    denied + Duration::days(APPEAL_WINDOW_DAYS)
}

/// The date by which an appeal received on `received` must be decided.
pub fn appeal_decide_by(received: NaiveDate) -> NaiveDate {
    add_business_days(received, APPEAL_DECISION_BUSINESS_DAYS)
}

/// A checked acknowledgement: the date given for the decision, and the extension if it goes
/// past twenty business days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Acknowledgement {
    pub acknowledged_on: NaiveDate,
    pub decision_by: NaiveDate,
    /// True when acknowledged after the fifth business day.
    pub late: bool,
    /// The reason for a decision date past twenty business days.
    pub extension_reason: Option<String>,
}

fn nonempty(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}

/// The decision date an acknowledgement (or a later extension) gives: a business day after the
/// acknowledgement; past twenty business days only with a reason.
fn check_decision_date(
    acknowledged_on: NaiveDate,
    decision_by: NaiveDate,
    extension_reason: Option<&str>,
) -> Result<Option<String>, DomainError> {
    if decision_by <= acknowledged_on {
        return Err(DomainError::refused(
            RULE,
            format!(
                "the decision date {decision_by} must come after the acknowledgement ({acknowledged_on})"
            ),
        ));
    }
    if !is_business_day(decision_by) {
        return Err(DomainError::refused(
            RULE,
            format!(
                "the decision date {decision_by} is not a business day ({}); give a weekday that is not a holiday",
                holiday_on(decision_by).unwrap_or("weekend")
            ),
        ));
    }
    let reason = nonempty(extension_reason);
    let limit = latest_decision_without_extension(acknowledged_on);
    if decision_by > limit && reason.is_none() {
        return Err(DomainError::refused(
            RULE,
            format!(
                "a decision date after {limit} (twenty business days after the acknowledgement) needs an extension with its reason"
            ),
        ));
    }
    Ok(if decision_by > limit { reason } else { None })
}

/// Checks an acknowledgement of a request received on `received`.
pub fn check_acknowledgement(
    received: NaiveDate,
    acknowledged_on: NaiveDate,
    decision_by: NaiveDate,
    extension_reason: Option<&str>,
) -> Result<Acknowledgement, DomainError> {
    if acknowledged_on < received {
        return Err(DomainError::refused(
            RULE,
            format!("a request received on {received} cannot be acknowledged on {acknowledged_on}"),
        ));
    }
    let extension_reason = check_decision_date(acknowledged_on, decision_by, extension_reason)?;
    Ok(Acknowledgement {
        acknowledged_on,
        decision_by,
        late: acknowledged_on > acknowledge_by(received),
        extension_reason,
    })
}

/// Checks an extension recorded after the acknowledgement: a later date, always with a reason.
pub fn check_extension(
    acknowledged_on: NaiveDate,
    current_decision_by: NaiveDate,
    new_decision_by: NaiveDate,
    reason: &str,
) -> Result<(), DomainError> {
    if reason.trim().is_empty() {
        return Err(DomainError::Missing {
            rule: RULE,
            missing: vec!["reason"],
        });
    }
    if new_decision_by <= current_decision_by {
        return Err(DomainError::refused(
            RULE,
            format!(
                "an extension moves the decision date later than {current_decision_by}, not to {new_decision_by}"
            ),
        ));
    }
    check_decision_date(acknowledged_on, new_decision_by, Some(reason)).map(|_| ())
}

// ------------------------------------------------------------------ exemptions

/// One ground for denial of Public Officers Law §87(2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Exemption {
    /// The paragraph letter, `a` to `t`.
    pub letter: &'static str,
    /// The citation, e.g. `POL §87(2)(b)`.
    pub citation: &'static str,
    /// What records or portions of records the paragraph lets an agency withhold.
    pub wording: &'static str,
}

macro_rules! exemptions {
    ($( $letter:literal => $wording:literal ),+ $(,)?) => {
        &[ $( Exemption {
            letter: $letter,
            citation: concat!("POL §87(2)(", $letter, ")"),
            wording: $wording,
        } ),+ ]
    };
}

/// The exemptions of Public Officers Law §87(2): an agency may deny access to records or
/// portions thereof that ... Paragraphs (j) to (t) cover the recorded images of the automated
/// traffic-enforcement camera programs, each under its own statute.
pub const EXEMPTIONS: &[Exemption] = exemptions!(
    "a" => "are specifically exempted from disclosure by state or federal statute",
    "b" => "if disclosed would constitute an unwarranted invasion of personal privacy under the provisions of subdivision two of section eighty-nine",
    "c" => "if disclosed would impair present or imminent contract awards or collective bargaining negotiations",
    "d" => "are trade secrets or are submitted to an agency by a commercial enterprise or derived from information obtained from a commercial enterprise and which if disclosed would cause substantial injury to the competitive position of the subject enterprise",
    "e" => "are compiled for law enforcement purposes and which, if disclosed, would: i. interfere with law enforcement investigations or judicial proceedings; ii. deprive a person of a right to a fair trial or impartial adjudication; iii. identify a confidential source or disclose confidential information relating to a criminal investigation; or iv. reveal criminal investigative techniques or procedures, except routine techniques and procedures",
    "f" => "if disclosed could endanger the life or safety of any person",
    "g" => "are inter-agency or intra-agency materials which are not: i. statistical or factual tabulations or data; ii. instructions to staff that affect the public; iii. final agency policy or determinations; or iv. external audits, including but not limited to audits performed by the comptroller and the federal government",
    "h" => "are examination questions or answers which are requested prior to the final administration of such questions",
    "i" => "if disclosed, would jeopardize the capacity of an agency or an entity that has shared information with an agency to guarantee the security of its information technology assets, such assets encompassing both electronic information systems and infrastructures",
    "j" => "are photographs, microphotographs, videotape or other recorded images prepared under the authority of section eleven hundred eleven-a of the vehicle and traffic law (traffic-control signal photo violation-monitoring)",
    "k" => "are photographs, microphotographs, videotape or other recorded images prepared under the authority of section eleven hundred eleven-b of the vehicle and traffic law (traffic-control signal photo violation-monitoring)",
    "l" => "are photographs, microphotographs, videotape or other recorded images prepared under the authority of section eleven hundred eleven-d of the vehicle and traffic law (traffic-control signal photo violation-monitoring)",
    "m" => "are photographs, microphotographs, videotape or other recorded images prepared under the authority of section eleven hundred eighty-b of the vehicle and traffic law (school speed zone photo violation-monitoring)",
    "n" => "are photographs, microphotographs, videotape or other recorded images prepared under the authority of section eleven hundred eleven-c of the vehicle and traffic law (bus lane photo devices)",
    "o" => "are photographs, microphotographs, videotape or other recorded images prepared under the authority of section eleven hundred eighty-c of the vehicle and traffic law (school speed zone photo violation-monitoring)",
    "p" => "are photographs, microphotographs, videotape or other recorded images prepared under the authority of section eleven hundred eighty-d of the vehicle and traffic law (school speed zone photo violation-monitoring)",
    "q" => "are photographs, microphotographs, videotape or other recorded images prepared under the authority of section eleven hundred eighty-e of the vehicle and traffic law (photo speed violation-monitoring)",
    "r" => "are photographs, microphotographs, videotape or other recorded images prepared under the authority of section eleven hundred eighty-f of the vehicle and traffic law (photo speed violation-monitoring)",
    "s" => "are photographs, microphotographs, videotape or other recorded images prepared under the authority of section eleven hundred seventy-four-a of the vehicle and traffic law (school bus photo violation-monitoring)",
    "t" => "are photographs, microphotographs, videotape or other recorded images prepared under the authority of section eleven hundred eighty-g of the vehicle and traffic law (work zone photo speed violation-monitoring)",
);

/// The exemption of paragraph `letter` (`b`, `(b)`, `87(2)(b)` and `POL §87(2)(b)` all name
/// paragraph b).
pub fn exemption(letter: &str) -> Result<&'static Exemption, DomainError> {
    let t = letter.trim().to_ascii_lowercase();
    let key = t
        .trim_end_matches(')')
        .rsplit('(')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    EXEMPTIONS
        .iter()
        .find(|e| e.letter == key)
        .ok_or_else(|| DomainError::UnknownValue {
            kind: "FOIL exemption (POL §87(2))",
            value: letter.to_string(),
            allowed: EXEMPTIONS
                .iter()
                .map(|e| e.letter)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Every cited exemption resolved, in paragraph order, without repeats.
pub fn exemptions(cited: &[String]) -> Result<Vec<&'static Exemption>, DomainError> {
    let mut out: Vec<&'static Exemption> = Vec::new();
    for c in cited.iter().filter(|c| !c.trim().is_empty()) {
        let e = exemption(c)?;
        if !out.iter().any(|o| o.letter == e.letter) {
            out.push(e);
        }
    }
    out.sort_by_key(|e| e.letter);
    Ok(out)
}

// ------------------------------------------------------------------ workflow

text_enum! {
    /// Where a request stands.
    pub enum FoilStatus: "FOIL request status" {
        /// Logged, not yet acknowledged.
        Received = "received",
        /// Acknowledged with a decision date; records are gathered and reviewed.
        Acknowledged = "acknowledged",
        /// Released, wholly or with redactions.
        Granted = "granted",
        /// Denied with the exemptions cited; the appeal window runs.
        Denied = "denied",
        /// An appeal of the denial (or of redactions) is pending.
        Appealed = "appealed",
        /// The appeal was decided.
        AppealDecided = "appeal_decided",
    }
}

text_enum! {
    /// How a request was received.
    pub enum FoilChannel: "FOIL intake channel" {
        /// Logged by a FOIL officer (mail, e-mail, in person).
        Officer = "officer",
        /// The public form, without an account.
        Public = "public",
    }
}

text_enum! {
    /// The decision on a request.
    pub enum FoilOutcome: "FOIL decision" {
        Grant = "grant",
        Deny = "deny",
    }
}

text_enum! {
    /// The decision on an appeal.
    pub enum AppealOutcome: "FOIL appeal decision" {
        /// The denial stands.
        Upheld = "upheld",
        /// The records are to be released.
        Reversed = "reversed",
    }
}

text_enum! {
    /// What a redaction box covers.
    pub enum RedactionKind: "redaction kind" {
        Face = "face",
        Plate = "plate",
        Tattoo = "tattoo",
        Text = "text",
        Other = "other",
    }
}

/// What a new request must say: every missing part is named at once.
pub fn check_intake(
    requester: &str,
    contact: &str,
    description: &str,
    received: NaiveDate,
    today: NaiveDate,
) -> Result<(), DomainError> {
    let mut missing = Vec::new();
    for (name, value) in [
        ("requester", requester),
        ("contact", contact),
        ("description", description),
    ] {
        if value.trim().is_empty() {
            missing.push(name);
        }
    }
    if !missing.is_empty() {
        return Err(DomainError::Missing {
            rule: RULE,
            missing,
        });
    }
    for (field, value, max) in [
        ("requester", requester, 200),
        ("contact", contact, 300),
        ("description", description, 5000),
    ] {
        if value.chars().count() > max {
            return Err(DomainError::invalid(
                field,
                format!("at most {max} characters"),
            ));
        }
    }
    if received > today {
        return Err(DomainError::invalid(
            "received_on",
            format!("{received} is in the future"),
        ));
    }
    Ok(())
}

/// A rectangle to cover in an image, in the image's pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RedactionBox {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
}

/// A box must lie wholly inside the `width` x `height` image and cover at least one pixel: a box
/// outside it belongs to another image, and a release must not go out half-redacted.
pub fn check_box(b: &RedactionBox, width: u32, height: u32) -> Result<(), DomainError> {
    let inside = b.x >= 0
        && b.y >= 0
        && b.width > 0
        && b.height > 0
        && b.x + b.width <= i64::from(width)
        && b.y + b.height <= i64::from(height);
    if inside {
        Ok(())
    } else {
        Err(DomainError::refused(
            RULE,
            format!(
                "redaction box {}x{} at ({},{}) is not inside the {width}x{height} image; nothing was changed",
                b.width, b.height, b.x, b.y
            ),
        ))
    }
}

/// A detector's box clipped to the image (a face at the border may reach past it); `None` when
/// nothing of it is inside.
pub fn clip_box(
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
    width: u32,
    height: u32,
) -> Option<RedactionBox> {
    let (w, h) = (f64::from(width), f64::from(height));
    let x0 = left.floor().clamp(0.0, w);
    let y0 = top.floor().clamp(0.0, h);
    let x1 = right.ceil().clamp(0.0, w);
    let y1 = bottom.ceil().clamp(0.0, h);
    if !(x1 > x0 && y1 > y0) {
        return None;
    }
    Some(RedactionBox {
        x: x0 as i64,
        y: y0 as i64,
        width: (x1 - x0) as i64,
        height: (y1 - y0) as i64,
    })
}

/// Four eyes: the reviewer is not a person who gathered the records.
pub fn check_reviewer<T: PartialEq + std::fmt::Display>(
    reviewer: &T,
    gatherers: &[T],
) -> Result<(), DomainError> {
    if gatherers.iter().any(|g| g == reviewer) {
        return Err(DomainError::refused(
            RULE,
            format!(
                "{reviewer} gathered records of this request and cannot also review them: another FOIL reviewer must (four eyes)"
            ),
        ));
    }
    Ok(())
}

/// What a review needs before it can be completed.
pub fn check_review_ready(
    status: FoilStatus,
    records: usize,
    images_without_detection: &[String],
) -> Result<(), DomainError> {
    if status != FoilStatus::Acknowledged {
        return Err(DomainError::refused(
            RULE,
            format!("a request {status} cannot be reviewed: acknowledge it first, and review before the decision"),
        ));
    }
    if records == 0 {
        return Err(DomainError::refused(
            RULE,
            "no responsive records were gathered: gather them before the review",
        ));
    }
    if !images_without_detection.is_empty() {
        return Err(DomainError::refused(
            RULE,
            format!(
                "faces were not yet detected in {}: run the face detector on every image before completing the review",
                images_without_detection.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The facts a decision is checked against.
#[derive(Debug, Clone)]
pub struct DecisionFacts {
    pub status: FoilStatus,
    pub records: usize,
    pub review_completed: bool,
    /// Boxes in force across the records (redactions withhold portions).
    pub redactions: usize,
}

/// A decision: a release needs a completed review; a denial, and a release with redactions (a
/// partial denial), cite at least one exemption of §87(2).
pub fn check_decision(
    facts: &DecisionFacts,
    outcome: FoilOutcome,
    cited: &[String],
) -> Result<Vec<&'static Exemption>, DomainError> {
    let exemptions = exemptions(cited).map_err(|e| DomainError::refused(RULE, e.to_string()))?;
    if facts.status != FoilStatus::Acknowledged {
        return Err(DomainError::refused(
            RULE,
            format!(
                "a request {} cannot be decided: only an acknowledged request awaiting its decision",
                facts.status
            ),
        ));
    }
    match outcome {
        FoilOutcome::Deny => {
            if exemptions.is_empty() {
                return Err(DomainError::refused(
                    RULE,
                    "a denial cites the exemption of Public Officers Law §87(2) (a)-(t) it rests on",
                ));
            }
        }
        FoilOutcome::Grant => {
            if facts.records == 0 {
                return Err(DomainError::refused(
                    RULE,
                    "nothing to release: no responsive records were gathered",
                ));
            }
            if !facts.review_completed {
                return Err(DomainError::refused(
                    RULE,
                    "a release needs a completed review by a FOIL reviewer; none is recorded",
                ));
            }
            if facts.redactions > 0 && exemptions.is_empty() {
                return Err(DomainError::refused(
                    RULE,
                    "redacted portions are withheld: cite the exemption (usually POL §87(2)(b), personal privacy)",
                ));
            }
        }
    }
    Ok(exemptions)
}

/// An appeal of a denial received on `appealed_on`: within thirty days of the denial.
pub fn check_appeal(
    status: FoilStatus,
    denied_on: Option<NaiveDate>,
    appealed_on: NaiveDate,
    grounds: &str,
) -> Result<NaiveDate, DomainError> {
    if grounds.trim().is_empty() {
        return Err(DomainError::Missing {
            rule: RULE,
            missing: vec!["grounds"],
        });
    }
    let denied_on = match (status, denied_on) {
        (FoilStatus::Denied, Some(d)) | (FoilStatus::Granted, Some(d)) => d,
        _ => {
            return Err(DomainError::refused(
                RULE,
                format!("a request {status} has no denial to appeal"),
            ))
        }
    };
    if appealed_on < denied_on {
        return Err(DomainError::refused(
            RULE,
            format!("an appeal on {appealed_on} comes before the denial of {denied_on}"),
        ));
    }
    let last = appeal_by(denied_on);
    if appealed_on > last {
        return Err(DomainError::refused(
            RULE,
            format!(
                "the appeal window closed on {last} (thirty days after the denial of {denied_on})"
            ),
        ));
    }
    Ok(appeal_decide_by(appealed_on))
}

/// An appeal's decision: on a pending appeal, with a reason, by someone other than the person who
/// decided the request.
pub fn check_appeal_decision<T: PartialEq + std::fmt::Display>(
    status: FoilStatus,
    decider: &T,
    original_decider: Option<&T>,
    reason: &str,
) -> Result<(), DomainError> {
    if status != FoilStatus::Appealed {
        return Err(DomainError::refused(
            RULE,
            format!("a request {status} has no pending appeal"),
        ));
    }
    if reason.trim().is_empty() {
        return Err(DomainError::Missing {
            rule: RULE,
            missing: vec!["reason"],
        });
    }
    if original_decider == Some(decider) {
        return Err(DomainError::refused(
            RULE,
            format!("{decider} made the decision under appeal and cannot decide the appeal"),
        ));
    }
    Ok(())
}

/// The clock of a request on `today`: what is due next and whether it is overdue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoilClock {
    /// `acknowledge`, `decide`, `decide_appeal`, or `none`.
    pub next: &'static str,
    pub due: Option<NaiveDate>,
    pub overdue: bool,
    /// Business days past the due date (0 when not overdue).
    pub business_days_overdue: u32,
}

/// Where a request stands on `today`.
pub fn clock(
    status: FoilStatus,
    received: NaiveDate,
    decision_by: Option<NaiveDate>,
    appeal_decide_by: Option<NaiveDate>,
    today: NaiveDate,
) -> FoilClock {
    let (next, due) = match status {
        FoilStatus::Received => ("acknowledge", Some(acknowledge_by(received))),
        FoilStatus::Acknowledged => ("decide", decision_by),
        FoilStatus::Appealed => ("decide_appeal", appeal_decide_by),
        FoilStatus::Granted | FoilStatus::Denied | FoilStatus::AppealDecided => ("none", None),
    };
    let overdue = due.is_some_and(|d| today > d);
    FoilClock {
        next,
        due,
        overdue,
        business_days_overdue: match due {
            Some(d) if overdue => business_days_between(d, today),
            _ => 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn observed_names(year: i32) -> Vec<(NaiveDate, &'static str)> {
        holidays(year)
            .into_iter()
            .filter_map(|h| h.observed.map(|o| (o, h.name)))
            .collect()
    }

    #[test]
    fn pub_01_holidays_of_2026_are_exact() {
        let got = observed_names(2026);
        let want = vec![
            (d(2026, 1, 1), "New Year's Day"),
            (d(2026, 1, 19), "Martin Luther King Jr. Day"),
            (d(2026, 2, 12), "Lincoln's Birthday"),
            (d(2026, 2, 16), "Washington's Birthday"),
            (d(2026, 5, 25), "Memorial Day"),
            (d(2026, 6, 19), "Juneteenth"),
            // July 4, 2026 is a Saturday: observed Friday July 3.
            (d(2026, 7, 3), "Independence Day"),
            (d(2026, 9, 7), "Labor Day"),
            (d(2026, 10, 12), "Columbus Day"),
            (d(2026, 11, 3), "Election Day"),
            (d(2026, 11, 11), "Veterans Day"),
            (d(2026, 11, 26), "Thanksgiving Day"),
            (d(2026, 12, 25), "Christmas Day"),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn pub_01_observed_dates_move_off_weekends() {
        // Christmas 2022 and New Year's Day 2023 fell on Sundays: Mondays off.
        assert_eq!(holiday_on(d(2022, 12, 26)), Some("Christmas Day"));
        assert_eq!(holiday_on(d(2023, 1, 2)), Some("New Year's Day"));
        // New Year's Day 2022 was a Saturday: observed Friday December 31, 2021.
        assert_eq!(holiday_on(d(2021, 12, 31)), Some("New Year's Day"));
        // Juneteenth 2027 is a Saturday: Friday June 18 (federal rule).
        assert_eq!(holiday_on(d(2027, 6, 18)), Some("Juneteenth"));
        // Lincoln's Birthday 2022 was a Saturday: a state holiday only, no weekday lost.
        assert_eq!(holiday_on(d(2022, 2, 11)), None);
        // Lincoln's Birthday 2023 was a Sunday: Monday February 13.
        assert_eq!(holiday_on(d(2023, 2, 13)), Some("Lincoln's Birthday"));
        // Veterans Day 2023 was a Saturday: Friday November 10.
        assert_eq!(holiday_on(d(2023, 11, 10)), Some("Veterans Day"));
        // Election Day 2024: Tuesday November 5; the day after Thanksgiving is a business day.
        assert_eq!(holiday_on(d(2024, 11, 5)), Some("Election Day"));
        assert!(is_business_day(d(2024, 11, 29)));
        // Juneteenth before it became a holiday.
        assert!(is_business_day(d(2019, 6, 19)));
    }

    #[test]
    fn pub_01_deadline_after_thanksgiving() {
        // Received Tuesday November 24, 2026: Wednesday 25 (1), Thanksgiving 26 skipped, Friday
        // 27 (2), Monday 30 (3), Tuesday December 1 (4), Wednesday December 2 (5).
        assert_eq!(acknowledge_by(d(2026, 11, 24)), d(2026, 12, 2));
        // Received the Friday before Christmas 2026: the 25th is a Friday.
        assert_eq!(acknowledge_by(d(2026, 12, 18)), d(2026, 12, 28));
        // Received before Election Day and Veterans Day 2026.
        assert_eq!(acknowledge_by(d(2026, 10, 30)), d(2026, 11, 9));
        assert_eq!(acknowledge_by(d(2026, 11, 6)), d(2026, 11, 16));
    }

    #[test]
    fn pub_01_weekend_receipt_counts_from_next_business_day() {
        // Received Saturday March 7, 2026: Monday 9 is day one, Friday 13 day five.
        assert_eq!(acknowledge_by(d(2026, 3, 7)), d(2026, 3, 13));
        assert_eq!(business_days_between(d(2026, 3, 7), d(2026, 3, 13)), 5);
    }

    #[test]
    fn pub_01_decision_date_past_twenty_business_days_needs_extension_reason() {
        let ack = d(2026, 3, 9);
        let limit = latest_decision_without_extension(ack);
        assert_eq!(limit, d(2026, 4, 6));
        let a = check_acknowledgement(d(2026, 3, 6), ack, limit, None).expect("within 20");
        assert!(!a.late);
        assert_eq!(a.extension_reason, None);
        let later = d(2026, 4, 20);
        let e = check_acknowledgement(d(2026, 3, 6), ack, later, Some("  ")).unwrap_err();
        assert_eq!(e.rule(), Some(RULE));
        let a = check_acknowledgement(d(2026, 3, 6), ack, later, Some("voluminous records"))
            .expect("extension");
        assert_eq!(a.extension_reason.as_deref(), Some("voluminous records"));
        // A late acknowledgement is recorded as late.
        let a = check_acknowledgement(d(2026, 3, 2), d(2026, 3, 16), d(2026, 3, 20), None)
            .expect("late ack");
        assert!(a.late);
        // A holiday is no decision date.
        let e =
            check_acknowledgement(d(2026, 5, 1), d(2026, 5, 4), d(2026, 5, 25), None).unwrap_err();
        assert!(e.to_string().contains("Memorial Day"), "{e}");
        // Extension after the acknowledgement needs a reason and a later date.
        assert!(check_extension(ack, limit, d(2026, 4, 20), "").is_err());
        assert!(check_extension(ack, limit, d(2026, 4, 1), "more time").is_err());
        assert!(check_extension(ack, limit, d(2026, 4, 20), "more time").is_ok());
    }

    #[test]
    fn pub_01_denial_without_exemption_refused() {
        let facts = DecisionFacts {
            status: FoilStatus::Acknowledged,
            records: 1,
            review_completed: false,
            redactions: 0,
        };
        let e = check_decision(&facts, FoilOutcome::Deny, &[]).unwrap_err();
        assert_eq!(e.rule(), Some(RULE));
        let e = check_decision(&facts, FoilOutcome::Deny, &["zz".into()]).unwrap_err();
        assert_eq!(e.rule(), Some(RULE));
        let ok = check_decision(
            &facts,
            FoilOutcome::Deny,
            &["(e)".into(), "POL §87(2)(b)".into(), "b".into()],
        )
        .expect("deny");
        assert_eq!(
            ok.iter().map(|e| e.letter).collect::<Vec<_>>(),
            vec!["b", "e"]
        );
    }

    #[test]
    fn pub_01_release_refused_without_review() {
        let mut facts = DecisionFacts {
            status: FoilStatus::Acknowledged,
            records: 2,
            review_completed: false,
            redactions: 3,
        };
        let e = check_decision(&facts, FoilOutcome::Grant, &["b".into()]).unwrap_err();
        assert!(e.to_string().contains("review"), "{e}");
        facts.review_completed = true;
        let e = check_decision(&facts, FoilOutcome::Grant, &[]).unwrap_err();
        assert!(e.to_string().contains("87(2)(b)"), "{e}");
        assert!(check_decision(&facts, FoilOutcome::Grant, &["b".into()]).is_ok());
    }

    #[test]
    fn pub_01_exemptions_a_to_t_with_wording() {
        assert_eq!(EXEMPTIONS.len(), 20);
        let letters: String = EXEMPTIONS.iter().map(|e| e.letter).collect();
        assert_eq!(letters, "abcdefghijklmnopqrst");
        assert!(EXEMPTIONS.iter().all(|e| e.wording.len() > 20));
        assert_eq!(exemption("87(2)(f)").expect("f").citation, "POL §87(2)(f)");
        assert!(exemption("u").is_err());
    }

    #[test]
    fn pub_01_four_eyes_and_appeals() {
        assert!(check_reviewer(&"ana", &["bob"]).is_ok());
        assert_eq!(
            check_reviewer(&"bob", &["bob"]).unwrap_err().rule(),
            Some(RULE)
        );
        let denied = d(2026, 3, 2);
        let due = check_appeal(FoilStatus::Denied, Some(denied), d(2026, 4, 1), "too broad")
            .expect("within 30 days");
        assert_eq!(due, d(2026, 4, 15));
        assert!(check_appeal(FoilStatus::Denied, Some(denied), d(2026, 4, 2), "late").is_err());
        assert!(check_appeal(FoilStatus::Received, None, d(2026, 3, 3), "x").is_err());
        assert!(check_appeal_decision(FoilStatus::Appealed, &"cy", Some(&"bob"), "ok").is_ok());
        assert!(check_appeal_decision(FoilStatus::Appealed, &"bob", Some(&"bob"), "ok").is_err());
    }

    #[test]
    fn pub_01_redaction_box_outside_image_refused() {
        assert!(check_box(
            &RedactionBox {
                x: 0,
                y: 0,
                width: 10,
                height: 10
            },
            10,
            10
        )
        .is_ok());
        for b in [
            RedactionBox {
                x: 5,
                y: 0,
                width: 10,
                height: 10,
            },
            RedactionBox {
                x: -1,
                y: 0,
                width: 5,
                height: 5,
            },
            RedactionBox {
                x: 0,
                y: 0,
                width: 0,
                height: 5,
            },
            RedactionBox {
                x: 20,
                y: 20,
                width: 5,
                height: 5,
            },
        ] {
            assert_eq!(check_box(&b, 10, 10).unwrap_err().rule(), Some(RULE));
        }
        assert_eq!(
            clip_box(-3.2, 2.0, 8.5, 12.0, 10, 10),
            Some(RedactionBox {
                x: 0,
                y: 2,
                width: 9,
                height: 8
            })
        );
        assert_eq!(clip_box(11.0, 0.0, 14.0, 3.0, 10, 10), None);
    }

    #[test]
    fn pub_01_today_is_new_york_date() {
        use chrono::TimeZone;
        let utc = |y, m, d, h| {
            chrono::Utc
                .with_ymd_and_hms(y, m, d, h, 0, 0)
                .single()
                .expect("t")
        };
        // 03:00 UTC on March 2 is still March 1 in New York (EST).
        assert_eq!(new_york_date(utc(2026, 3, 2, 3)), d(2026, 3, 1));
        assert_eq!(new_york_date(utc(2026, 3, 2, 5)), d(2026, 3, 2));
        // Summer time: 03:30 UTC July 10 is July 9, 04:00 UTC is July 10.
        assert_eq!(new_york_date(utc(2026, 7, 10, 3)), d(2026, 7, 9));
        assert_eq!(new_york_date(utc(2026, 7, 10, 4)), d(2026, 7, 10));
    }

    #[test]
    fn pub_01_overdue_clock() {
        let received = d(2026, 3, 2);
        let c = clock(FoilStatus::Received, received, None, None, d(2026, 3, 9));
        assert!(!c.overdue);
        assert_eq!(c.due, Some(d(2026, 3, 9)));
        let c = clock(FoilStatus::Received, received, None, None, d(2026, 3, 11));
        assert!(c.overdue);
        assert_eq!(c.business_days_overdue, 2);
        let c = clock(FoilStatus::Granted, received, None, None, d(2027, 1, 1));
        assert!(!c.overdue);
    }

    /// Every receipt date of 2000-2060 (an exhaustive property test over the calendar, stronger
    /// than sampling): the deadlines are business days, exactly `n` business days after receipt,
    /// and monotone in the receipt date.
    #[test]
    fn pub_01_deadlines_are_business_days_and_monotone() {
        let mut day = d(2000, 1, 1);
        let end = d(2060, 12, 31);
        let mut previous: Option<(NaiveDate, NaiveDate)> = None;
        while day <= end {
            let ack = acknowledge_by(day);
            assert!(is_business_day(ack), "{day} -> {ack}");
            assert!(ack > day);
            assert_eq!(business_days_between(day, ack), ACKNOWLEDGE_BUSINESS_DAYS);
            // No business day is skipped: the day before the deadline is at most the fourth.
            assert_eq!(
                business_days_between(day, ack.pred_opt().expect("pred")),
                ACKNOWLEDGE_BUSINESS_DAYS - 1
            );
            let decide = latest_decision_without_extension(ack);
            assert!(is_business_day(decide));
            assert_eq!(business_days_between(ack, decide), DECISION_BUSINESS_DAYS);
            if let Some((pa, pd)) = previous {
                assert!(ack >= pa, "{day}: {ack} < {pa}");
                assert!(decide >= pd);
            }
            previous = Some((ack, decide));
            // Every year has its 13 holidays (12 before Juneteenth), each a weekday when
            // observed, with at most one observed holiday per day.
            if day.month() == 1 && day.day() == 1 {
                let hs = holidays(day.year());
                assert_eq!(hs.len(), if day.year() >= 2020 { 13 } else { 12 });
                let mut seen = std::collections::BTreeSet::new();
                for h in hs.iter().filter_map(|h| h.observed) {
                    assert!(!matches!(h.weekday(), Weekday::Sat | Weekday::Sun));
                    assert!(seen.insert(h), "two holidays on {h}");
                }
            }
            day = day.succ_opt().expect("succ");
        }
    }
}
