"""The ``skvae`` command line."""

import io

import numpy as np
import pandas as pd
import pytest

from skvae import AutoregressivePrior, DiffusionPrior
from skvae.cli import main

FAST = ["--max-iter", "2", "--quiet"]


def test_reduce_csv_to_output_file(tmp_path):
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.normal(size=(50, 4)), columns=list("abcd"))
    src, out = tmp_path / "in.csv", tmp_path / "codes.csv"
    frame.to_csv(src, index=False)
    assert main(["reduce", str(src), "-n", "3", "--output", str(out), *FAST]) == 0
    codes = pd.read_csv(out)
    assert codes.shape == (50, 3)
    assert np.isfinite(codes.to_numpy()).all()


def test_reduce_builtin_digits_to_stdout(capsys):
    assert main(["reduce", "--max-iter", "1"]) == 0
    captured = capsys.readouterr()
    codes = pd.read_csv(io.StringIO(captured.out))
    assert codes.shape == (1797, 2)  # stdout holds only the CSV
    assert "digits" in captured.err  # progress goes to stderr


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        ("a,b\n1,\n3,\n", "no value at all (b)"),
        ("a,b\n1,2\n", "at least 2 are needed"),
    ],
)
def test_reduce_bad_input_is_one_line_error(tmp_path, capsys, content, message):
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_text(content)
    assert main(["reduce", str(path), *FAST]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_reduce_can_drop_non_numeric_columns(tmp_path, capsys):
    path = tmp_path / "data.csv"
    rows = "\n".join(f"{i},{i * 2 % 7},{'xy'[i % 2]}" for i in range(20))
    path.write_text("a,b,label\n" + rows + "\n")
    assert main(["reduce", str(path), "--drop-non-numeric", *FAST]) == 0
    assert pd.read_csv(io.StringIO(capsys.readouterr().out)).shape == (20, 2)


def test_cuda_request_without_gpu_is_one_line_error(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["reduce", "--device", "cuda", *FAST]) == 2
    assert "sees no CUDA GPU" in capsys.readouterr().err


def test_cluster_csv_writes_label_and_probability(tmp_path):
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(
        np.vstack([rng.normal(-4, 1, size=(30, 3)), rng.normal(4, 1, size=(30, 3))]),
        columns=list("abc"),
    )
    src, out = tmp_path / "in.csv", tmp_path / "labels.csv"
    frame.to_csv(src, index=False)
    args = ["cluster", str(src), "--n-clusters", "2", "-o", str(out), "--max-iter", "3", "-q"]
    assert main(args) == 0
    labels = pd.read_csv(out)
    assert list(labels.columns) == ["cluster", "probability"]
    assert labels.shape == (60, 2)
    assert set(labels["cluster"]) <= {0, 1}
    assert labels["probability"].between(0.5, 1.0).all()  # the argmax of 2 clusters


def test_cluster_builtin_digits_to_stdout(capsys):
    assert main(["cluster", "-k", "10", "--max-iter", "1"]) == 0
    captured = capsys.readouterr()
    labels = pd.read_csv(io.StringIO(captured.out))
    assert labels.shape == (1797, 2)
    assert "GMVAE with 10 clusters" in captured.err


def test_cluster_bad_input_is_one_line_error(tmp_path, capsys):
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n3,x\n5,\n")
    assert main(["cluster", str(path), "--column-types", "count=b", *FAST]) == 2
    err = capsys.readouterr().err
    assert "'b' of X is count but holds 'x'" in err and err.count("\n") == 1


def test_text_columns_and_empty_cells_are_modelled_and_reported(tmp_path, capsys):
    rng = np.random.RandomState(0)
    frame = pd.DataFrame({
        "size": rng.normal(size=40),
        "colour": rng.choice(["red", "blue"], 40),
        "visits": rng.poisson(3, 40),
    })
    frame.loc[[3, 7], "size"] = np.nan
    frame.loc[5, "colour"] = None
    frame.loc[9, "visits"] = None  # the file then writes the column as 3.0, 5.0, ...
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    talk = ["--max-iter", "2"]  # not --quiet: the types are reported on stderr
    assert main(["reduce", str(path), "--column-types", "ordinal=visits", *talk]) == 0
    captured = capsys.readouterr()
    assert pd.read_csv(io.StringIO(captured.out)).shape == (40, 2)
    assert "size: real" in captured.err and "visits: ordinal" in captured.err
    assert "colour: nominal (2 categories: blue, red)" in captured.err
    out = tmp_path / "filled.csv"
    assert main(["impute", str(path), "-o", str(out), *talk]) == 0
    filled = pd.read_csv(out)
    assert filled.shape == frame.shape and not filled.isna().any().any()
    # an integer column with empty cells is written back as integers, not 3.0
    assert out.read_text().splitlines()[1].split(",")[2] == str(int(frame["visits"][0]))
    observed = frame.notna()
    assert (filled["size"][observed["size"]] == frame["size"][observed["size"]]).all()
    assert set(filled["colour"]) <= {"red", "blue"}
    assert "Filled in 4 missing entries" in capsys.readouterr().err


def test_a_saved_table_model_reads_new_categories_as_told(tmp_path, capsys):
    rng = np.random.RandomState(0)
    frame = pd.DataFrame({"size": rng.normal(size=40), "colour": rng.choice(["red", "blue"], 40)})
    path, model = tmp_path / "table.csv", tmp_path / "m.safetensors"
    frame.to_csv(path, index=False)
    assert main(["reduce", str(path), *FAST, "--save-model", str(model), "-o",
                 str(tmp_path / "codes.csv")]) == 0
    frame.loc[0, "colour"] = "green"
    frame.to_csv(path, index=False)
    argv = ["reduce", str(path), "-q", "--model", str(model)]
    assert main([*argv, "--handle-unknown", "error"]) == 2
    err = capsys.readouterr().err
    assert "'green'" in err and "Pass --handle-unknown missing" in err
    # by default: read as an empty cell, said in one line
    out = tmp_path / "new.csv"
    assert main([*argv, "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("skvae reduce: warning: Column 'colour'") and err.count("\n") == 1
    assert "Pass --handle-unknown missing" in err and "handle_unknown=" not in err
    assert pd.read_csv(out).notna().all().all()
    assert main([*argv, "--handle-unknown", "missing", "-o", str(out)]) == 0
    assert capsys.readouterr().err == ""
    # outliers reads the rows twice (scores and flags): said once
    assert main(["outliers", str(path), *FAST, "--save-model", str(model)]) == 0
    frame.loc[1, "colour"] = "violet"  # green is known to this model
    frame.to_csv(path, index=False)
    assert main(["outliers", str(path), "-q", "--model", str(model)]) == 0
    assert capsys.readouterr().err.count("warning:") == 1


def test_non_positive_counts_are_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["cluster", "--n-clusters", "0"])
    assert exit_info.value.code == 2
    assert "expected a positive integer, got '0'" in capsys.readouterr().err


def test_generate_builtin_digits_of_chosen_classes(capsys):
    assert main(["generate", "-c", "3", "7", "--n-samples", "4", "--max-iter", "2"]) == 0
    captured = capsys.readouterr()
    samples = pd.read_csv(io.StringIO(captured.out))
    assert samples.shape == (8, 65)
    assert samples.columns[-1] == "target"
    assert sorted(samples["target"]) == [3] * 4 + [7] * 4
    assert "conditional VAE" in captured.err


def test_reduce_with_an_autoencoder(capsys):
    assert main(["reduce", "--estimator", "autoencoder", "-n", "3", "--max-iter", "2"]) == 0
    captured = capsys.readouterr()
    assert pd.read_csv(io.StringIO(captured.out)).shape == (1797, 3)
    assert "3-D AutoencoderTransformer" in captured.err


def test_reduce_with_a_vqvae_writes_codebook_vectors(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(AutoregressivePrior.__init__, "__defaults__", ((8,), 10, 256, 1e-3))
    src = _wine_csv(tmp_path)
    assert main(["reduce", str(src), "--estimator", "vqvae", "-n", "6", *FAST]) == 0
    codes = pd.read_csv(io.StringIO(capsys.readouterr().out)).to_numpy()
    assert codes.shape == (178, 6)
    # 6 values in 6 slots of one value each: every value is one of the codebook's
    assert len(np.unique(codes)) <= 64


def test_generate_with_a_diffusion_prior(capsys, monkeypatch):
    # a prior that trains in a moment: the test checks the plumbing
    monkeypatch.setattr(
        DiffusionPrior.__init__, "__defaults__", (20, 1e-4, 0.02, (16,), 20, 256, 1e-3)
    )
    args = ["generate", "-c", "1", "5", "--n-samples", "3", "--max-iter", "2",
            "--prior", "diffusion"]
    assert main(args) == 0
    captured = capsys.readouterr()
    samples = pd.read_csv(io.StringIO(captured.out))
    assert samples.shape == (6, 65) and sorted(samples["target"]) == [1] * 3 + [5] * 3
    assert np.isfinite(samples.to_numpy()).all()
    assert "diffusion prior" in captured.err


def test_generate_csv_with_string_classes(tmp_path):
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.normal(size=(40, 3)), columns=list("abc"))
    frame.insert(1, "kind", np.where(np.arange(40) % 2, "cat", "dog"))
    frame.loc[frame["kind"] == "cat", "a"] += 10  # cats are far out on a
    src, out = tmp_path / "in.csv", tmp_path / "new.csv"
    frame.to_csv(src, index=False)
    args = ["generate", str(src), "--label", "kind", "--n-samples", "5", "-o", str(out), "-q"]
    args += ["--max-iter", "50", "--mean"]
    assert main(args) == 0
    samples = pd.read_csv(out)
    assert list(samples.columns) == ["a", "b", "c", "kind"]
    assert sorted(samples["kind"]) == ["cat"] * 5 + ["dog"] * 5
    # in the data's own units, not standardised ones
    assert samples.loc[samples["kind"] == "cat", "a"].mean() > 5


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "name the column that holds the classes with --label COLUMN"),
        (["--label", "kin"], "has no column 'kin'; its columns are a, kind"),
        (
            ["--label", "kind", "-c", "cow"],
            "no class 'cow' in column 'kind'; its classes are cat, dog",
        ),
    ],
)
def test_generate_bad_input_is_one_line_error(tmp_path, capsys, extra, message):
    path = tmp_path / "data.csv"
    path.write_text("a,kind\n" + "".join(f"{i},{'cat' if i % 2 else 'dog'}\n" for i in range(6)))
    assert main(["generate", str(path), *extra, *FAST]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_outliers_csv_writes_score_and_flag(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 3))
    X[:2] += 12  # two far rows
    src, out = tmp_path / "in.csv", tmp_path / "scores.csv"
    pd.DataFrame(X, columns=list("abc")).to_csv(src, index=False)
    args = ["outliers", str(src), "--contamination", "0.02", "-o", str(out), "-q"]
    assert main([*args, "--max-iter", "30"]) == 0
    scores = pd.read_csv(out)
    assert list(scores.columns) == ["score", "outlier"]
    assert scores.shape == (100, 2)
    assert scores["outlier"].tolist() == [1, 1] + [0] * 98


