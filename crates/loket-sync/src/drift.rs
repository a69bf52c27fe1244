//! Drift: writes that overwrite a value someone changed in Loket since loket-sync last wrote it, pointed
//! out before they are sent (the article warns that manual edits of mapped data are overwritten).

use crate::store::{self, StateStore, Store as _};

/// One note per such write.
pub async fn notes(store: &StateStore, plan: &engine::Plan) -> Vec<String> {
    by_employee(store, plan).await.into_iter().map(|(number, note)| format!("employee {number}: {note}")).collect()
}

/// One note per such write, with the employee number it is about.
pub async fn by_employee(store: &StateStore, plan: &engine::Plan) -> Vec<(u64, String)> {
    let Ok(last) = store.last_written().await else { return Vec::new() };
    let mut notes = Vec::new();
    for write in plan.writes() {
        let key = store::record_key(write);
        let (before, _) = store::values(write);
        if let (Some((written, at)), Some(before)) = (last.get(&key), before)
            && *written != before
            && !written.is_empty()
        {
            notes.push((
                write.employee_number.0,
                format!(
                    "{} — changed in Loket since the last sync (loket-sync wrote {written} at {at}; Loket now has {before}); the sync overwrites it",
                    write.describe()
                ),
            ));
        }
    }
    notes
}
