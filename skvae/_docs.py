"""The shared docstrings of the estimators, and the decorator that fills them in.

A public estimator's docstring says ``{shared_parameters}`` and
``{shared_attributes}`` where the hyperparameters and fitted attributes of the
shared core belong; :func:`fill_doc` substitutes them, with each default read
from the estimator's own signature, and leaves out what the class lists in
``_doc_omit``.
"""

import inspect

# Documentation of the shared hyperparameters, substituted into each public
# estimator's docstring where it says ``{shared_parameters}``. Every
# ``<name>`` is replaced by that parameter's default in the estimator's own
# signature, so a documented default cannot drift from the code.
SHARED_PARAMETERS_DOC = """\
    architecture : {"mlp", "conv"}, default=<architecture>
        The encoder and decoder networks. ``"mlp"``: fully connected layers
        of ``hidden_layer_sizes``. ``"conv"``: for images (see
        ``image_shape``), stride-2 convolutions of ``conv_channels`` (kernel
        4, padding 1; each halves the height and width) then fully connected
        layers of ``hidden_layer_sizes``; the decoder mirrors them with
        transposed convolutions. ``encoder`` / ``decoder`` replace either
        network with a module of your own.

    image_shape : tuple of int or None, default=<image_shape>
        The shape of one row as an image, ``(channels, height, width)`` or
        ``(height, width)``: rows of ``channels * height * width`` values are
        read as images by ``architecture="conv"`` and by an ``encoder`` of
        your own. Images can also be passed as arrays of shape
        ``(n_samples, height, width)`` or ``(n_samples, channels, height,
        width)``, which gives the shape; outputs stay flat rows.

    conv_channels : tuple of int, default=<conv_channels>
        With ``architecture="conv"``, the channels of each stride-2
        convolution of the encoder (the decoder uses them reversed). Each
        layer halves the image, so a 28 x 28 image takes up to four.

    encoder : torch.nn.Module, class or None, default=<encoder>
        A network of your own for the encoder body. It gets a float tensor
        of standardised rows, shape ``(n, n_features)``, or of images,
        ``(n, channels, height, width)`` when ``image_shape`` is given, and
        must return a float tensor of shape ``(n, d)`` for any ``d``; skvae
        adds the posterior heads (and the class of a conditional model). A
        table modelled column by column (see ``column_types``) reaches it
        encoded: ``(n, n_inputs)``, its numbers standardised, each category
        one-hot and one indicator per column of the missing entries. An
        instance is copied at each fit, weights included (a pretrained
        encoder starts from them); a class (or ``functools.partial``) is
        called with no arguments at each fit, under ``random_state``. A
        module that breaks the contract is named in a clear error.

    decoder : torch.nn.Module, class or None, default=<decoder>
        A network of your own for the decoder. It gets a float tensor of
        codes of shape ``(m, n_components)`` (a conditional model appends the
        one-hot class) and must return a float tensor of one raw value per
        feature, shape ``(m, n_features)`` or ``(m, channels, height,
        width)``: the likelihood reads them as standardised means
        (``"gaussian"``, ``"student_t"``) or logits (``"bernoulli"``). Copied or called like
        ``encoder``.

    hidden_layer_sizes : tuple of int or None, default=<hidden_layer_sizes>
        Widths of the encoder's fully connected hidden layers (after the
        convolutions with ``"conv"``); the decoder mirrors them. None takes
        this estimator's default for the architecture:
        <mlp_hidden_layer_sizes> with ``"mlp"``, <conv_hidden_layer_sizes>
        with ``"conv"`` (dense layers after the convolutions overfit the
        likelihood; ``()`` puts the posterior heads on the flattened maps). ``()`` with
        ``"mlp"`` gives a linear encoder and decoder.

    activation : {"gelu", "relu", "tanh", "logistic", "identity", "elu"}, \
default=<activation>
        Activation after each hidden layer.

    beta : float, default=<beta>
        Weight of the KL term of the ELBO (beta-VAE). ``beta=1`` trains the
        true ELBO; smaller values trade a looser bound for sharper
        reconstructions, larger ones for a smoother latent space.

    kl_warmup : float in [0, 1), default=<kl_warmup>
        Share of the fit's optimiser steps (see ``max_steps``) over which the
        training weight of the KL term rises linearly, step by step, from near
        0 to ``beta`` (KL annealing, Bowman et
        al. 2016): the decoder learns to use the codes before the prior pulls
        them together. 0 trains the full ELBO from the first epoch.

    likelihood : {"gaussian", "student_t", "bernoulli"}, default=<likelihood>
        Decoder distribution ``p(x | z)``. ``"gaussian"`` learns its variance
        (see ``variance``), started at the features' spread and floored at 1%
        of the mean feature variance, so nearly constant features stay sane.
        ``"student_t"`` is a Student-t with the same learned scale and
        learned degrees of freedom (one per feature with
        ``variance="feature"``, else one for all; they start at 5): heavy
        tails where the data have them, so that rows with extreme values of
        a feature pull the fit less, and the Gaussian where they do not.
        ``"bernoulli"`` is for data in [0, 1] such as binary or ``pixels / 255``.

    variance : {"shared", "feature"}, default=<variance>
        With a Gaussian or Student-t likelihood, learn one noise variance
        (squared scale) shared by all features, as probabilistic PCA does, or
        one per feature, as factor analysis does. ``"shared"`` makes the
        codes account for every feature and gives better low-dimensional
        embeddings; ``"feature"`` fits features of unequal noise more
        closely and so can score such data higher.

    max_iter : int, default=<max_iter>
        Maximum number of epochs (passes over the training rows).

    max_steps : int or None, default=<max_steps>
        Budget of optimiser steps (mini-batches): a fit plans as many whole
        epochs as fit in ``max_steps`` steps, at most ``max_iter`` and at
        least one (on data of more than ``max_steps`` batches, one epoch,
        which takes more steps). Small data get up to ``max_iter`` epochs and
        large data fewer; with ``batch_size="auto"``, whose batch stops
        growing at 1,024 rows, the cost of a fit stops growing with the rows
        from 16,384 of them. The warm-ups and the step-size schedule run over
        the planned steps; the stopping rule (see ``tol``) may end the fit
        sooner. None plans ``max_iter`` epochs whatever the rows.

    batch_size : int or "auto", default=<batch_size>
        Rows per mini-batch. ``"auto"``: one sixteenth of the training rows,
        at least 128 (all of them, if fewer) and at most 1024, with the step
        size scaled to match (``learning_rate_init * sqrt(batch / 128)``, the
        square-root rule of adaptive optimisers; never below
        ``learning_rate_init``); the fitted net's ``net_.batch_size`` holds
        the choice. An int is used as given, with ``learning_rate_init`` as
        given. Inference runs in blocks of the batch (with ``"auto"``, of at
        least 128 rows), which bounds its memory.

    learning_rate_init : float, default=<learning_rate_init>
        Initial step size of the Adam optimiser, for a batch of 128 rows
        when ``batch_size="auto"`` (see there). The likelihood's noise
        variance and a mixture prior's parameters move 30 times faster.

    learning_rate : {"cosine", "constant"}, default=<learning_rate>
        Step-size schedule: a cosine decay to zero over the planned epochs
        (which tightens the bound noticeably), or constant.

    early_stopping : bool, default=<early_stopping>
        Hold out ``validation_fraction`` of the rows and watch their loss
        instead of the training loss (see ``tol``): the fit stops when it
        has not improved on its best by ``tol`` for ``n_iter_no_change``
        epochs, and the weights of its best epoch are kept, also when the
        planned epochs end first (``verbose`` says so; the epochs before the
        rule is first checked, see ``tol``, do not count).

    validation_fraction : float, default=<validation_fraction>
        Share of the rows held out when ``early_stopping=True``.

    n_iter_no_change : int, default=<n_iter_no_change>
        Epochs of the stopping rule's windows (see ``tol``).

    tol : float, default=<tol>
        The stopping rule, with ``learning_rate="constant"`` or
        ``early_stopping``: a fit ends before its planned epochs when the
        mean training loss of the last ``n_iter_no_change`` epochs is not at
        least ``tol`` (nats per sample) below the mean of the
        ``n_iter_no_change`` epochs before them; the fitted weights are the
        last epoch's. Means of windows rather than the best epoch, as
        ``MLPRegressor`` watches: one epoch's training loss of a VAE is a
        noisy estimate. With ``early_stopping``, the validation loss is
        watched instead (see there). The rule is never checked during the
        family's warm-up (of the KL term or a penalty) nor in the first
        quarter of the planned epochs. Under the default cosine schedule the
        training loss is not watched: a flat stretch there does not end the
        progress (the loss falls again as the step size shrinks), and the fit
        ends with its schedule. To run every planned epoch, set
        ``n_iter_no_change`` to ``max_iter``.

    device : str or torch.device, default=<device>
        Where to train and infer: ``"auto"`` (CUDA when torch sees a GPU,
        else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``... Asking for CUDA
        without a GPU is an error, never a silent CPU run. On the CPU,
        inference runs in float64 (training in float32), so a row's outputs
        do not depend on the other rows it is processed with.

    random_state : int, RandomState instance or None, default=<random_state>
        Seeds the weights, the shuffling, the training noise and the
        Monte-Carlo draws of the scores. An int gives identical results on
        the CPU from run to run, and in threads that fit or sample at once:
        every call draws from ``torch.Generator`` objects of its own. The
        caller's global torch and numpy random states are left untouched
        (with None, the seeds are drawn from numpy's global state).

    verbose : int, default=<verbose>
        1 shows one progress bar per fit on stderr (the batches of all epochs,
        a learned prior's included, the last epoch's losses and the time
        left); 2 prints a table of every epoch's losses (skorch's, in the
        units of ``loss_curve_``) on stdout, with the bar above it where
        stderr is a terminal; 0 prints nothing.

    callbacks : list of skorch callbacks or (name, callback) tuples, \
default=<callbacks>
        Extra callbacks for the underlying :class:`skorch.NeuralNet`
        (checkpoints, logging, gradient clipping...). They are copied at
        each fit.

    warm_start : bool, default=<warm_start>
        If True, a second ``fit`` continues training the fitted network for
        another plan of epochs (see ``max_steps``) instead of starting over.
        That fit uses
        the current training hyperparameters (``learning_rate_init``,
        ``beta``, ``kl_warmup``, ``batch_size``, ...) with a fresh optimizer
        and a whole new schedule; its epochs add to ``n_iter_`` and
        ``loss_curve_``. Hyperparameters that shape the network
        (``n_components``, ``likelihood``, the architecture, ...) cannot
        change: such a warm fit is refused with an error naming them.

    buffer_size : int, default=<buffer_size>
        When ``X`` is an ``np.memmap`` or a dask array, it is never copied
        into memory: ``fit`` reads it in contiguous blocks (8192 rows of a
        memory map, the row chunks of a dask array), in a new random order of
        the blocks every epoch, into a buffer of at least ``buffer_size``
        rows whose rows are shuffled together into mini-batches. Memory is
        bounded by the buffer, not by ``n_samples``; the shuffle is local to
        a buffer, so a larger one mixes rows from more of ``X``. Inference
        reads such data block by block as well. In-memory arrays are
        unaffected.

    precision : {"float32", "bfloat16", "float16"}, default=<precision>
        The precision of the training step's network arithmetic. ``"float32"``
        trains in full precision. ``"bfloat16"`` and ``"float16"`` run the
        encoder and decoder under ``torch.autocast`` (mixed precision: the
        weights, the optimiser and the likelihood and KL terms stay float32),
        which is faster on GPUs with tensor cores and on CPUs with bfloat16
        units; ``"float16"`` scales the loss against underflow
        (``torch.amp.GradScaler``). Inference is not affected (see
        ``device``).

    compile : bool, default=<compile>
        Train through ``torch.compile`` of the module (TorchInductor kernels
        fused for this network), which saves time per step on GPUs and for
        larger networks, after a compilation of seconds to a minute at the
        start of each ``fit``. Only training is compiled: inference and the
        fitted module are the plain module, which pickles and saves as
        usual.

    column_types : dict or None, default=<column_types>
        The type of each column of a table, where the dtypes do not say it:
        a dict from a type to its columns, given as a ColumnTransformer
        takes them (names, indices, a boolean mask, or a callable such as
        ``make_column_selector``), e.g. ``{"ordinal": ["education"],
        "count": [3]}``. The types: ``"real"`` (Gaussian, or Student-t with
        ``likelihood="student_t"``, with a variance per column),
        ``"binary"`` (Bernoulli), ``"nominal"`` (categorical),
        ``"ordinal"`` (cumulative logit) and ``"count"`` (negative binomial).
        Columns it does not name are inferred: categories, strings and
        objects are nominal (ordinal for an ordered pandas Categorical),
        booleans binary, floats real, integers a count when they are never
        negative and vary at least as much as their mean, else real. A table
        is modelled column by column when it has a non-numeric or nullable
        column, a missing entry (NaN, None, ``pd.NA``), or ``column_types``
        is given (``{}`` infers every column); then missing entries are
        accepted at fit and after, training and scores use the observed
        entries only, and ``inverse_transform`` and ``sample`` return the
        table's columns in their dtypes (a DataFrame when fitted on one).
        Otherwise every feature is real and ``likelihood`` models them all.

    handle_unknown : {"warn", "missing", "error"}, default=<handle_unknown>
        What a table's category that the model was not fitted on (by
        ``fit``, or the first chunk of ``partial_fit``) becomes in later
        data. ``"warn"`` reads it as a missing entry, which the encoder is
        told of and the scores leave out (a row's score then bounds the
        likelihood of its other entries; an imputer returns it as given),
        and warns, naming the column and the values; ``"missing"`` does the
        same without the warning; ``"error"`` refuses it. As scikit-learn's
        gradient boosting reads unknown categories as missing, so that a
        rare category absent from a training fold of cross-validation
        does not stop it."""

