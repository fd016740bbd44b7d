"""Webhooks: subscriptions, target checks, signatures and the worker that delivers the outbox."""
