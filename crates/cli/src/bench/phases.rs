//! The measured phases after the world is built: dispensing, today's list, the
//! overview, reads and a mixed load per core, the prescriber's alerts, the
//! statements a request runs, and the memory left at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::ensure;
use samhand_domain::ids::PatientId;

use super::probe;
use super::{Latencies, run_concurrently};
use crate::rng::Rng;

/// The running server and who uses it.
pub(super) struct Target {
    pub client: reqwest::Client,
    pub base: String,
    /// One token per place's dispensing staff.
    pub place_tokens: Arc<Vec<String>>,
    pub doctor_token: String,
    /// (place index, patient)
    pub patients: Arc<Vec<(usize, PatientId)>>,
    pub concurrency: usize,
}

/// One request of a load.
#[derive(Debug, Clone, Copy)]
pub(super) enum Request {
    Overview(PatientId),
    Dispense(usize, PatientId),
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Target {
    pub async fn send(&self, request: Request) -> anyhow::Result<()> {
        match request {
            Request::Overview(patient) => {
                let body = self.overview(patient).await?;
                let _: serde_json::Value = serde_json::from_slice(body.as_ref())?;
            }
            Request::Dispense(place, patient) => {
                let response = self
                    .client
                    .post(format!("{}/api/v1/dispensings", self.base))
                    .bearer_auth(&self.place_tokens[place])
                    .header("Idempotency-Key", format!("bench-{patient}"))
                    .json(&serde_json::json!({"patient_id": patient.to_string(), "identity_confirmed": true}))
                    .send()
                    .await?;
                ensure!(
                    response.status() == reqwest::StatusCode::CREATED,
                    "dispense: {}",
                    response.text().await?
                );
            }
        }
        Ok(())
    }

    /// A patient's overview as the prescriber reads it, to its last byte (not
    /// yet parsed: the time to parse it is the client's, not the server's).
    pub async fn overview(&self, patient: PatientId) -> anyhow::Result<impl AsRef<[u8]>> {
        let response = self
            .client
            .get(format!("{}/api/v1/patients/{patient}", self.base))
            .bearer_auth(&self.doctor_token)
            .send()
            .await?;
        ensure!(response.status().is_success(), "overview: {}", response.status());
        Ok(response.bytes().await?)
    }

    /// Runs the requests `concurrency` at a time: the time, the latencies, and the
    /// server's CPU seconds spent on them.
    pub async fn load(self: &Arc<Self>, requests: Vec<Request>) -> anyhow::Result<Load> {
        let cpu = probe::server_cpu_seconds();
        let target = self.clone();
        let count = requests.len();
        let (elapsed, latencies) = run_concurrently(self.concurrency, requests, move |request| {
            let target = target.clone();
            async move { target.send(request).await }
        })
        .await?;
        Ok(Load {
            count,
            elapsed,
            latencies,
            cpu_seconds: probe::server_cpu_seconds() - cpu,
        })
    }

    /// Random patients' overviews.
    pub fn overviews(&self, count: usize, seed: u64) -> Vec<Request> {
        let mut rng = Rng::new(seed);
        (0..count)
            .map(|_| {
                let (_, patient) = self.patients[rng.below(self.patients.len() as u64) as usize];
                Request::Overview(patient)
            })
            .collect()
    }

    /// The prescriber's alerts over every patient of the unit, `times` times one
    /// after another; the latencies.
    pub async fn alerts(&self, times: usize) -> anyhow::Result<(Latencies, usize)> {
        let mut latencies = Vec::new();
        let mut alerts = 0;
        for _ in 0..times {
            let started = Instant::now();
            let response = self
                .client
                .get(format!("{}/api/v1/alerts", self.base))
                .bearer_auth(&self.doctor_token)
                .send()
                .await?;
            ensure!(response.status().is_success(), "alerts: {}", response.status());
            let body: serde_json::Value = response.json().await?;
            latencies.push(started.elapsed());
            alerts = body.as_array().map_or(0, Vec::len);
        }
        Ok((Latencies(latencies), alerts))
    }

    /// The statements the server runs per request, over `requests` sent one by one.
    pub async fn statements_per_request(&self, requests: &[Request]) -> anyhow::Result<f64> {
        let (statements, sent) = probe::statements_of(async {
            for request in requests {
                self.send(*request).await?;
            }
            Ok::<(), anyhow::Error>(())
        })
        .await;
        sent?;
        Ok(statements as f64 / requests.len().max(1) as f64)
    }
}

/// How a bulk export went.
pub(super) struct Export {
    pub elapsed: Duration,
    /// NDJSON lines downloaded, all types together.
    pub resources: usize,
    /// The process's peak resident memory during the export and the download.
    pub peak_rss_mb: f64,
}

impl Target {
    /// A FHIR bulk export of every patient the prescriber is responsible for
    /// (identity, orders, episodes, care teams), from kick-off to the last file
    /// downloaded, streamed and counted line by line.
    pub async fn export(&self) -> anyhow::Result<Export> {
        probe::reset_peak_rss();
        let started = Instant::now();
        let kick_off = self
            .client
            .get(format!(
                "{}/fhir/$export?_type=Patient,MedicationRequest,EpisodeOfCare,CareTeam",
                self.base
            ))
            .bearer_auth(&self.doctor_token)
            .header("Prefer", "respond-async")
            .header("Accept", "application/fhir+json")
            .send()
            .await?;
        ensure!(
            kick_off.status() == reqwest::StatusCode::ACCEPTED,
            "export: {}",
            kick_off.text().await?
        );
        let status_url = kick_off
            .headers()
            .get("content-location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow::anyhow!("export: no Content-Location"))?
            .to_string();
        let manifest: serde_json::Value = loop {
            let status = self
                .client
                .get(&status_url)
                .bearer_auth(&self.doctor_token)
                .send()
                .await?;
            match status.status() {
                reqwest::StatusCode::ACCEPTED => tokio::time::sleep(Duration::from_millis(200)).await,
                reqwest::StatusCode::OK => break status.json().await?,
                other => anyhow::bail!("export status: {other}: {}", status.text().await?),
            }
        };
        let mut resources = 0;
        for output in manifest["output"].as_array().into_iter().flatten() {
            let url = output["url"].as_str().unwrap_or_default();
            let mut file = self
                .client
                .get(url)
                .bearer_auth(&self.doctor_token)
                .send()
                .await?;
            ensure!(file.status().is_success(), "export file: {}", file.status());
            while let Some(chunk) = file.chunk().await? {
                resources += chunk.iter().filter(|b| **b == b'\n').count();
            }
        }
        Ok(Export {
            elapsed: started.elapsed(),
            resources,
            peak_rss_mb: probe::peak_rss_mb(),
        })
    }
}

/// How one load went.
pub(super) struct Load {
    pub count: usize,
    pub elapsed: Duration,
    pub latencies: Latencies,
    pub cpu_seconds: f64,
}

impl Load {
    pub fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }

