"""arXiv identifiers in every form people paste them: bare, versioned, prefixed, or as a URL."""

from __future__ import annotations

import re

EXPECTED_FORMS = (
    "an arXiv id like 2103.03206, 2103.03206v2, arXiv:2103.03206, hep-th/9901001 "
    "or https://arxiv.org/abs/2103.03206"
)

# re.ASCII: \d is 0-9 only, not every script's digits (٢١٠٣.٠٣٢٠٦ is no arXiv id).
_NEW_STYLE = re.compile(r"(?P<yymm>\d{4})\.(?P<num>\d{4,5})(?:v(?P<version>\d+))?", re.ASCII)
_OLD_STYLE = re.compile(
    r"(?P<archive>[a-z]+(?:-[a-z]+)*)(?P<subject>\.[A-Z]{2})?/(?P<num>\d{7})(?:v(?P<version>\d+))?",
    re.ASCII,
)
# The archives of old-style ids (before April 2007), including ones arXiv has since merged
# into others (e.g. alg-geom into math): ids under them stay valid forever.
OLD_STYLE_ARCHIVES = frozenset(
    {
        "acc-phys",
        "adap-org",
        "alg-geom",
        "ao-sci",
        "astro-ph",
        "atom-ph",
        "bayes-an",
        "chao-dyn",
        "chem-ph",
        "cmp-lg",
        "comp-gas",
        "cond-mat",
        "cs",
        "dg-ga",
        "funct-an",
        "gr-qc",
        "hep-ex",
        "hep-lat",
        "hep-ph",
        "hep-th",
        "math",
        "math-ph",
        "mtrl-th",
        "nlin",
        "nucl-ex",
        "nucl-th",
        "patt-sol",
        "physics",
        "plasm-ph",
        "q-alg",
        "q-bio",
        "quant-ph",
        "solv-int",
        "supr-con",
    }
)
_URL_PREFIX = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/", re.IGNORECASE
)
_ARXIV_PREFIX = re.compile(r"^arxiv:\s*", re.IGNORECASE)


class InvalidArxivId(ValueError):
    """Raised for text that is no arXiv identifier; the message says what a valid one looks like."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        shown = text if len(text) <= 60 else text[:57] + "..."
        super().__init__(f"{shown!r} is not an arXiv id ({reason}); expected {EXPECTED_FORMS}")


def parse_arxiv_id(text: str) -> str:
    """Return the version-less arXiv id that `text` names, or raise InvalidArxivId."""
    candidate = text.strip()
    if not candidate:
        raise InvalidArxivId(text, "it is empty")
    candidate = _ARXIV_PREFIX.sub("", candidate)
    if _URL_PREFIX.match(candidate):
        candidate = _URL_PREFIX.sub("", candidate)
        candidate = candidate.split("?", 1)[0].split("#", 1)[0].rstrip("/")
        if candidate.lower().endswith(".pdf"):
            candidate = candidate[:-4]
    new = _NEW_STYLE.fullmatch(candidate)
    if new:
        _check_month_and_version(text, new["yymm"][2:], new["version"])
        yymm = new["yymm"]
        if yymm < "0704":
            raise InvalidArxivId(text, "ids of this form start in April 2007 (0704)")
        # Five-digit numbers started in January 2015 (1501); before that ids had four digits.
        if len(new["num"]) == 5 and yymm < "1501":
            raise InvalidArxivId(text, "five-digit numbers only exist from 1501 on")
        if len(new["num"]) == 4 and yymm >= "1501":
            raise InvalidArxivId(text, "ids from 1501 on have five digits after the dot")
        return f"{new['yymm']}.{new['num']}"
    old = _OLD_STYLE.fullmatch(candidate)
    if old:
        if old["archive"] not in OLD_STYLE_ARCHIVES:
            raise InvalidArxivId(text, f"there is no arXiv archive {old['archive']!r}")
        # YYMMNNN: two digits of year, two of month, then the number within the month.
        _check_month_and_version(text, old["num"][2:4], old["version"])
        return f"{old['archive']}{old['subject'] or ''}/{old['num']}"
    raise InvalidArxivId(text, "unrecognised format")


def _check_month_and_version(text: str, month: str, version: str | None) -> None:
    if not 1 <= int(month) <= 12:
        raise InvalidArxivId(text, f"month {month} does not exist")
    if version is not None and int(version) < 1:
        raise InvalidArxivId(text, f"version v{version} does not exist; versions start at v1")


def parse_listed_id(text: str) -> str:
    """The version-less id of a bare id as arXiv's own URLs carry it (`2103.03206v2`,
    `hep-th/9901001`): no prefix, no URL, nothing after it. Raises InvalidArxivId."""
    if not (_NEW_STYLE.fullmatch(text) or _OLD_STYLE.fullmatch(text)):
        raise InvalidArxivId(text, "not a bare id like 2103.03206 or hep-th/9901001")
    return parse_arxiv_id(text)


def abs_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def pdf_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/pdf/{arxiv_id}"
