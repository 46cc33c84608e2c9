//! Custody and oversight clocks: card clearing (DC-05), device inspections (DC-04), breach
//! reporting (EXT-05). FOIL deadlines (PUB-01) are business days of the New York calendar: see
//! [`crate::foil`].

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A file found on a camera's memory card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardFile {
    pub name: String,
    /// SHA-256 of the file as read from the card, hex.
    pub sha256: String,
}

/// DC-05: a card may be cleared only when every file on it was ingested with the same hash.
/// `ingested_sha256` are the hashes of the originals stored in the case management system.
pub fn check_card_clear(
    card: &[CardFile],
    ingested_sha256: &BTreeSet<String>,
) -> Result<(), DomainError> {
    let missing: Vec<&str> = card
        .iter()
        .filter(|f| !ingested_sha256.contains(&f.sha256.to_ascii_lowercase()))
        .map(|f| f.name.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DomainError::refused(
            "DC-05",
            format!(
                "{} of {} files on the card are not verified as ingested ({}); ingest them before clearing",
                missing.len(),
                card.len(),
                missing.join(", ")
            ),
        ))
    }
}

/// Where a device's periodic supervisor inspection stands (DC-04).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum InspectionStatus {
    Current {
        next_due: DateTime<Utc>,
    },
    /// Flag for the supervisor: overdue since `due`, or never inspected.
    Overdue {
        due: Option<DateTime<Utc>>,
    },
}

/// DC-04: a device is overdue when its last inspection is older than `interval`.
pub fn inspection_status(
    last: Option<DateTime<Utc>>,
    interval: Duration,
    now: DateTime<Utc>,
) -> InspectionStatus {
    match last {
        None => InspectionStatus::Overdue { due: None },
        Some(l) => {
            // An interval beyond the calendar means never due again; it must not overflow.
            let Some(due) = l.checked_add_signed(interval) else {
                return InspectionStatus::Current {
                    next_due: DateTime::<Utc>::MAX_UTC,
                };
            };
            if now < due {
                InspectionStatus::Current { next_due: due }
            } else {
                InspectionStatus::Overdue { due: Some(due) }
            }
        }
    }
}

/// Where a breach report stands (EXT-05): the APO reports to the City Chief Privacy Officer
/// within 24 hours of becoming aware.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BreachStatus {
    Running {
        deadline: DateTime<Utc>,
        remaining_minutes: i64,
    },
    /// Deadline passed without a report: escalate.
    Escalate {
        deadline: DateTime<Utc>,
        overdue_minutes: i64,
    },
    ReportedInTime {
        reported_at: DateTime<Utc>,
    },
    ReportedLate {
        reported_at: DateTime<Utc>,
        late_minutes: i64,
    },
}

/// The 24-hour clock of EXT-05.
pub fn breach_status(
    aware_at: DateTime<Utc>,
    reported_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> BreachStatus {
    let deadline = aware_at + Duration::hours(24);
    match reported_at {
        Some(r) if r <= deadline => BreachStatus::ReportedInTime { reported_at: r },
        Some(r) => BreachStatus::ReportedLate {
            reported_at: r,
            late_minutes: (r - deadline).num_minutes(),
        },
        None if now < deadline => BreachStatus::Running {
            deadline,
            remaining_minutes: (deadline - now).num_minutes(),
        },
        None => BreachStatus::Escalate {
            deadline,
            overdue_minutes: (now - deadline).num_minutes(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).single().unwrap()
    }

    #[test]
    fn dc_05_card_cleared_only_when_every_file_ingested() {
        let card = vec![
            CardFile {
                name: "DSC_0001.NEF".into(),
                sha256: "AA".repeat(32),
            },
            CardFile {
                name: "DSC_0002.NEF".into(),
                sha256: "bb".repeat(32),
            },
        ];
        let mut ingested: BTreeSet<String> = ["aa".repeat(32)].into();
        let e = check_card_clear(&card, &ingested).unwrap_err();
        assert_eq!(e.rule(), Some("DC-05"));
        assert!(e.to_string().contains("DSC_0002.NEF"));
        ingested.insert("bb".repeat(32));
        assert!(check_card_clear(&card, &ingested).is_ok());
    }

    #[test]
    fn dc_04_overdue_inspection_flagged() {
        let week = Duration::days(7);
        assert_eq!(
            inspection_status(None, week, at(10, 9)),
            InspectionStatus::Overdue { due: None }
        );
        assert_eq!(
            inspection_status(Some(at(1, 9)), week, at(7, 9)),
            InspectionStatus::Current { next_due: at(8, 9) }
        );
        assert_eq!(
            inspection_status(Some(at(1, 9)), week, at(8, 9)),
            InspectionStatus::Overdue {
                due: Some(at(8, 9))
            }
        );
    }

    #[test]
    fn ext_05_breach_reported_within_24_hours_or_escalated() {
        assert_eq!(
            breach_status(at(1, 9), None, at(2, 8)),
            BreachStatus::Running {
                deadline: at(2, 9),
                remaining_minutes: 60
            }
        );
        assert_eq!(
            breach_status(at(1, 9), None, at(2, 11)),
            BreachStatus::Escalate {
                deadline: at(2, 9),
                overdue_minutes: 120
            }
        );
        assert_eq!(
            breach_status(at(1, 9), Some(at(2, 9)), at(3, 9)),
            BreachStatus::ReportedInTime {
                reported_at: at(2, 9)
            }
        );
        assert!(matches!(
            breach_status(at(1, 9), Some(at(2, 10)), at(3, 9)),
            BreachStatus::ReportedLate {
                late_minutes: 60,
                ..
            }
        ));
    }
}
