"""``python -m shiplane.cluster.apiserver.serve``: the detached API server process.

Started by ``shiplane cluster up`` (:mod:`.process`); serves one SQLite store on a
loopback port until SIGTERM, then closes watches and the database. With ``--pki`` it serves
HTTPS and authenticates (client certificates, ServiceAccount tokens) and authorizes (RBAC)
every request.
"""

from __future__ import annotations

import argparse
import logging
import ssl
from pathlib import Path
from typing import Any

import uvicorn

from shiplane.cluster.apiserver.app import build_app
from shiplane.cluster.apiserver.backend import ApiBackend
from shiplane.cluster.apiserver.watch import WatchHub
from shiplane.cluster.clock import ClusterClock
from shiplane.cluster.auth import (
    Authenticators,
    ClusterPKI,
    PeerCertH11Protocol,
    parse_token_file,
)
from shiplane.cluster.store.model import ObjectKey
from shiplane.cluster.store.sqlite import SqliteObjectStore

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shiplane-apiserver")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pki", type=Path, help="serve HTTPS with authn/RBAC; PKI made here once")
    parser.add_argument("--name", default="shiplane", help="cluster name (a serving-cert SAN)")
    parser.add_argument("--token-auth-file", type=Path,
                        help='static bearer tokens, CSV token,user,uid,"group1,group2"')
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="cluster clock speed, the same as the control plane's")
    parser.add_argument("--clock-epoch", type=float,
                        help="POSIX time the cluster clock is accelerated from (shared)")
    args = parser.parse_args(argv)
    clock = ClusterClock(args.time_scale, args.clock_epoch)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    store = SqliteObjectStore(args.db)
    try:
        backend = ApiBackend(store, clock=clock.now)
        tls: dict[str, Any] = {}
        authenticators = None
        if args.pki is not None:
            pki = ClusterPKI.ensure(args.pki, args.name)

            def sa_exists(namespace: str, name: str, uid: str) -> bool:
                stored = store.get(ObjectKey("serviceaccounts", namespace, name))
                return stored is not None and (not uid or stored.obj["metadata"].get("uid") == uid)

            tokens = (parse_token_file(args.token_auth_file.read_text(),
                                       source=str(args.token_auth_file))
                      if args.token_auth_file else None)
            authenticators = Authenticators(ca=pki.ca.certificate, token_file=tokens,
                                            service_accounts=pki.service_accounts,
                                            service_account_exists=sa_exists)
            tls = {"ssl_certfile": str(pki.serving_cert_file),
                   "ssl_keyfile": str(pki.serving_key_file), "ssl_ca_certs": str(pki.ca_file),
                   "ssl_cert_reqs": ssl.CERT_OPTIONAL, "http": PeerCertH11Protocol}
        app = build_app(backend, hub=WatchHub(store), authenticators=authenticators)
        uvicorn.run(
            app,
            **tls,
            host=args.host,
            port=args.port,
            log_level="info",
            access_log=False,
            timeout_graceful_shutdown=2,
            ws="wsproto",  # pods/portforward: lenient about kubectl's "SPDY/3.1+..." subprotocol
        )
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
