//! Sending windows (quiet hours): the local hours and weekdays a campaign may send in.
//! A window whose end is not after its start runs past midnight (`22:00`–`06:00`);
//! its days are the days it opens on.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// When a campaign may send. Stored as the JSON of its request form.
#[derive(Clone, Debug, PartialEq, Eq, sea_orm::DeriveValueType)]
#[sea_orm(value_type = "String")]
pub struct SendWindow {
    start: NaiveTime,
    end: NaiveTime,
    timezone: Tz,
    /// Sorted, without repeats, never empty.
    days: Vec<Weekday>,
}

/// Why a window was refused, in words a user can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WindowError(pub String);

/// The window as requests and the database spell it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowForm {
    pub start: String,
    pub end: String,
    pub timezone: String,
    pub days: Vec<String>,
}

const DAY_NAMES: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

impl SendWindow {
    /// Reads a window; the error says what is wrong in words a user can act on.
    /// No days, or a start equal to its end, is a window that never opens.
    pub fn parse(form: &WindowForm) -> Result<SendWindow, WindowError> {
        SendWindow::check(form).map_err(WindowError)
    }

    fn check(form: &WindowForm) -> Result<SendWindow, String> {
        // Exactly `HH:MM`, as the spec's pattern says (chrono alone also takes `9:00`).
        let time = |field: &str, value: &str| {
            let b = value.as_bytes();
            let shaped =
                b.len() == 5 && b[2] == b':' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit());
            shaped
                .then(|| NaiveTime::parse_from_str(value, "%H:%M").ok())
                .flatten()
                .ok_or_else(|| format!("send_window.{field} '{value}' is not a time like 09:00"))
        };
        let start = time("start", &form.start)?;
        let end = time("end", &form.end)?;
        let timezone: Tz = form.timezone.parse().map_err(|_| {
            format!(
                "send_window.timezone '{}' is not an IANA time zone name",
                form.timezone
            )
        })?;
        let mut days = Vec::new();
        for name in &form.days {
            let day = DAY_NAMES
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, d)| *d)
                .ok_or_else(|| {
                    format!(
                        "send_window.days: '{name}' is not one of mon, tue, wed, thu, fri, sat, sun"
                    )
                })?;
            if !days.contains(&day) {
                days.push(day);
            }
        }
        days.sort_by_key(|d| d.num_days_from_monday());
        if days.is_empty() {
            return Err("send_window never opens: days is empty".into());
        }
        if start == end {
            return Err("send_window never opens: start and end are the same time".into());
        }
        Ok(SendWindow {
            start,
            end,
            timezone,
            days,
        })
    }

    pub fn form(&self) -> WindowForm {
        WindowForm {
            start: self.start.format("%H:%M").to_string(),
            end: self.end.format("%H:%M").to_string(),
            timezone: self.timezone.name().to_owned(),
            days: self
                .days
                .iter()
                .map(|d| DAY_NAMES.iter().find(|(_, x)| x == d).expect("a weekday").0)
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Whether messages may go out at `at`.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let today = at.with_timezone(&self.timezone).date_naive();
        [today - Duration::days(1), today]
            .into_iter()
            .filter_map(|day| self.opening(day))
            .any(|(open, close)| open <= at && at < close)
    }

    /// The first opening strictly after `at`.
    pub fn next_open(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = at.with_timezone(&self.timezone).date_naive();
        (0..=8)
            .filter_map(|n| self.opening(today + Duration::days(n)))
            .map(|(open, _)| open)
            .find(|open| *open > at)
    }

    /// The window that opens on local `day`, if it opens that day.
    fn opening(&self, day: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.days.contains(&day.weekday()) {
            return None;
        }
        let close_day = if self.end > self.start {
            day
        } else {
            day + Duration::days(1)
        };
        Some((
            self.instant(day, self.start),
            self.instant(close_day, self.end),
        ))
    }

    /// A local time as an instant: the earlier of an ambiguous pair, and for a time the
    /// clocks skip, the first instant after the gap.
    fn instant(&self, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let local = day.and_time(time);
        (0..=4)
            .find_map(|q| {
                self.timezone
                    .from_local_datetime(&(local + Duration::minutes(15 * q)))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&local))
    }
}

impl fmt::Display for SendWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let json = serde_json::to_string(&self.form()).map_err(|_| fmt::Error)?;
        f.write_str(&json)
    }
}

impl FromStr for SendWindow {
    type Err = WindowError;
    fn from_str(s: &str) -> Result<SendWindow, WindowError> {
        let form: WindowForm = serde_json::from_str(s).map_err(|e| WindowError(e.to_string()))?;
        SendWindow::parse(&form)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(start: &str, end: &str, tz: &str, days: &[&str]) -> Result<SendWindow, String> {
        SendWindow::check(&WindowForm {
            start: start.into(),
            end: end.into(),
            timezone: tz.into(),
            days: days.iter().map(|d| d.to_string()).collect(),
        })
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn office_hours_in_sao_paulo() {
        let w = window(
            "09:00",
            "18:00",
            "America/Sao_Paulo",
            &["mon", "tue", "wed", "thu", "fri"],
        )
        .unwrap();
        // 2026-12-04 is a Friday; São Paulo is UTC-3.
        assert!(w.contains(utc("2026-12-04T12:00:00Z")));
        assert!(!w.contains(utc("2026-12-04T11:59:59Z")));
        assert!(!w.contains(utc("2026-12-04T21:00:00Z")));
        assert!(!w.contains(utc("2026-12-05T14:00:00Z")), "Saturday");
        assert_eq!(
            w.next_open(utc("2026-12-04T21:00:00Z")),
            Some(utc("2026-12-07T12:00:00Z")),
            "Friday evening waits for Monday"
        );
        assert_eq!(w.to_string().parse::<SendWindow>().unwrap(), w);
    }

    #[test]
    fn overnight_windows_belong_to_the_day_they_open() {
        let w = window("22:00", "06:00", "UTC", &["sat"]).unwrap();
        assert!(w.contains(utc("2026-12-05T23:00:00Z")));
        assert!(w.contains(utc("2026-12-06T05:59:00Z")), "Sunday morning");
        assert!(!w.contains(utc("2026-12-06T23:00:00Z")), "Sunday night");
    }

    #[test]
    fn windows_that_never_open_are_refused() {
        assert!(
            window("09:00", "09:00", "UTC", &["mon"])
                .unwrap_err()
                .contains("never opens")
        );
        assert!(
            window("09:00", "18:00", "UTC", &[])
                .unwrap_err()
                .contains("never opens")
        );
        assert!(window("9am", "18:00", "UTC", &["mon"]).is_err());
        assert!(window("09:00", "18:00", "Mars/Base", &["mon"]).is_err());
        assert!(window("09:00", "18:00", "UTC", &["funday"]).is_err());
    }

    #[test]
    fn an_opening_in_a_dst_gap_starts_after_the_gap() {
        // New York skipped 02:00-03:00 on 2026-03-08.
        let w = window("02:30", "05:00", "America/New_York", &["sun"]).unwrap();
        assert_eq!(
            w.next_open(utc("2026-03-07T00:00:00Z")),
            Some(utc("2026-03-08T07:00:00Z"))
        );
    }
}
