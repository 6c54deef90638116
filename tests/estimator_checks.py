"""scikit-learn's `check_estimator`, run the way every estimator test here runs it."""

import warnings

from sklearn.utils.estimator_checks import check_estimator


def checks_not_passed(estimator, ignore=(RuntimeWarning,)):
    """(how many checks ran, a line for each that did not pass), the warnings `ignore` names
    silenced (some checks fit collinear or tiny data on purpose; fastgd says so)."""
    with warnings.catch_warnings():
        for category in ignore:
            warnings.simplefilter("ignore", category)
        results = check_estimator(estimator, on_fail=None, on_skip=None)
    not_passed = [
        f"{r['check_name']}: {r['status']} {r['exception']!r}"
        for r in results
        if r["status"] != "passed"
    ]
    return len(results), not_passed
