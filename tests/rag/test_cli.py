"""The `sanad` command line: real subprocesses where the process boundary matters (imports,
tracebacks, exit codes), `rag.cli.main` in-process elsewhere."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.cli import main
from rag.conversations import ChatStore

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
HEAVY = ("chromadb", "langchain_openai", "langchain_core", "textual", "openai", "bm25s")
EVAL_KEYS = {"n", "retrieval_hit_at_k", "mrr", "citation_precision", "citation_hit",
             "answer_accuracy", "refusal_accuracy", "latency_ms_p50", "latency_ms_p95", "failures"}


def sanad(*args: str, cwd: Path, env: dict | None = None, timeout: float = 120):
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "rag.cli", *map(str, args)], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def assert_clean_failure(done, *needles: str) -> str:
    """Non-zero exit, no traceback, and the last stderr line is one `sanad:` sentence."""
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("sanad: ") and last.endswith("."), done.stderr
    for needle in needles:
        assert needle in last, (needle, last)
    return last


def run_main(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# --- help and imports ---------------------------------------------------------------------------

def imported_modules(importtime_stderr: str) -> set[str]:
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


@pytest.mark.parametrize("args", [["--help"], ["ask", "--help"], ["eval", "--help"],
                                  ["index", "--help"], ["history", "--help"]])
def test_help_works_without_heavy_imports(tmp_path, args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "rag.cli", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("usage: sanad")
    modules = imported_modules(done.stderr)
    assert "rag.cli" in modules or "rag" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == []
    if args == ["--help"]:
        for command in ("index", "ask", "eval", "chat", "history"):
            assert command in done.stdout


def test_no_command_prints_help_and_fails(capsys):
    code, out, _ = run_main(capsys)
    assert code == 2 and "usage: sanad" in out


def test_a_misspelt_setting_is_warned_about_and_help_lists_every_variable(capsys, monkeypatch,
                                                                         tmp_path):
    from rag.settings import VARIABLES

    monkeypatch.setenv("SANAD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SANAD_K", "3")
    code, out, err = run_main(capsys, "history")
    assert code == 0 and "No saved conversation" in out + err
    assert ("sanad: warning: SANAD_K is not a setting sanad reads, so it is ignored (did you "
            "mean SANAD_TOP_K?); `sanad --help` lists them.") in err.splitlines()
    monkeypatch.delenv("SANAD_K")
    code, _, err = run_main(capsys, "history")
    assert code == 0 and "warning" not in err
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out.split("environment:", 1)[1]
    assert all(name in listed for name in VARIABLES)


# --- index --------------------------------------------------------------------------------------

COUNTS = re.compile(r"(\d+) added, (\d+) updated, (\d+) removed, (\d+) unchanged, (\d+) skipped; "
                    r"(\d+) files, (\d+) passages \((\d+) passages and (\d+) sentences "
                    r"embedded now\)")


def test_index_prints_counts_and_warns_about_skipped_files(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "empty.txt").write_bytes(b"")
    index = tmp_path / "index"
    code, out, err = run_main(capsys, "index", "--corpus", corpus, "--index", index)
    assert code == 0
    added, updated, removed, unchanged, skipped, files, passages, embedded, sentences = map(
        int, COUNTS.search(out).groups())
    assert (added, updated, removed, unchanged, skipped, files) == (5, 0, 0, 0, 1, 5)
    assert passages == embedded > 5 and sentences > passages
    assert "warning: skipped empty.txt" in err

    code, out, _ = run_main(capsys, "index", "--corpus", corpus, "--index", index, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["unchanged"] == sorted(p.name for p in CORPUS.glob("*.txt"))
    assert report["added"] == [] and report["passages_embedded"] == 0
    assert report["passages"] == passages
    assert report["skipped"] == [["empty.txt", "empty.txt is empty."]]

    # a question finds nothing new: the skipped file is recorded, not taken for an added one
    code, _, err = run_main(capsys, "ask", "--corpus", corpus, "--index", index, QUESTION)
    assert code == 0 and "changed" not in err and "skipped" not in err
    (corpus / "empty.txt").write_text("كازاخستان دولة في آسيا الوسطى.", encoding="utf-8")
    code, _, err = run_main(capsys, "ask", "--corpus", corpus, "--index", index, QUESTION)
    assert code == 0 and "(1 changed file(s))" in err  # once it changes, it is read again
    code, out, _ = run_main(capsys, "index", "--corpus", corpus, "--index", index, "--json")
    report = json.loads(out)
    assert "empty.txt" in report["unchanged"] and report["skipped"] == []


def test_a_cited_file_name_is_printed_with_control_characters_escaped(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ctl\x1b[31mred.txt").write_text("نص عن الفيلة في أفريقيا.", encoding="utf-8")
    code, out, _ = run_main(capsys, "ask", "--offline", "--corpus", corpus, "--index",
                            tmp_path / "index", "الفيلة في أفريقيا")
    assert code == 0 and "[1] ctl\\x1b[31mred.txt 0-" in out and "\x1b" not in out


def test_a_file_whose_name_is_not_utf8_is_skipped_by_name(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "000_35cca40ef4f9500b.txt", corpus)
    with open(os.path.join(os.fsencode(corpus), b"\xff\xfe.txt"), "wb") as f:
        f.write("نص".encode())
    code, out, err = run_main(capsys, "index", "--corpus", corpus, "--index", tmp_path / "i")
    assert code == 0 and "1 added" in out and "1 skipped" in out
    assert ("warning: skipped \\xff\\xfe.txt: \\xff\\xfe.txt has a name that is not valid "
            "UTF-8") in err


# --- ask ----------------------------------------------------------------------------------------

QUESTION = "كم نسبة المسلمين في كازاخستان؟"


def test_ask_prints_the_answer_and_numbered_sources(indexed, capsys):
    corpus, index = indexed
    code, out, err = run_main(capsys, "ask", "--corpus", corpus, "--index", index, QUESTION)
    assert code == 0, err
    answer, _, sources = out.partition("\nSources:\n")
    marker = re.search(r"70 بالمائة[^\n]*\[(\d+)\]", answer)
    assert marker, answer
    assert re.search(rf"^\[{marker.group(1)}\] 004_38e6d22ca08bed6e\.txt \d+-\d+", sources, re.M)
    assert "«" in sources and "70 بالمائة" in sources


def test_ask_in_a_fresh_process(indexed, tmp_path):
    corpus, index = indexed
    done = sanad("ask", "--corpus", corpus, "--index", index, QUESTION, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    answer, _, sources = done.stdout.partition("\nSources:\n")
    assert "70 بالمائة" in answer
    for m in re.finditer(r"^\[(\d+)\] (\S+\.txt) (\d+)-(\d+)", sources, re.M):
        text = (corpus / m.group(2)).read_bytes().decode("utf-8-sig")
        quote = text[int(m.group(3)):int(m.group(4))]
        assert f"«{quote}»" in sources
        assert f"[{m.group(1)}]" in answer
    assert re.search(r"^\[\d+\] 004_38e6d22ca08bed6e\.txt", sources, re.M)


def test_ask_json_is_the_answer(indexed, capsys):
    corpus, index = indexed
    code, out, _ = run_main(capsys, "ask", "--json", "-k", "3", "--corpus", corpus, "--index",
                            index, QUESTION)
    assert code == 0
    data = json.loads(out)
    assert data["answered"] is True and data["question"] == QUESTION
    assert len(data["passages"]) == 3
    assert data["citations"]
    for c in data["citations"]:
        text = (corpus / c["source"]).read_bytes().decode("utf-8-sig")
        assert text[c["start"]:c["end"]] == c["quote"]


def test_ask_an_off_topic_question(indexed, capsys):
    corpus, index = indexed
    code, out, _ = run_main(capsys, "ask", "--json", "--corpus", corpus, "--index", index,
                            "من فاز بكأس العالم لكرة القدم؟")
    assert code == 0
    data = json.loads(out)
    assert data["answered"] is False and data["citations"] == []


def test_ask_indexes_first_when_there_is_no_index(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    code, out, err = run_main(capsys, "ask", "--json", "--corpus", corpus, "--index",
                              tmp_path / "new-index", QUESTION)
    assert code == 0
    assert "No index at" in err
    assert json.loads(out)["answered"] is True


@pytest.mark.parametrize("question", ["", "   ", "\t\n"])
def test_an_empty_question_is_one_line_on_stderr(tmp_path, question):
    done = sanad("ask", "--corpus", CORPUS, "--index", tmp_path / "index", question, cwd=tmp_path)
    assert_clean_failure(done, "empty")
    assert len(done.stderr.strip().splitlines()) == 1 and done.stdout == ""
    assert not (tmp_path / "index").exists()  # nothing was indexed for an empty question


def test_a_question_that_is_not_utf8_is_one_line_on_stderr(tmp_path):
    question = "متى؟".encode("cp1256")  # piped in, as from a file saved in Windows-1256
    done = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "--corpus", str(CORPUS),
                           "--index", str(tmp_path / "index"), "-"], input=question,
                          capture_output=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1 and b"Traceback" not in done.stderr
    assert done.stderr.decode().strip().splitlines() == [
        "sanad: The question is not valid UTF-8 text; type it again, or convert the file it "
        "comes from to UTF-8."]
    assert not (tmp_path / "index").exists()


def test_a_bad_k_is_a_clear_error(indexed, capsys):
    corpus, index = indexed
    code, _, err = run_main(capsys, "ask", "-k", "0", "--corpus", corpus, "--index", index,
                            QUESTION)
    assert code == 1 and err.startswith("sanad: ") and "k (-k or SANAD_TOP_K) must be at least 1" in err


@pytest.mark.parametrize("command", ["index", "ask"])
def test_a_missing_corpus_directory_is_a_clear_error(tmp_path, command):
    args = ["--corpus", tmp_path / "no-such-corpus", "--index", tmp_path / "index"]
    done = sanad(command, *args, *([QUESTION] if command == "ask" else []), cwd=tmp_path)
    assert_clean_failure(done, "no-such-corpus", "does not exist")


def test_a_file_where_the_index_should_be_is_a_clear_error(tmp_path):
    blocker = tmp_path / "index"
    blocker.write_text("not a directory")
    done = sanad("ask", "--corpus", CORPUS, "--index", blocker, QUESTION, cwd=tmp_path)
    assert_clean_failure(done, "Cannot open the index", str(blocker))


def test_a_corrupt_index_is_a_clear_error_and_rebuild_repairs_it(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "004_38e6d22ca08bed6e.txt", corpus)
    index = tmp_path / "index"
    index.mkdir()
    damage = b"this is not a database" * 200
    (index / "chroma.sqlite3").write_bytes(damage)
    for args in (["ask", "--corpus", corpus, "--index", index, QUESTION],
                 ["index", "--corpus", corpus, "--index", index]):
        done = sanad(*args, cwd=tmp_path)
        assert_clean_failure(done, "is damaged (file is not a database)", str(index))
        assert "`sanad index --rebuild` sets it aside" in done.stderr
    # --rebuild used to fail the same way, so the only way out was to find and delete the folder
    done = sanad("index", "--rebuild", "--corpus", corpus, "--index", index, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    kept = index / "chroma.sqlite3.damaged"
    assert f"moved it to {kept} and built the index afresh" in done.stderr
    assert kept.read_bytes() == damage  # set aside, not destroyed
    done = sanad("ask", "--corpus", corpus, "--index", index, QUESTION, cwd=tmp_path)
    assert done.returncode == 0 and "[1]" in done.stdout and "004_38e6d22ca08bed6e.txt" in done.stdout


# --- eval ---------------------------------------------------------------------------------------

CASES = [
    {"id": "pct", "question": "كم نسبة المسلمين في كازاخستان؟",
     "sources": ["004_38e6d22ca08bed6e.txt"], "answer_contains": ["70"], "answerable": True},
    {"id": "visit", "question": "متى زار نتنياهو كازاخستان؟",
     "sources": ["002_9164ff34a3d4887d.txt"], "answer_contains": ["2016"], "answerable": True},
    {"id": "wrong", "question": "على أي منصة كتب ترامب عن حفل التوقيع؟",
     "sources": ["001_d91d8e31b179f333.txt"], "answer_contains": ["كلمة لا ترد في أي مقال"],
     "answerable": True},
    {"id": "football", "question": "من فاز بكأس العالم لكرة القدم؟", "sources": [],
     "answer_contains": [], "answerable": False},
]


@pytest.fixture
def cases_file(tmp_path) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in CASES) + "\n\n",
                    encoding="utf-8")
    return path


def test_eval_json_reports_every_metric(indexed, cases_file, capsys):
    corpus, index = indexed
    code, out, _ = run_main(capsys, "eval", cases_file, "--json", "--corpus", corpus, "--index",
                            index)
    assert code == 0
    result = json.loads(out)
    assert EVAL_KEYS <= set(result)
    assert result["n"] == 4
    assert result["answer_accuracy"] == pytest.approx(2 / 3, abs=1e-3)
    assert result["refusal_accuracy"] == 1.0
    assert result["retrieval_hit_at_k"] == 1.0 and 0 < result["mrr"] <= 1
    assert result["citation_precision"] == 1.0 and result["citation_hit"] == 1.0
    assert 0 < result["latency_ms_p50"] <= result["latency_ms_p95"]
    assert [f["id"] for f in result["failures"]] == ["wrong"]
    assert "expected words" in result["failures"][0]["reason"]


def test_eval_table_and_min_answer_accuracy(indexed, cases_file, capsys):
    corpus, index = indexed
    args = ["eval", cases_file, "--corpus", corpus, "--index", index]
    code, out, err = run_main(capsys, *args, "--min-answer-accuracy", "1.01")
    assert code == 1
    assert re.search(r"^answer_accuracy\s+0\.667$", out, re.M)
    assert re.search(r"^failures\s+1$", out, re.M) and "wrong:" in out
    assert "below 1.01" in err
    code, _, _ = run_main(capsys, *args, "--min-answer-accuracy", "0.6")
    assert code == 0


def test_eval_exit_code_in_a_fresh_process(indexed, cases_file, tmp_path):
    corpus, index = indexed
    done = sanad("eval", cases_file, "--json", "--corpus", corpus, "--index", index,
                 "--min-answer-accuracy", "1.01", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert json.loads(done.stdout)["n"] == 4


@pytest.mark.parametrize("content, needle", [
    ('{"id": "a", "question": "سؤال", "answerable": true}\n{"id": "b", "question": \n',
     "cases.jsonl:2 is not valid JSON"),
    ('{"id": "a", "question": "سؤال"}\n', "cases.jsonl:1 needs the keys"),
    ('["not", "an", "object"]\n', "cases.jsonl:1 needs the keys"),
    ('{"id": "a", "question": "س", "answerable": true}\n'
     '{"id": "a", "question": "س", "answerable": true}\n', "repeats the id"),
    ("\n\n", "has no cases"),
    # a string where a list belongs was read letter by letter: "2035 Mars" met by any "2"
    ('{"id": "a", "question": "س", "answerable": true, "answer_contains": "2035 Mars"}\n',
     "cases.jsonl:1: answer_contains must be a list of strings."),
    ('{"id": "a", "question": "س", "answerable": true, "sources": "004.txt"}\n',
     "cases.jsonl:1: sources must be a list of strings."),
    ('{"id": "a", "question": "س", "answerable": "false"}\n',
     "cases.jsonl:1: answerable must be true or false."),
    ('{"id": "a", "question": 123, "answerable": true}\n', "question must be a string"),
    ('{"id": null, "question": "س", "answerable": true}\n', "id must be a string or a number"),
    # a question the assistant refuses used to stop the run without naming its line
    ('{"id": "a", "question": "س", "answerable": true}\n{"id": "b", "question": "  ", '
     '"answerable": true}\n', "cases.jsonl:2: The question is empty"),
    ('{"id": "a", "question": "' + "س" * 2001 + '", "answerable": true}\n',
     "cases.jsonl:1: The question is too long (2001 characters"),
    ('{"id": "a", "question": "س", "answerable": true, "history": ["\\u0007"]}\n',
     "cases.jsonl:1: The question is empty"),
])
def test_a_malformed_jsonl_file_is_a_clear_error(tmp_path, indexed, capsys, content, needle):
    path = tmp_path / "cases.jsonl"
    path.write_text(content, encoding="utf-8")
    corpus, index = indexed
    code, out, err = run_main(capsys, "eval", path, "--corpus", corpus, "--index", index)
    assert code == 1 and out == ""
    assert err.startswith("sanad: ") and needle in err and len(err.strip().splitlines()) == 1


def test_a_qa_file_that_is_not_utf8_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "cases.jsonl"
    path.write_bytes('{"id": "a", "question": "كازاخستان", "answerable": true}\n'.encode("cp1256"))
    code, _, err = run_main(capsys, "eval", path)
    assert code == 1 and "cases.jsonl is not UTF-8 text" in err


@pytest.mark.parametrize("args, needle", [
    (["--squad", "x.json", "--limit", "-1"], "--limit must be 1 or more, not -1."),
    (["cases.jsonl", "--limit", "3"], "--limit goes with --squad only."),
    (["cases.jsonl", "--retrieval", "bm25"], "--retrieval goes with --squad only."),
    (["--squad", "x.json", "--min-answer-accuracy", "0.5"],
     "--min-answer-accuracy goes with a Q&A file, not --squad."),
])
def test_eval_options_that_do_not_apply_are_clear_errors(tmp_path, capsys, args, needle):
    code, _, err = run_main(capsys, "eval", *args)
    assert code == 1 and err.strip() == f"sanad: {needle}"


def test_eval_without_a_file_is_a_clear_error(tmp_path, capsys):
    code, _, err = run_main(capsys, "eval")
    assert code == 1 and "JSONL file" in err
    code, _, err = run_main(capsys, "eval", tmp_path / "missing.jsonl")
    assert code == 1 and "Cannot read" in err

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "f", "question": "ومتى؟", "answerable": True,
                               "history": "من هو رئيس كازاخستان؟"}, ensure_ascii=False),
                   encoding="utf-8")
    code, _, err = run_main(capsys, "eval", bad)
    assert code == 1 and "bad.jsonl:1: history must be a list of earlier questions." in err


def test_eval_asks_the_history_of_a_case_first(indexed, tmp_path, capsys):
    corpus, index = indexed
    path = tmp_path / "conversation.jsonl"
    path.write_text(json.dumps({
        "id": "c1", "history": ["من هو رئيس كازاخستان؟"], "question": "وأين سيلتقي بترامب؟",
        "sources": ["004_38e6d22ca08bed6e.txt"], "answer_contains": ["كلمة لا ترد في أي مقال"],
        "answerable": True}, ensure_ascii=False), encoding="utf-8")
    code, out, _ = run_main(capsys, "eval", path, "--json", "--corpus", corpus, "--index", index)
    assert code == 0
    (failure,) = json.loads(out)["failures"]
    assert failure["query"].startswith("أين سيلتقي بترامب") and "كازاخستان" in failure["query"]


SQUAD = {"version": "test", "data": [
    {"title": "مدن", "paragraphs": [
        {"context": "تقع مدينة أوش في جنوب قرغيزستان، وهي ثاني أكبر مدن البلاد بعد العاصمة "
                    "بيشكيك. ويبلغ عدد سكانها نحو 300 ألف نسمة، ويعود تاريخها إلى أكثر من ثلاثة "
                    "آلاف عام.",
         "qas": [{"id": "s1", "question": "ما ثاني أكبر مدن قرغيزستان؟",
                  "answers": [{"text": "أوش", "answer_start": 9}]}]}]},
    {"title": "أنهار", "paragraphs": [
        {"context": "نهر النيل أطول أنهار قارة أفريقيا، ويمر بإحدى عشرة دولة قبل أن يصب في البحر "
                    "الأبيض المتوسط. ويبلغ طوله نحو 6650 كيلومترا من منابعه إلى مصبه.",
         "qas": [{"id": "s2", "question": "كم يبلغ طول نهر النيل؟",
                  "answers": [{"text": "6650 كيلومترا", "answer_start": 0}]},
                 {"id": "s3", "question": "أين يصب نهر النيل؟",
                  "answers": [{"text": "البحر الأبيض المتوسط", "answer_start": 0}]}]}]},
    {"title": "جامعات", "paragraphs": [
        {"context": "تأسست جامعة القاهرة عام 1908 باسم الجامعة المصرية، وكانت أول جامعة حديثة "
                    "في مصر. وتضم الجامعة اليوم أكثر من عشرين كلية ومعهدا.",
         "qas": [{"id": "s4", "question": "في أي عام تأسست جامعة القاهرة؟",
                  "answers": [{"text": "1908", "answer_start": 0}]}]}]},
]}


def test_eval_squad_reports_retrieval_and_answers(tmp_path, capsys):
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    code, out, err = run_main(capsys, "eval", "--squad", path, "--json",
                              "--retrieval", "hybrid,bm25,vector")
    assert code == 0, err
    result = json.loads(out)
    assert result["paragraphs"] == 3 and result["questions"] == 4
    for key in ("recall_at_1", "recall_at_5", "recall_at_20", "mrr_at_10", "answer_contains"):
        assert 0.0 <= result[key] <= 1.0, key
    assert result["recall_at_1"] >= 0.75 and result["mrr_at_10"] >= 0.75
    assert result["recall_at_5"] == result["recall_at_20"] == 1.0
    assert result["answer_contains"] >= 0.5
    assert set(result["modes"]) == {"hybrid", "bm25", "vector"}
    assert result["modes"]["bm25"]["recall_at_1"] >= 0.75
    assert not (tmp_path / ".sanad").exists()  # a temporary index, not the working one

    code, out, _ = run_main(capsys, "eval", "--squad", path)
    assert code == 0 and "R@5" in out and "hybrid" in out


@pytest.mark.parametrize("data", [
    "{not json",
    json.dumps({"data": []}),
    json.dumps({"data": [{"paragraphs": [{"qas": [{"question": "سؤال", "answers": []}]}]}]}),
    json.dumps({"data": {"title": "not a list"}}),
    json.dumps({"data": [{"paragraphs": [{"context": "نص.", "qas": [{"answers": []}]}]}]}),
])
def test_a_malformed_squad_file_is_a_clear_error(tmp_path, capsys, data):
    path = tmp_path / "squad.json"
    path.write_text(data, encoding="utf-8")
    code, out, err = run_main(capsys, "eval", "--squad", path, "--json")
    assert code == 1 and out == ""
    assert err.startswith("sanad: ") and "squad.json" in err


def test_an_unknown_retrieval_mode_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    code, _, err = run_main(capsys, "eval", "--squad", path, "--retrieval", "hybrid,magic")
    assert code == 1 and "magic" in err


# --- issue 11: version, standard input, a stale index, the eval listing ---------------------------

def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert re.fullmatch(r"sanad \d+\.\d+\.\d+\n", capsys.readouterr().out)


def test_the_question_can_come_from_standard_input(indexed, tmp_path):
    corpus, index = indexed
    question = "متى أقامت كازاخستان علاقات دبلوماسية مع إسرائيل؟\n"
    for args in (("ask", "-"), ("ask",)):
        done = subprocess.run([sys.executable, "-m", "rag.cli", *args, "--corpus", str(corpus),
                               "--index", str(index)], input=question, capture_output=True,
                              text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert done.returncode == 0, done.stderr
        assert "1992" in done.stdout
    done = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "-", "--corpus", str(corpus),
                           "--index", str(index)], input="  \u200b\n", capture_output=True,
                          text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert_clean_failure(done, "empty")


def test_ask_brings_a_stale_index_up_to_date_first(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index = tmp_path / "index"
    assert run_main(capsys, "index", "--corpus", corpus, "--index", index)[0] == 0
    target = corpus / "002_9164ff34a3d4887d.txt"
    target.write_text(target.read_text(encoding="utf-8").replace(
        "بنيامين نتنياهو بزيارة رسمية", "بنيامين نتنياهو بزيارة رسمية ثانية"), encoding="utf-8")
    question = "متى زار نتنياهو كازاخستان للمرة الأولى؟"
    code, out, err = run_main(capsys, "ask", "--corpus", corpus, "--index", index, question)
    assert code == 0 and "updating the index first" in err and "1 changed" in err
    assert "بزيارة رسمية ثانية" in out  # the edited words, quoted and found in the file
    assert "(quote not found in the source)" not in out
    code, out, err = run_main(capsys, "ask", "--corpus", corpus, "--index", index, question)
    assert code == 0 and "updating" not in err  # unchanged now: a stat per file, nothing more
    code, out, err = run_main(capsys, "ask", "--corpus", tmp_path / "nonexistent", "--index",
                              index, question)
    assert code == 1 and "does not exist" in err


def test_plain_eval_lists_each_failure_with_its_question(indexed, tmp_path, capsys):
    corpus, index = indexed
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"id": "x1", "question": "كم يبلغ سعر برميل النفط اليوم؟",
                                 "sources": ["004_38e6d22ca08bed6e.txt"],
                                 "answer_contains": ["دولار"], "answerable": True},
                                ensure_ascii=False) + "\n", encoding="utf-8")
    code, out, _ = run_main(capsys, "eval", cases, "--corpus", corpus, "--index", index)
    assert code == 0
    listing = out.split("failures", 1)[1]
    assert "x1: كم يبلغ سعر برميل النفط اليوم؟" in listing
    assert re.search(r"\n\s+(refused|answer lacks|no expected source)", listing)


# --- the plain chat -----------------------------------------------------------------------------

def test_plain_chat_from_a_pipe_skips_blank_lines_knows_its_commands_and_saves(indexed, tmp_path):
    corpus, index = indexed
    script = "\n".join([
        "كم نسبة المسلمين في كازاخستان؟", "", "/help", "/nope", "   ",
        "ومتى زارها نتنياهو؟",  # a follow-up: the conversation so far is its context
        "/new", "من فاز بكأس العالم لكرة القدم؟", "/quit", "لا يُسأل بعد الخروج"]) + "\n"
    data = tmp_path / "data"
    done = subprocess.run([sys.executable, "-m", "rag.cli", "chat", "--offline", "--corpus",
                           str(corpus), "--index", str(index)], input=script, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "SANAD_DATA_DIR": str(data)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr
    # a blank line used to end the session, and slash commands were asked as questions
    asked = [line for line in done.stdout.splitlines() if line.startswith("> ")]
    assert asked == ["> كم نسبة المسلمين في كازاخستان؟", "> /help", "> /nope",
                     "> ومتى زارها نتنياهو؟", "> /new", "> من فاز بكأس العالم لكرة القدم؟",
                     "> /quit"]
    assert "/new    start a new conversation" in done.stderr
    assert "unknown command /nope; /help lists them." in done.stderr
    assert "2016" in done.stdout and "(searched: " in done.stdout
    assert "بعد الخروج" not in done.stdout
    # saved like the full-screen chat's conversations (nothing was saved before)
    store = ChatStore(data)
    try:
        saved = sorted(store.conversations(str(Path(corpus).resolve())), key=lambda c: c.id)
        assert [c.messages for c in saved] == [2, 1]
        assert [a.question for a in store.answers(saved[0].id)] == [
            "كم نسبة المسلمين في كازاخستان؟", "ومتى زارها نتنياهو؟"]
        assert store.answers(saved[1].id)[0].answered is False
    finally:
        store.close()



def test_plain_chat_exits_1_when_a_question_got_an_error(indexed, tmp_path):
    corpus, index = indexed
    script = "كم نسبة المسلمين في كازاخستان؟\n" + "س" * 2500 + "\n"  # the second is too long
    done = subprocess.run([sys.executable, "-m", "rag.cli", "chat", "--offline", "--corpus",
                           str(corpus), "--index", str(index)], input=script, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT),
                               "SANAD_DATA_DIR": str(tmp_path / "data")},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "70" in done.stdout  # it went on after the error
    assert "The question is too long" in done.stderr
    assert done.stderr.strip().endswith("1 question(s) got an error instead of an answer.")


# --- progress and index output ------------------------------------------------------------------

class _Stream:
    def __init__(self, tty: bool):
        self.tty, self.text = tty, ""

    def isatty(self):
        return self.tty

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def test_progress_escapes_file_names_and_logs_long_work_when_not_on_a_terminal():
    from rag.cli import ProgressBar
    from rag.types import Progress

    screen = _Stream(tty=True)
    ProgressBar(screen)(Progress("embed", 1, 4, "esc\x1b[31mred.txt"))
    assert "\x1b" not in screen.text and "\\x1b[31mred.txt" in screen.text
    # a pipe or a log: silent for short work (it was silent for a 25-minute file too)
    now = [0.0]
    log = _Stream(tty=False)
    bar = ProgressBar(log, clock=lambda: now[0])
    bar(Progress("embed", 1, 100, "a.txt"))
    assert log.text == ""
    now[0] = 11.0
    bar(Progress("embed", 40, 100, "new\nline.txt"))
    now[0] = 12.0
    bar(Progress("embed", 100, 100, "b.txt"))
    assert log.text.splitlines() == ["embed 40/100 (40%) new\\nline.txt", "embed 100/100 (100%) b.txt"]


def test_index_json_stays_utf8_and_an_empty_corpus_is_said(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    code, out, err = run_main(capsys, "index", "--corpus", corpus, "--index", tmp_path / "i")
    assert code == 0 and f"note: {corpus} holds no .txt or .md files to index." in err
    code, out, err = run_main(capsys, "ask", "--corpus", corpus, "--index", tmp_path / "i",
                              "--offline", "كم نسبة المسلمين في كازاخستان؟")
    assert code == 0 and (f"note: The index holds no passages: put .txt or .md files in {corpus} "
                          "and run `sanad index`.") in out
    (corpus / "ok.txt").write_text("أعلنت كازاخستان انضمامها إلى الاتفاقات.\n", encoding="utf-8")
    with open(os.path.join(os.fsencode(corpus), b"bad\xff.txt"), "wb") as f:
        f.write("نص".encode())
    code, out, err = run_main(capsys, "index", "--corpus", corpus, "--index", tmp_path / "i",
                              "--json")
    out.encode("utf-8")  # surrogates here failed to print, or printed bytes that are not UTF-8
    report = json.loads(out)
    assert code == 0 and report["added"] == ["ok.txt"]
    assert [s for s, _ in report["skipped"]] == ["bad\\xff.txt"]
