"""Maker-checker approvals."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.idempotent import respond_optionally_idempotent
from apps.api.serializers import ApprovalOut, ReasonIn
from apps.api.views.base import ERRORS_READ, ERRORS_WRITE, ApiView
from apps.common.idempotency import Outcome
from apps.compliance.selectors import approval_get
from apps.compliance.services import approval_approve, approval_reject


class ApprovalDetailView(ApiView):
    required_scopes = {"GET": ["approvals:write"]}

    @extend_schema(responses={200: ApprovalOut, **ERRORS_READ})
    def get(self, request: Request, approval_id: UUID) -> Response:
        return Response(ApprovalOut(approval_get(actor=self.actor(request), public_id=approval_id)).data)


class ApprovalDecisionView(ApiView):
    required_scopes = {"POST": ["approvals:write"]}
    open_in_read_only = True  # lifting the read-only switch is itself an approval
    decide = staticmethod(approval_approve)

    @extend_schema(request=ReasonIn, responses={200: ApprovalOut, **ERRORS_WRITE})
    def post(self, request: Request, approval_id: UUID) -> Response:
        data = self.valid(ReasonIn, request)
        actor = self.actor(request)

        def action() -> Outcome:
            approval = approval_get(actor=actor, public_id=approval_id)
            decided = type(self).decide(actor=actor, approval=approval, reason=data["reason"])
            return 200, ApprovalOut(decided).data

        return respond_optionally_idempotent(request, action)


class ApprovalApproveView(ApprovalDecisionView):
    decide = staticmethod(approval_approve)


class ApprovalRejectView(ApprovalDecisionView):
    decide = staticmethod(approval_reject)
