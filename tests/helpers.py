"""Helpers shared by the test modules (``tests`` is on ``pythonpath``)."""


def cheap(cls):
    """Parameters that keep a test's fit of ``cls`` cheap beyond its epochs.

    A VQ-VAE trains its prior for thousands of steps after the fit by
    default: tests of the contract take one that trains in a moment, and one
    slot, so that any ``n_components`` is a multiple of ``n_slots``.
    """
    from skvae import AutoregressivePrior, VQVAETransformer

    if cls is VQVAETransformer:
        return {"n_slots": 1, "prior": AutoregressivePrior(hidden_layer_sizes=(8,), max_steps=10)}
    return {}
