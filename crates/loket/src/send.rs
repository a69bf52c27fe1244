//! Sending the engine's writes: the request body of each action (a PUT sends the record as read, from the
//! snapshot, with only the synced fields changed), and the request.

use engine::plan::{Action, Write};
use engine::state::{BenefitValue, PeriodDataKey, WageKind, WageValue};

use crate::client::{LoketClient, LoketError};
use crate::read::LoketSnapshot;
use crate::wire;

/// What happened to a write that was sent.
#[derive(Debug)]
pub enum Sent {
    Done,
    /// A record was created; its id.
    Created(String),
}

fn wage_type(kind: WageKind) -> wire::KeyValue {
    match kind {
        WageKind::Periodic => wire::KeyValue::new(wire::WAGE_PERIODIC, "Periodeloon"),
        WageKind::Hourly => wire::KeyValue::new(wire::WAGE_HOURLY, "Uurloon"),
    }
}

/// The body of a new wage.
pub fn new_wage(value: &WageValue) -> wire::Wage {
    wire::Wage {
        id: None,
        start_date: value.start,
        end_date: None,
        gross_wage: Some(value.amount.value()),
        gross_wage_type: Some(wage_type(value.kind)),
        net_wage: None,
        net_wage_type: None,
        employer_costs: None,
        employer_costs_type: None,
        payroll_period_type: None,
        pay_scale: None,
        pay_grade: None,
        // No pay grade: Loket must keep the gross wage as sent.
        apply_pay_grade: Some(false),
        // Read-only in Loket; a new wage is a full-time wage by default (S4).
        is_gross_wage_full_time: None,
    }
}

fn benefit_body(value: &BenefitValue, id: Option<String>) -> wire::BenefitOrDeduction {
    wire::BenefitOrDeduction {
        id,
        start_date: value.start,
        end_date: value.end,
        value: value.value.value(),
        payroll_component: wire::ComponentRef::key(i64::from(value.component.0)),
    }
}

fn integer_key(key: &Option<String>) -> Option<wire::CodedKey<i64>> {
    key.as_ref().and_then(|key| key.parse::<i64>().ok()).map(|key| wire::CodedKey {
        key,
        code: None,
        description: None,
    })
}

/// The body of a PATCH of the owned record of one period: its key fields are the employment's defaults
/// (O5), as Loket asks.
pub fn period_data_patch(key: &PeriodDataKey, changes: &[engine::ValueChange]) -> wire::PayrollPeriodData {
    wire::PayrollPeriodData {
        id: None,
        employment_id: None,
        payroll_period: wire::PeriodRef {
            year: i64::from(key.period.year),
            period_number: i64::from(key.period.number),
            period_start_date: None,
            period_end_date: None,
        },
        shift: wire::Shift {
            shift_number: i64::from(key.shift),
            full_time_hours_per_week: None,
            bonus_percentage: None,
        },
        payslip_type: wire::KeyValue::new(i64::from(key.payslip_type), ""),
        payslip_text: None,
        distribution_unit: wire::CodedKey {
            key: key.distribution_unit.map(|unit| unit.as_str().to_string()).unwrap_or_default(),
            code: None,
            description: None,
        },
        cost_center: integer_key(&key.cost_center),
        cost_unit: integer_key(&key.cost_unit),
        payroll_components: changes
            .iter()
            .map(|change| wire::ComponentValue {
                payroll_component: wire::ComponentRef::key(i64::from(change.component.0)),
                value: change.after,
                is_supplement: false,
            })
            .collect(),
    }
}

/// Sends one write of a plan. A PUT sends the record as read (from the snapshot) with only the synced
/// fields changed and, for wages, no pay scale.
pub async fn send_write(client: &LoketClient, snapshot: &LoketSnapshot, write: &Write) -> Result<Sent, LoketError> {
    let employment_id = write.employment_id.as_str();
    match &write.action {
        Action::PostWage { after } => {
            let created = client.post_wage(employment_id, &new_wage(after)).await?;
            Ok(Sent::Created(created.id.unwrap_or_default()))
        }
        Action::PutWage { id, after, .. } => {
            let mut body = snapshot.wages.get(&id.0).cloned().unwrap_or_else(|| new_wage(after));
            body.id = Some(id.0.clone());
            body.gross_wage = Some(after.amount.value());
            body.gross_wage_type = Some(wage_type(after.kind));
            body.pay_scale = None;
            body.pay_grade = None;
            // Without this, Loket would replace `grossWage` by the (now absent) pay grade's amount.
            body.apply_pay_grade = Some(false);
            // Read-only: never sent back.
            body.is_gross_wage_full_time = None;
            client.put_wage(&id.0, &body).await.map(|_| Sent::Done)
        }
        Action::DeleteWage { before } => client.delete_wage(&before.id.0).await.map(|_| Sent::Done),
        Action::PostBenefit { after } => {
            let created = client.post_benefit_or_deduction(employment_id, &benefit_body(after, None)).await?;
            Ok(Sent::Created(created.id.unwrap_or_default()))
        }
        Action::PutBenefit { id, after, .. } => {
            let mut body =
                snapshot.benefits.get(&id.0).cloned().unwrap_or_else(|| benefit_body(after, Some(id.0.clone())));
            body.id = Some(id.0.clone());
            body.start_date = after.start;
            body.end_date = after.end;
            body.value = after.value.value();
            client.put_benefit_or_deduction(&id.0, &body).await.map(|_| Sent::Done)
        }
        Action::DeleteBenefit { id, .. } => client.delete_benefit_or_deduction(&id.0).await.map(|_| Sent::Done),
        Action::PatchPeriodData { key, changes } => {
            client.patch_payroll_period_data(employment_id, &period_data_patch(key, changes)).await.map(|_| Sent::Done)
        }
    }
}
