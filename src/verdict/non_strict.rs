//! `non-strict`: a server that answers more of a request than the reference does, only
//! because the reference's buffer cuts the request (`recvfrom(2048)` for a 2049-byte
//! datagram, `recv(1024)` for a 1025-byte TCP request, the Java programs' 1024-byte
//! datagram buffer). Its reply is the uppercase of the whole request where the
//! reference's is the uppercase of the part its buffer held: more capable, not wrong.

use crate::proto::{upper_bytes, UnicodeVersion};

/// Whether `got` answers all of `request` where the reference's `expected` answers
/// only a part of it: `got` extends `expected` and is the uppercase of the whole
/// request, and `expected` is the uppercase of a part of the request that leaves bytes
/// out.
pub(super) fn answers_beyond_buffer(
    request: &[u8],
    expected: &[u8],
    got: &[u8],
    unicode: UnicodeVersion,
) -> bool {
    got.len() > expected.len()
        && got.starts_with(expected)
        && got == upper_bytes(request, unicode).as_slice()
        && (1..request.len()).any(|cut| upper_bytes(&request[..cut], unicode) == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: UnicodeVersion = UnicodeVersion::DEFAULT;

    #[test]
    fn answering_the_whole_of_what_the_reference_cut_is_non_strict() {
        let request = vec![b'a'; 2049];
        let expected = vec![b'A'; 2048];
        assert!(answers_beyond_buffer(&request, &expected, &[b'A'; 2049], V));
    }

    #[test]
    fn anything_else_is_not() {
        let request = vec![b'a'; 1025];
        let expected = vec![b'A'; 1024];
        // Added bytes that are not the request's.
        let mut added = expected.clone();
        added.extend_from_slice(b"\n");
        assert!(!answers_beyond_buffer(&request, &expected, &added, V));
        // Less, or the same, is not more.
        assert!(!answers_beyond_buffer(&request, &expected, &expected, V));
        assert!(!answers_beyond_buffer(
            &request,
            &expected,
            &expected[..10],
            V
        ));
        // Not uppercased.
        assert!(!answers_beyond_buffer(&request, &expected, &request, V));
        // The reference answered the whole request: nothing was cut.
        assert!(!answers_beyond_buffer(b"hello", b"HELLO", b"HELLO!", V));
    }

    #[test]
    fn a_request_in_pieces_is_told_by_the_read_not_the_buffer() {
        use crate::verdict::{Finding, ServerFinding};
        // A server that reads the whole of `hel` `lo wor` `ld` where the reference's one
        // read got `hel`.
        assert!(answers_beyond_buffer(
            b"hello world",
            b"HEL",
            b"HELLO WORLD",
            V
        ));
        let sentence = |pieces| {
            Finding::Server(ServerFinding::BeyondReferenceBuffer {
                answered: 11,
                reference: 3,
                pieces,
            })
            .sentence()
        };
        let read = sentence(true);
        assert!(read.contains("sent in several writes"), "{read}");
        assert!(read.contains("what its one read got"), "{read}");
        assert!(!read.contains("buffer"), "{read}");
        assert!(sentence(false).contains("all its buffer holds"));
    }
}
