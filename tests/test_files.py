"""What skvae writes: never over its inputs, never half a file, never a replaced link."""

import os
import stat
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pandas as pd
import pytest

import skvae
from skvae import VAETransformer
from skvae._files import OutputError, check_distinct, write_file
from skvae.cli import main

FAST = ["--max-iter", "2", "--quiet"]


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "data.csv"
    rng = np.random.RandomState(0)
    pd.DataFrame(rng.normal(size=(40, 4)), columns=list("abcd")).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model():
    X = np.random.RandomState(0).normal(size=(40, 4))
    return VAETransformer(max_iter=2, hidden_layer_sizes=(8,), random_state=0).fit(X)


# ------------------------------------------------------------ outputs vs inputs


@pytest.mark.parametrize(
    "options",
    [
        lambda t, m: ["-o", str(t)],
        lambda t, m: ["--save-model", str(t)],
        lambda t, m: ["-o", str(t.parent / "link.csv")],  # a link to the input
        lambda t, m: ["-o", str(t.parent / "same.csv"), "--save-model", str(t.parent / "same.csv")],
        lambda t, m: ["--model", str(m), "-o", str(m)],
    ],
)
def test_the_cli_refuses_outputs_that_are_inputs_before_any_fit(table, options, capsys):
    (table.parent / "link.csv").symlink_to(table)
    saved = table.parent / "model.safetensors"
    assert main(["reduce", str(table), "--save-model", str(saved), *FAST]) == 0
    before = {p: p.read_bytes() for p in (table, saved)}
    capsys.readouterr()
    argv = ["reduce", str(table), *options(table, saved), *FAST]
    if "--model" in argv:
        argv.remove(str(table))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error:" in err and ("same file" in err or "both name" in err), err
    assert len(err.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in before} == before
    assert not (table.parent / "same.csv").exists()


def test_check_distinct_compares_resolved_paths(tmp_path):
    a = tmp_path / "a.csv"
    a.write_text("x\n1\n")
    with pytest.raises(ValueError, match="same file"):
        check_distinct({"the input": a}, {"--output": tmp_path / "sub" / ".." / "a.csv"})
    check_distinct({"the input": a}, {"--output": tmp_path / "b.csv", "--plot": None})


def test_a_loaded_model_is_saved_again_with_save_model(table, tmp_path):
    first, copy = tmp_path / "m.safetensors", tmp_path / "copy.safetensors"
    assert main(["reduce", str(table), "--save-model", str(first), *FAST]) == 0
    out = tmp_path / "codes.csv"
    assert main(["reduce", str(table), "--model", str(first), "--save-model", str(copy),
                 "-o", str(out), *FAST]) == 0
    X = pd.read_csv(table)
    np.testing.assert_array_equal(
        skvae.load(copy).transform(X), skvae.load(first).transform(X)
    )


# --------------------------------------------------------------- how files are written


def test_a_link_is_followed_and_kept(tmp_path, model):
    target = tmp_path / "real.safetensors"
    link = tmp_path / "link.safetensors"
    target.write_bytes(b"old")
    link.symlink_to(target)
    skvae.save(model, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert skvae.load(target).n_features_in_ == 4


def test_an_existing_file_keeps_its_mode_and_a_new_one_gets_the_umasks(tmp_path, model):
    old = tmp_path / "old.safetensors"
    old.write_bytes(b"old")
    old.chmod(0o640)
    skvae.save(model, old)
    assert stat.S_IMODE(old.stat().st_mode) == 0o640
    mask = os.umask(0o027)
    try:
        skvae.save(model, tmp_path / "new.safetensors")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "new.safetensors").stat().st_mode) == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_a_named_pipe_is_written_in_place(tmp_path, table):
    fifo = tmp_path / "codes.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    assert main(["reduce", str(table), "-o", str(fifo), *FAST]) == 0
    reader.join(timeout=30)
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # not replaced by a regular file
    frame = pd.read_csv(__import__("io").BytesIO(received[0]))
    assert frame.shape == (40, 2)


def test_the_null_device_is_written_in_place(model):
    before = os.stat(os.devnull)
    skvae.save(model, os.devnull)
    after = os.stat(os.devnull)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


def test_a_failing_writer_leaves_the_previous_file_intact(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_bytes(b"previous,contents\n1,2\n")

    def half(handle):
        handle.write(b"half a row,")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="No space left.*previous file is unchanged"):
        write_file(path, half)
    assert path.read_bytes() == b"previous,contents\n1,2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["codes.csv"]


@pytest.mark.slow  # a command-line run per case: CI's full run has them
@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE as on Linux")
@pytest.mark.parametrize("what", ["model", "csv", "plot"])
def test_a_file_size_limit_fails_cleanly_and_keeps_the_previous_file(tmp_path, table, what):
    # RLIMIT_FSIZE as a full disk would: the write fails part-way
    previous = tmp_path / {"model": "m.safetensors", "csv": "codes.csv", "plot": "p.png"}[what]
    previous.write_bytes(b"the previous file")
    option = {"model": "--save-model", "csv": "-o", "plot": "--plot"}[what]
    script = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))
        from skvae.cli import main
        sys.exit(main(["reduce", {str(table)!r}, {option!r}, {str(previous)!r},
                       "--max-iter", "2", "--quiet"]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "could not write" in lines[0] and "unchanged" in lines[0], lines
    assert previous.read_bytes() == b"the previous file"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["data.csv", previous.name])


def test_dash_is_standard_output(table, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["reduce", str(table), "-o", "-", *FAST]) == 0
    assert capsys.readouterr().out.startswith("vaetransformer0,vaetransformer1")
    assert not (tmp_path / "-").exists()


def test_inputs_spelled_as_pandas_reads_them_are_recognised(table, tmp_path, monkeypatch, capsys):
    # pandas expands ~ and reads file:// addresses: the check must too
    monkeypatch.setenv("HOME", str(tmp_path))
    before = table.read_bytes()
    for spelling in ("~/data.csv", f"file://{table}"):
        assert main(["reduce", spelling, "-o", str(table), *FAST]) == 2
        assert "same file" in capsys.readouterr().err
    assert table.read_bytes() == before
    # '-' is standard output for -o only
    assert main(["reduce", str(table), "--save-model", "-", *FAST]) == 2
    assert "for -o only" in capsys.readouterr().err
