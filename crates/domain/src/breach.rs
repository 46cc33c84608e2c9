//! Breach response (EXT-05): a disclosure that violates the Identifying Information Law is
//! reported by the Agency Privacy Officer to the City Chief Privacy Officer within 24 hours of its
//! discovery; the clock escalates at 12 and 20 hours; affected people are notified in writing when
//! there is risk of harm, when decided with the CPO and the Law Department, or when required by
//! law; a quarterly anonymized summary counts breaches by kind and outcome.
//!
//! The 24-hour clock itself is [`crate::oversight::breach_status`]; this module holds what a
//! record must carry, when an escalation is due, the notification decision and the summary.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::oversight::{breach_status, BreachStatus};
use crate::DomainError;

/// Hours after discovery at which an unreported breach escalates by e-mail (EXT-05).
pub const ESCALATION_HOURS: [u32; 2] = [12, 20];

/// What kind of breach (the summary counts by kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreachKind {
    /// Identifying information sent to the wrong recipient.
    Misdirected,
    /// Disclosed without one of the bases of EXT-03.
    UnauthorizedDisclosure,
    /// Accessed by someone without a need to know.
    UnauthorizedAccess,
    /// A device, medium or paper file lost or stolen.
    LostOrStolen,
    Other,
}

impl BreachKind {
    pub const ALL: &'static [BreachKind] = &[
        BreachKind::Misdirected,
        BreachKind::UnauthorizedDisclosure,
        BreachKind::UnauthorizedAccess,
        BreachKind::LostOrStolen,
        BreachKind::Other,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            BreachKind::Misdirected => "misdirected",
            BreachKind::UnauthorizedDisclosure => "unauthorized_disclosure",
            BreachKind::UnauthorizedAccess => "unauthorized_access",
            BreachKind::LostOrStolen => "lost_or_stolen",
            BreachKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Result<BreachKind, DomainError> {
        let t = s.trim();
        BreachKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == t)
            .ok_or_else(|| DomainError::UnknownValue {
                kind: "breach kind",
                value: t.to_string(),
                allowed: BreachKind::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// How the report to the City Chief Privacy Officer was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportMethod {
    Email,
    Telephone,
    InPerson,
    Letter,
}

impl ReportMethod {
    pub const ALL: &'static [ReportMethod] = &[
        ReportMethod::Email,
        ReportMethod::Telephone,
        ReportMethod::InPerson,
        ReportMethod::Letter,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ReportMethod::Email => "email",
            ReportMethod::Telephone => "telephone",
            ReportMethod::InPerson => "in_person",
            ReportMethod::Letter => "letter",
        }
    }

    pub fn parse(s: &str) -> Result<ReportMethod, DomainError> {
        let t = s.trim();
        ReportMethod::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == t)
            .ok_or_else(|| DomainError::UnknownValue {
                kind: "report method",
                value: t.to_string(),
                allowed: ReportMethod::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// The decision on notifying the affected people (EXT-05).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationDecision {
    /// Notify: there is a risk of harm to the affected people.
    RiskOfHarm,
    /// Notify: decided with the City Chief Privacy Officer and the Law Department.
    DecidedWithCpoAndLaw,
    /// Notify: required by law.
    RequiredByLaw,
    /// No notification: none of the three grounds applies.
    NotRequired,
}

impl NotificationDecision {
    pub const ALL: &'static [NotificationDecision] = &[
        NotificationDecision::RiskOfHarm,
        NotificationDecision::DecidedWithCpoAndLaw,
        NotificationDecision::RequiredByLaw,
        NotificationDecision::NotRequired,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            NotificationDecision::RiskOfHarm => "risk_of_harm",
            NotificationDecision::DecidedWithCpoAndLaw => "decided_with_cpo_and_law",
            NotificationDecision::RequiredByLaw => "required_by_law",
            NotificationDecision::NotRequired => "not_required",
        }
    }

    /// True when the affected people are to be notified in writing.
    pub const fn notify(self) -> bool {
        !matches!(self, NotificationDecision::NotRequired)
    }

