"""The staff console's pages (`/console`): each calls `/admin/v1/...` through the gateway with the staff token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from web.pages import Page, form_page_for, page_for
from web.sessions.schemas import Surface


async def _staff_page(request: Request) -> Page:
    return await page_for(request, Surface.CONSOLE)


async def _staff_form(request: Request) -> Page:
    return await form_page_for(request, Surface.CONSOLE)


StaffPage = Annotated[Page, Depends(_staff_page)]
StaffForm = Annotated[Page, Depends(_staff_form)]

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("")
async def home(page: StaffPage) -> Response:
    """Customer search."""
    return page.render("console/search.html", {"title": "Find a customer", "results": None})
