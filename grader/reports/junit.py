"""JUnit XML for CI: a ``testsuite`` per submission, a ``testcase`` per exercise part.

A part below full marks is a ``failure`` whose ``message`` is its score and status and
whose text holds the feedback (and the given and expected values where expected values
may be shown).  An unreadable submission is one ``error`` testcase.  Built with
``xml.etree`` so everything is escaped; characters XML 1.0 cannot hold at all (most
control characters, unpaired surrogates) are written as ``\\x..`` escapes, so any
student text gives a well-formed document.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from grader.reports.text import STATUS_WORDS, clean, exercise_lines, score_text, value_text
from grader.results import ExerciseResult, GradeResult, PartResult, round_score

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: object) -> str:
    return _NOT_XML.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"),
                        clean(text))


def render_junit(results: GradeResult | Iterable[GradeResult], *, name: str = "streamgrade") -> str:
    """The JUnit XML document (text, with an XML declaration) for one or many results."""
    items = [results] if isinstance(results, GradeResult) else list(results)
    root = ET.Element("testsuites", name=_xml(name))
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for position, result in enumerate(items, start=1):
        suite = _suite(result, position)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite(result: GradeResult, position: int) -> ET.Element:
    who = result.student_id or f"submission {position}"
    suite = ET.Element("testsuite", name=_xml(f"{who} {result.exercise_set}"))
    properties = ET.SubElement(suite, "properties")
    for key, value in (("student_id", result.student_id or ""), ("exercise_set", result.exercise_set),
                       ("score", round_score(result.score)), ("max_score", round_score(result.max_score))):
        ET.SubElement(properties, "property", name=key, value=_xml(value))
    tests = failures = errors = 0
    if not result.readable:
        case = ET.SubElement(suite, "testcase", classname=_xml(f"{result.exercise_set}.submission"), name="read")
        error = ET.SubElement(case, "error", message=_xml(result.errors[0] if result.errors else "unreadable"),
                              type="unreadable")
        error.text = _xml("\n".join(result.errors))
        tests, errors = 1, 1
    for exercise in result.exercises:
        for part, case in _cases(result, exercise):
            suite.append(case)
            tests += 1
            if part.score < part.max_score:
                failures += 1
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    return suite


def _cases(result: GradeResult, exercise: ExerciseResult) -> list[tuple[PartResult, ET.Element]]:
    # An exercise without parts is one testcase standing for the exercise as a whole.
    parts = exercise.parts or (PartResult(exercise.id, exercise.score, exercise.max_score, exercise.status),)
    out = []
    for part in parts:
        case = ET.Element("testcase", classname=_xml(f"{result.exercise_set}.{exercise.id}"), name=_xml(part.id))
        if part.score < part.max_score:
            words = STATUS_WORDS.get(part.status, str(part.status))
            failure = ET.SubElement(case, "failure", type=part.status.value,
                                    message=_xml(f"{score_text(part.score, part.max_score)} {words}"))
            failure.text = _xml("\n".join(_failure_lines(exercise, part)))
        out.append((part, case))
    return out


def _failure_lines(exercise: ExerciseResult, part: PartResult) -> list[str]:
    lines = [f"- {item}" for item in part.feedback]
    if part.given is not None:
        lines.append(f"given:    {value_text(part.given)}")
    if part.show_expected and part.expected is not None:
        lines.append(f"expected: {value_text(part.expected)}")
    if exercise.feedback or exercise.diagnosis:
        lines.append(f"{exercise.id} ({score_text(exercise.score, exercise.max_score)}):")
        body = ExerciseResult(exercise.id, exercise.title, exercise.score, exercise.max_score, exercise.status,
                              exercise.feedback, exercise.diagnosis)
        lines.extend(exercise_lines(body, indent="  "))
    return lines
