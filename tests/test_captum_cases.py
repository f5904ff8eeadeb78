"""Captum's own test cases, re-expressed in foldlens's API.

Each test names, in its docstring, the Captum test it comes from (``pytorch/captum``,
``tests/attr/...``). The small models are Captum's test models with their fixed weights, written
again here; the expected numbers are the literal ones in Captum's tests, or derived by hand from
the model where Captum's test only checked a property (said so at the test). Captum is not
imported: nothing here is computed by it.

Two conventions differ from Captum's, and are spelled out where they matter:

- A foldlens target indexes one batch row. Captum's ``target=k`` on a batch of N examples is
  foldlens's list ``[(i, k) for i in range(N)]`` read on the diagonal (:func:`own_rows`), or
  ``fl.PerRow``; Captum's ``target=None`` on a model with one scalar per example is the callable
  ``lambda out: out.sum()`` (the examples are independent, so each row's gradient is its own).
- Occlusion's last window along a dimension: Captum starts windows at multiples of the stride and
  crops the last one at the edge; foldlens adds a full window that ends at the edge.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import foldlens as fl

Maps = torch.Tensor | tuple[torch.Tensor, ...]


# -- Captum's test models, with their fixed weights -------------------------------------------


class CappedAtOne(nn.Module):
    """Captum's ``BasicModel``: ``f(x) = 1 - relu(1 - x)``, that is ``min(x, 1)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1 - F.relu(1 - x)


class PaperExampleOne(nn.Module):
    """Captum's ``BasicModel2``, the first example of Sundararajan et al. 2017:
    ``f(x1, x2) = relu(relu(x1) - 1 - relu(x2))``."""

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return F.relu(F.relu(x1) - 1 - F.relu(x2))


class PaperExampleTwo(nn.Module):
    """Captum's ``BasicModel3``: ``f(x1, x2) = relu(relu(x1 - 1) - relu(x2))``, the same function
    as :class:`PaperExampleOne` written another way (the paper's implementation invariance)."""

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return F.relu(F.relu(x1 - 1) - F.relu(x2))


class DividedByArgument(nn.Module):
    """Captum's ``BasicModel4_MultiArgs``: column ``column`` of
    ``relu(relu(x1 - 1) - relu(x2) / divisor)``."""

    def forward(
        self, x1: torch.Tensor, x2: torch.Tensor, divisor: torch.Tensor, column: int = 0
    ) -> torch.Tensor:
        return F.relu(F.relu(x1 - 1) - F.relu(x2) / divisor)[:, column]


class WeightedByArgument(nn.Module):
    """Captum's ``BasicModel5_MultiArgs``: column ``column`` of
    ``relu(relu(x1 - 1) * weights[0] - relu(x2) * weights[1])``."""

    def forward(
        self, x1: torch.Tensor, x2: torch.Tensor, weights: list[float], column: int = 0
    ) -> torch.Tensor:
        return F.relu(F.relu(x1 - 1) * weights[0] - F.relu(x2) * weights[1])[:, column]


class SummedCappedColumn(nn.Module):
    """Captum's ``BasicModel6_MultiTensor``: column 1 of ``min(x1 + x2, 1)``."""

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return 1 - F.relu(1 - (x1 + x2))[:, 1]


class ThreeLayer(nn.Module):
    """Captum's ``BasicModel_MultiLayer``: an identity layer, then ``linear1`` (all weights 1,
    biases -10, 1, 1, 1), a ReLU and ``linear2`` (all weights 1, biases -1, 1). Output 0 is
    ``relu(s - 10) + 3 relu(s + 1) - 1`` for ``s`` the sum of the input row.

    ``add_input`` is added to ``x`` first; ``multidim_output`` returns ``(B, 2, 2, 2)``: the output
    ``o`` stacked with ``2 o`` along dimension 2, and that with 4 times itself along dimension 3.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.linear0 = nn.Linear(3, 3)
        self.linear1 = nn.Linear(3, 4)
        self.relu = nn.ReLU(inplace=inplace)
        self.linear2 = nn.Linear(4, 2)
        with torch.no_grad():
            self.linear0.weight.copy_(torch.eye(3))
            self.linear0.bias.zero_()
            self.linear1.weight.fill_(1.0)
            self.linear1.bias.copy_(torch.tensor([-10.0, 1.0, 1.0, 1.0]))
            self.linear2.weight.fill_(1.0)
            self.linear2.bias.copy_(torch.tensor([-1.0, 1.0]))

    def forward(
        self, x: torch.Tensor, add_input: torch.Tensor | None = None, multidim_output: bool = False
    ) -> torch.Tensor:
        if add_input is not None:
            x = x + add_input
        out: torch.Tensor = self.linear2(self.relu(self.linear1(self.linear0(x))))
        if not multidim_output:
            return out
        doubled = torch.stack((out, 2 * out), dim=2)
        return torch.stack((doubled, 4 * doubled), dim=3)


class ThreeInputs(nn.Module):
    """Captum's ``BasicModel_MultiLayer_MultiInput``: ``ThreeLayer(scale * (x1 + x2 + x3))``."""

    def __init__(self) -> None:
        super().__init__()
        self.model = ThreeLayer()

    def forward(
        self, x1: torch.Tensor, x2: torch.Tensor, x3: torch.Tensor, scale: float
    ) -> torch.Tensor:
        return self.model(scale * (x1 + x2 + x3))  # type: ignore[no-any-return]


class OneConv(nn.Module):
    """Captum's ``BasicModel_ConvNet_One_Conv``: a 3×3 convolution with all weights 1 and biases
    -50, -75 into two channels, a ReLU, then ``fc1`` (weights 1 on the first five of the eight
    features, -1 on the last three) and a ReLU. ``x2`` is added to ``x`` first.

    Captum leaves ``fc1``'s bias at its random initial value; it is 0 here so that no case depends
    on a seed (every expected number below holds with it)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3, 1)
        self.relu1 = nn.ReLU()
        self.fc1 = nn.Linear(8, 4)
        self.relu2 = nn.ReLU()
        with torch.no_grad():
            self.conv1.weight.fill_(1.0)
            self.conv1.bias.copy_(torch.tensor([-50.0, -75.0]))
            self.fc1.weight.copy_(torch.cat([torch.ones(4, 5), -torch.ones(4, 3)], dim=1))
            self.fc1.bias.zero_()

    def forward(self, x: torch.Tensor, x2: torch.Tensor | None = None) -> torch.Tensor:
        if x2 is not None:
            x = x + x2
        return self.relu2(self.fc1(self.relu1(self.conv1(x)).view(-1, 8)))  # type: ignore[no-any-return]


class SmallConvNet(nn.Module):
    """Captum's ``BasicModel_ConvNet`` (random convolutions; ``fc1`` and ``fc2`` weights all 1):
    two conv–ReLU–max-pool stages, two linear layers and a softmax over 10 classes."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3, 1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(2, 4, 3, 1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(4, 8)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(8, 10)
        self.softmax = nn.Softmax(dim=1)
        with torch.no_grad():
            self.fc1.weight.fill_(1.0)
            self.fc2.weight.fill_(1.0)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The output of ``relu2``."""
        return self.relu2(self.conv2(self.pool1(self.relu1(self.conv1(x)))))  # type: ignore[no-any-return]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pool2(self.features(x)).view(-1, 4)
        return self.softmax(self.fc2(self.relu3(self.fc1(h))))  # type: ignore[no-any-return]


class Fixed(nn.Module):
    """``net(*before, *inputs, *after)``: inputs held fixed and Captum's
    ``additional_forward_args`` as a wrapper, for cases run without ``forward_args``.

    A fixed tensor is repeated along dimension 0 to the rows of the attributed input, because
    foldlens stacks copies of the batch there (integrated gradients, SmoothGrad, occlusion).
    """

    def __init__(self, net: nn.Module, before: tuple[Any, ...] = (), after: tuple[Any, ...] = ()):
        super().__init__()
        self.net = net
        self.before = before
        self.after = after

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        rows = inputs[0].shape[0]

        def fit(value: Any) -> Any:
            if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape[0] != rows:
                return value.repeat(rows // value.shape[0], *[1] * (value.dim() - 1))
            return value

        return self.net(*map(fit, self.before), *inputs, *map(fit, self.after))  # type: ignore[no-any-return]


# -- helpers ----------------------------------------------------------------------------------


def own_rows(maps: Maps) -> Maps:
    """Row ``i`` of the map for target ``i``: Captum's per-example attributions of a batch from
    foldlens's per-target maps (targets ``[(i, ...) for i in range(batch)]``)."""
    if isinstance(maps, tuple):
        return tuple(own_rows(m) for m in maps)  # type: ignore[misc]
    return torch.stack([maps[i, i] for i in range(maps.shape[0])])


