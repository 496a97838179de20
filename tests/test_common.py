"""scikit-learn's estimator checks on the 2-D snippet-feature path.

``X`` of shape (n_snippets, n_features) is read as one one-snippet video per
row. The pose model (STGNF) takes only VideoSets with tracks, and the
weakly-supervised models (RTFM, MIL) need 0/1 snippet labels as ``y``, so the
outlier-detector checks, which fit without ``y`` or with arbitrary targets,
do not apply to them; their own test modules cover their contract.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from unsupvad import MIL, FeatureAE, InterleavedVAD

EXPECTED_FAILURES = {
    "FeatureAE": {
        "check_sample_weight_equivalence_on_dense_data":
            "minibatch SGD: a weight of 2 is not the same as a repeated row (as for sklearn's IsolationForest)",
    },
}


def _tiny_ae(**kw):
    return FeatureAE(hidden=(4,), max_epochs=1, batch_size=64, device="cpu", **kw)


ESTIMATORS = [
    _tiny_ae(random_state=0),
    InterleavedVAD(_tiny_ae(), MIL(hidden_dims=(8, 4), bag_size=4, iterations_per_epoch=2),
                   max_modules=2, module_steps=1, device="cpu", random_state=0),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: EXPECTED_FAILURES.get(type(est).__name__, {}))
def test_sklearn_compatible(estimator, check):
    check(estimator)