SHARED_ATTRIBUTES_DOC = """\
    n_features_in_ : int
        Number of features seen during fit (``channels * height * width``
        for images).

    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during fit, when ``X`` has string column names.

    image_shape_ : tuple of int or None
        ``(channels, height, width)`` of the images seen during fit, or None
        for tables.

    column_types_ : ndarray of shape (n_features,)
        The type of each column as fitted (see ``column_types``): all
        ``"real"`` for numeric data modelled as a whole.

    categories_ : list of ndarray or None
        The categories of each binary, nominal or ordinal column, in their
        order (the codes index them); None for the other columns.

    x_offset_ : ndarray of shape (n_features,)
        What each feature is centred by before it reaches the model (its
        training mean; the pooled pixel mean for images; 0 with a Bernoulli
        likelihood), computed in float64.

    x_unit_ : float
        The one scale every centred feature is divided by (the root mean
        square of the centred training data; 1 with a Bernoulli likelihood,
        and for a table modelled column by column, whose columns each have
        their own scale).
        Scores and losses are reported in nats of ``X``, not of these units.

    net_ : skorch.NeuralNet
        The trained net; ``net_.history`` holds every epoch's losses and times.
        It trains on ``(X - x_offset_) / x_unit_``.

    module_ : torch.nn.Module
        The trained VAE module (``net_.module_``).

    n_iter_ : int
        Number of epochs run: the planned ones (see ``max_steps``), or fewer
        when the stopping rule ended the fit (see ``tol``).

    loss_curve_ : list of float
        Training loss (negative ELBO with KL weight ``beta``, lowered during
        the ``kl_warmup`` epochs; nats per sample of ``X``) of each epoch.

    validation_loss_curve_ : list of float or None
        Validation loss of each epoch when ``early_stopping=True``.

    kl_per_dim_ : ndarray of shape (n_components,)
        Mean KL divergence of each latent dimension from the prior on the
        training data, in nats. Near-zero entries are collapsed dimensions.
        On more than 10,000 training rows, estimated on 10,000 of them drawn
        at random (seeded by ``random_state``).

    n_active_units_ : int
        Number of latent dimensions whose posterior mean varies across the
        training data by more than 0.01 (Burda et al. 2016); fewer than
        ``n_components`` shows posterior collapse. Estimated on the rows of
        ``kl_per_dim_``."""


