//! How a unit's result is written to JSON: its fields in order, with the diagnosis
//! rendered from its finding (so the file's sentence and finding never disagree).

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::UnitResult;
use crate::run::wire::bytes_text;

/// Bytes written as [`bytes_text`] does.
struct Text<'a>(&'a [u8]);

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        bytes_text::serialize(self.0, s)
    }
}

impl Serialize for UnitResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("UnitResult", 24)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("axis", &self.axis)?;
        st.serialize_field("transport", &self.transport)?;
        st.serialize_field("client", &self.client)?;
        st.serialize_field("server", &self.server)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("case", &self.case)?;
        st.serialize_field("category", &self.category)?;
        st.serialize_field("verdict", &self.verdict)?;
        st.serialize_field("fault", &self.fault)?;
        st.serialize_field("input", &Text(&self.input))?;
        st.serialize_field("expected", &self.expected.as_deref().map(Text))?;
        st.serialize_field("actual", &self.actual.as_deref().map(Text))?;
        st.serialize_field("wire", &self.wire)?;
        st.serialize_field("diagnosis", &self.diagnosis())?;
        st.serialize_field("finding", &self.finding)?;
        st.serialize_field("known", &self.known)?;
        st.serialize_field("minimal_input", &self.minimal_input)?;
        st.serialize_field("reproduce", &self.reproduce)?;
        st.serialize_field("duration_ms", &self.duration_ms)?;
        st.serialize_field("client_ms", &self.client_ms)?;
        match &self.client_stderr {
            Some(tail) => st.serialize_field("client_stderr", tail)?,
            None => st.skip_field("client_stderr")?,
        }
        st.serialize_field("cached", &self.cached)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use crate::results::testing::unit;
    use crate::results::{KnownFailure, UnitResult};
    use crate::verdict::Verdict;

    #[test]
    fn a_written_unit_reads_back_the_same_with_its_sentence_beside_its_finding() {
        let mut r = unit("udp::python-client::alice-server::hello", Verdict::Xfail);
        r.known = Some(KnownFailure {
            id: "*::alice-server::*".into(),
            reason: "alice title-cases".into(),
        });
        r.actual = Some(b"\xffHello".to_vec());
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["diagnosis"],
            "server title-cases (capitalises each word) instead of uppercasing everything (known failure: alice title-cases)"
        );
        assert_eq!(json["finding"]["mapping"], "title");
        assert_eq!(json["actual"], "\\xffHello");
        let back: UnitResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }
}
