"""`python -m survey_svc migrate|serve|check-config`."""

from retailcare_shared.cli import main
from survey_svc.main import definition

raise SystemExit(main(definition, "survey_svc.main:create_app"))