    pub fn parse(s: &str) -> Result<NotificationDecision, DomainError> {
        let t = s.trim();
        NotificationDecision::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == t)
            .ok_or_else(|| DomainError::UnknownValue {
                kind: "notification decision",
                value: t.to_string(),
                allowed: NotificationDecision::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// A breach as the Agency Privacy Officer records it.
#[derive(Debug, Clone)]
pub struct BreachRecord<'a> {
    pub kind: &'a str,
    pub what_disclosed: &'a str,
    pub disclosed_to: &'a str,
    pub discovered_at: Option<DateTime<Utc>>,
}

/// EXT-05: a recorded breach says what was disclosed, to whom, and when it was discovered (the
/// clock runs from that moment, so it may not be missing or in the future). All missing parts
/// are named at once.
pub fn check_breach_record(
    r: &BreachRecord<'_>,
    now: DateTime<Utc>,
) -> Result<(BreachKind, DateTime<Utc>), DomainError> {
    let mut missing = Vec::new();
    if r.what_disclosed.trim().is_empty() {
        missing.push("what_disclosed");
    }
    if r.disclosed_to.trim().is_empty() {
        missing.push("disclosed_to");
    }
    if r.discovered_at.is_none() {
        missing.push("discovered_at");
    }
    if !missing.is_empty() {
        return Err(DomainError::Missing {
            rule: "EXT-05",
            missing,
        });
    }
    let kind = BreachKind::parse(r.kind)?;
    let Some(discovered) = r.discovered_at else {
        return Err(DomainError::Missing {
            rule: "EXT-05",
            missing: vec!["discovered_at"],
        });
    };
    if discovered > now + Duration::minutes(5) {
        return Err(DomainError::refused(
            "EXT-05",
            format!(
                "the discovery time {} is in the future: the 24-hour clock runs from when the \
                 breach was discovered",
                discovered.to_rfc3339()
            ),
        ));
    }
    Ok((kind, discovered))
}

/// EXT-05: the report to the City Chief Privacy Officer is made after discovery and not in the
/// future, once, and says how it was made.
pub fn check_cpo_report(
    discovered_at: DateTime<Utc>,
    already_reported: Option<DateTime<Utc>>,
    reported_at: DateTime<Utc>,
    method: &str,
    now: DateTime<Utc>,
) -> Result<ReportMethod, DomainError> {
    if let Some(r) = already_reported {
        return Err(DomainError::refused(
            "EXT-05",
            format!(
                "the report to the City Chief Privacy Officer was already recorded, made at {}",
                r.to_rfc3339()
            ),
        ));
    }
    if method.trim().is_empty() {
        return Err(DomainError::Missing {
            rule: "EXT-05",
            missing: vec!["method"],
        });
    }
    let method = ReportMethod::parse(method)?;
    if reported_at < discovered_at {
        return Err(DomainError::refused(
            "EXT-05",
            "the report to the City Chief Privacy Officer cannot precede the breach's discovery",
        ));
    }
    if reported_at > now + Duration::minutes(5) {
        return Err(DomainError::refused(
            "EXT-05",
            "the report to the City Chief Privacy Officer is recorded once made, not in advance",
        ));
    }
    Ok(method)
}

/// EXT-05: the notification decision names its ground and why.
pub fn check_notification_decision(
    decision: &str,
    reason: &str,
) -> Result<NotificationDecision, DomainError> {
    let mut missing = Vec::new();
    if decision.trim().is_empty() {
        missing.push("decision");
    }
    if reason.trim().is_empty() {
        missing.push("reason");
    }
    if !missing.is_empty() {
        return Err(DomainError::Missing {
            rule: "EXT-05",
            missing,
        });
    }
    NotificationDecision::parse(decision)
}

/// EXT-05: a letter is recorded only once notification was decided, and names its recipient and
/// the date it was sent.
pub fn check_letter(
    decision: Option<NotificationDecision>,
    recipient: &str,
    sent_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<NaiveDate, DomainError> {
    match decision {
        None => {
            return Err(DomainError::refused(
                "EXT-05",
                "decide on notification (risk of harm, with the CPO and Law Department, or \
                 required by law) before recording letters",
            ))
        }
        Some(d) if !d.notify() => {
            return Err(DomainError::refused(
                "EXT-05",
                "notification was decided not required: no letter is recorded",
            ))
        }
        Some(_) => {}
    }
    let mut missing = Vec::new();
    if recipient.trim().is_empty() {
        missing.push("recipient");
    }
    if sent_on.is_none() {
        missing.push("sent_on");
    }
    let Some(sent) = sent_on.filter(|_| missing.is_empty()) else {
        return Err(DomainError::Missing {
            rule: "EXT-05",
            missing,
        });
    };
    if sent > today {
        return Err(DomainError::refused(
            "EXT-05",
            "a letter is recorded once sent, not in advance",
        ));
    }
    Ok(sent)
}

/// The escalation stages (hours after discovery) due at `now` for a breach not yet reported to
/// the City Chief Privacy Officer; none once it is reported.
pub fn escalations_due(
    discovered_at: DateTime<Utc>,
    cpo_reported_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<u32> {
    if cpo_reported_at.is_some() {
        return Vec::new();
    }
    ESCALATION_HOURS
        .iter()
        .copied()
        .filter(|h| discovered_at + Duration::hours(i64::from(*h)) <= now)
        .collect()
}

/// A calendar quarter (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quarter {
    pub year: i32,
    /// 1..=4
    pub q: u32,
}

impl Quarter {
    /// `2026-Q3` (or `2026Q3`).
    pub fn parse(s: &str) -> Result<Quarter, DomainError> {
        let t = s.trim().to_ascii_uppercase();
        let bad = || {
            DomainError::invalid(
                "quarter",
                format!("{s:?} is not a quarter: give it as YYYY-Qn, e.g. 2026-Q3"),
            )
        };
        let (y, q) = t.split_once('Q').ok_or_else(bad)?;
        let year: i32 = y.trim_end_matches('-').parse().map_err(|_| bad())?;
        let q: u32 = q.parse().map_err(|_| bad())?;
        if !(1..=4).contains(&q) || !(1970..=9999).contains(&year) {
            return Err(bad());
        }
        Ok(Quarter { year, q })
    }

    /// The quarter `at` falls in.
    pub fn of(at: DateTime<Utc>) -> Quarter {
        Quarter {
            year: at.year(),
            q: (at.month() - 1) / 3 + 1,
        }
    }

    /// The quarter's first instant, and the next quarter's first instant.
    pub fn bounds(self) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = |y: i32, q: u32| {
            Utc.with_ymd_and_hms(y, (q - 1) * 3 + 1, 1, 0, 0, 0)
                .single()
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        };
        let (ny, nq) = if self.q == 4 {
            (self.year + 1, 1)
        } else {
            (self.year, self.q + 1)
        };
        (start(self.year, self.q), start(ny, nq))
    }

    pub fn label(self) -> String {
        format!("{}-Q{}", self.year, self.q)
    }
}

/// What the summary needs of one breach: no names, no descriptions.
#[derive(Debug, Clone)]
pub struct BreachFacts {
    pub kind: BreachKind,
    pub discovered_at: DateTime<Utc>,
    pub cpo_reported_at: Option<DateTime<Utc>>,
    pub decision: Option<NotificationDecision>,
    pub letters: u64,
}

/// One row of the quarterly summary: counts for one kind of breach.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SummaryRow {
    pub kind: String,
    pub breaches: u64,
    pub reported_in_time: u64,
    pub reported_late: u64,
    pub not_reported: u64,
    pub notify_risk_of_harm: u64,
    pub notify_decided_with_cpo_and_law: u64,
    pub notify_required_by_law: u64,
    pub notification_not_required: u64,
    pub notification_undecided: u64,
    pub letters_sent: u64,
}

/// The column names of [`SummaryRow`], in order.
pub const SUMMARY_COLUMNS: [&str; 11] = [
    "kind",
    "breaches",
    "reported_in_time",
    "reported_late",
    "not_reported",
    "notify_risk_of_harm",
    "notify_decided_with_cpo_and_law",
    "notify_required_by_law",
    "notification_not_required",
    "notification_undecided",
    "letters_sent",
];

impl SummaryRow {
    pub fn cells(&self) -> Vec<String> {
        let mut v = vec![self.kind.clone()];
        v.extend(
            [
                self.breaches,
                self.reported_in_time,
                self.reported_late,
                self.not_reported,
                self.notify_risk_of_harm,
                self.notify_decided_with_cpo_and_law,
                self.notify_required_by_law,
                self.notification_not_required,
                self.notification_undecided,
                self.letters_sent,
            ]
            .iter()
            .map(u64::to_string),
        );
        v
    }
}

/// EXT-05: the anonymized summary of the breaches discovered in `quarter`, one row per kind
/// (every kind, zero rows included) and a final `total` row. Counts only: nothing identifies a
/// person.
pub fn quarterly_summary(
    quarter: Quarter,
    breaches: &[BreachFacts],
    now: DateTime<Utc>,
) -> Vec<SummaryRow> {
    let (from, to) = quarter.bounds();
    let mut by: BTreeMap<BreachKind, SummaryRow> = BreachKind::ALL
        .iter()
        .map(|k| {
            (
                *k,
                SummaryRow {
                    kind: k.as_str().to_string(),
                    ..SummaryRow::default()
                },
            )
        })
        .collect();
    for b in breaches
        .iter()
        .filter(|b| b.discovered_at >= from && b.discovered_at < to)
    {
        let Some(row) = by.get_mut(&b.kind) else {
            continue;
        };
        row.breaches += 1;
        match breach_status(b.discovered_at, b.cpo_reported_at, now) {
            BreachStatus::ReportedInTime { .. } => row.reported_in_time += 1,
            BreachStatus::ReportedLate { .. } => row.reported_late += 1,
            BreachStatus::Running { .. } | BreachStatus::Escalate { .. } => row.not_reported += 1,
        }
        match b.decision {
            Some(NotificationDecision::RiskOfHarm) => row.notify_risk_of_harm += 1,
            Some(NotificationDecision::DecidedWithCpoAndLaw) => {
                row.notify_decided_with_cpo_and_law += 1
            }
            Some(NotificationDecision::RequiredByLaw) => row.notify_required_by_law += 1,
            Some(NotificationDecision::NotRequired) => row.notification_not_required += 1,
            None => row.notification_undecided += 1,
        }
        row.letters_sent += b.letters;
    }
    let mut rows: Vec<SummaryRow> = by.into_values().collect();
    let mut total = SummaryRow {
        kind: "total".into(),
        ..SummaryRow::default()
    };
    for r in &rows {
        total.breaches += r.breaches;
        total.reported_in_time += r.reported_in_time;
        total.reported_late += r.reported_late;
        total.not_reported += r.not_reported;
        total.notify_risk_of_harm += r.notify_risk_of_harm;
        total.notify_decided_with_cpo_and_law += r.notify_decided_with_cpo_and_law;
        total.notify_required_by_law += r.notify_required_by_law;
        total.notification_not_required += r.notification_not_required;
        total.notification_undecided += r.notification_undecided;
        total.letters_sent += r.letters_sent;
    }
    rows.push(total);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).single().unwrap()
    }

    #[test]
    fn ext_05_record_without_discovery_time_refused() {
        let r = BreachRecord {
            kind: "misdirected",
            what_disclosed: "an arrest report",
            disclosed_to: "the wrong precinct's mailbox",
            discovered_at: None,
        };
        let e = check_breach_record(&r, at(2, 0)).unwrap_err();
        assert_eq!(e.rule(), Some("EXT-05"));
        assert!(e.to_string().contains("discovered_at"), "{e}");
    }

    #[test]
    fn ext_05_escalations_at_12_and_20_hours_until_reported() {
        let d = at(1, 0);
        assert!(escalations_due(d, None, at(1, 11)).is_empty());
        assert_eq!(escalations_due(d, None, at(1, 12)), vec![12]);
        assert_eq!(escalations_due(d, None, at(1, 20)), vec![12, 20]);
        assert!(escalations_due(d, Some(at(1, 13)), at(1, 21)).is_empty());
    }

    #[test]
    fn ext_05_letters_only_after_a_decision_to_notify() {
        let today = at(5, 0).date_naive();
        assert!(check_letter(None, "A", Some(today), today).is_err());
        assert!(check_letter(
            Some(NotificationDecision::NotRequired),
            "A",
            Some(today),
            today
        )
        .is_err());
        assert!(check_letter(
            Some(NotificationDecision::RiskOfHarm),
            "A",
            Some(today),
            today
        )
        .is_ok());
    }

    #[test]
    fn ext_05_quarterly_summary_counts_by_kind_and_outcome() {
        assert_eq!(Quarter::parse("2026-Q1").unwrap(), Quarter::of(at(1, 0)));
        let facts = vec![
            BreachFacts {
                kind: BreachKind::Misdirected,
                discovered_at: at(1, 0),
                cpo_reported_at: Some(at(1, 5)),
                decision: Some(NotificationDecision::RiskOfHarm),
                letters: 2,
            },
            BreachFacts {
                kind: BreachKind::Misdirected,
                discovered_at: at(2, 0),
                cpo_reported_at: Some(at(3, 5)),
                decision: None,
                letters: 0,
            },
        ];
        let rows = quarterly_summary(Quarter::parse("2026-Q1").unwrap(), &facts, at(20, 0));
        let m = rows.iter().find(|r| r.kind == "misdirected").unwrap();
        assert_eq!((m.breaches, m.reported_in_time, m.reported_late), (2, 1, 1));
        assert_eq!((m.notify_risk_of_harm, m.letters_sent), (1, 2));
        assert_eq!(rows.last().unwrap().breaches, 2);
        let other = quarterly_summary(Quarter::parse("2026-Q2").unwrap(), &facts, at(20, 0));
        assert_eq!(other.last().unwrap().breaches, 0);
    }
}
