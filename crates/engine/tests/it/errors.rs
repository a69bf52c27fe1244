//! Errors keep their causes: `chain` renders an error and every cause below it on one line.

use engine::errors::{Cause, chain};

#[derive(Debug, thiserror::Error)]
#[error("the wages of employment 7 cannot be read")]
struct Outer(#[source] Inner);

#[derive(Debug, thiserror::Error)]
#[error("grossWage 1.234 has more than two decimals")]
struct Inner;

#[test]
fn chain_joins_every_cause_in_order() {
    assert_eq!(
        chain(&Outer(Inner)),
        "the wages of employment 7 cannot be read: grossWage 1.234 has more than two decimals"
    );
}

#[test]
fn chain_of_a_string_cause_is_the_string() {
    let cause: Cause = "Loket answered 502".into();
    assert_eq!(chain(cause.as_ref()), "Loket answered 502");
}