def assert_values(got: torch.Tensor, want: Any, atol: float = 1e-5) -> None:
    """``got`` has ``want``'s shape and values within ``atol`` (absolute, as Captum's ``delta``)."""
    expected = torch.as_tensor(want, dtype=got.dtype)
    torch.testing.assert_close(got, expected, rtol=0, atol=atol, check_dtype=False)


def per_sample_sum(out: torch.Tensor) -> torch.Tensor:
    """Captum's ``target=None`` on a model that returns one scalar per example."""
    return out.sum()


SALIENCY_INPUT = torch.tensor([1.0, 2.0, 3.0, 0.0, -1.0, 7.0])
SALIENCY_GRADIENT = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0]  # min(x, 1) rises only where x < 1


def weighted_large_case() -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[Any, ...]]:
    """Captum's ``_get_multiargs_basic_config_large`` (test_saliency.py): two distinct examples,
    each three times, and the forward arguments ``([2, 3], 1)``."""
    x1 = torch.tensor([[10.5, 12.0, 34.3], [43.4, 51.2, 32.0]]).repeat_interleave(3, dim=0)
    x2 = torch.tensor([[1.0, 3.5, 23.2], [2.3, 1.2, 0.3]]).repeat_interleave(3, dim=0)
    return (x1, x2), ([2, 3], 1)


# Column 1 is relu(2 relu(x1 - 1) - 3 relu(x2)), active in every row: its gradient is 2 for x1
# and -3 for x2 there, and 0 elsewhere.
WEIGHTED_GRADIENTS = ([[0.0, 2.0, 0.0]] * 6, [[0.0, -3.0, 0.0]] * 6)

THREE_INPUTS = (
    torch.tensor([[23.0, 100.0, 0.0], [20.0, 50.0, 30.0]]),
    torch.tensor([[20.0, 50.0, 30.0], [0.0, 100.0, 0.0]]),
    torch.tensor([[0.0, 100.0, 10.0], [2.0, 10.0, 3.0]]),
)
"""The three inputs of Captum's ``test_multi_input_ablation*`` (occlusion and feature ablation)."""


def holding_others(position: int) -> Fixed:
    """``ThreeInputs`` (scale 1) as a function of its input ``position``, the others fixed."""
    return Fixed(ThreeInputs(), THREE_INPUTS[:position], (*THREE_INPUTS[position + 1 :], 1))


ONE_CONV_INPUT = torch.arange(16, dtype=torch.float).view(1, 1, 4, 4)
# On ONE_CONV_INPUT, conv1's channel 0 is active at all four places but the first, channel 1 at
# none; fc1 sends +1 back to channel 0 and to channel 1's first place, -1 to its other three.
ONE_CONV_MAPS = {
    "guided_backprop": [[0.0, 1.0, 1.0, 1.0], [1.0, 3.0, 3.0, 2.0], [1.0, 3.0, 3.0, 2.0],
                        [1.0, 2.0, 2.0, 1.0]],
    "deconvnet": [[2.0, 3.0, 3.0, 1.0], [3.0, 5.0, 5.0, 2.0], [3.0, 5.0, 5.0, 2.0],
                  [1.0, 2.0, 2.0, 1.0]],
}  # fmt: skip
# With a second input of ones added, channel 0 is active everywhere, channel 1 at its last two.
ONE_CONV_TWO_INPUT_MAPS = {
    "guided_backprop": [[1.0, 2.0, 2.0, 1.0], [2.0, 4.0, 4.0, 2.0], [2.0, 4.0, 4.0, 2.0],
                        [1.0, 2.0, 2.0, 1.0]],
    "deconvnet": ONE_CONV_MAPS["deconvnet"],
}  # fmt: skip


# -- saliency (the vanilla gradient) ----------------------------------------------------------


def test_saliency_basic() -> None:
    """test_saliency.py test_saliency_test_basic_vanilla."""
    # Six examples of one value each; target i is example i's output.
    maps = fl.attribute(CappedAtOne(), SALIENCY_INPUT, [(i,) for i in range(6)], "gradient")
    assert_values(own_rows(maps), SALIENCY_GRADIENT, atol=0.0)


def test_saliency_multi_argument() -> None:
    """test_saliency.py _get_multiargs_basic_config_large, vanilla (signed gradient)."""
    inputs, extra = weighted_large_case()
    maps = fl.attribute(
        Fixed(WeightedByArgument(), after=extra), inputs, per_sample_sum, "gradient"
    )
    for got, want in zip(maps, WEIGHTED_GRADIENTS, strict=True):
        assert_values(got, want, atol=0.0)


def test_saliency_abs_with_forward_args() -> None:
    """test_saliency.py _get_multiargs_basic_config_large: Saliency's default ``abs=True`` and
    additional_forward_args."""
    inputs, extra = weighted_large_case()
    maps = fl.attribute(
        WeightedByArgument(), inputs, per_sample_sum, "gradient", abs=True, forward_args=extra
    )
    for got, want in zip(maps, WEIGHTED_GRADIENTS, strict=True):
        assert_values(got, torch.tensor(want).abs(), atol=0.0)


# -- input × gradient -------------------------------------------------------------------------


def test_input_x_gradient_basic() -> None:
    """test_input_x_gradient.py test_input_x_gradient_test_basic_vanilla."""
    maps = fl.attribute(CappedAtOne(), SALIENCY_INPUT, per_sample_sum, "input_x_gradient")
    want = SALIENCY_INPUT * torch.tensor(SALIENCY_GRADIENT)
    assert_values(maps, want, atol=0.05)


def test_input_x_gradient_multi_argument() -> None:
    """test_input_x_gradient.py test_saliency_test_basic_multi_variable_vanilla, on the large
    configuration of test_saliency.py (values derived by hand: input × gradient)."""
    inputs, extra = weighted_large_case()
    maps = fl.attribute(
        Fixed(WeightedByArgument(), after=extra), inputs, per_sample_sum, "input_x_gradient"
    )
    assert_values(maps[0], [[0.0, 24.0, 0.0]] * 3 + [[0.0, 102.4, 0.0]] * 3, atol=0.05)
    assert_values(maps[1], [[0.0, -10.5, 0.0]] * 3 + [[0.0, -3.6, 0.0]] * 3, atol=0.05)


