"""Blueprints: the only code that touches request, session, current_user and flash."""
