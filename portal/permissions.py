"""DRF permissions by role, for the JSON endpoints the portal pages call."""

from rest_framework.permissions import BasePermission

from portal.roles import is_csr, is_csr_manager


class IsCSR(BasePermission):
    message = "Only CSRs may do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and is_csr(request.user))


class IsCSRManager(BasePermission):
    message = "Only CSR managers may do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and is_csr_manager(request.user))
