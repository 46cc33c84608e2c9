//! Cases: case and complaint numbers, offence classification and closure.
//!
//! A case investigation record is retained by the classification of its final disposition,
//! counted from closure; a case closes only for one of four reasons. What that means for its
//! retention is [`crate::retention`]'s.

use std::fmt;

use chrono::{DateTime, Utc};
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use OffenceClassification as O;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).single().unwrap()
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
}
