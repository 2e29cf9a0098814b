"""The best one-to-one assignment between two label sets, and the agreement it gives.

Used to score an unsupervised categorical code against classes: the code's categories carry no
names, so each category is matched to at most one class (and each class to at most one category)
so that as many samples as possible agree (cluster accuracy, as in Chen et al. 2016's 5% MNIST
error for InfoGAN). The assignment is exact: the Hungarian method (Kuhn 1955; Munkres 1957) in its
shortest-augmenting-path form with potentials, O(n²m) for an n x m matrix, n <= m.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def _min_cost_rows(cost: list[list[float]]) -> list[int]:
    """For each row of an n x m cost matrix (n <= m), its column in a minimum-cost assignment."""
    n, m = len(cost), len(cost[0])
    u, v = [0.0] * (n + 1), [0.0] * (m + 1)
    owner = [0] * (m + 1)  # owner[j]: the row (1-based) holding column j; column 0 is the search's root
    for row in range(1, n + 1):
        owner[0], free_col = row, 0
        reach, came_from, done = [math.inf] * (m + 1), [0] * (m + 1), [False] * (m + 1)
        while True:
            done[free_col] = True
            i, delta, nxt = owner[free_col], math.inf, 0
            for j in range(1, m + 1):
                if done[j]:
                    continue
                reduced = cost[i - 1][j - 1] - u[i] - v[j]
                if reduced < reach[j]:
                    reach[j], came_from[j] = reduced, free_col
                if reach[j] < delta:
                    delta, nxt = reach[j], j
            for j in range(m + 1):
                if done[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    reach[j] -= delta
            free_col = nxt
            if owner[free_col] == 0:
                break
        while free_col:
            prev = came_from[free_col]
            owner[free_col] = owner[prev]
            free_col = prev
    assignment = [-1] * n
    for j in range(1, m + 1):
        if owner[j]:
            assignment[owner[j] - 1] = j - 1
    return assignment


def best_assignment(scores: Sequence[Sequence[float]]) -> list[int]:
    """For each row of a score matrix, the column it is matched to (-1: none) in a one-to-one matching with the
    largest total score; every row is matched when rows <= columns, else every column."""
    table = [[float(s) for s in row] for row in scores]
    if not table or not table[0]:
        raise ValueError("best_assignment needs a non-empty score matrix")
    if len(table) <= len(table[0]):
        return _min_cost_rows([[-s for s in row] for row in table])
    by_column = _min_cost_rows([[-table[i][j] for i in range(len(table))] for j in range(len(table[0]))])
    rows = [-1] * len(table)
    for column, row in enumerate(by_column):
        rows[row] = column
    return rows


def matched_agreement(codes: torch.Tensor, classes: torch.Tensor, num_codes: int,
                      num_classes: int) -> tuple[float, list[int]]:
    """The share of samples whose class is the one their code is matched to under the best one-to-one
    assignment, and that assignment (code -> class, -1 for a code left unmatched)."""
    codes, classes = torch.as_tensor(codes).long().flatten(), torch.as_tensor(classes).long().flatten()
    if codes.shape != classes.shape or not len(codes):
        raise ValueError(f"need one class per code, got {tuple(codes.shape)} and {tuple(classes.shape)}")
    counts = torch.zeros(num_codes * num_classes, dtype=torch.int64)
    counts.index_add_(0, codes * num_classes + classes, torch.ones_like(codes))
    table = counts.view(num_codes, num_classes).tolist()
    mapping = best_assignment(table)
    agreed = sum(table[code][cls] for code, cls in enumerate(mapping) if cls >= 0)
    return agreed / len(codes), mapping
