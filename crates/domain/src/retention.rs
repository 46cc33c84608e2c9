//! Retention (RET-01..RET-11): the schedule, the facts it needs, legal holds, and when a record
//! may be destroyed.
//!
//! The periods are data: a [`RetentionSchedule`] comes from the policy pack in force, so a changed
//! schedule is a new pack revision (OVR-02), never a change of code. This module holds the rules
//! that read a schedule:
//! - [`retention_for`] turns a closed case and its facts into the rule that governs it
//!   (RET-01..RET-08); [`retention_for_personal_file`] (RET-09) and
//!   [`retention_for_robot_data`] (RET-10, TH-04) do the same for their records;
//! - [`due`] is the earliest date a record may go, given the events recorded for it;
//! - [`may_dispose`] says whether a record may be destroyed now, and why not (a legal hold in
//!   force always wins, RET-11);
//! - [`check_approval`] keeps the proposer of a disposition from approving it;
//! - [`DispositionCertificate::issue`] checks all of that once more for the certificate.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::cases::{Case, CaseStatus, OffenceClassification};
use crate::ids::UserId;
use crate::macros::text_enum;
use crate::DomainError;

text_enum! {
    /// The rules of the retention schedule.
    pub enum RetentionRuleId: "retention rule" {
        Ret01 = "RET-01",
        Ret02 = "RET-02",
        Ret03 = "RET-03",
        Ret04 = "RET-04",
        Ret05 = "RET-05",
        Ret06 = "RET-06",
        Ret07 = "RET-07",
        Ret08 = "RET-08",
        Ret09 = "RET-09",
        Ret10 = "RET-10",
    }
}

text_enum! {
    /// An event that ends a retention "until ..." period.
    pub enum RetentionEvent: "retention event" {
        /// Missing person located (RET-01).
        PersonLocated = "person_located",
        /// Firearm recovered or destroyed (RET-01).
        FirearmRecoveredOrDestroyed = "firearm_recovered_or_destroyed",
        /// The case record the file belongs to is disposed (RET-09, associated persons).
        CaseRecordDisposed = "case_record_disposed",
    }
}

text_enum! {
    /// The date a "years after" period is counted from.
    pub enum RetentionAnchor: "retention anchor" {
        /// The date the case was closed (RET-02..RET-05, RET-07).
        Closure = "closure",
        /// The child victim's date of birth (RET-06).
        ChildDateOfBirth = "child_date_of_birth",
        /// The juvenile's date of birth (RET-08).
        JuvenileDateOfBirth = "juvenile_date_of_birth",
    }
}

/// How long the schedule keeps a class of case records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "keep", rename_all = "snake_case")]
pub enum Keep {
    Permanent,
    UntilEvent { event: RetentionEvent },
    YearsAfter { years: u32, from: RetentionAnchor },
}

/// One line of the schedule for case investigation records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRetentionRule {
    pub rule_id: RetentionRuleId,
    /// The final classifications the line covers.
    pub classifications: Vec<OffenceClassification>,
    pub keep: Keep,
}

/// RET-09 for files on criminals and suspects: `years_after_death`, or `years_after_birth`
/// provided no arrest in the last `arrest_free_years`, whichever is shorter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalFileRetention {
    pub rule_id: RetentionRuleId,
    pub years_after_death: u32,
    pub years_after_birth: u32,
    pub arrest_free_years: u32,
}

/// RET-10 / TH-04: robot thermal data outside a case is kept `days` from capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RobotDataRetention {
    pub rule_id: RetentionRuleId,
    pub days: u32,
}

/// The retention schedule in force, as the policy pack gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionSchedule {
    pub case_rules: Vec<CaseRetentionRule>,
    pub personal_files: PersonalFileRetention,
    pub robot_data: RobotDataRetention,
}

impl RetentionSchedule {
    /// Checks the schedule is whole: every final classification is covered by exactly one
    /// line, "years" periods are positive and count from a date that exists for the class.
    pub fn validate(&self) -> Result<(), String> {
        for &c in OffenceClassification::ALL {
            let lines: Vec<_> = self
                .case_rules
                .iter()
                .filter(|r| r.classifications.contains(&c))
                .map(|r| r.rule_id.as_str())
                .collect();
            match lines.len() {
                1 => {}
                0 => return Err(format!("no retention line covers the classification {c}")),
                _ => {
                    return Err(format!(
                        "the classification {c} is covered by more than one line: {}",
                        lines.join(", ")
                    ))
                }
            }
        }
        for r in &self.case_rules {
            if let Keep::YearsAfter { years: 0, .. } = r.keep {
                return Err(format!("{}: a period of 0 years", r.rule_id));
            }
        }
        let p = &self.personal_files;
        if p.years_after_birth == 0 || p.years_after_death == 0 {
            return Err(format!("{}: a period of 0 years", p.rule_id));
        }
        if self.robot_data.days == 0 {
            return Err(format!("{}: a period of 0 days", self.robot_data.rule_id));
        }
        Ok(())
    }

