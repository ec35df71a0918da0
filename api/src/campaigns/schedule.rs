//! Reading `scheduled_at`: an RFC 3339 time with an offset is absolute; a local time
//! without one is read in `scheduled_timezone` (default UTC). A local time the clocks
//! skip (a DST gap) is refused; one they pass twice takes the earlier instant.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::error::CampaignError;
use crate::http::text::Text;

/// A schedule as stored: the instant in UTC and the time zone it was chosen in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub at: DateTime<Utc>,
    pub timezone: Option<String>,
}

/// A trimmed, non-empty time zone name that is an IANA one.
pub fn timezone(name: Option<Text>) -> Result<Option<String>, CampaignError> {
    let Some(name) = name
        .map(|t| t.into_string().trim().to_owned())
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    if name.parse::<Tz>().is_err() {
        return Err(CampaignError::Invalid(format!(
            "scheduled_timezone '{name}' is not an IANA time zone name"
        )));
    }
    Ok(Some(name))
}

/// A new campaign's `scheduled_at` (if any) in UTC, and its time zone.
pub fn requested(
    at: Option<Text>,
    timezone: Option<Text>,
    now: DateTime<Utc>,
) -> Result<(Option<DateTime<Utc>>, Option<String>), CampaignError> {
    let timezone = self::timezone(timezone)?;
    match at {
        Some(at) => {
            let s = schedule(at.as_str(), timezone, now)?;
            Ok((Some(s.at), s.timezone))
        }
        None => Ok((None, timezone)),
    }
}

/// Reads `at` (in `timezone` when it has no offset); it must be after `now`.
pub fn schedule(
    at: &str,
    timezone: Option<String>,
    now: DateTime<Utc>,
) -> Result<Schedule, CampaignError> {
    let instant = instant(at.trim(), timezone.as_deref())?;
    if instant <= now {
        return Err(CampaignError::Invalid(
            "scheduled_at must be in the future".into(),
        ));
    }
    Ok(Schedule {
        at: instant,
        timezone,
    })
}

fn instant(at: &str, timezone: Option<&str>) -> Result<DateTime<Utc>, CampaignError> {
    if let Ok(absolute) = DateTime::<FixedOffset>::parse_from_rfc3339(at) {
        return Ok(absolute.with_timezone(&Utc));
    }
    // RFC 3339 needs seconds; `2026-12-24T09:00Z` and `…T09:00+02:00` are clear enough.
    let zulu = at
        .strip_suffix(['Z', 'z'])
        .map(|local| format!("{local}+00:00"));
    if let Ok(absolute) =
        DateTime::parse_from_str(zulu.as_deref().unwrap_or(at), "%Y-%m-%dT%H:%M%:z")
    {
        return Ok(absolute.with_timezone(&Utc));
    }
    let local = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(at, f).ok())
        .ok_or_else(|| {
            CampaignError::Invalid(format!(
                "scheduled_at '{at}' is not a date and time like 2026-12-24T09:00:00 (with an optional offset)"
            ))
        })?;
    let zone: Tz = timezone.unwrap_or("UTC").parse().unwrap_or(Tz::UTC);
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Ok(t.with_timezone(&Utc)),
        LocalResult::None => Err(CampaignError::Invalid(format!(
            "scheduled_at '{at}' does not exist in {}: the clocks skip that time (daylight saving)",
            zone.name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str, tz: Option<&str>) -> Result<DateTime<Utc>, CampaignError> {
        instant(s, tz)
    }

    #[test]
    fn offsets_are_absolute_and_local_times_are_read_in_the_zone() {
        let utc = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            at("2026-12-24T09:00:00+01:00", Some("America/New_York")).unwrap(),
            utc("2026-12-24T08:00:00Z")
        );
        assert_eq!(
            at("2026-12-24T09:00:00", Some("Europe/Berlin")).unwrap(),
            utc("2026-12-24T08:00:00Z")
        );
        assert_eq!(
            at("2026-12-24T09:00", None).unwrap(),
            utc("2026-12-24T09:00:00Z")
        );
        assert_eq!(
            at("2026-12-24T09:00Z", None).unwrap(),
            utc("2026-12-24T09:00:00Z")
        );
        assert_eq!(
            at("2026-12-24T09:00+02:00", None).unwrap(),
            utc("2026-12-24T07:00:00Z")
        );
        // New York falls back on 2026-11-01: 01:30 happens twice, the earlier is EDT.
        assert_eq!(
            at("2026-11-01T01:30:00", Some("America/New_York")).unwrap(),
            utc("2026-11-01T05:30:00Z")
        );
    }

    #[test]
    fn a_local_time_in_a_dst_gap_is_refused() {
        let err = at("2026-03-08T02:30:00", Some("America/New_York")).unwrap_err();
        assert!(
            err.to_string()
                .contains("does not exist in America/New_York"),
            "{err}"
        );
        assert!(at("tomorrow", None).is_err());
    }
}
