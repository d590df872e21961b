//! Reading a received message: a Hodemelding with a Dialogmelding (1.1, or the older 1.0
//! still in use), or an AppRec answering one of ours. What cannot be read, or lacks
//! what the standard requires, comes back as a [`Rejection`] carrying the standard error
//! code and as much of the original as could be read, so that the error receipt can be
//! addressed.

use jiff::Timestamp;
use roxmltree::{Document, Node};

use super::{
    AppRecError, ConversationRef, DialogKind, EdiParty, HerId, NS_APPREC, NS_DIALOG, NS_MSGHEAD, Original,
};

const NS_DIALOG_V1_0: &str = "http://www.kith.no/xmlstds/dialog/2006-10-11";

/// The patient a received message names, as written by the sender: not yet matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedPatient {
    /// The fødselsnummer or D-nummer as written (checked when matched).
    pub national_id: Option<String>,
    pub family_name: String,
    pub given_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedDialog {
    pub kind: DialogKind,
    pub msg_id: String,
    pub generated: Timestamp,
    pub sender: EdiParty,
    pub receiver: EdiParty,
    pub patient: Option<ReceivedPatient>,
    pub conversation: Option<ConversationRef>,
    pub topic: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedAppRec {
    pub id: String,
    /// The id of our message this receipt answers.
    pub original_msg_id: String,
    pub ok: bool,
    /// Error codes and their texts, as sent.
    pub errors: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    Dialog(Box<ReceivedDialog>),
    AppRec(ReceivedAppRec),
}

/// Why a message is refused, and what is known to answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub error: AppRecError,
    pub detail: String,
    /// Its type, date and id when they could be read.
    pub original: Option<Original>,
    /// Its sender when it could be read: the error receipt goes there.
    pub sender: Option<EdiParty>,
    /// Whom it was addressed to, when that could be read: the receipt's sender.
    pub receiver: Option<EdiParty>,
}

fn child<'a, 'i>(node: Node<'a, 'i>, ns: &[&str], name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| {
        c.is_element() && c.tag_name().name() == name && ns.contains(&c.tag_name().namespace().unwrap_or(""))
    })
}

fn path<'a, 'i>(node: Node<'a, 'i>, ns: &[&str], names: &[&str]) -> Option<Node<'a, 'i>> {
    names.iter().try_fold(node, |n, name| child(n, ns, name))
}

/// All the text inside an element (free text may carry markup, e.g. XHTML).
fn text(node: Option<Node<'_, '_>>) -> String {
    node.map(|n| {
        n.descendants()
            .filter(|d| d.is_text())
            .filter_map(|d| d.text())
            .collect::<String>()
    })
    .unwrap_or_default()
    .trim()
    .to_owned()
}

fn timestamp(s: &str) -> Option<Timestamp> {
    s.parse::<Timestamp>().ok().or_else(|| {
        // xs:dateTime without a zone: Norwegian local time.
        let dt: jiff::civil::DateTime = s.parse().ok()?;
        dt.in_tz("Europe/Oslo").ok().map(|z| z.timestamp())
    })
}

/// The HER-id and name of an Organisation element (its first HER ident).
fn organisation(org: Option<Node<'_, '_>>) -> Option<EdiParty> {
    let org = org?;
    let ns = &[NS_MSGHEAD];
    let her = org
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "Ident")
        .find(|i| child(*i, ns, "TypeId").and_then(|t| t.attribute("V")) == Some("HER"))
        .map(|i| text(child(i, ns, "Id")))?;
    Some(EdiParty {
        name: text(child(org, ns, "OrganisationName")),
        her_id: HerId::parse(&her).ok()?,
    })
}

fn patient(node: Option<Node<'_, '_>>) -> Option<ReceivedPatient> {
    let p = node?;
    let ns = &[NS_MSGHEAD];
    let national_id = p
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "Ident")
        .find(|i| {
            matches!(
                child(*i, ns, "TypeId").and_then(|t| t.attribute("V")),
                Some("FNR" | "DNR")
            )
        })
        .map(|i| text(child(i, ns, "Id")));
    Some(ReceivedPatient {
        national_id,
        family_name: text(child(p, ns, "FamilyName")),
        given_name: text(child(p, ns, "GivenName")),
    })
}

fn reject(error: AppRecError, detail: impl Into<String>) -> Box<Rejection> {
    Box::new(Rejection {
        error,
        detail: detail.into(),
        original: None,
        sender: None,
        receiver: None,
    })
}

