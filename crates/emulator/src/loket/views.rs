//! The emulator's state as Loket's wire types show it: employer, administration, employments, wages,
//! benefits and deductions, period data, payroll periods and the component catalogue. Fields the sync does
//! not use are filled with plausible constants or `null`, so that the documents' shapes are complete.

use engine::state::{BenefitOrDeduction, Component, Employment, PeriodData, Wage, WageKind};
use engine::{PeriodId, ShortId};
use loket::wire::{self, KeyValue};
use rust_decimal::Decimal;
use scenario::{LoketSection, PeriodDataDefaultsSection, PeriodType, derived_id};
use serde_json::{Value, json};

use super::World;

fn period_type(section: &LoketSection) -> KeyValue {
    match section.payroll_period_type {
        PeriodType::Month => KeyValue::new(1, "Maand"),
        PeriodType::FourWeeks => KeyValue::new(3, "4 weken"),
        PeriodType::Week => KeyValue::new(4, "Week"),
    }
}

fn address() -> Value {
    json!({
        "city": "Utrecht", "country": {"isoCode": "NL", "key": 528, "value": "Nederland"},
        "furtherIndication": null, "houseNumber": 1, "houseNumberAddition": null, "location": null,
        "postalCode": "3511AA", "province": null, "street": "Oudegracht"
    })
}

pub(super) fn employer_view(section: &LoketSection) -> wire::Employer {
    let other = json!({
        "address": address(), "branch": null, "chamberOfCommerceNumber": null, "contact": null,
        "contactInformation": null, "deviatingPostalAddress": null, "employerLogo": null, "employerNumber": 1,
        "legalForm": null, "providerLogo": null,
        "providerSettings": {"administrationNumber": null, "groupCode": null,
                             "parentEmployerForConsolidatedOverviews": null, "sendEmailWhenSalarySlipIsAvailable": false},
        "sbi": null
    });
    wire::Employer {
        id: section.employer_id(),
        company_name: section.employer.name.clone(),
        other: other.as_object().cloned().unwrap_or_default(),
    }
}

pub(super) fn administration_view(section: &LoketSection) -> wire::PayrollAdministration {
    let first_year = section.period_years.iter().min().copied().unwrap_or(2000);
    let other = json!({
        "address": address(), "administrationNumber": null, "cao": {"key": 0, "value": "Geen CAO"},
        "claTaxReturnCBSCode": null, "contact": null, "deviatingPostalAddress": null, "endDate": null,
        "groupClassification": null, "groupCode": 1, "loonmodel": {"key": 1, "value": "Standaard"},
        "payrollTaxesNumber": null, "shortName": null, "startDate": format!("{first_year}-01-01")
    });
    wire::PayrollAdministration {
        id: section.administration_id(),
        name: section.employer.name.clone(),
        description: "Salarisadministratie".to_string(),
        client_number: 1,
        payroll_period_type: period_type(section),
        other: other.as_object().cloned().unwrap_or_default(),
    }
}

fn split_name(name: &str) -> (String, String) {
    match name.split_once(' ') {
        Some((first, last)) => (first.to_string(), last.to_string()),
        None => (String::new(), name.to_string()),
    }
}

