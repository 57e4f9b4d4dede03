"""One registry of model families: the estimator classes and what each can do.

Every public subclass of :class:`~skvae._base.BaseVAE` is registered when its
class is created, skvae's own and a family defined outside skvae alike. What
needs a list of estimators derives it from here rather than naming classes:
the model files' allow-list (:mod:`skvae._io` loads only registered classes,
and only those already imported), the command line's model choices, the
Displays and the tests. What an estimator can do is declared in its
:class:`ModelTags` (``__skvae_tags__``), read with :func:`get_model_tags`,
never guessed from attribute names.
"""

from dataclasses import dataclass

# name -> class, in the order of registration
_REGISTRY = {}


@dataclass(frozen=True)
class ModelTags:
    """What an skvae estimator can do, beside scikit-learn's own tags.

    Whether ``fit`` needs ``y`` and the kind of estimator (transformer,
    clusterer, classifier, outlier detector) are scikit-learn's tags
    (``target_tags.required``, ``estimator_type``); these are the rest.

    Parameters
    ----------
    codes : {"stochastic", "deterministic", "discrete"} or None, default="stochastic"
        What ``transform`` gives: a posterior mean, a deterministic code, a
        quantised code; None for an estimator without ``transform``.
    decodes : bool, default=True
        Has ``inverse_transform``: codes back to rows (decoder means).
    samples : {"X", "X_y"} or None, default="X"
        What ``sample`` returns: the rows, or the rows and their class or
        cluster; None for an estimator without ``sample``.
    labels : {"classes", "clusters"} or None, default=None
        A classifier's ``classes_`` or a clusterer's clusters.
    outlier_scores : bool, default=False
        Has ``offset_`` and ``decision_function`` (the outlier contract).
    latent_statistics : bool, default=True
        Has ``kl_per_dim_`` and ``n_active_units_``.
    learned_prior : bool, default=False
        Takes a ``prior`` that can be learned on the codes after the fit.
    cli_name : str or None, default=None
        The name ``skvae reduce --estimator`` knows it by, for a transformer.
    imputes : bool, default=False
        ``transform`` fills in the missing entries of a table (an imputer)
        rather than giving codes.
    images : bool, default=True
        Takes images (``image_shape``, ``architecture="conv"``); False for
        an estimator of tables only.
    """

    codes: str | None = "stochastic"
    decodes: bool = True
    samples: str | None = "X"
    labels: str | None = None
    outlier_scores: bool = False
    latent_statistics: bool = True
    learned_prior: bool = False
    cli_name: str | None = None
    imputes: bool = False
    images: bool = True


def register(cls):
    """Add a public estimator class to the registry (skvae's names win a clash)."""
    name = cls.__name__
    # a private class, or a base that names no model family, is no estimator
    if name.startswith("_") or getattr(cls, "_module_class", None) is None:
        return cls
    _check_tags(cls)
    key = name if cls.__module__.startswith("skvae.") else f"{cls.__module__}.{cls.__qualname__}"
    _REGISTRY[key] = cls
    return cls


def _check_tags(cls):
    """Refuse a class whose tags claim methods it lacks, or deny methods it has.

    The Displays, the tests and the CLI trust the tags; a family that forgot
    to declare them learns it when its class is defined, not from a raw
    AttributeError later.
    """
    try:
        tags = cls.__skvae_tags__(object.__new__(cls))
    except Exception:  # noqa: BLE001 - tags that need a configured instance
        return
    methods = {
        "transform": ("codes", tags.codes is not None or tags.imputes),
        "inverse_transform": ("decodes", tags.decodes),
        "sample": ("samples", tags.samples is not None),
        "decision_function": ("outlier_scores", tags.outlier_scores),
    }
    wrong = [
        f"{tag}={getattr(tags, tag)!r} but {cls.__name__} "
        f"{'has no' if claimed else 'has a'} {method}"
        for method, (tag, claimed) in methods.items()
        if claimed != hasattr(cls, method)
    ]
    if wrong:
        raise TypeError(
            f"{cls.__name__}'s ModelTags do not match its methods: {'; '.join(wrong)}. "
            "Return the right ModelTags from its __skvae_tags__ (see skvae.ModelTags)."
        )


def registered_name(cls):
    """The name a model file stores for ``cls``, or None if it is not registered."""
    for key, value in _REGISTRY.items():
        if value is cls:
            return key
    return None


def registered_class(name):
    """The registered class stored under ``name`` (see :func:`registered_name`), or None."""
    return _REGISTRY.get(name)


def registered_classes(include_external=False):
    """The registered estimator classes, as ``(name, class)`` pairs sorted by name.

    skvae's own; ``include_external`` adds those defined outside skvae.
    """
    return sorted(
        (key, cls)
        for key, cls in _REGISTRY.items()
        if include_external or cls.__module__.startswith("skvae.")
    )


def final_estimator(estimator):
    """The estimator itself, or the last step of a :class:`~sklearn.pipeline.Pipeline`."""
    from sklearn.pipeline import Pipeline

    while isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    return estimator


def get_model_tags(estimator):
    """The :class:`ModelTags` of an skvae estimator (a class, an instance or a Pipeline).

    Raises
    ------
    TypeError
        For anything that is not an skvae estimator (or a Pipeline ending in one).
    """
    est = final_estimator(estimator)
    if isinstance(est, type):
        tags = getattr(est, "__skvae_tags__", None)
        if tags is None:
            raise TypeError(f"{est.__name__} is not an skvae estimator class.")
        return tags(est())
    tags = getattr(est, "__skvae_tags__", None)
    if tags is None:
        raise TypeError(
            f"Expected an skvae estimator (or a Pipeline ending in one), got "
            f"{type(est).__name__}."
        )
    return tags()
