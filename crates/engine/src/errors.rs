//! Errors with their causes. Each error type says what failed at its own level and keeps what caused it
//! as its `source()`; the binary prints the chain a line a cause, and messages stored with a run (an
//! employment's `read_failed`, a journaled answer) hold the chain on one line, through [`chain`].

use std::error::Error;

/// Any cause below an error of ours: a transport error, a decoding error, a message from the other side.
pub type Cause = Box<dyn Error + Send + Sync + 'static>;

/// The error and every cause below it on one line: `outer: inner: innermost`.
pub fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // A wrapper that repeats its cause's words (some library errors do) is not printed twice.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
