//! Domain value types: money, amounts, dates, ids. Each is a newtype with a checked constructor, so the
//! rest of the engine never sees an unchecked value.

use std::fmt;

use jiff::civil::Date;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// A civil date (no time, no zone). Everything the sync compares is a day.
pub type CivilDate = Date;

/// An exact EUR amount with at most two decimals: what is written to Loket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Money(Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Rounds half away from zero to cents: the one rounding step the rules allow, at the end of each
    /// computation.
    pub fn round(value: Decimal) -> Money {
        if value.scale() <= 2 {
            // Nothing to round (the usual case: amounts in cents).
            return Money(value.normalize_cents());
        }
        Money(value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero).normalize_cents())
    }

    /// An amount that already has at most two decimals; `None` when it has more.
    pub fn exact(value: Decimal) -> Option<Money> {
        (value.round_dp(2) == value).then(|| Money(value.normalize_cents()))
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    pub fn abs(self) -> Money {
        Money(self.0.abs())
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }
}

trait NormalizeCents {
    fn normalize_cents(self) -> Decimal;
}

impl NormalizeCents for Decimal {
    /// Two decimals always, so that `30`, `30.0` and `30.00` are one value with one rendering. Callers
    /// pass values with at most two decimals; only a rescale is needed (no normalising division).
    fn normalize_cents(self) -> Decimal {
        let mut value = if self.scale() > 2 { self.round_dp(2) } else { self };
        if value.is_zero() {
            value = Decimal::ZERO;
        }
        value.rescale(2);
        value
    }
}

impl fmt::Display for Money {
    /// `€1,234.56`, `-€40.00`: the form every message uses. Written digit by digit into the formatter, with
    /// no intermediate strings: the plan formats many of these.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut value = self.0.abs().round_dp(2);
        value.rescale(2);
        let sign = if self.is_negative() { "-" } else { "" };
        if value.scale() != 2 {
            // Too many digits to carry cents: print what Decimal can.
            return write!(f, "{sign}€{value}");
        }
        let mantissa = value.mantissa().unsigned_abs();
        let (mut whole, cents) = (mantissa / 100, mantissa % 100);
        let mut digits = [0u8; 40];
        let mut length = 0;
        loop {
            digits[length] = b'0' + (whole % 10) as u8;
            length += 1;
            whole /= 10;
            if whole == 0 {
                break;
            }
        }
        f.write_str(sign)?;
        f.write_str("€")?;
        for index in (0..length).rev() {
            let digit = [digits[index]];
            f.write_str(std::str::from_utf8(&digit).unwrap_or("?"))?;
            if index > 0 && index % 3 == 0 {
                f.write_str(",")?;
            }
        }
        write!(f, ".{cents:02}")
    }
}

/// A currency code, kept inline (no heap allocation: amounts are read in their millions). ISO 4217 codes
/// are three letters; ASCII letters are kept in upper case, and at most 15 bytes are kept (a longer "code"
/// is not a currency anyway, and is never EUR).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency {
    bytes: [u8; 15],
    len: u8,
}

impl Currency {
    pub const EUR: Currency = Currency { bytes: *b"EUR\0\0\0\0\0\0\0\0\0\0\0\0", len: 3 };

    pub fn new(code: &str) -> Currency {
        let code = code.trim();
        let mut end = code.len().min(15);
        while !code.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0u8; 15];
        bytes[..end].copy_from_slice(&code.as_bytes()[..end]);
        bytes[..end].make_ascii_uppercase();
        Currency { bytes, len: end as u8 }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("?")
    }

    pub fn is_eur(&self) -> bool {
        *self == Currency::EUR
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Currency::new(&String::deserialize(deserializer)?))
    }
}

/// A short identifier (a GUID such as a distribution unit's key) kept inline instead of on the heap: the
/// planner compares one per payroll-period-data record, and following a pointer for each costs more than the
/// comparison. Up to 63 bytes; `new` refuses longer text, and the conversions say so.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShortId {
    bytes: [u8; 63],
    len: u8,
}

impl ShortId {
    pub const MAX_LEN: usize = 63;

    pub fn new(text: &str) -> Option<ShortId> {
        if text.len() > ShortId::MAX_LEN {
            return None;
        }
        let mut bytes = [0u8; 63];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Some(ShortId { bytes, len: text.len() as u8 })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("?")
    }
}