/// Reads one received file's text.
pub fn read_message(xml: &str) -> Result<Inbound, Box<Rejection>> {
    let doc = Document::parse(xml).map_err(|e| reject(AppRecError::NotXml, e.to_string()))?;
    let root = doc.root_element();
    match (root.tag_name().namespace(), root.tag_name().name()) {
        (Some(NS_MSGHEAD), "MsgHead") => read_msghead(root),
        (Some(NS_APPREC), "AppRec") => read_apprec(root),
        (ns, name) => Err(reject(
            AppRecError::Unsupported,
            format!("ukjent meldingsformat {}:{name}", ns.unwrap_or("")),
        )),
    }
}

fn read_msghead(root: Node<'_, '_>) -> Result<Inbound, Box<Rejection>> {
    let ns = &[NS_MSGHEAD];
    let info = child(root, ns, "MsgInfo").ok_or_else(|| reject(AppRecError::Invalid, "mangler MsgInfo"))?;
    let msg_type = child(info, ns, "Type")
        .and_then(|t| t.attribute("V"))
        .unwrap_or("")
        .to_owned();
    let msg_id = text(child(info, ns, "MsgId"));
    let generated = timestamp(&text(child(info, ns, "GenDate")));
    let sender = organisation(path(info, ns, &["Sender", "Organisation"]));
    let receiver = organisation(path(info, ns, &["Receiver", "Organisation"]));
    let original = generated.filter(|_| !msg_id.is_empty()).map(|issued| Original {
        msg_type: msg_type.clone(),
        issued,
        msg_id: msg_id.clone(),
    });
    let fail = |error, detail: &str| {
        Box::new(Rejection {
            error,
            detail: detail.to_owned(),
            original: original.clone(),
            sender: sender.clone(),
            receiver: receiver.clone(),
        })
    };
    let Some(kind) = DialogKind::from_code(&msg_type) else {
        return Err(fail(
            AppRecError::Unsupported,
            &format!("meldingstype «{msg_type}» støttes ikke"),
        ));
    };
    let (Some(generated), false) = (generated, msg_id.is_empty()) else {
        return Err(fail(AppRecError::Invalid, "mangler eller ugyldig MsgId/GenDate"));
    };
    if child(info, ns, "MIGversion").is_none() {
        return Err(fail(AppRecError::Invalid, "mangler MIGversion"));
    }
    let Some(sender) = sender.clone() else {
        return Err(fail(AppRecError::Invalid, "avsender mangler HER-id"));
    };
    let Some(receiver) = receiver.clone() else {
        return Err(fail(AppRecError::Invalid, "mottaker mangler HER-id"));
    };
    let dialog_ns = &[NS_DIALOG, NS_DIALOG_V1_0];
    let body = path(root, ns, &["Document", "RefDoc", "Content"])
        .and_then(|c| child(c, dialog_ns, "Dialogmelding"))
        .ok_or_else(|| {
            fail(
                AppRecError::Invalid,
                "mangler Dialogmelding i Document/RefDoc/Content",
            )
        })?;
    let (topic, text_content) = if let Some(note) = child(body, dialog_ns, "Notat") {
        let topic = child(note, dialog_ns, "TemaKodet").and_then(|t| t.attribute("DN"));
        let tema = text(child(note, dialog_ns, "Tema"));
        (
            if tema.is_empty() {
                topic.unwrap_or("").to_owned()
            } else {
                tema
            },
            text(child(note, dialog_ns, "TekstNotatInnhold")),
        )
    } else if let Some(q) = child(body, dialog_ns, "Foresporsel") {
        (
            text(child(q, dialog_ns, "EmneSporsmal")),
            text(child(q, dialog_ns, "Sporsmal")),
        )
    } else {
        return Err(fail(
            AppRecError::Invalid,
            "Dialogmelding uten Notat eller Foresporsel",
        ));
    };
    let conversation = child(info, ns, "ConversationRef").map(|c| ConversationRef {
        parent: text(child(c, ns, "RefToParent")),
        conversation: text(child(c, ns, "RefToConversation")),
    });
    Ok(Inbound::Dialog(Box::new(ReceivedDialog {
        kind,
        msg_id,
        generated,
        sender,
        receiver,
        patient: patient(child(info, ns, "Patient")),
        conversation,
        topic,
        text: text_content,
    })))
}

