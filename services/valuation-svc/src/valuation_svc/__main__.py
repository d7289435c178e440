"""`python -m valuation_svc migrate|serve|check-config`."""

from valuation_svc.main import definition
from retailcare_shared.cli import main

raise SystemExit(main(definition, "valuation_svc.main:create_app"))
