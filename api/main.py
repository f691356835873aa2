"""The API application: `uvicorn api.main:app`. REST under /api/v1 (Bearer API keys), public consent pages
under /p (signed links in e-mails), /health without auth."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import Factory
from api.errors import install_problem_handlers, problem_response, problem_responses
from api.public import consent as public_consent
from api.routers import accounts, consent, contacts, opportunities, segments
from core.capabilities import load_all

load_all()

API_PREFIX = "/api/v1"

app = FastAPI(
    title="CRM-Suite API",
    version="1",
    description="REST-Schnittstelle für Integrationen. Anmeldung mit `Authorization: Bearer <API-Schlüssel>`; "
    "Fehler als application/problem+json (RFC 9457).",
    # FastAPI's built-in OpenTelemetry hook asks the OTel globals on every request whether it is configured
    # (5 % of a request's CPU); nothing here exports traces or metrics.
    telemetry={"tracing": False, "metrics": False, "logs": False},
)
install_problem_handlers(app)

# Each router directly under the prefix, the busiest first: a request is matched against the routes in this order,
# and an intermediate /api/v1 router cost another nested match (together about 5 % of a list request's CPU).
V1_ROUTERS = (
    opportunities.router,
    opportunities.pipelines_router,
    accounts.router,
    contacts.router,
    consent.router,
    segments.router,
)
for router in V1_ROUTERS:
    app.include_router(router, prefix=API_PREFIX)
app.include_router(public_consent.router)


@app.get("/health", summary="Betriebsbereitschaft (prüft die Datenbank)", responses=problem_responses(503))
def health(factory: Factory, request: Request) -> JSONResponse:
    try:
        with factory() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        detail = f"Datenbank nicht erreichbar: {str(getattr(exc, 'orig', None) or exc).splitlines()[0]}"
        return problem_response(request, status=503, title="Nicht bereit", detail=detail)
    return JSONResponse({"status": "ok"})