# -- guided backpropagation and deconvolution --------------------------------------------------


@pytest.mark.parametrize("on", ["output", "fc1 neuron"])
@pytest.mark.parametrize("method", ["guided_backprop", "deconvnet"])
def test_one_conv(method: str, on: str) -> None:
    """test_guided_backprop.py test_simple_input_conv_gb, test_simple_input_conv_neuron_gb;
    test_deconvolution.py test_simple_input_conv_deconv, test_simple_input_conv_neuron_deconv."""
    target = (0, 0) if on == "output" else fl.Neuron("fc1", (0, 0))
    got = fl.attribute(OneConv(), ONE_CONV_INPUT, target, method, strict=True)
    assert_values(got, [[ONE_CONV_MAPS[method]]], atol=0.01)


@pytest.mark.parametrize("on", ["output", "fc1 neuron"])
@pytest.mark.parametrize("method", ["guided_backprop", "deconvnet"])
def test_one_conv_two_inputs(method: str, on: str) -> None:
    """test_guided_backprop.py test_simple_multi_input_conv_gb, ..._conv_neuron_gb;
    test_deconvolution.py test_simple_multi_input_conv_deconv, ..._conv_neuron_deconv."""
    target = (0, 0) if on == "output" else fl.Neuron("fc1", (0, 3))
    x = (ONE_CONV_INPUT, torch.ones(1, 1, 4, 4))
    got = fl.attribute(OneConv(), x, target, method, strict=True)
    for one in got:
        assert_values(one, [[ONE_CONV_TWO_INPUT_MAPS[method]]], atol=0.01)


@pytest.mark.parametrize("method", ["guided_backprop", "deconvnet"])
def test_neuron_at_last_relu_matches_output_target(method: str) -> None:
    """test_guided_backprop.py test_gb_matching; test_deconvolution.py test_deconv_matching."""
    net = OneConv()
    x = 100.0 * torch.randn(1, 1, 4, 4)
    for i in range(4):
        torch.testing.assert_close(
            fl.attribute(net, x, (0, i), method, strict=True),
            fl.attribute(net, x, fl.Neuron("relu2", (0, i)), method, strict=True),
            rtol=0,
            atol=0.01,
        )


# -- neuron gradient --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inplace", "module", "index", "x", "want"),
    [
        (False, "linear2", (0, 0), [[0.0, 100.0, 0.0]], [[4.0, 4.0, 4.0]]),
        (False, "linear1", (0, 0), [[0.0, 100.0, 0.0]], [[1.0, 1.0, 1.0]]),
        # Captum's neuron 0 at the *input* of the in-place ReLU is linear1's output element 0.
        (True, "linear1", (0, 0), [[0.0, 5.0, 4.0]], [[1.0, 1.0, 1.0]]),
        (False, "relu", (0, 0), [[0.0, 5.0, 4.0]], [[0.0, 0.0, 0.0]]),
        (False, "relu", (0, 1), [[0.0, 5.0, 4.0]], [[1.0, 1.0, 1.0]]),
    ],
    ids=["linear2", "linear1", "relu input inplace", "relu inactive", "relu active"],
)
def test_neuron_gradient(
    inplace: bool,
    module: str,
    index: tuple[int, ...],
    x: list[list[float]],
    want: list[list[float]],
) -> None:
    """test_neuron_gradient.py test_simple_gradient_input_linear2, _linear1, _relu_inplace,
    _linear1_inplace, _relu, _relu2."""
    got = fl.attribute(ThreeLayer(inplace), torch.tensor(x), fl.Neuron(module, index), "gradient")
    assert_values(got, want)


def test_neuron_gradient_aggregated() -> None:
    """test_neuron_gradient.py test_simple_gradient_input_relu_selector_fn (sum of the ReLU's
    output) and _relu2_agg_neurons (its first two units): gradients of sums are sums of maps."""
    units = [fl.Neuron("relu", (0, k)) for k in range(4)]
    maps = fl.attribute(ThreeLayer(), torch.tensor([[0.0, 5.0, 4.0]]), units, "gradient")
    assert_values(maps.sum(dim=0), [[3.0, 3.0, 3.0]])
    assert_values(maps[:2].sum(dim=0), [[1.0, 1.0, 1.0]])


def test_neuron_gradient_multi_input() -> None:
    """test_neuron_gradient.py test_simple_gradient_multi_input_linear2, _linear1."""
    x = torch.tensor([[0.0, 100.0, 0.0]])
    got = fl.attribute(
        Fixed(ThreeInputs(), after=(3,)), (x, x, x), fl.Neuron("net.model.linear2", (0, 0)),
        "gradient",
    )  # fmt: skip
    for one in got:
        assert_values(one, [[12.0, 12.0, 12.0]])
    got = fl.attribute(
        Fixed(ThreeInputs(), after=(x, 5)), (x, x), fl.Neuron("net.model.linear1", (0, 0)),
        "gradient",
    )  # fmt: skip
    for one in got:
        assert_values(one, [[5.0, 5.0, 5.0]])


def test_neuron_gradient_with_forward_args() -> None:
    """test_neuron_gradient.py test_simple_gradient_multi_input_linear2, _linear1, with
    additional_forward_args."""
    x = torch.tensor([[0.0, 100.0, 0.0]])
    net = ThreeInputs()
    got = fl.attribute(
        net, (x, x, x), fl.Neuron("model.linear2", (0, 0)), "gradient", forward_args=(3,)
    )
    for one in got:
        assert_values(one, [[12.0, 12.0, 12.0]])
    got = fl.attribute(
        net, (x, x), fl.Neuron("model.linear1", (0, 0)), "gradient", forward_args=(x, 5)
    )
    for one in got:
        assert_values(one, [[5.0, 5.0, 5.0]])


def test_neuron_gradient_matches_output_and_layer_gradients() -> None:
    """test_neuron_gradient.py test_matching_output_gradient,
    test_matching_intermediate_gradient."""
    net = SmallConvNet()
    x = torch.randn(2, 1, 10, 10)
    for b in range(2):
        for i in range(10):
            torch.testing.assert_close(
                fl.attribute(net, x, fl.Neuron("softmax", (b, i)), "gradient"),
                fl.attribute(net, x, (b, i), "gradient"),
                rtol=0,
                atol=0.001,
            )
        for i in range(4):
            leaf = x.clone().requires_grad_(True)
            (want,) = torch.autograd.grad(net.features(leaf)[b, i, 0, 0], leaf)
            got = fl.attribute(net, x, fl.Neuron("relu2", (b, i, 0, 0)), "gradient")
            torch.testing.assert_close(got, want, rtol=0, atol=0.001)


# -- layer attribution ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer_output", "wrt", "x", "want"),
    [
        ("linear0", "linear1", [[0.0, 100.0, 0.0]], [[0.0, 400.0, 0.0]]),
        ("linear1", "relu", [[0.0, 100.0, 0.0]], [[90.0, 101.0, 101.0, 101.0]]),
        ("relu", "linear2", [[3.0, 4.0, 0.0]], [[0.0, 8.0, 8.0, 8.0]]),
    ],
)
def test_layer_gradient_x_activation_at_next_input(
    layer_output: str, wrt: str, x: list[list[float]], want: list[list[float]]
) -> None:
    """test_layer_gradient_x_activation.py test_simple_input_gradient_activation,
    test_simple_linear_gradient_activation, test_simple_relu_gradient_activation."""
    # Each of these layers feeds only the next one, so its output is that module's input.
    got = fl.attribute(ThreeLayer(), torch.tensor(x), (0, 0), "input_x_gradient", wrt=wrt)
    assert_values(got, want, atol=0.01)


