"""Tests for bot.taxonomy: the table itself, normalization, matching, messages, autocomplete."""

from __future__ import annotations

import itertools
import pickle
import string
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import taxonomy
from bot.taxonomy import (
    ARCHIVES,
    CATEGORIES,
    UnknownCategory,
    autocomplete,
    describe,
    expand,
    matches,
    matching,
    normalize,
    subscription_keys,
    suggest,
)

# Every category code seen in our real Hot Papers data.
REAL_CODES = [
    "astro-ph.CO",
    "astro-ph.EP",
    "astro-ph.GA",
    "astro-ph.HE",
    "astro-ph.IM",
    "astro-ph.SR",
    "cond-mat.dis-nn",
    "cond-mat.mtrl-sci",
    "cond-mat.quant-gas",
    "cond-mat.stat-mech",
    "cond-mat.str-el",
    "cs.AI",
    "cs.AR",
    "cs.CC",
    "cs.CE",
    "cs.CG",
    "cs.CL",
    "cs.CR",
    "cs.CV",
    "cs.CY",
    "cs.DB",
    "cs.DC",
    "cs.DL",
    "cs.DM",
    "cs.DS",
    "cs.ET",
    "cs.GL",
    "cs.GR",
    "cs.GT",
    "cs.HC",
    "cs.IR",
    "cs.IT",
    "cs.LG",
    "cs.LO",
    "cs.MA",
    "cs.MM",
    "cs.MS",
    "cs.NE",
    "cs.NI",
    "cs.PF",
    "cs.PL",
    "cs.RO",
    "cs.SC",
    "cs.SD",
    "cs.SE",
    "cs.SI",
    "econ.EM",
    "econ.GN",
    "econ.TH",
    "eess.AS",
    "eess.IV",
    "eess.SP",
    "eess.SY",
    "gr-qc",
    "hep-ex",
    "hep-lat",
    "hep-ph",
    "hep-th",
    "math-ph",
    "math.AT",
    "math.CA",
    "math.CO",
    "math.CT",
    "math.DG",
    "math.DS",
    "math.GT",
    "math.LO",
    "math.NA",
    "math.OC",
    "math.PR",
    "math.RT",
    "math.ST",
    "nlin.AO",
    "physics.ao-ph",
    "physics.app-ph",
    "physics.bio-ph",
    "physics.chem-ph",
    "physics.comp-ph",
    "physics.data-an",
    "physics.flu-dyn",
    "physics.geo-ph",
    "physics.hist-ph",
    "physics.med-ph",
    "physics.optics",
    "physics.plasm-ph",
    "physics.pop-ph",
    "physics.soc-ph",
    "q-bio.BM",
    "q-bio.GN",
    "q-bio.NC",
    "q-bio.PE",
    "q-bio.QM",
    "q-fin.CP",
    "q-fin.MF",
    "q-fin.ST",
    "q-fin.TR",
    "quant-ph",
    "stat.AP",
    "stat.CO",
    "stat.ME",
    "stat.ML",
]

SINGLE_CATEGORY_ARCHIVES = (
    "gr-qc",
    "hep-ex",
    "hep-lat",
    "hep-ph",
    "hep-th",
    "math-ph",
    "nucl-ex",
    "nucl-th",
    "quant-ph",
)

ARCHIVE_SIZES = {
    "cs": 40,
    "econ": 3,
    "eess": 4,
    "math": 32,
    "astro-ph": 6,
    "cond-mat": 9,
    "nlin": 5,
    "physics": 22,
    "q-bio": 10,
    "q-fin": 9,
    "stat": 6,
}

ALL_VALUES = (*CATEGORIES, *(f"{a}.*" for a in ARCHIVES))


# --- the table ---------------------------------------------------------------------------


def test_category_count() -> None:
    assert len(CATEGORIES) == 155


