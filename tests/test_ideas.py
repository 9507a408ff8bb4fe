"""The idea generator on the shipped models: every idea meets every constraint and is new, scores are the
model's, impossible requests answer with a message in time; and the shortlist with its exports."""
import csv
import datetime
import io
import json
import math
import time

import pytest

from makemore.data import load_file
from makemore.errors import ConfigError
from makemore.ideas import generate_ideas
from makemore.sample import score_line
from makemore.shortlist import Shortlist, export_csv, export_txt
from makemore.store import Run
from tests.conftest import ROOT


def load(name):
    run = Run(ROOT / "checkpoints" / name)
    model, config = run.load_model()
    return model, run.vocab(config)


@pytest.fixture(scope="module")
def names():
    return set(load_file(ROOT / "datasets" / "names.txt").lines)


@pytest.fixture(scope="module")
def companies():
    return set(load_file(ROOT / "datasets" / "companies.txt").lines)


def meets(text, min_len=1, max_len=99, starts_with="", ends_with="", contains="", exclude=""):
    return (min_len <= len(text) <= max_len and text.startswith(starts_with) and text.endswith(ends_with)
            and contains in text and not any(c in text for c in exclude))


REQUESTS = [
    dict(starts_with="ma", ends_with="a", min_len=5, max_len=8),
    dict(contains="zz", exclude="aeiou", max_len=9),
    dict(ends_with="son", exclude="e", min_len=6),
    dict(min_len=10, starts_with="k"),
    dict(contains="lyn", ends_with="e", rank="diverse", temperature=1.2),
]


@pytest.mark.parametrize("checkpoint", ["names-transformer", "names-gru"])
@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: ",".join(f"{k}={v}" for k, v in r.items()))
def test_every_idea_meets_every_constraint_and_is_new(names, checkpoint, request_):
    model, vocab = load(checkpoint)
    result = generate_ideas(model, vocab, names, count=12, seed=7, **request_)
    assert result.message == "" and len(result.ideas) == 12
    texts = [idea.text for idea in result.ideas]
    assert len(set(texts)) == len(texts)
    constraints = {k: v for k, v in request_.items() if k not in ("rank", "temperature")}
    for idea in result.ideas:
        assert meets(idea.text, **constraints), idea
        assert idea.text not in names and idea.is_new
        assert math.isfinite(idea.score) and idea.score < 0
    if request_.get("rank") != "diverse":
        scores = [idea.score for idea in result.ideas]
        assert scores == sorted(scores, reverse=True)
        assert {idea.temperature for idea in result.ideas} == {1.0}


def test_scores_are_the_models_mean_log_probability_per_character(names):
    model, vocab = load("names-transformer")
    result = generate_ideas(model, vocab, names, count=8, starts_with="jo", temperature=1.5, seed=3)
    for idea in result.ideas:
        expected = -score_line(model, vocab, idea.text)["mean_nll"]  # the whole line, at temperature 1
        assert idea.score == pytest.approx(expected, abs=1e-4), idea


def test_diverse_mixes_temperatures_around_the_requested_one(names):
    model, vocab = load("names-gru")
    result = generate_ideas(model, vocab, names, count=9, rank="diverse", temperature=0.8, seed=5)
    temperatures = [idea.temperature for idea in result.ideas]
    assert len(set(temperatures)) == 3 and min(temperatures) < 0.8 < max(temperatures)
    assert temperatures[:3] == sorted(set(temperatures))  # taken in turn from each temperature


def test_only_new_off_keeps_known_lines_and_says_which(names):
    model, vocab = load("names-transformer")
    result = generate_ideas(model, vocab, names, count=40, only_new=False, temperature=0.6, seed=2)
    assert len(result.ideas) == 40 and len({i.text for i in result.ideas}) == 40
    assert all(idea.is_new == (idea.text not in names) for idea in result.ideas)
    assert any(not idea.is_new for idea in result.ideas)  # at a low temperature the common names come back


@pytest.mark.parametrize("case", ["title", "upper", "lower"])
def test_case_styles_on_mixed_case_data(companies, case):
    model, vocab = load("companies-transformer")
    result = generate_ideas(model, vocab, companies, count=10, case=case, max_len=24, seed=1)
    assert len(result.ideas) == 10, result.message
    for idea in result.ideas:
        text = idea.text
        assert text not in companies and len(text) <= 24
        if case == "upper":
            assert text == text.upper() and any(c.isupper() for c in text)
        elif case == "lower":
            assert text == text.lower() and any(c.islower() for c in text)
        else:
            assert all(not w[:1].islower() and w[1:] == w[1:].lower() for w in text.split(" ")), text


