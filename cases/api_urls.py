"""The back-office API's URLs, under /api/v1/."""

from django.urls import path

from cases.api import CaseDetailApi, CaseListApi

app_name = "cases-api"

urlpatterns = [
    path("cases/", CaseListApi.as_view(), name="case-list"),
    path("cases/<str:reference>/", CaseDetailApi.as_view(), name="case-detail"),
]