def test_every_real_code_is_known() -> None:
    assert len(REAL_CODES) == 101
    assert [c for c in REAL_CODES if c not in CATEGORIES] == []


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("cs.CV", "Computer Vision and Pattern Recognition"),
        ("cs.LG", "Machine Learning"),
        ("cs.CE", "Computational Engineering, Finance, and Science"),
        ("cs.DC", "Distributed, Parallel, and Cluster Computing"),
        ("cs.GT", "Computer Science and Game Theory"),
        ("hep-th", "High Energy Physics - Theory"),
        ("hep-lat", "High Energy Physics - Lattice"),
        ("gr-qc", "General Relativity and Quantum Cosmology"),
        ("quant-ph", "Quantum Physics"),
        ("math-ph", "Mathematical Physics"),
        ("nucl-ex", "Nuclear Experiment"),
        ("astro-ph.GA", "Astrophysics of Galaxies"),
        ("astro-ph.CO", "Cosmology and Nongalactic Astrophysics"),
        ("q-bio.NC", "Neurons and Cognition"),
        ("eess.IV", "Image and Video Processing"),
        ("econ.EM", "Econometrics"),
        ("q-fin.TR", "Trading and Market Microstructure"),
        ("stat.ML", "Machine Learning"),
        ("stat.TH", "Statistics Theory"),
        ("math.CA", "Classical Analysis and ODEs"),
        ("math.KT", "K-Theory and Homology"),
        ("nlin.SI", "Exactly Solvable and Integrable Systems"),
        ("physics.data-an", "Data Analysis, Statistics and Probability"),
        ("physics.hist-ph", "History and Philosophy of Physics"),
        ("cond-mat.mes-hall", "Mesoscale and Nanoscale Physics"),
        ("cond-mat.str-el", "Strongly Correlated Electrons"),
    ],
)
def test_official_names(code: str, name: str) -> None:
    assert CATEGORIES[code] == name


def test_archives() -> None:
    assert dict(ARCHIVES) == {
        "cs": "Computer Science",
        "econ": "Economics",
        "eess": "Electrical Engineering and Systems Science",
        "math": "Mathematics",
        "astro-ph": "Astrophysics",
        "cond-mat": "Condensed Matter",
        "nlin": "Nonlinear Sciences",
        "physics": "Physics",
        "q-bio": "Quantitative Biology",
        "q-fin": "Quantitative Finance",
        "stat": "Statistics",
    }


def test_every_code_belongs_to_an_archive_or_is_one() -> None:
    dotted = [c for c in CATEGORIES if "." in c]
    assert {c.partition(".")[0] for c in dotted} == set(ARCHIVES)
    assert tuple(c for c in CATEGORIES if "." not in c) == SINGLE_CATEGORY_ARCHIVES
    assert len(dotted) + len(SINGLE_CATEGORY_ARCHIVES) == sum(ARCHIVE_SIZES.values()) + 9


def test_codes_are_unique_case_insensitively() -> None:
    assert len({c.lower() for c in CATEGORIES}) == len(CATEGORIES)


def test_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        CATEGORIES["cs.XX"] = "nope"  # type: ignore[index]
    with pytest.raises(TypeError):
        ARCHIVES["xx"] = "nope"  # type: ignore[index]


# --- normalize ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cs.CV", "cs.CV"),
        ("cs.cv", "cs.CV"),
        ("CS.cv", "cs.CV"),
        ("  cs.CV\n", "cs.CV"),
        ("HEP-TH", "hep-th"),
        ("hep-th", "hep-th"),
        ("hep-th.*", "hep-th"),
        ("Quant-Ph", "quant-ph"),
        ("ASTRO-PH.ga", "astro-ph.GA"),
        ("cond-mat.MTRL-SCI", "cond-mat.mtrl-sci"),
        ("PHYSICS.OPTICS", "physics.optics"),
        ("math-ph", "math-ph"),
        ("cs", "cs.*"),
        ("cs.*", "cs.*"),
        ("CS.*", "cs.*"),
        (" Cs ", "cs.*"),
        ("math", "math.*"),
        ("astro-ph", "astro-ph.*"),
        ("Q-FIN.*", "q-fin.*"),
        ("physics", "physics.*"),
    ],
)
def test_normalize(query: str, expected: str) -> None:
    assert normalize(query) == expected


