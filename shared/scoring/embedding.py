"""Embedding similarity, an optional extra: no embedding library is imported here or by default.

A deployment that wants it supplies an `Embedder` (for instance over a provider's embeddings API);
without one the scorer raises ScorerUnavailable, and suite validation refuses the spec up front.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from shared.scoring.errors import ScorerUnavailable
from shared.scoring.results import ScoreResult
from shared.scoring.specs import EmbeddingSimilaritySpec


class Embedder(Protocol):
    """Turns texts into vectors, one per text, in order."""

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed `texts`; every vector has the same length."""
        ...


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors; 0 when either is all zeros."""
    if len(a) != len(b):
        raise ValueError(f"vectors differ in length ({len(a)} vs {len(b)})")
    norm = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
    if norm == 0:
        return 0.0
    return math.fsum(x * y for x, y in zip(a, b, strict=True)) / norm


async def score_embedding(
    spec: EmbeddingSimilaritySpec, output: str, expected: str | None, embedder: Embedder | None
) -> ScoreResult:
    """Cosine similarity of the output's and expected output's embeddings, clipped to [0, 1]."""
    if embedder is None:
        raise ScorerUnavailable("embedding_similarity is not available: no embedder is configured (optional extra)")
    if expected is None:
        return ScoreResult(
            scorer=spec.type,
            score=0.0,
            passed=False,
            reason="embedding_similarity needs an expected output and the case has none",
            weight=spec.weight,
        )
    vectors = await embedder.embed([output, expected])
    if len(vectors) != 2:
        raise ValueError(f"embedder returned {len(vectors)} vectors for 2 texts")
    similarity = min(1.0, max(0.0, cosine(vectors[0], vectors[1])))
    return ScoreResult(
        scorer=spec.type,
        score=similarity,
        passed=similarity >= spec.threshold,
        reason=f"cosine similarity {similarity:.3f} (threshold {spec.threshold:g})",
        weight=spec.weight,
    )