@pytest.mark.parametrize(
    ("layer", "x", "want"),
    [
        ("linear0", [[0.0, 100.0, 0.0]], [[0.0, 400.0, 0.0]]),
        ("linear1", [[0.0, 100.0, 0.0]], [[90.0, 101.0, 101.0, 101.0]]),
        ("relu", [[3.0, 4.0, 0.0]], [[0.0, 8.0, 8.0, 8.0]]),
        ("linear2", [[0.0, 100.0, 0.0]], [[392.0, 0.0]]),
    ],
)
def test_layer_gradient_x_activation(
    layer: str, x: list[list[float]], want: list[list[float]]
) -> None:
    """test_layer_gradient_x_activation.py test_simple_input_gradient_activation,
    test_simple_linear_gradient_activation, test_simple_relu_gradient_activation,
    test_simple_output_gradient_activation."""
    got = fl.attribute(ThreeLayer(), torch.tensor(x), (0, 0), "input_x_gradient", wrt_output=layer)
    assert_values(got, want, atol=0.01)


def test_layer_gradient_x_activation_multi_input() -> None:
    """test_layer_gradient_x_activation.py test_simple_gradient_activation_multi_input_linear2,
    _multi_input_relu."""
    net = ThreeInputs()
    x = (torch.tensor([[0.0, 10.0, 0.0]]), torch.tensor([[0.0, 10.0, 0.0]]))
    got = fl.attribute(
        net, (*x, torch.tensor([[0.0, 5.0, 0.0]])), (0, 0), "input_x_gradient",
        wrt_output="model.linear2", forward_args=(4,),
    )  # fmt: skip
    assert_values(got, [[392.0, 0.0]], atol=0.01)
    got = fl.attribute(
        net, (torch.tensor([[0.0, 10.0, 1.0]]), torch.tensor([[0.0, 4.0, 5.0]])), (0, 0),
        "input_x_gradient", wrt_output="model.relu", forward_args=(torch.zeros(1, 3), 5),
    )  # fmt: skip
    assert_values(got, [[90.0, 101.0, 101.0, 101.0]], atol=0.01)


