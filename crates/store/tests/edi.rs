//! The EDI transport's bookkeeping on the real database (SQLite, or PostgreSQL when
//! DATABASE_URL is set): a received file is recorded once, and a sent message
//! without a receipt is found when its time has passed.

use jiff::{SignedDuration, Timestamp};
use samhand_domain::edi::InboxOutcome;
use samhand_domain::ids::OrganisationId;
use samhand_domain::organisation::{Organisation, OrganisationKind};
use samhand_store::Store;
use samhand_store::db::StoreError;
use samhand_store::edi::{self, InboxFileRecord, ReceiptRecord, SentRecord};

async fn fresh() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = samhand_store::testing::fresh_database_url(dir.path()).await;
    (Store::connect(&url, 4).await.expect("connect"), dir)
}

fn at(minutes: i64) -> Timestamp {
    "2026-03-02T08:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(minutes)
}

#[tokio::test]
async fn a_received_file_is_recorded_once() {
    let (store, _dir) = fresh().await;
    let file = InboxFileRecord {
        file_hash: "ab".repeat(32),
        file_name: "melding.xml".into(),
        msg_id: Some("m-1".into()),
        outcome: InboxOutcome::Processed,
        processed_at: at(0),
    };
    let mut tx = store.write().await.expect("tx");
    assert_eq!(edi::processed(&mut tx, &file.file_hash).await.unwrap(), None);
    edi::record_processed(&mut tx, &file).await.expect("first");
    tx.commit().await.expect("commit");
    let mut tx = store.write().await.expect("tx");
    assert_eq!(
        edi::processed(&mut tx, &file.file_hash).await.unwrap(),
        Some(InboxOutcome::Processed)
    );
    let again = InboxFileRecord {
        outcome: InboxOutcome::Rejected,
        ..file.clone()
    };
    let err = edi::record_processed(&mut tx, &again).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict("edi_inbox_files_once")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_sent_message_without_receipt_is_flagged_after_its_time() {
    let (store, _dir) = fresh().await;
    let unit = Organisation {
        id: OrganisationId::new(),
        name: "LAR Vest".into(),
        kind: OrganisationKind::HealthTrustLarUnit,
        municipality: "Fjordvik".into(),
        open_on_public_holidays: false,
        open_weekdays: [true; 7],
        closed_days: Vec::new(),
    };
    let mut tx = store.write().await.expect("tx");
    samhand_store::organisations::insert(&mut tx, &unit, at(0))
        .await
        .expect("unit");
    for (id, minute) in [("m-1", 0), ("m-2", 10), ("m-3", 100)] {
        let sent = SentRecord {
            msg_id: id.into(),
            msg_type: "DIALOG_NOTAT".into(),
            sender_id: unit.id,
            receiver_her_id: "8100042".into(),
            receiver_name: "Torget legekontor".into(),
            file_name: format!("{id}.xml"),
            sent_at: at(minute),
        };
        edi::record_sent(&mut tx, &sent).await.expect("sent");
    }
    edi::record_receipt(
        &mut tx,
        &ReceiptRecord {
            receipt_id: "r-1".into(),
            original_msg_id: "m-1".into(),
            ok: true,
            errors: String::new(),
            received_at: at(5),
        },
    )
    .await
    .expect("receipt");
    tx.commit().await.expect("commit");
    let mut conn = store.read().await.expect("read");
    // At minute 60: m-1 is answered, m-3 is not yet due.
    let flagged = edi::unanswered(&mut conn, at(60)).await.expect("unanswered");
    let ids: Vec<_> = flagged.iter().map(|s| s.msg_id.as_str()).collect();
    assert_eq!(ids, ["m-2"]);
    assert_eq!(flagged[0].sent_at, at(10));
    assert_eq!(flagged[0].sender_id, unit.id);
}
