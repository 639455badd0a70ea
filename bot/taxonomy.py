"""arXiv's category taxonomy, and the parsing, matching and autocomplete that subscriptions need.

Pure data and code with no I/O, so every other module can validate and match categories
without a network call. Transcribed from https://arxiv.org/category_taxonomy.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Final

__all__ = [
    "ARCHIVES",
    "CATEGORIES",
    "UnknownCategory",
    "autocomplete",
    "describe",
    "expand",
    "matches",
    "matching",
    "normalize",
    "normalize_list",
    "subscription_keys",
    "suggest",
]

_DASH: Final = "\u2014"  # em dash, the separator in every human-facing label
_ELLIPSIS: Final = "\u2026"
_MAX_LABEL: Final = 100  # Discord rejects autocomplete choice names longer than this
_MAX_SUGGESTIONS: Final = 5
_SEPARATORS: Final = re.compile(r"[\s,;]+")

# In arXiv's own order (groups, then archives, then codes alphabetically), because listings
# that follow it look familiar to anyone who has browsed arXiv.
CATEGORIES: Final[Mapping[str, str]] = MappingProxyType(
    {
        # Computer Science
        "cs.AI": "Artificial Intelligence",
        "cs.AR": "Hardware Architecture",
        "cs.CC": "Computational Complexity",
        "cs.CE": "Computational Engineering, Finance, and Science",
        "cs.CG": "Computational Geometry",
        "cs.CL": "Computation and Language",
        "cs.CR": "Cryptography and Security",
        "cs.CV": "Computer Vision and Pattern Recognition",
        "cs.CY": "Computers and Society",
        "cs.DB": "Databases",
        "cs.DC": "Distributed, Parallel, and Cluster Computing",
        "cs.DL": "Digital Libraries",
        "cs.DM": "Discrete Mathematics",
        "cs.DS": "Data Structures and Algorithms",
        "cs.ET": "Emerging Technologies",
        "cs.FL": "Formal Languages and Automata Theory",
        "cs.GL": "General Literature",
        "cs.GR": "Graphics",
        "cs.GT": "Computer Science and Game Theory",
        "cs.HC": "Human-Computer Interaction",
        "cs.IR": "Information Retrieval",
        "cs.IT": "Information Theory",
        "cs.LG": "Machine Learning",
        "cs.LO": "Logic in Computer Science",
        "cs.MA": "Multiagent Systems",
        "cs.MM": "Multimedia",
        "cs.MS": "Mathematical Software",
        "cs.NA": "Numerical Analysis",
        "cs.NE": "Neural and Evolutionary Computing",
        "cs.NI": "Networking and Internet Architecture",
        "cs.OH": "Other Computer Science",
        "cs.OS": "Operating Systems",
        "cs.PF": "Performance",
        "cs.PL": "Programming Languages",
        "cs.RO": "Robotics",
        "cs.SC": "Symbolic Computation",
        "cs.SD": "Sound",
        "cs.SE": "Software Engineering",
        "cs.SI": "Social and Information Networks",
        "cs.SY": "Systems and Control",
        # Economics
        "econ.EM": "Econometrics",
        "econ.GN": "General Economics",
        "econ.TH": "Theoretical Economics",
        # Electrical Engineering and Systems Science
        "eess.AS": "Audio and Speech Processing",
        "eess.IV": "Image and Video Processing",
        "eess.SP": "Signal Processing",
        "eess.SY": "Systems and Control",
        # Mathematics
        "math.AC": "Commutative Algebra",
        "math.AG": "Algebraic Geometry",
        "math.AP": "Analysis of PDEs",
        "math.AT": "Algebraic Topology",
        "math.CA": "Classical Analysis and ODEs",
        "math.CO": "Combinatorics",
        "math.CT": "Category Theory",
        "math.CV": "Complex Variables",
        "math.DG": "Differential Geometry",
        "math.DS": "Dynamical Systems",
        "math.FA": "Functional Analysis",
        "math.GM": "General Mathematics",
        "math.GN": "General Topology",
        "math.GR": "Group Theory",
        "math.GT": "Geometric Topology",
        "math.HO": "History and Overview",
        "math.IT": "Information Theory",
        "math.KT": "K-Theory and Homology",
        "math.LO": "Logic",
        "math.MG": "Metric Geometry",
        "math.MP": "Mathematical Physics",
        "math.NA": "Numerical Analysis",
        "math.NT": "Number Theory",
        "math.OA": "Operator Algebras",
        "math.OC": "Optimization and Control",
        "math.PR": "Probability",
        "math.QA": "Quantum Algebra",
        "math.RA": "Rings and Algebras",
        "math.RT": "Representation Theory",
        "math.SG": "Symplectic Geometry",
        "math.SP": "Spectral Theory",
        "math.ST": "Statistics Theory",
        # Physics
        "astro-ph.CO": "Cosmology and Nongalactic Astrophysics",
        "astro-ph.EP": "Earth and Planetary Astrophysics",
        "astro-ph.GA": "Astrophysics of Galaxies",
        "astro-ph.HE": "High Energy Astrophysical Phenomena",
        "astro-ph.IM": "Instrumentation and Methods for Astrophysics",
        "astro-ph.SR": "Solar and Stellar Astrophysics",
        "cond-mat.dis-nn": "Disordered Systems and Neural Networks",
        "cond-mat.mes-hall": "Mesoscale and Nanoscale Physics",
        "cond-mat.mtrl-sci": "Materials Science",
        "cond-mat.other": "Other Condensed Matter",
        "cond-mat.quant-gas": "Quantum Gases",
        "cond-mat.soft": "Soft Condensed Matter",
        "cond-mat.stat-mech": "Statistical Mechanics",
        "cond-mat.str-el": "Strongly Correlated Electrons",
        "cond-mat.supr-con": "Superconductivity",
        "gr-qc": "General Relativity and Quantum Cosmology",
        "hep-ex": "High Energy Physics - Experiment",
        "hep-lat": "High Energy Physics - Lattice",
        "hep-ph": "High Energy Physics - Phenomenology",
        "hep-th": "High Energy Physics - Theory",
        "math-ph": "Mathematical Physics",
        "nlin.AO": "Adaptation and Self-Organizing Systems",
        "nlin.CD": "Chaotic Dynamics",
        "nlin.CG": "Cellular Automata and Lattice Gases",
        "nlin.PS": "Pattern Formation and Solitons",
        "nlin.SI": "Exactly Solvable and Integrable Systems",
        "nucl-ex": "Nuclear Experiment",
        "nucl-th": "Nuclear Theory",
        "physics.acc-ph": "Accelerator Physics",
        "physics.ao-ph": "Atmospheric and Oceanic Physics",
        "physics.app-ph": "Applied Physics",
        "physics.atm-clus": "Atomic and Molecular Clusters",
        "physics.atom-ph": "Atomic Physics",
        "physics.bio-ph": "Biological Physics",
        "physics.chem-ph": "Chemical Physics",
        "physics.class-ph": "Classical Physics",
        "physics.comp-ph": "Computational Physics",
        "physics.data-an": "Data Analysis, Statistics and Probability",
        "physics.ed-ph": "Physics Education",
        "physics.flu-dyn": "Fluid Dynamics",
        "physics.gen-ph": "General Physics",
        "physics.geo-ph": "Geophysics",
        "physics.hist-ph": "History and Philosophy of Physics",
        "physics.ins-det": "Instrumentation and Detectors",
        "physics.med-ph": "Medical Physics",
        "physics.optics": "Optics",
        "physics.plasm-ph": "Plasma Physics",
        "physics.pop-ph": "Popular Physics",
        "physics.soc-ph": "Physics and Society",
        "physics.space-ph": "Space Physics",
        "quant-ph": "Quantum Physics",
        # Quantitative Biology
        "q-bio.BM": "Biomolecules",
        "q-bio.CB": "Cell Behavior",
        "q-bio.GN": "Genomics",
        "q-bio.MN": "Molecular Networks",
        "q-bio.NC": "Neurons and Cognition",
        "q-bio.OT": "Other Quantitative Biology",
        "q-bio.PE": "Populations and Evolution",
        "q-bio.QM": "Quantitative Methods",
        "q-bio.SC": "Subcellular Processes",
        "q-bio.TO": "Tissues and Organs",
        # Quantitative Finance
        "q-fin.CP": "Computational Finance",
        "q-fin.EC": "Economics",
        "q-fin.GN": "General Finance",
        "q-fin.MF": "Mathematical Finance",
        "q-fin.PM": "Portfolio Management",
        "q-fin.PR": "Pricing of Securities",
        "q-fin.RM": "Risk Management",
        "q-fin.ST": "Statistical Finance",
        "q-fin.TR": "Trading and Market Microstructure",
        # Statistics
        "stat.AP": "Applications",
        "stat.CO": "Computation",
        "stat.ME": "Methodology",
        "stat.ML": "Machine Learning",
        "stat.OT": "Other Statistics",
        "stat.TH": "Statistics Theory",
    }
)

# Only archives that hold several categories: they are what a "cs.*" wildcard names.
# Single-category archives (hep-th, gr-qc, quant-ph, ...) are plain entries of CATEGORIES.
ARCHIVES: Final[Mapping[str, str]] = MappingProxyType(
    {
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
)

# Most-followed first; offered for an empty autocomplete query and used to break ties.
_POPULAR: Final[tuple[str, ...]] = (
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
    "cs.SD",
    "cs.MA",
    "cs.DC",
    "cs.CY",
    "math.OC",
    "stat.ME",
    "hep-th",
    "astro-ph.GA",
    "cond-mat.mtrl-sci",
    "q-bio.NC",
)


def _wildcard(archive: str) -> str:
    return f"{archive}.*"


def _build_expansions() -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {code: frozenset((code,)) for code in CATEGORIES}
    for archive in ARCHIVES:
        prefix = f"{archive}."
        out[_wildcard(archive)] = frozenset(c for c in CATEGORIES if c.startswith(prefix))
    return out


# Every normalized value -> the category codes it covers; also the set of valid values.
_EXPANSIONS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(_build_expansions())
# Lower-cased spelling -> canonical value; wildcards also under their bare archive code.
_CANONICAL: Final[Mapping[str, str]] = MappingProxyType(
    {code.lower(): code for code in CATEGORIES}
    | {a.lower(): _wildcard(a) for a in ARCHIVES}
    | {_wildcard(a).lower(): _wildcard(a) for a in ARCHIVES}
    | {_wildcard(c).lower(): c for c in CATEGORIES if "." not in c}
)
# Known category -> the wildcard that would cover it, so matching does no string work. Codes
# of single-category archives map to a never-normalized "hep-th.*", which matches nothing.
_WILDCARD_OF: Final[Mapping[str, str]] = MappingProxyType(
    {code: _wildcard(code.partition(".")[0]) for code in CATEGORIES}
    | {a: _wildcard(a) for a in ARCHIVES}
)
_POPULARITY: Final[Mapping[str, int]] = MappingProxyType(
    {code: rank for rank, code in enumerate(_POPULAR)}
)


class UnknownCategory(ValueError):
    """A query that names no arXiv category or archive; carries suggestions for the reply."""

    query: str
    suggestions: tuple[str, ...]

    def __init__(self, query: str, suggestions: Iterable[str] = ()) -> None:
        self.query = query
        self.suggestions = tuple(suggestions)
        closest = f"; closest: {', '.join(self.suggestions)}" if self.suggestions else ""
        super().__init__(
            f"unknown arXiv category {query!r}{closest} {_DASH} "
            "expected a code like cs.CV or an archive like cs"
        )

    def __reduce__(self) -> tuple[type[UnknownCategory], tuple[str, tuple[str, ...]]]:
        # The default would re-create the error from its message alone, losing the fields.
        return (type(self), (self.query, self.suggestions))


def normalize(query: str) -> str:
    """Canonical spelling of a user's category or archive, so stored subscriptions compare equal.

    Codes come back as arXiv spells them ("cs.CV", "hep-th"); multi-category archives as the
    wildcard "cs.*"; a single-category archive written as a wildcard ("hep-th.*") as its code.
    """
    stripped = query.strip()
    canonical = _CANONICAL.get(stripped.lower())
    if canonical is None:
        raise UnknownCategory(stripped, suggest(stripped))
    return canonical


def normalize_list(text: str) -> tuple[str, ...]:
    """Each category or archive of a list typed with commas, semicolons or spaces between
    ("cs.CV, cs.LG"), normalized, in the order given, without repeats; raises UnknownCategory
    for the first one that is not."""
    return tuple(dict.fromkeys(normalize(q) for q in _SEPARATORS.split(text) if q))


def expand(code: str) -> frozenset[str]:
    """The category codes a subscription covers, e.g. every cs.* code for "cs.*"."""
    covered = _EXPANSIONS.get(code)
    if covered is None:
        covered = _EXPANSIONS[normalize(code)]
    return covered


def _as_set(subscribed: Iterable[str]) -> frozenset[str] | set[str]:
    if isinstance(subscribed, (frozenset, set)):
        return subscribed
    return frozenset(subscribed)


def _wildcard_of(category: str) -> str:
    wildcard = _WILDCARD_OF.get(category)
    if wildcard is None:
        # A legacy or future code: its archive's wildcard still covers it.
        wildcard = _wildcard(category.partition(".")[0])
    return wildcard


def matching(subscribed: Iterable[str], categories: Sequence[str]) -> tuple[str, ...]:
    """The paper's categories, in its order, that normalized subscriptions cover.

    A wildcard covers any code in its archive by prefix, including legacy codes missing from
    the table (and a bare legacy "astro-ph"); other codes match exactly. Pass a (frozen)set
    to skip the conversion when calling this in a hot loop.
    """
    subs = _as_set(subscribed)
    return tuple(c for c in categories if c in subs or _wildcard_of(c) in subs)


def matches(subscribed: Iterable[str], categories: Iterable[str]) -> bool:
    """Whether normalized subscriptions cover any of a paper's categories."""
    subs = _as_set(subscribed)
    return any(c in subs or _wildcard_of(c) in subs for c in categories)


