import Foundation
@testable import NotificationProcess
import Testing

/// Mail as it arrives at the desk: read for its sender, subject and text, and told apart from
/// mail no person wrote.
@Suite struct InboundMailTests {
    static func mail(_ headers: String, _ body: String) -> [UInt8] {
        Array((headers.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n\r\n" + body.replacingOccurrences(of: "\n", with: "\r\n")).utf8)
    }

    @Test func aReplyGivesItsSenderItsRecordAndOnlyItsNewText() {
        let reply = InboundMail(Self.mail("""
            From: =?UTF-8?B?UmVuw6llIE3DvGxsZXI=?= <Renee@Example.org>
            To: desk@example.org
            Subject: Re: [INC-000042] Mail =?iso-8859-1?Q?d=E9j=E0?= down
            Message-ID: <r1@example.org>
            Content-Type: multipart/alternative; boundary="b1"
            """, """
            --b1
            Content-Type: text/plain; charset=utf-8
            Content-Transfer-Encoding: quoted-printable

            It works again, merci =C3=A0 vous.

            On Mon, 30 Nov 2026 at 10:00, Service desk wrote:
            > Your incident INC-000042 is resolved.
            --b1
            Content-Type: text/html; charset=utf-8

            <p>It works again</p>
            --b1--
            """), ownAddress: "desk@example.org")
        #expect(reply.from == "renee@example.org" && reply.messageID == "r1@example.org")
        #expect(reply.subject == "Re: [INC-000042] Mail déjà down" && reply.recordNumber == "INC-000042")
        #expect(reply.text == "It works again, merci à vous.")
        #expect(reply.automatic == nil)
    }

    @Test func autoRepliesBouncesListsAndOurOwnMailAreNotTickets() {
        let cases: [(String, String)] = [
            ("From: rita@example.org\nSubject: Out of office\nAuto-Submitted: auto-replied", "an automatic message"),
            ("From: MAILER-DAEMON@example.org\nSubject: Undelivered Mail", "a delivery report"),
            ("From: rita@example.org\nReturn-Path: <>\nSubject: failure", "a delivery report"),
            ("From: news@example.org\nPrecedence: bulk\nSubject: News", "a bulk or list message"),
            ("From: Service desk <desk@example.org>\nSubject: Resolved: INC-000001", "our own mail"),
            ("From: someone@example.org\nX-ITSM-Event: incident.resolved\nSubject: Resolved", "our own mail"),
        ]
        for (headers, reason) in cases {
            #expect(InboundMail(Self.mail(headers, "text"), ownAddress: "desk@example.org").automatic?.hasPrefix(reason) == true, "\(headers)")
        }
        let person = InboundMail(Self.mail("From: rita@example.org\nAuto-Submitted: no\nSubject: Printer", "It jams."), ownAddress: nil)
        #expect(person.automatic == nil && person.text == "It jams." && person.recordNumber == nil)
        let encoded = InboundMail(Self.mail("From: rita@example.org\nSubject: x\nContent-Transfer-Encoding: base64",
                                            Data("Zwölf Drucker".utf8).base64EncodedString()), ownAddress: nil)
        #expect(encoded.text == "Zwölf Drucker")
    }
}
