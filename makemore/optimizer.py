"""AdamW over one flat parameter buffer: torch's AdamW update, run once instead of once per tensor.

The models here have 1 to 60 parameter tensors of a few thousand numbers each, so an optimizer step
costs more in per-tensor work (Python bookkeeping, a fresh gradient tensor allocated and freed per
parameter per step) than in arithmetic. Here all the parameters are copied into one flat tensor and
become views into it, and their gradients views into its gradient: zeroing the gradients is one op,
backward accumulates into the same memory every step, and torch.optim.AdamW (its fused kernel where
the device has one) updates one tensor; the decoupled weight decay on the matrices is one multiply
over their part of the buffer. Against torch.optim.AdamW over the model's tensors (fused, two
groups), at the classic configuration, interleaved in one process: 4-10% off the transformer's
training step and about 10% off bag-of-words'.

With `muon=True` the hidden weight matrices (2-D, neither an embedding nor the output head) are updated
by torch.optim.Muon instead, with the AdamW-matched learning-rate scale so one learning rate and weight
decay serve both; they still live in the flat buffer (its tail), so an average of the weights (WeightAverage)
stays one operation.

Because the model's tensors are views, anything that replaces a parameter or its .grad (model.zero_grad
with set_to_none, module.to(other device)) would cut it off from the optimizer: zero gradients with
FlatAdamW.zero_grad, build the optimizer after moving the model. Optimizer state is saved per
parameter, in the layout of torch.optim.AdamW's state_dict, so checkpoints do not depend on this.
"""
import torch

from .errors import CheckpointError


def flatten(params: list[torch.nn.Parameter]) -> torch.nn.Parameter:
    """One leaf tensor holding `params`, which become views into it (and their .grad views into its .grad)."""
    flat = torch.nn.Parameter(torch.cat([p.detach().reshape(-1) for p in params]))
    flat.grad = torch.zeros_like(flat)
    sizes = [p.numel() for p in params]
    for p, data, grad in zip(params, flat.data.split(sizes), flat.grad.split(sizes)):
        p.data, p.grad = data.view_as(p), grad.view_as(p)
    return flat


def hidden_matrices(model: torch.nn.Module, vocab_size: int) -> list[torch.nn.Parameter]:
    """The 2-D weights Muon takes: every matrix but embeddings and the output head (vocab_size rows)."""
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    return [p for p in model.parameters() if p.requires_grad and p.dim() == 2 and id(p) not in embeddings
            and p.shape[0] != vocab_size]


def slice_parameter(flat: torch.nn.Parameter, count: int) -> torch.nn.Parameter:
    """A leaf parameter sharing the first `count` numbers of `flat` and of its gradient."""
    part = torch.nn.Parameter(flat.data[:count])
    part.grad = flat.grad[:count]
    return part


