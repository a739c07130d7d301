"""Secure messages between customers and the bank's support staff: threads, messages and checked attachments."""
