//! Schedules: a cron expression (five fields: minute, hour, day of month, month, day of week) read in
//! Europe/Amsterdam, so `0 6 * * 1-5` is six in the morning on working days in winter and in summer. A
//! connection without one is manual only. `*`, lists (`1,15`), ranges (`1-5`) and steps (`*/15`, `0-30/10`)
//! are understood; day 0 and 7 are Sunday; when both the day of the month and the day of the week are
//! restricted (neither starts with `*`), either matches, else both must (as in Vixie cron). An expression that never matches (`0 0 30 2 *`) is an error.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan as _};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error(
        "a schedule has five fields (minute hour day-of-month month day-of-week), such as `0 6 * * 1-5`; `{0}` has {1}"
    )]
    Fields(String, usize),
    #[error("`{text}` is not a valid {field} field: use *, a number from {min} to {max}, a list, a range or a step")]
    Field { text: String, field: &'static str, min: u32, max: u32 },
    #[error("the schedule `{0}` never matches a time (such as the 30th of February)")]
    Never(String),
}

/// A parsed schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    text: String,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Whether the day-of-month and day-of-week fields were `*`.
    any_day: bool,
    any_weekday: bool,
}

fn field(text: &str, name: &'static str, min: u32, max: u32) -> Result<(u64, bool), CronError> {
    let bad = || CronError::Field { text: text.to_string(), field: name, min, max };
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, step.parse::<u32>().ok().filter(|step| *step > 0).ok_or_else(bad)?),
            None => (part, 1),
        };
        let (low, high) = if range == "*" {
            (min, max)
        } else if let Some((low, high)) = range.split_once('-') {
            (low.parse().map_err(|_| bad())?, high.parse().map_err(|_| bad())?)
        } else {
            let value: u32 = range.parse().map_err(|_| bad())?;
            (value, if part.contains('/') { max } else { value })
        };
        if low < min || high > max || low > high {
            return Err(bad());
        }
        for value in (low..=high).step_by(step as usize) {
            bits |= 1 << value;
        }
    }
    // Whether the field starts with `*` (`*`, `*/2`): it decides how the two day fields combine.
    Ok((bits, text.starts_with('*')))
}

impl Cron {
    pub fn parse(text: &str) -> Result<Cron, CronError> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(CronError::Fields(text.to_string(), fields.len()));
        }
        let (minutes, _) = field(fields[0], "minute", 0, 59)?;
        let (hours, _) = field(fields[1], "hour", 0, 23)?;
        let (days, any_day) = field(fields[2], "day-of-month", 1, 31)?;
        let (months, _) = field(fields[3], "month", 1, 12)?;
        let (mut weekdays, any_weekday) = field(fields[4], "day-of-week", 0, 7)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        let cron = Cron {
            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
            minutes,
            hours,
            days,
            months,
            weekdays,
            any_day,
            any_weekday,
        };
        // Every date pattern repeats within 28 years (the leap-year and weekday cycles).
        let start = Date::constant(2000, 1, 1);
        if !(0..28 * 366).any(|offset| start.checked_add(offset.days()).is_ok_and(|day| cron.day_matches(day))) {
            return Err(CronError::Never(text.to_string()));
        }
        Ok(cron)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn day_matches(&self, day: Date) -> bool {
        if self.months & (1 << day.month()) == 0 {
            return false;
        }
        let by_date = self.days & (1 << day.day()) != 0;
        let by_weekday = self.weekdays & (1 << day.weekday().to_sunday_zero_offset()) != 0;
        // As in Vixie cron: when either day field starts with `*`, both must match; when both are
        // restricted, either may.
        if self.any_day || self.any_weekday { by_date && by_weekday } else { by_date || by_weekday }
    }

    /// The times of one day that match, earliest first, as instants in Amsterdam (a time that does not
    /// exist on the day summer time starts is moved an hour on, as cron does).
    fn slots(&self, day: Date, zone: &TimeZone) -> Vec<Timestamp> {
        let mut slots = Vec::new();
        for hour in (0..24).filter(|hour| self.hours & (1 << hour) != 0) {
            for minute in (0..60).filter(|minute| self.minutes & (1 << minute) != 0) {
                let Ok(time) = Time::new(hour, minute, 0, 0) else { continue };
                if let Ok(zoned) = DateTime::from_parts(day, time).to_zoned(zone.clone()) {
                    slots.push(zoned.timestamp());
                }
            }
        }
        slots
    }

    /// The last slot at or before `at`, within the past year.
    pub fn previous(&self, at: Timestamp) -> Option<Timestamp> {
        let zone = amsterdam();
        let today = at.to_zoned(zone.clone()).date();
        (0..=366)
            .filter_map(|back| today.checked_sub(back.days()).ok())
            .filter(|day| self.day_matches(*day))
            .find_map(|day| self.slots(day, &zone).into_iter().rev().find(|slot| *slot <= at))
    }

    /// The first slot after `at`, within the next 28 years.
    pub fn next(&self, at: Timestamp) -> Option<Timestamp> {
        let zone = amsterdam();
        let today = at.to_zoned(zone.clone()).date();
        (0..28 * 366)
            .filter_map(|ahead| today.checked_add(ahead.days()).ok())
            .filter(|day| self.day_matches(*day))
            .find_map(|day| self.slots(day, &zone).into_iter().find(|slot| *slot > at))
    }
}

pub fn amsterdam() -> TimeZone {
    TimeZone::get("Europe/Amsterdam").unwrap_or(TimeZone::UTC)
}
