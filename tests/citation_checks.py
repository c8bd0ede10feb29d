"""The citation invariants every Answer keeps, checked by the suite-wide fixture in
tests/conftest.py and by the answering tests."""

from __future__ import annotations

from rag.citations import marker_numbers


def check_answer_citations(answer) -> None:
    """Issues 3 and 11's targets, for every Answer any test produces: each citation maps to a
    retrieved passage; the markers a person reads are 1..n in order of first appearance, one
    per cited span, and each names a citation; markers naming no passage were dropped."""
    n = len(answer.passages)
    for c in answer.citations:
        assert c.passage is not None and 1 <= c.passage <= n, \
            f"citation [{c.marker}] names passage {c.passage}, not one of {n}"
        hit = answer.passages[c.passage - 1].passage
        assert (c.source, c.passage_id) == (hit.source, hit.id), c
    spans = [(c.source, c.start, c.end, c.verified) for c in answer.citations]
    assert len(set(spans)) == len(spans), f"one span cited under two numbers: {spans}"
    first_seen = list(dict.fromkeys(marker_numbers(answer.text)))
    assert first_seen == list(range(1, len(first_seen) + 1)), \
        f"markers are not 1..n in order of appearance: {marker_numbers(answer.text)}"
    assert [c.marker for c in answer.citations] == first_seen, \
        (first_seen, [c.marker for c in answer.citations])
    assert not any(1 <= m <= n for m in answer.dropped_markers), answer.dropped_markers
