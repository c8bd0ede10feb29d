"""`sanad history`: saved conversations listed, searched, shown, exported, renamed, deleted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from rag_conftest import saved_answer

from rag.cli import main
from rag.conversations import ChatStore


@pytest.fixture
def saved(tmp_path) -> dict[str, int]:
    store = ChatStore(Path(os.environ["SANAD_DATA_DIR"]))
    kazakh = store.create("متى أقامت كازاخستان علاقاتها مع إسرائيل؟", "/corpus/a")
    store.add(kazakh, saved_answer("متى أقامت كازاخستان علاقاتها مع إسرائيل؟"))
    store.add(kazakh, saved_answer("وما نسبة المسلمين فيها؟", "نسبة المسلمين في كازاخستان"))
    weather = store.create("weather tomorrow", "/corpus/b")
    store.add(weather, saved_answer("weather tomorrow", text="The articles do not say."))
    store.create("never asked", "/corpus/a")  # empty: not listed
    store.close()
    return {"kazakh": kazakh, "weather": weather}


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(["history", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_newest_first_and_as_json(saved, capsys):
    code, out, _ = run(capsys)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"#{saved['weather']} ")
    assert "2 questions" in lines[1] and "كازاخستان" in lines[1]
    code, out, _ = run(capsys, "--json")
    listed = json.loads(out)
    assert [c["id"] for c in listed] == [saved["weather"], saved["kazakh"]]
    assert listed[1]["questions"] == 2 and listed[1]["corpus"] == "/corpus/a"


def test_search_by_words_of_questions_and_answers(saved, capsys):
    _, out, _ = run(capsys, "--search", "نسبه المسلمين", "--json")  # ة/ه do not decide
    assert [c["id"] for c in json.loads(out)] == [saved["kazakh"]]
    _, out, _ = run(capsys, "--search", "do not say", "--json")
    assert [c["id"] for c in json.loads(out)] == [saved["weather"]]
    code, out, err = run(capsys, "--search", "غير موجود")
    assert code == 0 and out == "" and "No saved conversation holding" in err


def test_a_search_for_marks_alone_matches_them_as_typed(saved, capsys):
    # "_", "%" or "?" normalise to nothing, and every conversation used to match.
    code, out, _ = run(capsys, "--search", "_", "--json")
    assert code == 0 and json.loads(out) == []
    _, out, _ = run(capsys, "--search", "؟", "--json")  # the Arabic question mark, in the titles
    assert [c["id"] for c in json.loads(out)] == [saved["kazakh"]]


def test_list_at_most_n(saved, capsys):
    _, out, _ = run(capsys, "-n", "1", "--json")
    assert [c["id"] for c in json.loads(out)] == [saved["weather"]]
    _, out, _ = run(capsys, "-n", "0", "--json")
    assert len(json.loads(out)) == 2
    with pytest.raises(SystemExit) as info:  # a negative count listed everything
        run(capsys, "-n", "-5")
    assert info.value.code == 2 and "must be 0 (all) or more, not -5" in capsys.readouterr().err


def test_show_prints_questions_answers_and_numbered_sources(saved, capsys):
    code, out, _ = run(capsys, "show", str(saved["kazakh"]))
    assert code == 0
    assert "## 1. متى أقامت" in out and "## 2. وما نسبة المسلمين فيها؟" in out
    assert "(searched: نسبة المسلمين في كازاخستان)" in out
    assert out.count("\n[1] 004_38e6d22ca08bed6e.txt ") == 2
    assert "(quote not found in the source)" in out
    _, out, _ = run(capsys, "show", str(saved["kazakh"]), "--json")
    shown = json.loads(out)
    assert [a["question"] for a in shown["answers"]][1] == "وما نسبة المسلمين فيها؟"
    assert shown["answers"][0]["citations"][1]["passage"] == 2


def test_export_to_the_export_folder_a_file_or_stdout(saved, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SANAD_EXPORT_DIR", str(tmp_path / "exports"))
    code, out, _ = run(capsys, "export", str(saved["kazakh"]))
    path = Path(out.strip().removeprefix(f"Exported conversation #{saved['kazakh']} to ")
                .rstrip("."))
    assert code == 0 and path.parent == tmp_path / "exports" and path.suffix == ".md"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# متى أقامت كازاخستان") and "**Sources**" in text
    code, out, _ = run(capsys, "export", str(saved["kazakh"]), "-o", str(tmp_path / "c.md"))
    again = (tmp_path / "c.md").read_text(encoding="utf-8")
    assert code == 0 and again.splitlines()[3:] == text.splitlines()[3:]  # all but the date
    code, out, _ = run(capsys, "export", str(saved["weather"]), "-o", "-")
    assert out.startswith("# weather tomorrow") and "The articles do not say." in out


def test_export_does_not_replace_a_file_unless_told(saved, capsys, tmp_path):
    target = tmp_path / "notes.md"
    target.write_text("my own notes", encoding="utf-8")
    code, out, err = run(capsys, "export", str(saved["weather"]), "-o", str(target))
    assert code == 1 and out == "" and "exists already; add --yes to replace it" in err
    assert target.read_text(encoding="utf-8") == "my own notes"
    code, _, _ = run(capsys, "export", str(saved["weather"]), "-o", str(target), "--yes")
    assert code == 0 and target.read_text(encoding="utf-8").startswith("# weather tomorrow")
    code, _, err = run(capsys, "export", str(saved["weather"]), "-o", str(tmp_path), "--yes")
    assert code == 1 and "is a folder" in err


def test_rename_and_delete(saved, capsys):
    code, out, _ = run(capsys, "rename", str(saved["weather"]), "طقس الغد")
    assert code == 0 and "طقس الغد" in out
    _, out, _ = run(capsys, "--json")
    assert json.loads(out)[0]["title"] == "طقس الغد"
    code, _, err = run(capsys, "delete", str(saved["weather"]))
    assert code == 1 and "--yes" in err  # nothing is deleted without it
    code, _, _ = run(capsys, "delete", str(saved["weather"]), "--yes")
    _, out, _ = run(capsys, "--json")
    assert code == 0 and [c["id"] for c in json.loads(out)] == [saved["kazakh"]]


@pytest.mark.parametrize("args, needle", [
    (["show"], "Give the conversation's number"),
    (["show", "999"], "no saved conversation #999"),
    (["rename", "1", "  "], "title cannot be empty"),
    # options an action does not read were silently ignored
    (["list", "5"], "`sanad history list` does not take a conversation number"),
    (["show", "1", "--search", "x"], "`sanad history show` does not take --search"),
    (["delete", "1", "extra"], "`sanad history delete` does not take a title"),
    (["export", "1", "--json", "-n", "3"], "`sanad history export` does not take -n, --json"),
])
def test_bad_input_is_one_clear_sentence(saved, capsys, args, needle):
    code, out, err = run(capsys, *args)
    assert code == 1 and out == "" and needle in err and "Traceback" not in err


def test_no_saved_conversations_at_all(capsys):
    code, out, err = run(capsys)
    assert code == 0 and out == "" and "No saved conversation." in err
    code, out, err = run(capsys, "show", "1")
    assert code == 1 and "no saved conversation #1" in err
    assert not (Path(os.environ["SANAD_DATA_DIR"]) / "chat.sqlite3").exists()  # nothing created


def test_a_conversation_open_in_a_running_chat_is_not_deleted(saved, capsys):
    import subprocess
    import sys

    from test_conversations import HOLD

    data = os.environ["SANAD_DATA_DIR"]
    chat = subprocess.Popen([sys.executable, "-c", HOLD, data, str(saved["kazakh"])],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert chat.stdout.readline().strip() == "held"
        code, _, err = run(capsys, "delete", str(saved["kazakh"]), "--yes")
        assert code == 1 and f"is open in a running chat (process {chat.pid})" in err
    finally:
        chat.kill()
        chat.wait()
    code, _, _ = run(capsys, "delete", str(saved["kazakh"]), "--yes")
    assert code == 0 and ChatStore(Path(data)).get(saved["kazakh"]) is None


def test_a_damaged_history_file_is_one_sentence(capsys):
    path = Path(os.environ["SANAD_DATA_DIR"]) / "chat.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a database " * 100)
    for args in ([], ["show", "1"], ["--search", "x"]):
        code, out, err = run(capsys, *args)
        assert code == 1 and out == "" and "Traceback" not in err
        assert err.strip() == (f"sanad: The saved conversations in {path} cannot be read (file "
                               "is not a database); move that file away to start afresh.")
