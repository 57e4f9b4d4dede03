"""Encoder and decoder networks: the architecture of a model, apart from its maths.

A model family never builds
layers itself: it asks a :class:`Networks` recipe for an encoder *body* (rows
in, one feature vector per row out; the family puts its posterior heads on
top) and a decoder (codes in, one raw value per feature out; the likelihood
turns those into ``p(x | z)``). The recipe is plain, picklable data, so it can
travel as a keyword argument of the skorch net.

Built in are ``"mlp"`` (fully connected layers) and ``"conv"`` (stride-2
convolutions and their transposes, for images). A user's own encoder or
decoder goes through :class:`UserEncoder` / :class:`UserDecoder`, which check
the contract (documented in the user guide) and name the module when it is
broken.
"""

import copy

import torch
from torch import nn

ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
}
ARCHITECTURES = ("mlp", "conv")

# Every built-in convolution halves the image: kernel 4, stride 2, padding 1.
_KERNEL, _STRIDE, _PADDING = 4, 2, 1


class MLP(nn.Sequential):
    """``Linear`` layers of the given widths, each followed by ``activation``."""

    def __init__(self, n_inputs, hidden_layer_sizes, activation):
        layers = []
        for width in hidden_layer_sizes:
            layers += [nn.Linear(n_inputs, width), ACTIVATIONS[activation]()]
            n_inputs = width
        super().__init__(*layers)
        self.n_outputs = n_inputs


def _output_layer(layer):
    """Start a decoder's last layer with a zero bias: the likelihood's offset
    (the data mean) is then the starting output."""
    nn.init.zeros_(layer.bias)
    return layer


class MLPDecoder(nn.Sequential):
    """The MLP with its widths reversed and a linear output of ``n_features``."""

    def __init__(self, n_inputs, n_features, hidden_layer_sizes, activation):
        body = MLP(n_inputs, tuple(reversed(hidden_layer_sizes)), activation)
        super().__init__(body, _output_layer(nn.Linear(body.n_outputs, n_features)))