# Captum's internal influence integrates along the path in *input* space. linear1 is affine in
# the input, so that path is, at linear1's output, the straight path from linear1's value at the
# input baseline: foldlens's integrated gradients there, with that value as the baseline.
INTERNAL_INFLUENCE = {
    # input [0, 100, 0] from Captum's default baseline 0, where linear1 is its biases
    "zero baseline": ([[0.0, 100.0, 0.0]], [[-10.0, 1.0, 1.0, 1.0]], [[0.9, 1.0, 1.0, 1.0]]),
    # input [0, 80, 0] from [0, -20, 0]; Captum writes 0.8 for the last three units (within its
    # delta 0.01), which open at α = 0.19: 0.81.
    "shifted baseline": ([[0.0, 80.0, 0.0]], [[-30.0, -19.0, -19.0, -19.0]],
                         [[0.7, 0.81, 0.81, 0.81]]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(INTERNAL_INFLUENCE))
def test_internal_influence_at_relu_input(case: str) -> None:
    """test_internal_influence.py test_simple_linear_internal_inf,
    test_simple_with_baseline_internal_inf: multiplied by (layer value - layer baseline) = 100."""
    x, baseline, want = INTERNAL_INFLUENCE[case]
    got = fl.attribute(
        ThreeLayer(), torch.tensor(x), (0, 0), "integrated_gradients", wrt="relu",
        baseline=torch.tensor(baseline), steps=500,
    )  # fmt: skip
    assert_values(got, 100 * torch.tensor(want), atol=1.0)


@pytest.mark.parametrize("case", list(INTERNAL_INFLUENCE))
@pytest.mark.parametrize(
    ("inplace", "layer"),
    [(False, {"wrt_output": "linear1"}), (True, {"wrt_output": "linear1"}),
     (True, {"wrt_tensor": "relu"})],
    ids=["linear1", "linear1 inplace", "relu input inplace"],
)  # fmt: skip
def test_internal_influence(inplace: bool, layer: dict[str, str], case: str) -> None:
    """test_internal_influence.py test_simple_linear_internal_inf, _linear_internal_inf_inplace,
    test_simple_relu_input_internal_inf_inplace, test_simple_with_baseline_internal_inf."""
    x, baseline, want = INTERNAL_INFLUENCE[case]
    got = fl.attribute(
        ThreeLayer(inplace), torch.tensor(x), (0, 0), "integrated_gradients", **layer,
        baseline=torch.tensor(baseline), steps=500, rule="riemann_trapezoid",
        multiply_by_inputs=False,
    )  # fmt: skip
    assert_values(got, want, atol=0.01)


def test_internal_influence_batch_with_forward_args() -> None:
    """test_internal_influence.py test_simple_multi_input_batch_relu_internal_inf."""
    x1 = torch.tensor([[0.0, 6.0, 14.0], [0.0, 80.0, 0.0]])
    x2 = torch.tensor([[0.0, 6.0, 14.0], [0.0, 20.0, 0.0]])
    x3 = torch.tensor([[0.0, 0.0, 0.0], [0.0, 20.0, 0.0]])
    # linear1 at the input baseline (x1 = x2 = 0): 5 * x3 summed, plus the biases.
    baseline = torch.tensor([[-10.0, 1.0, 1.0, 1.0], [90.0, 101.0, 101.0, 101.0]])
    maps = fl.attribute(
        ThreeInputs(), (x1, x2), [(0, 0), (1, 0)], "integrated_gradients",
        wrt_output="model.linear1", forward_args=(x3, 5), baseline=baseline, steps=500,
        rule="riemann_trapezoid", multiply_by_inputs=False,
    )  # fmt: skip
    assert_values(own_rows(maps), [[0.95, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]], atol=0.01)


# -- integrated gradients ---------------------------------------------------------------------


def test_integrated_gradients_multivariable() -> None:
    """test_integrated_gradients_basic.py _assert_multi_variable (vanilla): both examples of
    Sundararajan et al. 2017, and their implementation invariance."""
    x = (torch.tensor([3.0]), torch.tensor([1.0]))
    sums = []
    for net in (PaperExampleOne(), PaperExampleTwo()):
        got = fl.attribute(net, x, (0,), "integrated_gradients", steps=500)
        assert_values(got[0], [1.5], atol=0.05)
        assert_values(got[1], [-0.5], atol=0.05)
        sums.append(got[0] + got[1])
    # Captum asserts exact equality: the two models have the same gradient at every path point.
    torch.testing.assert_close(sums[0], sums[1], rtol=0, atol=0)


@pytest.mark.parametrize("multiply_by_inputs", [True, False])
@pytest.mark.parametrize(
    "rule", ["riemann_right", "riemann_left", "riemann_middle", "riemann_trapezoid",
             "gauss_legendre"],
)  # fmt: skip
def test_integrated_gradients_multivariable_rules(rule: str, multiply_by_inputs: bool) -> None:
    """test_integrated_gradients_basic.py test_multivariable_vanilla,
    test_multivariable_vanilla_wo_mutliplying_by_inputs."""
    x = (torch.tensor([3.0]), torch.tensor([1.0]))
    for net in (PaperExampleOne(), PaperExampleTwo()):
        got = fl.attribute(
            net, x, (0,), "integrated_gradients", steps=500, rule=rule,
            multiply_by_inputs=multiply_by_inputs,
        )  # fmt: skip
        assert_values(got[0], [1.5] if multiply_by_inputs else [0.5], atol=0.05)
        assert_values(got[1], [-0.5], atol=0.05)


@pytest.mark.parametrize(
    ("x", "baseline", "want"),
    [(1.0, 0.0, 1.0), (0.0, 0.0, 0.0), (-1.0, 0.00001, -1.00001)],
)
def test_integrated_gradients_univariable(x: float, baseline: float, want: float) -> None:
    """test_integrated_gradients_basic.py _assert_univariable (Captum checks completeness; with
    one input the attribution is all of f(x) - f(baseline))."""
    got = fl.attribute(
        CappedAtOne(), torch.tensor([x]), (0,), "integrated_gradients", baseline=baseline,
        steps=500,
    )  # fmt: skip
    assert_values(got, [want], atol=1e-5)


def test_integrated_gradients_multi_tensor() -> None:
    """test_integrated_gradients_basic.py _assert_multi_tensor_input (values derived by hand:
    along the path, column 1 rises until its sum 5.5 α reaches 1, at α = 1/5.5)."""
    x = (torch.tensor([[1.5, 2.0, 3.3]]), torch.tensor([[3.0, 3.5, 2.2]]))
    got = fl.attribute(SummedCappedColumn(), x, (0,), "integrated_gradients", steps=500)
    assert_values(got[0], [[0.0, 2.0 / 5.5, 0.0]], atol=0.01)
    assert_values(got[1], [[0.0, 3.5 / 5.5, 0.0]], atol=0.01)


BATCHED_INPUT = torch.tensor([[1.5, 2.0, 1.3], [0.5, 0.1, 2.3], [1.5, 2.0, 1.3]])
# Every row sums below 10: along the path only units 1-3 are active, so output 0 has gradient 3.
BATCHED_IG = 3 * BATCHED_INPUT


def test_integrated_gradients_batched_input() -> None:
    """test_integrated_gradients_basic.py _assert_batched_tensor_input and
    _compute_attribution_batch_helper_evaluate (values derived by hand; the batch equals each
    example alone, for any internal batch size)."""
    net = ThreeLayer()
    targets = [(i, 0) for i in range(3)]
    for batch_size in (None, 10, 20):
        batch = own_rows(
            fl.attribute(
                net, BATCHED_INPUT, targets, "integrated_gradients", steps=100,
                batch_size=batch_size,
            )
        )  # fmt: skip
        assert_values(batch, BATCHED_IG, atol=1e-4)
        for i in range(3):
            alone = fl.attribute(
                net, BATCHED_INPUT[i : i + 1], (0, 0), "integrated_gradients", steps=100,
                batch_size=batch_size,
            )  # fmt: skip
            torch.testing.assert_close(batch[i : i + 1], alone, rtol=0, atol=0.05)


BATCHED_TWO_INPUTS = (
    torch.tensor([[1.5, 2.1, 1.9], [0.5, 0.0, 0.7], [1.5, 2.1, 1.1]]),
    torch.tensor([[0.3, 1.9, 2.4], [0.5, 0.6, 2.1], [1.2, 2.1, 0.2]]),
)


def test_integrated_gradients_batched_two_inputs() -> None:
    """test_integrated_gradients_basic.py _assert_batched_tensor_multi_input (vanilla; values
    derived by hand)."""
    # The second input is ThreeLayer's add_input. Row 0 sums to 10.1, so unit 0 opens at
    # α = 10/10.1 and adds 1 - 10/10.1 to the path-averaged gradient 3; rows 1 and 2 stay below 10.
    factor = torch.tensor([[4 - 10 / 10.1], [3.0], [3.0]])
    maps = fl.attribute(
        ThreeLayer(), BATCHED_TWO_INPUTS, [(i, 0) for i in range(3)], "integrated_gradients",
        steps=500,
    )  # fmt: skip
    for got, x in zip(own_rows(maps), BATCHED_TWO_INPUTS, strict=True):
        assert_values(got, factor * x, atol=0.01)


@pytest.mark.parametrize(
    "rule", ["gauss_legendre", "riemann_left", "riemann_right", "riemann_middle",
             "riemann_trapezoid"],
)  # fmt: skip
def test_integrated_gradients_convergence_delta(rule: str) -> None:
    """test_integrated_gradients_basic.py test_batched_input_vanilla,
    test_batched_multi_input_vanilla: one convergence delta per example, near 0."""
    targets = [(i, 0) for i in range(3)]
    maps, report = fl.attribute(
        ThreeLayer(), BATCHED_INPUT, targets, "integrated_gradients", steps=500, rule=rule,
        return_report=True,
    )  # fmt: skip
    assert_values(own_rows(maps), BATCHED_IG, atol=1e-4)
    # The gradient is 3 all along every path: each rule is exact.
    assert_values(report.convergence_delta, [0.0, 0.0, 0.0], atol=1e-4)
    _, report = fl.attribute(
        ThreeLayer(), BATCHED_TWO_INPUTS, targets, "integrated_gradients", steps=500, rule=rule,
        return_report=True,
    )  # fmt: skip
    assert report.convergence_delta.shape == (3,)
    assert float(report.convergence_delta.abs().max()) < 0.07


@pytest.mark.parametrize("rule", ["gauss_legendre", "riemann_middle"])
def test_integrated_gradients_multi_argument(rule: str) -> None:
    """test_integrated_gradients_basic.py test_multi_argument_vanilla (_assert_multi_argument)."""
    x = (
        torch.tensor([[1.5, 2.0, 34.3], [3.4, 1.2, 2.0]]),
        torch.tensor([[3.0, 3.5, 23.2], [2.3, 1.2, 0.3]]),
    )
    # The selected column stays at 0 all along these paths, so every map is 0: what the case
    # checks is that a per-example forward argument (divisor, one row per example) follows the
    # examples into every stacked copy of the path, and that lists pass through untouched.
    cases: list[tuple[nn.Module, tuple[Any, ...], tuple[Any, ...]]] = [
        (DividedByArgument(), (torch.zeros(2, 3), 0.0), (torch.arange(1.0, 7.0).view(2, 3), 1)),
        (WeightedByArgument(), (0.0, 0.00001), ([2, 3], 1)),
        (WeightedByArgument(), (torch.zeros(1, 3), 0.00001), ([2, 3], 1)),
    ]
    for net, baseline, extra in cases:
        maps, report = fl.attribute(
            net, x, [(0,), (1,)], "integrated_gradients", baseline=baseline, forward_args=extra,
            steps=500, rule=rule, return_report=True,
        )  # fmt: skip
        for got in own_rows(maps):
            assert_values(got, torch.zeros(2, 3), atol=0.0)
        assert_values(report.convergence_delta, [0.0, 0.0], atol=0.07)


# -- noise tunnel (SmoothGrad, SmoothGrad², VarGrad) ------------------------------------------


@pytest.mark.parametrize(
    ("base", "want"),
    [
        ("gradient", SALIENCY_GRADIENT),
        ("input_x_gradient", SALIENCY_INPUT * torch.tensor(SALIENCY_GRADIENT)),
    ],
)
def test_smoothgrad_without_noise_is_its_base(base: str, want: Any) -> None:
    """test_saliency.py test_saliency_test_basic_smoothgrad; test_input_x_gradient.py
    test_input_x_gradient_test_basic_smoothgrad: without noise every sample is the base map."""
    got = fl.attribute(
        CappedAtOne(), SALIENCY_INPUT, per_sample_sum, "smoothgrad", base=base, noise=0.0,
        samples=10,
    )  # fmt: skip
    assert_values(got, want, atol=0.0)


@pytest.mark.parametrize("base", ["gradient", "input_x_gradient"])
def test_noise_tunnel_kinds_without_noise(base: str) -> None:
    """test_saliency.py test_saliency_test_basic_smoothgrad, _vargrad; test_input_x_gradient.py
    test_input_x_gradient_test_basic_smoothgrad, _vargrad (stdev 0: SmoothGrad is the base map,
    SmoothGrad² its square, VarGrad 0)."""
    plain = torch.tensor(SALIENCY_GRADIENT)
    if base == "input_x_gradient":
        plain = SALIENCY_INPUT * plain
    for kind, want in (("mean", plain), ("squared", plain**2), ("variance", 0 * plain)):
        got = fl.attribute(
            CappedAtOne(), SALIENCY_INPUT, per_sample_sum, "smoothgrad", base=base, kind=kind,
            stdev=0.0, samples=10,
        )  # fmt: skip
        assert_values(got, want, atol=0.0)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 6])
