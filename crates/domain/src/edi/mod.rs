//! Norwegian health messaging (EDI, issue 18): the content of a Hodemelding 1.2 envelope
//! carrying a Dialogmelding 1.1 (notat, forespørsel, svar), and the application receipt
//! (AppRec 1.1) that answers every received message. Content only: how a message travels
//! (the outbox and inbox directories, later perhaps the national message service) is the
//! transport's business, so this module returns the XML text and never touches a file.
//!
//! Every document built here validates against the official schemas in
//! `standards/kith-edi/edi-all.xsd` (tested with xmllint in tests/edi_schema.rs).

use jiff::Timestamp;
use uuid::Uuid;

use crate::national_id::NationalId;

mod placement;
mod read;
pub use crate::organisation::HerId;
pub use placement::{Unplaced, named_number, placement};
pub use read::{Inbound, ReceivedAppRec, ReceivedDialog, ReceivedPatient, Rejection, read_message};

const NS_MSGHEAD: &str = "http://www.kith.no/xmlstds/msghead/2006-05-24";
const NS_DIALOG: &str = "http://www.kith.no/xmlstds/dialog/2013-01-23";
const NS_APPREC: &str = "http://www.kith.no/xmlstds/apprec/2012-02-15";
/// Code system of organisation identifiers (HER, ENH, …).
const OID_ORG_IDENT: &str = "2.16.578.1.12.4.1.1.9051";
/// Code system of person identifiers (FNR, DNR, …).
const OID_PERSON_IDENT: &str = "2.16.578.1.12.4.1.1.8116";
/// Code system of the topic of a note in Dialogmelding 1.1.
const OID_NOTE_TOPIC: &str = "2.16.578.1.12.4.1.1.9282";
/// Code system of the kind of a question in Dialogmelding 1.1.
const OID_QUESTION_TYPE: &str = "2.16.578.1.12.4.1.1.9034";
/// Code system of AppRec error codes (T01, T02, E21, X99 …).
const OID_APPREC_ERROR: &str = "2.16.578.1.12.4.1.1.8221";

crate::coded! {
    /// What became of a received file: read and stored with an OK receipt, or refused
    /// with an error receipt. Either way it is not processed again.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum InboxOutcome {
        Processed = "processed",
        Rejected = "rejected",
    }
}

/// An addressable organisation: its name and HER-id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdiParty {
    pub name: String,
    pub her_id: HerId,
}

/// The patient a message is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdiPatient {
    pub family_name: String,
    pub given_name: String,
    pub national_id: NationalId,
}

crate::coded! {
    /// The three Dialogmelding functions Samhand sends and receives (the code is the
    /// message type in the Hodemelding).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum DialogKind {
        /// Information, no answer expected.
        Notat = "DIALOG_NOTAT",
        /// A question that expects a DIALOG_SVAR.
        Foresporsel = "DIALOG_FORESPORSEL",
        /// The answer to a question (refers to it by conversation).
        Svar = "DIALOG_SVAR",
    }
}

impl DialogKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Notat => "Notat",
            Self::Foresporsel => "Forespørsel",
            Self::Svar => "Svar på forespørsel",
        }
    }
}

/// Which earlier message an answer belongs to (MsgHead ConversationRef).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRef {
    /// The id of the message this one answers.
    pub parent: String,
    /// The id of the first message of the conversation.
    pub conversation: String,
}

/// One outgoing Dialogmelding, ready to be written as a Hodemelding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub kind: DialogKind,
    pub msg_id: Uuid,
    pub generated: Timestamp,
    pub sender: EdiParty,
    pub receiver: EdiParty,
    pub patient: EdiPatient,
    /// Set for a Svar (required there), optional otherwise.
    pub conversation: Option<ConversationRef>,
    /// Short topic, e.g. «Endret dose metadon».
    pub topic: String,
    /// The free text of the note, question or answer.
    pub text: String,
}

/// Escapes text for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow are dropped rather than written.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

