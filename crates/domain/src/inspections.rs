//! Tour inspections of areas with computer systems (SEC-06): each area of a command is inspected
//! by a supervisor once per tour; a tour that ended without one is a missed tour, flagged to the
//! commanding officer. Tours are the three eight-hour tours of the day, counted in UTC.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};

use crate::macros::text_enum;

text_enum! {
    /// One of the day's three tours.
    pub enum Tour: "tour" {
        /// 00:00 to 08:00.
        First = "first",
        /// 08:00 to 16:00.
        Second = "second",
        /// 16:00 to 24:00.
        Third = "third",
    }
}

impl Tour {
    fn start_hour(self) -> u32 {
        match self {
            Tour::First => 0,
            Tour::Second => 8,
            Tour::Third => 16,
        }
    }

    /// The tour `t` falls in, with its day.
    pub fn of(t: DateTime<Utc>) -> (NaiveDate, Tour) {
        let tour = match t.hour() {
            0..=7 => Tour::First,
            8..=15 => Tour::Second,
            _ => Tour::Third,
        };
        (t.date_naive(), tour)
    }

    /// When the tour of `day` starts.
    pub fn start(self, day: NaiveDate) -> DateTime<Utc> {
        day.and_time(chrono::NaiveTime::MIN).and_utc()
            + Duration::hours(i64::from(self.start_hour()))
    }

    /// When it ends (the next tour's start).
    pub fn end(self, day: NaiveDate) -> DateTime<Utc> {
        self.start(day) + Duration::hours(8)
    }
}

/// The tours that ended by `now`, started no earlier than `since` (the area was added) and no
/// more than `window_days` ago, with no inspection in `done`. Oldest first.
pub fn missed_tours(
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    done: &BTreeSet<(NaiveDate, Tour)>,
    window_days: i64,
) -> Vec<(NaiveDate, Tour)> {
    let from = since.max(now - Duration::days(window_days.max(0)));
    let mut out = Vec::new();
    let mut day = from.date_naive();
    while day <= now.date_naive() {
        for tour in Tour::ALL {
            let (start, end) = (tour.start(day), tour.end(day));
            if start >= from && end <= now && !done.contains(&(day, *tour)) {
                out.push((day, *tour));
            }
        }
        match day.succ_opt() {
            Some(d) => day = d,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0)
            .single()
            .expect("time")
    }

    #[test]
    fn sec_06_tours_and_missed_tours() {
        assert_eq!(Tour::of(at(3, 7)).1, Tour::First);
        assert_eq!(Tour::of(at(3, 8)).1, Tour::Second);
        assert_eq!(Tour::of(at(3, 23)).1, Tour::Third);
        // Area added at 00:00 on the 3rd; at 17:00 the first two tours have ended.
        let mut done = BTreeSet::new();
        let day = at(3, 0).date_naive();
        assert_eq!(
            missed_tours(at(3, 0), at(3, 17), &done, 7),
            vec![(day, Tour::First), (day, Tour::Second)]
        );
        done.insert((day, Tour::First));
        assert_eq!(
            missed_tours(at(3, 0), at(3, 17), &done, 7),
            vec![(day, Tour::Second)]
        );
        // A tour that started before the area existed is not owed.
        assert!(missed_tours(at(3, 9), at(3, 17), &BTreeSet::new(), 7).is_empty());
        // The window bounds how far back it looks.
        assert_eq!(
            missed_tours(at(1, 0), at(3, 0), &BTreeSet::new(), 1).len(),
            3
        );
    }
}