    /// The line for a final classification.
    pub fn case_rule(&self, c: OffenceClassification) -> Result<&CaseRetentionRule, DomainError> {
        self.case_rules
            .iter()
            .find(|r| r.classifications.contains(&c))
            .ok_or_else(|| {
                DomainError::refused(
                    "RET",
                    format!("the retention schedule in force has no line for {c}"),
                )
            })
    }
}

/// How long a record must be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum RetentionPeriod {
    /// Never disposed.
    Permanent,
    /// Kept at least until this date (disposable on and after it).
    MinUntil(NaiveDate),
    /// Kept until the event has happened; then the record is reclassified.
    Until(RetentionEvent),
}

/// The retention rule that governs one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionRule {
    pub rule_id: RetentionRuleId,
    pub period: RetentionPeriod,
}

/// Facts beyond the case that some rules need.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionFacts {
    /// Date of birth of the child victim (RET-06).
    pub child_date_of_birth: Option<NaiveDate>,
    /// Date of birth of the juvenile involved (RET-08).
    pub juvenile_date_of_birth: Option<NaiveDate>,
    /// The missing person was located on (RET-01).
    pub person_located_on: Option<NaiveDate>,
    /// The firearm was recovered or destroyed on (RET-01).
    pub firearm_recovered_on: Option<NaiveDate>,
}

impl RetentionFacts {
    /// The retention events recorded, with their dates.
    pub fn events(&self) -> Vec<(RetentionEvent, NaiveDate)> {
        let mut out = Vec::new();
        if let Some(d) = self.person_located_on {
            out.push((RetentionEvent::PersonLocated, d));
        }
        if let Some(d) = self.firearm_recovered_on {
            out.push((RetentionEvent::FirearmRecoveredOrDestroyed, d));
        }
        out
    }

    /// Checks dates of facts: none in the future, none before 1900.
    pub fn check(&self, today: NaiveDate) -> Result<(), DomainError> {
        for (field, d) in [
            ("child_date_of_birth", self.child_date_of_birth),
            ("juvenile_date_of_birth", self.juvenile_date_of_birth),
            ("person_located_on", self.person_located_on),
            ("firearm_recovered_on", self.firearm_recovered_on),
        ] {
            if let Some(d) = d {
                if d > today {
                    return Err(DomainError::invalid(field, format!("{d} is in the future")));
                }
                if d.year_ce().1 < 1900 {
                    return Err(DomainError::invalid(field, format!("{d} is before 1900")));
                }
            }
        }
        Ok(())
    }
}

fn add_years(d: NaiveDate, years: u32, rule: &'static str) -> Result<NaiveDate, DomainError> {
    years
        .checked_mul(12)
        .and_then(|m| d.checked_add_months(Months::new(m)))
        .ok_or_else(|| {
            DomainError::refused(rule, format!("{d} plus {years} years is out of range"))
        })
}

fn min_until(rule_id: RetentionRuleId, d: NaiveDate) -> RetentionRule {
    RetentionRule {
        rule_id,
        period: RetentionPeriod::MinUntil(d),
    }
}

/// The retention rule of a closed case (RET-01..RET-08) under `schedule`, from its final
/// classification.
///
/// Refused for an open case: a case is retained while open and its schedule starts at closure.
pub fn retention_for(
    schedule: &RetentionSchedule,
    case: &Case,
    facts: &RetentionFacts,
) -> Result<RetentionRule, DomainError> {
    let Some(closure) = case
        .closure
        .as_ref()
        .filter(|_| case.status == CaseStatus::Closed)
    else {
        return Err(DomainError::refused(
            "RET",
            format!(
                "case {} is open; retention is counted from closure, so an open case is kept",
                case.number
            ),
        ));
    };
    let line = schedule.case_rule(closure.final_classification)?;
    let rule_id = line.rule_id;
    Ok(match line.keep {
        Keep::Permanent => RetentionRule {
            rule_id,
            period: RetentionPeriod::Permanent,
        },
        Keep::UntilEvent { event } => RetentionRule {
            rule_id,
            period: RetentionPeriod::Until(event),
        },
        Keep::YearsAfter { years, from } => {
            let anchor = match from {
                RetentionAnchor::Closure => closure.closed_at.date_naive(),
                RetentionAnchor::ChildDateOfBirth => {
                    facts.child_date_of_birth.ok_or(DomainError::Missing {
                        rule: rule_id.as_str(),
                        missing: vec!["child_date_of_birth"],
                    })?
                }
                RetentionAnchor::JuvenileDateOfBirth => {
                    facts.juvenile_date_of_birth.ok_or(DomainError::Missing {
                        rule: rule_id.as_str(),
                        missing: vec!["juvenile_date_of_birth"],
                    })?
                }
            };
            min_until(rule_id, add_years(anchor, years, rule_id.as_str())?)
        }
    })
}

