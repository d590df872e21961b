//! Every EDI document Samhand writes validates against the official KITH schemas
//! (standards/kith-edi/edi-all.xsd), checked by an independent validator: xmllint
//! (Debian's libxml2-utils; .ci/run installs it).

use std::path::PathBuf;
use std::process::Command;

use samhand_domain::edi::{
    AppRec, AppRecError, ConversationRef, Dialog, DialogKind, EdiParty, EdiPatient, HerId, Original, apprec,
    hodemelding,
};
use samhand_domain::national_id::NationalId;
use uuid::Uuid;

fn schema() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // The repository sits next to `shared` (…/main/crates/domain → …/shared).
    manifest.join("../../standards/kith-edi/edi-all.xsd")
}

/// Validates `xml` with xmllint; returns xmllint's complaint when it does not validate.
fn validate(name: &str, xml: &str) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("samhand-edi-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .args(["--nonet", "--noout", "--schema"])
        .arg(schema())
        .arg(&file)
        .output()
        .expect("xmllint must be installed (Debian package libxml2-utils)");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn party(name: &str, her: &str) -> EdiParty {
    EdiParty {
        name: name.to_owned(),
        her_id: HerId::parse(her).unwrap(),
    }
}

fn dialog(kind: DialogKind) -> Dialog {
    Dialog {
        kind,
        msg_id: Uuid::new_v4(),
        generated: "2026-03-02T09:15:00Z".parse().unwrap(),
        sender: party("LAR Vest <poliklinikk> & co", "8100001"),
        receiver: party("Torget legekontor", "8100042"),
        patient: EdiPatient {
            family_name: "Nordmann".into(),
            given_name: "Kari Ø.".into(),
            national_id: NationalId::synthetic(jiff::civil::date(1985, 4, 12), 123).unwrap(),
        },
        conversation: (kind == DialogKind::Svar).then(|| ConversationRef {
            parent: "abc-1".into(),
            conversation: "abc-0".into(),
        }),
        topic: "Endret dose metadon".into(),
        text: "Dosen er endret fra 60 mg til 70 mg fra 3. mars.\nSignert av lege.".into(),
    }
}

#[test]
fn every_dialogmelding_kind_validates() {
    for kind in [DialogKind::Notat, DialogKind::Foresporsel, DialogKind::Svar] {
        let xml = hodemelding(&dialog(kind));
        validate(&format!("{}.xml", kind.code()), &xml)
            .unwrap_or_else(|e| panic!("{} does not validate: {e}\n{xml}", kind.code()));
        assert!(xml.contains(kind.code()));
    }
}

#[test]
fn apprec_ok_and_error_validate() {
    let ok = AppRec {
        id: Uuid::new_v4(),
        generated: "2026-03-02T09:16:00Z".parse().unwrap(),
        sender: Some(party("LAR Vest", "8100001")),
        receiver: Some(party("Torget legekontor", "8100042")),
        original: Original {
            msg_type: "DIALOG_NOTAT".into(),
            issued: "2026-03-02T09:15:00Z".parse().unwrap(),
            msg_id: "abc-1".into(),
        },
        errors: vec![],
    };
    let xml = apprec(&ok);
    validate("apprec-ok.xml", &xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert!(xml.contains("<Status V=\"1\""));
    let rejected = AppRec {
        errors: vec![
            (AppRecError::Invalid, "mangler <MsgInfo>".into()),
            (AppRecError::UnknownPatient, String::new()),
        ],
        ..ok
    };
    let xml = apprec(&rejected);
    validate("apprec-error.xml", &xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert!(xml.contains("<Status V=\"2\"") && xml.contains("V=\"T02\"") && xml.contains("V=\"E35\""));
    // A receipt for a file too broken to name its sender still validates.
    let xml = apprec(&AppRec {
        receiver: None,
        errors: vec![(AppRecError::NotXml, "ikke XML".into())],
        ..rejected
    });
    validate("apprec-unknown-sender.xml", &xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
}

/// The validator is not a rubber stamp: a document missing a required element fails.
#[test]
fn the_validator_rejects_a_broken_message() {
    let xml = hodemelding(&dialog(DialogKind::Notat)).replace("<MIGversion>v1.2 2006-05-24</MIGversion>", "");
    assert!(validate("broken.xml", &xml).is_err());
}
