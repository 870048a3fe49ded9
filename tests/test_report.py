"""run.py log --html: a printable page of the sessions, read as a screen reader
would (its structure and text) and as a printer would (rendered by Chromium)."""

import json
import os
import re
import shutil
import subprocess
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from voice.record import Entry, day_line
from voice.report import BAR_COLOUR, page
from voice.session import spoken_duration

from .shared import CONTENT, run_cli

RECORD = "hand-expressing-voice/sessions.json"
HEADERS = ["Start", "Length", "Left breast", "Right breast", "Positions used", "No milk"]
TODAY = date.today()


def at(days_ago: int, hour: int, minute: int) -> float:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(hour, minute)).timestamp()


def session(started: float, left: float, right: float, positions=(1, 1), no_milk=()) -> dict:
    """A stored session as Session.record() leaves it: 40 seconds of preparation besides the breasts."""
    return {
        "started": started,
        "updated": started + left + right + 40,
        "data": {
            "seconds": left + right + 40,
            "ended": True,
            "breasts": {
                "left": {"seconds": left, "positions": positions[0]},
                "right": {"seconds": right, "positions": positions[1]},
            },
            "no_milk": [{"t": t, "breast": breast, "position": position} for t, breast, position in no_milk],
            "commands": [],
            "place": {"step": "squeeze", "breast": "left", "position": 1},
        },
    }


SESSIONS = [
    session(at(10, 8, 0), 300, 300),  # before the week: not on the page
    session(at(2, 7, 5), 600, 540, (4, 3), [(120, "left", 1), (400, "left", 2), (900, "right", 1)]),
    session(at(0, 6, 10), 480, 450, (2, 2), [(60, "left", 1)]),
    session(at(0, 9, 45), 320, 310, (2, 0)),
]


def write_record(data_dir: Path, sessions: list[dict]) -> None:
    path = data_dir / RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 1, "sessions": sessions}))


def entries(sessions: list[dict]) -> list[Entry]:
    return [Entry(s["started"], s["updated"], s["data"]) for s in sessions]


