"""A reviewer process for the concurrency tests: appends actions and reports each after its commit.

Usage: ``python writer_proc.py URL DATA_DIR DRAFT_ID CASE_ID WRITER N_WRITERS_PER_CASE N_ACTIONS``
(``N_ACTIONS`` 0 = until killed). Writer ``w`` acts on the findings whose index ≡ ``w`` modulo the
number of writers sharing the case, alternating ``edit`` and ``accept``, and prints
``<action id> <tag>`` to stdout (flushed) only after :meth:`Repository.record_action` returned.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from storage.records import ReviewAction
from storage.repository import Repository


def main(argv: list[str]) -> int:
    url, data_dir, draft_id, case_id = argv[:4]
    writer, share, n = (int(v) for v in argv[4:7])
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
        stored = repo.record_action(ReviewAction(kind, case_id, draft_id, f"w{writer}", finding_id=fid,  # type: ignore[arg-type]
                                                 base_version=versions[fid], comment=tag, **extra))  # type: ignore[arg-type]
        versions[fid] += 1
        print(stored.id, tag, flush=True)
    repo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
