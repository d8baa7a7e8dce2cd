"""Slack delivery: Block Kit payloads (blocks), the outbox and the sender."""