fn read_apprec(root: Node<'_, '_>) -> Result<Inbound, Box<Rejection>> {
    let ns = &[NS_APPREC];
    let original_msg_id = text(path(root, ns, &["OriginalMsgId", "Id"]));
    let status = child(root, ns, "Status").and_then(|s| s.attribute("V"));
    let (Some(status), false) = (status, original_msg_id.is_empty()) else {
        return Err(reject(
            AppRecError::Invalid,
            "applikasjonskvittering uten Status eller OriginalMsgId",
        ));
    };
    let errors = root
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "Error")
        .map(|e| {
            let code = e.attribute("V").unwrap_or("").to_owned();
            (code, e.attribute("DN").unwrap_or("").to_owned())
        })
        .collect();
    Ok(Inbound::AppRec(ReceivedAppRec {
        id: text(child(root, ns, "Id")),
        original_msg_id,
        ok: status == "1",
        errors,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::{Dialog, EdiPatient, hodemelding};
    use super::*;
    use crate::national_id::NationalId;

    fn party(name: &str, her: &str) -> EdiParty {
        EdiParty {
            name: name.into(),
            her_id: HerId::parse(her).unwrap(),
        }
    }

    fn sample(kind: DialogKind) -> Dialog {
        Dialog {
            kind,
            msg_id: uuid::Uuid::new_v4(),
            generated: "2026-03-02T09:15:00Z".parse().unwrap(),
            sender: party("Torget legekontor", "8100042"),
            receiver: party("LAR Vest", "8100001"),
            patient: EdiPatient {
                family_name: "Nordmann".into(),
                given_name: "Kari".into(),
                national_id: NationalId::synthetic(jiff::civil::date(1985, 4, 12), 123).unwrap(),
            },
            conversation: None,
            topic: "Spørsmål om dose & henting".into(),
            text: "Kan hun hente <i>lørdag</i>?".into(),
        }
    }

    #[test]
    fn reads_back_what_samhand_writes() {
        for kind in [DialogKind::Notat, DialogKind::Foresporsel] {
            let d = sample(kind);
            let Ok(Inbound::Dialog(r)) = read_message(&hodemelding(&d)) else {
                panic!("not read")
            };
            assert_eq!(r.kind, kind);
            assert_eq!(r.msg_id, d.msg_id.to_string());
            assert_eq!(r.generated, d.generated);
            assert_eq!((r.sender, r.receiver), (d.sender.clone(), d.receiver.clone()));
            let p = r.patient.unwrap();
            assert_eq!(p.national_id.as_deref(), Some(d.patient.national_id.as_str()));
            assert_eq!(
                (r.topic.as_str(), r.text.as_str()),
                (d.topic.as_str(), d.text.as_str())
            );
        }
    }

    #[test]
    fn reads_an_apprec() {
        let rec = super::super::AppRec {
            id: uuid::Uuid::new_v4(),
            generated: "2026-03-02T09:16:00Z".parse().unwrap(),
            sender: Some(party("Torget legekontor", "8100042")),
            receiver: Some(party("LAR Vest", "8100001")),
            original: Original {
                msg_type: "DIALOG_NOTAT".into(),
                issued: "2026-03-02T09:15:00Z".parse().unwrap(),
                msg_id: "m-1".into(),
            },
            errors: vec![(AppRecError::UnknownPatient, String::new())],
        };
        let Ok(Inbound::AppRec(r)) = read_message(&super::super::apprec(&rec)) else {
            panic!("not read")
        };
        assert_eq!(r.original_msg_id, "m-1");
        assert!(!r.ok);
        assert_eq!(r.errors[0].0, "E35");
    }

    #[test]
    fn refuses_with_the_standard_codes() {
        assert_eq!(read_message("ikke xml <").unwrap_err().error, AppRecError::NotXml);
        assert_eq!(read_message("<a/>").unwrap_err().error, AppRecError::Unsupported);
        let good = hodemelding(&sample(DialogKind::Notat));
        let no_body = good.replace("<Document>", "<!--").replace("</Document>", "-->");
        let r = read_message(&no_body).unwrap_err();
        assert_eq!(r.error, AppRecError::Invalid);
        // The error receipt can still be addressed and refer to the original.
        assert_eq!(r.sender.unwrap().her_id.as_str(), "8100042");
        assert!(r.original.is_some());
        let other_type = good.replace("V=\"DIALOG_NOTAT\"", "V=\"EPIKRISE\"");
        assert_eq!(
            read_message(&other_type).unwrap_err().error,
            AppRecError::Unsupported
        );
    }
}