fn organisation(out: &mut String, party: &EdiParty) {
    out.push_str(&format!(
        "<Organisation><OrganisationName>{}</OrganisationName>\
         <Ident><Id>{}</Id><TypeId V=\"HER\" S=\"{OID_ORG_IDENT}\" DN=\"HER-id\"/></Ident>\
         </Organisation>",
        escape(&party.name),
        party.her_id.as_str()
    ));
}

fn patient(out: &mut String, p: &EdiPatient) {
    out.push_str(&format!(
        "<Patient><FamilyName>{}</FamilyName><GivenName>{}</GivenName>\
         <Ident><Id>{}</Id><TypeId V=\"FNR\" S=\"{OID_PERSON_IDENT}\" DN=\"Fødselsnummer\"/></Ident>\
         </Patient>",
        escape(&p.family_name),
        escape(&p.given_name),
        p.national_id.as_str()
    ));
}

/// The Dialogmelding 1.1 body: a Notat for notat and svar, a Foresporsel for a question.
fn dialog_body(d: &Dialog) -> String {
    let date = d.generated.to_zoned(jiff::tz::TimeZone::UTC).date();
    let topic = escape(&d.topic);
    let text = escape(&d.text);
    let inner = match d.kind {
        DialogKind::Foresporsel => format!(
            "<Foresporsel><TypeForesp V=\"1\" S=\"{OID_QUESTION_TYPE}\" DN=\"{topic}\"/>\
             <EmneSporsmal>{topic}</EmneSporsmal><Sporsmal>{text}</Sporsmal>\
             <DokIdForesp>{}</DokIdForesp></Foresporsel>",
            d.msg_id
        ),
        DialogKind::Notat | DialogKind::Svar => format!(
            "<Notat><TemaKodet V=\"{}\" S=\"{OID_NOTE_TOPIC}\" DN=\"{topic}\"/>\
             <Tema>{topic}</Tema><TekstNotatInnhold>{text}</TekstNotatInnhold>\
             <DokIdNotat>{}</DokIdNotat><DatoNotat>{date}</DatoNotat></Notat>",
            if d.kind == DialogKind::Svar { "2" } else { "1" },
            d.msg_id
        ),
    };
    format!("<Dialogmelding xmlns=\"{NS_DIALOG}\">{inner}</Dialogmelding>")
}

/// Writes a Dialogmelding as a complete Hodemelding 1.2 document.
pub fn hodemelding(d: &Dialog) -> String {
    let mut out = String::with_capacity(2048);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!("<MsgHead xmlns=\"{NS_MSGHEAD}\"><MsgInfo>"));
    out.push_str(&format!(
        "<Type V=\"{}\" DN=\"{}\"/><MIGversion>v1.2 2006-05-24</MIGversion>\
         <GenDate>{}</GenDate><MsgId>{}</MsgId><Ack V=\"J\" DN=\"Ja\"/>",
        d.kind.code(),
        d.kind.label(),
        d.generated,
        d.msg_id
    ));
    if let Some(c) = &d.conversation {
        out.push_str(&format!(
            "<ConversationRef><RefToParent>{}</RefToParent>\
             <RefToConversation>{}</RefToConversation></ConversationRef>",
            escape(&c.parent),
            escape(&c.conversation)
        ));
    }
    out.push_str("<Sender>");
    organisation(&mut out, &d.sender);
    out.push_str("</Sender><Receiver>");
    organisation(&mut out, &d.receiver);
    out.push_str("</Receiver>");
    patient(&mut out, &d.patient);
    out.push_str(&format!(
        "</MsgInfo><Document><RefDoc><MsgType V=\"XML\" DN=\"XML-instans\"/>\
         <Content>{}</Content></RefDoc></Document></MsgHead>\n",
        dialog_body(d)
    ));
    out
}

crate::coded! {
    /// The standard AppRec error codes (code system 8221) Samhand uses.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum AppRecError {
        /// Not XML, not well formed, unreadable.
        NotXml = "T01",
        /// XML that does not validate against the schema.
        Invalid = "T02",
        /// A message format Samhand does not support.
        Unsupported = "T10",
        /// The receiver is not found at the given address.
        UnknownReceiver = "E21",
        /// The patient is not found in the receiving system.
        UnknownPatient = "E35",
        /// Other error.
        Other = "X99",
    }
}

