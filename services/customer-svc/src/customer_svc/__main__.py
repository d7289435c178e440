"""`python -m customer_svc migrate|serve|check-config`."""

from customer_svc.main import definition
from retailcare_shared.cli import main

raise SystemExit(main(definition, "customer_svc.main:create_app"))
