//! Allegations of misuse of the Department's computer systems and recorded media (SEC-06): what
//! an allegation must say when it is taken in, where it can be assigned, and the outcomes it is
//! closed with.

use chrono::{DateTime, Utc};

use crate::macros::text_enum;
use crate::DomainError;

text_enum! {
    /// Who investigates an allegation (SEC-06).
    pub enum MisuseAssignee: "assignee" {
        /// The subject's command, at command level.
        Command = "command",
        /// The Internal Affairs Bureau.
        Iab = "iab",
    }
}

text_enum! {
    /// How an allegation ends.
    pub enum MisuseOutcome: "outcome" {
        /// The misuse happened and was the subject's.
        Substantiated = "substantiated",
        /// The evidence neither proves nor disproves it.
        Unsubstantiated = "unsubstantiated",
        /// It did not happen.
        Unfounded = "unfounded",
        /// It happened and was lawful and proper.
        Exonerated = "exonerated",
    }
}

text_enum! {
    /// How an allegation came in.
    pub enum MisuseSource: "source" {
        Complaint = "complaint",
        /// Found in a focused audit of the trail (SEC-05).
        Audit = "audit",
        Supervisor = "supervisor",
        Anonymous = "anonymous",
        Other = "other",
    }
}

/// An allegation as taken in: who, what, when (a range) and which records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MisuseIntake {
    pub subject: String,
    pub description: String,
    pub occurred_from: Option<DateTime<Utc>>,
    pub occurred_to: Option<DateTime<Utc>>,
}

impl MisuseIntake {
    /// Checks the intake at `now`: every part present, the range in order and not in the future.
    pub fn validate(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), DomainError> {
        let mut missing = Vec::new();
        if self.subject.trim().is_empty() {
            missing.push("who (the member alleged to have misused the system)");
        }
        if self.description.trim().is_empty() {
            missing.push("what happened");
        }
        if self.occurred_from.is_none() {
            missing.push("when it began");
        }
        if self.occurred_to.is_none() {
            missing.push("when it ended");
        }
        let (Some(from), Some(to)) = (self.occurred_from, self.occurred_to) else {
            return Err(DomainError::Missing {
                rule: "SEC-06",
                missing,
            });
        };
        if !missing.is_empty() {
            return Err(DomainError::Missing {
                rule: "SEC-06",
                missing,
            });
        }
        if to < from {
            return Err(DomainError::invalid(
                "occurred_to",
                "the period ends before it begins",
            ));
        }
        if from > now {
            return Err(DomainError::invalid(
                "occurred_from",
                "an allegation is about something that has happened",
            ));
        }
        Ok((from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 12, 0, 0)
            .single()
            .expect("date")
    }

    #[test]
    fn sec_06_intake_needs_who_what_when() {
        let ok = MisuseIntake {
            subject: "det.rivera".into(),
            description: "looked up a neighbour's arrest photo".into(),
            occurred_from: Some(at(1)),
            occurred_to: Some(at(2)),
        };
        assert_eq!(ok.validate(at(3)).expect("valid"), (at(1), at(2)));
        let e = MisuseIntake {
            description: " ".into(),
            occurred_to: None,
            ..ok.clone()
        }
        .validate(at(3))
        .unwrap_err();
        assert_eq!(e.rule(), Some("SEC-06"));
        assert!(e.to_string().contains("what happened"), "{e}");
        assert!(MisuseIntake {
            occurred_from: Some(at(3)),
            occurred_to: Some(at(2)),
            ..ok.clone()
        }
        .validate(at(4))
        .is_err());
        assert!(ok.validate(at(1) - chrono::Duration::days(1)).is_err());
        assert_eq!(MisuseOutcome::ALL.len(), 4);
    }
}