def test_title_case_prefix_and_ending_on_company_names(companies):
    model, vocab = load("companies-transformer")
    result = generate_ideas(model, vocab, companies, count=8, starts_with="Nova", ends_with=" Labs", case="title",
                            seed=4)
    assert len(result.ideas) == 8, result.message
    assert all(i.text.startswith("Nova") and i.text.endswith(" Labs") and i.text not in companies
               for i in result.ideas)


@pytest.mark.parametrize("request_,says", [
    (dict(starts_with="zzzzzz", ends_with="qqq", max_len=8), "that takes 9"),
    (dict(contains="abcdefghij", max_len=6), "that takes 10"),
    (dict(starts_with="ka", exclude="a"), "which exclude forbids"),
])
def test_impossible_constraints_answer_at_once(names, request_, says):
    model, vocab = load("names-transformer")
    started = time.monotonic()
    result = generate_ideas(model, vocab, names, count=5, **request_)
    assert time.monotonic() - started < 0.5
    assert result.ideas == [] and says in result.message


def test_too_tight_constraints_stop_at_the_time_limit_with_a_message(names):
    model, vocab = load("names-transformer")
    started = time.monotonic()  # there are fewer than 26 new two-letter names starting with z
    result = generate_ideas(model, vocab, names, count=30, starts_with="z", min_len=2, max_len=2, time_limit=1.0,
                            seed=0)
    assert time.monotonic() - started < 2.0
    assert 0 < len(result.ideas) < 30 and result.message.startswith(f"Only {len(result.ideas)} of 30 ideas")
    assert all(len(i.text) == 2 and i.text[0] == "z" and i.text not in names for i in result.ideas)


@pytest.mark.parametrize("kwargs,says", [
    (dict(starts_with="Qu"), "'Q' never occurs in the training data"),
    (dict(contains="é"), "'é' never occurs in the training data"),
    (dict(case="title"), "case 'title' needs capital letters"),
    (dict(count=0), "count must be"),
    (dict(temperature=0), "temperature must be"),
    (dict(rank="best"), "rank must be"),
    (dict(min_len=6, max_len=4), "max_len must be"),
])
def test_bad_requests_are_config_errors(names, kwargs, says):
    model, vocab = load("names-gru")
    with pytest.raises(ConfigError, match=says):
        generate_ideas(model, vocab, names, **{"count": 5, **kwargs})


def test_the_shortlist_survives_a_reload_and_exports_safely(tmp_path):
    shortlist = Shortlist(tmp_path / "visitor")
    assert shortlist.list() == []
    shortlist.add("Nova Labs", score=-0.91234567, is_new=True, run_id="companies-transformer")
    shortlist.add("-R- Ranch", score=-1.5, is_new=False)
    shortlist.add("=HYPERLINK(\"x\")")
    shortlist.add("Nova Labs")  # starred twice: kept once
    shortlist.remove("not there")
    again = Shortlist(tmp_path / "visitor").list()  # a page reload reads the file anew
    assert [i["text"] for i in again] == ["Nova Labs", "-R- Ranch", "=HYPERLINK(\"x\")"]
    assert again[0]["score"] == -0.9123 and again[0]["run_id"] == "companies-transformer"
    assert json.loads((tmp_path / "visitor" / "shortlist.json").read_text())["items"] == again
    assert Shortlist(tmp_path / "visitor").remove("-R- Ranch")[1]["text"].startswith("=")

    items = Shortlist(tmp_path / "visitor").list() + ["@SUM(A1)", "+1", "\tTab", "plain, with comma"]
    assert export_txt(items).splitlines() == ["Nova Labs", "=HYPERLINK(\"x\")", "@SUM(A1)", "+1", "\tTab",
                                              "plain, with comma"]
    text = export_csv(items)
    assert text.startswith("\ufeff") and text.encode("utf-8").startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == ["text", "score", "is_new", "run_id", "added"]
    cells = [row[0] for row in rows[1:]]
    assert cells == ["Nova Labs", "'=HYPERLINK(\"x\")", "'@SUM(A1)", "'+1", "'\tTab", "plain, with comma"]
    assert rows[1][1] == "-0.9123" and rows[1][2] == "True"
    added = datetime.datetime.fromisoformat(rows[1][4])  # ISO 8601 local time with its offset, not a Unix time
    assert added.tzinfo is not None and abs(added.timestamp() - again[0]["added"]) < 1
    with pytest.raises(ConfigError):
        Shortlist(tmp_path / "visitor").add("two\nlines")
