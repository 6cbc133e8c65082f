"""Settings: a TOML file, the environment on top, strict parsing, the key never shown."""

from __future__ import annotations

import json

import pytest

from scanner_client import exitcodes
from scanner_client.config import ConfigError, load

KEY = "trk_0123abcd_s3cr3t-value-never-printed"


def write(path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_default_file_is_read_from_the_home_and_the_environment_wins(scan_home, monkeypatch):
    write(scan_home / "config.toml", f'server = "http://file:1/"\nkey = "{KEY}"\n'
                                     'step = "arrive"\nstaff = "W1"\n[upload]\nbatch_size = 50\n')
    monkeypatch.setenv("TRACE_SCAN_STEP", "depart")
    s = load()
    assert (s.server, s.step, s.staff, s.upload.batch_size) == ("http://file:1", "depart", "W1", 50)
    assert s.key == KEY and s.queue_path == scan_home / "queue.sqlite3"
    monkeypatch.setenv("TRACE_SCAN_SERVER", "https://env.example")
    assert load().server == "https://env.example"


def test_no_file_is_fine_and_an_explicit_missing_file_is_an_error(scan_home, tmp_path):
    assert load().server is None
    with pytest.raises(ConfigError, match="cannot read .*nope.toml"):
        load(str(tmp_path / "nope.toml"))


@pytest.mark.parametrize("text, message", [
    ("servr = 'http://x'", "unknown setting.*servr"),
    ("[upload]\nbatchsize = 3", "unknown setting.*upload.batchsize"),
    ("[upload]\nbatch_size = 'ten'", "upload.batch_size must be an integer"),
    ("[upload]\nbatch_size = 0", "upload.batch_size must be an integer >= 1"),
    ("[upload]\nevery = true", "upload.every must be a number"),
    ("server = 'ftp://x'", "must be an http:// or https:// URL"),
    ("step = 'fly'", "step must be one of arrive, depart, dispatch, receipt"),
    ("staff = ''", "staff must be 1-40"),
    ("server = = 1", "not valid TOML"),
])
def test_bad_settings_are_refused_with_the_file_and_the_reason(scan_home, text, message):
    write(scan_home / "config.toml", text)
    with pytest.raises(ConfigError, match=message) as exc:
        load()
    assert str(scan_home / "config.toml") in str(exc.value)


def test_the_key_comes_from_a_key_file_and_is_never_shown(scan_home, monkeypatch, tmp_path):
    key_file = write(tmp_path / "device.key", KEY + "\n")
    monkeypatch.setenv("TRACE_SCAN_KEY_FILE", str(key_file))
    s = load()
    assert s.key == KEY and KEY not in repr(s)
    monkeypatch.setenv("TRACE_SCAN_KEY_FILE", str(tmp_path / "missing.key"))
    with pytest.raises(ConfigError, match="TRACE_SCAN_KEY_FILE: cannot read key file") as exc:
        load()
    assert KEY not in str(exc.value)


def test_cli_reports_a_config_error_with_its_exit_code(scan_home, trace_scan, monkeypatch):
    monkeypatch.setenv("TRACE_SCAN_STEP", "teleport")
    r = trace_scan("status")
    assert r.code == exitcodes.CONFIG_ERROR
    assert "TRACE_SCAN_STEP: step must be one of" in r.err


def test_upload_without_a_server_or_key_is_a_config_error(scan_home, trace_scan, monkeypatch):
    r = trace_scan("upload")
    assert r.code == exitcodes.CONFIG_ERROR and "TRACE_SCAN_SERVER" in r.err
    monkeypatch.setenv("TRACE_SCAN_SERVER", "http://127.0.0.1:9")
    r = trace_scan("sync")
    assert r.code == exitcodes.CONFIG_ERROR and "TRACE_SCAN_KEY" in r.err


def test_status_says_whether_a_key_is_set_but_never_prints_it(scan_home, trace_scan, monkeypatch):
    monkeypatch.setenv("TRACE_SCAN_KEY", KEY)
    r = trace_scan("status", "--json")
    assert r.code == 0 and KEY not in r.out + r.err
    assert json.loads(r.out)["device_key"] == "set"
