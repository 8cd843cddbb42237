import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile

from apps.audit.models import AuditEvent
from apps.common.errors import ValidationFailed
from apps.common.principals import Actor, Channel
from apps.compliance.aml import case_assign, case_attach, case_close, case_comment, case_escalate, case_open
from apps.compliance.models import Case, CaseKind, CaseNote

OFFICER = Actor(label="user:officer", channel=Channel.BRANCH)


@pytest.fixture
def case(db, make_customer):
    return case_open(
        kind=CaseKind.SCREENING_HIT, summary="Customer matches a list", customer_id=make_customer().pk, score=95
    )


def _actions(case):
    return list(case.notes.values_list("action", flat=True))


def test_a_case_is_worked_from_open_to_closed_and_every_step_is_audited(case, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    analyst = User.objects.create_user("analyst", is_staff=True)
    case = case_assign(actor=OFFICER, case=case, assignee=analyst)
    assert (case.status, case.assignee) == ("assigned", analyst)
    case_comment(actor=OFFICER, case=case, text="Date of birth differs from the listed one.")
    note = case_attach(actor=OFFICER, case=case, upload=ContentFile(b"%PDF-1.4 id copy", name="passport.pdf"))
    assert note.attachment.read() == b"%PDF-1.4 id copy"
    case = case_escalate(actor=OFFICER, case=case, reason="Second opinion")
    assert case.status == "escalated"
    case = case_close(actor=OFFICER, case=case, disposition="false_positive", reason="Different person")
    assert (case.status, case.disposition) == ("closed", "false_positive")
    assert case.closed_at is not None
    assert _actions(case) == ["open", "assign", "comment", "attach", "escalate", "close"]
    audited = AuditEvent.objects.filter(object_type="case", object_id=str(case.public_id))
    assert sorted(audited.values_list("action", flat=True)) == sorted(
        ["case.open", "case.assign", "case.comment", "case.attach", "case.escalate", "case.close"]
    )


@pytest.mark.parametrize(
    ("work", "field"),
    [
        (lambda c: case_comment(actor=OFFICER, case=c, text="  "), "text"),
        (lambda c: case_escalate(actor=OFFICER, case=c, reason=""), "reason"),
        (lambda c: case_close(actor=OFFICER, case=c, disposition="maybe"), "disposition"),
        (lambda c: case_assign(actor=OFFICER, case=c, assignee=User.objects.create_user("client")), "assignee"),
        (lambda c: case_attach(actor=OFFICER, case=c, upload=ContentFile(b"x" * 11, name="a.txt")), "attachment"),
    ],
)
def test_bad_case_work_is_refused_and_changes_nothing(case, settings, work, field):
    settings.FINSYS_CASE_ATTACHMENT_MAX_BYTES = 10
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        work(case)
    assert field in refused.value.errors
    case.refresh_from_db()
    assert (case.status, case.disposition, case.assignee) == ("open", "", None)
    assert _actions(case) == ["open"]
    assert AuditEvent.objects.count() == events


def test_a_closed_case_takes_no_more_work(case):
    case_close(actor=OFFICER, case=case, disposition="true_match")
    with pytest.raises(ValidationFailed):
        case_comment(actor=OFFICER, case=case, text="late")
    assert CaseNote.objects.filter(case=case).count() == 2
    assert Case.objects.get(pk=case.pk).status == "closed"


def test_case_notes_are_append_only(case):
    note = case.notes.get()
    note.text = "rewritten"
    with pytest.raises(PermissionError):
        note.save()