class Page(HTMLParser):
    """What a screen reader finds on the page: language, headings, tables with
    their captions, header and data cells, and the chart's text alternative."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.lang = None
        self.headings: list[tuple[str, str]] = []
        self.tables: list[dict] = []
        self.tags: list[tuple[str, dict]] = []
        self.svgs: list[dict] = []
        self.texts: dict[str, str] = {}  # by element id
        self._text: list[str] | None = None
        self._part = ""
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "html":
            self.lang = attrs.get("lang")
        elif tag == "table":
            self.tables.append({"caption": "", "thead": [], "tbody": [], "tfoot": []})
        elif tag in ("thead", "tbody", "tfoot"):
            self._part = tag
        elif tag == "tr":
            self.tables[-1][self._part].append([])
        elif tag == "svg":
            self.svgs.append({"attrs": attrs, "rects": []})
        elif tag == "rect":
            self.svgs[-1]["rects"].append(attrs)
        if tag in ("h1", "h2", "caption", "th", "td", "title", "desc"):
            self._text = []
            self._open = (tag, attrs)

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if self._text is None or tag != self._open[0]:
            return
        text, attrs = "".join(self._text), self._open[1]
        self._text = None
        if tag in ("h1", "h2"):
            self.headings.append((tag, text))
        elif tag == "caption":
            self.tables[-1]["caption"] = text
        elif tag in ("th", "td"):
            self.tables[-1][self._part][-1].append((tag, attrs.get("scope"), text))
        if "id" in attrs:
            self.texts[attrs["id"]] = text


def run_html(tmp_path: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return run_cli("log", "--html", *args, data_dir=tmp_path / "data", **kwargs)


# The page as of noon today: a fixed moment, so that a run across midnight sees the
# same days (the program's own clock is tested below, for what does not depend on it).
NOW = at(0, 12, 0)


@pytest.fixture
def written(tmp_path) -> tuple[Path, Page]:
    """The page of SESSIONS as of NOW, written to a file, and as parsed."""
    out = tmp_path / "log.html"
    out.write_text(page(entries(SESSIONS), CONTENT.responses, NOW), encoding="utf-8")
    return out, Page(out.read_text(encoding="utf-8"))


def test_the_program_writes_the_page_of_its_record(tmp_path):
    write_record(tmp_path / "data", SESSIONS)
    out = tmp_path / "log.html"
    result = run_html(tmp_path, str(out))
    assert result.returncode == 0, result.stderr
    parsed = Page(out.read_text(encoding="utf-8"))
    # Whatever the day now: the two days of the week with sessions, newest first.
    assert len(parsed.tables) == 2 and len(parsed.svgs) == 1
    assert "27 minutes 20 seconds in all" in parsed.tables[0]["caption"]
    assert "19 minutes 40 seconds in all" in parsed.tables[1]["caption"]


def test_a_table_per_day_newest_first_with_a_captioned_day_total(written):
    _, parsed = written
    assert parsed.lang == "en"
    assert parsed.headings[0] == ("h1", "Hand expressing: sessions")
    days = [TODAY, TODAY - timedelta(days=2)]
    assert [t for h, t in parsed.headings if h == "h2"][1:] == [d.strftime("%A %d %B %Y") for d in days]
    by_day = [entries(SESSIONS[2:]), entries(SESSIONS[1:2])]
    assert [t["caption"] for t in parsed.tables] == [day_line(d, e, CONTENT.responses) for d, e in zip(days, by_day)]
    assert "27 minutes 20 seconds in all" in parsed.tables[0]["caption"]
    for table in parsed.tables:
        assert table["thead"] == [[("th", "col", name) for name in HEADERS]]


def test_a_row_per_session_with_its_lengths_positions_and_no_milk_times(written):
    _, parsed = written
    today, earlier = parsed.tables
    rows = [[text for _, _, text in row] for row in today["tbody"]]
    assert rows == [
        ["06:10", "16 min 10 s", "8 min 0 s", "7 min 30 s", "left 2, right 2", "1 — 06:11 (left, position 1)"],
        ["09:45", "11 min 10 s", "5 min 20 s", "5 min 10 s", "left 2", "0"],
    ]
    assert [cell[:2] for cell in today["tbody"][0][:2]] == [("th", "row"), ("td", None)]
    (row,) = earlier["tbody"]
    assert row[0][2] == "07:05" and row[1][2] == "19 min 40 s"
    assert row[5][2] == "3 — 07:07 (left, position 1), 07:11 (left, position 2), 07:20 (right, position 1)"


def test_each_day_ends_with_its_totals(written):
    _, parsed = written
    totals = [[text for _, _, text in table["tfoot"][0]] for table in parsed.tables]
    assert totals == [
        ["Total", "27 min 20 s", "13 min 20 s", "12 min 40 s", "", "1"],
        ["Total", "19 min 40 s", "10 min 0 s", "9 min 0 s", "", "3"],
    ]


def test_the_chart_is_an_image_whose_text_gives_every_days_total(written):
    _, parsed = written
    (svg,) = parsed.svgs
    assert svg["attrs"]["role"] == "img"
    title_id, desc_id = svg["attrs"]["aria-labelledby"].split()
    assert parsed.texts[title_id] == "Time expressing per day, the last 7 days"
    totals = {TODAY: 1640.0, TODAY - timedelta(days=2): 1180.0}
    expected = [
        f"{day.strftime('%A %d %B %Y')}: {spoken_duration(totals.get(day, 0.0))}"
        for day in (TODAY - timedelta(days=6 - i) for i in range(7))
    ]
    assert parsed.texts[desc_id] == "; ".join(expected) + "."
    # A bar for each day with sessions, as tall as its total.
    heights = sorted(float(rect["height"]) for rect in svg["rects"])
    assert len(heights) == 2 and heights[0] / heights[1] == pytest.approx(1180 / 1640, rel=0.01)


def test_the_page_needs_nothing_from_elsewhere(written):
    out, parsed = written
    html = out.read_text(encoding="utf-8")
    assert not {tag for tag, _ in parsed.tags} & {"script", "link", "img", "iframe", "object", "embed"}
    assert not [(tag, a) for tag, attrs in parsed.tags for a in attrs if a in ("src", "href", "xlink:href")]
    assert "url(" not in html and "@import" not in html
    assert set(re.findall(r"\w+://[^\s\"'<>]*", html)) == {"http://www.w3.org/2000/svg"}  # a name, never fetched


def test_text_from_the_record_is_escaped():
    hostile = session(at(0, 8, 0), 60, 60, ("<b>3</b>", 1), [(5, "<script>alert(1)</script>", "<i>2</i>")])
    html = page(entries([hostile]), CONTENT.responses, at(0, 12, 0))
    assert "<script" not in html and "<b>" not in html and "<i>" not in html
    row = Page(html).tables[0]["tbody"][0]
    assert row[4][2] == "left <b>3</b>, right 1"
    assert row[5][2] == "1 — 08:00 (<script>alert(1)</script>, position <i>2</i>)"


def test_damaged_no_milk_items_are_left_out_or_shown_without_a_time():
    damaged = session(at(0, 8, 0), 60, 60)
    damaged["data"]["no_milk"] = ["abc", 5, {"t": "abc", "breast": "left", "position": 1}, {"t": 1e300}]
    row = Page(page(entries([damaged]), CONTENT.responses, at(0, 12, 0))).tables[0]["tbody"][0]
    assert row[5][2] == "2 — time unknown (left, position 1), time unknown"


def test_an_empty_record_gives_a_page_that_says_so(tmp_path):
    out = tmp_path / "log.html"
    result = run_html(tmp_path, str(out))
    assert result.returncode == 0, result.stderr
    parsed = Page(out.read_text(encoding="utf-8"))
    assert CONTENT.responses["log_empty"] in out.read_text(encoding="utf-8")
    assert parsed.tables == [] and parsed.svgs == [] and parsed.headings[0][0] == "h1"


def test_with_html_nothing_is_said_or_printed_but_where_the_page_is(tmp_path, no_sound_server):
    write_record(tmp_path / "data", SESSIONS)
    out = tmp_path / "log.html"
    result = run_html(tmp_path, str(out), env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert result.returncode == 0
    # Speaking, with no sound server, would have said on stderr that it cannot.
    assert result.stderr == b"" and result.stdout.decode() == f"Written to {out}\n"


def test_an_existing_file_is_replaced(tmp_path):
    write_record(tmp_path / "data", SESSIONS)
    out = tmp_path / "log.html"
    out.write_text("an older report")
    assert run_html(tmp_path, str(out)).returncode == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "log.html"]


@pytest.mark.parametrize("where", ["a folder", "in a missing folder"])
def test_a_path_that_cannot_be_written_fails_clearly_leaving_nothing(tmp_path, where):
    write_record(tmp_path / "data", SESSIONS)
    out = tmp_path / "out"
    if where == "a folder":
        out.mkdir()
    else:
        out = out / "log.html"
    result = run_html(tmp_path, str(out))
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert f"error: --html {out}: cannot write it" in stderr and "Traceback" not in stderr
    # Neither a page nor a temporary file is left, in the folder or beside it.
    if where == "a folder":
        assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out"] and not any(out.iterdir())
    else:
        assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


# -- rendered, as it is printed ------------------------------------------------------------------


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium with a throwaway profile, home and no background traffic."""
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("headless Chromium renders the page: Debian package chromium (scripts/setup --test)")
    home = tmp_path / "browser"
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={home / 'profile'}",
            *args,
        ],
        capture_output=True,
        check=False,
        timeout=60,
        env={**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home), "XDG_CACHE_HOME": str(home)},
    )


