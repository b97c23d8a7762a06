"""Config: each TOML table into its typed dataclass; every mistake names file, table, key, line."""

from __future__ import annotations

import pytest

from relay.config import (
    DESTINATION_CONFIGS,
    FileConfig,
    StdoutConfig,
    SubscribersConfig,
    loads,
)
from relay.config.rewrites import SetRule
from relay.destinations import KINDS, destination_class
from relay.errors import ConfigError
from relay.facts.names import DEFAULT_TEMPLATE

HEAD = '[[source]]\nname = "s"\nlisten = "udp://127.0.0.1:0"\n'
DEST = HEAD + '[[destination]]\nname = "d"\n'


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as exc:
        loads(text, "c.toml")
    return str(exc.value)


def test_every_destination_type_has_a_config_and_a_class() -> None:
    assert set(DESTINATION_CONFIGS) == set(KINDS)
    for kind in KINDS:
        assert destination_class(kind).__name__.lower().startswith(kind)


def test_defaults_are_the_dataclass_defaults() -> None:
    config = loads(DEST + 'type = "file"\npath = "x"\n'
                   '[[destination]]\nname = "o"\ntype = "stdout"\n'
                   '[[destination]]\nname = "l"\ntype = "subscribers"\n'
                   'listen = "tcp://127.0.0.1:0"\n')
    file, out, live = config.destinations
    assert file == FileConfig(name="d", type="file", path="x")
    assert file.template == DEFAULT_TEMPLATE and file.queue_bytes == 16 << 20
    assert out == StdoutConfig(name="o", type="stdout")
    assert isinstance(live, SubscribersConfig)
    assert (live.buffer_bytes, live.stall_timeout, live.max_clients) == (4 << 20, 30.0, 256)


def test_rotate_is_typed() -> None:
    config = loads(DEST + 'type = "file"\npath = "x"\n'
                   'rotate = { max_bytes = "1MiB", keep = 2, compress = "none" }\n')
    file = config.destinations[0]
    assert isinstance(file, FileConfig) and file.rotate is not None
    assert (file.rotate.max_bytes, file.rotate.keep, file.rotate.compress) == (1 << 20, 2, "")


@pytest.mark.parametrize("body,needle", [
    ('type = "file"\npath = "x"\nfrob = 1\n',
     "line 8: [[destination]] #1 key 'frob' is not a known key"),
    ('type = "file"\n', "key 'path' is required for a file destination"),
    ('type = "stdout"\npath = "x"\n', "line 7: [[destination]] #1 key 'path' does not apply to a "
     "stdout destination"),
    ('type = "stdout"\nrotate = { keep = 1 }\n', "key 'rotate' does not apply"),
    ('type = "program"\n', "key 'command' is required for a program destination"),
    ('type = "file"\npath = "x"\nflush_interval = 1\n', "line 8: [[destination]] #1 key "
     "'flush_interval' must be more than 0 and at most 0.1 seconds"),
    ('type = "subscribers"\nlisten = "tcp://1.2.3.4:1"\nallow = ["nope"]\n',
     "line 8: [[destination]] #1 key 'allow' 'nope' does not appear to be an IPv4 or IPv6"),
    ('type = "subscribers"\nlisten = "udp://1.2.3.4:1"\n', "subscribers listen on tcp://"),
    ('type = "file"\npath = "x"\nrotate = { keep = 0 }\n', "line 8: [[destination.rotate]] #1 "
     "key 'keep' must be at least 1"),
    ('type = "file"\npath = "x"\nrotate = { compress = "xz" }\n', 'must be "gzip" or "none"'),
    ('type = "file"\npath = "x"\nrotate = { foo = 1 }\n', "key 'foo' is not a known key"),
    ('type = "nope"\n', "key 'type' must be one of file, subscribers, stdout, pipe, program"),
    ('type = "file"\npath = "x"\nqueue_bytes = "lots"\n', "line 8: [[destination]] #1 key "
     "'queue_bytes' expected a size such as 100MiB, not 'lots'"),
    ('type = "file"\npath = 3\n', "key 'path' must be a string, not an integer"),
])
def test_destination_errors(body: str, needle: str) -> None:
    message = _error(DEST + body)
    assert message.startswith("c.toml") and needle in message


