"""`python -m survey_svc migrate|serve|check-config`."""

from survey_svc.main import definition
from retailcare_shared.cli import main

raise SystemExit(main(definition, "survey_svc.main:create_app"))
