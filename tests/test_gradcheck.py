"""Gradient checks: relative errors, their bands, and the two independent truths."""

from __future__ import annotations

import pytest
import torch

from grader.numeric.compare import CheckFailed, Mistake
from grader.numeric.gradcheck import (
    assert_derivative,
    autograd_derivative,
    band,
    central_difference,
    numeric_jacobian,
    relative_error,
)


@pytest.mark.parametrize("error, word", [(0.0, "good"), (9e-8, "good"), (1e-6, "acceptable"),
                                         (1e-3, "suspicious"), (0.5, "wrong")])
def test_bands_read_as_gradient_checks_are_usually_read(error, word):
    assert band(error).startswith(word)


def test_relative_error_judges_zero_entries_at_the_tensors_scale():
    expected = torch.tensor([1.0, 0.0, 1e-3], dtype=torch.float64)
    actual = expected + torch.tensor([1e-9, 1e-13, 1e-9], dtype=torch.float64)
    error = relative_error(actual, expected)
    assert error[0] == pytest.approx(1e-9, rel=1e-3)
    assert error[1] == pytest.approx(1e-13 / 1e-6, rel=1e-3)  # floored at 1e-6 * max |e|
    assert error[2] == pytest.approx(1e-6, rel=1e-3)
    assert relative_error(torch.tensor([float("nan")]), torch.tensor([1.0]))[0] == float("inf")


@pytest.mark.parametrize("f", [torch.sin, torch.tanh, torch.sigmoid, lambda x: x**3 - 2 * x])
def test_central_differences_agree_with_autograd_to_the_acceptable_band(f):
    x = torch.linspace(-3, 3, 41, dtype=torch.float64)
    error = relative_error(central_difference(f, x), autograd_derivative(f, x))
    assert float(error.max()) < 1e-7


def test_the_numeric_jacobian_of_softmax_matches_autograds():
    o = torch.randn(6, dtype=torch.float64)
    def f(v):
        return torch.softmax(v, dim=0)
    expected = torch.autograd.functional.jacobian(f, o)
    assert numeric_jacobian(f, o).shape == (6, 6)
    assert torch.allclose(numeric_jacobian(f, o), expected, atol=1e-9)


def test_a_right_derivative_passes_and_a_wrong_one_fails_with_its_band_and_place():
    x = torch.linspace(-2, 2, 9, dtype=torch.float64)
    truth = dict(autograd=autograd_derivative(torch.tanh, x),
                 numeric=central_difference(torch.tanh, x))
    assert_derivative(1 / torch.cosh(x) ** 2, what="tanh_grad(x)", at=("x", x), **truth)
    wrong = 1 - torch.tanh(x)
    with pytest.raises(CheckFailed) as failed:
        assert_derivative(wrong, what="tanh_grad(x)", at=("x", x), **truth, mistakes=[
            Mistake("the square is missing", lambda: 1 - torch.tanh(x))])
    message = failed.value.message
    assert "max relative error" in message and "wrong: above 1e-2" in message
    assert "at x[0] = -2" in message  # the worst entry: tanh'(-2) is 0.07, 1 - tanh(-2) is 1.96
    assert failed.value.hint == "the square is missing"


def test_a_derivative_off_by_one_part_in_a_million_fails_as_merely_acceptable():
    x = torch.linspace(-2, 2, 9, dtype=torch.float64)
    with pytest.raises(CheckFailed, match="acceptable only at a kink or in float32"):
        assert_derivative((1 + 1e-6) / torch.cosh(x) ** 2, what="tanh_grad(x)",
                          autograd=autograd_derivative(torch.tanh, x),
                          numeric=central_difference(torch.tanh, x))


def test_a_wrong_shape_is_said_before_any_error_is_computed():
    x = torch.zeros(4, dtype=torch.float64)
    with pytest.raises(CheckFailed, match=r"has shape \(4, 4\), expected \(4,\)"):
        assert_derivative(torch.zeros(4, 4), what="d", autograd=x, numeric=x)
