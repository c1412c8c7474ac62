"""``python -m sandbox.codedeploy --port N --aws-endpoint URL [--time-scale N]``: serve until stopped."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from sandbox.codedeploy.emulator import CodeDeployEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.codedeploy", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--aws-endpoint", required=True, help="moto's URL (ECS, ELBv2, CloudWatch, Lambda)")
    parser.add_argument("--time-scale", type=float, default=60.0, help="virtual seconds per real second")
    parser.add_argument("--region", default="ap-northeast-2")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    emulator = CodeDeployEmulator(
        aws_endpoint=args.aws_endpoint, time_scale=args.time_scale, region=args.region, port=args.port
    )
    url = emulator.start()
    print(f"AWS_ENDPOINT_URL_CODEDEPLOY={url}", flush=True)
    try:
        stopped.wait()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
