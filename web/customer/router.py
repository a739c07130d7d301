"""The customer app's pages (`/app`): each calls the first-party API through the gateway with the customer's token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from web.pages import Page, form_page_for, page_for
from web.sessions.schemas import Surface


async def _customer_page(request: Request) -> Page:
    return await page_for(request, Surface.APP)


async def _customer_form(request: Request) -> Page:
    return await form_page_for(request, Surface.APP)


CustomerPage = Annotated[Page, Depends(_customer_page)]
CustomerForm = Annotated[Page, Depends(_customer_form)]

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get("")
async def dashboard(page: CustomerPage) -> Response:
    """Accounts and balances."""
    accounts = await page.read("/api/v1/accounts")
    return page.render("app/dashboard.html", {"title": "Your accounts", "accounts": accounts})