pub(super) fn employment_view(section: &LoketSection, employment: &Employment, payroll_id: i64) -> wire::Employment {
    let (first, last) = split_name(&employment.name);
    let metadata = |key: i64, value: &str| json!({"key": key, "value": value});
    let other = json!({
        "calculateWorkingHours": false, "cancellationNoticeDate": null, "cancellationPeriodEmployee": null,
        "cancellationPeriodEmployer": null, "cancellationPeriodTimeUnit": null, "commissionUntilDate": null,
        "commissionUntilDate1": null, "commissionUntilDate2": null, "commissionUntilDate3": null,
        "commissionUntilDate4": null, "commissionUntilDate5": null, "commissionUntilDate6": null,
        "deviatingCLAExternalParty": null, "deviatingCLATaxReturn": null, "emailLeaveRequest": null,
        "employeeProfileId": null, "employmentCategoryType": metadata(1, "Regulier"),
        "employmentContractType": null, "employmentDurationType": metadata(1, "Onbepaalde tijd"),
        "endOfEmploymentDueToIllness": null, "endOfEmploymentReason": null,
        "endOfEmploymentReasonTaxAuthorities": null, "essMutationSet": metadata(1, "Standaard"),
        "exemptionInsuranceObligation": metadata(0, "Geen"), "exemptionPremiumWaiverMarginalLabour": false,
        "exemptionWorkRelatedExpenseScheme": false, "firstDayNotification": null,
        "hasOnCallAppearanceObligation": null, "historicalStartDate": null, "isAnonymousEmployee": false,
        "isDirectorAndMajorShareholder": null, "isFamilyOfOwner": null,
        "isGemoedsbezwaardEmployeeInsurance": false, "isGemoedsbezwaardNationalInsurance": false,
        "isOnCallEmployment": false, "isPreviousOwner": null, "linkedEmployment": null, "namePayslip": null,
        "nonPayrollAdministration": null, "participation55plusRegulationUWV": false, "payrollId": payroll_id,
        "periodPayGradeAdjustment": null, "professionCode": null, "sendToExternalParty": null,
        "signalPayGradeAdjustment": false, "specialIncomeRatio": null, "startCancellationNoticePeriod": null,
        "startDateContractOfIndefiniteDuration": null, "temporaryTaxExemption": metadata(0, "Geen"),
        "typeOfEmployee": metadata(1, "Werknemer"), "typeOfParticipation": null, "vacationCoupons": null,
        "valueOfParticipation": null, "wachtgeldOldRegulation": false, "writtenEmploymentContract": true
    });
    let employee_other = json!({
        "dateOfBirth": "1990-01-01", "initials": first.chars().next().map(|c| format!("{c}.")).unwrap_or_default(),
        "lastNamePartner": null, "photo": null, "prefix": null, "prefixPartner": null
    });
    wire::Employment {
        id: employment.id.to_string(),
        start_date: employment.start,
        end_date: employment.end,
        income_relationship_number: employment.income_relationship_number.map(|n| n as i64),
        employee: wire::EmployeeRef {
            id: derived_id("loket-employee", employment.id.as_str()),
            employee_number: employment.employee_number.0 as i64,
            first_name: Some(first),
            last_name: last,
            formatted_name: employment.name.clone(),
            other: employee_other.as_object().cloned().unwrap_or_default(),
        },
        payroll_administration: Some(wire::AdministrationRef {
            id: section.administration_id(),
            name: section.employer.name.clone(),
            description: "Salarisadministratie".to_string(),
            client_number: 1,
        }),
        other: other.as_object().cloned().unwrap_or_default(),
    }
}

fn scale_key(name: &str) -> i64 {
    i64::from_str_radix(&derived_id("pay-scale", name)[..6], 16).unwrap_or(1)
}

/// An employment's wages in date order; each ends the day before the next one starts.
pub(super) fn wage_views(section: &LoketSection, employment: &Employment) -> Vec<wire::Wage> {
    let mut wages: Vec<&Wage> = employment.wages.iter().collect();
    wages.sort_by_key(|wage| wage.value.start);
    wages
        .iter()
        .enumerate()
        .map(|(index, wage)| wire::Wage {
            id: Some(wage.id.0.clone()),
            start_date: wage.value.start,
            end_date: wages.get(index + 1).and_then(|next| next.value.start.yesterday().ok()),
            gross_wage: Some(wage.value.amount.value()),
            gross_wage_type: Some(match wage.value.kind {
                WageKind::Periodic => KeyValue::new(wire::WAGE_PERIODIC, "Periodeloon"),
                WageKind::Hourly => KeyValue::new(wire::WAGE_HOURLY, "Uurloon"),
            }),
            net_wage: None,
            net_wage_type: None,
            employer_costs: None,
            employer_costs_type: None,
            payroll_period_type: Some(period_type(section)),
            pay_scale: wage.pay_scale.as_ref().map(|name| KeyValue::new(scale_key(name), name)),
            pay_grade: wage.pay_grade.as_ref().map(|name| KeyValue::new(scale_key(name), name)),
            apply_pay_grade: Some(wage.pay_grade.is_some()),
            is_gross_wage_full_time: Some(wage.full_time),
        })
        .collect()
}

