"""The API application: `uvicorn api.main:app`. REST under /api/v1 (Bearer API keys), public consent pages
under /p (signed links in e-mails), /health without auth."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
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

v1 = APIRouter(prefix=API_PREFIX)
v1.include_router(accounts.router)
v1.include_router(contacts.router)
v1.include_router(opportunities.router)
v1.include_router(opportunities.pipelines_router)
v1.include_router(consent.router)
v1.include_router(segments.router)
app.include_router(v1)
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
