"""Recipient tokens: one per purpose, short, unforgeable, surviving a key rotation."""

import pytest

from campaigns import tokens

STRONG_KEY = "k" * 20 + "-rotation-test-key-" + "x" * 20


@pytest.mark.parametrize("purpose", ["open", "unsubscribe", "web", "preferences"])
def test_it_reads_back_the_message_it_signed(purpose):
    token = tokens.message_token(12345, purpose=purpose)
    assert tokens.message_id_from_token(token, purpose=purpose) == 12345


def test_it_reads_back_the_message_link_and_send_of_a_click():
    assert tokens.click_from_token(tokens.click_token(77, 3, 9)) == (77, 3, 9)


def test_a_token_of_one_purpose_does_nothing_for_another():
    pixel = tokens.open_token(5)
    assert tokens.message_id_from_token(pixel, purpose="unsubscribe") is None
    assert tokens.message_id_from_token(pixel, purpose="web") is None
    unsubscribe = tokens.unsubscribe_token(5)
    assert tokens.message_id_from_token(unsubscribe, purpose="open") is None
    assert tokens.message_id_from_token(tokens.web_view_token(5), purpose="unsubscribe") is None
    assert tokens.click_from_token(pixel) is None
    assert tokens.message_id_from_token(tokens.click_token(5, 0, 1), purpose="open") is None


def test_it_rejects_a_token_whose_message_was_changed():
    signature = tokens.open_token(10).rpartition(".")[2]
    assert tokens.message_id_from_token(f"b.{signature}", purpose="open") is None  # b = 11


def test_it_rejects_a_click_token_pointed_at_another_link_or_send():
    message, _link, send, signature = tokens.click_token(77, 3, 9).split(".")
    assert tokens.click_from_token(f"{message}.4.{send}.{signature}") is None
    assert tokens.click_from_token(f"{message}.3.a.{signature}") is None


def test_it_rejects_truncated_tokens():
    token = tokens.open_token(123456)
    for cut in range(len(token)):
        assert tokens.message_id_from_token(token[:cut], purpose="open") is None


@pytest.mark.parametrize(
    "token",
    ["", ".", "abc", "zzzz.zzzz", "1.2.3.4", "-1.AAAAAAAAAAAAAAAA", "é.AAAAAAAAAAAAAAAA",
     "1.AAAAAAAAAAAAAAA€", "\x00.AAAAAAAAAAAAAAAA", "1." + "A" * 5000],
)  # fmt: skip
def test_it_rejects_garbage_without_raising(token):
    assert tokens.message_id_from_token(token, purpose="open") is None
    assert tokens.click_from_token(token) is None


def test_a_token_signed_with_a_rotated_out_key_works_while_it_is_a_fallback(settings):
    settings.SECRET_KEY = "old-" + STRONG_KEY
    pixel, click = tokens.open_token(42), tokens.click_token(42, 1, 7)
    settings.SECRET_KEY = STRONG_KEY
    assert tokens.message_id_from_token(pixel, purpose="open") is None
    settings.SECRET_KEY_FALLBACKS = ["old-" + STRONG_KEY]
    assert tokens.message_id_from_token(pixel, purpose="open") == 42
    assert tokens.click_from_token(click) == (42, 1, 7)


def test_mails_sent_before_purposes_keep_their_unsubscribe_link_but_not_their_pixel():
    legacy = tokens._sign("message", "c")  # what every URL of such a mail carried
    assert tokens.message_id_from_token(legacy, purpose="unsubscribe") == 12
    assert tokens.message_id_from_token(legacy, purpose="web") == 12
    assert tokens.message_id_from_token(legacy, purpose="open") is None
    old_click = tokens._sign("click", "c.3")
    assert tokens.click_from_token(old_click) == (12, 3, 0)


def test_it_makes_short_tokens():
    assert len(tokens.click_token(10**9, 20, 10**6)) < 36
    assert len(tokens.open_token(10**9)) < 24
