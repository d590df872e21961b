//! Samhand's clinical vocabulary and rules: pure types and decisions, no I/O, no
//! async, no SQL. Everything clinical that can be decided from data lives here.

pub mod access;
pub mod arrangement;
pub mod calendar;
pub mod care;
pub mod category;
pub mod code;
pub mod dispensing;
pub mod dose;
pub mod dose_order;
pub mod drug_test;
pub mod edi;
pub mod format;
pub mod health;
pub mod ids;
pub mod import;
pub mod login;
pub mod message;
pub mod missed;
pub mod national_id;
pub mod organisation;
pub mod overdose;
pub mod patient;
pub mod policy;
pub mod privacy;
pub mod received;
pub mod referral;
pub mod schedule;
pub mod status;
pub mod status_report;
pub mod stay;
pub mod stock;
pub mod substance;
pub mod time;
pub mod validation;
