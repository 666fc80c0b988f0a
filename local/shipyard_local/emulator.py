"""The AWS API emulator process: moto's server app, in-process, on 127.0.0.1.

Run as ``python -m shipyard_local.emulator --port N``. moto runs inside this process (not as
the ``moto_server`` script) so that the local cloud can extend its backends: ECS behaviour,
task runners and the load balancer plug in here.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading


def build_server(host: str, port: int):
    """A threaded WSGI server for moto's full API (every service, dispatched by request)."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    return make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)


def _install_cloud(docker_host: str | None):
    """The local cloud (ECS engine, task runners, load balancer); the emulator still serves if it fails.

    Its settings come from the environment once, here (``StackConfig.from_env``: ports, state directory,
    ``SHIPYARD_TIME_SCALE``); the Docker engine comes from ``--docker-host``.
    """
    from .cloud import install
    from .config import StackConfig

    try:
        return install(StackConfig.from_env(), docker_host=docker_host)
    except Exception:
        logging.getLogger("shipyard_local.cloud").exception("local cloud failed to start: ECS runs nothing")
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shipyard_local.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--docker-host",
        default=os.environ.get("DOCKER_HOST"),
        help="the Docker engine for the docker task runner (default: $DOCKER_HOST, else the system socket)",
    )
    parser.add_argument(
        "--faults-port",
        type=int,
        help="also serve the API through the AWS fault proxy on this port (shipyard_local.faults; no faults until set)",
    )
    args = parser.parse_args(argv)

    # Attaching AWS managed policies (the IAM role of the task execution) needs them loaded.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    os.environ.setdefault("MOTO_PORT", str(args.port))

    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = build_server(args.host, args.port)
    cloud = _install_cloud(args.docker_host)
    proxy = None
    if args.faults_port:
        from . import faults

        proxy = faults.build_server(args.host, args.faults_port, args.port)
        threading.Thread(target=proxy.serve_forever, name="fault-proxy", daemon=True).start()
        print(f"AWS fault proxy on http://{args.host}:{args.faults_port} (control: {faults.CONTROL_PATH})", flush=True)

    def _stop_all() -> None:
        if cloud is not None:
            cloud.stop()  # every task of every runner, containers included
        if proxy is not None:
            proxy.shutdown()
        server.shutdown()

    def _shutdown(signum, _frame):
        print(f"signal {signum}: shutting down", flush=True)
        threading.Thread(target=_stop_all, daemon=True).start()

    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    print(f"AWS API emulator (moto) listening on http://{args.host}:{args.port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
