"""AdamW over flat parameter buffers: torch's AdamW update, run once per buffer instead of once per tensor.

The models here have 1 to 60 parameter tensors of a few thousand numbers each, so an optimizer step
costs more in per-tensor work (Python bookkeeping, a fresh gradient tensor allocated and freed per
parameter per step) than in arithmetic. Here the parameters that share a weight decay are copied into
one flat tensor and become views into it, and their gradients views into its gradient: zeroing the
gradients is one op, backward accumulates into the same memory every step, and torch.optim.AdamW
(weight decay on matrices only, its fused kernel where the device has one) updates two tensors.
bench/throughput.py measures the effect: about 10% off the transformer's training step at the
classic configuration, about 5% off bag-of-words'.

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
    offset = 0
    for p in params:
        n = p.numel()
        p.data = flat.data[offset : offset + n].view_as(p)
        p.grad = flat.grad[offset : offset + n].view_as(p)
        offset += n
    return flat


class FlatAdamW:
    def __init__(self, model: torch.nn.Module, lr: float, weight_decay: float, betas=(0.9, 0.99), eps=1e-8):
        params = [p for p in model.parameters() if p.requires_grad]
        decay = [p for p in params if p.dim() >= 2]  # matrices and embeddings; biases and norms are not decayed
        no_decay = [p for p in params if p.dim() < 2]
        self.params = decay + no_decay  # the order of torch.optim.AdamW's state_dict with these two groups
        self.flats = [flatten(group) for group in (decay, no_decay) if group]
        decays = [d for group, d in ((decay, weight_decay), (no_decay, 0.0)) if group]
        groups = [{"params": [flat], "weight_decay": d} for flat, d in zip(self.flats, decays)]
        options = dict(lr=lr, betas=betas, eps=eps)
        try:
            self.inner = torch.optim.AdamW(groups, fused=True, **options)
        except (RuntimeError, ValueError, TypeError):  # no fused kernel for this device or dtype
            self.inner = torch.optim.AdamW(groups, **options)
        self.param_groups = self.inner.param_groups

    def zero_grad(self):
        for flat in self.flats:
            flat.grad.zero_()

    def step(self):
        first = self.params[0]
        if first.grad is None or first.grad.data_ptr() != self.flats[0].grad.data_ptr():
            raise RuntimeError("a parameter's .grad was replaced (zero_grad(set_to_none=True)?): "
                               "FlatAdamW would not see it; zero gradients with FlatAdamW.zero_grad")
        self.inner.step()

    def _slices(self):
        """(index, parameter, flat buffer, offset) for every parameter, in state_dict order."""
        index = 0
        for flat in self.flats:
            offset = 0
            while offset < flat.numel():
                p = self.params[index]
                yield index, p, flat, offset
                offset += p.numel()
                index += 1

    def state_tensors(self) -> dict:
        """The optimizer state as {"optim.<index>.<name>": tensor}, one entry per parameter and name."""
        out = {}
        for index, p, flat, offset in self._slices():
            for name, value in self.inner.state.get(flat, {}).items():
                if value.dim():
                    value = value[offset : offset + p.numel()].view_as(p)
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
        state = {}
        try:
            for i, flat in enumerate(self.flats):
                members = [(index, p) for index, p, f, _ in self._slices() if f is flat]
                state[i] = {name: torch.cat([saved[index][name].reshape(-1) for index, _ in members])
                            if value.dim() else value for name, value in saved[members[0][0]].items()}
                for name, value in state[i].items():
                    if value.dim() and value.shape != flat.shape:
                        raise ValueError(f"{name} has {value.numel()} numbers for {flat.numel()} parameters")
        except (KeyError, ValueError, RuntimeError) as e:
            problem = f"missing {e}" if isinstance(e, KeyError) else str(e)
            raise CheckpointError(
                f"The optimizer state saved with {run_id} does not fit its model ({problem}): the run is damaged; "
                "train it again."
            ) from None
        self.inner.load_state_dict({"state": state, "param_groups": self.inner.state_dict()["param_groups"]})