/// A component's category, kind and description as the catalogue gives them (a category 0 and no kind
/// for a component the catalogue does not hold).
fn component_metadata(section: &LoketSection, key: u32) -> (KeyValue, Option<KeyValue>, String) {
    let found = section.components.iter().find(|component| component.key == key);
    let category = found.map(|component| component.category).unwrap_or(0);
    let kind = found.map(|component| component.kind);
    let deduction_or_payment = match kind {
        Some(scenario::ComponentKindSection::Payment) => Some(KeyValue::new(wire::PAYMENT, "Betaling")),
        Some(scenario::ComponentKindSection::Deduction) => Some(KeyValue::new(wire::DEDUCTION, "Inhouding")),
        _ => None,
    };
    let description = found.map(|component| component.description.clone()).unwrap_or_default();
    (KeyValue::new(i64::from(category), &format!("Categorie {category}")), deduction_or_payment, description)
}

fn component_ref(section: &LoketSection, key: u32, can_be_supplemented: Option<bool>) -> wire::ComponentRef {
    let (category, deduction_or_payment, description) = component_metadata(section, key);
    wire::ComponentRef {
        key: i64::from(key),
        description: Some(description),
        category: Some(category),
        deduction_or_payment: Some(deduction_or_payment),
        can_be_supplemented,
    }
}

pub(super) fn benefit_view(section: &LoketSection, record: &BenefitOrDeduction) -> wire::BenefitOrDeduction {
    wire::BenefitOrDeduction {
        id: Some(record.id.0.clone()),
        start_date: record.value.start,
        end_date: record.value.end,
        value: record.value.value.value(),
        payroll_component: component_ref(section, record.value.component.0, None),
    }
}

fn period_ref(world: &World, period: PeriodId) -> wire::PeriodRef {
    let found = world.state.calendar.get(period);
    wire::PeriodRef {
        year: i64::from(period.year),
        period_number: i64::from(period.number),
        period_start_date: found.map(|period| period.start),
        period_end_date: found.map(|period| period.end),
    }
}

fn shift(number: u32) -> wire::Shift {
    wire::Shift {
        shift_number: i64::from(number),
        full_time_hours_per_week: Some(Decimal::from(40)),
        bonus_percentage: Some(Decimal::ZERO),
    }
}

fn payslip_type(key: u32) -> KeyValue {
    KeyValue::new(i64::from(key), if key == 1 { "Normale strook" } else { "Bijzonder tarief" })
}

fn component_values(section: &LoketSection, record: &PeriodData) -> Vec<wire::ComponentValue> {
    record
        .values
        .iter()
        .map(|(key, value)| wire::ComponentValue {
            payroll_component: component_ref(section, key.0, Some(false)),
            value: Some(*value),
            is_supplement: false,
        })
        .collect()
}

fn int_key(text: &Option<String>) -> Option<wire::CodedKey<i64>> {
    text.as_ref().and_then(|key| key.parse::<i64>().ok()).map(|key| wire::CodedKey {
        key,
        code: Some(json!(key.to_string())),
        description: Some(format!("Kostenplaats {key}")),
    })
}

fn distribution_unit(key: &Option<ShortId>) -> wire::CodedKey<String> {
    wire::CodedKey {
        key: key.map(|key| key.as_str().to_string()).unwrap_or_default(),
        code: Some(json!(1)),
        description: Some("Standaard".to_string()),
    }
}

pub(super) fn period_data_view(world: &World, record: &PeriodData) -> wire::PayrollPeriodData {
    wire::PayrollPeriodData {
        id: record.id.as_ref().map(|id| id.0.clone()),
        employment_id: None,
        payroll_period: period_ref(world, record.key.period),
        shift: shift(record.key.shift),
        payslip_type: payslip_type(record.key.payslip_type),
        payslip_text: None,
        distribution_unit: distribution_unit(&record.key.distribution_unit),
        cost_center: int_key(&record.key.cost_center),
        cost_unit: int_key(&record.key.cost_unit),
        payroll_components: component_values(&world.section, record),
    }
}

