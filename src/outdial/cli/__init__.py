"""The ``outdial`` command. Every flag can also be set as OUTDIAL_<FLAG> in the environment.

``parser`` defines the commands and flags, ``commands`` runs them, ``demo`` is what
``outdial demo`` seeds and prints.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from outdial.cli.parser import Handler, build_parser
from outdial.errors import OutdialError
from outdial.secretbox import SecretKeyError
from outdial.store import db


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    environment = dict(os.environ if env is None else env)
    args = build_parser(environment).parse_args(argv)
    logging.basicConfig(
        level=getattr(args, "log_level", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    handler: Handler = args.handler
    try:
        return handler(args)
    except OutdialError as error:
        print(json.dumps({"error": error.message}), file=sys.stderr)
        return 1
    except (db.SchemaOutdated, SecretKeyError) as error:
        print(json.dumps({"error": str(error)}), file=sys.stderr)
        return 1


__all__ = ["build_parser", "main"]
