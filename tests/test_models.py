"""Every architecture: shapes, causality, untrained loss, overfitting, checkpoint round trip, sampling."""
import math

import pytest
import torch

from makemore.data import load_file
from makemore.models import ARCHITECTURES, build_model, make_config
from makemore.sample import generate, score_line
from makemore.store import Run
from makemore.train import create_run, make_train_config, train_run

ARCHS = list(ARCHITECTURES)
SMALL = dict(n_layer=2, n_head=2, n_embd=32, n_embd2=32, context=4, dropout=0.0)


def small_overrides(arch):
    return {k: v for k, v in SMALL.items() if k in ARCHITECTURES[arch].uses}


def small_model(arch, vocab_size=11, block_size=12):
    torch.manual_seed(0)
    return build_model(arch, make_config(arch, vocab_size, block_size, **small_overrides(arch)))


@pytest.mark.parametrize("arch", ARCHS)
def test_shapes_and_untrained_loss_near_uniform(arch):
    model = small_model(arch)
    idx = torch.randint(0, 11, (5, 12))
    logits, loss = model(idx, idx)
    assert logits.shape == (5, 12, 11)
    assert abs(loss.item() - math.log(11)) < 0.1
    logits, loss = model(idx)
    assert loss is None and logits.shape == (5, 12, 11)
    assert model.num_params() > 0


@pytest.mark.parametrize("arch", ARCHS)
def test_logits_at_t_never_depend_on_later_characters(arch):
    model = small_model(arch).eval()
    with torch.no_grad():  # random weights everywhere, so that any dependence would show
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    idx = torch.randint(1, 11, (3, 12))
    base, _ = model(idx)
    for t in range(11):
        changed = idx.clone()
        changed[:, t + 1 :] = torch.randint(1, 11, (3, 11 - t))
        changed[:, t + 1] = (idx[:, t + 1] % 10) + 1  # certainly different
        logits, _ = model(changed)
        assert torch.allclose(logits[:, : t + 1], base[:, : t + 1], atol=1e-5), f"position {t} saw the future"
        assert not torch.allclose(logits[:, t + 1], base[:, t + 1]), "the next position ignores its input"


@pytest.fixture(scope="module")
def twenty(tmp_path_factory):
    from tests.conftest import TWENTY_NAMES

    path = tmp_path_factory.mktemp("data") / "twenty.txt"
    path.write_text("\n".join(TWENTY_NAMES))
    return load_file(path, split_seed=0)


def train_small(tmp_path, dataset, arch, steps, lr=1e-2):
    run = Run(tmp_path / arch)
    tc = make_train_config(arch, max_steps=steps, learning_rate=lr, batch_size=32, weight_decay=0.0,
                           eval_interval=steps, warmup_steps=10, num_samples=2)
    create_run(run, dataset, arch, small_overrides(arch), tc)
    assert train_run(run, dataset) == "finished"
    return run


@pytest.mark.parametrize("arch", ARCHS)
def test_overfits_twenty_lines(tmp_path, twenty, arch):
    steps = 100 if arch == "bigram" else 300
    run = train_small(tmp_path, twenty, arch, steps, lr=0.3 if arch == "bigram" else 1e-2)
    last = [r for r in run.read_metrics() if r["kind"] == "eval"][-1]
    first = [r for r in run.read_metrics() if r["kind"] == "eval"][0]
    assert first["train_loss"] > 2.5
    # a bigram can only learn pair statistics; every other model memorises the 18 training lines
    assert last["train_loss"] < (2.0 if arch == "bigram" else 0.8)


@pytest.mark.parametrize("arch", ARCHS)
def test_checkpoint_round_trip_gives_identical_logits_and_sampling_obeys_seed(tmp_path, twenty, arch):
    run = train_small(tmp_path, twenty, arch, 30)
    model, config = run.load_model()
    again, _ = Run(run.path).load_model()
    idx = torch.randint(0, twenty.vocab.size, (4, twenty.block_size))
    assert torch.equal(model(idx)[0], again(idx)[0])
    assert config["arch"] == arch and config["dataset"]["sha256"] == twenty.sha256

    vocab = run.vocab()
    a = generate(model, vocab, num_samples=8, seed=7)
    b = generate(again, vocab, num_samples=8, seed=7)
    assert [s.text for s in a] == [s.text for s in b]
    greedy = generate(model, vocab, num_samples=5, top_k=1, seed=1)
    greedy2 = generate(model, vocab, num_samples=5, top_k=1, seed=2)
    assert len({s.text for s in greedy}) == 1 and greedy[0].text == greedy2[0].text
    # greedy follows the argmax at every step
    tokens = [0]
    for _ in range(len(greedy[0].text) + 1):
        logits, _ = model(torch.tensor([tokens]))
        tokens.append(int(logits[0, -1].argmax()))
    assert vocab.decode(tokens[1:-1]) == greedy[0].text
    assert tokens[-1] == 0 or len(greedy[0].text) == twenty.block_size - 1  # ended, or cut at the length limit


def test_sample_log_probability_matches_scoring(tmp_path, twenty):
    run = train_small(tmp_path, twenty, "gru", 100)
    model, _ = run.load_model()
    samples = generate(model, run.vocab(), num_samples=6, seed=3, prefix="a")
    for s in samples:
        assert s.text.startswith("a")
        if len(s.text) < twenty.block_size - 1:
            assert s.logprob == pytest.approx(score_line(model, run.vocab(), s.text)["logprob"], abs=1e-3)


def test_top_p_keeps_only_the_nucleus():
    from makemore.sample import filter_logits

    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = filter_logits(logits, top_p=0.7).isfinite()[0].tolist()
    assert kept == [True, True, False, False]
    kept = filter_logits(logits, top_k=3).isfinite()[0].tolist()
    assert kept == [True, True, True, False]
