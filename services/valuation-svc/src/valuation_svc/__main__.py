"""`python -m valuation_svc migrate|serve|check-config`."""

from retailcare_shared.cli import main
from valuation_svc.main import definition

raise SystemExit(main(definition, "valuation_svc.main:create_app"))
