"""A hyperparameter search on a dask.distributed cluster, through joblib's "dask" backend."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skvae import VAETransformer

distributed = pytest.importorskip("distributed")


@pytest.mark.slow
def test_grid_search_on_a_local_cluster_scores_as_with_one_job():
    # Two worker processes, as a cluster of two machines would run the
    # search: each fit is seeded by random_state, so the scores of every
    # candidate and fold match the n_jobs=1 search's up to float rounding
    # (the workers' torch may split matrix products over other thread counts)
    from joblib import parallel_backend

    X = load_digits().data[:400] / 16.0
    search = GridSearchCV(
        VAETransformer(max_iter=3, hidden_layer_sizes=(32,), random_state=0, device="cpu"),
        {"n_components": [2, 4], "beta": [0.5, 1.0]},
        cv=2,
    )
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as tasks, parallel_backend("dask"):
            on_cluster = clone(search).fit(X)
    # the 4 candidates x 2 folds ran as tasks on both workers
    assert len({task["worker"] for task in tasks.data}) == 2
    alone = search.fit(X)
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        np.testing.assert_allclose(on_cluster.cv_results_[key], alone.cv_results_[key], rtol=1e-5)
    assert on_cluster.best_params_ == alone.best_params_
