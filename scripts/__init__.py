"""Project scripts run by tools (azd hooks) rather than imported by the app."""
