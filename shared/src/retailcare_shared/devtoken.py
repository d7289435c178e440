"""`make token ROLE=<role> [MANAGER_ID=<uuid>] [COUNTY=<code>]`: a development JWT for one hour."""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from jwt.warnings import InsecureKeyLengthWarning

from retailcare_shared.auth import ROLES, issue_token


def main(argv: list[str] | None = None) -> int:
    """Print a token signed with AUTH_JWT_SECRET (default `dev-secret`, as in `make run`)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", required=True, choices=sorted(ROLES))
    parser.add_argument("--manager-id", default=None)
    parser.add_argument("--county", default=None)
    parser.add_argument("--sub", default=None)
    args = parser.parse_args(argv)
    if args.role == "customer_manager" and not args.manager_id:
        print("ROLE=customer_manager needs MANAGER_ID=<uuid>", file=sys.stderr)
        return 2
    secret = os.environ.get("AUTH_JWT_SECRET") or "dev-secret"
    # `dev-secret` is short on purpose (development only); the warning would spoil `$(make token)`.
    warnings.simplefilter("ignore", InsecureKeyLengthWarning)
    print(
        issue_token(
            secret,
            sub=args.sub or f"dev-{args.role}",
            roles=[args.role],
            manager_id=args.manager_id,
            county=args.county,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
