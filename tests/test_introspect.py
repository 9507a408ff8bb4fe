"""The Look inside views' numbers (makemore.introspect) and the training-health probe (makemore.health),
on every architecture they apply to, on tiny random models, short real runs and the shipped checkpoints."""
import math
import threading
from collections import Counter

import pytest
import torch
import torch.nn as nn

from makemore import introspect
from makemore.data import Vocab, load_file
from makemore.errors import ConfigError, DataError
from makemore.health import HealthProbe
from makemore.models import ARCHITECTURES, build_model, make_config
from makemore.sample import score_line
from makemore.store import Run
from makemore.train import create_run, make_train_config, train_run
from tests.conftest import ROOT, TWENTY_NAMES

ARCHS = list(ARCHITECTURES)
HIDDEN_ARCHS = [a for a in ARCHS if a != "bigram"]
SMALL = dict(n_layer=2, n_head=2, n_embd=16, n_embd2=24, context=4, dropout=0.1)
VOCAB = Vocab.from_lines(TWENTY_NAMES)
LINES = ["emma", "a", "isabella"]


def tiny_model(arch, vocab_size=VOCAB.size, block_size=12, **changes):
    """A small model with random (not near-uniform) weights, so every view has something to show."""
    torch.manual_seed(0)
    overrides = {k: v for k, v in {**SMALL, **changes}.items() if k in ARCHITECTURES[arch].uses}
    model = build_model(arch, make_config(arch, vocab_size, block_size, **overrides))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return model.eval()


def full_forward_probs(model, tokens):
    with torch.no_grad():
        logits, _ = model(torch.tensor([[0] + tokens]))
    return logits[0].softmax(-1)


@pytest.mark.parametrize("arch", ARCHS)
def test_next_char_probs_distributions_targets_and_surprisal(arch):
    model = tiny_model(arch)
    for line in LINES:
        r = introspect.next_char_probs(model, VOCAB, line)
        n = len(line) + 1
        assert len(r.probs) == n and all(len(row) == VOCAB.size for row in r.probs)
        assert r.context == ["."] + list(line) and r.labels[0] == "." and r.labels[1:] == VOCAB.chars
        assert r.targets == VOCAB.encode(line) + [0]
        for row in r.probs:
            assert math.fsum(row) == pytest.approx(1.0, abs=1e-5) and min(row) >= 0
        assert torch.allclose(torch.tensor(r.probs), full_forward_probs(model, VOCAB.encode(line)), atol=1e-6)
        assert r.surprisal == pytest.approx([-math.log(r.probs[t][y]) for t, y in enumerate(r.targets)], abs=1e-4)
        assert r.total_surprisal == pytest.approx(-score_line(model, VOCAB, line)["logprob"], abs=1e-4)
        assert r.shown == list(range(VOCAB.size))  # a small vocabulary: every character gets a row
        for row, top in zip(r.probs, r.top):
            assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)
            assert top[0][1] == pytest.approx(max(row)) and len(top) == VOCAB.size


def test_next_char_probs_shows_the_likely_and_the_actual_characters_of_a_large_vocabulary():
    vocab = Vocab([chr(c) for c in range(0x4E00, 0x4E00 + 120)])  # 120 distinct characters
    model = tiny_model("gru", vocab_size=vocab.size)
    line = "".join(vocab.chars[i] for i in (5, 99, 42))
    r = introspect.next_char_probs(model, vocab, line, top=10)
    assert set(r.targets) <= set(r.shown) and 10 <= len(r.shown) <= 10 + len(r.targets)
    mass = torch.tensor(r.probs).sum(0)
    assert set(mass.argsort(descending=True)[:10].tolist()) <= set(r.shown)
    assert len(r.top[0]) == 10


def test_lines_the_model_cannot_read_are_refused_with_a_reason():
    model = tiny_model("transformer")
    with pytest.raises(ConfigError, match="Type a line"):
        introspect.next_char_probs(model, VOCAB, "  ")
    with pytest.raises(ConfigError, match="at most 11"):
        introspect.attention_map(model, VOCAB, "a" * 12)
    with pytest.raises(DataError, match="never occur"):
        introspect.hidden_activations(model, VOCAB, "emma!")
    with pytest.raises(ConfigError, match="at most 11"):
        introspect.next_char_choices(model, VOCAB, "a" * 12)


