//! Cases: case and complaint numbers, offence classification, closure, retention
//! classification and legal holds (RET-01..RET-11).
//!
//! A case investigation record is retained by the classification of its final disposition,
//! counted from closure; a case closes only for one of four reasons. [`retention_for`] turns a
//! closed case into the rule that governs it; [`may_dispose`] says whether a record may be
//! destroyed today, and why not.

use std::fmt;

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CaseId, UserId};
use crate::macros::text_enum;
use crate::people::CommandCode;
use crate::DomainError;

/// A case or complaint number, normalised to upper case.
///
/// Accepted forms:
/// - complaint number `YYYY-PPP-NNNNNN` (year, precinct 001..123, serial), e.g. `2026-019-004512`;
/// - case number `CMD-YYYY-NNNNN` (command prefix of 2..10 letters/digits, year, serial of
///   1..7 digits), e.g. `DBMN-2026-00042`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseNumber(String);

text_enum! {
    /// Which form a [`CaseNumber`] has.
    pub enum CaseNumberKind: "case number kind" {
        Complaint = "complaint",
        Case = "case",
    }
}

fn plausible_year(s: &str) -> bool {
    s.len() == 4 && s.parse::<u32>().is_ok_and(|y| (1900..=2199).contains(&y))
}

fn all_digits(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

impl CaseNumber {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim().to_ascii_uppercase();
        let parts: Vec<&str> = t.split('-').collect();
        let ok = match parts.as_slice() {
            [y, p, n] if y.bytes().all(|b| b.is_ascii_digit()) => {
                plausible_year(y)
                    && all_digits(p, 3, 3)
                    && p.parse::<u32>().is_ok_and(|p| (1..=123).contains(&p))
                    && all_digits(n, 6, 6)
            }
            [c, y, n] => {
                (2..=10).contains(&c.len())
                    && c.bytes().all(|b| b.is_ascii_alphanumeric())
                    && c.bytes().any(|b| b.is_ascii_alphabetic())
                    && plausible_year(y)
                    && all_digits(n, 1, 7)
            }
            _ => false,
        };
        if ok {
            Ok(CaseNumber(t))
        } else {
            Err(DomainError::invalid(
                "case_number",
                format!(
                    "'{s}' is neither a complaint number (YYYY-PPP-NNNNNN, e.g. 2026-019-004512) \
                     nor a case number (CMD-YYYY-NNNNN, e.g. DBMN-2026-00042)"
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> CaseNumberKind {
        if self
            .0
            .as_bytes()
            .first()
            .is_some_and(|b| b.is_ascii_digit())
            && self
                .0
                .split('-')
                .next()
                .is_some_and(|y| y.bytes().all(|b| b.is_ascii_digit()))
        {
            CaseNumberKind::Complaint
        } else {
            CaseNumberKind::Case
        }
    }
}

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for CaseNumber {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CaseNumber::parse(s)
    }
}

impl TryFrom<String> for CaseNumber {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CaseNumber::parse(&s)
    }
}

impl From<CaseNumber> for String {
    fn from(c: CaseNumber) -> String {
        c.0
    }
}

text_enum! {
    /// Offence classification of a case, in the categories of the retention schedule (RET-01..RET-08).
    pub enum OffenceClassification: "offence classification" {
        Homicide = "homicide",
        Suicide = "suicide",
        Arson1 = "arson_1",
        Arson2 = "arson_2",
        Arson3 = "arson_3",
        Arson4 = "arson_4",
        /// Permanent until the person is located.
        MissingPerson = "missing_person",
        AggravatedSexualAssault1 = "aggravated_sexual_assault_1",
        CourseOfSexualConductAgainstChild1 = "course_of_sexual_conduct_against_child_1",
        ActiveWarrant = "active_warrant",
        /// Permanent until the firearm is recovered or destroyed.
        StolenOrMissingFirearm = "stolen_or_missing_firearm",
        /// Non-fatal, including vehicular accidents.
        NonFatal = "non_fatal",
        OtherFelony = "other_felony",
        Misdemeanor = "misdemeanor",
        ViolationOrTrafficInfraction = "violation_or_traffic_infraction",
        /// Offence against a child under the Child Victims Act (other than those of RET-01).
        ChildVictimsActOffence = "child_victims_act_offence",
        NoOffenceByAdult = "no_offence_by_adult",
        /// The individual was a juvenile and no arrest was made or no offence was committed.
        JuvenileNoArrestOrNoOffence = "juvenile_no_arrest_or_no_offence",
    }
}

text_enum! {
    /// Status of a case.
    pub enum CaseStatus: "case status" {
        Open = "open",
        Closed = "closed",
    }
}

text_enum! {
    /// The only reasons for which a case investigation is closed (RET, all seeds).
    pub enum ClosureReason: "closure reason" {
        ProsecutionAndAppealsExhausted = "prosecution_and_appeals_exhausted",
        Settlement = "settlement",
        NoArrest = "no_arrest",
        RestitutionNoLongerSought = "restitution_no_longer_sought",
    }
}

impl ClosureReason {
    /// Wording of the reason as the policies give it.
    pub fn wording(self) -> &'static str {
        match self {
            ClosureReason::ProsecutionAndAppealsExhausted => {
                "prosecution and appeals are exhausted"
            }
            ClosureReason::Settlement => "a settlement",
            ClosureReason::NoArrest => "no arrest",
            ClosureReason::RestitutionNoLongerSought => "restitution is no longer sought",
        }
    }
}

/// The closure of a case: why, when, by whom, and the final classification that sets retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub reason: ClosureReason,
    pub closed_at: DateTime<Utc>,
    pub closed_by: UserId,
    /// Classification of the final disposition (what the arrestee is convicted of or pleads to).
    pub final_classification: OffenceClassification,
}

/// A case investigation record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub id: CaseId,
    pub number: CaseNumber,
    pub offence: OffenceClassification,
    pub status: CaseStatus,
    /// Command that owns the case.
    pub command: CommandCode,
    pub assigned_investigator: Option<UserId>,
    /// Investigation involving political activity: Intelligence Division only (FR-25, DC-03).
    pub political_activity: bool,
    pub opened_at: DateTime<Utc>,
    pub closure: Option<Closure>,
}

