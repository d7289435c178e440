"""`python -m complaint_svc migrate|serve|check-config`."""

from complaint_svc.main import definition
from retailcare_shared.cli import main

raise SystemExit(main(definition, "complaint_svc.main:create_app"))
