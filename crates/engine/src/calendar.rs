//! Payroll calendars. Loket's `payrollPeriodType` keys are inconsistent across its own documents, so the
//! kind of calendar is derived from the periods' dates, never from a key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::types::{CivilDate, PeriodId};

/// One Loket payroll period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub id: PeriodId,
    pub start: CivilDate,
    pub end: CivilDate,
    /// A period is closed when one of its payroll runs is approved (`payrollRunStatus` key 9).
    pub closed: bool,
}

impl Period {
    pub fn contains(&self, date: CivilDate) -> bool {
        self.start <= date && date <= self.end
    }
}

/// How a payroll administration divides its year.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarKind {
    Month,
    FourWeeks,
    Week,
}

impl CalendarKind {
    /// How many periods a year has: a fixed yearly salary is divided by this (S3).
    pub fn periods_per_year(self) -> u32 {
        match self {
            CalendarKind::Month => 12,
            CalendarKind::FourWeeks => 13,
            CalendarKind::Week => 52,
        }
    }
}

/// The periods of one payroll administration, in date order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calendar {
    periods: Vec<Period>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("Loket returned periods {first} and {second} that overlap or are out of order")]
    Overlap { first: PeriodId, second: PeriodId },
    #[error("Loket returned period {0} whose end date is before its start date")]
    Inverted(PeriodId),
    #[error("Loket returned period {0} twice")]
    Duplicate(PeriodId),
    #[error("Loket returned period {later} starting before period {earlier}: period ids must follow the dates")]
    OutOfOrder { earlier: PeriodId, later: PeriodId },
}

impl Calendar {
    /// Builds a calendar from periods in any order, refusing overlaps and duplicates: a period is the unit
    /// in which one-time values are owned, so two periods on one day would make ownership ambiguous.
    pub fn new(mut periods: Vec<Period>) -> Result<Calendar, CalendarError> {
        periods.sort_by_key(|period| (period.start, period.id));
        for period in &periods {
            if period.end < period.start {
                return Err(CalendarError::Inverted(period.id));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for period in &periods {
            if !seen.insert(period.id) {
                return Err(CalendarError::Duplicate(period.id));
            }
        }
        for pair in periods.windows(2) {
            if pair[1].start <= pair[0].end {
                return Err(CalendarError::Overlap { first: pair[0].id, second: pair[1].id });
            }
            if pair[1].id < pair[0].id {
                return Err(CalendarError::OutOfOrder { earlier: pair[1].id, later: pair[0].id });
            }
        }
        Ok(Calendar { periods })
    }

    pub fn periods(&self) -> &[Period] {
        &self.periods
    }

    pub fn is_empty(&self) -> bool {
        self.periods.is_empty()
    }

    pub fn containing(&self, date: CivilDate) -> Option<&Period> {
        let index = self.periods.partition_point(|period| period.end < date);
        self.periods.get(index).filter(|period| period.contains(date))
    }

    /// Ids follow the dates (checked in `new`), so the periods are sorted by id too.
    pub fn get(&self, id: PeriodId) -> Option<&Period> {
        self.periods.binary_search_by_key(&id, |period| period.id).ok().map(|index| &self.periods[index])
    }

    pub fn years(&self) -> std::collections::BTreeSet<i16> {
        self.periods.iter().map(|period| period.id.year).collect()
    }

    /// The kind of calendar, from the periods' dates: months when every period is a calendar month;
    /// otherwise four weeks or weeks by the number of periods in a year (13, or 52–53), falling back to
    /// the length of the typical period. `None` when there are no periods.
    pub fn kind(&self) -> Option<CalendarKind> {
        if self.periods.is_empty() {
            return None;
        }
        let calendar_months =
            self.periods.iter().all(|period| period.start.day() == 1 && period.end == period.start.last_of_month());
        if calendar_months {
            return Some(CalendarKind::Month);
        }
        let mut per_year: BTreeMap<i16, usize> = BTreeMap::new();
        for period in &self.periods {
            *per_year.entry(period.id.year).or_default() += 1;
        }
        let most = per_year.values().copied().max().unwrap_or(0);
        if most >= 52 {
            return Some(CalendarKind::Week);
        }
        if most == 13 {
            return Some(CalendarKind::FourWeeks);
        }
        let first = &self.periods[0];
        let length = (first.end - first.start).get_days() + 1;
        Some(if length <= 10 { CalendarKind::Week } else { CalendarKind::FourWeeks })
    }
}