def conv_sizes(image_shape, n_layers):
    """Height and width of the feature maps after each of ``n_layers`` convolutions."""
    sizes = [tuple(image_shape[1:])]
    for _ in range(n_layers):
        h, w = sizes[-1]
        sizes.append(
            tuple((s + 2 * _PADDING - _KERNEL) // _STRIDE + 1 for s in (h, w))
        )
    if min(sizes[-1]) < 1:
        raise ValueError(
            f"image_shape={tuple(image_shape)} is too small for {n_layers} stride-2 "
            f"convolutions (conv_channels has {n_layers} entries): each halves the "
            "image. Give conv_channels fewer entries."
        )
    return sizes


class ConvEncoder(nn.Module):
    """Stride-2 convolutions, then fully connected layers.

    Rows of ``C * H * W`` values are read as images of ``image_shape``; each
    convolution (kernel 4, stride 2, padding 1) halves the height and width
    and has the next width of ``channels``; the flattened maps go through an
    :class:`MLP` of ``hidden_layer_sizes``.
    """

    def __init__(self, image_shape, channels, hidden_layer_sizes, activation):
        super().__init__()
        self.image_shape = tuple(image_shape)
        sizes = conv_sizes(image_shape, len(channels))
        layers, n_in = [], image_shape[0]
        for width in channels:
            conv = nn.Conv2d(n_in, width, _KERNEL, _STRIDE, _PADDING)
            layers += [conv, ACTIVATIONS[activation]()]
            n_in = width
        self.conv = nn.Sequential(*layers)
        h, w = sizes[-1]
        self.dense = MLP(n_in * h * w, hidden_layer_sizes, activation)
        self.n_outputs = self.dense.n_outputs

    def forward(self, x):
        x = x.reshape((-1,) + self.image_shape)
        return self.dense(self.conv(x).flatten(1))


class ConvDecoder(nn.Module):
    """The mirror of :class:`ConvEncoder`: dense layers, then transposed convolutions.

    The codes go through an :class:`MLP` of the reversed ``hidden_layer_sizes``
    and a linear layer to the encoder's smallest feature maps, then through
    transposed convolutions that double the height and width (adding a row
    or column where the encoder's halving dropped one) back to
    ``image_shape``. Returns one raw value per pixel, shape (m, C, H, W).
    """

    def __init__(self, n_inputs, image_shape, channels, hidden_layer_sizes, activation):
        super().__init__()
        self.image_shape = tuple(image_shape)
        sizes = conv_sizes(image_shape, len(channels))
        self.dense = MLP(n_inputs, tuple(reversed(hidden_layer_sizes)), activation)
        h, w = sizes[-1]
        self.map_shape = (channels[-1], h, w) if channels else tuple(image_shape)
        n_map = self.map_shape[0] * h * w
        if not channels:
            # no convolution at all: a linear read-out of the pixels
            self.project = _output_layer(nn.Linear(self.dense.n_outputs, n_map))
            self.deconv = nn.Sequential()
            return
        self.project = nn.Sequential(
            nn.Linear(self.dense.n_outputs, n_map), ACTIVATIONS[activation]()
        )
        widths = [image_shape[0], *channels]
        layers = []
        for i in range(len(channels), 0, -1):
            target, source = sizes[i - 1], sizes[i]
            extra = tuple(t - _STRIDE * s for t, s in zip(target, source, strict=True))
            layer = nn.ConvTranspose2d(
                widths[i], widths[i - 1], _KERNEL, _STRIDE, _PADDING, output_padding=extra
            )
            layers.append(layer)
            if i > 1:
                layers.append(ACTIVATIONS[activation]())
        _output_layer(layers[-1])
        self.deconv = nn.Sequential(*layers)

    def forward(self, z):
        maps = self.project(self.dense(z)).reshape((-1,) + self.map_shape)
        return self.deconv(maps)


# ------------------------------------------------------------- user modules


def _module_name(module):
    return module.__name__ if isinstance(module, type) else type(module).__name__


def instantiate(spec, role):
    """A fresh ``nn.Module`` from a user's ``encoder`` / ``decoder`` parameter.

    An instance is deep-copied (the parameter itself is never trained, and a
    pretrained module starts from its weights); a class, or any callable that
    returns a module (``functools.partial``), is called with no arguments.
    """
    if isinstance(spec, nn.Module):
        return copy.deepcopy(spec)
    if callable(spec):
        module = spec()
        if isinstance(module, nn.Module):
            return module
        raise ValueError(
            f"{role}={spec!r} returned {type(module).__name__}, not a torch.nn.Module. "
            f"Pass an nn.Module instance, or a class (or functools.partial) that "
            "builds one with no arguments."
        )
    raise ValueError(
        f"{role} must be a torch.nn.Module instance, or a class (or "
        f"functools.partial) that builds one with no arguments; got {spec!r}."
    )


def _call(module, x, role, name):
    """``module(x)``; an error inside a user's module names the module."""
    try:
        return module(x)
    except Exception as exc:
        hint = f". See the {role} contract in the user guide."
        if x.shape[0] == 1 and module.training:
            hint = (
                ". The batch has one row: layers such as BatchNorm cannot train on one "
                "row. Choose a batch_size that does not leave a last batch of one row "
                "(n_samples % batch_size != 1)."
            )
        raise ValueError(
            f"The {role} {name} failed on a batch of shape {tuple(x.shape)}: "
            f"{type(exc).__name__}: {exc}".rstrip().rstrip(".")
            + hint
        ) from exc


def _check_dtypes(module, x, role, name):
    """The module keeps its input's dtype, in float32 (training) and float64 (inference)."""
    article = "an" if role[0] in "aeiou" else "a"
    why = (
        f"skvae trains in float32 and, on the CPU, infers in float64 (on a copy of the "
        f"module converted with .double()), so {article} {role} must work in its "
        "input's dtype. "
        "Remove the casts from its forward (.float(), .double(), dtype=...)."
    )
    for dtype in (torch.float32, torch.float64):
        probe = copy.deepcopy(module).to(dtype) if dtype != torch.float32 else module
        try:
            out = _dry_run(probe, x.to(dtype), role, name)
        except ValueError as exc:
            if dtype == torch.float32:
                raise
            cause = str(exc.__cause__ or exc).splitlines()[0]
            message = f"The {role} {name} fails on a float64 batch ({cause}): {why}"
            raise ValueError(message) from None
        if torch.is_tensor(out) and out.is_floating_point() and out.dtype != dtype:
            raise ValueError(f"The {role} {name} returned {out.dtype} for a {dtype} batch: {why}")


def _dry_run(module, x, role, name):
    """:func:`_call` in eval mode without gradients, on a first small batch."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            return _call(module, x, role, name)
    finally:
        module.train(was_training)


class UserEncoder(nn.Module):
    """A user's encoder body, checked against the contract.

    The contract: ``forward(x)`` takes a float tensor of shape
    ``(n, *input_shape)`` (standardised rows, or images of ``image_shape``) and
    returns a float tensor of shape ``(n, d)``, one feature vector per row;
    ``d`` is read from a first call on two rows, and skvae puts the
    posterior heads on top.
    """

    def __init__(self, spec, input_shape):
        super().__init__()
        self.net = instantiate(spec, "encoder")
        self.name = _module_name(self.net)
        self.input_shape = tuple(input_shape)
        out = _dry_run(self.net, torch.zeros((2,) + self.input_shape), "encoder", self.name)
        self._check(out, 2)
        _check_dtypes(self.net, torch.zeros((2,) + self.input_shape), "encoder", self.name)
        self.n_outputs = int(out.shape[1])

    def _check(self, out, n_rows):
        if (
            not torch.is_tensor(out)
            or not out.is_floating_point()
            or out.ndim != 2
            or out.shape[0] != n_rows
            or out.shape[1] < 1
        ):
            got = f"shape {tuple(out.shape)}" if torch.is_tensor(out) else type(out).__name__
            if torch.is_tensor(out) and not out.is_floating_point():
                got += f" of dtype {out.dtype}"
            raise ValueError(
                f"The encoder {self.name} returned {got} for a batch of shape "
                f"{(n_rows,) + self.input_shape}; an encoder must return a float "
                f"tensor of shape ({n_rows}, n_outputs): one feature vector per row "
                "(flatten its output, e.g. with nn.Flatten())."
            )

    def forward(self, x):
        x = x.reshape((-1,) + self.input_shape)
        out = _call(self.net, x, "encoder", self.name)
        self._check(out, x.shape[0])
        return out


class UserDecoder(nn.Module):
    """A user's decoder, checked against the contract.

    The contract: ``forward(z)`` takes a float tensor of shape
    ``(m, n_inputs)`` (codes, with a family's side input appended)
    and returns a float tensor of ``m`` rows of one raw value per feature:
    shape ``(m, n_features)`` or ``(m, *image_shape)``. The likelihood reads
    the values as standardised means (Gaussian) or logits (Bernoulli).
    """

    def __init__(self, spec, n_inputs, n_features, image_shape=None):
        super().__init__()
        self.net = instantiate(spec, "decoder")
        self.name = _module_name(self.net)
        self.n_features = n_features
        self.shapes = [(n_features,)] + ([tuple(image_shape)] if image_shape else [])
        out = _dry_run(self.net, torch.zeros(2, n_inputs), "decoder", self.name)
        self._check(out, (2, n_inputs))
        _check_dtypes(self.net, torch.zeros(2, n_inputs), "decoder", self.name)

    def _check(self, out, in_shape):
        n_rows = in_shape[0]
        if (
            torch.is_tensor(out)
            and out.is_floating_point()
            and out.shape[0] == n_rows
            and tuple(out.shape[1:]) in self.shapes
        ):
            return
        got = f"shape {tuple(out.shape)}" if torch.is_tensor(out) else type(out).__name__
        if torch.is_tensor(out) and not out.is_floating_point():
            got += f" of dtype {out.dtype}"
        wanted = " or ".join(str((n_rows,) + s) for s in self.shapes)
        raise ValueError(
            f"The decoder {self.name} returned {got} for codes of shape {in_shape}; "
            f"a decoder must return a float tensor of shape {wanted}: one raw value "
            "(a standardised mean or a logit) per feature of each row."
        )

    def forward(self, z):
        out = _call(self.net, z, "decoder", self.name)
        self._check(out, tuple(z.shape))
        return out


# ------------------------------------------------------------------ recipe


class Networks:
    """The recipe of a model's encoder and decoder: plain, picklable data.

    Parameters
    ----------
    n_features : int
        Values per row (``C * H * W`` for images).
    architecture : {"mlp", "conv"}, default="mlp"
        The built-in networks, used where ``encoder`` / ``decoder`` is None.
    hidden_layer_sizes : tuple of int, default=()
        Fully connected widths (after the convolutions with ``"conv"``); the
        decoder mirrors them.
    activation : str, default="gelu"
        Key of :data:`ACTIVATIONS`.
    image_shape : tuple (C, H, W) or None, default=None
        The shape of a row as an image: needed by ``"conv"``, and given to a
        user's encoder as the shape of its input.
    conv_channels : tuple of int, default=(32, 64)
        Channels of each stride-2 convolution of ``"conv"``.
    encoder, decoder : nn.Module, class or None, default=None
        A user's networks (see :class:`UserEncoder`, :class:`UserDecoder`).
    n_inputs, n_outputs : int or None, default=None
        Width of the encoder's input and of the decoder's output, where they
        are not ``n_features`` (a table of mixed columns: see
        :class:`~skvae.models.ColumnLayout`).
    """

    def __init__(
        self,
        n_features,
        *,
        architecture="mlp",
        hidden_layer_sizes=(),
        activation="gelu",
        image_shape=None,
        conv_channels=(32, 64),
        encoder=None,
        decoder=None,
        n_inputs=None,
        n_outputs=None,
    ):
        self.n_features = n_features
        self.n_inputs = n_features if n_inputs is None else n_inputs
        self.n_outputs = n_features if n_outputs is None else n_outputs
        self.architecture = architecture
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.activation = activation
        self.image_shape = tuple(image_shape) if image_shape is not None else None
        self.conv_channels = tuple(conv_channels)
        self.encoder = encoder
        self.decoder = decoder

    def __setstate__(self, state):
        # a recipe pickled before tables had columns of their own
        state.setdefault("n_inputs", state["n_features"])
        state.setdefault("n_outputs", state["n_features"])
        self.__dict__.update(state)

    @property
    def image_input(self):
        """Whether the encoder reads rows as images (and inputs share one scale)."""
        return self.image_shape is not None and (
            self.architecture == "conv" or self.encoder is not None
        )

    def build_encoder(self, n_context=0):
        """The encoder body; ``takes_context`` says whether a side input joins its input.

        A built-in MLP reads a family's side input of width ``n_context`` (a
        class one-hot) with the row; an image or a user's encoder cannot, so
        there the side input joins the body's output, before the heads.
        """
        if self.encoder is not None:
            shape = self.image_shape or (self.n_inputs,)
            body, takes = UserEncoder(self.encoder, shape), False
        elif self.architecture == "conv":
            body = ConvEncoder(
                self.image_shape, self.conv_channels, self.hidden_layer_sizes, self.activation
            )
            takes = False
        else:
            body = MLP(self.n_inputs + n_context, self.hidden_layer_sizes, self.activation)
            takes = True
        body.takes_context = takes
        return body

    def build_decoder(self, n_inputs):
        """A decoder from ``(m, n_inputs)`` codes to ``(m, ...)`` raw values per feature."""
        if self.decoder is not None:
            return UserDecoder(self.decoder, n_inputs, self.n_outputs, self.image_shape)
        if self.architecture == "conv":
            return ConvDecoder(
                n_inputs,
                self.image_shape,
                self.conv_channels,
                self.hidden_layer_sizes,
                self.activation,
            )
        return MLPDecoder(n_inputs, self.n_outputs, self.hidden_layer_sizes, self.activation)
