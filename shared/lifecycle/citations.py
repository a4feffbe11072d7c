"""Which runs live route decisions still cite, so retention keeps their evidence.

Issue 9 asks retention to keep the evidence a live route decision cites for as long as it does.
Route decisions are being built (`shared.routing`); until they are wired here this hook answers
"nothing is cited", and retention deletes by age alone.
"""

from __future__ import annotations


def cited_by_live_decisions(tenant_id: str, project_id: str) -> set[str]:
    """The run ids that a live (not superseded, not expired) route decision of the project cites.

    TODO(route decisions): read the project's `routedecisions` rows that are not superseded and
    return the union of their evidence run ids. Returns an empty set until then.
    """
    del tenant_id, project_id  # unused until route decisions fill this in
    return set()