def test_chromium_renders_the_chart_and_tables(written, tmp_path):
    out, _ = written
    png = tmp_path / "page.png"
    result = chromium(tmp_path, f"--screenshot={png}", "--window-size=1000,1400", out.as_uri())
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == (1000, 1400)
        pixels = image.convert("RGB").load()
    bar = tuple(int(BAR_COLOUR[i : i + 2], 16) for i in (1, 3, 5))
    # The columns and height in pixels of each bar drawn in the bars' colour.
    columns = {x: sum(pixels[x, y] == bar for y in range(700)) for x in range(1000)}
    bars, start = [], None
    for x in range(1001):
        if x < 1000 and columns[x]:
            start = x if start is None else start
        elif start is not None:
            bars.append((x - start, max(columns[i] for i in range(start, x))))
            start = None
    assert len(bars) == 2, bars
    (width_a, height_a), (width_b, height_b) = bars  # two days ago, then today
    assert abs(width_a - width_b) <= 1 and width_a > 40  # one pixel of antialiasing
    assert height_a / height_b == pytest.approx(1180 / 1640, abs=0.02)
    # The tables are drawn too: below the chart, a line of text for each heading,
    # caption, header, session and total (bands of dark pixel rows).
    dark = [any(sum(pixels[x, y]) < 200 for x in range(0, 1000, 2)) for y in range(420, 1400)]
    lines = sum(1 for y in range(1, len(dark)) if dark[y] and not dark[y - 1])
    assert lines >= 2 * 2 + 2 * 2 + 3, lines
