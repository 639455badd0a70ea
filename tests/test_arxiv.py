"""arXiv ids in every form people paste them, and the ones that are not ids at all."""

from __future__ import annotations

import pytest

from bot.arxiv import (
    EXPECTED_FORMS,
    OLD_STYLE_ARCHIVES,
    InvalidArxivId,
    abs_url,
    parse_arxiv_id,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2103.03206", "2103.03206"),
        ("2103.03206v2", "2103.03206"),
        ("arXiv:2103.03206", "2103.03206"),
        ("arxiv:2103.03206v3", "2103.03206"),
        ("  2103.03206\n", "2103.03206"),
        ("https://arxiv.org/abs/2103.03206v1", "2103.03206"),
        ("https://arxiv.org/pdf/2103.03206.pdf", "2103.03206"),
        ("https://arxiv.org/pdf/2103.03206v2.pdf", "2103.03206"),
        ("https://arxiv.org/pdf/2103.03206", "2103.03206"),
        ("http://export.arxiv.org/abs/2103.03206", "2103.03206"),
        ("https://www.arxiv.org/abs/2103.03206/", "2103.03206"),
        ("arxiv.org/abs/2103.03206?context=cs", "2103.03206"),
        ("1412.6980", "1412.6980"),
        ("0704.0001", "0704.0001"),
        ("1501.00001", "1501.00001"),
        ("hep-th/9901001", "hep-th/9901001"),
        ("hep-th/9901001v3", "hep-th/9901001"),
        ("math.GT/0309136", "math.GT/0309136"),
        ("https://arxiv.org/abs/math.GT/0309136v1", "math.GT/0309136"),
        ("2103.03206v1", "2103.03206"),
        ("2103.03206v10", "2103.03206"),
        ("alg-geom/9201001", "alg-geom/9201001"),
        ("supr-con/9608008v1", "supr-con/9608008"),
        ("cs/0112017", "cs/0112017"),
        ("quant-ph/0612121", "quant-ph/0612121"),
    ],
)
def test_accepted_forms_give_the_versionless_id(text: str, expected: str) -> None:
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("garbage", "unrecognised format"),
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("2113.03206", "month 13 does not exist"),
        ("2100.03206", "month 00 does not exist"),
        ("2103.0320", "ids from 1501 on have five digits after the dot"),
        ("1501.1234", "ids from 1501 on have five digits after the dot"),
        ("1412.12345", "five-digit numbers only exist from 1501 on"),
        ("0703.1234", "ids of this form start in April 2007 (0704)"),
        ("2103.032061", "unrecognised format"),
        ("2103.03206v", "unrecognised format"),
        ("hep-th/990100", "unrecognised format"),
        ("https://example.org/abs/2103.03206", "unrecognised format"),
        ("arXiv:", "unrecognised format"),
        ("2103.03206v0", "version v0 does not exist; versions start at v1"),
        ("arXiv:2103.03206v00", "version v00 does not exist; versions start at v1"),
        ("foo/1234567", "there is no arXiv archive 'foo'"),
        ("hep-theory/9901001", "there is no arXiv archive 'hep-theory'"),
        ("eess/0601001", "there is no arXiv archive 'eess'"),
        ("hep-th/9913001", "month 13 does not exist"),
        ("hep-th/9900001", "month 00 does not exist"),
        ("https://arxiv.org/abs/math.GT/0313136", "month 13 does not exist"),
        ("hep-th/9901001v0", "version v0 does not exist; versions start at v1"),
        # Digits of other scripts are no arXiv digits (Python's \d would take them).
        ("٢١٠٣.٠٣٢٠٦", "unrecognised format"),  # Arabic-Indic digits
        ("2103.03206v٢", "unrecognised format"),
        ("hep-th/٩٩٠١٠٠١", "unrecognised format"),
        ("２１０３.０３２０６", "unrecognised format"),  # noqa: RUF001 - fullwidth digits
    ],
)
def test_rejected_text_says_what_a_valid_id_looks_like(text: str, reason: str) -> None:
    with pytest.raises(InvalidArxivId) as info:
        parse_arxiv_id(text)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.text == text
    assert error.reason == reason
    assert str(error) == f"{text!r} is not an arXiv id ({reason}); expected {EXPECTED_FORMS}"
    assert "2103.03206" in str(error)
    assert "hep-th/9901001" in str(error)


def test_long_junk_is_shortened_in_the_message() -> None:
    with pytest.raises(InvalidArxivId) as info:
        parse_arxiv_id("x" * 500)
    assert str(info.value).startswith(repr("x" * 57 + "..."))


def test_abs_url() -> None:
    assert abs_url("2103.03206") == "https://arxiv.org/abs/2103.03206"
    assert abs_url("hep-th/9901001") == "https://arxiv.org/abs/hep-th/9901001"


def test_every_old_style_archive_is_accepted() -> None:
    assert len(OLD_STYLE_ARCHIVES) == 34
    for archive in sorted(OLD_STYLE_ARCHIVES):
        assert parse_arxiv_id(f"{archive}/0101001v2") == f"{archive}/0101001"
