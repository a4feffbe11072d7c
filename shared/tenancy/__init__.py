"""Tenants, memberships, projects and project API keys."""
