"""Fine-tuning: start a new run from the weights of a trained run, even when the vocabulary differs.

The new run takes the source run's architecture and model shape; its vocabulary is the new data set's.
Its starting weights are those of a freshly built model (the usual initialisation, seeded like a run
from scratch) with everything the source run learned copied over it:

- vocabulary-shaped tensors (token embeddings, the output head and its bias, the bigram table) are
  mapped by character, not by index: the row of 'a' goes to wherever 'a' is in the new vocabulary, the
  boundary token 0 to 0, a label's start token to the same label's (labels are carried over by name; a new
  label starts fresh), and rows past the vocabulary (the MLP's "before the line" token) to the same
  place past the new one. New characters keep their fresh rows;
- position-shaped tensors (the position embeddings of the transformer and the bag of words) keep the
  positions both runs have; shorter lines drop the source's last rows, and positions past the longest
  line the source saw start as copies of its last position row. Fresh rows there would be about three
  times the size of the learned ones (names-transformer) and unlike anything the network has seen: on
  bench/finetune.py's data they left the best test loss at 2.717 instead of 2.645 after 800 steps.
  No architecture here has a fixed context that longer lines would break;
- every other tensor is copied as it is (its shape cannot differ: the shape comes from the source).

Which dimensions are vocabulary- or position-shaped is found by building the architecture twice on the
meta device, with vocab_size (or block_size) one apart, and seeing which dimensions move; so a change to
a model's layers needs no change here.

Does it help? bench/finetune.py, names-transformer -> 2,000 company names (1,800 to train on): with the
same number of steps, fine-tuning reaches a lower best test loss than training from scratch (400 steps:
2.599 vs 2.654), but it overfits sooner; with dropout 0.3 (an allowed override) it gains most (800 steps:
2.495 vs 2.601 for scratch at either dropout). Its loss at step 0 is above a uniform guess (4.58 vs 4.20):
every company name starts with a capital, a new character here.

The weights go to init.safetensors in the new run; training loads them when there is no last.safetensors
yet. The run's config records the source as init_from = {"run_id", "weights_sha256"} (the sha256 of the
source's model.safetensors bytes that were used).
"""
import hashlib
from dataclasses import fields, replace

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from . import hparams
from .data import BOUNDARY, Dataset, Vocab
from .errors import CheckpointError, ConfigError
from .models import ModelConfig, build_model, get_architecture
from .store import INIT, WEIGHTS, Run, atomic_write_bytes, load_state
from .train import TrainConfig, create_run

SHAPE_FIELDS = tuple(n for n, h in hparams.MODEL.items() if h.kind is int)  # dropout is not a shape: it may change


def source_arch(source: Run, requested: str | None = None) -> str:
    """The architecture a run started from `source` has; a different `requested` one is an error."""
    arch = source.read_config()["arch"]
    if requested and requested != arch:
        raise ConfigError(
            f"arch: {source.id} is a {arch}, so a run started from it is a {arch} too, not a {requested}: "
            "leave the architecture out, or start from a run of that architecture.")
    return arch


def source_overrides(source_config: dict, model_overrides: dict | None, source_id: str) -> dict:
    """The source's model hyperparameters, after checking that no override asks for another shape."""
    arch = source_config["arch"]
    uses = get_architecture(arch).uses
    shape = {k: v for k, v in source_config["model"].items() if k in uses}
    for key, value in (model_overrides or {}).items():
        if value is None or key == "dropout":
            continue
        if key not in {f.name for f in fields(ModelConfig)}:
            raise ConfigError(f"Unknown hyperparameter {key!r}.")
        if key in SHAPE_FIELDS and key in uses and value != shape[key]:
            raise ConfigError(
                f"{key}: the run starts from {source_id}, whose {key} is {shape[key]}, so it cannot "
                f"be {value}; leave {key} out (the model shape comes from the run it starts from).")
    dropout = (model_overrides or {}).get("dropout")
    return {**shape, **({"dropout": dropout} if dropout is not None and "dropout" in uses else {})}


def read_source(source: Run) -> tuple[dict, Vocab, dict, str]:
    """(config, vocab, state dict, sha256 of the weights file) of the run to start from."""
    config = source.read_config()
    path = source.file(WEIGHTS)
    if not path.is_file():
        raise CheckpointError(f"The run {source.id} has no saved weights yet ({WEIGHTS}); train it first.")
    raw = path.read_bytes()  # hashed and loaded from the same bytes, even while the source trains on
    try:
        tensors = load_safetensors(raw)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"The weights file {source.id}/{WEIGHTS} is damaged ({e}); train it again.") from None
    model = build_model(config["arch"], source.model_config(config))
    load_state(model, {k: v for k, v in tensors.items() if not k.startswith("optim.")}, source.id)
    return config, source.vocab(config), model.state_dict(), hashlib.sha256(raw).hexdigest()


def moving_dims(arch: str, config: ModelConfig, field: str) -> dict[str, dict[int, int]]:
    """{tensor name: {dim: offset}} for the dimensions whose size is config.<field> + offset."""
    value = getattr(config, field)
    with torch.device("meta"):
        a = build_model(arch, config).state_dict()
        b = build_model(arch, replace(config, **{field: value + 1})).state_dict()
    dims = {}
    for name, tensor in a.items():
        for dim, (size_a, size_b) in enumerate(zip(tensor.shape, b[name].shape)):
            if size_b - size_a not in (0, 1):  # e.g. a flattened (vocab * width) dimension
                raise ConfigError(f"Cannot carry {name} over to another {field}: its dimension {dim} is not "
                                  f"one row per {field} unit.")
            if size_b != size_a:
                dims.setdefault(name, {})[dim] = size_a - value
    return dims