def subscription_keys(categories: Iterable[str]) -> frozenset[str]:
    """Every subscription value that would cover one of these categories.

    Lets a store look channels up by key for each paper instead of testing every channel.
    """
    keys: set[str] = set()
    for c in categories:
        keys.add(c)
        if "." in c or c in ARCHIVES:
            keys.add(_wildcard_of(c))
    return frozenset(keys)


def describe(code: str) -> str:
    """A one-line human label, e.g. "cs.CV — Computer Vision and Pattern Recognition"."""
    value = code if code in _EXPANSIONS else normalize(code)
    name = CATEGORIES.get(value)
    if name is not None:
        return f"{value} {_DASH} {name}"
    archive = value[:-2]
    count = len(_EXPANSIONS[value])
    return f"{value} {_DASH} {ARCHIVES[archive]} (all {count} categories)"


def _clip(text: str, limit: int = _MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + _ELLIPSIS


# What autocomplete and suggest search, precomputed once: (value, lower value, lower subject
# after the dot, lower name, label). Wildcards first so they win ties against their members.
_Entry = tuple[str, str, str, str, str]
_ENTRIES: Final[tuple[_Entry, ...]] = tuple(
    [
        (_wildcard(a), _wildcard(a).lower(), "", name.lower(), _clip(describe(_wildcard(a))))
        for a, name in ARCHIVES.items()
    ]
    + [
        (c, c.lower(), c.partition(".")[2].lower(), name.lower(), _clip(describe(c)))
        for c, name in CATEGORIES.items()
    ]
)
_LABELS: Final[Mapping[str, str]] = MappingProxyType({e[0]: e[4] for e in _ENTRIES})


def _rank_key(value: str) -> tuple[int, int, str]:
    # Wildcards before codes, then popular codes, then alphabetically for a stable listing.
    return (0 if value.endswith(".*") else 1, _POPULARITY.get(value, len(_POPULAR)), value)


def _word_start(name: str, needle: str) -> bool:
    return name.startswith(needle) or f" {needle}" in name or f"-{needle}" in name


def _ranked(query: str, *, loose: bool = True) -> list[str]:
    """Values matching a lower-cased query, best first, without fuzzy matching.

    `loose` adds bare code-substring matches, useful while typing but noise in suggestions.
    """
    exact = _CANONICAL.get(query)
    base = query[:-2] if query.endswith(".*") else query
    tiers: list[list[str]] = [[] for _ in range(6)]
    for value, low, subject, name, _label in _ENTRIES:
        if value == exact:
            continue
        if low.startswith(base):
            tiers[0].append(value)
        elif subject and subject.startswith(base):
            tiers[1].append(value)
        elif low.endswith(".*") and base in name:
            tiers[2].append(value)
        elif _word_start(name, base):
            tiers[3].append(value)
        elif base in name:
            tiers[4].append(value)
        elif loose and base in low:
            tiers[5].append(value)
    ordered = [exact] if exact is not None else []
    for tier in tiers:
        ordered.extend(sorted(tier, key=_rank_key))
    return ordered


@functools.lru_cache(maxsize=1024)
def _fuzzy(query: str) -> tuple[str, ...]:
    """Values spelled like a lower-cased query, closest first (difflib, plus transpositions).

    Cached because it is the one slow path (~1 ms) and autocomplete repeats queries.
    """
    # Compare archives only when the query looks like one, so "cs.XX" suggests cs codes.
    with_archives = "." not in query or query.endswith(".*")
    target = query[:-2] if query.endswith(".*") else query
    wanted = target.partition(".")[2]
    matcher = difflib.SequenceMatcher(b=target, autojunk=False)
    scored: list[tuple[float, str]] = []
    for value, low, _subject, _name, _label in _ENTRIES:
        if low.endswith(".*"):
            if not with_archives:
                continue
            low = low[:-2]
        matcher.set_seq1(low)
        # The bonuses below add at most 0.35, so cheaper upper bounds can prune below 0.25.
        if matcher.real_quick_ratio() < 0.25 or matcher.quick_ratio() < 0.25:
            continue
        score = matcher.ratio()
        if sorted(low) == sorted(target):
            score += 0.1  # "cs.VC" is far likelier to mean cs.CV than cs.CC
        subject = low.partition(".")[2]
        if subject and subject == wanted:
            score += 0.25  # right subject, wrong archive: "cs.ML" likely means stat.ML
        elif subject[:1] and subject[:1] == wanted[:1]:
            score += 0.05  # people rarely get the first letter wrong
        if score >= 0.6:
            scored.append((-score, value))
    return tuple(value for _score, value in sorted(scored))


def suggest(query: str, limit: int = _MAX_SUGGESTIONS) -> tuple[str, ...]:
    """The valid values closest to a query, best first, for error messages."""
    needle = query.strip().lower()
    if not needle or limit <= 0:
        return ()
    found = dict.fromkeys(_ranked(needle, loose=False)[:limit])
    if len(found) < limit:
        found.update(dict.fromkeys(_fuzzy(needle)))
    return tuple(found)[:limit]


def autocomplete(query: str, limit: int = 25) -> list[tuple[str, str]]:
    """(label, value) choices for a Discord autocomplete, best first, at most `limit`.

    Ranking: exact match, code prefix (wildcards first), subject prefix ("lg" -> cs.LG),
    archive name, category name by word start then anywhere, code substring; fuzzy matches
    only when nothing else does.
    """
    if limit <= 0:
        return []
    needle = query.strip().lower()
    if not needle:
        values = [_wildcard(a) for a in ARCHIVES] + list(_POPULAR)
    else:
        values = _ranked(needle) or list(suggest(needle, limit))
    return [(_LABELS[v], v) for v in values[:limit]]