impl Case {
    /// Opens a case.
    pub fn open(
        number: CaseNumber,
        offence: OffenceClassification,
        command: CommandCode,
        assigned_investigator: Option<UserId>,
        political_activity: bool,
        now: DateTime<Utc>,
    ) -> Case {
        Case {
            id: CaseId::new(),
            number,
            offence,
            status: CaseStatus::Open,
            command,
            assigned_investigator,
            political_activity,
            opened_at: now,
            closure: None,
        }
    }

    /// Closes the case for one of the four closure reasons (RET). The final classification sets
    /// the retention rule. Refused when the case is already closed or the time precedes opening.
    pub fn close(
        &self,
        reason: ClosureReason,
        final_classification: OffenceClassification,
        by: UserId,
        now: DateTime<Utc>,
    ) -> Result<Case, DomainError> {
        if self.status == CaseStatus::Closed {
            return Err(DomainError::refused(
                "RET",
                format!(
                    "case {} is already closed; a closed case is not closed again",
                    self.number
                ),
            ));
        }
        if now < self.opened_at {
            return Err(DomainError::invalid(
                "closed_at",
                format!(
                    "closure time {now} is before the case was opened ({})",
                    self.opened_at
                ),
            ));
        }
        Ok(Case {
            status: CaseStatus::Closed,
            offence: final_classification,
            closure: Some(Closure {
                reason,
                closed_at: now,
                closed_by: by,
                final_classification,
            }),
            ..self.clone()
        })
    }
}

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
}

