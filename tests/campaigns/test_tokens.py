from campaigns import tokens


def test_it_reads_back_the_message_it_signed():
    assert tokens.message_id_from_token(tokens.message_token(12345)) == 12345


def test_it_reads_back_the_message_and_link_of_a_click():
    assert tokens.click_from_token(tokens.click_token(77, 3)) == (77, 3)


def test_it_rejects_a_token_whose_message_was_changed():
    token = tokens.message_token(10)
    signature = token.rpartition(".")[2]
    assert tokens.message_id_from_token(f"b.{signature}") is None  # "b" is 11 in base 36


def test_it_rejects_a_click_token_pointed_at_another_link():
    message, _link, signature = tokens.click_token(77, 3).split(".")
    assert tokens.click_from_token(f"{message}.4.{signature}") is None


def test_it_does_not_take_a_message_token_for_a_click_token():
    assert tokens.click_from_token(tokens.message_token(5)) is None
    assert tokens.message_id_from_token(tokens.click_token(5, 0)) is None


def test_it_rejects_garbage():
    for token in ["", ".", "abc", "zzzz.zzzz", "1.2.3.4", "-1.AAAAAAAAAAAAAAAA"]:
        assert tokens.message_id_from_token(token) is None
        assert tokens.click_from_token(token) is None


def test_it_makes_short_tokens():
    assert len(tokens.click_token(10**9, 20)) < 32
