import itertools
import math

import keras
import numpy as np
import pytest

from keras_rnnzoo import metrics
from keras_rnnzoo import tasks
from keras_rnnzoo.layers import PositionalEncoding
from keras_rnnzoo.layers import TokenEmbedding
from keras_rnnzoo.models import evaluate_sequences
from tests.conftest import to_numpy

# Small configurations in which duplicates and collisions with the held-out set are likely.
SMALL = {
    "reverse": dict(vocab_size=2, length=11),
    "sort": dict(vocab_size=2, length=11),
    "dual_frequency": dict(vocab_size=4, length=10),  # (V/2)^L = 1024 > 256 per group
    "variable_length": dict(vocab_size=2, length=12, min_length=11),
    "delayed_sum": dict(vocab_size=2, length=6),  # V^(2L) = 4096
    "predecessor_query": dict(vocab_size=7, length=4, num_test=512),  # P(7, 4) = 840
}


def _rows(a):
    return {r.tobytes() for r in np.ascontiguousarray(a)}


def _raw(task, x):
    """The raw sequence the split is defined on (the uniqueness key)."""
    if task.name == "delayed_sum":
        return x
    # the input tokens; for variable_length followed by V-padding, which encodes (length, tokens)
    return x[:, : task.length]


@pytest.mark.parametrize("name", tasks.MORITA_TASKS)
def test_held_out_unique_and_never_in_training(name):
    task = tasks.make_task(name, seed=5, **SMALL[name])
    x, y, mask = task.test_set()
    held = _raw(task, x)
    expected = task.num_test * (
        task.length - task.min_length + 1 if name == "variable_length" else 1
    )
    assert len(held) == expected and len(_rows(held)) == expected
    train = np.concatenate([_raw(task, task.sample(1024, seed=s)[0]) for s in range(3)])
    assert not (_rows(train) & _rows(held))
    # the held-out set is a pure function of the seed
    np.testing.assert_array_equal(tasks.make_task(name, seed=5, **SMALL[name]).test_set()[0], x)
    assert not np.array_equal(tasks.make_task(name, seed=6, **SMALL[name]).test_set()[0], x)


def test_rejection_keeps_the_training_distribution_on_the_rest():
    task = tasks.make_task("reverse", vocab_size=2, length=11, seed=0)
    train = _raw(task, task.sample(8192, seed=1)[0])
    seen = _rows(train)
    assert len(seen) > 0.95 * (2**11 - 1024)  # almost every non-held-out pattern appears


def test_reverse_layout_targets_and_mask():
    task = tasks.make_task("reverse", vocab_size=9, length=5, seed=0)
    x, y, mask = task.sample(64, seed=0)
    L, V = 5, 9
    assert x.shape == y.shape == mask.shape == (64, 10)
    assert x.dtype == np.int32 and mask.dtype == np.float32
    assert np.all(x[:, L:] == V) and np.all(x[:, :L] < V)
    for j in range(1, L + 1):  # target at input position L + j (1-based) is s_{L+1-j}
        np.testing.assert_array_equal(y[:, L + j - 1], x[:, L + 1 - j - 1])
    np.testing.assert_array_equal(mask, np.repeat([[0.0] * L + [1.0] * L], 64, axis=0))
    assert task.input_length == 10 and task.dummy_id == V and task.num_classes == V


def test_sort_targets():
    task = tasks.make_task("sort", vocab_size=20, length=7, seed=0)
    x, y, mask = task.test_set()
    np.testing.assert_array_equal(y[:, 7:], np.sort(x[:, :7], axis=1))
    assert np.all(np.diff(y[:, 7:], axis=1) >= 0) and np.all(mask[:, 7:] == 1) and np.all(mask[:, :7] == 0)


def test_delayed_sum_targets():
    V, L = 11, 16
    task = tasks.make_task("delayed_sum", vocab_size=V, seed=0)
    assert task.length == L and task.input_length == 32
    x, y, mask = task.sample(32, seed=2)
    assert x.shape == (32, 32) and np.all(x < V)  # no dummy phase
    for n in range(32):
        w = [None] + list(x[n])  # 1-based
        for j in range(1, L + 1):
            assert y[n, L + j - 1] == (w[L + 1 - j] + w[L + j]) % V
    np.testing.assert_array_equal(mask.sum(1), L)
    assert np.all(mask[:, L:] == 1)