/// The subject of a personal information file (RET-09).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PersonalFileSubject {
    /// A criminal or suspect.
    CriminalOrSuspect {
        date_of_birth: Option<NaiveDate>,
        date_of_death: Option<NaiveDate>,
        last_arrest: Option<NaiveDate>,
    },
    /// A victim, relative or witness: the file follows its case record.
    AssociatedPerson,
}

/// Retention of a personal information file (RET-09): for a criminal or suspect, some years
/// after death, or some years after birth provided there was no arrest in the years before,
/// whichever is shorter; for an associated person, as long as the case record.
pub fn retention_for_personal_file(
    schedule: &RetentionSchedule,
    subject: &PersonalFileSubject,
) -> Result<RetentionRule, DomainError> {
    let p = &schedule.personal_files;
    let rule = p.rule_id.as_str();
    match *subject {
        PersonalFileSubject::AssociatedPerson => Ok(RetentionRule {
            rule_id: p.rule_id,
            period: RetentionPeriod::Until(RetentionEvent::CaseRecordDisposed),
        }),
        PersonalFileSubject::CriminalOrSuspect {
            date_of_birth,
            date_of_death,
            last_arrest,
        } => {
            let after_death = date_of_death
                .map(|d| add_years(d, p.years_after_death, rule))
                .transpose()?;
            let after_birth = match date_of_birth {
                Some(b) => {
                    let by_age = add_years(b, p.years_after_birth, rule)?;
                    // "as long as there has been no arrest in the last five years"
                    let quiet_from = last_arrest
                        .map(|a| add_years(a, p.arrest_free_years, rule))
                        .transpose()?;
                    Some(quiet_from.map_or(by_age, |q| by_age.max(q)))
                }
                None => None,
            };
            let until = match (after_death, after_birth) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => {
                    return Err(DomainError::Missing {
                        rule: p.rule_id.as_str(),
                        missing: vec!["date_of_birth or date_of_death"],
                    })
                }
            };
            Ok(min_until(p.rule_id, until))
        }
    }
}

/// Retention of autonomous security robot thermal data (RET-10, TH-04): some days from
/// capture, unless the data was moved into a case, where it follows the case's rule.
pub fn retention_for_robot_data(
    schedule: &RetentionSchedule,
    captured_at: DateTime<Utc>,
    case_rule: Option<RetentionRule>,
) -> RetentionRule {
    match case_rule {
        Some(rule) => rule,
        None => min_until(
            schedule.robot_data.rule_id,
            captured_at.date_naive() + chrono::Days::new(u64::from(schedule.robot_data.days)),
        ),
    }
}

/// When a record may be disposed of at the earliest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Due {
    /// Permanent: never.
    Never,
    /// On and after this date.
    On(NaiveDate),
    /// When this event is recorded.
    AwaitingEvent(RetentionEvent),
}

/// The earliest disposition date of a record governed by `rule`, given the events recorded
/// with their dates. A record kept "until" an event is due on the day the event happened.
pub fn due(rule: &RetentionRule, events: &[(RetentionEvent, NaiveDate)]) -> Due {
    match rule.period {
        RetentionPeriod::Permanent => Due::Never,
        RetentionPeriod::MinUntil(d) => Due::On(d),
        RetentionPeriod::Until(e) => match events.iter().find(|(ev, _)| *ev == e) {
            Some((_, d)) => Due::On(*d),
            None => Due::AwaitingEvent(e),
        },
    }
}

/// A legal hold: while in force it blocks disposition whatever the schedule says (RET-11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalHold {
    pub reference: String,
    pub reason: String,
    pub placed_by: UserId,
    pub placed_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
}

impl LegalHold {
    pub fn is_in_force(&self, now: DateTime<Utc>) -> bool {
        self.placed_at <= now && self.released_at.is_none_or(|r| now < r)
    }

    /// Checks a release (RET-11): a reason is required, and a hold is released once only.
    pub fn check_release(&self, reason: &str) -> Result<(), DomainError> {
        if let Some(at) = self.released_at {
            return Err(DomainError::refused(
                "RET-11",
                format!(
                    "legal hold {} was already released on {}; a release is recorded once",
                    self.reference,
                    at.to_rfc3339()
                ),
            ));
        }
        if reason.trim().is_empty() {
            return Err(DomainError::Missing {
                rule: "RET-11",
                missing: vec!["reason"],
            });
        }
        Ok(())
    }
}

/// What a legal hold names (RET-11): a case, a person (an account or a named person), or a
/// single item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldSubjectKind {
    /// A case, by case number; it covers everything the case holds.
    Case,
    /// A member's account, by username.
    User,
    /// A named person (free text, date of birth optional).
    Person,
    EvidenceItem,
    RobotFrame,
    FrRequest,
}

