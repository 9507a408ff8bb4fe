"""Training health, as in the makemore lecture on activations and gradients: one cheap snapshot per evaluation.

    probe = HealthProbe(model)
    probe.arm()                     # before one training step: hooks on, parameters copied
    ... forward, backward, optimizer.step() ...
    record = probe.collect(step)    # hooks off; a JSON-able {"kind": "health", "step", "layers", "params"}

Hooks exist only between arm() and collect(), so the other training steps pay nothing.

"layers": the hidden activations the lecture plots, one entry per nonlinearity:
  mean, std    of the layer's output values
  saturated    the share of values in the nonlinearity's flat region, where almost no gradient passes:
               tanh-like outputs (tanh, the recurrent hidden states, the CNN's gated tanh*sigmoid): |output| > 0.97
               (the lecture's threshold; the tanh slope there is under 0.06);
               GELU: input below -3 (the output is within 0.005 of zero and its slope under 0.012 in size)
  grad_std     std of the loss gradient with respect to the layer's output
"params": one entry per weight matrix (2-D or more: linear and convolution weights, embeddings):
  data_std, grad_std, grad_to_data (grad_std / data_std), and
  update_to_data_log10 = log10(std of this step's change of the parameter / std of the parameter);
  the lecture's rule of thumb: around -3 is healthy, much lower learns slowly, much higher is unstable.
"""
import math

import torch
import torch.nn as nn

from .models import spec_of

TANH_SATURATION = 0.97
GELU_FLAT_INPUT = -3.0


def watch_points(model) -> list[tuple[str, nn.Module, str, str]]:
    """(name, module, where, kind) of each hidden activation: where is "output" of the module or "input" to it.
    The standard nonlinearities are found by type; others (a functional tanh, a gated activation) are named by
    the model's architecture spec (its `watch`)."""
    points = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Tanh):
            points.append((name, module, "output", "tanh"))
        elif isinstance(module, nn.GELU):
            points.append((name, module, "output", "gelu"))
        elif isinstance(module, nn.RNNBase):
            points.append((name, module, "output", "tanh"))  # the hidden states, each in (-1, 1)
    spec = spec_of(model)
    return points + (spec.watch(model) if spec else [])


def activation_stats(value: torch.Tensor, kind: str, module_input: torch.Tensor | None) -> dict:
    """Tensors (not yet read back from the device): mean, std and the saturated share."""
    value = value.detach().float()
    if kind == "gelu":
        saturated = (module_input.detach() < GELU_FLAT_INPUT).float().mean()
    else:
        saturated = (value.abs() > TANH_SATURATION).float().mean()
    return {"mean": value.mean(), "std": value.std(), "saturated": saturated}


class HealthProbe:
    def __init__(self, model: nn.Module):
        self.model = model
        self.points = watch_points(model)
        self.params = [(name, p) for name, p in model.named_parameters() if p.requires_grad and p.dim() >= 2]
        self.handles, self.stats, self.before = [], {}, None

    @property
    def armed(self) -> bool:
        return self.before is not None

    def arm(self):
        """Watch the next forward and backward pass, and remember the parameters to measure the update."""
        self.disarm()
        self.stats = {}
        self.before = [p.detach().clone() for _, p in self.params]
        for name, module, where, kind in self.points:
            if where == "output":
                hook = module.register_forward_hook(self._output_hook(name, kind))
            else:
                hook = module.register_forward_pre_hook(self._input_hook(name, kind))
            self.handles.append(hook)

    def _record(self, name, kind, value, module_input):
        if name in self.stats:  # a module run twice in one step: keep the first
            return
        entry = {"kind": kind, **activation_stats(value, kind, module_input)}
        self.stats[name] = entry
        if value.requires_grad:
            value.register_hook(lambda grad: entry.__setitem__("grad_std", grad.detach().float().std()))

    def _output_hook(self, name, kind):
        def hook(module, args, output):
            value = output[0] if isinstance(output, tuple) else output
            self._record(name, kind, value, args[0] if args else None)
        return hook

    def _input_hook(self, name, kind):
        def hook(module, args):
            self._record(name, kind, args[0], None)
        return hook

    def disarm(self):
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def collect(self, step: int) -> dict:
        """After optimizer.step(): the record of the armed step; the hooks are removed."""
        if not self.armed:
            raise RuntimeError("HealthProbe.collect() needs arm() before the training step")
        self.disarm()
        layers = [{"name": name, "kind": entry["kind"],
                   **{key: number(entry.get(key)) for key in ("mean", "std", "saturated", "grad_std")}}
                  for name, entry in self.stats.items()]
        params = [param_stats(name, p, old) for (name, p), old in zip(self.params, self.before)]
        self.before, self.stats = None, {}
        return {"kind": "health", "step": int(step), "layers": layers, "params": params}


def param_stats(name: str, p: torch.Tensor, before: torch.Tensor) -> dict:
    data_std = before.float().std()
    grad_std = p.grad.float().std() if p.grad is not None else torch.tensor(float("nan"))
    update_std = (p.detach().float() - before.float()).std()
    ratio = update_std / data_std
    return {"name": name, "shape": list(p.shape), "data_std": number(data_std), "grad_std": number(grad_std),
            "grad_to_data": number(grad_std / data_std),
            "update_to_data_log10": number(ratio.log10()) if ratio > 0 else None}


def number(value) -> float | None:
    """A finite float rounded for the log, or None (JSON has no NaN)."""
    if value is None:
        return None
    value = float(value)
    return float(f"{value:.6g}") if math.isfinite(value) else None