@pytest.mark.parametrize(
    "query",
    ["", "   ", "cs.XX", "cs.", "*", ".*", "cs.**", "cs.CV.*", "hep", "hep.*", "cs CV", "CV"],
)
def test_normalize_rejects(query: str) -> None:
    with pytest.raises(UnknownCategory):
        normalize(query)


def test_normalize_is_idempotent_on_every_value() -> None:
    for value in ALL_VALUES:
        assert normalize(value) == value
        assert normalize(value.upper()) == value
        assert normalize(value.lower()) == value


@given(st.text(max_size=30))
def test_normalize_returns_a_value_or_raises_unknown(query: str) -> None:
    error: UnknownCategory | None = None
    try:
        value = normalize(query)
    except UnknownCategory as e:
        error = e
    if error is None:
        assert value in ALL_VALUES
    else:
        assert error.query == query.strip()
        assert len(error.suggestions) <= 5
        assert all(s in ALL_VALUES for s in error.suggestions)


# --- suggestions and error messages --------------------------------------------------------


def test_unknown_category_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown arXiv category"):
        normalize("nope")


def test_error_message_cs_xx() -> None:
    with pytest.raises(UnknownCategory) as info:
        normalize("cs.XX")
    assert info.value.query == "cs.XX"
    assert info.value.suggestions == ("cs.AI", "cs.AR", "cs.CC", "cs.CE", "cs.CG")
    assert str(info.value) == (
        "unknown arXiv category 'cs.XX'; closest: cs.AI, cs.AR, cs.CC, cs.CE, cs.CG"
        " \u2014 expected a code like cs.CV or an archive like cs"
    )


def test_error_message_without_suggestions() -> None:
    with pytest.raises(UnknownCategory) as info:
        normalize("  zzzz ")
    assert info.value.query == "zzzz"
    assert info.value.suggestions == ()
    assert str(info.value) == (
        "unknown arXiv category 'zzzz' \u2014 expected a code like cs.CV or an archive like cs"
    )


def test_error_message_for_empty_query() -> None:
    with pytest.raises(UnknownCategory) as info:
        normalize("")
    assert info.value.suggestions == ()
    assert str(info.value).startswith("unknown arXiv category '' \u2014 expected")


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("cs.cv", "cs.CV"),
        ("cs.VC", "cs.CV"),
        ("mth.CO", "math.CO"),
        ("hepth", "hep-th"),
        ("cs.ML", "stat.ML"),
        ("stat.LG", "cs.LG"),
        ("cond-mat.mtrlsci", "cond-mat.mtrl-sci"),
        ("physics.optic", "physics.optics"),
        ("mth", "math.*"),
        ("qbio", "q-bio.*"),
        ("astroph.*", "astro-ph.*"),
        ("vision", "cs.CV"),
        ("CV", "cs.CV"),
    ],
)
def test_suggestion_first(query: str, first: str) -> None:
    assert suggest(query)[0] == first


def test_suggestions_contents() -> None:
    assert suggest("hep") == ("hep-th", "hep-ex", "hep-lat", "hep-ph")
    assert suggest("CV") == ("cs.CV", "math.CV")
    assert suggest("cs.VC") == ("cs.CV", "cs.CC", "cs.CE", "cs.CG", "cs.CL")
    assert suggest("cs.ML")[:4] == ("stat.ML", "cs.MA", "cs.MM", "cs.MS")
    assert suggest("cs.XX", limit=2) == ("cs.AI", "cs.AR")
    assert suggest("cs.XX", limit=0) == ()
    assert suggest("   ") == ()
    assert suggest("zzzz") == ()


def test_suggestions_never_exceed_five_and_never_repeat() -> None:
    for query in ("c", "cs", "cs.", "math.", "p", "x", "cs.XX", "ph", "quantum", "a.b"):
        found = suggest(query)
        assert len(found) <= 5
        assert len(set(found)) == len(found)


