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

#[test]
fn component_values_behave_like_a_sorted_map_and_serialize_as_one() {
    use engine::state::ComponentValues;
    let key = engine::ComponentKey;
    let mut values: ComponentValues =
        [(key(8001), Decimal::new(1, 0)), (key(4001), Decimal::new(2, 0)), (key(8001), Decimal::new(3, 0))]
            .into_iter()
            .collect();
    // A later value for the same component wins, as in a map; keys come out sorted.
    assert_eq!(values.keys().copied().collect::<Vec<_>>(), vec![key(4001), key(8001)]);
    assert_eq!(values.get(&key(8001)), Some(&Decimal::new(3, 0)));
    assert_eq!(values.insert(key(5000), Decimal::new(5, 0)), None);
    assert_eq!(values.insert(key(4001), Decimal::new(6, 0)), Some(Decimal::new(2, 0)));
    assert_eq!(values.keys().copied().collect::<Vec<_>>(), vec![key(4001), key(5000), key(8001)]);
    assert_eq!(values.remove(&key(5000)), Some(Decimal::new(5, 0)));
    assert_eq!(values.remove(&key(5000)), None);
    assert!(!values.contains_key(&key(5000)) && values.len() == 2);

    let json = serde_json::to_string(&values).unwrap();
    assert_eq!(json, r#"{"4001":"6","8001":"3"}"#);
    let mut back: ComponentValues = serde_json::from_str(&json).unwrap();
    assert_eq!(back, values);

    // Small and large alike: insert before, between and after; remove first and last.
    back.insert(key(1), Decimal::ONE);
    back.insert(key(9999), Decimal::TEN);
    back.insert(key(5000), Decimal::TWO);
    assert_eq!(
        back.iter().map(|(key, value)| (key.0, *value)).collect::<Vec<_>>(),
        vec![
            (1, Decimal::ONE),
            (4001, Decimal::new(6, 0)),
            (5000, Decimal::TWO),
            (8001, Decimal::new(3, 0)),
            (9999, Decimal::TEN)
        ]
    );
    let mut small: ComponentValues = [(key(7), Decimal::ONE)].into_iter().collect();
    assert_eq!(small.insert(key(3), Decimal::TWO), None);
    assert_eq!(small.keys().map(|key| key.0).collect::<Vec<_>>(), vec![3, 7]);
    assert_eq!(small.remove(&key(3)), Some(Decimal::TWO));
    assert_eq!(small.remove(&key(7)), Some(Decimal::ONE));
    assert!(small.is_empty() && small == ComponentValues::default());
}