@pytest.mark.parametrize("arch", ARCHS)
def test_writer_choices_match_a_full_forward_pass(arch):
    model = tiny_model(arch)
    for prefix in ["", "e", "emm", "abigai", "a" * 11]:
        r = introspect.next_char_choices(model, VOCAB, prefix, top_n=5)
        expected = full_forward_probs(model, VOCAB.encode(prefix))[-1]
        values, ids = expected.topk(5)
        assert [p for _, _, p in r.choices] == pytest.approx(values.tolist(), abs=1e-5)
        assert [text for _, text, _ in r.choices] == [VOCAB.chars[i - 1] if i else "" for i in ids.tolist()]
        assert [label for label, text, _ in r.choices if text == ""] in ([], ["<end>"])
        assert r.end_prob == pytest.approx(float(expected[0]), abs=1e-5)
        assert r.prefix == prefix and r.room == 11 - len(prefix)


def test_writer_appends_through_the_cache_one_character_at_a_time():
    model = tiny_model("transformer")
    writer = introspect.Writer(model, VOCAB)
    for i, c in enumerate("sofia"):
        writer.append(c)
        expected = full_forward_probs(model, VOCAB.encode("sofia"[: i + 1]))[-1]
        assert torch.allclose(writer.probs(), expected, atol=1e-5)
    with pytest.raises(ConfigError, match="at most 11"):
        writer.append("abcefgh")


@pytest.mark.parametrize("arch", ARCHS)
def test_embedding_map_projects_every_character(arch):
    model = tiny_model(arch)
    r = introspect.embedding_map(model, VOCAB, arch)
    assert r.labels == ["."] + VOCAB.chars and len(r.x) == len(r.y) == VOCAB.size
    assert r.kinds[0] == "start/end" and r.kinds[VOCAB.stoi["a"]] == "vowel" and r.kinds[VOCAB.stoi["b"]] == "consonant"
    if arch == "bigram":
        table = model.logits.detach().log_softmax(-1)
    else:
        table = model.wte.weight.detach()[: VOCAB.size]
    centered = table - table.mean(0)
    singular = torch.linalg.svdvals(centered)
    coords = torch.tensor([r.x, r.y])
    # PCA: centred coordinates along the two strongest directions, keeping their share of the spread
    assert coords.mean(1).abs().max() < 1e-4
    assert coords.pow(2).sum(1).tolist() == pytest.approx((singular[:2] ** 2).tolist(), rel=1e-4)
    assert r.explained == pytest.approx((singular[:2] ** 2 / singular.pow(2).sum()).tolist(), rel=1e-4)
    assert r.method == ("bigram-pca" if arch == "bigram" else "pca")


def test_two_dimensional_embeddings_are_drawn_exactly():
    model = tiny_model("mlp", n_embd=2)
    r = introspect.embedding_map(model, VOCAB, "mlp")
    assert r.method == "exact"
    assert torch.allclose(torch.tensor([r.x, r.y]).T, model.wte.weight.detach()[: VOCAB.size])


def test_bigram_counts_match_counting_by_hand(small_file):
    dataset = load_file(small_file)
    r = introspect.bigram_counts(dataset)
    pairs = Counter()
    for name in TWENTY_NAMES:
        chars = ["."] + list(name) + ["."]
        pairs.update(zip(chars, chars[1:]))
    assert r.labels == ["."] + dataset.vocab.chars
    assert r.counts == [[pairs[(a, b)] for b in r.labels] for a in r.labels]
    assert r.total == sum(len(n) + 1 for n in TWENTY_NAMES) and r.shown_share == 1.0
    assert sum(r.counts[0]) == sum(r.counts[i][0] for i in range(len(r.labels))) == len(TWENTY_NAMES)


def test_bigram_counts_of_a_large_vocabulary_keep_the_most_frequent_characters(tmp_path):
    lines = [f"{'a' * (i % 3 + 1)}{chr(0x100 + i)}{chr(0x100 + i // 2)}" for i in range(200)]
    path = tmp_path / "wide.txt"
    path.write_text("\n".join(lines))
    dataset = load_file(path)
    r = introspect.bigram_counts(dataset, top=20)
    assert len(r.labels) == 21 and r.labels[:2] == [".", "a"]  # the boundary, then 'a', by far the most frequent
    assert r.vocab_chars == len(dataset.vocab.chars) > 100 and 0 < r.shown_share < 1
    assert r.total == sum(len(line) + 1 for line in lines)
    assert r.counts[0][1] == 200  # every line starts with 'a'