def test_noise_tunnel_kinds_multi_argument(batch_size: int) -> None:
    """test_saliency.py test_saliency_test_basic_multivar_sg_n_samples_batch_size_2, _3,
    test_saliency_test_basic_multivar_vg_n_samples_batch_size_1, _6 (values derived by hand: the
    gradient is constant within 2e-7 of these inputs)."""
    inputs, extra = weighted_large_case()
    for kind, power in (("mean", 1), ("squared", 2), ("variance", 0)):
        maps = fl.attribute(
            WeightedByArgument(), inputs, per_sample_sum, "smoothgrad", kind=kind,
            stdev=0.0000002, samples=10, batch_size=batch_size, forward_args=extra,
        )  # fmt: skip
        for got, gradient in zip(maps, WEIGHTED_GRADIENTS, strict=True):
            want = torch.tensor(gradient) ** power if power else torch.zeros(6, 3)
            assert_values(got, want, atol=1e-5)


def test_noise_tunnel_over_integrated_gradients() -> None:
    """test_integrated_gradients_basic.py test_batched_input_smoothgrad_wo_mutliplying_by_inputs
    (values derived by hand: the path-averaged gradient is 3 everywhere)."""
    targets = [(i, 0) for i in range(3)]
    maps = {
        multiply: own_rows(
            fl.attribute(
                ThreeLayer(), BATCHED_INPUT, targets, "smoothgrad", base="integrated_gradients",
                base_options={"steps": 500, "multiply_by_inputs": multiply}, stdev=0.0, samples=5,
            )
        )
        for multiply in (True, False)
    }  # fmt: skip
    assert_values(maps[False], torch.full((3, 3), 3.0), atol=1e-4)
    assert_values(maps[True], BATCHED_IG, atol=1e-4)
    torch.testing.assert_close(maps[False] * BATCHED_INPUT, maps[True], rtol=0, atol=1e-4)


# -- occlusion --------------------------------------------------------------------------------


SIMPLE_INPUT = torch.tensor([[20.0, 50.0, 30.0]])  # ThreeLayer's output 0 is 392 here


@pytest.mark.parametrize(
    ("options", "want"),
    [
        ({"window": 1}, [[80.0, 200.0, 120.0]]),
        ({"window": 2, "baseline": torch.tensor([10.0, 10.0, 10.0])}, [[200.0, 220.0, 240.0]]),
        # Convention: Captum's windows are [0:2] and [2:3], cropped at the edge, giving
        # [[280, 280, 120]]; foldlens's are [0:2] and [1:3], whose drops are 280 and 320.
        ({"window": 2, "stride": 2}, [[280.0, 300.0, 320.0]]),
    ],
    ids=["window 1", "window 2 baseline 10", "window 2 stride 2"],
)
def test_occlusion_simple_input(options: dict[str, Any], want: list[list[float]]) -> None:
    """test_occlusion.py test_simple_input, test_simple_input_larger_shape,
    test_simple_input_shape_with_stride, each with perturbations per pass 1, 2, 3."""
    for batch_size in (1, 2, 3):
        got = fl.attribute(
            ThreeLayer(), SIMPLE_INPUT, (0, 0), "occlusion", batch_size=batch_size, **options
        )
        assert_values(got, want)


def test_occlusion_multi_sample() -> None:
    """test_occlusion.py test_multi_sample_ablation."""
    x = torch.tensor([[2.0, 10.0, 3.0], [20.0, 50.0, 30.0]])
    for batch_size in (1, 2, 3):
        maps = fl.attribute(
            ThreeLayer(), x, [(0, 0), (1, 0)], "occlusion", window=1, batch_size=batch_size
        )
        assert_values(own_rows(maps), [[8.0, 35.0, 12.0], [80.0, 200.0, 120.0]])


@pytest.mark.parametrize(
    ("position", "window", "want"),
    [
        (0, 3, [[492.0, 492.0, 492.0], [400.0, 400.0, 400.0]]),
        (1, 1, [[80.0, 200.0, 120.0], [0.0, 400.0, 0.0]]),
        (2, 2, [[400.0, 420.0, 440.0], [48.0, 50.0, 52.0]]),
    ],
)
def test_occlusion_three_inputs(position: int, window: int, want: list[list[float]]) -> None:
    """test_occlusion.py test_multi_input_ablation_with_mask (one input at a time, the others
    held fixed; Captum occludes the inputs of a tuple one at a time too)."""
    maps = fl.attribute(
        holding_others(position), THREE_INPUTS[position], [(0, 0), (1, 0)], "occlusion",
        window=window,
    )  # fmt: skip
    assert_values(own_rows(maps), want)


@pytest.mark.parametrize(
    ("position", "baseline", "window", "stride", "want"),
    [
        (0, torch.tensor([[1.0, 4, 7], [3.0, 6, 9]]), 3, 2,
         [[444.0, 444.0, 444.0], [328.0, 328.0, 328.0]]),
        (1, 3.0, 1, 1, [[68.0, 188.0, 108.0], [-12.0, 388.0, -12.0]]),
        # Convention: Captum's windows are [0:2] and [2:3], giving [[368, 368, 24], [0, 0, -12]];
        # foldlens's are [0:2] and [1:3]: drops 368 and 408 in row 0, 0 and 4 in row 1.
        (2, torch.tensor([[4.0], [6.0]]), 2, 2, [[368.0, 388.0, 408.0], [0.0, 2.0, 4.0]]),
    ],
)  # fmt: skip
def test_occlusion_three_inputs_with_baselines(
    position: int, baseline: Any, window: int, stride: int, want: list[list[float]]
) -> None:
    """test_occlusion.py test_multi_input_ablation_with_baselines."""
    maps = fl.attribute(
        holding_others(position), THREE_INPUTS[position], [(0, 0), (1, 0)], "occlusion",
        window=window, stride=stride, baseline=baseline,
    )  # fmt: skip
    assert_values(own_rows(maps), want)


