"""The storage emulator's public development account (Azurite, `UseDevelopmentStorage=true`).

The key is published in Azure's documentation and only ever works against the emulator; it lives
here, not in the local host, because the connection-string parser needs it in every deployment.
"""

from __future__ import annotations

from typing import Final

DEV_ACCOUNT: Final = "devstoreaccount1"
DEV_ACCOUNT_KEY: Final = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