def test_outliers_builtin_digits_and_bad_contamination(capsys):
    assert main(["outliers", "--max-iter", "1", "-q"]) == 0
    assert pd.read_csv(io.StringIO(capsys.readouterr().out)).shape == (1797, 2)
    with pytest.raises(SystemExit):
        main(["outliers", "--contamination", "0.9"])
    assert "expected 'auto' or a share in (0, 0.5], got '0.9'" in capsys.readouterr().err


def test_conv_architecture_on_image_rows(capsys):
    """The built-in digits are 8 x 8 images: --architecture conv reads them so."""
    assert main(["cluster", "--architecture", "conv", "--image-shape", "8", "8", "-k", "3",
                 "--no-scale", *FAST]) == 0
    labels = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert labels.shape == (1797, 2)


def test_conv_without_image_shape_is_one_line_error(capsys):
    assert main(["reduce", "--architecture", "conv", *FAST]) == 2
    err = capsys.readouterr().err
    assert "needs its shape" in err and err.count("\n") == 1
    assert main(["reduce", "--architecture", "conv", "--image-shape", "7", "7", *FAST]) == 2
    assert "holds 49 values per image, but X has 64 features" in capsys.readouterr().err


@pytest.mark.slow
def test_a_closed_pipe_stops_quietly():
    """``skvae reduce | head -2``: the reader closes the pipe early; no traceback."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from skvae.cli import main; sys.exit(main())",
         "reduce", "--max-iter", "1", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    proc.stdout.readline()
    proc.stdout.close()  # what head does after its lines
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err, err


@pytest.mark.parametrize("command", ["reduce", "cluster", "outliers"])
def test_ctrl_c_during_training_exits_130_and_writes_nothing(tmp_path, monkeypatch, command):
    from skvae._net import VAENet

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(VAENet, "fit_loop", interrupted)
    out = tmp_path / "out.csv"
    assert main([command, "--output", str(out), *FAST]) == 130
    assert not out.exists()


@pytest.fixture
def no_training(monkeypatch):
    """Fail loudly if a command starts training: these errors come first."""
    from skvae._net import VAENet

    def trained(self, *args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(VAENet, "fit_loop", trained)


@pytest.mark.parametrize(
    "make, extra, message",
    [
        (lambda d: d, [], "is a directory, not a CSV file"),
        (lambda d: d / "x.csv", ["--output", "{d}"], "is a directory; give a file name"),
        (lambda d: d / "x.csv", ["--output", "{d}/nowhere/out.csv"], "there is no directory"),
        (lambda d: d / "x.csv", ["--device", "xpu"], "not a device skvae trains on"),
        (lambda d: d / "header.csv", [], "has a header but no data rows"),
        (lambda d: d / "semi.csv", [], "looks semicolon-separated"),
    ],
)
def test_input_and_output_problems_are_one_line_errors_before_training(
    tmp_path, capsys, no_training, make, extra, message
):
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 4.0, 1.0]}).to_csv(
        tmp_path / "x.csv", index=False
    )
    (tmp_path / "header.csv").write_text("a,b\n")
    (tmp_path / "semi.csv").write_text("a;b\n1,5;2,25\n3,5;4,75\n2,0;1,0\n")
    args = [a.format(d=tmp_path) for a in extra]
    assert main(["reduce", str(make(tmp_path)), *args, *FAST]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_unwritable_output_is_refused_before_training(tmp_path, capsys, no_training):
    import os

    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 4.0, 1.0]}).to_csv(
        tmp_path / "x.csv", index=False
    )
    code = main(["reduce", str(tmp_path / "x.csv"), "--output", str(locked / "o.csv"), *FAST])
    assert code == 2 and "permission denied" in capsys.readouterr().err


def test_a_saved_pandas_index_is_dropped_and_said(tmp_path, capsys):
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.normal(size=(30, 3)), columns=list("abc"))
    frame.to_csv(tmp_path / "indexed.csv")  # index=True: an "Unnamed: 0" column
    out = tmp_path / "codes.csv"
    src = str(tmp_path / "indexed.csv")
    assert main(["reduce", src, "--output", str(out), "--max-iter", "1"]) == 0
    err = capsys.readouterr().err
    assert "saved pandas index" in err and "(30 x 3)" in err  # the model saw a, b, c
    assert pd.read_csv(out).shape == (30, 2)


# ------------------------------------------------------------ saved models


def _wine_csv(tmp_path):
    from sklearn.datasets import load_wine

    path = tmp_path / "wine.csv"
    load_wine(as_frame=True).frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "command, extra",
    [
        ("reduce", []),
        ("cluster", ["-k", "3"]),
        ("outliers", []),
        ("reduce", ["--no-scale"]),
        ("reduce", ["--estimator", "autoencoder"]),
    ],
)
def test_a_saved_model_applied_again_writes_the_same_output(tmp_path, command, extra):
    src = _wine_csv(tmp_path)
    model, first, again = tmp_path / "m.safetensors", tmp_path / "1.csv", tmp_path / "2.csv"
    args = [command, str(src), *FAST, *extra]
    assert main([*args, "--save-model", str(model), "-o", str(first)]) == 0
    assert main([command, str(src), "-q", "--model", str(model), "-o", str(again)]) == 0
    assert first.read_bytes() == again.read_bytes()


def test_generate_from_a_saved_model_needs_no_input(tmp_path, capsys):
    src, model = _wine_csv(tmp_path), tmp_path / "m.safetensors"
    fit = ["generate", str(src), "-l", "target", *FAST, "--n-samples", "2",
           "--save-model", str(model)]
    assert main(fit) == 0
    fitted = capsys.readouterr().out
    # the classes' column keeps its name: the model remembers it (label_name_)
    assert main(["generate", "-q", "--model", str(model), "--n-samples", "2"]) == 0
    assert capsys.readouterr().out == fitted
    assert fitted.splitlines()[0].endswith(",target")
    assert main(["generate", "-q", "--model", str(model), "--n-samples", "2", "-l", "kind"]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(",kind")  # or the name given
    assert main(["generate", str(src), "-q", "--model", str(model)]) == 2
    assert "reads no FILE" in capsys.readouterr().err


@pytest.mark.parametrize(
    "model_file, message",
    [
        ("missing.safetensors", "No such model file"),
        ("wine.csv", "is not a skvae model file"),
        ("reduce.safetensors", "holds a VAETransformer; skvae outliers needs a VAEOutlierDetector"),
    ],
)
def test_a_model_that_cannot_be_applied_is_one_line_error(tmp_path, capsys, model_file, message):
    src = _wine_csv(tmp_path)
    saved = tmp_path / "reduce.safetensors"
    assert main(["reduce", str(src), *FAST, "--save-model", str(saved)]) == 0
    capsys.readouterr()
    assert main(["outliers", str(src), "-q", "--model", str(tmp_path / model_file)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_new_rows_with_other_columns_are_one_line_error(tmp_path, capsys):
    src, model = _wine_csv(tmp_path), tmp_path / "m.safetensors"
    assert main(["reduce", str(src), *FAST, "--save-model", str(model)]) == 0
    other = tmp_path / "other.csv"
    pd.read_csv(src).drop(columns=["alcohol"]).to_csv(other, index=False)
    capsys.readouterr()
    assert main(["reduce", str(other), "-q", "--model", str(model)]) == 2
    err = capsys.readouterr().err
    assert "feature names" in err.lower() and err.count("\n") == 1


def test_an_unwritable_save_model_path_fails_before_training(tmp_path, capsys, monkeypatch):
    import skvae

    monkeypatch.setattr(skvae.VAETransformer, "fit", lambda *a, **k: pytest.fail("trained"))
    missing = tmp_path / "no" / "m.safetensors"
    assert main(["reduce", *FAST, "--save-model", str(missing)]) == 2
    assert "--save-model" in capsys.readouterr().err


# --------------------------------------------------------- progress and plots


def _csv(tmp_path, n=60, d=4):
    rng = np.random.RandomState(0)
    path = tmp_path / "in.csv"
    pd.DataFrame(rng.normal(size=(n, d)), columns=list("abcd")[:d]).to_csv(path, index=False)
    return path


def test_progress_bar_on_request_table_with_v_and_silence_otherwise(tmp_path, capsys):
    src = _csv(tmp_path)
    # stderr is not a terminal under pytest: no bar unless asked
    assert main(["reduce", str(src), "--max-iter", "3"]) == 0
    err = capsys.readouterr().err
    assert "Fitting" in err and "fit:" not in err and "train_loss" not in err
    assert main(["reduce", str(src), "--max-iter", "3", "--progress"]) == 0
    err = capsys.readouterr().err
    # one bar for the fit: 3 epochs of one batch, ending on the last epoch
    assert "3/3" in err and "epoch=3/3" in err and "loss=" in err and "train_loss" not in err
    assert main(["reduce", str(src), "--max-iter", "3", "-v"]) == 0
    captured = capsys.readouterr()
    # off a terminal the table is the log: no bar (its carriage returns
    # glued the table's rows to bar lines), no colour codes
    assert "train_loss" in captured.err and "fit:" not in captured.err
    assert "\r" not in captured.err and "\x1b[" not in captured.err
    assert pd.read_csv(io.StringIO(captured.out)).shape == (60, 2)  # stdout: the data only
    assert main(["reduce", str(src), "--max-iter", "3", "-q", "--progress"]) == 0
    assert capsys.readouterr().err == ""
    with pytest.raises(SystemExit):
        main(["reduce", str(src), "-q", "-v"])


@pytest.mark.parametrize(
    "command, extra",
    [
        ("reduce", []),
        ("cluster", ["-k", "3"]),
        ("outliers", []),
        ("generate", ["--label", "label", "--n-samples", "4"]),
    ],
)
def test_plot_writes_the_picture_of_the_job(tmp_path, command, extra):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    src = _csv(tmp_path)
    if command == "generate":
        frame = pd.read_csv(src)
        frame["label"] = np.arange(len(frame)) % 2
        frame.to_csv(src, index=False)
    picture = tmp_path / "job.png"
    args = [command, str(src), *extra, "--plot", str(picture), "-o", str(tmp_path / "o.csv")]
    assert main([*args, *FAST]) == 0
    pixels = imread(picture)
    assert pixels.ndim == 3 and pixels[..., :3].std() > 0  # a picture, not a blank page


def test_plot_problems_are_found_before_training(tmp_path, capsys):
    src = _csv(tmp_path)
    assert main(["reduce", str(src), "--plot", str(tmp_path / "codes.txt"), *FAST]) == 2
    assert "ending in one of" in capsys.readouterr().err
    assert main(["reduce", str(src), "--plot", str(tmp_path / "no" / "x.png"), *FAST]) == 2
    assert "there is no directory" in capsys.readouterr().err


def test_tab_separated_files_and_true_false_columns(tmp_path, capsys):
    tsv = tmp_path / "t.csv"
    tsv.write_text("a\tb\n1\t2\n3\t4\n5\t6\n")
    assert main(["reduce", str(tsv), *FAST]) == 2
    assert "tab-separated" in capsys.readouterr().err
    flags = tmp_path / "flags.csv"
    flags.write_text("a,flag,c\n1,True,2\n3,False,4\n5,True,1\n2,False,0\n")
    out = tmp_path / "codes.csv"
    assert main(["reduce", str(flags), "-o", str(out), *FAST]) == 0
    assert pd.read_csv(out).shape == (4, 2)


def test_version_and_help_show_every_default(capsys):
    import argparse

    import skvae
    from skvae.cli import build_parser

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"skvae {skvae.__version__}"
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, sub in commands.items():
        text = sub.format_help()
        for action in sub._actions:
            default = action.default
            has_default = default is not None and default is not False
            if action.option_strings and has_default and default != argparse.SUPPRESS:
                assert action.help and "default" in sub._get_formatter()._get_help_string(
                    action
                ), (name, action.option_strings)
        assert "--random-state" in text


# ------------------------------------------------------------ the pictures


@pytest.fixture
def figures(monkeypatch):
    """The figures the CLI draws, kept open (it closes them after writing)."""
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    kept, close = [], plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: kept.append(fig))
    yield kept
    for fig in kept:
        close(fig)


def _labelled_csv(tmp_path, n=90):
    rng = np.random.RandomState(0)
    classes = np.repeat(["ant", "bee", "cat"], n // 3)
    centres = {"ant": 0.0, "bee": 4.0, "cat": -4.0}
    X = rng.normal(size=(n, 5)) + np.array([centres[c] for c in classes])[:, None]
    X[:, 4] *= 1000.0  # one column in much larger units
    frame = pd.DataFrame(X, columns=["width", "height", "depth", "mass", "price"])
    frame["kind"] = classes
    path = tmp_path / "animals.csv"
    frame.to_csv(path, index=False)
    return path


def _legend(ax):
    legend = ax.get_legend()
    return legend.get_title().get_text(), [t.get_text() for t in legend.get_texts()]


def test_reduce_picture_is_coloured_by_the_label_column(tmp_path, figures):
    src = _labelled_csv(tmp_path)
    out = tmp_path / "codes.csv"
    args = ["reduce", str(src), "-l", "kind", "--plot", str(tmp_path / "r.png"), "-o", str(out)]
    assert main([*args, *FAST]) == 0
    assert pd.read_csv(out).shape == (90, 2)  # the label column is not a feature
    (fig,) = figures
    (ax,) = fig.axes
    assert ax.get_title().startswith("skvae reduce: 2-D codes of animals.csv")
    assert ax.get_xlabel() == "z1" and ax.get_ylabel() == "z2"
    assert _legend(ax) == ("kind", ["ant", "bee", "cat"])
    # the axes end near the codes' 1% and 99% quantiles, not at the farthest code
    codes = pd.read_csv(out).to_numpy()
    low, high = np.quantile(codes, [0.01, 0.99], axis=0)
    span = high - low
    np.testing.assert_allclose(ax.get_xlim(), [low[0] - 0.05 * span[0], high[0] + 0.05 * span[0]])


def test_the_default_data_are_coloured_by_their_digits(tmp_path, figures):
    assert main(["reduce", "--plot", str(tmp_path / "r.png"), "-o", str(tmp_path / "c.csv"),
                 *FAST]) == 0
    (ax,) = figures[0].axes
    title, entries = _legend(ax)
    assert title == "target" and entries == [str(d) for d in range(10)]
    assert "scikit-learn's digits" in ax.get_title()


def test_cluster_picture_shows_the_clusters_beside_the_known_classes(tmp_path, figures, capsys):
    src = _labelled_csv(tmp_path)
    args = ["cluster", str(src), "-k", "3", "--label", "kind", "--plot", str(tmp_path / "c.png")]
    assert main([*args, *FAST]) == 0
    found, known = figures[0].axes
    assert found.get_title().startswith("skvae cluster: 3 clusters of animals.csv")
    assert _legend(found)[0] == "cluster" and _legend(known) == ("kind", ["ant", "bee", "cat"])
    # without a label: one panel, coloured by cluster
    capsys.readouterr()
    assert main(["cluster", str(src), "-k", "3", "--drop-non-numeric", "--plot",
                 str(tmp_path / "c2.png"), *FAST]) == 0
    assert len(figures[1].axes) == 1 and _legend(figures[1].axes[0])[0] == "cluster"


def test_cluster_uses_the_ten_classes_of_the_default_digits(tmp_path):
    out = tmp_path / "c.csv"
    assert main(["cluster", "-o", str(out), "--save-model", str(tmp_path / "m.safetensors"),
                 *FAST]) == 0
    import skvae

    assert skvae.load(tmp_path / "m.safetensors")[-1].n_clusters == 10


def test_generate_picture_of_a_table_is_standardised_with_column_names(tmp_path, figures):
    src = _labelled_csv(tmp_path)
    args = ["generate", str(src), "-l", "kind", "--plot", str(tmp_path / "g.png"),
            "-o", str(tmp_path / "g.csv")]
    assert main([*args, *FAST]) == 0
    (ax,) = figures[0].axes
    assert "standardised" in ax.get_ylabel()
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert names == ["width", "height", "depth", "mass", "price"]
    assert "column 'kind'" in ax.get_title() and _legend(ax)[1] == ["ant", "bee", "cat"]
    # price, 1000 times larger in the file, is drawn on the others' scale
    assert max(abs(v) for v in ax.get_ylim()) < 50


def test_outliers_picture_has_a_title_and_labelled_axes(tmp_path, figures):
    src = _csv(tmp_path)
    assert main(["outliers", str(src), "--plot", str(tmp_path / "o.png"), *FAST]) == 0
    ax = figures[0].axes[0]
    assert ax.get_title().startswith("skvae outliers:") and "flagged" in ax.get_title()
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None


def test_generate_short_n_is_a_deprecated_alias(tmp_path, capsys):
    out = tmp_path / "g.csv"
    assert main(["generate", "-c", "3", "-n", "2", "-o", str(out), *FAST]) == 0
    assert "-n is deprecated" in capsys.readouterr().err
    assert len(pd.read_csv(out)) == 2


def test_label_column_problems_are_one_line_errors(tmp_path, capsys):
    src = _labelled_csv(tmp_path)
    assert main(["reduce", str(src), "-l", "", *FAST]) == 2
    assert "--label needs a column name" in capsys.readouterr().err
    frame = pd.read_csv(src)
    frame.loc[[3, 7], "kind"] = None
    blank = tmp_path / "blank.csv"
    frame.to_csv(blank, index=False)
    assert main(["reduce", str(blank), "-l", "kind", *FAST]) == 2
    err = capsys.readouterr().err
    assert "2 row(s) without a class in column 'kind' (e.g. data row 4)" in err
    assert "drop those rows or fill in their class" in err
    # generate: classes, not measurements; and a file needs its class column
    assert main(["generate", str(src), "-l", "width", "--drop-non-numeric", *FAST]) == 2
    assert "column 'width' holds continuous values" in capsys.readouterr().err
    assert main(["generate", str(src), "--drop-non-numeric", *FAST]) == 2
    assert "name the column that holds the classes with --label" in capsys.readouterr().err


def test_a_picture_that_fails_after_the_fit_says_the_results_were_written(
    tmp_path, capsys, monkeypatch
):
    pytest.importorskip("matplotlib")
    from skvae import _cli_plots
    from skvae._files import OutputError

    def fail(path, write, **kwargs):
        raise OutputError(f"could not write {path}: No space left on device; nothing was written")

    monkeypatch.setattr(_cli_plots, "write_file", fail)
    src, out = _csv(tmp_path), tmp_path / "codes.csv"
    assert main(["reduce", str(src), "-o", str(out), "--plot", str(tmp_path / "p.png"),
                 *FAST]) == 2
    err = capsys.readouterr().err
    assert "the picture was not written" in err and f"written to {out}" in err
    assert pd.read_csv(out).shape == (60, 2)


def test_max_steps_sets_the_budget(tmp_path, capsys):
    rng = np.random.RandomState(0)
    src = tmp_path / "in.csv"
    pd.DataFrame(rng.normal(size=(300, 4)), columns=list("abcd")).to_csv(src, index=False)
    from skvae import load

    for steps, epochs in (("6", 2), ("none", 7)):  # 300 rows: 3 batches of 128
        saved = tmp_path / f"model-{steps}.safetensors"
        args = ["reduce", str(src), "--max-iter", "7", "--max-steps", steps, "-q",
                "-o", str(tmp_path / "codes.csv"), "--save-model", str(saved)]
        assert main(args) == 0
        model = load(saved)[-1]
        assert model.n_iter_ == epochs
        assert model.max_steps == (None if steps == "none" else int(steps))
    with pytest.raises(SystemExit) as exit_:
        main(["reduce", str(src), "--max-steps", "many", "-q"])
    assert exit_.value.code == 2
    assert "expected a positive integer or 'none', got 'many'" in capsys.readouterr().err


def test_column_types_take_several_columns_and_an_order(tmp_path, capsys):
    frame = pd.DataFrame({
        "level": ["low", "high", "medium", None] * 10,
        "kids": [0, 2, 1, 3] * 10,
        "x": np.arange(40.0),
    })
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    argv = ["impute", str(path), "--max-iter", "2", "--column-types",
            "ordinal=level:low<medium<high", "count=kids", "-o", str(tmp_path / "o.csv")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "level: ordinal (3 categories: low, medium, high)" in err and "kids: count" in err
    assert main(["impute", str(path), *FAST, "--plot", str(tmp_path / "p.png")]) == 2
    assert "impute draws no picture" in capsys.readouterr().err