def test_error_pickles_with_its_fields() -> None:
    with pytest.raises(UnknownCategory) as info:
        normalize("cs.VC")
    clone = pickle.loads(pickle.dumps(info.value))
    assert isinstance(clone, UnknownCategory)
    assert clone.query == "cs.VC"
    assert clone.suggestions == info.value.suggestions
    assert str(clone) == str(info.value)


# --- expand ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("archive", "size"), ARCHIVE_SIZES.items())
def test_expand_archive_sizes(archive: str, size: int) -> None:
    covered = expand(f"{archive}.*")
    assert len(covered) == size
    assert all(c.startswith(f"{archive}.") for c in covered)


def test_expand() -> None:
    assert expand("cs.CV") == frozenset({"cs.CV"})
    assert expand("hep-th") == frozenset({"hep-th"})
    assert expand("eess.*") == frozenset({"eess.AS", "eess.IV", "eess.SP", "eess.SY"})
    assert expand("econ.*") == frozenset({"econ.EM", "econ.GN", "econ.TH"})
    assert "math.ST" in expand("math.*")
    assert "astro-ph.GA" not in expand("physics.*")
    # Forgiving of unnormalized input, strict about unknown input.
    assert expand("cs") == expand("cs.*")
    assert expand("CS.cv") == frozenset({"cs.CV"})
    with pytest.raises(UnknownCategory):
        expand("cs.XX")


def test_archives_partition_the_dotted_codes() -> None:
    union = frozenset().union(*(expand(f"{a}.*") for a in ARCHIVES))
    assert union == {c for c in CATEGORIES if "." in c}
    assert sum(len(expand(f"{a}.*")) for a in ARCHIVES) == len(union)


# --- matching ------------------------------------------------------------------------------


def test_matching_exact_and_wildcard() -> None:
    subs = frozenset({"cs.*", "hep-th"})
    assert matching(subs, ["math.CO", "cs.LG", "stat.ML", "hep-th"]) == ("cs.LG", "hep-th")
    assert matching(subs, ["hep-ph", "math.CO"]) == ()
    assert matching({"stat.ML"}, ["cs.LG", "stat.ML"]) == ("stat.ML",)
    assert matching(["stat.ML", "cs.LG"], ("stat.ML", "cs.LG")) == ("stat.ML", "cs.LG")
    assert matching([], ["cs.LG"]) == ()
    assert matching({"cs.*"}, []) == ()


def test_matching_keeps_paper_order() -> None:
    subs = {"cs.CV", "cs.LG", "eess.*"}
    paper = ("eess.IV", "cs.LG", "cs.AI", "cs.CV")
    assert matching(subs, paper) == ("eess.IV", "cs.LG", "cs.CV")


def test_wildcard_covers_legacy_codes_by_prefix() -> None:
    assert matching({"cs.*"}, ["cs.XX"]) == ("cs.XX",)
    assert matching({"math.*"}, ["math.MP", "math.ZZ"]) == ("math.MP", "math.ZZ")
    assert matching({"astro-ph.*"}, ["astro-ph"]) == ("astro-ph",)
    assert matching({"cond-mat.*"}, ["cond-mat"]) == ("cond-mat",)


def test_wildcard_does_not_leak_across_archives() -> None:
    assert matching({"cs.*"}, ["csx.AI", "econ.EM", "cs"]) == ("cs",)
    assert matching({"math.*"}, ["math-ph"]) == ()
    assert matching({"physics.*"}, ["astro-ph.GA", "quant-ph"]) == ()
    assert matching({"q-bio.*"}, ["q-fin.CP"]) == ()


def test_non_wildcards_match_exactly() -> None:
    assert matching({"cs.CV"}, ["cs.cv", "cs.CVX", "cs.C"]) == ()
    assert matching({"hep-th"}, ["hep-th.XX"]) == ()