def test_predecessor_query_targets():
    V, L = 30, 6
    task = tasks.make_task("predecessor_query", vocab_size=V, length=L, seed=0)
    for x, y, mask in (task.sample(256, seed=0), task.test_set()):
        assert x.shape == (len(x), L + 1)
        assert all(len(set(row[:L])) == L for row in x)  # no repetition
        for n in range(len(x)):
            j = list(x[n, :L]).index(x[n, L]) + 1  # 1-based position of the query
            assert 2 <= j <= L
            assert y[n, L] == x[n, j - 2]
        np.testing.assert_array_equal(mask[:, :L], 0)
        np.testing.assert_array_equal(mask[:, L], 1)
    js = [list(r[:L]).index(r[L]) + 1 for r in task.sample(2000, seed=3)[0]]
    assert set(js) == set(range(2, L + 1))


def test_variable_length_layout():
    task = tasks.make_task("variable_length", vocab_size=8, length=10, min_length=4, seed=0)
    assert task.input_length == 20
    x, y, mask = task.sample(300, seed=0)
    lengths = (x[:, :10] < 8).sum(1)
    assert set(lengths) == set(range(4, 11))
    for n in range(300):
        k = lengths[n]
        s = x[n, :k]
        assert np.all(x[n, k:] == 8)
        np.testing.assert_array_equal(y[n, k:2 * k], s[::-1])
        expected = np.zeros(20)
        expected[k:2 * k] = 1.0
        np.testing.assert_array_equal(mask[n], expected)
    info = task.test_info()
    xt, _, mt = task.test_set()
    assert len(xt) == 7 * 1024
    np.testing.assert_array_equal(np.bincount(info["lengths"])[4:], 1024)
    np.testing.assert_array_equal(mt.sum(1), info["lengths"])