impl fmt::Debug for ShortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for ShortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ShortId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ShortId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ShortId::new(&text).ok_or_else(|| serde::de::Error::custom(format!("`{text}` is longer than 63 bytes")))
    }
}

/// What a Personio amount is counted in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A currency, such as EUR or USD.
    Currency(Currency),
    /// A unit that is not money, such as `km`.
    Other(String),
}

/// A value as Personio gives it: any currency, or a unit that is not money.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Amount {
    pub value: Decimal,
    pub unit: Unit,
}

impl Amount {
    pub fn eur(value: Decimal) -> Amount {
        Amount { value, unit: Unit::Currency(Currency::EUR) }
    }

    pub fn is_eur(&self) -> bool {
        matches!(&self.unit, Unit::Currency(code) if code.is_eur())
    }

    pub fn is_money(&self) -> bool {
        matches!(self.unit, Unit::Currency(_))
    }

    /// `50.00 USD`, `120 km`: for messages about amounts that are not synced.
    pub fn describe(&self) -> String {
        match &self.unit {
            Unit::Currency(code) if code.is_eur() => Money::round(self.value).to_string(),
            Unit::Currency(code) => {
                let mut value = self.value.round_dp(2);
                value.rescale(2);
                format!("{value} {code}")
            }
            Unit::Other(unit) => format!("{} {}", self.value.normalize(), unit),
        }
    }
}

/// A Loket payroll period: year and period number (`2026-02`, id 202602).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeriodId {
    pub year: i16,
    pub number: u8,
}

impl PeriodId {
    pub fn new(year: i16, number: u8) -> Option<PeriodId> {
        (1..=53).contains(&number).then_some(PeriodId { year, number })
    }

    /// Loket's integer id: `year × 100 + period number`.
    pub fn loket_id(self) -> i64 {
        i64::from(self.year) * 100 + i64::from(self.number)
    }

    pub fn from_loket_id(id: i64) -> Option<PeriodId> {
        let year = i16::try_from(id / 100).ok()?;
        let number = u8::try_from(id % 100).ok()?;
        PeriodId::new(year, number)
    }
}

impl fmt::Display for PeriodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.year, self.number)
    }
}

/// Text that is not a payroll period (`YYYY-PP`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a period: write it as YYYY-PP, for example 2026-02")]
pub struct PeriodIdError(pub String);

impl std::str::FromStr for PeriodId {
    type Err = PeriodIdError;
    fn from_str(text: &str) -> Result<PeriodId, PeriodIdError> {
        let bad = || PeriodIdError(text.to_string());
        let (year, number) = text.split_once('-').ok_or_else(bad)?;
        if year.len() != 4 || number.len() != 2 {
            return Err(bad());
        }
        PeriodId::new(year.parse().map_err(|_| bad())?, number.parse().map_err(|_| bad())?).ok_or_else(bad)
    }
}

impl Serialize for PeriodId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PeriodId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A Loket payroll component key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ComponentKey(pub u32);

impl fmt::Display for ComponentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A Personio person id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonId(pub u64);

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A Loket employee number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmployeeNumber(pub u64);

impl fmt::Display for EmployeeNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A Loket employment id (a GUID on the wire; opaque here), kept inline: every write carries one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmploymentId(pub ShortId);

impl EmploymentId {
    /// `None` when the text is longer than an id can be (`ShortId::MAX_LEN`).
    pub fn new(text: &str) -> Option<EmploymentId> {
        ShortId::new(text).map(EmploymentId)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for EmploymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// A Loket record id (wage, benefit or deduction, payroll period data).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(pub String);

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `1 Jan 2026`: the date form of every message.
pub fn format_date(date: CivilDate) -> String {
    format!("{} {} {}", date.day(), MONTHS[(date.month() - 1) as usize], date.year())
}

/// The day before `date`, saturating at the earliest date jiff knows.
pub fn day_before(date: CivilDate) -> CivilDate {
    date.yesterday().unwrap_or(date)
}

/// The day after `date`, saturating at the latest date jiff knows.
pub fn day_after(date: CivilDate) -> CivilDate {
    date.tomorrow().unwrap_or(date)
}

/// The last day of the month that is `months` after the month of `date`.
pub fn end_of_month_after(date: CivilDate, months: u32) -> CivilDate {
    let first = date.first_of_month();
    let shifted = first.checked_add(jiff::Span::new().months(i64::from(months))).unwrap_or(CivilDate::MAX);
    shifted.last_of_month()
}
