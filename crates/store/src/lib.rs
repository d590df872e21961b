//! Persistence: the SQL schema for SQLite and PostgreSQL, the queries, transactions
//! and the audit log. Turns rows into domain types and back; decides nothing.

pub mod anchor;
pub mod audit;
mod audit_parked;
mod audit_queue;
pub mod backup;
mod batch_tx;
pub mod bench;
pub mod changes;
pub mod codec;
pub mod collaboration;
pub mod day_state;
pub mod db;
pub mod dispensing;
pub mod drug_test_regimes;
pub mod edge;
pub mod edi;
pub mod fhir;
mod group;
pub mod health;
pub mod indicators;
pub mod messages;
pub mod migrate;
pub mod native;
pub mod one_patient;
pub mod orders;
pub mod organisations;
pub mod overdose;
pub mod patient_write;
pub mod patients;
pub mod pharmacy_count;
pub mod portal;
pub mod privacy;
pub mod received;
pub mod referral_assessments;
pub mod referrals;
pub mod scheduler;
pub mod sessions;
pub mod status;
pub mod stays;
pub mod stock;
pub mod stock_balance;
pub mod testing;
pub mod users;

pub use db::{Backend, Store, StoreError, Violation, WriteStats, WriteTx};
pub use patient_write::PatientWrite;
/// A database connection of either kind, as the query functions take it.
pub use sqlx::AnyConnection as Conn;
