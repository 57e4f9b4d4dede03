"""One registry of estimators: everything that lists estimators derives from it."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skvae
from skvae import ModelTags, VAETransformer, all_estimators, get_model_tags
from skvae.cli import build_parser


def test_every_exported_estimator_is_registered_and_nothing_else():
    exported = {
        name
        for name in skvae.__all__
        if isinstance(getattr(skvae, name), type)
        and issubclass(getattr(skvae, name), BaseEstimator)
        and hasattr(getattr(skvae, name), "fit")
    }
    # VAEMap composes a family's estimator (its codes); it is no family itself
    assert exported == {name for name, _ in all_estimators()} | {"VAEMap"}
    assert len(exported) >= 8


@pytest.mark.parametrize("name, cls", all_estimators())
def test_tags_match_what_the_estimator_offers(name, cls):
    tags = get_model_tags(cls)
    assert isinstance(tags, ModelTags)
    assert (tags.codes is not None or tags.imputes) == hasattr(cls, "transform")
    assert (tags.samples is not None) == hasattr(cls, "sample")
    assert tags.decodes == hasattr(cls, "inverse_transform")
    assert tags.outlier_scores == hasattr(cls, "decision_function")
    assert tags.learned_prior == ("prior" in cls().get_params())
    assert tags.labels in (None, "classes", "clusters")


def test_tags_read_through_a_pipeline():
    pipe = make_pipeline(StandardScaler(), VAETransformer())
    assert get_model_tags(pipe) == get_model_tags(VAETransformer)
    with pytest.raises(TypeError, match="skvae estimator"):
        get_model_tags(StandardScaler())


def test_the_command_line_offers_every_transformer_with_a_cli_name():
    parser = build_parser()
    reduce = parser._subparsers._group_actions[0].choices["reduce"]
    (estimator,) = [a for a in reduce._actions if a.dest == "estimator"]
    expected = {
        get_model_tags(cls).cli_name
        for _, cls in all_estimators()
        if get_model_tags(cls).cli_name is not None
    }
    assert set(estimator.choices) == expected
    for name in expected:
        assert name in estimator.help


def test_a_family_defined_outside_skvae_is_registered_and_saved(tmp_path):
    class OutsideVAE(VAETransformer):
        """A family defined outside skvae."""

    names = dict(all_estimators(include_external=True))
    key = f"{OutsideVAE.__module__}.{OutsideVAE.__qualname__}"
    assert names[key] is OutsideVAE
    assert key not in dict(all_estimators())
    X = np.random.RandomState(0).normal(size=(50, 4))
    est = OutsideVAE(max_iter=2, hidden_layer_sizes=(8,), random_state=0).fit(X)
    skvae.save(est, tmp_path / "m.safetensors")
    loaded = skvae.load(tmp_path / "m.safetensors")
    assert type(loaded) is OutsideVAE
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))


def test_tags_that_do_not_match_the_methods_are_refused_at_definition():
    from sklearn.base import OutlierMixin

    from skvae.base import BaseVAE
    from skvae.models import ELBOLoss, VAEModule

    with pytest.raises(TypeError, match="codes='stochastic' but Undeclared has no transform"):

        class Undeclared(OutlierMixin, BaseVAE):  # default tags: a transformer's
            _module_class, _criterion_class = VAEModule, ELBOLoss

            def decision_function(self, X):
                return X


def test_files_of_families_defined_in_a_script_or_not_imported(tmp_path, monkeypatch):
    import skvae._registry as registry

    class ScriptVAE(VAETransformer):
        __module__ = "__main__"

    X = np.random.RandomState(0).normal(size=(40, 3))
    est = ScriptVAE(max_iter=2, hidden_layer_sizes=(8,), random_state=0).fit(X)
    with pytest.warns(UserWarning, match="defined in __main__"):
        skvae.save(est, tmp_path / "script.safetensors")
    # a file whose family is not imported says to import it
    monkeypatch.delitem(registry._REGISTRY, registry.registered_name(ScriptVAE))
    with pytest.raises(ValueError, match=r"its module, __main__.*is imported"):
        skvae.load(tmp_path / "script.safetensors")