def test_bounds_once_taken_by_every_type_still_load_and_are_checked() -> None:
    loads(DEST + 'type = "file"\npath = "x"\nmax_clients = 3\nbuffer_bytes = "1MiB"\n'
          'allow = ["10.0.0.0/8"]\nstall_timeout = 3\n')
    loads(DEST + 'type = "subscribers"\nlisten = "tcp://127.0.0.1:0"\nqueue_bytes = "1MiB"\n'
          'flush_interval = 0.05\n')
    assert "'allow'" in _error(DEST + 'type = "file"\npath = "x"\nallow = ["nope"]\n')


def test_rewrites_are_typed() -> None:
    config = loads(HEAD + '[[rewrite]]\nname = "r"\nset = { template = "x" }\n'
                   '[[rewrite]]\nname = "t"\nsubst = { pattern = "a", replacement = "b", '
                   'flags = ["global"] }\ncondition = "level(err)"\n')
    r, t = config.rewrites
    assert r.args == SetRule(template="x") and r.line == 6
    assert r.spec == {"set": {"template": "x", "value": "MESSAGE"}}
    assert t.spec == {"subst": {"pattern": "a", "replacement": "b", "value": "MESSAGE",
                                "type": "pcre", "flags": ["global"]},
                      "condition": "level(err)"}


@pytest.mark.parametrize("body,needle", [
    ("", "line 4: [[rewrite]] #1 needs a rule"),
    ('set_tag = "a"\nfoo = 1\n', "line 7: [[rewrite]] #1 key 'foo' is not a known key"),
    ('set_tag = "a"\nclear_tag = "b"\n', "line 7: [[rewrite]] #1 key 'clear_tag' is a second rule"),
    ('set = { value = "x" }\n', "line 6: [[rewrite.set]] #1 key 'template' is required"),
    ('set = "x"\n', "line 6: [[rewrite]] #1 key 'set' must be a table, not a string"),
    ('subst = { pattern = "a", replacement = "b", flags = "global" }\n',
     "key 'flags' must be a list of strings"),
    ('unset = { value = "x", bogus = 1 }\n', "[[rewrite.unset]] #1 key 'bogus' is not a known"),
])
def test_rewrite_errors(body: str, needle: str) -> None:
    message = _error(HEAD + '[[rewrite]]\nname = "r"\n' + body)
    assert needle in message


def test_a_rewrite_that_does_not_compile_names_its_line() -> None:
    from relay.assemble import check

    config = loads(HEAD + '[[rewrite]]\nname = "r"\nunset = { value = "$(x)" }\n', "c.toml")
    with pytest.raises(ConfigError, match=r"c.toml, line 6: \[\[rewrite\]\] 'r'"):
        check(config)


def test_when_full_and_file_modes_are_typed() -> None:
    config = loads(DEST + 'type = "file"\npath = "x"\nwhen_full = "drop"\nfile_mode = "0600"\n'
                   'create_dirs = true\ndir_mode = 0o700\n'
                   '[[destination]]\nname = "p"\ntype = "program"\ncommand = "cat"\n')
    file, program = config.destinations
    assert isinstance(file, FileConfig)
    assert (file.when_full, file.file_mode, file.create_dirs, file.dir_mode) == (
        "drop", 0o600, True, 0o700)
    assert program.when_full == "block"  # type: ignore[attr-defined]
    assert FileConfig(name="d", type="file", path="x").file_mode == 0o640


@pytest.mark.parametrize(("body", "needle"), [
    ('type = "file"\npath = "x"\nwhen_full = "drop_newest"\n',
     "line 8: [[destination]] #1 key 'when_full' must be \"block\" or \"drop\""),
    ('type = "file"\npath = "x"\nfile_mode = 640\n', "key 'file_mode' expected an octal mode"),
    ('type = "file"\npath = "x"\nfile_mode = "rw-r-----"\n', "key 'file_mode' expected"),
    ('type = "stdout"\nwhen_full = "drop"\n', "'when_full' does not apply to a stdout"),
    ('type = "pipe"\npath = "x"\nfile_mode = "0640"\n', "'file_mode' does not apply to a pipe"),
])
def test_when_full_and_mode_errors(body: str, needle: str) -> None:
    assert needle in _error(DEST + body)