def test_occlusion_one_conv_two_inputs() -> None:
    """test_occlusion.py test_simple_multi_input_conv."""
    ones = torch.ones(1, 1, 4, 4)
    first, second = Fixed(OneConv(), after=(ones,)), Fixed(OneConv(), before=(ONE_CONV_INPUT,))
    for batch_size in (1, 2, 4, 8, 12, 16):
        assert_values(
            fl.attribute(first, ONE_CONV_INPUT, (0, 0), "occlusion", window=(1, 4, 4),
                         batch_size=batch_size),
            67 * ones,
        )  # fmt: skip
        assert_values(
            fl.attribute(second, ones, (0, 0), "occlusion", window=(1, 4, 4),
                         batch_size=batch_size),
            13 * ones,
        )  # fmt: skip
    for batch_size in (1, 3, 7, 14):
        got = fl.attribute(
            first, ONE_CONV_INPUT, (0, 0), "occlusion", window=(1, 2, 3), stride=(1, 2, 1),
            batch_size=batch_size,
        )  # fmt: skip
        assert_values(
            got,
            [[[[17.0, 17.0, 17.0, 17.0], [17.0, 17.0, 17.0, 17.0], [64.0, 65.5, 65.5, 67.0],
               [64.0, 65.5, 65.5, 67.0]]]],
        )  # fmt: skip
        got = fl.attribute(
            second, ones, (0, 0), "occlusion", window=(1, 1, 2), stride=(1, 1, 2),
            batch_size=batch_size,
        )  # fmt: skip
        assert_values(got, [[[[3.0] * 4, [3.0] * 4, [3.0] * 4, [0.0] * 4]]])


def test_occlusion_with_forward_args() -> None:
    """test_occlusion.py test_multi_input_ablation_with_mask, second part (inputs 2 and 3 passed
    as additional_forward_args, one row per example)."""
    x1, x2, x3 = THREE_INPUTS
    for batch_size in (1, 2, 3):
        maps = fl.attribute(
            ThreeInputs(), x1, [(0, 0), (1, 0)], "occlusion", window=3, batch_size=batch_size,
            forward_args=(x2, x3, 1),
        )  # fmt: skip
        assert_values(own_rows(maps), [[492.0, 492.0, 492.0], [400.0, 400.0, 400.0]])


def test_occlusion_integer_inputs() -> None:
    """test_occlusion.py test_simple_multi_input_int_to_int."""
    x1, x2 = torch.tensor([[-10], [3]]), torch.tensor([[-5], [1]])
    targets = [(0, 0), (1, 0)]
    got = fl.attribute(Fixed(PaperExampleTwo(), after=(x2,)), x1, targets, "occlusion", window=1)
    assert_values(own_rows(got), [[0], [1]], atol=0.0)
    got = fl.attribute(Fixed(PaperExampleTwo(), before=(x1,)), x2, targets, "occlusion", window=1)
    assert_values(own_rows(got), [[0], [-1]], atol=0.0)


# -- feature ablation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "want"),
    [
        ({}, [[80.0, 200.0, 120.0]]),
        ({"mask": torch.tensor([[0, 0, 1]])}, [[280.0, 280.0, 120.0]]),
        ({"mask": torch.tensor([[0, 0, 1]]), "baseline": 4}, [[248.0, 248.0, 104.0]]),
    ],
    ids=["no mask", "mask", "mask baseline 4"],
)
def test_feature_ablation_simple(options: dict[str, Any], want: list[list[float]]) -> None:
    """test_feature_ablation.py test_simple_ablation, test_simple_ablation_with_mask,
    test_simple_ablation_with_baselines, each with perturbations per pass 1, 2, 3."""
    for batch_size in (1, 2, 3):
        got = fl.attribute(
            ThreeLayer(), SIMPLE_INPUT, (0, 0), "feature_ablation", batch_size=batch_size,
            **options,
        )  # fmt: skip
        assert_values(got, want)


def test_feature_ablation_integer_input() -> None:
    """test_feature_ablation.py test_simple_ablation_int_to_int."""
    for batch_size in (1, 2, 3):
        got = fl.attribute(
            CappedAtOne(), torch.tensor([[-3, 1, 2]]), (0, 0), "feature_ablation",
            batch_size=batch_size,
        )  # fmt: skip
        assert_values(got, [[-3, 0, 0]], atol=0.0)


@pytest.mark.parametrize(
    ("mask", "want"),
    [
        (None, [[8.0, 35.0, 12.0], [80.0, 200.0, 120.0]]),
        (torch.tensor([[0, 0, 1], [1, 1, 0]]), [[41.0, 41.0, 12.0], [280.0, 280.0, 120.0]]),
    ],
    ids=["no mask", "mask per row"],
)
def test_feature_ablation_multi_sample(mask: torch.Tensor | None, want: list[list[float]]) -> None:
    """test_feature_ablation.py test_multi_sample_ablation, test_multi_sample_ablation_with_mask."""
    x = torch.tensor([[2.0, 10.0, 3.0], [20.0, 50.0, 30.0]])
    options = {} if mask is None else {"mask": mask}
    for batch_size in (1, 2, 3):
        maps = fl.attribute(
            ThreeLayer(), x, [(0, 0), (1, 0)], "feature_ablation", batch_size=batch_size,
            **options,
        )  # fmt: skip
        assert_values(own_rows(maps), want)


THREE_INPUT_MASKS = (
    torch.tensor([[1, 1, 1], [0, 1, 0]]),
    torch.tensor([[0, 1, 2]]),
    torch.tensor([[0, 1, 2], [0, 0, 0]]),
)


THREE_INPUT_ABLATIONS: dict[str, tuple[bool, tuple[Any, ...], tuple[Any, ...]]] = {
    # test_multi_input_ablation_with_mask
    "mask": (True, (0.0, 0.0, 0.0),
             ([[492.0, 492.0, 492.0], [200.0, 200.0, 200.0]],
              [[80.0, 200.0, 120.0], [0.0, 400.0, 0.0]],
              [[0.0, 400.0, 40.0], [60.0, 60.0, 60.0]])),
    "mask and baselines": (True, (2, 3.0, 4),
                           ([[468.0, 468.0, 468.0], [184.0, 192.0, 184.0]],
                            [[68.0, 188.0, 108.0], [-12.0, 388.0, -12.0]],
                            [[-16.0, 384.0, 24.0], [12.0, 12.0, 12.0]])),
    # test_multi_input_ablation
    "baseline rows": (False, (torch.tensor([[3.0, 0.0, 0.0]]), torch.tensor([[0.0, 1.0, 0.0]]),
                              torch.tensor([[1.0, 2.0, 3.0]])),
                      ([[80.0, 400.0, 0.0], [68.0, 200.0, 120.0]],
                       [[80.0, 196.0, 120.0], [0.0, 396.0, 0.0]],
                       [[-4.0, 392.0, 28.0], [4.0, 32.0, 0.0]])),
    "baseline per example": (False, (torch.tensor([[3.0, 0.0, 0.0], [3.0, 0.0, 2.0]]),
                                     torch.tensor([[0.0, 1.0, 0.0], [0.0, 1.0, 4.0]]),
                                     torch.tensor([[3.0, 2.0, 4.0], [1.0, 2.0, 3.0]])),
                             ([[80.0, 400.0, 0.0], [68.0, 200.0, 112.0]],
                              [[80.0, 196.0, 120.0], [0.0, 396.0, -16.0]],
                              [[-12.0, 392.0, 24.0], [4.0, 32.0, 0.0]])),
}  # fmt: skip


