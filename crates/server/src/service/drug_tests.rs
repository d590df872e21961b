//! Drug tests (rusmiddeltester) for the patient overview: shown read-only where the
//! policy lets the reader see them; only an allowed read happens, and is audited.

use samhand_domain::access::DataCategory;
use samhand_domain::drug_test::DrugTest;
use samhand_domain::ids::PatientId;

use super::Service;
use crate::error::AppResult;

impl Service<'_> {
    /// The patient's drug tests, newest sample first, or `None` when the reader
    /// may not see drug tests (then nothing is read).
    pub async fn drug_tests_where_allowed(&self, patient: PatientId) -> AppResult<Option<Vec<DrugTest>>> {
        let relations = self.repo.relations(patient).await?;
        let allowed = self
            .repo
            .optional_reads(
                &[(patient, relations)],
                DataCategory::DrugTests,
                "patient overview: drug tests",
            )
            .await?;
        if allowed.is_empty() {
            return Ok(None);
        }
        let mut conn = self.state.store.read().await?;
        let mut tests = samhand_store::fhir::drug_tests_of(&mut conn, &[patient]).await?;
        tests.reverse();
        Ok(Some(tests))
    }
}
