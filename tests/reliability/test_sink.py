"""The SMTP sink itself: the other tests trust what it records and the faults
it injects."""

import smtplib
from email.message import EmailMessage

import pytest

MAIL = (
    "From: shop@example.com\r\nTo: {to}\r\nMessage-ID: <{n}@shop.test>\r\nSubject: Hi\r\n\r\nHi\r\n"
)


def send(sink, to: str, n: int = 1) -> None:
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
        smtp.sendmail("shop@example.com", [to], MAIL.format(to=to, n=n))


def test_it_records_each_accepted_mail_with_its_recipient_and_message_id(sink):
    send(sink, "Ann@Example.com", n=1)
    send(sink, "ben@example.com", n=2)
    mails = sink.mails()
    assert [(m.recipient, m.to, m.message_id) for m in mails] == [
        ("ann@example.com", "Ann@Example.com", "<1@shop.test>"),
        ("ben@example.com", "ben@example.com", "<2@shop.test>"),
    ]
    assert mails[0].at <= mails[1].at
    assert sink.received() == {"ann@example.com": 1, "ben@example.com": 1}


def test_it_answers_the_given_error_to_the_next_mails_then_takes_mail_again(sink):
    sink.fail("451 4.3.0 Try again later", at="RCPT", count=2)
    for _ in range(2):
        with pytest.raises(smtplib.SMTPRecipientsRefused, match="451"):
            send(sink, "ann@example.com")
    send(sink, "ann@example.com")
    assert sink.received() == {"ann@example.com": 1}
    assert sink.fault_answers == 2


def test_a_421_closes_the_connection(sink):
    sink.fail("421 4.7.0 Too many connections", at="MAIL", seconds=60)
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
        smtp.ehlo()
        assert smtp.mail("shop@example.com")[0] == 421
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtp.rcpt("ann@example.com")
    assert sink.count() == 0


def test_it_refuses_an_address_that_does_not_exist_and_takes_the_rest(sink):
    sink.refuse("ghost@example.com")
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
        refused = smtp.sendmail("shop@example.com", ["ghost@example.com", "ann@example.com"], "Hi")
    assert refused == {"ghost@example.com": (550, b"5.1.1 No such user")}
    assert sink.received() == {"ann@example.com": 1}


def test_when_down_it_refuses_connections_and_comes_back_on_the_same_port(sink):
    port = sink.port
    open_connection = smtplib.SMTP(sink.host, sink.port, timeout=5)
    open_connection.ehlo()
    sink.down()
    with pytest.raises(smtplib.SMTPServerDisconnected):
        open_connection.mail("shop@example.com")  # cut mid-conversation
    with pytest.raises(ConnectionRefusedError):
        send(sink, "ann@example.com")
    sink.up()
    send(sink, "ann@example.com")
    assert sink.port == port and sink.received() == {"ann@example.com": 1}


def test_it_runs_an_action_the_moment_a_mail_is_accepted(sink):
    seen = []
    sink.after(2, lambda: seen.append(sink.count()))
    for n in range(3):
        send(sink, f"reader{n}@example.com")
    assert seen == [2]


def test_a_message_built_by_the_email_package_is_read_too(sink):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "shop@example.com", "ann@example.com", "Hi"
    message["Message-ID"] = "<42@shop.test>"
    message.set_content("Hello")
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
        smtp.send_message(message)
    assert sink.mails()[0].message_id == "<42@shop.test>"
