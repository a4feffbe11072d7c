"""Settings: one validated object, read once at start-up."""

from shared.config.settings import Environment, SecretsBackend, Settings, SettingsError, StorageSettings, load_settings

__all__ = ["Environment", "SecretsBackend", "Settings", "SettingsError", "StorageSettings", "load_settings"]
