-- Local development only (docker-compose). Runs once, on an empty data volume,
-- as the POSTGRES_USER superuser via /docker-entrypoint-initdb.d.
--
-- Database-per-service: each service gets its own database and an owning login
-- role, so a service cannot read another service's tables. The passwords below
-- are throw-away development credentials; Kubernetes deployments take the
-- DATABASE_URL from the <svc>-db Secret instead.

CREATE ROLE customer_svc LOGIN PASSWORD 'customer_svc';
CREATE DATABASE customer_svc OWNER customer_svc;

CREATE ROLE valuation_svc LOGIN PASSWORD 'valuation_svc';
CREATE DATABASE valuation_svc OWNER valuation_svc;

CREATE ROLE complaint_svc LOGIN PASSWORD 'complaint_svc';
CREATE DATABASE complaint_svc OWNER complaint_svc;

CREATE ROLE survey_svc LOGIN PASSWORD 'survey_svc';
CREATE DATABASE survey_svc OWNER survey_svc;

-- Only the owning role may connect to its database.
REVOKE CONNECT ON DATABASE customer_svc FROM PUBLIC;
REVOKE CONNECT ON DATABASE valuation_svc FROM PUBLIC;
REVOKE CONNECT ON DATABASE complaint_svc FROM PUBLIC;
REVOKE CONNECT ON DATABASE survey_svc FROM PUBLIC;
