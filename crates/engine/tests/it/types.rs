//! Domain value types: rounding, formats, period ids.

use std::str::FromStr;

use engine::types::{end_of_month_after, format_date};
use engine::{Money, PeriodId};
use rust_decimal::Decimal;

#[test]
fn money_rounds_half_away_from_zero() {
    assert_eq!(Money::round(Decimal::from_str("4166.665").unwrap()).to_string(), "€4,166.67");
    assert_eq!(Money::round(Decimal::from_str("-0.005").unwrap()).value(), Decimal::from_str("-0.01").unwrap());
    assert_eq!(Money::round(Decimal::from_str("1234567.891").unwrap()).to_string(), "€1,234,567.89");
    assert_eq!(Money::round(Decimal::from_str("-40").unwrap()).to_string(), "-€40.00");
}

#[test]
fn money_exact_refuses_sub_cents() {
    assert!(Money::exact(Decimal::from_str("1.001").unwrap()).is_none());
    assert_eq!(Money::exact(Decimal::from_str("30").unwrap()), Money::exact(Decimal::from_str("30.00").unwrap()));
}

#[test]
fn period_id_round_trips() {
    let id = PeriodId::from_str("2026-02").unwrap();
    assert_eq!(id.loket_id(), 202602);
    assert_eq!(PeriodId::from_loket_id(202602), Some(id));
    assert!(PeriodId::from_str("2026-2").is_err());
    assert!(PeriodId::from_str("2026-00").is_err());
}

#[test]
fn dates_format_for_messages() {
    assert_eq!(format_date(jiff::civil::date(2026, 1, 14)), "14 Jan 2026");
    assert_eq!(end_of_month_after(jiff::civil::date(2026, 3, 15), 12), jiff::civil::date(2027, 3, 31));
}