fn add_years(d: NaiveDate, years: u32, rule: &'static str) -> Result<NaiveDate, DomainError> {
    d.checked_add_months(Months::new(years * 12))
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

/// The retention rule of a closed case (RET-01..RET-08), from its final classification,
/// counted from closure.
///
/// Refused for an open case: a case is retained while open and its schedule starts at closure.
pub fn retention_for(case: &Case, facts: &RetentionFacts) -> Result<RetentionRule, DomainError> {
    use OffenceClassification as O;
    use RetentionRuleId as R;
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
    let closed = closure.closed_at.date_naive();
    let permanent = RetentionRule {
        rule_id: R::Ret01,
        period: RetentionPeriod::Permanent,
    };
    Ok(match closure.final_classification {
        O::Homicide
        | O::Suicide
        | O::Arson1
        | O::Arson2
        | O::Arson3
        | O::AggravatedSexualAssault1
        | O::CourseOfSexualConductAgainstChild1
        | O::ActiveWarrant => permanent,
        O::MissingPerson => RetentionRule {
            rule_id: R::Ret01,
            period: RetentionPeriod::Until(RetentionEvent::PersonLocated),
        },
        O::StolenOrMissingFirearm => RetentionRule {
            rule_id: R::Ret01,
            period: RetentionPeriod::Until(RetentionEvent::FirearmRecoveredOrDestroyed),
        },
        O::Arson4 | O::NonFatal => min_until(R::Ret02, add_years(closed, 10, "RET-02")?),
        O::OtherFelony => min_until(R::Ret03, add_years(closed, 25, "RET-03")?),
        O::Misdemeanor => min_until(R::Ret04, add_years(closed, 5, "RET-04")?),
        O::ViolationOrTrafficInfraction => min_until(R::Ret05, add_years(closed, 1, "RET-05")?),
        O::ChildVictimsActOffence => {
            let dob = facts.child_date_of_birth.ok_or(DomainError::Missing {
                rule: "RET-06",
                missing: vec!["child_date_of_birth"],
            })?;
            min_until(R::Ret06, add_years(dob, 55, "RET-06")?)
        }
        O::NoOffenceByAdult => min_until(R::Ret07, add_years(closed, 5, "RET-07")?),
        O::JuvenileNoArrestOrNoOffence => {
            let dob = facts.juvenile_date_of_birth.ok_or(DomainError::Missing {
                rule: "RET-08",
                missing: vec!["juvenile_date_of_birth"],
            })?;
            min_until(
                R::Ret08,
                add_years(add_years(dob, 18, "RET-08")?, 1, "RET-08")?,
            )
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

/// Retention of a personal information file (RET-09): 5 years after death, or 90 years after
/// birth provided there was no arrest in the 5 years before, whichever is shorter.
pub fn retention_for_personal_file(
    subject: &PersonalFileSubject,
) -> Result<RetentionRule, DomainError> {
    match *subject {
        PersonalFileSubject::AssociatedPerson => Ok(RetentionRule {
            rule_id: RetentionRuleId::Ret09,
            period: RetentionPeriod::Until(RetentionEvent::CaseRecordDisposed),
        }),
        PersonalFileSubject::CriminalOrSuspect {
            date_of_birth,
            date_of_death,
            last_arrest,
        } => {
            let after_death = date_of_death
                .map(|d| add_years(d, 5, "RET-09"))
                .transpose()?;
            let after_birth = match date_of_birth {
                Some(b) => {
                    let ninety = add_years(b, 90, "RET-09")?;
                    // "as long as there has been no arrest in the last five years"
                    let quiet_from = last_arrest.map(|a| add_years(a, 5, "RET-09")).transpose()?;
                    Some(quiet_from.map_or(ninety, |q| ninety.max(q)))
                }
                None => None,
            };
            let until = match (after_death, after_birth) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => {
                    return Err(DomainError::Missing {
                        rule: "RET-09",
                        missing: vec!["date_of_birth or date_of_death"],
                    })
                }
            };
            Ok(min_until(RetentionRuleId::Ret09, until))
        }
    }
}

/// Retention of autonomous security robot thermal data (RET-10, TH-04): 30 days from capture,
/// unless the data was moved into a case, where it follows the case's rule.
pub fn retention_for_robot_data(
    captured_at: DateTime<Utc>,
    case_rule: Option<RetentionRule>,
) -> RetentionRule {
    match case_rule {
        Some(rule) => rule,
        None => min_until(
            RetentionRuleId::Ret10,
            captured_at.date_naive() + chrono::Days::new(30),
        ),
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
    date_of_birth: Option<chrono::NaiveDate>,
    today: chrono::NaiveDate,
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

/// The proof that a record was destroyed (RET-11): what, why, under which rule, who approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispositionCertificate {
    /// What was destroyed (record kind and identifier).
    pub what: String,
    /// SHA-256 of the destroyed content, hex.
    pub content_sha256: String,
    pub why: String,
    pub rule_id: RetentionRuleId,
    pub approved_by: UserId,
    pub disposed_at: DateTime<Utc>,
}

impl DispositionCertificate {
    /// Issues a certificate after checking [`may_dispose`] and that every field is present.
    #[allow(clippy::too_many_arguments)]
    pub fn issue(
        rule: &RetentionRule,
        holds: &[LegalHold],
        events: &[RetentionEvent],
        what: &str,
        content_sha256: &str,
        why: &str,
        approved_by: UserId,
        now: DateTime<Utc>,
    ) -> Result<DispositionCertificate, DomainError> {
        may_dispose(rule, holds, events, now)?;
        let mut missing = Vec::new();
        if what.trim().is_empty() {
            missing.push("what");
        }
        if why.trim().is_empty() {
            missing.push("why");
        }
        if content_sha256.len() != 64 || !content_sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            missing.push("content_sha256 (64 hex digits)");
        }
        if !missing.is_empty() {
            return Err(DomainError::Missing {
                rule: "RET-11",
                missing,
            });
        }
        Ok(DispositionCertificate {
            what: what.trim().to_string(),
            content_sha256: content_sha256.to_ascii_lowercase(),
            why: why.trim().to_string(),
            rule_id: rule.rule_id,
            approved_by,
            disposed_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        retention_for(&closed(final_class), &facts).unwrap()
    }

    #[test]
    fn case_numbers_validate_both_forms() {
        let c = CaseNumber::parse(" 2026-019-004512 ").unwrap();
        assert_eq!(c.as_str(), "2026-019-004512");
        assert_eq!(c.kind(), CaseNumberKind::Complaint);
        let d = CaseNumber::parse("dbmn-2026-00042").unwrap();
        assert_eq!(d.as_str(), "DBMN-2026-00042");
        assert_eq!(d.kind(), CaseNumberKind::Case);
        for bad in [
            "",
            "2026-200-004512",
            "2026-019-45",
            "12-2026-1",
            "DBMN-26-1",
            "DBMN-2026-",
            "A B-2026-1",
            "2026-019-004512-1",
        ] {
            let e = CaseNumber::parse(bad).unwrap_err();
            assert!(e.to_string().starts_with("case_number:"), "{bad}: {e}");
        }
    }

    #[test]
    fn ret_closure_only_once_and_only_for_a_listed_reason() {
        assert_eq!(ClosureReason::ALL.len(), 4);
        assert!("dropped".parse::<ClosureReason>().is_err());
        let c = closed(O::Misdemeanor);
        assert_eq!(c.status, CaseStatus::Closed);
        let again = c.close(
            ClosureReason::Settlement,
            O::Misdemeanor,
            UserId::new(),
            at(2026, 4, 1),
        );
        assert_eq!(again.unwrap_err().rule(), Some("RET"));
    }

    #[test]
    fn ret_open_case_has_no_disposal_date() {
        let e = retention_for(&open_case(O::Misdemeanor), &RetentionFacts::default()).unwrap_err();
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
    fn ret_11_certificate_records_what_why_rule_who() {
        let r = rule(O::ViolationOrTrafficInfraction, RetentionFacts::default());
        let sha = "ab".repeat(32);
        let who = UserId::new();
        let cert = DispositionCertificate::issue(
            &r,
            &[],
            &[],
            "case 2026-019-004512",
            &sha,
            "schedule elapsed",
            who,
            at(2027, 4, 1),
        )
        .unwrap();
        assert_eq!(cert.rule_id, RetentionRuleId::Ret05);
        assert_eq!(cert.approved_by, who);
        let early =
            DispositionCertificate::issue(&r, &[], &[], "x", &sha, "y", who, at(2026, 4, 1));
        assert_eq!(early.unwrap_err().rule(), Some("RET-05"));
        let blank = DispositionCertificate::issue(&r, &[], &[], " ", "zz", "", who, at(2027, 4, 1))
            .unwrap_err();
        assert_eq!(blank.rule(), Some("RET-11"));
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
