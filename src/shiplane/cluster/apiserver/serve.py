"""``python -m shiplane.cluster.apiserver.serve``: the detached API server process.

Started by ``shiplane cluster up`` (:mod:`.process`); serves one SQLite store on a
loopback port until SIGTERM, then closes watches and the database.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import uvicorn

from shiplane.cluster.apiserver.app import build_app
from shiplane.cluster.apiserver.backend import ApiBackend
from shiplane.cluster.apiserver.watch import WatchHub
from shiplane.cluster.store.sqlite import SqliteObjectStore

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shiplane-apiserver")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    store = SqliteObjectStore(args.db)
    try:
        backend = ApiBackend(store)
        app = build_app(backend, hub=WatchHub(store))
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level="info",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
