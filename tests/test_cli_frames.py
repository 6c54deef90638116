"""Data frames that NumPy reads as Python objects get a message naming the real problem."""

import naive
import numpy as np
import pytest

import fastgd

pd = pytest.importorskip("pandas")


def test_missing_values_in_nullable_columns_name_the_column():
    X = pd.DataFrame(
        {"a": pd.array([1, 2, 3], dtype="Int64"), "b": pd.array([1.0, None, 3.0], dtype="Float64")}
    )
    with pytest.raises(TypeError) as error:
        fastgd.gradient_descent(X, [1.0, 2.0, 3.0])
    message = str(error.value)
    assert message.startswith("X has missing values (pd.NA) in column 'b': drop or fill them")
    assert "X.dropna()" in message and "X.to_numpy(dtype=float, na_value=np.nan)" in message
    assert "Python objects" not in message


def test_missing_values_in_a_nullable_series():
    y = pd.Series(pd.array([True, None, False], dtype="boolean"), name="flag")
    with pytest.raises(TypeError, match=r"^y has missing values \(pd.NA\) in column 'flag'"):
        fastgd.gradient_descent(np.arange(3.0), y)


def test_nullable_columns_without_missing_values_say_how_to_convert():
    X = pd.DataFrame(
        {"a": pd.array([1, 2, 3], dtype="Int64"), "b": pd.array([1.0, 2.0, 3.0], dtype="Float64")}
    )
    with pytest.raises(TypeError, match=r"X has pandas nullable columns \(Float64, Int64\)"):
        fastgd.gradient_descent(X, [1.0, 2.0, 3.0])
    # The conversion the message suggests works: the fit is that of the frame's numbers.
    result = fastgd.gradient_descent(X.to_numpy(dtype=float), [1.0, 2.0, 3.0], n_iter=2)
    b, w, history = naive.gradient_descent([[1, 1], [2, 2], [3, 3]], [1, 2, 3], result.lr, 2)
    assert result.n_iter == 2 and result.intercept == pytest.approx(b, rel=1e-12)
    np.testing.assert_allclose(result.coef, w, rtol=1e-12)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-12)


class LazyFrame:
    """Stands in for a polars LazyFrame: `.collect()` and no `__array__`."""

    def collect(self):
        return np.ones((3, 1))


def test_a_lazy_frame_says_collect_first():
    lazy = LazyFrame()
    try:
        import polars

        lazy = polars.DataFrame({"a": [1.0, 2.0, 3.0]}).lazy()
    except ImportError:
        pass
    with pytest.raises(TypeError, match=r"^X is a lazy frame: call \.collect\(\) first$"):
        fastgd.gradient_descent(lazy, [1.0, 2.0, 3.0])


def test_other_objects_keep_the_plain_message():
    X = pd.DataFrame({"a": [1, None, "x"]})
    with pytest.raises(TypeError, match="X holds Python objects"):
        fastgd.gradient_descent(X, [1.0, 2.0, 3.0])
