"""Randomness scoped to one call: torch generators of its own, never torch's global one.

Every public method of skvae that draws random numbers (``fit``,
``partial_fit``, ``sample``, the learned priors...) seeds a
:class:`torch.Generator` of its own from ``random_state`` and draws from it.
torch's default generator is process-wide: seeding it (even inside
``torch.random.fork_rng``) lets two threads that fit or sample at once draw
from each other's stream, and moves the stream of any other code of the
process while they run. Two routes carry a call's generator to the draws:

* The training step draws through generators passed explicitly: the modules
  of :mod:`skvae.models` that draw in ``forward`` hold one in their
  ``generator`` attribute for the length of a fit (see
  :class:`~skvae.models.DrawsNoise`), and the net's batches are shuffled
  with one of their own. This costs nothing per operation.
* Everything else that draws, a few times per call (the weights drawn when a
  network is built, a user's module among them, and the draws of ``sample``),
  runs inside :func:`draws_from`, a :class:`torch.overrides.TorchFunctionMode`
  that hands the call's generator to every random function of torch called
  in that block in this thread. Modes are thread-local, so a draw in another
  thread is never rerouted.
"""

import threading
from contextlib import contextmanager

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

# torch functions that draw and take a ``generator`` keyword argument. The
# composite ones (``torch.nn.init.*``) receive it and hand it on; a mode sees
# only the outermost call of a composite function.
_TAKE_GENERATOR = frozenset(
    f
    for f in (
        torch.rand,
        torch.randn,
        torch.randint,
        torch.randperm,
        torch.normal,
        torch.bernoulli,
        torch.multinomial,
        torch.poisson,
        torch.Tensor.uniform_,
        torch.Tensor.normal_,
        torch.Tensor.bernoulli_,
        torch.Tensor.random_,
        torch.Tensor.exponential_,
        torch.Tensor.geometric_,
        torch.Tensor.log_normal_,
        torch.Tensor.cauchy_,
        torch.Tensor.bernoulli,
        torch.Tensor.multinomial,
    )
    if f is not None
)


def _like(draw):
    """``torch.randn_like``-style function through a draw that takes a generator."""

    def like(x, *args, dtype=None, device=None, generator=None, **kwargs):
        return draw(
            *args,
            tuple(x.shape),
            dtype=dtype or x.dtype,
            device=device or x.device,
            generator=generator,
        )

    return like


# The ``*_like`` draws, which older torch releases give no ``generator``.
_LIKE = {
    torch.randn_like: _like(torch.randn),
    torch.rand_like: _like(torch.rand),
    torch.randint_like: _like(torch.randint),
}


def _dropout(generator, x, p=0.5, training=True, inplace=False):
    """``torch.nn.functional.dropout`` with its mask drawn from ``generator``."""
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    keep = torch.rand(x.shape, dtype=x.dtype, device=x.device, generator=generator) >= p
    return x * keep / (1.0 - p)


def _standard_gamma(generator, concentration):
    """Gamma(concentration, 1) draws from ``generator`` (Marsaglia & Tsang 2000).

    torch's own ``_standard_gamma`` (behind the Gamma, Chi2, StudentT, Beta
    and Dirichlet samplers of ``torch.distributions``) takes no generator.
    Shapes below 1 are drawn as ``Gamma(a + 1) * U ** (1 / a)``.
    """
    a = concentration.detach()
    if not (torch.isfinite(a).all() and (a > 0).all()):
        # the acceptance test would never pass (inf - inf is NaN): refuse
        raise ValueError(
            "A gamma draw needs a finite, positive shape; the model's parameters hold "
            f"{a[~(torch.isfinite(a) & (a > 0))].flatten()[0].item()!r}."
        )
    boost = a < 1
    d = torch.where(boost, a + 1, a) - 1.0 / 3.0
    c = 1.0 / torch.sqrt(9.0 * d)
    out = torch.empty_like(a)
    pending = torch.ones_like(a, dtype=torch.bool)
    while pending.any():
        x = torch.randn(a.shape, dtype=a.dtype, device=a.device, generator=generator)
        u = torch.rand(a.shape, dtype=a.dtype, device=a.device, generator=generator)
        v = (1.0 + c * x) ** 3
        ok = (v > 0) & (
            torch.log(u) < 0.5 * x**2 + d - d * v + d * torch.log(v.clamp(min=1e-30))
        )
        take = pending & ok
        out = torch.where(take, d * v, out)
        pending = pending & ~ok
    u = torch.rand(a.shape, dtype=a.dtype, device=a.device, generator=generator)
    out = torch.where(boost, out * u ** (1.0 / a), out)
    return out.clamp(min=torch.finfo(a.dtype).tiny)


class _Route(TorchFunctionMode):
    """Hands ``generator`` to every random torch function called inside the mode."""

    def __init__(self, generator):
        super().__init__()
        self.generator = generator

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func in _LIKE:
            kwargs.setdefault("generator", self.generator)
            return _LIKE[func](*args, **kwargs)
        if func is torch._standard_gamma and not args[0].requires_grad:
            # (a reparameterised draw keeps torch's, for its gradient)
            return _standard_gamma(self.generator, *args, **kwargs)
        if func is torch.nn.functional.dropout:
            return _dropout(self.generator, *args, **kwargs)
        if "generator" in kwargs:
            if kwargs["generator"] is None:
                kwargs["generator"] = self.generator
        elif func in _TAKE_GENERATOR:
            kwargs["generator"] = self.generator
        return func(*args, **kwargs)


_local = threading.local()


@contextmanager
def draws_from(generator):
    """Route torch's random draws in this thread, inside the block, to ``generator``.

    torch's default generator is neither read nor reseeded; draws in other
    threads are untouched. Draws that give an explicit generator keep it.
    """
    stack = _local.__dict__.setdefault("stack", [])
    stack.append(generator)
    try:
        with _Route(generator):
            yield generator
    finally:
        stack.pop()


@contextmanager
def forked_draws():
    """Draw inside the block from a copy of the routed generator, then go on as before.

    So that building an optional part (a learned prior) leaves the draws that
    follow as they were without it. Outside :func:`draws_from`, torch's
    global state is forked, as :func:`torch.random.fork_rng` does.
    """
    stack = getattr(_local, "stack", None)
    if not stack:
        with torch.random.fork_rng(devices=[]):
            yield
        return
    current = stack[-1]
    fork = torch.Generator(device=current.device)
    fork.set_state(current.get_state())
    with draws_from(fork):
        yield


def child_seed(rng):
    """A seed for torch (a non-negative int below 2**31) drawn from a numpy ``RandomState``."""
    return int(rng.randint(np.iinfo(np.int32).max))


def generator(seed, device="cpu", stream=0):
    """A new :class:`torch.Generator` on ``device`` seeded by ``(seed, stream)``.

    Different ``stream`` numbers give independent generators from one seed
    (numpy's ``SeedSequence`` mixes them), for the parts of one call that
    draw apart (the weights, the shuffles, the training noise).
    """
    state = np.random.SeedSequence([int(seed), int(stream)]).generate_state(2, dtype=np.uint32)
    g = torch.Generator(device=torch.device(device))
    g.manual_seed(int(state[0]) << 32 | int(state[1]))
    return g


@contextmanager
def seeded_draws(seed, device="cpu", stream=0):
    """:func:`draws_from` a new :func:`generator` of ``seed`` on ``device``."""
    with draws_from(generator(seed, device, stream)) as g:
        yield g
