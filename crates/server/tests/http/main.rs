//! HTTP-level tests: the real app on port 0 against a fresh database, on SQLite, and
//! on PostgreSQL when DATABASE_URL is set. One test binary.

mod helpers;

mod access;
mod admin;
mod arrangements;
mod audit_list;
mod bounds;
mod calendar;
mod collaboration;
mod directory;
mod dispensing;
mod edi;
mod episodes;
mod fhir;
mod fhir_audit;
mod fhir_conformance;
mod fhir_directory;
mod fhir_export;
mod fhir_hardening;
mod fhir_received;
mod fhir_sync;
mod forms;
mod indicators;
mod leader;
mod login;
mod messages;
mod moving;
mod oidc;
mod openapi;
mod ops;
mod orders;
mod overdose;
mod portal;
mod privacy;
mod reads;
mod recent_doses;
mod referrals;
mod regressions;
mod scheduler;
mod status;
mod stays;
mod stock;
mod venv;
mod web;
mod window;
