"""A drafting worker in its own process, for the SIGKILL tests of ``test_drafts_cli.py``.

Usage: ``python drafts_worker_proc.py DB_URL DATA_DIR MODE``. It drafts with the built-in generator,
batch size 2, a 1 s lease renewed every 0.2 s, and prints ``DONE case`` as each draft is stored. From
the second batch on it stalls (so the test can SIGKILL it at a known point):

* ``generate`` — printing ``GENERATING case`` inside the generator, before any draft of the batch exists;
* ``saved`` — printing ``SAVED case`` after the draft is committed, before the job is marked done.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any


def main(url: str, data: str, mode: str) -> None:
    from app.drafting import DraftWorker
    from app.services import Services
    from inference.registry import get_generator
    from storage.drafting import DraftQueue, GeneratorSpec
    from storage.repository import Repository

    repo = Repository.open(url, Path(data))
    queue = DraftQueue(repo, lease_s=1.0)
    builtin = get_generator("builtin")
    seen: list[str] = []

    class Stalling:
        name = "builtin"

        def generate(self, study: Any, masks: Any, *, progress: Any = None) -> Any:
            seen.append(study.case_id)
            if mode == "generate" and len(seen) > 2:
                print(f"GENERATING {study.case_id}", flush=True)
                time.sleep(60)
            return builtin.generate(study, masks, progress=progress)

    complete = queue.complete

    def stalling_complete(job: Any, draft_id: str) -> bool:
        if mode == "saved" and len(seen) > 2:
            print(f"SAVED {job.case_id}", flush=True)
            time.sleep(60)
        done = complete(job, draft_id)
        print(f"DONE {job.case_id}", flush=True)
        return done

    queue.complete = stalling_complete  # type: ignore[method-assign]
    worker = DraftWorker(
        queue,
        GeneratorSpec(),
        Services(repo=repo, data_dir=Path(data)).study,
        batch_size=2,
        generator=Stalling(),
        heartbeat_s=0.2,
        log=lambda _m: None,
    )
    worker.run()


if __name__ == "__main__":
    main(*sys.argv[1:4])