@pytest.mark.parametrize("case", list(THREE_INPUT_ABLATIONS))
def test_feature_ablation_three_inputs(case: str) -> None:
    """test_feature_ablation.py test_multi_input_ablation_with_mask, test_multi_input_ablation
    (one input at a time, the others held fixed: Captum ablates each input's groups on their
    own)."""
    masked, baselines, want = THREE_INPUT_ABLATIONS[case]
    for position in range(3):
        options: dict[str, Any] = {"baseline": baselines[position]}
        if masked:
            options["mask"] = THREE_INPUT_MASKS[position]
        for batch_size in (1, 2, 3):
            maps = fl.attribute(
                holding_others(position), THREE_INPUTS[position], [(0, 0), (1, 0)],
                "feature_ablation", batch_size=batch_size, **options,
            )  # fmt: skip
            assert_values(own_rows(maps), want[position])


def test_feature_ablation_scalar_examples() -> None:
    """test_occlusion.py test_simple_multi_input_0d: examples with no dimension after the batch.
    Occlusion needs a dimension to slide along; ablating each element on its own is the same."""
    x1, x2 = torch.tensor([-10.0, 3.0]), torch.tensor([-5.0, 1.0])
    targets = [(0,), (1,)]
    got = fl.attribute(Fixed(PaperExampleTwo(), after=(x2,)), x1, targets, "feature_ablation")
    assert_values(own_rows(got), [0.0, 1.0])
    got = fl.attribute(Fixed(PaperExampleTwo(), before=(x1,)), x2, targets, "feature_ablation")
    assert_values(own_rows(got), [0.0, -1.0])


def test_feature_ablation_with_forward_args() -> None:
    """test_feature_ablation.py test_multi_input_ablation_with_mask, second part (inputs 2 and 3
    passed as additional_forward_args)."""
    x1, x2, x3 = THREE_INPUTS
    for batch_size in (1, 2, 3):
        maps = fl.attribute(
            ThreeInputs(), x1, [(0, 0), (1, 0)], "feature_ablation", mask=THREE_INPUT_MASKS[0],
            batch_size=batch_size, forward_args=(x2, x3, 1),
        )  # fmt: skip
        assert_values(own_rows(maps), [[492.0, 492.0, 492.0], [200.0, 200.0, 200.0]])


def test_feature_ablation_one_conv_two_inputs() -> None:
    """test_feature_ablation.py test_simple_multi_input_conv."""
    ones = torch.ones(1, 1, 4, 4)
    first, second = Fixed(OneConv(), after=(ones,)), Fixed(OneConv(), before=(ONE_CONV_INPUT,))
    for batch_size in (1, 2, 4, 8, 12, 16):
        got = fl.attribute(
            first, ONE_CONV_INPUT, (0, 0), "feature_ablation", mask=torch.tensor(0),
            batch_size=batch_size,
        )  # fmt: skip
        assert_values(got, 67 * ones)
        got = fl.attribute(
            second, ones, (0, 0), "feature_ablation", mask=torch.tensor(1), batch_size=batch_size
        )
        assert_values(got, 13 * ones)
    for batch_size in (1, 3, 7, 14):
        got = fl.attribute(first, ONE_CONV_INPUT, (0, 0), "feature_ablation", batch_size=batch_size)
        assert_values(
            got,
            [[[[0.0, 2.0, 4.0, 3.0], [4.0, 9.0, 10.0, 7.0], [4.0, 13.0, 14.0, 11.0],
               [0.0, 0.0, 0.0, 0.0]]]],
        )  # fmt: skip
        got = fl.attribute(second, ones, (0, 0), "feature_ablation", batch_size=batch_size)
        assert_values(got, [[[[1.0, 2.0, 2.0, 1.0]] * 3 + [[0.0, 0.0, 0.0, 0.0]]]])


# -- per-example targets (Captum's list targets) ----------------------------------------------


PER_ROW_METHODS: dict[str, dict[str, Any]] = {
    "gradient": {},
    "input_x_gradient": {},
    "guided_backprop": {},
    "deconvnet": {},
    "integrated_gradients": {"steps": 20},
    "smoothgrad": {"noise": 0.0, "samples": 3},
    "occlusion": {"window": 1},
    "feature_ablation": {},
}

PER_ROW_CASES: dict[str, tuple[list[Any], tuple[Any, ...]]] = {
    # test_config.py basic_multi_target
    "basic_multi_target": ([0, 1, 1, 0], ()),
    # test_config.py basic_multiple_tuple_target: multidim_output through the forward arguments
    "basic_multiple_tuple_target": ([(1, 0, 0), (0, 1, 1), (1, 1, 1), (0, 0, 0)], (None, True)),
}


@pytest.mark.parametrize("method", list(PER_ROW_METHODS))
@pytest.mark.parametrize("case", list(PER_ROW_CASES))
def test_per_row_targets(case: str, method: str) -> None:
    """test_targets.py (generated from test_config.py): a batch with one target per example equals
    each example attributed alone to its own target."""
    targets, extra = PER_ROW_CASES[case]
    net, x, options = ThreeLayer(), torch.randn(4, 3), PER_ROW_METHODS[method]
    if extra:
        options = {**options, "forward_args": extra}
    batch = fl.attribute(net, x, fl.PerRow(targets), method, **options)
    assert batch.shape == x.shape
    alone = Fixed(net, after=extra)
    for i, target in enumerate(targets):
        index = (0, *target) if isinstance(target, tuple) else (0, target)
        want = fl.attribute(alone, x[i : i + 1], index, method, **PER_ROW_METHODS[method])
        torch.testing.assert_close(batch[i : i + 1], want, rtol=0, atol=1e-4)


@pytest.mark.parametrize(
    "method", ["gradient", "input_x_gradient", "guided_backprop", "integrated_gradients",
               "smoothgrad"],
)  # fmt: skip
def test_per_row_targets_with_forward_args(method: str) -> None:
    """test_targets.py on test_config.py basic_multi_input_multi_target: two inputs, a forward
    argument with one row per example, one target per example."""
    net, options = ThreeInputs(), PER_ROW_METHODS[method]
    x = (10 * torch.randn(6, 3), 5 * torch.randn(6, 3))
    extra = 2 * torch.randn(6, 3)
    targets = [0, 1, 1, 0, 0, 1]
    batch = fl.attribute(net, x, fl.PerRow(targets), method, forward_args=(extra, 5), **options)
    for i, target in enumerate(targets):
        one = tuple(t[i : i + 1] for t in x)
        want = fl.attribute(
            net, one, (0, target), method, forward_args=(extra[i : i + 1], 5), **options
        )
        for got, expected in zip(batch, want, strict=True):
            torch.testing.assert_close(got[i : i + 1], expected, rtol=0, atol=1e-4)


def test_per_row_matches_diagonal_of_target_list() -> None:
    """test_targets.py basic_multi_target: ``PerRow`` is the diagonal of the per-target maps."""
    x = torch.randn(4, 3)
    targets = [0, 1, 1, 0]
    per_row = fl.attribute(ThreeLayer(), x, fl.PerRow(targets), "integrated_gradients")
    listed = fl.attribute(
        ThreeLayer(), x, [(i, t) for i, t in enumerate(targets)], "integrated_gradients"
    )
    torch.testing.assert_close(per_row, own_rows(listed), rtol=0, atol=1e-6)
