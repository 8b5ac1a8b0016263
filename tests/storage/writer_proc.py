"""A reviewer process for the concurrency tests: appends actions and reports each after its commit.

:func:`write_actions` runs in a forked child (or, as a script, ``python writer_proc.py URL DATA_DIR
DRAFT_ID CASE_ID WRITER N_WRITERS_PER_CASE N_ACTIONS``; ``N_ACTIONS`` 0 = until killed). Writer ``w``
acts on the findings whose index ≡ ``w`` modulo the number of writers sharing the case, alternating
``edit`` and ``accept``, and prints ``<action id> <tag>`` (flushed) only after
:meth:`Repository.record_action` returned, i.e. after the commit.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import TextIO

from storage.records import ReviewAction
from storage.repository import Repository


def write_actions(url: str, data_dir: str, draft_id: str, case_id: str, writer: int, share: int, n: int,
                  out: TextIO) -> None:
    """Open the repository (own engine, own connections) and append ``n`` actions, reporting each."""
    repo = Repository.open(url, Path(data_dir))
    repo.add_reviewer(f"w{writer}")
    state = repo.review_state(case_id, draft_id)
    mine = [s.finding.id for i, s in enumerate(state.findings) if i % share == writer % share]
    versions = {fid: state.state_of(fid).version for fid in mine}
    counter = itertools.count() if n == 0 else range(n)
    for i in counter:
        fid = mine[i % len(mine)]
        tag = f"w{writer}-{i}"
        kind = "edit" if i % 2 == 0 else "accept"
        extra = {"after_text": f"Edited by w{writer} at {i}.", "reason": "style"} if kind == "edit" else {}
        stored = repo.record_action(ReviewAction(kind, case_id, draft_id, f"w{writer}",  # type: ignore[arg-type]
                                                 finding_id=fid, base_version=versions[fid], comment=tag,
                                                 **extra))  # type: ignore[arg-type]
        versions[fid] += 1
        print(stored.id, tag, file=out, flush=True)
    repo.close()


if __name__ == "__main__":
    url, data_dir, draft_id, case_id = sys.argv[1:5]
    writer, share, n = (int(v) for v in sys.argv[5:8])
    write_actions(url, data_dir, draft_id, case_id, writer, share, n, sys.stdout)
