"""Route decisions: which model serves a task, chosen on interval bounds from stored run results.

`models` (request, decision, stored records), `evidence` (runs and results -> candidate pools and
provenance), `candidates` (per-candidate statistics and constraint checks), `pareto` (the frontier),
`decide` (the pure decision), `store` (immutable content-addressed decisions and the current route).
"""
