"""FlatAdamW: the same training as torch.optim.AdamW, and optimizer state that survives a checkpoint."""
import pytest
import torch

from makemore.errors import CheckpointError
from makemore.models import ARCHITECTURES, build_model, make_config
from makemore.optimizer import FlatAdamW
from makemore.train import train_step

VOCAB, BLOCK = 11, 9
SMALL = dict(n_layer=2, n_head=2, n_embd=16, n_embd2=24, dropout=0.0)


def small_model(arch):
    torch.manual_seed(0)
    shape = {k: v for k, v in SMALL.items() if k in ARCHITECTURES[arch].uses}
    return build_model(arch, make_config(arch, VOCAB, BLOCK, **shape))


def batches(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        x = torch.randint(1, VOCAB, (6, 7), generator=g)
        yield x, torch.roll(x, -1, dims=1)


def train(model, optimizer, data, lr_schedule=None):
    for i, (x, y) in enumerate(data):
        if lr_schedule:
            for group in optimizer.param_groups:
                group["lr"] = lr_schedule(i)
        train_step(model, optimizer, x, y)


@pytest.mark.parametrize("decay", [0.1, 0.0])
@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_flat_adamw_trains_exactly_like_torch_adamw(arch, decay):
    """Weight decay on matrices only (or none), a changing learning rate: the same weights after 12 steps."""
    reference, flat = small_model(arch), small_model(arch)
    matrices = [p for p in reference.parameters() if p.dim() >= 2]
    others = [p for p in reference.parameters() if p.dim() < 2]
    groups = [{"params": matrices, "weight_decay": decay}, {"params": others, "weight_decay": 0.0}]
    torch_adamw = torch.optim.AdamW(groups, lr=1e-2, betas=(0.9, 0.99), eps=1e-8, fused=True)
    schedule = lambda i: 1e-2 * (1 - i / 20)  # noqa: E731
    train(reference, torch_adamw, batches(12), schedule)
    train(flat, FlatAdamW(flat, lr=1e-2, weight_decay=decay), batches(12), schedule)
    moved = 0
    for (name, a), b in zip(reference.named_parameters(), flat.parameters()):
        assert torch.allclose(a, b, atol=1e-6), (name, (a - b).abs().max())
        moved += int(not torch.equal(a, small_model(arch).state_dict()[name]))
    assert moved > 0


def test_saved_state_has_torch_adamws_layout_and_resumes_exactly():
    model = small_model("transformer")
    optimizer = FlatAdamW(model, lr=1e-2, weight_decay=0.1)
    train(model, optimizer, batches(5))
    saved, weights = optimizer.state_tensors(), {k: v.clone() for k, v in model.state_dict().items()}

    params = optimizer.params
    assert set(saved) == {f"optim.{i}.{name}" for i in range(len(params)) for name in ("step", "exp_avg", "exp_avg_sq")}
    for i, p in enumerate(params):
        assert saved[f"optim.{i}.exp_avg"].shape == p.shape
        assert int(saved[f"optim.{i}.step"]) == 5

    resumed = small_model("transformer")
    resumed.load_state_dict(weights)
    resumed_optimizer = FlatAdamW(resumed, lr=1e-2, weight_decay=0.1)
    resumed_optimizer.load_state_tensors(saved)
    train(model, optimizer, batches(5, seed=1))
    train(resumed, resumed_optimizer, batches(5, seed=1))
    for a, b in zip(model.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_damaged_optimizer_state_is_a_clear_error():
    model = small_model("mlp")
    optimizer = FlatAdamW(model, lr=1e-2, weight_decay=0.1)
    train(model, optimizer, batches(2))
    saved = optimizer.state_tensors()
    del saved["optim.1.exp_avg"]
    with pytest.raises(CheckpointError, match="optimizer state saved with run-x does not fit.*train it again"):
        FlatAdamW(small_model("mlp"), lr=1e-2, weight_decay=0.1).load_state_tensors(saved, "run-x")
    saved = optimizer.state_tensors()
    saved["optim.0.exp_avg_sq"] = torch.zeros(3)
    with pytest.raises(CheckpointError, match="exp_avg_sq has"):
        FlatAdamW(small_model("mlp"), lr=1e-2, weight_decay=0.1).load_state_tensors(saved, "run-x")


def test_replaced_gradients_are_refused_not_silently_ignored():
    model = small_model("bow")
    optimizer = FlatAdamW(model, lr=1e-2, weight_decay=0.1)
    x, y = next(batches(1))
    model.zero_grad(set_to_none=True)  # would leave the optimizer's gradient buffer at zero
    model(x, y)[1].backward()
    with pytest.raises(RuntimeError, match="FlatAdamW.zero_grad"):
        optimizer.step()
