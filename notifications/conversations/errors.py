"""Refusals of the secure messages API, rendered as problem details."""

from __future__ import annotations

from obank.problems import ProblemError


class ConversationNotFound(ProblemError):
    """Unknown, or another customer's: the two read the same."""

    status = 404
    code = "conversation_not_found"
    title = "Conversation not found"


class AttachmentNotFound(ProblemError):
    status = 404
    code = "attachment_not_found"
    title = "Attachment not found"


class ConversationClosed(ProblemError):
    status = 409
    code = "conversation_closed"
    title = "The conversation is closed"


class AttachmentTypeRefused(ProblemError):
    status = 415
    code = "attachment_type_refused"
    title = "Attachments must be PDF, PNG or JPEG files"


class AttachmentTooLarge(ProblemError):
    status = 413
    code = "attachment_too_large"
    title = "An attachment is too large"


class TooManyAttachments(ProblemError):
    status = 422
    code = "too_many_attachments"
    title = "Too many attachments"


class UnsupportedMessageBody(ProblemError):
    status = 415
    code = "unsupported_media_type"
    title = "Send the message as JSON or multipart/form-data"
