"""A review writer process for the fault tests: the same callback → Repository path as the server.

Usage: ``python fault_worker.py MODE DB_URL DATA_DIR [ARG]``. Prints one line per event, flushed:
``ACK case finding kind`` after an action's callback returned (= committed), ``ERR message`` when a
callback refused, ``DONE`` at the end.

Modes:
    burst: accept/reject every finding of every case and sign each case.
    fulldisk N: N accepts on case c0, then ``RLIMIT_FSIZE`` = 4 KiB (a file may not grow past 4 KiB,
        the write fails with EFBIG like on a full disk) and one more accept.
"""

from __future__ import annotations

import resource
import signal
import sys
from pathlib import Path


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def burst(svc, review) -> None:  # type: ignore[no-untyped-def]
    for record in svc.repo.list_studies():
        state = review.require_state(svc, record.case_id)
        for i, item in enumerate(state.findings):
            fid = item.finding.id
            if i % 3 == 2:
                review.decide(svc, "alice", record.case_id, fid, "reject", review.Decision("false_finding"))
                _say(f"ACK {record.case_id} {fid} reject")
            else:
                review.decide(svc, "alice", record.case_id, fid, "accept", review.Decision())
                _say(f"ACK {record.case_id} {fid} accept")
        review.decide_impression(svc, "alice", record.case_id, "accept", review.Decision())
        _say(f"ACK {record.case_id} @impression accept")
        review.sign(svc, "alice", record.case_id)
        _say(f"ACK {record.case_id} - sign")


def fulldisk(svc, review, n: int) -> None:  # type: ignore[no-untyped-def]
    from app.services import ServiceError

    for i in range(n):
        review.decide(svc, "alice", "c0", f"f{i}", "accept", review.Decision())
        _say(f"ACK c0 f{i} accept")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write() instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    try:
        review.decide(svc, "alice", "c0", f"f{n}", "accept", review.Decision())
        _say(f"ACK c0 f{n} accept")
    except ServiceError as exc:
        _say(f"ERR {exc}")


def main(argv: list[str]) -> int:
    from app.callbacks import review
    from app.services import Services
    from storage.repository import Repository

    mode, url, data = argv[0], argv[1], Path(argv[2])
    svc = Services(repo=Repository.open(url, data), data_dir=data, default_reviewer="alice")
    _say("READY")
    if mode == "burst":
        burst(svc, review)
    elif mode == "fulldisk":
        fulldisk(svc, review, int(argv[3]))
    _say("DONE")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
