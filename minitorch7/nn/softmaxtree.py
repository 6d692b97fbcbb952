"""``SoftMaxTree`` and ``TreeNLLCriterion``: the hierarchical softmax of Torch7's nnx, and
``frequency_tree``, the word tree of dp's PennTreeBank:frequencyTree (docs/nnx.md)."""

import math

import numpy as np

from ..device import array_module, kernels_for
from ..ops.shape import to_device
from ..ops.softmaxtree import TreeLogLikelihood
from ..tensor import Tensor, _fmt_size
from .criterion import Criterion
from .module import Module, check_float_input

__all__ = ["SoftMaxTree", "TreeNLLCriterion", "frequency_tree"]


def frequency_tree(counts, binSize=None):
    """(hierarchy, rootId): a tree over the words 0..V-1 by frequency, as dp's
    PennTreeBank:frequencyTree builds it for nn.SoftMaxTree.

    The words, sorted by ascending count (ties by id), are cut into bins of ``binSize``
    consecutive words; each bin is a new node (ids V, V+1, ...) whose children are its
    words. While there are ``binSize`` or more such nodes they are binned again the same
    way; the last (fewer than ``binSize``) become the children of the root, the last id.
    ``binSize`` defaults to the smallest b with ceil(V / b) < b (about sqrt(V)): a
    two-level tree, root -> ceil(V / b) bins -> words. The bins of rare words share
    their softmax among many rare words; frequent words are binned with frequent ones.
    """
    counts = np.asarray(counts)
    vocab = len(counts)
    if counts.ndim != 1 or vocab < 2:
        raise ValueError(f"frequency_tree: expected the counts of at least 2 words, got size "
                         f"{_fmt_size(counts.shape)}")
    if binSize is None:
        binSize = math.isqrt(vocab)
        while -(-vocab // binSize) >= binSize:
            binSize += 1
    if binSize < 2:
        raise ValueError(f"frequency_tree: binSize must be at least 2, got {binSize}")
    hierarchy = {}
    nodes = np.argsort(counts, kind="stable")
    next_id = vocab
    while len(nodes) >= binSize:
        parents = []
        for start in range(0, len(nodes), binSize):
            hierarchy[next_id] = nodes[start:start + binSize].astype(np.int64)
            parents.append(next_id)
            next_id += 1
        nodes = np.array(parents, dtype=np.int64)
    hierarchy[next_id] = nodes.astype(np.int64)
    return hierarchy, next_id


class SoftMaxTree(Module):
    """SoftMaxTree(inputSize, hierarchy, rootId=0, accUpdate=False, static=True,
    verbose=False): the log-probability of each target node along its path from the root.

    ``hierarchy``: {parentId: 1-D integer array of childIds} (0-based node ids), a tree
    (each child under one parent) whose every parent is reached from ``rootId``. Every
    family (the children of one parent) has its own rows of ``weight`` (nChildNode x
    inputSize) and ``bias`` (nChildNode), in the order of the hierarchy's keys, both drawn
    from U(-stdv, stdv), stdv = 1/sqrt(nChildNode * inputSize).

    Input: the table [input, target]: input batch x inputSize (Torch7's; any leading sizes
    are taken here) and target of the batch's size, integer ids of nodes under the root
    (words). Output of the target's size: sum over the families on the target's path of
    log softmax(W_f x + b_f)[child]; only those families are computed, and backward only
    adds into their rows of gradWeight and gradBias. gradInput is [gradInput, None].

    accUpdate=True (Torch7's memory-saving mode without gradWeight) is not offered;
    ``static`` is accepted for Torch7's argument order and changes nothing: parameters()
    always gives the whole weight and bias.
    """

    def __init__(self, inputSize, hierarchy, rootId=0, accUpdate=False, static=True,
                 verbose=False):
        super().__init__()
        if accUpdate:
            raise ValueError("nn.SoftMaxTree: accUpdate=True is not offered (gradWeight is "
                             "always kept)")
        self.inputSize, self.rootId, self.static = inputSize, int(rootId), static
        self._build_index(hierarchy)
        self.register_parameter("weight", Tensor(self.nChildNode, inputSize))
        self.register_parameter("bias", Tensor(self.nChildNode))
        self.reset()
        if verbose:
            print(f"Hierarchy has :\n{self.nParentNode} parent nodes\n{self.nChildNode} child "
                  f"nodes\n{self.nChildNode - self.nParentNode} leaf nodes\nnode index will "
                  f"contain {self.maxNodeId + 1} slots")

    def _build_index(self, hierarchy):
        """The families' rows (``_start``, ``_size`` per parent, in the hierarchy's order),
        and each node's path to the root: ``_path_family`` / ``_path_child`` (node x
        depth, -1 past the root): the families it passes and its index in each."""
        name = "nn.SoftMaxTree: hierarchy"
        if not isinstance(hierarchy, dict) or not hierarchy:
            raise ValueError(f"{name} must be a dict {{parentId: array of childIds}}")
        parents = [int(p) for p in hierarchy]
        families = [np.asarray(getattr(c, "data", c)) for c in hierarchy.values()]
        for p, children in zip(parents, families):
            if children.ndim != 1 or not children.size or children.dtype.kind not in "iu":
                raise ValueError(f"{name}: the children of {p} must be a non-empty 1-D integer "
                                 f"array, got {children.dtype} of size {_fmt_size(children.shape)}")
        ids = np.concatenate([np.array(parents), *families])
        if ids.min() < 0:
            raise ValueError(f"{name}: node ids must be >= 0, got {ids.min()}")
        if self.rootId not in parents:
            raise ValueError(f"{name}: the root {self.rootId} has no children")
        self.maxNodeId = int(ids.max())
        self._start = np.cumsum([0] + [c.size for c in families[:-1]])
        self._size = np.array([c.size for c in families])
        family_of = np.full(self.maxNodeId + 1, -1)  # the family a node is a child in
        index_in = np.full(self.maxNodeId + 1, -1)
        for f, children in enumerate(families):
            if np.any(family_of[children] >= 0) or len(np.unique(children)) < children.size:
                twice = children[(family_of[children] >= 0)
                                 | (np.bincount(children)[children] > 1)][0]
                raise ValueError(f"{name}: node {twice} has more than one parent (a tree "
                                 f"is needed)")
            family_of[children], index_in[children] = f, np.arange(children.size)
        self.nChildNode, self.nParentNode = int(self._size.sum()), len(parents)
        self._parent_ids, self._families = np.array(parents), families
        # walk up from every node at once; a path longer than the node count is a cycle
        parent_position = np.full(self.maxNodeId + 1, -1)
        parent_position[parents] = np.arange(len(parents))
        columns_f, columns_c = [], []
        node = np.arange(self.maxNodeId + 1)
        at = family_of.copy()
        while np.any(at >= 0):
            if len(columns_f) > self.nChildNode:
                raise ValueError(f"{name}: has a cycle")
            columns_f.append(at)
            columns_c.append(np.where(at >= 0, index_in[np.maximum(node, 0)], -1))
            up = np.where(at >= 0, self._parent_ids[np.maximum(at, 0)], -1)
            node = np.where(up == self.rootId, -1, up)
            at = np.where(node >= 0, family_of[np.maximum(node, 0)], -1)
            unreached = (node >= 0) & (at < 0)
            if np.any(unreached):
                raise ValueError(f"{name}: node {node[unreached][0]} is not reached from the "
                                 f"root {self.rootId}")
        self._path_family = np.stack(columns_f, axis=1)
        self._path_child = np.stack(columns_c, axis=1)
        self.maxDept = self._path_family.shape[1]
        self.leafIds = np.setdiff1d(np.concatenate(families), parents)

    def reset(self, stdv=None):
        """Re-draw weight and bias from U(-stdv, stdv), stdv = 1/sqrt(nChildNode *
        inputSize); a given stdv is multiplied by sqrt(3) (Torch7's SoftMaxTree:reset)."""
        stdv = (1 / math.sqrt(self.nChildNode * self.inputSize) if stdv is None
                else stdv * math.sqrt(3))
        for p in self.own_parameters():
            p.uniform(-stdv, stdv)
        return self

    def _groups(self, ids):
        """The families visited by the target ids (a host int array), with their
        examples and children, as ``TreeLogLikelihood`` takes them."""
        families = self._path_family[ids]
        examples, _ = np.nonzero(families >= 0)
        children = self._path_child[ids][families >= 0]
        families = families[families >= 0]
        order = np.argsort(families, kind="stable")
        families, examples, children = families[order], examples[order], children[order]
        cuts = np.flatnonzero(np.diff(families)) + 1
        return [(int(self._start[f[0]]), int(self._size[f[0]]), e, c) for f, e, c in
                zip(np.split(families, cuts), np.split(examples, cuts), np.split(children, cuts))]

    def _targets(self, input, target):
        """The target ids as a flat host int64 array, after checking them against the input."""
        if not isinstance(target, Tensor) or target.dtype.kind not in "iu":
            got = target.dtype if isinstance(target, Tensor) else type(target).__name__
            raise TypeError(f"{self!r}: expected integer target ids (a LongTensor), got {got}")
        if input.ndim < 1 or input.shape[-1] != self.inputSize or \
                tuple(target.shape) != tuple(input.shape[:-1]):
            raise ValueError(f"{self!r}: expected input of size batch x {self.inputSize} and "
                             f"target of size batch, got input {_fmt_size(input.shape)} and "
                             f"target {_fmt_size(target.shape)}")
        ids = to_device(target.data, "cpu").reshape(-1).astype(np.int64)
        bad = (ids < 0) | (ids > self.maxNodeId)
        bad[~bad] = self._path_family[ids[~bad], 0] < 0
        if np.any(bad):
            raise IndexError(f"{self!r}: target {ids[bad][0]} is not a node under the root "
                             f"{self.rootId}")
        return ids

    def updateOutput(self, input):
        if not isinstance(input, list | tuple) or len(input) != 2:
            raise ValueError(f"{self!r}: expected the table [input, target]")
        x, target = input
        check_float_input(self, x)
        groups = self._groups(self._targets(x, target))
        flat = x.reshape(-1, self.inputSize)
        out = TreeLogLikelihood.apply(flat, self.weight, self.bias, groups)
        return out.reshape(*target.shape)

    def leafLogProbabilities(self, input):
        """log p(leaf | input) of every leaf, all families computed (O(nChildNode) per
        row: for sampling and checks, not training): input (..., inputSize) -> (...,
        len(leafIds)), the leaves in the order of ``leafIds`` (sorted ids); no graph."""
        check_float_input(self, input)
        x = input.data.reshape(-1, self.inputSize)
        xp, kernels = array_module(x), kernels_for(x)
        node_logp = xp.zeros((x.shape[0], self.maxNodeId + 1), x.dtype)
        depth = (self._path_family >= 0).sum(axis=1)
        # families top-down: a family's parent has its log-probability before its children
        order = np.argsort(depth[self._parent_ids], kind="stable")
        w, b = self.weight.data, self.bias.data
        for f in order:
            rows = slice(self._start[f], self._start[f] + self._size[f])
            logp = kernels.log_softmax(kernels.matmul(x, w[rows].T) + b[rows])
            node_logp[:, self._families[f]] = node_logp[:, [self._parent_ids[f]]] + logp
        leaves = node_logp[:, self.leafIds]
        return Tensor._wrap(leaves.reshape(*input.shape[:-1], len(self.leafIds)))

    def __repr__(self):
        return f"nn.SoftMaxTree({self.inputSize} -> {len(self.leafIds)} leaves, " \
               f"{self.nParentNode} families)"


class TreeNLLCriterion(Criterion):
    """The negative mean of SoftMaxTree's log-probabilities: loss = -(1/n) sum_i input[i]
    over the n values of ``input``; the target is not used (SoftMaxTree already picked
    each target's log-probability). Always the mean, as Torch7's (an nn.Mean inside; no
    sizeAverage)."""

    def updateOutput(self, input, target):
        self._check_input(input)
        return -input.mean()