def vocab_index(source: Vocab, target: Vocab, offset: int) -> tuple[list[int], list[int]]:
    """(target rows, source rows) for the characters both vocabularies have, plus the boundary and the
    `offset` rows past the vocabulary."""
    if offset < 0:
        raise ConfigError("Cannot map a tensor with fewer rows than the vocabulary by character.")
    pairs = [(BOUNDARY, BOUNDARY)] + [(t, source.stoi[c]) for c, t in target.stoi.items() if c in source.stoi]
    pairs += [(t, source.label_tokens[label]) for label, t in target.label_tokens.items() if label in source.label_tokens]
    pairs += [(target.size + k, source.size + k) for k in range(offset)]
    return [t for t, _ in pairs], [s for _, s in pairs]


def copy_overlap(target: torch.Tensor, source: torch.Tensor, index: dict[int, tuple[list, list]]):
    """target[rows] = source[rows] where `index` maps some dims' rows; other dims are copied whole."""
    t_index, s_index = [], []
    for dim in range(target.dim()):
        t_rows, s_rows = index.get(dim, (range(target.size(dim)), range(source.size(dim))))
        if dim not in index and target.size(dim) != source.size(dim):
            raise CheckpointError(f"Cannot carry a tensor of shape {tuple(source.shape)} over to "
                                  f"{tuple(target.shape)}: dimension {dim} differs.")
        view = [-1 if d == dim else 1 for d in range(target.dim())]
        t_index.append(torch.as_tensor(list(t_rows), dtype=torch.long).view(view))
        s_index.append(torch.as_tensor(list(s_rows), dtype=torch.long).view(view))
    if target.dim() == 0:
        target.copy_(source)
    else:
        target[tuple(t_index)] = source[tuple(s_index)].to(target.dtype)


def transfer(arch: str, source_state: dict, source_vocab: Vocab, target_config: ModelConfig, target_vocab: Vocab,
             seed: int) -> dict[str, torch.Tensor]:
    """The starting weights of the new model: a fresh one (seeded with `seed`) with the source's
    learned rows copied over it, by character and by position."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        state = {k: v.detach().clone() for k, v in build_model(arch, target_config).state_dict().items()}
    vocab_dims = moving_dims(arch, target_config, "vocab_size")
    block_dims = moving_dims(arch, target_config, "block_size")
    for name, target in state.items():
        index = {}
        for dim, offset in vocab_dims.get(name, {}).items():
            index[dim] = vocab_index(source_vocab, target_vocab, offset)
        for dim in block_dims.get(name, {}):
            last = source_state[name].size(dim) - 1  # positions past the source's repeat its last one
            index[dim] = (range(target.size(dim)), [min(i, last) for i in range(target.size(dim))])
        copy_overlap(target, source_state[name], index)
    return state


def init_from(run: Run, source: Run, dataset: Dataset) -> dict:
    """Write init.safetensors into `run` (already created for `dataset` with the source's shape) from the
    weights of `source`, and record init_from in its config; returns the init_from record."""
    return write_init(run, source.id, read_source(source), dataset)


def write_init(run: Run, source_id: str, source: tuple, dataset: Dataset) -> dict:
    """init_from, with the source already read by read_source."""
    source_config, source_vocab, source_state, digest = source
    config = run.read_config()
    if config["arch"] != source_config["arch"]:
        raise ConfigError(f"arch: {run.id} is a {config['arch']}, {source_id} a {source_config['arch']}; "
                          "a run can only start from a run of its own architecture.")
    if config["vocab"] != dataset.vocab.chars or config.get("labels", []) != dataset.vocab.labels:
        raise ConfigError(f"{run.id} was not created for the data set {dataset.name} (its vocabulary differs).")
    seed = int(config["train"].get("seed", TrainConfig.seed))
    state = transfer(config["arch"], source_state, source_vocab, run.model_config(config), dataset.vocab, seed)
    tensors = {k: v.contiguous() for k, v in state.items()}
    meta = {"format": "makemore-1", "init_from": source_id}
    atomic_write_bytes(run.file(INIT), save_safetensors(tensors, metadata=meta))
    record = {"run_id": source_id, "weights_sha256": digest}
    run.update_config(init_from=record)
    return record


def create_finetune_run(run: Run, dataset: Dataset, source_run: Run, train_config: TrainConfig, limits=None,
                        dataset_file=None, model_overrides=None, name: str | None = None) -> dict:
    """create_run with the architecture and shape of `source_run`, then its weights as the starting point;
    returns the new run's config. A model override that changes the shape is a ConfigError naming it."""
    source = read_source(source_run)  # damaged or missing weights fail before anything is written
    arch = source[0]["arch"]
    overrides = source_overrides(source[0], model_overrides, source_run.id)
    create_run(run, dataset, arch, overrides, train_config, limits, dataset_file, name)
    write_init(run, source_run.id, source, dataset)
    return run.read_config()