def test_attention_rows_are_causal_distributions_that_reproduce_the_model():
    model = tiny_model("transformer", n_layer=3, n_head=4, n_embd=16)
    seen = []
    hooks = [b.attn.register_forward_hook(lambda m, args, out: seen.append((m, args[0], out))) for b in model.blocks]
    r = introspect.attention_map(model, VOCAB, "isabella")
    for h in hooks:
        h.remove()
    t = len("isabella") + 1
    weights = torch.tensor(r.weights)
    assert weights.shape == (3, 4, t, t) and r.labels == ["."] + list("isabella")
    assert torch.allclose(weights.sum(-1), torch.ones(3, 4, t), atol=1e-5)
    assert weights.triu(1).abs().max() == 0 and weights.tril().min() >= 0
    for (attn, x, out), w in zip(seen, weights):  # the weights recompute each attention layer's real output
        c = x.size(-1)
        v = attn.qkv(x)[..., 2 * c:].view(1, t, 4, c // 4).transpose(1, 2)
        y = (w[None] @ v).transpose(1, 2).reshape(1, t, c)
        assert torch.allclose(attn.proj(y), out, atol=1e-5)


def test_views_capture_only_their_own_forward_pass_of_a_shared_model():
    """The app shares one loaded model between requests: another thread's pass must not leak into a view."""
    model = tiny_model("transformer")
    other = threading.Thread(target=lambda: introspect.next_char_choices(model, VOCAB, "ab"))
    with introspect.capturing_inputs([model.head]) as (captured,), torch.no_grad():
        other.start()
        other.join()
        model(torch.tensor([[0, 1, 2]]))
    assert len(captured) == 1 and captured[0].shape == (1, 3, 16)
    assert not model.head._forward_pre_hooks


@pytest.mark.parametrize("arch", [a for a in ARCHS if a != "transformer"])
def test_attention_is_refused_for_other_architectures(arch):
    with pytest.raises(ConfigError, match="Only the transformer"):
        introspect.attention_map(tiny_model(arch), VOCAB, "emma")


@pytest.mark.parametrize("arch", HIDDEN_ARCHS)
def test_hidden_activations_are_what_the_output_head_reads(arch):
    model = tiny_model(arch)
    line = "charlotte"
    r = introspect.hidden_activations(model, VOCAB, line, top_units=10_000)
    t = len(line) + 1
    assert r.labels == ["."] + list(line) and len(r.values) == r.total_units and all(len(v) == t for v in r.values)
    assert sorted(r.units) == list(range(r.total_units))
    hidden = torch.zeros(t, r.total_units)
    hidden[:, r.units] = torch.tensor(r.values).T
    with torch.no_grad():
        logits, _ = model(torch.tensor([[0] + VOCAB.encode(line)]))
        assert torch.allclose(model.head(hidden), logits[0], atol=1e-4)
    activity = hidden.abs().mean(0)
    assert activity[r.units].tolist() == sorted(activity.tolist(), reverse=True)
    top = introspect.hidden_activations(model, VOCAB, line, top_units=5, rank_by="change")
    assert top.units == hidden.std(0, correction=0).argsort(descending=True)[:5].tolist()
    assert len(top.values) == 5 and top.rank_by == "change"


def test_the_bigram_has_no_hidden_layer_to_show():
    with pytest.raises(ConfigError, match="no hidden layer"):
        introspect.hidden_activations(tiny_model("bigram"), VOCAB, "emma")


# --- training health ---------------------------------------------------------------------------------
def test_saturation_is_the_share_in_the_flat_region():
    x = torch.tensor([[-5.0, -3.5, -1.0, 0.0, 0.5, 2.5, 4.0, -2.9]])
    for activation, expected in [(nn.GELU(), 2 / 8), (nn.Tanh(), 5 / 8)]:  # GELU: input < -3; tanh: |out| > 0.97
        model = nn.Sequential(activation, nn.Linear(8, 1))
        probe = HealthProbe(model)
        probe.arm()
        model(x.requires_grad_()).sum().backward()
        record = probe.collect(0)
        (layer,) = record["layers"]
        assert layer["saturated"] == pytest.approx(expected)
        assert layer["mean"] == pytest.approx(float(activation(x).detach().mean()), rel=1e-5)
        assert layer["grad_std"] == pytest.approx(float(model[1].weight.detach().std()), rel=1e-4)


def test_probe_measures_the_update_and_leaves_no_hooks_behind():
    model = tiny_model("mlp").train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    probe = HealthProbe(model)
    x = torch.randint(0, VOCAB.size, (8, 6))
    probe.arm()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    _, loss = model(x, x)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    record = probe.collect(7)
    assert record["kind"] == "health" and record["step"] == 7
    assert [layer["name"] for layer in record["layers"]] == ["hidden.tanh"]
    for entry in record["params"]:
        p = dict(model.named_parameters())[entry["name"]]
        expected = math.log10(float((0.1 * p.grad).std() / before[entry["name"]].std()))  # SGD: update = lr * grad
        assert entry["update_to_data_log10"] == pytest.approx(expected, abs=1e-3)
        assert entry["shape"] == list(p.shape) and p.dim() >= 2
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    model(x)  # an unarmed step records nothing
    assert probe.stats == {}


EXPECTED_LAYERS = {
    "bigram": [], "mlp": ["hidden.tanh"], "cnn": ["blocks.0.gated", "blocks.1.gated"], "rnn": ["rnn"],
    "lstm": ["rnn"], "gru": ["rnn"], "bow": ["blocks.0.mlp.1", "blocks.1.mlp.1"],
    "transformer": ["blocks.0.mlp.1", "blocks.1.mlp.1"],
}


@pytest.mark.parametrize("arch", ARCHS)
def test_health_records_appear_in_a_short_run(tmp_path, small_file, arch):
    dataset = load_file(small_file, split_seed=0)
    run = Run(tmp_path / arch)
    overrides = {k: v for k, v in SMALL.items() if k in ARCHITECTURES[arch].uses}
    create_run(run, dataset, arch, overrides, make_train_config(arch, max_steps=7, eval_interval=3, num_samples=1))
    assert train_run(run, dataset) == "finished"
    records = [r for r in run.read_metrics() if r["kind"] == "health"]
    assert [r["step"] for r in records] == [0, 3, 6]  # at each evaluation that a training step follows
    model, _ = run.load_model()
    matrices = [n for n, p in model.named_parameters() if p.dim() >= 2]
    for record in records:
        assert [layer["name"] for layer in record["layers"]] == EXPECTED_LAYERS[arch]
        for layer in record["layers"]:
            assert 0 <= layer["saturated"] <= 1 and layer["std"] > 0 and layer["grad_std"] > 0
        assert [p["name"] for p in record["params"]] == matrices
        for p in record["params"]:  # the bigram's table starts at zero: no ratio to the weights there yet
            assert p["update_to_data_log10"] is None if p["data_std"] == 0 else -8 < p["update_to_data_log10"] < 1
    health = introspect.training_health(run)
    assert health.steps == [0, 3, 6] and health.state == "finished"
    assert list(health.layers) == EXPECTED_LAYERS[arch] and list(health.params) == matrices
    assert all(len(s["update_to_data_log10"]) == 3 for s in health.params.values())


# --- the shipped checkpoints ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["names-transformer", "names-gru"])
def test_views_of_the_shipped_runs(name):
    run = Run(ROOT / "checkpoints" / name)
    model, config = run.load_model()
    vocab = run.vocab(config)
    r = introspect.next_char_probs(model, vocab, "olivia")
    assert r.total_surprisal == pytest.approx(-score_line(model, vocab, "olivia")["logprob"], abs=1e-4)
    choices = introspect.next_char_choices(model, vocab, "oliv", 3)
    assert [p for *_, p in choices.choices] == pytest.approx(sorted(r.probs[4], reverse=True)[:3], abs=1e-5)
    embedding = introspect.embedding_map(model, vocab, config["arch"])
    vowels = [i for i, k in enumerate(embedding.kinds) if k == "vowel"]
    assert len(vowels) == 5 and sum(embedding.explained) < 1
    hidden = introspect.hidden_activations(model, vocab, "olivia", top_units=8)
    assert len(hidden.units) == 8 and len(hidden.values[0]) == 7
    if config["arch"] == "transformer":
        weights = torch.tensor(introspect.attention_map(model, vocab, "olivia").weights)
        assert weights.shape == (4, 4, 7, 7) and torch.allclose(weights.sum(-1), torch.ones(4, 4, 7), atol=1e-5)
    health = introspect.training_health(run)  # the shipped runs record their training health at each evaluation
    assert health.steps and health.steps == sorted(health.steps) and health.layers
