"""Random and mutated YAML thrown at the content loader: the only outcomes are
a valid guide or one ContentError; never another exception, never executed
code, never a hang."""

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice import content
from voice.errors import ContentError

from .shared import ROOT

CONTENT_DIR = ROOT / "content"
FILES = {name: (CONTENT_DIR / name).read_text(encoding="utf-8") for name in ("guide.yaml", "commands.yaml", "rhythm.yaml")}
SENTINEL = Path(tempfile.gettempdir()) / "voice-content-fuzz-executed"
TAGS = [
    "!!python/object/apply:os.system",
    "!!python/object/new:os.system",
    "!!python/name:os.system",
    "!!binary",
    "!!set",
    "!!timestamp",
    "!!omap",
    "!custom",
    "!!str",
    "!!int",
]
FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


def load_text(text: str) -> content.Content | None:
    """Load text as a content file over the shipped content; None when refused."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
        try:
            return content.load(CONTENT_DIR, overrides=[path])
        except ContentError as error:
            assert error.file == str(path)
            assert error.message and "\n" not in str(error).strip()
            return None


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30))
data = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=40,
)
section_names = st.sampled_from(["meta", "steps", "responses", "commands", "fillers", "input_modes", "rhythm", "contacts", "positions_per_breast", "other"])


@FUZZ
@given(st.dictionaries(section_names, data, min_size=1, max_size=4))
def test_random_sections_load_or_give_one_content_error(sections):
    load_text(yaml.safe_dump(sections, allow_unicode=True))


@FUZZ
@given(st.text(max_size=400))
def test_random_text_loads_or_gives_one_content_error(text):
    load_text(text)


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(FILES)))
    text = FILES[name]
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "tag"]))
        if kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif kind == "insert":
            text = text[:at] + draw(st.text(alphabet=":-[]{}&*!|>'\"#\n \t0123456789abc", max_size=8)) + text[at:]
        elif kind == "replace":
            text = text[:at] + draw(st.sampled_from([": ", "- ", "  ", "\n", "{", "[", "'", "yes", "~"])) + text[at + 1 :]
        else:
            tag = draw(st.sampled_from(TAGS))
            text = text[:at] + f" {tag} [\"touch {SENTINEL}\"] " + text[at:]
    return text


@FUZZ
@given(mutated())
def test_mutated_content_loads_or_gives_one_content_error_and_runs_nothing(text):
    SENTINEL.unlink(missing_ok=True)
    load_text(text)
    assert not SENTINEL.exists()


@settings(max_examples=20, deadline=5000)
@given(st.integers(1, 200_000), st.sampled_from(["[", "{", "- ", "a:\n  "]))
def test_deep_nesting_is_refused_quickly(depth, opener):
    load_text(opener * depth)


def test_an_alias_bomb_is_refused_before_it_expands():
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for level in "bcdefghij":
        previous = chr(ord(level) - 1)
        bomb.append(f"{level}: &{level} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]")
    assert load_text("fillers:\n  " + "\n  ".join(bomb)) is None


def test_a_python_tag_is_never_run():
    SENTINEL.unlink(missing_ok=True)
    assert load_text(f'fillers: !!python/object/apply:os.system ["touch {SENTINEL}"]\n') is None
    assert not SENTINEL.exists()