def test_matches() -> None:
    assert matches({"cs.*"}, ["math.CO", "cs.LG"])
    assert matches(["quant-ph"], iter(["quant-ph"]))
    assert matches({"cs.*"}, ["cs.ZZ"])
    assert not matches({"cs.CV"}, ["cs.LG"])
    assert not matches(set(), ["cs.LG"])
    assert not matches({"cs.*"}, [])


def test_matches_agrees_with_matching() -> None:
    subs_options = [{"cs.*"}, {"cs.CV", "stat.*"}, {"hep-th"}, set(), set(ALL_VALUES)]
    papers = [("cs.CV",), ("stat.ML", "cs.LG"), ("hep-ph", "gr-qc"), ("math.XX",), ()]
    for subs, paper in itertools.product(subs_options, papers):
        assert matches(subs, paper) == bool(matching(subs, paper))


def test_subscription_keys() -> None:
    assert subscription_keys(["cs.LG", "stat.ML", "hep-th"]) == frozenset(
        {"cs.LG", "cs.*", "stat.ML", "stat.*", "hep-th"}
    )
    assert subscription_keys(["astro-ph"]) == frozenset({"astro-ph", "astro-ph.*"})
    assert subscription_keys(["cs.ZZ"]) == frozenset({"cs.ZZ", "cs.*"})
    assert subscription_keys([]) == frozenset()


def test_subscription_keys_agree_with_matching() -> None:
    paper = ("cs.LG", "stat.ML", "hep-th", "cs.ZZ")
    keys = subscription_keys(paper)
    for value in ALL_VALUES:
        assert (value in keys) == matches({value}, paper), value


def test_matching_is_fast() -> None:
    subs = frozenset({"cs.*", "hep-th", "stat.ML"})
    paper = ("math.CO", "cs.LG", "stat.ML")
    start = time.perf_counter()
    for _ in range(100_000):
        matching(subs, paper)
    # About 0.5 us a call in practice; the bound is loose to stay stable on slow machines.
    assert time.perf_counter() - start < 2.0


# --- describe ------------------------------------------------------------------------------


def test_describe() -> None:
    assert describe("cs.CV") == "cs.CV \u2014 Computer Vision and Pattern Recognition"
    assert describe("hep-th") == "hep-th \u2014 High Energy Physics - Theory"
    assert describe("cs.*") == "cs.* \u2014 Computer Science (all 40 categories)"
    assert describe("math.*") == "math.* \u2014 Mathematics (all 32 categories)"
    assert describe("econ.*") == "econ.* \u2014 Economics (all 3 categories)"
    assert describe("cs") == describe("cs.*")
    with pytest.raises(UnknownCategory):
        describe("cs.XX")


# --- autocomplete ----------------------------------------------------------------------------


def values(query: str, limit: int = 25) -> list[str]:
    return [value for _name, value in autocomplete(query, limit)]


def test_autocomplete_empty_query() -> None:
    assert values("") == [
        "cs.*",
        "econ.*",
        "eess.*",
        "math.*",
        "astro-ph.*",
        "cond-mat.*",
        "nlin.*",
        "physics.*",
        "q-bio.*",
        "q-fin.*",
        "stat.*",
        "cs.LG",
        "cs.CV",
        "cs.CL",
        "cs.AI",
        "stat.ML",
        "cs.RO",
        "cs.CR",
        "cs.SE",
        "cs.HC",
        "cs.IR",
        "cs.NE",
        "eess.AS",
        "eess.IV",
        "quant-ph",
    ]
    assert values("  ", limit=3) == ["cs.*", "econ.*", "eess.*"]


def test_autocomplete_pairs_are_label_and_value() -> None:
    assert autocomplete("cs.CV", 1) == [
        ("cs.CV \u2014 Computer Vision and Pattern Recognition", "cs.CV")
    ]
    assert autocomplete("cs", 1) == [("cs.* \u2014 Computer Science (all 40 categories)", "cs.*")]