    /// Requests per CPU second of the server: per core used.
    pub fn per_core(&self) -> f64 {
        self.count as f64 / self.cpu_seconds.max(0.01)
    }

    pub fn p50_ms(&self) -> f64 {
        millis(self.latencies.percentile(50.0))
    }

    pub fn p99_ms(&self) -> f64 {
        millis(self.latencies.percentile(99.0))
    }

    pub fn describe(&self, what: &str) -> String {
        format!(
            "{what}: {} in {:.2} s = {:.0}/s, {:.0}/s per core used ({:.2} CPU s); p50 {:.2} ms, p99 {:.2} ms",
            self.count,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            self.per_core(),
            self.cpu_seconds,
            self.p50_ms(),
            self.p99_ms()
        )
    }
}

/// A mixed load: four overviews to one dispensing, the dispensings for
/// `undispensed` patients (each once).
pub(super) fn mixed(target: &Target, count: usize, undispensed: &[(usize, PatientId)]) -> Vec<Request> {
    let mut reads = target.overviews(count, 11).into_iter();
    let mut doses = undispensed.iter();
    (0..count)
        .filter_map(|i| {
            if i % 5 == 4
                && let Some((place, patient)) = doses.next()
            {
                return Some(Request::Dispense(*place, *patient));
            }
            reads.next()
        })
        .collect()
}
