"""Which latent dimension encodes which factor: histogram mutual information and the MIG, and
whether the code holds a factor at all (nearest-neighbour predictability).

For data with known generative factors (``vaelib.load_dataset("shapes")``), the posterior
means of the test images are compared with the true factors:

- every column (a latent dimension, or a factor) is made discrete: a column with at most
  ``bins`` distinct values keeps them (the shape); any other is cut into ``bins`` bins of
  equal mass by rank, so a monotone transformation of a column changes nothing;
- the mutual information I(z_j; v_k) of two discrete columns comes from their joint histogram;
- the mutual information gap (MIG, Chen et al. 2018) averages over factors the gap between
  the two dimensions that know most about a factor, divided by the factor's entropy:
  MIG = mean_k [I(z_(1); v_k) - I(z_(2); v_k)] / H(v_k). It is 1 when each factor is held by
  exactly one dimension, and near 0 when factors are spread over several dimensions.
"""

from __future__ import annotations

import torch


def discretize(values: torch.Tensor, bins: int = 20) -> torch.Tensor:
    """Make each column discrete: (N, K) -> int64 (N, K) with values in 0..bins-1.

    A column with at most ``bins`` distinct values is indexed by them; any other is cut into
    ``bins`` bins of equal mass by rank (ties broken by position).
    """
    values = torch.as_tensor(values)
    if values.dim() == 1:
        values = values[:, None]
    n = len(values)
    columns = []
    for column in values.T:
        distinct, index = torch.unique(column, return_inverse=True)
        if len(distinct) <= bins:
            columns.append(index)
        else:
            rank = torch.empty(n, dtype=torch.long)
            rank[column.argsort(stable=True)] = torch.arange(n)
            columns.append(rank * bins // n)
    return torch.stack(columns, dim=1)


def _entropy(counts: torch.Tensor) -> torch.Tensor:
    p = counts[counts > 0].double() / counts.sum()
    return -(p * p.log()).sum()


def discrete_mutual_information(a: torch.Tensor, b: torch.Tensor) -> float:
    """I(a; b) in nats of two discrete columns (N,) of non-negative integers, from their joint histogram.

    I(a; b) = H(a) + H(b) - H(a, b) with the empirical frequencies.
    """
    a, b = a.long(), b.long()
    joint = torch.bincount(a * (int(b.max()) + 1) + b)
    return float(_entropy(torch.bincount(a)) + _entropy(torch.bincount(b)) - _entropy(joint))


def mutual_information_matrix(codes: torch.Tensor, factors: torch.Tensor, bins: int = 20) -> torch.Tensor:
    """I(z_j; v_k) in nats for every latent dimension j and factor k: (N, D), (N, K) -> float64 (D, K)."""
    z, v = discretize(codes.cpu(), bins), discretize(factors.cpu(), bins)
    return torch.tensor([[discrete_mutual_information(z[:, j], v[:, k]) for k in range(v.shape[1])]
                         for j in range(z.shape[1])], dtype=torch.float64)


def mutual_information_gap(codes: torch.Tensor, factors: torch.Tensor, bins: int = 20, per_factor: bool = False):
    """The MIG of codes (N, D) against factors (N, K): a float in [0, 1] (per_factor: the K gaps).

    For each factor, the largest minus the second largest I(z_j; v_k), divided by H(v_k).
    """
    mi = mutual_information_matrix(codes, factors, bins)  # (D, K)
    v = discretize(factors.cpu(), bins)
    entropy = torch.stack([_entropy(torch.bincount(v[:, k])) for k in range(v.shape[1])])  # (K,)
    top = mi.topk(2, dim=0).values  # (2, K)
    gaps = (top[0] - top[1]) / entropy
    return gaps if per_factor else float(gaps.mean())


def factor_predictability(codes: torch.Tensor, factors: torch.Tensor, neighbours: int = 10,
                          bins: int = 20) -> torch.Tensor:
    """How well the whole code predicts each factor, however it is spread over the dimensions.

    The MI matrix asks whether one *dimension* holds a factor; this asks whether the *code* holds
    it at all. The first half of the rows is the reference, the second half is predicted from it
    by its ``neighbours`` nearest codes (Euclidean distance between posterior means, which the
    N(0, I) prior already puts on one scale; an unused dimension barely varies, so it barely
    counts): a factor with at most ``bins`` distinct values (the shape) by majority vote,
    scored by accuracy; any other by the neighbours' mean, scored by R^2 = 1 - MSE / variance.

    Args:
        codes: (N, D) posterior means; factors: (N, K) true factors.
    Returns:
        float64 (K,): accuracy (chance: 1 / number of values) or R^2 (0: no better than the mean;
        a little below 0 for a code that knows nothing, as the neighbours' mean is noisy).
    """
    codes, factors = torch.as_tensor(codes).double().cpu(), torch.as_tensor(factors).double().cpu()
    half = len(codes) // 2
    reference, query = codes[:half], codes[half:]
    distances = torch.cdist(query, reference)  # (N - half, half)
    nearest = distances.topk(neighbours, dim=1, largest=False).indices  # (N - half, neighbours)
    scores = []
    for column in factors.T:
        known, truth = column[:half][nearest], column[half:]  # (N - half, neighbours), (N - half,)
        if len(torch.unique(column)) <= bins:
            scores.append((known.mode(dim=1).values == truth).double().mean())
        else:
            scores.append(1 - ((known.mean(1) - truth) ** 2).mean() / truth.var(unbiased=False))
    return torch.stack(scores)
