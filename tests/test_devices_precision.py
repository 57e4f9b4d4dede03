"""Mixed precision, and training data kept in host memory for a GPU (CUDA tests skip here)."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from skorch.callbacks import Callback, GradientNormClipping

import skvae._batches as batches_module
import skvae._training as training_module
from skvae import GMVAEClusterer, VAETransformer
from skvae._batches import TensorBatches, moves_batches
from skvae._parallel import keeps_on_host

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _digits():
    X = load_digits().data
    return X[:1200], X[1200:]


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=cuda)])
@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_mixed_precision_trains_as_well_as_float32(precision, device):
    X, X_test = _digits()
    est = VAETransformer(8, max_iter=15, random_state=0, device=device)
    full = clone(est).fit(X)
    mixed = clone(est).set_params(precision=precision).fit(X)
    # the weights and the optimiser stay float32; only the arithmetic is mixed
    assert all(p.dtype == torch.float32 for p in mixed.module_.parameters())
    assert abs(mixed.score(X_test) - full.score(X_test)) < 1.0
    assert (mixed.net_.grad_scaler_ is not None) == (precision == "float16")


class _GradNorms(Callback):
    """Records the gradient norm that callbacks see at every step."""

    def on_train_begin(self, net, **kwargs):
        self.norms = []

    def on_grad_computed(self, net, named_parameters, **kwargs):
        grads = [p.grad for _, p in named_parameters if p.grad is not None]
        self.norms.append(float(torch.linalg.vector_norm(torch.stack(
            [torch.linalg.vector_norm(g) for g in grads]))))


def test_float16_callbacks_see_unscaled_gradients():
    # gradient clipping and any other callback of on_grad_computed see the
    # true gradients, not those multiplied by the loss scale (2**16 at first)
    X, _ = _digits()
    norms = {}
    for precision in ("float32", "float16"):
        est = VAETransformer(
            8, max_iter=2, random_state=0, device="cpu", precision=precision,
            callbacks=[("grad_norms", _GradNorms())],
        ).fit(X)
        # the estimator trains a copy of its callbacks
        norms[precision] = np.median(dict(est.net_.callbacks_)["grad_norms"].norms)
    assert 0.5 < norms["float16"] / norms["float32"] < 2.0
    # so clipping at a norm of 5 trains as it does in float32
    X_test = load_digits().data[1200:]
    clipped = {
        precision: VAETransformer(
            8, max_iter=15, random_state=0, device="cpu", precision=precision,
            callbacks=[GradientNormClipping(5.0)],
        ).fit(X).score(X_test)
        for precision in ("float32", "float16")
    }
    assert abs(clipped["float16"] - clipped["float32"]) < 1.0


def test_precision_of_partial_fit_can_change_between_calls():
    X, _ = _digits()
    est = VAETransformer(max_iter=3, random_state=0, device="cpu").partial_fit(X)
    est.set_params(precision="float16").partial_fit(X)
    assert est.net_.precision == "float16" and est.net_.grad_scaler_ is not None
    assert np.isfinite(est.loss_curve_).all() and est.n_iter_ == 2


def test_data_stay_on_the_host_when_they_would_crowd_the_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (1000, 4000))
    assert keeps_on_host(600, "cuda")  # more than half of the free memory
    assert not keeps_on_host(400, "cuda")
    assert not keeps_on_host(10**12, "cpu")


def test_only_host_data_for_an_accelerator_move_per_batch():
    cpu, cuda0 = torch.device("cpu"), torch.device("cuda:0")
    assert moves_batches(cpu, "cuda") and moves_batches(cpu, "cuda:1")
    # data already on the training device are sliced in place
    assert not moves_batches(cuda0, "cuda") and not moves_batches(cuda0, "cuda:0")
    assert not moves_batches(cpu, "cpu") and not moves_batches(cpu, None)


def test_host_batches_moved_per_batch_are_the_same_batches():
    # a simulated move to the "meta" device (shapes, no values): the batches
    # that go over one by one are those sliced in place, in the same order
    data = {"x": torch.arange(50.0)[:, None], "labels": torch.arange(50)}
    torch.manual_seed(0)
    moved = [b for b, _ in TensorBatches(data, 16, shuffle=True, device="meta")]
    torch.manual_seed(0)
    expected = [b for b, _ in TensorBatches(data, 16, shuffle=True)]
    assert [len(b["x"]) for b in moved] == [len(b["x"]) for b in expected] == [16, 16, 16, 2]
    for a, b in zip(moved, expected, strict=True):
        assert a["x"].device.type == a["labels"].device.type == "meta"
        assert a["labels"].shape == b["labels"].shape and b["x"].device.type == "cpu"


@pytest.mark.parametrize("gather_bytes", [1, 3 * 16 * 16, 2**30])
def test_batches_gathered_in_chunks_are_those_of_the_shuffle(gather_bytes, monkeypatch):
    # rows gathered one batch, three batches or everything at a time: each
    # epoch's batches are the rows of one permutation, in its order
    monkeypatch.setattr(batches_module, "_GATHER_BYTES", gather_bytes)
    data = {"x": torch.arange(100.0)[:, None].repeat(1, 3), "labels": torch.arange(100)}
    generator = torch.Generator().manual_seed(0)
    batches = TensorBatches(data, 16, shuffle=True, generator=generator)
    for _ in range(2):
        order = torch.randperm(100, generator=generator.clone_state())
        got = [b for b, _ in batches]
        assert [len(b["x"]) for b in got] == [16] * 6 + [4]
        assert torch.equal(torch.cat([b["labels"] for b in got]), order)
        assert torch.equal(torch.cat([b["x"] for b in got]), data["x"][order])
    in_order = [b["labels"] for b, _ in TensorBatches(data, 16, shuffle=False)]
    assert torch.equal(torch.cat(in_order), torch.arange(100))


@cuda
@pytest.mark.parametrize("cls", [VAETransformer, GMVAEClusterer])
def test_cuda_fit_from_host_memory_matches_device_memory(cls, monkeypatch):
    X, X_test = _digits()
    est = cls(max_iter=5, random_state=0, device="cuda")
    on_device = clone(est).fit(X)
    monkeypatch.setattr(training_module, "keeps_on_host", lambda nbytes, device: True)
    from_host = clone(est).fit(X)
    np.testing.assert_allclose(from_host.loss_curve_, on_device.loss_curve_, rtol=1e-3)


def test_compile_wraps_training_only(monkeypatch):
    # torch.compile with the eager backend (the same arithmetic, no kernel
    # generation): the module is compiled for the fit and given back plain
    calls = []
    real = torch.compile

    def recording(module, **kwargs):
        calls.append(type(module).__name__)
        return real(module, backend="eager")

    monkeypatch.setattr(torch, "compile", recording)
    X, X_test = _digits()
    est = VAETransformer(4, max_iter=2, random_state=0, device="cpu")
    compiled = clone(est).set_params(compile=True).fit(X)
    plain = clone(est).fit(X)
    assert calls == ["VAEModule"]
    assert type(compiled.module_).__name__ == "VAEModule"
    np.testing.assert_allclose(compiled.loss_curve_, plain.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(compiled.transform(X_test), plain.transform(X_test), rtol=1e-4)
    import pickle

    pickle.loads(pickle.dumps(compiled))
