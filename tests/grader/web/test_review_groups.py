"""Review that scales, over HTTP: identical and near-identical answers awaiting review are
one group, one decision settles the group, and a later identical answer is settled by it.

The service runs the stand-in grader (an answer with a "?" awaits review); every answer
here carries a fresh token so that other tests' answers never join its groups.
"""

from __future__ import annotations

import uuid

from tests.grader.web.conftest import SAMPLE_SUBMISSION, Service


def _answer(service: Service, text: str) -> dict:
    _, token = service.new_student()
    body = {**SAMPLE_SUBMISSION, "answers": {"ex1": {"event_time": text}}}
    reply = service.request("POST", "/api/v1/submissions", body, token=token)
    assert reply.status == 201, reply.text
    return reply.json


def _queue(service: Service) -> dict:
    reply = service.request("GET", "/api/v1/instructor/reviews", token=service.instructor)
    assert reply.status == 200, reply.text
    return reply.json


def _group_of(queue: dict, submission_id: int) -> dict:
    return next(g for g in queue["groups"] if submission_id in [m["submission_id"] for m in g["members"]])


def test_identical_and_near_identical_answers_are_one_group_settled_by_one_decision(service: Service):
    tag = uuid.uuid4().hex[:8]
    same = [_answer(service, f"the time it happened at the source {tag}?") for _ in range(2)]
    spaced = _answer(service, f"The  time it HAPPENED at the source, {tag}?")  # case, spaces, punctuation
    typo = _answer(service, f"the time it hapened at the source {tag}?")  # one letter short: near-identical
    other = _answer(service, f"no idea at all, sorry {tag}?")
    queue = _queue(service)
    group = _group_of(queue, same[0]["id"])
    members = {m["submission_id"] for m in group["members"]}
    assert members == {same[0]["id"], same[1]["id"], spaced["id"], typo["id"]}
    assert group["exercise_id"] == "ex1" and group["size"] == 4 and group["identical"] is False
    assert other["id"] not in members
    assert {r["group"] for r in queue["reviews"] if r["submission_id"] in members} == {group["group"]}

    path = f"/api/v1/instructor/reviews/groups/{group['group']}"
    assert service.request("POST", path, {"score": 99, "reason": "x"}, token=service.instructor).status == 400
    assert service.request("POST", path, {"score": 3, "reason": "r"}).status == 401
    settled = service.request("POST", path, {"score": 3, "reason": "names the source's clock"},
                              token=service.instructor)
    assert settled.status == 201, settled.text
    assert settled.json["settled"] == 4
    queue = _queue(service)
    left = {r["submission_id"] for r in queue["reviews"]}
    assert not members & left and other["id"] in left
    for sub in (*same, spaced, typo):
        reply = service.request("GET", f"/api/v1/submissions/{sub['id']}", token=service.instructor)
        ex1 = next(e for e in reply.json["exercises"] if e["id"] == "ex1")
        assert ex1["score"] == 3 and ex1["settlement"]["reason"] == "names the source's clock"
    assert service.request("POST", path, {"score": 3, "reason": "again"}, token=service.instructor).status == 404

    # A later submission with the same answer (once normalised) is settled at once by the decision...
    later = _answer(service, f"the time it happened at the source {tag}?")
    ex1 = next(e for e in later["exercises"] if e["id"] == "ex1")
    assert ex1["score"] == 3 and "decided for the same answer in submission" in ex1["settlement"]["reason"]
    assert later["id"] not in {r["submission_id"] for r in _queue(service)["reviews"]}
    # ...a merely similar one waits: a decision is applied only to answers its maker has seen.
    similar = _answer(service, f"the time it happened at its source {tag}?")
    assert similar["id"] in {r["submission_id"] for r in _queue(service)["reviews"]}


def test_an_unknown_group_is_404(service: Service):
    reply = service.request("POST", "/api/v1/instructor/reviews/groups/0000000000000000", {"score": 1, "reason": "r"},
                            token=service.instructor)
    assert reply.status == 404 and "no review group" in reply.json["errors"][0]


def test_a_total_with_answers_awaiting_review_says_it_is_provisional(service: Service):
    tag = uuid.uuid4().hex[:8]
    waiting = _answer(service, f"maybe the clock {tag}?")
    assert waiting["provisional"] == "provisional: 1 part awaits review"
    group = _group_of(_queue(service), waiting["id"])
    assert service.request("POST", f"/api/v1/instructor/reviews/groups/{group['group']}",
                           {"score": 1, "reason": "half right"}, token=service.instructor).status == 201
    settled = service.request("GET", f"/api/v1/submissions/{waiting['id']}", token=service.instructor).json
    assert "provisional" not in settled