def test_autocomplete_exact_match_first() -> None:
    assert values("cs.cv")[0] == "cs.CV"
    assert values("HEP-TH")[0] == "hep-th"
    assert values("cs")[0] == "cs.*"
    assert values("math")[:3] == ["math.*", "math.OC", "math-ph"]
    assert values("cs.*")[0] == "cs.*"


def test_autocomplete_code_prefix() -> None:
    # Popular codes first, then the rest in order, then codes merely containing the query.
    assert values("cs.c") == [
        "cs.CV",
        "cs.CL",
        "cs.CR",
        "cs.CY",
        "cs.CC",
        "cs.CE",
        "cs.CG",
        "physics.chem-ph",
        "physics.class-ph",
        "physics.comp-ph",
    ]
    assert values("hep") == ["hep-th", "hep-ex", "hep-lat", "hep-ph"]
    # Archive wildcards lead their members, so a one-letter query still offers them.
    assert values("c")[:2] == ["cond-mat.*", "cs.*"]
    assert values("q")[:3] == ["q-bio.*", "q-fin.*", "quant-ph"]
    # The part after the dot counts as a prefix too.
    assert values("lg")[0] == "cs.LG"
    assert values("cv") == ["cs.CV", "math.CV"]
    assert values("ML")[0] == "stat.ML"


def test_autocomplete_archive_names() -> None:
    assert values("computer")[0] == "cs.*"
    assert values("biology")[0] == "q-bio.*"
    assert values("finance")[0] == "q-fin.*"


def test_autocomplete_names() -> None:
    assert values("vision") == ["cs.CV"]
    assert values("Vision") == ["cs.CV"]
    assert values("quantum") == ["quant-ph", "cond-mat.quant-gas", "gr-qc", "math.QA"]
    assert values("machine learning") == ["cs.LG", "stat.ML"]
    assert values("robot") == ["cs.RO"]
    # Word starts rank above matches inside words.
    assert values("algebra") == ["math.AC", "math.AG", "math.AT", "math.OA", "math.QA", "math.RA"]
    assert values("metric") == ["math.MG", "econ.EM", "math.GT"]


def test_autocomplete_falls_back_to_fuzzy() -> None:
    assert values("mth.CO")[0] == "math.CO"
    assert values("cs.VC")[0] == "cs.CV"
    assert values("zzzz") == []


@pytest.mark.parametrize("limit", [0, 1, 5, 25])
def test_autocomplete_limit(limit: int) -> None:
    for query in ("", "c", "cs", "p", "math.", "a", "quantum", "mth"):
        assert len(autocomplete(query, limit)) <= limit
    assert len(autocomplete("cs", limit)) == limit


def test_autocomplete_is_bounded_for_every_short_query() -> None:
    alphabet = string.ascii_lowercase + string.digits + ".-* "
    queries = [*alphabet, *("".join(p) for p in itertools.product(alphabet, repeat=2))]
    for query in queries:
        for query_case in {query, query.upper()}:
            choices = autocomplete(query_case)
            assert len(choices) <= 25, query_case
            seen = [value for _name, value in choices]
            assert len(set(seen)) == len(seen), query_case
            for name, value in choices:
                assert 1 <= len(name) <= 100
                assert normalize(value) == value
                assert name == describe(value)


def test_labels_are_clipped_with_an_ellipsis() -> None:
    assert taxonomy._clip("x" * 100) == "x" * 100
    assert taxonomy._clip("x" * 101) == "x" * 99 + "\u2026"
    assert len(taxonomy._clip("y" * 500)) == 100


def test_autocomplete_is_fast() -> None:
    queries = ["", "c", "cs", "cs.c", "vision", "quantum", "hep", "lg", "q-fin", "stat.m"]
    start = time.perf_counter()
    for _ in range(100):
        for query in queries:
            autocomplete(query)
    # Well under 1 ms per call in practice; the bound is loose to stay stable.
    assert (time.perf_counter() - start) / 1000 < 0.005
