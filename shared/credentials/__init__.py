"""BYOK provider credentials: metadata in Tables, the key only in the secret backend."""