class FlatAdamW:
    def __init__(self, model: torch.nn.Module, lr: float, weight_decay: float, betas=(0.9, 0.99), eps=1e-8,
                 muon: bool = False, vocab_size: int = 0):
        params = [p for p in model.parameters() if p.requires_grad]
        muon_ids = {id(p) for p in hidden_matrices(model, vocab_size)} if muon else set()
        adam = [p for p in params if id(p) not in muon_ids]
        decayed = [p for p in adam if p.dim() >= 2]  # matrices and embeddings; biases and norms are not decayed
        self.muon_params = [p for p in params if id(p) in muon_ids]
        self.params = decayed + [p for p in adam if p.dim() < 2] + self.muon_params
        self.flat = flatten(self.params)
        adam_count = sum(p.numel() for p in adam)
        self.adam = slice_parameter(self.flat, adam_count) if self.muon_params else self.flat
        self.decayed = self.flat.data[: sum(p.numel() for p in decayed)]
        self.weight_decay = weight_decay
        options = dict(lr=lr, betas=betas, eps=eps, weight_decay=0.0)  # the decay is applied in step()
        try:
            self.inner = torch.optim.AdamW([self.adam], fused=True, **options)
        except (RuntimeError, ValueError, TypeError):  # no fused kernel for this device or dtype
            self.inner = torch.optim.AdamW([self.adam], **options)
        self.muon = torch.optim.Muon(self.muon_params, lr=lr, weight_decay=weight_decay,
                                     adjust_lr_fn="match_rms_adamw") if self.muon_params else None
        self.param_groups = self.inner.param_groups + (self.muon.param_groups if self.muon else [])

    def zero_grad(self):
        self.flat.grad.zero_()

    def step(self):
        first = self.params[0]
        if first.grad is None or first.grad.data_ptr() != self.flat.grad.data_ptr():
            raise RuntimeError("a parameter's .grad was replaced (zero_grad(set_to_none=True)?): "
                               "FlatAdamW would not see it; zero gradients with FlatAdamW.zero_grad")
        if self.weight_decay:  # AdamW's decoupled decay, first, as torch applies it; one group costs less than two
            self.decayed.mul_(1 - self.param_groups[0]["lr"] * self.weight_decay)
        self.inner.step()
        if self.muon:
            self.muon.step()

    def state_tensors(self) -> dict:
        """The optimizer state as {"optim.<index>.<name>": tensor}, one entry per parameter and name."""
        out, adam = {}, self.params[: len(self.params) - len(self.muon_params)]
        for name, value in self.inner.state.get(self.adam, {}).items():
            parts = value.split([p.numel() for p in adam]) if value.dim() else [value] * len(adam)
            for index, (p, part) in enumerate(zip(adam, parts)):
                out[f"optim.{index}.{name}"] = (part.view_as(p) if value.dim() else part).detach().to("cpu", copy=True)
        for index, p in enumerate(self.muon_params, len(adam)):
            for name, value in (self.muon.state.get(p) or {}).items():
                out[f"optim.{index}.{name}"] = value.detach().to("cpu", copy=True)
        return out

    def load_state_tensors(self, tensors: dict, run_id: str = "the run"):
        """Restore what state_tensors saved (the same layout as torch.optim.AdamW's per-parameter state)."""
        saved = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, index, name = key.split(".", 2)
                saved.setdefault(int(index), {})[name] = value
        if not saved:
            return
        adam = len(self.params) - len(self.muon_params)
        try:
            state = {name: torch.cat([saved[index][name].reshape(-1) for index in range(adam)])
                     if value.dim() else value for name, value in saved[0].items()}
            for name, value in state.items():
                if value.dim() and value.shape != self.adam.shape:
                    raise ValueError(f"{name} has {value.numel()} numbers for {self.adam.numel()} parameters")
            muon = {p: {"momentum_buffer": saved[index]["momentum_buffer"].view_as(p).clone()}
                    for index, p in enumerate(self.muon_params, adam)}
        except (KeyError, ValueError, RuntimeError) as e:
            problem = f"missing {e}" if isinstance(e, KeyError) else str(e)
            raise CheckpointError(
                f"The optimizer state saved with {run_id} does not fit its model ({problem}): the run is damaged; "
                "train it again."
            ) from None
        self.inner.load_state_dict({"state": {0: state}, "param_groups": self.inner.state_dict()["param_groups"]})
        if self.muon:
            self.muon.state.update(muon)


class WeightAverage:
    """An exponential moving average of a FlatAdamW's weights (one lerp over the flat buffer per step), and
    a way to evaluate or save the model with it in place of the trained weights. Early on the average
    forgets faster (decay (1 + t) / (10 + t), capped at `decay`), so it does not drag the initial weights."""

    def __init__(self, optimizer: FlatAdamW, decay: float):
        self.live, self.decay, self.updates = optimizer.flat.data, decay, 0
        self.average = self.live.clone()

    def update(self):
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        self.average.lerp_(self.live, 1 - decay)

    def swapped(self):
        """Context manager: the model holds the averaged weights inside it, its trained weights again after."""
        return _Swap(self.live, self.average)

    def state_tensors(self) -> dict:
        return {"ema.average": self.average.detach().to("cpu", copy=True),
                "ema.updates": torch.tensor(self.updates)}

    def load_state_tensors(self, tensors: dict, run_id: str = "the run"):
        if "ema.average" not in tensors:
            return  # a run saved without an average starts one from its current weights
        if tensors["ema.average"].shape != self.average.shape:
            raise CheckpointError(f"The weight average saved with {run_id} does not fit its model: the run is "
                                  "damaged; train it again.")
        self.average.copy_(tensors["ema.average"])
        self.updates = int(tensors["ema.updates"])


class _Swap:
    def __init__(self, live: torch.Tensor, average: torch.Tensor):
        self.live, self.average, self.kept = live, average, None

    def __enter__(self):
        self.kept = self.live.clone()
        self.live.copy_(self.average)

    def __exit__(self, *exc):
        self.live.copy_(self.kept)
