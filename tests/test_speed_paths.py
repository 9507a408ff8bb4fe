"""The fast paths compute the same thing as the plain ones.

Decoding one character at a time (start_decoding/decode_step: KV cache, carried RNN state, windowed
re-runs) must give the logits of one full forward pass over the sequence; the MLP's factored first
layer must equal the plain concatenate-then-multiply one; the fused optimizer must train.
No timing assertions: speed is measured by bench/, not here.
"""
import pytest
import torch
import torch.nn.functional as F

from makemore.models import ARCHITECTURES, build_model, make_config
from makemore.train import TrainConfig, compile_model, make_optimizer, train_step

VOCAB, BLOCK = 11, 14
SMALL = dict(n_layer=2, n_head=2, n_embd=16, n_embd2=24, context=5)


def small_model(arch, **overrides):
    spec = ARCHITECTURES[arch]
    values = {k: v for k, v in {**SMALL, **overrides}.items() if k in spec.uses}
    torch.manual_seed(0)
    model = build_model(arch, make_config(arch, VOCAB, BLOCK, **values))
    with torch.no_grad():  # weights far from the near-uniform start, so that a wrong path shows
        for p in model.parameters():
            p.normal_(0.0, 0.5)
    return model.eval()


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
@pytest.mark.parametrize("length", [1, 6, BLOCK])
def test_decoding_matches_full_forward(arch, length):
    model = small_model(arch)
    idx = torch.randint(0, VOCAB, (3, length), generator=torch.Generator().manual_seed(length))
    with torch.no_grad():
        full, _ = model(idx)
        cache = model.start_decoding(3, "cpu")
        steps = torch.stack([model.decode_step(idx[:, t], cache) for t in range(length)], dim=1)
    assert steps.shape == full.shape
    assert torch.allclose(steps, full, atol=1e-5), (steps - full).abs().max()


@pytest.mark.parametrize("arch", ["cnn", "mlp", "bow"])
def test_windowed_decoding_past_the_receptive_field(arch):
    """Windowed models keep only their receptive field: still exact on the full block."""
    model = small_model(arch, n_layer=2, context=3)
    idx = torch.randint(0, VOCAB, (2, BLOCK), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        full, _ = model(idx)
        cache = model.start_decoding(2, "cpu")
        steps = torch.stack([model.decode_step(idx[:, t], cache) for t in range(BLOCK)], dim=1)
    assert torch.allclose(steps, full, atol=1e-5)


def test_mlp_factored_layer_equals_plain_layer():
    model = small_model("mlp").train()
    model.drop.p = 0.0
    idx = torch.randint(0, VOCAB, (16, BLOCK), generator=torch.Generator().manual_seed(2))
    targets = torch.randint(0, VOCAB, (16, BLOCK), generator=torch.Generator().manual_seed(3))
    k = model.config.context
    windows = F.pad(idx, (k - 1, 0), value=model.blank).unfold(1, k, 1)
    assert windows[..., 0].numel() > model.wte.num_embeddings  # the batch takes the factored path

    factored = model.factored_hidden(windows)
    plain = model.hidden(model.wte(windows).flatten(2))
    assert torch.allclose(factored, plain, atol=1e-4)

    grads = []
    for hidden in (factored, plain):
        model.zero_grad()
        logits = model.head(torch.tanh(hidden))
        F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1)).backward(retain_graph=True)
        grads.append([p.grad.clone() for p in model.parameters()])
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_training_steps_lower_the_loss(arch):
    torch.manual_seed(0)
    model = build_model(arch, make_config(arch, VOCAB, BLOCK, **{k: v for k, v in SMALL.items()
                                                                  if k in ARCHITECTURES[arch].uses}))
    optimizer = make_optimizer(model, TrainConfig(learning_rate=1e-2, weight_decay=0.01))
    g = torch.Generator().manual_seed(0)
    x = torch.randint(1, VOCAB, (8, 6), generator=g)
    y = torch.roll(x, -1, dims=1)
    first = train_step(model, optimizer, x, y).item()
    for _ in range(30):
        last = train_step(model, optimizer, x, y).item()
    assert last < first


@pytest.mark.parametrize("arch", ["mlp", "transformer"])
def test_compiled_and_eager_models_agree(arch):
    """torch.compile (opt-in: --compile) computes the eager model's logits, loss and gradients, at every length."""
    model = small_model(arch)
    compiled = compile_model(model)
    gen = torch.Generator().manual_seed(1)
    for length in (3, 9, BLOCK):  # dynamic shapes: one compiled graph serves all lengths
        idx = torch.randint(0, VOCAB, (4, length), generator=gen)
        targets = torch.randint(0, VOCAB, (4, length), generator=gen)
        results = []
        for m in (model, compiled):
            model.zero_grad(set_to_none=True)
            logits, loss = m(idx, targets)
            loss.backward()
            results.append((logits.detach(), loss.detach(), [p.grad.clone() for p in model.parameters()]))
        (eager_logits, eager_loss, eager_grads), (logits, loss, grads) = results
        assert torch.allclose(logits, eager_logits, atol=1e-4), (logits - eager_logits).abs().max()
        assert torch.allclose(loss, eager_loss, atol=1e-5)
        for g, eager_g in zip(grads, eager_grads):
            assert torch.allclose(g, eager_g, atol=1e-4), (g - eager_g).abs().max()


def test_training_goes_on_eagerly_when_compiling_fails(tmp_path, names_file, monkeypatch):
    from makemore import train
    from makemore.data import load_file
    from makemore.store import Run

    def cannot_compile(model):
        def first_call(*args, **kwargs):
            raise RuntimeError("InductorError: no working C++ compiler found\nlong details")
        return first_call

    monkeypatch.setattr(train, "compile_model", cannot_compile)
    dataset = load_file(names_file)
    run = Run(tmp_path / "run")
    train.create_run(run, dataset, "mlp", {"n_embd": 8, "n_embd2": 16},
                     train.make_train_config("mlp", max_steps=30, eval_interval=10, compile=True))
    notes = []
    assert train.train_run(run, dataset, report=lambda r: notes.append(r) if r["kind"] == "note" else None) == "finished"
    assert [n["step"] for n in notes] == [1]  # the first compiled step: step 0 records training health, eagerly
    assert "torch.compile failed (RuntimeError: InductorError: no working C++ compiler found)" in notes[0]["text"]
    metrics = run.read_metrics()
    assert [m for m in metrics if m["kind"] == "note"] == notes
    assert max(m["step"] for m in metrics if m["kind"] == "eval") == 30
    assert run.status().best_test_loss < metrics[0]["test_loss"]
