"""Settings: one default per setting, read from the environment by one typed reader, and the
composition root that builds the store from them."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

import graph_service
from graph_service.bootstrap import open_store
from graph_service.ports import StoreError
from graph_service.service_layer.settings import Config, Settings, SettingsError


def test_an_empty_environment_gives_the_same_settings_as_code() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings().refresh_interval == 0.1


def test_every_variable_is_read() -> None:
    env = {
        "GRAPH_SERVICE_STORE": "bolt://db:7687",
        "GRAPH_SERVICE_TZ": "Europe/Paris",
        "GRAPH_SERVICE_JWT_SECRET": "s3cret",
        "GRAPH_SERVICE_PUBLIC_READ": "no",
        "GRAPH_SERVICE_BATCH_SIZE": "50",
        "GRAPH_SERVICE_REFRESH_INTERVAL": "2.5",
        "GRAPH_SERVICE_CORS_ORIGINS": "https://a.example",
        "NEO4J_USER": "reader",
        "NEO4J_PASSWORD": "pw",
        "NEO4J_DATABASE": "network",
    }
    assert Settings.from_env(env) == Settings(
        store_url="bolt://db:7687",
        time_zone="Europe/Paris",
        jwt_secret="s3cret",
        public_read=False,
        batch_size=50,
        refresh_interval=2.5,
        cors_origins=("https://a.example",),
        neo4j_user="reader",
        neo4j_password="pw",
        neo4j_database="network",
    )
    assert Settings.from_env(env, store_url="sqlite:///x.db").store_url == "sqlite:///x.db"
    read, default = Settings.from_env(env), Settings()
    unread = [
        f.name for f in dataclasses.fields(Settings) if getattr(read, f.name) == getattr(default, f.name)
    ]
    assert unread == [], "every setting is read from a variable (the test's environment sets them all)"


def test_only_the_settings_module_reads_the_environment() -> None:
    package = Path(graph_service.__file__).parent
    readers = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = (
                node.attr
                if isinstance(node, ast.Attribute)
                else node.id
                if isinstance(node, ast.Name)
                else ""
            )
            if name in {"environ", "getenv", "environb", "getenvb"}:
                readers.append(f"{path.relative_to(package)}:{node.lineno}")
    assert {reader.split(":")[0] for reader in readers} <= {"service_layer/settings.py"}, readers


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GRAPH_SERVICE_TZ", "Mars/Olympus"),
        ("GRAPH_SERVICE_PUBLIC_READ", "maybe"),
        ("GRAPH_SERVICE_BATCH_SIZE", "0"),
        ("GRAPH_SERVICE_BATCH_SIZE", "ten"),
        ("GRAPH_SERVICE_REFRESH_INTERVAL", "61"),
        ("GRAPH_SERVICE_CORS_ORIGINS", "example.org"),
    ],
)
def test_a_bad_value_is_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name} .*{value}"):
        Settings.from_env({name: value})


def test_config_casts_and_defaults() -> None:
    config = Config({"N": "7", "EMPTY": ""})
    assert config("N", cast=int, default=1) == 7
    assert config("EMPTY", cast=int, default=1) == 1
    assert config("MISSING", default="x") == "x"
    with pytest.raises(SettingsError, match="N"):
        Config({"N": "seven"})("N", cast=int, default=1)


def test_the_composition_root_rejects_an_unknown_store_url() -> None:
    with pytest.raises(StoreError, match="unsupported store URL"):
        open_store(Settings(store_url="postgres://db"))


def test_the_composition_root_passes_neo4j_credentials() -> None:
    store = open_store(Settings(store_url="bolt://127.0.0.1:9", neo4j_user="u", neo4j_password="p"))
    try:
        assert store._transactions.user == "u" and store._transactions.has_password  # type: ignore[attr-defined]
    finally:
        store.close()


def test_cors_origins_setting() -> None:
    env = {"GRAPH_SERVICE_CORS_ORIGINS": " https://a.example , http://localhost:8080/ "}
    assert Settings.from_env(env).cors_origins == ("https://a.example", "http://localhost:8080")
    assert Settings.from_env({}).cors_origins == ()
    assert Settings.from_env({"GRAPH_SERVICE_CORS_ORIGINS": "*"}).cors_origins == ("*",)
    for bad in ("a.example", "https://a.example/path", "ftp://a.example"):
        with pytest.raises(SettingsError, match="GRAPH_SERVICE_CORS_ORIGINS"):
            Settings.from_env({"GRAPH_SERVICE_CORS_ORIGINS": bad})
