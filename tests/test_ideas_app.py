"""The Ideas endpoints through HTTP and gradio_client, on a public app: ideas that meet every constraint and are
new, a message in time when constraints are too tight, and a shortlist that is each visitor's own."""
import time
from types import SimpleNamespace

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from makemore.ideas import case_fits
from tests.conftest import ROOT, start_app, stop_app

NAMES = set((ROOT / "datasets" / "names.txt").read_text(encoding="utf-8").split())
COMPANIES = set((ROOT / "datasets" / "companies.txt").read_text(encoding="utf-8").splitlines())


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """A public app (every visitor has a workspace of their own) and two visitors with their keys."""
    root = tmp_path_factory.mktemp("ideas-root")
    proc, url = start_app(root, root / "app.log", MAKEMORE_PUBLIC="1")
    alice, bob = Client(url, verbose=False), Client(url, verbose=False)
    yield SimpleNamespace(root=root, alice=alice, bob=bob, a=alice.predict(api_name="/new_workspace"),
                          b=bob.predict(api_name="/new_workspace"))
    stop_app(proc)


def ideas(client, key, **request):
    return client.predict(**request, workspace=key, api_name="/generate_ideas")


def test_every_idea_meets_the_constraints_and_is_not_in_the_training_file(app):
    found = ideas(app.alice, app.a, run_id="names-transformer", count=15, only_new=True, min_len=4, max_len=8,
                  starts_with="ma", ends_with="a", exclude="e")
    assert found["message"] == "" and len(found["ideas"]) == 15 and found["candidates"] >= 15
    texts = [idea["text"] for idea in found["ideas"]]
    assert len(set(texts)) == 15
    for text in texts:
        assert 4 <= len(text) <= 8 and text.startswith("ma") and text.endswith("a") and "e" not in text, text
        assert text not in NAMES, text
    assert all(idea["is_new"] is True for idea in found["ideas"])
    scores = [idea["score"] for idea in found["ideas"]]
    assert scores == sorted(scores, reverse=True) and all(s < 0 for s in scores)  # likeliest first

    mixed = ideas(app.alice, app.a, run_id="companies-transformer", count=8, max_len=20, case="title",
                  rank="diverse", temperature=1.2)
    assert mixed["message"] == "" and len(mixed["ideas"]) == 8
    for idea in mixed["ideas"]:
        text = idea["text"]
        assert len(text) <= 20 and case_fits(text, "title") and text not in COMPANIES, idea


def test_constraints_that_cannot_be_met_get_a_message_in_time(app):
    started = time.monotonic()
    impossible = ideas(app.alice, app.a, run_id="names-transformer", count=5, starts_with="mar", ends_with="lyn",
                       max_len=4)
    assert time.monotonic() - started < 2.0
    assert impossible["ideas"] == [] and "No line of at most 4 characters" in impossible["message"]

    started = time.monotonic()  # possible in principle, but there are not 300 new 3-letter names starting "zo"
    tight = ideas(app.alice, app.a, run_id="names-transformer", count=300, starts_with="zo", max_len=3)
    elapsed = time.monotonic() - started
    assert elapsed < 8.0, elapsed  # the generator's 3 s limit, plus the request
    assert 0 < len(tight["ideas"]) < 300 and tight["message"].startswith(f"Only {len(tight['ideas'])} of 300")
    assert all(i["text"].startswith("zo") and len(i["text"]) <= 3 for i in tight["ideas"])

    with pytest.raises(AppError, match="count must be a whole number from 1 to 1000"):
        ideas(app.alice, app.a, run_id="names-transformer", count=0)
    with pytest.raises(AppError, match="never occurs in the training data"):
        ideas(app.alice, app.a, run_id="names-transformer", starts_with="Ma")
    with pytest.raises(AppError, match="There is no run 'nope'"):
        ideas(app.alice, app.a, run_id="nope")


def test_the_shortlist_round_trip_and_its_exports(app):
    alice, a = app.alice, app.a
    assert alice.predict(workspace=a, api_name="/shortlist") == []  # a visitor with no folder yet
    alice.predict("marla", -1.25, True, "names-transformer", workspace=a, api_name="/shortlist_add")
    alice.predict("=SUM(A1)", workspace=a, api_name="/shortlist_add")
    again = alice.predict("marla", -9.0, False, workspace=a, api_name="/shortlist_add")  # starred twice: kept once
    assert [item["text"] for item in again] == ["marla", "=SUM(A1)"]
    assert again[0]["score"] == -1.25 and again[0]["is_new"] is True and again[0]["run_id"] == "names-transformer"
    assert alice.predict(workspace=a, api_name="/shortlist") == again

    txt, csv = alice.predict(workspace=a, api_name="/shortlist_export")
    assert open(txt, encoding="utf-8").read() == "marla\n=SUM(A1)\n"
    data = open(csv, "rb").read()
    assert data.startswith(b"\xef\xbb\xbftext,score,is_new,run_id,added\r\nmarla,-1.25,True,names-transformer,")
    assert b"\r\n'=SUM(A1),,,," in data  # formula-safe

    left = alice.predict("=SUM(A1)", workspace=a, api_name="/shortlist_remove")
    assert [item["text"] for item in left] == ["marla"]
    with pytest.raises(AppError, match="one line"):
        alice.predict("two\nlines", workspace=a, api_name="/shortlist_add")


def test_a_second_visitor_does_not_see_the_first_visitors_shortlist(app):
    app.alice.predict("zora", workspace=app.a, api_name="/shortlist_add")
    assert app.bob.predict(workspace=app.b, api_name="/shortlist") == []
    app.bob.predict("zora", workspace=app.b, api_name="/shortlist_remove")  # Bob's own list: Alice keeps hers
    assert "zora" in [item["text"] for item in app.alice.predict(workspace=app.a, api_name="/shortlist")]
    bob_txt, _ = app.bob.predict(workspace=app.b, api_name="/shortlist_export")
    assert open(bob_txt, encoding="utf-8").read() == ""
    with pytest.raises(AppError, match="no valid workspace key"):
        app.bob.predict(api_name="/shortlist")
