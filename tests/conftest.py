import numpy as np
import pytest
from sklearn.datasets import load_digits, load_wine
from sklearn.preprocessing import StandardScaler


@pytest.fixture(scope="session")
def digits():
    data = load_digits()
    return StandardScaler().fit_transform(data.data), data.target


@pytest.fixture(scope="session")
def wine():
    """The wine data, standardised, and its classes: a small real table."""
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture
def small_X():
    rng = np.random.RandomState(0)
    return rng.normal(size=(60, 5)) @ rng.normal(size=(5, 8))