def test_dual_frequency_rarity_and_test_groups():
    V, L = 16, 8
    task = tasks.make_task("dual_frequency", vocab_size=V, length=L, seed=0)
    x, y, mask = task.sample(4096, seed=1)
    tokens = x[:, :L]
    assert np.all(tokens < V)
    assert abs(np.mean(tokens >= V // 2) - 1 / 8) < 0.005
    counts = np.bincount(tokens.ravel(), minlength=V)
    assert counts[: V // 2].std() / counts[: V // 2].mean() < 0.05  # uniform within a half
    np.testing.assert_array_equal(y[:, L:], tokens[:, ::-1])

    xt, yt, mt = task.test_set()
    info = task.test_info()
    assert len(xt) == 1024 and info["group_names"] == tasks.GROUP_NAMES
    np.testing.assert_array_equal(np.bincount(info["group"]), 256)
    rare = xt[:, :L] >= V // 2
    for g, (target_rare, context_rare) in enumerate(itertools.product((False, True), repeat=2)):
        rows = np.flatnonzero(info["group"] == g)
        p = info["position"][rows]
        np.testing.assert_array_equal(p, np.arange(256) % L)
        assert np.all(rare[rows, p] == target_rare)
        others = np.ones((len(rows), L), bool)
        others[np.arange(len(rows)), p] = False
        assert np.all(rare[rows][others] == context_rare)
        tp = info["target_position"][rows]
        np.testing.assert_array_equal(yt[rows, tp], xt[rows, p])
    res = evaluate_sequences(yt, task)
    assert res["groups"]["rare-frequent"]["accuracy"] == 1.0
    assert res["groups"]["frequent-rare"]["accuracy_per_position"].shape == (L,)


def _dl_reference(a, b):
    """Unrestricted Damerau-Levenshtein (Lowrance-Wagner), plain Python."""
    da = {}
    maxdist = len(a) + len(b)
    d = [[maxdist] * (len(b) + 2) for _ in range(len(a) + 2)]
    for i in range(len(a) + 1):
        d[i + 1][1] = i
    for j in range(len(b) + 1):
        d[1][j + 1] = j
    for i in range(1, len(a) + 1):
        db = 0
        for j in range(1, len(b) + 1):
            k, l = da.get(b[j - 1], 0), db
            cost = 0 if a[i - 1] == b[j - 1] else 1
            if cost == 0:
                db = j
            d[i + 1][j + 1] = min(d[i][j] + cost, d[i + 1][j] + 1, d[i][j + 1] + 1,
                                  d[k][l] + (i - k - 1) + 1 + (j - l - 1))
        da[a[i - 1]] = i
    return d[len(a) + 1][len(b) + 1]


@pytest.mark.parametrize(
    "a,b,expected",
    [("abc", "abc", 0), ("ab", "ba", 1), ("abcdef", "abdcef", 1),  # one transposition
     ("CA", "ABC", 2),  # true DL: CA -> AC -> ABC (OSA would say 3)
     ("kitten", "sitting", 3), ("", "abc", 3), ("abcd", "badc", 2), ("abc", "xyz", 3),
     ("abc", "ca", 2)],  # true DL: abc -> ac -> ca (OSA: 3)
)
def test_damerau_levenshtein_hand_worked(a, b, expected):
    assert metrics.damerau_levenshtein([ord(c) for c in a], [ord(c) for c in b]) == expected
    assert _dl_reference(a, b) == expected


def test_damerau_levenshtein_batch_matches_reference():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, (200, 7))
    b = rng.integers(0, 3, (200, 5))
    np.testing.assert_array_equal(
        metrics.damerau_levenshtein(a, b), [_dl_reference(list(p), list(q)) for p, q in zip(a, b)]
    )


def test_evaluate_sequences_on_hand_made_predictions():
    task = tasks.make_task("reverse", vocab_size=10, length=4, seed=0, num_test=8)
    x, y, mask = task.test_set()
    pred = y.copy()
    pred[0, 4:] = y[0, [5, 4, 6, 7]]  # one transposition (or identical if equal tokens)
    pred[1, 4] = (y[1, 4] + 1) % 10  # one substitution
    pred[2, :4] = 9  # input phase does not count
    res = evaluate_sequences(pred, (x, y, mask))
    swapped = int(y[0, 4] != y[0, 5])
    assert res["token_accuracy"] == pytest.approx((32 - 2 * swapped - 1) / 32)
    assert res["sequence_accuracy"] == pytest.approx((8 - swapped - 1) / 8)
    assert res["damerau_levenshtein"] == pytest.approx((swapped + 1) / 8)
    uniform = evaluate_sequences(np.zeros(y.shape + (10,), "float32"), task)
    assert uniform["cross_entropy"] == pytest.approx(math.log(10))
    assert uniform["perplexity"] == pytest.approx(10.0)


def test_masked_loss_and_accuracy_ignore_the_input_phase():
    task = tasks.make_task("reverse", vocab_size=6, length=3, seed=0, num_test=16)
    x, y, mask = task.sample(4, seed=0)
    logits = np.random.default_rng(0).standard_normal(y.shape + (6,)).astype("float32")
    loss = metrics.masked_cross_entropy()
    value = float(to_numpy(loss(y, logits, sample_weight=mask)))
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    nll = -np.take_along_axis(logp, y[..., None], -1)[..., 0]
    assert value == pytest.approx(nll[mask > 0].mean(), rel=1e-5)
    changed = logits.copy()
    changed[:, :3] += 5.0  # input phase
    assert float(to_numpy(loss(y, changed, sample_weight=mask))) == pytest.approx(value, rel=1e-6)

    metric = metrics.MaskedTokenAccuracy()
    onehot = np.eye(6, dtype="float32")[y]
    onehot[:, :3] = np.eye(6, dtype="float32")[(y[:, :3] + 1) % 6]  # wrong in the input phase
    onehot[0, 3] = np.eye(6, dtype="float32")[(y[0, 3] + 1) % 6]  # one wrong output
    metric.update_state(y, onehot, sample_weight=mask)
    assert float(to_numpy(metric.result())) == pytest.approx(11 / 12)
    with pytest.raises(ValueError, match="weighted_metrics"):
        metric.update_state(y, onehot)
    assert metrics.MaskedTokenAccuracy.from_config(metric.get_config()).name == metric.name


@pytest.mark.slow  # a finite-loss fit smoke test; reverse_ordering.py fits with the mask by default
def test_fit_step_with_the_mask():
    V, L = 12, 5
    task = tasks.make_task("reverse", vocab_size=V, length=L, seed=0, num_test=32)
    tokens = keras.Input((task.input_length,), dtype="int32")
    e = TokenEmbedding(V, 8, seed=0)(tokens)
    h = keras.layers.GRU(8, reset_after=False, return_sequences=True)(
        PositionalEncoding(max_length=task.input_length)(e)
    )
    model = keras.Model(tokens, keras.layers.Dense(V)(h))
    model.compile(
        keras.optimizers.Adam(1e-2, beta_2=0.98, epsilon=1e-9, global_clipnorm=1.0),
        loss=metrics.masked_cross_entropy(), weighted_metrics=[metrics.MaskedTokenAccuracy()],
    )
    before = evaluate_sequences(model, task)
    assert abs(before["cross_entropy"] - task.baseline()) < 0.5  # starts near ln V
    dummy_row = to_numpy(model.layers[1].embeddings)[V].copy()
    history = model.fit(task.batches(16, steps_per_epoch=3), epochs=1, verbose=0)
    assert not np.allclose(to_numpy(model.layers[1].embeddings)[V], dummy_row)  # dummy row trained
    assert np.isfinite(history.history["loss"][0])
    assert "masked_token_accuracy" in history.history
    res = evaluate_sequences(model, task)
    assert 0.0 <= res["token_accuracy"] <= 1.0 and res["perplexity"] > 1.0


def test_batches_are_fresh_and_resumable():
    task = tasks.make_task("sort", vocab_size=5, length=6, seed=3)
    ds = task.batches(8, steps_per_epoch=2)
    first = ds[0][0]
    assert len(ds) == 2 and len(ds[0]) == 3
    assert not np.array_equal(first, ds[1][0])
    np.testing.assert_array_equal(first, ds[0][0])
    ds.on_epoch_end()
    assert not np.array_equal(first, ds[0][0])
    resumed = task.batches(8, steps_per_epoch=2, start_epoch=1)
    np.testing.assert_array_equal(resumed[0][0], ds[0][0])


def test_baselines():
    assert tasks.make_task("reverse", vocab_size=64, length=4).baseline() == pytest.approx(math.log(64))
    dual = tasks.make_task("dual_frequency", vocab_size=64, length=4).baseline()
    assert dual == pytest.approx(math.log(32) + 0.3768, abs=1e-4)
    assert tasks.morita_baseline("predecessor_query", 512) == pytest.approx(math.log(511))


@pytest.mark.parametrize(
    "kwargs,match",
    [(dict(name="reverse", vocab_size=1), "`vocab_size`"),
     (dict(name="reverse", vocab_size=0), "`vocab_size`"),
     (dict(name="reverse", vocab_size=8, length=0), "`length`"),
     (dict(name="palindrome", vocab_size=8), "`name`"),
     (dict(name="reverse", vocab_size=2, length=10), "Cannot hold out"),  # 2^10 = 1024
     (dict(name="dual_frequency", vocab_size=8, rarity=0.0), "`rarity`"),
     (dict(name="dual_frequency", vocab_size=8, rarity=1.0), "`rarity`"),
     (dict(name="dual_frequency", vocab_size=9), "even"),
     (dict(name="dual_frequency", vocab_size=8, num_test=1022), "`num_test`"),
     (dict(name="dual_frequency", vocab_size=8, length=1), "`length`"),
     (dict(name="predecessor_query", vocab_size=8, length=9), "`length`"),
     (dict(name="variable_length", vocab_size=8, length=10, min_length=11), "`min_length`"),
     (dict(name="sort", vocab_size=8, min_length=3), "`min_length`"),
     (dict(name="reverse", vocab_size=8, seed=-1), "`seed`"),
     (dict(name="reverse", vocab_size=8, num_test=0), "`num_test`")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tasks.make_task(**kwargs)
