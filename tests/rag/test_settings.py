"""One frozen settings object: environment first, flags override, bad values refused."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from rag import ConfigError, Settings
from rag import settings as settings_module


def test_defaults_without_environment():
    s = Settings.from_env(env={})
    assert s == Settings()
    assert s.corpus_dir == Path("corpus") and s.index_dir == Path(".sanad")
    assert s.chroma_url is None and s.collection == "sanad"
    assert s.top_k == 5 and s.embedding == "e5-small-q4"
    assert not s.offline and s.fallback and not s.llm_enabled
    assert s.chunk_target == settings_module.DEFAULT_CHUNK_TARGET
    assert s.lock_timeout_s == settings_module.DEFAULT_LOCK_TIMEOUT_S


def test_from_env_reads_every_variable(tmp_path):
    env = {
        "SANAD_CORPUS_DIR": str(tmp_path / "c"), "SANAD_INDEX_DIR": str(tmp_path / "i"),
        "SANAD_CHROMA_URL": "http://127.0.0.1:8123", "SANAD_COLLECTION": "news",
        "SANAD_CHUNK_TARGET": "300", "SANAD_CHUNK_OVERLAP": "40", "SANAD_TOP_K": "8",
        "SANAD_EMBEDDINGS": "text-embedding-3-small", "SANAD_MODEL": "my-model",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-secret-123",
        "SANAD_OFFLINE": "yes", "SANAD_TIMEOUT": "2.5", "SANAD_MAX_RETRIES": "0",
        "SANAD_LOCK_TIMEOUT": "0.5", "SANAD_RTL": " ON ", "SANAD_DATA_DIR": str(tmp_path / "d"),
    }
    s = Settings.from_env(env=env)
    assert s.corpus_dir == tmp_path / "c" and s.index_dir == tmp_path / "i"
    assert s.chroma_url == "http://127.0.0.1:8123" and s.collection == "news"
    assert (s.chunk_target, s.chunk_overlap, s.top_k) == (300, 40, 8)
    assert s.embedding == "text-embedding-3-small" and s.model == "my-model"
    assert s.base_url == "http://127.0.0.1:9/v1" and s.api_key == "sk-secret-123"
    assert s.offline is True and not s.llm_enabled  # offline wins over a configured key
    assert (s.timeout_s, s.max_retries, s.lock_timeout_s) == (2.5, 0, 0.5)
    assert s.rtl == "on" and s.data_dir == tmp_path / "d"
    assert s.resolved_data_dir == tmp_path / "d"


def test_from_env_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("SANAD_TOP_K", "9")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    s = Settings.from_env()
    assert s.top_k == 9 and s.llm_enabled


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("On", True),
                                             ("0", False), ("no", False), ("", False)])
def test_boolean_flags(value, expected):
    assert Settings.from_env(env={"SANAD_OFFLINE": value}).offline is expected


@pytest.mark.parametrize("value", ["maybe", "2", "offline", "ja"])
def test_a_flag_that_is_neither_yes_nor_no_is_refused(value):
    # SANAD_OFFLINE=maybe used to mean "not offline", silently: a key in the environment
    # then sent every question to the model server.
    with pytest.raises(ConfigError, match=f"SANAD_OFFLINE must be one of 1, true.*not '{value}'"):
        Settings.from_env(env={"SANAD_OFFLINE": value})


def test_empty_variables_mean_the_default():
    s = Settings.from_env(env={"SANAD_TOP_K": "", "SANAD_INDEX_DIR": "", "SANAD_CHROMA_URL": "",
                               "OPENAI_API_KEY": "", "SANAD_TIMEOUT": "  "})
    assert s == Settings()


def test_overrides_win_and_none_overrides_are_ignored(tmp_path):
    env = {"SANAD_TOP_K": "8", "SANAD_INDEX_DIR": "/from/env", "SANAD_MODEL": "env-model"}
    s = Settings.from_env(env=env, top_k=3, index_dir=tmp_path, model=None, offline=None)
    assert s.top_k == 3 and s.index_dir == tmp_path
    assert s.model == "env-model" and s.offline is False


@pytest.mark.parametrize("name, value", [
    ("SANAD_TOP_K", "abc"), ("SANAD_TOP_K", "1.5"), ("SANAD_TOP_K", "-1"), ("SANAD_TOP_K", "0"),
    ("SANAD_TOP_K", "nan"), ("SANAD_TOP_K", "inf"), ("SANAD_MAX_RETRIES", "many"),
    ("SANAD_CHUNK_TARGET", "10"), ("SANAD_CHUNK_TARGET", "1e400"),
    ("SANAD_TIMEOUT", "abc"), ("SANAD_TIMEOUT", "nan"), ("SANAD_TIMEOUT", "-1"),
    ("SANAD_LOCK_TIMEOUT", "soon"), ("SANAD_LOCK_TIMEOUT", "-5"),
])
def test_bad_numbers_are_config_errors(name, value):
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env={name: value})
    assert str(info.value).endswith(".")
    assert name in str(info.value)  # the message names what to change


@pytest.mark.parametrize("changes, match", [
    ({"chunk_overlap": 450}, "overlap"),
    ({"chunk_target": 20}, "target"),
    ({"top_k": 0}, r"SANAD_TOP_K\) must be at least 1, not 0"),
    ({"rtl": "sideways"}, "SANAD_RTL"),
    ({"chroma_url": "127.0.0.1:8000"}, "http"),
    ({"chroma_url": "http://"}, "SANAD_CHROMA_URL"),
    # these were taken, and the path, the query or the credentials silently dropped
    ({"chroma_url": "http://127.0.0.1:8000/chroma"}, "a path after the host and port"),
    ({"chroma_url": "http://127.0.0.1:8000?tenant=x"}, "a path after the host and port"),
    ({"chroma_url": "http://admin:pw@127.0.0.1:8000"}, r"password in it would not be sent.*\*\*\*@"),
    ({"chroma_url": "http://127.0.0.1:99999"}, "port is not a number"),
    ({"base_url": "notaurl"}, "OPENAI_BASE_URL"),
    ({"base_url": "ftp://127.0.0.1/v1"}, "OPENAI_BASE_URL"),
    ({"base_url": "127.0.0.1:11434/v1"}, "http:// or https://"),
])
def test_invalid_combinations_are_refused(changes, match):
    with pytest.raises(ConfigError, match=match):
        Settings.from_env(env={}).replace(**changes)
    with pytest.raises(ConfigError, match=match):
        Settings.from_env(env={}, **changes)


@pytest.mark.parametrize("name, reason", [
    ("ab", "3 to 502 characters"),
    ("a" * 503, "3 to 502 characters"),  # room for NAME-sentences within Chroma's 512
    ("my news", "only the letters"),
    ("أخبار", "only the letters"),
    ("-news", "start and end"),
    ("news.", "start and end"),
    ("a..b", "two dots"),
    ("10.0.0.1", "IP address"),
])
def test_a_collection_name_chroma_would_refuse_is_named_with_the_reason(name, reason):
    # It used to reach Chroma and come back as "run `sanad index` to repair it", which
    # could never help.
    with pytest.raises(ConfigError, match=f"SANAD_COLLECTION .*{reason}"):
        Settings.from_env(env={"SANAD_COLLECTION": name})


@pytest.mark.parametrize("name", ["news", "ar_news-2026.v2", "a" * 502, "a.b"])
def test_collection_names_chroma_takes_are_accepted(name, tmp_path):
    settings = Settings.from_env(env={"SANAD_COLLECTION": name, "SANAD_INDEX_DIR": str(tmp_path)})
    assert settings.collection == name


def test_an_accepted_collection_name_is_one_chroma_takes_for_both_collections(tmp_path):
    import chromadb
    from chromadb.errors import InvalidArgumentError

    client = chromadb.PersistentClient(str(tmp_path))
    for name in ("abc", "a.b_c-d", "a" * settings_module.MAX_COLLECTION_NAME):
        assert settings_module.collection_name_problem(name) is None
        client.get_or_create_collection(name)
        client.get_or_create_collection(name + settings_module.SENTENCES_SUFFIX)
    for name in ("ab", "a b", "a..b", "1.2.3.4"):
        assert settings_module.collection_name_problem(name) is not None
        with pytest.raises(InvalidArgumentError):
            client.get_or_create_collection(name)
    too_long = "a" * (settings_module.MAX_COLLECTION_NAME + 1)
    assert settings_module.collection_name_problem(too_long) is not None
    with pytest.raises(InvalidArgumentError):  # its sentences' collection would not fit
        client.get_or_create_collection(too_long + settings_module.SENTENCES_SUFFIX)


def test_a_url_in_an_error_shows_no_password_and_no_key():
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env={"SANAD_CHROMA_URL": "http://admin:s3cretpw@127.0.0.1:8000"})
    assert "s3cretpw" not in str(info.value) and "admin" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env={"OPENAI_BASE_URL": "127.0.0.1:9/v1?key=k3y-material",
                               "OPENAI_API_KEY": "k3y-material"})
    assert "k3y-material" not in str(info.value) and "?key=***" in str(info.value)


def test_the_api_key_never_shows():
    s = Settings.from_env(env={"OPENAI_API_KEY": "sk-very-secret-42"})
    assert s.api_key == "sk-very-secret-42" and s.llm_enabled
    assert "sk-very-secret-42" not in repr(s)
    assert "sk-very-secret-42" not in str(s)
    assert "sk-very-secret-42" not in f"{s!r} {s}"


def test_settings_are_frozen_and_replace_returns_a_new_object():
    s = Settings.from_env(env={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.top_k = 3
    t = s.replace(top_k=3)
    assert (s.top_k, t.top_k) == (5, 3)


def test_llm_is_enabled_by_a_key_or_a_base_url():
    assert Settings.from_env(env={"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}).llm_enabled
    assert Settings.from_env(env={"OPENAI_API_KEY": "k"}).llm_enabled
    assert not Settings.from_env(env={"OPENAI_API_KEY": "k", "SANAD_OFFLINE": "1"}).llm_enabled


def test_exports_go_to_the_data_directory_unless_told_otherwise(tmp_path):
    s = Settings.from_env(env={"SANAD_DATA_DIR": str(tmp_path / "data")})
    assert s.resolved_export_dir == tmp_path / "data" / "exports"
    s = Settings.from_env(env={"SANAD_EXPORT_DIR": str(tmp_path / "out")})
    assert s.resolved_export_dir == tmp_path / "out"


def test_the_model_cache_is_the_users_cache_folder_unless_told_otherwise(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert Settings.from_env(env={}).resolved_cache_dir == tmp_path / "xdg" / "sanad"
    s = Settings.from_env(env={"SANAD_CACHE_DIR": str(tmp_path / "c")})
    assert s.resolved_cache_dir == tmp_path / "c"


class _Recording(dict):
    """An empty environment that remembers every name asked of it."""

    def __init__(self):
        super().__init__()
        self.asked: set[str] = set()

    def get(self, name, default=None):
        self.asked.add(name)
        return super().get(name, default)

    def __contains__(self, name):
        self.asked.add(name)
        return super().__contains__(name)


def test_the_listed_variables_are_the_ones_read_and_the_readme_documents():
    env = _Recording()
    Settings.from_env(env=env)
    assert env.asked == set(settings_module.VARIABLES)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = {name for line in table.splitlines() if line.startswith("| `")
                  for name in re.findall(r"`((?:SANAD|OPENAI)_[A-Z_]+)`", line.split("|")[1])}
    assert documented == set(settings_module.VARIABLES)


def test_a_sanad_variable_sanad_does_not_read_is_named_with_the_one_meant():
    env = {"SANAD_K": "3", "SANAD_EMBEDING": "hashing-ngram-v1", "SANAD_TOP_K": "4",
           "SANAD_SOMETHING_ELSE": "1", "OPENAI_ORG": "x", "HOME": "/root"}
    assert settings_module.unknown_variables(env) == [
        "SANAD_EMBEDING is not a setting sanad reads, so it is ignored (did you mean "
        "SANAD_EMBEDDINGS?); `sanad --help` lists them.",
        "SANAD_K is not a setting sanad reads, so it is ignored (did you mean SANAD_TOP_K?); "
        "`sanad --help` lists them.",
        "SANAD_SOMETHING_ELSE is not a setting sanad reads, so it is ignored; `sanad --help` "
        "lists them.",
    ]
    assert settings_module.unknown_variables({"SANAD_TOP_K": "4", "PATH": "/bin"}) == []
