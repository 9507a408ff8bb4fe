"""Reading data files: what is accepted, and a clear DataError for everything else."""
import dataclasses

import pytest
import torch

from makemore.data import Batcher, BucketBatcher, Vocab, encode_lines, load_bytes, load_file, split_lines
from makemore.errors import DataError
from makemore.limits import load_limits

LIMITS = load_limits({})


def load(raw: bytes, **limit_changes):
    return load_bytes(raw, "test", limits=dataclasses.replace(LIMITS, **limit_changes))


def test_lines_are_stripped_blank_lines_dropped_crlf_and_bom_accepted():
    ds = load(b"\xef\xbb\xbf  anna \r\n\r\n\tbob\r\n   \r\ncarl\n")
    assert ds.lines == ["anna", "bob", "carl"]
    assert ds.vocab.chars == sorted(set("annabobcarl"))


def test_utf16_with_bom_is_decoded():
    ds = load("anna\nbörje\n".encode("utf-16"))
    assert ds.lines == ["anna", "börje"]


def test_any_unicode_character_is_in_the_vocabulary():
    ds = load("zoë\n東京\n🙂🚀\nłódź\n".encode())
    assert {"ë", "東", "🙂", "ł"} <= set(ds.vocab.chars)
    assert ds.vocab.decode(ds.vocab.encode("🙂🚀")) == "🙂🚀"


@pytest.mark.parametrize("raw", [b"", b"\n\n", b"   \r\n\t\n"])
def test_empty_or_blank_file_is_rejected(raw):
    with pytest.raises(DataError, match="no examples"):
        load(raw)


def test_single_line_is_rejected():
    with pytest.raises(DataError, match="at least 2 lines"):
        load(b"onlyone\n")


def test_binary_file_is_rejected():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"
    with pytest.raises(DataError, match="not text"):
        load(png)


def test_latin1_file_names_the_line():
    with pytest.raises(DataError, match="line 3 .*0xe9.*UTF-8"):
        load("anna\nbob\ncaf\u00e9\n".encode("latin-1"))


def test_line_over_the_length_limit_is_rejected():
    with pytest.raises(DataError, match="Line 2 is 1,000,000 characters"):
        load(b"ok\n" + b"a" * 1_000_000 + b"\n")


def test_a_long_only_line_is_named_by_its_line_number_not_called_one_example():
    with pytest.raises(DataError, match="Line 1 is 5,000 characters long, over the limit of 256"):
        load(b"x" * 5000 + b"\n")
    with pytest.raises(DataError, match="Line 3 is 300 characters long"):  # blank lines still count
        load(b"anna\n\n" + b"y" * 300 + b"\nbob\n")
    with pytest.raises(DataError, match="only one example"):
        load(b"x" * 256 + b"\n")  # at the limit: not too long, but alone


def test_too_many_lines_is_rejected():
    with pytest.raises(DataError, match="2,000,000 lines, over the limit of 1,000,000"):
        load(b"ab\n" * 2_000_000)


def test_too_large_a_vocabulary_is_rejected():
    cjk = "".join(chr(0x4E00 + i) for i in range(3000))
    text = "\n".join(cjk[i : i + 10] for i in range(0, 3000, 10))
    with pytest.raises(DataError, match="3,000 distinct characters, over the limit of 2,000"):
        load(text.encode())


def test_file_over_the_size_limit_is_rejected(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"abc\n" * 1000)
    with pytest.raises(DataError, match="over the 0.0 MB limit|MB, over the"):
        load_file(path, limits=dataclasses.replace(LIMITS, max_upload_bytes=1000))


def test_missing_file_is_rejected(tmp_path):
    with pytest.raises(DataError, match="No data file"):
        load_file(tmp_path / "nope.txt")


def test_split_is_deterministic_and_classic_sized(names_file):
    ds = load_file(names_file, split_seed=3407)
    again = load_file(names_file, split_seed=3407)
    other = load_file(names_file, split_seed=1)
    assert len(ds.lines) == 32033 and len(ds.test_lines) == 1000
    assert ds.test_lines == again.test_lines and ds.test_lines != other.test_lines
    assert sorted(ds.train_lines + ds.test_lines) == sorted(ds.lines)
    train, test = split_lines([f"w{i}" for i in range(50)], 0)
    assert len(test) == 5 and len(train) == 45


def test_encoding_marks_start_end_and_padding():
    vocab = Vocab.from_lines(["ab", "b"])
    x, y = encode_lines(["ab", "b"], vocab, block_size=3)
    assert x.tolist() == [[0, 1, 2], [0, 2, 0]]
    assert y.tolist() == [[1, 2, 0], [2, 0, -1]]


def test_batches_drop_unused_padding():
    vocab = Vocab.from_lines(["ab", "b"])
    x, y = encode_lines(["b", "b"], vocab, block_size=8)
    xb, yb = Batcher(x, y, "cpu", seed=0)(4)
    assert xb.shape == (4, 2) and yb.dtype == torch.long


def test_bucketed_batches_are_whole_rows_of_similar_length_cut_to_their_longest():
    lines = ["a" * n for n in range(1, 13) for _ in range(20)]
    x, y = encode_lines(lines, Vocab.from_lines(lines), block_size=13)
    batcher = BucketBatcher(x, y, "cpu", seed=0, pool=4)
    spreads = []
    for _ in range(12):  # three pools
        xb, yb = batcher(16)
        assert xb.dtype == yb.dtype == torch.long and xb.shape == yb.shape and len(xb) == 16
        lengths = (yb == 1).sum(1).tolist()  # each row is "a" * n
        width = xb.shape[1]
        assert width == max(lengths) + 1  # as long as its longest row needs, no longer
        for n, row_x, row_y in zip(lengths, xb.tolist(), yb.tolist()):
            assert row_y == [1] * n + [0] + [-1] * (width - n - 1)
            assert row_x == [0] + [1] * n + [0] * (width - n - 1)
        spreads.append(max(lengths) - min(lengths))
    # a pool of 64 random rows sorted into 4 batches: lengths within a batch stay close (random: about 10)
    assert sum(spreads) / len(spreads) < 5