impl AppRecError {
    pub fn label(self) -> &'static str {
        match self {
            Self::NotXml => "Ikke XML / ikke «well formed» / uleselig",
            Self::Invalid => "XML validerer ikke",
            Self::Unsupported => "Støtter ikke meldingsformatet",
            Self::UnknownReceiver => "Mottaker finnes ikke på angitt adresse",
            Self::UnknownPatient => "Pasienten finnes ikke i mottakersystemet",
            Self::Other => "Annen feil",
        }
    }
}

/// The message an AppRec answers: its type, when it was made and its id. When the
/// original could not be read, the type is unknown («ukjent») and the id is the file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub msg_type: String,
    pub issued: Timestamp,
    pub msg_id: String,
}

/// An application receipt: OK (no errors) or rejected with at least one error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRec {
    pub id: Uuid,
    pub generated: Timestamp,
    /// Samhand's unit that received the original (None when the original was too
    /// broken to say whom it was for).
    pub sender: Option<EdiParty>,
    /// Who sent the original; the receipt goes back to them. None when the original
    /// was too broken to name its sender.
    pub receiver: Option<EdiParty>,
    pub original: Original,
    /// Empty: status 1 OK. Otherwise status 2 (rejected) with these errors.
    pub errors: Vec<(AppRecError, String)>,
}

fn apprec_party(tag: &str, party: Option<&EdiParty>) -> String {
    let inst = match party {
        Some(p) => format!(
            "<Name>{}</Name><Id>{}</Id><TypeId V=\"HER\" DN=\"HER-id\"/>",
            escape(&p.name),
            p.her_id.as_str()
        ),
        None => "<Name>Ukjent avsender</Name>".to_owned(),
    };
    format!("<{tag}><HCP><Inst>{inst}</Inst></HCP></{tag}>")
}

/// Writes an AppRec 1.1 document. Message type and status are plain codes (type CS: no
/// code system attribute); the status values are those of code system 8222 (1 OK,
/// 2 rejected, 3 OK with errors in part).
pub fn apprec(r: &AppRec) -> String {
    let (status, status_text) = if r.errors.is_empty() {
        ("1", "OK")
    } else {
        ("2", "Avvist")
    };
    let mut out = String::with_capacity(1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<AppRec xmlns=\"{NS_APPREC}\"><MsgType V=\"APPREC\" DN=\"Applikasjonskvittering\"/><MIGversion>v1.1 2012-02-15</MIGversion>\
         <SoftwareName>Samhand</SoftwareName><GenDate>{}</GenDate><Id>{}</Id>",
        r.generated, r.id
    ));
    out.push_str(&apprec_party("Sender", r.sender.as_ref()));
    out.push_str(&apprec_party("Receiver", r.receiver.as_ref()));
    out.push_str(&format!("<Status V=\"{status}\" DN=\"{status_text}\"/>"));
    for (error, detail) in &r.errors {
        let dn = if detail.is_empty() {
            error.label().to_owned()
        } else {
            format!("{}: {detail}", error.label())
        };
        out.push_str(&format!(
            "<Error V=\"{}\" S=\"{OID_APPREC_ERROR}\" DN=\"{}\"/>",
            error.code(),
            escape(&dn)
        ));
    }
    out.push_str(&format!(
        "<OriginalMsgId><MsgType V=\"{}\"/><IssueDate>{}</IssueDate><Id>{}</Id>\
         </OriginalMsgId></AppRec>\n",
        escape(&r.original.msg_type),
        r.original.issued,
        escape(&r.original.msg_id)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_handles_markup_and_control_characters() {
        assert_eq!(escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }

    #[test]
    fn codes_round_trip() {
        for k in [DialogKind::Notat, DialogKind::Foresporsel, DialogKind::Svar] {
            assert_eq!(DialogKind::from_code(k.code()), Some(k));
        }
        assert_eq!(AppRecError::from_code("E35"), Some(AppRecError::UnknownPatient));
        assert_eq!(AppRecError::from_code("Q1"), None);
    }
}