impl HoldSubjectKind {
    pub const ALL: [HoldSubjectKind; 6] = [
        HoldSubjectKind::Case,
        HoldSubjectKind::User,
        HoldSubjectKind::Person,
        HoldSubjectKind::EvidenceItem,
        HoldSubjectKind::RobotFrame,
        HoldSubjectKind::FrRequest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HoldSubjectKind::Case => "case",
            HoldSubjectKind::User => "user",
            HoldSubjectKind::Person => "person",
            HoldSubjectKind::EvidenceItem => "evidence_item",
            HoldSubjectKind::RobotFrame => "robot_frame",
            HoldSubjectKind::FrRequest => "fr_request",
        }
    }

    pub fn parse(s: &str) -> Result<HoldSubjectKind, DomainError> {
        HoldSubjectKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| DomainError::UnknownValue {
                kind: "legal hold subject",
                value: s.to_string(),
                allowed: HoldSubjectKind::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Checks a legal hold about to be placed (RET-11): it names its record, the matter it is held
/// for and the reason, all at once; a date of birth applies to a named person only and is not in
/// the future.
pub fn check_new_hold(
    kind: HoldSubjectKind,
    subject: &str,
    matter: &str,
    reason: &str,
    date_of_birth: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(), DomainError> {
    let mut missing = Vec::new();
    if subject.trim().is_empty() {
        missing.push("subject");
    }
    if matter.trim().is_empty() {
        missing.push("matter");
    }
    if reason.trim().is_empty() {
        missing.push("reason");
    }
    if !missing.is_empty() {
        return Err(DomainError::Missing {
            rule: "RET-11",
            missing,
        });
    }
    if let Some(dob) = date_of_birth {
        if kind != HoldSubjectKind::Person {
            return Err(DomainError::invalid(
                "date_of_birth",
                "a date of birth applies only to a hold on a named person",
            ));
        }
        if dob > today {
            return Err(DomainError::invalid(
                "date_of_birth",
                format!("{dob} is in the future"),
            ));
        }
    }
    Ok(())
}

/// Whether a record governed by `rule` may be disposed at `now` (RET-11).
///
/// `events` are the retention events that have happened for this record. Refused, naming the
/// rule, for permanent records, before the minimum date, before the awaited event, and while
/// any legal hold is in force.
pub fn may_dispose(
    rule: &RetentionRule,
    holds: &[LegalHold],
    events: &[RetentionEvent],
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    if let Some(h) = holds.iter().find(|h| h.is_in_force(now)) {
        return Err(DomainError::refused(
            "RET-11",
            format!(
                "legal hold {} ({}) is in force; release it before disposition",
                h.reference, h.reason
            ),
        ));
    }
    let rule_id = rule.rule_id.as_str();
    match rule.period {
        RetentionPeriod::Permanent => Err(DomainError::refused(
            rule_id,
            "the record is retained permanently and is never disposed",
        )),
        RetentionPeriod::MinUntil(d) if now.date_naive() < d => Err(DomainError::refused(
            rule_id,
            format!("the record must be retained until {d}"),
        )),
        RetentionPeriod::MinUntil(_) => Ok(()),
        RetentionPeriod::Until(e) if !events.contains(&e) => Err(DomainError::refused(
            rule_id,
            format!("the record is retained until {e}; that has not been recorded"),
        )),
        RetentionPeriod::Until(_) => Ok(()),
    }
}

/// Whether the record is due at `now` by its computed [`Due`] (the date form of
/// [`may_dispose`], holds included).
pub fn may_dispose_due(
    rule_id: RetentionRuleId,
    due: Due,
    holds: &[LegalHold],
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    if let Some(h) = holds.iter().find(|h| h.is_in_force(now)) {
        return Err(DomainError::refused(
            "RET-11",
            format!(
                "legal hold {} ({}) is in force; release it before disposition",
                h.reference, h.reason
            ),
        ));
    }
    match due {
        Due::Never => Err(DomainError::refused(
            rule_id.as_str(),
            "the record is retained permanently and is never disposed",
        )),
        Due::AwaitingEvent(e) => Err(DomainError::refused(
            rule_id.as_str(),
            format!("the record is retained until {e}; that has not been recorded"),
        )),
        Due::On(d) if now.date_naive() < d => Err(DomainError::refused(
            rule_id.as_str(),
            format!("the record must be retained until {d}"),
        )),
        Due::On(_) => Ok(()),
    }
}

/// Four eyes on a disposition (RET-11): the approver is another person than the proposer.
pub fn check_approval(proposed_by: &str, approver: &str) -> Result<(), DomainError> {
    if proposed_by.trim().eq_ignore_ascii_case(approver.trim()) {
        return Err(DomainError::refused(
            "RET-11",
            format!(
                "{approver} proposed this disposition and cannot approve it; another records \
                 manager must"
            ),
        ));
    }
    Ok(())
}

/// One destroyed piece of a record, on the certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertifiedItem {
    /// What it was, in words.
    pub what: String,
    /// SHA-256 of its content, hex.
    pub sha256: String,
}

/// The proof that a record was destroyed (RET-11): what, under which rule and due date, who
/// proposed, who approved, who executed, when, and the hash of every item destroyed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispositionCertificate {
    /// The record kind (`case`, `personal_file`, `robot_frame`).
    pub record_kind: String,
    pub record_id: String,
    /// The record in words.
    pub what: String,
    pub rule_id: RetentionRuleId,
    pub due_on: NaiveDate,
    pub proposed_by: String,
    pub approved_by: String,
    pub executed_by: String,
    pub executed_at: DateTime<Utc>,
    pub items: Vec<CertifiedItem>,
}

impl DispositionCertificate {
    /// Issues a certificate after checking the record is due and not held, the four eyes, and
    /// that every field is present.
    #[allow(clippy::too_many_arguments)]
    pub fn issue(
        record_kind: &str,
        record_id: &str,
        what: &str,
        rule_id: RetentionRuleId,
        due_on: NaiveDate,
        holds: &[LegalHold],
        proposed_by: &str,
        approved_by: &str,
        executed_by: &str,
        items: Vec<CertifiedItem>,
        now: DateTime<Utc>,
    ) -> Result<DispositionCertificate, DomainError> {
        may_dispose_due(rule_id, Due::On(due_on), holds, now)?;
        check_approval(proposed_by, approved_by)?;
        let mut missing = Vec::new();
        for (name, v) in [
            ("record_kind", record_kind),
            ("record_id", record_id),
            ("what", what),
            ("proposed_by", proposed_by),
            ("approved_by", approved_by),
            ("executed_by", executed_by),
        ] {
            if v.trim().is_empty() {
                missing.push(name);
            }
        }
        if items
            .iter()
            .any(|i| i.sha256.len() != 64 || !i.sha256.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            missing.push("items[].sha256 (64 hex digits)");
        }
        if !missing.is_empty() {
            return Err(DomainError::Missing {
                rule: "RET-11",
                missing,
            });
        }
        Ok(DispositionCertificate {
            record_kind: record_kind.trim().to_string(),
            record_id: record_id.trim().to_string(),
            what: what.trim().to_string(),
            rule_id,
            due_on,
            proposed_by: proposed_by.trim().to_string(),
            approved_by: approved_by.trim().to_string(),
            executed_by: executed_by.trim().to_string(),
            executed_at: now,
            items: items
                .into_iter()
                .map(|i| CertifiedItem {
                    what: i.what,
                    sha256: i.sha256.to_ascii_lowercase(),
                })
                .collect(),
        })
    }
}

/// The schedule of the published policy, for tests of this crate only: the pack in force is
/// the real source (`probity_policy`), and its own tests hold it to the policy's words.
#[cfg(test)]
pub(crate) fn policy_schedule() -> RetentionSchedule {
    use OffenceClassification as O;
    use RetentionRuleId as R;
    let years = |rule_id, classifications: Vec<O>, years, from| CaseRetentionRule {
        rule_id,
        classifications,
        keep: Keep::YearsAfter { years, from },
    };
    RetentionSchedule {
        case_rules: vec![
            CaseRetentionRule {
                rule_id: R::Ret01,
                classifications: vec![
                    O::Homicide,
                    O::Suicide,
                    O::Arson1,
                    O::Arson2,
                    O::Arson3,
                    O::AggravatedSexualAssault1,
                    O::CourseOfSexualConductAgainstChild1,
                    O::ActiveWarrant,
                ],
                keep: Keep::Permanent,
            },
            CaseRetentionRule {
                rule_id: R::Ret01,
                classifications: vec![O::MissingPerson],
                keep: Keep::UntilEvent {
                    event: RetentionEvent::PersonLocated,
                },
            },
            CaseRetentionRule {
                rule_id: R::Ret01,
                classifications: vec![O::StolenOrMissingFirearm],
                keep: Keep::UntilEvent {
                    event: RetentionEvent::FirearmRecoveredOrDestroyed,
                },
            },
            years(
                R::Ret02,
                vec![O::Arson4, O::NonFatal],
                10,
                RetentionAnchor::Closure,
            ),
            years(R::Ret03, vec![O::OtherFelony], 25, RetentionAnchor::Closure),
            years(R::Ret04, vec![O::Misdemeanor], 5, RetentionAnchor::Closure),
            years(
                R::Ret05,
                vec![O::ViolationOrTrafficInfraction],
                1,
                RetentionAnchor::Closure,
            ),
            years(
                R::Ret06,
                vec![O::ChildVictimsActOffence],
                55,
                RetentionAnchor::ChildDateOfBirth,
            ),
            years(
                R::Ret07,
                vec![O::NoOffenceByAdult],
                5,
                RetentionAnchor::Closure,
            ),
            years(
                R::Ret08,
                vec![O::JuvenileNoArrestOrNoOffence],
                19,
                RetentionAnchor::JuvenileDateOfBirth,
            ),
        ],
        personal_files: PersonalFileRetention {
            rule_id: R::Ret09,
            years_after_death: 5,
            years_after_birth: 90,
            arrest_free_years: 5,
        },
        robot_data: RobotDataRetention {
            rule_id: R::Ret10,
            days: 30,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::{CaseNumber, ClosureReason};
    use crate::people::CommandCode;
    use chrono::TimeZone;
    use OffenceClassification as O;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).single().unwrap()
    }
    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }
    fn open_case(offence: OffenceClassification) -> Case {
        Case::open(
            CaseNumber::parse("2026-019-004512").unwrap(),
            offence,
            CommandCode::parse("PCT-019").unwrap(),
            None,
            false,
            at(2026, 1, 10),
        )
    }
    fn closed(final_class: OffenceClassification) -> Case {
        open_case(final_class)
            .close(
                ClosureReason::NoArrest,
                final_class,
                UserId::new(),
                at(2026, 3, 15),
            )
            .unwrap()
    }
    fn rule(final_class: OffenceClassification, facts: RetentionFacts) -> RetentionRule {
        retention_for(&policy_schedule(), &closed(final_class), &facts).unwrap()
    }
    fn retention_for_robot_data(
        captured_at: DateTime<Utc>,
        case_rule: Option<RetentionRule>,
    ) -> RetentionRule {
        super::retention_for_robot_data(&policy_schedule(), captured_at, case_rule)
    }
    fn retention_for_personal_file(
        subject: &PersonalFileSubject,
    ) -> Result<RetentionRule, DomainError> {
        super::retention_for_personal_file(&policy_schedule(), subject)
    }

    #[test]
    fn ret_schedule_validation_finds_gaps_and_overlaps() {
        let s = policy_schedule();
        assert_eq!(s.validate(), Ok(()));
        let mut gap = s.clone();
        gap.case_rules
            .retain(|r| r.rule_id != RetentionRuleId::Ret05);
        assert!(gap.validate().unwrap_err().contains("no retention line"));
        let mut twice = s.clone();
        twice.case_rules[3].classifications.push(O::Homicide);
        assert!(twice.validate().unwrap_err().contains("more than one"));
    }

    #[test]
    fn ret_a_changed_schedule_changes_the_date() {
        let mut s = policy_schedule();
        for r in &mut s.case_rules {
            if r.rule_id == RetentionRuleId::Ret04 {
                r.keep = Keep::YearsAfter {
                    years: 7,
                    from: RetentionAnchor::Closure,
                };
            }
        }
        let r = retention_for(&s, &closed(O::Misdemeanor), &RetentionFacts::default()).unwrap();
        assert_eq!(r.period, RetentionPeriod::MinUntil(day(2033, 3, 15)));
    }

    #[test]
    fn ret_due_follows_events() {
        let missing = rule(O::MissingPerson, RetentionFacts::default());
        assert_eq!(
            due(&missing, &[]),
            Due::AwaitingEvent(RetentionEvent::PersonLocated)
        );
        let facts = RetentionFacts {
            person_located_on: Some(day(2027, 5, 1)),
            ..Default::default()
        };
        assert_eq!(due(&missing, &facts.events()), Due::On(day(2027, 5, 1)));
        assert_eq!(due(&rule(O::Homicide, facts), &facts.events()), Due::Never);
        assert!(facts.check(day(2027, 5, 1)).is_ok());
        assert!(facts.check(day(2027, 4, 30)).is_err());
    }

    #[test]
    fn ret_11_four_eyes_on_a_disposition() {
        assert_eq!(
            check_approval("rec.lopez", "REC.LOPEZ").unwrap_err().rule(),
            Some("RET-11")
        );
        assert!(check_approval("rec.lopez", "rm.adeyemi").is_ok());
    }

    #[test]
    fn ret_11_certificate_records_what_why_rule_who() {
        let sha = "AB".repeat(32);
        let item = |s: &str| CertifiedItem {
            what: "photo".into(),
            sha256: s.to_string(),
        };
        let cert = DispositionCertificate::issue(
            "case",
            "c1",
            "case 2026-019-004512",
            RetentionRuleId::Ret05,
            day(2027, 3, 15),
            &[],
            "rec.lopez",
            "rm.adeyemi",
            "rm.adeyemi",
            vec![item(&sha)],
            at(2027, 4, 1),
        )
        .unwrap();
        assert_eq!(cert.rule_id, RetentionRuleId::Ret05);
        assert_eq!(cert.items[0].sha256, "ab".repeat(32));
        let early = DispositionCertificate::issue(
            "case",
            "c1",
            "x",
            RetentionRuleId::Ret05,
            day(2027, 3, 15),
            &[],
            "a",
            "b",
            "b",
            vec![],
            at(2027, 3, 14),
        );
        assert_eq!(early.unwrap_err().rule(), Some("RET-05"));
        let own = DispositionCertificate::issue(
            "case",
            "c1",
            "x",
            RetentionRuleId::Ret05,
            day(2027, 3, 15),
            &[],
            "a",
            "a",
            "a",
            vec![],
            at(2027, 4, 1),
        );
        assert_eq!(own.unwrap_err().rule(), Some("RET-11"));
        let blank = DispositionCertificate::issue(
            "case",
            " ",
            "",
            RetentionRuleId::Ret05,
            day(2027, 3, 15),
            &[],
            "a",
            "b",
            "b",
            vec![item("zz")],
            at(2027, 4, 1),
        )
        .unwrap_err();
        assert_eq!(blank.rule(), Some("RET-11"));
    }

    #[test]
    fn ret_open_case_has_no_disposal_date() {
        let e = retention_for(
            &policy_schedule(),
            &open_case(O::Misdemeanor),
            &RetentionFacts::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("is open"), "{e}");
    }

    #[test]
    fn ret_01_permanent_classes() {
        for c in [
            O::Homicide,
            O::Suicide,
            O::Arson1,
            O::Arson2,
            O::Arson3,
            O::AggravatedSexualAssault1,
            O::CourseOfSexualConductAgainstChild1,
            O::ActiveWarrant,
        ] {
            let r = rule(c, RetentionFacts::default());
            assert_eq!(r.rule_id, RetentionRuleId::Ret01, "{c}");
            assert_eq!(r.period, RetentionPeriod::Permanent, "{c}");
        }
        assert_eq!(
            rule(O::MissingPerson, RetentionFacts::default()).period,
            RetentionPeriod::Until(RetentionEvent::PersonLocated)
        );
        assert_eq!(
            rule(O::StolenOrMissingFirearm, RetentionFacts::default()).period,
            RetentionPeriod::Until(RetentionEvent::FirearmRecoveredOrDestroyed)
        );
    }

    #[test]
    fn ret_02_arson_4_and_non_fatal_ten_years() {
        for c in [O::Arson4, O::NonFatal] {
            assert_eq!(
                rule(c, RetentionFacts::default()),
                min_until(RetentionRuleId::Ret02, day(2036, 3, 15))
            );
        }
    }

    #[test]
    fn ret_03_other_felony_twenty_five_years() {
        assert_eq!(
            rule(O::OtherFelony, RetentionFacts::default()),
            min_until(RetentionRuleId::Ret03, day(2051, 3, 15))
        );
    }

    #[test]
    fn ret_04_misdemeanor_five_years() {
        assert_eq!(
            rule(O::Misdemeanor, RetentionFacts::default()),
            min_until(RetentionRuleId::Ret04, day(2031, 3, 15))
        );
    }

    #[test]
    fn ret_05_violation_one_year() {
        assert_eq!(
            rule(O::ViolationOrTrafficInfraction, RetentionFacts::default()),
            min_until(RetentionRuleId::Ret05, day(2027, 3, 15))
        );
    }

    #[test]
    fn ret_06_child_victims_act_until_age_55() {
        let facts = RetentionFacts {
            child_date_of_birth: Some(day(2012, 2, 29)),
            ..Default::default()
        };
        assert_eq!(
            rule(O::ChildVictimsActOffence, facts),
            min_until(RetentionRuleId::Ret06, day(2067, 2, 28))
        );
        let e = retention_for(
            &policy_schedule(),
            &closed(O::ChildVictimsActOffence),
            &RetentionFacts::default(),
        )
        .unwrap_err();
        assert_eq!(e.rule(), Some("RET-06"));
        assert!(e.to_string().contains("child_date_of_birth"));
    }

    #[test]
    fn ret_07_no_offence_by_adult_five_years() {
        assert_eq!(
            rule(O::NoOffenceByAdult, RetentionFacts::default()),
            min_until(RetentionRuleId::Ret07, day(2031, 3, 15))
        );
    }

    #[test]
    fn ret_08_juvenile_one_year_after_eighteen() {
        let facts = RetentionFacts {
            juvenile_date_of_birth: Some(day(2010, 6, 1)),
            ..Default::default()
        };
        assert_eq!(
            rule(O::JuvenileNoArrestOrNoOffence, facts),
            min_until(RetentionRuleId::Ret08, day(2029, 6, 1))
        );
        assert!(retention_for(
            &policy_schedule(),
            &closed(O::JuvenileNoArrestOrNoOffence),
            &RetentionFacts::default()
        )
        .is_err());
    }

    #[test]
    fn ret_09_personal_files_shorter_of_death_and_birth() {
        let dead = PersonalFileSubject::CriminalOrSuspect {
            date_of_birth: Some(day(1950, 1, 1)),
            date_of_death: Some(day(2020, 5, 5)),
            last_arrest: None,
        };
        assert_eq!(
            retention_for_personal_file(&dead).unwrap(),
            min_until(RetentionRuleId::Ret09, day(2025, 5, 5))
        );
        let old = PersonalFileSubject::CriminalOrSuspect {
            date_of_birth: Some(day(1930, 1, 1)),
            date_of_death: Some(day(2019, 1, 1)),
            last_arrest: None,
        };
        assert_eq!(
            retention_for_personal_file(&old).unwrap(),
            min_until(RetentionRuleId::Ret09, day(2020, 1, 1))
        );
        let rearrested = PersonalFileSubject::CriminalOrSuspect {
            date_of_birth: Some(day(1940, 1, 1)),
            date_of_death: None,
            last_arrest: Some(day(2028, 7, 1)),
        };
        assert_eq!(
            retention_for_personal_file(&rearrested).unwrap(),
            min_until(RetentionRuleId::Ret09, day(2033, 7, 1))
        );
        assert_eq!(
            retention_for_personal_file(&PersonalFileSubject::AssociatedPerson)
                .unwrap()
                .period,
            RetentionPeriod::Until(RetentionEvent::CaseRecordDisposed)
        );
        let unknown = PersonalFileSubject::CriminalOrSuspect {
            date_of_birth: None,
            date_of_death: None,
            last_arrest: None,
        };
        assert_eq!(
            retention_for_personal_file(&unknown).unwrap_err().rule(),
            Some("RET-09")
        );
    }

    #[test]
    fn ret_10_robot_data_thirty_days_unless_in_a_case() {
        let r = retention_for_robot_data(at(2026, 1, 1), None);
        assert_eq!(r, min_until(RetentionRuleId::Ret10, day(2026, 1, 31)));
        let case_rule = rule(O::OtherFelony, RetentionFacts::default());
        assert_eq!(
            retention_for_robot_data(at(2026, 1, 1), Some(case_rule)),
            case_rule
        );
    }

    #[test]
    fn ret_11_nothing_disposed_before_minimum_or_under_hold() {
        let r = rule(O::Misdemeanor, RetentionFacts::default());
        assert_eq!(
            may_dispose(&r, &[], &[], at(2031, 3, 14))
                .unwrap_err()
                .rule(),
            Some("RET-04")
        );
        assert!(may_dispose(&r, &[], &[], at(2031, 3, 15)).is_ok());
        let hold = LegalHold {
            reference: "LH-7".into(),
            reason: "civil litigation".into(),
            placed_by: UserId::new(),
            placed_at: at(2030, 1, 1),
            released_at: Some(at(2032, 1, 1)),
        };
        let e = may_dispose(&r, std::slice::from_ref(&hold), &[], at(2031, 6, 1)).unwrap_err();
        assert_eq!(e.rule(), Some("RET-11"));
        assert!(e.to_string().contains("legal hold LH-7"));
        assert!(may_dispose(&r, &[hold], &[], at(2032, 1, 1)).is_ok());
        let perm = rule(O::Homicide, RetentionFacts::default());
        assert_eq!(
            may_dispose(&perm, &[], &[], at(2200, 1, 1))
                .unwrap_err()
                .rule(),
            Some("RET-01")
        );
        let missing = rule(O::MissingPerson, RetentionFacts::default());
        assert!(may_dispose(&missing, &[], &[], at(2030, 1, 1)).is_err());
        assert!(may_dispose(
            &missing,
            &[],
            &[RetentionEvent::PersonLocated],
            at(2030, 1, 1)
        )
        .is_ok());
    }

    #[test]
    fn ret_11_hold_needs_matter_and_reason_and_is_released_once() {
        let today = day(2026, 3, 15);
        let e = check_new_hold(HoldSubjectKind::Case, "2026-000123", " ", "", None, today)
            .expect_err("missing");
        assert_eq!(
            e,
            DomainError::Missing {
                rule: "RET-11",
                missing: vec!["matter", "reason"]
            }
        );
        assert!(check_new_hold(
            HoldSubjectKind::Case,
            "2026-000123",
            "Doe v. City",
            "litigation",
            Some(day(1990, 1, 1)),
            today
        )
        .is_err());
        assert!(check_new_hold(
            HoldSubjectKind::Person,
            "John Doe",
            "Doe v. City",
            "litigation",
            Some(day(1990, 1, 1)),
            today
        )
        .is_ok());
        assert_eq!(
            HoldSubjectKind::parse("fr_request"),
            Ok(HoldSubjectKind::FrRequest)
        );
        assert!(HoldSubjectKind::parse("blob").is_err());
        let mut hold = LegalHold {
            reference: "Doe v. City".into(),
            reason: "litigation".into(),
            placed_by: UserId(uuid::Uuid::nil()),
            placed_at: at(2026, 3, 1),
            released_at: None,
        };
        assert!(hold.check_release("settled").is_ok());
        assert!(hold.check_release(" ").is_err());
        let r = retention_for_robot_data(at(2026, 1, 1), None);
        assert_eq!(
            may_dispose(&r, &[hold.clone()], &[], at(2026, 3, 15))
                .unwrap_err()
                .rule(),
            Some("RET-11")
        );
        hold.released_at = Some(at(2026, 3, 10));
        assert!(may_dispose(&r, &[hold.clone()], &[], at(2026, 3, 15)).is_ok());
        assert_eq!(
            hold.check_release("again").unwrap_err().rule(),
            Some("RET-11")
        );
    }
}
