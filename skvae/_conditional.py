"""ConditionalVAE: class-conditional generation and style codes."""

from numbers import Real

import numpy as np
import torch
from scipy.special import logsumexp
from sklearn.base import (
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._base import BaseVAE
from ._docs import fill_doc
from ._learned_prior import LearnedPriorMixin
from ._priors import PRIORS, DiffusionPrior, prior_config
from ._registry import ModelTags
from .models.conditional import ConditionalELBOLoss, ConditionalVAEModule


@fill_doc
class ConditionalVAE(
    LearnedPriorMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClassifierMixin, BaseVAE
):
    """Class-conditional variational autoencoder (CVAE).

    A VAE whose encoder ``q(z | x, y)`` and decoder ``p(x | z, y)`` both see
    the class ``y`` (Sohn et al. 2015). Because the decoder is told the
    class, the code ``z`` is free to hold what the class does not: the
    "style" (slant, stroke width, size). That gives three uses:

    * generation of chosen classes: :meth:`sample` with ``y``;
    * style codes and style transfer: :meth:`transform` with ``y`` encodes
      a sample given its class, :meth:`inverse_transform` decodes codes as
      any class;
    * a generative classifier for free: :meth:`predict_proba` applies Bayes'
      rule to the conditional bounds ``log p(x | y)`` and the training class
      frequencies ``class_prior_``.

    ``score(X, y)`` is the mean conditional bound (not accuracy, unlike most
    classifiers), so ``GridSearchCV`` tunes the generative model without a
    scorer; pass ``scoring="accuracy"`` to tune the classifier instead.

    Parameters
    ----------
    n_components : int, default=4
        Size of the latent (style) code ``z``. Few dimensions leave fewer
        regions of the prior that no training row of a class maps to, from
        which samples come out as another class (see the user guide).

    latent_prior : {"standard", "class"}, default="standard"
        Prior of the code given the class: ``N(0, I)`` for every class, or a
        learned Gaussian ``p(z | y)`` with its own mean and diagonal variance
        per class (``class_latent_means_``, ``class_latent_variances_``).
        With ``"standard"`` the codes of all classes share one space, which
        is what style transfer needs.

    independence_weight : float, default=0.1
        Weight of a penalty that makes the distribution of the codes the same
        for every class, so that the code holds no class: for each class in
        a mini-batch, the KL divergence from ``p(z | y)`` of a Gaussian with
        the mean and variance of the class's codes; the weight is per
        feature (the penalty is multiplied by ``n_features_in_``), so it keeps
        its balance with the reconstruction term. The ELBO asks for this only
        weakly; without it, digits re-decoded as another class can still show
        their own class, and samples drawn from the prior for a class come
        out as another one, where that class's codes do not reach. 0 trains
        the plain CVAE.

    prior : {"gaussian", "diffusion"} or DiffusionPrior, default="gaussian"
        Where :meth:`sample` draws the codes of a class from. ``"gaussian"``:
        ``p(z | y)`` (see ``latent_prior``). ``"diffusion"`` (or a
        :class:`~skvae.DiffusionPrior`): after the model is fitted, a
        denoising diffusion model conditioned on the class is trained on the
        posterior draws of the training rows, and samples of a class follow
        the codes of that class's rows. The ELBO, and so training and the
        scores, keep ``p(z | y)``.

    {shared_parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels seen during fit.

    label_name_ : str or None
        The name of ``y`` when it was a named pandas Series (as
        ``feature_names_in_`` keeps the columns of ``X``), else None. The
        command line writes generated classes under this name.

    class_prior_ : ndarray of shape (n_classes,)
        Share of each class in the training data: ``p(y)`` of the model, used
        by :meth:`predict_proba` and by :meth:`sample` without ``y``.

    class_latent_means_, class_latent_variances_ : ndarray of shape \
(n_classes, n_components)
        Mean and variance of ``p(z | y)`` for each class (zeros and ones with
        ``latent_prior="standard"``).

    {shared_attributes}

    prior_loss_curve_ : list of float or None
        With a learned prior, its training loss of each of its epochs; None
        with ``prior="gaussian"``.

    See Also
    --------
    VAETransformer : The unconditional model.
    sklearn.naive_bayes.GaussianNB : Another generative classifier, with a
        far simpler ``p(x | y)``.

    References
    ----------
    .. [1] K. Sohn, H. Lee and X. Yan, "Learning Structured Output
       Representation using Deep Conditional Generative Models", NeurIPS 2015.
    .. [2] D. P. Kingma, D. J. Rezende, S. Mohamed and M. Welling,
       "Semi-Supervised Learning with Deep Generative Models", NeurIPS 2014.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skvae import ConditionalVAE
    >>> X, y = load_digits(return_X_y=True)
    >>> cvae = ConditionalVAE(max_iter=5, random_state=0).fit(X / 16, y)
    >>> X_new, y_new = cvae.sample(3, y=7)
    >>> X_new.shape, y_new.tolist()
    ((3, 64), [7, 7, 7])
    >>> cvae.transform(X[:2] / 16, y[:2]).shape     # style codes
    (2, 4)
    """

    _parameter_constraints = {
        **BaseVAE._parameter_constraints,
        "latent_prior": [StrOptions({"standard", "class"})],
        "independence_weight": [Interval(Real, 0, None, closed="left")],
        "prior": [StrOptions(set(PRIORS)), DiffusionPrior],
    }
    _structural_params = BaseVAE._structural_params + ("prior",)
    _module_class = ConditionalVAEModule
    _criterion_class = ConditionalELBOLoss

    def __skvae_tags__(self):
        return ModelTags(samples="X_y", labels="classes", learned_prior=True)

    def __init__(
        self,
        n_components=4,
        *,
        latent_prior="standard",
        independence_weight=0.1,
        prior="gaussian",
        architecture="mlp",
        image_shape=None,
        conv_channels=(32, 64),
        encoder=None,
        decoder=None,
        hidden_layer_sizes=None,
        activation="gelu",
        beta=1.0,
        kl_warmup=0.0,
        likelihood="gaussian",
        variance="shared",
        max_iter=200,
        max_steps=2000,
        batch_size="auto",
        learning_rate_init=1e-3,
        learning_rate="cosine",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
        buffer_size=65536,
        precision="float32",
        compile=False,
        column_types=None,
        handle_unknown="warn",
    ):
        super().__init__(
            n_components=n_components,
            architecture=architecture,
            image_shape=image_shape,
            conv_channels=conv_channels,
            encoder=encoder,
            decoder=decoder,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            beta=beta,
            kl_warmup=kl_warmup,
            likelihood=likelihood,
            variance=variance,
            max_iter=max_iter,
            max_steps=max_steps,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            learning_rate=learning_rate,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            device=device,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
            warm_start=warm_start,
            buffer_size=buffer_size,
            precision=precision,
            compile=compile,
            column_types=column_types,
            handle_unknown=handle_unknown,
        )
        self.latent_prior = latent_prior
        self.independence_weight = independence_weight
        self.prior = prior

    # ------------------------------------------------------------------ fitting

    def _module_params(self, X):
        return {
            **super()._module_params(X),
            "n_classes": len(self.classes_),
            "latent_prior": self.latent_prior,
            "prior": prior_config(self.prior),
        }

    def _criterion_params(self):
        # per feature, so it keeps its balance with the reconstruction term,
        # which grows with the number of features
        weight = self.independence_weight * self.n_features_in_
        return {"beta": self.beta, "mismatch_weight": weight}

    def _fit_inputs(self, X, y, reset, classes=None, accumulate=False):
        """Validated ``X`` and class indices; ``accumulate``: ``partial_fit``'s class counts.

        ``classes`` (all the classes, for ``partial_fit``'s first call) may
        hold classes that this chunk lacks. ``class_prior_`` counts the rows
        of every class seen: of this fit, or of all ``partial_fit`` calls.
        """
        y_given = y
        if y is not None:
            flat = np.asarray(y, dtype=object).ravel().tolist()
            missing = [i for i, label in enumerate(flat) if label is None or label != label]
            if missing:
                raise ValueError(
                    f"y has no class in {len(missing)} row(s) (None or NaN), e.g. row "
                    f"{missing[0]}. Every row needs its class: drop those rows or fill "
                    "in their labels."
                )
        X, y = self._validate_X(X, y=y, reset=reset)
        check_classification_targets(y)
        if reset:
            found = np.unique(y)
            all_classes = found if classes is None else np.unique(np.asarray(classes))
            if len(all_classes) < 2:
                raise ValueError(
                    "ConditionalVAE needs at least 2 classes in y, got only "
                    f"{all_classes.tolist()[0]!r}. For a single class use VAETransformer, "
                    "which needs no y. With partial_fit, pass every class in classes."
                )
            self.classes_ = all_classes
            name = getattr(y_given, "name", None)
            self.label_name_ = name if isinstance(name, str) else None
        elif classes is not None and not np.array_equal(
            np.unique(np.asarray(classes)), self.classes_
        ):
            raise ValueError(
                f"classes={np.unique(np.asarray(classes)).tolist()} differs from the "
                f"classes of the first partial_fit call, {self.classes_.tolist()}."
            )
        # a warm start or a later partial_fit call trains on the classes it was built for
        labels = self._encode_labels(y)
        counts = np.bincount(labels, minlength=len(self.classes_))
        if accumulate and not reset:
            counts = counts + self._class_counts_
        self._class_counts_ = counts
        self.class_prior_ = counts / counts.sum()
        return X, {"labels": labels}

    @available_if(BaseVAE._has_partial_fit)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Train for one epoch on ``X`` and its classes ``y``, continuing the model.

        As :meth:`VAETransformer.partial_fit`. ``classes`` lists every class
        on the first call (as ``SGDClassifier.partial_fit`` takes it), when a
        chunk may lack some; without it the first chunk's classes are all
        the model knows. ``class_prior_`` counts the rows of all calls.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of training data.
        y : array-like of shape (n_samples,)
            Class of each row.
        classes : array-like of shape (n_classes,), default=None
            Every class, on the first call; later calls may repeat it.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        return self._fit_or_restore(X, y, partial=True, classes=classes, accumulate=True)

    def fit(self, X, y):
        """Fit the conditional VAE to ``X`` and its classes ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class of each row (any labels: strings, integers...).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return super().fit(X, y)

    def _statistics_inputs(self, inputs):
        return {"labels": inputs["labels"]}

    def _prior_inputs(self, rows, prior, device):
        # a learned prior of the codes given the class: its one-hot condition
        labels = torch.as_tensor(rows["labels"], device=device)
        return {"c": torch.nn.functional.one_hot(labels, prior.n_conditions).float()}

    def _fit(self, X, warm, inputs, random_state=None):
        super()._fit(X, warm, inputs, random_state)
        module = self.module_
        shape = len(self.classes_), self.n_components
        if module.class_prior:
            self.class_latent_means_ = module.prior_loc.detach().cpu().numpy().astype(np.float64)
            self.class_latent_variances_ = (
                np.exp(module.prior_log_var.detach().cpu().numpy()).astype(np.float64)
            )
        else:
            self.class_latent_means_ = np.zeros(shape)
            self.class_latent_variances_ = np.ones(shape)
        return self

    # ---------------------------------------------------------------- inference

    def _encode_labels(self, y, n_rows=None):
        """Class indices of labels ``y`` (one label is broadcast to ``n_rows``)."""
        y = np.asarray(y)
        if y.ndim == 0 and n_rows is not None:
            y = np.full(n_rows, y.item(), dtype=y.dtype)
        y = column_or_1d(y, warn=True)
        if n_rows is not None and y.shape[0] != n_rows:
            raise ValueError(
                f"y has {y.shape[0]} entries but there are {n_rows} rows; give one "
                "class per row, or a single class for all of them."
            )
        lookup = {label: i for i, label in enumerate(self.classes_.tolist())}
        try:
            return np.array([lookup[label] for label in y.tolist()], dtype=np.int64)
        except (KeyError, TypeError):
            unknown = next(label for label in y.tolist() if label not in lookup)
            raise ValueError(
                f"y holds {unknown!r}, which is not a class seen during fit; "
                f"the classes are {self.classes_.tolist()}."
            ) from None

    def _class_bounds(self, X, n_draws):
        """Conditional ELBO of every row under every class, shape (n_samples, n_classes)."""
        return np.column_stack(
            [
                self._score_samples(X, n_draws, False, labels=np.full(X.shape[0], k))
                for k in range(len(self.classes_))
            ]
        )

    def _joint_log_likelihood(self, X, n_draws):
        with np.errstate(divide="ignore"):
            return self._class_bounds(X, n_draws) + np.log(self.class_prior_)

    def _posterior_log_proba(self, X, n_draws):
        """``log p(y | x)`` by Bayes' rule over the class bounds, (n_samples, n_classes).

        A row that no class can score (its bound is -inf under every class:
        values beyond float range) carries no evidence about its class: its
        posterior is the class prior, rather than 0 / 0.
        """
        joint = self._joint_log_likelihood(X, n_draws)
        hopeless = np.isneginf(joint).all(axis=1)
        with np.errstate(divide="ignore"):
            joint[hopeless] = np.log(self.class_prior_)
        # relative to each row's best class first: at bounds of -1e49 the
        # prior's few nats are below float64's resolution
        joint = joint - joint.max(axis=1, keepdims=True)
        return joint - logsumexp(joint, axis=1, keepdims=True)

    def predict_log_proba(self, X, *, n_draws=10):
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to classify.
        n_draws : int, default=10
            Monte-Carlo draws of the code per sample and class.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._posterior_log_proba(X, n_draws)

    def predict_proba(self, X, *, n_draws=10):
        """Class probabilities by Bayes' rule over the conditional bounds.

        ``p(y | x)`` is proportional to ``class_prior_[y] * exp(ELBO(x | y))``:
        the ELBO stands in for ``log p(x | y)``, so these are the model's
        probabilities up to the bound's (class-dependent) gap.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to classify.
        n_draws : int, default=10
            Monte-Carlo draws of the code per sample and class.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; each row sums to 1.
        """
        return np.exp(self.predict_log_proba(X, n_draws=n_draws))

    def predict(self, X):
        """The most probable class of each sample (see :meth:`predict_proba`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to classify.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        log_proba = self.predict_log_proba(X)
        return self.classes_[log_proba.argmax(axis=1)]

    def transform(self, X, y=None):
        """Encode ``X`` as posterior means of its code.

        With ``y``, the means of ``q(z | x, y)``: the style of each sample
        given its class. Without (as in a fitted ``Pipeline``), the class is
        not known and the code's posterior is the mixture
        ``sum_y p(y | x) q(z | x, y)`` over :meth:`predict_proba`; its mean
        is returned.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.
        y : array-like of shape (n_samples,) or a single label, default=None
            Class of each row (one label applies to every row).

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Latent codes, in the dtype of ``X``.
        """
        check_is_fitted(self)
        if y is not None:
            X = self._validate_X(X, reset=False, likelihood_support=False)
            return self._encode_mean(X, labels=self._encode_labels(y, X.shape[0]))
        X = self._validate_X(X, reset=False)
        proba = np.exp(self._posterior_log_proba(X, n_draws=10))
        Z = np.zeros((X.shape[0], self._fitted_param("n_components")))
        for k in range(len(self.classes_)):
            Z += proba[:, [k]] * self._encode_mean(X, labels=np.full(X.shape[0], k))
        return Z.astype(X.dtype, copy=False)

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then encode ``X`` as :meth:`transform` without ``y`` does.

        The codes are those that ``transform(X)`` gives after fitting, so a
        ``Pipeline`` sees the same kind of codes at fit and predict time. For
        style codes, call ``transform(X, y)``.
        """
        return self.fit(X, y, **fit_params).transform(X)

    def inverse_transform(self, X, y):
        """Decode codes as the given classes (decoder means ``E[x | z, y]``).

        Encoding with one class and decoding with another is style transfer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent codes, such as the output of ``transform(X, y)``.
        y : array-like of shape (n_samples,) or a single label
            The class to decode each code as (one label applies to every row).

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        Z = self._validate_codes(X)
        return self._decode_mean(Z, labels=self._encode_labels(y, Z.shape[0]))

    def sample(self, n_samples=1, *, y=None, random_state=None, noise=True):
        """Draw samples of chosen (or random) classes.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples. With an array ``y``, it must be 1 (the default)
            or ``len(y)``: one sample is drawn per entry of ``y``.
        y : array-like or a single label, default=None
            Classes to draw: one sample per entry, or ``n_samples`` of a single
            label. None draws classes from ``class_prior_``.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws; None uses the estimator's ``random_state``.
        noise : bool, default=True
            Draw from ``p(x | z, y)`` (True) or return its mean (False), which
            is what is usually shown for images.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The samples.
        y : ndarray of shape (n_samples,)
            Their classes (labels from ``classes_``).
        """
        check_is_fitted(self)
        self._check_n_samples(n_samples)
        rng = check_random_state(self.random_state if random_state is None else random_state)
        if y is None:
            labels = rng.choice(len(self.classes_), size=n_samples, p=self.class_prior_)
        elif np.ndim(y) == 0:
            labels = self._encode_labels(y, n_samples)
        else:
            labels = self._encode_labels(y)
            if n_samples not in (1, len(labels)):
                raise ValueError(
                    f"n_samples={n_samples} but y has {len(labels)} entries; with an "
                    "array y one sample is drawn per entry, so leave n_samples out."
                )
        if len(labels) == 0:
            raise ValueError("y is empty; give at least one class to draw.")
        if self.module_.code_prior is not None:
            z = self._draw_codes(len(labels), rng, context=np.eye(len(self.classes_))[labels])
        else:
            z = self.class_latent_means_[labels] + np.sqrt(
                self.class_latent_variances_[labels]
            ) * rng.standard_normal((len(labels), self._fitted_param("n_components")))
        return self._decode_draws(z, rng, noise, labels=labels), self.classes_[labels]

    def score_samples(self, X, y=None, *, n_draws=10):
        """Log-likelihood bound of each sample, in nats.

        With ``y``, the conditional ELBO, a lower bound on ``log p(x | y)``.
        Without, the bound on ``log p(x)`` that sums the classes out:
        ``log sum_y class_prior_[y] exp(ELBO(x | y))``. The draws are seeded
        from ``random_state``, so scores are deterministic.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : array-like of shape (n_samples,) or a single label, default=None
            Class of each row.
        n_draws : int, default=10
            Monte-Carlo draws of the code per sample (and class).

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        if y is None:
            return logsumexp(self._joint_log_likelihood(X, n_draws), axis=1)
        labels = self._encode_labels(y, X.shape[0])
        return self._score_samples(X, n_draws, False, labels=labels)

    def score(self, X, y=None, *, n_draws=10):
        """Mean conditional ELBO of ``X`` given ``y``, in nats per sample.

        Higher is better, so ``GridSearchCV`` can select the generative model
        with it. Unlike most classifiers this is not the accuracy: use
        ``scoring="accuracy"`` for that. Without ``y`` the classes are summed
        out (see :meth:`score_samples`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : array-like of shape (n_samples,), default=None
            Class of each row.
        n_draws : int, default=10
            Monte-Carlo draws of the code per sample.

        Returns
        -------
        score : float
        """
        return float(np.mean(self.score_samples(X, y, n_draws=n_draws)))

    @property
    def _n_features_out(self):
        return self._fitted_param("n_components")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

