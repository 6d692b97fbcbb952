"""Text generation: multinomial draws follow their weights, temperature sharpens or
flattens, and ``generate`` walks a language model word by word from <eos>, the recurrent
state carrying the context."""

import numpy as np
import pytest

import minitorch7 as torch
from minitorch7 import nn
from minitorch7.text import generate, multinomial, sample


def frequencies(ids, n):
    return np.bincount(np.asarray(ids).ravel(), minlength=n) / np.asarray(ids).size


def test_multinomial_follows_the_weights():
    torch.manualSeed(0)
    ids = multinomial(torch.tensor([1.0, 0.0, 3.0, 4.0]), 20000, replacement=True)
    assert ids.shape == (20000,) and ids.type() == "torch.LongTensor"
    np.testing.assert_allclose(frequencies(ids.data, 4), [0.125, 0, 0.375, 0.5], atol=0.015)


def test_multinomial_rows_and_without_replacement():
    torch.manualSeed(1)
    ids = multinomial(torch.tensor([[1.0, 1.0, 1.0, 0.0], [0.0, 0.0, 2.0, 1.0]]), 2)
    assert ids.shape == (2, 2)
    assert len(set(ids.data[0])) == 2 and 3 not in ids.data[0]
    assert sorted(ids.data[1]) == [2, 3]


@pytest.mark.parametrize("weights,n,replacement", [
    ([1.0, -1.0], 1, True), ([0.0, 0.0], 1, True), ([1.0, 0.0], 2, False)])
def test_multinomial_rejects_bad_weights(weights, n, replacement):
    with pytest.raises(ValueError, match="multinomial"):
        multinomial(torch.tensor(weights), n, replacement)


def test_sample_temperature():
    torch.manualSeed(2)
    logprobs = np.log([0.1, 0.2, 0.7])
    cold = [int(sample(logprobs, 0.05).data[0]) for _ in range(200)]
    assert set(cold) == {2}  # near zero temperature: the most likely word
    hot = [int(sample(logprobs, 100.0).data[0]) for _ in range(3000)]
    np.testing.assert_allclose(frequencies(hot, 3), [1 / 3] * 3, atol=0.04)  # nearly flat
    plain = [int(sample(logprobs).data[0]) for _ in range(3000)]
    np.testing.assert_allclose(frequencies(plain, 3), [0.1, 0.2, 0.7], atol=0.03)
    with pytest.raises(ValueError, match="temperature"):
        sample(logprobs, 0)


@pytest.mark.task_6_2
def test_generate_word_by_word_from_eos_with_the_state_carried():
    """A model whose next word depends on every word so far: h[t] = h[t-1] + E[x[t]],
    scores = h W^T + b. Near zero temperature it picks the best word, so the text is
    known."""
    ivocab = ["<eos>", "a", "b", "c", "d"]
    V, H = len(ivocab), 3
    torch.manualSeed(3)
    rm = (nn.Sequential().add(nn.ParallelTable().add(nn.Identity()).add(nn.Identity()))
          .add(nn.CAddTable()))
    lm = (nn.Sequential().add(nn.LookupTable(V, H)).add(nn.SplitTable(0))
          .add(nn.Sequencer(nn.Sequential().add(nn.Recurrence(rm, H, 1))
                            .add(nn.Linear(H, V)).add(nn.LogSoftMax()))))
    E, W, b = (p.data.astype(np.float64) for p in lm.parameters()[0])

    def expected(carry):
        h, word, words = np.zeros(H), 0, []
        for _ in range(12):
            h = (h if carry else 0) + E[word]
            word = int(np.argmax(h @ W.T + b))
            words.append(ivocab[word])
        return words

    text = generate(lm, ivocab, 12, temperature=1e-4)
    assert text == expected(carry=True)
    assert text != expected(carry=False)  # the context matters for this model
    assert not lm.train  # left in evaluation mode


def test_generate_needs_the_start_word():
    with pytest.raises(ValueError, match="start word"):
        generate(nn.Sequential(), ["a", "b"], 3)
