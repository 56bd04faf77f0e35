//! Business hours of a queue: weekly opening times in an IANA time zone.
//!
//! Times are minutes of the local day, so "24:00" can close a day and daylight-saving changes
//! follow the zone's rules (chrono-tz) without any arithmetic of ours.

use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::DeskError;

/// When a queue is open. Outside these hours the queue is unavailable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BusinessHoursSpec", into = "BusinessHoursSpec")]
pub struct BusinessHours {
    time_zone: Tz,
    opening: Vec<Opening>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Opening {
    day: Weekday,
    /// Minutes since local midnight, `open < close <= 1440`.
    open: u32,
    close: u32,
}

/// The configuration shape: `{ time_zone: "Europe/Berlin", weekly: [{ days: [mon, tue], open: "09:00", close: "17:30" }] }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHoursSpec {
    pub time_zone: String,
    pub weekly: Vec<OpeningSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningSpec {
    pub days: Vec<Weekday>,
    /// `HH:MM`, local time.
    pub open: String,
    /// `HH:MM`, local time, later than `open`; `24:00` is the end of the day.
    pub close: String,
}

impl BusinessHours {
    /// Checks a spec: a known IANA zone, `HH:MM` times, each opening before its closing.
    pub fn parse(spec: BusinessHoursSpec) -> Result<BusinessHours, DeskError> {
        let time_zone: Tz = spec
            .time_zone
            .parse()
            .map_err(|_| DeskError::Config(format!("unknown time zone {:?}", spec.time_zone)))?;
        let mut opening = Vec::new();
        for (idx, entry) in spec.weekly.iter().enumerate() {
            let open = parse_minutes(&entry.open).ok_or_else(|| {
                DeskError::Config(format!("weekly[{idx}].open: expected HH:MM, got {:?}", entry.open))
            })?;
            let close = parse_minutes(&entry.close).ok_or_else(|| {
                DeskError::Config(format!("weekly[{idx}].close: expected HH:MM, got {:?}", entry.close))
            })?;
            if open >= close {
                return Err(DeskError::Config(format!(
                    "weekly[{idx}]: opens at {} but closes at {}",
                    entry.open, entry.close
                )));
            }
            for &day in &entry.days {
                opening.push(Opening { day, open, close });
            }
        }
        Ok(BusinessHours { time_zone, opening })
    }

    /// Whether the queue is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.time_zone);
        let minute = local.hour() * 60 + local.minute();
        let day = local.weekday();
        self.opening
            .iter()
            .any(|opening| opening.day == day && opening.open <= minute && minute < opening.close)
    }
}

fn parse_minutes(raw: &str) -> Option<u32> {
    let (hours, minutes) = raw.split_once(':')?;
    let valid = hours.len() == 2 && minutes.len() == 2;
    let hours: u32 = hours.parse().ok().filter(|_| valid)?;
    let minutes: u32 = minutes.parse().ok()?;
    let total = hours * 60 + minutes;
    (minutes < 60 && total <= 24 * 60).then_some(total)
}

fn format_minutes(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl TryFrom<BusinessHoursSpec> for BusinessHours {
    type Error = DeskError;
    fn try_from(spec: BusinessHoursSpec) -> Result<Self, DeskError> {
        BusinessHours::parse(spec)
    }
}

impl From<BusinessHours> for BusinessHoursSpec {
    fn from(hours: BusinessHours) -> Self {
        BusinessHoursSpec {
            time_zone: hours.time_zone.name().to_owned(),
            weekly: hours
                .opening
                .iter()
                .map(|opening| OpeningSpec {
                    days: vec![opening.day],
                    open: format_minutes(opening.open),
                    close: format_minutes(opening.close),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn berlin_office() -> BusinessHours {
        BusinessHours::parse(BusinessHoursSpec {
            time_zone: "Europe/Berlin".into(),
            weekly: vec![OpeningSpec {
                days: vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
                open: "09:00".into(),
                close: "17:00".into(),
            }],
        })
        .unwrap()
    }

    #[test]
    fn open_follows_the_local_clock_of_the_zone() {
        let hours = berlin_office();
        // 2026-11-25 is a Wednesday; Berlin is UTC+1 in November.
        let cases = [
            (Utc.with_ymd_and_hms(2026, 11, 25, 7, 59, 0).unwrap(), false),
            (Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap(), true),
            (Utc.with_ymd_and_hms(2026, 11, 25, 15, 59, 0).unwrap(), true),
            (Utc.with_ymd_and_hms(2026, 11, 25, 16, 0, 0).unwrap(), false),
            (Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap(), false),
            // Summer time: UTC+2.
            (Utc.with_ymd_and_hms(2026, 7, 1, 7, 0, 0).unwrap(), true),
        ];
        for (at, open) in cases {
            assert_eq!(hours.is_open(at), open, "at {at}");
        }
    }

    #[test]
    fn bad_specs_are_refused_with_the_field() {
        let spec = |zone: &str, open: &str, close: &str| BusinessHoursSpec {
            time_zone: zone.into(),
            weekly: vec![OpeningSpec {
                days: vec![Weekday::Mon],
                open: open.into(),
                close: close.into(),
            }],
        };
        let cases = [
            (spec("Mars/Olympus", "09:00", "17:00"), "unknown time zone"),
            (spec("UTC", "9am", "17:00"), "weekly[0].open"),
            (spec("UTC", "09:00", "24:01"), "weekly[0].close"),
            (spec("UTC", "17:00", "09:00"), "opens at 17:00"),
        ];
        for (spec, expected) in cases {
            let error = BusinessHours::parse(spec).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
        assert!(BusinessHours::parse(spec("UTC", "00:00", "24:00")).is_ok());
    }

    #[test]
    fn round_trips_through_its_config_shape() {
        let hours = berlin_office();
        let json = serde_json::to_string(&hours).unwrap();
        let back: BusinessHours = serde_json::from_str(&json).unwrap();
        assert_eq!(back, hours);
    }
}
