import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler


@pytest.fixture(scope="session")
def digits():
    data = load_digits()
    return StandardScaler().fit_transform(data.data), data.target


@pytest.fixture
def small_X():
    rng = np.random.RandomState(0)
    return rng.normal(size=(60, 5)) @ rng.normal(size=(5, 8))