/// One record of the period-data list of a payroll period: the record with its employment and employee.
pub(super) fn period_data_of_period_view(
    world: &World,
    employment: &Employment,
    payroll_id: i64,
    record: &PeriodData,
) -> wire::PeriodDataOfPeriod {
    wire::PeriodDataOfPeriod {
        employment: wire::PeriodEmploymentRef {
            id: employment.id.to_string(),
            income_relationship_number: employment.income_relationship_number.unwrap_or(1) as i64,
            payroll_id,
        },
        employee: wire::PeriodEmployeeRef {
            employee_number: employment.employee_number.0 as i64,
            formatted_name: employment.name.clone(),
        },
        payroll_period: period_ref(world, record.key.period),
        shift: shift(record.key.shift),
        payslip_type: payslip_type(record.key.payslip_type),
        distribution_unit: distribution_unit(&record.key.distribution_unit),
        cost_center: int_key(&record.key.cost_center),
        cost_unit: int_key(&record.key.cost_unit),
        payroll_components: component_values(&world.section, record),
    }
}

/// The defaults of a PATCH: a GET-shaped record with `payrollPeriod` null and every field without a
/// default null (the file's `period_data_defaults`; without one, shift 1 and payslip type 1).
pub(super) fn period_data_defaults_view(world: &World, employment: &Employment) -> wire::PeriodDataDefaults {
    let defaults = world.defaults.get(employment.id.as_str()).cloned().unwrap_or(PeriodDataDefaultsSection {
        shift: Some(1),
        payslip_type: Some(1),
        cost_center: None,
        cost_unit: None,
    });
    wire::PeriodDataDefaults {
        payroll_period: None,
        shift: defaults.shift.map(shift),
        payslip_type: defaults.payslip_type.map(payslip_type),
        payslip_text: None,
        distribution_unit: Some(distribution_unit(&employment.period_data_defaults.distribution_unit)),
        cost_center: int_key(&defaults.cost_center.map(|key| key.to_string())),
        cost_unit: int_key(&defaults.cost_unit.map(|key| key.to_string())),
        payroll_components: Vec::new(),
    }
}

pub(super) fn component_view(section: &LoketSection, component: &Component) -> wire::PayrollComponent {
    let (category, deduction_or_payment, _) = component_metadata(section, component.key.0);
    wire::PayrollComponent {
        key: i64::from(component.key.0),
        description: component.description.clone(),
        category,
        deduction_or_payment,
        can_be_supplemented: false,
        is_collective_mutation_possible: true,
    }
}

/// The payroll periods with their runs: every period through `approved_through` has an approved run, the
/// first open one after them a run in progress.
pub(super) fn period_views(world: &World) -> Vec<wire::PayrollPeriod> {
    let approved = world.section.approved_through;
    let periods = world.state.calendar.periods();
    periods
        .iter()
        .map(|period| {
            let first_open = approved.is_none_or(|through| period.id > through)
                && periods.iter().filter(|other| other.id < period.id).all(|other| other.closed);
            let runs = if period.closed {
                vec![run(period.id, wire::RUN_APPROVED, "Verloning goedgekeurd")]
            } else if first_open && approved.is_some() {
                vec![run(period.id, 1, "In behandeling")]
            } else {
                Vec::new()
            };
            wire::PayrollPeriod {
                id: period.id.loket_id(),
                year: i64::from(period.id.year),
                period_number: i64::from(period.id.number),
                start_date: period.start,
                end_date: period.end,
                payroll_period_type: period_type(&world.section),
                test_year: false,
                payroll_runs: runs,
                automatic_processing: None,
            }
        })
        .collect()
}

fn run(period: PeriodId, key: i64, value: &str) -> wire::PayrollRun {
    wire::PayrollRun {
        id: derived_id("loket-payroll-run", &period.to_string()),
        payroll_run_status: KeyValue::new(key, value),
        sequence_number: Some(1),
        sequence_number_approved: (key == wire::RUN_APPROVED).then_some(1),
        journal_runs: Vec::new(),
    }
}