# Shared parameters that a family written before them may lack in its __init__.
_ADDED_PARAMS = ("column_types", "handle_unknown")


def _default_text(default):
    return f'"{default}"' if isinstance(default, str) else repr(default)


def fill_doc(cls):
    """Substitute the shared parameter and attribute docs into a docstring.

    The class docstring says ``{shared_parameters}`` in its Parameters
    section and ``{shared_attributes}`` in its Attributes section, each on a
    line of its own; the shared entries are indented like that line. Every
    ``<name>`` placeholder of the shared docs becomes the default of ``name``
    in ``cls.__init__``.
    """
    doc = cls.__doc__
    missing = [p for p in ("{shared_parameters}", "{shared_attributes}") if p not in (doc or "")]
    if missing:
        raise TypeError(
            f"fill_doc needs a docstring on {cls.__name__} that says {' and '.join(missing)} "
            "where the shared entries go (in its Parameters and Attributes sections)."
        )
    params = inspect.signature(cls.__init__).parameters
    omit = tuple(getattr(cls, "_doc_omit", ()))
    # parameters added to the core after a family (of a user's) was written
    omit += tuple(name for name in _ADDED_PARAMS if name not in params)
    shared = _without_blocks(SHARED_PARAMETERS_DOC, omit)
    for name, param in params.items():
        shared = shared.replace(f"<{name}>", _default_text(param.default))
    for arch in ("mlp", "conv"):
        widths = repr(getattr(cls, f"_{arch}_hidden_layer_sizes"))
        shared = shared.replace(f"<{arch}_hidden_layer_sizes>", widths)
    if "default=<" in shared:
        missing = shared[shared.index("default=<") + 9 :].split(">", 1)[0]
        raise TypeError(f"{cls.__name__}.__init__ lacks the shared parameter {missing!r}")
    attributes = _without_blocks(SHARED_ATTRIBUTES_DOC, omit)
    for placeholder, text in (("{shared_parameters}", shared), ("{shared_attributes}", attributes)):
        doc = _put(doc, placeholder, text)
    cls.__doc__ = doc
    return cls


def _put(doc, placeholder, text):
    """``doc`` with ``placeholder``'s line replaced by ``text``, indented like that line.

    ``text`` is written at an indent of 4 spaces.
    """
    lines = doc.split("\n")
    for i, line in enumerate(lines):
        if line.strip() == placeholder:
            indent = line[: len(line) - len(line.lstrip())]
            block = [(indent + t[4:]) if t.strip() else "" for t in text.split("\n")]
            return "\n".join(lines[:i] + block + lines[i + 1 :])
    # the placeholder inside a line of text: substituted as it is
    return doc.replace(placeholder, text.lstrip())


def _without_blocks(doc, names):
    """A numpydoc Parameters / Attributes text without the entries of ``names``."""
    blocks, current = [], []
    for line in doc.split("\n"):
        if line.startswith("    ") and not line.startswith("     ") and " : " in line:
            blocks.append(current)
            current = []
        current.append(line)
    blocks.append(current)
    kept = [b for b in blocks if not b or b[0].split(" : ")[0].strip() not in names]
    return "\n".join(line for block in kept for line in block)
