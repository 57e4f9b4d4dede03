"""scikit-learn's estimator checks over every public skvae estimator.

Estimators are discovered with :func:`skvae.all_estimators`, so a new one is
checked as soon as it is exported, without editing this file.

Every check passes: inference runs in float64 on the CPU, so a row's outputs
do not depend on the rest of its batch (subset and sample-order invariance
hold to ~1e-15). An expected failure, should one be needed, goes into
``EXPECTED_FAILED_CHECKS`` with its reason, is strict (an unexpected pass
fails the run) and gets a replacement test with a tolerance in the
estimator's own test file.
"""

from helpers import cheap
from sklearn.utils.estimator_checks import parametrize_with_checks

from skvae import all_estimators

# Small networks and few epochs: the checks test the contract, not the fit.
CHEAP = dict(max_iter=3, hidden_layer_sizes=(8,), batch_size=32, random_state=0)

# Checks an estimator is known to fail, by estimator name, with the reason.
EXPECTED_FAILED_CHECKS = {}

# check_clustering wants an ARI above 0.4 on three blobs and
# check_classifiers_train a training accuracy above 0.83: a clusterer and a
# classifier need a few more epochs than the checks of the contract alone.
MORE_EPOCHS = {"GMVAEClusterer": dict(max_iter=40), "ConditionalVAE": dict(max_iter=30)}


def _instances():
    return [
        cls(**{**CHEAP, **MORE_EPOCHS.get(name, {}), **cheap(cls)})
        for name, cls in all_estimators()
    ]


@parametrize_with_checks(
    _instances(),
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(type(est).__name__, {}),
    xfail_strict=True,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
